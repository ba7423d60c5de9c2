/* test_outbox.c - the SQLite outbox as the engine's store: many events in
 * one transaction, a crash and a restore that gives back the same batches
 * (open ones included), retention, and storage failures (corrupt, read-only,
 * full) that leave the file consistent. */
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine_test_util.h"
#include "hookline/outbox.h"

static char dir[64];

static int setup_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/hl_outbox_test_XXXXXX");
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int remove_dir(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *path_of(const char *name)
{
    static char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

static hl_outbox *open_ob(const char *name, const hl_outbox_options *o)
{
    hl_outbox *ob = NULL;
    hl_error err = HL_ERROR_INIT;
    if (hl_outbox_open(&ob, path_of(name), o, &err) != HL_OK)
        fail_msg("open %s: %s", name, err.message);
    return ob;
}

static hl_engine *engine_on(hl_outbox *ob, uint64_t seed)
{
    hl_engine_options eo = HL_ENGINE_OPTIONS_INIT;
    hl_engine *e = NULL;
    eo.seed = seed;
    eo.store = hl_outbox_store(ob);
    assert_int_equal(hl_engine_new(&e, &eo, NULL), HL_OK);
    return e;
}

/* Register an endpoint in the file and in the engine, as the worker does. */
static void add_endpoint(hl_outbox *ob, hl_engine *e, const char *id, const char *json)
{
    hl_endpoint_config *cfg = NULL;
    hl_error err = HL_ERROR_INIT;
    if (hl_endpoint_config_parse(&cfg, json, strlen(json), &err) != HL_OK)
        fail_msg("config: %s", err.message);
    assert_int_equal(hl_outbox_endpoint_put(ob, id, cfg, T0, &err), HL_OK);
    add_ep(e, id, hl_endpoint_config_engine(cfg), T0);
    hl_endpoint_config_free(cfg);
}

static int restored_endpoints;

static int on_restore(void *user, const char *id, const hl_endpoint_config *cfg)
{
    (void)user;
    assert_non_null(hl_endpoint_config_delivery(cfg));
    assert_true(strlen(id) > 0);
    restored_endpoints++;
    return 0;
}

static hl_engine *reopen(hl_outbox *ob, uint64_t seed, uint64_t now, size_t *n)
{
    hl_engine *e = engine_on(ob, seed);
    hl_error err = HL_ERROR_INIT;
    restored_endpoints = 0;
    if (hl_outbox_restore(ob, e, now, on_restore, NULL, n, &err) != HL_OK)
        fail_msg("restore: %s", err.message);
    return e;
}

static void test_many_events_one_transaction(void **state)
{
    (void)state;
    hl_outbox_options o = HL_OUTBOX_OPTIONS_INIT;
    o.synchronous = HL_OUTBOX_SYNC_NORMAL;
    hl_outbox *ob = open_ob("many.db", &o);
    hl_engine *e = engine_on(ob, 1);
    add_endpoint(ob, e, "a", "{\"url\":\"https://a.example/\",\"batch\":{\"max_events\":100}}");
    assert_int_equal(hl_outbox_begin(ob, NULL), HL_OK);
    for (int i = 0; i < 2050; i++)
        enqueue(e, "email.outbound.sent", "{\"n\":1}", T0);
    assert_int_equal(hl_outbox_commit(ob, NULL), HL_OK);
    hl_outbox_counts c;
    assert_int_equal(hl_outbox_counts_get(ob, &c, NULL), HL_OK);
    assert_int_equal(c.batches[HL_BATCH_QUEUED], 20);
    assert_int_equal(c.batches[HL_BATCH_OPEN], 1);
    assert_int_equal(c.open_events, 50); /* closed batches keep no event rows */
    assert_int_equal(c.endpoints, 1);
    /* a second handle sees it all committed */
    hl_outbox *ob2 = open_ob("many.db", NULL);
    assert_int_equal(hl_outbox_counts_get(ob2, &c, NULL), HL_OK);
    assert_int_equal(c.batches[HL_BATCH_QUEUED], 20);
    hl_outbox_close(ob2);
    hl_engine_free(e);
    hl_outbox_close(ob);
}

/* hl_outbox_begin_lazy: commits like begin (visible to another handle),
 * nests inside a normal transaction, rolls back, and leaves the handle
 * usable for normal (synced) transactions afterwards. */
static void test_lazy_transactions(void **state)
{
    (void)state;
    hl_outbox *ob = open_ob("lazy.db", NULL); /* SYNC_FULL */
    hl_engine *e = engine_on(ob, 2);
    hl_outbox_counts c;
    add_endpoint(ob, e, "a", "{\"url\":\"https://a.example/\",\"batch\":{\"max_events\":10}}");
    assert_int_equal(hl_outbox_begin_lazy(ob, NULL), HL_OK);
    for (int i = 0; i < 10; i++)
        enqueue(e, "email.outbound.sent", "{\"n\":1}", T0);
    assert_int_equal(hl_outbox_commit(ob, NULL), HL_OK);
    /* nested in a normal transaction: one transaction */
    assert_int_equal(hl_outbox_begin(ob, NULL), HL_OK);
    assert_int_equal(hl_outbox_begin_lazy(ob, NULL), HL_OK);
    enqueue(e, "email.outbound.sent", "{\"n\":2}", T0);
    assert_int_equal(hl_outbox_commit(ob, NULL), HL_OK);
    assert_int_equal(hl_outbox_commit(ob, NULL), HL_OK);
    /* a lazy transaction rolled back */
    assert_int_equal(hl_outbox_begin_lazy(ob, NULL), HL_OK);
    hl_outbox_rollback(ob);
    hl_engine_free(e);
    e = reopen(ob, 3, T0, NULL);
    /* then a normal one */
    assert_int_equal(hl_outbox_begin(ob, NULL), HL_OK);
    enqueue(e, "email.outbound.sent", "{\"n\":3}", T0);
    assert_int_equal(hl_outbox_commit(ob, NULL), HL_OK);
    hl_outbox *ob2 = open_ob("lazy.db", NULL);
    assert_int_equal(hl_outbox_counts_get(ob2, &c, NULL), HL_OK);
    assert_int_equal(c.batches[HL_BATCH_QUEUED], 1);
    assert_int_equal(c.batches[HL_BATCH_OPEN], 1);
    assert_int_equal(c.open_events, 2);
    hl_outbox_close(ob2);
    assert_int_equal(hl_outbox_begin_lazy(NULL, NULL), HL_E_INVALID_ARGUMENT);
    hl_engine_free(e);
    hl_outbox_close(ob);
}

/* Event rows are held until the commit (and never written for a batch
 * that closes in the same transaction); reads inside the transaction still
 * see them, and a rollback forgets them. */
static void test_held_event_rows(void **state)
{
    (void)state;
    hl_outbox *ob = open_ob("held.db", NULL);
    hl_engine *e = engine_on(ob, 4);
    hl_outbox_counts c;
    hl_action a;
    char *body = NULL;
    size_t len = 0;
    add_endpoint(ob, e, "a", "{\"url\":\"https://a.example/\",\"batch\":{\"max_events\":4}}");
    assert_int_equal(hl_outbox_begin(ob, NULL), HL_OK);
    for (int i = 0; i < 6; i++) /* one batch closes, one stays open with 2 */
        enqueue(e, "email.outbound.sent", "{\"n\":1}", T0);
    assert_int_equal(hl_outbox_counts_get(ob, &c, NULL), HL_OK);
    assert_int_equal(c.open_events, 2);
    assert_int_equal(c.batches[HL_BATCH_OPEN], 1);
    enqueue(e, "email.outbound.sent", "{\"n\":2}", T0);
    assert_int_equal(hl_outbox_commit(ob, NULL), HL_OK);
    assert_int_equal(hl_outbox_counts_get(ob, &c, NULL), HL_OK);
    assert_int_equal(c.open_events, 3);
    a = next(e, T0);
    assert_int_equal(a.kind, HL_ACTION_SEND);
    assert_int_equal(hl_outbox_batch_body(ob, a.batch_id, &body, &len, NULL), HL_OK);
    assert_int_equal(len, a.body_len);
    free(body);
    /* rolled back: the held rows go with the transaction */
    assert_int_equal(hl_outbox_begin(ob, NULL), HL_OK);
    enqueue(e, "email.outbound.sent", "{\"n\":3}", T0);
    hl_outbox_rollback(ob);
    hl_engine_free(e);
    size_t n = 0;
    e = reopen(ob, 5, T0, &n);
    assert_int_equal(hl_outbox_counts_get(ob, &c, NULL), HL_OK);
    assert_int_equal(c.open_events, 3);
    hl_engine_stats st;
    hl_engine_stats_get(e, &st);
    assert_int_equal(st.pending_events, 7);
    hl_engine_free(e);
    hl_outbox_close(ob);
}

/* Compare every batch of `a` with the same id in `b`. */
static void same_batches(hl_engine *a, hl_engine *b, const char *const *ids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        hl_batch_info x, y;
        assert_int_equal(hl_engine_batch_get(a, ids[i], &x, NULL), HL_OK);
        assert_int_equal(hl_engine_batch_get(b, ids[i], &y, NULL), HL_OK);
        assert_string_equal(x.endpoint_id, y.endpoint_id);
        assert_int_equal(x.body_len, y.body_len);
        assert_memory_equal(x.body, y.body, x.body_len);
        assert_int_equal(x.n_events, y.n_events);
        assert_int_equal(x.deadline_ms, y.deadline_ms);
        assert_int_equal(x.created_ms, y.created_ms);
        assert_int_equal(x.attempts, y.attempts);
        assert_int_equal(x.total_attempts, y.total_attempts);
        if (x.state == HL_BATCH_IN_FLIGHT)
            assert_int_equal(y.state, HL_BATCH_QUEUED);
        else
            assert_int_equal(x.state, y.state);
        if (x.state == HL_BATCH_RETRY_WAIT)
            assert_int_equal(x.next_attempt_ms, y.next_attempt_ms);
        if (x.ordering_key)
            assert_string_equal(x.ordering_key, y.ordering_key);
        else
            assert_null(y.ordering_key);
        if (x.dead_reason)
            assert_string_equal(x.dead_reason, y.dead_reason);
    }
}

#define MAX_IDS 64

static void test_crash_restores_identically(void **state)
{
    (void)state;
    hl_outbox *ob = open_ob("crash.db", NULL);
    hl_engine *e = engine_on(ob, 7);
    add_endpoint(ob, e, "a",
                 "{\"url\":\"https://a.example/\",\"batch\":{\"max_events\":3,\"linger_ms\":60000},"
                 "\"retry\":{\"jitter_pct\":0,\"deadline_ms\":3600000}}");
    add_endpoint(ob, e, "k",
                 "{\"url\":\"https://k.example/\",\"events\":[\"k.*\"],\"ordering\":\"key\","
                 "\"batch\":{\"max_events\":2}}");
    add_endpoint(ob, e, "g", "{\"url\":\"https://g.example/\",\"events\":[\"g\"]}");
    hl_event ev = HL_EVENT_INIT;
    for (int i = 0; i < 14; i++) {
        ev.type = i % 2 ? "k.x" : "t";
        ev.ordering_key = i % 4 == 1 ? "key1" : "key2";
        assert_int_equal(hl_engine_enqueue(e, &ev, T0, NULL, NULL, 0, NULL), HL_OK);
    }
    enqueue(e, "g", NULL, T0);
    hl_engine_flush(e, T0, NULL);
    enqueue(e, "t", "{\"open\":true}", T0); /* stays open on "a" */
    /* delivered, retrying, in flight (outcome lost), gone endpoint */
    char delivered[HL_BATCH_ID_MAX] = "", lost[HL_BATCH_ID_MAX] = "";
    int sends = 0;
    hl_action a;
    for (int guard = 0; guard < 40; guard++) {
        a = next(e, T0);
        if (a.kind != HL_ACTION_SEND)
            break;
        int status = 500;
        if (strcmp(a.endpoint_id, "g") == 0) {
            status = 410;
        } else if (sends++ == 0) {
            status = 200;
            strcpy(delivered, a.batch_id);
        } else if (!lost[0]) {
            strcpy(lost, a.batch_id); /* the "crash" loses its outcome */
            continue;
        }
        assert_int_equal(report(e, a.batch_id, status, HL_FAILURE_NONE, NULL, T0), HL_OK);
    }
    assert_true(delivered[0] && lost[0]);
    hl_endpoint_info info;
    assert_int_equal(hl_endpoint_info_get(e, "g", &info, NULL), HL_OK);
    assert_int_equal(info.disabled, HL_DISABLED_GONE);
    assert_int_equal(hl_endpoint_disable(e, "k", T0, NULL), HL_OK);

    /* everything the engine knows, by id */
    const char *ids[MAX_IDS];
    char idbuf[MAX_IDS][HL_BATCH_ID_MAX];
    size_t n_ids = 0;
    hl_outbox_counts c;
    assert_int_equal(hl_outbox_counts_get(ob, &c, NULL), HL_OK);
    assert_int_equal(c.batches[HL_BATCH_DELIVERED], 1);
    size_t live = 0;
    for (int s = 0; s < HL_BATCH__SENTINEL; s++)
        if (s != HL_BATCH_DELIVERED)
            live += c.batches[s];
    {
        sqlite3 *db;
        sqlite3_stmt *st;
        assert_int_equal(sqlite3_open(path_of("crash.db"), &db), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, "SELECT id FROM hl_batches WHERE state <> 5", -1,
                                            &st, NULL),
                         SQLITE_OK);
        while (sqlite3_step(st) == SQLITE_ROW && n_ids < MAX_IDS) {
            snprintf(idbuf[n_ids], HL_BATCH_ID_MAX, "%s", sqlite3_column_text(st, 0));
            ids[n_ids] = idbuf[n_ids];
            n_ids++;
        }
        sqlite3_finalize(st);
        sqlite3_close(db);
    }
    assert_int_equal(n_ids, live);
    hl_engine_stats st1;
    hl_engine_stats_get(e, &st1);

    /* "crash": the engine vanishes with a batch in flight; reopen the file */
    hl_outbox_close(ob);
    ob = open_ob("crash.db", NULL);
    size_t restored = 0;
    hl_engine *e2 = reopen(ob, 8, T0 + SEC, &restored);
    assert_int_equal(restored, live);
    assert_int_equal(restored_endpoints, 3);
    same_batches(e, e2, ids, n_ids);
    hl_engine_stats st2;
    hl_engine_stats_get(e2, &st2);
    assert_int_equal(st2.pending_events, st1.pending_events);
    assert_int_equal(st2.batches[HL_BATCH_OPEN], st1.batches[HL_BATCH_OPEN]);
    assert_int_equal(hl_endpoint_info_get(e2, "g", &info, NULL), HL_OK);
    assert_int_equal(info.disabled, HL_DISABLED_GONE);
    assert_int_equal(hl_endpoint_info_get(e2, "k", &info, NULL), HL_OK);
    assert_int_equal(info.disabled, HL_DISABLED_USER);
    hl_batch_info bi;
    assert_int_equal(hl_engine_batch_get(e2, lost, &bi, NULL), HL_OK);
    assert_int_equal(bi.state, HL_BATCH_QUEUED);
    /* the delivered batch is not resent, but its status is kept */
    assert_int_equal(hl_engine_batch_get(e2, delivered, &bi, NULL), HL_E_BATCH_UNKNOWN);
    hl_outbox_batch ob_b;
    assert_int_equal(hl_outbox_batch_get(ob, delivered, &ob_b, NULL), HL_OK);
    assert_int_equal(ob_b.state, HL_BATCH_DELIVERED);
    assert_int_equal(ob_b.n_events, 3);
    assert_true(ob_b.settled_ms >= T0);
    char *body = NULL;
    size_t blen = 0;
    assert_int_equal(hl_outbox_batch_body(ob, delivered, &body, &blen, NULL), HL_E_BATCH_UNKNOWN);
    assert_int_equal(hl_outbox_batch_body(ob, lost, &body, &blen, NULL), HL_OK);
    assert_int_equal(blen, bi.body_len);
    free(body);

    /* a restored engine carries on: everything on a and k delivers once */
    hl_endpoint_enable(e2, "k", T0 + SEC, NULL);
    uint64_t now = T0 + SEC;
    for (int guard = 0; guard < 200; guard++) {
        a = next(e2, now);
        if (a.kind == HL_ACTION_IDLE)
            break;
        if (a.kind == HL_ACTION_WAIT) {
            now = a.at_ms;
            continue;
        }
        assert_string_not_equal(a.batch_id, delivered);
        assert_int_equal(report(e2, a.batch_id, strcmp(a.endpoint_id, "g") ? 200 : 410,
                                HL_FAILURE_NONE, NULL, now),
                         HL_OK);
    }
    hl_engine_stats_get(e2, &st2);
    assert_int_equal(st2.batches[HL_BATCH_QUEUED] + st2.batches[HL_BATCH_OPEN] +
                         st2.batches[HL_BATCH_IN_FLIGHT],
                     0);
    hl_engine_free(e);
    hl_engine_free(e2);
    hl_outbox_close(ob);
}

