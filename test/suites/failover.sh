#!/usr/bin/env bash
# Failover of the writer database under load (issue 18): a primary and a
# streaming standby built with PostgreSQL's own tooling (initdb,
# pg_basebackup -R, pg_ctl promote, pg_rewind), the voltpay sweeper
# preloaded on both, voltpay-mockkafka, one bridge whose --db lists both
# servers with target_session_attrs=read-write, and voltpay-loadgen.
#
#   async_kill   asynchronous replication, the standby lagging (its
#                primary's WAL sender stopped for 1 s, as on a congested
#                link), the primary SIGKILLed with its whole process group,
#                the standby promoted: the transactions the old primary
#                committed and did not ship are lost from the database; the
#                bridge must re-apply them from Kafka (positions live in the
#                database) and nothing may be applied twice
#   sync_kill    the same with synchronous_standby_names: at most the one
#                transaction whose commit was waiting for the standby is
#                missing from the new primary, and nothing is lost
#   switchover   planned: the primary shut down cleanly (every WAL record
#                reaches the standby), the standby promoted, the old primary
#                rejoined as the new standby with pg_rewind; Liquibase
#                `update` on the new primary finds nothing to do
#
# async_kill failed, and switchover now and then, before the bridge went
# back to the database's positions after a reconnect and stopped retrying
# past a pipeline whose transactions all committed (docs/operations.md,
# defects 1 and 2); the failure line says which, should either come back.
#
# In each: /readyz is not 200 while no writable primary answers, the
# outage shows as db_connect errors and db retries in /metrics and in the
# log, nothing is rejected, quarantined or dead-lettered, the bridge
# reconnects by itself to the new primary, and test/bridge/checker.py
# proves every acknowledged payment applied exactly once in the new
# primary, every event delivered at least once, per-account order, the
# outbox drained.  The sweeper waits on the standby and runs after the
# promotion.  Figures (loss, outage, recovery) go to the scenario line and
# to $VB_WORK/figures.txt.
#
#   test/suites/failover.sh [SCENARIO...]
#
# VB_SEED, VB_KEEP, VB_BIN as in test/suites/bridge.sh.  Prints one line per
# scenario and "failover: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."

. test/lib/pgcluster.sh
VB_WORK=${VB_WORK:-$(mktemp -d /tmp/voltpay-failover-test.XXXXXX)}
mkdir -p "$VB_WORK"
. test/bridge/lib.sh
. test/failover/lib.sh

ALL_SCENARIOS=(async_kill sync_kill switchover)

for b in "$VB_BRIDGE" "$VB_BIN"/voltpay-{loadgen,mockkafka,topic-dump}; do
	if [ ! -x "$b" ]; then
		echo "failover: $b is missing (run make bridge)"
		echo "failover: 0 passed, 1 failed"
		exit 1
	fi
done

VB_SEED=${VB_SEED:-$(date +%s)}
RANDOM=$VB_SEED
FIGURES=$VB_WORK/figures.txt

# ---------------------------------------------------------------------------
# Scenario helpers
# ---------------------------------------------------------------------------

check() {
	vb_check "$@" && return 0
	fail "checker: $(grep -E '^checker: FAILED|dump failed' "$VB_DIR/checker.out" | head -n 1)"
}

start_bridge() {
	local id=$1
	shift
	# A crashing bridge leaves its core in the scenario's directory.
	VB_BRIDGE_WRAP=(bash -c 'cd "$0" && ulimit -c unlimited && exec "$@"' "$VB_DIR")
	vb_bridge_start "$id" --max-retry-backoff-ms 1000 "$@"
	vb_bridge_wait_ready "$id" 30 2>>"$VB_DIR/scenario.log" || fail "bridge $id did not become ready"
}

