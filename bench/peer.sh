#!/usr/bin/env bash
# The writer beside a peer (issue 12): voltpay-bridge against Kafka Connect
# (a standalone worker, the broker's Kafka version) running the Debezium
# JDBC sink connector, on the same machine, the same broker, the same
# PostgreSQL and the same messages.  See docs/bench-peer.md.
#
#   bench/peer.sh              (make bench runs it through bench/run.sh)
#
# What it does:
#   1. A private PostgreSQL (fsync on, as bench/memory.sh) and a real Kafka
#      broker (KRaft, test/kafka/broker.sh), the bridge's topics (100
#      partitions) and a peer input topic (100 partitions).
#   2. N payments from voltpay-loadgen (5000 accounts, a share exact
#      re-sends) into the bridge's input topic, BEFORE any consumer starts;
#      the same messages converted (bench/peer/convert.py) into Kafka
#      Connect JSON-with-schema records, flat columns, produced with kcat
#      into the peer topic with the same keys.
#   3. ROUNDS rounds; each round runs every variant once, the order
#      rotating from round to round:
#        writer-1   one bridge, one database connection
#        writer-2   one bridge with --db-connections 2 when its --help lists
#                   that option, otherwise two bridges in one consumer group
#                   (labelled so; decided at run time; the rate once both
#                   have partitions is reported too)
#        upsert-T   Connect + Debezium, insert.mode=upsert on message_id, T
#                   tasks (1 and 2)
#        insert-T   the same, insert.mode=insert (no key: re-sends land twice)
#      Each run starts from empty tables and a new consumer group, and ends
#      when every message is in the database (for the writer: every
#      payment applied and the outbox empty).  Measured: drain throughput
#      first row to last and over the second half of the rows (from the
#      rows' transaction timestamps, so the JVM's start is not in it), CPU
#      seconds (from /proc) of the bridge(s) or the Connect JVM, of every
#      PostgreSQL process (backends, WAL writer, checkpointer...) and of the
#      broker, for the whole run and for its second half, peak RSS (VmHWM)
#      of the bridge(s) or JVM, WAL bytes, the machine's busy share and
#      load average.
#   4. A SIGKILL half way through (kill -9 of the bridge or the Connect
#      worker once half the rows are in, a restart with the same group,
#      the drain finished) for writer-1, writer-2, upsert-2 and insert-2,
#      counting the duplicate rows each leaves.
#   5. Medians per variant, per-round ratios writer / peer upsert at its
#      best task count, the goals (bench/peer/report.py);
#      bench/results/peer.json and the Markdown tables in peer.md beside it.
#
# Settings (environment):
#   VOLTPAY_PEER_BENCH_N          payments produced (default 200000)
#   VOLTPAY_PEER_BENCH_ROUNDS     rounds (default 3)
#   VOLTPAY_PEER_BENCH_VARIANTS   variants per round (default
#                                 "writer-1 writer-2 upsert-1 upsert-2 insert-1 insert-2")
#   VOLTPAY_PEER_BENCH_KILL       variants of the SIGKILL test (default
#                                 "writer-1 writer-2 upsert-2 insert-2"; "" skips)
#   VOLTPAY_PEER_BENCH_RESEND     share of exact re-sends (default 0.03)
#   VOLTPAY_PEER_BENCH_HEAP       Connect's -Xmx (default 2G, as
#                                 connect-standalone.sh)
#   VOLTPAY_PEER_BENCH_TIMEOUT    seconds one run may take (default 600)
#   VOLTPAY_PEER_BENCH_OUT        the JSON written (bench/results/peer.json)
#   VOLTPAY_PEER_BENCH_KEEP       1 keeps the work directory (logs)
#   VOLTPAY_PEER_BENCH_WAITS      1 samples, at every progress poll, what the
#                                 client backends wait for (pg_stat_activity:
#                                 wait event, or CPU when running), and
#                                 reports the shares per variant (default 0)
set -euo pipefail
cd "$(dirname "$0")/.."
. test/lib/pgcluster.sh
. test/kafka/broker.sh