static void test_open_batch_survives_restart(void **state)
{
    (void)state;
    hl_outbox *ob = open_ob("open.db", NULL);
    hl_engine *e = engine_on(ob, 3);
    add_endpoint(ob, e, "a", "{\"url\":\"https://a.example/\",\"batch\":{\"linger_ms\":60000}}");
    char id0[64];
    hl_event ev = HL_EVENT_INIT;
    ev.type = "t";
    assert_int_equal(hl_engine_enqueue(e, &ev, T0, NULL, id0, sizeof id0, NULL), HL_OK);
    enqueue(e, "t", "[1,2]", T0);
    enqueue(e, "t", "\"x\"", T0);
    hl_batch_info bi;
    hl_action a = next(e, T0);
    assert_int_equal(a.kind, HL_ACTION_WAIT);
    hl_engine_free(e); /* crash */
    hl_outbox_close(ob);

    ob = open_ob("open.db", NULL);
    size_t n = 0;
    e = reopen(ob, 4, T0 + SEC, &n);
    assert_int_equal(n, 1);
    hl_engine_stats st;
    hl_engine_stats_get(e, &st);
    assert_int_equal(st.batches[HL_BATCH_OPEN], 1);
    assert_int_equal(st.pending_events, 3);
    enqueue(e, "t", NULL, T0 + SEC); /* joins the same open batch */
    hl_engine_flush(e, T0 + SEC, NULL);
    a = next(e, T0 + SEC);
    assert_int_equal(a.kind, HL_ACTION_SEND);
    assert_int_equal(a.n_events, 4);
    assert_non_null(strstr(a.body, id0));
    assert_non_null(strstr(a.body, "[1,2]"));
    assert_int_equal(hl_engine_batch_get(e, a.batch_id, &bi, NULL), HL_OK);
    assert_int_equal(bi.created_ms, T0);
    assert_int_equal(bi.deadline_ms, T0 + 8 * HOUR);
    hl_outbox_batch ob_b;
    assert_int_equal(hl_outbox_batch_get(ob, a.batch_id, &ob_b, NULL), HL_OK);
    assert_int_equal(ob_b.state, HL_BATCH_IN_FLIGHT);
    assert_int_equal(ob_b.n_events, 4);
    assert_int_equal(ob_b.body_len, a.body_len);
    hl_engine_free(e);
    hl_outbox_close(ob);
}

