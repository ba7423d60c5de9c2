"""The receivers inside real framework apps: Flask and Django through their
test clients, FastAPI under a real uvicorn server on 127.0.0.1 driven with
requests. Every app answers the same scenario: requests signed by hookline
and by an independent signer, tampered, stale, duplicate, unknown tenant and
provider, oversized, not JSON, not UTF-8, truncated, unsigned providers with
token and basic credentials, a failing handler and its retry, the agency
route."""

import socket
import threading
import time

import pytest

import hookline
from receiving import (
    ACME_NEW,
    ACME_OLD,
    AGENCY,
    BAVIMAIL_HEX,
    MAILIVERY_EVENT,
    MAILIVERY_TOKEN,
    SPARKPOST_BASIC,
    SPARKPOST_BATCH,
    basic_header,
    body_of,
    django_urlconf,
    event,
    make_agency_receiver,
    make_receivers,
    now,
    sign_hookline_scheme_independently,
    sign_independently,
)


class App:
    """What the handlers saw, and which event ids make them fail."""

    def __init__(self, seen):
        self.receivers = make_receivers(seen)
        self.agency = make_agency_receiver(seen)
        self.got = []
        self.fail_ids = set()

    def handle(self, ev, **route):
        if ev.id in self.fail_ids:
            raise RuntimeError("handler failed on purpose")
        self.got.append((route.get("provider"), ev.tenant, ev.id, ev.type))


# ---------------------------------------------------------------- scenario


