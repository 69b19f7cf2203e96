#!/usr/bin/env bash
# The bridge, its tools and the lag exporter on a secured Kafka and a
# secured PostgreSQL (docs/security.md).  A test CA made here with openssl
# (test/secure/pki.sh) signs every certificate.
#
#   test/suites/secure.sh [SCENARIO...]     all scenarios, or those named
#
# Kafka: one real Apache Kafka 4 node (KRaft, test/kafka/broker.sh) with
# an SSL listener that requires client certificates (mTLS; also the
# inter-broker and controller listeners) and a SASL_SSL listener with
# SCRAM-SHA-512, SCRAM users created at format time, StandardAuthorizer
# with allow.everyone.if.no.acl.found=false and super users broker and
# admin only.  Principals: bridge (SCRAM), bridge-tls (certificate), tools
# (loadgen, topic dump), monitor (lag exporter), admin (voltpay-topics,
# voltpay-acls).  Each scenario's bridge principal gets exactly
# `voltpay-acls --bridge` on that scenario's topics and group.
#
# PostgreSQL: ssl = on with the CA's server certificate (SAN localhost
# only), pg_hba.conf hostssl lines only (scram-sha-256 for bridge, cert
# for bridge_cert, trust for the suite's own postgres connections) and
# an explicit reject for everything not TLS.  The bridge connects with
# sslmode=verify-full and its password from PGPASSFILE, or with a client
# certificate.
#
# Scenarios: happy_path (SCRAM + password, every client over TLS, ACLs
# exact, secrets nowhere), sigkill (mTLS + PostgreSQL client certificate,
# three SIGKILLs under load, history checker), pg_refused (wrong CA,
# wrong host name, wrong password, client certificate of another user,
# plaintext: exit status and one line each), kafka_refused (wrong SCRAM
# password, untrusted broker certificate), missing_acl (Write on the
# e-mail topic missing: events wait, nothing lost, published once the ACL
# is granted), secrets (secrets refused on the command line and in files
# other users can read, and never printed), migrate (Liquibase over JDBC
# with verify-full).
#
# VK_SEED makes loads reproducible; VK_KEEP=1 keeps the work directory.
# Prints one line per scenario and "secure: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."

VB_WORK=${VB_WORK:-$(mktemp -d /tmp/voltpay-secure-test.XXXXXX)}
chmod 711 "$VB_WORK"			# the PostgreSQL server (user postgres) reads pki/pg
VS_REAL_BIN=$PWD/bridge
. test/lib/pgcluster.sh
. test/bridge/lib.sh
. test/kafka/broker.sh
. test/secure/pki.sh

SCENARIOS=(happy_path sigkill pg_refused kafka_refused missing_acl missing_read rotation secrets migrate)

for b in voltpay-bridge voltpay-loadgen voltpay-topic-dump voltpay-topics voltpay-acls; do
	if [ ! -x "bridge/$b" ]; then
		echo "secure: bridge/$b is missing (run make bridge)"
		echo "secure: 0 passed, 1 failed"
		exit 1
	fi
done
for c in openssl java; do
	command -v "$c" >/dev/null || { echo "secure: $c is missing (make deps)"; echo "secure: 0 passed, 1 failed"; exit 1; }
done

VK_SEED=${VK_SEED:-$(date +%s)}
RANDOM=$VK_SEED
PKI=$VB_WORK/pki

# ---------------------------------------------------------------------------
# Set-up: PKI, secrets, Kafka, PostgreSQL, tool wrappers
# ---------------------------------------------------------------------------

# vs_tls_args NAME: -X properties of an mTLS client with certificate NAME.
vs_tls_args() {
	echo "-X security.protocol=ssl -X ssl.ca.location=$PKI/ca.pem" \
		"-X ssl.certificate.location=$PKI/$1.pem -X ssl.key.location=$PKI/$1.key"
}

# vs_kafka_conf NODE (VK_CONFIG_HOOK): listeners, TLS, SASL, authorizer.
vs_kafka_conf() {
	local n=$1
	cat <<-EOF
		# Written by test/suites/secure.sh: secured listeners.
		listeners=SSL://127.0.0.1:${VK_BPORT[$n]},SASL_SSL://127.0.0.1:$VS_SASL_PORT,CONTROLLER://127.0.0.1:${VK_CPORT[$n]}
		advertised.listeners=SSL://127.0.0.1:${VK_BPORT[$n]},SASL_SSL://127.0.0.1:$VS_SASL_PORT
		listener.security.protocol.map=SSL:SSL,SASL_SSL:SASL_SSL,CONTROLLER:SSL
		inter.broker.listener.name=SSL
		ssl.keystore.type=PKCS12
		ssl.keystore.location=$PKI/broker.p12
		ssl.keystore.password=$(cat "$PKI/broker.p12.pass")
		ssl.key.password=$(cat "$PKI/broker.p12.pass")
		ssl.truststore.type=PEM
		ssl.truststore.location=$PKI/ca.pem
		listener.name.ssl.ssl.client.auth=required
		listener.name.controller.ssl.client.auth=required
		ssl.principal.mapping.rules=RULE:^CN=([^,]+)\$/\$1/,DEFAULT
		sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN
		listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN
		listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
		listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_bridge="$VS_KAFKA_PW";
		authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
		allow.everyone.if.no.acl.found=false
		super.users=User:broker;User:admin
	EOF
}