# alive ID (test/bridge/lib.sh's, with the reason): a bridge that died of
# a signal during a failover was defect 2 of docs/operations.md.
alive() {
	kill -0 "${VB_BRIDGE_PID[$1]}" 2>/dev/null && return 0
	vb_bridge_wait "$1" 1
	if [ "$VB_RC" -gt 128 ]; then
		fail "BRIDGE DEFECT (docs/operations.md, defect 2): bridge $1 died of signal $((VB_RC - 128)) during the failover (core dump, if any, in $VB_DIR)"
	else
		fail "bridge $1 exited with status $VB_RC during the failover (see bridge-$1.log)"
	fi
}

# figure TEXT: one measured figure, in the scenario log and figures.txt.
figure() {
	vb_log "FIGURE $*"
	echo "$VB_NAME: $*" >>"$FIGURES"
}

# pair_begin NAME SETUP [primary conf lines...]: node 1 (primary) with the
# scenario's database set up by SETUP (extension: CREATE EXTENSION as the
# bridge suite does; liquibase: liquibase/lb.sh update), role bridge, then
# node 2 cloned from it with pg_basebackup -R and streaming.  VB_DB lists
# both servers, read-write sessions only.
pair_begin() {
	local name=$1 setup=$2
	shift 2
	fo_nodes_dir "$name"
	VB_DBNAME=vb_$name
	fo_node_init 1 "$@" || return 1
	fo_node_start 1 || return 1
	export PGHOST=127.0.0.1 PGPORT=${FO_PORT[1]} PGUSER=postgres PGDATABASE=postgres
	if [ "$setup" = extension ]; then
		vb_scenario_begin "$name" >/dev/null || return 1
	else
		liquibase_begin "$name" || return 1
	fi
	fo_standby_clone 2 1 || { fail "pg_basebackup -R failed: $(tail -n 3 "$FO_NODES/node2/basebackup.log")"; return 1; }
	fo_wait_streaming 1 30 || fail "node 2 does not stream from node 1" || return 1
	VB_DB="host=127.0.0.1,127.0.0.1 port=${FO_PORT[1]},${FO_PORT[2]} user=bridge dbname=$VB_DBNAME"
	VB_DB+=" connect_timeout=2 target_session_attrs=read-write"
	vb_log "pair: primary node 1 port ${FO_PORT[1]}, standby node 2 port ${FO_PORT[2]}; --db '$VB_DB'"
}

# liquibase_begin NAME: vb_scenario_begin's work, with the database set up
# by the changelog (production context) instead of CREATE EXTENSION.
liquibase_begin() {
	VB_NAME=$1
	VB_DIR=$VB_WORK/$VB_NAME
	rm -rf "$VB_DIR"
	mkdir -p "$VB_DIR"
	VB_PIDS=()
	VB_BRIDGE_PID=()
	VB_BRIDGE_PORT=()
	VB_MANIFESTS=()
	VB_NMANIFEST=0
	vb_psql -d postgres -c "CREATE DATABASE $VB_DBNAME" || return 1
	lb update1 update || fail "liquibase update on the primary failed: $(grep -v '^[[:space:]]*at ' "$VB_DIR/lb-update1.out" | tail -n 3)" || return 1
	vb_psql -d "$VB_DBNAME" -c "CREATE ROLE bridge LOGIN IN ROLE voltpay_writer" || return 1
	vb_log "scenario $VB_NAME: database $VB_DBNAME set up by liquibase/lb.sh update"
}

# lb LOG ARGS...: liquibase/lb.sh on $VB_DBNAME of $PGPORT, output in
# lb-LOG.out.  The first run writes a class data sharing archive that the
# second maps (JVM start is most of a run, see test/suites/liquibase.sh).
lb() {
	local log=$1 cds=$VB_WORK/liquibase.jsa opts
	shift
	if [ -s "$cds" ]; then
		opts="-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:SharedArchiveFile=$cds"
	else
		opts="-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:ArchiveClassesAtExit=$cds -Xlog:cds=off"
	fi
	JAVA_OPTS=$opts PGDATABASE=$VB_DBNAME ./liquibase/lb.sh "$@" >"$VB_DIR/lb-$log.out" 2>&1
}

