#!/usr/bin/python3
"""Reads Prometheus text format and Prometheus HTTP API answers for the tests.

  promtext.py get FILE NAME [LABEL=VALUE | LABEL~REGEX]...
      sum of the samples NAME whose labels match; prints nothing and exits
      1 when none matches, exits 2 when FILE is not valid text format
  promtext.py query URL EXPR
      instant query against a Prometheus; prints "labels value" per series,
      exits 2 when Prometheus answers with an error

The text format is parsed by prometheus_client.parser (Debian
python3-prometheus-client), the reference Python client's own parser:
NAME is a sample's full name (foo_total, foo_bucket, foo_sum), label
values come unescaped, and a malformed line is an error, not skipped.
samples() is also used by check_metrics.py.
"""

import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


class FormatError(Exception):
    pass


def samples(path):
    """(name, labels, value) of every sample in the exposition text at PATH."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                yield s.name, s.labels, s.value
    except ValueError as e:
        raise FormatError("%s: not Prometheus text format: %s" % (path, e)) from None


def matches(labels, conds):
    for c in conds:
        if "~" in c and ("=" not in c or c.index("~") < c.index("=")):
            k, _, rx = c.partition("~")
            if not re.search(rx, labels.get(k, "")):
                return False
        else:
            k, _, v = c.partition("=")
            if labels.get(k) != v:
                return False
    return True


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "get":
        path, name, conds = sys.argv[2], sys.argv[3], sys.argv[4:]
        try:
            vals = [v for n, l, v in samples(path) if n == name and matches(l, conds)]
        except FormatError as e:
            print("promtext: %s" % e, file=sys.stderr)
            return 2
        if not vals:
            return 1
        print("%g" % sum(vals))
        return 0
    if len(sys.argv) == 4 and sys.argv[1] == "query":
        url = sys.argv[2].rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode({"query": sys.argv[3]})
        try:
            body = json.load(urllib.request.urlopen(url, timeout=10))
        except urllib.error.HTTPError as e:
            body = json.load(e)
        if body.get("status") != "success":
            print("error: %s" % body.get("error"))
            return 2
        if body["data"]["resultType"] in ("scalar", "string"):
            print("{} %s" % body["data"]["result"][1])
            return 0
        for r in body["data"]["result"]:
            v = r["value"][1] if "value" in r else r.get("values", [[0, ""]])[-1][1]
            print("%s %s" % (json.dumps(r["metric"], sort_keys=True), v))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