N=${VOLTPAY_PEER_BENCH_N:-200000}
ROUNDS=${VOLTPAY_PEER_BENCH_ROUNDS:-3}
read -r -a VARIANTS <<<"${VOLTPAY_PEER_BENCH_VARIANTS:-writer-1 writer-2 upsert-1 upsert-2 insert-1 insert-2}"
read -r -a KILLS <<<"${VOLTPAY_PEER_BENCH_KILL-writer-1 writer-2 upsert-2 insert-2}"
RESEND=${VOLTPAY_PEER_BENCH_RESEND:-0.03}
HEAP=${VOLTPAY_PEER_BENCH_HEAP:-2G}
TIMEOUT=${VOLTPAY_PEER_BENCH_TIMEOUT:-600}
WAITS=${VOLTPAY_PEER_BENCH_WAITS:-0}
out=${VOLTPAY_PEER_BENCH_OUT:-bench/results/peer.json}
TOPIC=payment_writer_topic
PEER_TOPIC=payment_peer_topic
SEED=20261203
export PGOPTIONS="-c client_min_messages=warning"

psql() { command psql -XqAt -v ON_ERROR_STOP=1 "$@"; }
log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
now() { date +%s.%N; }

declare -a PIDS=()
work=
# On any exit: every process this script started (by PID: bridges, Connect
# JVMs), then PostgreSQL and the broker (the broker's own trap entry).
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	vk_cluster_stop
	vp_pg_stop
	[ -n "${work:-}" ] || return 0
	if [ "${VOLTPAY_PEER_BENCH_KEEP:-0}" = 1 ]; then
		echo "bench: kept $work" >&2
	else
		rm -rf "$work"
	fi
}
forget() {
	local p keep=()
	for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS=(${keep[@]+"${keep[@]}"})
}

for b in bridge/voltpay-bridge bridge/voltpay-loadgen bridge/voltpay-topics; do
	[ -x "$b" ] || { echo "bench: $b is missing: run 'make bridge' first" >&2; exit 1; }
done
command -v kcat >/dev/null || { echo "bench: kcat is missing (make deps installs it)" >&2; exit 1; }
CONNECT_LIBS=$(test/kafka/fetch.sh bench/peer/connect-pom.xml)
DEBEZIUM_LIBS=$(test/kafka/fetch.sh bench/peer/debezium-pom.xml)
JAVA=$(vk__java) || { echo "bench: no java on PATH" >&2; exit 1; }

work=$(mktemp -d /tmp/voltpay-peer-bench.XXXXXX)
chmod 755 "$work"
bin=$work/bin
mkdir "$bin"
# Copies: a rebuild during the run does not change what is measured.
cp bridge/voltpay-bridge bridge/voltpay-loadgen "$bin/"
if "$bin/voltpay-bridge" --help 2>&1 | grep -q -- '--db-connections'; then
	TWO_MODE=option
	TWO_LABEL="writer, --db-connections 2"
else
	TWO_MODE=processes
	TWO_LABEL="writer, 2 bridges in one group (no --db-connections)"
fi
log "peer: two connections = $TWO_MODE ($TWO_LABEL)"

# max_connections: each Debezium task keeps a pool of at least 5.
vp_pg_start "fsync = on" "shared_buffers = 512MB" "max_wal_size = 8GB" "max_connections = 120"
trap cleanup EXIT
vk_cluster_start 1 >&2
trap cleanup EXIT			# vk_cluster_start added its own stop; cleanup does it too
BROKER_PID=$(cat "$VK_DIR/node-1/pid")
PG_PID=$(head -n 1 "$VP_PGDATA/postmaster.pid")
psql -c 'CREATE EXTENSION voltpay'
# The peer's tables: one flat row per message, typed as the writer's
# payment (uuid, numeric, timestamptz); the JDBC URL's stringtype=unspecified
# lets PostgreSQL cast the strings.  ingested_at: the inserting
# transaction's start, as the writer's applied_at.
for t in peer_upsert peer_insert; do
	pk=""; [ $t = peer_upsert ] && pk="PRIMARY KEY"
	psql -c "CREATE TABLE public.$t (
		message_id uuid NOT NULL $pk, payment_id uuid NOT NULL, account_id text NOT NULL,
		amount numeric NOT NULL, currency text NOT NULL,
		debtor_name text, debtor_iban text, debtor_bic text,
		creditor_name text, creditor_iban text, creditor_bic text,
		remittance_info text, customer_email text, created_at timestamptz NOT NULL,
		ingested_at timestamptz NOT NULL DEFAULT now())"
