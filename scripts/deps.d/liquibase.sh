#!/usr/bin/env bash
# Installs the Liquibase that liquibase/lb.sh runs: the npm package
# `liquibase` (Liquibase with the PostgreSQL JDBC driver), exactly as pinned
# in liquibase/package-lock.json, into liquibase/node_modules.  Does nothing
# when that install is there and matches the lockfile; `npm ci` otherwise
# (fresh clone, or a changed lockfile).  Java comes from Debian
# (openjdk-17-jre-headless, listed in scripts/deps.sh).
set -euo pipefail
cd "$(dirname "$0")/../../liquibase"

stamp=node_modules/.voltpay-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f node_modules/liquibase/dist/liquibase/internal/lib/liquibase-core.jar ] &&
   [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
	exit 0
fi

if ! command -v npm >/dev/null; then
	echo "deps: npm is missing (Debian package npm); cannot install Liquibase" >&2
	exit 1
fi
echo "deps: installing Liquibase from liquibase/package-lock.json (npm ci)"
# The package has no install scripts; --ignore-scripts keeps it that way.
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
echo "$want" >"$stamp"