struct collect {
    int n;
    char last_batch[HL_BATCH_ID_MAX];
    int statuses[16];
};

static int on_attempt(void *user, const hl_attempt_record *r)
{
    struct collect *c = user;
    if (c->n < 16)
        c->statuses[c->n] = r->status;
    c->n++;
    snprintf(c->last_batch, sizeof c->last_batch, "%s", r->batch_id);
    return 0;
}

static int on_dead(void *user, const hl_outbox_batch *b)
{
    struct collect *c = user;
    c->n++;
    snprintf(c->last_batch, sizeof c->last_batch, "%s", b->batch_id);
    assert_string_equal(b->dead_reason, "max_attempts");
    return 0;
}

static void test_attempts_dlq_and_pruning(void **state)
{
    (void)state;
    hl_outbox *ob = open_ob("prune.db", NULL);
    hl_engine *e = engine_on(ob, 5);
    add_endpoint(ob, e, "a",
                 "{\"url\":\"https://a.example/\",\"batch\":{\"linger_ms\":0},"
                 "\"retry\":{\"max_attempts\":2,\"schedule_ms\":[1000]},"
                 "\"breaker\":{\"min_attempts\":1000}}");
    add_endpoint(ob, e, "b", "{\"url\":\"https://b.example/\",\"batch\":{\"linger_ms\":0}}");
    enqueue(e, "t", NULL, T0);
    uint64_t now = T0;
    char dead[HL_BATCH_ID_MAX] = "";
    for (int guard = 0; guard < 20; guard++) {
        hl_action a = next(e, now);
        if (a.kind == HL_ACTION_IDLE)
            break;
        if (a.kind == HL_ACTION_WAIT) {
            now = a.at_ms;
            continue;
        }
        int fail = strcmp(a.endpoint_id, "a") == 0;
        if (fail)
            snprintf(dead, sizeof dead, "%s", a.batch_id);
        assert_int_equal(report(e, a.batch_id, fail ? 500 : 200, HL_FAILURE_NONE, NULL, now),
                         HL_OK);
    }
    struct collect c = {0};
    hl_outbox_attempt_query q = HL_OUTBOX_ATTEMPT_QUERY_INIT;
    assert_int_equal(hl_outbox_attempts(ob, &q, on_attempt, &c, NULL), HL_OK);
    assert_int_equal(c.n, 3);
    memset(&c, 0, sizeof c);
    q.endpoint_id = "a";
    q.newest_first = 1;
    q.limit = 1;
    assert_int_equal(hl_outbox_attempts(ob, &q, on_attempt, &c, NULL), HL_OK);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.last_batch, dead);
    memset(&c, 0, sizeof c);
    q = (hl_outbox_attempt_query)HL_OUTBOX_ATTEMPT_QUERY_INIT;
    q.batch_id = dead;
    assert_int_equal(hl_outbox_attempts(ob, &q, on_attempt, &c, NULL), HL_OK);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.statuses[1], 500);

    memset(&c, 0, sizeof c);
    size_t total = 0;
    assert_int_equal(hl_outbox_dead_letters(ob, NULL, 0, 0, on_dead, &c, &total, NULL), HL_OK);
    assert_int_equal(total, 1);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.last_batch, dead);
    assert_int_equal(hl_outbox_dead_letters(ob, "b", 0, 0, on_dead, &c, &total, NULL), HL_OK);
    assert_int_equal(total, 0);

    /* a redrive is persisted; a purge forgets it in the file */
    assert_int_equal(hl_engine_redrive(e, dead, now, NULL), HL_OK);
    hl_outbox_batch b;
    assert_int_equal(hl_outbox_batch_get(ob, dead, &b, NULL), HL_OK);
    assert_int_equal(b.state, HL_BATCH_QUEUED);
    assert_int_equal(b.redrives, 1);
    hl_action a = next(e, now);
    assert_int_equal(report(e, a.batch_id, 500, HL_FAILURE_NONE, NULL, now), HL_OK);
    a = next(e, now + 2000);
    assert_int_equal(report(e, a.batch_id, 500, HL_FAILURE_NONE, NULL, now + 2000), HL_OK);
    assert_int_equal(hl_outbox_batch_get(ob, dead, &b, NULL), HL_OK);
    assert_int_equal(b.state, HL_BATCH_DEAD_LETTERED);
    assert_int_equal(hl_engine_purge(e, dead, NULL), HL_OK);
    assert_int_equal(hl_outbox_batch_get(ob, dead, &b, NULL), HL_E_BATCH_UNKNOWN);

    /* retention: attempts and delivered status go after 24 h, not before */
    size_t pruned = 99;
    assert_int_equal(hl_outbox_prune(ob, now + HOUR, &pruned, NULL), HL_OK);
    assert_int_equal(pruned, 0);
    hl_outbox_counts counts;
    assert_int_equal(hl_outbox_counts_get(ob, &counts, NULL), HL_OK);
    assert_int_equal(counts.attempts, 5);
    assert_int_equal(counts.batches[HL_BATCH_DELIVERED], 1);
    assert_int_equal(hl_outbox_prune(ob, now + 25 * HOUR, &pruned, NULL), HL_OK);
    assert_int_equal(pruned, 6);
    assert_int_equal(hl_outbox_counts_get(ob, &counts, NULL), HL_OK);
    assert_int_equal(counts.attempts, 0);
    assert_int_equal(counts.batches[HL_BATCH_DELIVERED], 0);
    hl_engine_free(e);
    hl_outbox_close(ob);
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void test_bad_files(void **state)
{
    (void)state;
    hl_outbox *ob = NULL;
    hl_error err = HL_ERROR_INIT;
    char junk[8192];
    memset(junk, 'x', sizeof junk);
    write_file(path_of("junk.db"), junk, sizeof junk);
    assert_int_equal(hl_outbox_open(&ob, path_of("junk.db"), NULL, &err), HL_E_STORE_CORRUPT);
    assert_null(ob);
    assert_int_equal(hl_outbox_open(&ob, "/nonexistent-dir/x.db", NULL, &err), HL_E_STORE_IO);
    assert_int_equal(hl_outbox_open(&ob, "", NULL, &err), HL_E_INVALID_ARGUMENT);

    /* a newer schema is refused, not damaged */
    ob = open_ob("newer.db", NULL);
    hl_outbox_close(ob);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path_of("newer.db"), &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "UPDATE hl_outbox_meta SET value = 99", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(hl_outbox_open(&ob, path_of("newer.db"), NULL, &err), HL_E_STORE_SCHEMA);
    assert_non_null(strstr(err.message, "99"));

    /* read-only */
    ob = open_ob("ro.db", NULL);
    hl_outbox_close(ob);
    char cmd[256];
    if (geteuid() != 0) {
        assert_int_equal(chmod(path_of("ro.db"), 0444), 0);
    } else {
        /* Root writes through modes; the immutable attribute stops it. */
        snprintf(cmd, sizeof cmd, "chattr +i '%s' 2>/dev/null", path_of("ro.db"));
        if (system(cmd) != 0) {
            print_message("chattr unavailable: read-only case skipped\n");
            return;
        }
    }
    assert_int_equal(hl_outbox_open(&ob, path_of("ro.db"), NULL, &err), HL_E_STORE_READONLY);
    snprintf(cmd, sizeof cmd, "chattr -i '%s' 2>/dev/null", path_of("ro.db"));
    if (geteuid() == 0 && system(cmd) != 0)
        fail_msg("could not clear the immutable attribute");
    chmod(path_of("ro.db"), 0644);
}

