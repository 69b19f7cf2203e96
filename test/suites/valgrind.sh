#!/usr/bin/env bash
# The extension's C code under valgrind memcheck: a single-user backend
# (postgres --single, one process) runs test/valgrind/workload.sql (valid
# batches, every kind of bad message incl. 20000-deep nesting and 70 KiB
# values, the outbox and DBA functions).  Fails on any memcheck error or on
# any ERROR from the workload.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib/pgcluster.sh
dir=$(mktemp -d /tmp/voltpay-vg.XXXXXX)
chmod 755 "$dir"; [ "$(id -u)" = 0 ] && chown postgres "$dir"
trap 'rm -rf "$dir"' EXIT
vp_as_pg "$VP_PGBIN/initdb" -D "$dir/data" -U postgres -E UTF8 --locale=C.UTF-8 -A trust >/dev/null
cp test/valgrind/workload.sql test/valgrind/postgres.supp "$dir/"
chmod 644 "$dir"/*.sql "$dir"/*.supp
set +e
vp_as_pg valgrind --quiet --error-exitcode=99 --suppressions="$dir/postgres.supp" \
	--trace-children=no --track-origins=yes \
	"$VP_PGBIN/postgres" --single -j -D "$dir/data" -c shared_preload_libraries='' postgres \
	< "$dir/workload.sql" > "$dir/out.txt" 2>&1
rc=$?
set -e
# valgrind exits 99 on any memcheck error; the backend's own ERRORs only
# show in its output.
if [ $rc -ne 0 ] || grep -qE '==[0-9]+== (Invalid|Conditional|Use of|Syscall|Mismatched|Source and)' "$dir/out.txt" \
	|| grep -q ' ERROR: ' "$dir/out.txt"; then
	cat "$dir/out.txt"
	echo "valgrind: FAILED (exit $rc)"
	exit 1
fi
grep -c 'status = ' "$dir/out.txt" | sed 's/^/valgrind: result rows checked: /'
echo "valgrind: no memcheck errors"
