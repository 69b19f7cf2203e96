#!/usr/bin/env bash
# Monitoring, tested against the real tools (docs/monitoring.md):
#
#   rules        promtool check rules / check config / test rules (a unit test
#                firing and one silent per alert), the dashboard's and the
#                runbook's consistency with the rules; the dashboard JSON is
#                what monitoring/grafana/dashboard.py generates, byte for
#                byte, and each of its queries parses
#   exporter     prometheus-postgres-exporter with our queries file, as the
#                unprivileged voltpay_exporter login, against a private
#                cluster with pg_stat_statements: every figure it exports
#                is the database's
#   e2e          a real Prometheus (1 s scrapes and evaluations) scrapes a
#                bridge under load (two apply connections), the postgres, Kafka-lag and node
#                exporters: its API shows the rates and the lag; every metric
#                the alerts and the dashboard name is exported; every
#                dashboard query runs; the bridge is stopped while messages
#                keep arriving and VoltpayConsumerLagHigh (lag in seconds,
#                threshold lowered to 5 s here) goes pending
#   lag_seconds  the Kafka lag exporter against records produced at known
#                times on a mock Kafka (test/monitoring/lag_seconds.py):
#                kafka_exporter's values for the names it shares, lag in
#                seconds within a poll interval plus 0.25 s
#   traceparent  a message with a W3C traceparent header and one without,
#                end to end (test/monitoring/traceparent.sh): events carry the
#                trace on with new span ids or start a new one, and the
#                bridge's log lines about each message carry its trace_id
#   zipkin       a real Zipkin (test/monitoring/zipkin.sh): the spans of payments
#                with and without a traceparent, a rejected one and an
#                unsampled one, read back through its API (parents, steps,
#                durations, the batch span, tracestate, span_id in the logs);
#                then Zipkin killed under load: every message applied, the
#                lost spans counted
#
#   test/suites/monitoring.sh [SCENARIO...]
#
# VM_KEEP=1 keeps the work directory.  Prints one line per scenario and
# "monitoring: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."

. test/lib/pgcluster.sh
. test/bridge/lib.sh
. test/monitoring/lib.sh

ALL_SCENARIOS=(rules exporter e2e lag_seconds traceparent zipkin)

VM_WORK=$(mktemp -d /tmp/voltpay-monitoring-test.XXXXXX)
VB_WORK=$VM_WORK

fail() {
	echo "$*" >>"$VM_DIR/fail.txt"
	vm_log "FAIL: $*"
	return 1
}

need() {
	local b
	for b in "$@"; do
		command -v "$b" >/dev/null || [ -x "$b" ] || { fail "$b is missing (make deps / make bridge)"; return 1; }
	done
}

# ---------------------------------------------------------------------------