vs_setup() {
	local t
	vs_pki "$PKI" || { echo "secure: could not make the test PKI"; return 1; }
	chmod 711 "$PKI"
	# Secrets, each in a 0600 file.
	(umask 077
	 openssl rand -hex 16 >"$PKI/kafka-password"
	 openssl rand -hex 16 >"$PKI/kafka-password.wrong"
	 openssl rand -hex 16 >"$PKI/pg-password")
	VS_KAFKA_PW=$(cat "$PKI/kafka-password")
	# librdkafka before 2.6.1 sends a SCRAM client-final nonce that Kafka 4
	# rejects (librdkafka#4895): with such a librdkafka (Debian 12 has
	# 2.0.2) the bridge uses PLAIN over TLS, same user and password, and
	# scram_probe.py proves the SCRAM user made at format time.
	VS_RDKAFKA=$("$VS_REAL_BIN/voltpay-bridge" --version | sed -n 's/.*librdkafka \([0-9.]*\).*/\1/p')
	if [ "$(printf '%s\n2.6.1\n' "$VS_RDKAFKA" | sort -V | head -n 1)" = 2.6.1 ]; then
		VS_MECH=SCRAM-SHA-512
	else
		VS_MECH=PLAIN
	fi
	VS_PG_PW=$(cat "$PKI/pg-password")
	# PostgreSQL's own copy of its key, owned by the server's user.
	mkdir -p "$PKI/pg"
	cp "$PKI/pg-server.pem" "$PKI/pg-server.key" "$PKI/ca.pem" "$PKI/pg/"
	chmod 700 "$PKI/pg" && chmod 600 "$PKI/pg/pg-server.key"
	[ "$(id -u)" = 0 ] && chown -R postgres "$PKI/pg"
	chmod 711 "$PKI/pg"

	# Tools run as wrappers that add their client certificate.
	mkdir -p "$VB_WORK/bin"
	for t in voltpay-loadgen voltpay-topic-dump; do
		printf '#!/bin/sh\nexec %s %s "$@"\n' "$VS_REAL_BIN/$t" "$(vs_tls_args tools)" >"$VB_WORK/bin/$t"
		chmod 755 "$VB_WORK/bin/$t"
	done
	VB_BIN=$VB_WORK/bin
	VB_BRIDGE=$VS_REAL_BIN/voltpay-bridge
	# shellcheck disable=SC2207
	VK_CLIENT_ARGS=($(vs_tls_args admin))
	VS_TOOLS_ARGS=($(vs_tls_args tools))
	VS_ACLS=("$VS_REAL_BIN/voltpay-acls" "${VK_CLIENT_ARGS[@]}")

	# Kafka: SCRAM users at format time.
	VK_CONFIG_HOOK=vs_kafka_conf
	VK_FORMAT_ARGS=(--add-scram "SCRAM-SHA-512=[name=\"bridge\",password=\"$VS_KAFKA_PW\"]")
	VS_SASL_PORT=$(vp_free_port)
	if ! vk_cluster_start 1 2>"$VB_WORK/kafka.log"; then
		# Once more, on new ports (another process may have taken one).
		vk_cluster_stop keep 2>/dev/null
		VS_SASL_PORT=$(vp_free_port)
		if ! vk_cluster_start 1 2>"$VB_WORK/kafka.log"; then
			echo "secure: Kafka did not start:"
			sed 's/^/    /' "$VB_WORK/kafka.log"
			return 1
		fi
	fi
	VB_BROKERS=$VK_BROKERS
	VS_SASL_BROKERS=127.0.0.1:$VS_SASL_PORT
	echo "secure: $(tail -n 1 "$VB_WORK/kafka.log" | sed 's/^kafka: //'); librdkafka $VS_RDKAFKA: the bridge uses SASL $VS_MECH"

	# PostgreSQL: TLS on, hostssl only.
	vp_pg_start "max_connections = 60" "ssl = on" \
		"ssl_cert_file = '$PKI/pg/pg-server.pem'" "ssl_key_file = '$PKI/pg/pg-server.key'" \
		"ssl_ca_file = '$PKI/pg/ca.pem'" "password_encryption = 'scram-sha-256'" \
		"log_connections = on" || { echo "secure: could not start PostgreSQL"; return 1; }
	vk__trap_add vk_cluster_stop
	vp_as_pg tee "$VP_PGDATA/pg_hba.conf" >/dev/null <<-EOF
		# Written by test/suites/secure.sh: TLS only.
		# TYPE    DATABASE  USER         ADDRESS        METHOD
		local     all       postgres                    trust
		hostssl   all       postgres     127.0.0.1/32   trust
		hostssl   all       bridge_cert  127.0.0.1/32   cert
		hostssl   all       voltpay_exporter 127.0.0.1/32 cert
		hostssl   all       all          127.0.0.1/32   scram-sha-256
		hostnossl all       all          0.0.0.0/0      reject
	EOF
	vp_as_pg "$VP_PGBIN/pg_ctl" -D "$VP_PGDATA" reload >/dev/null || return 1
	sleep 0.5
	# The suite's own connections (role postgres) use TLS too.
	export PGSSLMODE=verify-full PGSSLROOTCERT=$PKI/ca.pem PGHOST=localhost
	# The bridge's password: never on a command line, not even psql's.
	vb_psql -d postgres <<-EOF || return 1
		CREATE DATABASE vs_roles;
		\c vs_roles
		CREATE EXTENSION voltpay;
		CREATE ROLE bridge LOGIN IN ROLE voltpay_writer;
		CREATE ROLE bridge_cert LOGIN IN ROLE voltpay_writer;
		CREATE ROLE voltpay_exporter LOGIN IN ROLE voltpay_monitor, pg_monitor;
		ALTER ROLE bridge PASSWORD '$VS_PG_PW';
	EOF
	(umask 077; echo "localhost:$PGPORT:*:bridge:$VS_PG_PW" >"$PKI/pgpass")
	export PGPASSFILE=$PKI/pgpass
}

# ---------------------------------------------------------------------------
# Scenario helpers
# ---------------------------------------------------------------------------

