# Helpers for test/suites/monitoring.sh: the exporters and a Prometheus on
# free loopback ports, queries against its HTTP API.  Sourced after
# test/lib/pgcluster.sh (and test/bridge/lib.sh for the scenarios that run a
# bridge).  Every process started here is in VM_PIDS and stopped by PID in
# vm_stop_all (the suite runs it on exit).
#
#   vm_pg_exporter DB                 prometheus-postgres-exporter with our
#                                     queries file, as login voltpay_exporter
#   vm_lag_exporter BROKERS           monitoring/kafka-lag-exporter, 1 s polls
#   vm_node_exporter                  meminfo and vmstat collectors only
#   vm_prometheus                     Prometheus scraping every started
#                                     source each second, monitoring/alerts.yml
#                                     evaluated each second; VM_PROM_URL.
#                                     VM_THRESHOLDS=(NAME=VALUE...) sets
#                                     voltpay:threshold:NAME in its copy
#   vm_query EXPR                     instant query: "labels value" lines
#   vm_wait_query EXPR SECONDS        until EXPR returns a series
#   vm_scrape URL FILE                GET URL into FILE

VM_ROOT=${VM_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
VM_PY=/usr/bin/python3		# Debian's, with python3-confluent-kafka and python3-yaml
# Grafana's foundation SDK, for monitoring/grafana/dashboard.py (scripts/deps.d/monitoring.sh)
VM_GRAFANA_PY=${VOLTPAY_CACHE:-$HOME/.cache/voltpay}/grafana-sdk/bin/python
declare -a VM_PIDS=()
VM_TARGETS_BRIDGE=()
VM_THRESHOLDS=()
VM_PGEXP_PORT= VM_LAG_PORT= VM_NODE_PORT= VM_PROM_URL=

vm_log() { echo "$(date +%T) $*" >>"$VM_DIR/scenario.log"; }

# vm_wait_http URL SECONDS [PID]: until URL answers 2xx.
vm_wait_http() {
	local url=$1 timeout=$2 pid=${3:-} i
	for i in $(seq $((timeout * 10))); do
		curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null && return 0
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			vm_log "process $pid exited before $url answered"
			return 1
		fi
		sleep 0.1
	done
	vm_log "$url did not answer within ${timeout}s"
	return 1
}

vm_scrape() {
	curl -fsS --max-time 5 "$1" -o "$2"
}

# vm_pg_exporter DB: needs the role voltpay_exporter (vm_exporter_role).
vm_pg_exporter() {
	local db=$1
	VM_PGEXP_PORT=$(vp_free_port)
	DATA_SOURCE_NAME="host=$PGHOST port=$PGPORT user=voltpay_exporter dbname=$db sslmode=disable" \
		prometheus-postgres-exporter --web.listen-address="127.0.0.1:$VM_PGEXP_PORT" \
		--extend.query-path="$VM_ROOT/monitoring/postgres-exporter/queries.yaml" \
		--log.level=warn >>"$VM_DIR/pg-exporter.log" 2>&1 &
	VM_PIDS+=("$!")
	vm_log "postgres exporter pid $! port $VM_PGEXP_PORT db $db"
	vm_wait_http "http://127.0.0.1:$VM_PGEXP_PORT/metrics" 20 "$!"
}

# vm_exporter_role DB: the monitoring login of docs/monitoring.md, and
# pg_stat_statements in DB.
vm_exporter_role() {
	psql -X -q -v ON_ERROR_STOP=1 -d "$1" <<-'EOF'
		CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
		DO $$ BEGIN
			IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'voltpay_exporter') THEN
				CREATE ROLE voltpay_exporter LOGIN IN ROLE voltpay_monitor, pg_monitor;
			END IF;
		END $$;
	EOF
}

vm_lag_exporter() {
	VM_LAG_PORT=$(vp_free_port)
	"$VM_PY" "$VM_ROOT/monitoring/kafka-lag-exporter/voltpay-kafka-lag-exporter" -b "$1" \
		--listen "127.0.0.1:$VM_LAG_PORT" --interval 1 --timeout 3 >>"$VM_DIR/lag-exporter.log" 2>&1 &
	VM_PIDS+=("$!")
	vm_log "kafka lag exporter pid $! port $VM_LAG_PORT"
	vm_wait_http "http://127.0.0.1:$VM_LAG_PORT/metrics" 20 "$!"
}