def run_scenario(post, app):
    """post(path, body, headers) -> (status, json)."""
    t = now()

    def std(body, headers, path="/hooks/standard/acme"):
        return post(path, body, headers)

    # Good: hookline's signer, then an independent one with the old secret.
    body = body_of(event(1))
    status, js = std(body, hookline.sign(body, ACME_NEW, msg_id="msg_a1", timestamp=t))
    assert (status, js) == (200, {"ok": True, "received": 1})
    body = body_of([event(2), event(3)])
    status, js = std(body, sign_independently(ACME_OLD, body, "msg_a2", t))
    assert (status, js["received"]) == (200, 2)
    assert app.got[-3:] == [("standard", "acme", "evt_1", "email.delivered"),
                            ("standard", "acme", "evt_2", "email.delivered"),
                            ("standard", "acme", "evt_3", "email.delivered")]

    # Duplicate delivery of the same message: dropped, still 200.
    status, js = std(body, sign_independently(ACME_OLD, body, "msg_a2", t))
    assert (status, js["received"]) == (200, 0)
    # A new message repeating evt_3: only evt_4 is new.
    body = body_of([event(3), event(4)])
    status, js = std(body, hookline.sign(body, ACME_NEW, msg_id="msg_a3", timestamp=t))
    assert (status, js["received"]) == (200, 1)

    def refused(status_code, code, status_js):
        status, js = status_js
        assert status == status_code, js
        assert js["error"] == code and js["status"] == status_code and js["message"]

    # Tampered, stale, unsigned.
    body = body_of(event(5))
    headers = hookline.sign(body, ACME_NEW, msg_id="msg_a5", timestamp=t)
    refused(401, "signature_mismatch", std(body.replace(b"evt_5", b"evt_6"), headers))
    stale = hookline.sign(body, ACME_NEW, msg_id="msg_a5", timestamp=t - 3600)
    refused(401, "timestamp_too_old", std(body, stale))
    refused(401, "header_missing", std(body, {}))
    # Unknown tenant and provider.
    refused(404, "unknown_tenant", std(body, headers, "/hooks/standard/initech"))
    refused(404, "unknown_provider", std(body, headers, "/hooks/nosuch/acme"))
    # Oversized (the standard receiver takes 64 KiB).
    big = b'{"id":"evt_big","pad":"' + b"x" * (70 * 1024) + b'"}'
    refused(413, "body_too_large", std(big, hookline.sign(big, ACME_NEW, msg_id="m_big", timestamp=t)))
    # Malformed bodies with good signatures: 400, never 500.
    for bad, code in ((b"this is not json", "payload_not_json"),
                      (b'{"id": "evt_7", "type": "email.deliv', "payload_not_json"),
                      (b'{"id": "\xff\xfe"}', "payload_not_utf8"),
                      (b'"just a string"', "payload_shape")):
        refused(400, code, std(bad, hookline.sign(bad, ACME_NEW, msg_id="m_bad", timestamp=t)))

    # hookline scheme (Bavimail's contract), signed independently.
    body = body_of({"id": "bm_1", "eventType": "email.outbound.delivered"})
    status, js = post("/hooks/bavimail/acme", body,
                      sign_hookline_scheme_independently(BAVIMAIL_HEX, body, t))
    assert (status, js["received"]) == (200, 1)

    # Mailivery (unsigned): the route's token, in the path or the query.
    body = body_of(MAILIVERY_EVENT)
    status, js = post("/hooks/mailivery/acme/" + MAILIVERY_TOKEN, body, {})
    assert (status, js["received"]) == (200, 1)
    status, js = post("/hooks/mailivery/acme?token=" + MAILIVERY_TOKEN, body, {})
    assert (status, js["received"]) == (200, 1)  # no event id: not deduplicated
    refused(401, "token_mismatch", post("/hooks/mailivery/acme/" + "x" * 34, body, {}))
    refused(401, "token_mismatch", post("/hooks/mailivery/acme", body, {}))

    # SparkPost/Bird batch with basic credentials and a batch id.
    body = body_of(SPARKPOST_BATCH)
    headers = {"Authorization": basic_header(*SPARKPOST_BASIC),
               "X-MessageSystems-Batch-ID": "batch-%d" % t}
    status, js = post("/hooks/sparkpost/acme", body, headers)
    assert (status, js["received"]) == (200, 2)
    status, js = post("/hooks/sparkpost/acme", body, headers)
    assert (status, js["received"]) == (200, 0)
    refused(401, "credentials_mismatch", post("/hooks/sparkpost/acme", body, {
        "Authorization": basic_header("sparkpost", "guess")}))

    # A failing handler: 500, nothing stays marked, the retry is processed.
    body = body_of([event(8), event(9)])
    headers = hookline.sign(body, ACME_NEW, msg_id="msg_a8", timestamp=t)
    app.fail_ids.add("evt_9")
    status, _ = std(body, headers)
    assert status == 500
    app.fail_ids.clear()
    status, js = std(body, headers)
    assert (status, js["received"]) == (200, 2)

    # Agency route: tenant from the payload; unknown one is a 404.
    body = body_of([event(10, "acme"), event(10, "globex")])
    status, js = post("/agency/hooks", body,
                      hookline.sign(body, AGENCY, msg_id="msg_ag", timestamp=t))
    assert (status, js["received"]) == (200, 2)
    assert [g[1] for g in app.got[-2:]] == ["acme", "globex"]
    body = body_of([event(11, "initech")])
    refused(404, "unknown_tenant", post("/agency/hooks", body,
                                        hookline.sign(body, AGENCY, msg_id="msg_ag2", timestamp=t)))


@pytest.fixture
def seen(tmp_path):
    with hookline.SeenStore(tmp_path / "seen.db", ttl=3600) as s:
        yield s


# ------------------------------------------------------------------- Flask


def make_flask(app):
    flask = pytest.importorskip("flask")
    from hookline.flask import webhook

    web = flask.Flask("hookline_test_flask")

    @web.post("/hooks/<provider>/<client_id>")
    @web.post("/hooks/<provider>/<client_id>/<token>")
    @webhook(app.receivers)
    def provider_hook(event, **route):
        app.handle(event, **route)

    @web.post("/agency/hooks")
    @webhook(app.agency)
    def agency_hook(event):
        app.handle(event)

    return web


def test_flask(seen):
    app = App(seen)
    client = make_flask(app).test_client()

    def post(path, body, headers):
        r = client.post(path, data=body, headers=headers, content_type="application/json")
        return r.status_code, r.get_json(silent=True)

    run_scenario(post, app)


# ------------------------------------------------------------------ Django


