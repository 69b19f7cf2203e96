#!/usr/bin/env bash
# The Liquibase changelog (liquibase/changelog.xml) run by liquibase/lb.sh
# against a private PostgreSQL cluster, several databases in it:
#
#   lb_fresh  validate; update from empty; status; update twice changes
#             nothing; rollback refused while tables hold rows; rollback-count
#             all the way back leaves no voltpay object; update again; the
#             demo context and its rollback
#   lb_pre    preconditions fail (extension version missing, PostgreSQL too
#             old) with a clear message and no change; a changeset failing
#             half-way; recovery
#   lb_utr    update-testing-rollback
#   lb_upg    upgrade path: the first released version (update-to-tag), then
#             0.2.0 (update-to-tag), then update to the current one; a
#             payment applied and an invalid_key record rejected, then
#             rollback --tag=v0.2.0 (downgrade script 0.3.0 -> 0.2.0):
#             rejection kept, catalog of update-to-tag v0.2.0; then
#             rollback --tag=v0.1.0 (the downgrade script): back at 0.1.0,
#             payment kept; Liquibase rolls tag-v0.1.0 back too (a changeset
#             that only tags), update-to-tag v0.1.0 records it again, and
#             the catalog then equals the one update-to-tag v0.1.0 gave;
#             rollback all with other databases still using the roles
#   lb_direct plain CREATE EXTENSION voltpay (the assembled script of the
#             current version, no Liquibase)
#
# and compares the catalogs of lb_pre, lb_utr and lb_upg with lb_fresh's
# (extension members' full DDL, ACLs, roles, settings, changelog rows), and
# lb_direct's with lb_fresh's apart from the database's grants, settings and
# changelog rows (Liquibase's, not the extension's): the upgrade scripts and
# the current version's full script give the same extension.  The
# comparison is first shown to see a difference.
#
# Needs `make install` done (the top-level `make test` does it).  Prints
# "ok"/"not ok" per check, the Liquibase output of failed steps, and exits
# non-zero when any check failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

bash scripts/deps.d/liquibase.sh || { echo "not ok - Liquibase could not be installed"; exit 1; }

. test/lib/pgcluster.sh
vp_pg_start || { echo "not ok - cannot start PostgreSQL"; exit 1; }

work=$(mktemp -d /tmp/voltpay-lb.XXXXXX)
# VP_KEEP_PG=1 keeps the cluster and the Liquibase logs for a look.
trap 'vp_pg_stop; if [ -n "${VP_KEEP_PG:-}" ]; then echo "# logs kept in $work"; else rm -rf "$work"; fi' EXIT

failures=0
checks=0
t0=$(date +%s)

ok() {			# ok NAME: a check passed
	checks=$((checks + 1)); echo "ok $checks - $1"
}
fail() {		# fail NAME [DETAIL...]: a check failed
	checks=$((checks + 1)); failures=$((failures + 1))
	echo "not ok $checks - $1"
	shift
	for d in "$@"; do printf '%s\n' "$d" | sed 's/^/#   /'; done
}
check() {		# check NAME COMMAND...: passes when COMMAND succeeds
	local name=$1; shift
	if "$@"; then ok "$name"; else fail "$name" "failed: $*"; fi
}
same() {		# same NAME GOT WANT
	if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "got:  $2" "want: $3"; fi
}

# JVM start is most of a Liquibase run: the first run writes a class data
# sharing archive of what it loaded, the later ones map it.
cds=$work/liquibase.jsa
lb_java_opts() {
	if [ -s "$cds" ]; then
		echo "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:SharedArchiveFile=$cds"
	else
		echo "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:ArchiveClassesAtExit=$cds -Xlog:cds=off"
	fi
}

