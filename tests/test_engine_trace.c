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
 *
 * A second scenario, tests/vectors/engine_trace_policy_seed7.txt, adds the
 * policy callbacks, every kind of outcome, dead letters and a redrive, so
 * the bindings' callback plumbing is checked against C too:
 *   engine seed 7; route: "internal.audit" events go only to "c", others
 *     follow the filters; transform: for "b" the event becomes
 *     {"msys":<event>}; decide: 400 gives up, 418 retries at now + 1500 ms,
 *     anything else keeps the default.
 *   endpoint "a": https://example.test/a, max_events 3, schedule [10 s, 60 s],
 *     deadline 600 s.
 *   endpoint "b": https://example.test/b, filters ["email.*"], unbatched,
 *     sparkpost_compat.
 *   endpoint "c": https://example.test/c, ordering by key, max_events 2.
 *   for i in 0..29 at now = T0 + 250*i: enqueue {id "evt_<i as 2 digits>",
 *     type ["email.outbound.sent", "delivery", "internal.audit"][i % 3],
 *     created_at_ms T0, data {"i":<i>}, ordering_key "k<i % 2>"}.
 *   phase 1, from now = T0 + 7250: loop next_action(now); a SEND of the
 *     k-th distinct batch (k from 0) attempt n is answered, by k % 5:
 *       0: n == 1: 503 with Retry-After "20"; then 200
 *       1: 400
 *       2: n == 1: 418; n == 2: timeout (status 0); then 200
 *       3: 500 always
 *       4: n == 1: 202; then 200
 *     line "<now - T0> send <endpoint> <batch> <attempt> <n_events>
 *     <body bytes> <sum of body bytes % 65521> <status or failure name>";
 *     WAIT: now = at; IDLE: end of phase.
 *   then one line "dead <batch> <reason> <attempts>" per dead letter (in
 *   order); now += 1000; redrive each; phase 2: the same loop, every SEND
 *   answered 200; last line "stats <batches_delivered>
 *   <batches_dead_lettered> <attempts> <events_enqueued> <pending_events>".
 */
#include "engine_test_util.h"

#include <stdlib.h>

#ifndef HL_SOURCE_DIR
#define HL_SOURCE_DIR "."
#endif
#define GOLDEN HL_SOURCE_DIR "/tests/vectors/engine_trace_seed42.txt"
#define GOLDEN_POLICY HL_SOURCE_DIR "/tests/vectors/engine_trace_policy_seed7.txt"

/* Compare `trace` with the golden file `path` (or rewrite it when
 * HL_UPDATE_GOLDEN is set). */
static void check_golden(const char *path, const char *trace, size_t len)
{
    static char want[256 * 1024];
    if (getenv("HL_UPDATE_GOLDEN")) {
        FILE *out = fopen(path, "wb");
        assert_non_null(out);
        fwrite(trace, 1, len, out);
        fclose(out);
    }
    FILE *in = fopen(path, "rb");
    assert_non_null(in);
    size_t want_len = fread(want, 1, sizeof want, in);
    fclose(in);
    if (want_len != len || memcmp(want, trace, len) != 0) {
        fprintf(stderr, "trace differs from %s; got:\n%.*s", path, (int)len, trace);
        fail();
    }
}

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

    check_golden(GOLDEN, trace, len);
}

/* ------------------------------------------------------- policy scenario */

static int policy_route(void *user, const hl_event *ev, const char *endpoint_id,
                        int filter_match)
{
    (void)user;
    if (strcmp(ev->type, "internal.audit") == 0)
        return strcmp(endpoint_id, "c") == 0;
    return filter_match;
}

static char transformed[4096];

static int policy_transform(void *user, const char *endpoint_id, const char *json, size_t len,
                            const char **out, size_t *out_len)
{
    (void)user;
    if (strcmp(endpoint_id, "b") != 0)
        return 0;
    int n = snprintf(transformed, sizeof transformed, "{\"msys\":%.*s}", (int)len, json);
    *out = transformed;
    *out_len = (size_t)n;
    return 0;
}

static int policy_decide(void *user, const hl_retry_input *in, hl_decision *out)
{
    (void)user;
    if (in->outcome->status == 400) {
        out->kind = HL_DECIDE_GIVE_UP;
    } else if (in->outcome->status == 418) {
        out->kind = HL_DECIDE_RETRY;
        out->retry_at_ms = in->now_ms + 1500;
    }
    return 0;
}

struct policy_trace {
    char text[128 * 1024];
    size_t len;
    char seen[256][HL_BATCH_ID_MAX];
    int n_seen;
};

static unsigned body_sum(const char *body, size_t len)
{
    unsigned sum = 0;
    for (size_t i = 0; i < len; i++)
        sum = (sum + (unsigned char)body[i]) % 65521;
    return sum;
}

