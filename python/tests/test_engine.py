"""hookline.Engine: every method, the policy callbacks (including ones that
raise), errors, threads, and a small simulation whose invariants must hold.
Time is a variable advanced by hand; nothing sleeps."""

import json
import random
import threading

import pytest

import hookline

T0 = 1_700_000_000.0


def engine(**kw):
    kw.setdefault("seed", 7)
    return hookline.Engine(**kw)


def drain(e, now, outcome=lambda a: 200):
    """Send everything due at `now`; returns the Send actions."""
    sent = []
    for _ in range(10000):
        a = e.next_action(now)
        if not isinstance(a, hookline.Send):
            return sent, a
        sent.append(a)
        e.report_outcome(a.batch_id, status=outcome(a), now=now)
    raise AssertionError("next_action never stopped sending")


# ------------------------------------------------------------------ basics


def test_catalogue_and_filter_rule():
    types = hookline.event_types()
    assert "email.outbound.delivered" in types and "spam_complaint" in types
    assert hookline.event_filter_match("email.outbound.*", "email.outbound.sent")
    assert not hookline.event_filter_match("email.outbound.*", "email.inbound.received")
    assert hookline.event_filter_match("*", "anything")
    assert not hookline.event_filter_match("delivery", "delivery2")


def test_enqueue_send_deliver_round_trip():
    e = engine()
    e.add_endpoint("ep", "https://example.test/h", linger=2.0, now=T0)
    assert e.endpoints() == ["ep"]
    r = e.enqueue("email.outbound.delivered", {"msg": "m1", "n": [1, 2]}, now=T0)
    assert isinstance(r, hookline.EnqueueResult) and r.routed == 1 and r.id.startswith("evt_")
    w = e.next_action(T0)
    assert isinstance(w, hookline.Wait) and w.at == T0 + 2.0
    a = e.next_action(w.at)
    assert isinstance(a, hookline.Send)
    assert (a.endpoint_id, a.url, a.n_events, a.attempt) == ("ep", "https://example.test/h", 1, 1)
    assert a.deadline == T0 + 8 * 3600 and a.due == T0 + 2.0 and a.sparkpost_compat is False
    body = json.loads(a.body)
    assert body == [{"id": r.id, "type": "email.outbound.delivered",
                     "created_at": "2023-11-14T22:13:20.000Z", "data": {"msg": "m1", "n": [1, 2]}}]
    assert e.batch(a.batch_id).state == "in_flight"
    e.report_outcome(a.batch_id, status=204, latency=0.25, body=b"ok", now=w.at + 0.25)
    assert isinstance(e.next_action(w.at + 1), hookline.Idle)
    with pytest.raises(hookline.BatchError) as ei:
        e.batch(a.batch_id)  # delivered batches are forgotten
    assert ei.value.code == "batch_unknown" and isinstance(ei.value, LookupError)
    (rec,) = e.attempts()
    assert (rec.batch_id, rec.status, rec.failure, rec.delivered, rec.excerpt) == (
        a.batch_id, 204, "http", True, b"ok")
    assert rec.latency == 0.25 and rec.sent == T0 + 2.0 and rec.at == T0 + 2.25
    st = e.stats()
    assert st.batches_delivered == 1 and st.events_enqueued == 1 and st.pending_events == 0
    assert st.batches["delivered"] == 0 and st.endpoints == 1 and st.attempts == 1