# lb LOG DB ARGS...: runs lb.sh on database DB (through PG* variables),
# output in $work/LOG.out; returns Liquibase's exit status.
lb() {
	local log=$1 db=$2; shift 2
	local s=$(date +%s)
	JAVA_OPTS=$(lb_java_opts) PGDATABASE=$db ./liquibase/lb.sh "$@" >"$work/$log.out" 2>&1
	local rc=$?
	echo "# lb.sh $* on $db: exit $rc ($(( $(date +%s) - s ))s)"
	return $rc
}
# lb_ok NAME LOG DB ARGS...: a Liquibase step that must succeed.
lb_ok() {
	local name=$1; shift
	if lb "$@"; then ok "$name"; else fail "$name" "$(grep -v '^[[:space:]]*at ' "$work/$1.out" | tail -25)"; fi
}
log_has() {		# log_has LOG TEXT: the Liquibase output contains TEXT
	grep -qF -- "$2" "$work/$1.out"
}

q() {			# q DB SQL: one value (or rows, |-separated)
	psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"
}

# What "a voltpay object" is, for this database and the cluster: the
# extension, the schema, the roles, the database's grants and settings.
leftovers() {	# leftovers DB: prints what of voltpay is left, nothing if none
	psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" <<'SQL'
SELECT 'extension ' || extname FROM pg_extension WHERE extname = 'voltpay';
SELECT 'schema ' || nspname FROM pg_namespace WHERE nspname = 'voltpay';
SELECT 'object ' || pg_describe_object(classid, objid, objsubid)
  FROM pg_depend WHERE refclassid = 'pg_extension'::regclass
   AND refobjid IN (SELECT oid FROM pg_extension WHERE extname = 'voltpay');
SELECT 'function ' || oid::regprocedure FROM pg_proc
 WHERE proname IN ('apply_payment_batch', 'apply_payment_batch_events', 'outbox_fetch');
SELECT 'role ' || rolname FROM pg_roles WHERE rolname LIKE 'voltpay%' ORDER BY rolname DESC;
SELECT 'database acl ' || a::text FROM pg_database, unnest(datacl) AS a
 WHERE datname = current_database() AND a::text LIKE 'voltpay%';
SELECT 'database setting ' || array_to_string(setconfig, ',') FROM pg_db_role_setting
 WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database());
-- Liquibase creates its two tables before it checks preconditions: they
-- may exist, empty.
SELECT 'changelog row ' || id FROM public.databasechangelog;
SQL
}

# The catalog of DB as far as the changelog shapes it, in a stable text
# form.  pg_dump skips extension members (it dumps CREATE EXTENSION), so
# the members' DDL comes from a copy of the database where they are
# detached from the extension first.
catalog() {		# catalog DB OUT
	local db=$1 out=$2 snap=${1}_snap
	{
		echo "== extension"
		q "$db" "SELECT extname, extversion, extrelocatable, extnamespace::regnamespace,
						extconfig::regclass[], extcondition
				   FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1"
		echo "== extension members"
		q "$db" "SELECT pg_describe_object(classid, objid, objsubid) FROM pg_depend
				  WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
					AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'voltpay')
				  ORDER BY 1"
		echo "== initial privileges recorded by the extension"
		q "$db" "SELECT pg_describe_object(classoid, objoid, objsubid), initprivs::text
				   FROM pg_init_privs WHERE privtype = 'e' ORDER BY 1, 2"
		echo "== roles"
		q "$db" "SELECT r.rolname, r.rolsuper, r.rolinherit, r.rolcreaterole, r.rolcreatedb,
						r.rolcanlogin, r.rolreplication, r.rolbypassrls, r.rolconnlimit,
						shobj_description(r.oid, 'pg_authid'),
						ARRAY(SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
							   WHERE m.member = r.oid ORDER BY 1)
				   FROM pg_roles r WHERE r.rolname LIKE 'voltpay%' ORDER BY 1"
		echo "== database privileges and settings"
		q "$db" "SELECT ARRAY(SELECT a::text FROM pg_database d, unnest(d.datacl) a
							   WHERE d.datname = current_database() ORDER BY 1)"
		q "$db" "SELECT COALESCE(r.rolname, '(every role)'), s.setconfig FROM pg_db_role_setting s
				   LEFT JOIN pg_roles r ON r.oid = s.setrole
				  WHERE s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
				  ORDER BY 1"
		echo "== changelog"
		q "$db" "SELECT row_number() OVER (ORDER BY orderexecuted), id, author, filename, exectype,
						md5sum, COALESCE(tag, ''), COALESCE(contexts, ''), COALESCE(labels, '')
				   FROM public.databasechangelog ORDER BY orderexecuted"
		echo "== DDL of schema voltpay, members detached"
		{ dropdb --if-exists "$snap" 2>/dev/null; q postgres "CREATE DATABASE $snap TEMPLATE $db"; } &&
		psql -X -q -v ON_ERROR_STOP=1 -d "$snap" <<'SQL' &&