scenario_rules() {
	need promtool || return 1
	promtool check rules monitoring/alerts.yml >>"$VM_DIR/scenario.log" 2>&1 ||
		fail "promtool check rules: $(tail -n 3 "$VM_DIR/scenario.log" | tr '\n' ' ')" || return 1
	promtool check config monitoring/prometheus.yml >>"$VM_DIR/scenario.log" 2>&1 ||
		fail "promtool check config monitoring/prometheus.yml failed" || return 1
	promtool test rules monitoring/tests/alerts.test.yml >"$VM_DIR/promtool-test.out" 2>&1 ||
		fail "promtool test rules: $(grep -m1 -A2 'name:' "$VM_DIR/promtool-test.out" | tr '\n' ' ')" || return 1
	# Every alert has a unit test that fires it and one that keeps it silent.
	"$VM_PY" - monitoring/alerts.yml monitoring/tests/alerts.test.yml >"$VM_DIR/coverage.out" 2>&1 <<-'EOF' ||
		import sys, yaml
		rules = yaml.safe_load(open(sys.argv[1]))
		alerts = [r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r]
		fires, silent = set(), set()
		for t in yaml.safe_load(open(sys.argv[2]))["tests"]:
		    for a in t.get("alert_rule_test", []):
		        (fires if a.get("exp_alerts") else silent).add(a["alertname"])
		bad = [a for a in alerts if a not in fires or a not in silent]
		for a in bad:
		    print("alert %s lacks a %s test" % (a, "firing" if a not in fires else "silent"))
		print("%d alerts, %d fully tested" % (len(alerts), len(alerts) - len(bad)))
		sys.exit(1 if bad else 0)
	EOF
		fail "$(head -n 1 "$VM_DIR/coverage.out")" || return 1
	# The dashboard's structure, the jobs the expressions select, and a
	# runbook section for every alert (the e2e scenario checks the metric
	# names against real scrapes).
	"$VM_PY" test/monitoring/check_metrics.py --rules monitoring/alerts.yml \
		--dashboard monitoring/grafana/voltpay.json --prometheus-config monitoring/prometheus.yml \
		--runbook docs/runbook.md --skip-names >"$VM_DIR/static-check.out" 2>&1 ||
		fail "$(head -n 1 "$VM_DIR/static-check.out")" || return 1
	# The dashboard is generated: dashboard.py gives the committed JSON,
	# byte for byte, and every query of it parses (promtool, as rules).
	[ -x "$VM_GRAFANA_PY" ] || fail "$VM_GRAFANA_PY is missing (make deps)" || return 1
	"$VM_GRAFANA_PY" monitoring/grafana/dashboard.py >"$VM_DIR/voltpay.json" 2>"$VM_DIR/dashboard.err" ||
		fail "monitoring/grafana/dashboard.py failed: $(tail -n 1 "$VM_DIR/dashboard.err")" || return 1
	cmp -s "$VM_DIR/voltpay.json" monitoring/grafana/voltpay.json ||
		fail "monitoring/grafana/voltpay.json differs from what dashboard.py generates (regenerate it, docs/monitoring.md section 6): $(diff monitoring/grafana/voltpay.json "$VM_DIR/voltpay.json" | head -n 4 | tr '\n' ' ')" || return 1
	"$VM_PY" test/monitoring/check_metrics.py --dashboard monitoring/grafana/voltpay.json \
		--query-rules 15s >"$VM_DIR/dashboard-queries.yml" || fail "could not list the dashboard's queries" || return 1
	promtool check rules "$VM_DIR/dashboard-queries.yml" >"$VM_DIR/dashboard-queries.out" 2>&1 ||
		fail "a dashboard query does not parse: $(grep -m2 -v '^Checking\|^  SUCCESS' "$VM_DIR/dashboard-queries.out" | tr '\n' ' ')" || return 1
	echo "dashboard: $(grep -c 'record:' "$VM_DIR/dashboard-queries.yml") queries, generated and parsed" >>"$VM_DIR/results.txt"
	# The bridge's default HTTP port: the same in --help, prometheus.yml,
	# the README and docs/bridge.md, and clear of Prometheus' default-port
	# allocations for exporters (9100-9999, then 10000 on) and of the
	# components the monitoring stack runs beside it.
	"$VB_BRIDGE" --help >"$VM_DIR/bridge-help.txt" 2>&1
	"$VM_PY" - "$VM_DIR/bridge-help.txt" >"$VM_DIR/port-check.out" 2>&1 <<-'EOF' ||
		import re, sys, yaml
		help_text = open(sys.argv[1]).read()
		m = re.search(r"--http-port PORT\s+.*?Default: (\d+)\.", help_text, re.S)
		if not m:
		    sys.exit("voltpay-bridge --help names no default HTTP port")
		port = int(m.group(1))
		bad = []
		jobs = {j["job_name"]: [t for c in j.get("static_configs", []) for t in c["targets"]]
		        for j in yaml.safe_load(open("monitoring/prometheus.yml"))["scrape_configs"]}
		if jobs.get("voltpay-bridge") != ["127.0.0.1:%d" % port]:
		    bad.append("prometheus.yml scrapes the bridge at %s" % jobs.get("voltpay-bridge"))
		others = {int(t.rpartition(":")[2]) for j, ts in jobs.items() if j != "voltpay-bridge" for t in ts}
		if port in others:
		    bad.append("another scrape job of prometheus.yml uses port %d" % port)
		if 9090 <= port <= 9094 or 9100 <= port <= 10999:
		    bad.append("%d is a Prometheus component's or in the exporters' allocation" % port)
		if "`127.0.0.1`, `%d`" % port not in open("README.md").read():
		    bad.append("README's configuration reference names another default port")
		if "| `%d` | port of the HTTP" % port not in open("docs/bridge.md").read():
		    bad.append("docs/bridge.md names another default port")
		for b in bad:
		    print(b)
		print("default HTTP port %d: %s" % (port, "ok" if not bad else "%d problems" % len(bad)))
		sys.exit(1 if bad else 0)
	EOF
		fail "$(head -n 1 "$VM_DIR/port-check.out")" || return 1
	return 0
}

