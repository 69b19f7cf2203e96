#!/usr/bin/env bash
# The bridge's spans in a real Zipkin (docs/monitoring.md, "Tracing"):
# zipkin-server (the exec jar, in-memory storage) started once, a bridge
# exporting to it (--zipkin-url, --trace-sample-ratio 1), then:
#
#   message A  traceparent 00-<trace A>-<span A>-01 and a tracestate
#   message B  no traceparent (the bridge starts its trace: sampled at ratio 1)
#   message C  traceparent 00-<trace C>-<span C>-01, invalid (bad IBAN)
#   message D  traceparent 00-<trace D>-<span D>-00 (not sampled upstream)
#
# read back through Zipkin's API (/api/v2/trace/{traceId}): A's payment
# span is the writer span its events name, child of span A; B's is the
# child of the bridge's root span "payment" (its events' flags say sampled);
# each has queued in Kafka, batch wait, apply_record_batch and one publish
# span per event, children of the payment span, non-negative, adding up
# within its duration; the apply span names a batch span that exists and
# carries the batch size; C's span has reason invalid_iban and its dead
# letter's publish span; D has no trace at all.  A's events carry its
# tracestate; the log lines about C name its writer span (span_id).
#
# Then 3,000 messages with Zipkin up, 3,000 with it hanging (SIGSTOP) and
# 3,000 with it killed: every one is applied, as fast as with it up (within
# 3 x + 5 s), the bridge stays ready, and spans_dropped_total counts the
# spans lost.
#
#   test/monitoring/zipkin.sh WORKDIR
#
# Needs a cluster from test/lib/pgcluster.sh (PG* exported), `make bridge`,
# Java 17 and the Zipkin jar (test/monitoring/zipkin-fetch.sh, from make
# deps).  Prints "zipkin: ok ..." or "zipkin: FAIL ..." lines.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/pgcluster.sh
VB_WORK=${1:?usage: zipkin.sh WORKDIR}/bridge
mkdir -p "$VB_WORK"
. test/bridge/lib.sh

ZK_PID=
zk_end() {
	[ -n "$ZK_PID" ] && kill "$ZK_PID" 2>/dev/null && wait "$ZK_PID" 2>/dev/null
	vb_scenario_end
}
trap zk_end EXIT

die() { echo "zipkin: FAIL $*"; exit 1; }

jar=$(test/monitoring/zipkin-fetch.sh --check) || die "the Zipkin jar is not fetched (make deps)"

TRACE_A=4bf92f3577b34da6a3ce929d0e0e4736
SPAN_A=00f067aa0ba902b7
TRACE_C=0af7651916cd43dd8448eb211c80319c
SPAN_C=b7ad6b7169203331
TRACE_D=1e2d3c4b5a69788796a5b4c3d2e1f001
SPAN_D=a1b2c3d4e5f60718
STATE_A="congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
MSG_A=7d0c8a3e-1f2b-4c3d-8e4f-5a6b7c8d9e01
MSG_B=7d0c8a3e-1f2b-4c3d-8e4f-5a6b7c8d9e02
MSG_C=7d0c8a3e-1f2b-4c3d-8e4f-5a6b7c8d9e03
MSG_D=7d0c8a3e-1f2b-4c3d-8e4f-5a6b7c8d9e04

payload() {	# payload MESSAGE_ID PAYMENT_ID ACCOUNT
	printf '{"message_id":"%s","payment_id":"%s","account_id":"%s","amount":"12.50","currency":"EUR","debtor":{"name":"Ann Smith","iban":"DE89370400440532013000"},"creditor":{"name":"Bob Jones","iban":"GB82WEST12345698765432"},"customer_email":"ann@example.com","created_at":"2026-11-24T10:00:00Z"}' "$@"
}

vb_scenario_begin zipkin >/dev/null || die "could not create the database"
ZK_PORT=$(vp_free_port)
start=$(date +%s.%N)
QUERY_PORT=$ZK_PORT STORAGE_TYPE=mem java -Xms64m -Xmx256m -XX:TieredStopAtLevel=1 \
	-XX:+UseSerialGC -jar "$jar" >"$VB_DIR/zipkin.log" 2>&1 &
ZK_PID=$!
vb_mock_start || die "mock Kafka did not start"
for _ in $(seq 300); do
	curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$ZK_PORT/health" 2>/dev/null && break
	kill -0 "$ZK_PID" 2>/dev/null || die "Zipkin exited: $(tail -n 3 "$VB_DIR/zipkin.log")"
	sleep 0.1
done
curl -fsS -o /dev/null "http://127.0.0.1:$ZK_PORT/health" || die "Zipkin not up after 30 s"
vb_log "zipkin up on $ZK_PORT in $(echo "$(date +%s.%N) - $start" | bc) s"

