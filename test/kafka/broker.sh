# Sourced by the kafka test suite (and usable by hand): real Apache Kafka
# brokers in KRaft mode on loopback ports, from the jars test/kafka/fetch.sh
# keeps in the cache folder, run by the system's Java 17.
#
#   . test/kafka/broker.sh
#   vk_cluster_start N        N = 1, 3 or 5 nodes, each broker and controller, with
#                             its own directory; formats the storage
#                             (kafka.tools.StorageTool), starts kafka.Kafka,
#                             waits until all N brokers are in the metadata.
#                             Sets VK_BROKERS (bootstrap list) and VK_DIR.
#   vk_topics [args...]       bridge/voltpay-topics against the cluster
#   vk_broker_kill ID [SIG [SECS]]  kill one node (default SIGKILL) and wait
#                             until its JVM is gone (at most SECS, default
#                             10; a controlled shutdown, SIGTERM, with
#                             hundreds of partitions takes longer)
#   vk_broker_restart ID      start a stopped node again and wait for it
#   vk_broker_alive ID        the node's JVM runs
#   vk_cluster_stop           kill every node, wait until the JVMs are gone,
#                             remove VK_DIR (kept with VK_KEEP=1, or by
#                             vk_cluster_stop keep)
#
# vk_cluster_start adds vk_cluster_stop to the shell's EXIT trap (after
# whatever is there, e.g. vp_pg_stop) and makes INT, TERM and HUP exit so
# that the trap runs.  A watchdog process also kills the brokers if the
# shell that started them goes away without running its trap (SIGKILL),
# so no JVM outlives its test.  Node PIDs live in files ($VK_DIR/node-ID/
# pid), so a node restarted in a subshell is still found and stopped.
#
# Settings: VK_HEAP (-Xmx, default 384m), VK_JAVA (default: java on PATH,
# or $JAVA_HOME/bin/java), VK_START_TIMEOUT (seconds, default 90),
# VK_KEEP=1 (keep the directory with the logs).
#
# For a secured cluster (test/suites/secure.sh): VK_CONFIG_HOOK names a
# function called with the node number whose output is appended to the
# node's server.properties (a later line wins: listeners, TLS, SASL,
# authorizer); VK_FORMAT_ARGS (array) is added to the storage format
# (--add-scram ...); VK_CLIENT_ARGS (array, -X properties) is given to
# every voltpay-topics call here, so that waiting and vk_topics work on
# the secured listener VK_BROKERS names.