# Payments applied straight through apply_payment_batch(), then one scrape
# of the exporter: per-partition counters, outbox, rejections,
# pg_stat_statements and a statement running right now.
scenario_exporter() {
	local db=vm_exporter f=$VM_DIR/exporter.txt sleeper v
	need prometheus-postgres-exporter || return 1
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" || return 1
	psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "CREATE EXTENSION voltpay" || return 1
	vm_exporter_role "$db" || fail "could not create the exporter role" || return 1
	psql -X -q -v ON_ERROR_STOP=1 -d "$db" >>"$VM_DIR/scenario.log" <<-'EOF' || fail "apply_payment_batch failed" || return 1
		\set p1 '{"message_id":"6f1c2b8e-4c1a-4f7e-9a51-0d2b3c4d5e6f","payment_id":"0b7f3a52-2d4e-4b8a-8c6d-1e2f3a4b5c6d","account_id":"ACC-1","amount":"12.50","currency":"EUR","debtor":{"name":"Ann Smith","iban":"DE89370400440532013000","bic":"COBADEFFXXX"},"creditor":{"name":"Bob Jones","iban":"GB82WEST12345698765432"},"customer_email":"ann@example.com","created_at":"2026-11-24T10:00:00Z"}'
		\set p2 '{"message_id":"7a1c2b8e-4c1a-4f7e-9a51-0d2b3c4d5e6f","payment_id":"1b7f3a52-2d4e-4b8a-8c6d-1e2f3a4b5c6d","account_id":"ACC-2","amount":"3.00","currency":"EUR","debtor":{"name":"Ann Smith","iban":"DE89370400440532013000"},"creditor":{"name":"Bob Jones","iban":"GB82WEST12345698765432"},"created_at":"2026-11-24T10:00:00Z"}'
		SELECT status, reason FROM voltpay.apply_payment_batch(
			ARRAY['ACC-1', 'ACC-1', 'ACC-2', 'ACC-3'],
			ARRAY[convert_to(:'p1', 'UTF8'), convert_to(:'p1', 'UTF8'), convert_to(:'p2', 'UTF8'), convert_to('{"amount": 1', 'UTF8')],
			'payment_writer_topic', ARRAY[0, 0, 1, 1], ARRAY[0::bigint, 1, 0, 1],
			ARRAY[now(), now(), now(), now()]);
		ANALYZE voltpay.idempotency;
	EOF
	# The monitoring login reads the views and nothing else.
	psql -X -q -d "$db" -U voltpay_exporter -c "SELECT count(*) FROM voltpay.metrics_partitions" >/dev/null ||
		fail "voltpay_exporter cannot read voltpay.metrics_partitions" || return 1
	if psql -X -q -d "$db" -U voltpay_exporter -c "SELECT count(*) FROM voltpay.payment" >/dev/null 2>&1; then
		fail "voltpay_exporter can read voltpay.payment"
		return 1
	fi
	psql -X -q -d "$db" -c "SELECT pg_sleep(8)" >/dev/null 2>&1 &
	sleeper=$!
	VM_PIDS+=("$sleeper")
	vm_pg_exporter "$db" || fail "postgres exporter did not start: $(tail -n 2 "$VM_DIR/pg-exporter.log")" || return 1
	sleep 1
	vm_scrape "http://127.0.0.1:$VM_PGEXP_PORT/metrics" "$f" || fail "scrape of the exporter failed" || return 1

	# expect NAME VALUE [LABEL=VALUE...]
	expect() {
		local name=$1 want=$2 got
		shift 2
		got=$(vm_value "$f" "$name" "$@")
		vm_log "$name{$*} = ${got:-<none>} (want $want)"
		[ "$got" = "$want" ] || fail "$name{$*} is ${got:-absent}, expected $want"
	}
	local ok=0
	expect pg_exporter_user_queries_load_error 0 || ok=1
	expect pg_exporter_last_scrape_error 0 || ok=1
	expect pg_up 1 || ok=1
	expect voltpay_db_partition_applied_total 1 topic=payment_writer_topic partition=0 || ok=1
	expect voltpay_db_partition_duplicate_total 1 topic=payment_writer_topic partition=0 || ok=1
	expect voltpay_db_partition_rejected_total 0 topic=payment_writer_topic partition=0 || ok=1
	expect voltpay_db_partition_applied_total 1 topic=payment_writer_topic partition=1 || ok=1
	expect voltpay_db_partition_rejected_total 1 topic=payment_writer_topic partition=1 || ok=1
	expect voltpay_db_partition_next_offset 2 topic=payment_writer_topic partition=0 || ok=1
	expect voltpay_db_partition_next_offset 2 topic=payment_writer_topic partition=1 || ok=1
	expect voltpay_db_outbox_pending 2 kind=read || ok=1
	expect voltpay_db_outbox_pending 1 kind=email || ok=1
	expect voltpay_db_outbox_pending 1 kind=dead_letter || ok=1
	expect voltpay_db_rejected_messages 1 reason=invalid_json || ok=1
	expect voltpay_db_rejected_unreprocessed_messages 1 reason=invalid_json || ok=1
	expect voltpay_db_idempotency_rows_estimate 2 || ok=1
	expect voltpay_db_sweeper_retention_seconds 604800 || ok=1
	expect pg_stat_statements_calls_total 1 datname=$db user=postgres 'query~apply_payment_batch' || ok=1
	v=$(vm_value "$f" voltpay_db_partition_last_apply_age_seconds partition=0)
	"$VM_PY" -c "import sys; sys.exit(0 if 0 <= float('${v:-nan}') < 60 else 1)" ||
		fail "last apply age of partition 0 is ${v:-absent}" || ok=1
	v=$(vm_value "$f" voltpay_db_outbox_oldest_age_seconds kind=read)
	"$VM_PY" -c "import sys; sys.exit(0 if 0 <= float('${v:-nan}') < 60 else 1)" ||
		fail "oldest read event age is ${v:-absent}" || ok=1
	v=$(vm_value "$f" pg_active_queries_max_duration_seconds datname=$db usename=postgres)
	"$VM_PY" -c "import sys; sys.exit(0 if 0 < float('${v:-nan}') < 8 else 1)" ||
		fail "the running pg_sleep is not in pg_active_queries_max_duration_seconds (${v:-absent})" || ok=1
	kill "$sleeper" 2>/dev/null
	return $ok
}

