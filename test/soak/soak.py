#!/usr/bin/python3
"""The soak test's Python side (test/soak/soak.sh runs it under
/usr/bin/python3, for Debian's matplotlib and confluent_kafka).

  soak.py sample DIR      every --interval seconds, one row of DIR/samples.csv
                          (and DIR/latest.json, which soak.sh reads to measure
                          recovery) until killed
  soak.py urp BROKERS     prints the number of under-replicated partitions
                          (ISR smaller than the replica set) of every topic,
                          from the brokers' metadata; exit 1 when no broker
                          answers
  soak.py report DIR      pass/fail from the samples, faults and bridges of a
                          run; DIR/summary.json and the plot

The run directory, written by soak.sh:
  bridges.txt    "start ID PID PORT EPOCH" when a bridge starts,
                 "stop ID PID EPOCH" just before soak.sh stops or kills it
  faults.csv     name,start,end,recovered,recovery_s,note (epoch seconds)
  manifest-1.jsonl  the load generator's manifest (one line per acked record)
  run.json       settings: start, warmup_s, rate, minutes, topic, db, ...

Per sample (samples.csv): payments/s in (records Kafka acknowledged to the
load generator, from the manifest) and out (input records the database
applied, rejected or found duplicate: the sum of its partition positions);
the lag in records (acknowledged offsets not yet behind the database's
positions) and in seconds (how long ago the oldest such record was
acknowledged); the bridges' own view of the lag (voltpay_bridge_consumer_lag
summed); end-to-end latency p50/p99 over the interval from the bridges'
histograms (bucket deltas, so a restarted bridge starts from zero); per
bridge RSS, open fds, owned partitions, errors and retries; the database's
size by table, idempotency rows (and expired ones), outbox backlog, the
sweeper's last run.
"""

import argparse
import bisect
import collections
import csv
import json
import math
import os
import subprocess
import sys
import time
import urllib.request

E2E = "voltpay_bridge_end_to_end_latency_seconds_bucket"
MAX_BRIDGES = 3
TABLES = ["payment", "payment_party", "payment_remittance", "payment_notification",
          "idempotency", "outbox", "rejected_message", "partition_position"]


# ---------------------------------------------------------------------------
# sample
# ---------------------------------------------------------------------------

def read_bridges(path):
    """{id: (pid, port, start)} of the bridges started and not stopped, and
    the set of (id, pid) soak.sh stopped on purpose."""
    live, stopped = {}, set()
    try:
        with open(path) as f:
            for line in f:
                w = line.split()
                if len(w) >= 5 and w[0] == "start":
                    live[int(w[1])] = (int(w[2]), int(w[3]), float(w[4]))
                elif len(w) >= 3 and w[0] == "stop":
                    stopped.add((int(w[1]), int(w[2])))
                    if int(w[1]) in live and live[int(w[1])][0] == int(w[2]):
                        del live[int(w[1])]
    except FileNotFoundError:
        pass
    return live, stopped


def proc_alive(pid):
    """True while the process runs (a zombie has exited)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError, ProcessLookupError):
        return False


def proc_rss_fds(pid):
    rss = fds = None
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return rss, fds


def scrape(port):
    """The bridge's /metrics as {name_with_labels: value}, or None."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            text = r.read().decode()
    except Exception:
        return None
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, _, value = line.rpartition(" ")
        try:
            out[name] = float(value)
        except ValueError:
            pass
    return out


def msum(m, prefix):
    return sum(v for k, v in m.items() if k == prefix or k.startswith(prefix + "{"))


def buckets(m):
    """Cumulative end-to-end buckets [(le, count)] sorted by le."""
    b = []
    for k, v in m.items():
        if k.startswith(E2E + "{"):
            le = k.split('le="', 1)[1].split('"', 1)[0]
            b.append((math.inf if le == "+Inf" else float(le), v))
    return sorted(b)


def quantile(bounds, counts, q):
    """q-quantile from per-bucket (not cumulative) counts with upper bounds,
    linear within a bucket (as Prometheus' histogram_quantile)."""
    total = sum(counts)
    if total <= 0:
        return None
    rank = q * total
    cum = 0.0
    lower = 0.0
    for le, c in zip(bounds, counts):
        if cum + c >= rank and c > 0:
            if math.isinf(le):
                return lower
            return lower + (le - lower) * (rank - cum) / c
        cum += c
        if not math.isinf(le):
            lower = le
    return lower


