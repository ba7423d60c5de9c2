"""hookline.Receiver without a web framework: authentication before parsing,
the three payload shapes, batch and event deduplication, tenants, unsigned
providers, the HTTP status of every refusal, and un-marking on failure."""

import json

import pytest

import hookline
from receiving import (
    ACME_NEW,
    ACME_OLD,
    AGENCY,
    BAVIMAIL_HEX,
    GLOBEX,
    MAILIVERY_EVENT,
    MAILIVERY_TOKEN,
    SPARKPOST_BASIC,
    SPARKPOST_BATCH,
    basic_header,
    body_of,
    event,
    make_agency_receiver,
    make_receivers,
    sign_hookline_scheme_independently,
    sign_independently,
)

T = 1778155200


@pytest.fixture
def seen(tmp_path):
    with hookline.SeenStore(tmp_path / "seen.db", ttl=3600) as s:
        yield s


@pytest.fixture
def receivers(seen):
    return make_receivers(seen)


def refused(status, code, fn, *args, **kwargs):
    with pytest.raises(hookline.ReceiveError) as info:
        fn(*args, **kwargs)
    assert (info.value.status, info.value.code) == (status, code), str(info.value)
    assert isinstance(info.value, hookline.Error)
    return info.value


def std(receivers, body, headers, tenant="acme", now=T):
    return receivers["standard"].receive(body, headers, tenant=tenant, now=now)


# ------------------------------------------------------------------ shapes


def test_single_event_signed_by_hookline(receivers):
    body = body_of(event(1))
    headers = hookline.sign(body, ACME_NEW, msg_id="msg_1", timestamp=T)
    (ev,) = std(receivers, body, headers)
    assert (ev.id, ev.type, ev.tenant, ev.batch_id, ev.kind) == (
        "evt_1", "email.delivered", "acme", "msg_1", "event")
    assert ev.payload == event(1)


def test_array_signed_independently_with_old_secret(receivers):
    body = body_of([event(1), event(2)])
    evs = std(receivers, body, sign_independently(ACME_OLD, body, "msg_2", T))
    assert [e.id for e in evs] == ["evt_1", "evt_2"]


def test_receive_always_returns_a_list(receivers):
    body = b"[]"
    assert std(receivers, body, hookline.sign(body, ACME_NEW, msg_id="m0", timestamp=T)) == []


def test_sparkpost_batch_shape_and_batch_header(receivers):
    r = receivers["sparkpost"]
    body = body_of(SPARKPOST_BATCH)
    headers = {"authorization": basic_header(*SPARKPOST_BASIC),
               "x-messagesystems-batch-id": "batch-77"}
    evs = r.receive(body, headers, tenant="acme", now=T)
    assert [(e.kind, e.type, e.id, e.batch_id) for e in evs] == [
        ("message_event", "delivery", "92356927693813856", "batch-77"),
        ("track_event", "click", "92356927693813857", "batch-77"),
    ]
    assert evs[0].payload["rcpt_to"] == "a@example.com"
    # The same batch again: dropped whole (and still not an error).
    assert r.receive(body, headers, tenant="acme", now=T + 1) == []
    # A new batch repeating one event: only the new one comes through.
    body2 = body_of(SPARKPOST_BATCH[:1] + [{"msys": {"message_event": {
        "type": "bounce", "event_id": "92356927693813858"}}}])
    headers["x-messagesystems-batch-id"] = "batch-78"
    evs = r.receive(body2, headers, tenant="acme", now=T + 2)
    assert [e.id for e in evs] == ["92356927693813858"]


@pytest.mark.parametrize("doc", [
    42, "text", None, [1, 2], [{"msys": []}], [{"msys": {"a_event": {}, "b_event": {}}}],
    [{"msys": {"message_event": "x"}}], [{"msys": {"message": {}}}],
    [{"msys": {}, "other": 1}],
])
def test_wrong_shapes_are_400(receivers, doc):
    body = json.dumps(doc).encode()
    headers = hookline.sign(body, ACME_NEW, msg_id="m_shape", timestamp=T)
    refused(400, "payload_shape", std, receivers, body, headers)


@pytest.mark.parametrize("body, code", [
    (b"\xff\xfe{}", "payload_not_utf8"),
    (b'{"id": "caf\xc3"}', "payload_not_utf8"),
    (b"not json", "payload_not_json"),
    (b'{"id": "evt_1", "type": "email.deliv', "payload_not_json"),  # truncated
    (b"[" * 30000 + b"]" * 30000, "payload_not_json"),  # nests too deeply
    (b'{"n": NaN}', "payload_not_json"),
    (b"", "payload_not_json"),
    (b"   ", "payload_not_json"),
], ids=["bom", "cut-utf8", "text", "truncated", "deep", "nan", "empty", "blank"])
def test_malformed_bodies_are_400_after_a_good_signature(receivers, body, code):
    headers = hookline.sign(body, ACME_NEW, msg_id="m_bad", timestamp=T)
    err = refused(400, code, std, receivers, body, headers)
    assert isinstance(err, hookline.BadRequest) and isinstance(err, ValueError)


