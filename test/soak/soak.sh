#!/usr/bin/env bash
# Soak test (issue 17): the production topology under a steady load, with
# faults on a schedule, for minutes or hours, then the history checker and
# pass/fail figures (docs/reliability.md).
#
#   test/soak/soak.sh [--minutes M] [--rate R] [--results DIR] [--plot FILE]
#
#   --minutes M    how long the load runs (default 2.7, the `soak` suite's
#                  short run; `make soak` runs 60).  Under 10: the short
#                  schedule (a broker SIGKILLed, latency, resets and a
#                  stall on bridge 1's database link, bridges 1 -> 2 -> 1), the
#                  first 20 s as warm-up.  10 or more: the full schedule,
#                  every fault twice (schedule_full), its moments written
#                  for an hour and scaled to M; the warm-up is the first
#                  25/60 of the run, start-up and the first round
#   --rate R       payments per second from the load generator (default 400)
#   --results DIR  copy samples.csv, faults.csv, summary.json and the plot
#                  there
#   --plot FILE    where the plot goes (default: the work directory)
#
# What runs, all on loopback:
#   - Apache Kafka 4.1.1, 5 KRaft nodes (test/kafka/broker.sh), each with
#     two listeners for clients: PLAINTEXT (also inter-broker), which the
#     load generator, voltpay-topics and the dumps use directly, and
#     CLIENT, whose advertised address is the node's Toxiproxy port: the
#     bridges bootstrap through the proxies and every connection they open
#     to a broker goes through one.  The controller listener never does.
#   - the four topics created by bridge/voltpay-topics, as in production
#     (100 partitions, replication factor 2, min.insync.replicas 2 on the
#     downstream topics);
#   - PostgreSQL 15 with voltpay preloaded: the sweeper every
#     SOAK_SWEEP_INTERVAL seconds.  The retention cannot be below one day
#     (the GUC refuses it), so the soak makes time pass for the rows
#     instead: every SOAK_AGER_INTERVAL seconds it moves the idempotency
#     rows of payments applied more than SOAK_AGE seconds ago two days
#     back, which the sweeper then deletes; only while the writer is
#     caught up, and SOAK_AGE is at least twice the time the load
#     generator takes to send 4,096 messages (it re-sends and conflicts
#     only with those) plus a minute, so no re-send meets an expired row
#     (see ager below);
#   - Toxiproxy (scripts/deps.d/soak.sh): one proxy per bridge to the
#     database (the bridge's --db), one per broker (CLIENT listener);
#   - bridge/voltpay-loadgen at --rate, 1 to 3 bridges in one group;
#   - test/soak/soak.py sample, every SOAK_INTERVAL seconds into
#     samples.csv.
#
# Each fault is recorded in faults.csv (start, end, when the lag was back
# under SOAK_LAG_NEAR records, the recovery time).  At the end: every
# acknowledged payment applied once (test/kafka/checker_kafka.py), then
# soak.py report: checker clean, no bridge exited on its own, RSS growth
# and p99 latency first quarter against last, recovery within
# SOAK_RECOVERY_BOUND after each fault, idempotency rows bounded, the
# sweeper deleted rows.  Exit status 0 when every check passed.
#
# VK_HEAP (broker heap, default 256m here), VK_KEEP=1 / SOAK_KEEP=1 keep
# the work directory, SOAK_SEED the seed (load, victims),
# SOAK_DB_CONNECTIONS bridge 1's --db-connections (default 2; the other
# bridges use 1).
set -uo pipefail
cd "$(dirname "$0")/../.."

SOAK_MINUTES=2.7
SOAK_RATE=400
SOAK_RESULTS=
SOAK_PLOT=
while [ $# -gt 0 ]; do
	case $1 in
		--minutes) SOAK_MINUTES=$2; shift 2 ;;
		--rate) SOAK_RATE=$2; shift 2 ;;
		--results) SOAK_RESULTS=$2; shift 2 ;;
		--plot) SOAK_PLOT=$2; shift 2 ;;
		-h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
		*) echo "soak: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
SOAK_SECS=$(awk -v m="$SOAK_MINUTES" 'BEGIN { printf "%d", m * 60 }')
if [ "$SOAK_SECS" -lt 60 ] || ! [[ $SOAK_RATE =~ ^[0-9]+$ ]] || [ "$SOAK_RATE" -lt 10 ]; then
	echo "soak: --minutes must be at least 1 and --rate a number of at least 10" >&2
	exit 2
