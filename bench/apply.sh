#!/usr/bin/env bash
# Benchmark of the extension, side by side in one run on one private cluster
# with durable commits (fsync on): apply_payment_batch() at batch sizes 1 to
# 1000, the same logic in PL/pgSQL, and COPY of the very rows the apply
# wrote into the same tables (idempotency and outbox included); then ingest
# into unpartitioned vs partitioned writer tables.  Prints a table and writes
# bench/results/latest.json.  The database CPU per payment of the apply
# against COPY of the same rows is bench/apply_cpu.sh's (docs/bench-apply.md).
#
#   VOLTPAY_BENCH_N       messages per batch size (default 20000)
#   VOLTPAY_BENCH_SIZES   batch sizes (default "1 10 20 50 100 500 1000")
#   VOLTPAY_BENCH_OUT     the JSON written (default bench/results/latest.json)
set -euo pipefail
cd "$(dirname "$0")/.."
. test/lib/pgcluster.sh
. bench/lib.sh

N=${VOLTPAY_BENCH_N:-20000}
SIZES=${VOLTPAY_BENCH_SIZES:-"1 10 20 50 100 500 1000"}
out=${VOLTPAY_BENCH_OUT:-bench/results/latest.json}
work=$(mktemp -d /tmp/voltpay-bench.XXXXXX)
chmod 777 "$work"

vp_pg_start "fsync = on" "synchronous_commit = on" "shared_buffers = 512MB" \
	"max_wal_size = 4GB" "checkpoint_timeout = 30min"
trap 'vp_pg_stop; rm -rf "$work"' EXIT

psql -c 'CREATE EXTENSION voltpay'
psql -f bench/plpgsql_apply.sql >/dev/null
# N valid contract-v1 messages, 100 partitions, 1000 accounts, 30% with e-mail.
psql -f bench/msgs.sql >/dev/null
psql <<SQL
SELECT bench.make_msgs($N);
CREATE SEQUENCE bench.batch_seq;
CREATE FUNCTION bench.reset() RETURNS void LANGUAGE sql AS \$\$
	TRUNCATE voltpay.payment, voltpay.payment_party, voltpay.payment_remittance,
			 voltpay.payment_notification, voltpay.idempotency, voltpay.outbox,
			 voltpay.rejected_message, voltpay.partition_position;
	SELECT setval('bench.batch_seq', 1, false);
\$\$;
SQL

bench_script voltpay.apply_payment_batch > "$work/c.sql"
bench_script bench.apply_payment_batch_plpgsql > "$work/plpgsql.sql"

# $1 script, $2 batch size, $3 messages: prints payments/s
run_pgbench() {
	local t=$(( $3 / $2 ))
	psql -c 'SELECT bench.reset()' >/dev/null
	pgbench -n -c 1 -t "$t" -D bs="$2" -f "$1" 2>&1 |
		awk -v bs="$2" '/^tps = / { printf "%.0f\n", $3 * bs }'
}

check_applied() {  # every message of the run must be applied once
	local got
	got=$(psql -c 'SELECT count(*) FROM voltpay.payment')
	[ "$got" = "$1" ] || { echo "bench: expected $1 payments, found $got" >&2; exit 1; }
}

# COPY of the same rows: apply everything once, export each table; a COPY
# run loads those files into the emptied tables in one transaction.
psql -c 'SELECT bench.reset()' >/dev/null
pgbench -n -c 1 -t $(( N / 1000 )) -D bs=1000 -f "$work/c.sql" >/dev/null 2>&1
check_applied "$N"
tables="payment payment_party payment_remittance payment_notification idempotency outbox partition_position"
for t in $tables; do psql -c "COPY voltpay.$t TO '$work/$t.copy'"; done
copy_once() {
	psql <<SQL | tail -1
SELECT bench.reset();
CREATE TEMP TABLE t0 AS SELECT clock_timestamp() AS t;
BEGIN;
$(for t in $tables; do [ "$t" = outbox ] && echo "COPY voltpay.outbox (event_id, kind, event_key, event_value, headers, message_id, src_partition, created_at) FROM '$work/outbox.copy';" || echo "COPY voltpay.$t FROM '$work/$t.copy';"; done)
COMMIT;
SELECT round($N / extract(epoch FROM clock_timestamp() - t)) FROM t0;
SQL
}

# The machine may be busy with other work: each batch size runs three
# rounds of (C apply, COPY) back to back, and the ratio is the median of the
# rounds' ratios, so that both sides of a ratio see the same conditions.
REPS=${VOLTPAY_BENCH_REPS:-3}
declare -A C PL R
copy_all=""
for bs in $SIZES; do
	n=$N; [ "$bs" -lt 10 ] && n=$(( N / 10 ))
	cs=""; rs=""
	for r in $(seq "$REPS"); do
		c=$(run_pgbench "$work/c.sql" "$bs" "$n"); check_applied "$n"
		k=$(copy_once)
		cs="$cs $c"; copy_all="$copy_all $k"
		rs="$rs $(python3 -c "print($c / $k)")"
	done
	C[$bs]=$(echo $cs | tr ' ' '\n' | median)
	R[$bs]=$(echo $rs | tr ' ' '\n' | median)
	npl=$(( n / 4 )); [ "$npl" -lt "$bs" ] && npl=$bs
	PL[$bs]=$(run_pgbench "$work/plpgsql.sql" "$bs" "$npl"); check_applied "$npl"