vb_bridge_start 1 --log-level debug --zipkin-url "http://127.0.0.1:$ZK_PORT/api/v2/spans" \
	--trace-sample-ratio 1
vb_bridge_wait_ready 1 30 || die "bridge did not become ready"

payload "$MSG_A" 8d0c8a3e-1f2b-4c3d-8e4f-5a6b7c8d9e01 ACC-Z1 >"$VB_DIR/msg-a.json"
payload "$MSG_B" 8d0c8a3e-1f2b-4c3d-8e4f-5a6b7c8d9e02 ACC-Z2 >"$VB_DIR/msg-b.json"
payload "$MSG_C" 8d0c8a3e-1f2b-4c3d-8e4f-5a6b7c8d9e03 ACC-Z3 |
	sed 's/DE89370400440532013000/DE00370400440532013000/' | tr -d '\n' >"$VB_DIR/msg-c.json"
payload "$MSG_D" 8d0c8a3e-1f2b-4c3d-8e4f-5a6b7c8d9e04 ACC-Z4 >"$VB_DIR/msg-d.json"
produce() {	# produce FILE KEY [kcat -H args...]
	local f=$1 k=$2
	shift 2
	kcat -P -b "$VB_BROKERS" -t "$VB_IN_TOPIC" -X enable.idempotence=true -k "$k" "$@" "$f" \
		>>"$VB_DIR/scenario.log" 2>&1
}
produce "$VB_DIR/msg-a.json" ACC-Z1 -H "traceparent=00-$TRACE_A-$SPAN_A-01" \
	-H "tracestate=$STATE_A" || die "could not produce message A"
produce "$VB_DIR/msg-b.json" ACC-Z2 || die "could not produce message B"
produce "$VB_DIR/msg-c.json" ACC-Z3 -H "traceparent=00-$TRACE_C-$SPAN_C-01" ||
	die "could not produce message C"
produce "$VB_DIR/msg-d.json" ACC-Z4 -H "traceparent=00-$TRACE_D-$SPAN_D-00" ||
	die "could not produce message D"

for _ in $(seq 60); do
	n=$(vb_psql -d "$VB_DBNAME" -c "SELECT (SELECT count(*) FROM voltpay.rejected_message WHERE message_id = '$MSG_C') * 100 + (SELECT count(*) FROM voltpay.payment WHERE message_id IN ('$MSG_A', '$MSG_B', '$MSG_D')) * 10 + (SELECT count(*) FROM voltpay.outbox)")
	[ "$n" = 130 ] && break
	sleep 0.5
done
[ "$n" = 130 ] || die "the payments were not applied, rejected and published within 30 s (state $n)"
"$VB_BIN/voltpay-topic-dump" -b "$VB_BROKERS" -t "$VB_READ_TOPIC,$VB_EMAIL_TOPIC,$VB_DLQ_TOPIC" \
	-o "$VB_DIR/events.jsonl" --timeout 30 2>>"$VB_DIR/scenario.log" || die "topic dump failed"

