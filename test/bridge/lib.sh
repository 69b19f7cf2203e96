# Helpers for the bridge end-to-end tests (test/suites/bridge.sh) and the
# demo: a mock Kafka cluster, bridges, load, waiting, dumping, checking.
# Sourced after test/lib/pgcluster.sh, with the cluster started.
#
#   vb_scenario_begin NAME    fresh database vb_NAME (CREATE EXTENSION), work
#                             directory $VB_DIR, role `bridge`
#   vb_mock_start [opts]      voltpay-mockkafka; sets VB_BROKERS
#   vb_mock CMD...            a control command (broker_down 1, push_errors ...)
#   vb_bridge_start ID [args] a bridge in the background (logs bridge-ID.log)
#   vb_bridge_wait_ready ID   until /readyz answers 200
#   vb_bridge_wait_assigned ID  until it owns input partitions
#   vb_bridge_metric ID NAME  a value from /metrics
#   vb_bridge_metric_sum ID NAME  its sum over the labels
#   vb_bridge_signal ID SIG   kill -SIG, no wait
#   vb_bridge_wait ID [secs]  wait for exit; sets VB_RC
#   vb_loadgen [args]         voltpay-loadgen with a new manifest file
#   vb_wait_caught_up [secs]  until every acknowledged offset is applied and
#                             the outbox is empty
#   vb_check [checker args]   dump database and topics, run checker.py
#   vb_scenario_end           stop everything this scenario started
#   vb_failure_details DIR    what a failed scenario left: reasons, checker
#                             lines, the last warnings of each bridge
#
# and, for scenarios (which return non-zero after `fail REASON`): fail,
# stop_bridge ID [secs] (SIGTERM, expects exit 0), alive ID, rand_sleep LO HI
# (milliseconds), finish_load SECS, two_bridges_failover.  A suite defines
# its own start_bridge and check.
#
# run_scenario NAME runs one scenario and prints its line, for the bridge,
# kafka and monitoring suites, tailored by VB_RUN_* settings and hooks.
#
# Every process started here is recorded in VB_PIDS and stopped by PID.

VB_ROOT=${VB_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
VB_BIN=${VB_BIN:-$VB_ROOT/bridge}
VB_BRIDGE=${VB_BRIDGE:-$VB_BIN/voltpay-bridge}
VB_IN_TOPIC=payment_writer_topic
VB_READ_TOPIC=payment_read_topic
VB_EMAIL_TOPIC=payment_email
VB_DLQ_TOPIC=payment_writer_dlq
VB_PARTITIONS=${VB_PARTITIONS:-100}
# Parent of the scenario directories; vb_scenario_begin makes a temporary
# one when the caller set none.
VB_WORK=${VB_WORK:-}
# Consumers against the mock cluster need a short session timeout, or each
# rebalance waits for the default 45 s.
VB_BRIDGE_OPTS=(-X consumer.session.timeout.ms=6000 -X consumer.heartbeat.interval.ms=500
	--log-level info)

# A command the bridge runs under (valgrind in one scenario).
VB_BRIDGE_WRAP=()

declare -a VB_PIDS=()
declare -A VB_BRIDGE_PID=() VB_BRIDGE_PORT=()

vb_log() { echo "$(date +%T.%3N) $*" >>"$VB_DIR/scenario.log"; }

vb_psql() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }

vb_scenario_begin() {
	VB_NAME=$1
	[ -n "$VB_WORK" ] || VB_WORK=$(mktemp -d /tmp/voltpay-bridge-test.XXXXXX)
	VB_DIR=$VB_WORK/$VB_NAME
	rm -rf "$VB_DIR"
	mkdir -p "$VB_DIR"
	VB_DBNAME=vb_$VB_NAME
	VB_PIDS=()
	VB_BRIDGE_PID=()
	VB_BRIDGE_PORT=()
	VB_MANIFESTS=()
	VB_NMANIFEST=0
	vb_psql -d postgres -c "DROP DATABASE IF EXISTS $VB_DBNAME" -c "CREATE DATABASE $VB_DBNAME" || return 1
	vb_psql -d "$VB_DBNAME" -c "CREATE EXTENSION voltpay" || return 1
	vb_psql -d "$VB_DBNAME" <<-'EOF' || return 1
		DO $$ BEGIN
			IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bridge') THEN
				CREATE ROLE bridge LOGIN IN ROLE voltpay_writer;
			END IF;
		END $$;
	EOF
	VB_DB="host=$PGHOST port=$PGPORT user=bridge dbname=$VB_DBNAME connect_timeout=5"
	vb_log "scenario $VB_NAME: database $VB_DBNAME"
}

