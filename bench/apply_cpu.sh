#!/usr/bin/env bash
# Database CPU per payment: voltpay.apply_record_batch() (what the bridge
# calls) against COPY of the very rows it wrote, side by side in one run on
# one private cluster with durable commits, rounds alternated.
#
# Both sides run in one backend whose CPU time is read from
# /proc/self/schedstat (nanoseconds on a CPU, user and kernel) through
# pg_read_file() before and after, so the figure is that backend's CPU and
# nothing else's.  The whole cluster's CPU (every PostgreSQL process: the
# backend, WAL writer, checkpointer, background writer, autovacuum) is
# read from /proc/PID/stat over the same interval.
#
#   apply:  one transaction per batch of VOLTPAY_BENCH_BATCH (500, the
#           bridge's default) messages, a prepared statement
#           apply_record_batch(keys, payloads, topic, partitions, offsets,
#           timestamps) over arrays prepared beforehand (the bridge sends
#           them as binary parameters); count(*) of its rows, so result
#           transfer is not counted.
#   COPY:   the same rows (payment, payment_party, payment_remittance,
#           payment_notification, idempotency, outbox, partition_position)
#           from files written by an apply, one transaction, like
#           bench/apply.sh.
#   ack:    optional (VOLTPAY_BENCH_ACK=1): after the apply, outbox_ack()
#           of every event in batches of 2,600 ids (the bridge's), then
#           VACUUM of the outbox (what the deletes leave to clean), timed
#           the same way, reported per event apart.
#
# Prints a table and writes bench/results/apply-cpu.json (or $1).
#
#   VOLTPAY_BENCH_N       messages (default 50000)
#   VOLTPAY_BENCH_BATCH   messages per apply transaction (default 500)
#   VOLTPAY_BENCH_ROUNDS  rounds of (apply, COPY), order swapped each round (5)
#   VOLTPAY_BENCH_ACK     1: measure outbox_ack() too (default 1)
#   VOLTPAY_BENCH_LABEL   free text recorded in the JSON (a variant's name)
set -euo pipefail
cd "$(dirname "$0")/.."
. test/lib/pgcluster.sh
. bench/lib.sh

N=${VOLTPAY_BENCH_N:-50000}
BS=${VOLTPAY_BENCH_BATCH:-500}
ROUNDS=${VOLTPAY_BENCH_ROUNDS:-5}
ACK=${VOLTPAY_BENCH_ACK:-1}
LABEL=${VOLTPAY_BENCH_LABEL:-}
out=${1:-bench/results/apply-cpu.json}
work=$(mktemp -d /tmp/voltpay-cpu.XXXXXX)
chmod 777 "$work"

vp_pg_start "fsync = on" "synchronous_commit = on" "shared_buffers = 512MB" \
	"max_wal_size = 4GB" "checkpoint_timeout = 30min" "autovacuum = off"
trap 'vp_pg_stop; rm -rf "$work"' EXIT

psql -c 'CREATE EXTENSION voltpay'
psql -f bench/msgs.sql >/dev/null
nb=$(( (N + BS - 1) / BS ))
psql <<SQL
SELECT bench.make_msgs($N, 7);
-- Stored uncompressed: the bridge's binary parameters are not compressed,
-- and decompressing them would be counted as the apply's work.
CREATE TABLE bench.batches (b int PRIMARY KEY, keys bytea[], payloads bytea[],
	parts int[], offs bigint[], tss timestamptz[]);
ALTER TABLE bench.batches ALTER keys SET STORAGE EXTERNAL, ALTER payloads SET STORAGE EXTERNAL;
INSERT INTO bench.batches
SELECT (i - 1) / $BS + 1 AS b,
	   array_agg(convert_to(key, 'UTF8') ORDER BY i) AS keys,
	   array_agg(payload ORDER BY i) AS payloads,
	   array_agg(part ORDER BY i) AS parts,
	   array_agg(i::bigint ORDER BY i) AS offs,
	   array_agg(timestamptz '2026-11-24 10:00:01+00' ORDER BY i) AS tss
  FROM bench.msgs GROUP BY 1;
CREATE FUNCTION bench.reset() RETURNS void LANGUAGE sql AS \$\$
	TRUNCATE voltpay.payment, voltpay.payment_party, voltpay.payment_remittance,
			 voltpay.payment_notification, voltpay.idempotency, voltpay.outbox,
			 voltpay.rejected_message, voltpay.partition_position;