done
vk_topics >/dev/null
vk_topics --input-topic "$PEER_TOPIC" >/dev/null

t0=$(date +%s)
"$bin/voltpay-loadgen" -b "$VK_BROKERS" -t "$TOPIC" -n "$N" --accounts 5000 --seed "$SEED" \
	--duplicate-fraction "$RESEND" --manifest "$work/manifest.jsonl" --manifest-payloads \
	-X linger.ms=50 -X batch.size=1000000 >"$work/loadgen.log" 2>&1 ||
	{ tail -3 "$work/loadgen.log" >&2; exit 1; }
python3 bench/peer/convert.py <"$work/manifest.jsonl" >"$work/peer.tsv"
kcat -P -b "$VK_BROKERS" -t "$PEER_TOPIC" -K $'\t' -X linger.ms=50 -X batch.size=1000000 <"$work/peer.tsv"
DISTINCT=$(python3 -c 'import json, sys
print(len({json.loads(l)["message_id"] for l in open(sys.argv[1]) if json.loads(l)["kind"] in ("valid", "duplicate")}))' "$work/manifest.jsonl")
SENT=$(wc -l <"$work/manifest.jsonl")
PEER_BYTES=$(wc -c <"$work/peer.tsv")
rm -f "$work/peer.tsv"
log "peer: $SENT messages ($DISTINCT distinct payments) produced into $TOPIC and $PEER_TOPIC in $(( $(date +%s) - t0 )) s"
[ "$SENT" = "$N" ] || { echo "bench: the load generator had $SENT messages acknowledged, not $N" >&2; exit 1; }

# snap PIDS...: "CLIENT PG BROKER" CPU jiffies now: the clients' (sum),
# every PostgreSQL process's (the postmaster's own and reaped children's,
# and each live child's) and the broker's.
snap() {
	python3 - "$PG_PID" "$BROKER_PID" "$@" <<-'EOF'
		import os, sys
		def stat(pid):
		    try:
		        s = open("/proc/%s/stat" % pid).read()
		    except OSError:
		        return None
		    f = s[s.rindex(")") + 2:].split()
		    return int(f[1]), int(f[11]), int(f[12]), int(f[13]), int(f[14])  # ppid ut st cut cst
		pg, broker, clients = sys.argv[1], sys.argv[2], sys.argv[3:]
		c = sum(sum(stat(p)[1:3]) for p in clients if stat(p))
		pgs = stat(pg)
		total = sum(pgs[1:5])
		for d in os.listdir("/proc"):
		    if d.isdigit():
		        s = stat(d)
		        if s and str(s[0]) == pg:
		            total += s[1] + s[2]
		b = stat(broker)
		print(c, total, sum(b[1:3]) if b else 0)
	EOF
}
machine_jiffies() {
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit }' /proc/stat
}
hwm_kib() {
	local p sum=0 v
	for p in "$@"; do
		v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

# Client processes of the current run (bridges or the Connect JVM).
declare -a CLIENTS=()
RUN=0

# start_writer NAME CONNS: one bridge (CONNS 1, or 2 with --db-connections),
# or two bridges in one group; group NAME.
start_writer() {
	local name=$1 conns=$2 k port
	local -a extra=()
	local procs=1
	if [ "$conns" = 2 ]; then
		if [ $TWO_MODE = option ]; then extra=(--db-connections 2); else procs=2; fi
	fi
	for k in $(seq "$procs"); do
		port=$(vp_free_port)
		"$bin/voltpay-bridge" -b "$VK_BROKERS" --group "$name" --input-topic "$TOPIC" \
			--db "host=$PGHOST port=$PGPORT user=$PGUSER dbname=$PGDATABASE" \
			--http-addr 127.0.0.1 --http-port "$port" ${extra[@]+"${extra[@]}"} \
			>>"$work/$name-$k.log" 2>&1 &
		CLIENTS+=($!); PIDS+=($!)
		disown $!			# no "Killed" notices; stopped and waited for by PID
	done
}

# start_connect NAME MODE TASKS: a standalone Connect worker with one
# Debezium JDBC sink connector named NAME (so consumer group connect-NAME).
start_connect() {
	local name=$1 mode=$2 tasks=$3 dir=$work/$1 table pkmode
	mkdir -p "$dir"
	if [ "$mode" = upsert ]; then table=peer_upsert pkmode=record_value; else table=peer_insert pkmode=none; fi
	cat >"$dir/worker.properties" <<-EOF
		bootstrap.servers=$VK_BROKERS
		key.converter=org.apache.kafka.connect.storage.StringConverter
		value.converter=org.apache.kafka.connect.json.JsonConverter
		value.converter.schemas.enable=true
		offset.storage.file.filename=$dir/offsets
		plugin.path=$(dirname "$DEBEZIUM_LIBS")
		listeners=http://127.0.0.1:$(vp_free_port)
	EOF
	cat >"$dir/sink.properties" <<-EOF
		name=$name
		connector.class=io.debezium.connector.jdbc.JdbcSinkConnector
		tasks.max=$tasks
		topics=$PEER_TOPIC
		connection.url=jdbc:postgresql://$PGHOST:$PGPORT/$PGDATABASE?stringtype=unspecified
		connection.username=$PGUSER
		connection.password=unused
		insert.mode=$mode
		primary.key.mode=$pkmode
		primary.key.fields=message_id
		collection.name.format=$table
		schema.evolution=none
		delete.enabled=false
	EOF
	cat >"$dir/log4j2.properties" <<-'EOF'
		status = error
		appender.console.type = Console
		appender.console.name = STDOUT
		appender.console.layout.type = PatternLayout
		appender.console.layout.pattern = [%d] %p %m (%c)%n
		rootLogger.level = INFO
		rootLogger.appenderRef.stdout.ref = STDOUT
	EOF
	# connect-standalone.sh's JVM options (KAFKA_HEAP_OPTS, KAFKA_JVM_PERFORMANCE_OPTS).
	(cd "$dir" && exec "$JAVA" -Xms256M "-Xmx$HEAP" -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
		-XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
		-XX:MaxInlineLevel=15 -Djava.awt.headless=true \
		-Dlog4j2.configurationFile="$dir/log4j2.properties" -cp "$CONNECT_LIBS/*" \
		org.apache.kafka.connect.cli.ConnectStandalone worker.properties sink.properties) \
		</dev/null >>"$dir/connect.log" 2>&1 &
	CLIENTS+=($!); PIDS+=($!)
	disown $!
}

stop_clients() {
	local sig=${1:-TERM} p
	for p in "${CLIENTS[@]}"; do kill "-$sig" "$p" 2>/dev/null || true; done
	for p in "${CLIENTS[@]}"; do
		for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
		forget "$p"
	done
	CLIENTS=()
}

# reset VARIANT: empty the variant's tables, a checkpoint (each run starts
# with the same WAL state), statistics zeroed.
reset() {
	case "$1" in
	writer-*) psql -c 'TRUNCATE voltpay.payment, voltpay.payment_party, voltpay.payment_remittance,
		voltpay.payment_notification, voltpay.outbox, voltpay.rejected_message,
		voltpay.partition_position, voltpay.idempotency' ;;
	upsert-*) psql -c 'TRUNCATE public.peer_upsert' ;;
	insert-*) psql -c 'TRUNCATE public.peer_insert' ;;
	esac
	psql -c 'CHECKPOINT' -c 'SELECT pg_stat_reset()' >/dev/null
}