vb_scenario_end() {
	local pid
	for pid in "${VB_PIDS[@]}"; do
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	done
	for pid in "${VB_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	VB_PIDS=()
	return 0
}

# voltpay-mockkafka with a FIFO control channel.
vb_mock_start() {
	local i
	VB_MOCK_FIFO=$VB_DIR/mock.ctl
	"$VB_BIN/voltpay-mockkafka" --control-fifo "$VB_MOCK_FIFO" \
		--partitions "$VB_PARTITIONS" "$@" >"$VB_DIR/mock.out" 2>"$VB_DIR/mock.log" &
	VB_MOCK_PID=$!
	VB_PIDS+=("$VB_MOCK_PID")
	for i in $(seq 100); do
		VB_BROKERS=$(sed -n 's/^bootstrap.servers=//p' "$VB_DIR/mock.out" 2>/dev/null)
		[ -n "$VB_BROKERS" ] && [ -p "$VB_MOCK_FIFO" ] && return 0
		kill -0 "$VB_MOCK_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "mock cluster did not start: $(cat "$VB_DIR/mock.log")" >&2
	return 1
}

# One control command; fails unless the mock answers "ok".
vb_mock() {
	local before after i
	before=$(wc -l <"$VB_DIR/mock.out")
	echo "$*" >"$VB_MOCK_FIFO"
	for i in $(seq 50); do
		after=$(wc -l <"$VB_DIR/mock.out")
		[ "$after" -gt "$before" ] && break
		sleep 0.05
	done
	vb_log "mock: $*: $(tail -n 1 "$VB_DIR/mock.out")"
	tail -n 1 "$VB_DIR/mock.out" | grep -q '^ok '
}

vb_mock_stop() {
	[ -n "${VB_MOCK_PID:-}" ] || return 0
	echo quit >"$VB_MOCK_FIFO" 2>/dev/null
	wait "$VB_MOCK_PID" 2>/dev/null
	VB_MOCK_PID=
}

# vb_bridge_start ID [extra bridge args...]
vb_bridge_start() {
	local id=$1
	shift
	local port
	port=$(vp_free_port)
	VB_BRIDGE_PORT[$id]=$port
	echo "=== start $(date +%T.%N)" >>"$VB_DIR/bridge-$id.log"
	"${VB_BRIDGE_WRAP[@]}" "$VB_BRIDGE" -b "$VB_BROKERS" --db "$VB_DB" --http-addr 127.0.0.1 --http-port "$port" \
		"${VB_BRIDGE_OPTS[@]}" "$@" >>"$VB_DIR/bridge-$id.out" 2>>"$VB_DIR/bridge-$id.log" &
	VB_BRIDGE_PID[$id]=$!
	VB_PIDS+=("$!")
	vb_log "bridge $id started: pid $! port $port"
}

# vb_kill_backend APP: terminates the backend of the bridge connection named
# APP (application_name) while it runs a batch (a statement of the apply
# pipeline active, or its transaction open); waits up to 3 s for one.
# Prints psql's notice "killed PID" (on stderr) when one was caught.
vb_kill_backend() {
	vb_psql -d "$VB_DBNAME" <<-EOF
		DO \$\$
		DECLARE p int;
		BEGIN
			FOR i IN 1..3000 LOOP
				PERFORM pg_stat_clear_snapshot();
				SELECT pid INTO p FROM pg_stat_activity
				WHERE application_name = '$1'
				  AND (state = 'idle in transaction'
				       OR (state = 'active' AND query LIKE '%apply_record_batch%'))
				LIMIT 1;
				IF p IS NOT NULL AND pg_terminate_backend(p) THEN
					RAISE NOTICE 'killed %', p;
					RETURN;
				END IF;
				PERFORM pg_sleep(0.001);
			END LOOP;
		END \$\$;
	EOF
}

