# Helpers for the failover suite (test/suites/failover.sh): a primary and a
# streaming standby built with PostgreSQL's own tooling, both with the
# voltpay sweeper preloaded, and what a failover needs around them.
# Sourced after test/lib/pgcluster.sh and test/bridge/lib.sh.
#
#   fo_node_init N [conf lines...]  initdb node N (port FO_PORT[N], data
#                                   FO_DATA[N]) with streaming settings
#   fo_node_start N / fo_node_stop N [mode]
#   fo_standby_clone N FROM         pg_basebackup -R from node FROM, started
#   fo_wait_streaming PRIMARY       until a standby streams from PRIMARY
#   fo_psql N [psql args]           psql on node N, database $VB_DBNAME
#   fo_crash N                      SIGKILL to the node's whole process group
#   fo_promote N                    pg_ctl promote -w
#   fo_pm_pid N                     the postmaster's pid
#   fo_ready_code ID                /readyz HTTP status of bridge ID (000: none)
#   fo_metric ID NAME LABELS        one labelled value from /metrics
#
# Nodes live in $FO_NODES/nodeN (FO_NODES: $VB_WORK/NAME.nodes, set by
# fo_nodes_dir before vb_scenario_begin, which empties $VB_DIR); their
# server logs are $FO_NODES/nodeN.log.

declare -A FO_PORT=() FO_DATA=()

# fo_nodes_dir NAME: a fresh directory for the scenario's nodes.
fo_nodes_dir() {
	[ -n "$VB_WORK" ] || VB_WORK=$(mktemp -d /tmp/voltpay-failover-test.XXXXXX)
	FO_NODES=$VB_WORK/$1.nodes
	rm -rf "$FO_NODES"
	mkdir -p "$FO_NODES"
	chmod 755 "$VB_WORK" "$FO_NODES"
	[ "$(id -u)" = 0 ] && chown postgres "$FO_NODES"
	return 0
	FO_PORT=()
	FO_DATA=()
}

fo_pg() { vp_as_pg "$VP_PGBIN/$@"; }

# fo_node_init N [extra postgresql.conf lines...]
fo_node_init() {
	local n=$1 dir=$FO_NODES/node$1
	shift
	mkdir -p "$dir"
	chmod 755 "$dir"
	[ "$(id -u)" = 0 ] && chown postgres "$dir"
	FO_PORT[$n]=$(vp_free_port)
	FO_DATA[$n]=$dir/data
	fo_pg initdb -D "${FO_DATA[$n]}" -U postgres -E UTF8 --locale=C.UTF-8 -A trust \
		>"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log"; return 1; }
	# wal_log_hints: pg_rewind can bring the old primary back as a standby.
	{
		echo "listen_addresses = '127.0.0.1'"
		echo "port = ${FO_PORT[$n]}"
		echo "unix_socket_directories = '$dir'"
		echo "cluster_name = 'node$n'"
		echo "max_connections = 50"
		echo "shared_buffers = 64MB"
		echo "wal_log_hints = on"
		echo "wal_keep_size = '512MB'"
		echo "hot_standby_feedback = on"
		echo "shared_preload_libraries = 'voltpay'"
		echo "voltpay.database = '$VB_DBNAME'"
		echo "log_line_prefix = '%m [%p] %b '"
		for line in "$@"; do echo "$line"; done
	} | vp_as_pg tee -a "${FO_DATA[$n]}/postgresql.conf" >/dev/null
}

fo_node_start() {
	fo_pg pg_ctl -D "${FO_DATA[$1]}" -l "$FO_NODES/node$1.log" -w -t 60 start >/dev/null ||
		{ tail -n 20 "$FO_NODES/node$1.log" >&2; return 1; }
	if [ -d "${VB_DIR:-}" ]; then
		vb_log "node $1 started on port ${FO_PORT[$1]} (postmaster $(fo_pm_pid "$1"))"
	fi
}