vm_node_exporter() {
	VM_NODE_PORT=$(vp_free_port)
	prometheus-node-exporter --web.listen-address="127.0.0.1:$VM_NODE_PORT" \
		--collector.disable-defaults --collector.meminfo --collector.vmstat \
		--log.level=warn >>"$VM_DIR/node-exporter.log" 2>&1 &
	VM_PIDS+=("$!")
	vm_log "node exporter pid $! port $VM_NODE_PORT"
	vm_wait_http "http://127.0.0.1:$VM_NODE_PORT/metrics" 20 "$!"
}

# vm_prometheus: scrapes the bridges in VM_TARGETS_BRIDGE (host:port) and
# every exporter started above, each second; rules from monitoring/alerts.yml
# evaluated each second.
vm_prometheus() {
	local dir=$VM_DIR/prometheus port t
	mkdir -p "$dir/data"
	cp "$VM_ROOT/monitoring/alerts.yml" "$dir/alerts.yml"
	for t in "${VM_THRESHOLDS[@]}"; do
		# The expr line after "record: voltpay:threshold:NAME".
		sed -i "/record: voltpay:threshold:${t%%=*}\$/{n;s/vector([^)]*)/vector(${t#*=})/}" "$dir/alerts.yml"
		grep -A1 "record: voltpay:threshold:${t%%=*}\$" "$dir/alerts.yml" | grep -q "vector(${t#*=})" || {
			vm_log "threshold ${t%%=*} not found in alerts.yml"
			return 1
		}
	done
	port=$(vp_free_port)
	{
		echo "global: {scrape_interval: 1s, evaluation_interval: 1s, scrape_timeout: 1s}"
		echo "rule_files: [alerts.yml]"
		echo "scrape_configs:"
		echo "  - job_name: voltpay-bridge"
		echo "    static_configs: [{targets: [$(IFS=,; echo "${VM_TARGETS_BRIDGE[*]}")]}]"
		[ -n "$VM_PGEXP_PORT" ] && printf '  - job_name: voltpay-postgres\n    static_configs: [{targets: ["127.0.0.1:%s"]}]\n' "$VM_PGEXP_PORT"
		[ -n "$VM_LAG_PORT" ] && printf '  - job_name: voltpay-kafka-lag\n    static_configs: [{targets: ["127.0.0.1:%s"]}]\n' "$VM_LAG_PORT"
		[ -n "$VM_NODE_PORT" ] && printf '  - job_name: node\n    static_configs: [{targets: ["127.0.0.1:%s"]}]\n' "$VM_NODE_PORT"
	} >"$dir/prometheus.yml"
	promtool check config "$dir/prometheus.yml" >>"$VM_DIR/scenario.log" 2>&1 || return 1
	prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
		--web.listen-address="127.0.0.1:$port" --log.level=warn >>"$dir/prometheus.log" 2>&1 &
	VM_PIDS+=("$!")
	VM_PROM_URL=http://127.0.0.1:$port
	vm_log "prometheus pid $! at $VM_PROM_URL"
	vm_wait_http "$VM_PROM_URL/-/ready" 30 "$!"
}

vm_query() {
	"$VM_PY" "$VM_ROOT/test/monitoring/promtext.py" query "$VM_PROM_URL" "$1"
}

# vm_wait_query EXPR SECONDS: 0 as soon as EXPR returns a series (printed).
vm_wait_query() {
	local expr=$1 timeout=$2 start out
	start=$(date +%s)
	while :; do
		out=$(vm_query "$expr" 2>&1)
		if [ -n "$out" ] && [[ $out != error:* ]]; then
			vm_log "query ok: $expr -> $(echo "$out" | head -n 3 | tr '\n' ' ')"
			echo "$out"
			return 0
		fi
		if [ $(($(date +%s) - start)) -ge "$timeout" ]; then
			vm_log "query gave nothing in ${timeout}s: $expr ($out)"
			return 1
		fi
		sleep 0.5
	done
}

# vm_value FILE NAME [LABEL=VALUE...]: a sample value from a scrape.
vm_value() {
	"$VM_PY" "$VM_ROOT/test/monitoring/promtext.py" get "$@"
}

vm_stop_all() {
	local pid
	for pid in "${VM_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${VM_PIDS[@]}"; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	VM_PIDS=()
	return 0
}
