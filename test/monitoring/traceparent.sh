#!/usr/bin/env bash
# W3C trace context through the bridge, end to end (docs/monitoring.md,
# "Trace context"):
#
#   message A carries  traceparent: 00-<trace A>-<span>-01
#   message B carries  no traceparent
#   message C carries  traceparent: 00-<trace C>-<span>-01 and is invalid
#                      (bad IBAN): rejected, its dead letter continues trace C
#
# Expected, on the read and e-mail events of each (voltpay-topic-dump):
#   A's events: a traceparent of trace A with a new span id (not A's own,
#               not zero), flags kept;
#   B's events: a traceparent of a new, valid trace, the same for all of
#               B's events, not trace A;
# and in the bridge's JSON log, at debug level: every line naming a
# message_id also has a trace_id, and for A and B it is their trace id.
#
#   test/monitoring/traceparent.sh WORKDIR
#
# Needs a cluster from test/lib/pgcluster.sh (PG* exported) and
# `make bridge`.  Prints "traceparent: ok" or "traceparent: FAIL ..." lines.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/pgcluster.sh
VB_WORK=${1:?usage: traceparent.sh WORKDIR}/bridge
mkdir -p "$VB_WORK"
. test/bridge/lib.sh
trap vb_scenario_end EXIT

die() { echo "traceparent: FAIL $*"; exit 1; }

TRACE_A=4bf92f3577b34da6a3ce929d0e0e4736
SPAN_A=00f067aa0ba902b7
MSG_A=5d0c8a3e-1f2b-4c3d-8e4f-5a6b7c8d9e01
MSG_B=5d0c8a3e-1f2b-4c3d-8e4f-5a6b7c8d9e02
MSG_C=5d0c8a3e-1f2b-4c3d-8e4f-5a6b7c8d9e03
TRACE_C=0af7651916cd43dd8448eb211c80319c
SPAN_C=b7ad6b7169203331

payload() {	# payload MESSAGE_ID PAYMENT_ID ACCOUNT
	printf '{"message_id":"%s","payment_id":"%s","account_id":"%s","amount":"12.50","currency":"EUR","debtor":{"name":"Ann Smith","iban":"DE89370400440532013000"},"creditor":{"name":"Bob Jones","iban":"GB82WEST12345698765432"},"customer_email":"ann@example.com","created_at":"2026-11-24T10:00:00Z"}' "$@"
}

vb_scenario_begin trace >/dev/null || die "could not create the database"
vb_mock_start || die "mock Kafka did not start"
vb_bridge_start 1 --log-level debug
vb_bridge_wait_ready 1 30 || die "bridge did not become ready"

# kcat -P sends a file's whole contents as one record; it exits non-zero
# when the record is not acknowledged.
payload "$MSG_A" 6d0c8a3e-1f2b-4c3d-8e4f-5a6b7c8d9e01 ACC-T1 >"$VB_DIR/msg-a.json"
payload "$MSG_B" 6d0c8a3e-1f2b-4c3d-8e4f-5a6b7c8d9e02 ACC-T2 >"$VB_DIR/msg-b.json"
payload "$MSG_C" 6d0c8a3e-1f2b-4c3d-8e4f-5a6b7c8d9e03 ACC-T3 |
	sed 's/DE89370400440532013000/DE00370400440532013000/' | tr -d '\n' >"$VB_DIR/msg-c.json"
kcat -P -b "$VB_BROKERS" -t "$VB_IN_TOPIC" -X enable.idempotence=true -k ACC-T1 \
	-H "traceparent=00-$TRACE_A-$SPAN_A-01" "$VB_DIR/msg-a.json" >>"$VB_DIR/scenario.log" ||
	die "could not produce message A"
kcat -P -b "$VB_BROKERS" -t "$VB_IN_TOPIC" -X enable.idempotence=true -k ACC-T2 \
	"$VB_DIR/msg-b.json" >>"$VB_DIR/scenario.log" ||
	die "could not produce message B"
kcat -P -b "$VB_BROKERS" -t "$VB_IN_TOPIC" -X enable.idempotence=true -k ACC-T3 \
	-H "traceparent=00-$TRACE_C-$SPAN_C-01" "$VB_DIR/msg-c.json" >>"$VB_DIR/scenario.log" ||
	die "could not produce message C"

