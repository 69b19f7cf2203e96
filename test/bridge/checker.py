#!/usr/bin/env python3
"""Checks what the bridge did against what the load generator sent.

Inputs (all files; see test/bridge/lib.sh, which produces them):
  --manifest FILE      voltpay-loadgen manifest(s): one JSON line per
                       message Kafka acknowledged (repeatable)
  --payments CSV       voltpay.payments joined with the idempotency payload
                       hash (vb_dump_db in test/bridge/lib.sh)
  --rejected CSV       voltpay.rejected_messages with the payload's sha256
  --outbox-pending N   rows left in voltpay.outbox
  --read/--email/--dlq FILE
                       voltpay-topic-dump output of the downstream topics
  --input-topic NAME   the topic the manifests describe (payment_writer_topic)

Expectations.  Messages sharing a message_id (valid, duplicate, conflict)
are ordered by offset: the first is expected applied with its payload hash,
later copies with the same hash are duplicates (no row, no event), with
another hash idempotency_conflict rejections.  Invalid messages are
expected rejected at their (partition, offset) with the reason the manifest
names.  Every copy of a --poison-account message is expected quarantined
with reason apply_error.  Downstream delivery is at-least-once: copies of an expected event
are counted but allowed; an event nobody expects is not.

Failure counts (any non-zero makes the exit status 1):
  lost writes                 expected-applied message with no payment row
  duplicate applications      message_id with more than one payment row
  wrong payload applied       payment whose idempotency hash or fields differ
                              from the expected version
  unexpected applications     payment row no acknowledged message explains
  invalid not quarantined     invalid message without its rejected row
  conflicts not quarantined   conflict without its rejected row
  poison not quarantined      message of a --poison-account (whose apply the
                              test makes raise) without an apply_error row
  wrong rejection reason      rejected row whose reason differs
  unexpected rejections       rejected row no message explains
  missing read/email/dlq events
  extra read/email/dlq events event for no applied payment (read, email)
                              or no rejected row (dlq)
  malformed events            key, headers or body not as the contract says
  order violations            per account, the first read event of each
                              message must come in increasing "seq N" order
                              (manifests in production order: run 2's
                              messages after run 1's)
  accounts split              an account's read events on several partitions
  unpublished outbox events   outbox not empty
"""

import argparse
import base64
import csv
import hashlib
import json
import re
import sys
from collections import Counter, defaultdict

SEQ_RE = re.compile(r"\bseq (\d+)\b")


