#!/usr/bin/env bash
# META.json: valid PGXN metadata (meta-spec 1.0.0 required keys and forms),
# in step with META.json.in and the version in voltpay.control.
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 - <<'PY'
import json, re, sys
errors = []
version = re.search(r"default_version\s*=\s*'([^']+)'", open("voltpay.control").read()).group(1)
meta = json.load(open("META.json"))
expected = json.loads(open("META.json.in").read().replace("@VERSION@", version))
if meta != expected:
    errors.append("META.json is stale: run `make META.json`")
semver = re.compile(r"^\d+\.\d+\.\d+(-[0-9A-Za-z-]+)?$")
for key in ("name", "abstract", "maintainer", "license", "provides", "meta-spec", "version"):
    if key not in meta:
        errors.append("missing required key %r" % key)
if not re.match(r"^[A-Za-z][A-Za-z0-9_-]+$", meta.get("name", "")):
    errors.append("bad name")
if not semver.match(meta.get("version", "")):
    errors.append("version is not semver")
if meta.get("meta-spec", {}).get("version") != "1.0.0":
    errors.append("meta-spec version must be 1.0.0")
licenses = {"postgresql", "mit", "bsd", "apache_2_0", "gpl_3", "lgpl_3_0", "artistic_2", "restricted", "open_source", "unknown"}
if meta.get("license") not in licenses:
    errors.append("license is not a PGXN license string")
for ext, p in meta.get("provides", {}).items():
    if not semver.match(p.get("version", "")):
        errors.append("provides.%s.version is not semver" % ext)
    if p.get("version") != version:
        errors.append("provides.%s.version differs from voltpay.control" % ext)
    if "file" in p and not p["file"].startswith("sql/"):
        errors.append("provides.%s.file is odd" % ext)
if meta.get("release_status") not in (None, "stable", "testing", "unstable"):
    errors.append("bad release_status")
for e in errors:
    print("META.json: " + e)
print("meta: %d passed, %d failed" % (1 if not errors else 0, 1 if errors else 0))
sys.exit(1 if errors else 0)
PY
