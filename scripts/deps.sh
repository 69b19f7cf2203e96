#!/usr/bin/env bash
# Installs what voltpay needs and is missing: Debian packages, the npm
# packages pinned in liquibase/package-lock.json.  Idempotent and quiet when
# everything is there.  Run by `make deps`, so by `make test` and `make demo`.
set -euo pipefail
cd "$(dirname "$0")/.."

debs=(
	postgresql-15 postgresql-server-dev-15 postgresql-contrib
	postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl
	libipc-run-perl
	librdkafka-dev libpq-dev libmicrohttpd-dev libcurl4-openssl-dev
	libjansson-dev libssl-dev kcat openssl curl
	gcc make pkg-config valgrind python3
	clang libclang-rt-14-dev
	openjdk-17-jre-headless nodejs npm
)

missing=()
for p in "${debs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# nodejs/npm may come from elsewhere than Debian: a working binary is enough.
if command -v node >/dev/null && command -v npm >/dev/null; then
	missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))

if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Each part can add its own installer (npm, Maven) as scripts/deps.d/*.sh.
for f in scripts/deps.d/*.sh; do
	[ -e "$f" ] && bash "$f"
done
exit 0
