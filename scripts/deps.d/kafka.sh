#!/usr/bin/env bash
# Installs what the kafka test suite needs to run a real Apache Kafka
# broker: Maven (Debian package maven) to fetch it, and the broker's jars
# themselves (test/kafka/pom.xml: kafka_2.13 and log4j2), copied by
# test/kafka/fetch.sh into $VOLTPAY_CACHE/kafka (default
# ~/.cache/voltpay/kafka).  Java 17 comes from scripts/deps.sh
# (openjdk-17-jre-headless).  Quiet and a few milliseconds when everything
# is there; the first fetch takes 10-60 s.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v mvn >/dev/null; then
	echo "deps: installing maven (for the Kafka broker of the kafka test suite)"
	sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends maven >/dev/null
fi
test/kafka/fetch.sh >/dev/null
