#!/usr/bin/env bash
# Fetches the Zipkin server (io.zipkin:zipkin-server, the exec jar) that the
# monitoring suite's zipkin scenario runs, with Maven, into
# $VOLTPAY_CACHE/zipkin (test/monitoring/zipkin-fetch.sh).  Maven comes from
# scripts/deps.d/kafka.sh, Java 17 from scripts/deps.sh.  Quiet and a few
# milliseconds when the jar is there; the first fetch takes 5-30 s.
set -euo pipefail
cd "$(dirname "$0")/../.."

test/monitoring/zipkin-fetch.sh >/dev/null
