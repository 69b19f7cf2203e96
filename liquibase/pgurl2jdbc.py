#!/usr/bin/env python3
"""Turns a libpq connection string and the PG* environment into what
Liquibase needs, for lb.sh.

    pgurl2jdbc.py [CONNINFO]

CONNINFO is a libpq URL (postgresql://user:pass@host:port/db?sslmode=require),
a keyword/value string (host=... dbname=...), or empty: then only the PG*
variables and libpq's defaults count.  As with libpq, what CONNINFO gives
overrides the PG* variables.

Prints four NUL-terminated fields: the JDBC URL, the user name, the
password and the password file (the last three possibly empty).  The
password is kept out of the URL so that Liquibase never prints it; without
one the JDBC driver reads the password file (passfile, PGPASSFILE, else
~/.pgpass) like libpq.  Exits 2 with a message on stderr for what JDBC
cannot do (Unix sockets, unknown keywords).
"""
import getpass
import os
import sys
from urllib.parse import quote, unquote, urlsplit, parse_qsl

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
# to JDBC (the driver reads PGPASSFILE and ~/.pgpass itself).
JDBC = {
    "host": None, "hostaddr": None, "port": None, "dbname": None,
    "user": None, "password": None, "passfile": None,
    "sslmode": "sslmode", "sslcert": "sslcert", "sslkey": "sslkey",
    "sslrootcert": "sslrootcert", "sslpassword": "sslpassword",
    "application_name": "ApplicationName", "fallback_application_name": None,
    "connect_timeout": "connectTimeout", "options": "options",
    "target_session_attrs": "targetServerType", "gssencmode": "gssEncMode",
    "channel_binding": "channelBinding", "keepalives": "tcpKeepAlive",
    "service": None, "sslcompression": None, "sslcrl": None,
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


def parse_keyword_value(s):
    """libpq keyword = value syntax: values may be single-quoted, with
    backslash escapes inside and outside quotes."""
    out, i, n = {}, 0, len(s)
    while True:
        while i < n and s[i].isspace():
            i += 1
        if i >= n:
            return out
        j = i
        while j < n and s[j] != "=" and not s[j].isspace():
            j += 1
        key = s[i:j]
        while j < n and s[j].isspace():
            j += 1
        if j >= n or s[j] != "=":
            die('missing "=" after "%s" in the connection string' % key)
        j += 1
        while j < n and s[j].isspace():
            j += 1
        val = []
        if j < n and s[j] == "'":
            j += 1
            while True:
                if j >= n:
                    die("unterminated quoted string in the connection string")
                if s[j] == "\\" and j + 1 < n:
                    val.append(s[j + 1]); j += 2
                elif s[j] == "'":
                    j += 1
                    break
                else:
                    val.append(s[j]); j += 1
        else:
            while j < n and not s[j].isspace():
                if s[j] == "\\" and j + 1 < n:
                    val.append(s[j + 1]); j += 2
                else:
                    val.append(s[j]); j += 1
        out[key] = "".join(val)
        i = j


def parse_url(s):
    """libpq URI: postgresql://[user[:password]@][host][:port][,...][/dbname][?param=value&...]"""
    out = {}
    rest = s.split("://", 1)[1]
    # urlsplit cannot take several hosts: cut the authority by hand.
    cut = len(rest)
    for c in "/?":
        k = rest.find(c)
        if k != -1:
            cut = min(cut, k)
    authority, tail = rest[:cut], rest[cut:]
    if "@" in authority:
        userinfo, authority = authority.rsplit("@", 1)
        if ":" in userinfo:
            u, p = userinfo.split(":", 1)
            out["user"], out["password"] = unquote(u), unquote(p)
        elif userinfo:
            out["user"] = unquote(userinfo)
    hosts, ports = [], []
    for hp in authority.split(",") if authority else []:
        if hp.startswith("["):          # [IPv6]:port
            h, _, p = hp[1:].partition("]")
            p = p[1:] if p.startswith(":") else ""
        else:
            h, _, p = hp.partition(":")
        hosts.append(unquote(h)); ports.append(p)
    if hosts and any(hosts):
        out["host"] = ",".join(hosts)
    if any(ports):
        out["port"] = ",".join(ports)
    parts = urlsplit("x://h" + tail)
    if parts.path not in ("", "/"):
        out["dbname"] = unquote(parts.path[1:])
    for k, v in parse_qsl(parts.query, keep_blank_values=True):
        out[k] = v
    return out


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
    if s.startswith(("postgresql://", "postgres://")):
        opts.update(parse_url(s))
    elif s:
        opts.update(parse_keyword_value(s))

    for k in opts:
        if k not in JDBC:
            die('connection keyword "%s" is not known to libpq or cannot be passed to JDBC' % k)
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
