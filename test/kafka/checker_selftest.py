#!/usr/bin/env python3
"""Shows that checker_kafka.py (and the checker.py it runs) fail when they
should: takes the files of a scenario that passed (manifests, aborted
manifests, database and topic dumps in one directory, as the kafka suite
leaves them), injects one fault at a time into copies of them, and expects
the matching count to be non-zero and the verdict to fail.

  checker_selftest.py SCENARIO_DIR

Faults: an acknowledged record missing from the input topic, an aborted
record visible, an aborted message applied, an aborted message published,
a lost write, a duplicate application, two read events of one account in
the wrong order.  Exit status 0 when every fault was caught and the
untouched files pass.
"""

import csv
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
COUNT_RE = re.compile(r"^  (\S.*?)\s+(\d+)$")


def load(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def save(path, recs):
    with open(path, "w", encoding="utf-8") as f:
        for r in recs:
            f.write(json.dumps(r) + "\n")


def run_checker(d, topic):
    args = [sys.executable, os.path.join(HERE, "checker_kafka.py")]
    for m in sorted(glob.glob(os.path.join(d, "manifest-*.jsonl"))):
        args += ["--manifest", m]
    for m in sorted(glob.glob(os.path.join(d, "aborted-*.jsonl"))):
        args += ["--aborted", m]
    with open(os.path.join(d, "outbox_pending.txt")) as f:
        pending = f.read().strip() or "0"
    args += ["--input-dump", os.path.join(d, "input.jsonl"),
             "--payments", os.path.join(d, "payments.csv"),
             "--rejected", os.path.join(d, "rejected.csv"),
             "--outbox-pending", pending,
             "--read", os.path.join(d, "read.jsonl"),
             "--email", os.path.join(d, "email.jsonl"),
             "--dlq", os.path.join(d, "dlq.jsonl"),
             "--input-topic", topic]
    p = subprocess.run(args, capture_output=True, text=True)
    counts = {}
    for line in p.stdout.splitlines():
        m = COUNT_RE.match(line)
        if m:
            counts[m.group(1)] = counts.get(m.group(1), 0) + int(m.group(2))
    return p.returncode, counts, p.stdout + p.stderr


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    src = sys.argv[1]
    manifests = []
    for m in sorted(glob.glob(os.path.join(src, "manifest-*.jsonl"))):
        manifests += load(m)
    aborted = []
    for m in sorted(glob.glob(os.path.join(src, "aborted-*.jsonl"))):
        aborted += load(m)
    topic = manifests[0]["topic"]
    committed_ids = {e["message_id"] for e in manifests if e.get("message_id")}
    aborted_valid = [e for e in aborted if e.get("kind") == "valid"
                     and e["message_id"] not in committed_ids]

    def fault_drop_input(d):
        recs = load(os.path.join(d, "input.jsonl"))
        e = manifests[len(manifests) // 2]
        recs = [r for r in recs if (r["partition"], r["offset"]) != (e["partition"], e["offset"])]
        save(os.path.join(d, "input.jsonl"), recs)

    def fault_aborted_visible(d):
        e = aborted[0]
        recs = load(os.path.join(d, "input.jsonl"))
        recs.append({"topic": e["topic"], "partition": e["partition"], "offset": e["offset"],
                     "timestamp": 0, "key": e.get("key"), "headers": {}, "value": "x"})
        save(os.path.join(d, "input.jsonl"), recs)

    def fault_aborted_applied(d):
        e = aborted_valid[0]
        path = os.path.join(d, "payments.csv")
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        row = dict(rows[0])
        row.update(message_id=e["message_id"], account_id=e["account_id"], src_topic=e["topic"],
                   src_partition=str(e["partition"]), src_offset=str(e["offset"]))
        rows.append(row)
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
            w.writeheader()
            w.writerows(rows)

    def fault_aborted_published(d):
        e = aborted_valid[0]
        recs = load(os.path.join(d, "read.jsonl"))
        r = dict(recs[0])
        body = json.loads(r["value"])
        body["message_id"] = e["message_id"]
        r.update(offset=10 ** 9, value=json.dumps(body), headers={"message_id": e["message_id"]})
        recs.append(r)
        save(os.path.join(d, "read.jsonl"), recs)

    def edit_payments(d, fn):
        path = os.path.join(d, "payments.csv")
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        rows = fn(rows)
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
            w.writeheader()
            w.writerows(rows)

    def fault_lost_write(d):
        edit_payments(d, lambda rows: rows[1:])

    def fault_duplicate(d):
        edit_payments(d, lambda rows: rows + [rows[0]])

    def fault_order(d):
        recs = load(os.path.join(d, "read.jsonl"))
        by_acct = {}
        for i, r in enumerate(recs):
            by_acct.setdefault((r["key"], r["partition"]), []).append(i)
        for idx in by_acct.values():
            if len(idx) >= 2:
                a, b = idx[0], idx[1]
                recs[a]["offset"], recs[b]["offset"] = recs[b]["offset"], recs[a]["offset"]
                break
        save(os.path.join(d, "read.jsonl"), recs)

    cases = [
        ("no fault", None, None),
        ("acknowledged record missing from the input topic", fault_drop_input, "acked records lost"),
        ("aborted record visible", fault_aborted_visible, "aborted records visible"),
        ("aborted message applied", fault_aborted_applied, "aborted messages applied"),
        ("aborted message published", fault_aborted_published, "aborted messages published"),
        ("payment row deleted", fault_lost_write, "lost writes"),
        ("payment row doubled", fault_duplicate, "duplicate applications"),
        ("two read events swapped", fault_order, "order violations (input)"),
    ]
    if not aborted_valid:
        cases = [c for c in cases if not (c[2] or "").startswith("aborted messages")]
    if not aborted:
        cases = [c for c in cases if c[2] != "aborted records visible"]
    bad = 0
    for name, fault, count in cases:
        d = tempfile.mkdtemp(prefix="vk-selftest.")
        try:
            for f in os.listdir(src):
                if f.endswith((".jsonl", ".csv", ".txt")):
                    shutil.copy(os.path.join(src, f), d)
            if fault:
                fault(d)
            rc, counts, out = run_checker(d, topic)
        finally:
            shutil.rmtree(d, ignore_errors=True)
        if fault is None:
            ok = rc == 0
            got = "passes" if ok else "fails"
        else:
            ok = rc != 0 and counts.get(count, 0) > 0
            got = f"{count} {counts.get(count, 0)}, exit {rc}"
        print(f"selftest: {'ok  ' if ok else 'FAIL'} {name}: {got}")
        if not ok:
            bad += 1
            print("\n".join("    " + line for line in out.splitlines()[-12:]))
    print(f"selftest: {len(cases) - bad} passed, {bad} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