\$\$;
-- CPU nanoseconds of this backend so far.
CREATE FUNCTION bench.cpu_ns() RETURNS bigint LANGUAGE sql AS \$\$
	SELECT split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint
\$\$;
SQL

# Clock ticks of every process of the cluster (postmaster and children,
# those that have exited included).
cat > "$work/ticks.py" <<'PY'
import os, sys
pm = open(sys.argv[1]).readline().strip()
tot = 0
for p in os.listdir('/proc'):
    if not p.isdigit():
        continue
    try:
        f = open('/proc/%s/stat' % p).read().rsplit(')', 1)[1].split()
    except OSError:
        continue
    # fields after the command: state ppid ... utime(12) stime(13)
    # utime(11) stime(12) cutime(13) cstime(14): a backend that has
    # exited is in the postmaster's cutime/cstime
    if p == pm:
        tot += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
    elif f[1] == pm:
        tot += int(f[11]) + int(f[12])
open(sys.argv[2], 'w').write('%d\n' % tot)
PY

# mark NAME: psql lines recording the backend's CPU ns in $work/NAME and
# the cluster's CPU ticks in $work/NAME.cl, with the wall clock in
# $work/NAME.t, at that point of the script.
mark() {
	echo "\\o $work/$1"
	echo "SELECT bench.cpu_ns();"
	echo "\\o $work/$1.wal"
	echo "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint;"
	echo "\\o"
	echo "\\! python3 $work/ticks.py $VP_PGDATA/postmaster.pid $work/$1.cl; date +%s.%N > $work/$1.t"
}
# delta A B: "backend_ns cluster_ticks wall_s wal_bytes" between marks A and B
delta() {
	echo "$(( $(cat "$work/$2") - $(cat "$work/$1") )) $(( $(cat "$work/$2.cl") - $(cat "$work/$1.cl") ))" \
		"$(python3 -c "print($(cat "$work/$2.t") - $(cat "$work/$1.t"))")" \
		"$(( $(cat "$work/$2.wal") - $(cat "$work/$1.wal") ))"
}

PREP="PREPARE a(int) AS SELECT count(*) FROM bench.batches b, voltpay.apply_record_batch(b.keys, b.payloads, 'bench', b.parts, b.offs, b.tss) r WHERE b.b = \$1;"
apply_sql() {		# the apply round's script: one transaction per batch
	echo "SELECT bench.reset();"
	echo "$PREP"
	echo "EXECUTE a(1);"		# plan and caches warm outside the timing
	echo "SELECT bench.reset();"
	echo "CHECKPOINT;"
	mark a0
	echo "\\o /dev/null"
	for b in $(seq 1 "$nb"); do echo "EXECUTE a($b);"; done
	echo "\\o"
	mark a1
	if [ "$ACK" = 1 ]; then
		echo "CREATE TEMP TABLE ids AS SELECT (event_id - 1) / 2600 AS g, array_agg(event_id ORDER BY event_id) AS ids FROM voltpay.outbox GROUP BY 1;"
		echo "PREPARE k(bigint) AS SELECT voltpay.outbox_ack(ids) FROM ids WHERE g = \$1;"
		echo "\\o $work/events"
		echo "SELECT count(*) FROM voltpay.outbox;"
		echo "\\o"
		mark k0
		echo "\\o /dev/null"
		echo "SELECT format('EXECUTE k(%s);', g) FROM ids ORDER BY g \\gexec"
		echo "\\o"
		mark k1
		echo "VACUUM voltpay.outbox;"
		mark v1
	fi
}

# One apply round: prints "backend_ns cluster_ticks wall_s wal_bytes
# [ack_ns events vacuum_ns]".
apply_round() {
	apply_sql > "$work/apply.sql"
	psql -f "$work/apply.sql" >/dev/null
	local got
	got=$(psql -c 'SELECT count(*) FROM voltpay.payment')
	[ "$got" = "$N" ] || { echo "bench: expected $N payments, found $got" >&2; exit 1; }
	local extra=""
	[ "$ACK" = 1 ] && extra=" $(( $(cat "$work/k1") - $(cat "$work/k0") )) $(cat "$work/events") $(( $(cat "$work/v1") - $(cat "$work/k1") ))"
	echo "$(delta a0 a1)$extra"
}

