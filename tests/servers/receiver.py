#!/usr/bin/env python3
"""A webhook receiver for tests/test_dispatcher.c (standard library only).

Listens on --host (127.0.0.x) on a free port, prints "PORT <n>" on stdout
once it accepts connections, and appends one JSON line per request to
--log (method, path, headers as a list of [name, value], body base64).
Behaviour is chosen by the path:

  /ok, /anything-else     200 {"ok":true}
  /status/<code>          that status (Retry-After: 120 with 429)
  /flaky/<key>/<n>        500 for the first <n> requests of <key>, then 200
  /hang                   never answers (the client times out)
  /slow/<ms>              headers at once, then the 10-byte body over <ms> ms
  /big                    200 with a 64 KiB body
  /basic                  200 when Authorization is Basic hooker:s3cret, else 401
  /token                  OAuth2 client credentials (client "cid", secret "csecret"):
                          {"access_token":"tok-<n>","token_type":"Bearer","expires_in":<E>}
                          where E comes from ?expires=E (default 3600)
  /bigtoken               a 20 KB token answer (too large to be read)
  /oauth                  200 when the bearer token is the newest issued, else 401
  /redirect               302 to /ok
  /redirect_loopback      302 to http://127.0.0.1:<this port>/ok (a denied address)
  /replay                 like a receiver that never checks timestamps: always 200

With --cert/--key it speaks TLS; with --client-ca it also requires a client
certificate signed by that CA. It runs until killed (the test stops it by pid).
"""
import argparse
import base64
import json
import socketserver
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

lock = threading.Lock()
flaky_counts = {}
tokens = []


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep test output quiet
        pass

    def reply(self, status, body=b'{"ok":true}', headers=()):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length) if length else b""
        record = {
            "method": "POST",
            "path": self.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body": base64.b64encode(body).decode(),
            "client_cert": bool(getattr(self.connection, "getpeercert", lambda: None)()),
        }
        with lock:
            with open(self.server.log_path, "a") as f:
                f.write(json.dumps(record) + "\n")
        path, _, query = self.path.partition("?")
        parts = path.strip("/").split("/")
        if parts[0] == "status":
            code = int(parts[1])
            extra = [("Retry-After", "120")] if code == 429 else []
            self.reply(code, b'{"error":"as asked"}', extra)
        elif parts[0] == "flaky":
            key, n = parts[1], int(parts[2])
            with lock:
                flaky_counts[key] = flaky_counts.get(key, 0) + 1
                count = flaky_counts[key]
            self.reply(500 if count <= n else 200,
                       b'{"error":"flaky"}' if count <= n else b'{"ok":true}')
        elif parts[0] == "hang":
            time.sleep(30)
        elif parts[0] == "slow":
            total = int(parts[1]) / 1000.0
            self.send_response(200)
            self.send_header("Content-Length", "10")
            self.end_headers()
            self.wfile.flush()
            for _ in range(10):
                time.sleep(total / 10)
                self.wfile.write(b"x")
                self.wfile.flush()
        elif parts[0] == "big":
            self.reply(200, b"B" * 65536)
        elif parts[0] == "basic":
            want = "Basic " + base64.b64encode(b"hooker:s3cret").decode()
            self.reply(200 if self.headers.get("Authorization") == want else 401)
        elif parts[0] == "token":
            want = "Basic " + base64.b64encode(b"cid:csecret").decode()
            form = body.decode()
            if self.headers.get("Authorization") != want or "grant_type=client_credentials" not in form:
                self.reply(401, b'{"error":"invalid_client"}')
                return
            expires = 3600
            for kv in query.split("&"):
                if kv.startswith("expires="):
                    expires = int(kv[8:])
            with lock:
                tokens.append("tok-%d" % (len(tokens) + 1))
                tok = tokens[-1]
            self.reply(200, json.dumps({"access_token": tok, "token_type": "Bearer",
                                        "expires_in": expires}).encode())
        elif parts[0] == "bigtoken":
            self.reply(200, b'{"access_token":"' + b"t" * 20000 + b'"}')
        elif parts[0] == "oauth":
            with lock:
                newest = tokens[-1] if tokens else None
            ok = newest and self.headers.get("Authorization") == "Bearer " + newest
            self.reply(200 if ok else 401)
        elif parts[0] == "redirect":
            self.reply(302, b"", [("Location", "/ok")])
        elif parts[0] == "redirect_loopback":
            port = self.server.server_address[1]
            self.reply(302, b"", [("Location", "http://127.0.0.1:%d/ok" % port)])
        else:
            self.reply(200)


class Server(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # clients that time out and hang up are part of the tests


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--log", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--client-ca")
    args = ap.parse_args()
    srv = Server((args.host, 0), Handler)
    srv.log_path = args.log
    if args.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        if args.client_ca:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(args.client_ca)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("PORT %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