def test_data_forms():
    e = engine()
    e.add_endpoint("ep", "https://example.test/h", unbatched=True, now=T0)
    e.enqueue("t", b'{"a": 1}', id="e1", now=T0)       # JSON bytes (compacted)
    e.enqueue("t", '[1, "x"]', id="e2", now=T0)         # JSON text
    e.enqueue("t", json.dumps("plain"), id="e3", now=T0)  # a JSON string value
    e.enqueue("t", None, id="e4", now=T0)
    e.enqueue("t", {"ü": 1.5}, id="e5", now=T0)
    sent, _ = drain(e, T0)
    data = {json.loads(a.body)["id"]: json.loads(a.body)["data"] for a in sent}
    assert data == {"e1": {"a": 1}, "e2": [1, "x"], "e3": "plain", "e4": None, "e5": {"ü": 1.5}}
    with pytest.raises(hookline.EventError) as ei:
        e.enqueue("t", b"{not json", now=T0)
    assert ei.value.code == "event_invalid" and isinstance(ei.value, ValueError)
    with pytest.raises(hookline.EventError):
        e.enqueue("bad type with spaces", now=T0)
    with pytest.raises(TypeError):
        e.enqueue("t", {"x": object()}, now=T0)


def test_event_too_large_is_all_or_nothing():
    e = engine()
    e.add_endpoint("big", "https://example.test/big", now=T0)
    e.add_endpoint("small", "https://example.test/small", max_bytes=100, now=T0)
    with pytest.raises(hookline.EventError) as ei:
        e.enqueue("t", {"pad": "x" * 200}, now=T0)
    assert ei.value.code == "event_too_large" and "small" in str(ei.value)
    assert e.stats().events_enqueued == 0


def test_given_id_created_at_and_enqueue_to():
    e = engine()
    e.add_endpoint("ep", "https://example.test/h", events=["only.this"], now=T0)
    assert e.enqueue("other", now=T0).routed == 0
    r = e.enqueue_to("ep", "webhook.test", {"hello": 1}, id="evt_test", created_at=T0 - 60, now=T0)
    assert r == hookline.EnqueueResult("evt_test", 1)
    e.flush(T0)
    sent, _ = drain(e, T0)
    (ev,) = json.loads(sent[0].body)
    assert ev["id"] == "evt_test" and ev["created_at"] == "2023-11-14T22:12:20.000Z"
    with pytest.raises(hookline.EndpointError) as ei:
        e.enqueue_to("nope", "t", now=T0)
    assert ei.value.code == "endpoint_unknown"


def test_endpoint_management():
    e = engine()
    e.add_endpoint("a", "https://example.test/a", now=T0)
    e.add_endpoint("b", "https://example.test/b", active=False, now=T0)
    with pytest.raises(hookline.EndpointError) as ei:
        e.add_endpoint("a", "https://example.test/a", now=T0)
    assert ei.value.code == "endpoint_exists"
    assert e.endpoints() == ["a", "b"]
    info = e.endpoint_info("b")
    assert isinstance(info, hookline.EndpointInfo)
    assert (info.disabled, info.breaker, info.url, info.failing_since) == (
        "user", "closed", "https://example.test/b", None)
    e.enable_endpoint("b", now=T0)
    assert e.endpoint_info("b").disabled == "none"
    e.disable_endpoint("b", now=T0)
    assert e.endpoint_info("b").disabled == "user"
    e.set_endpoint_disabled("b", "gone", now=T0)
    assert e.endpoint_info("b").disabled == "gone"
    e.set_endpoint_disabled("b", "none", now=T0)
    assert e.endpoint_info("b").disabled == "none"
    with pytest.raises(hookline.InvalidArgument):
        e.set_endpoint_disabled("b", "sleepy", now=T0)
    # update merges over the options last given
    e.update_endpoint("a", url="https://example.test/a2", max_events=2, now=T0)
    for i in range(2):
        e.enqueue("t", {"i": i}, now=T0)
    sent, _ = drain(e, T0)
    assert [(s.endpoint_id, s.url, s.n_events) for s in sent] == [
        ("a", "https://example.test/a2", 2)]
    with pytest.raises(TypeError):
        e.update_endpoint("a", colour="blue")
    with pytest.raises(hookline.EndpointError):
        e.update_endpoint("zzz", max_events=3)
    e.remove_endpoint("b", now=T0)
    assert e.endpoints() == ["a"]
    with pytest.raises(hookline.EndpointError):
        e.endpoint_info("b")
    with pytest.raises(hookline.InvalidArgument):
        e.add_endpoint("c", "https://example.test/c", jitter=2, now=T0)
    with pytest.raises(hookline.InvalidArgument):
        e.add_endpoint("c", "https://example.test/c", ordering="sorted", now=T0)
    with pytest.raises(hookline.InvalidArgument):
        e.add_endpoint("c", "https://example.test/c", max_events=0, now=T0)


