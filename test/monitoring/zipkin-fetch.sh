#!/usr/bin/env bash
# Fetches the Zipkin server the monitoring suite's zipkin scenario runs: the
# self-contained `exec` jar of io.zipkin:zipkin-server from Maven Central
# (Java 17), copied by Maven into a cache folder; prints the jar's path.
#
#   test/monitoring/zipkin-fetch.sh           fetch on first use; print the jar
#   test/monitoring/zipkin-fetch.sh --check   print the jar, or fail if not fetched
#
# The cache is $VOLTPAY_CACHE/zipkin (default ~/.cache/voltpay/zipkin), one
# jar per version; a fetch goes to a temporary folder first, so an
# interrupted one leaves nothing behind.  When cached it runs no Maven and
# takes milliseconds; Maven's own repository (~/.m2) keeps the download.
set -euo pipefail

version=3.4.2
cache=${VOLTPAY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/voltpay}/zipkin
jar=$cache/zipkin-server-$version-exec.jar

if [ -f "$jar" ]; then
	echo "$jar"
	exit 0
fi
if [ "${1:-}" = --check ]; then
	echo "zipkin: zipkin-server $version is not fetched yet (run make deps or $0)" >&2
	exit 1
fi
if ! command -v mvn >/dev/null; then
	echo "zipkin: Maven (mvn) is missing; install the Debian package maven (make deps does)" >&2
	exit 1
fi
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "zipkin: fetching io.zipkin:zipkin-server:$version:exec with Maven (first use)" >&2
# dependency:copy needs a project directory; an empty one serves (standalone).
if ! (cd "$tmp" && mvn -B -ntp dependency:copy \
	-Dartifact="io.zipkin:zipkin-server:$version:jar:exec" \
	-DoutputDirectory="$tmp" >"$tmp/mvn.log" 2>&1); then
	grep -E 'ERROR|Could not' "$tmp/mvn.log" | head -n 20 >&2
	echo "zipkin: Maven could not fetch zipkin-server (settings: ~/.m2/settings.xml)" >&2
	exit 1
fi
[ -f "$tmp/zipkin-server-$version-exec.jar" ] ||
	{ echo "zipkin: Maven finished but the exec jar is not there" >&2; exit 1; }
mv -f "$tmp/zipkin-server-$version-exec.jar" "$jar"
echo "$jar"
