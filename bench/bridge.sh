#!/usr/bin/env bash
# End-to-end benchmark of the bridge (the bridge issue's benchmark): on one
# private cluster with durable commits (fsync on), side by side in one run,
#
#   (a) in-database: voltpay.apply_payment_batch() through pgbench, one
#       client (the bridge has one connection), batches of the bridge's
#       default --batch-size, over the very messages the load generator
#       produced (keys, payloads, partitions, offsets from its manifest);
#   (b) end to end: N messages pre-produced by voltpay-loadgen into
#       voltpay-mockkafka (valid, 30% with an e-mail address, 5000
#       accounts) BEFORE the bridge starts, then the bridge: from its
#       partition assignment (its first fetch) until all N are applied in
#       the database AND the outbox is empty (every event delivered to the
#       mock cluster and acknowledged);
#
# (a) and (b) alternate, ROUNDS times (the order swaps every round), and
# the ratio is the median of the rounds' ratios.  Then (c) once: the load
# generator producing at full speed while the bridge consumes (timed from
# the load generator's start); and (d) a short profiling run at
# --log-level debug (slower: a log line per message) whose JSON log
# timestamps split the bridge's main loop into its phases (fill, apply,
# outbox fetch, produce and delivery, acknowledge).  With tracing (the
# default), each round also runs (b) with span export on
# (--zipkin-url to bench/zipkin-sink.py, a stand-in that takes and counts
# the spans) at the default --trace-sample-ratio and at 1 (every payment),
# in alternating order with the export-off run: their rates side by side.  Every bridge run records its peak
# memory (VmHWM), its CPU time and that of its database backend and of the
# mock cluster, its /metrics, and pg_stat_statements of its statements.
# Prints a table and writes bench/results/bridge.json.
#
# Why voltpay-mockkafka and not --embedded-kafka: the messages must be in
# Kafka before the bridge starts, and an embedded cluster starts (empty)
# with the bridge; and in a separate process the mock cluster's stored
# records do not count in the bridge's memory.  The mock is the same
# librdkafka mock cluster (5 brokers, 100 partitions, replication 2), and
# the bridge gets the consumer settings --embedded-kafka would give it.
#
#   VOLTPAY_BRIDGE_BENCH_N          messages per run (default 100000)
#   VOLTPAY_BRIDGE_BENCH_ROUNDS     rounds of (a) and (b) (default 5)
#   VOLTPAY_BRIDGE_BENCH_PROFILE_N  messages of the profiling run (default
#                                   20000; 0 skips it)
#   VOLTPAY_BRIDGE_BENCH_LIVE       1 (default) runs (c), 0 skips it
#   VOLTPAY_BRIDGE_BENCH_KEEP       1 keeps the work directory (logs)
#   VOLTPAY_BRIDGE_BENCH_MOCK       another mock cluster binary (default
#                                   $VB_BIN/voltpay-mockkafka), for A/B runs
#   VOLTPAY_BRIDGE_BENCH_BATCH      batch size of both sides (default: the
#                                   bridge's default --batch-size)
#   VOLTPAY_BRIDGE_BENCH_BRIDGE_ARGS  more bridge arguments (space-separated),
#                                   e.g. "-X consumer.queued.max.messages.kbytes=8192"
#   VOLTPAY_BRIDGE_BENCH_COMPARE_ARGS  bridge arguments of a second
#                                   configuration of the same binary (for
#                                   example "--db-connections 2"): each round
#                                   also runs (b) with them, in alternating
#                                   order, and the results compare both
#                                   side by side (rate, ratio to (b), CPU
#                                   seconds per 100,000 of the bridge and of
#                                   all its backends)
#   VOLTPAY_BRIDGE_BENCH_BASELINE   another voltpay-bridge binary (for
#                                   example the previous release's): each
#                                   round also runs (b) with it, in
#                                   alternating order, and the results
#                                   compare both side by side (ratio to
#                                   (a), CPU seconds per 100,000 payments)
#   VOLTPAY_BRIDGE_BENCH_TRACE      1 (default) runs (b) also with span
#                                   export on at the default ratio and at 1;
#                                   0 skips them
#   VOLTPAY_BRIDGE_BENCH_OUT        the JSON written (bench/results/bridge.json)
#   VB_BIN                          directory of the bridge binaries (bridge)
#
# The binaries are copied at the start, so that a rebuild during the run
# does not change what is measured; the JSON records their checksums and
# whether bridge/ had uncommitted changes.
set -euo pipefail
cd "$(dirname "$0")/.."
. test/lib/pgcluster.sh

N=${VOLTPAY_BRIDGE_BENCH_N:-100000}
ROUNDS=${VOLTPAY_BRIDGE_BENCH_ROUNDS:-5}
PROFILE_N=${VOLTPAY_BRIDGE_BENCH_PROFILE_N:-20000}
LIVE=${VOLTPAY_BRIDGE_BENCH_LIVE:-1}
TRACE=${VOLTPAY_BRIDGE_BENCH_TRACE:-1}
src_bin=${VB_BIN:-bridge}
mock_bin=${VOLTPAY_BRIDGE_BENCH_MOCK:-$src_bin/voltpay-mockkafka}
out=${VOLTPAY_BRIDGE_BENCH_OUT:-bench/results/bridge.json}
TOPIC=payment_writer_topic
LIVE_TOPIC=bench_live_input
PROFILE_TOPIC=bench_profile_input
SEED=20261124
read -r -a EXTRA <<<"${VOLTPAY_BRIDGE_BENCH_BRIDGE_ARGS:-}"
read -r -a CMP <<<"${VOLTPAY_BRIDGE_BENCH_COMPARE_ARGS:-}"

declare -a PIDS=()
work=
# On any exit: every process this script started, by PID, then the cluster.
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	vp_pg_stop
	[ -n "${work:-}" ] || return 0
	if [ "${VOLTPAY_BRIDGE_BENCH_KEEP:-0}" = 1 ]; then
		echo "bench: kept $work"
	else
		rm -rf "$work"
	fi
}

