"""The webhook management API example (examples/management_api) driven over
HTTP on 127.0.0.1: the real app served by werkzeug in a thread, delivering
with its in-process hookline.Worker to a real receiver on 127.0.0.1 that
checks signatures with hookline.verify."""

import base64
import http.server
import json
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

import hookline
from conftest import ROOT

sys.path.insert(0, str(ROOT / "examples" / "management_api"))
from hookline_mgmt import Settings, create_app, routes  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

OPENAPI = ROOT / "docs" / "management-api.json"


class Receiver:
    """A receiver on 127.0.0.1: /ok... answers 200, /fail... 500,
    /flaky... 500 to its first delivery (not to webhook.test) then 200."""

    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()
        self.flaky_failed = set()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                is_test = b'"webhook.test"' in body
                with outer.lock:
                    if self.path == "/token":  # OAuth2 client credentials: cid / csecret
                        ok = self.headers.get("Authorization") == "Basic " + \
                            base64.b64encode(b"cid:csecret").decode() and \
                            b"grant_type=client_credentials" in body
                        status, answer = (200, b'{"access_token":"tok-1","token_type":"Bearer",'
                                          b'"expires_in":3600}') if ok else (401, b"{}")
                    elif self.path.startswith("/oauth"):
                        ok = self.headers.get("Authorization") == "Bearer tok-1"
                        status, answer = (200, b'{"ok":true}') if ok else (401, b"{}")
                    elif self.path.startswith("/fail"):
                        status, answer = 500, b"nope"
                    elif self.path.startswith("/flaky") and not is_test and \
                            self.path not in outer.flaky_failed:
                        outer.flaky_failed.add(self.path)
                        status, answer = 503, b"later"
                    else:
                        status, answer = 200, b'{"ok":true}'
                    outer.requests.append((self.path, dict(self.headers.items()), body, status))
                self.reply(status, answer)

            def reply(self, status, body):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-Receiver", "test")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def to(self, path):
        with self.lock:
            return [r[:3] for r in self.requests if r[0] == path]

    def events_at(self, path):
        """Events (not webhook.test) at `path` in requests answered 2xx:
        (event, headers, body)."""
        out = []
        with self.lock:
            reqs = [r for r in self.requests if r[0] == path and r[3] < 300]
        for _, headers, body, _ in reqs:
            for e in json.loads(body):
                if e["type"] != "webhook.test":
                    out.append((e, headers, body))
        return out

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def wait_for(cond, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError("timed out waiting")


class Api:
    def __init__(self, base):
        self.base = base

    def call(self, method, path, body=None, key=None, raw=None, headers=None):
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if key is not None:
            req.add_header("Authorization", "Bearer " + key)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, text, hdrs = r.status, r.read(), r.headers
        except urllib.error.HTTPError as e:
            status, text, hdrs = e.code, e.read(), e.headers
        return status, (json.loads(text) if text else None), hdrs


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mgmt")
    receiver = Receiver()
    settings = Settings(
        store=str(tmp / "outbox.db"), allow_http=True, allow_cidrs=["127.0.0.1/32"],
        allow_ports=[receiver.port], step_wait=0.05,
        endpoint_defaults={"batch": {"linger_ms": 0},
                           "retry": {"schedule_ms": [200], "jitter_pct": 0}})
    app = create_app(settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state = app.extensions["hookline_mgmt"]
    try:
        yield {"api": Api("http://127.0.0.1:%d" % server.server_port), "app": app,
               "state": state, "receiver": receiver}
    finally:
        server.shutdown()
        thread.join(timeout=10)
        state.close()
        receiver.stop()


def workspace(env, name="ws"):
    return env["state"].directory.create_workspace(name)


def hooks_path(ws):
    return "/api/workspaces/%s/webhooks" % ws["workspace_id"]


def create(env, ws, path, **extra):
    body = {"name": "hook " + path, "target": env["receiver"].url(path),
            "events": ["email.outbound.*"]}
    body.update(extra)
    return env["api"].call("POST", hooks_path(ws), body, key=ws["api_key"])


def test_routes_match_openapi(env):
    doc = json.loads(OPENAPI.read_text())
    assert doc["openapi"].startswith("3.")
    documented = sorted((m.upper(), p) for p, ops in doc["paths"].items()
                        for m in ops if m in ("get", "post", "put", "delete", "patch"))
    assert documented == routes(env["app"])


def test_create_list_get_validate_delete(env):
    api, rc = env["api"], env["receiver"]
    ws = workspace(env)
    status, body, _ = create(env, ws, "/ok/life", auth_type="basic",
                             auth_credentials={"username": "u", "password": "pw"},
                             custom_headers={"X-Tenant": "t1"})
    assert status == 200, body
    wid, secret = body["results"]["id"], body["results"]["secret"]
    assert secret.startswith("whsec_")
    (path, headers, test_body), = rc.to("/ok/life")  # the test POST, signed, with auth
    assert json.loads(test_body)[0]["type"] == "webhook.test"
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"u:pw").decode()
    assert headers["X-Tenant"] == "t1"
    hookline.verify(test_body, headers, secret)

    # a target that does not answer 2xx: 400, nothing created
    status, body, _ = create(env, ws, "/fail/x")
    assert status == 400
    err, = body["errors"]
    assert err["code"] == "endpoint_test_failed" and err["field"] == "target"
    assert err["response"]["status"] == 500 and err["response"]["body"] == "nope"
    assert err["response"]["headers"]["x-receiver"] == "test"
    assert "500" in err["message"]

    status, body, _ = api.call("GET", hooks_path(ws), key=ws["api_key"])
    assert status == 200 and [h["id"] for h in body["results"]] == [wid]
    status, body, _ = api.call("GET", hooks_path(ws) + "/" + wid, key=ws["api_key"])
    hook = body["results"]
    assert hook["target"] == rc.url("/ok/life") and hook["events"] == ["email.outbound.*"]
    assert hook["active"] is True and hook["auth_type"] == "basic"
    assert hook["auth_credentials"] == {"username": "u", "password": "<redacted>"}
    assert hook["custom_headers"] == {"X-Tenant": "<redacted>"}
    assert secret not in json.dumps(body)  # shown once, on create only

    status, body, _ = api.call("POST", hooks_path(ws) + "/" + wid + "/validate",
                               key=ws["api_key"])
    assert status == 200, body
    res = body["results"]
    assert res["response"]["status"] == 200 and res["response"]["body"] == '{"ok":true}'
    assert res["response"]["headers"]["content-type"] == "application/json"
    assert res["response"]["headers"]["content-length"] == "11"
    assert res["response"]["headers"]["x-receiver"] == "test"
    assert "succeeded" in res["msg"]
    assert len(rc.to("/ok/life")) == 2

    status, body, _ = api.call("DELETE", hooks_path(ws) + "/" + wid, key=ws["api_key"])
    assert status == 204 and body is None
    for method in ("GET", "DELETE", "PUT"):
        status, body, _ = api.call(method, hooks_path(ws) + "/" + wid,
                                   {"name": "x"} if method == "PUT" else None, key=ws["api_key"])
        assert status == 404 and body["errors"][0]["code"] == "not_found"
    assert api.call("GET", hooks_path(ws), key=ws["api_key"])[1]["results"] == []


def test_ssrf_blocked_targets(env):
    api, port = env["api"], env["receiver"].port
    ws = workspace(env)
    cases = {
        "http://10.0.0.1:%d/in" % port: "address_denied",
        "http://169.254.169.254:%d/latest" % port: "address_denied",
        "http://[::1]:%d/in" % port: "address_denied",
        "http://127.0.0.1:22/in": "url_port_denied",
        "ftp://127.0.0.1/in": "url_scheme_denied",
        "http://localhost:%d/in" % port: "url_name_denied",
        "http://user:pw@127.0.0.1:%d/in" % port: "url_userinfo",
    }
    for target, code in cases.items():
        status, body, _ = api.call("POST", hooks_path(ws), {"name": "n", "target": target,
                                                           "events": ["delivery"]},
                                   key=ws["api_key"])
        assert status == 400, (target, body)
        err, = body["errors"]
        assert (err["code"], err["field"]) == (code, "target"), (target, err)
    assert api.call("GET", hooks_path(ws), key=ws["api_key"])[1]["results"] == []


def test_defaults_are_strict(tmp_path):
    """Without explicit allow_* settings, http and loopback are refused."""
    assert Settings(store=str(tmp_path / "s.db")).url_policy() == \
        {"allow_http": False, "allow_cidrs": [], "allow_ports": None}
    # one setting selects the store; a URL goes to hookline.Worker as it is
    s = Settings.from_env({"HOOKLINE_STORE": "postgres://hookline@127.0.0.1/hooks"})
    assert s.store == "postgres://hookline@127.0.0.1/hooks" and s.app_db == "hookline-mgmt.sqlite"
    app = create_app(Settings(store=str(tmp_path / "s.db"), run_worker=False))
    try:
        ws = app.extensions["hookline_mgmt"].directory.create_workspace("w")
        client = app.test_client()
        for target, code in (("http://127.0.0.1:8080/in", "url_scheme_denied"),
                             ("https://127.0.0.1/in", "address_denied")):
            r = client.post("/api/workspaces/%s/webhooks" % ws["workspace_id"],
                            json={"name": "n", "target": target, "events": ["delivery"]},
                            headers={"Authorization": "Bearer " + ws["api_key"]})
            assert r.status_code == 400 and r.get_json()["errors"][0]["code"] == code
    finally:
        app.extensions["hookline_mgmt"].close()


def test_events_delivered_and_batch_status(env):
    api, rc = env["api"], env["receiver"]
    ws = workspace(env)
    key = ws["api_key"]
    status, body, _ = create(env, ws, "/flaky/a", events=["email.outbound.*", "acme.*"])
    assert status == 400 and body["errors"][0]["field"] == "events[1]"  # not a known type yet
    base = "/api/workspaces/%s" % ws["workspace_id"]
    status, body, _ = api.call("POST", base + "/event-types", {"name": "acme.thing"}, key=key)
    assert status == 201, body
    assert api.call("POST", base + "/event-types", {"name": "acme.thing"}, key=key)[0] == 409
    types = api.call("GET", base + "/event-types", key=key)[1]["results"]
    assert {"name": "acme.thing", "description": "", "custom": True} in types
    assert {"name": "email.outbound.delivered", "custom": False} in types

    status, body, _ = create(env, ws, "/flaky/a", events=["email.outbound.*", "acme.*"])
    assert status == 200, body
    wid, secret = body["results"]["id"], body["results"]["secret"]

    status, body, _ = api.call("POST", base + "/events", {"events": [
        {"type": "email.outbound.delivered", "data": {"message_id": "m1"}, "id": "evt_m1"},
        {"type": "acme.thing", "data": {"n": 2}},
        {"type": "domain.verified", "data": {}},  # nobody subscribed
    ]}, key=key)
    assert status == 202, body
    assert [e["webhooks"] for e in body["results"]["events"]] == [1, 1, 0]
    assert body["results"]["events"][0]["id"] == "evt_m1"

    got = wait_for(lambda: len(rc.events_at("/flaky/a")) >= 2 and rc.events_at("/flaky/a"))
    assert sorted(e["type"] for e, _, _ in got) == ["acme.thing", "email.outbound.delivered"]
    assert [e["data"] for e, _, _ in got if e["id"] == "evt_m1"] == [{"message_id": "m1"}]
    for _, headers, raw in got:
        hookline.verify(raw, headers, secret)

    url = base + "/webhooks/%s/batch-status" % wid
    records = wait_for(lambda: (lambda r: len(r) >= 3 and r)(
        api.call("GET", url, key=key)[1]["results"]))
    assert len(records) == 3  # two batches, one of them refused once then retried
    assert {"batch_id", "ts", "attempts", "response_code", "failure_code",
            "latency"} == set(records[0])
    refused, = [r for r in records if r["response_code"] == "503"]
    assert refused["attempts"] == 1 and refused["failure_code"] == "http"
    retried, = [r for r in records if r["batch_id"] == refused["batch_id"] and r is not refused]
    assert retried["attempts"] == 2 and retried["response_code"] == "200"
    assert retried["failure_code"] is None
    assert all(isinstance(r["latency"], int) and r["latency"] >= 0 for r in records)
    assert records == sorted(records, key=lambda r: r["ts"], reverse=True)
    status, body, _ = api.call("GET", url + "?limit=1", key=key)
    assert status == 200 and body["results"] == records[:1]
    for bad in ("0", "abc", "10001"):
        status, body, _ = api.call("GET", url + "?limit=" + bad, key=key)
        assert status == 400 and body["errors"][0]["field"] == "limit"
    hook = api.call("GET", base + "/webhooks/" + wid, key=key)[1]["results"]
    assert hook["last_successful"] and hook["last_failure"]

    # unknown types are refused, naming the event
    status, body, _ = api.call("POST", base + "/events",
                               {"events": [{"type": "delivery"}, {"type": "nope.nope"}]}, key=key)
    assert status == 400 and body["errors"][0]["field"] == "events[1].type"


def test_update_retests_a_new_target(env):
    api, rc = env["api"], env["receiver"]
    ws = workspace(env)
    key = ws["api_key"]
    status, body, _ = create(env, ws, "/ok/before")
    wid = body["results"]["id"]
    url = hooks_path(ws) + "/" + wid

    status, body, _ = api.call("PUT", url, {"target": rc.url("/fail/after")}, key=key)
    assert status == 400 and body["errors"][0]["code"] == "endpoint_test_failed"
    assert api.call("GET", url, key=key)[1]["results"]["target"] == rc.url("/ok/before")

    status, body, _ = api.call("PUT", url, {"target": rc.url("/ok/after"), "name": "renamed",
                                            "events": ["delivery", "bounce"]}, key=key)
    assert status == 200, body
    assert len(rc.to("/ok/after")) == 1  # tested again
    hook = body["results"]
    assert (hook["name"], hook["target"], hook["events"]) == \
        ("renamed", rc.url("/ok/after"), ["delivery", "bounce"])

    n = len(rc.requests)
    status, body, _ = api.call("PUT", url, {"name": "again", "active": False}, key=key)
    assert status == 200 and body["results"]["active"] is False
    assert len(rc.requests) == n  # same target: no test POST
    status, body, _ = api.call("POST", "/api/workspaces/%s/events" % ws["workspace_id"],
                               {"events": [{"type": "delivery"}]}, key=key)
    assert status == 202 and body["results"]["events"][0]["webhooks"] == 0  # inactive
    status, body, _ = api.call("PUT", url, {"active": True}, key=key)
    assert body["results"]["active"] is True


def test_rotation_keeps_the_old_secret_for_the_grace_period(env):
    api, rc = env["api"], env["receiver"]
    ws = workspace(env)
    key = ws["api_key"]
    _, body, _ = create(env, ws, "/ok/rot", events=["delivery"])
    wid, old = body["results"]["id"], body["results"]["secret"]
    url = hooks_path(ws) + "/" + wid + "/rotate-secret"
    events = "/api/workspaces/%s/events" % ws["workspace_id"]

    status, body, _ = api.call("POST", url, {"grace_seconds": 3600}, key=key)
    assert status == 200, body
    new = body["results"]["secret"]
    assert new != old and body["results"]["previous_secrets_valid_until"]
    api.call("POST", events, {"events": [{"type": "delivery", "id": "evt_rot1"}]}, key=key)
    (_, headers, raw), = wait_for(lambda: [x for x in rc.events_at("/ok/rot")
                                           if x[0]["id"] == "evt_rot1"])
    hookline.verify(raw, headers, old)  # both sign during the grace period
    hookline.verify(raw, headers, new)

    status, body, _ = api.call("POST", url, {"grace_seconds": 0}, key=key)
    newest = body["results"]["secret"]
    api.call("POST", events, {"events": [{"type": "delivery", "id": "evt_rot2"}]}, key=key)
    (_, headers, raw), = wait_for(lambda: [x for x in rc.events_at("/ok/rot")
                                           if x[0]["id"] == "evt_rot2"])
    hookline.verify(raw, headers, newest)
    with pytest.raises(hookline.SignatureMismatch):
        hookline.verify(raw, headers, new)

    for bad in ({"grace_seconds": -1}, {"grace_seconds": "1"}, {"grace": 1}):
        status, body, _ = api.call("POST", url, bad, key=key)
        assert status == 400 and body["errors"][0]["field"] in ("grace_seconds", "grace")


def test_cross_workspace_access_is_404_on_every_route(env):
    api, rc = env["api"], env["receiver"]
    a, b = workspace(env, "a"), workspace(env, "b")
    _, body, _ = create(env, a, "/ok/tenant-a", events=["delivery"])
    wid = body["results"]["id"]
    bodies = {"POST": {"name": "x", "target": rc.url("/ok/x"), "events": ["delivery"]},
              "PUT": {"name": "x"}}
    for method, path in routes(env["app"]):
        concrete = path.replace("{workspace_id}", a["workspace_id"]).replace("{webhook_id}", wid)
        status, body, _ = api.call(method, concrete, bodies.get(method), key=b["api_key"])
        assert status == 404, (method, path, body)
        assert body["errors"][0]["code"] == "not_found"
        # B's own workspace, A's webhook id: the same 404
        if "{webhook_id}" in path:
            mine = path.replace("{workspace_id}", b["workspace_id"]).replace("{webhook_id}", wid)
            status, body, _ = api.call(method, mine, bodies.get(method), key=b["api_key"])
            assert status == 404, (method, path, body)
    # B's events never reach A's endpoint; A's webhook is untouched
    status, body, _ = api.call("POST", "/api/workspaces/%s/events" % b["workspace_id"],
                               {"events": [{"type": "delivery", "id": "evt_b"}]},
                               key=b["api_key"])
    assert status == 202 and body["results"]["events"][0]["webhooks"] == 0
    assert api.call("GET", hooks_path(b), key=b["api_key"])[1]["results"] == []
    assert api.call("GET", hooks_path(a) + "/" + wid, key=a["api_key"])[0] == 200
    time.sleep(0.2)  # a delivery step or two: still nothing for A
    assert not [x for x in rc.events_at("/ok/tenant-a") if x[0]["id"] == "evt_b"]


def test_missing_or_bad_api_key_is_401(env):
    api = env["api"]
    ws = workspace(env)
    path = hooks_path(ws)
    for headers in ({}, {"Authorization": "Bearer hlk_0000_nope"},
                    {"Authorization": "Bearer " + ws["api_key"] + "x"},
                    {"Authorization": "Basic " + ws["api_key"]},
                    {"Authorization": "Bearer"}):
        status, body, hdrs = api.call("GET", path, headers=headers)
        assert status == 401, headers
        assert body["errors"][0]["code"] == "unauthorized"
        assert hdrs["WWW-Authenticate"].startswith("Bearer")
    assert api.call("GET", path, key=ws["api_key"])[0] == 200


def test_malformed_json_and_unknown_fields_are_400_naming_the_field(env):
    api = env["api"]
    ws = workspace(env)
    key = ws["api_key"]
    path = hooks_path(ws)
    target = env["receiver"].url("/ok/bad")

    def errors(method, p, body=None, raw=None):
        status, b, _ = api.call(method, p, body, key=key, raw=raw)
        assert status == 400, b
        return b["errors"]

    assert errors("POST", path, raw=b'{"name": ')[0]["code"] == "invalid_json"
    assert errors("POST", path, raw=b"[1, 2]")[0]["code"] == "invalid_json"
    assert errors("POST", path, raw=b"\xff\xfe")[0]["code"] == "invalid_json"
    e = errors("POST", path, raw=b'{"name": "a", "name": "b"}')[0]
    assert (e["code"], e["field"]) == ("invalid_json", "name")
    e = errors("POST", path, {"name": "n", "target": target, "events": ["delivery"],
                              "colour": "red"})
    assert [(x["code"], x["field"]) for x in e] == [("unknown_field", "colour")]
    e = errors("POST", path, {"name": "n", "target": target, "events": ["delivery"],
                              "auth_type": "basic",
                              "auth_credentials": {"username": "u", "pass": "p"}})
    assert ("unknown_field", "auth_credentials.pass") in [(x["code"], x["field"]) for x in e]
    e = errors("POST", path, {"target": target, "events": [], "active": "yes",
                              "auth_type": "kerberos"})
    fields = {x["field"]: x["code"] for x in e}
    assert fields == {"name": "missing_field", "events": "invalid_value",
                      "active": "invalid_type", "auth_type": "invalid_value"}
    e = errors("POST", path, {"name": "n", "target": target, "events": ["delivery"],
                              "auth_type": "oauth2",
                              "auth_request_details": {"url": target}})
    assert {x["field"] for x in e} == {"auth_request_details.body.client_id",
                                       "auth_request_details.body.client_secret"}
    e = errors("POST", path, {"name": "n", "target": target, "events": ["delivery"],
                              "custom_headers": {"Content-Type": "text/plain"}})
    assert e[0]["field"] == "custom_headers"
    assert api.call("GET", path, key=key)[1]["results"] == []

    _, body, _ = create(env, ws, "/ok/bad", events=["delivery"])
    hook = path + "/" + body["results"]["id"]
    assert errors("PUT", hook, {"nmae": "x"})[0]["field"] == "nmae"
    assert errors("PUT", hook, {})[0]["code"] == "missing_field"
    assert errors("PUT", hook, raw=b"{")[0]["code"] == "invalid_json"
    events = "/api/workspaces/%s/events" % ws["workspace_id"]
    assert errors("POST", events, {"events": [{"type": "delivery", "when": 1}]})[0]["field"] \
        == "events[0].when"
    assert errors("POST", events, {"event": []})[0]["field"] == "event"
    assert errors("POST", events, raw=b"nope")[0]["code"] == "invalid_json"
    # unknown routes and methods keep the error shape
    status, body, _ = api.call("PATCH", hook, {}, key=key)
    assert status == 405 and body["errors"][0]["code"] == "method_not_allowed"


def test_limits(env):
    api, state = env["api"], env["state"]
    ws = workspace(env)
    assert create(env, ws, "/ok/limit1", events=["delivery"])[0] == 200
    saved = state.settings.max_webhooks_per_workspace
    state.settings.max_webhooks_per_workspace = 1
    try:
        status, body, _ = create(env, ws, "/ok/limit2", events=["delivery"])
        assert status == 400 and body["errors"][0]["code"] == "limit_exceeded"
    finally:
        state.settings.max_webhooks_per_workspace = saved
    assert len(env["receiver"].to("/ok/limit2")) == 0  # refused before any test POST
    saved = state.settings.max_body_bytes
    state.settings.max_body_bytes = 100  # small: the server answers before reading it all
    try:
        big = b'{"name": "' + b"x" * 100 + b'"}'
        status, body, _ = api.call("POST", hooks_path(ws), raw=big, key=ws["api_key"])
        assert status == 413 and body["errors"][0]["code"] == "payload_too_large"
    finally:
        state.settings.max_body_bytes = saved
    events = [{"type": "delivery"}] * (state.settings.max_events_per_request + 1)
    status, body, _ = api.call("POST", "/api/workspaces/%s/events" % ws["workspace_id"],
                               {"events": events}, key=ws["api_key"])
    assert status == 400 and body["errors"][0]["field"] == "events"


def test_oauth2_target(env):
    """auth_type oauth2: hookline fetches a token at auth_request_details.url
    with the client credentials and sends it as a bearer token."""
    api, rc = env["api"], env["receiver"]
    ws = workspace(env)
    details = {"url": rc.url("/token"), "body": {"client_id": "cid", "client_secret": "csecret"}}
    status, body, _ = create(env, ws, "/oauth/a", auth_type="oauth2",
                             auth_request_details=details)
    assert status == 200, body
    hook = api.call("GET", hooks_path(ws) + "/" + body["results"]["id"],
                    key=ws["api_key"])[1]["results"]
    assert hook["auth_type"] == "oauth2"
    assert hook["auth_request_details"] == {"url": rc.url("/token"), "body": {
        "client_id": "cid", "client_secret": "<redacted>"}}
    bad = {"url": rc.url("/token"), "body": {"client_id": "cid", "client_secret": "wrong"}}
    status, body, _ = create(env, ws, "/oauth/b", auth_type="oauth2", auth_request_details=bad)
    assert status == 400 and body["errors"][0]["code"] == "endpoint_test_failed", body
    status, body, _ = create(env, ws, "/oauth/c", auth_type="oauth2", auth_request_details={
        "url": "http://10.1.2.3:%d/token" % rc.port, "body": details["body"]})
    assert status == 400 and body["errors"][0] == {
        "message": body["errors"][0]["message"], "code": "address_denied",
        "field": "auth_request_details.url"}
