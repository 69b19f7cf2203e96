#!/usr/bin/env python3
"""The peer benchmark's summary (bench/peer.sh): reads the runs (one JSON
line each), prints the table and the goals, writes bench/results/peer.json.

    report.py RUNS.jsonl OUT.json [--two-mode option|processes] [...]

Per variant, the median over the rounds of: drain throughput first row to
last and over the second half of the rows; CPU-microseconds per message of
the client (bridge or Connect JVM), of PostgreSQL (every process of the
cluster) and of the broker, over the whole run (from the client's launch,
so the JVM's start is in it) and over the second half (from the poll that
saw half the rows to the end); peak RSS; WAL bytes per message; the
machine's busy share.  Ratios are per round (writer / the peer's upsert at
its best task count, chosen by median second-half throughput), then the
median of those.
"""
import argparse
import datetime
import json
import os
import statistics
import sys

COMP = ["client", "postgres", "broker"]


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--markdown-only":
        # report.py --markdown-only RESULT.json OUT.md: the tables again from a result
        with open(sys.argv[3], "w") as f:
            f.write(markdown(json.load(open(sys.argv[2]))))
        return 0
    ap = argparse.ArgumentParser()
    ap.add_argument("runs")
    ap.add_argument("out")
    ap.add_argument("--two-mode", default="")
    ap.add_argument("--two-label", default="")
    ap.add_argument("--messages", type=int, default=0)
    ap.add_argument("--distinct", type=int, default=0)
    ap.add_argument("--resend", default="")
    ap.add_argument("--heap", default="")
    ap.add_argument("--peer-topic-bytes", type=int, default=0)
    ap.add_argument("--bridge-sha", default="")
    ap.add_argument("--bridge-dirty", default="0")
    ap.add_argument("--commit", default="")
    ap.add_argument("--when", default="", help="the run's time (default now)")
    ap.add_argument("--markdown", default="", help="also write the tables as Markdown to this file")
    a = ap.parse_args()

    runs = [json.loads(l) for l in open(a.runs) if l.strip()]
    timed = [r for r in runs if not r["kill"]]
    kills = [r for r in runs if r["kill"]]
    variants = []
    for r in timed:
        if r["variant"] not in variants:
            variants.append(r["variant"])

    def per_msg(r, half=False):
        """CPU-us per message of each component, and their sum."""
        if half:
            if "cpu_s_second_half" not in r:
                return None
            n = r["second_half_rows"]
            if not r["variant"].startswith("insert"):
                n = n * r["messages"] / r["distinct_payments"]   # re-sends count as messages
            cpu = r["cpu_s_second_half"]
        else:
            n, cpu = r["messages"], r["cpu_s"]
        d = {k: cpu[k] * 1e6 / n for k in COMP}
        d["total"] = sum(d[k] for k in COMP)
        return d

    summary = {}
    for v in variants:
        rs = [r for r in timed if r["variant"] == v]
        s = {"rounds": len(rs),
             "rate_first_to_last": med([r["rate_first_to_last"] for r in rs]),
             "rate_second_half": med([r["rate_second_half"] for r in rs]),
             "vmhwm_mib": med([r["vmhwm_kib"] / 1024 for r in rs]),
             "wal_bytes_per_message": med([r["wal_bytes"] / r["messages"] for r in rs]),
             "machine_busy": med([r["machine_busy"] for r in rs]),
             "loadavg": med([r["loadavg_end"] for r in rs]),
             "launch_to_done_s": med([r["launch_to_done_s"] for r in rs])}
        if any("backend_waits" in r for r in rs):
            agg = {}
            tot = sum(r.get("backend_wait_samples", 0) for r in rs)
            for r in rs:
                for k, x in r.get("backend_waits", {}).items():
                    agg[k] = agg.get(k, 0) + x * r.get("backend_wait_samples", 0)
            s["backend_waits"] = {k: round(x / tot, 3) for k, x in sorted(agg.items(), key=lambda kv: -kv[1])} if tot else {}
        if any("rate_both_assigned" in r for r in rs):
            s["rate_both_assigned"] = med([r.get("rate_both_assigned") for r in rs])
            s["both_assigned_after_first_row_s"] = med([r.get("both_assigned_after_first_row_s") for r in rs])
        for half, key in ((False, "cpu_us_per_message"), (True, "cpu_us_per_message_second_half")):
            ds = [per_msg(r, half) for r in rs]
            ds = [d for d in ds if d]
            s[key] = {k: med([d[k] for d in ds]) for k in COMP + ["total"]} if ds else None
        s["per_round"] = {str(r["round"]): {"rate_first_to_last": r["rate_first_to_last"],
                                            "rate_second_half": r["rate_second_half"],
                                            "rate_both_assigned": r.get("rate_both_assigned"),
                                            "cpu_us_per_message": per_msg(r)} for r in rs}
        summary[v] = s

    # The peer's best task count (upsert), by median warm throughput.
    ups = [v for v in variants if v.startswith("upsert")]
    best = max(ups, key=lambda v: summary[v]["rate_second_half"]) if ups else None
    ratios = {}
    if best:
        for w in [v for v in variants if v.startswith("writer")]:
            per = []
            for rd in sorted({r["round"] for r in timed}):
                rw = [r for r in timed if r["variant"] == w and r["round"] == rd]
                rp = [r for r in timed if r["variant"] == best and r["round"] == rd]
                if rw and rp:
                    rw, rp = rw[0], rp[0]
                    per.append({"round": rd,
                                "second_half": rw["rate_second_half"] / rp["rate_second_half"],
                                "first_to_last": rw["rate_first_to_last"] / rp["rate_first_to_last"],
                                "cpu_whole_pipeline": per_msg(rw)["total"] / per_msg(rp)["total"],
                                "cpu_whole_pipeline_warm": per_msg(rw, True)["total"] / per_msg(rp, True)["total"]
                                if per_msg(rw, True) and per_msg(rp, True) else None})
            ratios[w] = {"against": best, "per_round": per,
                         "median_second_half": med([p["second_half"] for p in per]),
                         "median_first_to_last": med([p["first_to_last"] for p in per]),
                         "median_cpu_whole_pipeline": med([p["cpu_whole_pipeline"] for p in per]),
                         "median_cpu_whole_pipeline_warm": med([p["cpu_whole_pipeline_warm"] for p in per])}

    killres = []
    for r in kills:
        v = r["variant"]
        expected_rows = r["messages"] if v.startswith("insert") else r["distinct_payments"]
        killres.append({"variant": v, "killed_at_rows": r.get("killed_at_rows"),
                        # a drain faster than the 0.5 s poll can end before the kill
                        "killed_before_the_end": (r.get("killed_at_rows") or 0) < expected_rows,
                        "rows": r["rows"], "distinct_message_ids": r["distinct_rows"],
                        "expected_rows": expected_rows,
                        # rows beyond what the input itself asks for (for insert:
                        # the input's own re-sends land twice by design)
                        "duplicate_rows": r["rows"] - expected_rows,
                        "missing_payments": r["distinct_payments"] - r["distinct_rows"],
                        # inserted + updated tuples of the table (pg_stat_user_tables),
                        # those of rolled-back transactions included
                        "tuples_written": r["tuples_written"],
                        "rows_written_again": r["tuples_written"] - r["messages"]
                        if not v.startswith("writer") else r["tuples_written"] - r["distinct_payments"]})

    goals = {}
    ws = [w for w in ratios]
    if ws:
        wbest = max(ws, key=lambda w: ratios[w]["median_second_half"])
        goals["warm_drain_ratio"] = {"writer": wbest, "peer": best, "value": ratios[wbest]["median_second_half"],
                                     "goal": ">= 2.5", "met": ratios[wbest]["median_second_half"] >= 2.5}
        wcpu = min(ws, key=lambda w: ratios[w]["median_cpu_whole_pipeline"])
        goals["cpu_ratio"] = {"writer": wcpu, "peer": best, "value": ratios[wcpu]["median_cpu_whole_pipeline"],
                              "goal": "<= 0.25", "met": ratios[wcpu]["median_cpu_whole_pipeline"] <= 0.25,
                              "note": "whole run, from the client's launch (the JVM's start included)"}
        wv = ratios[wcpu]["median_cpu_whole_pipeline_warm"]
        if wv is not None:
            goals["cpu_ratio_warm"] = {"writer": wcpu, "peer": best, "value": wv, "goal": "<= 0.25", "met": wv <= 0.25,
                                       "note": "second half of the drain (the JVM warm)"}
    kw = [k for k in killres if k["variant"].startswith("writer")]
    if kw:
        goals["writer_duplicates_after_sigkill"] = {"value": max(k["duplicate_rows"] for k in kw),
                                                    "goal": "0", "met": all(k["duplicate_rows"] == 0 and k["missing_payments"] == 0 for k in kw)}

    res = {"when": a.when or datetime.datetime.utcnow().isoformat(timespec="seconds") + "Z",
           "machine": {"cpus": os.cpu_count(), "note": "shared with other work; see machine_busy and loadavg"},
           "messages": a.messages, "distinct_payments": a.distinct, "resend_fraction": a.resend,
           "broker": "Apache Kafka 4.1.1, 1 KRaft node, 100 partitions per topic",
           "peer": {"connect": "Kafka Connect 4.1.1 standalone worker, JsonConverter with schemas",
                    "connector": "Debezium JDBC sink 3.6.0.Final (Hibernate 7.2.19.Final)",
                    "heap": a.heap, "peer_topic_bytes": a.peer_topic_bytes},
           "writer_two_connections": {"mode": a.two_mode, "label": a.two_label},
           "bridge_sha256_16": a.bridge_sha, "bridge_uncommitted_files": int(a.bridge_dirty),
           "commit": a.commit,
           "summary": summary, "best_peer_upsert": best, "ratios": ratios,
           "sigkill": killres, "goals": goals, "runs": runs}
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")

    def fmt(x, p=0):
        return "-" if x is None else ("{:,.%df}" % p).format(x)

    print("\n%-9s %10s %10s %8s %8s %8s %8s %8s %8s %7s %6s" % (
        "variant", "msg/s all", "msg/s 2nd", "us/msg", "client", "pg", "broker", "2nd us", "HWM MiB", "WAL B", "busy"))
    for v in variants:
        s = summary[v]
        c, c2 = s["cpu_us_per_message"], s["cpu_us_per_message_second_half"]
        print("%-9s %10s %10s %8s %8s %8s %8s %8s %8s %7s %6.2f" % (
            v, fmt(s["rate_first_to_last"]), fmt(s["rate_second_half"]), fmt(c["total"]), fmt(c["client"]),
            fmt(c["postgres"]), fmt(c["broker"]), fmt(c2 and c2["total"]), fmt(s["vmhwm_mib"]),
            fmt(s["wal_bytes_per_message"]), s["machine_busy"]))
    for v in variants:
        if summary[v].get("backend_waits"):
            print("%s: client backends, share of samples: %s" % (v, ", ".join(
                "%s %.0f%%" % (k, 100 * x) for k, x in list(summary[v]["backend_waits"].items())[:6])))
    for w, r in ratios.items():
        print("%s / %s: warm drain %s (rounds %s), first to last %s, whole-pipeline CPU %s (warm %s)" % (
            w, r["against"], fmt(r["median_second_half"], 2),
            " ".join(fmt(p["second_half"], 2) for p in r["per_round"]),
            fmt(r["median_first_to_last"], 2), fmt(r["median_cpu_whole_pipeline"], 2),
            fmt(r["median_cpu_whole_pipeline_warm"], 2)))
    for k in killres:
        print("SIGKILL %-9s at %s rows: %d rows, %d duplicate, %d missing, %d written again%s" % (
            k["variant"], k["killed_at_rows"], k["rows"], k["duplicate_rows"], k["missing_payments"],
            k["rows_written_again"], "" if k["killed_before_the_end"] else " (killed after the end: use a larger N)"))
    for g, d in goals.items():
        print("goal %s: %s (%s) %s" % (g, fmt(d["value"], 2), d["goal"], "met" if d["met"] else "NOT met"))
    print("written to", a.out)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(markdown(res))
        print("markdown tables in", a.markdown)


