#!/usr/bin/env bash
# Installs Debian's python3-psycopg (psycopg 3, on Debian's libpq5) when it
# is missing: liquibase/pgurl2jdbc.py, which lb.sh runs, parses the
# connection string with libpq's own parser through
# psycopg.conninfo.conninfo_to_dict.  Quiet when it is there.
set -euo pipefail

dpkg-query -W -f='${Status}' python3-psycopg 2>/dev/null | grep -q 'install ok installed' && exit 0
echo "deps: installing python3-psycopg (liquibase/pgurl2jdbc.py parses connection strings with libpq through it)"
sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-psycopg >/dev/null
