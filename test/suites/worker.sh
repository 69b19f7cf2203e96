#!/usr/bin/env bash
# Worker suite: the TAP tests of the idempotency sweeper (test/t/*.pl), with
# PostgreSQL::Test::Cluster and prove, against the installed extension,
# through PGXS (make prove_installcheck).
#
# initdb refuses root, so as root the tests run as the postgres user from a
# copy (Makefile, voltpay.control, test/t) in a directory that user owns (the
# checkout may be unreadable to it, e.g. a mktemp -d with mode 700).  On
# failure the copy, with the server logs under tmp_check/log, is kept and
# its path printed.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -f "$(pg_config --pkglibdir)/voltpay.so" ]; then
	echo "worker: voltpay is not installed; run make install" >&2
	exit 1
fi

work=$(mktemp -d /tmp/voltpay-tap.XXXXXX)
mkdir "$work/test"
cp Makefile voltpay.control "$work/"
cp -R test/t "$work/test/t"
chmod -R a+rX "$work"
as_user=()
if [ "$(id -u)" = 0 ]; then
	chown -R postgres "$work"
	as_user=(runuser -u postgres --)
fi

status=0
${as_user[@]+"${as_user[@]}"} make -s --no-print-directory -C "$work" prove_installcheck \
	PG_CONFIG="$(command -v pg_config)" PROVE_FLAGS="-j 2" || status=$?

if [ "$status" = 0 ]; then
	rm -rf "$work"
else
	echo "worker: failed; test logs kept in $work/tmp_check/log" >&2
fi
exit "$status"