def test_retry_schedule_deadline_and_dead_letters():
    e = engine()
    e.add_endpoint("ep", "https://example.test/h", schedule=[10, 60], jitter=0, deadline=200,
                   linger=0.5, now=T0)
    e.enqueue("t", {"x": 1}, now=T0)
    now, times, batch_id = T0 + 0.5, [], None
    for _ in range(20):
        a = e.next_action(now)
        if isinstance(a, hookline.Wait):
            now = a.at
            continue
        if isinstance(a, hookline.Idle):
            break
        batch_id = batch_id or a.batch_id
        assert a.batch_id == batch_id  # same id on every retry
        times.append(round(now - T0, 3))
        e.report_outcome(a.batch_id, status=500, now=now)
        if times and len(times) == 1:
            b = e.batch(batch_id)
            assert b.state == "retry_wait" and b.next_attempt == now + 10
            assert b.last_status == 500 and b.last_failure is None and b.attempts == 1
    # 0.5, +10, +60, +60 then clamped to the deadline (T0 + 200), then dead
    assert times == [0.5, 10.5, 70.5, 130.5, 190.5, 200.0]
    assert e.dead_letters() == [batch_id]
    b = e.batch(batch_id)
    assert (b.state, b.dead_reason, b.attempts) == ("dead_lettered", "deadline", 6)
    assert e.stats().batches_dead_lettered == 1
    # redrive: same id, fresh budget
    e.redrive(batch_id, now=T0 + 300)
    a = e.next_action(T0 + 300)
    assert isinstance(a, hookline.Send) and a.batch_id == batch_id and a.attempt == 1
    e.report_outcome(a.batch_id, failure="timeout", now=T0 + 300)
    assert e.attempts()[-1].failure == "timeout"
    with pytest.raises(hookline.BatchError) as ei:
        e.redrive(batch_id, now=T0 + 301)
    assert ei.value.code == "batch_state"


def test_purge_and_max_attempts():
    e = engine()
    e.add_endpoint("ep", "https://example.test/h", max_attempts=1, linger=0, unbatched=True,
                   now=T0)
    for i in range(3):
        e.enqueue("t", {"i": i}, now=T0)
    drain(e, T0, outcome=lambda a: 400)
    dead = e.dead_letters()
    assert len(dead) == 3 and all(e.batch(b).dead_reason == "max_attempts" for b in dead)
    e.purge(dead[0])
    assert e.dead_letters() == dead[1:]
    e.purge()
    assert e.dead_letters() == []
    with pytest.raises(hookline.BatchError):
        e.purge("bat_nope")


def test_report_outcome_arguments():
    e = engine()
    e.add_endpoint("ep", "https://example.test/h", linger=0, schedule=[10], jitter=0, now=T0)
    e.enqueue("t", now=T0)
    a = e.next_action(T0)
    with pytest.raises(hookline.InvalidArgument):
        e.report_outcome(a.batch_id, failure="gremlins", now=T0)
    with pytest.raises(hookline.BatchError):
        e.report_outcome("bat_unknown", status=200, now=T0)
    # Retry-After as seconds: honoured, bounded to [10, 20]
    e.report_outcome(a.batch_id, status=429, retry_after=15, now=T0)
    assert e.batch(a.batch_id).next_attempt == T0 + 15
    a = e.next_action(T0 + 15)
    e.report_outcome(a.batch_id, status=503, retry_after="999", now=T0 + 15)
    assert e.batch(a.batch_id).next_attempt == T0 + 15 + 20
    with pytest.raises(hookline.BatchError) as ei:
        e.report_outcome(a.batch_id, status=200, now=T0 + 16)  # not in flight
    assert ei.value.code == "batch_state"