DO $$
DECLARE
	o	record;
BEGIN
	FOR o IN
		SELECT i.type, i.identity
		  FROM pg_depend d, pg_identify_object(d.classid, d.objid, d.objsubid) i
		 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
		   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'voltpay')
	LOOP
		EXECUTE format('ALTER EXTENSION voltpay DROP %s %s', o.type, o.identity);
	END LOOP;
END
$$;
SQL
		pg_dump --schema-only --schema=voltpay --no-tablespaces "$snap" | grep -v '^\\\(un\)\?restrict ' &&
		q postgres "DROP DATABASE $snap"
	} >"$out" 2>&1
}

# compare NAME DB [REF]: DB's catalog equals the catalog file REF
# ($work/cat.lb_fresh, lb_fresh's, by default).
compare() {
	local ref=${3:-$work/cat.lb_fresh}
	catalog "$2" "$work/cat.$2" || { fail "$1" "catalog of $2 failed:" "$(tail -20 "$work/cat.$2")"; return; }
	if diff -u "$ref" "$work/cat.$2" >"$work/diff.$2"; then
		ok "$1"
	else
		fail "$1" "$(head -40 "$work/diff.$2")"
	fi
}
# without CAT SECTION...: catalog file CAT without the sections named
# (their "== " titles without the "== ").
without() {
	local cat=$1; shift
	awk -v drop="$(printf '== %s\n' "$@")" \
		'BEGIN { n = split(drop, d, "\n"); for (i = 1; i <= n; i++) if (d[i] != "") skip_title[d[i]] = 1 }
		 /^== / { skip = ($0 in skip_title) } !skip' "$cat"
}
# compare_without NAME DB REF SECTION...: DB's catalog equals the catalog
# file REF, apart from the sections named.
compare_without() {
	local name=$1 db=$2 ref=$3; shift 3
	catalog "$db" "$work/cat.$db" || { fail "$name" "catalog of $db failed:" "$(tail -20 "$work/cat.$db")"; return; }
	if diff -u <(without "$ref" "$@") <(without "$work/cat.$db" "$@") >"$work/diff.$db"; then
		ok "$name"
	else
		fail "$name" "$(head -40 "$work/diff.$db")"
	fi
}

for db in lb_fresh lb_pre lb_utr lb_upg lb_direct; do
	createdb "$db" || { echo "not ok - createdb $db"; exit 1; }
done

echo "# lb.sh: libpq URL and PG* variables to JDBC"
conv() { env -i PATH="$PATH" HOME="$HOME" "$@" python3 liquibase/pgurl2jdbc.py "${url:-}" 2>&1 | tr '\0' '|'; }
same "URL with user, password, two hosts, parameters" \
	"$(url='postgresql://bob:s%40cret@db1:5433,db2/writer?sslmode=verify-full&application_name=lb%20x' conv)" \
	"jdbc:postgresql://db1:5433,db2:5432/writer?ApplicationName=lb%20x&sslmode=verify-full|bob|s@cret||"
same "PG* variables, overridden by keyword/value" \
	"$(url="dbname='my db' target_session_attrs=read-write passfile=/pw" conv PGHOST=h PGPORT=6000 PGUSER=u PGPASSWORD=p PGDATABASE=x)" \
	"jdbc:postgresql://h:6000/my%20db?targetServerType=primary|u|p|/pw|"
out=$(url='postgresql:///w?host=/var/run/postgresql' conv)
check "a Unix socket is refused with a clear message" grep -q "Unix-domain socket" <<<"$out"
# libpq's documented connection strings (PostgreSQL 15 manual, 34.1.1),
# parsed by libpq itself through psycopg: conninfo => JDBC URL|user|password|passfile.
while IFS= read -r line; do
	url=${line%% => *}
	same "libpq example: $url" "$(conv LOGNAME=alice)" "${line#* => }"
