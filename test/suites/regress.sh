#!/usr/bin/env bash
# pg_regress: exact outputs of test/sql/*.sql against test/expected/*.out,
# through PGXS (make installcheck-regress) against a private cluster.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib/pgcluster.sh
vp_pg_start
out=$(mktemp -d /tmp/voltpay-regress.XXXXXX)
make -s --no-print-directory installcheck-regress VP_TEST_OUTPUT="$out" \
	|| { cat "$out/regression.diffs" 2>/dev/null; exit 1; }
rm -rf "$out"