# progress VARIANT: "ROWS DONE" (DONE 1 when the run is complete).
progress() {
	case "$1" in
	writer-*) psql -F' ' -c "SELECT c, (c >= $DISTINCT AND NOT EXISTS (SELECT FROM voltpay.outbox))::int
		FROM (SELECT count(*) AS c FROM voltpay.payment) s" ;;
	upsert-*) psql -F' ' -c "SELECT c, (c >= $DISTINCT)::int FROM (SELECT count(*) AS c FROM public.peer_upsert) s" ;;
	# Insert: every message once at least (re-delivered ones land twice, so
	# the count alone can reach N early); the distinct count only then.
	insert-*) psql -F' ' -c "SELECT c, CASE WHEN c >= $SENT THEN ((SELECT count(DISTINCT message_id)
		FROM public.peer_insert) >= $DISTINCT)::int ELSE 0 END FROM (SELECT count(*) AS c FROM public.peer_insert) s" ;;
	esac
}

# variant_table VARIANT: "TABLE COLUMN", the table a variant writes and its
# column holding each row's transaction time.
variant_table() {
	case "$1" in
	writer-*) echo "voltpay.payment applied_at" ;;
	upsert-*) echo "public.peer_upsert ingested_at" ;;
	insert-*) echo "public.peer_insert ingested_at" ;;
	esac
}

