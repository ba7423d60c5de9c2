/*
 * test_engine_scale.c - 10^5 endpoints and 10^6 pending events: enqueue,
 * close and deliver them all, timing each phase and measuring the heap
 * bytes held per pending event.
 *
 * HL_SCALE_ENDPOINTS / HL_SCALE_EVENTS_PER_ENDPOINT override the size
 * (bigger runs as an option); sanitizer builds run a tenth by default.
 */
#define _GNU_SOURCE /* clock_gettime, mallinfo2: the test measures itself */
#include "engine_test_util.h"

#include <malloc.h>
#include <stdlib.h>
#include <time.h>

#if defined(__SANITIZE_ADDRESS__)
#define HL_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HL_TEST_SANITIZED 1
#endif
#endif

static double seconds(void)
{
    /* the test measures itself; the engine never reads a clock */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t env_size(const char *name, size_t def)
{
    const char *v = getenv(name);
    return v && *v ? (size_t)strtoull(v, NULL, 10) : def;
}

static void test_scale(void **state)
{
    (void)state;
#ifdef HL_TEST_SANITIZED
    size_t n_ep = env_size("HL_SCALE_ENDPOINTS", 10000);
#else
    size_t n_ep = env_size("HL_SCALE_ENDPOINTS", 100000);
#endif
    size_t per_ep = env_size("HL_SCALE_EVENTS_PER_ENDPOINT", 10);
    size_t n_events = n_ep * per_ep;

    struct mallinfo2 m0 = mallinfo2();
    hl_engine *e = new_engine(1);
    double t = seconds();
    for (size_t i = 0; i < n_ep; i++) {
        char id[32], type[32];
        snprintf(id, sizeof id, "ep%zu", i);
        snprintf(type, sizeof type, "s.%zu", i);
        const char *filters[] = {type};
        hl_endpoint_options o = ep_opts("https://receiver.example/hook");
        o.filters = filters;
        o.n_filters = 1;
        add_ep(e, id, &o, T0);
    }
    double t_ep = seconds() - t;
    struct mallinfo2 m1 = mallinfo2();

    t = seconds();
    hl_event ev = HL_EVENT_INIT;
    char type[32];
    ev.type = type;
    ev.data = "{\"msg\":\"m\"}";
    ev.data_len = strlen(ev.data);
    for (size_t k = 0; k < n_events; k++) {
        snprintf(type, sizeof type, "s.%zu", k % n_ep);
        size_t routed = 0;
        if (hl_engine_enqueue(e, &ev, T0, &routed, NULL, 0, NULL) != HL_OK || routed != 1)
            fail_msg("enqueue %zu failed", k);
    }
    double t_enq = seconds() - t;
    struct mallinfo2 m2 = mallinfo2();
    hl_engine_stats st;
    hl_engine_stats_get(e, &st);
    assert_int_equal(st.pending_events, n_events);
    assert_int_equal(st.batches[HL_BATCH_OPEN], n_ep);

    /* linger passes: every batch closes, then all are sent round-robin */
    t = seconds();
    size_t sent = 0, events = 0;
    hl_action a;
    uint64_t now = T0 + SEC;
    for (;;) {
        assert_int_equal(hl_engine_next_action(e, now, &a, NULL), HL_OK);
        if (a.kind != HL_ACTION_SEND)
            break;
        sent++;
        events += a.n_events;
        /* every 10th fails once, to exercise the retry heap at scale */
        int status = sent % 10 == 0 ? 503 : 200;
        assert_int_equal(report(e, a.batch_id, status, HL_FAILURE_NONE, NULL, now), HL_OK);
    }
    double t_send = seconds() - t;
    hl_engine_stats_get(e, &st);
    assert_int_equal(st.batches[HL_BATCH_RETRY_WAIT], n_ep / 10);
    t = seconds();
    now += 7 * SEC;
    for (;;) {
        assert_int_equal(hl_engine_next_action(e, now, &a, NULL), HL_OK);
        if (a.kind != HL_ACTION_SEND)
            break;
        events += a.n_events;
        assert_int_equal(report(e, a.batch_id, 200, HL_FAILURE_NONE, NULL, now), HL_OK);
    }
    double t_retry = seconds() - t;
    hl_engine_stats_get(e, &st);
    assert_int_equal(st.pending_events, 0);
    assert_int_equal(events, n_events + (n_ep / 10) * per_ep);
    assert_int_equal(a.kind, HL_ACTION_IDLE);

    size_t ep_bytes = m1.uordblks - m0.uordblks;
    size_t ev_bytes = m2.uordblks - m1.uordblks;
    fprintf(stderr,
            "  %zu endpoints added in %.2f s (%.0f B each)\n"
            "  %zu events enqueued in %.2f s (%.2f us each), %.0f B of heap per pending event\n"
            "  %zu batches closed and sent in %.2f s; %zu retries in %.2f s\n",
            n_ep, t_ep, (double)ep_bytes / (double)n_ep, n_events, t_enq,
            t_enq * 1e6 / (double)n_events, (double)ev_bytes / (double)n_events, sent, t_send,
            n_ep / 10, t_retry);
    hl_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scale),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