fi
if [ "$SOAK_SECS" -ge 600 ]; then
	SOAK_MODE=full
	SOAK_WARMUP=${SOAK_WARMUP:-$((SOAK_SECS * 25 / 60))}
	SOAK_INTERVAL=${SOAK_INTERVAL:-5}
	SOAK_SWEEP_INTERVAL=${SOAK_SWEEP_INTERVAL:-60}
	SOAK_AGER_INTERVAL=${SOAK_AGER_INTERVAL:-60}
	SOAK_AGE=${SOAK_AGE:-300}
else
	SOAK_MODE=short
	SOAK_WARMUP=${SOAK_WARMUP:-20}
	SOAK_INTERVAL=${SOAK_INTERVAL:-2}
	SOAK_SWEEP_INTERVAL=${SOAK_SWEEP_INTERVAL:-10}
	SOAK_AGER_INTERVAL=${SOAK_AGER_INTERVAL:-10}
	SOAK_AGE=${SOAK_AGE:-100}
fi
# Re-sends come from the load generator's last 4,096 messages: no row may
# expire before twice that window and a minute have passed.
if [ "$SOAK_AGE" -lt $((2 * 4096 / SOAK_RATE + 60)) ]; then
	SOAK_AGE=$((2 * 4096 / SOAK_RATE + 60))
fi
SOAK_RECOVERY_BOUND=${SOAK_RECOVERY_BOUND:-120}
SOAK_LAG_NEAR=${SOAK_LAG_NEAR:-$((SOAK_RATE * 2 > 200 ? SOAK_RATE * 2 : 200))}
SOAK_SEED=${SOAK_SEED:-$(date +%s)}
SOAK_DB_CONNECTIONS=${SOAK_DB_CONNECTIONS:-2}
RANDOM=$SOAK_SEED
export VK_HEAP=${VK_HEAP:-256m}
PY=/usr/bin/python3

VB_WORK=${VB_WORK:-$(mktemp -d /tmp/voltpay-soak.XXXXXX)}
. test/lib/pgcluster.sh
. test/bridge/lib.sh
. test/kafka/broker.sh

# The bridges run with their production settings: Kafka's 45 s session
# timeout (the other suites pass 6 s for the mock cluster), so a member
# SIGKILLed keeps its partitions until the group coordinator expires it,
# as it would in production.
VB_BRIDGE_OPTS=(--log-level info)

TOXI_VERSION=$(sed -n 's/^TOXIPROXY_VERSION=//p' scripts/deps.d/soak.sh)
TOXI_BIN=${VOLTPAY_CACHE:-$HOME/.cache/voltpay}/bin/toxiproxy-server-$TOXI_VERSION

# die MESSAGE: the run cannot go on; the EXIT trap stops everything.
die() {
	echo "soak: $*" >&2
	[ -n "${VB_DIR:-}" ] && [ -d "$VB_DIR" ] && vb_log "FAIL: $*"
	echo "soak: FAILED (work directory: $VB_WORK)"
	exit 1
}

for b in voltpay-bridge voltpay-loadgen voltpay-topic-dump voltpay-topics; do
	[ -x "bridge/$b" ] || die "bridge/$b is missing (run make bridge)"
done
[ -x "$TOXI_BIN" ] || die "$TOXI_BIN is missing (run make deps: scripts/deps.d/soak.sh)"
$PY -c 'import matplotlib, confluent_kafka' 2>/dev/null ||
	die "$PY lacks matplotlib or confluent_kafka (run make deps: scripts/deps.d/soak.sh)"

# ---------------------------------------------------------------------------
# Toxiproxy, driven through its HTTP API
# ---------------------------------------------------------------------------

