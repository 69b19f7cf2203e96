#!/usr/bin/env bash
# Benchmark of the idempotency sweeper: ingest throughput (pgbench clients
# calling voltpay.apply_payment_batch() with contract-v1 messages) without a
# sweep, during the sweeper worker's sweep of millions of expired
# idempotency rows, and without a sweep again, side by side in one run on
# one private cluster with durable commits.  Prints a table and writes
# bench/results/sweep.json.
#
#   VOLTPAY_SWEEP_EXPIRED   expired idempotency rows to sweep (default 5000000)
#   VOLTPAY_SWEEP_YOUNG     young rows that stay (default 5000000)
#   VOLTPAY_SWEEP_SECONDS   length of each phase without a sweep (default 20)
#   VOLTPAY_SWEEP_CLIENTS   pgbench clients (default: number of CPUs)
#   VOLTPAY_SWEEP_BATCH     messages per apply_payment_batch() call (default 100)
#   VOLTPAY_SWEEP_SETTINGS  extra postgresql.conf lines, ';'-separated, e.g.
#                           "voltpay.sweep_batch_size = 50000"
set -euo pipefail
cd "$(dirname "$0")/.."
. test/lib/pgcluster.sh

EXPIRED=${VOLTPAY_SWEEP_EXPIRED:-5000000}
YOUNG=${VOLTPAY_SWEEP_YOUNG:-5000000}
SECONDS_PER_PHASE=${VOLTPAY_SWEEP_SECONDS:-20}
CLIENTS=${VOLTPAY_SWEEP_CLIENTS:-$(nproc)}
BATCH=${VOLTPAY_SWEEP_BATCH:-100}
out=bench/results/sweep.json
mkdir -p bench/results
work=$(mktemp -d /tmp/voltpay-sweep-bench.XXXXXX)
chmod 755 "$work"

extra=()
IFS=';' read -r -a extra <<<"${VOLTPAY_SWEEP_SETTINGS:-}"
vp_pg_start "shared_preload_libraries = 'voltpay'" "voltpay.sweep_interval = 0" \
	"fsync = on" "synchronous_commit = on" "shared_buffers = 512MB" \
	"max_wal_size = 8GB" "checkpoint_timeout = 30min" "timezone = 'UTC'" \
	${extra[@]+"${extra[@]}"}
trap 'vp_pg_stop; rm -rf "$work"' EXIT
psql() { command psql -XqAt -v ON_ERROR_STOP=1 "$@"; }

echo "sweep bench: $EXPIRED expired + $YOUNG young idempotency rows, $CLIENTS clients x $BATCH messages per batch"
psql -c 'CREATE EXTENSION voltpay'
# Expired rows first, then a week of young ones, as they would have arrived.
psql <<SQL
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
SELECT nextval('bench_batch') AS b \gset
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

# $1 = log file, $2 = seconds; per-second progress lines go to the log.
ingest() {
	pgbench -n -c "$CLIENTS" -j "$CLIENTS" -T "$2" -P 1 --progress-timestamp \
		-f "$work/ingest.sql" >"$1.out" 2>"$1"
}

echo "warm-up: ingest, 5 s"
ingest "$work/warmup.log" 5

echo "phase 1: ingest, no sweep (${SECONDS_PER_PHASE} s)"
ingest "$work/before.log" "$SECONDS_PER_PHASE"

echo "phase 2: ingest while the worker sweeps $EXPIRED expired rows"
pgbench -n -c "$CLIENTS" -j "$CLIENTS" -T 3600 -P 1 --progress-timestamp \
	-f "$work/ingest.sql" >"$work/during.log.out" 2>"$work/during.log" &
ingest_pid=$!
sleep 3
wal_start=$(psql -c 'SELECT pg_current_wal_lsn()')
psql -c "ALTER SYSTEM SET voltpay.sweep_interval = '1h'" -c 'SELECT pg_reload_conf()' >/dev/null
deadline=$(( $(date +%s) + 3600 ))
until [ "$(psql -c "SELECT last_end IS NOT NULL AND rows_deleted > 0 FROM voltpay.sweep_status")" = t ]; do
	kill -0 "$ingest_pid" 2>/dev/null || { echo "sweep bench: ingest stopped early" >&2; exit 1; }
	[ "$(date +%s)" -lt "$deadline" ] || { echo "sweep bench: no sweep within an hour" >&2; exit 1; }
	sleep 0.5
done
wal_bytes=$(psql -c "SELECT pg_current_wal_lsn() - '$wal_start'::pg_lsn")
sleep 2
kill -TERM "$ingest_pid" 2>/dev/null || true
wait "$ingest_pid" 2>/dev/null || true
sweep=$(psql -c "SELECT json_build_object(
	'start', extract(epoch FROM last_start), 'end', extract(epoch FROM last_end),
	'rows_deleted', rows_deleted, 'steps', steps, 'error', last_error)
	FROM voltpay.sweep_status")
