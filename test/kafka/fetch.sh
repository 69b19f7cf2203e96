#!/usr/bin/env bash
# Fetches the Apache Kafka broker that the kafka test suite runs: the jars
# test/kafka/pom.xml lists (kafka_2.13 with its runtime dependencies, and
# log4j2), copied by Maven into a cache folder, then prints that folder.
#
#   test/kafka/fetch.sh            fetch on first use; print the jar folder
#   test/kafka/fetch.sh --check    print the jar folder, or fail if not fetched
#   test/kafka/fetch.sh [--check] POM
#                                  the same for another dependency list (the
#                                  peer benchmark's Kafka Connect and Debezium,
#                                  bench/peer/*-pom.xml): cached in a folder
#                                  named by the POM's artifactId, versioned
#                                  by its <voltpay.fetch.version> (or
#                                  <kafka.version>), checked for the jar name
#                                  prefixes in its <voltpay.fetch.expect>
#
# The cache is $VOLTPAY_CACHE/kafka (default ~/.cache/voltpay/kafka), one
# subfolder per Kafka version and pom.xml content, so editing the pom
# fetches again (other versions are removed after a day unused); a
# complete fetch is marked by the file "complete", and an interrupted one
# leaves nothing behind.  When cached it runs no Maven and
# takes milliseconds.  Maven's own repository (~/.m2) keeps the downloads,
# so a new cache folder after a pom change costs seconds, not a download.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
check=""
if [ "${1:-}" = --check ]; then check=1; shift; fi
pom=${1:-$here/pom.xml}
[ -f "$pom" ] || { echo "kafka: no dependency list $pom" >&2; exit 1; }
pom=$(cd "$(dirname "$pom")" && pwd)/$(basename "$pom")
pomval() { sed -n "s:.*<$1>\\(.*\\)</$1>.*:\\1:p" "$pom" | head -n 1; }
name=kafka
expect=""
version=$(pomval kafka.version)
if [ "$pom" != "$here/pom.xml" ]; then
	name=$(sed -n '/<parent>/,/<\/parent>/d; s:.*<artifactId>\(.*\)</artifactId>.*:\1:p' "$pom" | head -n 1)
	expect=$(pomval voltpay.fetch.expect)
	v=$(pomval voltpay.fetch.version)
	case "$v" in
	'${'*'}') v=$(pomval "$(echo "$v" | sed 's/^..//; s/.$//')") ;;
	esac
	[ -n "$v" ] && version=$v
fi
cache=${VOLTPAY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/voltpay}/$name
sum=$(sha256sum "$pom" | cut -c1-12)
dir=$cache/$version-$sum

if [ -f "$dir/complete" ]; then
	touch "$dir" 2>/dev/null || true		# last use, for the clean-up below
	echo "$dir/libs"
	exit 0
fi
if [ -n "$check" ]; then
	echo "kafka: $name $version is not fetched yet (run make deps or test/kafka/fetch.sh)" >&2
	exit 1
fi
if ! command -v mvn >/dev/null; then
	echo "kafka: Maven (mvn) is missing; install the Debian package maven (make deps does)" >&2
	exit 1
fi

mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "kafka: fetching $name $version with Maven into $dir (first use)" >&2
start=$(date +%s)
if ! mvn -B -ntp -f "$pom" dependency:copy-dependencies -DoutputDirectory="$tmp/libs" \
	-Dmdep.useRepositoryLayout=false >"$tmp/mvn.log" 2>&1; then
	grep -E 'ERROR|Could not' "$tmp/mvn.log" | head -n 20 >&2
	echo "kafka: Maven could not fetch the $name jars (errors above; settings: ~/.m2/settings.xml)" >&2
	exit 1
fi
[ -n "$expect" ] || expect="kafka_2.13-$version.jar kafka-clients-$version.jar log4j-core-"
for jar in $expect; do
	if ! ls "$tmp/libs/$jar"* >/dev/null 2>&1; then
		echo "kafka: Maven finished but $jar is not among the fetched jars" >&2
		exit 1
	fi
done
cp "$pom" "$tmp/pom.xml"
touch "$tmp/complete"
# Atomic: another fetch that finished first wins, and this copy is dropped.
mv -T "$tmp" "$dir" 2>/dev/null || true
trap - EXIT
rm -rf "$tmp"
# Older versions are dead weight (about 45 MB each); those used in the
# last day are kept, in case a test of another checkout still runs them.
find "$cache" -mindepth 1 -maxdepth 1 ! -name "$(basename "$dir")" ! -name '.fetch.*' \
	-mtime +0 -exec rm -rf {} + 2>/dev/null || true
echo "kafka: $(ls "$dir/libs" | wc -l) jars, $(du -sh "$dir/libs" | cut -f1), in $(($(date +%s) - start)) s" >&2
echo "$dir/libs"