now() { date +%s.%N; }
log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
psql() { command psql -XqAt -v ON_ERROR_STOP=1 "$@"; }
# CPU seconds (user + system) a process has used so far.
cpu_s() {
	[ -n "$1" ] && [ -r "/proc/$1/stat" ] || { echo 0; return; }
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / hz }' "/proc/$1/stat"
}
# cpu_sum PID...: the sum of their CPU seconds.
cpu_sum() {
	local t=0 p
	for p in "$@"; do t=$(python3 -c "print(round($t + $(cpu_s "$p"), 2))"); done
	echo "$t"
}
# Busy and total jiffies of the whole machine (all CPUs), from /proc/stat.
machine_jiffies() {
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit }' /proc/stat
}
# machine_busy "BUSY0 TOTAL0": the share of the machine's CPU time that was
# busy since then (this benchmark's processes and everybody else's).
machine_busy() {
	local b0 t0 b1 t1
	read -r b0 t0 <<<"$1"
	read -r b1 t1 <<<"$(machine_jiffies)"
	python3 -c "print(round(($b1 - $b0) / max(1, $t1 - $t0), 3))"
}
loadavg() { cut -d' ' -f1 /proc/loadavg; }
# forget PID: a process that has been waited for leaves the cleanup list.
forget() {
	local p keep=()
	for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS=(${keep[@]+"${keep[@]}"})
}

for b in "$src_bin/voltpay-bridge" "$src_bin/voltpay-loadgen" "$mock_bin"; do
	if [ ! -x "$b" ]; then
		echo "bench: $b is missing: run 'make bridge' first" >&2
		exit 1
	fi
done

work=$(mktemp -d /tmp/voltpay-bridge-bench.XXXXXX)
trap cleanup EXIT
chmod 755 "$work"
bin=$work/bin
mkdir "$bin"
cp "$src_bin/voltpay-bridge" "$src_bin/voltpay-loadgen" "$bin/"
cp "$mock_bin" "$bin/voltpay-mockkafka"
BASELINE=${VOLTPAY_BRIDGE_BENCH_BASELINE:-}
if [ -n "$BASELINE" ]; then
	[ -x "$BASELINE" ] || { echo "bench: baseline $BASELINE is not an executable" >&2; exit 1; }
	cp "$BASELINE" "$bin/voltpay-bridge-baseline"
fi
provenance=$(python3 - "$bin" "$src_bin" "$mock_bin" <<-'EOF'
	import datetime, hashlib, json, os, subprocess, sys
	b, src, mock = sys.argv[1:]
	def sha(p):
	    return hashlib.sha256(open(p, "rb").read()).hexdigest()[:16]
	def git(*a):
	    try:
	        return subprocess.run(["git", *a], capture_output=True, text=True, check=True).stdout.strip()
	    except Exception:
	        return None
	built = os.stat(os.path.join(src, "voltpay-bridge")).st_mtime
	print(json.dumps({
	    "git_head": git("rev-parse", "--short", "HEAD"),
	    "bridge_uncommitted_changes": bool(git("status", "--porcelain", "--", "bridge/src", "bridge/tools")),
	    "bridge": {"path": os.path.join(src, "voltpay-bridge"),
	               "sha256_16": sha(os.path.join(b, "voltpay-bridge")),
	               "built": datetime.datetime.utcfromtimestamp(built).isoformat(timespec="seconds") + "Z",
	               "version": subprocess.run([os.path.join(b, "voltpay-bridge"), "--version"],
	                                         capture_output=True, text=True).stdout.strip()},
	    "mock": {"path": mock, "sha256_16": sha(os.path.join(b, "voltpay-mockkafka"))},
	    "baseline": ({"path": os.environ["VOLTPAY_BRIDGE_BENCH_BASELINE"],
	                  "sha256_16": sha(os.path.join(b, "voltpay-bridge-baseline")),
	                  "version": subprocess.run([os.path.join(b, "voltpay-bridge-baseline"), "--version"],
	                                            capture_output=True, text=True).stdout.strip()}
	                 if os.path.exists(os.path.join(b, "voltpay-bridge-baseline")) else None),
	}))
	EOF
)
# The bridge's default batch size, from its own --help.
BATCH=${VOLTPAY_BRIDGE_BENCH_BATCH:-}
[ -n "$BATCH" ] || BATCH=$("$bin/voltpay-bridge" --help | sed -n '/--batch-size/,/Variable/s/.*Default: \([0-9]*\)\..*/\1/p' | head -1)
[ -n "$BATCH" ] || { echo "bench: cannot read the default --batch-size from voltpay-bridge --help" >&2; exit 1; }
runs=$work/runs.jsonl
: >"$runs"

log "bench bridge: $N messages per run, batch size $BATCH, $ROUNDS rounds; work directory $work"
log "binaries: $provenance"
vp_pg_start "fsync = on" "synchronous_commit = on" "shared_buffers = 512MB" \
	"max_wal_size = 4GB" "checkpoint_timeout = 30min" "max_connections = 50" \
	"shared_preload_libraries = 'pg_stat_statements'" "pg_stat_statements.track = top"
trap cleanup EXIT	# vp_pg_start set its own
psql -c 'CREATE EXTENSION pg_stat_statements'

# ---------------------------------------------------------------------------
# The mock cluster, holding the pre-produced messages for every run; each
# run has its own database and consumer group, so each starts at offset 0.
"$bin/voltpay-mockkafka" --partitions 100 --control-fifo "$work/mock.ctl" \
	--topics "$TOPIC,$LIVE_TOPIC,$PROFILE_TOPIC,payment_read_topic,payment_email,payment_writer_dlq" \
	>"$work/mock.out" 2>"$work/mock.log" &
mock_pid=$!
PIDS+=("$mock_pid")
# The span sink of the tracing runs.
sink_url=
if [ "$TRACE" = 1 ]; then
	python3 bench/zipkin-sink.py "$work/sink.port" 2>"$work/sink.log" &
	PIDS+=("$!")
	for _ in $(seq 100); do [ -s "$work/sink.port" ] && break; sleep 0.05; done
	[ -s "$work/sink.port" ] || { echo "bench: the span sink did not start" >&2; exit 1; }
	sink_url=http://127.0.0.1:$(cat "$work/sink.port")/api/v2/spans
fi
brokers=
for _ in $(seq 300); do
	brokers=$(sed -n 's/^bootstrap.servers=//p' "$work/mock.out" 2>/dev/null || true)
	[ -n "$brokers" ] && break
	kill -0 "$mock_pid" 2>/dev/null || break
	sleep 0.1
done
[ -n "$brokers" ] || { echo "bench: the mock cluster did not start: $(cat "$work/mock.log")" >&2; exit 1; }

