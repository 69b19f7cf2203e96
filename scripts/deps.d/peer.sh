#!/usr/bin/env bash
# Installs what the peer benchmark (bench/peer.sh) needs: Kafka Connect
# (bench/peer/connect-pom.xml, the broker's Kafka version) and the Debezium
# JDBC sink connector (bench/peer/debezium-pom.xml), fetched with Maven by
# test/kafka/fetch.sh into $VOLTPAY_CACHE (default ~/.cache/voltpay), as
# the broker's jars are.  Maven and Java come from scripts/deps.d/kafka.sh
# and scripts/deps.sh.  Quiet and a few milliseconds when cached; the
# first fetch takes 10-60 s (about 75 MB).
set -euo pipefail
cd "$(dirname "$0")/../.."

command -v mvn >/dev/null || bash scripts/deps.d/kafka.sh
test/kafka/fetch.sh bench/peer/connect-pom.xml >/dev/null
test/kafka/fetch.sh bench/peer/debezium-pom.xml >/dev/null
