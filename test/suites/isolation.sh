#!/usr/bin/env bash
# Isolation specs (test/specs/*.spec): concurrent sessions, exact outputs in
# test/expected/*.out, run by PostgreSQL's pg_isolation_regress through PGXS
# (make installcheck-isolation) against a private cluster.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib/pgcluster.sh
vp_pg_start
out=$(mktemp -d /tmp/voltpay-iso.XXXXXX)
make -s --no-print-directory installcheck-isolation VP_TEST_OUTPUT="$out" \
	|| { cat "$out/output_iso/regression.diffs" 2>/dev/null; exit 1; }
rm -rf "$out"