static void test_disk_full_keeps_outbox_consistent(void **state)
{
    (void)state;
    hl_outbox_options o = HL_OUTBOX_OPTIONS_INIT;
    o.max_bytes = 256 * 1024;
    o.synchronous = HL_OUTBOX_SYNC_NORMAL;
    hl_outbox *ob = open_ob("full.db", &o);
    hl_engine *e = engine_on(ob, 9);
    add_endpoint(ob, e, "a", "{\"url\":\"https://a.example/\",\"batch\":{\"max_events\":10}}");
    char data[600];
    memset(data, 'z', sizeof data);
    data[0] = '"';
    data[sizeof data - 1] = '"';
    hl_event ev = HL_EVENT_INIT;
    ev.type = "t";
    ev.data = data;
    ev.data_len = sizeof data;
    hl_error err = HL_ERROR_INIT;
    hl_code rc = HL_OK;
    int ok = 0;
    for (int i = 0; i < 10000 && rc == HL_OK; i++) {
        rc = hl_engine_enqueue(e, &ev, T0, NULL, NULL, 0, &err);
        ok += rc == HL_OK;
    }
    assert_int_equal(rc, HL_E_STORE);
    assert_int_equal(hl_outbox_last_error(ob)->code, HL_E_STORE_NO_SPACE);
    assert_string_equal(hl_code_name(hl_outbox_last_error(ob)->code), "store_no_space");
    assert_true(ok > 50);
    assert_int_equal(hl_engine_enqueue(e, &ev, T0, NULL, NULL, 0, NULL), HL_E_ENGINE_FAILED);
    hl_engine_free(e);

    /* rebuild from the file: exactly the acknowledged events are there */
    hl_outbox_rollback(ob);
    size_t n = 0;
    e = reopen(ob, 10, T0, &n);
    hl_engine_stats st;
    hl_engine_stats_get(e, &st);
    assert_int_equal(st.pending_events, (size_t)ok);
    hl_engine_free(e);
    hl_outbox_close(ob);
    /* and a fresh handle agrees */
    ob = open_ob("full.db", &o);
    e = reopen(ob, 11, T0, &n);
    hl_engine_stats_get(e, &st);
    assert_int_equal(st.pending_events, (size_t)ok);
    hl_engine_free(e);
    hl_outbox_close(ob);
}

