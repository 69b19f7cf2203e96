#!/usr/bin/env bash
# End-to-end tests of voltpay-bridge against real Apache Kafka 4 (KRaft),
# started from the jars in the cache folder (test/kafka/broker.sh), with a
# private PostgreSQL cluster, one or two bridges and the load generators.
# Every scenario ends with test/kafka/checker_kafka.py: test/bridge/
# checker.py (lost writes, duplicate applications, missing or extra
# downstream events, per-account order...) plus the input topic against
# what Kafka acknowledged and aborted transactions (docs/kafka.md).
#
#   test/suites/kafka.sh [SCENARIO...]      all scenarios, or those named
#
# Scenarios on one broker (started once, fresh topics and group per
# scenario): topics happy_path duplicates permanent_errors transactions,
# and with two apply connections (--db-connections 2) sigkill_n2 and
# backend_kill (one connection's backend killed mid-batch).  By name only:
# pg_restart (the bridge suite's pg_restart and the failover suite cover
# database crashes) and sigkill with one connection (the bridge suite runs
# it on the mock cluster, the secure suite on a real broker over mTLS).
# On three brokers (replication factor 2, min.insync.replicas 2 on the
# downstream topics): broker_failure two_bridges (two_bridges_n2 and
# duplicates_n2 by name only).
#
# VK_SEED makes loads and kill moments reproducible; VK_KEEP=1 keeps the
# work directory (logs, manifests, dumps) and broker logs even when all
# pass; VK_REPORT=FILE appends every scenario's checker output to FILE.
# Prints one line per scenario and "kafka: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."

VB_WORK=${VB_WORK:-$(mktemp -d /tmp/voltpay-kafka-test.XXXXXX)}
. test/lib/pgcluster.sh
. test/bridge/lib.sh
. test/kafka/broker.sh

SINGLE_SCENARIOS=(topics happy_path duplicates permanent_errors transactions
	sigkill_n2 backend_kill)
CLUSTER_SCENARIOS=(broker_failure two_bridges)

for b in voltpay-bridge voltpay-loadgen voltpay-topic-dump voltpay-topics voltpay-txproducer; do
	if [ ! -x "bridge/$b" ]; then
		echo "kafka: bridge/$b is missing (run make bridge)"
		echo "kafka: 0 passed, 1 failed"
		exit 1
	fi
done

VK_SEED=${VK_SEED:-$(date +%s)}
RANDOM=$VK_SEED

# ---------------------------------------------------------------------------
# Scenario helpers.  A scenario is a function scenario_NAME that returns
# non-zero after writing the reason with fail; it runs in a subshell whose
# exit stops every process it started (the brokers belong to the suite).
# ---------------------------------------------------------------------------

# note TEXT: shown on the scenario's "ok" line (what the fault was).
note() {
	echo "$*" >>"$VB_DIR/note.txt"
	vb_log "$*"
}

# use_topics: this scenario's topic and group names (fresh per scenario,
# on a broker shared by several scenarios), created with the production
# settings by voltpay-topics.
use_topics() {
	VB_IN_TOPIC=payment_writer_topic_$VB_NAME
	VB_READ_TOPIC=payment_read_topic_$VB_NAME
	VB_EMAIL_TOPIC=payment_email_$VB_NAME
	VB_DLQ_TOPIC=payment_writer_dlq_$VB_NAME
	VK_GROUP=voltpay-writer-$VB_NAME
	VK_TOPIC_ARGS=(--input-topic "$VB_IN_TOPIC" --read-topic "$VB_READ_TOPIC"
		--email-topic "$VB_EMAIL_TOPIC" --dead-letter-topic "$VB_DLQ_TOPIC")
	vk_topics "${VK_TOPIC_ARGS[@]}" "$@" >>"$VB_DIR/topics.log" 2>&1 ||
		fail "voltpay-topics could not create the topics: $(tail -n 2 "$VB_DIR/topics.log" | tr '\n' ' ')"
}