# loadgen TOPIC COUNT MANIFEST [args]: COUNT realistic valid messages, as
# fast as possible; prints the produce rate.
loadgen() {
	local topic=$1 count=$2 manifest=$3 t0 t1
	shift 3
	t0=$(now)
	"$bin/voltpay-loadgen" -b "$brokers" -t "$topic" --count "$count" --rate 0 --accounts 5000 \
		--email-fraction 0.3 --seed "$SEED" --manifest "$manifest" "$@" >"$work/loadgen.out" 2>"$work/loadgen.log" ||
		{ echo "bench: voltpay-loadgen failed:" >&2; cat "$work/loadgen.log" >&2; return 1; }
	t1=$(now)
	python3 -c "print(round($count / ($t1 - $t0)))"
}

log "pre-producing $N messages into $TOPIC"
produce_rate=$(loadgen "$TOPIC" "$N" "$work/manifest.jsonl" --manifest-payloads)
[ "$(wc -l <"$work/manifest.jsonl")" = "$N" ] || { echo "bench: not every message was acknowledged" >&2; exit 1; }
log "  $produce_rate messages/s"
if [ "$PROFILE_N" -gt 0 ]; then
	loadgen "$PROFILE_TOPIC" "$PROFILE_N" "$work/manifest-profile.jsonl" >/dev/null
fi

# ---------------------------------------------------------------------------
# (a) The in-database side: the same messages in a table, applied in
# batches of BATCH by pgbench, one client, with the arguments the bridge
# passes (topic, partitions, offsets, timestamps).
python3 - "$work/manifest.jsonl" "$work/msgs.csv" <<-'EOF'
	import csv, json, sys
	with open(sys.argv[2], "w", newline="") as f:
	    w = csv.writer(f)
	    for i, line in enumerate(open(sys.argv[1]), 1):
	        m = json.loads(line)
	        w.writerow([i, m["key"], m["payload"], m["partition"], m["offset"]])
EOF
psql -c 'CREATE DATABASE vb_indb'
psql -d vb_indb <<-SQL
	CREATE EXTENSION voltpay;
	CREATE SCHEMA bench;
	CREATE TABLE bench.staging (i int, key text, payload text, part int, off bigint);
	\copy bench.staging FROM '$work/msgs.csv' WITH (FORMAT csv)
	CREATE TABLE bench.msgs AS
	SELECT i, key, convert_to(payload, 'UTF8') AS payload, part, off,
		   clock_timestamp() AS ts
	  FROM bench.staging;
	ALTER TABLE bench.msgs ADD PRIMARY KEY (i);
	DROP TABLE bench.staging;
	CREATE SEQUENCE bench.batch_seq;
	CREATE FUNCTION bench.reset() RETURNS void LANGUAGE sql AS \$\$
		TRUNCATE voltpay.payment, voltpay.payment_party, voltpay.payment_remittance,
				 voltpay.payment_notification, voltpay.idempotency, voltpay.outbox,
				 voltpay.rejected_message, voltpay.partition_position;
		SELECT setval('bench.batch_seq', 1, false);
	\$\$;
	VACUUM ANALYZE bench.msgs;
SQL
cat >"$work/apply.sql" <<-EOF
	SELECT nextval('bench.batch_seq') - 1 AS b \gset
	SELECT count(*) FROM voltpay.apply_payment_batch(
		ARRAY(SELECT key FROM bench.msgs WHERE i > :b * :bs AND i <= (:b + 1) * :bs ORDER BY i),
		ARRAY(SELECT payload FROM bench.msgs WHERE i > :b * :bs AND i <= (:b + 1) * :bs ORDER BY i),
		'$TOPIC',
		ARRAY(SELECT part FROM bench.msgs WHERE i > :b * :bs AND i <= (:b + 1) * :bs ORDER BY i),
		ARRAY(SELECT off FROM bench.msgs WHERE i > :b * :bs AND i <= (:b + 1) * :bs ORDER BY i),
		ARRAY(SELECT ts FROM bench.msgs WHERE i > :b * :bs AND i <= (:b + 1) * :bs ORDER BY i));
EOF

# pg_stat_statements of database $1 as a JSON array, each statement
# labelled (apply, outbox_fetch, outbox_ack, outbox_count, positions, or
# other: the benchmark's own queries).
pgss_json() {
	psql -c "
		SELECT COALESCE(json_agg(json_build_object(
				 'label', CASE WHEN s.query LIKE '%apply_payment_batch%' OR s.query LIKE '%apply_record_batch%' THEN 'apply'
							   WHEN s.query LIKE '%count(*) FROM voltpay.outbox_fetch%' THEN 'outbox_count'
							   WHEN s.query LIKE '%outbox_fetch%' THEN 'outbox_fetch'
							   WHEN s.query LIKE '%outbox_ack%' THEN 'outbox_ack'
							   WHEN s.query LIKE '%partition_positions%' THEN 'positions'
							   ELSE 'other' END,
				 'query', left(regexp_replace(s.query, '\s+', ' ', 'g'), 90),
				 'calls', s.calls, 'total_ms', round(s.total_exec_time::numeric, 1),
				 'mean_ms', round(s.mean_exec_time::numeric, 2), 'rows', s.rows)
				 ORDER BY s.total_exec_time DESC), '[]')
		  FROM pg_stat_statements AS s
		 WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = '$1')
		   AND s.calls > 0 AND s.total_exec_time > 1"
}

run_indb() {  # $1 round
	local rate got j0 la
	psql -d vb_indb -c 'SELECT bench.reset()' >/dev/null
	psql -c 'CHECKPOINT' -c 'SELECT pg_stat_statements_reset()' >/dev/null
	la=$(loadavg)
	j0=$(machine_jiffies)
	rate=$(pgbench -n -c 1 -t $((N / BATCH)) -D bs="$BATCH" -f "$work/apply.sql" vb_indb 2>&1 |
		awk -v bs="$BATCH" '/^tps = / { printf "%.0f\n", $3 * bs }')
	busy=$(machine_busy "$j0")
	got=$(psql -d vb_indb -c 'SELECT count(*) FROM voltpay.payment')
	[ "$got" = $((N / BATCH * BATCH)) ] || { echo "bench: in-database run applied $got of $N" >&2; exit 1; }
	printf '{"kind": "indb", "round": %s, "payments_per_s": %s, "loadavg_at_start": %s, "machine_busy": %s, "pgss": %s}\n' \
		"$1" "$rate" "$la" "$busy" "$(pgss_json vb_indb)" >>"$runs"
	log "  (a) in-database: $rate payments/s"
}

