/* test_engine_states.c - every batch transition, the retry schedule, the
 * hard deadline, 410/429 policy, attempt log, dead-letter queue. */
#include "engine_test_util.h"

/* One endpoint "a" taking every event, linger 0 so batches are due at once. */
static hl_engine *one_endpoint(hl_endpoint_options *o)
{
    hl_engine *e = new_engine(99);
    o->linger_ms = 0;
    add_ep(e, "a", o, T0);
    return e;
}

static void test_open_queued_inflight_delivered(void **state)
{
    (void)state;
    hl_engine *e = new_engine(1);
    hl_endpoint_options o = ep_opts("https://a/");
    add_ep(e, "a", &o, T0);
    enqueue(e, "t", NULL, T0);
    hl_engine_stats st;
    hl_engine_stats_get(e, &st);
    assert_int_equal(st.batches[HL_BATCH_OPEN], 1);
    hl_action a = next(e, T0 + 10);
    assert_int_equal(a.kind, HL_ACTION_WAIT); /* OPEN until linger */
    a = next(e, T0 + 1000);
    assert_int_equal(a.kind, HL_ACTION_SEND); /* OPEN -> QUEUED -> IN_FLIGHT */
    assert_int_equal(a.attempt, 1);
    assert_int_equal(a.deadline_ms, T0 + 8 * HOUR);
    char id[HL_BATCH_ID_MAX];
    strcpy(id, a.batch_id);
    assert_int_equal(state_of(e, id), HL_BATCH_IN_FLIGHT);
    assert_int_equal(next(e, T0 + 1000).kind, HL_ACTION_IDLE); /* nothing timed */
    /* reporting twice is refused */
    assert_int_equal(report(e, id, 204, HL_FAILURE_NONE, NULL, T0 + 1100), HL_OK);
    assert_int_equal(state_of(e, id), HL_BATCH__SENTINEL); /* delivered and forgotten */
    assert_int_equal(report(e, id, 204, HL_FAILURE_NONE, NULL, T0 + 1100), HL_E_BATCH_UNKNOWN);
    hl_engine_stats_get(e, &st);
    assert_int_equal(st.batches_delivered, 1);
    assert_int_equal(st.pending_events, 0);
    assert_int_equal(st.pending_body_bytes, 0);
    assert_int_equal(hl_engine_attempt_count(e), 1);
    hl_attempt_record r;
    assert_int_equal(hl_engine_attempt_at(e, 0, &r, NULL), HL_OK);
    assert_string_equal(r.batch_id, id);
    assert_int_equal(r.status, 204);
    assert_true(r.delivered);
    assert_int_equal(hl_engine_attempt_at(e, 1, &r, NULL), HL_E_INVALID_ARGUMENT);
    hl_engine_free(e);
}

static void test_retry_schedule_jitter_and_deadline(void **state)
{
    (void)state;
    hl_endpoint_options o = ep_opts("https://a/");
    hl_engine *e = one_endpoint(&o);
    enqueue(e, "t", "{\"n\":1}", T0);
    uint64_t now = T0;
    hl_action a = next(e, now);
    assert_int_equal(a.kind, HL_ACTION_SEND);
    char id[HL_BATCH_ID_MAX];
    strcpy(id, a.batch_id);
    char body[512];
    size_t body_len = a.body_len;
    memcpy(body, a.body, body_len);
    const uint64_t sched[] = {5 * SEC, 5 * MIN, 30 * MIN, 2 * HOUR, 5 * HOUR, 5 * HOUR, 5 * HOUR};
    unsigned attempts = 1;
    for (int i = 0;; i++) {
        assert_int_equal(report(e, id, 500, HL_FAILURE_NONE, NULL, now), HL_OK);
        hl_batch_info bi;
        assert_int_equal(hl_engine_batch_get(e, id, &bi, NULL), HL_OK);
        if (bi.state == HL_BATCH_DEAD_LETTERED) {
            assert_string_equal(bi.dead_reason, "deadline");
            assert_int_equal(now, T0 + 8 * HOUR); /* the last attempt was clamped to it */
            break;
        }
        assert_int_equal(bi.state, HL_BATCH_RETRY_WAIT);
        uint64_t d = bi.next_attempt_ms - now, s = sched[i];
        if (bi.next_attempt_ms != bi.deadline_ms) { /* not clamped: within +-20 % */
            assert_true(d >= s - s / 5 && d <= s + s / 5);
        }
        assert_true(bi.next_attempt_ms <= T0 + 8 * HOUR);
        /* nothing before its time */
        assert_int_equal(next(e, bi.next_attempt_ms - 1).kind, HL_ACTION_WAIT);
        now = bi.next_attempt_ms;
        a = next(e, now);
        assert_int_equal(a.kind, HL_ACTION_SEND);
        assert_string_equal(a.batch_id, id); /* same id ... */
        assert_int_equal(a.body_len, body_len);
        assert_memory_equal(a.body, body, body_len); /* ... same bytes */
        assert_int_equal(a.attempt, ++attempts);
        assert_true(i < 10);
    }
    /* 0, ~5 s, ~5 min, ~35 min, ~2.5 h, ~7.5 h, then clamped at 8 h: 7 attempts */
    assert_int_equal(attempts, 7);
    assert_int_equal(hl_engine_dead_letter_count(e), 1);
    hl_engine_free(e);
}