# check: dumps the database, the downstream topics and the input topic,
# runs the checker; fails the scenario on any non-zero count.
check() {
	local args=() m
	for m in "${VB_MANIFESTS[@]}"; do args+=(--manifest "$m"); done
	for m in "${VK_ABORTED[@]}"; do args+=(--aborted "$m"); done
	vb_dump_db || fail "database dump failed" || return 1
	vb_dump_topics || fail "topic dump failed: $(tail -n 1 "$VB_DIR/topic-dump.log")" || return 1
	"$VB_BIN/voltpay-topic-dump" -b "$VB_BROKERS" -t "$VB_IN_TOPIC" -o "$VB_DIR/input.jsonl" \
		--timeout 60 2>>"$VB_DIR/topic-dump.log" ||
		fail "input topic dump failed: $(tail -n 1 "$VB_DIR/topic-dump.log")" || return 1
	if python3 test/kafka/checker_kafka.py "${args[@]}" --input-dump "$VB_DIR/input.jsonl" \
		--payments "$VB_DIR/payments.csv" --rejected "$VB_DIR/rejected.csv" \
		--outbox-pending "$(cat "$VB_DIR/outbox_pending.txt")" \
		--read "$VB_DIR/read.jsonl" --email "$VB_DIR/email.jsonl" --dlq "$VB_DIR/dlq.jsonl" \
		--input-topic "$VB_IN_TOPIC" "$@" >"$VB_DIR/checker.out" 2>&1; then
		return 0
	fi
	fail "checker: $(grep -hE '^checker(-kafka)?: FAILED|Traceback|Error' "$VB_DIR/checker.out" | head -n 2 | tr '\n' ' ')"
}

# start_bridge ID [args]: a bridge on this scenario's topics and group,
# waited for until ready.
start_bridge() {
	local id=$1
	shift
	vb_bridge_start "$id" --group "$VK_GROUP" --input-topic "$VB_IN_TOPIC" \
		--read-topic "$VB_READ_TOPIC" --email-topic "$VB_EMAIL_TOPIC" \
		--dead-letter-topic "$VB_DLQ_TOPIC" "$@"
	vb_bridge_wait_ready "$id" "${VB_READY_TIMEOUT:-60}" 2>>"$VB_DIR/scenario.log" ||
		fail "bridge $id did not become ready"
}

# expect_topics WANT_RC PATTERN ARGS...: voltpay-topics exits WANT_RC and
# prints a line matching PATTERN (extended regex).
expect_topics() {
	local want=$1 pat=$2 rc t0
	shift 2
	t0=$(date +%s%N)
	vk_topics "$@" >"$VB_DIR/t.out" 2>&1
	rc=$?
	{
		echo "\$ voltpay-topics $* -> $rc ($((($(date +%s%N) - t0) / 1000000)) ms)"
		cat "$VB_DIR/t.out"
	} >>"$VB_DIR/topics.log"
	[ "$rc" = "$want" ] || fail "voltpay-topics $*: exit $rc, expected $want: $(head -n 2 "$VB_DIR/t.out" | tr '\n' ' ')" || return 1
	grep -qE "$pat" "$VB_DIR/t.out" || fail "voltpay-topics $*: no line matching /$pat/: $(head -n 3 "$VB_DIR/t.out" | tr '\n' ' ')"
}

# ---------------------------------------------------------------------------
# Scenarios on one broker
# ---------------------------------------------------------------------------