# ---------------------------------------------------------------------------
# (b) A bridge run.  run_bridge KIND ROUND TOPIC COUNT [bridge args]: fresh
# database, fresh consumer group; KIND "pre" (COUNT messages already in
# TOPIC), "base" (the same with the baseline binary), "live" (the load
# generator starts once the bridge owns its partitions) or "profile".
run_bridge() {
	local kind=$1 round=$2 topic=$3 want=$4
	shift 4
	local db=vb_${kind}_$round dir=$work/${kind}_$round port bpid t_start t_assigned="" t_done="" line
	local backend="" la j0 busy bcpu0 becpu0 mcpu0 bcpu1 becpu1 mcpu1 lpid="" sum pending t hwm="" rss_max=0 rss
	mkdir -p "$dir"
	psql -c "CREATE DATABASE $db"
	psql -d "$db" -c 'CREATE EXTENSION voltpay'
	psql -c "DO \$\$ BEGIN
		IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bridge') THEN
			CREATE ROLE bridge LOGIN IN ROLE voltpay_writer;
		END IF;
	END \$\$"
	psql -c 'CHECKPOINT' -c 'SELECT pg_stat_statements_reset()' >/dev/null
	port=$(vp_free_port)
	t_start=$(now)
	local exe=$bin/voltpay-bridge
	[ "$kind" = base ] && exe=$bin/voltpay-bridge-baseline
	[ "$kind" = cmp ] && set -- "${CMP[@]}" "$@"
	"$exe" -b "$brokers" --db "host=$PGHOST port=$PGPORT user=bridge dbname=$db" \
		--group "bench-$kind-$round" --input-topic "$topic" --batch-size "$BATCH" \
		--http-addr 127.0.0.1 --http-port "$port" \
		-X consumer.session.timeout.ms=6000 -X consumer.heartbeat.interval.ms=500 \
		-X consumer.fetch.wait.max.ms=10 ${EXTRA[@]+"${EXTRA[@]}"} "$@" >"$dir/bridge.out" 2>"$dir/bridge.log" &
	bpid=$!
	PIDS+=("$bpid")
	# Until it owns partitions (its first fetch follows at once).
	for _ in $(seq 600); do
		if grep -q '"msg":"[a-z]* assignment: +[1-9]' "$dir/bridge.log"; then
			t_assigned=$(grep -m1 '"msg":"[a-z]* assignment: +[1-9]' "$dir/bridge.log" |
				python3 -c 'import json, sys, datetime
print(datetime.datetime.fromisoformat(json.loads(sys.stdin.readline())["time"].replace("Z", "+00:00")).timestamp())')
			break
		fi
		kill -0 "$bpid" 2>/dev/null || { echo "bench: the bridge exited:" >&2; tail -5 "$dir/bridge.log" >&2; exit 1; }
		sleep 0.05
	done
	[ -n "$t_assigned" ] || { echo "bench: the bridge got no partitions in 30 s" >&2; exit 1; }
	# Every backend of the bridge (one per connection).
	backend=$(psql -c "SELECT string_agg(pid::text, ' ') FROM pg_stat_activity WHERE datname = '$db' AND usename = 'bridge'")
	bcpu0=$(cpu_s "$bpid"); becpu0=$(cpu_sum $backend); mcpu0=$(cpu_s "$mock_pid")
	la=$(loadavg)
	j0=$(machine_jiffies)
	if [ "$kind" = live ]; then
		t_assigned=$(now)
		# The binary itself in the background (not a function in a
		# subshell), so that the cleanup can stop it by its PID.
		"$bin/voltpay-loadgen" -b "$brokers" -t "$topic" --count "$want" --rate 0 --accounts 5000 \
			--email-fraction 0.3 --seed "$SEED" --manifest "$dir/manifest.jsonl" \
			>"$dir/loadgen.out" 2>"$dir/loadgen.log" &
		lpid=$!
		PIDS+=("$lpid")
	fi
	# Until every message is applied (the positions add up to N: offsets
	# start at 0 and there are no duplicates) and the outbox is empty; one
	# psql session, polled every 0.1 s.
	coproc PQ { exec psql -XAtq -d "$db"; }
	local pq_pid=$PQ_PID
	PIDS+=("$pq_pid")
	while :; do
		echo "SELECT s, CASE WHEN s >= $want THEN NOT EXISTS (SELECT FROM voltpay.outbox) END,
			extract(epoch FROM clock_timestamp())
			FROM (SELECT COALESCE(sum(next_offset), 0) AS s FROM voltpay.partition_position) AS p;" >&"${PQ[1]}"
		IFS='|' read -r -t 60 sum pending t <&"${PQ[0]}" || { echo "bench: the database did not answer" >&2; exit 1; }
		rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$bpid/status" 2>/dev/null || echo 0)
		[ "${rss:-0}" -gt "$rss_max" ] && rss_max=$rss
		if [ "$pending" = t ]; then
			t_done=$t
			break
		fi
		kill -0 "$bpid" 2>/dev/null || { echo "bench: the bridge exited:" >&2; tail -5 "$dir/bridge.log" >&2; exit 1; }
		if python3 -c "import sys; sys.exit(0 if $(now) - $t_start > 600 else 1)"; then
			echo "bench: not done after 600 s ($sum of $want applied)" >&2
			exit 1
		fi
		sleep 0.1
	done
	eval "exec ${PQ[1]}>&-"
	wait "$pq_pid" 2>/dev/null || true
	forget "$pq_pid"
	bcpu1=$(cpu_s "$bpid"); becpu1=$(cpu_sum $backend); mcpu1=$(cpu_s "$mock_pid")
	busy=$(machine_busy "$j0")
	hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$bpid/status")
	curl -fsS --max-time 5 "http://127.0.0.1:$port/metrics" >"$dir/metrics.txt" || : >"$dir/metrics.txt"
	if [ -n "$lpid" ]; then
		wait "$lpid" || { echo "bench: voltpay-loadgen failed:" >&2; cat "$dir/loadgen.log" >&2; exit 1; }
		forget "$lpid"
		# The rate it reports ("..., 2.1 s, 47619 msg/s").
		sed -n 's/.* \([0-9]*\) msg\/s.*/\1/p' "$dir/loadgen.log" | tail -1 >"$dir/loadgen_rate"
		[ -s "$dir/loadgen_rate" ] || echo null >"$dir/loadgen_rate"
	fi
	local db_stats
	db_stats=$(psql -d "$db" -c "
		SELECT json_build_object('payments', (SELECT count(*) FROM voltpay.payment),
			'rejected', (SELECT count(*) FROM voltpay.rejected_message),
			'outbox', (SELECT count(*) FROM voltpay.outbox),
			'first_apply', extract(epoch FROM min(applied_at)),
			'last_apply', extract(epoch FROM max(applied_at)))
		  FROM voltpay.payment")
	printf '{"kind": "%s", "round": %s, "n": %s, "t_start": %s, "t_assigned": %s, "t_done": %s, "vmhwm_kb": %s, "rss_max_kb": %s, "loadavg_at_start": %s, "machine_busy": %s, "cpu_s": {"bridge": %s, "backend": %s, "mock": %s}, "db": %s, "pgss": %s, "dir": "%s", "produce_rate": %s}\n' \
		"$kind" "$round" "$want" "$t_start" "$t_assigned" "$t_done" "$hwm" "$rss_max" "$la" "$busy" \
		"$(python3 -c "print(round($bcpu1 - $bcpu0, 2))")" "$(python3 -c "print(round($becpu1 - $becpu0, 2))")" \
		"$(python3 -c "print(round($mcpu1 - $mcpu0, 2))")" "$db_stats" "$(pgss_json "$db")" "$dir" \
		"$(cat "$dir/loadgen_rate" 2>/dev/null || echo null)" >>"$runs"
	# A clean stop, as in production.
	kill -TERM "$bpid"
	local rc=0
	wait "$bpid" || rc=$?
	forget "$bpid"
	[ "$rc" = 0 ] || { echo "bench: the bridge exited $rc after SIGTERM" >&2; tail -5 "$dir/bridge.log" >&2; exit 1; }
	local got
	got=$(echo "$db_stats" | python3 -c 'import json, sys; print(json.load(sys.stdin)["payments"])')
	[ "$got" = "$want" ] || { echo "bench: $kind run applied $got of $want" >&2; exit 1; }
	log "  ($kind) end to end: $(python3 -c "print(round($want / ($t_done - $t_assigned)))") payments/s" \
		"(start to assignment $(python3 -c "print(round($t_assigned - $t_start, 1))") s), VmHWM $((hwm / 1024)) MiB"
	psql -c "DROP DATABASE $db" >/dev/null
}

# ---------------------------------------------------------------------------
for r in $(seq "$ROUNDS"); do
	log "round $r of $ROUNDS"
	if [ $((r % 2)) = 1 ]; then
		run_indb "$r"
		run_bridge pre "$r" "$TOPIC" "$N"
		[ ${#CMP[@]} = 0 ] || run_bridge cmp "$r" "$TOPIC" "$N"
		[ -z "$BASELINE" ] || run_bridge base "$r" "$TOPIC" "$N"
		[ "$TRACE" != 1 ] || run_bridge trace "$r" "$TOPIC" "$N" --zipkin-url "$sink_url"
		[ "$TRACE" != 1 ] || run_bridge trace_all "$r" "$TOPIC" "$N" --zipkin-url "$sink_url" \
			--trace-sample-ratio 1
	else
		[ "$TRACE" != 1 ] || run_bridge trace_all "$r" "$TOPIC" "$N" --zipkin-url "$sink_url" \
			--trace-sample-ratio 1
		[ "$TRACE" != 1 ] || run_bridge trace "$r" "$TOPIC" "$N" --zipkin-url "$sink_url"
		[ -z "$BASELINE" ] || run_bridge base "$r" "$TOPIC" "$N"
		[ ${#CMP[@]} = 0 ] || run_bridge cmp "$r" "$TOPIC" "$N"
		run_bridge pre "$r" "$TOPIC" "$N"
		run_indb "$r"
	fi
done
if [ "$LIVE" = 1 ]; then
	log "(c) the load generator producing at full speed while the bridge consumes"
	run_bridge live 1 "$LIVE_TOPIC" "$N"
fi
if [ "$PROFILE_N" -gt 0 ]; then
	log "(d) profiling run, --log-level debug, $PROFILE_N messages"
	run_bridge profile 1 "$PROFILE_TOPIC" "$PROFILE_N" --log-level debug
fi

# ---------------------------------------------------------------------------
python3 - "$runs" "$out" "$N" "$BATCH" "$ROUNDS" "$produce_rate" "$provenance" "${EXTRA[*]}" "${CMP[*]}" <<-'EOF'
	import datetime, json, os, re, statistics, sys
	runs_path, out, n, batch, rounds, produce_rate, provenance, extra_args, cmp_args = sys.argv[1:]
	runs = [json.loads(l) for l in open(runs_path) if l.strip()]
	n, batch = int(n), int(batch)

	def metrics(path):
	    """Prometheus text: plain values and histograms (cumulative buckets)."""
	    vals, hist = {}, {}
	    for line in open(path):
	        if line.startswith("#") or not line.strip():
	            continue
	        name, value = line.rsplit(" ", 1)
	        m = re.match(r'([a-z_]+)_bucket\{le="([^"]+)"\}$', name)
	        if m:
	            le = float("inf") if m.group(2) == "+Inf" else float(m.group(2))
	            hist.setdefault(m.group(1), []).append((le, float(value)))
	        else:
	            vals[name] = float(value)
	    return vals, hist

	def quantile(hist, name, q):
	    b = sorted(hist.get(name, []))
	    if not b or b[-1][1] == 0:
	        return None
	    for le, c in b:
	        if c >= q * b[-1][1]:
	            return le if le != float("inf") else None
	    return None

	def ts(s):
	    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()

	def phases(log_path, apply_s):
	    """The main loop's phases from a --log-level debug log, by the time
	    between its debug lines, each span named by the line that ends it:
	    "batch of N applied" ends filling and applying a batch (apply itself
	    is the bridge's apply_duration_seconds sum, the rest is filling and
	    the loop's chores); "N events produced and delivered in X ms" ends
	    the outbox_fetch before it and the X ms of producing and waiting for
	    delivery reports; "N events fetched and produced" (a bridge that
	    publishes asynchronously) ends outbox_fetch and handing the events
	    to librdkafka; "published and acknowledged" ends outbox_ack (and,
	    when publishing is asynchronous, whatever waited before it)."""
	    span = {"outbox_fetch_s": 0.0, "produce_and_delivery_s": 0.0,
	            "outbox_fetch_and_produce_s": 0.0, "outbox_ack_s": 0.0}
	    fill_apply = 0.0
	    batches = cycles = 0
	    mark = None
	    for line in open(log_path):
	        try:
	            r = json.loads(line)
	            msg, t = r.get("msg", ""), ts(r["time"])
	        except (ValueError, KeyError):
	            continue
	        if re.match(r"batch of \d+ applied", msg):
	            batches += 1
	            if mark is not None:
	                fill_apply += t - mark
	            mark = t
	            continue
	        if mark is None:
	            continue
	        m = re.match(r"\d+ events produced and delivered in (\d+) ms", msg)
	        if m:
	            cycles += 1
	            p = int(m.group(1)) / 1000.0
	            span["produce_and_delivery_s"] += p
	            span["outbox_fetch_s"] += max(0.0, t - mark - p)
	            mark = t
	        elif re.match(r"\d+ events fetched and produced", msg):
	            cycles += 1
	            span["outbox_fetch_and_produce_s"] += t - mark
	            mark = t
	        elif msg.startswith("published and acknowledged"):
	            span["outbox_ack_s"] += t - mark
	            mark = t
	    res = {"batches": batches, "publish_cycles": cycles, "apply_s": round(apply_s, 3),
	           "fill_and_loop_s": round(max(0.0, fill_apply - apply_s), 3)}
	    res.update({k: round(v, 3) for k, v in span.items() if v > 0})
	    return res

	def db_time(pgss):
	    """Server-side execution time per statement kind (pg_stat_statements;
	    COMMIT's WAL flush is not part of it)."""
	    out = {}
	    for q in pgss:
	        if q["label"] == "other":
	            continue
	        d = out.setdefault(q["label"], {"calls": 0, "total_s": 0.0, "rows": 0})
	        d["calls"] += q["calls"]
	        d["total_s"] += q["total_ms"] / 1000.0
	        d["rows"] += q["rows"]
	    for d in out.values():
	        d["mean_ms"] = round(1000 * d["total_s"] / d["calls"], 2) if d["calls"] else None
	        d["total_s"] = round(d["total_s"], 3)
	    return out

	def connections(vals):
	    """With --db-connections > 1: each apply connection's busy and waiting
	    seconds, and the share of the rounds' time spent waiting for the
	    slowest connection (what independent connections would win)."""
	    conns = {}
	    for k, v in vals.items():
	        m = re.match(r'voltpay_bridge_apply_connection_seconds_total\{connection="(\d+)",state="(\w+)"\}$', k)
	        if m:
	            conns.setdefault(int(m.group(1)), {})[m.group(2)] = v
	    if not conns:
	        return None
	    busy = sum(c.get("busy", 0) for c in conns.values())
	    waiting = sum(c.get("waiting", 0) for c in conns.values())
	    return {"per_connection": [conns[i] for i in sorted(conns)],
	            "waiting_share": round(waiting / (busy + waiting), 3) if busy + waiting else None}

	def summarise(r):
	    vals, hist = metrics(os.path.join(r["dir"], "metrics.txt"))
	    p = "voltpay_bridge_"
	    wall = r["t_done"] - r["t_assigned"]
	    nb = vals.get(p + "batch_size_count", 0)
	    apply_s = vals.get(p + "apply_duration_seconds_sum", 0.0)
	    s = {
	        "kind": r["kind"], "round": r["round"], "messages": r["n"],
	        "payments_per_s": round(r["n"] / wall),
	        "payments_per_s_from_process_start": round(r["n"] / (r["t_done"] - r["t_start"])),
	        "seconds": round(wall, 2),
	        "start_to_assignment_s": round(r["t_assigned"] - r["t_start"], 2),
	        "applying_span_s": round(r["db"]["last_apply"] - r["db"]["first_apply"], 2),
	        "vmhwm_mib": round(r["vmhwm_kb"] / 1024.0, 1),
	        "rss_max_sampled_mib": round(r["rss_max_kb"] / 1024.0, 1),
	        "cpu_s": r["cpu_s"],
	        "loadavg_at_start": r["loadavg_at_start"],
	        "machine_busy": r["machine_busy"],
	        "batches": int(nb),
	        "mean_batch_size": round(vals.get(p + "batch_size_sum", 0) / nb, 1) if nb else None,
	        "apply_s_total": round(apply_s, 2),
	        "apply_share_of_wall": round(apply_s / wall, 3),
	        "apply_ms_mean": round(1000 * apply_s / nb, 1) if nb else None,
	        "apply_s_p50_le": quantile(hist, p + "apply_duration_seconds", .5),
	        "apply_s_p99_le": quantile(hist, p + "apply_duration_seconds", .99),
	        "end_to_end_s_p50_le": quantile(hist, p + "end_to_end_latency_seconds", .5),
	        "end_to_end_s_p99_le": quantile(hist, p + "end_to_end_latency_seconds", .99),
	        "apply_duration_buckets": [["+Inf" if le == float("inf") else le, int(c)]
	                                   for le, c in sorted(hist.get(p + "apply_duration_seconds", []))],
	        "events_published": int(sum(v for k, v in vals.items() if k.startswith(p + "events_published_total"))),
	        "retries": int(sum(v for k, v in vals.items() if k.startswith(p + "retries_total"))),
	        "errors": int(sum(v for k, v in vals.items() if k.startswith(p + "errors_total"))),
	        "spans_exported": int(vals.get(p + "spans_exported_total", 0)),
	        "spans_dropped": int(vals.get(p + "spans_dropped_total", 0)),
	        "connections": connections(vals),
	        "db_time": db_time(r["pgss"]),
	        "pg_stat_statements": r["pgss"],
	    }
	    if r.get("produce_rate") is not None:
	        s["loadgen_messages_per_s"] = r["produce_rate"]
	    if r["kind"] == "profile":
	        s["phases"] = phases(os.path.join(r["dir"], "bridge.log"), apply_s)
	    return s

	indb = {r["round"]: r for r in runs if r["kind"] == "indb"}
	pre = {r["round"]: summarise(r) for r in runs if r["kind"] == "pre"}
	base = {r["round"]: summarise(r) for r in runs if r["kind"] == "base"}
	cmp = {r["round"]: summarise(r) for r in runs if r["kind"] == "cmp"}
	per100k = lambda s: round(s["cpu_s"]["bridge"] * 100000 / s["messages"], 2)
	live = [summarise(r) for r in runs if r["kind"] == "live"]
	prof = [summarise(r) for r in runs if r["kind"] == "profile"]
	rows = []
	for k in sorted(pre):
	    a = indb[k]["payments_per_s"]
	    rows.append({"round": k, "in_database_payments_per_s": a,
	                 "end_to_end_payments_per_s": pre[k]["payments_per_s"],
	                 "ratio": round(pre[k]["payments_per_s"] / a, 3),
	                 "in_database_apply_ms_mean": db_time(indb[k]["pgss"]).get("apply", {}).get("mean_ms"),
	                 "bridge_apply_server_ms_mean": pre[k]["db_time"].get("apply", {}).get("mean_ms"),
	                 "bridge_apply_ms_mean": pre[k]["apply_ms_mean"],
	                 "bridge_cpu_s_per_100k": per100k(pre[k]),
	                 "machine_busy": {"a": indb[k]["machine_busy"], "b": pre[k]["machine_busy"]},
	                 "loadavg_at_start": {"a": indb[k]["loadavg_at_start"], "b": pre[k]["loadavg_at_start"]}})
	med = lambda xs: statistics.median(xs) if xs else None
	res = {
	    "when": datetime.datetime.utcnow().isoformat(timespec="seconds") + "Z",
	    "machine": {"cpus": os.cpu_count(), "loadavg_at_end": [round(x, 2) for x in os.getloadavg()]},
	    "durability": "fsync=on, synchronous_commit=on",
	    "binaries": json.loads(provenance),
	    "bridge_extra_args": extra_args,
	    "messages_per_run": n, "batch_size": batch,
	    "kafka": "voltpay-mockkafka (librdkafka mock cluster, 5 brokers, 100 partitions, replication 2) in its own process",
	    "load": "voltpay-loadgen: valid contract-v1 payments, 5000 accounts, 30% with customer_email",
	    "pre_produce_messages_per_s": int(produce_rate),
	    "rounds": rows,
	    "median": {
	        "in_database_payments_per_s": med([r["in_database_payments_per_s"] for r in rows]),
	        "end_to_end_payments_per_s": med([r["end_to_end_payments_per_s"] for r in rows]),
	        "ratio": med([r["ratio"] for r in rows]),
	    },
	    "ratio_range": [min(r["ratio"] for r in rows), max(r["ratio"] for r in rows)] if rows else None,
	    "target_ratio": 0.6,
	    "bridge_peak_memory_mib": max(s["vmhwm_mib"] for s in list(pre.values()) + live + prof),
	    "end_to_end_runs": [pre[k] for k in sorted(pre)],
	    "live_producer_runs": live,
	    "profile_runs": prof,
	}
	res["meets_target"] = res["median"]["ratio"] is not None and res["median"]["ratio"] >= 0.6
	res["median"]["bridge_cpu_s_per_100k"] = med([r["bridge_cpu_s_per_100k"] for r in rows])
	if base:
	    brows = []
	    for k in sorted(base):
	        a = indb[k]["payments_per_s"]
	        brows.append({"round": k, "end_to_end_payments_per_s": base[k]["payments_per_s"],
	                      "ratio": round(base[k]["payments_per_s"] / a, 3),
	                      "bridge_cpu_s_per_100k": per100k(base[k]), "vmhwm_mib": base[k]["vmhwm_mib"]})
	    res["baseline"] = {
	        "rounds": brows,
	        "median": {"ratio": med([r["ratio"] for r in brows]),
	                   "end_to_end_payments_per_s": med([r["end_to_end_payments_per_s"] for r in brows]),
	                   "bridge_cpu_s_per_100k": med([r["bridge_cpu_s_per_100k"] for r in brows])},
	        "end_to_end_runs": [base[k] for k in sorted(base)],
	    }
	if cmp:
	    per100k_db = lambda s: round(s["cpu_s"]["backend"] * 100000 / s["messages"], 2)
	    crows = []
	    for k in sorted(cmp):
	        crows.append({"round": k, "end_to_end_payments_per_s": cmp[k]["payments_per_s"],
	                      "vs_default": round(cmp[k]["payments_per_s"] / pre[k]["payments_per_s"], 3),
	                      "default_payments_per_s": pre[k]["payments_per_s"],
	                      "bridge_cpu_s_per_100k": per100k(cmp[k]),
	                      "default_bridge_cpu_s_per_100k": per100k(pre[k]),
	                      "backends_cpu_s_per_100k": per100k_db(cmp[k]),
	                      "default_backends_cpu_s_per_100k": per100k_db(pre[k]),
	                      "machine_busy": cmp[k]["machine_busy"], "default_machine_busy": pre[k]["machine_busy"],
	                      "apply_server_ms_mean": cmp[k]["db_time"].get("apply", {}).get("mean_ms"),
	                      "connections_waiting_share": (cmp[k]["connections"] or {}).get("waiting_share"),
	                      "vmhwm_mib": cmp[k]["vmhwm_mib"]})
	    res["compare"] = {
	        "args": cmp_args,
	        "rounds": crows,
	        "median": {k: med([r[k] for r in crows if r[k] is not None])
	                   for k in crows[0] if k != "round" and any(r[k] is not None for r in crows)},
	        "end_to_end_runs": [cmp[k] for k in sorted(cmp)],
	    }
	traced = {kind: {r["round"]: summarise(r) for r in runs if r["kind"] == kind}
	          for kind in ("trace", "trace_all")}
	if traced["trace"] or traced["trace_all"]:
	    res["tracing"] = {}
	    for kind, label in (("trace", "default_ratio"), ("trace_all", "ratio_1")):
	        t = traced[kind]
	        trows = [{"round": k, "end_to_end_payments_per_s": t[k]["payments_per_s"],
	                  "vs_export_off": round(t[k]["payments_per_s"] / pre[k]["payments_per_s"], 3),
	                  "bridge_cpu_s_per_100k": per100k(t[k]), "vmhwm_mib": t[k]["vmhwm_mib"],
	                  "spans_exported": t[k]["spans_exported"], "spans_dropped": t[k]["spans_dropped"]}
	                 for k in sorted(t) if k in pre]
	        res["tracing"][label] = {
	            "rounds": trows,
	            "median": {"vs_export_off": med([r["vs_export_off"] for r in trows]),
	                       "end_to_end_payments_per_s": med([r["end_to_end_payments_per_s"] for r in trows]),
	                       "bridge_cpu_s_per_100k": med([r["bridge_cpu_s_per_100k"] for r in trows])},
	            "end_to_end_runs": [t[k] for k in sorted(t)],
	        }
	json.dump(res, open(out, "w"), indent=2)

	print()
	print("%-6s %10s %13s %7s %10s %10s %9s %9s %11s" % ("round", "in-db /s", "end to end /s", "ratio",
	      "apply ms a", "apply ms b", "bridge ms", "VmHWM MiB", "busy a / b"))
	for r in rows:
	    s = pre[r["round"]]
	    print("%-6s %10.0f %13.0f %7.3f %10s %10s %9s %9.1f %5.0f%% /%3.0f%%" % (
	        r["round"], r["in_database_payments_per_s"], r["end_to_end_payments_per_s"], r["ratio"],
	        r["in_database_apply_ms_mean"], r["bridge_apply_server_ms_mean"], r["bridge_apply_ms_mean"],
	        s["vmhwm_mib"], 100 * r["machine_busy"]["a"], 100 * r["machine_busy"]["b"]))
	m = res["median"]
	print("%-6s %10.0f %13.0f %7.3f   (range %.3f-%.3f; target >= 0.6: %s)" % (
	      "median", m["in_database_payments_per_s"], m["end_to_end_payments_per_s"], m["ratio"],
	      res["ratio_range"][0], res["ratio_range"][1], "met" if res["meets_target"] else "NOT met"))
	print("apply ms a / b: apply_payment_batch() per batch of %d, server side (pg_stat_statements), in (a) / in (b);" % batch)
	print("bridge ms: the bridge's apply_duration_seconds mean (BEGIN, apply, COMMIT, as the bridge sees it);")
	print("busy a / b: share of the whole machine's CPU time busy during (a) / (b), everybody's work included")
	print("bridge CPU s per 100,000 payments: median %.2f (rounds: %s)" % (
	      m["bridge_cpu_s_per_100k"], ", ".join("%.2f" % r["bridge_cpu_s_per_100k"] for r in rows)))
	if base:
	    bm = res["baseline"]["median"]
	    print("baseline %s, same rounds: ratio median %.3f (rounds: %s), CPU s per 100,000 median %.2f (rounds: %s)" % (
	          res["binaries"]["baseline"]["version"], bm["ratio"],
	          ", ".join("%.3f" % r["ratio"] for r in res["baseline"]["rounds"]), bm["bridge_cpu_s_per_100k"],
	          ", ".join("%.2f" % r["bridge_cpu_s_per_100k"] for r in res["baseline"]["rounds"])))
	if cmp:
	    print("with %s, same rounds (alternated with the default):" % cmp_args)
	    print("%-6s %13s %13s %7s %15s %17s %11s %8s" % ("round", "default /s", "compared /s", "x", "bridge CPU s/100k",
	          "backends CPU s/100k", "busy d / c", "waiting"))
	    for r in res["compare"]["rounds"]:
	        w = r["connections_waiting_share"]
	        print("%-6s %13.0f %13.0f %7.3f %7.2f / %5.2f %8.2f / %6.2f %5.0f%% /%3.0f%% %8s" % (
	            r["round"], r["default_payments_per_s"], r["end_to_end_payments_per_s"], r["vs_default"],
	            r["default_bridge_cpu_s_per_100k"], r["bridge_cpu_s_per_100k"],
	            r["default_backends_cpu_s_per_100k"], r["backends_cpu_s_per_100k"],
	            100 * r["default_machine_busy"], 100 * r["machine_busy"], "-" if w is None else "%.0f%%" % (100 * w)))
	    cm = res["compare"]["median"]
	    print("%-6s %13.0f %13.0f %7.3f %7.2f / %5.2f %8.2f / %6.2f" % (
	        "median", cm["default_payments_per_s"], cm["end_to_end_payments_per_s"], cm["vs_default"],
	        cm["default_bridge_cpu_s_per_100k"], cm["bridge_cpu_s_per_100k"],
	        cm["default_backends_cpu_s_per_100k"], cm["backends_cpu_s_per_100k"]))
	for label, name in (("default_ratio", "span export on, default ratio"), ("ratio_1", "span export on, ratio 1")):
	    tr = res.get("tracing", {}).get(label)
	    if not tr:
	        continue
	    tm = tr["median"]
	    print("%s, same rounds: %.0f payments/s, %.3f x export off (rounds: %s), CPU s per 100,000 %.2f, "
	          "spans exported/dropped per run %s" % (
	          name, tm["end_to_end_payments_per_s"], tm["vs_export_off"],
	          ", ".join("%.3f" % r["vs_export_off"] for r in tr["rounds"]), tm["bridge_cpu_s_per_100k"],
	          ", ".join("%d/%d" % (r["spans_exported"], r["spans_dropped"]) for r in tr["rounds"])))
	for s in live:
	    print("(c) load generator producing concurrently at full speed (%s messages/s): %d payments/s end to end, "
	          "VmHWM %.1f MiB" % (s.get("loadgen_messages_per_s"), s["payments_per_s"], s["vmhwm_mib"]))
	print("bridge peak memory (VmHWM, every run): %.1f MiB" % res["bridge_peak_memory_mib"])
	for s in list(pre.values())[-1:] + prof:
	    w = s["seconds"]
	    print("where the time goes (%s run %d: %.1f s from assignment to done, %d batches):" % (
	        s["kind"], s["round"], w, s["batches"]))
	    print("  apply as the bridge sees it: %.1f s (%.0f%%); CPU s: bridge %.1f, its backend %.1f, mock cluster %.1f" % (
	        s["apply_s_total"], 100 * s["apply_share_of_wall"], s["cpu_s"]["bridge"], s["cpu_s"]["backend"],
	        s["cpu_s"]["mock"]))
	    print("  server side: " + ", ".join("%s %.1f s (%.0f%%, %d calls, %.1f ms each)" % (
	        k, d["total_s"], 100 * d["total_s"] / w, d["calls"], d["mean_ms"] or 0)
	        for k, d in sorted(s["db_time"].items(), key=lambda kv: -kv[1]["total_s"])))
	    if "phases" in s:
	        ph = s["phases"]
	        print("  main loop (debug log): " + ", ".join("%s %.1f s (%.0f%%)" % (k[:-2], v, 100 * v / w)
	                                                     for k, v in ph.items() if k.endswith("_s")))
	print("written to", out)
EOF