def psql(db, sql):
    r = subprocess.run(["psql", "-X", "-q", "-At", "-d", db, "-c", sql],
                       capture_output=True, text=True, timeout=20)
    if r.returncode != 0:
        return None
    return r.stdout.strip()


DB_SQL = """
SELECT json_build_object(
  'positions', (SELECT json_object_agg(partition, next_offset) FROM voltpay.partition_status WHERE topic = '{topic}'),
  'idem_rows', (SELECT count(*) FROM voltpay.idempotency),
  'idem_expired', (SELECT count(*) FROM voltpay.idempotency WHERE processed_on < current_date - 1),
  'outbox', (SELECT count(*) FROM voltpay.outbox),
  'payments', (SELECT n_tup_ins FROM pg_stat_user_tables WHERE schemaname = 'voltpay' AND relname = 'payment'),
  'rejected', (SELECT n_tup_ins FROM pg_stat_user_tables WHERE schemaname = 'voltpay' AND relname = 'rejected_message'),
  'db_bytes', pg_database_size(current_database()),
  'tables', (SELECT json_object_agg(relname, pg_total_relation_size(c.oid)) FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace WHERE nspname = 'voltpay' AND relkind = 'r'),
  'sweep', (SELECT row_to_json(s) FROM (SELECT started_at, finished_at, rows_deleted, error FROM voltpay.sweep_state) s))
"""