# vb_kill_lane_backends TRIES KILLS [CTL_AT]: while the background load
# runs (and until KILLS backends were killed, at most TRIES tries), kills
# the backend of bridge 1's apply connections mid-batch, alternately each
# of the two, every 200-800 ms; after CTL_AT kills, the control
# connection's backend once too.  Sets VB_KILLS and VB_KILL_TRIES; fails
# when the bridge died.
vb_kill_lane_backends() {
	local max=$1 want=$2 ctl_at=${3:-} lane out ctl_done=
	VB_KILLS=0
	VB_KILL_TRIES=0
	while [ "$VB_KILL_TRIES" -lt "$max" ] && { [ "$VB_KILLS" -lt "$want" ] || kill -0 "$VB_LOADGEN_PID" 2>/dev/null; }; do
		lane=$((VB_KILL_TRIES % 2))
		VB_KILL_TRIES=$((VB_KILL_TRIES + 1))
		out=$(vb_kill_backend "voltpay-bridge apply $lane" 2>&1)
		if grep -q 'killed' <<<"$out"; then
			VB_KILLS=$((VB_KILLS + 1))
			vb_log "killed the backend of apply connection $lane mid-batch ($(grep -o 'killed [0-9]*' <<<"$out"))"
		fi
		if [ -n "$ctl_at" ] && [ "$VB_KILLS" = "$ctl_at" ] && [ -z "$ctl_done" ]; then
			ctl_done=1
			vb_psql -d "$VB_DBNAME" -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'voltpay-bridge'" >>"$VB_DIR/scenario.log" 2>&1
			vb_log "killed the backend of the control connection"
		fi
		alive 1 || return 1
		rand_sleep 200 800
	done
	vb_log "$VB_KILLS backends killed mid-batch in $VB_KILL_TRIES tries"
}

# Until /readyz says 200 (or the bridge died, or the timeout passed).
vb_bridge_wait_ready() {
	local id=$1 timeout=${2:-30} i
	for i in $(seq $((timeout * 10))); do
		if curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:${VB_BRIDGE_PORT[$id]}/readyz" 2>/dev/null; then
			return 0
		fi
		kill -0 "${VB_BRIDGE_PID[$id]}" 2>/dev/null || { echo "bridge $id exited before ready" >&2; return 1; }
		sleep 0.1
	done
	echo "bridge $id not ready after ${timeout}s" >&2
	return 1
}

# vb_bridge_metric ID NAME: the value of an unlabelled metric from /metrics
# (empty when the bridge does not answer).
vb_bridge_metric() {
	curl -fsS --max-time 2 "http://127.0.0.1:${VB_BRIDGE_PORT[$1]}/metrics" 2>/dev/null |
		awk -v n="$2" '$1 == n { print $2; exit }'
}

# vb_bridge_metric_sum ID NAME: the sum of a metric over its labels.
vb_bridge_metric_sum() {
	curl -fsS --max-time 2 "http://127.0.0.1:${VB_BRIDGE_PORT[$1]}/metrics" 2>/dev/null |
		awk -v n="$2" 'index($1, n "{") == 1 { s += $2 } END { printf "%d\n", s }'
}

# vb_bridge_wait_assigned ID [timeout]: until the bridge owns at least one
# input partition (voltpay_bridge_assigned_partitions > 0).
vb_bridge_wait_assigned() {
	local id=$1 timeout=${2:-30} i n
	for i in $(seq $((timeout * 5))); do
		n=$(vb_bridge_metric "$id" voltpay_bridge_assigned_partitions)
		[ -n "$n" ] && [ "$n" -gt 0 ] && return 0
		kill -0 "${VB_BRIDGE_PID[$id]}" 2>/dev/null || return 1
		sleep 0.2
	done
	return 1
}

vb_bridge_signal() {
	vb_log "bridge $1: kill -$2 ${VB_BRIDGE_PID[$1]}"
	kill "-$2" "${VB_BRIDGE_PID[$1]}" 2>/dev/null
}