# A bridge under load, watched by a real Prometheus.
scenario_e2e() {
	local out v f
	need prometheus promtool prometheus-postgres-exporter prometheus-node-exporter \
		bridge/voltpay-bridge bridge/voltpay-loadgen bridge/voltpay-mockkafka || return 1
	vb_scenario_begin e2e >/dev/null || fail "could not create the database" || return 1
	vm_exporter_role "$VB_DBNAME" || fail "could not create the exporter role" || return 1
	vb_mock_start || fail "mock Kafka did not start" || return 1
	# Two apply connections: the dashboard's per-connection panel has
	# series to check.
	vb_bridge_start 1 --db-connections 2
	vb_bridge_wait_ready 1 30 2>>"$VM_DIR/scenario.log" || fail "bridge did not become ready" || return 1
	VM_TARGETS_BRIDGE=("\"127.0.0.1:${VB_BRIDGE_PORT[1]}\"")
	vm_pg_exporter "$VB_DBNAME" || fail "postgres exporter did not start" || return 1
	vm_lag_exporter "$VB_BROKERS" || fail "kafka lag exporter did not start: $(tail -n 2 "$VM_DIR/lag-exporter.log")" || return 1
	vm_node_exporter || fail "node exporter did not start" || return 1
	# Lag in seconds passes 60 s only after a minute of outage: 5 s here.
	VM_THRESHOLDS=(consumer_lag_seconds=5)
	vm_prometheus || fail "prometheus did not start: $(tail -n 3 "$VM_DIR/prometheus/prometheus.log")" || return 1
	vm_wait_query 'count(up == 1) == 4' 20 >/dev/null ||
		fail "not every target is up: $(vm_query 'up' | tr '\n' ' ')" || return 1

	# Load: 12,000 messages at 2,000/s, some duplicates and invalid ones.
	vm_log "load 1: 12000 at 2000/s"
	vb_loadgen_bg --count 12000 --rate 2000 --accounts 500 --duplicate-fraction 0.05 \
		--invalid-fraction 0.03 --email-fraction 0.3 --seed 42
	out=$(vm_wait_query 'sum(rate(voltpay_bridge_messages_consumed_total[5s])) > 100' 30) ||
		fail "Prometheus shows no consumption rate during the load" || return 1
	echo "consumed rate during load: $out" >>"$VM_DIR/results.txt"
	out=$(vm_wait_query 'sum(rate(voltpay_bridge_messages_applied_total[5s])) > 100' 15) ||
		fail "no applied rate" || return 1
	out=$(vm_wait_query 'sum(rate(voltpay_db_partition_applied_total[5s])) > 0' 15) ||
		fail "no applied rate from the database counters" || return 1
	out=$(vm_wait_query 'count(voltpay_bridge_consumer_lag) > 0' 10) ||
		fail "no per-partition lag from the bridge" || return 1
	out=$(vm_wait_query 'count(kafka_consumergroup_lag{consumergroup="voltpay-writer"}) > 0' 10) ||
		fail "no per-partition lag from the brokers" || return 1
	out=$(vm_wait_query 'voltpay:consumer_lag:sum' 10) || fail "no voltpay:consumer_lag:sum" || return 1
	out=$(vm_wait_query 'voltpay:consumer_lag_seconds:max' 10) || fail "no voltpay:consumer_lag_seconds:max" || return 1
	echo "lag seconds during load: $(echo "$out" | awk '{print $NF}')" >>"$VM_DIR/results.txt"
	out=$(vm_wait_query 'histogram_quantile(0.99, sum by (le) (rate(voltpay_bridge_end_to_end_latency_seconds_bucket[10s]))) > 0' 15) ||
		fail "no end-to-end latency" || return 1
	echo "e2e latency p99 during load: $out" >>"$VM_DIR/results.txt"
	wait "$VB_LOADGEN_PID" || fail "loadgen failed" || return 1
	vb_wait_caught_up 60 2>>"$VM_DIR/scenario.log" || fail "bridge did not catch up" || return 1
	sleep 2
	v=$(vm_query 'sum(voltpay_db_partition_applied_total) + sum(voltpay_db_partition_duplicate_total) + sum(voltpay_db_partition_rejected_total)')
	echo "database counters after load 1: $v" >>"$VM_DIR/results.txt"
	v=$(vm_query 'voltpay:consumer_lag:sum')
	echo "lag after catching up: $v" >>"$VM_DIR/results.txt"

	# Every metric the alerts and the dashboard name, against real scrapes.
	psql -X -q -d "$VB_DBNAME" -c "SELECT pg_sleep(3)" >/dev/null 2>&1 &
	VM_PIDS+=("$!")
	sleep 1
	vm_scrape "http://127.0.0.1:${VB_BRIDGE_PORT[1]}/metrics" "$VM_DIR/scrape-bridge.txt" &&
	vm_scrape "http://127.0.0.1:$VM_PGEXP_PORT/metrics" "$VM_DIR/scrape-postgres.txt" &&
	vm_scrape "http://127.0.0.1:$VM_LAG_PORT/metrics" "$VM_DIR/scrape-kafka-lag.txt" &&
	vm_scrape "http://127.0.0.1:$VM_NODE_PORT/metrics" "$VM_DIR/scrape-node.txt" ||
		fail "a scrape failed" || return 1
	"$VM_PY" test/monitoring/check_metrics.py --rules monitoring/alerts.yml \
		--dashboard monitoring/grafana/voltpay.json --prometheus-config monitoring/prometheus.yml \
		--runbook docs/runbook.md --list \
		--scrape bridge="$VM_DIR/scrape-bridge.txt" --scrape postgres-exporter="$VM_DIR/scrape-postgres.txt" \
		--scrape kafka-lag-exporter="$VM_DIR/scrape-kafka-lag.txt" --scrape node-exporter="$VM_DIR/scrape-node.txt" \
		>"$VM_DIR/check-metrics.out" 2>&1 ||
		fail "$(grep -m3 '^check_metrics: ' "$VM_DIR/check-metrics.out" | tr '\n' ' ')" || return 1

	# Every dashboard query runs in Prometheus ($__rate_interval as 15s).
	local nq=0 nerr=0 ndata=0 q
	while IFS= read -r line; do
		q=$("$VM_PY" -c 'import json,sys; print(json.loads(sys.argv[1])["query"])' "$line")
		nq=$((nq + 1))
		out=$(vm_query "$q")
		if [[ $out == error:* ]]; then
			nerr=$((nerr + 1))
			fail "dashboard query fails: $q: $out"
		elif [ -n "$out" ]; then
			ndata=$((ndata + 1))
		else
			vm_log "dashboard query without data (fine when nothing happened): $q"
		fi
	done < <("$VM_PY" test/monitoring/check_metrics.py --dashboard monitoring/grafana/voltpay.json --queries 15s)
	echo "dashboard: $nq queries, $ndata with data, $nerr errors" >>"$VM_DIR/results.txt"
	[ "$nerr" = 0 ] || return 1

	# The bridge stops; messages keep arriving: the lag alert goes pending
	# (its `for` is 5 minutes), from the brokers' figures alone.
	vm_log "bridge stopped (SIGTERM); load 2: 14000 at 4000/s"
	vb_bridge_signal 1 TERM
	vb_bridge_wait 1 40
	[ "$VB_RC" = 0 ] || fail "bridge exited with $VB_RC after SIGTERM" || return 1
	vb_loadgen_bg --count 14000 --rate 4000 --accounts 500 --seed 43
	out=$(vm_wait_query 'ALERTS{alertname="VoltpayConsumerLagHigh",alertstate="pending"}' 40) ||
		fail "VoltpayConsumerLagHigh did not go pending (lag: $(vm_query 'voltpay:consumer_lag_seconds:max') s)" || return 1
	echo "lag alert: $out" >>"$VM_DIR/results.txt"
	echo "lag with the bridge down: $(vm_query 'voltpay:consumer_lag:sum'), seconds $(vm_query 'voltpay:consumer_lag_seconds:max' | awk '{print $NF}')" >>"$VM_DIR/results.txt"
	# While nothing consumes, the oldest unconsumed message only gets older.
	local s1 s2
	s1=$(vm_query 'voltpay:consumer_lag_seconds:max' | awk '{print $NF}')
	sleep 3
	s2=$(vm_query 'voltpay:consumer_lag_seconds:max' | awk '{print $NF}')
	"$VM_PY" -c "import sys; sys.exit(0 if float('${s2:-nan}') >= float('${s1:-nan}') + 2 else 1)" ||
		fail "lag in seconds did not grow with the bridge down: ${s1:-absent} then ${s2:-absent} 3 s later" || return 1
	out=$(vm_wait_query 'ALERTS{alertname="VoltpayBridgeDown",alertstate="pending"}' 10) ||
		fail "VoltpayBridgeDown did not go pending" || return 1
	wait "$VB_LOADGEN_PID" || fail "loadgen failed" || return 1

	# A bridge again: it catches up and the lag alert goes away.
	vb_bridge_start 1
	vb_bridge_wait_ready 1 30 2>>"$VM_DIR/scenario.log" || fail "bridge did not become ready again" || return 1
	vb_wait_caught_up 60 2>>"$VM_DIR/scenario.log" || fail "bridge did not catch up after the restart" || return 1
	local i
	for i in $(seq 40); do
		[ -z "$(vm_query 'ALERTS{alertname="VoltpayConsumerLagHigh"}')" ] && break
		sleep 0.5
	done
	[ -z "$(vm_query 'ALERTS{alertname="VoltpayConsumerLagHigh"}')" ] ||
		fail "VoltpayConsumerLagHigh still active after catching up: $(vm_query 'voltpay:consumer_lag_seconds:max') s" || return 1
	vb_bridge_signal 1 TERM
	vb_bridge_wait 1 40
	return 0
}

