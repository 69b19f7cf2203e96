#!/usr/bin/env bash
# Benchmark of the idempotency sweeper: ingest throughput (pgbench clients
# calling voltpay.apply_payment_batch() with new contract-v1 messages) side
# by side in one run on one private cluster with durable commits:
#
#   before   ingest alone
#   sweep    ingest while the sweeper worker deletes millions of expired
#            idempotency rows with its default settings ("on" windows),
#            alternating with windows where the sweep is paused ("off"),
#            so that with and without are compared over adjacent seconds,
#            which the machine's other load affects alike
#   vacuum   ingest while VACUUM (throttled as autovacuum is) cleans up
#            after the sweep
#   after    ingest alone again
#
# Autovacuum is off for voltpay.idempotency during the run so that the sweep
# and the vacuum it causes are measured apart.  Prints a table (made by
# bench/sweep_report.py) and writes bench/results/sweep.json; exits non-zero
# when the sweep deleted the wrong rows or ingest lost or duplicated a
# message.
#
#   VOLTPAY_SWEEP_EXPIRED   expired idempotency rows to sweep (default 5000000)
#   VOLTPAY_SWEEP_YOUNG     young rows that stay (default 5000000)
#   VOLTPAY_SWEEP_SECONDS   length of the phases without sweep (default 20)
#   VOLTPAY_SWEEP_CLIENTS   pgbench clients (default: number of CPUs)
#   VOLTPAY_SWEEP_BATCH     messages per apply_payment_batch() call (default 100)
#   VOLTPAY_SWEEP_WINDOW    seconds of each "on" window of the sweep (default 10)
#   VOLTPAY_SWEEP_OFF_WINDOW  seconds of each "off" window (default 5)
#   VOLTPAY_SWEEP_SETTINGS  extra postgresql.conf lines, ';'-separated, e.g.
#                           "voltpay.sweep_step_delay = '50ms'"
set -euo pipefail
cd "$(dirname "$0")/.."
. test/lib/pgcluster.sh

EXPIRED=${VOLTPAY_SWEEP_EXPIRED:-5000000}
YOUNG=${VOLTPAY_SWEEP_YOUNG:-5000000}
PHASE_SECONDS=${VOLTPAY_SWEEP_SECONDS:-20}
CLIENTS=${VOLTPAY_SWEEP_CLIENTS:-$(nproc)}
BATCH=${VOLTPAY_SWEEP_BATCH:-100}
WINDOW=${VOLTPAY_SWEEP_WINDOW:-10}
OFF_WINDOW=${VOLTPAY_SWEEP_OFF_WINDOW:-5}
out=bench/results/sweep.json
mkdir -p bench/results
work=$(mktemp -d /tmp/voltpay-sweep-bench.XXXXXX)
chmod 755 "$work"

extra=()
IFS=';' read -r -a extra <<<"${VOLTPAY_SWEEP_SETTINGS:-}"
vp_pg_start "shared_preload_libraries = 'voltpay'" "voltpay.sweep_interval = 0" \
	"fsync = on" "synchronous_commit = on" "shared_buffers = 512MB" \
	"max_wal_size = 32GB" "checkpoint_timeout = 1h" "timezone = 'UTC'" \
	${extra[@]+"${extra[@]}"}
ingest_pid=
trap '[ -n "$ingest_pid" ] && kill "$ingest_pid" 2>/dev/null; vp_pg_stop; rm -rf "$work"' EXIT
psql() { command psql -XqAt -v ON_ERROR_STOP=1 "$@"; }
now() { date +%s.%N; }

echo "sweep bench: $EXPIRED expired + $YOUNG young idempotency rows, $CLIENTS clients x $BATCH messages per batch"
psql -c 'CREATE EXTENSION voltpay'
# Expired rows first, then a week of young ones, as they would have arrived.
psql <<SQL
ALTER TABLE voltpay.idempotency SET (autovacuum_enabled = off);
INSERT INTO voltpay.idempotency (message_id, processed_on, payload_hash)
SELECT gen_random_uuid(), current_date - 8, sha256(i::text::bytea)
  FROM generate_series(1, $EXPIRED) AS i;