def sample(args):
    d = args.dir
    run = json.load(open(os.path.join(d, "run.json")))
    db, topic = run["db"], run["topic"]
    manifest = os.path.join(d, "manifest-1.jsonl")
    out = open(os.path.join(d, "samples.csv"), "a", newline="")
    cols = ["t", "elapsed_s", "in_rate", "out_rate", "acked", "processed", "lag_msgs", "lag_s",
            "bridge_lag_msgs", "p50_ms", "p99_ms", "e2e_n", "e2e_buckets", "outbox", "idem_rows",
            "idem_expired", "payments", "rejected", "db_bytes"] + \
        [f"{t}_bytes" for t in TABLES] + ["sweep_deleted", "sweep_finished", "bridges"] + \
        [f"{k}_{i}" for i in range(1, MAX_BRIDGES + 1)
         for k in ("pid", "rss_kb", "fds", "assigned", "errors", "retries", "published")]
    w = csv.DictWriter(out, fieldnames=cols)
    if out.tell() == 0:
        w.writeheader()
    mpos = 0
    acked = 0
    hw = {}                       # partition -> highest acked offset + 1
    seen = collections.defaultdict(collections.deque)   # partition -> (offset, t)
    prev_hist = {}                # (id, pid) -> cumulative bucket counts
    prev = None
    unexpected = os.path.join(d, "unexpected.txt")
    reported = set()
    while True:
        t = time.time()
        # Manifest: complete lines appended since the last sample.
        try:
            with open(manifest, "rb") as f:
                f.seek(mpos)
                chunk = f.read()
            end = chunk.rfind(b"\n") + 1
            mpos += end
            for line in chunk[:end].splitlines():
                if not line.strip():
                    continue
                m = json.loads(line)
                acked += 1
                p, o = m.get("partition"), m.get("offset")
                if p is None or o is None or o < 0:
                    continue
                if o + 1 > hw.get(p, 0):
                    hw[p] = o + 1
                seen[p].append((o, t))
        except FileNotFoundError:
            pass
        row = {c: "" for c in cols}
        row["t"] = f"{t:.3f}"
        row["elapsed_s"] = f"{t - run['start']:.1f}"
        row["acked"] = acked
        dbv = None
        try:
            s = psql(db, DB_SQL.format(topic=topic))
            dbv = json.loads(s) if s else None
        except Exception:
            dbv = None
        processed = None
        if dbv:
            pos = {int(k): v for k, v in (dbv["positions"] or {}).items()}
            processed = sum(pos.values())
            lag = 0
            oldest = None
            for p, h in hw.items():
                at = pos.get(p, 0)
                lag += max(0, h - at)
                q = seen[p]
                # Records of this partition are acked in offset order, near enough:
                # drop those the database is past.
                while q and q[0][0] < at:
                    q.popleft()
                if q and (oldest is None or q[0][1] < oldest):
                    oldest = q[0][1]
            row["processed"] = processed
            row["lag_msgs"] = lag
            row["lag_s"] = f"{max(0.0, t - oldest):.1f}" if oldest is not None and lag > 0 else "0"
            for k in ("outbox", "idem_rows", "idem_expired", "payments", "rejected", "db_bytes"):
                row[k] = dbv[k]
            for tname in TABLES:
                row[f"{tname}_bytes"] = (dbv["tables"] or {}).get(tname, "")
            sw = dbv.get("sweep") or {}
            row["sweep_deleted"] = sw.get("rows_deleted", "")
            row["sweep_finished"] = sw.get("finished_at", "") or ""
        live, stopped = read_bridges(os.path.join(d, "bridges.txt"))
        bl = 0
        hist_total = None
        nlive = 0
        for bid, (pid, port, _) in sorted(live.items()):
            if not proc_alive(pid):
                if (bid, pid) not in reported:
                    live2, stopped2 = read_bridges(os.path.join(d, "bridges.txt"))
                    if (bid, pid) not in stopped2:
                        with open(unexpected, "a") as f:
                            f.write(f"bridge {bid} (pid {pid}) exited on its own "
                                    f"{t - run['start']:.0f} s into the run\n")
                        reported.add((bid, pid))
                continue
            nlive += 1
            rss, fds = proc_rss_fds(pid)
            row[f"pid_{bid}"] = pid
            row[f"rss_kb_{bid}"] = rss if rss is not None else ""
            row[f"fds_{bid}"] = fds if fds is not None else ""
            m = scrape(port)
            if m is None:
                continue
            bl += msum(m, "voltpay_bridge_consumer_lag")
            row[f"assigned_{bid}"] = int(msum(m, "voltpay_bridge_assigned_partitions"))
            row[f"errors_{bid}"] = int(msum(m, "voltpay_bridge_errors_total"))
            row[f"retries_{bid}"] = int(msum(m, "voltpay_bridge_retries_total"))
            row[f"published_{bid}"] = int(msum(m, "voltpay_bridge_events_published_total"))
            b = buckets(m)
            if not b:
                continue
            cum = [c for _, c in b]
            old = prev_hist.get((bid, pid), [0.0] * len(cum))
            prev_hist[(bid, pid)] = cum
            delta_cum = [max(0.0, a - o) for a, o in zip(cum, old)]
            per = [delta_cum[0]] + [max(0.0, delta_cum[i] - delta_cum[i - 1]) for i in range(1, len(cum))]
            if hist_total is None:
                hist_total = ([le for le, _ in b], per)
            else:
                hist_total = (hist_total[0], [a + c for a, c in zip(hist_total[1], per)])
        row["bridges"] = nlive
        row["bridge_lag_msgs"] = int(bl)
        if hist_total:
            bounds, per = hist_total
            n = sum(per)
            row["e2e_n"] = int(n)
            row["e2e_buckets"] = " ".join(str(int(c)) for c in per)
            p50, p99 = quantile(bounds, per, 0.5), quantile(bounds, per, 0.99)
            row["p50_ms"] = f"{p50 * 1000:.1f}" if p50 is not None else ""
            row["p99_ms"] = f"{p99 * 1000:.1f}" if p99 is not None else ""
        if prev is not None:
            dt = t - prev["t"]
            row["in_rate"] = f"{(acked - prev['acked']) / dt:.1f}"
            if processed is not None and prev["processed"] is not None:
                row["out_rate"] = f"{(processed - prev['processed']) / dt:.1f}"
        prev = {"t": t, "acked": acked,
                "processed": processed if processed is not None else (prev or {}).get("processed")}
        w.writerow(row)
        out.flush()
        tmp = os.path.join(d, "latest.json.tmp")
        with open(tmp, "w") as f:
            json.dump(row, f)
        os.replace(tmp, os.path.join(d, "latest.json"))
        time.sleep(max(0.0, args.interval - (time.time() - t)))


# ---------------------------------------------------------------------------
# urp
# ---------------------------------------------------------------------------

def urp(args):
    from confluent_kafka.admin import AdminClient
    a = AdminClient({"bootstrap.servers": args.brokers, "socket.timeout.ms": 5000})
    try:
        md = a.list_topics(timeout=args.timeout)
    except Exception as e:
        print(f"urp: no metadata from {args.brokers}: {e}", file=sys.stderr)
        return 1
    n = 0
    for t in md.topics.values():
        for p in t.partitions.values():
            if len(p.isrs) < len(p.replicas) or p.leader < 0:
                n += 1
    print(n)
    return 0