done <<-'EOF'
	host=localhost port=5432 dbname=mydb connect_timeout=10 => jdbc:postgresql://localhost:5432/mydb?connectTimeout=10|alice|||
	postgresql:// => jdbc:postgresql://localhost:5432/alice|alice|||
	postgresql://localhost => jdbc:postgresql://localhost:5432/alice|alice|||
	postgresql://localhost:5433 => jdbc:postgresql://localhost:5433/alice|alice|||
	postgresql://localhost/mydb => jdbc:postgresql://localhost:5432/mydb|alice|||
	postgresql://user@localhost => jdbc:postgresql://localhost:5432/user|user|||
	postgresql://user:secret@localhost => jdbc:postgresql://localhost:5432/user|user|secret||
	postgresql://other@localhost/otherdb?connect_timeout=10&application_name=myapp => jdbc:postgresql://localhost:5432/otherdb?ApplicationName=myapp&connectTimeout=10|other|||
	postgresql://host1:123,host2:456/somedb?target_session_attrs=any&application_name=myapp => jdbc:postgresql://host1:123,host2:456/somedb?ApplicationName=myapp&targetServerType=any|alice|||
	postgresql:///mydb?host=localhost&port=5433 => jdbc:postgresql://localhost:5433/mydb|alice|||
	postgresql://[2001:db8::1234]/database => jdbc:postgresql://[2001:db8::1234]:5432/database|alice|||
	postgresql://localhost/mydb?ssl=true => jdbc:postgresql://localhost:5432/mydb?sslmode=require|alice|||
EOF
for url in 'postgresql:///dbname?host=/var/lib/postgresql' 'postgresql://%2Fvar%2Flib%2Fpostgresql/dbname'; do
	out=$(conv)
	check "libpq example with a Unix socket is refused: $url" grep -q 'host "/var/lib/postgresql" is a Unix-domain socket' <<<"$out"
done
url='host=h bogus=1'; out=$(conv)
check "libpq's own message for an unknown keyword" grep -q 'invalid connection option "bogus"' <<<"$out"
url='postgresql://h/db?bogus=1'; out=$(conv)
check "libpq's own message for an unknown URL parameter" grep -q 'invalid URI query parameter: "bogus"' <<<"$out"
url="host='a b"; out=$(conv)
check "libpq's own message for an unterminated quote" grep -q 'unterminated quoted string' <<<"$out"
url='postgresql://h/db?replication=database'; out=$(conv)
check "a libpq keyword with no JDBC equivalent is refused" grep -q 'keyword "replication" has no JDBC equivalent' <<<"$out"
url=

echo "# preconditions, on a cluster without any voltpay object"
if lb pre_version lb_pre update -Dvoltpay.required_version=99.0.0; then
	fail "missing extension version stops update" "update succeeded"
else
	check "missing extension version stops update with a clear message" \
		log_has pre_version "the voltpay extension files for version 99.0.0 are not installed on the database server"
fi
same "missing extension version: nothing changed" "$(leftovers lb_pre)" ""
if lb pre_pg lb_pre update -Dvoltpay.min_server_version_num=990000; then
	fail "old PostgreSQL stops update" "update succeeded"
else
	check "old PostgreSQL stops update with a clear message" \
		log_has pre_pg "voltpay needs PostgreSQL 99 or later, this server runs PostgreSQL 15"
fi
same "old PostgreSQL: nothing changed" "$(leftovers lb_pre)" ""
same "lock released after a failed precondition" "$(q lb_pre "SELECT count(*) FROM databasechangeloglock WHERE locked")" "0"

echo "# validate, update from empty, status, update twice"
lb_ok "validate" validate lb_fresh validate
# The first update goes through a libpq URL, not PG* variables.
if DB="postgresql://$PGUSER@$PGHOST:$PGPORT/lb_fresh" lb update1 lb_fresh update; then
	ok "update from empty (libpq URL)"
else
	fail "update from empty (libpq URL)" "$(grep -v '^[[:space:]]*at ' "$work/update1.out" | tail -25)"