settings=$(psql -c "SELECT json_object_agg(name, setting || COALESCE(unit, ''))
	FROM pg_settings WHERE name LIKE 'voltpay.%'")

echo "phase 3: ingest, no sweep (${SECONDS_PER_PHASE} s)"
ingest "$work/after.log" "$SECONDS_PER_PHASE"

# Correctness: nothing expired is left, nothing young was lost, every
# applied message has its idempotency row, nothing was rejected.
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

python3 - "$out" "$work" "$BATCH" "$CLIENTS" "$EXPIRED" "$YOUNG" "$table_mb" \
	"$wal_bytes" "$sweep" "$settings" "$check" <<'PY'
import datetime, json, os, re, sys

out, work, batch, clients, expired, young, table_mb, wal, sweep, settings, check = sys.argv[1:]
batch, expired, young = int(batch), int(expired), int(young)
sweep, settings, check = json.loads(sweep), json.loads(settings), json.loads(check)
line = re.compile(r"progress: ([\d.]+) s, ([\d.]+) tps, lat ([\d.]+) ms")

def progress(name):
    rows = []
    for l in open(os.path.join(work, name)):
        m = line.search(l)
        if m:
            rows.append(tuple(float(x) for x in m.groups()))
    return rows

def summary(rows):
    if not rows:
        return None
    tps = sum(r[1] for r in rows) / len(rows)
    return {"seconds": len(rows), "messages_per_s": round(tps * batch),
            "batch_latency_ms": round(sum(r[2] for r in rows) / len(rows), 2),
            "worst_second_messages_per_s": round(min(r[1] for r in rows) * batch)}

before, after = summary(progress("before.log")), summary(progress("after.log"))
# Only the seconds entirely inside the sweep.
during = summary([r for r in progress("during.log")
                  if r[0] - 1 >= sweep["start"] and r[0] <= sweep["end"]])
sweep_s = sweep["end"] - sweep["start"]
baseline = (before["messages_per_s"] + after["messages_per_s"]) / 2
ratio = during["messages_per_s"] / baseline if during else None
ok = (check["expired_left"] == 0 and check["young_left"] == young
      and check["rejected"] == 0 and check["duplicates"] == 0
      and check["payments"] == check["todays_idempotency_rows"]
      and sweep["rows_deleted"] == expired and sweep["error"] is None)

res = {"when": datetime.datetime.utcnow().isoformat() + "Z",
       "machine": {"cpus": os.cpu_count(), "load_average_1_5_15_min_at_end": os.getloadavg()},
       "durability": "fsync=on, synchronous_commit=on (the sweeper commits asynchronously)",
       "ingest": {"function": "voltpay.apply_payment_batch", "clients": int(clients),
                  "messages_per_batch": batch},
       "idempotency_table": {"expired_rows": expired, "young_rows": young,
                             "size_mb_before_sweep": int(table_mb)},
       "settings": settings,
       "sweep": {"rows_deleted": sweep["rows_deleted"], "steps": sweep["steps"],
                 "seconds": round(sweep_s, 2),
                 "rows_per_s": round(sweep["rows_deleted"] / sweep_s) if sweep_s > 0 else None,
                 "wal_mb_during_sweep_incl_ingest": round(int(wal) / 1048576)},
       "phases": {"before": before, "during_sweep": during, "after": after},
       "ingest_kept_during_sweep": round(ratio, 3) if ratio else None,
       "target": 0.8, "target_met": bool(ratio and ratio >= 0.8),
       "checks": check, "correct": ok}

print("%-26s %10s %14s %12s %14s" % ("phase", "seconds", "messages/s", "batch ms", "worst second"))
for name, p in (("ingest, no sweep (before)", before), ("ingest during the sweep", during),
                ("ingest, no sweep (after)", after)):
    if p:
        print("%-26s %10d %14d %12.2f %14d" % (name, p["seconds"], p["messages_per_s"],
                                               p["batch_latency_ms"], p["worst_second_messages_per_s"]))
print("sweep: %d rows in %.1f s (%d rows/s, %d steps); ingest kept %.0f%% of its rate (target 80%%: %s)"
      % (sweep["rows_deleted"], sweep_s, res["sweep"]["rows_per_s"] or 0, sweep["steps"],
         100 * (ratio or 0), "met" if res["target_met"] else "NOT met"))
print("checks: %s -> %s" % (json.dumps(check), "correct" if ok else "WRONG"))
print("load average of the machine (1, 5, 15 min): %.1f %.1f %.1f" % os.getloadavg())
json.dump(res, open(out, "w"), indent=2)
print("written to", out)
sys.exit(0 if ok else 1)
PY