note() {
	echo "$*" >>"$VB_DIR/note.txt"
	vb_log "$*"
}

# The bridge's database connection strings: password (PGPASSFILE) or
# client certificate, always verify-full against the test CA.
vs_db_password() {
	echo "host=localhost hostaddr=127.0.0.1 port=$PGPORT dbname=$VB_DBNAME user=bridge sslmode=verify-full sslrootcert=$PKI/ca.pem connect_timeout=5 ${1:-}"
}
vs_db_cert() {
	echo "host=localhost hostaddr=127.0.0.1 port=$PGPORT dbname=$VB_DBNAME user=bridge_cert sslmode=verify-full sslrootcert=$PKI/ca.pem sslcert=$PKI/bridge_cert.pem sslkey=$PKI/bridge_cert.key connect_timeout=5"
}

# vs_bridge_conf FILE [PASSWORD_FILE]: a 0600 config file for the SASL
# listener; the password comes from the password file.
vs_bridge_conf() {
	(umask 077
	 cat >"$1" <<-EOF
		# Bridge on the SASL_SSL listener (test/suites/secure.sh).
		brokers = $VS_SASL_BROKERS
		sasl-password-file = ${2:-$PKI/kafka-password}
		property = security.protocol=sasl_ssl
		property = sasl.mechanisms=$VS_MECH
		property = sasl.username=bridge
		property = ssl.ca.location=$PKI/ca.pem
	EOF
	)
}

# use_topics PRINCIPAL: this scenario's topics (created by voltpay-topics as
# admin), the bridge principal's exact ACLs, and the tools' and monitor's.
use_topics() {
	local p=$1
	VB_IN_TOPIC=payment_writer_topic_$VB_NAME
	VB_READ_TOPIC=payment_read_topic_$VB_NAME
	VB_EMAIL_TOPIC=payment_email_$VB_NAME
	VB_DLQ_TOPIC=payment_writer_dlq_$VB_NAME
	VK_GROUP=voltpay-writer-$VB_NAME
	VK_TOPIC_ARGS=(--input-topic "$VB_IN_TOPIC" --read-topic "$VB_READ_TOPIC"
		--email-topic "$VB_EMAIL_TOPIC" --dead-letter-topic "$VB_DLQ_TOPIC")
	vk_topics "${VK_TOPIC_ARGS[@]}" --partitions 20 >>"$VB_DIR/topics.log" 2>&1 ||
		fail "voltpay-topics (TLS, admin) could not create the topics: $(tail -n 2 "$VB_DIR/topics.log" | tr '\n' ' ')" || return 1
	VB_PARTITIONS=20
	"${VS_ACLS[@]}" -b "$VB_BROKERS" --bridge "$p" --group "$VK_GROUP" "${VK_TOPIC_ARGS[@]}" \
		User:tools:Write:topic:"$VB_IN_TOPIC" User:tools:Read:group:voltpay-topic-dump \
		User:tools:Read:topic:"$VB_IN_TOPIC" User:tools:Read:topic:"$VB_READ_TOPIC" \
		User:tools:Read:topic:"$VB_EMAIL_TOPIC" User:tools:Read:topic:"$VB_DLQ_TOPIC" \
		User:monitor:Describe:topic:"$VB_IN_TOPIC" User:monitor:Describe:group:"$VK_GROUP" \
		>>"$VB_DIR/acls.log" 2>&1 || fail "voltpay-acls failed: $(tail -n 2 "$VB_DIR/acls.log" | tr '\n' ' ')"
}

start_bridge() {
	local id=$1
	shift
	vb_bridge_start "$id" --group "$VK_GROUP" --input-topic "$VB_IN_TOPIC" \
		--read-topic "$VB_READ_TOPIC" --email-topic "$VB_EMAIL_TOPIC" \
		--dead-letter-topic "$VB_DLQ_TOPIC" "$@"
	vb_bridge_wait_ready "$id" 60 2>>"$VB_DIR/scenario.log" ||
		fail "bridge $id did not become ready: $(grep -v '"level":"info"' "$VB_DIR/bridge-$id.log" | tail -n 2 | cut -c1-300 | tr '\n' ' ')"
}

check() {
	vb_check "$@" && return 0
	fail "checker: $(grep -hE '^checker: FAILED|Traceback|Error|failed' "$VB_DIR/checker.out" | head -n 2 | tr '\n' ' ')"
}

# no_secret WHERE FILE...: none of the suite's passwords is in the files.
no_secret() {
	local where=$1 f s
	shift
	for f in "$@"; do
		for s in "$VS_KAFKA_PW" "$VS_PG_PW" "$(cat "$PKI/kafka-password.wrong")"; do
			if grep -qaF -- "$s" "$f" 2>/dev/null; then
				fail "a password is in $where ($f)"
				return 1
			fi
		done
	done
}

# proc_no_secret ID: the running bridge's command line and environment
# hold no password.
proc_no_secret() {
	local pid=${VB_BRIDGE_PID[$1]}
	tr '\0' ' ' </proc/"$pid"/cmdline >"$VB_DIR/cmdline-$1.txt" || fail "no /proc/$pid" || return 1
	tr '\0' '\n' </proc/"$pid"/environ >"$VB_DIR/environ-$1.txt"
	no_secret "/proc/PID/cmdline" "$VB_DIR/cmdline-$1.txt" || return 1
	no_secret "/proc/PID/environ" "$VB_DIR/environ-$1.txt"
}