def django_client(app):
    pytest.importorskip("django")
    from django.test import Client
    from django.urls import clear_url_caches, path

    from hookline.django import webhook

    urlconf = django_urlconf()

    @webhook(app.receivers)
    def provider_hook(event, **route):
        app.handle(event, **route)

    @webhook(app.agency)
    def agency_hook(event):
        app.handle(event)

    urlconf.urlpatterns = [
        path("hooks/<str:provider>/<str:client_id>", provider_hook),
        path("hooks/<str:provider>/<str:client_id>/<str:token>", provider_hook),
        path("agency/hooks", agency_hook),
    ]
    clear_url_caches()
    return Client(raise_request_exception=False, enforce_csrf_checks=True)


def test_django(seen):
    app = App(seen)
    client = django_client(app)

    def post(path, body, headers):
        meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
        r = client.generic("POST", path, data=body, content_type="application/json", **meta)
        try:
            js = r.json()
        except ValueError:
            js = None
        return r.status_code, js

    run_scenario(post, app)
    # Not POST: 405 from the helper.
    r = client.get("/hooks/standard/acme")
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"


# --------------------------------------- FastAPI under uvicorn on 127.0.0.1


def make_fastapi(app):
    fastapi = pytest.importorskip("fastapi")
    from hookline.asgi import webhook

    web = fastapi.FastAPI()

    async def provider_hook(event, **route):  # async handlers are awaited
        app.handle(event, **route)

    def agency_hook(event):  # sync ones are called
        app.handle(event)

    endpoint = webhook(app.receivers)(provider_hook)
    web.add_api_route("/hooks/{provider}/{client_id}", endpoint, methods=["POST"])
    web.add_api_route("/hooks/{provider}/{client_id}/{token}", endpoint, methods=["POST"])
    web.add_api_route("/agency/hooks", webhook(app.agency)(agency_hook), methods=["POST"])
    return web


class Server:
    """uvicorn in a thread on an ephemeral loopback port; stopped at exit."""

    def __init__(self, asgi_app):
        uvicorn = pytest.importorskip("uvicorn")
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(asgi_app, lifespan="off", log_level="critical", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self):
        self.thread.start()
        for _ in range(1000):  # bounded wait for the listener (at most ~10 s)
            if self.server.started:
                return self
            time.sleep(0.01)
        raise RuntimeError("uvicorn did not start")

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()
        assert not self.thread.is_alive()


def test_fastapi_real_server(seen):
    requests = pytest.importorskip("requests")
    app = App(seen)
    with Server(make_fastapi(app)) as srv, requests.Session() as http:
        base = "http://127.0.0.1:%d" % srv.port

        def post(path, body, headers):
            r = http.post(base + path, data=body,
                          headers=dict(headers, **{"Content-Type": "application/json"}),
                          timeout=10)
            try:
                js = r.json()
            except ValueError:
                js = None
            return r.status_code, js

        run_scenario(post, app)

        # A body streamed without Content-Length is still cut off at max_body.
        def chunks():
            for _ in range(80):
                yield b"x" * 1024

        r = http.post(base + "/hooks/standard/acme", data=chunks(), timeout=10)
        assert r.status_code == 413 and r.json()["error"] == "body_too_large"


def test_starlette_test_client(seen):
    pytest.importorskip("starlette")
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from hookline.asgi import webhook

    app = App(seen)
    web = Starlette()
    endpoint = webhook(app.receivers)(app.handle)
    web.add_route("/hooks/{provider}/{client_id}", endpoint, methods=["POST"])
    web.add_route("/hooks/{provider}/{client_id}/{token}", endpoint, methods=["POST"])
    web.add_route("/agency/hooks", webhook(app.agency)(app.handle), methods=["POST"])

    # A failing handler propagates out of the app (500), as in production.
    with TestClient(web, raise_server_exceptions=False) as client:

        def post(path, body, headers):
            r = client.post(path, content=body, headers=headers)
            try:
                js = r.json()
            except ValueError:
                js = None
            return r.status_code, js

        run_scenario(post, app)
