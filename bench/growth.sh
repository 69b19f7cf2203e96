#!/usr/bin/env bash
# Ingest as the idempotency table grows (issue 12): apply_payment_batch() in
# batches of 500 into a database whose voltpay.idempotency already holds
# 0, 10 and 50 million rows (a week of production ids), against the same
# messages into an empty database on the same cluster, run back to back
# in each round so that both sides of a ratio see the same machine.  Small
# shared_buffers (128MB) so that the primary key outgrows the buffer pool as
# it does at production volume.  Message ids of version 4 (random) and of
# version 7 (time-ordered: the prefilled ones over the past week, the new
# ones now).  Reports payments/s, the ratio to the empty table, buffer reads
# of the idempotency table and its indexes per payment, and WAL bytes per
# payment; writes bench/results/growth.json.
#
#   VOLTPAY_BENCH_GROWTH_ROWS     table sizes (default "0 10000000 50000000")
#   VOLTPAY_BENCH_GROWTH_N        messages per run (default 20000)
#   VOLTPAY_BENCH_GROWTH_ROUNDS   rounds per size (default 3)
#   VOLTPAY_BENCH_GROWTH_IDS      id versions (default "4 7")
#   VOLTPAY_BENCH_GROWTH_CONF     more postgresql.conf lines, separated by
#                                 ';' (e.g. "wal_compression = lz4")
#   VOLTPAY_BENCH_GROWTH_OUT      results file (default bench/results/growth.json)
set -euo pipefail
cd "$(dirname "$0")/.."
. test/lib/pgcluster.sh
. bench/lib.sh

ROWS=${VOLTPAY_BENCH_GROWTH_ROWS:-"0 10000000 50000000"}
N=${VOLTPAY_BENCH_GROWTH_N:-20000}
ROUNDS=${VOLTPAY_BENCH_GROWTH_ROUNDS:-3}
IDS=${VOLTPAY_BENCH_GROWTH_IDS:-"4 7"}
BS=500
CONF=${VOLTPAY_BENCH_GROWTH_CONF:-}
out=${VOLTPAY_BENCH_GROWTH_OUT:-bench/results/growth.json}
export PGOPTIONS="-c client_min_messages=warning"
work=$(mktemp -d /tmp/voltpay-growth.XXXXXX)
chmod 777 "$work"

IFS=';' read -r -a extra_conf <<<"$CONF"
vp_pg_start "fsync = on" "synchronous_commit = on" "shared_buffers = 128MB" \
	"max_wal_size = 8GB" "maintenance_work_mem = 1GB" "autovacuum = off" ${extra_conf[@]+"${extra_conf[@]}"}
trap 'vp_pg_stop; rm -rf "$work"' EXIT

for db in grown empty; do
	psql -c "CREATE DATABASE $db"
	PGDATABASE=$db psql -c 'CREATE EXTENSION voltpay'
	PGDATABASE=$db psql -f bench/msgs.sql >/dev/null
	PGDATABASE=$db psql <<'SQL'
CREATE SEQUENCE bench.batch_seq;
-- Empties the writer tables; the idempotency table too when asked.
CREATE FUNCTION bench.reset(idempotency bool) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	TRUNCATE voltpay.payment, voltpay.payment_party, voltpay.payment_remittance,
			 voltpay.payment_notification, voltpay.outbox,
			 voltpay.rejected_message, voltpay.partition_position;
	IF idempotency THEN
		TRUNCATE voltpay.idempotency;
	END IF;
	PERFORM setval('bench.batch_seq', 1, false);