# expect_exit WANT PATTERN ARGS...: a bridge started with ARGS exits with
# WANT within 40 s and its last line on stderr matches PATTERN (one line
# naming the cause).
expect_exit() {
	local want=$1 pat=$2 t0 out last
	shift 2
	out=$VB_DIR/refused-$((++VS_NREFUSED)).log
	t0=$(date +%s%N)
	timeout -s KILL 40 "$VB_BRIDGE" --http-port 0 --shutdown-timeout 5 "$@" >"$out" 2>&1
	VB_RC=$?
	last=$(grep -v '^{' "$out" | tail -n 1)
	# A JSON log line (errors before start are logged as JSON too): its msg.
	[ -n "$last" ] || last=$(grep '"level":"error"' "$out" | tail -n 1 |
		python3 -c 'import json, sys; [print(json.loads(l)["msg"]) for l in sys.stdin]')
	vb_log "bridge $* -> exit $VB_RC in $((($(date +%s%N) - t0) / 1000000)) ms: $last"
	[ "$VB_RC" = "$want" ] || fail "exit $VB_RC, expected $want ($pat): $(tail -n 2 "$out" | cut -c1-300 | tr '\n' ' ')" || return 1
	echo "$last" | grep -qE "$pat" || fail "exit $want but no line matching /$pat/: $last" || return 1
	no_secret "the bridge's output" "$out"
}
VS_NREFUSED=0

# ---------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------

