#!/usr/bin/env python3
"""Compares the ext_message harness's verdicts with the server's.

Usage: compare-ext_message.py HARNESS CORPUS_DIR

Runs the harness (built from extension/message.c and friends with
fuzz/extension/shim.c) over every input of the corpus with VP_FUZZ_VERDICTS
set, and voltpay.validate_message(payload bytea, key bytea) on the same
records in the PostgreSQL that the PG* variables name (voltpay 0.3.0 or
later installed); every input must get the same reason code (or "valid")
and the same detail from both.  Exit status 0 when all agree, 1 otherwise.
An input is byte 0 = key length (0xFF: no key), the key, then the value,
as the harness reads it.
"""
import os
import subprocess
import sys


def fnv1a(data):
    h = 14695981039346656037
    for b in data:
        h ^= b
        h = (h * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def escape(s):
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def main():
    harness, corpus = sys.argv[1], sys.argv[2]
    files = sorted(os.path.join(corpus, f) for f in os.listdir(corpus))
    records = {}
    for path in files:
        data = open(path, "rb").read()
        if not data:
            continue
        if data[0] == 0xFF:
            key, value = None, data[1:]
        else:
            n = min(data[0], len(data) - 1)
            key, value = data[1:1 + n], data[1 + n:]
        records[fnv1a(data)] = (path, key, value)

    env = dict(os.environ, VP_FUZZ_VERDICTS="1")
    out = subprocess.run([harness, "-runs=0"] + [p for p, _, _ in records.values()],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if out.returncode != 0:
        sys.stderr.write(out.stderr.decode(errors="replace")[-3000:])
        print("compare: the harness failed (exit %d)" % out.returncode)
        return 1
    harness_verdict = {}
    for line in out.stdout.decode().split("\n")[:-1]:
        h, reason, detail = line.split("\t", 2)
        harness_verdict[h] = (reason, detail)

    # One query per record, in one psql session; hex literals carry any byte.
    sql = ["\\pset format unaligned", "\\pset tuples_only on", "\\pset fieldsep '\\t'"]
    order = list(records)
    for h in order:
        _, key, value = records[h]
        k = "NULL::bytea" if key is None else "'\\x%s'::bytea" % key.hex()
        sql.append("SELECT '%s', COALESCE(v.reason, 'valid'), replace(replace(replace(COALESCE(v.detail, ''), "
                   "E'\\\\', E'\\\\\\\\'), E'\\t', E'\\\\t'), E'\\n', E'\\\\n') "
                   "FROM voltpay.validate_message('\\x%s'::bytea, %s) AS v;" % (h, value.hex(), k))
    res = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1"], input="\n".join(sql).encode(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if res.returncode != 0:
        print("compare: psql failed: %s" % res.stderr.decode(errors="replace")[-2000:])
        return 1
    server_verdict = {}
    for line in res.stdout.decode().split("\n")[:-1]:
        h, reason, detail = line.split("\t", 2)
        server_verdict[h] = (reason, detail)

    bad = 0
    counts = {}
    for h in order:
        path = records[h][0]
        a, b = harness_verdict.get(h), server_verdict.get(h)
        if a is None or b is None or a != b:
            bad += 1
            if bad <= 20:
                print("compare: %s: harness %r, server %r" % (path, a, b))
        else:
            counts[a[0]] = counts.get(a[0], 0) + 1
    summary = ", ".join("%s %d" % kv for kv in sorted(counts.items()))
    print("compare: %d inputs, %d agree (%s), %d disagree" % (len(order), len(order) - bad, summary, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
