#!/usr/bin/env python3
"""History checker for the kafka suite: test/bridge/checker.py plus what a
real Kafka adds (transactions, a log that must keep what it acknowledged).

It runs test/bridge/checker.py (imported, with every option this script
does not know passed on unchanged: --manifest, --payments, --rejected,
--read, --email, --dlq, --outbox-pending, --input-topic, ...), then checks:

  --input-dump FILE    voltpay-topic-dump of the input topic (read_committed,
                       librdkafka's default), compared with the manifests
  --aborted FILE       voltpay-txproducer manifests of aborted (or left open,
                       then fenced) transactions (repeatable)

A manifest entry without an offset (librdkafka reports -1001 when it
learned of the write from DUPLICATE_SEQUENCE_NUMBER or a later
acknowledgement) is looked up in the input topic by key and payload and
given the coordinates found; checker.py then sees the manifests so
resolved.

Failure counts (any non-zero makes the exit status 1, as does a failure of
checker.py):
  acked records lost           a manifest entry (Kafka acknowledged it) that
                               the input topic does not hold at its partition
                               and offset, or holds with other bytes; or one
                               without an offset whose key and payload are
                               nowhere in the topic (then left out of what
                               checker.py expects: the bridge cannot apply it)
  aborted records visible      an aborted record that a read_committed reader
                               of the input topic sees
  aborted messages applied     a payment row from an aborted record (same
                               topic, partition, offset), or whose message_id
                               only aborted records carry
  aborted messages rejected    a rejected row at an aborted record's offset
  aborted messages published   a downstream event of an aborted message
                               (read/email by message_id, dead letter by
                               voltpay-source)
  order violations (input)     per account, the first read event of each
                               applied message must come in the order of the
                               input records that were applied (offsets in
                               the account's input partition), whatever
                               producer sent them
  applied from another record  a payment row whose source coordinates are not
                               those of the record expected to apply (the
                               first copy of its message_id)

Informational: records in the input topic that no manifest lists (a
producer retry that Kafka stored although the client gave up; none are
expected from an idempotent producer), downstream copies.
"""

import argparse
import base64
import csv
import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections import Counter, defaultdict

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bridge"))
import checker  # noqa: E402  test/bridge/checker.py

FAILURES = [
    "acked records lost",
    "aborted records visible",
    "aborted messages applied",
    "aborted messages rejected",
    "aborted messages published",
    "order violations (input)",
    "applied from another record",
]


def sha_of(rec):
    if "value_b64" in rec:
        return hashlib.sha256(base64.b64decode(rec["value_b64"])).hexdigest()
    v = rec.get("value")
    if v is None:
        return None
    return hashlib.sha256(v.encode("utf-8")).hexdigest()


