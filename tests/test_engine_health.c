/* test_engine_health.c - circuit breaker, concurrency, fairness across
 * endpoints, SSRF-blocked disabling, ordering keys. */
#include "engine_test_util.h"

static hl_endpoint_options fast_retry(const char *url)
{
    hl_endpoint_options o = ep_opts(url);
    o.linger_ms = 0;
    o.max_events = 1;
    o.schedule_ms[0] = 1 * SEC;
    o.n_schedule = 1;
    o.jitter_pct = 0;
    return o;
}

/* Send everything due at `now`, answering each with `status`. */
static int pump(hl_engine *e, uint64_t now, int status, hl_failure f)
{
    int sent = 0;
    for (hl_action a = next(e, now); a.kind == HL_ACTION_SEND; a = next(e, now)) {
        report(e, a.batch_id, status, f, NULL, now);
        sent++;
    }
    return sent;
}

static void test_breaker_opens_probes_closes(void **state)
{
    (void)state;
    hl_engine *e = new_engine(1);
    hl_endpoint_options o = fast_retry("https://dead/");
    o.concurrency = 100;
    add_ep(e, "a", &o, T0);
    for (int i = 0; i < 20; i++)
        enqueue(e, "t", NULL, T0);
    /* 20 handed out at once, then all fail; the breaker opens at the 10th
     * failure, and those already in flight still report */
    char ids[20][HL_BATCH_ID_MAX];
    for (int i = 0; i < 20; i++) {
        hl_action x = next(e, T0);
        assert_int_equal(x.kind, HL_ACTION_SEND);
        strcpy(ids[i], x.batch_id);
    }
    for (int i = 0; i < 20; i++)
        assert_int_equal(report(e, ids[i], 500, HL_FAILURE_NONE, NULL, T0), HL_OK);
    hl_endpoint_info info;
    hl_endpoint_info_get(e, "a", &info, NULL);
    assert_int_equal(info.breaker, HL_BREAKER_OPEN);
    assert_int_equal(info.breaker_trips, 1);
    /* retries come due at +1 s, but an open breaker sends nothing */
    assert_int_equal(pump(e, T0 + 5 * SEC, 500, HL_FAILURE_NONE), 0);
    hl_engine_stats st;
    hl_engine_stats_get(e, &st);
    assert_int_equal(st.attempts, 20); /* waiting spends no attempts */
    assert_int_equal(st.batches[HL_BATCH_QUEUED], 20);
    /* half-open at +30 s: exactly one probe */
    hl_action a = next(e, T0 + 29 * SEC);
    assert_int_equal(a.kind, HL_ACTION_WAIT);
    assert_int_equal(a.at_ms, T0 + 30 * SEC);
    a = next(e, T0 + 30 * SEC);
    assert_int_equal(a.kind, HL_ACTION_SEND);
    assert_int_equal(next(e, T0 + 30 * SEC).kind, HL_ACTION_WAIT); /* only one probe */
    report(e, a.batch_id, 503, HL_FAILURE_NONE, NULL, T0 + 31 * SEC);
    hl_endpoint_info_get(e, "a", &info, NULL);
    assert_int_equal(info.breaker, HL_BREAKER_OPEN);
    assert_int_equal(info.breaker_trips, 2);
    /* next probe 30 s after re-opening; success closes and drains */
    a = next(e, T0 + 61 * SEC);
    assert_int_equal(a.kind, HL_ACTION_SEND);
    report(e, a.batch_id, 200, HL_FAILURE_NONE, NULL, T0 + 61 * SEC);
    hl_endpoint_info_get(e, "a", &info, NULL);
    assert_int_equal(info.breaker, HL_BREAKER_CLOSED);
    assert_int_equal(pump(e, T0 + 61 * SEC, 200, HL_FAILURE_NONE), 19);
    hl_engine_stats_get(e, &st);
    assert_int_equal(st.batches_delivered, 20);
    hl_engine_free(e);
}

