#!/usr/bin/env bash
# Runs the test suites (test/suites/NAME.sh), all of them or those named, and
# prints one closing line "suites: N passed, N failed".  Exit status is
# non-zero when any suite failed.
#
# Two queues run side by side (VOLTPAY_TEST_JOBS=1 runs every suite one
# after the other, in ORDER): the suites on real Kafka brokers (soak, kafka,
# secure, monitoring: several JVMs each) in one, all the others (the mock
# cluster's, the database's) in the other, so that no two multi-broker
# suites share the 2 cores.  Most of a suite's time is waiting (load
# generators at a fixed rate, fault schedules, JVM starts); every suite has
# its own PostgreSQL cluster, brokers, ports and work directory.  A suite's
# output is printed whole when it ends, so the two never interleave; while
# it runs it is in $VOLTPAY_TEST_LOGS (a new directory by default, removed
# after a run where every suite passed).
set -uo pipefail
cd "$(dirname "$0")/.."

ORDER=(unit meta fuzz pgtap regress isolation valgrind worker liquibase bridge failover kafka secure monitoring soak)
# The brokers' queue, in its own order (the longest first, so that the two
# queues end close together); every other suite goes to the first queue.
BROKERS=(soak kafka secure monitoring)

if [ $# -gt 0 ]; then
	suites=("$@")
else
	# Fast database suites first, long end-to-end ones last.
	suites=()
	for s in "${ORDER[@]}"; do
		[ -f "test/suites/$s.sh" ] && suites+=("$s")
	done
fi

jobs=${VOLTPAY_TEST_JOBS:-2}
case $jobs in
1 | 2) ;;
*) echo "run-all: VOLTPAY_TEST_JOBS must be 1 or 2, not '$jobs'" >&2; exit 2 ;;
esac
logs=${VOLTPAY_TEST_LOGS:-$(mktemp -d /tmp/voltpay-test-logs.XXXXXX)}
mkdir -p "$logs"
start_all=$(date +%s)

# run_suite NAME: runs it, its output in $logs/NAME.log, then prints that
# log and the suite's status line under a lock; the status word (ok or
# FAILED) in $logs/NAME.status.
run_suite() {
	local s=$1 f="test/suites/$1.sh" start rc status
	start=$(date +%s)
	if [ ! -f "$f" ]; then
		echo "run-all: no suite named $s" >"$logs/$s.log"
		rc=1
	elif [ "$jobs" = 1 ]; then
		echo "=== suite $s"
		bash "$f" 2>&1 | tee "$logs/$s.log"
		rc=${PIPESTATUS[0]}
	else
		bash "$f" >"$logs/$s.log" 2>&1 </dev/null
		rc=$?
	fi
	if [ "$rc" = 0 ]; then status=ok; else status=FAILED; fi
	echo "$status" >"$logs/$s.status"
	(
		flock 9
		[ "$jobs" = 1 ] || { echo "=== suite $s"; cat "$logs/$s.log"; }
		echo "=== suite $s: $status ($(($(date +%s) - start))s)"
	) 9>"$logs/.print.lock"
}

# run_queue NAME...: the named suites one after the other.
run_queue() {
	local s
	for s in "$@"; do
		run_suite "$s"
	done
}

# descendants PID: every process below PID, parents first.
descendants() {
	local c
	for c in $(pgrep -P "$1"); do
		echo "$c"
		descendants "$c"
	done
}

# stop_queues (on INT or TERM): SIGTERM to both queues and everything below
# them at once (so no queue starts its next suite); each suite's and
# scenario's EXIT trap stops its clusters, brokers and bridges.  Waits up
# to 60 s for them.
stop_queues() {
	local pids alive p
	pids="$pid1 $pid2 $(descendants "$pid1") $(descendants "$pid2")"
	echo "run-all: interrupted; stopping the suites" >&2
	kill -TERM $pids 2>/dev/null
	for _ in $(seq 120); do
		alive=
		for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ -n "$alive" ] || break
		sleep 0.5
	done
	echo "run-all: logs in $logs" >&2
	exit 130
}

if [ "$jobs" = 1 ]; then
	run_queue "${suites[@]}"
else
	q1=(); q2=()
	for s in "${suites[@]}"; do
		[[ " ${BROKERS[*]} " == *" $s "* ]] || q1+=("$s")
	done
	for s in "${BROKERS[@]}"; do
		[[ " ${suites[*]} " == *" $s "* ]] && q2+=("$s")
	done
	echo "run-all: ${#suites[@]} suites in 2 queues ([${q1[*]}] and [${q2[*]}]); logs in $logs"
	run_queue "${q1[@]}" &
	pid1=$!
	run_queue "${q2[@]}" &
	pid2=$!
	trap stop_queues INT TERM
	wait $pid1 $pid2
fi

passed=0; failed=0; failed_names=()
for s in "${suites[@]}"; do
	if [ "$(cat "$logs/$s.status" 2>/dev/null)" = ok ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1)); failed_names+=("$s")
	fi
done
[ $failed -gt 0 ] && echo "failed suites: ${failed_names[*]}"
echo "suites: $passed passed, $failed failed ($(($(date +%s) - start_all))s)"
if [ $failed -gt 0 ]; then
	echo "logs: $logs"
	exit 1
fi
# Every log was printed; keep the directory only when it was asked for.
[ -n "${VOLTPAY_TEST_LOGS:-}" ] || rm -rf "$logs"
