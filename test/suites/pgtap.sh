#!/usr/bin/env bash
# pgTAP suite: every pgtap/*.sql file with pg_prove, on a private cluster.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib/pgcluster.sh
vp_pg_start
psql -XqAt -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION voltpay'
pg_prove --failures --comments -h "$PGHOST" -p "$PGPORT" -U postgres -d postgres pgtap/*.sql