fi
same "extension installed at the last version" "$(q lb_fresh "SELECT extversion FROM pg_extension WHERE extname = 'voltpay'")" "0.3.0"
same "roles created NOLOGIN, by the changelog" "$(q lb_fresh "SELECT string_agg(rolname || ':' || rolcanlogin || ':' || (shobj_description(oid, 'pg_authid') LIKE '%Created by the voltpay Liquibase changelog.'), ',' ORDER BY rolname) FROM pg_roles WHERE rolname LIKE 'voltpay%'")" \
	"voltpay_dba:false:true,voltpay_monitor:false:true,voltpay_writer:false:true"
same "database settings" "$(q lb_fresh "SELECT setconfig FROM pg_db_role_setting WHERE setrole = 0 AND setdatabase = (SELECT oid FROM pg_database WHERE datname = 'lb_fresh')")" \
	"{idle_in_transaction_session_timeout=5min,TimeZone=UTC}"
same "demo changeset not run outside the demo context" "$(q lb_fresh "SELECT count(*) FROM pg_roles WHERE rolname IN ('voltpay_bridge', 'voltpay_admin')")" "0"
lb_ok "status" status lb_fresh status --verbose
check "status shows nothing pending" log_has status "is up to date"

catalog lb_fresh "$work/cat.before" || fail "catalog of lb_fresh" "$(tail -20 "$work/cat.before")"
dbcl_before=$(q lb_fresh "SELECT * FROM databasechangelog ORDER BY orderexecuted")
lb_ok "update a second time" update2 lb_fresh update
check "second update runs no changeset" log_has update2 "Run:                          0"
catalog lb_fresh "$work/cat.after"
if diff -u "$work/cat.before" "$work/cat.after" >"$work/diff.twice"; then ok "second update changes no catalog"; else fail "second update changes no catalog" "$(head -30 "$work/diff.twice")"; fi
same "second update changes no changelog row" "$(q lb_fresh "SELECT * FROM databasechangelog ORDER BY orderexecuted")" "$dbcl_before"

echo "# rollback all the way back"
n=$(q lb_fresh "SELECT count(*) FROM databasechangelog")
q lb_fresh "SELECT voltpay.set_partition_position('payments', 0, 42)" >/dev/null
if lb rb_refused lb_fresh rollback-count --count="$n"; then
	fail "rollback refused while voltpay's tables hold rows" "the rollback succeeded"
else
	check "rollback refused while voltpay's tables hold rows" log_has rb_refused "refusing to drop extension voltpay: tables with rows: voltpay.partition_position"
fi
same "refused rollback kept extension and data" \
	"$(q lb_fresh "SELECT next_offset FROM voltpay.partition_position WHERE topic = 'payments'")" "42"
n=$(q lb_fresh "SELECT count(*) FROM databasechangelog")
lb_ok "rollback-count all the way back (rollback_drops_data=true)" rb_all lb_fresh \
	rollback-count --count="$n" -Dvoltpay.rollback_drops_data=true
same "rollback leaves no voltpay object" "$(leftovers lb_fresh)" ""

lb_ok "update again after the rollback" update3 lb_fresh update
catalog lb_fresh "$work/cat.lb_fresh" || fail "catalog of lb_fresh" "$(tail -20 "$work/cat.lb_fresh")"
if diff -u "$work/cat.before" "$work/cat.lb_fresh" >"$work/diff.again"; then
	ok "update after rollback gives the same catalog"
else
	fail "update after rollback gives the same catalog" "$(head -30 "$work/diff.again")"
fi

echo "# a changeset failing half-way"
q lb_pre "CREATE SCHEMA voltpay; CREATE TABLE voltpay.outbox (x int)" >/dev/null
if lb halfway lb_pre update; then
	fail "update stops at the failing changeset" "update succeeded"
else
	check "update stops at the failing changeset" log_has halfway 'relation "outbox" already exists'
fi
same "changesets before the failing one are recorded, not the failing one" \
	"$(q lb_pre "SELECT string_agg(id, ',' ORDER BY orderexecuted) FROM databasechangelog")" "roles,database"
same "the failing changeset left nothing of itself" \
	"$(q lb_pre "SELECT (SELECT count(*) FROM pg_extension WHERE extname = 'voltpay') || ',' || (SELECT count(*) FROM pg_class WHERE relnamespace = 'voltpay'::regnamespace)")" "0,1"