/* Run next_action until IDLE; phase 1 answers by the script, phase 2 200. */
static uint64_t policy_loop(hl_engine *e, uint64_t now, int phase, struct policy_trace *t)
{
    for (int step = 0; step < 100000; step++) {
        hl_action a = next(e, now);
        if (a.kind == HL_ACTION_IDLE)
            return now;
        if (a.kind == HL_ACTION_WAIT) {
            now = a.at_ms;
            continue;
        }
        int k = 0;
        while (k < t->n_seen && strcmp(t->seen[k], a.batch_id) != 0)
            k++;
        if (k == t->n_seen) {
            assert_true(t->n_seen < 256);
            strcpy(t->seen[t->n_seen++], a.batch_id);
        }
        int status = 200;
        hl_failure failure = HL_FAILURE_NONE;
        const char *retry_after = NULL;
        if (phase == 1) {
            switch (k % 5) {
            case 0:
                if (a.attempt == 1) {
                    status = 503;
                    retry_after = "20";
                }
                break;
            case 1: status = 400; break;
            case 2:
                if (a.attempt == 1)
                    status = 418;
                else if (a.attempt == 2) {
                    status = 0;
                    failure = HL_FAILURE_TIMEOUT;
                }
                break;
            case 3: status = 500; break;
            default:
                if (a.attempt == 1)
                    status = 202;
                break;
            }
        }
        char outcome[16];
        if (failure != HL_FAILURE_NONE)
            snprintf(outcome, sizeof outcome, "%s", hl_failure_class_name(failure));
        else
            snprintf(outcome, sizeof outcome, "%d", status);
        t->len += (size_t)snprintf(t->text + t->len, sizeof t->text - t->len,
                                   "%llu send %s %s %u %u %zu %u %s\n",
                                   (unsigned long long)(now - T0), a.endpoint_id, a.batch_id,
                                   a.attempt, a.n_events, a.body_len,
                                   body_sum(a.body, a.body_len), outcome);
        assert_true(t->len < sizeof t->text);
        assert_int_equal(report(e, a.batch_id, status, failure, retry_after, now), HL_OK);
    }
    fail_msg("the policy scenario did not settle");
    return now;
}

static void test_policy_trace(void **state)
{
    (void)state;
    static struct policy_trace t;
    memset(&t, 0, sizeof t);
    hl_engine_options eo = HL_ENGINE_OPTIONS_INIT;
    eo.seed = 7;
    eo.route = policy_route;
    eo.transform = policy_transform;
    eo.decide = policy_decide;
    hl_engine *e = NULL;
    assert_int_equal(hl_engine_new(&e, &eo, NULL), HL_OK);

    hl_endpoint_options a = ep_opts("https://example.test/a");
    a.max_events = 3;
    a.schedule_ms[0] = 10 * SEC;
    a.schedule_ms[1] = 60 * SEC;
    a.n_schedule = 2;
    a.deadline_ms = 600 * SEC;
    add_ep(e, "a", &a, T0);
    hl_endpoint_options b = ep_opts("https://example.test/b");
    const char *f[] = {"email.*"};
    b.filters = f;
    b.n_filters = 1;
    b.unbatched = 1;
    b.sparkpost_compat = 1;
    add_ep(e, "b", &b, T0);
    hl_endpoint_options c = ep_opts("https://example.test/c");
    c.ordering = HL_ORDERING_KEY;
    c.max_events = 2;
    add_ep(e, "c", &c, T0);

    static const char *const TYPES[] = {"email.outbound.sent", "delivery", "internal.audit"};
    for (int i = 0; i < 30; i++) {
        char id[16], data[16], key[8];
        snprintf(id, sizeof id, "evt_%02d", i);
        snprintf(data, sizeof data, "{\"i\":%d}", i);
        snprintf(key, sizeof key, "k%d", i % 2);
        hl_event ev = HL_EVENT_INIT;
        ev.id = id;
        ev.type = TYPES[i % 3];
        ev.created_at_ms = T0;
        ev.data = data;
        ev.data_len = strlen(data);
        ev.ordering_key = key;
        assert_int_equal(hl_engine_enqueue(e, &ev, T0 + 250 * (uint64_t)i, NULL, NULL, 0, NULL),
                         HL_OK);
    }
    uint64_t now = policy_loop(e, T0 + 7250, 1, &t);

    const char *dead[256];
    size_t n_dead = 0;
    hl_engine_dead_letter_list(e, 0, dead, 256, &n_dead);
    char dead_ids[256][HL_BATCH_ID_MAX];
    for (size_t i = 0; i < n_dead; i++) {
        hl_batch_info bi;
        assert_int_equal(hl_engine_batch_get(e, dead[i], &bi, NULL), HL_OK);
        t.len += (size_t)snprintf(t.text + t.len, sizeof t.text - t.len, "dead %s %s %u\n",
                                  bi.batch_id, bi.dead_reason, bi.attempts);
        strcpy(dead_ids[i], dead[i]);
    }
    now += 1000;
    for (size_t i = 0; i < n_dead; i++)
        assert_int_equal(hl_engine_redrive(e, dead_ids[i], now, NULL), HL_OK);
    policy_loop(e, now, 2, &t);

    hl_engine_stats st;
    hl_engine_stats_get(e, &st);
    t.len += (size_t)snprintf(t.text + t.len, sizeof t.text - t.len, "stats %llu %llu %llu %llu %zu\n",
                              (unsigned long long)st.batches_delivered,
                              (unsigned long long)st.batches_dead_lettered,
                              (unsigned long long)st.attempts,
                              (unsigned long long)st.events_enqueued, st.pending_events);
    assert_true(n_dead > 0);
    assert_int_equal(st.pending_events, 0);
    hl_engine_free(e);
    check_golden(GOLDEN_POLICY, t.text, t.len);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_trace),
        cmocka_unit_test(test_policy_trace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
