#!/usr/bin/env python3
"""Report of bench/sweep.sh: reads the run's raw.json, the pgbench
per-second progress logs (*.log) and the sweep's on/off windows from the
work directory, prints a table and writes the results as JSON.

    sweep_report.py WORK_DIR OUT_JSON

Exits 1 when the run's correctness checks failed.
"""
import datetime
import json
import os
import re
import sys

PROGRESS = re.compile(r"progress: ([\d.]+) s, ([\d.]+) tps, lat ([\d.]+) ms")


def seconds(work, log, t0, t1, skip=0.0):
    """pgbench's per-second (tps, latency) entirely inside [t0 + skip, t1]."""
    rows = []
    with open(os.path.join(work, log + ".log")) as f:
        for line in f:
            m = PROGRESS.search(line)
            if m:
                t, tps, lat = (float(x) for x in m.groups())
                if t - 1 >= t0 + skip and t <= t1:
                    rows.append((tps, lat))
    return rows


def summary(rows, batch, span=None, wal=None):
    res = {"seconds_measured": len(rows)}
    if span:
        res["seconds"] = round(span, 1)
        res["wal_mb_per_s"] = round(wal / 1048576 / span, 1)
    if rows:
        res["messages_per_s"] = round(sum(r[0] for r in rows) / len(rows) * batch)
        res["batch_latency_ms"] = round(sum(r[1] for r in rows) / len(rows), 2)
        res["worst_second_messages_per_s"] = round(min(r[0] for r in rows) * batch)
    return res


def alone_ratio(phases):
    """Ingest during the sweep against the mean of ingest alone before and after."""
    on = phases["sweep_on"].get("messages_per_s")
    alone = [phases[p].get("messages_per_s") for p in ("before", "after")]
    if not on or not all(alone):
        return None
    return round(on / (sum(alone) / 2), 3)


def main():
    work, out = sys.argv[1:3]
    with open(os.path.join(work, "raw.json")) as f:
        raw = json.load(f)
    batch, sweep, check = raw["batch"], raw["sweep"], raw["checks"]

    phases = {}
    for name in ("before", "vacuum", "after"):
        t0, t1, wal = raw[name]
        phases[name] = summary(seconds(work, name, t0, t1), batch, t1 - t0, wal)

    # The first second of each window may still see the previous state.
    on, off, sweeping = [], [], 0.0
    with open(os.path.join(work, "windows")) as f:
        for w in f:
            kind, t0, t1 = w.split()
            t0, t1 = float(t0), float(t1)
            rows = seconds(work, "sweep", t0, t1, skip=1.0)
            if kind == "on":
                on.extend(rows)
                sweeping += t1 - t0
            else:
                off.extend(rows)
    phases["sweep_on"] = summary(on, batch)
    phases["sweep_off"] = summary(off, batch)
    span = sweep["end"] - sweep["start"]
    phases["sweep_on"]["wal_mb_per_s_whole_sweep_incl_off"] = round(sweep["wal"] / 1048576 / span, 1)

    def ratio(a, b):
        a, b = phases[a].get("messages_per_s"), phases[b].get("messages_per_s")
        return round(a / b, 3) if a and b else None

    kept = {"sweep_on_vs_off": ratio("sweep_on", "sweep_off"),
            "sweep_on_vs_before": ratio("sweep_on", "before"),
            "sweep_on_vs_before_after_mean": alone_ratio(phases),
            "vacuum_vs_after": ratio("vacuum", "after")}
    ok = (check["expired_left"] == 0 and check["young_left"] == raw["young"]
          and check["rejected"] == 0 and check["duplicates"] == 0
          and check["payments"] == check["todays_idempotency_rows"]
          and sweep["rows"] == raw["expired"] and sweep["ok"])
    met = bool(kept["sweep_on_vs_off"] and kept["sweep_on_vs_off"] >= 0.8)

    res = {
        "when": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "machine": {"cpus": os.cpu_count(),
                    "load_average_1_5_15_min_at_end": os.getloadavg()},
        "durability": "fsync=on, synchronous_commit=on (the sweeper commits asynchronously)",
        "ingest": {"function": "voltpay.apply_payment_batch", "clients": raw["clients"],
                   "messages_per_batch": batch},
        "idempotency_table": {"expired_rows": raw["expired"], "young_rows": raw["young"],
                              "size_mb_before_sweep": raw["table_mb"]},
        "settings": raw["settings"],
        "sweep": {"rows_deleted": sweep["rows"], "steps": sweep["steps"],
                  "seconds_sweeping": round(sweeping, 1),
                  "rows_per_s_while_sweeping": round(sweep["rows"] / sweeping) if sweeping else None,
                  "on_off_windows_s": raw["window_s"]},
        "phases": phases,
        "ingest_kept": kept,
        "target": 0.8,
        "target_met": met,
        "checks": check,
        "correct": ok,
        "checkpoints": raw.get("checkpoints", []),
    }

    print("%-36s %8s %12s %10s %14s" % ("phase", "seconds", "messages/s", "batch ms", "worst second"))
    for name, label in (("before", "ingest alone"),
                        ("sweep_off", "ingest, sweep paused (off windows)"),
                        ("sweep_on", "ingest during the sweep (on windows)"),
                        ("vacuum", "ingest during VACUUM of the table"),
                        ("after", "ingest alone again")):
        p = phases[name]
        print("%-36s %8d %12s %10s %14s" % (label, p["seconds_measured"], p.get("messages_per_s", "-"),
                                            p.get("batch_latency_ms", "-"),
                                            p.get("worst_second_messages_per_s", "-")))
    print("sweep: %d rows in %.1f s of sweeping (%s rows/s, %d steps)"
          % (sweep["rows"], sweeping, res["sweep"]["rows_per_s_while_sweeping"], sweep["steps"]))
    print("ingest kept %.0f%% of its rate during the sweep (vs. the off windows; target 80%%: %s),"
          " %.0f%% vs. the mean of before and after; %.0f%% during the vacuum (vs. after)"
          % (100 * (kept["sweep_on_vs_off"] or 0), "met" if met else "NOT met",
             100 * (kept["sweep_on_vs_before_after_mean"] or 0),
             100 * (kept["vacuum_vs_after"] or 0)))
    print("checks: %s -> %s" % (json.dumps(check), "correct" if ok else "WRONG"))
    print("load average of the machine (1, 5, 15 min): %.1f %.1f %.1f" % os.getloadavg())
    with open(out, "w") as f:
        json.dump(res, f, indent=2)
    print("written to", out)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