# The Kafka lag exporter against records produced at known times.
scenario_lag_seconds() {
	local rc
	need bridge/voltpay-mockkafka || return 1
	"$VM_PY" test/monitoring/lag_seconds.py bridge/voltpay-mockkafka \
		monitoring/kafka-lag-exporter/voltpay-kafka-lag-exporter "$VM_DIR" 0.25 >"$VM_DIR/lag-seconds.out" 2>&1
	rc=$?
	cat "$VM_DIR/lag-seconds.out" >>"$VM_DIR/scenario.log"
	grep '^lag_seconds: max error' "$VM_DIR/lag-seconds.out" | cut -d' ' -f2- >>"$VM_DIR/results.txt"
	[ $rc = 0 ] || fail "$(grep -m1 '^lag_seconds: FAIL' "$VM_DIR/lag-seconds.out" || tail -n 1 "$VM_DIR/lag-seconds.out")"
}

# W3C trace context through the bridge (docs/monitoring.md, "Trace context").
scenario_traceparent() {
	need bridge/voltpay-bridge kcat bridge/voltpay-topic-dump bridge/voltpay-mockkafka || return 1
	bash test/monitoring/traceparent.sh "$VM_DIR" >>"$VM_DIR/scenario.log" 2>&1 ||
		fail "$(grep -m1 '^traceparent: FAIL' "$VM_DIR/scenario.log" || echo 'see scenario.log')"
}