# toxi METHOD PATH [JSON]: one API call; fails unless 2xx.
toxi() {
	local out
	out=$(curl -sS --max-time 5 -X "$1" -H 'Content-Type: application/json' \
		${3:+-d "$3"} -w ' %{http_code}' "http://127.0.0.1:$TOXI_PORT$2" 2>&1)
	vb_log "toxiproxy: $1 $2 ${3:-} -> ${out##* }"
	[[ ${out##* } == 2* ]] || { echo "toxiproxy $1 $2: $out" >&2; return 1; }
}

toxi_start() {
	TOXI_PORT=$(vp_free_port)
	"$TOXI_BIN" -host 127.0.0.1 -port "$TOXI_PORT" >"$VB_DIR/toxiproxy.log" 2>&1 &
	TOXI_PID=$!
	VB_PIDS+=("$TOXI_PID")
	local i
	for i in $(seq 50); do
		curl -fsS --max-time 1 "http://127.0.0.1:$TOXI_PORT/version" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# toxi_proxy NAME LISTEN_PORT UPSTREAM_PORT
toxi_proxy() {
	toxi POST /proxies "{\"name\":\"$1\",\"listen\":\"127.0.0.1:$2\",\"upstream\":\"127.0.0.1:$3\",\"enabled\":true}"
}

# toxic_add PROXY NAME TYPE STREAM ATTRIBUTES_JSON
toxic_add() {
	toxi POST "/proxies/$1/toxics" \
		"{\"name\":\"$2\",\"type\":\"$3\",\"stream\":\"$4\",\"toxicity\":1.0,\"attributes\":$5}"
}

toxic_del() {
	toxi DELETE "/proxies/$1/toxics/$2"
}

# ---------------------------------------------------------------------------
# Bridges: through their database proxy and the broker proxies.  Every start
# and every deliberate stop goes to bridges.txt, which the sampler reads: a
# bridge that exits without a "stop" line exited on its own.
# ---------------------------------------------------------------------------

soak_bridge_start() {
	local id=$1 extra=()
	# Bridge 1 (the one behind the database faults) applies over
	# SOAK_DB_CONNECTIONS connections (parallel apply), the others over one:
	# the group mixes both.
	[ "$id" = 1 ] && extra=(--db-connections "$SOAK_DB_CONNECTIONS")
	VB_BROKERS=$PROXY_BROKERS \
		VB_DB="host=127.0.0.1 port=${DB_PROXY_PORT[$id]} user=bridge dbname=$VB_DBNAME connect_timeout=5" \
		vb_bridge_start "$id" "${extra[@]}"
	echo "start $id ${VB_BRIDGE_PID[$id]} ${VB_BRIDGE_PORT[$id]} $(date +%s.%N)" >>"$VB_DIR/bridges.txt"
	vb_bridge_wait_ready "$id" 120 2>>"$VB_DIR/scenario.log" && return 0
	echo "bridge $id did not become ready" >>"$VB_DIR/unexpected.txt"
	return 1
}

# soak_bridge_stop ID SIG: SIGTERM expects exit 0 within 40 s.
soak_bridge_stop() {
	local id=$1 sig=$2
	echo "stop $id ${VB_BRIDGE_PID[$id]} $(date +%s.%N)" >>"$VB_DIR/bridges.txt"
	vb_bridge_signal "$id" "$sig"
	vb_bridge_wait "$id" 40
	if [ "$sig" = TERM ] && [ "$VB_RC" != 0 ]; then
		echo "bridge $id exited with $VB_RC after SIGTERM (expected 0)" >>"$VB_DIR/unexpected.txt"
	fi
}

# ---------------------------------------------------------------------------
# Faults.  fault NAME FUNCTION ARGS... runs one, records its start and end,
# then waits until the lag is back near zero and records the recovery.
# ---------------------------------------------------------------------------

# latest FIELD: a field of the sampler's last sample.
latest() {
	$PY -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' \
		"$VB_DIR/latest.json" "$1" 2>/dev/null
}

# wait_recovered SINCE: prints the epoch of the first sample after SINCE
# whose lag and outbox backlog are at most SOAK_LAG_NEAR records each
# (the writer is back to applying and publishing what arrives), or
# nothing after 2 x SOAK_RECOVERY_BOUND.
wait_recovered() {
	local since=$1 t lag outbox deadline
	deadline=$(($(date +%s) + 2 * SOAK_RECOVERY_BOUND))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		t=$(latest t)
		lag=$(latest lag_msgs)
		outbox=$(latest outbox)
		if [ -n "$t" ] && [ -n "$lag" ] && [ -n "$outbox" ] &&
			awk -v t="$t" -v s="$since" 'BEGIN { exit !(t > s) }' &&
			[ "$lag" -le "$SOAK_LAG_NEAR" ] && [ "$outbox" -le "$SOAK_LAG_NEAR" ]; then
			echo "$t"
			return 0
		fi
		sleep 1
	done
	return 1
}

FAULT_NOTE=
fault() {
	local name=$1 start end rec secs
	shift
	FAULT_NOTE=
	start=$(date +%s.%N)
	echo "$(date +%T) fault $name: $*" >>"$VB_DIR/progress.log"
	vb_log "fault $name begins: $*"
	"$@" || FAULT_NOTE="${FAULT_NOTE:+$FAULT_NOTE; }the fault's own steps failed (see scenario.log)"
	end=$(date +%s.%N)
	vb_log "fault $name ends"
	if rec=$(wait_recovered "$end"); then
		secs=$(awk -v r="$rec" -v e="$end" 'BEGIN { printf "%.1f", r - e }')
	else
		rec= secs=
	fi
	vb_log "fault $name: recovered ${secs:-never} s after its end ($FAULT_NOTE)"
	echo "$name,$start,$end,$rec,$secs,\"${FAULT_NOTE//\"/\'}\"" >>"$VB_DIR/faults.csv"
	echo "$(date +%T) fault $name: $(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.0f", e - s }') s, recovered in ${secs:-never} s${FAULT_NOTE:+; $FAULT_NOTE}" >>"$VB_DIR/progress.log"
}

note() { FAULT_NOTE="${FAULT_NOTE:+$FAULT_NOTE; }$*"; vb_log "$*"; }

# wait_urp_zero TIMEOUT: until no partition is under-replicated.
wait_urp_zero() {
	local deadline=$(($(date +%s) + $1)) n
	while [ "$(date +%s)" -lt "$deadline" ]; do
		n=$($PY test/soak/soak.py urp "$VK_BROKERS" 2>>"$VB_DIR/scenario.log")
		[ "$n" = 0 ] && return 0
		sleep 2
	done
	note "under-replicated partitions still $n after $1 s"
	return 1
}

f_broker_kill() {
	local v=$((1 + RANDOM % 5)) t0 t1
	t0=$(date +%s)
	vk_broker_kill "$v" KILL || return 1
	sleep "$1"
	vk_broker_restart "$v" 120 2>>"$VB_DIR/scenario.log" || { note "node $v did not come back"; return 1; }
	t1=$(date +%s)
	wait_urp_zero 240 || return 1
	note "node $v SIGKILLed, down $1 s, back in $((t1 - t0 - $1)) s, replicas caught up $(($(date +%s) - t1)) s later"
}

# Controlled shutdown (SIGTERM) of each node in turn; the next only once
# no partition is under-replicated.
f_rolling_restart() {
	local i t0 t1 t2 steps=""
	for i in 1 2 3 4 5; do
		t0=$(date +%s)
		vk_broker_kill "$i" TERM 180 || { note "node $i did not stop on SIGTERM"; return 1; }
		t1=$(date +%s)
		vk_broker_restart "$i" 120 2>>"$VB_DIR/scenario.log" || { note "node $i did not come back"; return 1; }
		wait_urp_zero 240 || return 1
		t2=$(date +%s)
		steps+="${steps:+, }node $i: stop $((t1 - t0)) s, start and catch-up $((t2 - t1)) s"
	done
	note "$steps"
}

# f_scale FROM TO: bridges FROM+1..TO started (each until it owns
# partitions), or TO+1..FROM stopped with SIGTERM.
f_scale() {
	local from=$1 to=$2 i
	if [ "$to" -gt "$from" ]; then
		for i in $(seq $((from + 1)) "$to"); do
			soak_bridge_start "$i" || return 1
			vb_bridge_wait_assigned "$i" 60 || { note "bridge $i got no partitions"; return 1; }
		done
	else
		for i in $(seq "$from" -1 $((to + 1))); do
			soak_bridge_stop "$i" TERM
		done
		# The bridges left take the partitions over (cooperative rebalance).
		local deadline=$(($(date +%s) + 60)) sum n
		while :; do
			sum=0
			for i in $(seq "$to"); do
				n=$(vb_bridge_metric "$i" voltpay_bridge_assigned_partitions)
				sum=$((sum + ${n:-0}))
			done
			[ "$sum" = "$VB_PARTITIONS" ] && break
			[ "$(date +%s)" -ge "$deadline" ] && { note "the $to bridge(s) left own $sum partitions after 60 s"; return 1; }
			sleep 0.5
		done
	fi
	note "assigned: $(for i in 1 2 3; do [ -n "${VB_BRIDGE_PID[$i]:-}" ] && kill -0 "${VB_BRIDGE_PID[$i]}" 2>/dev/null && printf 'bridge %s %s ' "$i" "$(vb_bridge_metric "$i" voltpay_bridge_assigned_partitions)"; done)"
}

f_bridge_kill() {
	local id=$1 owned
	owned=$(vb_bridge_metric "$id" voltpay_bridge_assigned_partitions)
	soak_bridge_stop "$id" KILL
	sleep 2
	soak_bridge_start "$id" || return 1
	note "bridge $id SIGKILLed owning ${owned:-?} partitions, restarted 2 s later"
}

f_pg_restart() {
	local t0=$(date +%s.%N)
	vp_pg_restart fast || { note "PostgreSQL did not restart"; return 1; }
	note "pg_ctl restart -m fast took $(awk -v s="$t0" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s"
}

# f_toxic PROXIES NAME TYPE STREAM ATTRIBUTES SECS: the toxic on each proxy
# named (space-separated) for SECS seconds.
f_toxic() {
	local proxies=$1 name=$2 type=$3 stream=$4 attrs=$5 secs=$6 p rc=0
	for p in $proxies; do toxic_add "$p" "$name" "$type" "$stream" "$attrs" || rc=1; done
	sleep "$secs"
	for p in $proxies; do toxic_del "$p" "$name" || rc=1; done
	note "$type $attrs on $proxies ($stream) for $secs s"
	return $rc
}

# f_db_stall_lag ID SECS: bridge ID's database link stalled (toxic
# timeout 0: the data dropped, the connection neither answers nor closes)
# for SECS seconds.  5 s in, the bridge's own lag gauge must show at least
# what 2 s of its partitions' load adds: before the fix found by the soak
# (docs/reliability.md), a bridge waiting on a statement that does not
# answer left voltpay_bridge_consumer_lag at its last value.
f_db_stall_lag() {
	local id=$1 secs=$2 owned lag want loading rc=0
	owned=$(vb_bridge_metric "$id" voltpay_bridge_assigned_partitions)
	want=$((SOAK_RATE * 2 * ${owned:-0} / VB_PARTITIONS))
	toxic_add "db-$id" stall timeout downstream '{"timeout":0}' || return 1
	sleep 5
	lag=$(vb_bridge_metric_sum "$id" voltpay_bridge_consumer_lag)
	loading=$(kill -0 "$VB_LOADGEN_PID" 2>/dev/null && echo yes)
	sleep $((secs - 5))
	toxic_del "db-$id" stall || rc=1
	note "bridge $id's database link stalled $secs s (owning ${owned:-?} partitions); 5 s in, its voltpay_bridge_consumer_lag summed to ${lag:-nothing} (at least $want expected)"
	if [ -z "$loading" ]; then
		# No message arrives once the load is over, so the lag has no
		# reason to grow (a slow earlier fault can push this one there).
		note "the load was over 5 s in: the lag gauge is not judged"
	elif [ -z "$owned" ] || [ "${lag:-0}" -lt "$want" ]; then
		note "the bridge's lag gauge did not follow the stall"
		return 1
	fi
	return $rc
}

KAFKA_PROXIES="kafka-1 kafka-2 kafka-3 kafka-4 kafka-5"

# at SECS: sleeps until SECS seconds after the load began (returns at once
# when that moment has passed).  The full schedule is written for an hour:
# its moments are scaled to the run's length (faults keep their own
# lengths, and follow each other at once when the run is too short).
at() {
	local now when=$1
	[ "$SOAK_MODE" = full ] && when=$((when * SOAK_SECS / 3600))
	now=$(date +%s)
	[ "$now" -lt $((RUN_START_INT + when)) ] && sleep $((RUN_START_INT + when - now))
	return 0
}

schedule_short() {
	# The database faults first: each recovers within seconds, so the
	# stall's lag check runs while the load is on; the broker's recovery
	# (replicas catching up, the backlog drained) takes longer.
	at 55
	fault db_latency f_toxic db-1 lat latency downstream '{"latency":200,"jitter":50}' 10
	fault db_reset f_toxic db-1 rst reset_peer downstream '{"timeout":0}' 2
	fault db_stall f_db_stall_lag 1 8
	at 85
	fault broker_sigkill f_broker_kill 8
	at 115
	fault scale_1_to_2 f_scale 1 2
	sleep 8
	fault scale_2_to_1 f_scale 2 1
}

# fault_round R N: every fault of the full schedule once, the first at R
# seconds (of an hour); names end in /N.
fault_round() {
	local r=$1 n=$2 k=$((1 + RANDOM % 5))
	at "$r"
	fault "kafka_latency/$n" f_toxic "$KAFKA_PROXIES" lat latency downstream '{"latency":100,"jitter":20}' 60
	at $((r + 75))
	fault "db_latency/$n" f_toxic db-1 lat latency downstream '{"latency":50,"jitter":10}' 60
	at $((r + 150))
	fault "scale_1_to_3/$n" f_scale 1 3
	at $((r + 180))
	fault "bridge_sigkill/$n" f_bridge_kill 2
	at $((r + 270))
	fault "db_reset/$n" f_toxic db-3 rst reset_peer downstream '{"timeout":0}' 3
	at $((r + 290))
	fault "db_stall/$n" f_db_stall_lag 2 45
	at $((r + 360))
	fault "scale_3_to_1/$n" f_scale 3 1
	at $((r + 390))
	fault "broker_sigkill/$n" f_broker_kill 20
	at $((r + 450))
	fault "pg_fast_restart/$n" f_pg_restart
	at $((r + 470))
	fault "kafka_bandwidth/$n" f_toxic "$KAFKA_PROXIES" bw bandwidth downstream '{"rate":40}' 60
	at $((r + 545))
	fault "db_bandwidth/$n" f_toxic db-1 bw bandwidth downstream '{"rate":32}' 60
	at $((r + 620))
	fault "kafka_stall/$n" f_toxic "kafka-$k" stall timeout downstream '{"timeout":0}' 20
	at $((r + 655))
	fault "kafka_reset/$n" f_toxic "kafka-$k" rst reset_peer downstream '{"timeout":0}' 3
	at $((r + 680))
	fault "rolling_restart/$n" f_rolling_restart
}

# Two rounds of every fault: the first (2-17 min of an hour) is part of
# the warm-up, so that each buffer has met its fault once before the
# first quarter is measured (25-34 min, quiet); the second (34-50 min) is
# followed by the quiet last quarter (51-60 min).  Growth from the first
# quarter to the last is then what a second round of the same faults and
# 25 more minutes added, not a first-time high-water mark.
schedule_full() {
	fault_round 120 1
	fault_round 2040 2
}

# ager: moves idempotency rows of payments applied more than SOAK_AGE
# seconds ago two days back (time passing for them), every
# SOAK_AGER_INTERVAL seconds; the sweeper deletes them.  Only while the
# writer is caught up (the sampler's last figure, at most three intervals
# old, says no acknowledged record older than 10 s waits): a re-send of a
# message (the load generator re-sends from its last 4,096) applied after
# the message's row is gone would be applied again.  That is what a
# retention shorter than an outage does, and what the first version of the
# soak did with a 40 s age and a 45 s outage (docs/reliability.md).
ager() {
	local t lag_s
	while :; do
		sleep "$SOAK_AGER_INTERVAL"
		t=$(latest t)
		lag_s=$(latest lag_s)
		if [ -z "$t" ] || [ -z "$lag_s" ] ||
			! awk -v t="$t" -v l="$lag_s" -v n="$(date +%s)" -v i="$SOAK_INTERVAL" \
				'BEGIN { exit !(n - t <= 3 * i && l <= 10) }'; then
			echo "$(date +%T) not caught up (lag ${lag_s:-?} s): nothing aged" >>"$VB_DIR/ager.log"
			continue
		fi
		vb_psql -d "$VB_DBNAME" -c "
			UPDATE voltpay.idempotency SET processed_on = current_date - 2
			 WHERE processed_on >= current_date - 1
			   AND message_id IN (SELECT message_id FROM voltpay.payment
								   WHERE applied_at < now() - interval '$SOAK_AGE seconds')" \
			>>"$VB_DIR/ager.log" 2>&1
	done
}

# check: the database, the downstream topics and the input topic against
# the manifest (test/kafka/checker_kafka.py, as the kafka suite runs it).
check() {
	local t f
	vb_dump_db || return 1
	# vb_dump_topics gives each dump 60 s; an hour's topics need more.
	for t in read:$VB_READ_TOPIC email:$VB_EMAIL_TOPIC dlq:$VB_DLQ_TOPIC input:$VB_IN_TOPIC; do
		f=${t%%:*}
		"$VB_BIN/voltpay-topic-dump" -b "$VK_BROKERS" -t "${t#*:}" -o "$VB_DIR/$f.jsonl" \
			--timeout 900 2>>"$VB_DIR/topic-dump.log" || return 1
	done
	python3 test/kafka/checker_kafka.py --manifest "$VB_DIR/manifest-1.jsonl" \
		--input-dump "$VB_DIR/input.jsonl" \
		--payments "$VB_DIR/payments.csv" --rejected "$VB_DIR/rejected.csv" \
		--outbox-pending "$(cat "$VB_DIR/outbox_pending.txt")" \
		--read "$VB_DIR/read.jsonl" --email "$VB_DIR/email.jsonl" --dlq "$VB_DIR/dlq.jsonl" \
		--input-topic "$VB_IN_TOPIC" >"$VB_DIR/checker.out" 2>&1
}

soak_cleanup() {
	[ -n "${SOAK_AGER_PID:-}" ] && kill "$SOAK_AGER_PID" 2>/dev/null
	vb_scenario_end
}

# ---------------------------------------------------------------------------

T0=$(date +%s)
echo "soak: $SOAK_MODE run, $SOAK_MINUTES min at $SOAK_RATE payments/s, seed $SOAK_SEED, work directory $VB_WORK"
vp_pg_start "max_connections = 100" "shared_preload_libraries = 'voltpay'" \
	"voltpay.database = 'vb_soak'" "voltpay.idempotency_retention = '1d'" \
	"voltpay.sweep_interval = '${SOAK_SWEEP_INTERVAL}s'" "voltpay.sweep_step_delay = '100ms'" ||
	die "could not start PostgreSQL"
vk__trap_add soak_cleanup
vb_scenario_begin soak >/dev/null 2>>"$VB_WORK/setup.log" || die "could not create the database"
: >"$VB_DIR/bridges.txt"
echo "name,start,end,recovered,recovery_s,note" >"$VB_DIR/faults.csv"

toxi_start || die "Toxiproxy did not start: $(tail -n 3 "$VB_DIR/toxiproxy.log")"
declare -a DB_PROXY_PORT=() CLIENT_PORT=() PROXY_PORT=()
read -r -a ports <<<"$(vk__ports 13)"
PROXY_BROKERS=
for i in 1 2 3 4 5; do
	CLIENT_PORT[$i]=${ports[$((i - 1))]}
	PROXY_PORT[$i]=${ports[$((i + 4))]}
	PROXY_BROKERS+="${PROXY_BROKERS:+,}127.0.0.1:${PROXY_PORT[$i]}"
	toxi_proxy "kafka-$i" "${PROXY_PORT[$i]}" "${CLIENT_PORT[$i]}" || die "could not create proxy kafka-$i"
done
for i in 1 2 3; do
	DB_PROXY_PORT[$i]=${ports[$((i + 9))]}
	toxi_proxy "db-$i" "${DB_PROXY_PORT[$i]}" "$PGPORT" || die "could not create proxy db-$i"
done

# Each node: a CLIENT listener for the bridges, advertised at its proxy.
soak_broker_config() {
	cat <<-EOF
		# test/soak/soak.sh: clients of the CLIENT listener connect through Toxiproxy.
		listeners=PLAINTEXT://127.0.0.1:${VK_BPORT[$1]},CONTROLLER://127.0.0.1:${VK_CPORT[$1]},CLIENT://127.0.0.1:${CLIENT_PORT[$1]}
		advertised.listeners=PLAINTEXT://127.0.0.1:${VK_BPORT[$1]},CLIENT://127.0.0.1:${PROXY_PORT[$1]}
		listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,CLIENT:PLAINTEXT
	EOF
}
VK_CONFIG_HOOK=soak_broker_config
vk_cluster_start 5 2>"$VB_WORK/kafka.log" || die "the Kafka cluster did not start: $(tail -n 5 "$VB_WORK/kafka.log")"
echo "soak: $(tail -n 1 "$VB_WORK/kafka.log" | sed 's/^kafka: //')"
VB_BROKERS=$VK_BROKERS
vk_topics >"$VB_DIR/topics.log" 2>&1 || die "voltpay-topics failed: $(tail -n 2 "$VB_DIR/topics.log")"
vk_topics --check >>"$VB_DIR/topics.log" 2>&1 || die "voltpay-topics --check: $(tail -n 2 "$VB_DIR/topics.log")"

soak_bridge_start 1 || die "bridge 1 did not become ready: $(tail -n 2 "$VB_DIR/bridge-1.log")"
vb_bridge_wait_assigned 1 60 || die "bridge 1 got no partitions"

RUN_START=$(date +%s.%N)
RUN_START_INT=${RUN_START%.*}
cat >"$VB_DIR/run.json" <<-EOF
	{"start": $RUN_START, "end": null, "minutes": $SOAK_MINUTES, "rate": $SOAK_RATE, "mode": "$SOAK_MODE",
	 "warmup_s": $SOAK_WARMUP, "age_s": $SOAK_AGE, "ager_interval_s": $SOAK_AGER_INTERVAL,
	 "sweep_interval_s": $SOAK_SWEEP_INTERVAL, "recovery_bound_s": $SOAK_RECOVERY_BOUND,
	 "lag_near": $SOAK_LAG_NEAR, "seed": $SOAK_SEED, "topic": "$VB_IN_TOPIC",
	 "db": "host=$PGHOST port=$PGPORT user=postgres dbname=$VB_DBNAME"}
EOF
vb_loadgen_bg --count $((SOAK_RATE * SOAK_SECS)) --rate "$SOAK_RATE" --accounts 5000 \
	--duplicate-fraction 0.02 --conflict-fraction 0.005 --invalid-fraction 0.01 \
	--email-fraction 0.3 --seed "$SOAK_SEED"
$PY test/soak/soak.py sample "$VB_DIR" --interval "$SOAK_INTERVAL" 2>>"$VB_DIR/sampler.log" &
SOAK_SAMPLER_PID=$!
VB_PIDS+=("$SOAK_SAMPLER_PID")
ager &
SOAK_AGER_PID=$!
VB_PIDS+=("$SOAK_AGER_PID")
echo "soak: load started $(($(date +%s) - T0)) s after the start; faults: $SOAK_MODE schedule (progress in $VB_DIR/progress.log)"

"schedule_$SOAK_MODE"

wait "$VB_LOADGEN_PID" || echo "loadgen failed: $(tail -n 2 "$VB_DIR/loadgen.log" | tr '\n' ' ')" >>"$VB_DIR/unexpected.txt"
RUN_END=$(date +%s.%N)
sed -i "s/\"end\": null/\"end\": $RUN_END/" "$VB_DIR/run.json"
echo "soak: load done ($(($(date +%s) - RUN_START_INT)) s); waiting until everything is applied and published"
vb_wait_caught_up 600 2>>"$VB_DIR/scenario.log" || echo "the bridges did not catch up within 600 s after the load" >>"$VB_DIR/unexpected.txt"
sleep "$SOAK_INTERVAL"
kill "$SOAK_SAMPLER_PID" "$SOAK_AGER_PID" 2>/dev/null
wait "$SOAK_SAMPLER_PID" "$SOAK_AGER_PID" 2>/dev/null
SOAK_AGER_PID=
for i in 1 2 3; do
	if [ -n "${VB_BRIDGE_PID[$i]:-}" ] && kill -0 "${VB_BRIDGE_PID[$i]}" 2>/dev/null; then
		soak_bridge_stop "$i" TERM
	fi
done
echo "soak: running the history checker"
check
echo $? >"$VB_DIR/checker.rc"
grep -E '^checker(-kafka)?:' "$VB_DIR/checker.out" | sed 's/^/soak: /'

plot=${SOAK_PLOT:-$VB_DIR/soak.png}
$PY test/soak/soak.py report "$VB_DIR" --plot "$plot" >"$VB_DIR/report.txt" 2>&1
rc=$?
sed 's/^/soak: /' "$VB_DIR/report.txt"
sed 's/^/soak: /' "$VB_DIR/progress.log"
if [ -n "$SOAK_RESULTS" ]; then
	mkdir -p "$SOAK_RESULTS"
	cp "$VB_DIR/samples.csv" "$VB_DIR/faults.csv" "$VB_DIR/summary.json" "$VB_DIR/report.txt" "$SOAK_RESULTS/"
	[ -f "$plot" ] && [ "$(dirname "$plot")" != "$SOAK_RESULTS" ] && cp "$plot" "$SOAK_RESULTS/"
fi
echo "soak: $([ $rc = 0 ] && echo passed || echo FAILED) in $(($(date +%s) - T0)) s (work directory: $VB_WORK)"
if [ $rc = 0 ] && [ -z "${SOAK_KEEP:-}${VK_KEEP:-}" ]; then
	soak_cleanup
	vk_cluster_stop
	vp_pg_stop
	rm -rf "$VB_WORK"
fi
exit $rc