LABEL = {"writer-1": "writer, 1 connection", "upsert-1": "peer upsert, 1 task",
         "upsert-2": "peer upsert, 2 tasks", "insert-1": "peer insert, 1 task",
         "insert-2": "peer insert, 2 tasks"}


def markdown(res):
    """The tables of docs/bench-peer.md, from a result."""
    def f(x, p=0):
        return "-" if x is None else ("{:,.%df}" % p).format(x)
    lab = dict(LABEL)
    lab["writer-2"] = res["writer_two_connections"]["label"] or "writer, 2 connections"
    sm = res["summary"]
    vs = list(sm)
    o = []
    o.append("| | " + " | ".join(lab.get(v, v) for v in vs) + " |")
    o.append("|---|" + "---:|" * len(vs))
    rows = [
        ("messages/s, first row to last", lambda s: f(s["rate_first_to_last"])),
        ("messages/s, second half of the drain (warm)", lambda s: f(s["rate_second_half"])),
        ("CPU-us per message, whole pipeline, whole run", lambda s: f(s["cpu_us_per_message"]["total"])),
        ("- of which the bridge / Connect JVM", lambda s: f(s["cpu_us_per_message"]["client"])),
        ("- of which PostgreSQL (all processes)", lambda s: f(s["cpu_us_per_message"]["postgres"])),
        ("- of which the broker", lambda s: f(s["cpu_us_per_message"]["broker"])),
        ("CPU-us per message, whole pipeline, second half", lambda s: f(s["cpu_us_per_message_second_half"] and s["cpu_us_per_message_second_half"]["total"])),
        ("- bridge or JVM / PostgreSQL / broker, second half", lambda s: s["cpu_us_per_message_second_half"] and " / ".join(
            f(s["cpu_us_per_message_second_half"][k]) for k in COMP) or "-"),
        ("peak RSS (VmHWM) of the process(es), MiB", lambda s: f(s["vmhwm_mib"])),
        ("WAL bytes per message", lambda s: f(s["wal_bytes_per_message"])),
        ("machine busy (all processes, everybody's)", lambda s: f(s["machine_busy"], 2)),
        ("load average at the end", lambda s: f(s["loadavg"], 1)),
    ]
    if any(sm[v].get("rate_both_assigned") for v in vs):
        rows.insert(2, ("messages/s once both bridges had partitions (two bridges only)",
                        lambda s: f(s.get("rate_both_assigned")) if s.get("rate_both_assigned") else "-"))
    if any(sm[v].get("backend_waits") for v in vs):
        rows.append(("client backends: share of samples per state or wait event", lambda s: "<br>".join(
            "%s %.0f%%" % (k, 100 * x) for k, x in list((s.get("backend_waits") or {}).items())[:5]) or "-"))
    for name, fn in rows:
        o.append("| %s | %s |" % (name, " | ".join(fn(sm[v]) for v in vs)))
    o.append("")
    rounds = sorted({r["round"] for r in res["runs"] if not r["kill"]})
    o.append("Per round, messages/s in the second half (first row to last in brackets):")
    o.append("")
    o.append("| round | " + " | ".join(lab.get(v, v) for v in vs) + " |")
    o.append("|---|" + "---:|" * len(vs))
    for rd in rounds:
        cells = []
        for v in vs:
            pr = sm[v]["per_round"].get(str(rd))
            cells.append("%s (%s)" % (f(pr["rate_second_half"]), f(pr["rate_first_to_last"])) if pr else "-")
        o.append("| %d | %s |" % (rd, " | ".join(cells)))
    o.append("")
    for w, r in res["ratios"].items():
        o.append("%s / %s, per round: warm drain %s (median **%s**); first row to last %s (median %s); "
                 "whole-pipeline CPU per message %s (median **%s**)." % (
                     lab.get(w, w), lab.get(r["against"], r["against"]),
                     ", ".join(f(p["second_half"], 2) for p in r["per_round"]), f(r["median_second_half"], 2),
                     ", ".join(f(p["first_to_last"], 2) for p in r["per_round"]), f(r["median_first_to_last"], 2),
                     ", ".join(f(p["cpu_whole_pipeline"], 2) for p in r["per_round"]), f(r["median_cpu_whole_pipeline"], 2))
                 + " Second half only (the JVM warm): CPU %s (median **%s**)." % (
                     ", ".join(f(p["cpu_whole_pipeline_warm"], 2) for p in r["per_round"]), f(r["median_cpu_whole_pipeline_warm"], 2)))
        o.append("")
    if res["sigkill"]:
        o.append("| SIGKILL half way | killed at rows | rows at the end | expected rows | duplicate rows | missing payments | tuples written again |")
        o.append("|---|---:|---:|---:|---:|---:|---:|")
        for k in res["sigkill"]:
            o.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                lab.get(k["variant"], k["variant"]), f(k["killed_at_rows"]), f(k["rows"]), f(k["expected_rows"]),
                f(k["duplicate_rows"]), f(k["missing_payments"]), f(k["rows_written_again"])))
        o.append("")
    return "\n".join(o) + "\n"


if __name__ == "__main__":
    sys.exit(main())