# vb_bridge_wait ID [timeout]: waits for the bridge to exit; VB_RC is its
# status, 124 on timeout (it is then killed).
vb_bridge_wait() {
	local id=$1 timeout=${2:-60} pid=${VB_BRIDGE_PID[$1]} i
	for i in $(seq $((timeout * 10))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		VB_RC=124
	else
		wait "$pid" 2>/dev/null
		VB_RC=$?
	fi
	vb_log "bridge $id exited with $VB_RC"
	return 0
}

# vb_loadgen [loadgen args...]: runs to completion; every call writes a new
# manifest.  Use `vb_loadgen ... &` and `wait $!` to run it in the background
# (then call vb_manifest_add first, see below).
vb_loadgen() {
	VB_NMANIFEST=$((VB_NMANIFEST + 1))
	local m=$VB_DIR/manifest-$VB_NMANIFEST.jsonl
	VB_MANIFESTS+=("$m")
	"$VB_BIN/voltpay-loadgen" -b "$VB_BROKERS" --topic "$VB_IN_TOPIC" --manifest "$m" \
		"$@" 2>>"$VB_DIR/loadgen.log"
}

# Starts the load generator in the background; VB_LOADGEN_PID.
vb_loadgen_bg() {
	VB_NMANIFEST=$((VB_NMANIFEST + 1))
	local m=$VB_DIR/manifest-$VB_NMANIFEST.jsonl
	VB_MANIFESTS+=("$m")
	"$VB_BIN/voltpay-loadgen" -b "$VB_BROKERS" --topic "$VB_IN_TOPIC" --manifest "$m" \
		"$@" 2>>"$VB_DIR/loadgen.log" &
	VB_LOADGEN_PID=$!
	VB_PIDS+=("$!")
}

# Positions still behind the acknowledged offsets plus pending outbox
# events; 0 when the bridge has caught up.  Empty when the database is down.
vb_backlog() {
	local values
	values=$(python3 - "${VB_MANIFESTS[@]}" <<-'EOF'
		import json, sys
		want = {}
		for path in sys.argv[1:]:
		    for line in open(path):
		        if line.strip():
		            m = json.loads(line)
		            p = m["partition"]
		            want[p] = max(want.get(p, 0), m["offset"] + 1)
		print(",".join(f"({p},{o})" for p, o in sorted(want.items())) or "(0,0)")
	EOF
	)
	vb_psql -d "$VB_DBNAME" -c "
		SELECT (SELECT count(*) FROM (VALUES $values) AS w(p, o)
				  LEFT JOIN voltpay.partition_status AS s
					ON s.topic = '$VB_IN_TOPIC' AND s.partition = w.p
				 WHERE COALESCE(s.next_offset, 0) < w.o)
			 + (SELECT count(*) FROM voltpay.outbox)" 2>/dev/null
}

# vb_wait_caught_up [timeout]: 0 once vb_backlog is 0.
vb_wait_caught_up() {
	local timeout=${1:-120} start n
	start=$(date +%s)
	while :; do
		n=$(vb_backlog)
		[ "$n" = 0 ] && return 0
		if [ $(($(date +%s) - start)) -ge "$timeout" ]; then
			echo "not caught up after ${timeout}s (backlog: ${n:-database down})" >&2
			vb_log "not caught up: backlog ${n:-?}"
			return 1
		fi
		sleep 0.5
	done
}

# Writes payments.csv, rejected.csv, outbox_pending.txt into directory $1
# from database $2 (defaults: $VB_DIR, $VB_DBNAME).
vb_dump_db() {
	local dir=${1:-$VB_DIR} db=${2:-$VB_DBNAME}
	vb_psql -d "$db" <<-EOF
		\copy (SELECT p.message_id, p.payment_id, p.account_id, p.amount, p.currency, p.customer_email, p.remittance_info, p.src_topic, p.src_partition, p.src_offset, encode(i.payload_hash, 'hex') AS payload_hash FROM voltpay.payments AS p LEFT JOIN voltpay.idempotency AS i USING (message_id)) TO '$dir/payments.csv' WITH (FORMAT csv, HEADER)
		\copy (SELECT rejection_id, message_id, reason, detail, sqlstate, record_key, topic, partition, "offset", encode(sha256(payload), 'hex') AS payload_sha256, octet_length(payload) AS payload_len FROM voltpay.rejected_messages) TO '$dir/rejected.csv' WITH (FORMAT csv, HEADER)
		\o $dir/outbox_pending.txt
		SELECT count(*) FROM voltpay.outbox;
	EOF
}

# Dumps the three downstream topics into $VB_DIR/{read,email,dlq}.jsonl.
vb_dump_topics() {
	local t f
	for t in read email dlq; do
		case $t in
			read) f=$VB_READ_TOPIC ;; email) f=$VB_EMAIL_TOPIC ;; dlq) f=$VB_DLQ_TOPIC ;;
		esac
		"$VB_BIN/voltpay-topic-dump" -b "$VB_BROKERS" -t "$f" -o "$VB_DIR/$t.jsonl" \
			--timeout 60 2>>"$VB_DIR/topic-dump.log" || return 1
	done
}