VK_ROOT=${VK_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
VK_HEAP=${VK_HEAP:-384m}
VK_START_TIMEOUT=${VK_START_TIMEOUT:-90}
VK_TOPICS_BIN=${VK_TOPICS_BIN:-$VK_ROOT/bridge/voltpay-topics}
VK_DIR=
VK_BROKERS=
VK_NODES=0
[ -n "${VK_CLIENT_ARGS+x}" ] || VK_CLIENT_ARGS=()
[ -n "${VK_FORMAT_ARGS+x}" ] || VK_FORMAT_ARGS=()

vk__java() {
	if [ -n "${VK_JAVA:-}" ]; then
		echo "$VK_JAVA"
	elif [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
		echo "$JAVA_HOME/bin/java"
	else
		command -v java
	fi
}

# vk__ports N: N distinct free loopback ports, space-separated.
vk__ports() {
	python3 - "$1" <<-'EOF'
		import socket, sys
		socks = []
		for _ in range(int(sys.argv[1])):
		    s = socket.socket()
		    s.bind(("127.0.0.1", 0))
		    socks.append(s)
		print(" ".join(str(s.getsockname()[1]) for s in socks))
		for s in socks:
		    s.close()
	EOF
}

# vk__jvm NODE: sets VK_JVM to the JVM command line of a node (the
# classpath is the cached jar folder).  Serial GC and the C1 compiler
# only: a small heap, and no C2 compiler threads competing for 2 cores.
vk__jvm() {
	local dir=$VK_DIR/node-$1
	VK_JVM=("$VK_JAVA_BIN" "-Xmx$VK_HEAP" -Xms64m -Xss512k -XX:+UseSerialGC
		-XX:TieredStopAtLevel=1 -XX:-UsePerfData -Djava.awt.headless=true
		-Djava.io.tmpdir="$dir" -Dkafka.logs.dir="$dir"
		-Dlog4j2.configurationFile="$VK_ROOT/test/kafka/log4j2.properties"
		-cp "$VK_LIBS/*")
}

# vk__write_config NODE: server.properties of one node.
vk__write_config() {
	local node=$1 n=$VK_NODES i voters="" repl isr
	local dir=$VK_DIR/node-$node
	for i in $(seq "$n"); do
		voters+="${voters:+,}$i@127.0.0.1:${VK_CPORT[$i]}"
	done
	repl=$((n >= 3 ? 3 : n))
	isr=$((n >= 2 ? 2 : 1))
	mkdir -p "$dir/data"
	cat >"$dir/server.properties" <<-EOF
		# Written by test/kafka/broker.sh: node $node of $n.
		process.roles=broker,controller
		node.id=$node
		controller.quorum.voters=$voters
		listeners=PLAINTEXT://127.0.0.1:${VK_BPORT[$node]},CONTROLLER://127.0.0.1:${VK_CPORT[$node]}
		advertised.listeners=PLAINTEXT://127.0.0.1:${VK_BPORT[$node]}
		listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
		controller.listener.names=CONTROLLER
		inter.broker.listener.name=PLAINTEXT
		log.dirs=$dir/data
		# Topics are created by voltpay-topics, as in production.
		auto.create.topics.enable=false
		unclean.leader.election.enable=false
		default.replication.factor=$((n >= 2 ? 2 : 1))
		# Internal topics: replicated on every node (at most 3), 10 partitions
		# instead of 50 to start faster.
		offsets.topic.replication.factor=$repl
		offsets.topic.num.partitions=10
		transaction.state.log.replication.factor=$repl
		transaction.state.log.min.isr=$isr
		transaction.state.log.num.partitions=10
		# Tests start consumers at once: no 3 s wait for more members.
		group.initial.rebalance.delay.ms=0
		# Two cores: fewer threads than the defaults.
		num.network.threads=2
		num.io.threads=4
		num.replica.fetchers=1
		background.threads=4
		log.cleaner.enable=false
	EOF
	if [ -n "${VK_CONFIG_HOOK:-}" ]; then
		"$VK_CONFIG_HOOK" "$node" >>"$dir/server.properties" || return 1
	fi
}

# vk__launch NODE: starts the node's JVM in the background, PID in its file.
vk__launch() {
	local node=$1
	local dir=$VK_DIR/node-$node
	echo "=== start $(date +%T)" >>"$dir/stdout"
	vk__jvm "$node"
	"${VK_JVM[@]}" kafka.Kafka "$dir/server.properties" </dev/null >>"$dir/stdout" 2>&1 &
	echo $! >"$dir/pid"
	disown $!					# no "Killed" job notices; stopped by PID
}

vk_broker_alive() {
	local pid
	pid=$(cat "$VK_DIR/node-$1/pid" 2>/dev/null) || return 1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# vk__why NODE: the last lines that tell why a node is not up.
vk__why() {
	local dir=$VK_DIR/node-$1
	{
		grep -hE 'ERROR|FATAL|Exception|Error:' "$dir/server.log" "$dir/stdout" 2>/dev/null | tail -n 5
		[ -s "$dir/stdout" ] && tail -n 3 "$dir/stdout"
	} | cut -c1-300 | sed "s/^/    node $1: /"
}

# vk__wait_up COUNT TIMEOUT [BOOTSTRAP]: until the metadata (from
# BOOTSTRAP, default every node) lists COUNT brokers.
vk__wait_up() {
	local want=$1 timeout=$2 boot=${3:-$VK_BROKERS} i out
	local deadline=$(($(date +%s) + timeout))
	while :; do
		for i in $(seq "$VK_NODES"); do
			if [ -f "$VK_DIR/node-$i/expected" ] && ! vk_broker_alive "$i"; then
				echo "kafka: node $i exited while starting:" >&2
				vk__why "$i" >&2
				return 1
			fi
		done
		if out=$("$VK_TOPICS_BIN" -b "$boot" "${VK_CLIENT_ARGS[@]}" --wait-only --wait-brokers "$want" --timeout 5 2>&1); then
			return 0
		fi
		if [ "$(date +%s)" -ge "$deadline" ]; then
			echo "kafka: $want broker(s) not up after ${timeout}s: $out" >&2
			for i in $(seq "$VK_NODES"); do vk__why "$i" >&2; done
			return 1
		fi
		sleep 0.5
	done
}

# Kills every node whose PID file is in directory $1 (used by the trap and
# by the watchdog).
vk__kill_all() {
	local dir=$1 f pid sig=${2:-KILL}
	for f in "$dir"/node-*/pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		[ -n "$pid" ] && kill "-$sig" "$pid" 2>/dev/null
	done
	return 0
}

# vk__trap_add CMD: appends CMD to the EXIT trap.
vk__trap_add() {
	local old
	old=$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT\$//" -e "s/'\\\\''/'/g")
	case "$old" in *"$1"*) return 0 ;; esac
	# shellcheck disable=SC2064
	trap "${old:+$old; }$1" EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
}

vk_cluster_start() {
	local n=${1:-1} i ports start
	start=$(date +%s)
	if [ "$n" != 1 ] && [ "$n" != 3 ] && [ "$n" != 5 ]; then
		echo "kafka: vk_cluster_start takes 1, 3 or 5 nodes, not $n" >&2
		return 1
	fi
	if [ -n "$VK_DIR" ] && [ -d "$VK_DIR" ]; then
		echo "kafka: a cluster is already running in $VK_DIR" >&2
		return 1
	fi
	VK_JAVA_BIN=$(vk__java) || { echo "kafka: no java on PATH (Debian: openjdk-17-jre-headless)" >&2; return 1; }
	if ! "$VK_JAVA_BIN" -version 2>&1 | grep -qE 'version "(1[7-9]|[2-9][0-9])'; then
		echo "kafka: Kafka 4 needs Java 17 or later; $VK_JAVA_BIN is $("$VK_JAVA_BIN" -version 2>&1 | head -n 1)" >&2
		return 1
	fi
	VK_LIBS=$("$VK_ROOT/test/kafka/fetch.sh") || return 1
	if [ ! -x "$VK_TOPICS_BIN" ]; then
		echo "kafka: $VK_TOPICS_BIN is missing (run make bridge)" >&2
		return 1
	fi
	VK_DIR=$(mktemp -d /tmp/voltpay-kafka.XXXXXX)
	VK_NODES=$n
	vk__trap_add vk_cluster_stop
	# The watchdog: kills the nodes when the starting shell is gone.
	local owner=$BASHPID
	(
		trap '' INT TERM HUP
		while kill -0 "$owner" 2>/dev/null && [ -d "$VK_DIR" ]; do sleep 1; done
		if [ -d "$VK_DIR" ]; then
			vk__kill_all "$VK_DIR" KILL
			sleep 2
			[ -n "${VK_KEEP:-}" ] || rm -rf "$VK_DIR"
		fi
	) </dev/null >/dev/null 2>&1 &
	VK_WATCHDOG=$!
	disown "$VK_WATCHDOG"

	read -r -a ports <<<"$(vk__ports $((2 * n)))"
	VK_BPORT=() VK_CPORT=()
	VK_BROKERS=
	for i in $(seq "$n"); do
		VK_BPORT[$i]=${ports[$((2 * i - 2))]}
		VK_CPORT[$i]=${ports[$((2 * i - 1))]}
		VK_BROKERS+="${VK_BROKERS:+,}127.0.0.1:${VK_BPORT[$i]}"
	done
	for i in $(seq "$n"); do vk__write_config "$i" || return 1; done

	# One cluster id for all nodes; formats run in parallel.  The id may
	# start with "-" (URL-safe base64): --cluster-id=ID, or argparse takes
	# it for an option.
	local cid pids=() rc=0
	cid=$(python3 -c 'import base64, uuid; print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))')
	for i in $(seq "$n"); do
		vk__jvm "$i"
		"${VK_JVM[@]}" kafka.tools.StorageTool format --cluster-id="$cid" \
			-c "$VK_DIR/node-$i/server.properties" "${VK_FORMAT_ARGS[@]}" </dev/null >"$VK_DIR/node-$i/format.log" 2>&1 &
		pids+=($!)
	done
	for i in $(seq "$n"); do
		if ! wait "${pids[$((i - 1))]}"; then
			echo "kafka: formatting node $i failed:" >&2
			tail -n 5 "$VK_DIR/node-$i/format.log" | sed 's/^/    /' >&2
			rc=1
		fi
	done
	[ $rc = 0 ] || return 1

	for i in $(seq "$n"); do
		touch "$VK_DIR/node-$i/expected"
		vk__launch "$i"
	done
	echo "$VK_BROKERS" >"$VK_DIR/bootstrap"
	vk__wait_up "$n" "$VK_START_TIMEOUT" || return 1
	echo "kafka: $n node(s) up at $VK_BROKERS in $(($(date +%s) - start)) s ($VK_DIR)" >&2
}

vk_topics() {
	"$VK_TOPICS_BIN" -b "$VK_BROKERS" "${VK_CLIENT_ARGS[@]}" "$@"
}

vk_broker_kill() {
	local node=$1 sig=${2:-KILL} secs=${3:-10} pid
	pid=$(cat "$VK_DIR/node-$node/pid" 2>/dev/null)
	rm -f "$VK_DIR/node-$node/expected"
	echo "=== kill -$sig $(date +%T)" >>"$VK_DIR/node-$node/stdout"
	[ -n "$pid" ] && kill "-$sig" "$pid" 2>/dev/null
	# Until the process is gone (SIGKILL: at once).
	local i
	for i in $(seq $((secs * 10))); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	echo "kafka: node $node (pid $pid) still runs $secs s after SIG$sig" >&2
	return 1
}

# vk_broker_restart NODE [TIMEOUT]: starts a stopped node and waits until
# that node itself answers with all the cluster's brokers (asking another
# node could answer at once: the controller fences a dead broker only
# after broker.session.timeout.ms, 9 s).
vk_broker_restart() {
	local node=$1 timeout=${2:-$VK_START_TIMEOUT}
	if vk_broker_alive "$node"; then
		echo "kafka: node $node is already running" >&2
		return 1
	fi
	touch "$VK_DIR/node-$node/expected"
	vk__launch "$node"
	vk__wait_up "$VK_NODES" "$timeout" "127.0.0.1:${VK_BPORT[$node]}"
}

# vk_cluster_stop [keep]: kills every node (SIGKILL: a test cluster's data
# is thrown away, and a controlled shutdown takes seconds) and waits until
# the JVMs are gone; removes the directory unless VK_KEEP is set or "keep"
# is given.
vk_cluster_stop() {
	[ -n "${VK_DIR:-}" ] && [ -d "$VK_DIR" ] || return 0
	local i n
	vk__kill_all "$VK_DIR" KILL
	for n in $(seq "$VK_NODES"); do
		local pid
		pid=$(cat "$VK_DIR/node-$n/pid" 2>/dev/null)
		for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	done
	if [ -n "${VK_KEEP:-}" ] || [ "${1:-}" = keep ]; then
		echo "kafka: cluster stopped; logs kept in $VK_DIR" >&2
		rm -f "$VK_DIR"/node-*/pid
		# Let the watchdog go.
		[ -n "${VK_WATCHDOG:-}" ] && kill -KILL "$VK_WATCHDOG" 2>/dev/null
	else
		# A JVM that was slow to die may still have created files.
		for i in 1 2 3; do
			rm -rf "$VK_DIR" 2>/dev/null && [ ! -e "$VK_DIR" ] && break
			sleep 1
		done
	fi
	VK_DIR=
	return 0
}
