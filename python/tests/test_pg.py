"""The PostgreSQL outbox from Python: hookline.pg.enqueue inside the
application's own transaction (commit -> delivered, rollback -> never), and
hookline.Worker over a postgresql:// URL. A throwaway server from Debian's
packages (tests/pg/pg_server.sh) on 127.0.0.1, stopped by its pid."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

import hookline
import hookline.pg
from conftest import ROOT

psycopg = pytest.importorskip("psycopg")
SERVER = ROOT / "tests" / "pg" / "pg_server.sh"
RECEIVER = ROOT / "tests" / "servers" / "receiver.py"


@pytest.fixture(scope="module")
def pg_url(tmp_path_factory):
    if not any(os.path.exists("/usr/lib/postgresql/%s/bin/pg_ctl" % v) for v in
               os.listdir("/usr/lib/postgresql")) if os.path.isdir("/usr/lib/postgresql") else True:
        pytest.skip("no PostgreSQL server binaries (apt-get install postgresql)")
    d = tmp_path_factory.mktemp("pg") / "server"
    out = subprocess.run(["bash", str(SERVER), "start", str(d)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    try:
        yield out.stdout.strip()
    finally:
        subprocess.run(["bash", str(SERVER), "stop", str(d)], timeout=60)


@pytest.fixture
def db(pg_url):
    with psycopg.connect(pg_url) as conn:
        conn.execute("SET client_min_messages = warning")
        conn.execute("DROP SCHEMA IF EXISTS hookline CASCADE")
        conn.execute("DROP TABLE IF EXISTS orders")
        conn.execute("CREATE TABLE orders (id int PRIMARY KEY, state text)")
        conn.commit()
        assert hookline.pg.migrate(pg_url) == (0, 1)
        yield conn


@pytest.fixture
def receiver(tmp_path):
    log = tmp_path / "requests.log"
    proc = subprocess.Popen([sys.executable, str(RECEIVER), "--host", "127.0.0.1", "--log",
                             str(log)], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("PORT "), line
        yield "http://127.0.0.1:%d" % int(line.split()[1]), log
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


def delivered_ids(log):
    import base64
    if not log.exists():
        return set()
    ids = set()
    for line in log.read_text().splitlines():
        req = json.loads(line)
        body = json.loads(base64.b64decode(req["body"]))
        for ev in body if isinstance(body, list) else [body]:
            ids.add(ev["id"])
    return ids


def open_worker(pg_url, url):
    port = int(url.rsplit(":", 1)[1])
    return hookline.Worker(pg_url, allow_http=True, allow_cidrs=["127.0.0.0/8"],
                           allow_ports=[port])


def run_until(w, pred, seconds=20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        w.run_once(0.05)
        if pred():
            return True
    return False


def test_commit_delivers_rollback_never(pg_url, db, receiver):
    url, log = receiver
    with open_worker(pg_url, url) as w:
        w.add_endpoint("ep", {"url": url + "/ok", "batch": {"linger_ms": 0}}, test=False)
        # committed with the business row: delivered
        with db.transaction():
            db.execute("INSERT INTO orders VALUES (1, 'sent')")
            seq = hookline.pg.enqueue(db, "email.outbound.sent", {"order": 1}, id="evt_commit")
            assert seq > 0
        # rolled back with it: never
        with pytest.raises(RuntimeError):
            with db.transaction():
                db.execute("INSERT INTO orders VALUES (2, 'sent')")
                hookline.pg.enqueue(db, "email.outbound.sent", {"order": 2}, id="evt_rollback")
                raise RuntimeError("the business change failed")
        # a later event proves the worker went past where the rolled-back one was
        with db.transaction():
            hookline.pg.enqueue(db, "email.outbound.sent", '{"order":3}', id="evt_after",
                                ordering_key="o3")
        assert run_until(w, lambda: {"evt_commit", "evt_after"} <= delivered_ids(log))
        assert "evt_rollback" not in delivered_ids(log)
        assert db.execute("SELECT count(*) FROM orders WHERE id = 2").fetchone()[0] == 0
        # the outcome is recorded just after the receiver answered
        assert run_until(w, lambda: len(w.attempts()) >= 2)
        batch = w.attempts(limit=1)[0]["batch_id"]
        assert w.batch(batch)["state"] == "delivered"
        assert w.status()["inbox"] == 0


def test_targeted_and_submit_events(pg_url, db, receiver):
    url, log = receiver
    with open_worker(pg_url, url) as w:
        w.add_endpoint("a", {"url": url + "/ok", "events": ["a.*"], "batch": {"linger_ms": 0}},
                       test=False)
        w.add_endpoint("b", {"url": url + "/ok", "events": ["b.*"], "batch": {"linger_ms": 0}},
                       test=False)
        with db.transaction():
            hookline.pg.enqueue(db, "x.y", {"n": 1}, id="evt_to_b", endpoint="b")
        ids = hookline.submit_events(pg_url, [{"type": "a.z", "data": {"n": 2}}])
        assert ids[0].startswith("evt_")
        with pytest.raises(ValueError):
            hookline.pg.enqueue(db, "", None)
        assert run_until(w, lambda: {"evt_to_b", ids[0]} <= delivered_ids(log))
        assert sorted(e["id"] for e in w.endpoints()) == ["a", "b"]
