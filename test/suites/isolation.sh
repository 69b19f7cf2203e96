#!/usr/bin/env bash
# Isolation specs (test/specs/*.spec): concurrent sessions, exact outputs in
# test/expected/*.out, run by PostgreSQL's pg_isolation_regress.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib/pgcluster.sh
vp_pg_start
out=$(mktemp -d /tmp/voltpay-iso.XXXXXX)
createdb voltpay_isolation
psql -XqAt -v ON_ERROR_STOP=1 -d voltpay_isolation -c "CREATE EXTENSION voltpay" -f test/specs/setup.sql
specs=$(cd test/specs && ls *.spec | sed 's/\.spec$//')
"$(dirname "$(pg_config --pgxs)")/../test/isolation/pg_isolation_regress" \
	--host="$PGHOST" --port="$PGPORT" --user=postgres --use-existing \
	--inputdir=test --outputdir="$out" --dbname=voltpay_isolation \
	$specs || { cat "$out/regression.diffs" 2>/dev/null; exit 1; }
rm -rf "$out"
