#!/usr/bin/env bash
# The whole pipeline, end to end, on this machine (`make demo` builds, then
# runs this):
#
#   1. a private PostgreSQL cluster (test/lib/pgcluster.sh), database
#      "voltpay" set up through Liquibase (liquibase/lb.sh update
#      --contexts=demo) when it is there, else CREATE EXTENSION voltpay;
#   2. voltpay-bridge with --embedded-kafka (a librdkafka mock cluster in
#      the bridge process);
#   3. DEMO_COUNT (100,000) payments from voltpay-loadgen, with some
#      upstream duplicates, conflicts and invalid messages;
#   4. wait until every acknowledged message is applied or quarantined and
#      every event published (outbox empty);
#   5. a summary: outcomes, rows, downstream events read back with
#      voltpay-topic-dump, throughput and latency, the checker's verdict;
#   6. SIGTERM to the bridge, which must exit 0.
#
# Environment: DEMO_COUNT (100000), DEMO_RATE (0 = as fast as possible),
# DEMO_KEEP=1 keeps the work directory and the database cluster's files,
# VB_BIN (bridge) where the binaries are.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

DEMO_COUNT=${DEMO_COUNT:-100000}
DEMO_RATE=${DEMO_RATE:-0}

bin=${VB_BIN:-bridge}
for b in voltpay-bridge voltpay-loadgen voltpay-topic-dump; do
	if [ ! -x "$bin/$b" ]; then
		echo "demo: $bin/$b is missing: run 'make demo' (or 'make bridge') first" >&2
		exit 1
	fi
done

work=$(mktemp -d /tmp/voltpay-demo.XXXXXX)
bridge_pid=

. test/lib/pgcluster.sh
. test/bridge/lib.sh

# On any exit: stop the bridge if it still runs, then the cluster.
demo_cleanup() {
	if [ -n "$bridge_pid" ] && kill -0 "$bridge_pid" 2>/dev/null; then
		kill -TERM "$bridge_pid" 2>/dev/null || true
		sleep 2
		kill -KILL "$bridge_pid" 2>/dev/null || true
	fi
	if [ -n "${DEMO_KEEP:-}" ]; then
		export VP_KEEP_PG=1
		echo "demo: kept $work and $VP_PGDIR"
	else
		rm -rf "$work"
	fi
	vp_pg_stop
}

step() { printf '\n== %s\n' "$*"; }

# ---------------------------------------------------------------------------
step "PostgreSQL"
vp_pg_start "max_connections = 100"
trap demo_cleanup EXIT
echo "private cluster on 127.0.0.1:$PGPORT (data in $VP_PGDATA)"
psql -X -q -c "CREATE DATABASE voltpay"
export PGDATABASE=voltpay

if [ -x liquibase/lb.sh ]; then
	echo "setting the database up with Liquibase (liquibase/lb.sh update --contexts=demo)"
	if ! DB="postgresql://postgres@127.0.0.1:$PGPORT/voltpay" liquibase/lb.sh update --contexts=demo \
		>"$work/liquibase.log" 2>&1; then
		echo "demo: liquibase/lb.sh update failed:" >&2
		tail -n 20 "$work/liquibase.log" >&2
		exit 1
	fi
	login=voltpay_bridge
else
	echo "setting the database up with CREATE EXTENSION voltpay (no liquibase/lb.sh)"
	psql -X -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION voltpay"
	login=bridge
fi
psql -X -q -v ON_ERROR_STOP=1 <<-EOF
	DO \$\$ BEGIN
		IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$login') THEN
			CREATE ROLE $login LOGIN IN ROLE voltpay_writer;
		END IF;
	END \$\$;
EOF
echo "extension voltpay $(psql -X -At -c "SELECT extversion FROM pg_extension WHERE extname = 'voltpay'"), bridge login $login"

