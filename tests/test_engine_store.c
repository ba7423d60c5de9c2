/* test_engine_store.c - the store interface: every change reaches the
 * store, and an engine rebuilt from the store carries on with the same
 * batch ids and bytes (what the SQLite outbox will do after a crash). */
#include "engine_test_util.h"

#include <stdlib.h>

#define MAX_REC 256

struct rec {
    char id[HL_BATCH_ID_MAX];
    char endpoint_id[64];
    char key[64];
    int has_key;
    hl_batch_info info; /* pointers fixed up on restore */
    char *body;
    size_t body_len;
    int removed;
    size_t events_added;
    char dead_reason[32];
};

struct mem_store {
    struct rec recs[MAX_REC];
    size_t n;
    int begins, commits, attempts, endpoint_changes;
    int fail_after; /* fail the Nth batch_changed (0: never) */
    int changes;
};

static struct rec *find(struct mem_store *s, const char *id, int create)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->recs[i].id, id) == 0)
            return &s->recs[i];
    if (!create)
        return NULL;
    assert_true(s->n < MAX_REC);
    struct rec *r = &s->recs[s->n++];
    memset(r, 0, sizeof *r);
    strcpy(r->id, id);
    return r;
}

static int st_begin(void *u)
{
    ((struct mem_store *)u)->begins++;
    return 0;
}

static int st_commit(void *u)
{
    ((struct mem_store *)u)->commits++;
    return 0;
}

static int st_batch(void *u, const hl_batch_info *bi)
{
    struct mem_store *s = u;
    if (s->fail_after && ++s->changes >= s->fail_after)
        return -1;
    struct rec *r = find(s, bi->batch_id, 1);
    strcpy(r->endpoint_id, bi->endpoint_id);
    r->has_key = bi->ordering_key != NULL;
    if (bi->ordering_key)
        strcpy(r->key, bi->ordering_key);
    r->info = *bi;
    free(r->body);
    r->body = malloc(bi->body_len);
    memcpy(r->body, bi->body, bi->body_len);
    r->body_len = bi->body_len;
    r->dead_reason[0] = '\0';
    if (bi->dead_reason)
        strcpy(r->dead_reason, bi->dead_reason);
    return 0;
}

static int st_event(void *u, const char *batch_id, const char *json, size_t len)
{
    struct rec *r = find(u, batch_id, 0);
    assert_non_null(r);
    assert_true(len > 10 && json[0] == '{');
    /* keep the body as the engine does: a closed JSON array */
    char *body = malloc(r->body_len + len + 1);
    memcpy(body, r->body, r->body_len - 1);
    size_t at = r->body_len - 1;
    if (r->events_added)
        body[at++] = ',';
    memcpy(body + at, json, len);
    at += len;
    body[at++] = ']';
    free(r->body);
    r->body = body;
    r->body_len = at;
    r->events_added++;
    return 0;
}

static int st_attempt(void *u, const hl_attempt_record *a)
{
    assert_non_null(a->batch_id);
    ((struct mem_store *)u)->attempts++;
    return 0;
}

static int st_removed(void *u, const char *batch_id)
{
    struct rec *r = find(u, batch_id, 0);
    assert_non_null(r);
    r->removed = 1;
    return 0;
}

static int st_endpoint(void *u, const char *endpoint_id, hl_disabled_reason why)
{
    (void)endpoint_id;
    (void)why;
    ((struct mem_store *)u)->endpoint_changes++;
    return 0;
}

static hl_engine *engine_with_store(struct mem_store *s, uint64_t seed)
{
    hl_engine_options eo = HL_ENGINE_OPTIONS_INIT;
    eo.seed = seed;
    eo.store = (hl_store){s, st_begin, st_commit, st_batch, st_event, st_attempt, st_removed,
                          st_endpoint};
    hl_engine *e = NULL;
    assert_int_equal(hl_engine_new(&e, &eo, NULL), HL_OK);
    return e;
}

static void free_store(struct mem_store *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->recs[i].body);
}

static void add_endpoints(hl_engine *e)
{
    hl_endpoint_options o = ep_opts("https://a/");
    o.max_events = 3;
    o.jitter_pct = 0;
    add_ep(e, "a", &o, T0);
    hl_endpoint_options k = ep_opts("https://k/");
    k.ordering = HL_ORDERING_KEY;
    k.max_events = 2;
    const char *f[] = {"k.*"};
    k.filters = f;
    k.n_filters = 1;
    add_ep(e, "k", &k, T0);
}