def test_410_disables_and_keeps_batches():
    e = engine()
    e.add_endpoint("ep", "https://example.test/h", linger=0, now=T0)
    e.enqueue("t", now=T0)
    a = e.next_action(T0)
    e.report_outcome(a.batch_id, status=410, now=T0)
    assert e.endpoint_info("ep").disabled == "gone"
    assert e.batch(a.batch_id).state == "retry_wait"
    e.enable_endpoint("ep", now=T0 + 100)
    sent, _ = drain(e, T0 + 100)
    assert [s.batch_id for s in sent] == [a.batch_id]


def test_ordering_key_holds_the_next_batch():
    e = engine()
    e.add_endpoint("ep", "https://example.test/h", ordering="key", max_events=1, now=T0)
    e.enqueue("t", {"n": 1}, ordering_key="m1", now=T0)
    e.enqueue("t", {"n": 2}, ordering_key="m1", now=T0)
    a = e.next_action(T0)
    assert isinstance(a, hookline.Send) and a.batch_id
    assert not isinstance(e.next_action(T0), hookline.Send)  # the second is held
    e.report_outcome(a.batch_id, status=200, now=T0)
    b = e.next_action(T0)
    assert isinstance(b, hookline.Send) and json.loads(b.body)[0]["data"] == {"n": 2}


def test_restore_batch_round_trip():
    e = engine()
    e.add_endpoint("ep", "https://example.test/h", linger=0, now=T0)
    e.enqueue("t", {"k": 1}, now=T0)
    a = e.next_action(T0)
    e.report_outcome(a.batch_id, status=500, now=T0)
    saved = e.batch(a.batch_id)
    f = engine(seed=99)
    f.add_endpoint("ep", "https://example.test/h", now=T0)
    f.restore_batch(saved, now=T0 + 1)
    assert f.batch(a.batch_id) == saved
    with pytest.raises(hookline.BatchError) as ei:
        f.restore_batch(saved, now=T0 + 1)
    assert ei.value.code == "batch_exists"
    sent, _ = drain(f, saved.next_attempt)
    assert [(s.batch_id, s.body, s.attempt) for s in sent] == [(a.batch_id, a.body, 2)]


def test_now_defaults_to_the_clock():
    import time

    e = engine()
    e.add_endpoint("ep", "https://example.test/h")
    e.enqueue("t")
    w = e.next_action()
    assert isinstance(w, hookline.Wait) and abs(w.at - (time.time() + 1.0)) < 5
    with pytest.raises(hookline.InvalidArgument):
        e.flush(-1.0)
    with pytest.raises(hookline.InvalidArgument):
        hookline.Engine(seed=-1)
    with pytest.raises(hookline.InvalidArgument):
        hookline.Engine(max_in_flight=2**40)
    with pytest.raises(TypeError):
        hookline.Engine(route=42)
    e.add_endpoint("ep2", "https://example.test/2", linger=0, now=T0)
    e.enqueue_to("ep2", "t", now=T0)
    a = e.next_action(T0)
    with pytest.raises(hookline.InvalidArgument):
        e.report_outcome(a.batch_id, status=-5, now=T0)
    with pytest.raises(TypeError):
        e.flush("soon")


# --------------------------------------------------------------- callbacks


def test_route_callback_sees_the_event():
    seen = []

    def route(event, endpoint_id, filter_match):
        seen.append((event.id, event.type, event.data, event.ordering_key, endpoint_id,
                     filter_match, event.created_at))
        return endpoint_id == "b" or filter_match

    e = engine(route=route)
    e.add_endpoint("a", "https://example.test/a", events=["x.*"], now=T0)
    e.add_endpoint("b", "https://example.test/b", events=["x.*"], now=T0)
    r = e.enqueue("y.z", {"v": 1}, id="evt_1", ordering_key="k", now=T0)
    assert r.routed == 1
    assert seen == [("evt_1", "y.z", {"v": 1}, "k", "a", False, T0),
                    ("evt_1", "y.z", {"v": 1}, "k", "b", False, T0)]


