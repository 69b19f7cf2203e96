#!/usr/bin/env bash
# Worker suite: the TAP tests of the idempotency sweeper (test/t/*.pl), with
# PostgreSQL::Test::Cluster and prove, against the installed extension.
#
# initdb refuses root, so as root the tests run as the postgres user from a
# copy in a directory that user owns (the checkout may be unreadable to it,
# e.g. a mktemp -d with mode 700).  On failure the copy, with the server
# logs under tmp_check/log, is kept and its path printed.
set -euo pipefail
cd "$(dirname "$0")/../.."

pgxs_src=$(dirname "$(pg_config --pgxs)")/..
bindir=$(pg_config --bindir)
if [ ! -f "$(pg_config --pkglibdir)/voltpay.so" ]; then
	echo "worker: voltpay is not installed; run make install" >&2
	exit 1
fi

work=$(mktemp -d /tmp/voltpay-tap.XXXXXX)
cp -R test/t "$work/t"
chmod -R a+rX "$work"
as_user=()
if [ "$(id -u)" = 0 ]; then
	chown -R postgres "$work"
	as_user=(runuser -u postgres --)
fi

status=0
(
	cd "$work"
	${as_user[@]+"${as_user[@]}"} env PATH="$bindir:$PATH" \
		PG_REGRESS="$pgxs_src/test/regress/pg_regress" TESTDIR="$work" \
		prove -I "$pgxs_src/test/perl" -j 2 t/*.pl
) || status=$?

if [ "$status" = 0 ]; then
	rm -rf "$work"
else
	echo "worker: failed; test logs kept in $work/tmp_check/log" >&2
fi
exit "$status"
