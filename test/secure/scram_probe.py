#!/usr/bin/env python3
"""A minimal SCRAM client for Kafka, over TLS: proves that a SCRAM user
created at format time authenticates, independently of librdkafka (whose
versions before 2.6.1 Kafka 4 rejects, librdkafka#4895).

    scram_probe.py HOST PORT USER PASSWORD_FILE CA_FILE [MECHANISM]

SaslHandshake v1, then SaslAuthenticate v0 twice (RFC 5802 client-first
and client-final), and checks the server's signature.  Prints one line;
exit 0 when authenticated, 1 when refused.
"""
import base64
import hashlib
import hmac
import os
import socket
import ssl
import struct
import sys

host, port, user, pwfile, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
mech = sys.argv[6] if len(sys.argv) > 6 else "SCRAM-SHA-512"
pw = open(pwfile).readline().rstrip("\r\n")
h = hashlib.sha512 if mech.endswith("512") else hashlib.sha256
ctx = ssl.create_default_context(cafile=ca)
sock = ctx.wrap_socket(socket.create_connection((host, port), timeout=10), server_hostname=host)


def recv(n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise SystemExit("scram-probe: connection closed by the broker")
        data += chunk
    return data


def request(api, version, body, corr):
    msg = struct.pack(">hhih", api, version, corr, 11) + b"scram-probe" + body
    sock.sendall(struct.pack(">i", len(msg)) + msg)
    return recv(struct.unpack(">i", recv(4))[0])[4:]		# without the correlation id


def sasl(payload, corr):
    """SaslAuthenticate v0: (error code, error message, auth bytes)."""
    r = request(36, 0, struct.pack(">i", len(payload)) + payload, corr)
    err, mlen = struct.unpack(">hh", r[:4])
    off = 4 + max(mlen, 0)
    msg = r[4:off].decode() if mlen > 0 else ""
    blen = struct.unpack(">i", r[off:off + 4])[0]
    return err, msg, r[off + 4:off + 4 + max(blen, 0)].decode()


r = request(17, 1, struct.pack(">h", len(mech)) + mech.encode(), 1)
if struct.unpack(">h", r[:2])[0] != 0:
    print(f"scram-probe: the broker does not enable {mech}")
    sys.exit(1)
nonce = base64.b64encode(os.urandom(18)).decode()
first_bare = f"n={user},r={nonce}"
err, msg, server_first = sasl(("n,," + first_bare).encode(), 2)
if err:
    print(f"scram-probe: refused at client-first: {msg}")
    sys.exit(1)
f = dict(p.split("=", 1) for p in server_first.split(","))
salted = hashlib.pbkdf2_hmac(h().name, pw.encode(), base64.b64decode(f["s"]), int(f["i"]))
client_key = hmac.new(salted, b"Client Key", h).digest()
final_bare = "c=biws,r=" + f["r"]
auth_msg = ",".join([first_bare, server_first, final_bare]).encode()
proof = bytes(a ^ b for a, b in zip(client_key, hmac.new(h(client_key).digest(), auth_msg, h).digest()))
err, msg, server_final = sasl((final_bare + ",p=" + base64.b64encode(proof).decode()).encode(), 3)
if err:
    print(f"scram-probe: {user} refused: {msg}")
    sys.exit(1)
server_key = hmac.new(salted, b"Server Key", h).digest()
if server_final != "v=" + base64.b64encode(hmac.new(server_key, auth_msg, h).digest()).decode():
    print("scram-probe: the server's signature is wrong")
    sys.exit(1)
print(f"scram-probe: {user} authenticated with {mech}")