def test_transform_callback_rewrites_per_endpoint():
    def transform(endpoint_id, event_json):
        if endpoint_id == "spark":
            ev = json.loads(event_json)
            return json.dumps({"msys": {"message_event": ev["data"]}})
        return None

    e = engine(transform=transform)
    e.add_endpoint("plain", "https://example.test/p", now=T0)
    e.add_endpoint("spark", "https://example.test/s", now=T0)
    e.enqueue("delivery", {"rcpt": "a@b"}, now=T0)
    e.flush(T0)
    sent, _ = drain(e, T0)
    bodies = {s.endpoint_id: json.loads(s.body) for s in sent}
    assert bodies["spark"] == [{"msys": {"message_event": {"rcpt": "a@b"}}}]
    assert bodies["plain"][0]["data"] == {"rcpt": "a@b"}


def test_decide_callback_overrides_and_reads_the_engine():
    log = []

    def decide(inp):
        b = e.batch(inp.batch_id)  # read-only calls are allowed from callbacks
        log.append((inp.attempt, inp.status, inp.failure, inp.retry_after, inp.default.kind,
                    b.state, len(e.attempts())))
        if inp.status == 418:
            return hookline.Decision.give_up()
        if inp.status == 299:
            return "delivered"
        if inp.status == 500:
            return hookline.Decision.retry(inp.now + 42)
        return None

    e = engine(decide=decide)
    e.add_endpoint("ep", "https://example.test/h", linger=0, unbatched=True, now=T0)
    for _ in range(3):
        e.enqueue("t", now=T0)
    a1, a2, a3 = (e.next_action(T0) for _ in range(3))
    e.report_outcome(a1.batch_id, status=418, now=T0)
    e.report_outcome(a2.batch_id, status=500, retry_after="7", now=T0)
    e.report_outcome(a3.batch_id, status=201, now=T0)
    assert e.batch(a1.batch_id).dead_reason == "policy"
    assert e.batch(a2.batch_id).next_attempt == T0 + 42
    a = e.next_action(T0 + 42)
    e.report_outcome(a.batch_id, status=299, now=T0 + 42)
    assert a.batch_id == a2.batch_id
    with pytest.raises(hookline.BatchError):
        e.batch(a2.batch_id)  # counted as delivered
    assert log[0] == (1, 418, None, None, "retry", "in_flight", 1)
    assert log[1][3] == "7" and log[2][4] == "delivered"


def test_raising_route_keeps_nothing_and_surfaces_the_error():
    class Boom(Exception):
        pass

    def route(event, endpoint_id, filter_match):
        raise Boom("no route today")

    e = engine(route=route)
    e.add_endpoint("ep", "https://example.test/h", now=T0)
    with pytest.raises(hookline.CallbackError) as ei:
        e.enqueue("t", now=T0)
    assert isinstance(ei.value.__cause__, Boom) and ei.value.code == "callback"
    assert "Boom: no route today" in str(ei.value)
    assert ei.value.__cause__.__traceback__ is not None
    assert e.stats().events_enqueued == 0


def test_raising_transform_and_bad_return():
    calls = {"n": 0}

    def transform(endpoint_id, event_json):
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyError("missing")
        if calls["n"] == 2:
            return 12
        if calls["n"] == 3:
            return "{not json"
        return None

    e = engine(transform=transform)
    e.add_endpoint("ep", "https://example.test/h", now=T0)
    with pytest.raises(hookline.CallbackError) as ei:
        e.enqueue("t", now=T0)
    assert isinstance(ei.value.__cause__, KeyError)
    with pytest.raises(hookline.CallbackError) as ei:
        e.enqueue("t", now=T0)
    assert isinstance(ei.value.__cause__, TypeError)
    with pytest.raises(hookline.CallbackError) as ei:
        e.enqueue("t", now=T0)
    assert "invalid JSON" in str(ei.value)
    assert e.stats().events_enqueued == 0
    assert e.enqueue("t", now=T0).routed == 1