lb_ok "status after the failure" halfway_status lb_pre status --verbose
check "status lists the failed changeset as pending" log_has halfway_status "voltpay/changelog.xml::extension-0.1.0::voltpay"
q lb_pre "DROP TABLE voltpay.outbox; DROP SCHEMA voltpay" >/dev/null
lb_ok "update after removing the cause" halfway_fixed lb_pre update

echo "# update-testing-rollback"
lb_ok "update-testing-rollback" utr lb_utr update-testing-rollback

echo "# upgrade path: first released version, then the current one"
lb_ok "update-to-tag v0.1.0 (first released version)" upg1 lb_upg update-to-tag --tag=v0.1.0
same "update-to-tag stops at the tag" \
	"$(q lb_upg "SELECT id || ':' || tag FROM databasechangelog ORDER BY orderexecuted DESC LIMIT 1")" "tag-v0.1.0:v0.1.0"
same "first released version installed" "$(q lb_upg "SELECT extversion FROM pg_extension WHERE extname = 'voltpay'")" "0.1.0"
same "0.1.0 has no apply_payment_batch_events()" \
	"$(q lb_upg "SELECT count(*) FROM pg_proc WHERE proname = 'apply_payment_batch_events'")" "0"
# The released 0.1.0, for the rollback to v0.1.0 below.
catalog lb_upg "$work/cat.v0.1.0" || fail "catalog at v0.1.0" "$(tail -20 "$work/cat.v0.1.0")"
lb_ok "update-to-tag v0.2.0" upg_v2 lb_upg update-to-tag --tag=v0.2.0
same "0.2.0 installed, no apply_record_batch()" \
	"$(q lb_upg "SELECT (SELECT extversion FROM pg_extension WHERE extname = 'voltpay') || ' ' ||
					   (SELECT count(*) FROM pg_proc WHERE proname = 'apply_record_batch')")" "0.2.0 0"
# The released 0.2.0, for the rollback to v0.2.0 below.
catalog lb_upg "$work/cat.v0.2.0" || fail "catalog at v0.2.0" "$(tail -20 "$work/cat.v0.2.0")"
lb_ok "update to the current version" upg2 lb_upg update
same "upgraded to 0.3.0, changelog ends at tag v0.3.0" \
	"$(q lb_upg "SELECT (SELECT extversion FROM pg_extension WHERE extname = 'voltpay') || ' ' ||
					   (SELECT id || ':' || tag FROM databasechangelog ORDER BY orderexecuted DESC LIMIT 1)")" \
	"0.3.0 tag-v0.3.0:v0.3.0"

echo "# plain CREATE EXTENSION of the current version (roles exist: lb_fresh's changelog made them)"
check "CREATE EXTENSION voltpay, no Liquibase" q lb_direct "CREATE EXTENSION voltpay"
same "CREATE EXTENSION installs 0.3.0" "$(q lb_direct "SELECT extversion FROM pg_extension WHERE extname = 'voltpay'")" "0.3.0"

echo "# catalogs against the fresh install"
check "catalog holds the members' DDL" grep -q "CREATE TABLE voltpay.payment " "$work/cat.lb_fresh"
check "catalog holds the members' privileges" grep -q "GRANT ALL ON FUNCTION voltpay.apply_payment_batch" "$work/cat.lb_fresh"
compare "upgrade path gives the catalog of a fresh install" lb_upg
compare "update-testing-rollback gives the catalog of a fresh install" lb_utr
compare "recovery from a half-way failure gives the catalog of a fresh install" lb_pre
check "the catalog holds apply_payment_batch_events() with its grant to voltpay_writer" \
	grep -q "GRANT ALL ON FUNCTION voltpay.apply_payment_batch_events(.*) TO voltpay_writer;" "$work/cat.lb_fresh"
check "... and its comment" grep -q "COMMENT ON FUNCTION voltpay.apply_payment_batch_events(.*) IS 'apply_payment_batch() that also" "$work/cat.lb_fresh"
check "the catalog holds apply_record_batch() with its grant to voltpay_writer" \
	grep -q "GRANT ALL ON FUNCTION voltpay.apply_record_batch(keys bytea\[\].*) TO voltpay_writer;" "$work/cat.lb_fresh"