# voltpay-topics against the real broker: creates the four topics with the
# production settings, accepts them on a second run, reports every setting
# that differs (exit 1), missing topics under --check, a replication factor
# the cluster cannot give, and deletes.
scenario_topics() {
	local t=(--input-topic vk_in --read-topic vk_read --email-topic vk_email --dead-letter-topic vk_dlq)
	expect_topics 0 '^voltpay-topics: vk_in: created \(input topic: 100 partitions, replication factor 1, retention.ms=86400000' "${t[@]}" || return 1
	[ "$(grep -c ': created ' "$VB_DIR/t.out")" = 4 ] || fail "not four topics created" || return 1
	expect_topics 0 'vk_dlq: exists with these settings.*min.insync.replicas=1' "${t[@]}" || return 1
	expect_topics 1 'vk_read: the read topic exists with other settings: 100 partitions \(want 50\)' \
		"${t[@]}" --partitions 50 || return 1
	expect_topics 1 'vk_email: the email topic exists with other settings: retention.ms=86400000 \(want 3600000\); max.message.bytes=[0-9]+ \(want 2000000\)' \
		"${t[@]}" --check --retention-ms 3600000 --config max.message.bytes=2000000 || return 1
	expect_topics 1 'vk_none: the input topic does not exist' \
		--input-topic vk_none --read-topic vk_read --email-topic vk_email --dead-letter-topic vk_dlq --check || return 1
	expect_topics 1 'replication factor 2 needs 2 brokers; the cluster at .* has 1' \
		--input-topic vk_x1 --read-topic vk_x2 --email-topic vk_x3 --dead-letter-topic vk_x4 --replication-factor 2 || return 1
	expect_topics 2 'the input and read topics have the same name' --input-topic a --read-topic a || return 1
	expect_topics 0 'vk_in: deleted' "${t[@]}" --delete || return 1
	expect_topics 1 'vk_in: the input topic does not exist' "${t[@]}" --check || return 1
	expect_topics 1 'no Kafka broker answered at 127.0.0.1:1' -b 127.0.0.1:1 --timeout 2 || return 1
	echo "checker: voltpay-topics: 10 cases as expected" >"$VB_DIR/checker.out"
}

# Valid payments only, some with e-mail: every one applied once, one read
# event each, one e-mail event per address, nothing rejected.
scenario_happy_path() {
	use_topics || return 1
	start_bridge 1 || return 1
	vb_loadgen --count 5000 --accounts 500 --email-fraction 0.4 --seed "$VK_SEED" ||
		fail "loadgen failed" || return 1
	vb_wait_caught_up 90 || fail "bridge did not catch up" || return 1
	stop_bridge 1 || return 1
	check
}

# Upstream duplicates and conflicts and every kind of invalid message
# (including tombstones, empty and 70 KB values), in two runs.
scenario_duplicates() {
	use_topics || return 1
	start_bridge 1 || return 1
	vb_loadgen --count 4000 --accounts 300 --duplicate-fraction 0.15 --conflict-fraction 0.05 \
		--invalid-fraction 0.05 --invalid-kinds all --email-fraction 0.3 --seed "$VK_SEED" ||
		fail "loadgen failed" || return 1
	vb_loadgen --count 2000 --accounts 300 --duplicate-fraction 0.3 --conflict-fraction 0.1 \
		--seed "$((VK_SEED + 1))" || fail "loadgen failed" || return 1
	vb_wait_caught_up 90 || fail "bridge did not catch up" || return 1
	stop_bridge 1 || return 1
	check
}