static void test_jitter_bounds_many(void **state)
{
    (void)state;
    /* Many batches failing once: the retry delay covers the whole +-20 %
     * band and never leaves it. */
    hl_endpoint_options o = ep_opts("https://a/");
    o.concurrency = 1000;
    o.breaker_min_attempts = 100000; /* keep the breaker out of it */
    hl_engine *e = one_endpoint(&o);
    uint64_t lo = UINT64_MAX, hi = 0;
    for (int i = 0; i < 500; i++)
        enqueue(e, "t", NULL, T0);
    for (int i = 0; i < 500; i++) {
        hl_action a = next(e, T0);
        assert_int_equal(a.kind, HL_ACTION_SEND);
        assert_int_equal(report(e, a.batch_id, 503, HL_FAILURE_NONE, NULL, T0), HL_OK);
        hl_batch_info bi;
        hl_engine_batch_get(e, a.batch_id, &bi, NULL);
        uint64_t d = bi.next_attempt_ms - T0;
        assert_true(d >= 4000 && d <= 6000);
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    assert_true(lo < 4200 && hi > 5800);
    hl_engine_free(e);
}

static void test_retry_after_bounds(void **state)
{
    (void)state;
    hl_endpoint_options o = ep_opts("https://a/");
    o.jitter_pct = 0;
    o.concurrency = 10;
    hl_engine *e = one_endpoint(&o);
    struct {
        const char *ra;
        int status;
        uint64_t want;
    } cases[] = {
        {"1", 503, 5 * SEC},     /* shorter than the schedule: schedule wins */
        {"7", 503, 7 * SEC},     /* in between: honoured */
        {"3600", 503, 10 * SEC}, /* longer than twice: capped at 2x */
        {"junk", 503, 5 * SEC},  /* malformed: ignored */
        {"8", 429, 8 * SEC},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enqueue(e, "t", NULL, T0);
        hl_action a = next(e, T0);
        assert_int_equal(a.kind, HL_ACTION_SEND);
        assert_int_equal(report(e, a.batch_id, cases[i].status, HL_FAILURE_NONE, cases[i].ra, T0),
                         HL_OK);
        hl_batch_info bi;
        hl_engine_batch_get(e, a.batch_id, &bi, NULL);
        assert_int_equal(bi.next_attempt_ms - T0, cases[i].want);
    }
    hl_engine_free(e);
}

static void test_deadline_clamp_with_long_retry_after(void **state)
{
    (void)state;
    hl_endpoint_options o = ep_opts("https://a/");
    o.deadline_ms = 60 * SEC;
    o.schedule_ms[0] = 50 * SEC;
    o.n_schedule = 1;
    hl_engine *e = one_endpoint(&o);
    enqueue(e, "t", NULL, T0);
    hl_action a = next(e, T0 + 30 * SEC); /* sent late, at +30 s */
    char id[HL_BATCH_ID_MAX];
    strcpy(id, a.batch_id);
    assert_int_equal(report(e, id, 503, HL_FAILURE_NONE, "100000", T0 + 31 * SEC), HL_OK);
    hl_batch_info bi;
    hl_engine_batch_get(e, id, &bi, NULL);
    assert_int_equal(bi.next_attempt_ms, T0 + 60 * SEC); /* clamped to the deadline */
    a = next(e, T0 + 60 * SEC);                          /* an attempt AT the deadline is fine */
    assert_int_equal(a.kind, HL_ACTION_SEND);
    assert_int_equal(report(e, id, 503, HL_FAILURE_NONE, NULL, T0 + 61 * SEC), HL_OK);
    assert_int_equal(state_of(e, id), HL_BATCH_DEAD_LETTERED);

    /* a batch queued behind a busy endpoint past its deadline dies without an attempt */
    enqueue(e, "t", NULL, T0 + 100 * SEC);
    hl_engine_stats st;
    a = next(e, T0 + 100 * SEC + 61 * SEC);
    assert_int_equal(a.kind, HL_ACTION_IDLE);
    hl_engine_stats_get(e, &st);
    assert_int_equal(st.batches_dead_lettered, 2);
    assert_int_equal(st.attempts, 2);
    hl_engine_free(e);
}

static void test_max_attempts_and_sparkpost(void **state)
{
    (void)state;
    hl_endpoint_options o = ep_opts("https://a/");
    o.max_attempts = 2;
    o.sparkpost_compat = 1;
    hl_engine *e = one_endpoint(&o);
    enqueue(e, "t", NULL, T0);
    hl_action a = next(e, T0);
    assert_true(a.sparkpost_compat);
    char id[HL_BATCH_ID_MAX];
    strcpy(id, a.batch_id);
    assert_int_equal(report(e, id, 201, HL_FAILURE_NONE, NULL, T0), HL_OK); /* 201 is not 200 */
    assert_int_equal(state_of(e, id), HL_BATCH_RETRY_WAIT);
    a = next(e, T0 + 10 * SEC);
    assert_int_equal(report(e, id, 0, HL_FAILURE_TIMEOUT, NULL, T0 + 10 * SEC), HL_OK);
    hl_batch_info bi;
    hl_engine_batch_get(e, id, &bi, NULL);
    assert_int_equal(bi.state, HL_BATCH_DEAD_LETTERED);
    assert_string_equal(bi.dead_reason, "max_attempts");
    assert_int_equal(bi.last_failure, HL_FAILURE_TIMEOUT);
    hl_engine_free(e);
}

static void test_410_disables_and_keeps(void **state)
{
    (void)state;
    hl_endpoint_options o = ep_opts("https://a/");
    o.max_events = 1;
    hl_engine *e = one_endpoint(&o);
    enqueue(e, "t", NULL, T0);
    enqueue(e, "t", NULL, T0);
    hl_action a = next(e, T0);
    char id[HL_BATCH_ID_MAX];
    strcpy(id, a.batch_id);
    assert_int_equal(report(e, id, 410, HL_FAILURE_NONE, NULL, T0), HL_OK);
    hl_endpoint_info info;
    assert_int_equal(hl_endpoint_info_get(e, "a", &info, NULL), HL_OK);
    assert_int_equal(info.disabled, HL_DISABLED_GONE);
    assert_int_equal(info.pending_batches, 2); /* both kept */
    assert_int_equal(state_of(e, id), HL_BATCH_RETRY_WAIT);
    /* disabled: no sends, no new events */
    assert_int_equal(next(e, T0 + HOUR).kind, HL_ACTION_WAIT);
    assert_int_equal(enqueue(e, "t", NULL, T0 + HOUR), 0);
    /* re-enabled: both delivered */
    assert_int_equal(hl_endpoint_enable(e, "a", T0 + HOUR, NULL), HL_OK);
    int sent = 0;
    for (hl_action x = next(e, T0 + HOUR); x.kind == HL_ACTION_SEND; x = next(e, T0 + HOUR)) {
        assert_int_equal(report(e, x.batch_id, 200, HL_FAILURE_NONE, NULL, T0 + HOUR), HL_OK);
        sent++;
    }
    assert_int_equal(sent, 2);
    hl_engine_stats st;
    hl_engine_stats_get(e, &st);
    assert_int_equal(st.batches_delivered, 2);

    /* if never re-enabled, kept batches die at their deadline */
    enqueue(e, "t", NULL, T0 + 2 * HOUR);
    a = next(e, T0 + 2 * HOUR);
    assert_int_equal(report(e, a.batch_id, 410, HL_FAILURE_NONE, NULL, T0 + 2 * HOUR), HL_OK);
    assert_int_equal(next(e, T0 + 11 * HOUR).kind, HL_ACTION_IDLE);
    hl_engine_stats_get(e, &st);
    assert_int_equal(st.batches_dead_lettered, 1);
    hl_engine_free(e);
}

static void test_429_throttles_then_recovers(void **state)
{
    (void)state;
    hl_endpoint_options o = ep_opts("https://a/");
    o.max_events = 1;
    o.concurrency = 100;
    hl_engine *e = one_endpoint(&o);
    for (int i = 0; i < 50; i++)
        enqueue(e, "t", NULL, T0);
    hl_action a = next(e, T0);
    assert_int_equal(report(e, a.batch_id, 429, HL_FAILURE_NONE, NULL, T0), HL_OK);
    hl_endpoint_info info;
    hl_endpoint_info_get(e, "a", &info, NULL);
    assert_true(info.effective_rate > 9.9 && info.effective_rate < 10.1);
    assert_int_equal(info.breaker, HL_BREAKER_CLOSED); /* 429 is not a breaker failure */
    /* at 10/s from an empty bucket: the next send waits ~100 ms */
    a = next(e, T0);
    assert_int_equal(a.kind, HL_ACTION_WAIT);
    assert_int_equal(a.at_ms, T0 + 100);
    int sent = 0;
    for (uint64_t t = T0; t <= T0 + 1000; t += 10)
        for (a = next(e, t); a.kind == HL_ACTION_SEND; a = next(e, t)) {
            sent++;
            report(e, a.batch_id, 200, HL_FAILURE_NONE, NULL, t);
        }
    assert_true(sent >= 9 && sent <= 11);
    /* a 502 halves it */
    for (a = next(e, T0 + 2000); a.kind != HL_ACTION_SEND; a = next(e, a.at_ms))
        ;
    report(e, a.batch_id, 502, HL_FAILURE_NONE, NULL, a.at_ms);
    hl_endpoint_info_get(e, "a", &info, NULL);
    assert_true(info.effective_rate > 4.9 && info.effective_rate < 5.1);
    /* quiet minutes double it back, then unlimited again */
    hl_endpoint_info_get(e, "a", &info, NULL);
    assert_int_equal(hl_engine_next_action(e, T0 + 2000 + 61 * SEC, &a, NULL), HL_OK);
    hl_endpoint_info_get(e, "a", &info, NULL);
    assert_true(info.effective_rate > 9.9 && info.effective_rate < 10.1);
    assert_int_equal(hl_engine_next_action(e, T0 + 2000 + 10 * MIN, &a, NULL), HL_OK);
    hl_endpoint_info_get(e, "a", &info, NULL);
    assert_true(info.effective_rate == 0.0);
    hl_engine_free(e);
}

static int decide_cb(void *user, const hl_retry_input *in, hl_decision *out)
{
    int *mode = user;
    assert_non_null(in->outcome);
    assert_int_equal(in->deadline_ms - in->first_enqueue_ms, 8 * HOUR);
    switch (*mode) {
    case 0: /* 409 means "already have it" for this receiver */
        if (in->outcome->status == 409)
            out->kind = HL_DECIDE_DELIVERED;
        return 0;
    case 1:
        out->kind = HL_DECIDE_GIVE_UP;
        return 0;
    case 2:
        out->kind = HL_DECIDE_RETRY;
        out->retry_at_ms = in->now_ms + 100 * HOUR; /* beyond the deadline */
        return 0;
    default:
        return -1;
    }
}

static void test_decide_callback(void **state)
{
    (void)state;
    int mode = 0;
    hl_engine_options eo = HL_ENGINE_OPTIONS_INIT;
    eo.seed = 5;
    eo.decide = decide_cb;
    eo.callback_user = &mode;
    hl_engine *e = NULL;
    assert_int_equal(hl_engine_new(&e, &eo, NULL), HL_OK);
    hl_endpoint_options o = ep_opts("https://a/");
    o.linger_ms = 0;
    add_ep(e, "a", &o, T0);
    hl_engine_stats st;
    for (mode = 0; mode <= 3; mode++) {
        enqueue(e, "t", NULL, T0);
        hl_action a = next(e, T0);
        char id[HL_BATCH_ID_MAX];
        strcpy(id, a.batch_id);
        hl_code rc = report(e, id, 409, HL_FAILURE_NONE, NULL, T0);
        hl_batch_info bi;
        switch (mode) {
        case 0:
            assert_int_equal(rc, HL_OK);
            hl_engine_stats_get(e, &st);
            assert_int_equal(st.batches_delivered, 1);
            break;
        case 1:
            assert_int_equal(rc, HL_OK);
            assert_int_equal(state_of(e, id), HL_BATCH_DEAD_LETTERED);
            break;
        case 2:
            assert_int_equal(rc, HL_OK);
            hl_engine_batch_get(e, id, &bi, NULL);
            assert_int_equal(bi.next_attempt_ms, bi.deadline_ms); /* still clamped */
            break;
        default: /* an erroring callback: default policy, batch kept */
            assert_int_equal(rc, HL_E_CALLBACK);
            hl_engine_batch_get(e, id, &bi, NULL);
            assert_int_equal(bi.state, HL_BATCH_RETRY_WAIT);
            break;
        }
    }
    hl_engine_free(e);
}

static void test_dead_letter_queue(void **state)
{
    (void)state;
    hl_endpoint_options o = ep_opts("https://a/");
    o.max_attempts = 1;
    o.max_events = 1;
    hl_engine *e = one_endpoint(&o);
    char ids[3][HL_BATCH_ID_MAX];
    for (int i = 0; i < 3; i++) {
        enqueue(e, "t", NULL, T0);
        hl_action a = next(e, T0);
        strcpy(ids[i], a.batch_id);
        assert_int_equal(report(e, ids[i], 500, HL_FAILURE_NONE, NULL, T0), HL_OK);
    }
    assert_int_equal(hl_engine_dead_letter_count(e), 3);
    const char *list[5];
    size_t n;
    hl_engine_dead_letter_list(e, 1, list, 5, &n);
    assert_int_equal(n, 2);
    assert_string_equal(list[0], ids[1]);
    /* redrive: same id, fresh budget, new deadline */
    assert_int_equal(hl_engine_redrive(e, ids[0], T0 + HOUR, NULL), HL_OK);
    assert_int_equal(hl_engine_redrive(e, ids[0], T0 + HOUR, NULL), HL_E_BATCH_STATE);
    assert_int_equal(hl_engine_redrive(e, "bat_nope", T0 + HOUR, NULL), HL_E_BATCH_UNKNOWN);
    hl_batch_info bi;
    hl_engine_batch_get(e, ids[0], &bi, NULL);
    assert_int_equal(bi.state, HL_BATCH_QUEUED);
    assert_int_equal(bi.attempts, 0);
    assert_int_equal(bi.total_attempts, 1);
    assert_int_equal(bi.redrives, 1);
    assert_int_equal(bi.deadline_ms, T0 + 9 * HOUR);
    hl_action a = next(e, T0 + HOUR);
    assert_string_equal(a.batch_id, ids[0]);
    assert_int_equal(a.attempt, 1);
    assert_int_equal(report(e, ids[0], 200, HL_FAILURE_NONE, NULL, T0 + HOUR), HL_OK);
    /* purge one, then all */
    assert_int_equal(hl_engine_purge(e, ids[1], NULL), HL_OK);
    assert_int_equal(hl_engine_purge(e, ids[1], NULL), HL_E_BATCH_UNKNOWN);
    assert_int_equal(hl_engine_dead_letter_count(e), 1);
    assert_int_equal(hl_engine_purge(e, NULL, NULL), HL_OK);
    assert_int_equal(hl_engine_dead_letter_count(e), 0);
    hl_engine_stats st;
    hl_engine_stats_get(e, &st);
    assert_int_equal(st.batches[HL_BATCH_DEAD_LETTERED], 0);
    /* redrive after the endpoint is gone */
    enqueue(e, "t", NULL, T0 + HOUR);
    a = next(e, T0 + HOUR);
    strcpy(ids[2], a.batch_id);
    report(e, ids[2], 500, HL_FAILURE_NONE, NULL, T0 + HOUR);
    assert_int_equal(hl_endpoint_remove(e, "a", T0 + HOUR, NULL), HL_OK);
    assert_int_equal(hl_engine_redrive(e, ids[2], T0 + HOUR, NULL), HL_E_ENDPOINT_UNKNOWN);
    hl_engine_free(e);
}

static void test_remove_endpoint_with_batches(void **state)
{
    (void)state;
    hl_endpoint_options o = ep_opts("https://a/");
    o.max_events = 1;
    hl_engine *e = one_endpoint(&o);
    enqueue(e, "t", NULL, T0);
    enqueue(e, "t", NULL, T0);
    hl_action a = next(e, T0); /* one in flight, one queued */
    char id[HL_BATCH_ID_MAX];
    strcpy(id, a.batch_id);
    hl_endpoint_options ob = ep_opts("https://b/");
    add_ep(e, "b", &ob, T0);
    const char *ids[4];
    size_t n;
    hl_endpoint_list(e, 0, ids, 4, &n);
    assert_int_equal(n, 2);
    assert_string_equal(ids[0], "a");
    assert_string_equal(ids[1], "b");
    assert_int_equal(hl_endpoint_remove(e, "a", T0, NULL), HL_OK);
    assert_int_equal(hl_endpoint_remove(e, "a", T0, NULL), HL_E_ENDPOINT_UNKNOWN);
    hl_endpoint_list(e, 0, ids, 4, &n);
    assert_int_equal(n, 1);
    assert_string_equal(ids[0], "b");
    assert_int_equal(hl_endpoint_remove(e, "b", T0, NULL), HL_OK);
    assert_int_equal(hl_engine_dead_letter_count(e), 1);
    /* the in-flight one settles on its outcome: a failure dead-letters it */
    assert_int_equal(report(e, id, 500, HL_FAILURE_NONE, NULL, T0), HL_OK);
    hl_batch_info bi;
    hl_engine_batch_get(e, id, &bi, NULL);
    assert_int_equal(bi.state, HL_BATCH_DEAD_LETTERED);
    assert_string_equal(bi.dead_reason, "endpoint_removed");
    hl_engine_stats st;
    hl_engine_stats_get(e, &st);
    assert_int_equal(st.pending_events, 0);
    assert_int_equal(st.endpoints, 0);
    hl_engine_free(e);
}

static void test_attempt_log_pruning(void **state)
{
    (void)state;
    hl_endpoint_options o = ep_opts("https://a/");
    hl_engine *e = one_endpoint(&o);
    char excerpt[3000];
    memset(excerpt, 'r', sizeof excerpt);
    enqueue(e, "t", NULL, T0);
    hl_action a = next(e, T0);
    hl_outcome out = HL_OUTCOME_INIT;
    out.status = 500;
    out.latency_ms = 42;
    out.body_excerpt = excerpt;
    out.body_excerpt_len = sizeof excerpt;
    assert_int_equal(hl_engine_report_outcome(e, a.batch_id, &out, T0 + 50, NULL), HL_OK);
    hl_attempt_record r;
    hl_engine_attempt_at(e, 0, &r, NULL);
    assert_int_equal(r.excerpt_len, HL_EXCERPT_MAX);
    assert_int_equal(r.latency_ms, 42);
    assert_string_equal(hl_failure_class_name(r.failure), "http");
    assert_int_equal(r.attempt, 1);
    assert_int_equal(r.at_ms, T0 + 50);
    assert_int_equal(r.sent_ms, T0);
    a = next(e, T0 + 10 * SEC);
    out.failure = HL_FAILURE_DNS;
    out.status = 0;
    hl_engine_report_outcome(e, a.batch_id, &out, T0 + 10 * SEC, NULL);
    assert_int_equal(hl_engine_attempt_count(e), 2);
    hl_engine_attempt_at(e, 1, &r, NULL);
    assert_string_equal(hl_failure_class_name(r.failure), "dns");
    next(e, T0 + 24 * HOUR + 51);
    assert_int_equal(hl_engine_attempt_count(e), 1); /* the first is older than 24 h */
    next(e, T0 + 25 * HOUR);
    assert_int_equal(hl_engine_attempt_count(e), 0);
    hl_engine_free(e);
}

static void test_in_flight_lease(void **state)
{
    (void)state;
    hl_engine_options eo = HL_ENGINE_OPTIONS_INIT;
    eo.seed = 9;
    eo.in_flight_lease_ms = 30 * SEC;
    hl_engine *e = NULL;
    assert_int_equal(hl_engine_new(&e, &eo, NULL), HL_OK);
    hl_endpoint_options o = ep_opts("https://a/");
    o.linger_ms = 0;
    add_ep(e, "a", &o, T0);
    enqueue(e, "t", NULL, T0);
    hl_action a = next(e, T0);
    char id[HL_BATCH_ID_MAX];
    strcpy(id, a.batch_id);
    a = next(e, T0 + SEC);
    assert_int_equal(a.kind, HL_ACTION_WAIT);
    assert_int_equal(a.at_ms, T0 + 30 * SEC); /* the lease */
    a = next(e, T0 + 30 * SEC);                /* expired: counted as a timeout */
    hl_batch_info bi;
    hl_engine_batch_get(e, id, &bi, NULL);
    assert_int_equal(bi.state, HL_BATCH_RETRY_WAIT);
    assert_int_equal(bi.last_failure, HL_FAILURE_TIMEOUT);
    hl_attempt_record r;
    assert_int_equal(hl_engine_attempt_at(e, 0, &r, NULL), HL_OK);
    assert_string_equal(hl_failure_class_name(r.failure), "timeout");
    /* the late answer is refused; the retry goes out with the same id */
    assert_int_equal(report(e, id, 200, HL_FAILURE_NONE, NULL, T0 + 31 * SEC), HL_E_BATCH_STATE);
    a = next(e, bi.next_attempt_ms);
    assert_int_equal(a.kind, HL_ACTION_SEND);
    assert_string_equal(a.batch_id, id);
    assert_int_equal(a.attempt, 2);
    assert_int_equal(report(e, id, 200, HL_FAILURE_NONE, NULL, bi.next_attempt_ms), HL_OK);
    hl_engine_free(e);
}

static void test_bad_calls(void **state)
{
    (void)state;
    hl_endpoint_options o = ep_opts("https://a/");
    hl_engine *e = one_endpoint(&o);
    enqueue(e, "t", NULL, T0);
    hl_action a = next(e, T0);
    hl_outcome out = HL_OUTCOME_INIT;
    out.failure = (hl_failure)77;
    assert_int_equal(hl_engine_report_outcome(e, a.batch_id, &out, T0, NULL), HL_E_INVALID_ARGUMENT);
    out.failure = HL_FAILURE_NONE;
    out.version = 9;
    assert_int_equal(hl_engine_report_outcome(e, a.batch_id, &out, T0, NULL), HL_E_INVALID_ARGUMENT);
    assert_int_equal(hl_engine_report_outcome(e, NULL, &out, T0, NULL), HL_E_INVALID_ARGUMENT);
    assert_int_equal(hl_engine_next_action(NULL, T0, &a, NULL), HL_E_INVALID_ARGUMENT);
    hl_engine_options bad = HL_ENGINE_OPTIONS_INIT;
    bad.version = 0;
    hl_engine *e2 = NULL;
    assert_int_equal(hl_engine_new(&e2, &bad, NULL), HL_E_INVALID_ARGUMENT);
    assert_null(e2);
    hl_engine_free(NULL);
    assert_string_equal(hl_batch_state_name(HL_BATCH_RETRY_WAIT), "retry_wait");
    assert_string_equal(hl_batch_state_name(99), "unknown");
    assert_string_equal(hl_disabled_reason_name(HL_DISABLED_GONE), "gone");
    assert_string_equal(hl_breaker_state_name(HL_BREAKER_HALF_OPEN), "half_open");
    assert_string_equal(hl_code_name(HL_E_EVENT_TOO_LARGE), "event_too_large");
    /* a clock going backwards is treated as the latest time seen */
    assert_int_equal(report(e, a.batch_id, 500, HL_FAILURE_NONE, NULL, T0 - HOUR), HL_OK);
    hl_batch_info bi;
    hl_engine_batch_get(e, a.batch_id, &bi, NULL);
    assert_true(bi.next_attempt_ms >= T0 + 4 * SEC);
    hl_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_queued_inflight_delivered),
        cmocka_unit_test(test_retry_schedule_jitter_and_deadline),
        cmocka_unit_test(test_jitter_bounds_many),
        cmocka_unit_test(test_retry_after_bounds),
        cmocka_unit_test(test_deadline_clamp_with_long_retry_after),
        cmocka_unit_test(test_max_attempts_and_sparkpost),
        cmocka_unit_test(test_410_disables_and_keeps),
        cmocka_unit_test(test_429_throttles_then_recovers),
        cmocka_unit_test(test_decide_callback),
        cmocka_unit_test(test_dead_letter_queue),
        cmocka_unit_test(test_remove_endpoint_with_batches),
        cmocka_unit_test(test_attempt_log_pruning),
        cmocka_unit_test(test_in_flight_lease),
        cmocka_unit_test(test_bad_calls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