# SCRAM-SHA-512 over TLS to Kafka (password from a 0600 file named in a
# 0600 config file), verify-full to PostgreSQL with the password from
# PGPASSFILE.  Every client over TLS: voltpay-topics and voltpay-acls
# (admin certificate), loadgen and topic dump (tools certificate), the lag
# exporter (monitor certificate).  The bridge principal's ACLs are exactly
# voltpay-acls --bridge; the passwords are in no command line, environment,
# log or scrape.
scenario_happy_path() {
	local port exp want got lag
	use_topics User:bridge || return 1
	want=$("$VS_REAL_BIN/voltpay-acls" --bridge User:bridge --group "$VK_GROUP" "${VK_TOPIC_ARGS[@]}" | sort)
	got=$("${VS_ACLS[@]}" -b "$VB_BROKERS" --list | grep '^User:bridge:')
	[ "$want" = "$got" ] || fail "the bridge's ACLs are not exactly voltpay-acls --bridge: $got" || return 1
	note "bridge ACLs: $(echo "$got" | wc -l), exact"
	# The SCRAM user made at format time: accepted with its password,
	# refused with another (a SCRAM client independent of librdkafka).
	python3 test/secure/scram_probe.py 127.0.0.1 "$VS_SASL_PORT" bridge "$PKI/kafka-password" \
		"$PKI/ca.pem" >"$VB_DIR/scram.log" 2>&1 || fail "SCRAM: $(tail -n 1 "$VB_DIR/scram.log")" || return 1
	if python3 test/secure/scram_probe.py 127.0.0.1 "$VS_SASL_PORT" bridge "$PKI/kafka-password.wrong" \
		"$PKI/ca.pem" >>"$VB_DIR/scram.log" 2>&1; then
		fail "SCRAM accepted a wrong password" || return 1
	fi
	note "SCRAM-SHA-512 user from format time: password accepted, wrong one refused"
	vs_bridge_conf "$VB_DIR/bridge.conf"
	VB_DB=$(vs_db_password)
	start_bridge 1 -c "$VB_DIR/bridge.conf" -b "$VS_SASL_BROKERS" || return 1
	note "bridge over SASL_SSL $VS_MECH"
	grep -q '"database connected: bridge@localhost' "$VB_DIR/bridge-1.log" ||
		fail "no database connection as bridge@localhost in the log" || return 1
	vb_psql -d "$VB_DBNAME" -c "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE usename = 'bridge' AND ssl" >"$VB_DIR/ssl.txt"
	[ "$(cat "$VB_DIR/ssl.txt")" -ge 1 ] || fail "the bridge's database session is not TLS" || return 1
	vb_loadgen --count 3000 --accounts 300 --email-fraction 0.4 --invalid-fraction 0.03 \
		--duplicate-fraction 0.05 --seed "$VK_SEED" || fail "loadgen (mTLS) failed: $(tail -n 1 "$VB_DIR/loadgen.log")" || return 1
	vb_wait_caught_up 60 || fail "bridge did not catch up" || return 1
	# The lag exporter, as principal monitor.
	port=$(vp_free_port)
	exp=(monitoring/kafka-lag-exporter/voltpay-kafka-lag-exporter -b "$VB_BROKERS" -g "$VK_GROUP"
		-t "$VB_IN_TOPIC" --listen "127.0.0.1:$port" --interval 1 $(vs_tls_args monitor))
	"${exp[@]}" >"$VB_DIR/lag-exporter.log" 2>&1 &
	VB_PIDS+=("$!")
	for _ in $(seq 60); do
		lag=$(curl -fsS --max-time 2 "http://127.0.0.1:$port/metrics" 2>/dev/null |
			awk -v g="$VK_GROUP" '$1 ~ "^kafka_consumergroup_lag_sum\\{" && index($1, g) { print $2 }')
		[ "$lag" = 0 ] || [ "$lag" = 0.0 ] && break
		sleep 0.5
	done
	[ "$lag" = 0 ] || [ "$lag" = 0.0 ] ||
		fail "lag exporter (mTLS) did not report lag 0 for $VK_GROUP (got '${lag:-nothing}'): $(tail -n 2 "$VB_DIR/lag-exporter.log" | tr '\n' ' ')" || return 1
	note "lag exporter over mTLS: lag 0"
	# The PostgreSQL exporter with our queries, verify-full and a client
	# certificate (login voltpay_exporter, in voltpay_monitor).
	if command -v prometheus-postgres-exporter >/dev/null; then
		port=$(vp_free_port)
		DATA_SOURCE_NAME="host=localhost port=$PGPORT dbname=$VB_DBNAME user=voltpay_exporter sslmode=verify-full sslrootcert=$PKI/ca.pem sslcert=$PKI/voltpay_exporter.pem sslkey=$PKI/voltpay_exporter.key" \
			prometheus-postgres-exporter --web.listen-address="127.0.0.1:$port" \
			--extend.query-path=monitoring/postgres-exporter/queries.yaml --log.level=warn \
			>"$VB_DIR/pg-exporter.log" 2>&1 &
		VB_PIDS+=("$!")
		for _ in $(seq 40); do
			curl -fsS --max-time 5 "http://127.0.0.1:$port/metrics" >"$VB_DIR/pg-exporter.txt" 2>/dev/null &&
				grep -q '^voltpay_db_partition_next_offset{' "$VB_DIR/pg-exporter.txt" && break
			sleep 0.5
		done
		grep -q '^pg_up 1' "$VB_DIR/pg-exporter.txt" && grep -q '^voltpay_db_partition_next_offset{' "$VB_DIR/pg-exporter.txt" ||
			fail "postgres exporter over verify-full + certificate: no voltpay_db_partition metrics: $(tail -n 2 "$VB_DIR/pg-exporter.log" | cut -c1-200 | tr '\n' ' ')" || return 1
		note "postgres exporter over verify-full with a client certificate: pg_up 1, voltpay_db_* served"
	else
		note "prometheus-postgres-exporter not installed (scripts/deps.d/monitoring.sh): not tried"
	fi
	proc_no_secret 1 || return 1
	# SIGHUP reloads nothing and must not kill the bridge.
	vb_bridge_signal 1 HUP
	sleep 0.5
	alive 1 || return 1
	curl -fsS "http://127.0.0.1:${VB_BRIDGE_PORT[1]}/metrics" >"$VB_DIR/metrics.txt"
	no_secret "/metrics" "$VB_DIR/metrics.txt" || return 1
	stop_bridge 1 || return 1
	check || return 1
	no_secret "logs" "$VB_DIR"/*.log "$VP_PGDIR/server.log" || return 1
	note "no password in cmdline, environ, logs, /metrics"
}

# mTLS to Kafka (principal bridge-tls, its exact ACLs) and a PostgreSQL
# client certificate (cert authentication, no password at all); SIGKILL
# three times under load; the history checker.  Then the principal is
# shown to have nothing more: it cannot write its own input topic.
scenario_sigkill() {
	local kills=0 tls
	# shellcheck disable=SC2207
	tls=($(vs_tls_args bridge-tls))
	use_topics User:bridge-tls || return 1
	VB_DB=$(vs_db_cert)
	start_bridge 1 "${tls[@]}" || return 1
	grep -q '"database connected: bridge_cert@localhost' "$VB_DIR/bridge-1.log" ||
		fail "no database connection as bridge_cert (client certificate)" || return 1
	vb_loadgen_bg --count 5000 --rate 500 --accounts 800 --duplicate-fraction 0.05 \
		--invalid-fraction 0.02 --email-fraction 0.3 --seed "$VK_SEED"
	while [ $kills -lt 3 ]; do
		vb_bridge_wait_assigned 1 40 || fail "bridge got no partitions after restart $kills" || return 1
		rand_sleep 300 1500
		vb_bridge_signal 1 KILL
		vb_bridge_wait 1 10
		kills=$((kills + 1))
		start_bridge 1 "${tls[@]}" || return 1
	done
	note "$kills SIGKILLs"
	finish_load 90 || return 1
	stop_bridge 1 || return 1
	check || return 1
	# Least privilege: the bridge's certificate cannot produce to its input.
	if "$VS_REAL_BIN/voltpay-loadgen" -b "$VB_BROKERS" "${tls[@]}" -X message.timeout.ms=5000 \
		--topic "$VB_IN_TOPIC" --count 1 >"$VB_DIR/denied.log" 2>&1; then
		fail "the bridge's principal could write its input topic" || return 1
	fi
	grep -qi 'authoriz' "$VB_DIR/denied.log" || fail "no authorization error writing the input topic: $(tail -n 1 "$VB_DIR/denied.log")" || return 1
	note "bridge principal refused Write on its input topic"
}

# The database refuses: each case one line naming the cause and its exit
# status (3: certificate, 4: credentials), no password in the output.
scenario_pg_refused() {
	local k=(-b "$VB_BROKERS" $(vs_tls_args bridge-tls) --group g --input-topic "t_$VB_NAME")
	expect_exit 3 'certificate verify failed' "${k[@]}" \
		--db "$(vs_db_password | sed "s|sslrootcert=[^ ]*|sslrootcert=$PKI/rogue-ca.pem|")" || return 1
	expect_exit 3 'does not match host name' "${k[@]}" \
		--db "$(vs_db_password | sed 's/host=localhost /host=127.0.0.1 /')" || return 1
	(umask 077; echo "localhost:$PGPORT:*:bridge:wrong-$VS_PG_PW-x" >"$VB_DIR/pgpass.wrong")
	PGPASSFILE=$VB_DIR/pgpass.wrong expect_exit 4 'password authentication failed for user "bridge"' \
		"${k[@]}" --db "$(vs_db_password)" || return 1
	no_secret "refusal output" "$VB_DIR"/refused-*.log || return 1
	expect_exit 4 'certificate authentication failed for user "bridge_cert"' "${k[@]}" \
		--db "$(vs_db_cert | sed "s|bridge_cert.pem|tools.pem|; s|bridge_cert.key|tools.key|")" || return 1
	expect_exit 4 'pg_hba.conf rejects connection .* no encryption' "${k[@]}" \
		--db "$(vs_db_password | sed 's/sslmode=verify-full/sslmode=disable/')" || return 1
	note "5 refusals: rogue CA, host name, password, certificate of another user, plaintext"
}

# Kafka refuses: a wrong SCRAM password (exit 4) and a broker certificate
# from a CA the bridge does not trust (exit 3), each within seconds, one
# line naming the cause.  The database part is fine.
scenario_kafka_refused() {
	local d
	d=$(vs_db_password)
	(umask 077; cat "$PKI/kafka-password.wrong" >"$VB_DIR/kafka-password.wrong")
	vs_bridge_conf "$VB_DIR/wrong.conf" "$VB_DIR/kafka-password.wrong"
	expect_exit 4 'SASL authentication|Authentication failed' -c "$VB_DIR/wrong.conf" --group g \
		--input-topic "t_$VB_NAME" --db "$d" || return 1
	expect_exit 3 'TLS with Kafka failed: .*certificate verify failed' -b "$VB_BROKERS" \
		-X security.protocol=ssl -X ssl.ca.location="$PKI/rogue-ca.pem" \
		-X ssl.certificate.location="$PKI/bridge-tls.pem" -X ssl.key.location="$PKI/bridge-tls.key" \
		--group g --input-topic "t_$VB_NAME" --db "$d" || return 1
	expect_exit 3 'TLS with Kafka failed: .*alert certificate unknown' -b "$VB_BROKERS" \
		-X security.protocol=ssl -X ssl.ca.location="$PKI/ca.pem" \
		-X ssl.certificate.location="$PKI/rogue/bridge-tls.pem" -X ssl.key.location="$PKI/rogue/bridge-tls.key" \
		--group g --input-topic "t_$VB_NAME" --db "$d" || return 1
	note "wrong $VS_MECH password: exit 4, untrusted broker: exit 3, client certificate the broker does not trust: exit 3"
	if [ "$VS_MECH" = PLAIN ]; then
		# What an operator sees with a librdkafka older than 2.6.1 and SCRAM
		# against Kafka 4 (librdkafka#4895): refused although the password
		# is right.  Documented in docs/security.md.
		vs_bridge_conf "$VB_DIR/scram.conf"
		sed -i 's/sasl.mechanisms=PLAIN/sasl.mechanisms=SCRAM-SHA-512/' "$VB_DIR/scram.conf"
		expect_exit 4 'SASL authentication' -c "$VB_DIR/scram.conf" --group g \
			--input-topic "t_$VB_NAME" --db "$d" || return 1
		note "SCRAM with librdkafka $VS_RDKAFKA: refused by Kafka 4, exit 4 (known, librdkafka#4895)"
	fi
}

# The bridge's principal lacks Write on the e-mail topic: the bridge keeps
# running, logs the authorization error, parks the e-mail events in the
# outbox (voltpay_bridge_outbox_parked_events; read events are published);
# once the ACL is granted every event is published, and the checker finds
# nothing lost or doubled.
scenario_missing_acl() {
	local tls n i p
	# shellcheck disable=SC2207
	tls=($(vs_tls_args bridge-tls))
	use_topics User:bridge-tls || return 1
	"${VS_ACLS[@]}" -b "$VB_BROKERS" --delete "User:bridge-tls:Write:topic:$VB_EMAIL_TOPIC" \
		>>"$VB_DIR/acls.log" 2>&1 || fail "could not delete the ACL" || return 1
	VB_DB=$(vs_db_password)
	start_bridge 1 "${tls[@]}" || return 1
	vb_loadgen --count 1500 --accounts 200 --email-fraction 0.5 --seed "$VK_SEED" ||
		fail "loadgen failed" || return 1
	for i in $(seq 60); do
		grep -qi 'authorization failed' "$VB_DIR/bridge-1.log" && break
		sleep 0.5
	done
	grep -qi 'authorization failed' "$VB_DIR/bridge-1.log" ||
		fail "no authorization error in the bridge's log" || return 1
	note "log: $(grep -m1 -i 'authorization failed' "$VB_DIR/bridge-1.log" | sed 's/.*"msg":"\([^";]*\)[^"]*".*"error":"\([^"]*\)".*/\1: \2/' | cut -c1-160)"
	sleep 2
	alive 1 || return 1
	p=$(vb_bridge_metric 1 voltpay_bridge_outbox_parked_events)
	note "voltpay_bridge_outbox_parked_events ${p:-absent}"
	[ "${p:-0}" -gt 0 ] || fail "no parked event in /metrics (${p:-absent})" || return 1
	n=$(vb_psql -d "$VB_DBNAME" -c "SELECT count(*) FROM voltpay.outbox")
	[ "${n:-0}" -gt 0 ] || fail "no event waits in the outbox without the ACL" || return 1
	note "$n events waited in the outbox"
	"${VS_ACLS[@]}" -b "$VB_BROKERS" "User:bridge-tls:Write:topic:$VB_EMAIL_TOPIC" \
		>>"$VB_DIR/acls.log" 2>&1 || fail "could not grant the ACL" || return 1
	vb_wait_caught_up 90 || fail "the outbox did not drain after the grant" || return 1
	stop_bridge 1 || return 1
	check
}

