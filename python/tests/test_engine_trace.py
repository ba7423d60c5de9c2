"""The cross-language golden trace: the scenario of tests/test_engine_trace.c,
driven through hookline.Engine, must give tests/vectors/engine_trace_seed42.txt
byte for byte (same batch ids, jittered retry times, bodies). Times go in as
float seconds and come back from Wait.at as float seconds: the binding's
rounding to milliseconds must not move a single timer."""

import hookline
from conftest import ROOT

GOLDEN = ROOT / "tests" / "vectors" / "engine_trace_seed42.txt"
T0 = 1_700_000_000.0  # seconds (the C test's 1700000000000 ms)


def run_scenario():
    e = hookline.Engine(seed=42)
    e.add_endpoint("ep1", "https://example.test/a", now=T0)
    e.add_endpoint("ep2", "https://example.test/b", events=["email.outbound.*"], max_events=5,
                   now=T0)
    for i in range(50):
        e.enqueue("email.outbound.sent" if i % 2 else "delivery", {"i": i}, id="evt_%02d" % i,
                  created_at=T0, now=T0 + 0.1 * i)
    lines, seen = [], []
    now = T0 + 4.9
    for _ in range(10000):
        a = e.next_action(now)
        if isinstance(a, hookline.Idle):
            break
        if isinstance(a, hookline.Wait):
            now = a.at
            continue
        if a.batch_id not in seen:
            seen.append(a.batch_id)
        k = seen.index(a.batch_id)
        status = 503 if a.attempt == 1 and k % 3 == 0 else 200
        lines.append("%d %s %s %d %d %d %d" % (round((now - T0) * 1000), a.endpoint_id, a.batch_id,
                                               a.attempt, a.n_events, len(a.body), status))
        e.report_outcome(a.batch_id, status=status, now=now)
    st = e.stats()
    assert st.pending_events == 0
    assert st.events_enqueued == 75
    return lines


def test_golden_trace_matches_c():
    want = GOLDEN.read_text().splitlines()
    got = run_scenario()
    for n, (g, w) in enumerate(zip(got, want), 1):
        assert g == w, "line %d differs" % n
    assert len(got) == len(want)


# ---------------------------------------------------------------------------
# The policy scenario (tests/test_engine_trace.c, test_policy_trace): the
# route / transform / decide callbacks, every kind of outcome, dead letters
# and a redrive, against tests/vectors/engine_trace_policy_seed7.txt.

GOLDEN_POLICY = ROOT / "tests" / "vectors" / "engine_trace_policy_seed7.txt"
TYPES = ("email.outbound.sent", "delivery", "internal.audit")


def route(event, endpoint_id, filter_match):
    if event.type == "internal.audit":
        return endpoint_id == "c"
    return filter_match


def transform(endpoint_id, event_json):
    return '{"msys":%s}' % event_json if endpoint_id == "b" else None


def decide(inp):
    if inp.status == 400:
        return hookline.Decision.give_up()
    if inp.status == 418:
        return hookline.Decision.retry(inp.now + 1.5)
    return None


def answer(k, attempt):
    """(status, failure, retry_after) for the k-th distinct batch's attempt."""
    r = k % 5
    if r == 0:
        return (503, None, "20") if attempt == 1 else (200, None, None)
    if r == 1:
        return 400, None, None
    if r == 2:
        if attempt == 1:
            return 418, None, None
        return (0, "timeout", None) if attempt == 2 else (200, None, None)
    if r == 3:
        return 500, None, None
    return (202, None, None) if attempt == 1 else (200, None, None)


def policy_loop(e, now, phase, seen, lines):
    for _ in range(100000):
        a = e.next_action(now)
        if isinstance(a, hookline.Idle):
            return now
        if isinstance(a, hookline.Wait):
            now = a.at
            continue
        if a.batch_id not in seen:
            seen.append(a.batch_id)
        k = seen.index(a.batch_id)
        status, failure, retry_after = answer(k, a.attempt) if phase == 1 else (200, None, None)
        lines.append("%d send %s %s %d %d %d %d %s" % (
            round((now - T0) * 1000), a.endpoint_id, a.batch_id, a.attempt, a.n_events,
            len(a.body), sum(a.body) % 65521, failure or status))
        e.report_outcome(a.batch_id, status=status, failure=failure, retry_after=retry_after,
                         now=now)
    raise AssertionError("the policy scenario did not settle")


def run_policy_scenario():
    e = hookline.Engine(seed=7, route=route, transform=transform, decide=decide)
    e.add_endpoint("a", "https://example.test/a", max_events=3, schedule=[10, 60], deadline=600,
                   now=T0)
    e.add_endpoint("b", "https://example.test/b", events=["email.*"], unbatched=True,
                   sparkpost_compat=True, now=T0)
    e.add_endpoint("c", "https://example.test/c", ordering="key", max_events=2, now=T0)
    for i in range(30):
        e.enqueue(TYPES[i % 3], {"i": i}, id="evt_%02d" % i, created_at=T0,
                  ordering_key="k%d" % (i % 2), now=T0 + 0.25 * i)
    lines, seen = [], []
    now = policy_loop(e, T0 + 7.25, 1, seen, lines)
    dead = e.dead_letters()
    for batch_id in dead:
        b = e.batch(batch_id)
        lines.append("dead %s %s %d" % (b.batch_id, b.dead_reason, b.attempts))
    now += 1.0
    for batch_id in dead:
        e.redrive(batch_id, now)
    policy_loop(e, now, 2, seen, lines)
    st = e.stats()
    lines.append("stats %d %d %d %d %d" % (st.batches_delivered, st.batches_dead_lettered,
                                           st.attempts, st.events_enqueued, st.pending_events))
    return lines


def test_policy_trace_matches_c():
    want = GOLDEN_POLICY.read_text().splitlines()
    got = run_policy_scenario()
    for n, (g, w) in enumerate(zip(got, want), 1):
        assert g == w, "line %d differs" % n
    assert len(got) == len(want)
    assert any(line.startswith("dead ") for line in want)