# Permanent producer errors on a real broker (issue 15).  The input topic
# takes records of 1.5 MB (max.message.bytes raised); the bridge's
# dead-letter topic does not exist when the load starts.  Its dead letters
# fail (unknown topic) and are parked, one retried with a growing backoff
# and the rest held, while every read and e-mail event is published.  Then
# the topic is created with voltpay-topics, with Kafka's default limits:
# the parked dead letters go out, and the broker refuses the two that carry
# a 1.5 MB value (the bridge's producer lets them through with
# message.max.bytes raised), which are sent again without their value.
scenario_permanent_errors() {
	local late=payment_writer_dlq_${VB_NAME}_late junk=vk_junk_$VB_NAME n other dlq i
	use_topics --config max.message.bytes=2000000 || return 1
	VB_DLQ_TOPIC=$late
	start_bridge 1 -X producer.message.max.bytes=2000000 \
		-X producer.topic.metadata.propagation.max.ms=2000 || return 1
	vb_loadgen --count 2 --accounts 2 --first-account 900 --invalid-fraction 1 \
		--invalid-kinds huge --seed "$VK_SEED" || fail "loadgen (huge records) failed" || return 1
	vb_loadgen --count 2000 --accounts 300 --email-fraction 0.3 --invalid-fraction 0.03 \
		--seed "$((VK_SEED + 1))" || fail "loadgen failed" || return 1
	# Every payment applied and its events published; only dead letters wait.
	for i in $(seq 180); do
		read -r other dlq < <(vb_psql -d "$VB_DBNAME" -F ' ' -c "
			SELECT count(*) FILTER (WHERE kind <> 'dead_letter'), count(*) FILTER (WHERE kind = 'dead_letter')
			  FROM voltpay.outbox")
		n=$(vb_bridge_metric 1 voltpay_bridge_outbox_parked_events)
		# vb_backlog: input positions behind plus outbox rows.
		[ "$other" = 0 ] && [ "${dlq:-0}" -gt 2 ] && [ "${n:-0}" -gt 0 ] &&
			[ "$(vb_backlog)" = "$dlq" ] && break
		sleep 0.5
	done
	note "dead-letter topic missing: $dlq dead letters waiting, $n parked, other events: $other pending"
	[ "$other" = 0 ] && [ "${dlq:-0}" -gt 2 ] && [ "${n:-0}" -gt 0 ] ||
		fail "with the dead-letter topic missing, the other events were not all published ($other pending, $dlq dead letters, $n parked)" || return 1
	grep -q 'cannot be delivered (a permanent error)' "$VB_DIR/bridge-1.log" ||
		fail "no log line for the parked dead letter" || return 1
	vk_topics --input-topic "${junk}_in" --read-topic "${junk}_read" --email-topic "${junk}_email" \
		--dead-letter-topic "$late" --partitions 10 >>"$VB_DIR/topics.log" 2>&1 ||
		fail "voltpay-topics could not create $late" || return 1
	vb_wait_caught_up 120 || fail "the parked dead letters did not go out" || return 1
	[ "$(vb_bridge_metric 1 voltpay_bridge_outbox_parked_events)" = 0 ] ||
		fail "events are still parked" || return 1
	[ "$(vb_bridge_metric 1 voltpay_bridge_dead_letter_values_omitted_total)" -ge 2 ] ||
		fail "the broker's refusals did not strip the dead letters" || return 1
	grep -q 'Broker: Message size too large' "$VB_DIR/bridge-1.log" ||
		fail "the broker did not refuse the 1.5 MB dead letters" || return 1
	stop_bridge 1 || return 1
	check || return 1
	grep -q "dlq events without their value (too large): 2$" "$VB_DIR/checker.out" ||
		fail "the checker did not see 2 dead letters without their value" || return 1
	vk_topics --input-topic "${junk}_in" --read-topic "${junk}_read" --email-topic "${junk}_email" \
		--dead-letter-topic "$late" --delete --timeout 30 >/dev/null 2>&1
	return 0
}

# SIGKILL while messages arrive, at least three times, each a random
# 0.3-2 s after the restarted bridge got its partitions back (a restarted
# bridge waits for the dead member's 6 s session timeout).
scenario_sigkill() {
	local kills=0
	use_topics || return 1
	start_bridge 1 || return 1
	vb_loadgen_bg --count 8000 --rate 400 --accounts 1000 --duplicate-fraction 0.05 \
		--invalid-fraction 0.02 --email-fraction 0.3 --seed "$VK_SEED"
	while [ $kills -lt 3 ] || { kill -0 "$VB_LOADGEN_PID" 2>/dev/null && [ $kills -lt 6 ]; }; do
		vb_bridge_wait_assigned 1 40 || fail "bridge got no partitions after restart $kills" || return 1
		rand_sleep 300 2000
		vb_bridge_signal 1 KILL
		vb_bridge_wait 1 10
		kills=$((kills + 1))
		start_bridge 1 || return 1
	done
	note "$kills SIGKILLs"
	finish_load 120 || return 1
	stop_bridge 1 || return 1
	check
}

# PostgreSQL crashes twice mid-run (immediate restart, then a 4 s outage).
scenario_pg_restart() {
	use_topics || return 1
	start_bridge 1 || return 1
	vb_loadgen_bg --count 8000 --rate 1000 --accounts 1000 --duplicate-fraction 0.05 \
		--invalid-fraction 0.02 --email-fraction 0.3 --seed "$VK_SEED"
	rand_sleep 1000 2000
	vb_log "pg: restart -m immediate"
	vp_pg_restart immediate || fail "PostgreSQL did not restart" || return 1
	rand_sleep 1000 2000
	vb_log "pg: stop -m immediate, 4 s outage"
	vp_as_pg "$VP_PGBIN/pg_ctl" -D "$VP_PGDATA" -m immediate -w stop >/dev/null
	sleep 4
	vp_as_pg "$VP_PGBIN/pg_ctl" -D "$VP_PGDATA" -l "$VP_PGDIR/server.log" -w -t 60 start >/dev/null ||
		fail "PostgreSQL did not start again" || return 1
	note "PostgreSQL crashed twice"
	finish_load 120 || return 1
	stop_bridge 1 || return 1
	check
}

# Upstream producers with transactions; the bridge reads read_committed.
# One source of payments (generated by the loadgen against an in-process
# mock cluster, payloads kept) is split by account among four producers
# running at once: A commits 70% of its transactions, B half and leaves
# its last transaction open until it is SIGKILLed, C takes B's
# transactional.id over (which fences B and makes the broker abort the
# open transaction), D sends without transactions.  Aborted messages, and
# those of the open transaction, must never be applied, rejected or
# published; committed ones exactly once.  Then the checker's self-test
# (test/kafka/checker_selftest.py) runs on this scenario's files.
scenario_transactions() {
	local src=$VB_DIR/source.jsonl m p txp
	VK_ABORTED=()
	use_topics || return 1
	txp=("$VB_BIN/voltpay-txproducer" -b "$VB_BROKERS" -t "$VB_IN_TOPIC" --source "$src")
	"$VB_BIN/voltpay-loadgen" -b 127.0.0.1:9 -X test.mock.num.brokers=1 --count 6000 --accounts 800 \
		--invalid-fraction 0.04 --email-fraction 0.3 --manifest-payloads --manifest "$src" \
		--seed "$VK_SEED" 2>>"$VB_DIR/loadgen.log" || fail "loadgen (source) failed" || return 1
	start_bridge 1 || return 1
	for p in A B C D; do
		VB_MANIFESTS+=("$VB_DIR/manifest-$p.jsonl")
		[ $p = D ] || VK_ABORTED+=("$VB_DIR/aborted-$p.jsonl")
	done
	"${txp[@]}" --slice 0/4 --transactional-id "vk-$VB_NAME-A" --txn-size 25 --abort-fraction 0.3 \
		--rate 600 --seed "$VK_SEED" --manifest "$VB_DIR/manifest-A.jsonl" \
		--aborted "$VB_DIR/aborted-A.jsonl" 2>>"$VB_DIR/txproducer-A.log" &
	local pa=$!
	VB_PIDS+=("$pa")
	"${txp[@]}" --slice 1/4 --transactional-id "vk-$VB_NAME-B" --txn-size 25 --abort-fraction 0.5 \
		--rate 600 --seed "$((VK_SEED + 1))" --leave-open --manifest "$VB_DIR/manifest-B.jsonl" \
		--aborted "$VB_DIR/aborted-B.jsonl" >"$VB_DIR/txproducer-B.out" 2>>"$VB_DIR/txproducer-B.log" &
	local pb=$!
	VB_PIDS+=("$pb")
	"${txp[@]}" --slice 3/4 --plain --rate 400 --manifest "$VB_DIR/manifest-D.jsonl" \
		2>>"$VB_DIR/txproducer-D.log" &
	local pd=$!
	VB_PIDS+=("$pd")
	local i
	for i in $(seq 600); do
		grep -q '^open ' "$VB_DIR/txproducer-B.out" 2>/dev/null && break
		kill -0 "$pb" 2>/dev/null || break
		sleep 0.1
	done
	grep -q '^open ' "$VB_DIR/txproducer-B.out" ||
		fail "producer B did not leave a transaction open: $(tail -n 2 "$VB_DIR/txproducer-B.log" | tr '\n' ' ')" || return 1
	vb_log "producer B left a transaction open: $(cat "$VB_DIR/txproducer-B.out")"
	sleep 2
	alive 1 || return 1
	vb_log "producer B: kill -KILL"
	kill -KILL "$pb"
	wait "$pb" 2>/dev/null
	# C: B's transactional.id, so the broker aborts B's open transaction.
	"${txp[@]}" --slice 2/4 --transactional-id "vk-$VB_NAME-B" --txn-size 25 --abort-fraction 0.3 \
		--rate 600 --seed "$((VK_SEED + 2))" --manifest "$VB_DIR/manifest-C.jsonl" \
		--aborted "$VB_DIR/aborted-C.jsonl" 2>>"$VB_DIR/txproducer-C.log" ||
		fail "producer C failed: $(tail -n 1 "$VB_DIR/txproducer-C.log")" || return 1
	wait "$pa" || fail "producer A failed: $(tail -n 1 "$VB_DIR/txproducer-A.log")" || return 1
	wait "$pd" || fail "producer D failed: $(tail -n 1 "$VB_DIR/txproducer-D.log")" || return 1
	for m in "${VK_ABORTED[@]}"; do
		[ -s "$m" ] || fail "$(basename "$m") is empty: no transaction was aborted" || return 1
	done
	grep -q '"outcome":"open"' "$VB_DIR/aborted-B.jsonl" || fail "no open transaction recorded" || return 1
	note "$(cat "${VK_ABORTED[@]}" | wc -l) aborted ($(grep -c '"outcome":"open"' "$VB_DIR/aborted-B.jsonl") left open, then fenced)"
	vb_wait_caught_up 120 || fail "bridge did not catch up" || return 1
	stop_bridge 1 || return 1
	check || return 1
	# The checker must fail when it should: one fault at a time injected
	# into copies of these files (test/kafka/checker_selftest.py).
	python3 test/kafka/checker_selftest.py "$VB_DIR" >"$VB_DIR/selftest.out" 2>&1 ||
		fail "checker self-test: $(grep -m1 'FAIL' "$VB_DIR/selftest.out")" || return 1
	note "checker self-test: $(grep -c '^selftest: ok' "$VB_DIR/selftest.out") cases as expected"
}

# ---------------------------------------------------------------------------
# Scenarios on three brokers
# ---------------------------------------------------------------------------

# A broker killed with SIGKILL while messages arrive, restarted 10-14 s
# later (after the controller fenced it and moved its leaders).  The
# downstream topics have replication factor 2 and min.insync.replicas 2:
# while the broker is out, the partitions it replicates take no writes,
# and the bridge's producer must wait and retry.  Nothing lost, nothing
# applied twice, every event published.  The scenario log records how
# many outbox events waited during the outage.
scenario_broker_failure() {
	local victim t_kill t_end n max=0
	use_topics || return 1
	expect_topics 0 "$VB_READ_TOPIC: exists with these settings \(read topic: 100 partitions, replication factor 2, .*min.insync.replicas=2\)" \
		"${VK_TOPIC_ARGS[@]}" --check || return 1
	start_bridge 1 || return 1
	vb_bridge_wait_assigned 1 60 || fail "bridge got no partitions" || return 1
	vb_loadgen_bg --count 12000 --rate 600 --accounts 1000 --duplicate-fraction 0.05 \
		--invalid-fraction 0.02 --email-fraction 0.3 --seed "$VK_SEED"
	rand_sleep 2000 3500
	kill -0 "$VB_LOADGEN_PID" 2>/dev/null || fail "the load ended before the broker was killed" || return 1
	victim=$((1 + RANDOM % 3))
	vb_log "kafka: kill -KILL node $victim"
	vk_broker_kill "$victim" KILL || fail "node $victim did not die" || return 1
	t_kill=$(date +%s)
	t_end=$((t_kill + 10 + RANDOM % 5))
	while [ "$(date +%s)" -lt "$t_end" ]; do
		n=$(vb_psql -d "$VB_DBNAME" -c "SELECT count(*) FROM voltpay.outbox" 2>/dev/null)
		[ -n "$n" ] && [ "$n" -gt "$max" ] && max=$n
		sleep 1
	done
	note "node $victim down $((t_end - t_kill)) s, up to $max outbox events waited"
	alive 1 || return 1
	vk_broker_restart "$victim" 90 2>>"$VB_DIR/scenario.log" || fail "node $victim did not come back" || return 1
	vb_log "kafka: node $victim back"
	finish_load 180 || return 1
	stop_bridge 1 || return 1
	check
}

# Two bridges in one group; once both own partitions, one is SIGKILLed and
# the survivor takes every partition over and finishes.
scenario_two_bridges() {
	use_topics || return 1
	start_bridge 1 || return 1
	vb_loadgen_bg --count 10000 --rate 800 --accounts 2000 --duplicate-fraction 0.03 \
		--invalid-fraction 0.02 --email-fraction 0.3 --seed "$VK_SEED"
	two_bridges_failover || return 1
	note "bridge 2 SIGKILLed owning $VB_KILLED_OWNED partitions"
	stop_bridge 1 || return 1
	check
}

# ---------------------------------------------------------------------------
# Parallel apply (--db-connections 2): scenarios again with two apply
# connections, and one connection's backend killed mid-batch.
# ---------------------------------------------------------------------------

# n2 SCENARIO: the scenario with every bridge on two apply connections.
n2() {
	VB_BRIDGE_OPTS+=(--db-connections 2)
	"scenario_$1" || return 1
	grep -q '"parallel apply: 2 database connections' "$VB_DIR/bridge-1.log" ||
		fail "the bridge did not apply over two connections" || return 1
	note "2 database connections"
}
scenario_sigkill_n2() { n2 sigkill; }
# Not in the default lists (the bridge suite runs them on the mock cluster):
scenario_duplicates_n2() { n2 duplicates; }
scenario_two_bridges_n2() { n2 two_bridges; }

# The backend of one apply connection terminated while it runs a batch,
# alternately each of the two, at least four times while 8,000 messages
# arrive: that connection retries its own batch on a new one, nothing is
# lost or applied twice, order per account holds.
scenario_backend_kill() {
	use_topics || return 1
	start_bridge 1 --db-connections 2 || return 1
	vb_loadgen_bg --count 8000 --rate 1000 --accounts 1000 --duplicate-fraction 0.05 \
		--invalid-fraction 0.02 --email-fraction 0.3 --seed "$VK_SEED"
	sleep 1
	vb_kill_lane_backends 30 4 || return 1
	note "$VB_KILLS backends killed mid-batch in $VB_KILL_TRIES tries"
	[ "$VB_KILLS" -ge 4 ] || fail "only $VB_KILLS of 4 backend kills caught a batch" || return 1
	finish_load 120 || return 1
	alive 1 || return 1
	stop_bridge 1 || return 1
	check
}

# ---------------------------------------------------------------------------

# run_scenario (test/bridge/lib.sh) with this suite's hooks: the scenario
# log names the seed and brokers; an ok line adds the scenario's notes; a
# passed scenario's topics are deleted, a failed one keeps the brokers; with
# VK_REPORT every checker output is appended there.
VB_RUN_WIDTH=15
VB_RUN_BEGIN=vk_run_begin
VB_RUN_SUMMARY=vk_run_summary
VB_RUN_DETAILS=vk_run_details
VB_RUN_AFTER=vk_run_after

vk_run_begin() {
	VK_ABORTED=()
	vb_run_begin "$1"
	vb_log "scenario $1, seed $VK_SEED, brokers $VB_BROKERS"
}

vk_run_summary() {
	local dir=$1
	printf '%s%s' \
		"$(grep -m1 '^checker: expected\|^checker: voltpay-topics' "$dir/checker.out" 2>/dev/null | sed 's/^checker: //')" \
		"$([ -f "$dir/note.txt" ] && paste -sd ';' "$dir/note.txt" | sed 's/;/; /g; s/^/; /')"
}

vk_run_details() {
	vb_failure_details "$1"
	echo "    (logs: $1; brokers: $VK_DIR)"
}

vk_run_after() {
	local name=$1 dir=$2 rc=$3 secs=$4
	if [ "$rc" = 0 ]; then
		# Free the broker: this scenario's topics are no longer needed.
		vk_topics --input-topic "payment_writer_topic_$name" --read-topic "payment_read_topic_$name" \
			--email-topic "payment_email_$name" --dead-letter-topic "payment_writer_dlq_$name" \
			--delete --timeout 30 >/dev/null 2>&1
	else
		keep_brokers=1
	fi
	if [ -n "${VK_REPORT:-}" ] && [ -f "$dir/checker.out" ]; then
		{
			echo "### $name ($secs s, seed $VK_SEED)"
			[ -f "$dir/note.txt" ] && sed 's/^/fault: /' "$dir/note.txt"
			cat "$dir/checker.out"
			echo
		} >>"$VK_REPORT"
	fi
}

# run_group NODES SCENARIO...: one cluster for the scenarios named.
run_group() {
	local nodes=$1 s up=0
	shift
	[ $# -gt 0 ] || return 0
	vk_cluster_start "$nodes" 2>"$VB_WORK/kafka-$nodes.log" && up=1
	if [ $up = 0 ]; then
		# Once more, on new ports (another process may have taken one).
		echo "kafka: cluster of $nodes node(s) did not start; trying again:"
		sed 's/^/    /' "$VB_WORK/kafka-$nodes.log"
		vk_cluster_stop keep 2>/dev/null
		vk_cluster_start "$nodes" 2>"$VB_WORK/kafka-$nodes.log" && up=1
	fi
	if [ $up = 0 ]; then
		echo "FAIL kafka cluster of $nodes node(s) did not start:"
		sed 's/^/    /' "$VB_WORK/kafka-$nodes.log"
		failed=$((failed + $#))
		vk_cluster_stop keep
		return 1
	fi
	VB_BROKERS=$VK_BROKERS
	echo "kafka: $(tail -n 1 "$VB_WORK/kafka-$nodes.log" | sed 's/^kafka: //')"
	for s in "$@"; do
		run_scenario "$s"
	done
	if [ -n "${keep_brokers:-}" ]; then
		vk_cluster_stop keep 2>/dev/null
	else
		vk_cluster_stop
	fi
	keep_brokers=
}

vp_pg_start "max_connections = 100" || { echo "kafka: could not start PostgreSQL"; exit 1; }

if [ $# -gt 0 ]; then
	scenarios=("$@")
else
	scenarios=("${SINGLE_SCENARIOS[@]}" "${CLUSTER_SCENARIOS[@]}")
fi
single=()
cluster=()
passed=0
failed=0
for s in "${scenarios[@]}"; do
	if ! declare -F "scenario_$s" >/dev/null; then
		echo "FAIL $s: no such scenario"
		failed=$((failed + 1))
	elif [[ " ${CLUSTER_SCENARIOS[*]} two_bridges_n2 " == *" $s "* ]]; then
		cluster+=("$s")
	else
		single+=("$s")
	fi
done
echo "kafka: seed $VK_SEED, work directory $VB_WORK"
run_group 1 "${single[@]}"
run_group 3 "${cluster[@]}"
echo "kafka: $passed passed, $failed failed"
if [ $failed = 0 ] && [ -z "${VK_KEEP:-}" ]; then
	rm -rf "$VB_WORK"
fi
[ $failed = 0 ]