same "a catalog without sections keeps the others whole" \
	"$(without "$work/cat.lb_fresh" "database privileges and settings" "changelog" | grep -e '^== ' -e '^GRANT ALL ON FUNCTION voltpay.apply_payment_batch_events' | cut -c1-50)" \
	"$(printf '%s\n' "== extension" "== extension members" "== initial privileges recorded by the extension" "== roles" \
		"== DDL of schema voltpay, members detached" "GRANT ALL ON FUNCTION voltpay.apply_payment_batch_" "GRANT ALL ON FUNCTION voltpay.apply_payment_batch_")"
# Without Liquibase the database has no changelog rows, no grants and no
# settings of its own: the rest must be the same.
compare_without "plain CREATE EXTENSION gives the extension of the Liquibase install (upgrade scripts = full script)" \
	lb_direct "$work/cat.lb_fresh" "database privileges and settings" "changelog"

# The comparison must see a difference: a changed comment and a function
# no longer SECURITY DEFINER in lb_utr (which nothing uses afterwards).
q lb_utr "COMMENT ON TABLE voltpay.outbox IS 'changed'; ALTER FUNCTION voltpay.outbox_ack(bigint[]) SECURITY INVOKER" >/dev/null
catalog lb_utr "$work/cat.tampered"
diff "$work/cat.lb_fresh" "$work/cat.tampered" >"$work/diff.tampered"
if grep -q "^> COMMENT ON TABLE voltpay.outbox IS 'changed';" "$work/diff.tampered" &&
   grep -q "^< .*SECURITY DEFINER" "$work/diff.tampered" &&
   [ "$(grep -c '^[<>]' "$work/diff.tampered")" = 4 ]; then
	ok "the catalog comparison sees a changed comment and function, and nothing else"
else
	fail "the catalog comparison sees a changed comment and function, and nothing else" "$(cat "$work/diff.tampered")"
fi

echo "# demo context"
if LB_CONTEXTS=demo lb demo lb_fresh update; then ok "update with context demo"; else fail "update with context demo" "$(tail -20 "$work/demo.out")"; fi
same "demo bridge login gets its settings and only the writer's rights" \
	"$(psql -X -At -U voltpay_bridge -d lb_fresh -c "SHOW statement_timeout" -c "SHOW lock_timeout" \
		-c "SELECT count(*) FROM voltpay.outbox_fetch(10)" -c "SELECT count(*) FROM voltpay.payment" 2>&1)" \
	"$(printf '1min\n10s\n0\nERROR:  permission denied for table payment')"
same "demo admin login reads the tables" \
	"$(psql -X -At -U voltpay_admin -d lb_fresh -c "SELECT count(*) FROM voltpay.payment" 2>&1)" "0"
lb_ok "rollback-count 1 undoes the demo changeset" demo_rb lb_fresh rollback-count --count=1
same "demo logins dropped, group roles kept" \
	"$(q lb_fresh "SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles WHERE rolname LIKE 'voltpay%'")" \
	"voltpay_dba,voltpay_monitor,voltpay_writer"

echo "# rollback of the upgrades: rollback --tag=v0.2.0, then --tag=v0.1.0, run the downgrade scripts and keep the data"
payment='{"message_id":"0b7e2a7c-0000-4000-8000-0000000000a1","payment_id":"5d1f0000-0000-4000-8000-0000000000a1","account_id":"acc-100","amount":"250.00","currency":"EUR","debtor":{"name":"Maria Schmidt","iban":"DE89370400440532013000"},"creditor":{"name":"Jean Dupont","iban":"FR1420041010050500013M02606"},"created_at":"2026-11-24T08:15:00Z"}'
same "a payment applied at 0.3.0 through the 0.2.0 function" \
	"$(q lb_upg "SELECT status FROM voltpay.apply_payment_batch(ARRAY['acc-100'], ARRAY[convert_to('$payment', 'UTF8')], 'payment_writer_topic', ARRAY[0], ARRAY[10])")" "applied"
