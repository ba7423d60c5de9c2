"""hookline.Worker against a real receiver on 127.0.0.1 (tests/servers/receiver.py):
registration with its test POST, SSRF refusals, delivery, attempts, the
dead-letter queue, redrive, rotation, metrics and the on_attempt callback."""

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

import hookline
from conftest import ROOT

RECEIVER = ROOT / "tests" / "servers" / "receiver.py"


@pytest.fixture
def receiver(tmp_path):
    log = tmp_path / "requests.log"
    proc = subprocess.Popen([sys.executable, str(RECEIVER), "--host", "127.0.0.1", "--log",
                             str(log)], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("PORT "), line
        port = int(line.split()[1])
        yield "http://127.0.0.1:%d" % port, log
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


def requests_in(log):
    if not log.exists():
        return []
    return [json.loads(l) for l in log.read_text().splitlines() if l.strip()]


def open_worker(tmp_path, url, **kw):
    port = int(url.rsplit(":", 1)[1])
    return hookline.Worker(str(tmp_path / "outbox.db"), allow_http=True,
                           allow_cidrs=["127.0.0.0/8"], allow_ports=[port], **kw)


FAST = {"batch": {"linger_ms": 0}}


def test_register_enqueue_deliver(tmp_path, receiver):
    url, log = receiver
    reports = []
    with open_worker(tmp_path, url, on_attempt=reports.append) as w:
        cfg = w.add_endpoint("ep", dict(FAST, url=url + "/ok"))
        secret = cfg["secrets"][0]["secret"]
        assert secret and secret != "<redacted>"
        assert len(requests_in(log)) == 1  # the webhook.test POST
        assert w.endpoint("ep")["secrets"][0]["secret"] == "<redacted>"
        assert w.endpoint("ep", reveal=True)["secrets"][0]["secret"] == secret
        assert [e["id"] for e in w.endpoints()] == ["ep"]

        ids = [w.enqueue("email.outbound.delivered", {"message_id": "m%d" % i})
               for i in range(3)]
        assert len(set(ids)) == 3
        assert w.enqueue_many([{"type": "email.outbound.opened", "data": {"n": i}}
                               for i in range(5)]) == 5
        totals = w.run(until_idle=True, timeout=20)
        assert totals["idle"] and totals["succeeded"] >= 1

        atts = w.attempts(endpoint="ep")
        assert atts and all(a["delivered"] and a["status"] == 200 for a in atts)
        assert all(a["latency"] >= 0 for a in atts)
        b = w.batch(atts[0]["batch_id"])
        assert b["state"] == "delivered" and b["endpoint"] == "ep"

        # every event reached the receiver, signed with the secret shown once
        events = []
        for req in requests_in(log)[1:]:
            body = base64.b64decode(req["body"])
            headers = dict((k.lower(), v) for k, v in req["headers"])
            hookline.verify(body, headers, secret)
            doc = json.loads(body)
            events += doc["events"] if isinstance(doc, dict) else doc
        assert len(events) == 8

        m = w.metrics()
        assert m["hookline_attempts_total"]["success"] == len(atts)
        assert sum(m["hookline_attempts_total"].values()) == len(atts)
        assert m["hookline_attempt_duration_seconds_count"] == len(atts)
        assert m["hookline_events_enqueued_total"] == 8
        assert m["hookline_batches_delivered_total"] == len(atts)
        assert m["hookline_pending_events"] == 0
        # the callback saw every delivery attempt, with no secret in it
        real = [r for r in reports if not r["test"]]
        assert len(real) == len(atts)
        assert all(secret not in json.dumps(r) for r in reports)
        assert w.status()["batches"]["delivered"] == len(atts)


def test_ssrf_blocked_and_test_failure(tmp_path, receiver):
    url, log = receiver
    with open_worker(tmp_path, url) as w:
        with pytest.raises(hookline.URLRejected) as e:
            w.add_endpoint("meta", {"url": "http://169.254.169.254:%s/latest"
                                    % url.rsplit(":", 1)[1]})
        assert e.value.code == "address_denied"
        with pytest.raises(hookline.EndpointTestFailed) as e:
            w.add_endpoint("bad", dict(FAST, url=url + "/status/500"))
        assert e.value.code == "endpoint_test_failed"
        assert e.value.response["status"] == 500
        assert ("Content-Type", "application/json") in e.value.response["headers"]
        with pytest.raises(hookline.EndpointError):
            w.endpoint("bad")
        with pytest.raises(hookline.ConfigError) as e:
            w.add_endpoint("x", {"url": url, "nope": 1}, test=False)
        assert e.value.code == "config_unknown_field"
        w.add_endpoint("ok", url + "/ok")
        t = w.test_endpoint("ok")
        assert t.ok and t.status == 200 and t.latency >= 0
        # every header line of the answer, in order (http.server adds Server and Date)
        names = [k.lower() for k, _ in t.headers]
        assert names[:2] == ["server", "date"] and "content-length" in names
        assert dict(t.headers)["Content-Type"] == "application/json"
        assert not t.headers_truncated
        assert w.test_endpoint("ok", stale=True).ok  # /ok does not check timestamps


def test_dead_letter_then_redrive(tmp_path, receiver):
    url, log = receiver
    with open_worker(tmp_path, url) as w:
        w.add_endpoint("down", dict(url=url + "/status/500", batch={"linger_ms": 0},
                                    retry={"schedule_ms": [10], "max_attempts": 2,
                                           "deadline_ms": 2000}), test=False)
        w.enqueue("email.outbound.bounced", {"message_id": "m1"})
        w.run(until_idle=True, timeout=20)
        dead = w.dead_letters()
        assert len(dead) == 1 and dead[0]["state"] == "dead_lettered"
        atts = w.attempts(batch=dead[0]["batch_id"])
        assert len(atts) == 2 and all(a["status"] == 500 and not a["delivered"] for a in atts)
        m = w.metrics()
        assert m["hookline_attempts_total"]["http"] == 2
        # fix the endpoint, redrive: delivered with the same batch id
        w.update_endpoint("down", dict(url=url + "/ok", batch={"linger_ms": 0}), test=False)
        assert w.redrive() == 1
        w.run(until_idle=True, timeout=20)
        assert w.dead_letters() == []
        assert w.batch(dead[0]["batch_id"])["state"] == "delivered"
        assert w.metrics()["hookline_attempts_total"]["success"] == 1
        w.purge()


def test_rotation_and_endpoint_states(tmp_path, receiver):
    url, log = receiver
    with open_worker(tmp_path, url) as w:
        old = w.add_endpoint("ep", dict(FAST, url=url + "/ok"), test=False)["secrets"][0]["secret"]
        new = w.rotate_secret("ep")
        assert new != old
        secrets = [s["secret"] for s in w.endpoint("ep", reveal=True)["secrets"]]
        assert new in secrets and old in secrets
        w.enqueue("domain.verified", {"domain": "example.com"})
        w.run(until_idle=True, timeout=20)
        req = requests_in(log)[-1]
        body = base64.b64decode(req["body"])
        headers = dict((k.lower(), v) for k, v in req["headers"])
        hookline.verify(body, headers, new)
        hookline.verify(body, headers, old)  # still signing during the grace period
        w.rotate_secret("ep", grace=0)
        assert len(w.endpoint("ep", reveal=True)["secrets"]) == 1
        w.disable_endpoint("ep")
        assert w.endpoints()[0]["disabled"] == "user"
        w.enable_endpoint("ep")
        w.remove_endpoint("ep")
        assert w.endpoints() == []


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_raising_callback_loses_nothing(tmp_path, receiver):
    url, log = receiver
    seen = []

    def boom(report):
        seen.append(report)
        raise RuntimeError("callback failure")

    with open_worker(tmp_path, url, on_attempt=boom) as w:
        w.add_endpoint("ep", dict(FAST, url=url + "/ok"), test=False)
        for i in range(4):
            w.enqueue("email.outbound.sent", {"i": i})
        w.run(until_idle=True, timeout=20)
        atts = w.attempts()
        assert atts and all(a["delivered"] for a in atts)
        assert len(seen) == len(atts)
        assert w.status()["batches"]["delivered"] == len(atts)
        assert w.status()["open_events"] == 0


def test_reentry_and_threads(tmp_path, receiver):
    url, log = receiver
    errors = []
    holder = {}

    def cb(report):
        try:
            holder["w"].status()
        except RuntimeError as e:
            errors.append(e)

    with open_worker(tmp_path, url, on_attempt=cb) as w:
        holder["w"] = w
        w.add_endpoint("ep", dict(FAST, url=url + "/ok"), test=False)
        stop = threading.Event()
        t = threading.Thread(target=w.run, args=(stop,))
        t.start()
        for i in range(20):
            w.enqueue("email.outbound.sent", {"i": i})
        deadline = time.monotonic() + 20
        while w.status()["open_events"] or w.status()["batches"].get("pending", 0):
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        stop.set()
        t.join(30)
        assert not t.is_alive()
        assert errors  # calling back into the worker raises instead of deadlocking
    assert w.closed
    with pytest.raises(hookline.InvalidArgument):
        w.enqueue("x.y")


def test_submit_from_another_handle(tmp_path, receiver):
    url, log = receiver
    path = str(tmp_path / "outbox.db")
    with hookline.Worker(path, allow_http=True, allow_cidrs=["127.0.0.0/8"],
                         allow_ports=[int(url.rsplit(":", 1)[1])]) as w:
        w.add_endpoint("ep", dict(FAST, url=url + "/ok"), test=False)
        with pytest.raises(hookline.StoreError) as e:
            hookline.Worker(path)
        assert e.value.code == "store_busy"
        ids = hookline.submit_events(path, [{"type": "email.inbound.received", "data": {"i": i}}
                                            for i in range(3)])
        assert len(ids) == 3
        assert w.status()["inbox"] == 3
        with pytest.raises(hookline.EventError) as e:
            hookline.submit_events(path, [{"type": "ok.type"}, {"type": ""}])
        assert e.value.index == 1
        w.run(until_idle=True, timeout=20)
        assert w.status()["inbox"] == 0
        assert sum(a["delivered"] for a in w.attempts()) >= 1


def test_bad_input_and_cycles(tmp_path, receiver):
    import gc

    url, log = receiver
    with open_worker(tmp_path, url) as w:
        with pytest.raises(hookline.EventError) as e:
            w.enqueue("email.outbound.sent", "{not json")
        assert e.value.code == "event_invalid"
        w.add_endpoint("ep", url + "/ok", test=False)
        with pytest.raises(hookline.EventError) as e:
            w.enqueue_many([{"type": "a.b", "data": {}}, {"type": "a.c", "data": "{bad"}])
        assert e.value.enqueued == 1
        with pytest.raises(hookline.InvalidArgument):
            w.enqueue_many([{"type": "a.b", "nope": 1}])
        with pytest.raises(hookline.BatchError):
            w.redrive("bat_nope")

    class Holder:
        def __init__(self):
            self.w = open_worker(tmp_path, url, on_attempt=self.on_attempt)

        def on_attempt(self, report):
            pass

    Holder()  # a cycle: worker -> bound method -> holder -> worker
    gc.collect()
    with open_worker(tmp_path, url) as w:  # the collected worker released the file
        assert w.status()["batches"]["open"] + w.status()["open_events"] >= 0


def test_enqueue_routed_by_the_host(tmp_path, receiver):
    """An "endpoint" field routes an event to that endpoint only (tenancy
    policy in the host), bypassing filters; one id may go to several."""
    url, log = receiver
    with open_worker(tmp_path, url) as w:
        w.add_endpoint("a", dict(FAST, url=url + "/ok/a", events=["email.*"]), test=False)
        w.add_endpoint("b", dict(FAST, url=url + "/ok/b", events=["email.*"]), test=False)
        n = w.enqueue_many([
            {"type": "email.outbound.sent", "id": "evt_only_a", "endpoint": "a"},
            {"type": "domain.verified", "id": "evt_both", "endpoint": "a"},
            {"type": "domain.verified", "id": "evt_both", "endpoint": "b"},
        ])
        assert n == 3
        w.run(until_idle=True, timeout=30)
        seen = {}
        for r in requests_in(log):
            for e in json.loads(base64.b64decode(r["body"])):
                seen.setdefault(e["id"], []).append(r["path"])
        assert sorted(seen["evt_only_a"]) == ["/ok/a"]
        assert sorted(seen["evt_both"]) == ["/ok/a", "/ok/b"]
        oldest = w.attempts(endpoint="a")
        assert len(oldest) >= 1
        assert w.attempts(endpoint="a", newest_first=True) == oldest[::-1]
        assert w.attempts(endpoint="a", newest_first=True, limit=1) == oldest[-1:]
        with pytest.raises(hookline.EndpointError) as e:
            w.enqueue_many([{"type": "a.b", "endpoint": "a"}, {"type": "a.b", "endpoint": "zz"}])
        assert e.value.code == "endpoint_unknown" and e.value.enqueued == 1
        with pytest.raises(hookline.InvalidArgument):
            hookline.submit_events(str(tmp_path / "outbox.db"),
                                   [{"type": "a.b", "endpoint": "a"}])