# timing VARIANT: "FIRST LAST MID ROWS" from the rows' transaction
# timestamps (epoch seconds; MID: the timestamp of the middle row).
timing() {
	local table col
	read -r table col <<<"$(variant_table "$1")"
	psql -F' ' -c "SELECT extract(epoch FROM min($col)), extract(epoch FROM max($col)),
		extract(epoch FROM percentile_disc(0.5) WITHIN GROUP (ORDER BY $col)), count(*) FROM $table"
}

# dup_counts VARIANT: "ROWS DISTINCT WRITES" where WRITES is the table's
# inserted plus updated tuples (re-applied rows show there under upsert).
dup_counts() {
	local table col
	read -r table col <<<"$(variant_table "$1")"
	psql -F' ' -c "SELECT (SELECT count(*) FROM $table), (SELECT count(DISTINCT message_id) FROM $table),
		(SELECT n_tup_ins + n_tup_upd FROM pg_stat_user_tables WHERE relid = '$table'::regclass)"
}

# run VARIANT ROUND [kill]: one measured run; appends a JSON line to
# $work/runs.jsonl.  With "kill": SIGKILL of the client(s) once half the
# rows are in, a restart with the same group, and the duplicate count.
run() {
	local v=$1 round=$2 kill=${3:-} name mode tasks conns
	RUN=$((RUN + 1))
	name="peer-$v-r$round-$RUN${kill:+-kill}"
	reset "$v"
	local lsn0 j0 la0 c0 c_half="" c1 t_launch t_half="" t_done rows done=0 hwm=0 rows_half=0 killed_at=""
	lsn0=$(psql -c 'SELECT pg_current_wal_lsn()')
	la0=$(cut -d' ' -f1 /proc/loadavg)
	j0=$(machine_jiffies)
	CLIENTS=()
	start_client() {
		case "$v" in
		writer-*) start_writer "$name" "${v#writer-}" ;;
		upsert-*|insert-*) start_connect "$name" "${v%-*}" "${v#*-}" ;;
		esac
	}
	t_launch=$(now)
	start_client
	c0=$(snap "${CLIENTS[@]}")
	local deadline=$(( $(date +%s) + TIMEOUT )) p
	while :; do
		read -r rows done <<<"$(progress "$v")"
		local target=$DISTINCT
		[ "${v%%-*}" = insert ] && target=$SENT
		if [ -z "$t_half" ] && [ "$rows" -ge $((target / 2)) ]; then
			t_half=$(now); c_half=$(snap "${CLIENTS[@]}"); rows_half=$rows
			if [ -n "$kill" ]; then
				hwm=$(hwm_kib "${CLIENTS[@]}")
				killed_at=$rows
				log "peer: $name: kill -9 at $rows rows"
				stop_clients KILL
				start_client
			fi
		fi
		if [ "$WAITS" = 1 ] && [ "$done" != 1 ]; then
			psql -c "SELECT coalesce(wait_event_type || ':' || wait_event, state)
				FROM pg_stat_activity WHERE backend_type = 'client backend'
				AND pid <> pg_backend_pid() AND state <> 'idle' AND application_name <> 'psql'" \
				>>"$work/$name.waits" || true
		fi
		[ "$done" = 1 ] && break
		for p in "${CLIENTS[@]}"; do
			if ! kill -0 "$p" 2>/dev/null; then
				echo "bench: $name: a client (pid $p) exited before the end; its log:" >&2
				tail -n 20 "$work/$name"*.log "$work/$name/connect.log" 2>/dev/null | cut -c1-300 >&2
				exit 1
			fi
		done
		if [ -f "$work/$name/connect.log" ] && grep -q 'Task threw an uncaught' "$work/$name/connect.log"; then
			echo "bench: $name: a Connect task failed:" >&2
			grep -A3 -E 'ERROR|Caused by' "$work/$name/connect.log" | head -n 30 | cut -c1-300 >&2
			exit 1
		fi
		if [ "$(date +%s)" -ge "$deadline" ]; then
			echo "bench: $name: not done after $TIMEOUT s ($rows rows)" >&2
			exit 1
		fi
		sleep 0.5
	done
	t_done=$(now)
	c1=$(snap "${CLIENTS[@]}")
	if [ -n "$kill" ]; then
		# Re-deliveries may go on after every message is in (a partition
		# read to its end before the kill is read again): until the row
		# count has not moved for 5 s.
		local last=-1 same=0
		while [ "$same" -lt 10 ]; do
			read -r rows done <<<"$(progress "$v")"
			if [ "$rows" = "$last" ]; then same=$((same + 1)); else same=0; last=$rows; fi
			sleep 0.5
		done
	fi
	local h; h=$(hwm_kib "${CLIENTS[@]}"); [ "$h" -gt "$hwm" ] && hwm=$h
	local busy la1 lsn1 wal tm dc
	read -r b0 tt0 <<<"$j0"; read -r b1 tt1 <<<"$(machine_jiffies)"
	busy=$(python3 -c "print(round(($b1 - $b0) / max(1, $tt1 - $tt0), 3))")
	la1=$(cut -d' ' -f1 /proc/loadavg)
	lsn1=$(psql -c 'SELECT pg_current_wal_lsn()')
	wal=$(psql -c "SELECT pg_wal_lsn_diff('$lsn1', '$lsn0')::bigint")
	tm=$(timing "$v")
	# Two bridges in one group: the second member gets its partitions
	# only after a rebalance (two rounds of the cooperative protocol, a few
	# seconds into the drain).  The rate from then on is the one of two
	# connections: rows applied after the later of the two bridges' first
	# non-empty assignments, over the time from then to the last row.
	local both=""
	if [ "$v" = writer-2 ] && [ $TWO_MODE = processes ] && [ -z "$kill" ]; then
		local tb
		tb=$(python3 - "$work/$name"-*.log <<-'PY'
			import datetime, json, re, sys
			ts = []
			for f in sys.argv[1:]:
			    for line in open(f, errors="replace"):
			        if re.search(r"assignment: \+[1-9][0-9]* partitions", line):
			            t = json.loads(line)["time"].replace("Z", "+00:00")
			            ts.append(datetime.datetime.fromisoformat(t).timestamp())
			            break
			print(max(ts) if len(ts) == len(sys.argv) - 1 else "")
		PY
		)
		if [ -n "$tb" ]; then
			both="$tb $(psql -F' ' -c "SELECT count(*), extract(epoch FROM max(applied_at)) FROM voltpay.payment
				WHERE applied_at >= to_timestamp($tb)")"
		fi
	fi
	stop_clients TERM
	dc=$(dup_counts "$v")
	python3 - "$work/runs.jsonl" <<-EOF
		import json
		hz = $(getconf CLK_TCK)
		c0, c1 = [int(x) for x in "$c0".split()], [int(x) for x in "$c1".split()]
		ch = [int(x) for x in "${c_half:-0 0 0}".split()]
		first, last, mid, nrows = [float(x) for x in "$tm".split()]
		rows, distinct, writes = [int(x or 0) for x in "$dc".split()]
		r = {"variant": "$v", "round": $round, "kill": bool("$kill"), "name": "$name",
		     "messages": $SENT, "distinct_payments": $DISTINCT, "rows": rows,
		     "distinct_rows": distinct, "tuples_written": writes,
		     "launch_to_done_s": round($t_done - $t_launch, 3),
		     "rate_first_to_last": round(nrows / max(1e-9, last - first)),
		     "rate_second_half": round((nrows - int(nrows / 2)) / max(1e-9, last - mid)),
		     "drain_s": round(last - first, 3), "second_half_s": round(last - mid, 3),
		     "cpu_s": {"client": (c1[0] - c0[0]) / hz, "postgres": (c1[1] - c0[1]) / hz,
		               "broker": (c1[2] - c0[2]) / hz},
		     "vmhwm_kib": $hwm, "wal_bytes": $wal, "machine_busy": $busy,
		     "loadavg_start": $la0, "loadavg_end": $la1}
		if "$c_half" and not r["kill"]:
		    # CPU from the poll that saw half the rows to the end, per row
		    # written in that time (the JVM warm).
		    n2 = max(1, (r["rows"] if "$v".startswith("insert") else r["distinct_rows"]) - $rows_half)
		    r["second_half_rows"] = n2
		    r["cpu_s_second_half"] = {k: (c1[i] - ch[i]) / hz for i, k in enumerate(["client", "postgres", "broker"])}
		if r["kill"]:
		    r["killed_at_rows"] = int("${killed_at:-0}")
		import collections, os
		wf = "$work/$name.waits"
		if os.path.exists(wf):
		    w = collections.Counter(l.strip() for l in open(wf) if l.strip())
		    tot = sum(w.values())
		    r["backend_waits"] = {k: round(v / tot, 3) for k, v in w.most_common(8)} if tot else {}
		    r["backend_wait_samples"] = tot
		if "$both":
		    tb, nb, lb = [float(x) for x in "$both".split()]
		    r["both_assigned_after_first_row_s"] = round(tb - first, 3)
		    r["rate_both_assigned"] = round(nb / max(1e-9, lb - tb))
		open("$work/runs.jsonl", "a").write(json.dumps(r) + "\n")
		print("%-9s r%d%s: %6d rows, %6d/s first to last, %6d/s second half, cpu client %.1f s pg %.1f s broker %.1f s, HWM %d MiB, busy %.2f, load %.2f%s" % (
		    "$v", $round, " KILL" if r["kill"] else "", rows, r["rate_first_to_last"], r["rate_second_half"],
		    r["cpu_s"]["client"], r["cpu_s"]["postgres"], r["cpu_s"]["broker"], $hwm // 1024, $busy, $la1,
		    ", %d/s once both bridges had partitions (%.1f s after the first row)" % (r["rate_both_assigned"], r["both_assigned_after_first_row_s"])
		    if "rate_both_assigned" in r else ""))
	EOF
}

