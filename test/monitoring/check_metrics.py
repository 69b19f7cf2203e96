#!/usr/bin/python3
"""Checks that the alerts and the dashboard only name metrics that exist.

  check_metrics.py --rules monitoring/alerts.yml --dashboard monitoring/grafana/voltpay.json \
      --prometheus-config monitoring/prometheus.yml --runbook docs/runbook.md \
      --scrape bridge=FILE --scrape postgres=FILE ...

Every metric name in an alert or recording rule expression and in every
dashboard query must be one of: a series in one of the scraped /metrics
texts (FILE is what `curl .../metrics` returned), a recording rule of the
rules file, or a series Prometheus makes itself (up, ALERTS).  With
--prometheus-config, every job="..." an expression selects must be a job of
that file; with --runbook, every alert needs a severity, a summary and a
runbook_url whose #anchor is a heading of the runbook.

  check_metrics.py --dashboard FILE --queries RATE

prints each dashboard query on one line as JSON, with $__rate_interval
replaced by RATE, for running them against a real Prometheus.

  check_metrics.py --dashboard FILE --query-rules RATE

prints the dashboard's queries as a Prometheus rules file (one recording
rule per query), so that `promtool check rules` parses every one of them.

Prints one line per problem and "check_metrics: N names checked, N missing";
exits 1 when anything is wrong.
"""

import argparse
import json
import os
import re
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import promtext  # noqa: E402

KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
            "group_right", "bool", "offset", "inf", "nan", "atan2"}
BUILTIN = {"up", "ALERTS", "ALERTS_FOR_STATE", "scrape_duration_seconds",
           "scrape_samples_scraped", "scrape_series_added"}


def metric_names(expr):
    """The metric names a PromQL expression selects (a careful tokenizer, not a parser)."""
    s = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    jobs = []
    s = re.sub(r"\{[^}]*\}", " ", s)
    s = re.sub(r"\[[^\]]*\]", " ", s)
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    s = re.sub(r"\boffset\s+-?\w+", " ", s)
    names = set()
    for m in re.finditer(r"(?<![\w.:$])([A-Za-z_:][A-Za-z0-9_:]*)", s):
        name = m.group(1)
        rest = s[m.end():]
        if re.match(r"\s*\(", rest):          # a function call
            continue
        if name.lower() in KEYWORDS:
            continue
        names.add(name)
    return names


def selected_jobs(expr):
    return set(re.findall(r'\bjob\s*=\s*"([^"]*)"', expr)) | {
        j for alt in re.findall(r'\bjob\s*=~\s*"([^"]*)"', expr) for j in alt.split("|")}


def scraped_names(path):
    """Every sample name in a scrape (parsed by prometheus_client, see promtext.py)."""
    return {name for name, _, _ in promtext.samples(path)}


def dashboard_queries(path):
    d = json.load(open(path))
    out = []

    def walk(panels):
        for p in panels:
            if p.get("type") == "row":
                walk(p.get("panels", []))
                continue
            for t in p.get("targets", []):
                out.append((p.get("title", "?"), t.get("expr", "")))
    walk(d.get("panels", []))
    return d, out


