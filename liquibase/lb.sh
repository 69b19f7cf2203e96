#!/usr/bin/env bash
# Runs the pinned Liquibase (npm package `liquibase`, see package-lock.json)
# on the voltpay changelog, against the database given libpq style:
#
#   DB=postgresql://user@host:5432/writer ./liquibase/lb.sh update
#   PGHOST=db1 PGDATABASE=writer ./liquibase/lb.sh status --verbose
#   ./liquibase/lb.sh rollback --tag=v0.1.0
#   ./liquibase/lb.sh update --contexts=demo
#
# DB is a libpq URL or keyword/value string (or a jdbc: URL); what it leaves
# out comes from the PG* variables, as with psql.  The password is passed
# to Liquibase out of the URL; without one the JDBC driver reads ~/.pgpass.
# Every argument goes to Liquibase unchanged; docs/liquibase.md explains
# the commands.
#
# Needs Java 11 or later (Debian's openjdk-17-jre-headless) and the npm
# package, which scripts/deps.d/liquibase.sh installs (`make deps`).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LIQUIBASE_HOME="$here/node_modules/liquibase/dist/liquibase"
export LIQUIBASE_HOME

if [ ! -f "$LIQUIBASE_HOME/internal/lib/liquibase-core.jar" ]; then
	echo "lb.sh: Liquibase is not installed in $here/node_modules: run 'make deps' (or 'cd liquibase && npm ci')" >&2
	exit 2
fi

if [ -n "${JAVA_HOME:-}" ]; then
	java="$JAVA_HOME/bin/java"
else
	java=$(command -v java || true)
fi
if [ -z "$java" ] || [ ! -x "$java" ]; then
	echo "lb.sh: no java found: install openjdk-17-jre-headless ('make deps') or set JAVA_HOME" >&2
	exit 2
fi

# Connection: URL, user, password and password file, NUL separated
# (nothing on error, which pgurl2jdbc.py explains on stderr).
mapfile -d '' conn < <(python3 "$here/pgurl2jdbc.py" "${DB:-}")
[ ${#conn[@]} = 4 ] || exit 2

export LIQUIBASE_COMMAND_URL="${conn[0]}"
if [ -n "${conn[1]}" ]; then export LIQUIBASE_COMMAND_USERNAME="${conn[1]}"; fi
if [ -n "${conn[2]}" ]; then export LIQUIBASE_COMMAND_PASSWORD="${conn[2]}"; fi
# The JDBC driver reads PGPASSFILE, else the .pgpass in the passwd entry's
# home directory; libpq users expect $HOME/.pgpass.
if [ -n "${conn[3]}" ]; then
	export PGPASSFILE="${conn[3]}"
elif [ -z "${PGPASSFILE:-}" ] && [ -n "${HOME:-}" ] && [ -f "$HOME/.pgpass" ]; then
	export PGPASSFILE="$HOME/.pgpass"
fi

# The changelog is found through the search path under a fixed name, so
# that DATABASECHANGELOG.FILENAME does not depend on where lb.sh runs from.
export LIQUIBASE_SEARCH_PATH="$here"
export LIQUIBASE_COMMAND_CHANGELOG_FILE=changelog.xml
# Contexts: update and status run the changesets of LB_CONTEXTS, else of
# "production" (with no context at all Liquibase would run the demo ones
# too).  Rollbacks get no default: they undo what ran, whatever its context
# (filtered, a rollback-count would skip a demo changeset and undo the one
# before it instead).
command=""
for a in "$@"; do
	case "$a" in -*) ;; *) command=$a; break ;; esac
done
if [ -n "${LB_CONTEXTS:-}" ]; then
	export LIQUIBASE_COMMAND_CONTEXTS="$LB_CONTEXTS"
elif [[ "$command" != rollback* ]]; then
	export LIQUIBASE_COMMAND_CONTEXTS=production
fi
# Liquibase's own tables live in public, whatever the role's search_path.
export LIQUIBASE_LIQUIBASE_SCHEMA_NAME="${LIQUIBASE_LIQUIBASE_SCHEMA_NAME:-public}"
export LIQUIBASE_COMMAND_DEFAULT_SCHEMA_NAME="${LIQUIBASE_COMMAND_DEFAULT_SCHEMA_NAME:-public}"
export LIQUIBASE_SHOW_BANNER="${LIQUIBASE_SHOW_BANNER:-false}"


# A JVM that starts fast: Liquibase runs for seconds, not hours.
JAVA_OPTS="${JAVA_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto}"

# shellcheck disable=SC2086
exec "$java" $JAVA_OPTS -jar "$LIQUIBASE_HOME/internal/lib/liquibase-core.jar" "$@"