: >"$work/runs.jsonl"
nv=${#VARIANTS[@]}
for round in $(seq "$ROUNDS"); do
	# Alternated: the order rotates by one variant every round, and every
	# other round runs backwards.
	order=()
	for i in $(seq 0 $((nv - 1))); do order+=("${VARIANTS[$(( (i + round - 1) % nv ))]}"); done
	if [ $((round % 2)) = 0 ]; then
		rev=(); for ((i = nv - 1; i >= 0; i--)); do rev+=("${order[$i]}"); done; order=("${rev[@]}")
	fi
	log "peer: round $round of $ROUNDS: ${order[*]}"
	for v in "${order[@]}"; do run "$v" "$round" >&2; done
done
for v in ${KILLS[@]+"${KILLS[@]}"}; do
	log "peer: SIGKILL half way: $v"
	run "$v" 0 kill >&2
done

python3 bench/peer/report.py "$work/runs.jsonl" "$out" \
	--two-mode "$TWO_MODE" --two-label "$TWO_LABEL" --messages "$SENT" --distinct "$DISTINCT" \
	--resend "$RESEND" --heap "$HEAP" --peer-topic-bytes "$PEER_BYTES" \
	--bridge-sha "$(sha256sum "$bin/voltpay-bridge" | cut -c1-16)" \
	--bridge-dirty "$(git status --porcelain bridge/ 2>/dev/null | wc -l)" \
	--commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
	--markdown "${out%.json}.md"