# ---------------------------------------------------------------------------
step "voltpay-bridge --embedded-kafka"
http_port=$(vp_free_port)
mkfifo "$work/bridge.stdout"
"$bin/voltpay-bridge" --embedded-kafka \
	--db "host=127.0.0.1 port=$PGPORT user=$login dbname=voltpay" \
	--http-addr 127.0.0.1 --http-port "$http_port" \
	-X consumer.session.timeout.ms=6000 \
	>"$work/bridge.stdout" 2>"$work/bridge.log" &
bridge_pid=$!
# The first stdout line names the embedded cluster's brokers.
exec 3<"$work/bridge.stdout"
brokers=
if read -r -t 60 line <&3 && [[ $line == bootstrap.servers=?* ]]; then
	brokers=${line#bootstrap.servers=}
else
	echo "demo: the bridge did not print bootstrap.servers=...; its log:" >&2
	tail -n 20 "$work/bridge.log" >&2
	exit 1
fi
# Keep draining the bridge's stdout so that it never blocks on it.
cat <&3 >"$work/bridge.stdout.rest" &
exec 3<&-
for i in $(seq 300); do
	curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$http_port/readyz" 2>/dev/null && break
	if ! kill -0 "$bridge_pid" 2>/dev/null; then
		echo "demo: the bridge exited; its log:" >&2
		tail -n 20 "$work/bridge.log" >&2
		exit 1
	fi
	sleep 0.2
done
echo "pid $bridge_pid, Kafka at $brokers, metrics at http://127.0.0.1:$http_port/metrics"

# ---------------------------------------------------------------------------
step "voltpay-loadgen: $DEMO_COUNT payments"
echo "(3% upstream duplicates, 1% conflicts, 2% invalid, 30% with an e-mail address)"
VB_DIR=$work
VB_DBNAME=voltpay
VB_BROKERS=$brokers
VB_MANIFESTS=("$work/manifest.jsonl")
t_start=$(date +%s.%N)
"$bin/voltpay-loadgen" -b "$brokers" --count "$DEMO_COUNT" --rate "$DEMO_RATE" \
	--accounts 5000 --duplicate-fraction 0.03 --conflict-fraction 0.01 --invalid-fraction 0.02 \
	--email-fraction 0.3 --manifest "$work/manifest.jsonl" 2>"$work/loadgen.log" || {
	cat "$work/loadgen.log" >&2
	exit 1
}
grep -v '^voltpay-loadgen: seed' "$work/loadgen.log" | sed 's/^voltpay-loadgen: //'

# ---------------------------------------------------------------------------
step "waiting until everything is applied and published"
deadline=$(($(date +%s) + 600))
while :; do
	backlog=$(vb_backlog || true)
	read -r applied rejected pending < <(psql -X -At -F ' ' -c "
		SELECT COALESCE(sum(applied), 0), COALESCE(sum(rejected), 0),
			   (SELECT count(*) FROM voltpay.outbox)
		  FROM voltpay.partition_status" 2>/dev/null || echo "? ? ?")
	if [ -t 1 ]; then
		printf '\r  applied %s, rejected %s, outbox pending %s    ' "$applied" "$rejected" "$pending"
	elif [ $((SECONDS % 5)) = 0 ] || [ "$backlog" = 0 ]; then
		printf '  applied %s, rejected %s, outbox pending %s\n' "$applied" "$rejected" "$pending"
	fi
	[ "$backlog" = 0 ] && break
	if [ "$(date +%s)" -ge $deadline ] || ! kill -0 "$bridge_pid" 2>/dev/null; then
		echo
		echo "demo: not caught up (is the bridge running?); last log lines:" >&2
		tail -n 20 "$work/bridge.log" >&2
		exit 1
	fi
	sleep 1
done
t_done=$(date +%s.%N)
if [ -t 1 ]; then echo; fi
curl -fsS --max-time 5 "http://127.0.0.1:$http_port/metrics" >"$work/metrics.txt" 2>/dev/null || : >"$work/metrics.txt"

# ---------------------------------------------------------------------------
step "summary"
echo "outcomes (voltpay.partition_status):"
psql -X -At -F ' ' -c "
	SELECT sum(applied), sum(duplicate), sum(rejected) FROM voltpay.partition_status" |
	while read -r a d r; do
		printf '  %-28s %8s\n' applied "$a" "duplicate (not applied again)" "$d" rejected "$r"
	done
echo "rejections by reason (voltpay.rejected_messages):"
psql -X -At -F ' ' -c "
	SELECT reason, count(*) FROM voltpay.rejected_messages GROUP BY reason ORDER BY 2 DESC, 1" |
	while read -r reason n; do printf '  %-28s %8s\n' "$reason" "$n"; done
echo "rows in the database:"
psql -X -At -F '|' -c "
	SELECT t, n FROM (
		SELECT 1, 'voltpay.payment', count(*) FROM voltpay.payment
		UNION ALL SELECT 2, 'voltpay.payment_party', count(*) FROM voltpay.payment_party
		UNION ALL SELECT 3, 'voltpay.payment_remittance', count(*) FROM voltpay.payment_remittance
		UNION ALL SELECT 4, 'voltpay.payment_notification', count(*) FROM voltpay.payment_notification
		UNION ALL SELECT 5, 'voltpay.idempotency', count(*) FROM voltpay.idempotency
		UNION ALL SELECT 6, 'voltpay.rejected_message', count(*) FROM voltpay.rejected_message
		UNION ALL SELECT 7, 'voltpay.outbox (pending)', count(*) FROM voltpay.outbox
	) AS r(o, t, n) ORDER BY o" |
	while IFS='|' read -r t n; do printf '  %-28s %8s\n' "$t" "$n"; done

echo "events read back from Kafka (voltpay-topic-dump):"
for t in read email dlq; do
	case $t in
		read) topic=$VB_READ_TOPIC ;; email) topic=$VB_EMAIL_TOPIC ;; dlq) topic=$VB_DLQ_TOPIC ;;
	esac
	"$bin/voltpay-topic-dump" -b "$brokers" -t "$topic" -o "$work/$t.jsonl" --timeout 120 \
		2>>"$work/topic-dump.log" || { echo "demo: could not read $topic" >&2; exit 1; }
	printf '  %-28s %8s\n' "$topic" "$(wc -l <"$work/$t.jsonl")"