# COPY of the same rows: the tables of an apply exported once.
psql -c 'SELECT bench.reset()' >/dev/null
psql -c "$PREP
	$(for b in $(seq 1 "$nb"); do echo "EXECUTE a($b);"; done)" >/dev/null
tables="payment payment_party payment_remittance payment_notification idempotency outbox partition_position"
for t in $tables; do psql -c "COPY voltpay.$t TO '$work/$t.copy'"; done
copy_round() {
	{
		echo "SELECT bench.reset();"
		echo "CHECKPOINT;"
		mark c0
		echo "BEGIN;"
		for t in $tables; do
			if [ "$t" = outbox ]; then
				echo "COPY voltpay.outbox (event_id, kind, event_key, event_value, headers, message_id, src_partition, created_at) FROM '$work/outbox.copy';"
			else
				echo "COPY voltpay.$t FROM '$work/$t.copy';"
			fi
		done
		echo "COMMIT;"
		mark c1
	} > "$work/copy.sql"
	psql -f "$work/copy.sql" >/dev/null
	delta c0 c1
}

rounds=""
for r in $(seq "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then a=$(apply_round); c=$(copy_round); else c=$(copy_round); a=$(apply_round); fi
	echo "round $r: apply $a / copy $c" >&2
	rounds="$rounds$a|$c
"
done

python3 - "$out" "$N" "$BS" "$LABEL" "$rounds" <<'PY'
import json, sys, datetime, os, statistics
out, n, bs, label, rounds = sys.argv[1:]
n, bs = int(n), int(bs)
hz = os.sysconf('SC_CLK_TCK')
rows = []
for line in rounds.strip().splitlines():
    a, c = line.split('|')
    a, c = a.split(), c.split()
    r = {"apply_backend_us": int(a[0]) / 1000 / n, "apply_cluster_us": int(a[1]) * 1e6 / hz / n,
         "apply_wall_s": float(a[2]), "apply_wal_bytes": int(a[3]) / n,
         "copy_backend_us": int(c[0]) / 1000 / n, "copy_cluster_us": int(c[1]) * 1e6 / hz / n,
         "copy_wall_s": float(c[2]), "copy_wal_bytes": int(c[3]) / n}
    if len(a) > 4:
        r["ack_backend_us_per_payment"] = int(a[4]) / 1000 / n
        r["ack_backend_us_per_event"] = int(a[4]) / 1000 / int(a[5])
        r["events"] = int(a[5])
        r["vacuum_backend_us_per_event"] = int(a[6]) / 1000 / int(a[5])
    r["backend_ratio"] = r["apply_backend_us"] / r["copy_backend_us"]
    r["cluster_ratio"] = r["apply_cluster_us"] / r["copy_cluster_us"]
    rows.append(r)
med = lambda k: statistics.median(r[k] for r in rows)
res = {"when": datetime.datetime.utcnow().isoformat() + "Z", "label": label,
       "messages": n, "batch_size": bs, "machine": {"cpus": os.cpu_count()},
       "durability": "fsync=on, synchronous_commit=on",
       "median": {k: round(med(k), 3) for k in rows[0]},
       "rounds": [{k: round(v, 3) for k, v in r.items()} for r in rows]}
print("%-6s %12s %12s %8s %13s %13s %8s %10s %10s %10s %10s" % ("round", "apply us/p", "COPY us/p", "ratio",
      "apply cl us", "COPY cl us", "ratio", "apply WAL", "COPY WAL", "ack us/ev", "vac us/ev"))
for i, r in enumerate(rows + [res["median"]]):
    print("%-6s %12.2f %12.2f %8.3f %13.2f %13.2f %8.3f %10.0f %10.0f %10s %10s" % (
        i + 1 if i < len(rows) else "median", r["apply_backend_us"], r["copy_backend_us"], r["backend_ratio"],
        r["apply_cluster_us"], r["copy_cluster_us"], r["cluster_ratio"], r["apply_wal_bytes"], r["copy_wal_bytes"],
        "%.2f" % r["ack_backend_us_per_event"] if "ack_backend_us_per_event" in r else "-",
        "%.2f" % r["vacuum_backend_us_per_event"] if "vacuum_backend_us_per_event" in r else "-"))
print("us/p: CPU microseconds per payment of the one backend (/proc/self/schedstat);"
      " cl: of every PostgreSQL process (/proc/PID/stat); WAL: bytes per payment")
json.dump(res, open(out, "w"), indent=2)
print("written to", out)
PY