static void test_breaker_needs_min_attempts_and_ratio(void **state)
{
    (void)state;
    hl_engine *e = new_engine(1);
    hl_endpoint_options o = fast_retry("https://flaky/");
    o.concurrency = 100;
    add_ep(e, "a", &o, T0);
    hl_endpoint_info info;
    /* 9 failures: below the minimum count */
    for (int i = 0; i < 9; i++)
        enqueue(e, "t", NULL, T0);
    pump(e, T0, 500, HL_FAILURE_NONE);
    hl_endpoint_info_get(e, "a", &info, NULL);
    assert_int_equal(info.breaker, HL_BREAKER_CLOSED);
    /* 5 successes: 9/14 = 64 % < 70 % */
    for (int i = 0; i < 5; i++)
        enqueue(e, "u", NULL, T0 + 100);
    int n = 0;
    for (hl_action a = next(e, T0 + 100); a.kind == HL_ACTION_SEND; a = next(e, T0 + 100), n++)
        report(e, a.batch_id, 200, HL_FAILURE_NONE, NULL, T0 + 100);
    assert_int_equal(n, 5);
    hl_endpoint_info_get(e, "a", &info, NULL);
    assert_int_equal(info.breaker, HL_BREAKER_CLOSED);
    /* old failures leave the 5-minute window */
    hl_engine_free(e);
}

static void test_breaker_auto_disable(void **state)
{
    (void)state;
    hl_engine *e = new_engine(1);
    hl_endpoint_options o = fast_retry("https://dead/");
    o.deadline_ms = 48 * HOUR;
    o.schedule_ms[0] = 10 * MIN;
    add_ep(e, "a", &o, T0);
    enqueue(e, "t", NULL, T0);
    uint64_t now = T0;
    int attempts = 0;
    hl_endpoint_info info;
    /* every attempt fails; after 24 h of continuous failure it is disabled */
    for (int guard = 0; guard < 10000; guard++) {
        hl_action a = next(e, now);
        if (a.kind == HL_ACTION_SEND) {
            attempts++;
            report(e, a.batch_id, 0, HL_FAILURE_CONNECT, NULL, now);
            continue;
        }
        hl_endpoint_info_get(e, "a", &info, NULL);
        if (info.disabled != HL_DISABLED_NONE || a.kind == HL_ACTION_IDLE)
            break;
        now = a.at_ms;
    }
    hl_endpoint_info_get(e, "a", &info, NULL);
    assert_int_equal(info.disabled, HL_DISABLED_FAILING);
    assert_true(now - T0 >= 24 * HOUR && now - T0 <= 25 * HOUR);
    assert_true(attempts <= 24 * 6 + 2);

    /* max trips */
    hl_endpoint_options o2 = fast_retry("https://dead2/");
    o2.breaker_max_trips = 2;
    o2.breaker_min_attempts = 1;
    o2.breaker_half_open_ms = 1 * SEC;
    const char *f[] = {"x"};
    o2.filters = f;
    o2.n_filters = 1;
    add_ep(e, "b", &o2, now);
    enqueue(e, "x", NULL, now);
    for (int i = 0; i < 10; i++)
        pump(e, now + (uint64_t)i * 2 * SEC, 500, HL_FAILURE_NONE);
    hl_endpoint_info_get(e, "b", &info, NULL);
    assert_int_equal(info.disabled, HL_DISABLED_FAILING);
    assert_int_equal(info.breaker_trips, 2);
    hl_engine_free(e);
}

static void test_blocked_disables(void **state)
{
    (void)state;
    hl_engine *e = new_engine(1);
    hl_endpoint_options o = fast_retry("https://10.0.0.1/");
    add_ep(e, "a", &o, T0);
    enqueue(e, "t", NULL, T0);
    for (int i = 0; i < 3; i++)
        pump(e, T0 + (uint64_t)i * SEC, 0, HL_FAILURE_BLOCKED);
    hl_endpoint_info info;
    hl_endpoint_info_get(e, "a", &info, NULL);
    assert_int_equal(info.disabled, HL_DISABLED_BLOCKED);
    assert_int_equal(info.pending_batches, 1);
    hl_engine_free(e);
}