def test_raising_decide_keeps_the_batch_with_the_default_policy():
    def decide(inp):
        raise RuntimeError("policy bug")

    e = engine(decide=decide)
    e.add_endpoint("ep", "https://example.test/h", linger=0, schedule=[5], jitter=0, now=T0)
    e.enqueue("t", now=T0)
    a = e.next_action(T0)
    with pytest.raises(hookline.CallbackError) as ei:
        e.report_outcome(a.batch_id, status=503, now=T0)
    assert isinstance(ei.value.__cause__, RuntimeError)
    b = e.batch(a.batch_id)
    assert (b.state, b.next_attempt) == ("retry_wait", T0 + 5)  # default policy, kept
    a = e.next_action(T0 + 5)
    with pytest.raises(hookline.CallbackError):
        e.report_outcome(a.batch_id, status=200, now=T0 + 5)
    assert e.stats().batches_delivered == 1  # the default (delivered) applied


def test_keyboard_interrupt_in_a_callback_is_not_wrapped():
    def route(event, endpoint_id, filter_match):
        raise KeyboardInterrupt

    e = engine(route=route)
    e.add_endpoint("ep", "https://example.test/h", now=T0)
    with pytest.raises(KeyboardInterrupt):
        e.enqueue("t", now=T0)
    assert e.stats().events_enqueued == 0


def test_changing_call_from_a_callback_is_refused():
    def decide(inp):
        e.enqueue("t", now=inp.now)  # would change the engine mid-call

    e = engine(decide=decide)
    e.add_endpoint("ep", "https://example.test/h", linger=0, now=T0)
    e.enqueue("t", now=T0)
    a = e.next_action(T0)
    with pytest.raises(hookline.CallbackError) as ei:
        e.report_outcome(a.batch_id, status=200, now=T0)
    cause = ei.value.__cause__
    assert isinstance(cause, hookline.EngineReentered) and cause.code == "engine_reentered"
    assert isinstance(cause, RuntimeError)
    assert e.stats().batches_delivered == 1


def test_threads_share_one_engine():
    gate = threading.Event()

    def route(event, endpoint_id, filter_match):
        gate.wait(0.001)  # let the interpreter switch threads inside a callback
        return True

    e = engine(route=route)
    for i in range(4):
        e.add_endpoint("ep%d" % i, "https://example.test/%d" % i, now=T0)
    errors = []

    def work(t):
        try:
            for i in range(50):
                e.enqueue("t", {"t": t, "i": i}, now=T0)
                e.stats()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive()
    assert not errors
    assert e.stats().events_enqueued == 4 * 50 * 4


def test_engine_with_a_callback_cycle_is_collected():
    import gc
    import weakref

    class Holder:
        pass

    h = Holder()
    h.engine = hookline.Engine(seed=1, route=lambda ev, ep, m: h is not None)
    ref = weakref.ref(h)
    del h
    gc.collect()
    assert ref() is None


# -------------------------------------------------------------- simulation