done
copy_rate=$(echo $copy_all | tr ' ' '\n' | median)

# Partitioning: the same payment rows into an unpartitioned table, a table
# partitioned by day (7 days) and one by account hash (16), then retention:
# deleting the oldest day's rows vs dropping its partition.
copy_once >/dev/null		# the writer tables hold the N payments again
part=$(psql <<SQL
CREATE TEMP TABLE src AS SELECT * FROM voltpay.payment;
INSERT INTO src SELECT * FROM src; INSERT INTO src SELECT * FROM src; INSERT INTO src SELECT * FROM src;
UPDATE src SET applied_at = timestamptz '2026-11-18' + (abs(hashtext(payment_id::text)) % 7) * interval '1 day';
CREATE TABLE bench.p_plain (LIKE voltpay.payment);
CREATE TABLE bench.p_day (LIKE voltpay.payment) PARTITION BY RANGE (applied_at);
DO \$\$ BEGIN FOR d IN 0..6 LOOP
	EXECUTE format('CREATE TABLE bench.p_day_%s PARTITION OF bench.p_day FOR VALUES FROM (%L) TO (%L)', d,
		timestamptz '2026-11-18' + d * interval '1 day', timestamptz '2026-11-18' + (d + 1) * interval '1 day');
END LOOP; END \$\$;
CREATE TABLE bench.p_hash (LIKE voltpay.payment) PARTITION BY HASH (account_id);
DO \$\$ BEGIN FOR h IN 0..15 LOOP
	EXECUTE format('CREATE TABLE bench.p_hash_%s PARTITION OF bench.p_hash FOR VALUES WITH (MODULUS 16, REMAINDER %s)', h, h);
END LOOP; END \$\$;
CREATE FUNCTION pg_temp.timed(sql text) RETURNS numeric LANGUAGE plpgsql AS \$\$
DECLARE t timestamptz := clock_timestamp();
BEGIN EXECUTE sql; RETURN round(extract(epoch FROM clock_timestamp() - t)::numeric, 3); END \$\$;
SELECT json_build_object(
	'rows', (SELECT count(*) FROM src),
	'insert_s', json_build_object(
		'unpartitioned', pg_temp.timed('INSERT INTO bench.p_plain SELECT * FROM src'),
		'daily', pg_temp.timed('INSERT INTO bench.p_day SELECT * FROM src'),
		'account_hash', pg_temp.timed('INSERT INTO bench.p_hash SELECT * FROM src')),
	'retention_s', json_build_object(
		'delete_oldest_day_unpartitioned', pg_temp.timed('DELETE FROM bench.p_plain WHERE applied_at < timestamptz ''2026-11-19'''),
		'drop_oldest_day_partition', pg_temp.timed('DROP TABLE bench.p_day_0'),
		'delete_oldest_day_account_hash', pg_temp.timed('DELETE FROM bench.p_hash WHERE applied_at < timestamptz ''2026-11-19''')));
SQL
)
part=$(echo "$part" | tail -1)

python3 - "$out" "$N" "$copy_rate" "$part" "$SIZES" "$(for bs in $SIZES; do echo "$bs ${C[$bs]} ${PL[$bs]} ${R[$bs]}"; done)" <<'PY'
import json, sys, datetime, platform, os
out, n, copy_rate, part, sizes, rows = sys.argv[1:]
copy_rate = float(copy_rate)
res = {"when": datetime.datetime.utcnow().isoformat() + "Z", "messages_per_size": int(n),
       "machine": {"cpus": os.cpu_count()}, "durability": "fsync=on, synchronous_commit=on",
       "copy_payments_per_s": copy_rate, "batch_sizes": [], "partitioning": json.loads(part)}
print("%-6s %14s %10s %16s %12s" % ("batch", "C apply/s", "x COPY", "PL/pgSQL /s", "C / PLpgSQL"))
for line in rows.strip().splitlines():
    bs, c, pl, r = line.split()
    c, pl, r = float(c), float(pl), float(r)
    res["batch_sizes"].append({"batch_size": int(bs), "c_payments_per_s": c, "plpgsql_payments_per_s": pl,
                               "c_vs_copy": round(r, 3), "c_vs_plpgsql": round(c / pl, 2)})
    print("%-6s %14.0f %10.3f %16.0f %12.2f" % (bs, c, r, pl, c / pl))
print("COPY of the same rows (all tables, one transaction, median): %.0f payments/s" % copy_rate)
print("x COPY: median over rounds of (C apply, COPY) run back to back")
p = res["partitioning"]
print("partitioning, %d payment rows: insert s %s; retention s %s" % (p["rows"], p["insert_s"], p["retention_s"]))
json.dump(res, open(out, "w"), indent=2)
print("written to", out)
PY
