#!/usr/bin/env bash
# The soak test's short run (issue 17, docs/reliability.md): the production
# topology (5 Kafka brokers, Toxiproxy in front of the brokers' client
# listener and of the database, the sweeper preloaded) for SOAK_MINUTES
# (default 2.7) at 400 payments/s with one broker SIGKILLed, 200 ms of
# latency then connection resets between bridge 1 and the database, and
# the bridges scaled 1 -> 2 -> 1; then the history checker and the soak's
# own checks (test/soak/soak.sh; `make soak` runs the hour-long version).
#
#   test/suites/soak.sh
#
# About 4 minutes on 2 cores, cluster start included.  Prints the soak's
# checks and "soak: 1 passed, 0 failed" or "soak: 0 passed, 1 failed".
set -uo pipefail
cd "$(dirname "$0")/../.."

if test/soak/soak.sh --minutes "${SOAK_MINUTES:-2.7}"; then
	echo "soak: 1 passed, 0 failed"
else
	echo "soak: 0 passed, 1 failed"
	exit 1
fi