same "a record with a key that is not text rejected at 0.3.0 (apply_record_batch)" \
	"$(q lb_upg "SELECT DISTINCT reason FROM voltpay.apply_record_batch(ARRAY['\\x61ff'::bytea], ARRAY[convert_to('$payment', 'UTF8')], 'payment_writer_topic', ARRAY[0], ARRAY[11])")" "invalid_key"
lb_ok "rollback --tag=v0.2.0 from 0.3.0" upg_rb_v2 lb_upg rollback --tag=v0.2.0
same "back at 0.2.0, apply_record_batch() gone, changelog ends at extension-0.2.0" \
	"$(q lb_upg "SELECT (SELECT extversion FROM pg_extension WHERE extname = 'voltpay') || ' ' ||
					   (SELECT count(*) FROM pg_proc WHERE proname = 'apply_record_batch') || ' ' ||
					   (SELECT id FROM databasechangelog ORDER BY orderexecuted DESC LIMIT 1)")" \
	"0.2.0 0 extension-0.2.0"
same "the rollback to 0.2.0 kept the invalid_key rejection" \
	"$(q lb_upg "SELECT reason || ' ' || COALESCE(record_key, 'null') || ' ' || \"offset\" FROM voltpay.rejected_messages")" "invalid_key null 11"
lb_ok "update-to-tag v0.2.0 records the tag again" upg_retag_v2 lb_upg update-to-tag --tag=v0.2.0
compare "rollback --tag=v0.2.0 (then update-to-tag v0.2.0) gives the catalog of update-to-tag v0.2.0" lb_upg "$work/cat.v0.2.0"
lb_ok "rollback --tag=v0.1.0 from 0.2.0" upg_rb_tag lb_upg rollback --tag=v0.1.0
# Liquibase also rolls back the changeset holding the tag when it does
# nothing but tag (AfterTagChangeSetFilter): tag-v0.1.0's row goes too, and
# the next update records it again.
same "back at 0.1.0, apply_payment_batch_events() gone, changelog ends at extension-0.1.0" \
	"$(q lb_upg "SELECT (SELECT extversion FROM pg_extension WHERE extname = 'voltpay') || ' ' ||
					   (SELECT count(*) FROM pg_proc WHERE proname = 'apply_payment_batch_events') || ' ' ||
					   (SELECT string_agg(id, ',' ORDER BY orderexecuted) FROM databasechangelog)")" \
	"0.1.0 0 roles,database,extension-0.1.0"
same "the rollback kept the payment, its outbox event and the partition position" \
	"$(q lb_upg "SELECT (SELECT string_agg(payment_id || ' ' || amount || ' ' || currency, ',') FROM voltpay.payments) || ' / ' ||
					   (SELECT string_agg(kind, ',' ORDER BY event_id) FROM voltpay.outbox) || ' / ' ||
					   (SELECT next_offset FROM voltpay.partition_position WHERE topic = 'payment_writer_topic' AND partition = 0)")" \
	"5d1f0000-0000-4000-8000-0000000000a1 250.00 EUR / read,dead_letter / 12"
lb_ok "update-to-tag v0.1.0 records the tag again" upg_retag lb_upg update-to-tag --tag=v0.1.0
compare "rollback --tag=v0.1.0 (then update-to-tag v0.1.0) gives the catalog of update-to-tag v0.1.0" lb_upg "$work/cat.v0.1.0"

echo "# rollback where other databases still use the roles"
lb_ok "rollback-count all on lb_upg" upg_rb lb_upg rollback-count --count="$(q lb_upg "SELECT count(*) FROM databasechangelog")" \
	-Dvoltpay.rollback_drops_data=true
same "lb_upg left with nothing but the shared roles" "$(leftovers lb_upg)" "$(printf 'role voltpay_writer\nrole voltpay_monitor\nrole voltpay_dba')"
same "lb_fresh still works" "$(q lb_fresh "SELECT has_function_privilege('voltpay_writer', 'voltpay.outbox_ack(bigint[])', 'EXECUTE')")" "t"

echo "# $checks checks, $failures failed, $(( $(date +%s) - t0 ))s"
[ "$failures" -eq 0 ]
