#!/usr/bin/env bash
# Installs what the soak test (test/soak/soak.sh: `make soak`, the `soak`
# suite) needs and is missing:
#
#   Toxiproxy's server, pinned to TOXIPROXY_VERSION, built with `go install`
#   from github.com/Shopify/toxiproxy/v2/cmd/server into
#   ${VOLTPAY_CACHE:-~/.cache/voltpay}/bin/toxiproxy-server-VERSION (Go
#   from /usr/local/go, PATH, or Debian's golang-go).  The first build
#   takes 30-60 s and fetches the module through GOPROXY; then nothing.
#
#   From Debian: python3-matplotlib (the plot) and python3-confluent-kafka
#   (test/soak/soak.py reads the partitions' ISR from the brokers' metadata
#   to wait for under-replicated partitions).  Both for /usr/bin/python3,
#   which soak.py runs under.
#
# Idempotent and quiet when all is there.
set -euo pipefail

TOXIPROXY_VERSION=v2.5.0
cache=${VOLTPAY_CACHE:-$HOME/.cache/voltpay}/bin
bin=$cache/toxiproxy-server-$TOXIPROXY_VERSION

sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"

debs=(python3-matplotlib python3-confluent-kafka)
missing=()
for p in "${debs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

go=""
if [ ! -x "$bin" ]; then
	if [ -x /usr/local/go/bin/go ]; then
		go=/usr/local/go/bin/go
	elif command -v go >/dev/null; then
		go=$(command -v go)
	else
		missing+=(golang-go)
		go=/usr/bin/go
	fi
fi

if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]} (soak test)"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
fi

if [ ! -x "$bin" ]; then
	echo "deps: building Toxiproxy $TOXIPROXY_VERSION into $bin"
	mkdir -p "$cache"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	GOBIN=$tmp GOFLAGS=-mod=mod "$go" install "github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION"
	mv "$tmp/server" "$bin"
fi
exit 0