static void test_endpoint_rows(void **state)
{
    (void)state;
    hl_outbox *ob = open_ob("ep.db", NULL);
    hl_endpoint_config *cfg = NULL, *got = NULL;
    const char *json = "{\"url\":\"https://a.example/\",\"active\":false,\"secrets\":[{\"secret\":"
                       "\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"}]}";
    assert_int_equal(hl_endpoint_config_parse(&cfg, json, strlen(json), NULL), HL_OK);
    assert_int_equal(hl_outbox_endpoint_put(ob, "x", cfg, T0, NULL), HL_OK);
    hl_disabled_reason why = HL_DISABLED_NONE;
    assert_int_equal(hl_outbox_endpoint_get(ob, "x", &got, &why, NULL), HL_OK);
    assert_int_equal(why, HL_DISABLED_USER);
    assert_string_equal(hl_endpoint_config_delivery(got)->secrets[0].text,
                        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    hl_endpoint_config_free(got);
    assert_int_equal(hl_outbox_endpoint_get(ob, "nope", &got, NULL, NULL), HL_E_ENDPOINT_UNKNOWN);
    assert_int_equal(hl_outbox_endpoint_delete(ob, "x", NULL), HL_OK);
    assert_int_equal(hl_outbox_endpoint_delete(ob, "x", NULL), HL_E_ENDPOINT_UNKNOWN);
    hl_endpoint_config_free(cfg);
    hl_outbox_close(ob);
    hl_outbox_close(NULL);
}