static void test_crash_and_restore(void **state)
{
    (void)state;
    struct mem_store *s = calloc(1, sizeof *s);
    hl_engine *e = engine_with_store(s, 11);
    add_endpoints(e);
    hl_event ev = HL_EVENT_INIT;
    int enqueued_a = 0, enqueued_k = 0;
    for (int i = 0; i < 10; i++) {
        ev.type = i % 2 ? "k.x" : "t";
        ev.ordering_key = i % 4 == 1 ? "key1" : "key2";
        size_t routed = 0;
        assert_int_equal(hl_engine_enqueue(e, &ev, T0, &routed, NULL, 0, NULL), HL_OK);
        enqueued_a += 1;
        enqueued_k += i % 2;
    }
    assert_true(s->begins > 0 && s->begins == s->commits);
    /* put batches in every live state: one delivered, one retrying, one in
     * flight, some queued, some open */
    hl_action a = next(e, T0);
    assert_int_equal(report(e, a.batch_id, 200, HL_FAILURE_NONE, NULL, T0), HL_OK);
    a = next(e, T0);
    assert_int_equal(report(e, a.batch_id, 503, HL_FAILURE_NONE, NULL, T0), HL_OK);
    a = next(e, T0); /* stays in flight: the "crash" loses its outcome */
    assert_int_equal(a.kind, HL_ACTION_SEND);
    char lost[HL_BATCH_ID_MAX];
    strcpy(lost, a.batch_id);
    assert_int_equal(s->attempts, 2);
    assert_int_equal(hl_endpoint_disable(e, "k", T0, NULL), HL_OK);
    assert_int_equal(hl_endpoint_enable(e, "k", T0, NULL), HL_OK);
    assert_int_equal(s->endpoint_changes, 2);

    /* the store's view agrees with the engine's */
    size_t live = 0;
    for (size_t i = 0; i < s->n; i++) {
        struct rec *r = &s->recs[i];
        if (r->removed)
            continue;
        live++;
        hl_batch_info bi;
        assert_int_equal(hl_engine_batch_get(e, r->id, &bi, NULL), HL_OK);
        assert_int_equal(bi.state, r->info.state);
        assert_int_equal(bi.body_len, r->body_len);
        assert_memory_equal(bi.body, r->body, r->body_len);
        assert_int_equal(bi.n_events, r->events_added);
    }
    hl_engine_free(e); /* crash */

    /* rebuild: same endpoints, batches in creation order */
    struct mem_store *s2 = calloc(1, sizeof *s2);
    e = engine_with_store(s2, 12);
    add_endpoints(e);
    for (size_t i = 0; i < s->n; i++) {
        struct rec *r = &s->recs[i];
        if (r->removed)
            continue;
        hl_batch_info bi = r->info;
        bi.batch_id = r->id;
        bi.endpoint_id = r->endpoint_id;
        bi.ordering_key = r->has_key ? r->key : NULL;
        bi.body = r->body;
        bi.body_len = r->body_len;
        bi.n_events = (uint32_t)r->events_added;
        bi.dead_reason = r->dead_reason[0] ? r->dead_reason : NULL;
        assert_int_equal(hl_engine_restore_batch(e, &bi, T0 + SEC, NULL), HL_OK);
        assert_int_equal(hl_engine_restore_batch(e, &bi, T0 + SEC, NULL), HL_E_BATCH_EXISTS);
    }
    assert_int_equal(s2->n, 0); /* restoring is not echoed to the store */
    hl_batch_info lbi;
    assert_int_equal(hl_engine_batch_get(e, lost, &lbi, NULL), HL_OK);
    assert_int_equal(lbi.state, HL_BATCH_QUEUED); /* in flight comes back due */
    assert_int_equal(lbi.attempts, 1);

    /* deliver everything; every batch id sent was one the store knew */
    int events = 0;
    uint64_t now = T0 + SEC;
    for (int guard = 0; guard < 1000; guard++) {
        a = next(e, now);
        if (a.kind == HL_ACTION_IDLE)
            break;
        if (a.kind == HL_ACTION_WAIT) {
            now = a.at_ms;
            continue;
        }
        struct rec *r = find(s, a.batch_id, 0);
        if (!r) /* a batch created after the restart */
            r = find(s2, a.batch_id, 0);
        assert_non_null(r);
        if (find(s, a.batch_id, 0)) {
            assert_int_equal(a.body_len, r->body_len);
            assert_memory_equal(a.body, r->body, r->body_len);
        }
        events += (int)a.n_events;
        assert_int_equal(report(e, a.batch_id, 200, HL_FAILURE_NONE, NULL, now), HL_OK);
    }
    /* the batch delivered before the crash had 3 events of "a" */
    assert_int_equal(events + 3, enqueued_a + enqueued_k);
    hl_engine_stats st;
    hl_engine_stats_get(e, &st);
    assert_int_equal(st.pending_events, 0);
    hl_engine_free(e);
    free_store(s);
    free_store(s2);
    free(s);
    free(s2);
}