/usr/bin/python3 - "$VB_DIR/events.jsonl" "$VB_DIR/bridge-1.log" "http://127.0.0.1:$ZK_PORT" \
	"$MSG_A" "$MSG_B" "$MSG_C" "$MSG_D" "$TRACE_A" "$SPAN_A" "$TRACE_C" "$SPAN_C" "$TRACE_D" "$STATE_A" <<-'EOF' || exit 1
	import json, re, sys, time, urllib.request, urllib.error
	events_path, log_path, zk, msg_a, msg_b, msg_c, msg_d, trace_a, span_a, trace_c, span_c, trace_d, state_a = sys.argv[1:]
	TP = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
	fails = []
	events = {}
	for line in open(events_path):
	    e = json.loads(line)
	    events.setdefault(e.get("headers", {}).get("message_id"), []).append(e)

	def get_trace(tid, want, wait=20):
	    """The trace's spans once it has at least `want` (None: 404 throughout)."""
	    until, spans = time.time() + wait, None
	    while time.time() < until:
	        try:
	            spans = json.load(urllib.request.urlopen("%s/api/v2/trace/%s" % (zk, tid), timeout=5))
	            if len(spans) >= want:
	                return spans
	        except urllib.error.HTTPError as e:
	            if e.code != 404:
	                raise
	        time.sleep(0.25)
	    return spans

	def writer(mid):
	    tps = {TP.match(e["headers"].get("traceparent", "")).groups()[:2] for e in events.get(mid, [])
	           if TP.match(e["headers"].get("traceparent", ""))}
	    if len(tps) != 1:
	        fails.append("message %s: its events name %d writer spans, expected 1" % (mid, len(tps)))
	        return None, None
	    return tps.pop()

	def check_payment(name, mid, parent, nevents, reason=None):
	    trace, wspan = writer(mid)
	    if not trace:
	        return None
	    spans = get_trace(trace, 4 + nevents + (1 if parent else 0) * 0)
	    if not spans:
	        fails.append("message %s: Zipkin has no trace %s" % (name, trace))
	        return None
	    by_id = {s["id"]: s for s in spans}
	    pay = by_id.get(wspan)
	    if not pay:
	        fails.append("message %s: the writer span %s its events name is not in Zipkin (%d spans)" % (name, wspan, len(spans)))
	        return None
	    if pay.get("parentId") != parent:
	        fails.append("message %s: payment span's parent is %r, expected %r" % (name, pay.get("parentId"), parent))
	    kids = {s["name"]: s for s in spans if s.get("parentId") == wspan}
	    steps = ["queued in kafka", "batch wait", "apply_record_batch"]
	    for n in steps:
	        if n not in kids:
	            fails.append("message %s: no %r span under the payment span (have %s)" % (name, n, sorted(kids)))
	            return None
	    pubs = [s for s in spans if s.get("parentId") == wspan and s["name"].startswith("publish ")]
	    if len(pubs) != nevents:
	        fails.append("message %s: %d publish spans, expected %d" % (name, len(pubs), nevents))
	    start, end = pay["timestamp"], pay["timestamp"] + pay.get("duration", 0)
	    total = 0
	    for s in [kids[n] for n in steps] + pubs:
	        d = s.get("duration", 0)
	        if d < 0 or s["timestamp"] < start or s["timestamp"] + d > end + 1:
	            fails.append("message %s: span %r [%d, +%d] is outside the payment's [%d, %d]" % (name, s["name"], s["timestamp"], d, start, end))
	    total = sum(kids[n].get("duration", 0) for n in steps) + max([p.get("duration", 0) for p in pubs] or [0])
	    if total > pay.get("duration", 0) + 4:
	        fails.append("message %s: steps add up to %d us, more than the payment's %d" % (name, total, pay.get("duration", 0)))
	    if pay.get("duration", 0) > 60e6:
	        fails.append("message %s: implausible payment duration %d us" % (name, pay["duration"]))
	    tags = pay.get("tags", {})
	    for k, v in (("messaging.system", "kafka"), ("messaging.destination.name", "payment_writer_topic"), ("messaging.message.id", mid)):
	        if tags.get(k) != v:
	            fails.append("message %s: payment span tag %s=%r, expected %r" % (name, k, tags.get(k), v))
	    if reason and tags.get("voltpay.reason") != reason:
	        fails.append("message %s: payment span has reason %r, expected %r" % (name, tags.get("voltpay.reason"), reason))
	    at = kids["apply_record_batch"].get("tags", {})
	    if at.get("db.system") != "postgresql" or "apply_record_batch" not in at.get("db.query.text", ""):
	        fails.append("message %s: apply span lacks db.system/db.query.text: %s" % (name, at))
	    bt = get_trace(at.get("voltpay.batch.trace_id", "0"), 1, wait=5) or []
	    batch = [s for s in bt if s["id"] == at.get("voltpay.batch.span_id")]
	    if not batch or not batch[0].get("tags", {}).get("db.operation.batch.size"):
	        fails.append("message %s: the apply span's batch span %s/%s is not in Zipkin with its size" % (name, at.get("voltpay.batch.trace_id"), at.get("voltpay.batch.span_id")))
	    elif trace not in batch[0]["tags"].get("voltpay.payment.trace_ids", ""):
	        fails.append("message %s: the batch span does not list its trace" % name)
	    return pay, wspan, kids

	a = check_payment("A", msg_a, span_a, 2)
	tb, wb = writer(msg_b)
	bspans = get_trace(tb, 7) or [] if tb else []
	broot = [s for s in bspans if s["name"] == "payment" and "parentId" not in s]
	if len(broot) != 1:
	    fails.append("message B: no root span 'payment' of the bridge in its trace %s" % tb)
	b = check_payment("B", msg_b, broot[0]["id"] if broot else "?", 2)
	for e in events.get(msg_b, []):
	    if not e["headers"].get("traceparent", "").endswith("-01"):
	        fails.append("message B: %s event's traceparent %s is not sampled (ratio 1)" % (e["topic"], e["headers"].get("traceparent")))
	c = check_payment("C", msg_c, span_c, 1, "invalid_iban")
	if a and writer(msg_a)[0] != trace_a:
	    fails.append("message A: its events left trace A")
	for e in events.get(msg_a, []):
	    if e["headers"].get("tracestate") != state_a:
	        fails.append("message A: %s event has tracestate %r, expected the input's %r" % (e["topic"], e["headers"].get("tracestate"), state_a))
	for e in events.get(msg_b, []) + events.get(msg_c, []):
	    if "tracestate" in e["headers"]:
	        fails.append("an event of a message without tracestate has one")
	if get_trace(trace_d, 1, wait=3):
	    fails.append("message D (sampled flag 00) has spans in Zipkin")
	# Logs: the lines about C name its writer span.
	wc = writer(msg_c)[1]
	lines = [json.loads(l) for l in open(log_path) if l.startswith("{")]
	about_c = [l for l in lines if l.get("message_id") == msg_c and l.get("level") == "warn"]
	if not about_c or any(l.get("span_id") != wc or l.get("trace_id") != trace_c for l in about_c):
	    fails.append("the rejection line of C does not carry trace %s and span %s: %s" % (trace_c, wc, about_c[:1]))
	about_a = [l for l in lines if l.get("message_id") == msg_a]
	if not about_a or any(l.get("span_id") != writer(msg_a)[1] for l in about_a):
	    fails.append("the lines about A do not carry its writer span: %s" % about_a[:1])
	for f in fails:
	    print("zipkin: FAIL " + f)
	if not fails:
	    print("zipkin: ok (A: %d us end to end, span %s under %s; B under the bridge's root; C invalid_iban; D not sampled; tracestate kept; log lines with span_id)"
	          % (a[0]["duration"], a[1], span_a))
	sys.exit(1 if fails else 0)