static void test_inbox_submit_and_ingest(void **state)
{
    (void)state;
    /* another process: no engine, just the file */
    hl_outbox *sender = open_ob("inbox.db", NULL);
    hl_outbox *owner = open_ob("inbox.db", NULL);
    hl_engine *e = engine_on(owner, 21);
    add_endpoint(owner, e, "a",
                 "{\"url\":\"https://a.example/\",\"events\":[\"email.*\"],"
                 "\"batch\":{\"max_bytes\":200}}");
    hl_event evs[3] = {HL_EVENT_INIT, HL_EVENT_INIT, HL_EVENT_INIT};
    char ids[3][HL_ENGINE_ID_MAX];
    size_t bad = 99;
    hl_error err = HL_ERROR_INIT;
    evs[0].type = "email.outbound.sent";
    evs[0].data = "{\"to\":\"a@b.example\"}";
    evs[0].data_len = strlen(evs[0].data);
    evs[1].type = "email.outbound.opened";
    evs[1].id = "evt_given";
    evs[2].type = "not a type";
    /* all or nothing: the third is invalid */
    assert_int_equal(hl_outbox_submit(sender, evs, 3, T0, ids, &bad, &err), HL_E_EVENT_INVALID);
    assert_int_equal(bad, 2);
    hl_outbox_counts c;
    assert_int_equal(hl_outbox_counts_get(owner, &c, NULL), HL_OK);
    assert_int_equal(c.inbox, 0);
    /* the third too large for the endpoint: accepted here, rejected at ingestion */
    char big[300];
    memset(big, 'x', sizeof big);
    big[0] = big[sizeof big - 1] = '"';
    evs[2].type = "email.outbound.bounced";
    evs[2].data = big;
    evs[2].data_len = sizeof big;
    assert_int_equal(hl_outbox_submit(sender, evs, 3, T0, ids, &bad, &err), HL_OK);
    assert_string_equal(ids[1], "evt_given");
    assert_true(strncmp(ids[0], "evt_", 4) == 0);
    assert_int_equal(hl_outbox_counts_get(owner, &c, NULL), HL_OK);
    assert_int_equal(c.inbox, 3);

    size_t in = 0, rej = 0;
    assert_int_equal(hl_outbox_ingest(owner, e, T0 + SEC, 0, &in, &rej, &err), HL_OK);
    assert_int_equal(in, 2);
    assert_int_equal(rej, 1);
    assert_int_equal(hl_outbox_counts_get(owner, &c, NULL), HL_OK);
    assert_int_equal(c.inbox, 0);
    assert_int_equal(c.inbox_rejected, 1);
    hl_engine_stats st;
    hl_engine_stats_get(e, &st);
    assert_int_equal(st.pending_events, 2);
    hl_engine_flush(e, T0 + SEC, NULL);
    hl_action a = next(e, T0 + SEC);
    assert_int_equal(a.kind, HL_ACTION_SEND);
    assert_non_null(strstr(a.body, ids[0]));
    assert_non_null(strstr(a.body, "a@b.example"));
    /* nothing left to ingest */
    assert_int_equal(hl_outbox_ingest(owner, e, T0 + SEC, 0, &in, &rej, &err), HL_OK);
    assert_int_equal(in + rej, 0);
    hl_engine_free(e);
    hl_outbox_close(owner);
    hl_outbox_close(sender);
}