def test_malformed_body_with_bad_signature_is_401_not_400(receivers):
    body = b"\xff not json"
    headers = hookline.sign(body, GLOBEX, msg_id="m", timestamp=T)  # wrong tenant's secret
    refused(401, "signature_mismatch", std, receivers, body, headers)


# ------------------------------------------------------------ authentication


def test_tampered_stale_future_missing(receivers):
    body = body_of(event(5))
    headers = hookline.sign(body, ACME_NEW, msg_id="m5", timestamp=T)
    refused(401, "signature_mismatch", std, receivers, body.replace(b"evt_5", b"evt_6"), headers)
    refused(401, "timestamp_too_old", std, receivers, body, headers, now=T + 301)
    refused(401, "timestamp_in_future", std, receivers, body, headers, now=T - 301)
    refused(401, "header_missing", std, receivers, body, {})
    err = refused(401, "header_malformed", std, receivers, body,
                  list(headers.items()) + [("webhook-signature", headers["webhook-signature"])])
    assert isinstance(err, hookline.VerificationError)


def test_oversized_is_413_before_anything_else(receivers):
    body = b"x" * (64 * 1024 + 1)
    refused(413, "body_too_large", std, receivers, body, {})


def test_unknown_tenant_is_404(receivers):
    body = body_of(event(1))
    headers = hookline.sign(body, ACME_NEW, msg_id="m1", timestamp=T)
    refused(404, "unknown_tenant", std, receivers, body, headers, tenant="initech")
    refused(404, "unknown_tenant", std, receivers, body, headers, tenant=None)


def test_tenants_do_not_share_secrets(receivers):
    body = body_of(event(1))
    headers = hookline.sign(body, ACME_NEW, msg_id="m1", timestamp=T)
    refused(401, "signature_mismatch", std, receivers, body, headers, tenant="globex")


def test_bavimail_hookline_scheme(receivers):
    body = body_of({"id": "bm_1", "eventType": "email.outbound.delivered"})
    evs = receivers["bavimail"].receive(
        body, sign_hookline_scheme_independently(BAVIMAIL_HEX, body, T), tenant="acme", now=T)
    assert [(e.id, e.type) for e in evs] == [("bm_1", "email.outbound.delivered")]


def test_mailivery_needs_the_route_token(receivers):
    r = receivers["mailivery"]
    body = body_of(MAILIVERY_EVENT)
    (ev,) = r.receive(body, {}, tenant="acme", token=MAILIVERY_TOKEN)
    assert (ev.type, ev.id, ev.payload["action"]) == ("campaign.created", None, "created")
    refused(401, "token_mismatch", r.receive, body, {}, tenant="acme", token=MAILIVERY_TOKEN[:-1] + "x")
    refused(401, "token_mismatch", r.receive, body, {}, tenant="acme")
    refused(404, "unknown_tenant", r.receive, body, {}, tenant="globex", token=MAILIVERY_TOKEN)


def test_basic_credentials(receivers):
    r = receivers["sparkpost"]
    body = body_of(SPARKPOST_BATCH)
    for bad in ({}, {"authorization": basic_header("sparkpost", "wrong")},
                {"authorization": "Basic !!!"}, {"authorization": "Bearer x"}):
        refused(401, "credentials_mismatch", r.receive, body, bad, tenant="acme")


def test_route_tokens_must_be_long():
    with pytest.raises(hookline.InvalidArgument):
        hookline.Receiver(token="short")
    with pytest.raises(hookline.InvalidArgument):
        hookline.Receiver()
    with pytest.raises(hookline.InvalidArgument):
        hookline.Receiver(ACME_NEW, tenants={})
    with pytest.raises(hookline.InvalidArgument):
        hookline.Receiver(tenants={"a": hookline.Tenant()})


def test_body_must_be_bytes(receivers):
    with pytest.raises(TypeError):
        std(receivers, json.dumps(event(1)), {})


# --------------------------------------------------------------- dedupe


def test_duplicate_events_and_batches_are_dropped(receivers):
    body = body_of([event(1), event(2)])
    headers = hookline.sign(body, ACME_NEW, msg_id="msg_dup", timestamp=T)
    assert len(std(receivers, body, headers)) == 2
    assert std(receivers, body, headers) == []  # same webhook-id: the batch
    # A new delivery (new msg id) repeating evt_2 and adding evt_3.
    body = body_of([event(2), event(3)])
    headers = hookline.sign(body, ACME_NEW, msg_id="msg_dup2", timestamp=T)
    assert [e.id for e in std(receivers, body, headers)] == ["evt_3"]
    # Another tenant's evt_1 is another event.
    body = body_of(event(1))
    headers = hookline.sign(body, GLOBEX, msg_id="msg_g", timestamp=T)
    assert [e.tenant for e in std(receivers, body, headers, tenant="globex")] == ["globex"]