static void test_concurrency_and_fairness(void **state)
{
    (void)state;
    hl_engine *e = new_engine(1);
    hl_endpoint_options busy = fast_retry("https://busy/");
    busy.concurrency = 3;
    const char *fb[] = {"busy"};
    busy.filters = fb;
    busy.n_filters = 1;
    hl_endpoint_options quiet = fast_retry("https://quiet/");
    const char *fq[] = {"quiet"};
    quiet.filters = fq;
    quiet.n_filters = 1;
    add_ep(e, "busy", &busy, T0);
    add_ep(e, "quiet", &quiet, T0);
    add_ep(e, "quiet2", &quiet, T0);
    for (int i = 0; i < 1000; i++)
        enqueue(e, "busy", NULL, T0);
    for (int i = 0; i < 4; i++)
        enqueue(e, "quiet", NULL, T0);
    /* busy holds 3 in flight and no more; the quiet ones are served in
     * between despite 1000 batches ahead of them */
    const char *order[16];
    int n = 0;
    for (hl_action a = next(e, T0); a.kind == HL_ACTION_SEND && n < 16; a = next(e, T0))
        order[n++] = a.endpoint_id;
    assert_int_equal(n, 3 + 4 + 4);
    int busy_n = 0;
    for (int i = 0; i < n; i++)
        busy_n += strcmp(order[i], "busy") == 0;
    assert_int_equal(busy_n, 3);
    /* round-robin: the first three sends are three different endpoints */
    assert_string_not_equal(order[0], order[1]);
    assert_string_not_equal(order[1], order[2]);
    assert_string_not_equal(order[0], order[2]);
    hl_endpoint_info info;
    hl_endpoint_info_get(e, "busy", &info, NULL);
    assert_int_equal(info.in_flight, 3);
    assert_int_equal(info.queued, 997);
    hl_engine_free(e);
}

static void test_global_in_flight_cap(void **state)
{
    (void)state;
    hl_engine_options eo = HL_ENGINE_OPTIONS_INIT;
    eo.seed = 1;
    eo.max_in_flight = 2;
    hl_engine *e = NULL;
    assert_int_equal(hl_engine_new(&e, &eo, NULL), HL_OK);
    hl_endpoint_options o = fast_retry("https://a/");
    add_ep(e, "a", &o, T0);
    for (int i = 0; i < 5; i++)
        enqueue(e, "t", NULL, T0);
    hl_action a1 = next(e, T0), a2 = next(e, T0), a3 = next(e, T0);
    assert_int_equal(a1.kind, HL_ACTION_SEND);
    assert_int_equal(a2.kind, HL_ACTION_SEND);
    assert_int_equal(a3.kind, HL_ACTION_WAIT); /* deadline timers remain */
    report(e, a1.batch_id, 200, HL_FAILURE_NONE, NULL, T0);
    assert_int_equal(next(e, T0).kind, HL_ACTION_SEND);
    hl_engine_free(e);
}