# vb_check [checker args...]: dumps and checks; output in checker.out.
vb_check() {
	local margs=() m
	# No scenario recreates a topic: a "beyond the end of the log" error
	# would be the false alarm of a stale watermark (issue 17's soak).
	if grep -h "beyond the end of the log" "$VB_DIR"/bridge-*.log 2>/dev/null | head -n 1 | grep -q .; then
		echo "checker: FAILED a bridge logged a position beyond the log end: $(grep -h -m1 "beyond the end of the log" "$VB_DIR"/bridge-*.log | head -c 300)" >"$VB_DIR/checker.out"
		return 1
	fi
	for m in "${VB_MANIFESTS[@]}"; do margs+=(--manifest "$m"); done
	vb_dump_db || { echo "database dump failed" >"$VB_DIR/checker.out"; return 1; }
	vb_dump_topics || { echo "topic dump failed" >"$VB_DIR/checker.out"; return 1; }
	python3 "$VB_ROOT/test/bridge/checker.py" "${margs[@]}" \
		--payments "$VB_DIR/payments.csv" --rejected "$VB_DIR/rejected.csv" \
		--outbox-pending "$(cat "$VB_DIR/outbox_pending.txt")" \
		--read "$VB_DIR/read.jsonl" --email "$VB_DIR/email.jsonl" --dlq "$VB_DIR/dlq.jsonl" \
		--input-topic "$VB_IN_TOPIC" "$@" >"$VB_DIR/checker.out" 2>&1
}

# ---------------------------------------------------------------------------
# Scenario helpers shared by the bridge and kafka suites.
# ---------------------------------------------------------------------------

# fail REASON: recorded in fail.txt and the scenario log; returns 1.
fail() {
	echo "$*" >>"$VB_DIR/fail.txt"
	vb_log "FAIL: $*"
	return 1
}

# stop_bridge ID [timeout]: SIGTERM, expect exit status 0.
stop_bridge() {
	vb_bridge_signal "$1" TERM
	vb_bridge_wait "$1" "${2:-40}"
	[ "$VB_RC" = 0 ] || fail "bridge $1 exited with $VB_RC after SIGTERM (expected 0)"
}

# alive ID: the bridge is still running.
alive() {
	kill -0 "${VB_BRIDGE_PID[$1]}" 2>/dev/null || fail "bridge $1 died (status: see bridge-$1.log)"
}

# rand_sleep LO HI: a random number of milliseconds.
rand_sleep() {
	local ms=$(($1 + RANDOM % ($2 - $1 + 1)))
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
}

# vb_failure_details DIR: the rest of fail.txt, the checker's failures and
# examples, and the last warnings and errors of each bridge, indented.
vb_failure_details() {
	local dir=$1 f
	sed 's/^/    /' "$dir/fail.txt" 2>/dev/null | tail -n +2
	[ -f "$dir/checker.out" ] && grep -E '^  e\.g\.|FAILED' "$dir/checker.out" | head -n 15 | sed 's/^/    /'
	for f in "$dir"/bridge-*.log; do
		[ -f "$f" ] || continue
		echo "    --- last errors in $(basename "$f")"
		grep -E '"level":"(error|warn|warning|fatal)"|^[^{=]' "$f" | tail -n 5 | cut -c1-300 | sed 's/^/    /'
	done
}

# finish_load SECS: the background load generator succeeded, the bridge
# caught up within SECS and is still running.
finish_load() {
	wait "$VB_LOADGEN_PID" || fail "loadgen failed" || return 1
	vb_wait_caught_up "$1" || fail "bridge did not catch up" || return 1
	alive 1
}