def load_jsonl(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if line:
                try:
                    out.append(json.loads(line))
                except ValueError as e:
                    sys.exit(f"checker: {path}:{n}: bad JSON: {e}")
    return out


def load_csv(path):
    csv.field_size_limit(1 << 30)
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def raw_value(rec):
    """Bytes of a topic-dump record value, or None for a null value."""
    if "value_b64" in rec:
        return base64.b64decode(rec["value_b64"])
    v = rec.get("value")
    return None if v is None else v.encode("utf-8")


class Report:
    def __init__(self, examples):
        self.failures = Counter()
        self.info = Counter()
        self.samples = defaultdict(list)
        self.examples = examples
        self.order = []

    def fail(self, what, example=None, n=1):
        if what not in self.failures:
            self.order.append(what)
        self.failures[what] += n
        if example is not None and len(self.samples[what]) < self.examples:
            self.samples[what].append(example)

    def note(self, what, n=1):
        self.info[what] += n


FAILURES = [
    "lost writes", "duplicate applications", "wrong payload applied",
    "unexpected applications", "invalid not quarantined",
    "conflicts not quarantined", "poison not quarantined", "duplicates rejected", "valid messages rejected",
    "wrong rejection reason",
    "unexpected rejections", "missing read events", "missing email events",
    "missing dlq events", "extra read events", "extra email events",
    "extra dlq events", "malformed events", "order violations",
    "accounts split", "unpublished outbox events",
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--manifest", action="append", default=[], required=True)
    ap.add_argument("--payments", required=True)
    ap.add_argument("--rejected", required=True)
    ap.add_argument("--read", required=True)
    ap.add_argument("--email", required=True)
    ap.add_argument("--dlq", required=True)
    ap.add_argument("--outbox-pending", type=int, default=0)
    ap.add_argument("--input-topic", default="payment_writer_topic")
    ap.add_argument("--poison-account", action="append", default=[],
                    help="an account whose payments the test made fail to apply "
                         "(expected quarantined with reason apply_error)")
    ap.add_argument("--lenient-reasons", action="store_true",
                    help="report a wrong rejection reason without failing")
    ap.add_argument("--examples", type=int, default=3,
                    help="examples printed per failure (3)")
    ap.add_argument("--quiet", action="store_true", help="only the verdict and failures")
    args = ap.parse_args()
    rep = Report(args.examples)
    topic = args.input_topic

    # ---- what was sent --------------------------------------------------
    entries = []
    for run, path in enumerate(args.manifest):
        for e in load_jsonl(path):
            e["_run"] = run
            entries.append(e)
    for e in entries:
        e.setdefault("topic", topic)
    kinds = Counter(e["kind"] for e in entries)

    by_coord = {}
    for e in entries:
        by_coord[(e["topic"], e["partition"], e["offset"])] = e
    by_id = defaultdict(list)
    poison = set(args.poison_account)
    for e in entries:
        if e["kind"] in ("valid", "duplicate", "conflict") and e.get("message_id"):
            if e["account_id"] in poison:
                # Every apply of these raises: the bridge must quarantine
                # each copy with reason apply_error and carry on.
                e["_expect"] = "rejected"
                e["_reason"] = "apply_error"
                continue
            by_id[e["message_id"]].append(e)

    expected_applied = {}          # message_id -> manifest entry
    for mid, es in by_id.items():
        es.sort(key=lambda x: (x["partition"], x["offset"]))
        first = es[0]
        expected_applied[mid] = first
        if first["kind"] != "valid":
            rep.note("original not acknowledged, a later copy stands in")
        first["_expect"] = "applied"
        for later in es[1:]:
            if later["sha256"] == first["sha256"]:
                later["_expect"] = "duplicate"
            else:
                later["_expect"] = "rejected"
                later["_reason"] = "idempotency_conflict"
    for e in entries:
        if e["kind"] == "invalid":
            e["_expect"] = "rejected"
            e["_reason"] = e.get("reason")
    sent_shas_rejected = {e["sha256"] for e in entries if e.get("_expect") == "rejected"}
    all_shas = {e["sha256"] for e in entries}

    # ---- the database ---------------------------------------------------
    payments = load_csv(args.payments)
    rows_by_id = defaultdict(list)
    for r in payments:
        rows_by_id[r["message_id"]].append(r)
    for mid, rows in rows_by_id.items():
        if len(rows) > 1:
            rep.fail("duplicate applications", f"{mid}: {len(rows)} rows", 1)
    for mid, e in expected_applied.items():
        rows = rows_by_id.get(mid)
        if not rows:
            rep.fail("lost writes", f"{mid} ({e['account_id']} p{e['partition']} o{e['offset']})")
            continue
        r = rows[0]
        problems = []
        if r.get("payload_hash") and r["payload_hash"] != e["sha256"]:
            problems.append("payload hash")
        if r["account_id"] != e["account_id"]:
            problems.append(f"account {r['account_id']}")
        if e.get("amount") and r["amount"] != e["amount"]:
            problems.append(f"amount {r['amount']}!={e['amount']}")
        if e.get("currency") and r["currency"] != e["currency"]:
            problems.append(f"currency {r['currency']}")
        if bool(r.get("customer_email")) != bool(e.get("email")):
            problems.append("customer_email")
        if e.get("seq") is not None:
            m = SEQ_RE.search(r.get("remittance_info") or "")
            if not m or int(m.group(1)) != e["seq"]:
                problems.append("remittance seq")
        if problems:
            rep.fail("wrong payload applied", f"{mid}: {', '.join(problems)}")
    for mid in rows_by_id:
        if mid not in expected_applied:
            rep.fail("unexpected applications", f"{mid}")

    rejected = load_csv(args.rejected)
    rej_by_coord = {}
    for r in rejected:
        if r.get("partition") not in (None, "") and r.get("offset") not in (None, ""):
            rej_by_coord[(r["topic"], int(r["partition"]), int(r["offset"]))] = r
    for e in entries:
        key = (e["topic"], e["partition"], e["offset"])
        r = rej_by_coord.get(key)
        exp = e.get("_expect")
        if exp == "rejected":
            if r is None:
                if e["kind"] == "invalid":
                    what = "invalid not quarantined"
                elif e.get("_reason") == "apply_error":
                    what = "poison not quarantined"
                else:
                    what = "conflicts not quarantined"
                rep.fail(what, f"{e.get('variant') or e['kind']} p{e['partition']} o{e['offset']} {e.get('message_id')}")
            elif e.get("_reason") and r["reason"] != e["_reason"]:
                what = "wrong rejection reason"
                ex = f"p{e['partition']} o{e['offset']} {e.get('variant') or e['kind']}: expected {e['_reason']}, got {r['reason']} ({r.get('detail', '')[:120]})"
                if args.lenient_reasons:
                    rep.note(what)
                    if len(rep.samples[what]) < rep.examples:
                        rep.samples[what].append(ex)
                else:
                    rep.fail(what, ex)
        elif r is not None:
            what = "duplicates rejected" if exp == "duplicate" else "valid messages rejected"
            rep.fail(what, f"{e['kind']} p{e['partition']} o{e['offset']} {e.get('message_id')} rejected: {r['reason']} {r.get('detail', '')[:120]}")
    for key, r in rej_by_coord.items():
        if key in by_coord:
            continue
        # A record the manifest does not list: the mock cluster may store a
        # retried produce request twice; a copy of a rejected message is
        # rejected again at its own offset.  Anything else is unexpected.
        if r.get("payload_sha256") in sent_shas_rejected:
            rep.note("rejected copies of re-sent records (Kafka-level duplicates)")
        elif r.get("payload_sha256") in all_shas:
            rep.fail("unexpected rejections", f"{key}: copy of a message expected to apply, reason {r['reason']}")
        else:
            rep.fail("unexpected rejections", f"{key}: reason {r['reason']} {r.get('detail', '')[:100]}")
    rep.note("rejected rows without coordinates",
             sum(1 for r in rejected if r.get("offset") in (None, "")))

    # ---- downstream -----------------------------------------------------
    applied = {mid: rows[0] for mid, rows in rows_by_id.items()}

    def check_event(kind, rec, body_checks=True):
        """Common checks; returns (message_id, body) or (None, None)."""
        hdrs = rec.get("headers") or {}
        raw = raw_value(rec)
        try:
            body = json.loads(raw) if raw is not None else None
        except ValueError:
            body = None
        if not isinstance(body, dict):
            rep.fail("malformed events", f"{kind} p{rec['partition']} o{rec['offset']}: value is not a JSON object")
            return None, None
        mid = body.get("message_id")
        if hdrs.get("message_id") != mid:
            rep.fail("malformed events", f"{kind} p{rec['partition']} o{rec['offset']}: message_id header {hdrs.get('message_id')!r} != body {mid!r}")
        if rec.get("key") != body.get("account_id"):
            rep.fail("malformed events", f"{kind} p{rec['partition']} o{rec['offset']}: key {rec.get('key')!r} != account_id {body.get('account_id')!r}")
        row = applied.get(mid)
        if row is not None and body_checks:
            for f in ("amount", "currency", "account_id", "payment_id"):
                if f in body and str(body[f]) != row[f]:
                    rep.fail("malformed events", f"{kind} {mid}: {f} {body[f]!r} != database {row[f]!r}")
        return mid, body

    read = load_jsonl(args.read)
    read_seen = Counter()
    per_account = defaultdict(list)
    account_parts = defaultdict(set)
    for rec in sorted(read, key=lambda x: (x["partition"], x["offset"])):
        mid, body = check_event("read", rec)
        if mid is None:
            continue
        if mid not in applied:
            rep.fail("extra read events", f"{mid} p{rec['partition']} o{rec['offset']}")
            continue
        read_seen[mid] += 1
        acct = body.get("account_id")
        account_parts[acct].add(rec["partition"])
        if read_seen[mid] == 1:
            # Order key: (load generator run, seq); the manifests are given
            # in the order the runs produced, one after the other.
            e = expected_applied.get(mid)
            if e is not None and e.get("seq") is not None:
                per_account[acct].append(((e["_run"], e["seq"]), mid, rec["partition"], rec["offset"]))
    for mid in applied:
        if read_seen[mid] == 0:
            rep.fail("missing read events", mid)
    rep.note("read events delivered more than once", sum(1 for c in read_seen.values() if c > 1))
    for acct, parts in account_parts.items():
        if len(parts) > 1:
            rep.fail("accounts split", f"{acct}: partitions {sorted(parts)}")
    for acct, seqs in per_account.items():
        for prev, cur in zip(seqs, seqs[1:]):
            if cur[0] <= prev[0]:
                rep.fail("order violations",
                         f"{acct}: run {cur[0][0]} seq {cur[0][1]} (p{cur[2]} o{cur[3]}) "
                         f"after run {prev[0][0]} seq {prev[0][1]} (o{prev[3]})")

    email = load_jsonl(args.email)
    email_seen = Counter()
    for rec in email:
        mid, body = check_event("email", rec)
        if mid is None:
            continue
        row = applied.get(mid)
        if row is None or not row.get("customer_email"):
            rep.fail("extra email events", f"{mid} p{rec['partition']} o{rec['offset']}")
            continue
        if body.get("customer_email") != row["customer_email"]:
            rep.fail("malformed events", f"email {mid}: customer_email differs from the database")
        email_seen[mid] += 1
    for mid, row in applied.items():
        if row.get("customer_email") and email_seen[mid] == 0:
            rep.fail("missing email events", mid)
    rep.note("email events delivered more than once", sum(1 for c in email_seen.values() if c > 1))

    dlq = load_jsonl(args.dlq)
    dlq_seen = Counter()
    dlq_omitted = 0
    rej_by_source = {f"{t}:{p}:{o}": r for (t, p, o), r in rej_by_coord.items()}
    for rec in dlq:
        hdrs = rec.get("headers") or {}
        src = hdrs.get("voltpay-source")
        r = rej_by_source.get(src)
        if r is None:
            rep.fail("extra dlq events", f"source {src!r} p{rec['partition']} o{rec['offset']}")
            continue
        dlq_seen[src] += 1
        raw = raw_value(rec)
        if hdrs.get("voltpay-value-omitted") is not None:
            # Too large for the dead-letter topic: sent without the value,
            # whose size the headers give (the raw value stays in the
            # database).
            dlq_omitted += 1
            if hdrs.get("voltpay-value-omitted") != "too_large" or raw:
                rep.fail("malformed events", f"dlq {src}: value omitted but not empty, or not as too_large")
            if str(hdrs.get("voltpay-value-size")) != str(r.get("payload_len")):
                rep.fail("malformed events", f"dlq {src}: voltpay-value-size {hdrs.get('voltpay-value-size')!r} != {r.get('payload_len')!r}")
        else:
            sha = hashlib.sha256(raw or b"").hexdigest()
            want = r.get("payload_sha256") or hashlib.sha256(b"").hexdigest()
            if sha != want:
                rep.fail("malformed events", f"dlq {src}: value is not the original payload")
        if hdrs.get("voltpay-reason") != r["reason"]:
            rep.fail("malformed events", f"dlq {src}: voltpay-reason {hdrs.get('voltpay-reason')!r} != {r['reason']!r}")
        if r.get("message_id") and hdrs.get("message_id") != r["message_id"]:
            rep.fail("malformed events", f"dlq {src}: message_id header {hdrs.get('message_id')!r} != {r['message_id']!r}")
        if (rec.get("key") or "") != (r.get("record_key") or ""):
            rep.fail("malformed events", f"dlq {src}: key {rec.get('key')!r} != record key {r.get('record_key')!r}")
    for src in rej_by_source:
        if dlq_seen[src] == 0:
            rep.fail("missing dlq events", src)
    rep.note("dlq events delivered more than once", sum(1 for c in dlq_seen.values() if c > 1))
    rep.note("dlq events without their value (too large)", dlq_omitted)

    if args.outbox_pending:
        rep.fail("unpublished outbox events", None, args.outbox_pending)

    # ---- report ---------------------------------------------------------
    if not args.quiet:
        print("checker: sent %d acknowledged messages (%s)" % (
            len(entries), ", ".join(f"{k} {kinds[k]}" for k in ("valid", "duplicate", "conflict", "invalid"))))
        print("checker: expected %d applied, %d rejected; database has %d payments, %d rejected" % (
            len(expected_applied), sum(1 for e in entries if e.get("_expect") == "rejected"),
            len(payments), len(rejected)))
        print("checker: downstream read %d, email %d, dlq %d events" % (len(read), len(email), len(dlq)))
        for what in FAILURES:
            print(f"  {what:32s} {rep.failures[what]}")
        for what, n in sorted(rep.info.items()):
            if n:
                print(f"  (info) {what}: {n}")
    for what in rep.order + [w for w in rep.samples if w not in rep.order]:
        for ex in rep.samples[what]:
            print(f"  e.g. {what}: {ex}")
    total = sum(rep.failures.values())
    if total:
        print("checker: FAILED: " + ", ".join(f"{w} {rep.failures[w]}" for w in rep.order))
        return 1
    print("checker: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