# Spans in a real Zipkin, and Zipkin down (docs/monitoring.md, "Tracing").
scenario_zipkin() {
	need bridge/voltpay-bridge kcat bridge/voltpay-topic-dump bridge/voltpay-mockkafka \
		bridge/voltpay-loadgen java || return 1
	bash test/monitoring/zipkin.sh "$VM_DIR" >>"$VM_DIR/scenario.log" 2>&1 ||
		fail "$(grep -m1 '^zipkin: FAIL' "$VM_DIR/scenario.log" || echo 'see scenario.log')" || return 1
	grep '^zipkin: ok' "$VM_DIR/scenario.log" | cut -c9- >"$VM_DIR/results.txt"
}

# ---------------------------------------------------------------------------

# run_scenario (test/bridge/lib.sh) with this suite's hooks: no database
# of its own (a scenario calls vb_scenario_begin when it needs one), output
# in $VM_DIR/stdout, the exporters and Prometheus stopped at the end, an ok
# line shows results.txt, a failure keeps the work directory.
VB_RUN_WIDTH=12
VB_RUN_STDOUT=dir
VB_RUN_BEGIN=vm_run_begin
VB_RUN_END=vm_run_end
VB_RUN_SUMMARY=vm_run_summary
VB_RUN_DETAILS=vm_run_details
VB_RUN_AFTER=vm_run_after