# ---------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------

def fnum(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def load_run(d):
    run = json.load(open(os.path.join(d, "run.json")))
    rows = list(csv.DictReader(open(os.path.join(d, "samples.csv"))))
    faults = []
    fp = os.path.join(d, "faults.csv")
    if os.path.exists(fp):
        faults = list(csv.DictReader(open(fp)))
    return run, rows, faults


def in_fault(t, faults):
    for f in faults:
        s = fnum(f["start"])
        e = fnum(f["recovered"]) or fnum(f["end"])
        if s is not None and e is not None and s - 1 <= t <= e + 5:
            return True
    return False


def quarter_p99(rows, lo, hi, faults):
    bounds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, math.inf]
    tot = None
    for r in rows:
        t = fnum(r["t"])
        if t is None or not (lo <= t < hi) or not r["e2e_buckets"] or in_fault(t, faults):
            continue
        per = [float(x) for x in r["e2e_buckets"].split()]
        tot = per if tot is None else [a + b for a, b in zip(tot, per)]
    if not tot:
        return None, 0
    q = quantile(bounds[:len(tot)], tot, 0.99)
    return (q * 1000 if q is not None else None), int(sum(tot))


def args_slack(run):
    """Seconds after a fault's recovery still counted as its window."""
    return 2 * (5 if run["mode"] == "full" else 2)


