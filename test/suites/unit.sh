#!/usr/bin/env bash
# The bridge's C unit tests (bridge/test/test_*.c) with fakes for the
# database and Kafka, built with AddressSanitizer and UBSan and run by
# prove; then the layer check (bridge/test/layers.py: every file uses only
# its own layer or those below, and no cycle).  Prints the prove summary
# and "unit: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."

passed=0
failed=0
if make -s -C bridge unit ${CI:+CI=1}; then
	passed=$((passed + 1))
else
	failed=$((failed + 1))
fi
echo "unit: $passed passed, $failed failed"
[ $failed = 0 ]
