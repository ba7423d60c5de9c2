"""Run the documentation: every ```python runnable block of README.md and docs/*.md is
executed in a fresh namespace (in a temporary directory, so files such as
seen.db land there). Blocks that build a web app (a Flask or FastAPI `app`,
or Django `urlpatterns`) are then sent a signed request, a repeat of it, a
tampered one and garbage, and must answer 200/200(0)/401/400."""

import pathlib
import re

import pytest

import hookline
from conftest import ROOT
from receiving import django_urlconf

FENCE = re.compile(r"^```python runnable\n(.*?)^```", re.S | re.M)
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def blocks():
    out = []
    for doc in [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md")):
        for i, m in enumerate(FENCE.finditer(doc.read_text())):
            out.append(pytest.param(m.group(1), id="%s-%d" % (doc.stem, i + 1)))
    return out


def test_docs_have_runnable_blocks():
    assert len(blocks()) >= 8


def drive(post):
    body = b'{"id": "evt_doc_1", "type": "email.delivered"}'
    headers = hookline.sign(body, SECRET, msg_id="msg_doc_1")
    status, js = post(body, headers)
    assert (status, js) == (200, {"ok": True, "received": 1})
    status, js = post(body, headers)
    assert (status, js["received"]) == (200, 0)
    status, js = post(body.replace(b"delivered", b"bounced"), headers)
    assert (status, js["error"]) == (401, "signature_mismatch")
    garbage = b"\xff not json"
    status, js = post(garbage, hookline.sign(garbage, SECRET))
    assert (status, js["error"]) == (400, "payload_not_utf8")


@pytest.mark.parametrize("code", blocks())
def test_block_runs(code, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WEBHOOK_SECRET", raising=False)
    ns = {"__name__": "docs_example"}
    exec(compile(code, "<docs>", "exec"), ns)
    app = ns.get("app")
    if app is not None and type(app).__name__ == "Flask":
        client = app.test_client()

        def post(body, headers):
            r = client.post("/webhooks", data=body, headers=headers)
            return r.status_code, r.get_json()

        drive(post)
        assert "received email.delivered evt_doc_1" in capsys.readouterr().out
    elif app is not None and type(app).__name__ in ("FastAPI", "Starlette"):
        from starlette.testclient import TestClient

        with TestClient(app) as client:

            def post(body, headers):
                r = client.post("/webhooks", content=body, headers=headers)
                return r.status_code, r.json()

            drive(post)
        assert "received email.delivered evt_doc_1" in capsys.readouterr().out
    elif "urlpatterns" in ns:
        from django.test import Client
        from django.urls import clear_url_caches

        urlconf = django_urlconf()
        urlconf.urlpatterns = ns["urlpatterns"]
        clear_url_caches()
        client = Client(enforce_csrf_checks=True)

        def post(body, headers):
            meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
            r = client.generic("POST", "/webhooks", data=body, content_type="application/json",
                               **meta)
            return r.status_code, r.json()

        drive(post)
        assert "received email.delivered evt_doc_1" in capsys.readouterr().out
    store = ns.get("receiver")
    if isinstance(store, hookline.Receiver) and store.seen is not None:
        store.seen.close()