# The bridge's principal lacks Read on its group: it cannot join, logs
# the authorization failure, is not ready and applies nothing; once the
# ACL is granted it joins and applies everything, once.
scenario_missing_read() {
	local tls i n
	# shellcheck disable=SC2207
	tls=($(vs_tls_args bridge-tls))
	use_topics User:bridge-tls || return 1
	"${VS_ACLS[@]}" -b "$VB_BROKERS" --delete "User:bridge-tls:Read:group:$VK_GROUP" \
		>>"$VB_DIR/acls.log" 2>&1 || fail "could not delete the ACL" || return 1
	vb_loadgen --count 1000 --accounts 100 --email-fraction 0.3 --seed "$VK_SEED" ||
		fail "loadgen failed" || return 1
	VB_DB=$(vs_db_password)
	vb_bridge_start 1 --group "$VK_GROUP" --input-topic "$VB_IN_TOPIC" --read-topic "$VB_READ_TOPIC" \
		--email-topic "$VB_EMAIL_TOPIC" --dead-letter-topic "$VB_DLQ_TOPIC" "${tls[@]}"
	for i in $(seq 40); do
		grep -qi 'authorization failed' "$VB_DIR/bridge-1.log" && break
		sleep 0.25
	done
	grep -qi 'authorization failed' "$VB_DIR/bridge-1.log" ||
		fail "no authorization error in the bridge's log" || return 1
	note "log: $(grep -m1 -i 'authorization failed' "$VB_DIR/bridge-1.log" | sed 's/.*"msg":"//; s/".*//' | cut -c1-100)"
	sleep 2
	alive 1 || return 1
	curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:${VB_BRIDGE_PORT[1]}/readyz" &&
		{ fail "ready without its group"; return 1; }
	n=$(vb_psql -d "$VB_DBNAME" -c "SELECT count(*) FROM voltpay.payments")
	[ "$n" = 0 ] || fail "$n payments applied without Read on the group" || return 1
	"${VS_ACLS[@]}" -b "$VB_BROKERS" "User:bridge-tls:Read:group:$VK_GROUP" \
		>>"$VB_DIR/acls.log" 2>&1 || fail "could not grant the ACL" || return 1
	vb_bridge_wait_ready 1 60 2>>"$VB_DIR/scenario.log" || fail "not ready after the grant" || return 1
	vb_wait_caught_up 60 || fail "bridge did not catch up after the grant" || return 1
	note "not ready and nothing applied without Read on the group, caught up after the grant"
	stop_bridge 1 || return 1
	check
}