# two_bridges_failover: bridge 1 runs and a load generator is in the
# background; bridge 2 joins the group, and once both own partitions it is
# SIGKILLed (VB_KILLED_OWNED: how many it owned); bridge 1 must take every
# partition over and catch up.
two_bridges_failover() {
	local n
	start_bridge 2 || return 1
	vb_bridge_wait_assigned 2 40 || fail "bridge 2 never got partitions" || return 1
	vb_bridge_wait_assigned 1 40 || fail "bridge 1 lost every partition" || return 1
	vb_log "assigned: bridge 1 $(vb_bridge_metric 1 voltpay_bridge_assigned_partitions), bridge 2 $(vb_bridge_metric 2 voltpay_bridge_assigned_partitions)"
	rand_sleep 500 2000
	VB_KILLED_OWNED=$(vb_bridge_metric 2 voltpay_bridge_assigned_partitions)
	vb_bridge_signal 2 KILL
	vb_bridge_wait 2 10
	wait "$VB_LOADGEN_PID" || fail "loadgen failed" || return 1
	vb_wait_caught_up 120 || fail "surviving bridge did not catch up" || return 1
	# Caught up can come first when bridge 2 had applied its partitions'
	# messages before the kill: the takeover waits for the group's session
	# timeout (6 s here), so wait up to 30 s for it.
	for _ in $(seq 150); do
		n=$(vb_bridge_metric 1 voltpay_bridge_assigned_partitions)
		[ "$n" = "$VB_PARTITIONS" ] && break
		alive 1 || return 1
		sleep 0.2
	done
	[ "$n" = "$VB_PARTITIONS" ] || fail "surviving bridge owns $n partitions, not $VB_PARTITIONS, 30 s after catching up"
}

# ---------------------------------------------------------------------------
# run_scenario NAME: the scenario runner of the bridge, kafka and monitoring
# suites.  Runs scenario_NAME in a subshell whose output goes to a file, then
# prints one line, "ok   NAME  SECS  SUMMARY" or "FAIL NAME  SECS  REASON"
# (the first line of fail.txt, else the exit status) followed by the
# failure's details, and counts it in the caller's passed or failed.  DIR,
# the scenario's directory, is $VB_WORK/NAME.  A suite tailors it with:
#
#   VB_RUN_WIDTH    width of the name column
#   VB_RUN_STDOUT   where the subshell's output goes: "work" for
#                   $VB_WORK/NAME.stdout, beside DIR (vb_scenario_begin
#                   empties DIR), or "dir" for DIR/stdout (DIR made first)
#
# and these hooks, each the name of a function:
#
#   VB_RUN_BEGIN NAME     in the subshell, before the scenario; exits the
#                         subshell when the scenario cannot start
#   VB_RUN_END            the subshell's EXIT trap
#   VB_RUN_SUMMARY DIR    prints the text after an "ok" line
#   VB_RUN_DETAILS DIR    prints the lines after a "FAIL" line
#   VB_RUN_AFTER NAME DIR RC SECS   last, after either line
# ---------------------------------------------------------------------------

VB_RUN_WIDTH=14
VB_RUN_STDOUT=work
VB_RUN_BEGIN=vb_run_begin
VB_RUN_END=vb_scenario_end
VB_RUN_SUMMARY=vb_run_summary
VB_RUN_DETAILS=vb_run_details
VB_RUN_AFTER=:

# vb_run_begin NAME: a fresh database and directory (vb_scenario_begin), or
# fail.txt says why not and the subshell exits.
vb_run_begin() {
	vb_scenario_begin "$1" >/dev/null || { echo "could not create the database" >"$VB_DIR/fail.txt"; exit 1; }
}

# vb_run_summary DIR: the checker's "expected ..." line.
vb_run_summary() {
	grep -m1 '^checker: expected' "$1/checker.out" 2>/dev/null | sed 's/^checker: //'
}

# vb_run_details DIR: vb_failure_details and where the logs are.
vb_run_details() {
	vb_failure_details "$1"
	echo "    (logs: $1)"
}

run_scenario() {
	local name=$1 start rc dir out secs
	start=$(date +%s)
	dir=$VB_WORK/$name
	if [ "$VB_RUN_STDOUT" = dir ]; then
		mkdir -p "$dir"
		out=$dir/stdout
	else
		out=$VB_WORK/$name.stdout
	fi
	(
		trap "$VB_RUN_END" EXIT
		"$VB_RUN_BEGIN" "$name"
		"scenario_$name"
	) >"$out" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	if [ $rc = 0 ]; then
		printf "ok   %-${VB_RUN_WIDTH}s %3ds  %s\n" "$name" "$secs" "$("$VB_RUN_SUMMARY" "$dir")"
		passed=$((passed + 1))
	else
		printf "FAIL %-${VB_RUN_WIDTH}s %3ds  %s\n" "$name" "$secs" \
			"$(head -n 1 "$dir/fail.txt" 2>/dev/null || echo "exit $rc")"
		failed=$((failed + 1))
		"$VB_RUN_DETAILS" "$dir"
	fi
	"$VB_RUN_AFTER" "$name" "$dir" "$rc" "$secs"
}