fo_node_stop() {
	fo_pg pg_ctl -D "${FO_DATA[$1]}" -m "${2:-fast}" -w -t 60 stop >/dev/null
}

fo_pm_pid() { head -n 1 "${FO_DATA[$1]}/postmaster.pid" 2>/dev/null; }

# Every node still running at the end of the scenario is stopped.
fo_stop_all() {
	local n
	for n in "${!FO_DATA[@]}"; do
		[ -f "${FO_DATA[$n]}/postmaster.pid" ] && fo_node_stop "$n" immediate 2>/dev/null
	done
	return 0
}

# fo_standby_clone N FROM [extra conf lines...]: node N as a streaming
# standby of node FROM: pg_basebackup -R (standby.signal, primary_conninfo),
# its own port, socket directory and cluster_name appended.
fo_standby_clone() {
	local n=$1 from=$2 dir=$FO_NODES/node$1
	shift 2
	mkdir -p "$dir"
	chmod 755 "$dir"
	[ "$(id -u)" = 0 ] && chown postgres "$dir"
	FO_PORT[$n]=$(vp_free_port)
	FO_DATA[$n]=$dir/data
	fo_pg pg_basebackup -h 127.0.0.1 -p "${FO_PORT[$from]}" -U postgres -D "${FO_DATA[$n]}" \
		-R -X stream -c fast >"$dir/basebackup.log" 2>&1 || { cat "$dir/basebackup.log"; return 1; }
	{
		echo "port = ${FO_PORT[$n]}"
		echo "unix_socket_directories = '$dir'"
		echo "cluster_name = 'node$n'"
		for line in "$@"; do echo "$line"; done
	} | vp_as_pg tee -a "${FO_DATA[$n]}/postgresql.conf" >/dev/null
	fo_node_start "$n"
}

# fo_psql N [psql args...]: on node N, database $VB_DBNAME unless -d says.
fo_psql() {
	local n=$1
	shift
	PGHOST=127.0.0.1 PGPORT=${FO_PORT[$n]} PGUSER=postgres vb_psql -d "$VB_DBNAME" "$@"
}

# fo_wait_streaming PRIMARY [secs]: a standby streams from it.
fo_wait_streaming() {
	local i
	for i in $(seq $((${2:-30} * 5))); do
		[ "$(fo_psql "$1" -d postgres -c "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'" 2>/dev/null)" -ge 1 ] 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}

# fo_crash N: the machine dies: SIGKILL to the postmaster and all its
# children at once (a child left behind, as a stopped WAL sender, would
# keep the shared memory and the WAL it has not sent).
fo_crash() {
	local pm pids i
	pm=$(fo_pm_pid "$1")
	[ -n "$pm" ] || return 1
	pids=$(pgrep -P "$pm" | tr '\n' ' ')
	vb_log "node $1: kill -KILL $pm (postmaster) $pids"
	# shellcheck disable=SC2086
	kill -KILL "$pm" $pids
	for i in $(seq 50); do
		kill -0 "$pm" $pids 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

fo_promote() {
	fo_pg pg_ctl -D "${FO_DATA[$1]}" -w -t 60 promote >/dev/null
}

# fo_ready_code ID: the HTTP status /readyz answers (000: no answer).
fo_ready_code() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:${VB_BRIDGE_PORT[$1]}/readyz" 2>/dev/null
}

# fo_metric ID NAME LABELS: the value of NAME{LABELS} (0 when absent).
fo_metric() {
	curl -fsS --max-time 2 "http://127.0.0.1:${VB_BRIDGE_PORT[$1]}/metrics" 2>/dev/null |
		awk -v k="$2{$3}" '$1 == k { v = $2 } END { printf "%d\n", v + 0 }'
}

# fo_now: seconds since the epoch with milliseconds.
fo_now() { date +%s.%3N; }

# fo_secs A B: B - A, one decimal.
fo_secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