INSERT INTO voltpay.idempotency (message_id, processed_on, payload_hash)
SELECT gen_random_uuid(), current_date - 7 + (i * 7::bigint / ($YOUNG + 1))::int,
	   sha256(i::text::bytea)
  FROM generate_series(1, $YOUNG) AS i;
VACUUM ANALYZE voltpay.idempotency;
CHECKPOINT;
SQL
table_mb=$(psql -c "SELECT pg_total_relation_size('voltpay.idempotency') / 1048576")

# One pgbench transaction = one batch of new contract-v1 messages, as the
# bridge sends them (the JSON is built by the client's query).  Each client
# consumes its own 8 partitions, at increasing offsets.
psql -c 'CREATE SEQUENCE bench_batch'
cat >"$work/ingest.sql" <<SQL
SELECT nextval('bench_batch') AS b \\gset
SELECT count(*) FROM voltpay.apply_payment_batch(
	ARRAY(SELECT 'acc-' || (i % 1000) FROM generate_series(1, $BATCH) AS i),
	ARRAY(SELECT convert_to(json_build_object(
		'message_id', gen_random_uuid(), 'payment_id', gen_random_uuid(),
		'account_id', 'acc-' || (i % 1000),
		'amount', (i % 997) || '.' || lpad((i % 100)::text, 2, '0'),
		'currency', 'EUR',
		'debtor', json_build_object('name', 'Ann', 'iban', 'DE89370400440532013000'),
		'creditor', json_build_object('name', 'Bob', 'iban', 'GB82WEST12345698765432'),
		'remittance_info', 'Invoice ' || i,
		'created_at', '2026-11-24T10:00:00Z')::text, 'UTF8')
	  FROM generate_series(1, $BATCH) AS i),
	'bench',
	ARRAY(SELECT :client_id * 8 + i % 8 FROM generate_series(1, $BATCH) AS i),
	ARRAY(SELECT :b * $BATCH + i FROM generate_series(1, $BATCH) AS i));
SQL
chmod 644 "$work/ingest.sql"

# Ingest in the background, with per-second progress lines in $work/$1.log.
ingest_start() {
	pgbench -n -c "$CLIENTS" -j "$CLIENTS" -T 3600 -P 1 --progress-timestamp \
		-f "$work/ingest.sql" >"$work/$1.out" 2>"$work/$1.log" &
	ingest_pid=$!
}
ingest_stop() {
	kill -TERM "$ingest_pid" 2>/dev/null || true
	wait "$ingest_pid" 2>/dev/null || true
	ingest_pid=
}
lsn() { psql -c 'SELECT pg_current_wal_lsn()'; }
wal_since() { psql -c "SELECT pg_current_wal_lsn() - '$1'::pg_lsn"; }

# A phase of ingest alone: $1 = name.  Prints "start end wal_bytes".
phase_alone() {
	local t0 t1 l0
	ingest_start "$1"
	sleep 2
	l0=$(lsn); t0=$(now)
	sleep "$PHASE_SECONDS"
	t1=$(now)
	echo "$t0 $t1 $(wal_since "$l0")"
	ingest_stop
}

echo "warm-up: ingest alone, 10 s"
ingest_start warmup; sleep 10; ingest_stop

echo "phase before: ingest alone, $PHASE_SECONDS s"
read -r before_t0 before_t1 before_wal < <(phase_alone before)