def test_simulation_invariants():
    """A few hundred events to four scripted endpoints over simulated hours:
    every event ends delivered or dead-lettered (never both, never lost), a
    batch's bytes never change across retries, nothing is sent early."""
    rng = random.Random(5)
    e = hookline.Engine(seed=1234)
    e.add_endpoint("ok", "https://example.test/ok", max_events=7, now=T0)
    e.add_endpoint("flaky", "https://example.test/flaky", max_events=5, now=T0)
    e.add_endpoint("dead", "https://example.test/dead", events=["email.*"], deadline=3600,
                   now=T0)
    e.add_endpoint("slow429", "https://example.test/429", unbatched=True,
                   events=["email.outbound.bounced"], now=T0)
    expected = {}  # endpoint -> set of event ids routed there
    types = ["email.outbound.sent", "email.outbound.bounced", "delivery", "email.inbound.received"]
    now = T0
    for i in range(300):
        r = e.enqueue(rng.choice(types), {"i": i}, now=now)
        now += rng.random() * 2
        expected[r.id] = r.routed
    bodies, delivered, dead_events, last_send = {}, {}, set(), {}
    def outcome(a):
        if a.endpoint_id == "ok":
            return 200, None, None
        if a.endpoint_id == "dead":
            return 0, "connect", None
        if a.endpoint_id == "flaky":  # every batch fails twice, then recovers
            return (503, None, None) if a.attempt <= 2 else (200, None, None)
        return (429, None, "30") if a.attempt == 1 else (202, None, None)

    for _ in range(100000):
        a = e.next_action(now)
        if isinstance(a, hookline.Idle):
            break
        if isinstance(a, hookline.Wait):
            assert a.at >= now
            now = a.at
            continue
        assert a.due <= round(now * 1000) / 1000  # the engine counts whole milliseconds
        if a.batch_id in bodies:
            assert bodies[a.batch_id] == a.body  # same bytes on every retry
        bodies[a.batch_id] = a.body
        status, failure, retry_after = outcome(a)
        e.report_outcome(a.batch_id, status=status, failure=failure, retry_after=retry_after,
                         now=now)
        if failure is None and 200 <= status < 300:
            ids = [ev["id"] for ev in (json.loads(a.body) if a.body.startswith(b"[")
                                        else [json.loads(a.body)])]
            for ev_id in ids:
                delivered[(a.endpoint_id, ev_id)] = delivered.get((a.endpoint_id, ev_id), 0) + 1
    else:
        raise AssertionError("simulation did not settle")
    assert now - T0 < 10 * 3600
    for b in e.dead_letters():
        info = e.batch(b)
        evs = json.loads(info.body)
        for ev in evs if isinstance(evs, list) else [evs]:
            dead_events.add((info.endpoint_id, ev["id"]))
    # exactly once per (endpoint, event): delivered xor dead-lettered
    assert all(n == 1 for n in delivered.values())
    assert not set(delivered) & dead_events
    total = sum(expected.values())
    assert len(delivered) + len(dead_events) == total
    st = e.stats()
    assert st.pending_events == 0 and st.events_enqueued == total
    assert {ep for ep, _ in dead_events} == {"dead"}
    # the breaker bounded the attempts to the dead endpoint
    dead_attempts = sum(1 for r in e.attempts() if r.endpoint_id == "dead")
    dead_batches = len(e.dead_letters())
    assert dead_attempts < dead_batches * 7


def test_decide_error_on_lease_expiry_goes_to_unraisablehook(monkeypatch):
    import sys

    seen = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: seen.append(u.exc_value))

    def decide(inp):
        raise ValueError("lease policy bug")

    e = engine(decide=decide, in_flight_lease=10)
    e.add_endpoint("ep", "https://example.test/h", linger=0, schedule=[5], jitter=0, now=T0)
    e.enqueue("t", now=T0)
    a = e.next_action(T0)  # handed out, never reported
    w = e.next_action(T0 + 10)  # the lease expires: a timeout, decide raises
    assert isinstance(w, hookline.Wait) and w.at == T0 + 15
    assert len(seen) == 1 and isinstance(seen[0], ValueError)
    b = e.batch(a.batch_id)
    assert (b.state, b.last_failure) == ("retry_wait", "timeout")  # kept, default policy
    with pytest.raises(hookline.BatchError):
        e.report_outcome(a.batch_id, status=200, now=T0 + 11)  # too late