static void test_migration_from_v1(void **state)
{
    (void)state;
    hl_outbox *ob = open_ob("v1.db", NULL);
    hl_outbox_close(ob);
    /* make it look like a version 1 file */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path_of("v1.db"), &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "DROP TABLE hl_inbox; DROP TABLE hl_inbox_rejected;"
                                  "DROP TABLE hl_commands;"
                                  "UPDATE hl_outbox_meta SET value = 1",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    ob = open_ob("v1.db", NULL);
    hl_outbox_counts c;
    assert_int_equal(hl_outbox_counts_get(ob, &c, NULL), HL_OK);
    assert_int_equal(c.inbox, 0);
    hl_outbox_close(ob);
    assert_int_equal(sqlite3_open(path_of("v1.db"), &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT value FROM hl_outbox_meta", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), HL_OUTBOX_SCHEMA_VERSION);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_events_one_transaction),
        cmocka_unit_test(test_lazy_transactions),
        cmocka_unit_test(test_held_event_rows),
        cmocka_unit_test(test_crash_restores_identically),
        cmocka_unit_test(test_open_batch_survives_restart),
        cmocka_unit_test(test_attempts_dlq_and_pruning),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_disk_full_keeps_outbox_consistent),
        cmocka_unit_test(test_endpoint_rows),
        cmocka_unit_test(test_inbox_submit_and_ingest),
        cmocka_unit_test(test_migration_from_v1),
    };
    return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
