#!/usr/bin/env bash
# Runs the test suites (test/suites/NAME.sh), all of them or those named, and
# prints one closing line "suites: N passed, N failed".  Exit status is
# non-zero when any suite failed.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ $# -gt 0 ]; then
	suites=("$@")
else
	# Fixed order: fast database suites first, long end-to-end ones last.
	suites=()
	for s in unit meta fuzz pgtap regress isolation valgrind worker liquibase bridge failover kafka secure monitoring soak; do
		[ -f "test/suites/$s.sh" ] && suites+=("$s")
	done
fi

passed=0; failed=0; failed_names=()
for s in "${suites[@]}"; do
	f="test/suites/$s.sh"
	if [ ! -f "$f" ]; then
		echo "run-all: no suite named $s" >&2; failed=$((failed + 1)); failed_names+=("$s"); continue
	fi
	echo "=== suite $s"
	start=$(date +%s)
	if bash "$f"; then
		passed=$((passed + 1)); echo "=== suite $s: ok ($(( $(date +%s) - start ))s)"
	else
		failed=$((failed + 1)); failed_names+=("$s"); echo "=== suite $s: FAILED ($(( $(date +%s) - start ))s)"
	fi
done
[ $failed -gt 0 ] && echo "failed suites: ${failed_names[*]}"
echo "suites: $passed passed, $failed failed"
[ $failed -eq 0 ]