static void test_store_failure_stops_engine(void **state)
{
    (void)state;
    struct mem_store *s = calloc(1, sizeof *s);
    s->fail_after = 3;
    hl_engine *e = engine_with_store(s, 1);
    hl_endpoint_options o = ep_opts("https://a/");
    o.linger_ms = 0;
    add_ep(e, "a", &o, T0);
    hl_event ev = HL_EVENT_INIT;
    ev.type = "t";
    hl_error err = HL_ERROR_INIT;
    hl_code rc = HL_OK;
    for (int i = 0; i < 5 && rc == HL_OK; i++)
        rc = hl_engine_enqueue(e, &ev, T0, NULL, NULL, 0, &err);
    assert_int_equal(rc, HL_E_STORE);
    assert_int_equal(hl_engine_enqueue(e, &ev, T0, NULL, NULL, 0, &err), HL_E_ENGINE_FAILED);
    hl_action a;
    assert_int_equal(hl_engine_next_action(e, T0, &a, &err), HL_E_ENGINE_FAILED);
    assert_non_null(strstr(err.message, "rebuild"));
    hl_engine_free(e);
    free_store(s);
    free(s);
}

static void test_restore_dead_letter_and_free_with_timers(void **state)
{
    (void)state;
    hl_engine *e = new_engine(3);
    const char *body = "[{\"id\":\"e1\",\"type\":\"t\",\"created_at\":\"x\",\"data\":null}]";
    hl_batch_info bi = {0};
    bi.batch_id = "bat_restoreddead";
    bi.endpoint_id = "gone-endpoint";
    bi.state = HL_BATCH_DEAD_LETTERED;
    bi.body = body;
    bi.body_len = strlen(body);
    bi.n_events = 1;
    bi.created_ms = T0;
    bi.deadline_ms = T0 + 8 * HOUR;
    bi.attempts = 7;
    bi.dead_reason = "deadline";
    assert_int_equal(hl_engine_restore_batch(e, &bi, T0 + 9 * HOUR, NULL), HL_OK);
    assert_int_equal(hl_engine_dead_letter_count(e), 1);
    hl_engine_stats st;
    hl_engine_stats_get(e, &st);
    assert_int_equal(st.pending_events, 0);
    assert_int_equal(st.pending_body_bytes, 0);
    hl_batch_info got;
    assert_int_equal(hl_engine_batch_get(e, "bat_restoreddead", &got, NULL), HL_OK);
    assert_string_equal(got.dead_reason, "deadline");
    assert_int_equal(hl_engine_redrive(e, "bat_restoreddead", T0 + 9 * HOUR, NULL),
                     HL_E_ENDPOINT_UNKNOWN);
    /* a live batch needs its endpoint */
    bi.state = HL_BATCH_QUEUED;
    bi.batch_id = "bat_other";
    assert_int_equal(hl_engine_restore_batch(e, &bi, T0, NULL), HL_E_ENDPOINT_UNKNOWN);
    bi.body = "not json";
    bi.body_len = 8;
    assert_int_equal(hl_engine_restore_batch(e, &bi, T0, NULL), HL_E_INVALID_ARGUMENT);
    /* the endpoint comes back: redrive delivers the same bytes */
    hl_endpoint_options o = ep_opts("https://back/");
    o.breaker_min_attempts = 1;
    add_ep(e, "gone-endpoint", &o, T0 + 9 * HOUR);
    /* persisted "gone" state is given back, then lifted */
    assert_int_equal(hl_endpoint_set_disabled(e, "gone-endpoint", HL_DISABLED_GONE, T0, NULL),
                     HL_OK);
    hl_endpoint_info info;
    hl_endpoint_info_get(e, "gone-endpoint", &info, NULL);
    assert_int_equal(info.disabled, HL_DISABLED_GONE);
    assert_int_equal(hl_endpoint_set_disabled(e, "gone-endpoint", (hl_disabled_reason)9, T0, NULL),
                     HL_E_INVALID_ARGUMENT);
    assert_int_equal(hl_endpoint_set_disabled(e, "gone-endpoint", HL_DISABLED_NONE, T0, NULL),
                     HL_OK);
    assert_int_equal(hl_engine_redrive(e, "bat_restoreddead", T0 + 9 * HOUR, NULL), HL_OK);
    hl_action a = next(e, T0 + 9 * HOUR);
    assert_int_equal(a.kind, HL_ACTION_SEND);
    assert_string_equal(a.batch_id, "bat_restoreddead");
    assert_memory_equal(a.body, body, a.body_len);
    /* leave timers armed (breaker wake-up, deadline) and free: no leaks, no
     * use after free */
    assert_int_equal(report(e, a.batch_id, 500, HL_FAILURE_NONE, NULL, T0 + 9 * HOUR), HL_OK);
    enqueue(e, "t", NULL, T0 + 9 * HOUR);
    hl_engine_flush(e, T0 + 9 * HOUR, NULL);
    a = next(e, T0 + 9 * HOUR + 1);
    assert_int_equal(a.kind, HL_ACTION_WAIT);
    hl_engine_free(e);
}

