#!/usr/bin/env python3
"""The crash test's receiver: 127.0.0.2, a free port (printed as "PORT n").
Every POST is answered 200, except every 7th, which gets a 503 (so retries
and their persisted waits are part of the run). One JSON line per request
in --log: {"batch": x-webhook-batch-id, "status": what was answered,
"body": the body as text} - decided and logged under one lock, so the log
says exactly which requests were accepted. Runs until killed."""
import argparse
import json
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

lock = threading.Lock()
count = [0]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            count[0] += 1
            status = 503 if count[0] % 7 == 0 else 200
            with open(self.server.log_path, "a") as f:
                f.write(json.dumps({"batch": self.headers.get("x-webhook-batch-id"),
                                    "status": status, "body": body.decode()}) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


class Server(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # a worker killed mid-request hangs up


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    args = ap.parse_args()
    srv = Server(("127.0.0.2", 0), Handler)
    srv.log_path = args.log
    print("PORT %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