def bridge_log_events(d):
    """(epoch, bridge id, level, message) of every bridge log line that is
    not about one message (rejections and duplicates are the load's)."""
    import glob
    import datetime
    out = []
    for path in sorted(glob.glob(os.path.join(d, "bridge-*.log"))):
        bid = os.path.basename(path)[7:-4]
        for line in open(path, errors="replace"):
            if not line.startswith("{"):
                continue
            try:
                j = json.loads(line)
            except ValueError:
                continue
            if "message_id" in j or "offset" in j:
                continue
            t = datetime.datetime.strptime(j["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                tzinfo=datetime.timezone.utc).timestamp()
            out.append((t, bid, j.get("level", ""), j.get("msg", "")))
    return out


def writer_activity(logs, lo, hi):
    """The most frequent bridge log messages between lo and hi, numbers
    and addresses folded, as "N x [bridge B] level: message"."""
    import re
    c = collections.Counter()
    for t, bid, lvl, msg in logs:
        if lo <= t <= hi:
            m = re.sub(r"127\.0\.0\.1:\d+(/\d+)?", "HOST", msg)
            m = re.sub(r"\d+", "N", m)
            m = re.sub(r"\[[N,]*\]", "[...]", m)[:140]
            c[(bid, lvl, m)] += 1
    return [f"{n} x [bridge {b}] {lvl}: {m}" for (b, lvl, m), n in c.most_common(6)]


def report(args):
    d = args.dir
    run, rows, faults = load_run(d)
    start, end = run["start"], run["end"]
    warm = start + run["warmup_s"]
    span = end - warm
    q1 = (warm, warm + span / 4)
    q4 = (end - span / 4, end)
    res = {"checks": [], "figures": {}, "faults": []}
    ok = True
    short = run["mode"] == "short"

    def check(name, passed, detail, judged=True):
        nonlocal ok
        res["checks"].append({"check": name, "pass": bool(passed) if judged else None, "detail": detail})
        if judged:
            ok = ok and bool(passed)

    # Checker (soak.sh writes checker.rc and checker.out).
    rc = open(os.path.join(d, "checker.rc")).read().strip() if os.path.exists(os.path.join(d, "checker.rc")) else "missing"
    summary = ""
    if os.path.exists(os.path.join(d, "checker.out")):
        for line in open(os.path.join(d, "checker.out")):
            if line.startswith("checker: expected"):
                summary = line.strip()
    check("history checker: zero anomalies", rc == "0", f"exit {rc}; {summary}")

    # No bridge exited on its own.
    unexpected = []
    if os.path.exists(os.path.join(d, "unexpected.txt")):
        unexpected = [l.strip() for l in open(os.path.join(d, "unexpected.txt")) if l.strip()]
    check("no bridge exited on its own", not unexpected, "; ".join(unexpected) or "none")

    # RSS growth of each bridge that lived through most of the run.
    for bid in range(1, MAX_BRIDGES + 1):
        by_pid = collections.defaultdict(list)
        for r in rows:
            if r.get(f"pid_{bid}") and r.get(f"rss_kb_{bid}"):
                by_pid[r[f"pid_{bid}"]].append((float(r["t"]), float(r[f"rss_kb_{bid}"])))
        for pid, pts in by_pid.items():
            life = pts[-1][0] - pts[0][0]
            pts = [p for p in pts if p[0] >= warm]
            if life < 0.5 * (end - start) or len(pts) < 8:
                continue
            a = [v for t, v in pts if q1[0] <= t < q1[1]]
            b = [v for t, v in pts if q4[0] <= t <= q4[1]]
            if not a or not b:
                continue
            ma, mb = sum(a) / len(a), sum(b) / len(b)
            g = (mb - ma) / ma * 100
            res["figures"][f"bridge_{bid}_rss_mib_q1"] = round(ma / 1024, 1)
            res["figures"][f"bridge_{bid}_rss_mib_q4"] = round(mb / 1024, 1)
            res["figures"][f"bridge_{bid}_rss_growth_pct"] = round(g, 2)
            check(f"bridge {bid} (pid {pid}) RSS growth first -> last quarter < 5%", g < 5,
                  f"{ma / 1024:.1f} MiB -> {mb / 1024:.1f} MiB ({g:+.2f}%)"
                  + (" (short run: buffers still growing after each first fault; not judged)" if short else ""),
                  judged=not short)
            fa = [float(r[f"fds_{bid}"]) for r in rows if r.get(f"pid_{bid}") == pid and r.get(f"fds_{bid}")
                  and q1[0] <= float(r["t"]) < q1[1]]
            fb = [float(r[f"fds_{bid}"]) for r in rows if r.get(f"pid_{bid}") == pid and r.get(f"fds_{bid}")
                  and q4[0] <= float(r["t"]) <= q4[1]]
            if fa and fb:
                res["figures"][f"bridge_{bid}_fds_q1_max"] = max(fa)
                res["figures"][f"bridge_{bid}_fds_q4_max"] = max(fb)
                check(f"bridge {bid} open fds do not grow", max(fb) <= max(fa) + 5,
                      f"max {max(fa):.0f} in the first quarter, {max(fb):.0f} in the last")

    # A ceiling on every bridge's RSS at every sample (the benchmark's peak
    # was 55 MiB).
    peak = max((fnum(r.get(f"rss_kb_{i}")) or 0) for r in rows for i in range(1, MAX_BRIDGES + 1)) if rows else 0
    res["figures"]["bridge_rss_mib_max"] = round(peak / 1024, 1)
    check("every bridge's RSS below 256 MiB at every sample", 0 < peak < 256 * 1024, f"peak {peak / 1024:.1f} MiB")

    # p99 latency, steady state (fault windows and their recovery left out).
    p1, n1 = quarter_p99(rows, *q1, faults)
    p4, n4 = quarter_p99(rows, *q4, faults)
    res["figures"].update({"p99_ms_q1": p1, "p99_ms_q4": p4, "e2e_observed_q1": n1, "e2e_observed_q4": n4})
    if p1 is None or p4 is None:
        check("p99 latency last quarter within 2x of the first", False,
              f"not enough steady-state samples (first quarter {n1}, last {n4})", judged=not short)
    else:
        check("p99 latency last quarter within 2x of the first", p4 <= 2 * p1,
              f"{p1:.0f} ms -> {p4:.0f} ms (steady state, outside fault windows)"
              + (" (short run: the first quarter is the start-up; not judged)" if short else ""),
              judged=not short)

    # Recovery after each fault.
    bound = run["recovery_bound_s"]
    logs = bridge_log_events(d)
    for f in faults:
        rec = fnum(f["recovery_s"])
        fs, fe = fnum(f["start"]), fnum(f["recovered"]) or fnum(f["end"])
        win = [r for r in rows if fs <= float(r["t"]) <= fe + args_slack(run)]
        peak = lambda c: max((fnum(r[c]) for r in win if fnum(r[c]) is not None), default=None)
        res["faults"].append({"fault": f["name"], "start_s": round(fs - start, 1),
                              "duration_s": round(fnum(f["end"]) - fs, 1),
                              "recovery_s": rec, "lag_msgs_peak": peak("lag_msgs"), "lag_s_peak": peak("lag_s"),
                              "outbox_peak": peak("outbox"), "p99_ms_peak": peak("p99_ms"),
                              "out_rate_min": min((fnum(r["out_rate"]) for r in win if fnum(r["out_rate"]) is not None), default=None),
                              "note": f.get("note", ""),
                              "writer": writer_activity(logs, fs, fe + args_slack(run))})
        check(f"lag back to near zero within {bound} s after {f['name']}",
              rec is not None and rec <= bound,
              f"{rec:.0f} s" if rec is not None else "never recovered")

    # Each fault did what it was meant to (a node that did not come back,
    # a bridge not ready, a lag gauge that did not follow a stall...).
    broken = [f"{f['name']}: {f.get('note', '')}" for f in faults
              if "own steps failed" in (f.get("note") or "")]
    check("every fault's own steps succeeded", not broken, "; ".join(broken) or f"{len(faults)} faults")

    # Idempotency rows bounded by the (simulated) retention.
    idem = [(float(r["t"]), fnum(r["idem_rows"]), fnum(r["idem_expired"])) for r in rows if r["idem_rows"]]
    rate = run["rate"]
    limit = rate * (run["age_s"] + 2 * run["ager_interval_s"] + 2 * run["sweep_interval_s"] + 60) * 1.2
    mx = max((v for _, v, _ in idem), default=0)
    res["figures"]["idempotency_rows_max"] = mx
    res["figures"]["idempotency_rows_bound"] = int(limit)
    late = [v for t, v, _ in idem if t >= warm + run["age_s"] + 2 * run["ager_interval_s"]]
    check("idempotency rows bounded by the retention", (max(late) if late else mx) <= limit,
          f"max {mx:.0f} rows, bound {limit:.0f} (rate x (age {run['age_s']} s + ager and sweeper intervals) x 1.2)")
    exp = [e for t, _, e in idem if e is not None]
    res["figures"]["idempotency_expired_max"] = max(exp, default=0)
    res["figures"]["sweeper_rows_deleted_last_run"] = fnum(rows[-1]["sweep_deleted"]) if rows else None
    runs = {}
    for r in rows:
        if r["sweep_finished"] and fnum(r["sweep_deleted"]) is not None:
            runs[r["sweep_finished"]] = fnum(r["sweep_deleted"])
    deleted = int(sum(runs.values()))
    res["figures"]["sweeper_runs_seen"] = len(runs)
    res["figures"]["sweeper_rows_deleted"] = deleted
    check("the sweeper deleted expired idempotency rows during the run", deleted > 0,
          f"{deleted} rows in {len(runs)} runs seen")

    # Throughput and lag figures.
    ins = [fnum(r["in_rate"]) for r in rows if fnum(r["in_rate"]) is not None and float(r["t"]) >= warm]
    outs = [fnum(r["out_rate"]) for r in rows if fnum(r["out_rate"]) is not None and float(r["t"]) >= warm]
    lags = [fnum(r["lag_msgs"]) for r in rows if fnum(r["lag_msgs"]) is not None]
    lagss = [fnum(r["lag_s"]) for r in rows if fnum(r["lag_s"]) is not None]
    res["figures"].update({
        "duration_s": round(end - start), "samples": len(rows),
        "acked_total": int(fnum(rows[-1]["acked"]) or 0) if rows else 0,
        "in_rate_mean": round(sum(ins) / len(ins), 1) if ins else None,
        "out_rate_mean": round(sum(outs) / len(outs), 1) if outs else None,
        "out_rate_max": max(outs, default=None),
        "lag_msgs_max": max(lags, default=None), "lag_s_max": max(lagss, default=None),
        "db_bytes_end": fnum(rows[-1]["db_bytes"]) if rows else None,
    })
    res["figures"]["checker"] = summary
    res["pass"] = ok
    with open(os.path.join(d, "summary.json"), "w") as f:
        json.dump(res, f, indent=1, default=str)
    plot(d, run, rows, faults, args.plot or os.path.join(d, "soak.png"))
    for c in res["checks"]:
        tag = "info" if c["pass"] is None else "ok  " if c["pass"] else "FAIL"
        print(f"{tag} {c['check']}: {c['detail']}")
    return 0 if ok else 1


def plot(d, run, rows, faults, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    start = run["start"]

    def series(col, scale=1.0):
        xs, ys = [], []
        for r in rows:
            v = fnum(r.get(col))
            if v is not None:
                xs.append((float(r["t"]) - start) / 60)
                ys.append(v * scale)
        return xs, ys

    fig, ax = plt.subplots(5, 1, figsize=(14, 15), sharex=True)
    x, y = series("in_rate"); ax[0].plot(x, y, label="in (acked to the producer)", lw=0.8)
    x, y = series("out_rate"); ax[0].plot(x, y, label="out (applied by the database)", lw=0.8)
    ax[0].set_ylabel("payments/s"); ax[0].legend(loc="upper right", fontsize=8)
    x, y = series("lag_msgs"); ax[1].plot(x, y, color="tab:red", lw=0.8, label="lag (records)")
    ax[1].set_ylabel("lag, records"); ax[1].set_yscale("symlog", linthresh=100)
    t2 = ax[1].twinx(); x, y = series("lag_s"); t2.plot(x, y, color="tab:purple", lw=0.8, label="lag (s)")
    t2.set_ylabel("lag, seconds")
    ax[1].legend(loc="upper left", fontsize=8); t2.legend(loc="upper right", fontsize=8)
    x, y = series("p50_ms"); ax[2].plot(x, y, label="p50", lw=0.8)
    x, y = series("p99_ms"); ax[2].plot(x, y, label="p99", lw=0.8)
    ax[2].set_yscale("log"); ax[2].set_ylabel("end-to-end latency, ms"); ax[2].legend(loc="upper right", fontsize=8)
    for i in range(1, MAX_BRIDGES + 1):
        x, y = series(f"rss_kb_{i}", 1 / 1024)
        if x:
            ax[3].plot(x, y, ".", ms=2, label=f"bridge {i} RSS (MiB)")
    t3 = ax[3].twinx()
    for i in range(1, MAX_BRIDGES + 1):
        x, y = series(f"fds_{i}")
        if x:
            t3.plot(x, y, "x", ms=2, alpha=0.4, label=f"bridge {i} fds")
    ax[3].set_ylabel("RSS, MiB"); t3.set_ylabel("open fds")
    ax[3].legend(loc="upper left", fontsize=8); t3.legend(loc="upper right", fontsize=8)
    x, y = series("idem_rows"); ax[4].plot(x, y, label="idempotency rows", lw=0.8)
    x, y = series("outbox"); ax[4].plot(x, y, label="outbox backlog", lw=0.8)
    ax[4].set_ylabel("rows"); ax[4].legend(loc="upper left", fontsize=8)
    t4 = ax[4].twinx()
    for col, lab in (("db_bytes", "database"), ("payment_bytes", "payment"), ("idempotency_bytes", "idempotency")):
        x, y = series(col, 1 / 2 ** 20)
        t4.plot(x, y, "--", lw=0.8, label=f"{lab} MiB")
    t4.set_ylabel("MiB"); t4.legend(loc="upper right", fontsize=8)
    ax[4].set_xlabel("minutes since start")
    colors = plt.cm.tab10.colors
    for i, f in enumerate(faults):
        s = (fnum(f["start"]) - start) / 60
        e = (fnum(f["end"]) - start) / 60
        r = fnum(f["recovered"])
        for a in ax:
            a.axvspan(s, max(e, s + 0.05), color=colors[i % 10], alpha=0.18, lw=0)
            if r:
                a.axvline((r - start) / 60, color=colors[i % 10], lw=0.6, ls=":")
        ax[0].annotate(f["name"], xy=(s, 1.0), xycoords=("data", "axes fraction"), rotation=60,
                       fontsize=7, ha="left", va="bottom")
    ax[0].axvline(run["warmup_s"] / 60, color="grey", ls="--", lw=0.8)
    fig.suptitle(f"voltpay soak: {run['minutes']} min, {run['rate']} payments/s, 5 brokers, "
                 f"1-3 bridges (shaded: faults; dotted: lag recovered)", y=0.995)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sample"); s.add_argument("dir"); s.add_argument("--interval", type=float, default=5)
    u = sub.add_parser("urp"); u.add_argument("brokers"); u.add_argument("--timeout", type=float, default=10)
    r = sub.add_parser("report"); r.add_argument("dir"); r.add_argument("--plot")
    a = ap.parse_args()
    if a.cmd == "sample":
        sample(a)
    elif a.cmd == "urp":
        sys.exit(urp(a))
    else:
        sys.exit(report(a))


if __name__ == "__main__":
    main()