def strip_option(args, name):
    """args without every "name VALUE" and "name=VALUE"."""
    out = []
    skip = False
    for a in args:
        if skip:
            skip = False
        elif a == name:
            skip = True
        elif not a.startswith(name + "="):
            out.append(a)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], add_help=False)
    ap.add_argument("--input-dump")
    ap.add_argument("--aborted", action="append", default=[])
    ap.add_argument("--kafka-examples", type=int, default=3)
    ap.add_argument("-h", "--help", action="store_true")
    mine, rest = ap.parse_known_args()
    if mine.help:
        print(__doc__)
        return 0

    # The inputs checker.py reads too (it validates them itself).
    shared = argparse.ArgumentParser(add_help=False)
    for opt in ("--payments", "--rejected", "--read", "--email", "--dlq"):
        shared.add_argument(opt)
    shared.add_argument("--manifest", action="append", default=[])
    shared.add_argument("--input-topic", default="payment_writer_topic")
    base, _ = shared.parse_known_args(rest)

    failures = Counter()
    info = Counter()
    samples = defaultdict(list)

    def fail(what, example=None, n=1):
        failures[what] += n
        if example is not None and len(samples[what]) < mine.kafka_examples:
            samples[what].append(example)

    topic = base.input_topic
    runs = []
    for path in base.manifest:
        run = checker.load_jsonl(path)
        for e in run:
            e.setdefault("topic", topic)
        runs.append(run)
    dump = checker.load_jsonl(mine.input_dump) if mine.input_dump else None

    # A delivery report can succeed without an offset (-1001): librdkafka
    # got DUPLICATE_SEQUENCE_NUMBER, or inferred the write from a later
    # acknowledgement.  Such a message is looked up in the input topic by
    # key and payload; found, it gets its coordinates; not found, Kafka
    # does not hold a message its producer was told was written: an acked
    # record lost, and not something the bridge could have applied, so it
    # is left out of what checker.py expects.
    lost_unknown = []
    if dump is not None:
        claimed = {(e["topic"], e["partition"], e["offset"]) for run in runs for e in run
                   if e["offset"] >= 0}
        by_content = defaultdict(list)
        for r in sorted(dump, key=lambda x: (x["partition"], x["offset"])):
            c = (r["topic"], r["partition"], r["offset"])
            if c not in claimed:
                by_content[(r.get("key"), sha_of(r))].append(c)
        for run in runs:
            for e in run:
                if e["offset"] >= 0:
                    continue
                cands = by_content.get((e.get("key"), e.get("sha256")))
                if cands:
                    c = cands.pop(0)
                    e["partition"], e["offset"] = c[1], c[2]
                    info["acknowledged without an offset, found in the topic"] += 1
                else:
                    lost_unknown.append(e)
                    fail("acked records lost",
                         f"{e.get('kind')} {e.get('message_id')} ({e.get('key')}): delivered "
                         f"without an offset ({e['offset']}), and not in the topic")
        if lost_unknown:
            gone = {id(e) for e in lost_unknown}
            runs = [[e for e in run if id(e) not in gone] for run in runs]
    entries = [e for run in runs for e in run]

    # checker.py on the manifests as resolved (same runs, same order).
    tmpdir = tempfile.mkdtemp(prefix="checker-kafka.")
    try:
        margs = []
        for i, run in enumerate(runs):
            path = os.path.join(tmpdir, f"manifest-{i + 1}.jsonl")
            with open(path, "w", encoding="utf-8") as f:
                for e in run:
                    f.write(json.dumps(e) + "\n")
            margs += ["--manifest", path]
        others = strip_option(rest, "--manifest")
        sys.argv = ["checker.py"] + margs + others
        sys.stdout.flush()
        base_rc = checker.main()
        sys.stdout.flush()
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    aborted = []
    for path in mine.aborted:
        for e in checker.load_jsonl(path):
            e.setdefault("topic", topic)
            aborted.append(e)
    aborted_coords = {(e["topic"], e["partition"], e["offset"]) for e in aborted}
    committed_ids = {e["message_id"] for e in entries if e.get("message_id")}
    aborted_only_ids = {e["message_id"] for e in aborted
                        if e.get("message_id") and e["message_id"] not in committed_ids}

    # ---- the input topic: what Kafka acknowledged is in the log ---------
    dump_n = None
    if dump is not None:
        dump_n = len(dump)
        at = {(r["topic"], r["partition"], r["offset"]): r for r in dump}
        listed = set()
        for e in entries:
            c = (e["topic"], e["partition"], e["offset"])
            listed.add(c)
            r = at.get(c)
            if r is None:
                fail("acked records lost", f"{e.get('kind')} p{c[1]} o{c[2]} {e.get('message_id')}: no record there")
            elif sha_of(r) != e.get("sha256"):
                fail("acked records lost", f"p{c[1]} o{c[2]}: the record there has other bytes")
        for c in aborted_coords:
            if c in at:
                fail("aborted records visible", f"p{c[1]} o{c[2]}")
        info["records in the input topic no manifest lists"] = sum(
            1 for c in at if c not in listed and c not in aborted_coords)

    # ---- aborted messages left no trace --------------------------------
    payments = checker.load_csv(base.payments)
    for r in payments:
        src = (r.get("src_topic"), r.get("src_partition"), r.get("src_offset"))
        coord = None
        if src[1] not in (None, "") and src[2] not in (None, ""):
            coord = (src[0], int(src[1]), int(src[2]))
        if coord in aborted_coords or r["message_id"] in aborted_only_ids:
            fail("aborted messages applied", f"{r['message_id']} from p{src[1]} o{src[2]}")
    for r in checker.load_csv(base.rejected):
        if r.get("partition") in (None, "") or r.get("offset") in (None, ""):
            continue
        c = (r["topic"], int(r["partition"]), int(r["offset"]))
        if c in aborted_coords:
            fail("aborted messages rejected", f"p{c[1]} o{c[2]} reason {r['reason']}")

    def event_mid(rec):
        hdrs = rec.get("headers") or {}
        return hdrs.get("message_id")

    read = checker.load_jsonl(base.read)
    email = checker.load_jsonl(base.email)
    dlq = checker.load_jsonl(base.dlq)
    for kind, recs in (("read", read), ("email", email)):
        for rec in recs:
            if event_mid(rec) in aborted_only_ids:
                fail("aborted messages published", f"{kind} event p{rec['partition']} o{rec['offset']} for {event_mid(rec)}")
    aborted_sources = {f"{t}:{p}:{o}" for (t, p, o) in aborted_coords}
    for rec in dlq:
        src = (rec.get("headers") or {}).get("voltpay-source")
        if src in aborted_sources:
            fail("aborted messages published", f"dead letter of {src}")

    # ---- order: downstream follows the input, per account ---------------
    # The record expected to apply each message_id is its first copy by
    # offset (as checker.py decides); its input offset orders the account.
    first = {}
    for e in entries:
        mid = e.get("message_id")
        if not mid or e.get("kind") not in ("valid", "duplicate", "conflict"):
            continue
        k = (e["partition"], e["offset"])
        if mid not in first or k < (first[mid]["partition"], first[mid]["offset"]):
            first[mid] = e
    rows = {}
    for r in payments:
        rows.setdefault(r["message_id"], r)
    for mid, e in first.items():
        r = rows.get(mid)
        if r is None or r.get("src_offset") in (None, ""):
            continue        # a lost write: checker.py counts it
        if (r.get("src_topic"), int(r["src_partition"]), int(r["src_offset"])) != \
                (e["topic"], e["partition"], e["offset"]):
            fail("applied from another record",
                 f"{mid}: applied from p{r['src_partition']} o{r['src_offset']}, "
                 f"first copy at p{e['partition']} o{e['offset']}")
    seen = set()
    per_account = defaultdict(list)
    for rec in sorted(read, key=lambda x: (x["partition"], x["offset"])):
        mid = event_mid(rec)
        if mid in seen or mid not in first:
            continue
        seen.add(mid)
        e = first[mid]
        per_account[e.get("account_id")].append(((e["partition"], e["offset"]), mid, rec["partition"], rec["offset"]))
    for acct, evs in per_account.items():
        for prev, cur in zip(evs, evs[1:]):
            if cur[0] < prev[0]:
                fail("order violations (input)",
                     f"{acct}: event of input p{cur[0][0]} o{cur[0][1]} (read p{cur[2]} o{cur[3]}) "
                     f"after that of input o{prev[0][1]} (read o{prev[3]})")

    # ---- report ---------------------------------------------------------
    n_txn = sum(1 for e in entries if "txn" in e)
    print("checker-kafka: manifests %d acknowledged (%d committed in transactions), %d aborted%s" % (
        len(entries), n_txn, len(aborted),
        "" if dump_n is None else f"; input topic holds {dump_n} committed records"))
    for what in FAILURES:
        print(f"  {what:32s} {failures[what]}")
    for what, n in sorted(info.items()):
        if n:
            print(f"  (info) {what}: {n}")
    for what in FAILURES:
        for ex in samples[what]:
            print(f"  e.g. {what}: {ex}")
    total = sum(failures.values())
    if total:
        print("checker-kafka: FAILED: " + ", ".join(f"{w} {failures[w]}" for w in FAILURES if failures[w]))
    else:
        print("checker-kafka: OK")
    if base_rc != 0 or total:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
