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