def slug(heading):
    """GitHub's anchor for a Markdown heading."""
    h = heading.strip().lower()
    h = re.sub(r"[^\w\- ]", "", h)
    return h.replace(" ", "-")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rules")
    ap.add_argument("--dashboard")
    ap.add_argument("--prometheus-config")
    ap.add_argument("--runbook")
    ap.add_argument("--scrape", action="append", default=[], help="SOURCE=FILE")
    ap.add_argument("--queries", metavar="RATE")
    ap.add_argument("--query-rules", metavar="RATE")
    ap.add_argument("--list", action="store_true", help="print each name and where it comes from")
    ap.add_argument("--skip-names", action="store_true",
                    help="no scrapes to compare with: check jobs, runbook and dashboard structure only")
    a = ap.parse_args()

    if a.queries:
        _, qs = dashboard_queries(a.dashboard)
        for title, q in qs:
            print(json.dumps({"panel": title, "query": q.replace("$__rate_interval", a.queries)}))
        return 0

    if a.query_rules:
        _, qs = dashboard_queries(a.dashboard)
        rules = [{"record": "dashboard:query_%d" % i,
                  "expr": q.replace("$__rate_interval", a.query_rules),
                  "labels": {"panel": title}} for i, (title, q) in enumerate(qs, 1)]
        print(yaml.safe_dump({"groups": [{"name": "dashboard-queries", "rules": rules}]},
                             sort_keys=False, allow_unicode=True), end="")
        return 0

    problems = []
    used = {}          # name -> [where]
    recorded = set()
    alerts = []
    if a.rules:
        rules = yaml.safe_load(open(a.rules))
        for g in rules["groups"]:
            for r in g["rules"]:
                where = "rule " + (r.get("alert") or r.get("record"))
                if "record" in r:
                    recorded.add(r["record"])
                else:
                    alerts.append(r)
                for n in metric_names(r["expr"]):
                    used.setdefault(n, []).append(where)
    if a.dashboard:
        d, qs = dashboard_queries(a.dashboard)
        ids = [p.get("id") for p in d["panels"]]
        if len(ids) != len(set(ids)):
            problems.append("dashboard: panel ids are not unique")
        for p in d["panels"]:
            if p.get("type") != "row" and not p.get("targets"):
                problems.append("dashboard: panel %r has no query" % p.get("title"))
        for title, q in qs:
            if not q.strip():
                problems.append("dashboard: panel %r has an empty query" % title)
            for n in metric_names(q):
                used.setdefault(n, []).append("panel %r" % title)

    sources = {}
    for s in a.scrape:
        src, _, path = s.partition("=")
        try:
            for n in scraped_names(path):
                sources.setdefault(n, []).append(src)
        except promtext.FormatError as e:
            problems.append("scrape %s: %s" % (src, e))

    missing = 0
    for n in sorted(used) if not a.skip_names else []:
        if n in sources:
            origin = "exported by " + ",".join(sorted(set(sources[n])))
        elif n in recorded:
            origin = "recording rule"
        elif n in BUILTIN:
            origin = "Prometheus"
        else:
            missing += 1
            problems.append("MISSING %s: not exported by any scraped source (used by %s)"
                            % (n, "; ".join(sorted(set(used[n])))))
            continue
        if a.list:
            print("  %-58s %s" % (n, origin))

    if a.prometheus_config:
        cfg = yaml.safe_load(open(a.prometheus_config))
        jobs = {j["job_name"] for j in cfg.get("scrape_configs", [])}
        exprs = []
        if a.rules:
            exprs += [r["expr"] for g in rules["groups"] for r in g["rules"]]
        if a.dashboard:
            exprs += [q for _, q in qs]
        for e in exprs:
            for j in selected_jobs(e):
                if j not in jobs and not re.search(r"[.*+?\[\]]", j):
                    problems.append("job %r selected by %r is not a job of %s" % (j, e.strip()[:60], a.prometheus_config))

    if a.runbook:
        heads = {slug(h) for h in re.findall(r"^#{1,6}\s+(.*)$", open(a.runbook).read(), re.M)}
        for r in alerts:
            name = r["alert"]
            if r.get("labels", {}).get("severity") not in ("critical", "warning"):
                problems.append("alert %s: severity must be critical or warning" % name)
            ann = r.get("annotations", {})
            if not ann.get("summary"):
                problems.append("alert %s: no summary" % name)
            url = ann.get("runbook_url", "")
            anchor = url.partition("#")[2]
            if not anchor or anchor not in heads:
                problems.append("alert %s: runbook_url %r has no matching heading in %s" % (name, url, a.runbook))

    for p in problems:
        print("check_metrics: " + p)
    print("check_metrics: %d names checked, %d missing, %d problems" % (len(used), missing, len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
