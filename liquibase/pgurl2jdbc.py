#!/usr/bin/env python3
"""Turns a libpq connection string and the PG* environment into what
Liquibase needs, for lb.sh.

    pgurl2jdbc.py [CONNINFO]

CONNINFO is a libpq URL (postgresql://user:pass@host:port/db?sslmode=require),
a keyword/value string (host=... dbname=...), or empty: then only the PG*
variables and libpq's defaults count.  As with libpq, what CONNINFO gives
overrides the PG* variables.

CONNINFO is parsed by libpq itself (PQconninfoParse, through psycopg's
psycopg.conninfo.conninfo_to_dict; Debian python3-psycopg), so URL
decoding, quoting, several hosts, IPv6 addresses, ssl=true and libpq's
error messages are libpq's.  This program only maps the result to JDBC.

Prints four NUL-terminated fields: the JDBC URL, the user name, the
password and the password file (the last three possibly empty).  The
password is kept out of the URL so that Liquibase never prints it; without
one the JDBC driver reads the password file (passfile, PGPASSFILE, else
~/.pgpass) like libpq.  Exits 2 with a message on stderr for what libpq
rejects and what JDBC cannot do (Unix sockets, keywords with no JDBC
equivalent).
"""
import getpass
import os
import sys
from urllib.parse import quote

try:
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict
except ImportError:
    # Debian's python3-psycopg is installed for Debian's interpreter; a
    # python3 first in PATH (pyenv, a virtualenv) may not see it.
    if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") \
            and os.access("/usr/bin/python3", os.X_OK):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("lb.sh: psycopg is missing (Debian package python3-psycopg; make deps installs it)",
          file=sys.stderr)
    sys.exit(2)

# libpq environment variables and the keyword each one sets.
ENV = {
    "PGHOST": "host", "PGHOSTADDR": "hostaddr", "PGPORT": "port",
    "PGDATABASE": "dbname", "PGUSER": "user", "PGPASSWORD": "password",
    "PGSSLMODE": "sslmode", "PGSSLCERT": "sslcert", "PGSSLKEY": "sslkey",
    "PGSSLROOTCERT": "sslrootcert", "PGSSLCRL": "sslcrl",
    "PGAPPNAME": "application_name", "PGCONNECT_TIMEOUT": "connect_timeout",
    "PGOPTIONS": "options", "PGTARGETSESSIONATTRS": "target_session_attrs",
    "PGGSSENCMODE": "gssencmode", "PGCHANNELBINDING": "channel_binding",
    "PGSERVICE": "service", "PGPASSFILE": "passfile",
}

# libpq keyword -> pgjdbc property; None: handled elsewhere or meaningless
# to JDBC (the driver reads PGPASSFILE and ~/.pgpass itself).  A keyword
# libpq knows but this table does not is refused: it has no JDBC meaning
# we could vouch for.
JDBC = {
    "host": None, "hostaddr": None, "port": None, "dbname": None,
    "user": None, "password": None, "passfile": None,
    "sslmode": "sslmode", "sslcert": "sslcert", "sslkey": "sslkey",
    "sslrootcert": "sslrootcert", "sslpassword": "sslpassword",
    "application_name": "ApplicationName", "fallback_application_name": None,
    "connect_timeout": "connectTimeout", "options": "options",
    "target_session_attrs": "targetServerType", "gssencmode": "gssEncMode",
    "channel_binding": "channelBinding", "keepalives": "tcpKeepAlive",
    "service": None, "sslcompression": None, "sslcrl": None, "sslcrldir": None,
    "krbsrvname": "kerberosServerName", "gsslib": None,
    "keepalives_idle": None, "keepalives_interval": None,
    "keepalives_count": None, "tcp_user_timeout": None,
    "requirepeer": None, "ssl_min_protocol_version": None,
    "ssl_max_protocol_version": None, "sslsni": None,
}

# libpq target_session_attrs values -> pgjdbc targetServerType values.
TARGET = {"any": "any", "read-write": "primary", "primary": "primary",
          "read-only": "secondary", "standby": "secondary",
          "prefer-standby": "preferSecondary"}


def die(msg):
    print("lb.sh: " + msg, file=sys.stderr)
    sys.exit(2)


def emit(*fields):
    sys.stdout.write("".join(f + "\0" for f in fields))


def main():
    conninfo = sys.argv[1] if len(sys.argv) > 1 else ""
    opts = {}
    for var, key in ENV.items():
        if os.environ.get(var):
            opts[key] = os.environ[var]
    s = conninfo.strip()
    if s.startswith("jdbc:"):
        # Already JDBC: passed through; credentials from PGUSER/PGPASSWORD.
        emit(s, opts.get("user", ""), opts.get("password", ""), opts.get("passfile", ""))
        return
    try:
        given = conninfo_to_dict(s)
    except ProgrammingError as e:
        die("invalid connection string: %s" % str(e).strip())
    # libpq reports an empty value (host= , a URL's empty user) as absent.
    opts.update({k: v for k, v in given.items() if v is not None})

    for k in opts:
        if k not in JDBC:
            die('connection keyword "%s" has no JDBC equivalent here' % k)
    if opts.get("service"):
        die("PGSERVICE/service= is not supported here: give host, port and dbname "
            "(or a postgresql:// URL) instead")

    user = opts.get("user") or getpass.getuser()
    dbname = opts.get("dbname") or user
    host = opts.get("hostaddr") or opts.get("host") or ""
    hosts = host.split(",") if host else ["localhost"]
    ports = (opts.get("port") or "").split(",")
    if len(ports) == 1:
        ports = ports * len(hosts)
    if len(ports) != len(hosts):
        die("%d hosts but %d ports in the connection string" % (len(hosts), len(ports)))
    for h in hosts:
        if h.startswith("/") or h.startswith("@"):
            die('host "%s" is a Unix-domain socket directory, which the JDBC driver '
                'cannot use: give a TCP host (host=localhost, PGHOST=127.0.0.1, or '
                'postgresql://localhost:5432/dbname)' % h)
    addrs = []
    for h, p in zip(hosts, ports):
        h = h or "localhost"
        h = "[%s]" % h if ":" in h else h
        addrs.append(h + (":" + p if p else ":5432"))

    props = []
    for k, v in opts.items():
        prop = JDBC.get(k)
        if prop is None:
            continue
        if k == "target_session_attrs":
            if v not in TARGET:
                die('target_session_attrs "%s" has no JDBC equivalent' % v)
            v = TARGET[v]
        if k == "keepalives":
            v = "true" if v != "0" else "false"
        props.append("%s=%s" % (prop, quote(v, safe="")))
    url = "jdbc:postgresql://%s/%s" % (",".join(addrs), quote(dbname, safe=""))
    if props:
        url += "?" + "&".join(sorted(props))
    emit(url, user, opts.get("password", ""), opts.get("passfile", ""))


if __name__ == "__main__":
    main()
