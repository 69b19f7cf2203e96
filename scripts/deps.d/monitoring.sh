#!/usr/bin/env bash
# Installs what monitoring/ and its test suite (test/suites/monitoring.sh)
# need and is missing, all from Debian:
#
#   prometheus                    promtool (check and unit-test the rules) and
#                                 the server (end-to-end test)
#   prometheus-postgres-exporter  runs monitoring/postgres-exporter/queries.yaml
#   prometheus-node-exporter      node memory and OOM-kill counters
#   python3-confluent-kafka       monitoring/kafka-lag-exporter (Kafka group lag)
#   python3-yaml                  the metric-name check reads alerts.yml
#   python3-prometheus-client     the Kafka lag exporter serves /metrics with it;
#                                 the tests parse scrapes with its parser
#   python3-venv                  for the virtualenv below
#
# and, from PyPI, Grafana's foundation SDK for monitoring/grafana/dashboard.py
# (the version and hash pinned in monitoring/grafana/requirements.txt) into
# the virtualenv ${VOLTPAY_CACHE:-~/.cache/voltpay}/grafana-sdk: Debian's
# pip is externally managed.  Reinstalled when requirements.txt changes.
#
# Debian's maintainer scripts start and enable a service for each of the
# three Prometheus packages.  We only want the binaries: the tests run
# their own instances on free loopback ports, and a stray Prometheus on
# :9090 or exporter on :9187/:9100 would collide with them.  So service starts are refused while we
# install (policy-rc.d), and whatever still runs or is enabled afterwards
# is stopped and disabled.  Idempotent and quiet when all is there.
set -euo pipefail
cd "$(dirname "$0")/../.."

debs=(prometheus prometheus-postgres-exporter prometheus-node-exporter
	python3-confluent-kafka python3-yaml python3-prometheus-client python3-venv)
services=(prometheus prometheus-postgres-exporter prometheus-node-exporter)

missing=()
for p in "${debs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"

if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	# Refuse service starts during the install unless a policy is in place
	# already (container images usually have one that says 101).
	policy=/usr/sbin/policy-rc.d
	own_policy=""
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
		$sudo chmod 755 "$policy"
		own_policy=1
	fi
	trap '[ -n "$own_policy" ] && $sudo rm -f "$policy"' EXIT
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
fi

# Whatever the install (now or earlier) left running or enabled: stop and
# disable it.  With systemd as init, systemctl; otherwise the init scripts.
if [ -d /run/systemd/system ]; then
	for s in "${services[@]}"; do
		if systemctl is-enabled --quiet "$s" 2>/dev/null || systemctl is-active --quiet "$s" 2>/dev/null; then
			echo "deps: stopping and disabling the $s service (the tests run their own)"
			$sudo systemctl disable --now --quiet "$s" 2>/dev/null || true
		fi
	done
else
	for s in "${services[@]}"; do
		[ -x "/etc/init.d/$s" ] || continue
		if "/etc/init.d/$s" status >/dev/null 2>&1; then
			echo "deps: stopping the $s service (the tests run their own)"
			$sudo "/etc/init.d/$s" stop >/dev/null 2>&1 || true
		fi
		if ls /etc/rc[2-5].d/S*"$s" >/dev/null 2>&1; then
			$sudo update-rc.d "$s" disable >/dev/null 2>&1 || true
		fi
	done
fi

venv=${VOLTPAY_CACHE:-$HOME/.cache/voltpay}/grafana-sdk
req=monitoring/grafana/requirements.txt
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ "$(cat "$venv/.voltpay-requirements.sha256" 2>/dev/null)" != "$want" ] || [ ! -x "$venv/bin/python" ]; then
	echo "deps: installing Grafana's foundation SDK ($req) into $venv"
	rm -rf "$venv"
	mkdir -p "$(dirname "$venv")"
	/usr/bin/python3 -m venv "$venv"
	"$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps --require-hashes -r "$req"
	echo "$want" >"$venv/.voltpay-requirements.sha256"
fi
exit 0