# The sweep runs with its settings in "on" windows and is paused (a step
# delay of 60 s, through SIGHUP) in the "off" windows between them, so that
# ingest with and without the sweep is compared over adjacent seconds, which
# other load on the machine affects alike.
echo "phase sweep: ingest while the worker sweeps $EXPIRED expired rows, ${WINDOW} s on / ${OFF_WINDOW} s off"
sweep_done() { [ "$(psql -c 'SELECT last_end IS NOT NULL AND rows_deleted > 0 FROM voltpay.sweep_status')" = t ]; }
reload() { psql -c "$1" -c 'SELECT pg_reload_conf()' >/dev/null; }
: >"$work/windows"
ingest_start sweep
sleep 3
l0=$(lsn)
reload "ALTER SYSTEM SET voltpay.sweep_interval = '1h'"
deadline=$(( $(date +%s) + 3600 ))
until sweep_done; do
	t0=$(now)
	for ((i = 0; i < WINDOW * 2; i++)); do sweep_done && break; sleep 0.5; done
	echo "on $t0 $(now)" >>"$work/windows"
	sweep_done && break
	reload "ALTER SYSTEM SET voltpay.sweep_step_delay = '60s'"
	t0=$(now)
	sleep "$OFF_WINDOW"
	echo "off $t0 $(now)" >>"$work/windows"
	reload 'ALTER SYSTEM RESET voltpay.sweep_step_delay'
	kill -0 "$ingest_pid" 2>/dev/null || { echo "sweep bench: ingest stopped early" >&2; exit 1; }
	[ "$(date +%s)" -lt "$deadline" ] || { echo "sweep bench: no sweep within an hour" >&2; exit 1; }
done
sweep_wal=$(wal_since "$l0")
read -r sweep_t0 sweep_t1 sweep_rows sweep_steps sweep_error < <(psql -F ' ' -c "
	SELECT extract(epoch FROM last_start), extract(epoch FROM last_end),
		   rows_deleted, steps, COALESCE(last_error, '-')
	  FROM voltpay.sweep_status")
sleep 1
ingest_stop
settings=$(psql -c "SELECT json_object_agg(name, setting || COALESCE(unit, ''))
	FROM pg_settings WHERE name LIKE 'voltpay.%'")

echo "phase vacuum: ingest while VACUUM (autovacuum's throttling) cleans up"
ingest_start vacuum
sleep 3
l0=$(lsn)
vacuum_t0=$(now)
psql -c "SET vacuum_cost_delay = '2ms'" -c 'SET vacuum_cost_limit = 200' \
	-c 'VACUUM voltpay.idempotency'
vacuum_t1=$(now)
vacuum_wal=$(wal_since "$l0")
sleep 1
ingest_stop

echo "phase after: ingest alone, $PHASE_SECONDS s"
read -r after_t0 after_t1 after_wal < <(phase_alone after)
psql -c 'ALTER TABLE voltpay.idempotency RESET (autovacuum_enabled)'

# Correctness: nothing expired is left, nothing young was lost, every
# applied message has its idempotency row, nothing rejected or duplicated.
check=$(psql <<SQL
SELECT json_build_object(
	'expired_left', (SELECT count(*) FROM voltpay.idempotency WHERE processed_on < current_date - 7),
	'young_left', (SELECT count(*) FROM voltpay.idempotency WHERE processed_on BETWEEN current_date - 7 AND current_date - 1),
	'payments', (SELECT count(*) FROM voltpay.payment),
	'todays_idempotency_rows', (SELECT count(*) FROM voltpay.idempotency WHERE processed_on = current_date),
	'rejected', (SELECT count(*) FROM voltpay.rejected_message),
	'duplicates', (SELECT COALESCE(sum(duplicate), 0) FROM voltpay.partition_position));
SQL
)

cat >"$work/raw.json" <<JSON
{"batch": $BATCH, "clients": $CLIENTS, "expired": $EXPIRED, "young": $YOUNG,
 "window_s": [$WINDOW, $OFF_WINDOW], "table_mb": $table_mb,
 "before": [$before_t0, $before_t1, $before_wal],
 "vacuum": [$vacuum_t0, $vacuum_t1, $vacuum_wal],
 "after": [$after_t0, $after_t1, $after_wal],
 "sweep": {"start": $sweep_t0, "end": $sweep_t1, "wal": $sweep_wal,
		   "rows": $sweep_rows, "steps": $sweep_steps, "ok": $( [ "$sweep_error" = "-" ] && echo true || echo false )},
 "settings": $settings,
 "checks": $check,
 "checkpoints": $(grep -o '^[0-9-]* [0-9:.]* [A-Z]*.*checkpoint starting: [a-z -]*' "$VP_PGDIR/server.log" |
	python3 -c 'import json, sys; print(json.dumps([l.strip() for l in sys.stdin]))')}
JSON
python3 bench/sweep_report.py "$work" "$out"