/* Releasing an endpoint drops it and its batches from memory only: no
 * store call, counters back to zero, and the store's copy restores into
 * another engine (how a PostgreSQL worker hands an endpoint over). */
static void test_release_endpoint(void **state)
{
    (void)state;
    struct mem_store *s = calloc(1, sizeof *s);
    hl_engine *e = engine_with_store(s, 21);
    add_endpoints(e);
    hl_event ev = HL_EVENT_INIT;
    ev.type = "k.x";
    ev.ordering_key = "key1";
    for (int i = 0; i < 5; i++) /* k: ordered batches (one queued, others held/open) */
        assert_int_equal(hl_engine_enqueue(e, &ev, T0, NULL, NULL, 0, NULL), HL_OK);
    ev.ordering_key = NULL;
    ev.type = "a.y";
    assert_int_equal(hl_engine_enqueue(e, &ev, T0, NULL, NULL, 0, NULL), HL_OK);
    hl_action a = next(e, T0 + 2 * SEC);
    assert_int_equal(a.kind, HL_ACTION_SEND);
    /* in flight: refused */
    assert_int_equal(hl_endpoint_release(e, a.endpoint_id, NULL), HL_E_BATCH_STATE);
    char sent_to[8];
    strcpy(sent_to, a.endpoint_id);
    assert_int_equal(report(e, a.batch_id, 200, HL_FAILURE_NONE, NULL, T0 + 2 * SEC), HL_OK);
    int changes = s->changes, begins = s->begins;
    size_t n = s->n;
    assert_int_equal(hl_endpoint_release(e, "k", NULL), HL_OK);
    assert_int_equal(hl_endpoint_release(e, "k", NULL), HL_E_ENDPOINT_UNKNOWN);
    assert_int_equal(s->changes, changes);
    assert_int_equal(s->begins, begins);
    assert_int_equal(s->n, n);
    hl_engine_stats st;
    hl_engine_stats_get(e, &st);
    assert_int_equal(st.endpoints, 1);
    /* only "a"'s batches are left, and the counters agree with its info */
    hl_endpoint_info ai;
    assert_int_equal(hl_endpoint_info_get(e, "a", &ai, NULL), HL_OK);
    size_t left = 0;
    for (int i = 0; i < HL_BATCH__SENTINEL; i++)
        left += st.batches[i];
    assert_int_equal(left, ai.pending_batches);
    (void)sent_to;
    /* a dead letter of the released endpoint goes too */
    hl_endpoint_options o = ep_opts("https://d/");
    add_ep(e, "d", &o, T0);
    assert_int_equal(hl_engine_enqueue_to(e, "d", &ev, T0, NULL, 0, NULL), HL_OK);
    assert_int_equal(hl_endpoint_remove(e, "d", T0, NULL), HL_OK); /* dead-letters it */
    assert_int_equal(hl_engine_dead_letter_count(e), 1);
    add_ep(e, "d", &o, T0);
    assert_int_equal(hl_endpoint_release(e, "d", NULL), HL_OK);
    assert_int_equal(hl_engine_dead_letter_count(e), 0);
    /* the released endpoint's rows restore elsewhere */
    hl_engine *e2 = new_engine(5);
    hl_endpoint_options k = ep_opts("https://k/");
    k.ordering = HL_ORDERING_KEY;
    add_ep(e2, "k", &k, T0);
    size_t restored = 0;
    for (size_t i = 0; i < s->n; i++) {
        struct rec *r = &s->recs[i];
        if (r->removed || strcmp(r->endpoint_id, "k") != 0)
            continue;
        hl_batch_info bi = r->info;
        bi.batch_id = r->id;
        bi.endpoint_id = r->endpoint_id;
        bi.ordering_key = r->has_key ? r->key : NULL;
        bi.body = r->body;
        bi.body_len = r->body_len;
        bi.dead_reason = NULL;
        assert_int_equal(hl_engine_restore_batch(e2, &bi, T0 + 3 * SEC, NULL), HL_OK);
        restored++;
    }
    assert_true(restored >= 2);
    hl_engine_free(e2);
    hl_engine_free(e);
    free_store(s);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crash_and_restore),
        cmocka_unit_test(test_store_failure_stops_engine),
        cmocka_unit_test(test_restore_dead_letter_and_free_with_timers),
        cmocka_unit_test(test_release_endpoint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