for _ in $(seq 60); do
	n=$(vb_psql -d "$VB_DBNAME" -c "SELECT (SELECT count(*) FROM voltpay.rejected_message WHERE message_id = '$MSG_C') * 100 + (SELECT count(*) FROM voltpay.payment WHERE message_id IN ('$MSG_A', '$MSG_B')) * 10 + (SELECT count(*) FROM voltpay.outbox)")
	[ "$n" = 120 ] && break
	sleep 0.5
done
[ "$n" = 120 ] || die "the payments were not applied, rejected and published within 30 s (state $n)"

"$VB_BIN/voltpay-topic-dump" -b "$VB_BROKERS" -t "$VB_READ_TOPIC,$VB_EMAIL_TOPIC,$VB_DLQ_TOPIC" \
	-o "$VB_DIR/events.jsonl" --timeout 30 2>>"$VB_DIR/scenario.log" || die "topic dump failed"

/usr/bin/python3 - "$VB_DIR/events.jsonl" "$VB_DIR/bridge-1.log" "$MSG_A" "$MSG_B" "$TRACE_A" "$SPAN_A" \
	"$MSG_C" "$TRACE_C" "$SPAN_C" <<-'EOF'
	import json, re, sys
	events_path, log_path, msg_a, msg_b, trace_a, span_a, msg_c, trace_c, span_c = sys.argv[1:]
	TP = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
	fails = []
	events = {msg_a: [], msg_b: [], msg_c: []}
	for line in open(events_path):
	    e = json.loads(line)
	    mid = e.get("headers", {}).get("message_id")
	    if mid in events:
	        events[mid].append(e)
	traces = {}
	for mid, name in ((msg_a, "A"), (msg_b, "B"), (msg_c, "C")):
	    evs = events[mid]
	    want = 1 if name == "C" else 2
	    if len(evs) != want:
	        fails.append("message %s: %d events on the read, e-mail and dead-letter topics, expected %d" % (name, len(evs), want))
	    seen = set()
	    for e in evs:
	        tp = e.get("headers", {}).get("traceparent")
	        m = TP.match(tp or "")
	        if not m:
	            fails.append("message %s: %s event has no valid traceparent header (%r)" % (name, e["topic"], tp))
	            continue
	        trace, span, flags = m.groups()
	        seen.add(trace)
	        if trace == "0" * 32 or span == "0" * 16:
	            fails.append("message %s: all-zero trace or span id in %s" % (name, tp))
	        if name in ("A", "C"):
	            t_in, s_in = (trace_a, span_a) if name == "A" else (trace_c, span_c)
	            if trace != t_in:
	                fails.append("message %s: %s event has trace %s, expected the input's %s" % (name, e["topic"], trace, t_in))
	            if span == s_in:
	                fails.append("message %s: %s event reuses the input's span id %s (expected a new span)" % (name, e["topic"], span))
	            if flags != "01":
	                fails.append("message %s: %s event has flags %s, the input's were 01" % (name, e["topic"], flags))
	        elif trace == trace_a:
	            fails.append("message B: its event continues message A's trace")
	    if len(seen) > 1:
	        fails.append("message %s: its events are in different traces %s" % (name, sorted(seen)))
	    if seen:
	        traces[mid] = seen.pop()
	# Logs: every line about a message carries its trace id.
	about = {msg_a: 0, msg_b: 0, msg_c: 0}
	without = 0
	for line in open(log_path):
	    if not line.startswith("{"):
	        continue
	    l = json.loads(line)
	    mid = l.get("message_id")
	    if not mid:
	        continue
	    if "trace_id" not in l:
	        without += 1
	        if without <= 3:
	            fails.append("log line about message %s has no trace_id: %s" % (mid, line.strip()[:200]))
	    if mid in about:
	        about[mid] += 1
	        if mid in traces and l.get("trace_id") != traces[mid]:
	            fails.append("log line about %s has trace_id %r, its events' trace is %s" % (mid, l.get("trace_id"), traces[mid]))
	for mid, n in about.items():
	    if n == 0:
	        fails.append("no log line names message_id %s (bridge at --log-level debug)" % mid)
	for f in fails:
	    print("traceparent: FAIL " + f)
	if not fails:
	    print("traceparent: ok (trace A %s continued with new spans; B got trace %s; C's dead letter in trace %s; %d+%d+%d log lines with trace_id)"
	          % (trace_a, traces.get(msg_b), traces.get(msg_c), about[msg_a], about[msg_b], about[msg_c]))
	sys.exit(1 if fails else 0)
EOF
