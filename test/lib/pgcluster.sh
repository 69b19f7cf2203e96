# Sourced by the test and demo scripts: a private PostgreSQL 15 cluster on a
# free loopback port, in a temporary directory, stopped when the caller exits.
#
#   . test/lib/pgcluster.sh
#   vp_pg_start [extra postgresql.conf lines...]   # exports PGHOST PGPORT PGUSER PGDATABASE VP_PGDATA
#   vp_pg_stop                                     # also run by the EXIT trap
#
# PostgreSQL refuses to run as root, so as root the server runs as the
# `postgres` user; clients (psql, pg_prove) connect over TCP as role postgres.

VP_PGBIN=${VP_PGBIN:-$(pg_config --bindir)}

vp_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

vp_as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

vp_pg_start() {
	VP_PGDIR=$(mktemp -d /tmp/voltpay-pg.XXXXXX)
	chmod 755 "$VP_PGDIR"
	[ "$(id -u)" = 0 ] && chown postgres "$VP_PGDIR"
	VP_PGDATA=$VP_PGDIR/data
	PGPORT=$(vp_free_port)
	vp_as_pg "$VP_PGBIN/initdb" -D "$VP_PGDATA" -U postgres -E UTF8 --locale=C.UTF-8 \
		-A trust >"$VP_PGDIR/initdb.log" 2>&1 || { cat "$VP_PGDIR/initdb.log"; return 1; }
	{
		echo "listen_addresses = '127.0.0.1'"
		echo "port = $PGPORT"
		echo "unix_socket_directories = '$VP_PGDIR'"
		echo "fsync = off"
		echo "max_connections = 50"
		echo "shared_buffers = 256MB"
		echo "max_prepared_transactions = 10"
		echo "log_min_messages = warning"
		for line in "$@"; do echo "$line"; done
	} | vp_as_pg tee -a "$VP_PGDATA/postgresql.conf" >/dev/null
	vp_as_pg "$VP_PGBIN/pg_ctl" -D "$VP_PGDATA" -l "$VP_PGDIR/server.log" -w -t 60 start >/dev/null \
		|| { cat "$VP_PGDIR/server.log"; return 1; }
	export PGHOST=127.0.0.1 PGPORT PGUSER=postgres PGDATABASE=postgres VP_PGDATA VP_PGDIR
	trap vp_pg_stop EXIT
}

# Restart, e.g. after changing postgresql.conf; mode "immediate" simulates a crash.
vp_pg_restart() {
	vp_as_pg "$VP_PGBIN/pg_ctl" -D "$VP_PGDATA" -m "${1:-fast}" -w stop >/dev/null
	vp_as_pg "$VP_PGBIN/pg_ctl" -D "$VP_PGDATA" -l "$VP_PGDIR/server.log" -w -t 60 start >/dev/null
}

vp_pg_stop() {
	if [ -n "${VP_PGDATA:-}" ] && [ -d "$VP_PGDATA" ]; then
		vp_as_pg "$VP_PGBIN/pg_ctl" -D "$VP_PGDATA" -m immediate -w stop >/dev/null 2>&1 || true
		[ -n "${VP_KEEP_PG:-}" ] || rm -rf "$VP_PGDIR"
	fi
}
