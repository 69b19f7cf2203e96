#!/usr/bin/env bash
# pg_regress: exact outputs of test/sql/*.sql against test/expected/*.out.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib/pgcluster.sh
vp_pg_start
out=$(mktemp -d /tmp/voltpay-regress.XXXXXX)
tests=$(cd test/sql && ls *.sql | sed 's/\.sql$//')
"$(dirname "$(pg_config --pgxs)")/../test/regress/pg_regress" \
	--host="$PGHOST" --port="$PGPORT" --user=postgres \
	--inputdir=test --outputdir="$out" --dbname=voltpay_regress \
	$tests || { cat "$out/regression.diffs" 2>/dev/null; exit 1; }
rm -rf "$out"
