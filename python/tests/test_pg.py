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


def test_worker_enqueue_with_host_routing(pg_url, db, receiver):
    """Worker.enqueue_many with "endpoint" (the management API's tenancy
    routing) over PostgreSQL: the event reaches the named endpoint only,
    whatever the filters say; an unknown endpoint fails at once and nothing
    of that call is kept."""
    url, log = receiver
    with open_worker(pg_url, url) as w:
        w.add_endpoint("a", {"url": url + "/ok", "events": ["a.*"], "batch": {"linger_ms": 0}},
                       test=False)
        w.add_endpoint("b", {"url": url + "/b", "events": ["x.*"], "batch": {"linger_ms": 0}},
                       test=False)
        assert w.enqueue_many([{"type": "x.y", "data": {"n": 1}, "id": "evt_host_a",
                                "endpoint": "a"}]) == 1
        with pytest.raises(hookline.EndpointError) as e:
            w.enqueue_many([{"type": "x.y", "id": "evt_lost_1", "endpoint": "a"},
                            {"type": "x.y", "id": "evt_lost_2", "endpoint": "nope"}])
        assert e.value.code == "endpoint_unknown"
        assert run_until(w, lambda: "evt_host_a" in delivered_ids(log))
        paths = [json.loads(line)["path"] for line in log.read_text().splitlines()]
        assert paths == ["/ok"], paths  # not to "b", although its filter matches x.y
        assert not {"evt_lost_1", "evt_lost_2"} & delivered_ids(log)
        assert db.execute("SELECT count(*) FROM hookline.events").fetchone()[0] == 0


def test_enqueue_many_runs_of_targets(pg_url, db, receiver):
    """enqueue_many over PostgreSQL sends each run of one target as one
    statement: every event lands with its own target, in the given order."""
    url, _ = receiver
    with open_worker(pg_url, url) as w:
        for ep in ("a", "b"):
            w.add_endpoint(ep, {"url": url + "/" + ep}, test=False)
        targets = ["a", "a", None, "b", "a"]
        evs = [{"type": "x.y", "id": "evt_r%d" % i, "data": {"s": 'q"\\,{}'}}
               for i in range(len(targets))]
        for ev, t in zip(evs, targets):
            if t:
                ev["endpoint"] = t
        assert w.enqueue_many(evs) == len(evs)
        rows = db.execute("SELECT event_id, endpoint_id, data FROM hookline.events"
                          " ORDER BY id").fetchall()
        assert [(r[0], r[1]) for r in rows] == [("evt_r%d" % i, t)
                                                for i, t in enumerate(targets)]
        assert all(json.loads(r[2]) == {"s": 'q"\\,{}'} for r in rows)


def test_management_api_over_postgres(pg_url, db, tmp_path):
    """The management API example with HOOKLINE_STORE set to the database
    URL: create (test POST), events routed per workspace, deliveries in
    batch-status, delete - the same app code as over SQLite."""
    sys.path.insert(0, str(ROOT / "examples" / "management_api"))
    from hookline_mgmt import Settings, create_app
    from test_management_api import Api, Receiver, wait_for
    from werkzeug.serving import make_server

    import threading
    rc = Receiver()
    settings = Settings(store=pg_url, app_db=str(tmp_path / "mgmt.sqlite"), allow_http=True,
                        allow_cidrs=["127.0.0.1/32"], allow_ports=[rc.port], step_wait=0.05,
                        endpoint_defaults={"batch": {"linger_ms": 0}})
    app = create_app(settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state = app.extensions["hookline_mgmt"]
    try:
        api = Api("http://127.0.0.1:%d" % server.server_port)
        ws = state.directory.create_workspace("pg")
        other = state.directory.create_workspace("other")
        base = "/api/workspaces/%s" % ws["workspace_id"]
        status, body, _ = api.call("POST", base + "/webhooks", {
            "name": "pg hook", "target": rc.url("/ok/pg"), "events": ["email.outbound.*"]},
            key=ws["api_key"])
        assert status == 200, body
        wid, secret = body["results"]["id"], body["results"]["secret"]
        assert db.execute("SELECT count(*) FROM hookline.endpoints").fetchone()[0] == 1
        # another workspace's hook with the same filter gets nothing of ws's events
        status, body, _ = api.call("POST", "/api/workspaces/%s/webhooks" % other["workspace_id"], {
            "name": "other", "target": rc.url("/ok/other"), "events": ["email.outbound.*"]},
            key=other["api_key"])
        assert status == 200, body
        status, body, _ = api.call("POST", base + "/events", {"events": [
            {"type": "email.outbound.delivered", "data": {"m": 1}, "id": "evt_pg1"}]},
            key=ws["api_key"])
        assert status == 202 and body["results"]["events"][0]["webhooks"] == 1, body
        got = wait_for(lambda: rc.events_at("/ok/pg"), timeout=20)
        assert [e["id"] for e, _, _ in got] == ["evt_pg1"]
        hookline.verify(got[0][2], got[0][1], secret)
        records = wait_for(lambda: api.call("GET", base + "/webhooks/%s/batch-status" % wid,
                                            key=ws["api_key"])[1]["results"], timeout=20)
        assert records[0]["response_code"] == "200" and records[0]["latency"] >= 0
        assert rc.events_at("/ok/other") == []
        assert api.call("DELETE", base + "/webhooks/" + wid, key=ws["api_key"])[0] == 204
        assert api.call("GET", base + "/webhooks/" + wid, key=ws["api_key"])[0] == 404
    finally:
        server.shutdown()
        thread.join(timeout=10)
        state.close()
        rc.stop()
