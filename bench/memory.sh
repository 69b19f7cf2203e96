#!/usr/bin/env bash
# Bridge memory with a large backlog (issue 12): N messages (default
# 1,000,000) produced into a real Kafka broker (KRaft, test/kafka/broker.sh;
# the input topic as in production, 100 partitions) BEFORE the bridge
# starts, then one bridge drains them into a private PostgreSQL and
# publishes every event.  The bridge's VmRSS is sampled every 250 ms and
# its VmHWM read at the end.  Each configuration of BRIDGE_CONFIGS runs
# once on the same backlog (the bridge's consumer group changes, so each
# reads the whole topic; the database is emptied between runs).  Prints a
# table and writes bench/results/memory.json.
#
#   VOLTPAY_MEMORY_BENCH_N        backlog (default 1000000)
#   VOLTPAY_MEMORY_BENCH_CONFIGS  ";"-separated bridge argument sets, each
#                                 named NAME=ARGS, run in that order
#                                 (default: the bridge's defaults and the
#                                 consumer buffers it had before, 16 MiB of
#                                 prefetch and librdkafka's 50 MiB fetches,
#                                 alternated twice)
set -euo pipefail
cd "$(dirname "$0")/.."
. test/lib/pgcluster.sh
. test/kafka/broker.sh
. bench/lib.sh

N=${VOLTPAY_MEMORY_BENCH_N:-1000000}
before="-X consumer.fetch.max.bytes=52428800 -X consumer.queued.max.messages.kbytes=16384"
CONFIGS=${VOLTPAY_MEMORY_BENCH_CONFIGS:-"default=;before=$before;default2=;before2=$before"}
out=bench/results/memory.json
work=$(mktemp -d /tmp/voltpay-memory.XXXXXX)
chmod 777 "$work"
export PGOPTIONS="-c client_min_messages=warning"

vp_pg_start "fsync = on" "shared_buffers = 512MB" "max_wal_size = 8GB"
trap 'vk_cluster_stop; vp_pg_stop; rm -rf "$work"' EXIT
vk_cluster_start 1 >&2
psql -c 'CREATE EXTENSION voltpay'
vk_topics >/dev/null
t0=$(date +%s)
bridge/voltpay-loadgen -b "$VK_BROKERS" -n "$N" --accounts 5000 --seed 12 \
	-X linger.ms=50 -X batch.size=1000000 >"$work/loadgen.log" 2>&1 ||
	{ tail -3 "$work/loadgen.log" >&2; exit 1; }
echo "memory: $N messages produced in $(( $(date +%s) - t0 )) s" >&2

results=$work/results.txt
: > "$results"
IFS=';' read -ra configs <<< "$CONFIGS"
for c in "${configs[@]}"; do
	name=${c%%=*}
	read -ra args <<< "${c#*=}"
	psql -c 'TRUNCATE voltpay.payment, voltpay.payment_party, voltpay.payment_remittance,
		voltpay.payment_notification, voltpay.outbox, voltpay.rejected_message,
		voltpay.partition_position, voltpay.idempotency'
	port=$(vp_free_port)
	t0=$(date +%s%N)
	bridge/voltpay-bridge -b "$VK_BROKERS" --group "memory-$name" \
		--db "host=$PGHOST port=$PGPORT user=$PGUSER dbname=$PGDATABASE" \
		--http-port "$port" "${args[@]}" >"$work/bridge-$name.log" 2>&1 &
	pid=$!
	peak=0; done_at=""
	while kill -0 "$pid" 2>/dev/null; do
		rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
		[ "${rss:-0}" -gt "$peak" ] && peak=$rss
		if [ "$(psql -c "SELECT (SELECT count(*) FROM voltpay.payment) >= $N
				AND NOT EXISTS (SELECT FROM voltpay.outbox)")" = t ]; then
			done_at=$(date +%s%N); break
		fi
		sleep 0.25
	done
	hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status")
	kill -TERM "$pid"; wait "$pid" || true
	[ -n "$done_at" ] || { echo "memory: the bridge ($name) stopped before the end" >&2; tail -3 "$work/bridge-$name.log" >&2; exit 1; }
	rate=$(( N * 1000000000 / (done_at - t0) ))
	echo "$name $hwm $peak $rate ${c#*=}" >> "$results"
	echo "memory: $name: VmHWM $((hwm / 1024)) MiB, $rate payments/s" >&2
done

python3 - "$out" "$N" "$results" <<'PY'
import json, sys, datetime, os
out, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
res = {"when": datetime.datetime.utcnow().isoformat() + "Z", "machine": {"cpus": os.cpu_count()},
       "backlog_messages": n, "broker": "Apache Kafka, 1 KRaft node, 100 partitions", "runs": []}
print("%-22s %10s %12s %12s  %s" % ("bridge", "VmHWM MiB", "VmRSS MiB", "payments/s", "arguments"))
for line in open(path):
    f = line.rstrip("\n").split(" ", 4)
    name, hwm, peak, rate = f[0], int(f[1]), int(f[2]), int(f[3])
    args = f[4] if len(f) > 4 else ""
    res["runs"].append({"name": name, "vmhwm_kib": hwm, "peak_vmrss_kib": peak,
                        "payments_per_s": rate, "arguments": args})
    print("%-22s %10.1f %12.1f %12d  %s" % (name, hwm / 1024, peak / 1024, rate, args))
json.dump(res, open(out, "w"), indent=2)
print("written to", out)
PY