EOF

# Zipkin up, then hanging (SIGSTOP: the kernel still accepts connections,
# nothing answers), then down (killed): 3,000 messages each.  Applies go on
# at the rate they had with Zipkin up (a loose bound: a bridge that waited
# for the backend would take 2 s per post of 500 spans, minutes here), the
# spans are dropped and counted, the bridge stays ready.
load() {	# load SEED: 3,000 messages, all applied; secs = how long
	local applied0 applied t0
	applied0=$(vb_bridge_metric 1 voltpay_bridge_messages_applied_total)
	t0=$(date +%s.%N)
	vb_loadgen -n 3000 --seed "$1" --accounts 500 >/dev/null || die "load generator failed"
	vb_wait_caught_up 60 || die "the bridge did not apply 3,000 messages within 60 s ($2)"
	secs=$(echo "$(date +%s.%N) - $t0" | bc)
	applied=$(($(vb_bridge_metric 1 voltpay_bridge_messages_applied_total) - applied0))
	[ "$applied" = 3000 ] || die "$applied of 3000 messages applied ($2)"
	curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:${VB_BRIDGE_PORT[1]}/readyz" ||
		die "the bridge is not ready ($2)"
}
slower() {	# slower SECS BASE: more than 3 x BASE + 5 s
	python3 -c "import sys; sys.exit(0 if $1 > 3 * $2 + 5 else 1)"
}
load 13 "Zipkin up"
up=$secs
dropped0=$(vb_bridge_metric 1 voltpay_bridge_spans_dropped_total)
kill -STOP "$ZK_PID"
load 14 "Zipkin hanging"
hung=$secs
sleep 2.5	# a post waits 2 s for an answer, then its spans count as dropped
dropped1=$(vb_bridge_metric 1 voltpay_bridge_spans_dropped_total)
kill -KILL "$ZK_PID"
wait "$ZK_PID" 2>/dev/null
ZK_PID=
load 15 "Zipkin down"
down=$secs
# The hanging backend's last posts time out (2 s) after the load: wait.
sleep 3
dropped=$(vb_bridge_metric 1 voltpay_bridge_spans_dropped_total)
slower "$hung" "$up" && die "with Zipkin hanging 3,000 messages took $hung s, $up s with it up"
slower "$down" "$up" && die "with Zipkin down 3,000 messages took $down s, $up s with it up"
[ "${dropped0:-0}" = 0 ] || die "$dropped0 spans dropped while Zipkin was up"
[ -n "$dropped1" ] && [ "$dropped1" -gt 0 ] || die "no span counted as dropped with Zipkin hanging"
[ -n "$dropped" ] && [ "$dropped" -gt $((dropped1 + 3000)) ] ||
	die "with Zipkin down spans_dropped_total went from $dropped1 to ${dropped:-missing}, expected 3000 more at least"
grep -q '"span export to .* failed' "$VB_DIR/bridge-1.log" || die "no warning about the failing export"
printf 'zipkin: ok (3000 messages each: %.1f s with Zipkin up, %.1f s hanging, %.1f s down; %s spans dropped and counted)\n' \
	"$up" "$hung" "$down" "$dropped"