done
echo "  one event of each kind:"
for t in read email dlq; do
	head -n 1 "$work/$t.jsonl" | python3 -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    v = r.get("value") or ""
    print("    %-6s key=%s headers=%s" % (sys.argv[1], r.get("key"), json.dumps(r.get("headers"))))
    print("           value=%s" % (v[:150] + ("..." if len(v) > 150 else "")))
' "$t"
done

python3 - "$work/read.jsonl" "$t_start" "$t_done" <<-'EOF'
	import json, sys
	from datetime import datetime
	def ts(s):
	    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
	seen = set()
	apply_lat, e2e_lat, applied_at = [], [], []
	for line in open(sys.argv[1]):
	    r = json.loads(line)
	    v = json.loads(r["value"])
	    if v["message_id"] in seen:
	        continue
	    seen.add(v["message_id"])
	    created, applied = ts(v["created_at"]), ts(v["applied_at"])
	    applied_at.append(applied)
	    apply_lat.append(applied - created)
	    e2e_lat.append(r["timestamp"] / 1000.0 - created)
	def pct(xs, p):
	    xs = sorted(xs)
	    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))] * 1000
	n = len(applied_at)
	if n:
	    span = max(applied_at) - min(applied_at)
	    wall = float(sys.argv[3]) - float(sys.argv[2])
	    print("throughput:")
	    print("  %d payments applied in %.1f s of applying: %.0f payments/s" % (n, span, n / span if span > 0 else n))
	    print("  producing to all applied and published: %.1f s wall clock" % wall)
	    print("latency, ms (p50 / p95 / p99 / max):")
	    print("  created -> applied in PostgreSQL     %7.1f / %7.1f / %7.1f / %7.1f" % tuple(pct(apply_lat, p) for p in (50, 95, 99, 100)))
	    print("  created -> read event in Kafka       %7.1f / %7.1f / %7.1f / %7.1f" % tuple(pct(e2e_lat, p) for p in (50, 95, 99, 100)))
	    print("  (created_at is stamped by the load generator; with the load sent as fast")
	    print("   as possible these include the time messages waited in Kafka)")