END
$$;
-- Adds n rows to the idempotency table as a week of production leaves
-- it: ids of the given version (version 7: from the past week), dates over
-- the week.  Bulk load: indexes dropped and built again.
CREATE FUNCTION bench.grow(n bigint, id_version int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	ALTER TABLE voltpay.idempotency DROP CONSTRAINT idempotency_pkey;
	DROP INDEX voltpay.idempotency_processed_on_idx;
	INSERT INTO voltpay.idempotency (message_id, processed_on, payload_hash)
	SELECT CASE WHEN id_version = 7
				THEN bench.uuid7(now() - interval '7 days' + random() * interval '6 days 23 hours')
				ELSE gen_random_uuid() END,
		   current_date - (random() * 6)::int,
		   sha256(int8send(g))
	  FROM generate_series(1, n) g;
	ALTER TABLE voltpay.idempotency ADD CONSTRAINT idempotency_pkey PRIMARY KEY (message_id);
	CREATE INDEX idempotency_processed_on_idx ON voltpay.idempotency (processed_on);
END
$$;
-- Counters read before and after a run.
CREATE FUNCTION bench.counters(OUT idem_blks_read bigint, OUT db_blks_read bigint, OUT wal numeric)
LANGUAGE sql AS $$
	SELECT (SELECT heap_blks_read + coalesce(idx_blks_read, 0) + coalesce(toast_blks_read, 0)
			  FROM pg_statio_all_tables WHERE relid = 'voltpay.idempotency'::regclass),
		   (SELECT blks_read FROM pg_stat_database WHERE datname = current_database()),
		   pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')
$$;
SQL
done
bench_script voltpay.apply_payment_batch > "$work/apply.sql"

# run_once DB VERSION KEEP: N new messages of id VERSION applied in DB
# (its idempotency table kept when KEEP is true); prints "payments/s idem
# reads/payment db reads/payment WAL bytes/payment".
run_once() {
	local db=$1 v=$2 keep=$3 before after rate
	export PGDATABASE=$db
	psql -c "SELECT bench.reset(NOT $keep)" >/dev/null
	psql -c "SELECT bench.make_msgs($N, $v)" >/dev/null
	psql -c 'CHECKPOINT'
	before=$(psql -F ' ' -c 'SELECT * FROM bench.counters()')
	rate=$(pgbench -n -c 1 -t $((N / BS)) -D bs=$BS -f "$work/apply.sql" 2>&1 |
		awk -v bs=$BS '/^tps = / { printf "%.0f\n", $3 * bs }')
	[ "$(psql -c 'SELECT count(*) FROM voltpay.payment')" = "$N" ] ||
		{ echo "growth: $db: not every message was applied" >&2; exit 1; }
	sleep 1		# the pgbench backend's statistics are flushed as it exits
	after=$(psql -F ' ' -c 'SELECT * FROM bench.counters()')
	unset PGDATABASE
	python3 -c '
import sys
n, rate = int(sys.argv[1]), sys.argv[2]
b = [float(x) for x in sys.argv[3].split()]
a = [float(x) for x in sys.argv[4].split()]
print(rate, *("%.3f" % ((a[i] - b[i]) / n) for i in range(3)))' "$N" "$rate" "$before" "$after"
}

results=$work/results.txt
: > "$results"
for v in $IDS; do
	PGDATABASE=grown psql -c 'SELECT bench.reset(true)' >/dev/null
	have=0
	for rows in $ROWS; do
		if [ "$rows" -gt "$have" ]; then
			t0=$(date +%s)
			PGDATABASE=grown psql -c "SELECT bench.grow($((rows - have)), $v)" >/dev/null
			PGDATABASE=grown psql -c 'VACUUM (ANALYZE) voltpay.idempotency'
			have=$rows
			echo "growth: ids v$v: idempotency table at $rows rows (+$(( $(date +%s) - t0 )) s to load)" >&2
		fi
		size=$(PGDATABASE=grown psql -c "SELECT pg_relation_size('voltpay.idempotency_pkey')")
		for r in $(seq "$ROUNDS"); do
			g=$(run_once grown "$v" true)
			e=$(run_once empty "$v" false)
			echo "$v $rows $size $g $e" >> "$results"
			echo "growth: ids v$v, $rows rows, round $r: grown $g | empty $e" >&2
		done
		have=$((have + N * ROUNDS))
	done
done

python3 - "$out" "$N" "$results" "$CONF" <<'PY'
import json, sys, datetime, os, statistics
out, n, path, conf = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
runs = {}
for line in open(path):
    f = line.split()
    v, rows, size = int(f[0]), int(f[1]), int(f[2])
    g, e = [float(x) for x in f[3:7]], [float(x) for x in f[7:11]]
    runs.setdefault((v, rows, size), []).append((g, e))
res = {"when": datetime.datetime.utcnow().isoformat() + "Z", "machine": {"cpus": os.cpu_count()},
       "settings": "shared_buffers=128MB, fsync=on, synchronous_commit=on, batches of 500, CHECKPOINT before each run"
                   + "".join(", " + c.strip() for c in conf.split(";") if c.strip()),
       "messages_per_run": n, "sizes": []}
print("%-4s %11s %9s %11s %9s %13s %13s %12s %12s" % ("ids", "rows", "pkey MiB", "payments/s", "x empty",
      "reads/pay", "empty r/pay", "WAL B/pay", "empty WAL"))
for (v, rows, size), rr in sorted(runs.items()):
    med = lambda k, side: statistics.median(r[side][k] for r in rr)
    ratio = statistics.median(r[0][0] / r[1][0] for r in rr)
    row = {"id_version": v, "rows": rows, "pkey_bytes": size,
           "payments_per_s": med(0, 0), "empty_payments_per_s": med(0, 1), "vs_empty": round(ratio, 3),
           "idempotency_reads_per_payment": med(1, 0), "empty_idempotency_reads_per_payment": med(1, 1),
           "db_reads_per_payment": med(2, 0), "wal_bytes_per_payment": med(3, 0),
           "empty_wal_bytes_per_payment": med(3, 1), "rounds": len(rr)}
    res["sizes"].append(row)
    print("v%-3d %11d %9.0f %11.0f %9.3f %13.2f %13.2f %12.0f %12.0f" % (v, rows, size / 2**20,
          row["payments_per_s"], ratio, row["idempotency_reads_per_payment"],
          row["empty_idempotency_reads_per_payment"], row["wal_bytes_per_payment"],
          row["empty_wal_bytes_per_payment"]))
print("x empty: median over rounds of (grown, empty) run back to back; reads: blocks read into shared buffers")
json.dump(res, open(out, "w"), indent=2)
print("written to", out)
PY
