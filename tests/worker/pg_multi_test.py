#!/usr/bin/env python3
"""Several `hookline run --store postgresql://...` workers share one database.

usage: pg_multi_test.py HOOKLINE_BINARY PG_SERVER_DIR   (the server from tests/pg/pg_server.sh)

A receiver on 127.0.0.1 (in this process, one path per endpoint) answers
every request after DELAY seconds and logs the batch id, the endpoint and
the start and end of each request. Every endpoint allows one request in
flight; every worker at most MAX_CONN attempts at once (its budget), so a
single worker is the bottleneck and more workers should deliver faster.

  phase 0: `run` with a lease too short for the endpoints' timeout fails
  phase 1: one worker delivers a burst                 -> time t1
  phase 2: three workers deliver the same burst         -> time t3 (t1 / t3 > 1.5)
  phase 3: three workers, one SIGKILLed mid-burst       -> every event still delivered
Throughout: no two requests of one batch overlap in time, and (one request
per endpoint) no two requests to one endpoint overlap either - not even
around the kill, because the survivors take the dead worker's endpoints
only after its lease ran out, and it started attempts only with their
timeout left on its lease. Every process is stopped by its pid; every wait
is bounded.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg

DELAY = 0.05
N_EP = 6
MAX_CONN = 2
LEASE_MS = 4000
EVENTS = 60  # per burst; each goes to every endpoint, 5 per batch: 72 batches

log = []
log_lock = threading.Lock()


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        start = time.monotonic()
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        time.sleep(DELAY)
        end = time.monotonic()
        try:
            events = [e["id"] for e in json.loads(body)]
        except (ValueError, TypeError, KeyError):
            events = []
        with log_lock:
            log.append({"batch": self.headers.get("x-webhook-batch-id", ""), "path": self.path,
                        "start": start, "end": end, "events": events})
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # the SIGKILLed worker's connection resets: expected


failures = []


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else ": " + str(detail)), flush=True)
    if not ok:
        failures.append(name)


def main():
    hookline, pgdir = sys.argv[1], sys.argv[2]
    with open(os.path.join(pgdir, "url")) as f:
        url = f.read().strip()
    server = QuietServer(("127.0.0.1", 0), Receiver)
    server.daemon_threads = True
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    g = ["--store", url, "--allow-http", "--allow-cidr", "127.0.0.1/32", "--allow-port", str(port)]
    workers = []
    tmp = tempfile.mkdtemp(prefix="hl-pgmulti-")

    def run(*args, stdin=None):
        p = subprocess.run([hookline, *args, *g], input=stdin, capture_output=True, text=True,
                           timeout=60)
        if p.returncode != 0:
            raise RuntimeError("hookline %s: %s" % (args[0], p.stderr))
        return p.stdout

    def start_worker(n):
        out = open(os.path.join(tmp, "worker%d.log" % n), "w")
        p = subprocess.Popen([hookline, "run", "--lease-ms", str(LEASE_MS), "--max-connections",
                              str(MAX_CONN), "--json", *g], stdout=out, stderr=subprocess.STDOUT)
        workers.append(p)
        return p

    def stop_workers():
        for p in workers:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in workers:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
        workers.clear()

    def owners(db):
        return dict(db.execute("SELECT owner, count(*) FROM hookline.endpoints GROUP BY owner").fetchall())

    def wait_until(what, pred, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():
                return True
            time.sleep(0.05)
        check(what, False, "timed out after %ss" % timeout)
        return False

    def burst(tag):
        lines = "".join(json.dumps({"id": "evt_%s_%03d" % (tag, i), "type": "email.outbound.sent",
                                    "data": {"i": i}}) + "\n" for i in range(EVENTS))
        with log_lock:
            first = len(log)
        t0 = time.monotonic()
        run("send", stdin=lines)
        return first, t0

    def delivered(tag, first):
        """(endpoint path, event id) pairs of this burst seen by the receiver."""
        with log_lock:
            entries = log[first:]
        return {(e["path"], ev) for e in entries for ev in e["events"] if ev.startswith("evt_%s_" % tag)}

    want = lambda tag: {("/ep/%d" % n, "evt_%s_%03d" % (tag, i)) for n in range(N_EP) for i in range(EVENTS)}

    try:
        with psycopg.connect(url, autocommit=True) as db:
            db.execute("SET client_min_messages = warning")
            db.execute("DROP SCHEMA IF EXISTS hookline CASCADE")
            run("migrate")
            for n in range(N_EP):
                cfg = json.dumps({"url": "http://127.0.0.1:%d/ep/%d" % (port, n), "timeout_ms": 1000,
                                  "flow": {"concurrency": 1},
                                  "batch": {"max_events": 5, "linger_ms": 20}})
                run("endpoint", "add", "ep%d" % n, "--config", "-", "--skip-test", stdin=cfg)

            # phase 0: a lease too short for the endpoints' timeout (1 s needs
            # (1 s + 1 s) x 1.5 = 3 s) is refused, saying what it needs
            p = subprocess.run([hookline, "run", "--lease-ms", "2500", *g], capture_output=True,
                               text=True, timeout=60)
            check("a lease too short for the timeouts is refused",
                  p.returncode != 0 and "config_range" in p.stderr and "2500 ms" in p.stderr
                  and "at least 3001 ms" in p.stderr, (p.returncode, p.stderr))
            db.execute("UPDATE hookline.endpoints SET owner = NULL")
            db.execute("DELETE FROM hookline.workers")

            # phase 1: one worker
            start_worker(0)
            wait_until("one worker owns every endpoint", lambda: owners(db).get(None) is None and
                       len(owners(db)) == 1, 20)
            first, t0 = burst("one")
            wait_until("one worker delivers the burst", lambda: delivered("one", first) >= want("one"), 60)
            with log_lock:
                t1 = max(e["end"] for e in log[first:]) - t0
            stop_workers()
            check("a cleanly stopped worker hands its endpoints back", owners(db) == {None: N_EP}, owners(db))

            # phase 2: three workers, once they share the endpoints 2/2/2
            for n in range(3):
                start_worker(n + 1)
            # evenly (2/2/2): a worker owning two more than another gives back
            wait_until("three workers share the endpoints evenly",
                       lambda: sorted(owners(db).values()) == [2, 2, 2] and None not in owners(db), 30)
            first, t0 = burst("three")
            wait_until("three workers deliver the burst", lambda: delivered("three", first) >= want("three"), 60)
            with log_lock:
                t3 = max(e["end"] for e in log[first:]) - t0
            print("burst of %d batches: one worker %.2fs, three workers %.2fs (x%.2f)" %
                  (len(want("one")) // 5, t1, t3, t1 / t3), flush=True)
            check("three workers deliver faster than one (ratio > 1.5)", t1 / t3 > 1.5, (t1, t3))

            # phase 3: SIGKILL one of the three mid-burst
            victim = workers[1]
            with log_lock:
                first = len(log)
            first, t0 = burst("kill")
            wait_until("deliveries start", lambda: len(delivered("kill", first)) >= 40, 30)
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=10)
            killed_at = time.monotonic()
            wait_until("the survivors deliver everything", lambda: delivered("kill", first) >= want("kill"), 60)
            check("every event of the burst reached every endpoint at least once",
                  delivered("kill", first) >= want("kill"))
            check("the survivors own every endpoint", None not in owners(db) and
                  sum(owners(db).values()) == N_EP and len(owners(db)) == 2, owners(db))
            with log_lock:
                after = [e for e in log[first:] if e["start"] > killed_at]
            check("deliveries went on after the kill", len(after) > 0)
            left = lambda: db.execute("SELECT count(*) FROM hookline.batches WHERE state <> 5").fetchone()[0]
            # the last outcome is written just after the receiver answered
            wait_until("no batch left undelivered in the database", lambda: left() == 0, 20)
    finally:
        stop_workers()
        server.shutdown()

    # the safety rule over the whole run
    with log_lock:
        entries = list(log)
    by_batch, by_path = {}, {}
    for e in entries:
        by_batch.setdefault(e["batch"], []).append(e)
        by_path.setdefault(e["path"], []).append(e)

    def overlaps(group):
        out = []
        for items in group.values():
            items = sorted(items, key=lambda e: e["start"])
            for a, b in zip(items, items[1:]):
                if b["start"] < a["end"]:
                    out.append((a, b))
        return out

    same_batch = overlaps(by_batch)
    check("no batch was ever sent by two workers at the same time", not same_batch, same_batch[:2])
    same_ep = overlaps(by_path)
    check("no endpoint ever had two requests at once (concurrency 1 across workers)", not same_ep,
          same_ep[:2])
    resent = sum(len(v) - 1 for v in by_batch.values())
    print("%d requests, %d batches, %d sent again after the kill (at-least-once)" %
          (len(entries), len(by_batch), resent), flush=True)
    if failures:
        print("%d check(s) failed; worker logs in %s" % (len(failures), tmp))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