def test_forged_batch_header_cannot_suppress_a_signed_batch(receivers):
    body = body_of(event(20))
    headers = hookline.sign(body, ACME_NEW, msg_id="msg_20", timestamp=T)
    assert len(std(receivers, body, dict(headers, **{"x-messagesystems-batch-id": "msg_21"}))) == 1
    # The genuine msg_21 is not taken for a duplicate of the replay above.
    body = body_of(event(21))
    headers = hookline.sign(body, ACME_NEW, msg_id="msg_21", timestamp=T)
    assert [e.batch_id for e in std(receivers, body, headers)] == ["msg_21"]


def test_dedupe_survives_a_restart(tmp_path):
    path = tmp_path / "restart.db"
    body = body_of(event(9))
    headers = hookline.sign(body, ACME_NEW, msg_id="msg_9", timestamp=T)
    with hookline.SeenStore(path) as s:
        assert len(std(make_receivers(s), body, headers)) == 1
    with hookline.SeenStore(path) as s:
        assert std(make_receivers(s), body, headers) == []


def test_failed_handler_unmarks_so_the_retry_is_processed(receivers):
    body = body_of([event(1), event(2)])
    headers = hookline.sign(body, ACME_NEW, msg_id="msg_fail", timestamp=T)
    calls = []

    def flaky(ev):
        calls.append(ev.id)
        if ev.id == "evt_2":
            raise RuntimeError("database down")

    with pytest.raises(RuntimeError):
        receivers["standard"].handle(body, headers, flaky, tenant="acme", now=T)
    handled = receivers["standard"].handle(body, headers, lambda ev: None, tenant="acme", now=T + 5)
    assert [e.id for e in handled] == ["evt_1", "evt_2"]
    assert std(receivers, body, headers, now=T + 6) == []


def test_store_failure_is_503_and_marks_nothing():
    store = hookline.SeenStore(capacity=2, ttl=60)
    r = hookline.Receiver(ACME_NEW, seen=store)
    body = body_of([event(1), event(2)])
    headers = hookline.sign(body, ACME_NEW, msg_id="msg_full", timestamp=T)
    refused(503, "store_full", r.receive, body, headers, now=T)
    assert store.stats()["live"] == 0  # the batch id and evt_1 were un-marked


def test_no_store_means_no_dedupe():
    r = hookline.Receiver(ACME_NEW)
    body = body_of(event(1))
    headers = hookline.sign(body, ACME_NEW, msg_id="m", timestamp=T)
    assert len(r.receive(body, headers, now=T)) == len(r.receive(body, headers, now=T)) == 1


def test_long_ids_are_hashed_into_the_store(receivers):
    body = body_of(event("x" * 400))
    headers = hookline.sign(body, ACME_NEW, msg_id="m_long", timestamp=T)
    assert len(std(receivers, body, headers)) == 1
    headers = hookline.sign(body, ACME_NEW, msg_id="m_long2", timestamp=T)
    assert std(receivers, body, headers) == []


# ----------------------------------------------------------------- agency


def test_agency_route_picks_the_tenant_from_the_payload(seen):
    r = make_agency_receiver(seen)
    body = body_of([event(1, "acme"), event(1, "globex")])
    headers = hookline.sign(body, AGENCY, msg_id="msg_ag", timestamp=T)
    evs = r.receive(body, headers, now=T)
    assert [(e.tenant, e.id) for e in evs] == [("acme", "evt_1"), ("globex", "evt_1")]
    body = body_of([event(2, "acme"), event(3, "initech")])
    headers = hookline.sign(body, AGENCY, msg_id="msg_ag2", timestamp=T)
    refused(404, "unknown_tenant", r.receive, body, headers, now=T)
    # Nothing of the refused request was marked.
    body = body_of([event(2, "acme")])
    headers = hookline.sign(body, AGENCY, msg_id="msg_ag3", timestamp=T)
    assert [e.id for e in r.receive(body, headers, now=T)] == ["evt_2"]


def test_agency_tenant_lookup_failing_on_bad_input_is_400(seen):
    r = hookline.Receiver(AGENCY, tenant_of_event=lambda ev: ev["meta"]["client"],
                          known_tenants={"acme"}, seen=seen)
    body = body_of([{"id": "e1", "meta": {"client": "acme"}}, {"id": "e2"}])
    headers = hookline.sign(body, AGENCY, msg_id="msg_ag4", timestamp=T)
    refused(400, "payload_shape", r.receive, body, headers, now=T)
    assert seen.stats()["live"] == 0