# sweeper_waits_on_standby N: no sweeper process on standby node N, and
# its log never says it started.
sweeper_waits_on_standby() {
	local n
	n=$(fo_psql "$1" -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'voltpay sweeper'")
	[ "$n" = 0 ] || fail "a sweeper runs on standby node $1" || return 1
	! grep -q 'voltpay sweeper started' "$FO_NODES/node$1.log" ||
		fail "the sweeper started on standby node $1"
}

# sweeper_runs_after_promotion N T0: once node N is promoted, its sweeper
# starts (pg_stat_activity, its log) and sweeps (sweep_status.last_start
# after the promotion, epoch T0).
sweeper_runs_after_promotion() {
	local n=$1 t0=$2 i ok=
	for i in $(seq 60); do
		if [ "$(fo_psql "$n" -c "SELECT count(*) FROM voltpay.sweep_status WHERE worker_pid IS NOT NULL AND last_end >= to_timestamp($t0) AND last_error IS NULL")" = 1 ]; then
			ok=1
			break
		fi
		sleep 0.25
	done
	[ -n "$ok" ] || fail "no sweep on node $n after the promotion: $(fo_psql "$n" -c "SELECT * FROM voltpay.sweep_status")" || return 1
	grep -q "voltpay sweeper started in database \"$VB_DBNAME\"" "$FO_NODES/node$n.log" ||
		fail "node $n's log does not show the sweeper starting" || return 1
	vb_log "sweeper on promoted node $n: $(fo_psql "$n" -c "SELECT state, worker_pid, last_start, last_end, rows_deleted FROM voltpay.sweep_status")"
}

# outage_checks T_DOWN: called while no writable primary answers:
# /readyz must fall from 200 (within 5 s of T_DOWN) and the bridge keep
# running.  Sets T_UNREADY.
outage_checks() {
	local i code
	for i in $(seq 50); do
		code=$(fo_ready_code 1)
		[ "$code" != 200 ] && break
		sleep 0.1
	done
	T_UNREADY=$(fo_now)
	[ "$code" = 503 ] || fail "/readyz answered $code during the outage (expected 503)" || return 1
	vb_log "readyz $code $(fo_secs "$1" "$T_UNREADY") s after the primary went: $(curl -s --max-time 1 "http://127.0.0.1:${VB_BRIDGE_PORT[1]}/readyz")"
	alive 1
}

# still_unready: /readyz is still not 200 and db_connect errors grew since
# DB_CONNECT0 (within 10 s; call late in the outage).
still_unready() {
	local code n i
	code=$(fo_ready_code 1)
	[ "$code" = 503 ] || fail "/readyz answered $code with no writable primary (expected 503)" || return 1
	# What VoltpayBridgeNotReady (monitoring/alerts.yml) fires on.
	[ "$(vb_bridge_metric 1 voltpay_bridge_database_connected)" = 0 ] ||
		fail "voltpay_bridge_database_connected is not 0 with no writable primary" || return 1
	# The bridge retries its connection with a backoff, and the switchover
	# may get here within a second of the shutdown: wait up to 10 s for
	# the first failed attempt rather than sample once.
	for i in $(seq 100); do
		n=$(fo_metric 1 voltpay_bridge_errors_total 'kind="db_connect"')
		[ "$n" -gt "$DB_CONNECT0" ] && break
		sleep 0.1
	done
	[ "$n" -gt "$DB_CONNECT0" ] ||
		fail "voltpay_bridge_errors_total{kind=\"db_connect\"} did not grow during the outage ($DB_CONNECT0 -> $n)" || return 1
	vb_log "late in the outage: readyz $code, db_connect errors $DB_CONNECT0 -> $n"
	alive 1
}

# wait_ready_again T_PROMOTE: the bridge reconnects by itself (to node 2)
# within 30 s; sets T_READY.
wait_ready_again() {
	local i
	for i in $(seq 300); do
		[ "$(fo_ready_code 1)" = 200 ] && break
		alive 1 || return 1
		sleep 0.1
	done
	T_READY=$(fo_now)
	[ "$(fo_ready_code 1)" = 200 ] || fail "bridge not ready 30 s after the promotion" || return 1
	vb_log "readyz 200 again $(fo_secs "$1" "$T_READY") s after the promotion"
}

# after_outage_checks NEWPORT: metrics and log of the outage: db_connect
# errors and db retries counted, the last connection to the new primary,
# nothing rejected, quarantined or dead-lettered.
after_outage_checks() {
	local port=$1 retries connects q r last
	retries=$(fo_metric 1 voltpay_bridge_retries_total 'kind="db"')
	connects=$(fo_metric 1 voltpay_bridge_errors_total 'kind="db_connect"')
	[ "$retries" -gt "$DB_RETRIES0" ] || fail "voltpay_bridge_retries_total{kind=\"db\"} did not grow ($DB_RETRIES0 -> $retries)" || return 1
	q=$(vb_bridge_metric 1 voltpay_bridge_messages_quarantined_total)
	r=$(vb_bridge_metric 1 voltpay_bridge_messages_rejected_total)
	[ "${q:-0}" = 0 ] || fail "the bridge quarantined $q messages during the failover" || return 1
	[ "${r:-0}" = 0 ] || fail "$r messages rejected during the failover (the load has no invalid message)" || return 1
	last=$(grep '"database connected' "$VB_DIR/bridge-1.log" | tail -n 1)
	grep -q "@127.0.0.1:$port/" <<<"$last" || fail "the bridge's last connection is not to the new primary (port $port): $last" || return 1
	OUTAGE_LOG_LINES=$(grep -c 'failed (transient)' "$VB_DIR/bridge-1.log")
	vb_log "after the outage: db retries $DB_RETRIES0 -> $retries, db_connect errors $connects, $OUTAGE_LOG_LINES 'failed (transient)' log lines; last connection: $last"
}

# nothing_dead_lettered: after the checker's dumps: no rejected row, the
# dead-letter topic empty.
nothing_dead_lettered() {
	local n
	n=$(vb_psql -d "$VB_DBNAME" -c "SELECT count(*) FROM voltpay.rejected_messages")
	[ "$n" = 0 ] || fail "$n rejected_messages rows (none expected)" || return 1
	[ ! -s "$VB_DIR/dlq.jsonl" ] || fail "$(wc -l <"$VB_DIR/dlq.jsonl") events on the dead-letter topic (none expected)"
}

# snapshot N FILE_PREFIX: message ids and per-partition positions of node
# N ($FILE_PREFIX.ids sorted, $FILE_PREFIX.pos).
snapshot() {
	fo_psql "$1" -c "\\copy (SELECT message_id FROM voltpay.payments ORDER BY 1) TO '$2.ids'" &&
		fo_psql "$1" -c "\\copy (SELECT partition, next_offset, applied FROM voltpay.partition_position WHERE topic = '$VB_IN_TOPIC' ORDER BY 1) TO '$2.pos'"
}

# standby_at_promotion: node 2 has replayed everything it received (node 1
# is gone, nothing more arrives; the last record received may be partial,
# so: until the replay position stops moving): its state is the new
# primary's at the promotion.  Snapshot in $VB_DIR/standby.*; STANDBY_LSN.
standby_at_promotion() {
	local i prev= cur
	for i in $(seq 50); do
		cur=$(fo_psql 2 -c "SELECT pg_last_wal_replay_lsn()")
		[ "$cur" = "$prev" ] && break
		prev=$cur
		sleep 0.2
	done
	STANDBY_LSN=$cur
	vb_log "standby: replayed up to $cur, received $(fo_psql 2 -c "SELECT pg_last_wal_receive_lsn()")"
	snapshot 2 "$VB_DIR/standby"
}

# old_primary_state: the crashed node 1 recovered on a port of its own (no
# bridge can reach it), its state snapshot in $VB_DIR/old.*, then stopped;
# before that, the commit records it holds after STANDBY_LSN
# (pg_waldump): OLD_COMMITS.
old_primary_state() {
	local port
	OLD_COMMITS=$(fo_pg pg_waldump -p "${FO_DATA[1]}/pg_wal" -s "$STANDBY_LSN" -r Transaction 2>/dev/null | grep -c 'COMMIT')
	port=$(vp_free_port)
	fo_pg pg_ctl -D "${FO_DATA[1]}" -l "$FO_NODES/node1-inspect.log" -w -t 60 \
		-o "-p $port -c synchronous_standby_names= -c voltpay.sweep_interval=0" start >/dev/null ||
		fail "the old primary does not recover for inspection" || return 1
	FO_PORT[1]=$port
	snapshot 1 "$VB_DIR/old" || fail "cannot read the old primary" || return 1
	fo_node_stop 1 fast
}

# loss_figures: LOST (payments the old primary held and the new one had
# not at the promotion), LOST_MSGS (input messages: positions), and
# REAPPLIED (of LOST, those in the new primary now).
loss_figures() {
	LOST=$(comm -23 "$VB_DIR/old.ids" "$VB_DIR/standby.ids" | tee "$VB_DIR/lost.ids" | wc -l)
	LOST_MSGS=$(awk 'FNR == NR { s[$1] = $2; next } { d += $2 - ($1 in s ? s[$1] : 0) } END { print d + 0 }' \
		"$VB_DIR/standby.pos" "$VB_DIR/old.pos")
	fo_psql 2 -c "\\copy (SELECT message_id FROM voltpay.payments ORDER BY 1) TO '$VB_DIR/final.ids'"
	REAPPLIED=$(comm -12 "$VB_DIR/lost.ids" "$VB_DIR/final.ids" | wc -l)
	vb_log "old primary: $(wc -l <"$VB_DIR/old.ids") payments; new primary at promotion: $(wc -l <"$VB_DIR/standby.ids"); lost $LOST payments ($LOST_MSGS input messages, $OLD_COMMITS commit records after $STANDBY_LSN), $REAPPLIED of them in the new primary at the end"
}

# ---------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------

# kill_scenario MODE: async_kill and sync_kill.
kill_scenario() {
	local mode=$1 sender t_kill t_promote i
	pair_begin "$VB_NAME" extension || return 1
	if [ "$mode" = sync ]; then
		# Once the standby streams (before, CREATE DATABASE would wait).
		fo_psql 1 -c "ALTER SYSTEM SET synchronous_standby_names = 'node2'" -c "SELECT pg_reload_conf()" >/dev/null
		for i in $(seq 50); do
			[ "$(fo_psql 1 -c "SELECT sync_state FROM pg_stat_replication")" = sync ] && break
			sleep 0.1
		done
		[ "$(fo_psql 1 -c "SELECT sync_state FROM pg_stat_replication")" = sync ] ||
			fail "node 2 is not a synchronous standby" || return 1
	fi
	sweeper_waits_on_standby 2 || return 1

	vb_mock_start || return 1
	start_bridge 1 || return 1
	vb_loadgen_bg --count 12000 --rate 2000 --accounts 1000 --duplicate-fraction 0.05 \
		--email-fraction 0.3 --seed "$VB_SEED"
	rand_sleep 1500 2500
	DB_CONNECT0=$(fo_metric 1 voltpay_bridge_errors_total 'kind="db_connect"')
	DB_RETRIES0=$(fo_metric 1 voltpay_bridge_retries_total 'kind="db"')
	if [ "$mode" = async ]; then
		# The standby lags: its WAL sender stops for 1 s while the primary
		# commits on, as over a congested link.
		sender=$(fo_psql 1 -d postgres -c "SELECT pid FROM pg_stat_replication")
		[ -n "$sender" ] || fail "no WAL sender on node 1" || return 1
		kill -STOP "$sender"
		vb_log "WAL sender $sender stopped"
		sleep 1
	fi
	t_kill=$(fo_now)
	fo_crash 1 || fail "node 1 survived SIGKILL" || return 1
	outage_checks "$t_kill" || return 1
	standby_at_promotion || fail "cannot read the standby before the promotion" || return 1
	sleep 1.5
	still_unready || return 1
	sweeper_waits_on_standby 2 || return 1
	t_promote=$(fo_now)
	fo_promote 2 || fail "pg_ctl promote failed" || return 1
	vb_log "node 2 promoted $(fo_secs "$t_kill" "$t_promote") s after the kill"
	export PGPORT=${FO_PORT[2]}
	wait_ready_again "$t_promote" || return 1
	sweeper_runs_after_promotion 2 "$t_promote" || return 1
	old_primary_state || return 1

	finish_load 120 || return 1
	after_outage_checks "${FO_PORT[2]}" || return 1
	loss_figures
	figure "lost $LOST payments ($LOST_MSGS input messages, $OLD_COMMITS commits), re-applied $REAPPLIED;" \
		"not ready $(fo_secs "$t_kill" "$T_READY") s (kill to ready), ready $(fo_secs "$t_promote" "$T_READY") s after the promotion;" \
		"$OUTAGE_LOG_LINES retry log lines"
	SUMMARY="lost $LOST, re-applied $REAPPLIED, outage $(fo_secs "$t_kill" "$T_READY") s, ready $(fo_secs "$t_promote" "$T_READY") s after promote"
	if [ "$mode" = async ]; then
		# Without a loss the scenario would prove nothing.
		[ "$LOST" -gt 0 ] || fail "the asynchronous failover lost no transaction (the standby did not lag)" || return 1
	else
		# Only the one transaction whose COMMIT waited for the standby may
		# be missing: at most one batch, never acknowledged to the bridge.
		[ "$LOST" -le 500 ] || fail "synchronous replication lost $LOST payments (more than the one unacknowledged batch)" || return 1
	fi
	stop_bridge 1 || return 1
	if [ "$REAPPLIED" != "$LOST" ]; then
		# Defect 1 of docs/operations.md, should it come back.
		fail "BRIDGE DEFECT (issue 18; docs/operations.md, defect 1): $((LOST - REAPPLIED)) of the $LOST payments the failover lost were never applied again: after reconnecting, the bridge goes on from its own consumer positions instead of the new primary's recorded ones"
		check
		return 1
	fi
	check || return 1
	nothing_dead_lettered
}

scenario_async_kill() { kill_scenario async; }
scenario_sync_kill() { kill_scenario sync; }

# Planned switchover: node 1 shut down cleanly under load, node 2 promoted,
# node 1 rejoined with pg_rewind as node 2's standby; Liquibase on the new
# primary has nothing to apply.
scenario_switchover() {
	local t_stop t_promote ckpt replay dbcl_before dbcl_after n1 n2 i
	pair_begin "$VB_NAME" liquibase || return 1
	sweeper_waits_on_standby 2 || return 1
	dbcl_before=$(vb_psql -d "$VB_DBNAME" -c "SELECT id, md5sum, orderexecuted FROM databasechangelog ORDER BY orderexecuted")

	vb_mock_start || return 1
	start_bridge 1 || return 1
	vb_loadgen_bg --count 12000 --rate 2000 --accounts 1000 --duplicate-fraction 0.05 \
		--email-fraction 0.3 --seed "$VB_SEED"
	rand_sleep 1500 2500
	DB_CONNECT0=$(fo_metric 1 voltpay_bridge_errors_total 'kind="db_connect"')
	DB_RETRIES0=$(fo_metric 1 voltpay_bridge_retries_total 'kind="db"')
	t_stop=$(fo_now)
	fo_node_stop 1 fast || fail "pg_ctl stop -m fast failed on node 1" || return 1
	vb_log "node 1 shut down cleanly in $(fo_secs "$t_stop" "$(fo_now)") s"
	outage_checks "$t_stop" || return 1
	# Nothing lost: the standby has replayed the old primary's shutdown
	# checkpoint.
	ckpt=$(fo_pg pg_controldata -D "${FO_DATA[1]}" | sed -n 's/^Latest checkpoint location: *//p')
	for i in $(seq 50); do
		replay=$(fo_psql 2 -c "SELECT pg_last_wal_replay_lsn() >= '$ckpt'::pg_lsn")
		[ "$replay" = t ] && break
		sleep 0.1
	done
	[ "$replay" = t ] || fail "the standby did not receive the shutdown checkpoint $ckpt" || return 1
	still_unready || return 1
	t_promote=$(fo_now)
	fo_promote 2 || fail "pg_ctl promote failed" || return 1
	export PGPORT=${FO_PORT[2]}
	wait_ready_again "$t_promote" || return 1

	# The old primary rejoins as the new standby.  PostgreSQL 15's pg_rewind
	# reads the source's timeline from its control file, which the
	# promotion updates only at its next checkpoint: one first, or
	# pg_rewind sees "the same timeline" and compares nothing.
	fo_psql 2 -d postgres -c "CHECKPOINT" || fail "CHECKPOINT on the new primary failed" || return 1
	fo_pg pg_rewind -D "${FO_DATA[1]}" --source-server="host=127.0.0.1 port=${FO_PORT[2]} user=postgres dbname=postgres" \
		-R >"$FO_NODES/pg_rewind.log" 2>&1 || fail "pg_rewind failed: $(tail -n 3 "$FO_NODES/pg_rewind.log")" || return 1
	vb_log "pg_rewind: $(tr '\n' ' ' <"$FO_NODES/pg_rewind.log")"
	# pg_rewind may copy the source's configuration: node 1 keeps its own.
	printf "port = %s\nunix_socket_directories = '%s'\ncluster_name = 'node1'\n" \
		"${FO_PORT[1]}" "$FO_NODES/node1" | vp_as_pg tee -a "${FO_DATA[1]}/postgresql.conf" >/dev/null
	echo "=== rejoined as a standby $(date +%T.%N)" >>"$FO_NODES/node1.log"
	fo_node_start 1 || fail "node 1 does not start as a standby" || return 1
	fo_wait_streaming 2 30 || fail "node 1 does not stream from node 2" || return 1
	[ "$(fo_psql 1 -c "SELECT pg_is_in_recovery()")" = t ] || fail "node 1 is not in recovery" || return 1
	sweeper_runs_after_promotion 2 "$t_promote" || return 1
	[ "$(fo_psql 1 -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'voltpay sweeper'")" = 0 ] ||
		fail "a sweeper runs on the rejoined standby" || return 1
	n1=$(sed -n '/=== rejoined/,$p' "$FO_NODES/node1.log" | grep -E ' (ERROR|FATAL|PANIC): ' |
		grep -v -E 'the database system is (starting up|not yet accepting connections)')
	[ -z "$n1" ] || fail "the rejoined standby logs errors: $(head -n 3 <<<"$n1")" || return 1
	[ "$(sed -n '/=== rejoined/,$p' "$FO_NODES/node1.log" | grep -c 'voltpay sweeper started')" = 0 ] ||
		fail "the sweeper started on the rejoined standby" || return 1

	finish_load 120 || return 1
	after_outage_checks "${FO_PORT[2]}" || return 1
	# The rejoined standby has what the new primary has.
	for i in $(seq 50); do
		[ "$(fo_psql 2 -d postgres -c "SELECT replay_lsn >= pg_current_wal_lsn() FROM pg_stat_replication")" = t ] && break
		sleep 0.1
	done
	n1=$(fo_psql 1 -c "SELECT count(*) FROM voltpay.payments")
	n2=$(fo_psql 2 -c "SELECT count(*) FROM voltpay.payments")
	[ "$n1" = "$n2" ] || fail "the rejoined standby has $n1 payments, the primary $n2" || return 1

	# Liquibase on the promoted standby: the changelog is where it was.
	lb update2 update || fail "liquibase update on the new primary failed: $(grep -v '^[[:space:]]*at ' "$VB_DIR/lb-update2.out" | tail -n 3)" || return 1
	grep -qF "Run:                          0" "$VB_DIR/lb-update2.out" ||
		fail "liquibase update on the new primary ran changesets: $(grep -E 'Run:|Running Changeset' "$VB_DIR/lb-update2.out" | head -n 3)" || return 1
	dbcl_after=$(vb_psql -d "$VB_DBNAME" -c "SELECT id, md5sum, orderexecuted FROM databasechangelog ORDER BY orderexecuted")
	[ "$dbcl_before" = "$dbcl_after" ] || fail "databasechangelog differs after the switchover" || return 1

	figure "switchover: not ready $(fo_secs "$t_stop" "$T_READY") s (shutdown to ready), ready $(fo_secs "$t_promote" "$T_READY") s after the promotion;" \
		"pg_rewind: $(grep -E '^pg_rewind: ' "$FO_NODES/pg_rewind.log" | tail -n 1 | sed 's/^pg_rewind: //');" \
		"rejoined standby has $n1 payments like the primary; liquibase update ran 0 changesets"
	SUMMARY="outage $(fo_secs "$t_stop" "$T_READY") s, ready $(fo_secs "$t_promote" "$T_READY") s after promote, rewind ok, liquibase 0 changesets"
	stop_bridge 1 || return 1
	check || return 1
	nothing_dead_lettered
}

# ---------------------------------------------------------------------------

# The shared scenario runner (test/bridge/lib.sh's run_scenario), tailored:
# each scenario builds its own servers, so there is no vb_scenario_begin on
# a shared server; the subshell's exit stops every process and server it
# started and leaves the scenario's summary beside its directory.
VB_RUN_WIDTH=12
VB_RUN_BEGIN=fo_run_begin
VB_RUN_END=fo_run_end
VB_RUN_SUMMARY=fo_run_summary
VB_RUN_DETAILS=fo_run_details

fo_run_begin() {
	VB_NAME=$1
	VB_DIR=$VB_WORK/$1
	SUMMARY=
}

fo_run_end() {
	vb_scenario_end
	fo_stop_all
	echo "SUMMARY=${SUMMARY:-}" >"$VB_WORK/$VB_NAME.summary"
}

fo_run_summary() {
	sed -n 's/^SUMMARY=//p' "$1.summary" 2>/dev/null
}

fo_run_details() {
	vb_failure_details "$1"
	echo "    (logs: $1, servers: $1.nodes)"
}

if [ $# -gt 0 ]; then
	scenarios=("$@")
else
	scenarios=("${ALL_SCENARIOS[@]}")
fi
echo "failover: seed $VB_SEED, work directory $VB_WORK"
passed=0
failed=0
for s in "${scenarios[@]}"; do
	if ! declare -F "scenario_$s" >/dev/null; then
		echo "FAIL $s: no such scenario"
		failed=$((failed + 1))
		continue
	fi
	run_scenario "$s"
done
[ -s "$FIGURES" ] && sed 's/^/  /' "$FIGURES"
echo "failover: $passed passed, $failed failed"
if [ $failed = 0 ] && [ -z "${VB_KEEP:-}" ]; then
	rm -rf "$VB_WORK"
fi
[ $failed = 0 ]
