#!/usr/bin/env python3
"""A Zipkin stand-in for the bridge benchmark: takes POST /api/v2/spans
(202, as zipkin-server answers), counts the spans (by "traceId" keys, not
parsing the JSON, to stay cheap next to the measured bridge) and answers
GET /count with {"posts": N, "spans": N, "bytes": N}.  A real zipkin-server
is a JVM that would compete for the 2 cores with the bridge and the
database; in production the backend runs elsewhere.

    bench/zipkin-sink.py PORT_FILE     binds a free loopback port, writes it
"""
import http.server
import json
import sys
import threading

lock = threading.Lock()
stats = {"posts": 0, "spans": 0, "bytes": 0}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with lock:
            stats["posts"] += 1
            stats["spans"] += body.count(b'"traceId"')
            stats["bytes"] += len(body)
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        with lock:
            out = json.dumps(stats).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1], "w") as f:
    f.write(str(srv.server_address[1]))
srv.serve_forever()
