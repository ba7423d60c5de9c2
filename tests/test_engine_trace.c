/*
 * test_engine_trace.c - a golden trace: a fixed scenario with a fixed seed
 * must produce exactly tests/vectors/engine_trace_seed42.txt. The Python
 * and Lua bindings replay the same scenario against the same file, which is
 * how "the same script gives the same results in C, Python and Lua" is
 * checked. Regenerate (after an intended change) with HL_UPDATE_GOLDEN=1.
 *
 * The scenario (docs/engine.md, "Cross-language check"):
 *   engine seed 42; now starts at 1700000000000.
 *   endpoint "ep1": url https://example.test/a, defaults.
 *   endpoint "ep2": url https://example.test/b, filters ["email.outbound.*"],
 *                   max_events 5.
 *   for i in 0..49, at now = T0 + 100*i: enqueue {id "evt_<i as 2 digits>",
 *     type i odd ? "email.outbound.sent" : "delivery", created_at_ms T0,
 *     data {"i":<i>}}.
 *   then from now = T0 + 4900 (the last enqueue): loop next_action(now):
 *     SEND: the k-th distinct batch seen (k from 0) answers 503 on its
 *           first attempt when k % 3 == 0, else 200; reported at the same
 *           now; one trace line per SEND;
 *     WAIT: now = at_ms;  IDLE: stop.
 *   trace line: "<now - T0> <endpoint> <batch id> <attempt> <n_events> <body bytes> <status>"
 */
#include "engine_test_util.h"

#include <stdlib.h>

#ifndef HL_SOURCE_DIR
#define HL_SOURCE_DIR "."
#endif
#define GOLDEN HL_SOURCE_DIR "/tests/vectors/engine_trace_seed42.txt"

static void test_golden_trace(void **state)
{
    (void)state;
    hl_engine *e = new_engine(42);
    hl_endpoint_options o1 = ep_opts("https://example.test/a");
    add_ep(e, "ep1", &o1, T0);
    hl_endpoint_options o2 = ep_opts("https://example.test/b");
    const char *f[] = {"email.outbound.*"};
    o2.filters = f;
    o2.n_filters = 1;
    o2.max_events = 5;
    add_ep(e, "ep2", &o2, T0);
    for (int i = 0; i < 50; i++) {
        char id[16], data[16];
        snprintf(id, sizeof id, "evt_%02d", i);
        snprintf(data, sizeof data, "{\"i\":%d}", i);
        hl_event ev = HL_EVENT_INIT;
        ev.id = id;
        ev.type = i % 2 ? "email.outbound.sent" : "delivery";
        ev.created_at_ms = T0;
        ev.data = data;
        ev.data_len = strlen(data);
        assert_int_equal(hl_engine_enqueue(e, &ev, T0 + 100 * (uint64_t)i, NULL, NULL, 0, NULL),
                         HL_OK);
    }
    char trace[64 * 1024];
    size_t len = 0;
    char seen[64][HL_BATCH_ID_MAX];
    int n_seen = 0;
    uint64_t now = T0 + 4900;
    for (int step = 0; step < 10000; step++) {
        hl_action a = next(e, now);
        if (a.kind == HL_ACTION_IDLE)
            break;
        if (a.kind == HL_ACTION_WAIT) {
            now = a.at_ms;
            continue;
        }
        int k = 0;
        while (k < n_seen && strcmp(seen[k], a.batch_id) != 0)
            k++;
        if (k == n_seen) {
            assert_true(n_seen < 64);
            strcpy(seen[n_seen++], a.batch_id);
        }
        int status = a.attempt == 1 && k % 3 == 0 ? 503 : 200;
        len += (size_t)snprintf(trace + len, sizeof trace - len, "%llu %s %s %u %u %zu %d\n",
                                (unsigned long long)(now - T0), a.endpoint_id, a.batch_id,
                                a.attempt, a.n_events, a.body_len, status);
        assert_true(len < sizeof trace);
        assert_int_equal(report(e, a.batch_id, status, HL_FAILURE_NONE, NULL, now), HL_OK);
    }
    hl_engine_stats st;
    hl_engine_stats_get(e, &st);
    assert_int_equal(st.pending_events, 0);
    assert_int_equal(st.events_enqueued, 75); /* 50 to ep1, 25 to ep2 */
    hl_engine_free(e);

    if (getenv("HL_UPDATE_GOLDEN")) {
        FILE *out = fopen(GOLDEN, "wb");
        assert_non_null(out);
        fwrite(trace, 1, len, out);
        fclose(out);
    }
    FILE *in = fopen(GOLDEN, "rb");
    assert_non_null(in);
    static char want[64 * 1024];
    size_t want_len = fread(want, 1, sizeof want, in);
    fclose(in);
    if (want_len != len || memcmp(want, trace, len) != 0) {
        fprintf(stderr, "trace differs from %s; got:\n%.*s", GOLDEN, (int)len, trace);
        fail();
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_trace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