vm_run_begin() { VM_DIR=$VM_WORK/$1; }

vm_run_end() {
	vm_stop_all
	vb_scenario_end
}

vm_run_summary() { tr '\n' ';' 2>/dev/null <"$1/results.txt" | cut -c1-200; }

vm_run_details() {
	sed 's/^/    /' "$1/fail.txt" 2>/dev/null | tail -n +2 | head -n 10
	echo "    (logs: $1)"
}

vm_run_after() { [ "$3" = 0 ] || VM_KEEP=1; }

if [ $# -gt 0 ]; then
	scenarios=("$@")
else
	scenarios=("${ALL_SCENARIOS[@]}")
fi

vp_pg_start "max_connections = 100" "shared_preload_libraries = 'voltpay,pg_stat_statements'" \
	"pg_stat_statements.track = all" ||
	{ echo "monitoring: could not start PostgreSQL"; echo "monitoring: 0 passed, 1 failed"; exit 1; }
trap 'vp_pg_stop; [ -n "${VM_KEEP:-}" ] || rm -rf "$VM_WORK"' EXIT
echo "monitoring: work directory $VM_WORK"

passed=0
failed=0
for s in "${scenarios[@]}"; do
	if ! declare -F "scenario_$s" >/dev/null; then
		echo "FAIL $s: no such scenario"
		failed=$((failed + 1))
		continue
	fi
	run_scenario "$s"
done
echo "monitoring: $passed passed, $failed failed"
[ $failed = 0 ]