# Rotating the database password without a restart: the role gets a new
# password and PGPASSFILE the new line; the bridge keeps its session, and
# when that session ends (terminated here) it reconnects with the new
# password, which libpq reads from PGPASSFILE at every connection.  A
# reconnect refused because the file is stale is retried, not fatal
# (a rotation may be half done): the bridge is not ready, applies
# nothing and loses nothing, and recovers once the file is right.
scenario_rotation() {
	local tls n i new
	# shellcheck disable=SC2207
	tls=($(vs_tls_args bridge-tls))
	use_topics User:bridge-tls || return 1
	VB_DB=$(vs_db_password)
	(umask 077; cp "$PKI/pgpass" "$VB_DIR/pgpass")
	PGPASSFILE=$VB_DIR/pgpass start_bridge 1 "${tls[@]}" --max-retry-backoff-ms 1000 || return 1
	vb_loadgen --count 1000 --accounts 100 --seed "$VK_SEED" || fail "loadgen failed" || return 1
	vb_wait_caught_up 60 || fail "bridge did not catch up" || return 1
	new=$(openssl rand -hex 16)
	vb_psql -d postgres <<<"ALTER ROLE bridge PASSWORD '$new'" || return 1
	vb_psql -d postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'bridge'" >/dev/null
	vb_loadgen --count 1000 --accounts 100 --seed "$((VK_SEED + 1))" || fail "loadgen failed" || return 1
	sleep 3
	alive 1 || return 1
	grep -q 'password authentication failed' "$VB_DIR/bridge-1.log" ||
		fail "no refused reconnect in the log" || return 1
	curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:${VB_BRIDGE_PORT[1]}/readyz" &&
		fail "the bridge says it is ready without a database" || true
	[ -f "$VB_DIR/fail.txt" ] && return 1
	(umask 077; echo "localhost:$PGPORT:*:bridge:$new" >"$VB_DIR/pgpass.new")
	mv "$VB_DIR/pgpass.new" "$VB_DIR/pgpass"
	vb_wait_caught_up 60 || fail "bridge did not recover after the password file was updated" || return 1
	n=$(grep -c '"database connected' "$VB_DIR/bridge-1.log")
	note "stale password file: reconnects refused and retried, recovered after the file changed ($n connections)"
	stop_bridge 1 || return 1
	vb_psql -d postgres <<<"ALTER ROLE bridge PASSWORD '$VS_PG_PW'" || return 1
	! grep -qaF "$new" "$VB_DIR"/*.log || fail "the new password is in a log" || return 1
	check
}

# Secrets: refused on the command line (-X sasl.password, --db with a
# password), in a config file, properties file or password file other
# users may read (exit 2, file and line named, value not printed);
# accepted from a 0600 properties file and from the environment.
scenario_secrets() {
	local f=$VB_DIR/secret.properties k=(--group g --input-topic "t_$VB_NAME")
	expect_exit 2 'secret on the command line' -b "$VS_SASL_BROKERS" -X "sasl.password=$VS_KAFKA_PW" "${k[@]}" || return 1
	expect_exit 2 'secret on the command line' -b "$VB_BROKERS" "${k[@]}" \
		--db "$(vs_db_password "password=$VS_PG_PW")" || return 1
	printf 'security.protocol=sasl_ssl\nsasl.password=%s\n' "$VS_KAFKA_PW" >"$f"
	chmod 644 "$f"
	expect_exit 2 "secret.properties:2: .*other users may read it \(mode 0644\)" -b "$VB_BROKERS" -F "$f" "${k[@]}" || return 1
	vs_bridge_conf "$VB_DIR/open.conf"
	echo "property = sasl.password=$VS_KAFKA_PW" >>"$VB_DIR/open.conf"
	chmod 604 "$VB_DIR/open.conf"
	expect_exit 2 "open.conf:[0-9]+: .*other users may read it" -c "$VB_DIR/open.conf" "${k[@]}" || return 1
	cp "$PKI/kafka-password" "$VB_DIR/pw" && chmod 644 "$VB_DIR/pw"
	expect_exit 2 "pw\" holds a secret but other users may read it" -b "$VB_BROKERS" \
		--sasl-password-file "$VB_DIR/pw" "${k[@]}" || return 1
	no_secret "refusal output" "$VB_DIR"/refused-*.log || return 1
	# The same secrets from a private file and from the environment work.
	use_topics User:bridge || return 1
	chmod 600 "$f"
	printf 'sasl.mechanisms=%s\nsasl.username=bridge\nssl.ca.location=%s\n' "$VS_MECH" "$PKI/ca.pem" >>"$f"
	VB_DB=$(vs_db_password)
	start_bridge 1 -b "$VS_SASL_BROKERS" -F "$f" || return 1
	proc_no_secret 1 || return 1
	stop_bridge 1 || return 1
	VOLTPAY_PROPERTIES="security.protocol=sasl_ssl;sasl.mechanisms=$VS_MECH;sasl.username=bridge;sasl.password=$VS_KAFKA_PW;ssl.ca.location=$PKI/ca.pem" \
		start_bridge 2 -b "$VS_SASL_BROKERS" || return 1
	stop_bridge 2 || return 1
	no_secret "logs" "$VB_DIR"/bridge-*.log || return 1
	note "5 refusals (cmdline -X, cmdline --db, 0644 properties, 0604 config, 0644 password file), 0600 file and environment accepted"
}

# make migrate's Liquibase run (liquibase/lb.sh update, as the Makefile's
# migrate target without its install step) over JDBC with verify-full, as
# a login whose password the JDBC driver reads from PGPASSFILE
# (pgurl2jdbc.py maps sslmode and sslrootcert and keeps the password out
# of the URL): a rogue CA is refused, the right one works, and the
# password is in neither output.
scenario_migrate() {
	local pw url
	pw=$(openssl rand -hex 16)
	url="postgresql://migrator@localhost:$PGPORT/vs_migrate?sslmode=verify-full&sslrootcert=$PKI/ca.pem"
	vb_psql -d postgres -c "DROP DATABASE IF EXISTS vs_migrate" -c "CREATE DATABASE vs_migrate" || return 1
	vb_psql -d postgres <<<"DROP ROLE IF EXISTS migrator; CREATE ROLE migrator LOGIN SUPERUSER PASSWORD '$pw'" || return 1
	(umask 077; echo "localhost:$PGPORT:*:migrator:$pw" >"$VB_DIR/pgpass")
	if PGPASSFILE=$VB_DIR/pgpass DB=${url/ca.pem/rogue-ca.pem} ./liquibase/lb.sh update >"$VB_DIR/migrate-rogue.log" 2>&1; then
		fail "Liquibase accepted a server certificate from another CA" || return 1
	fi
	grep -qiE 'certificat|PKIX|SSL' "$VB_DIR/migrate-rogue.log" ||
		fail "Liquibase failed without naming the certificate: $(tail -n 2 "$VB_DIR/migrate-rogue.log" | tr '\n' ' ')" || return 1
	PGPASSFILE=$VB_DIR/pgpass DB=$url ./liquibase/lb.sh update >"$VB_DIR/migrate.log" 2>&1 ||
		fail "Liquibase over TLS failed: $(grep -iE 'error|exception' "$VB_DIR/migrate.log" | head -n 2 | tr '\n' ' ')" || return 1
	[ "$(vb_psql -d vs_migrate -c "SELECT extversion FROM pg_extension WHERE extname = 'voltpay'")" != "" ] ||
		fail "no voltpay extension after the migration" || return 1
	[ "$(vb_psql -d vs_migrate -c "SELECT count(*) FROM public.databasechangelog")" -gt 0 ] ||
		fail "no changeset recorded" || return 1
	! grep -qaF "$pw" "$VB_DIR"/migrate*.log || fail "the password is in Liquibase's output" || return 1
	vb_psql -d postgres -c "DROP DATABASE vs_migrate" -c "DROP ROLE migrator" >/dev/null
	note "Liquibase (JDBC) with verify-full, password from PGPASSFILE (not in its output), a rogue CA refused"
}

# ---------------------------------------------------------------------------

VB_RUN_WIDTH=14
VB_RUN_BEGIN=vs_run_begin
VB_RUN_SUMMARY=vs_run_summary

vs_run_begin() {
	vb_run_begin "$1"
	vb_log "scenario $1, seed $VK_SEED, brokers $VB_BROKERS (mTLS), $VS_SASL_BROKERS (SASL_SSL)"
}

vs_run_summary() {
	local dir=$1
	{
		grep -m1 '^checker: expected' "$dir/checker.out" 2>/dev/null | sed 's/^checker: //'
		cat "$dir/note.txt" 2>/dev/null
	} | paste -sd '|' | sed 's/|/; /g'
}

start=$(date +%s)
if [ $# -gt 0 ]; then
	scenarios=("$@")
else
	scenarios=("${SCENARIOS[@]}")
fi
passed=0
failed=0
echo "secure: seed $VK_SEED, work directory $VB_WORK"
if ! vs_setup; then
	echo "secure: 0 passed, 1 failed (set-up)"
	VK_KEEP=1
	exit 1
fi
for s in "${scenarios[@]}"; do
	if ! declare -F "scenario_$s" >/dev/null; then
		echo "FAIL $s: no such scenario"
		failed=$((failed + 1))
		continue
	fi
	run_scenario "$s"
done
echo "secure: $passed passed, $failed failed ($(($(date +%s) - start)) s)"
if [ $failed = 0 ] && [ -z "${VK_KEEP:-}" ]; then
	rm -rf "$VB_WORK"
else
	VK_KEEP=1
fi
[ $failed = 0 ]