static void test_ordering_by_key(void **state)
{
    (void)state;
    hl_engine *e = new_engine(1);
    hl_endpoint_options o = fast_retry("https://ordered/");
    o.ordering = HL_ORDERING_KEY;
    o.max_events = 2;
    o.linger_ms = 1000;
    o.schedule_ms[0] = 5 * SEC;
    add_ep(e, "a", &o, T0);
    hl_event ev = HL_EVENT_INIT;
    ev.type = "t";
    const char *keys[] = {"k1", "k1", "k1", "k2", "k1", NULL};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        ev.ordering_key = keys[i];
        assert_int_equal(hl_engine_enqueue(e, &ev, T0, NULL, NULL, 0, NULL), HL_OK);
    }
    /* k1: [e0,e1] closed (full) and due; [e2,e4] open; k2: [e3] open; none: [e5] open */
    hl_action a = next(e, T0);
    assert_int_equal(a.kind, HL_ACTION_SEND);
    assert_int_equal(a.n_events, 2);
    char k1first[HL_BATCH_ID_MAX];
    strcpy(k1first, a.batch_id);
    assert_int_equal(report(e, k1first, 500, HL_FAILURE_NONE, NULL, T0), HL_OK);
    /* at linger: k2 and the unkeyed batch go; k1's second batch is held */
    int sent = 0;
    char held[HL_BATCH_ID_MAX] = "";
    for (a = next(e, T0 + 999); a.kind == HL_ACTION_SEND; a = next(e, T0 + 999))
        sent++;
    assert_int_equal(sent, 0);
    hl_engine_stats st;
    for (a = next(e, T0 + 1000); a.kind == HL_ACTION_SEND; a = next(e, T0 + 1000)) {
        assert_string_not_equal(a.batch_id, k1first);
        report(e, a.batch_id, 200, HL_FAILURE_NONE, NULL, T0 + 1000);
        sent++;
    }
    assert_int_equal(sent, 2);
    hl_engine_stats_get(e, &st);
    assert_int_equal(st.batches[HL_BATCH_HELD], 1);
    assert_int_equal(st.batches[HL_BATCH_RETRY_WAIT], 1);
    /* the retry of k1's first batch succeeds; then the held one goes */
    a = next(e, T0 + 1000);
    assert_int_equal(a.kind, HL_ACTION_WAIT);
    a = next(e, T0 + 5000);
    assert_int_equal(a.kind, HL_ACTION_SEND);
    assert_string_equal(a.batch_id, k1first);
    report(e, a.batch_id, 200, HL_FAILURE_NONE, NULL, T0 + 5000);
    a = next(e, T0 + 5000);
    assert_int_equal(a.kind, HL_ACTION_SEND);
    strcpy(held, a.batch_id);
    assert_int_equal(a.n_events, 2);
    report(e, held, 200, HL_FAILURE_NONE, NULL, T0 + 5000);
    hl_engine_stats_get(e, &st);
    assert_int_equal(st.batches_delivered, 4);
    assert_int_equal(st.pending_events, 0);
    hl_engine_free(e);
}

static void test_ordering_dead_letter_releases_next(void **state)
{
    (void)state;
    hl_engine *e = new_engine(1);
    hl_endpoint_options o = fast_retry("https://ordered/");
    o.ordering = HL_ORDERING_KEY;
    o.max_attempts = 1;
    add_ep(e, "a", &o, T0);
    hl_event ev = HL_EVENT_INIT;
    ev.type = "t";
    ev.ordering_key = "k";
    hl_engine_enqueue(e, &ev, T0, NULL, NULL, 0, NULL);
    hl_engine_enqueue(e, &ev, T0, NULL, NULL, 0, NULL);
    hl_action a = next(e, T0);
    assert_int_equal(a.kind, HL_ACTION_SEND);
    assert_int_equal(next(e, T0).kind, HL_ACTION_WAIT); /* second is held */
    report(e, a.batch_id, 500, HL_FAILURE_NONE, NULL, T0); /* dead: max_attempts 1 */
    assert_int_equal(state_of(e, a.batch_id), HL_BATCH_DEAD_LETTERED);
    a = next(e, T0);
    assert_int_equal(a.kind, HL_ACTION_SEND); /* released */
    hl_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_breaker_opens_probes_closes),
        cmocka_unit_test(test_breaker_needs_min_attempts_and_ratio),
        cmocka_unit_test(test_breaker_auto_disable),
        cmocka_unit_test(test_blocked_disables),
        cmocka_unit_test(test_concurrency_and_fairness),
        cmocka_unit_test(test_global_in_flight_cap),
        cmocka_unit_test(test_ordering_by_key),
        cmocka_unit_test(test_ordering_dead_letter_releases_next),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