EOF

echo "from the bridge's /metrics:"
python3 - "$work/metrics.txt" <<-'EOF'
	import re, sys
	hist, vals = {}, {}
	for line in open(sys.argv[1]):
	    if line.startswith("#") or not line.strip():
	        continue
	    name_labels, value = line.rsplit(" ", 1)
	    m = re.match(r'([a-z_]+)_bucket\{le="([^"]+)"\}$', name_labels)
	    if m:
	        le = float("inf") if m.group(2) == "+Inf" else float(m.group(2))
	        hist.setdefault(m.group(1), []).append((le, float(value)))
	    else:
	        vals[name_labels] = float(value)
	def quantile(name, q):
	    b = sorted(hist.get(name, []))
	    if not b or b[-1][1] == 0:
	        return "-"
	    want = q * b[-1][1]
	    for le, n in b:
	        if n >= want:
	            return "<= %g" % le if le != float("inf") else "> %g" % b[-2][0]
	    return "-"
	p = "voltpay_bridge_"
	def v(n):
	    return int(vals.get(p + n, 0))
	if not vals:
	    print("  (not available)")
	    sys.exit(0)
	print("  consumed %d, applied %d, duplicate %d, rejected %d, quarantined after an apply error %d" % (
	    v("messages_consumed_total"), v("messages_applied_total"), v("messages_duplicate_total"),
	    v("messages_rejected_total"), v("messages_quarantined_total")))
	nb = vals.get(p + "batch_size_count", 0)
	if nb:
	    print("  %d batches, %.0f messages each on average" % (nb, vals[p + "batch_size_sum"] / nb))
	    print("  apply and commit per batch (apply_record_batch()): mean %.1f ms; p50 %s s, p95 %s s, p99 %s s" % (
	        1000 * vals.get(p + "apply_duration_seconds_sum", 0) / nb,
	        quantile(p + "apply_duration_seconds", .5), quantile(p + "apply_duration_seconds", .95),
	        quantile(p + "apply_duration_seconds", .99)))
	    print("  end to end (Kafka timestamp to event delivered): p50 %s s, p95 %s s, p99 %s s" % (
	        quantile(p + "end_to_end_latency_seconds", .5), quantile(p + "end_to_end_latency_seconds", .95),
	        quantile(p + "end_to_end_latency_seconds", .99)))
	print("  retries: database %d, publishing %d" % (
	    vals.get(p + 'retries_total{kind="db"}', 0), vals.get(p + 'retries_total{kind="publish"}', 0)))
	EOF

echo "verification (test/bridge/checker.py):"
vb_dump_db "$work" voltpay
verdict=0
python3 test/bridge/checker.py --manifest "$work/manifest.jsonl" \
	--payments "$work/payments.csv" --rejected "$work/rejected.csv" \
	--outbox-pending "$(cat "$work/outbox_pending.txt")" \
	--read "$work/read.jsonl" --email "$work/email.jsonl" --dlq "$work/dlq.jsonl" \
	--quiet >"$work/checker.out" 2>&1 || verdict=$?
sed 's/^/  /' "$work/checker.out"

# ---------------------------------------------------------------------------
step "stopping"
kill -TERM "$bridge_pid"
set +e
wait "$bridge_pid"
rc=$?
set -e
bridge_pid=
if [ $rc = 0 ]; then
	echo "bridge stopped cleanly (SIGTERM, exit status 0)"
else
	echo "demo: the bridge exited with status $rc after SIGTERM; last log lines:" >&2
	tail -n 10 "$work/bridge.log" >&2
	exit 1
fi
[ "$verdict" = 0 ] || { echo "demo: the checker found problems (above)" >&2; exit 1; }
echo "demo: done"
