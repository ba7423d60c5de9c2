/* test_pgbox.c - the PostgreSQL outbox against a real server (started by
 * tests/pg/pg_server.sh as a ctest fixture; its URL in $HL_TEST_PG_DIR/url
 * or $HL_TEST_PG_URL): migration, store round trip and restore, routing,
 * claims, lease expiry and takeover, the lease gate with a controlled
 * clock, fenced writes, commands, pruning, error mapping. */
#include "engine_test_util.h"

#include "hookline/pgbox.h"

#include <libpq-fe.h>

#include <stdio.h>
#include <stdlib.h>

static char URL[512];

static uint64_t clock_a, clock_b; /* the workers' monotonic clocks, advanced by hand */

static uint64_t mono(void *user)
{
    return *(uint64_t *)user;
}

/* Raw SQL for set-up and inspection (the test's own connection). */
static PGresult *sql(const char *q)
{
    static PGconn *c;
    if (c == NULL) {
        c = PQconnectdb(URL);
        assert_int_equal(PQstatus(c), CONNECTION_OK);
        PQclear(PQexec(c, "SET client_min_messages = warning"));
    }
    PGresult *r = PQexec(c, q);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", q, PQresultErrorMessage(r));
    return r;
}

static long long sql_int(const char *q)
{
    PGresult *r = sql(q);
    long long v = PQntuples(r) ? atoll(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return v;
}

static int fresh(void **state)
{
    (void)state;
    PQclear(sql("DROP SCHEMA IF EXISTS hookline CASCADE"));
    assert_int_equal(hl_pg_migrate(URL, NULL, NULL, NULL), HL_OK);
    return 0;
}

static hl_pg *open_pg(const char *worker, uint64_t *clock)
{
    hl_pg_options o = HL_PG_OPTIONS_INIT;
    hl_pg *pg = NULL;
    hl_error err = HL_ERROR_INIT;
    o.worker_id = worker;
    o.lease_ms = 3000;
    o.mono_ms = mono;
    o.mono_user = clock;
    if (hl_pg_open(&pg, URL, &o, &err) != HL_OK)
        fail_msg("open: %s", err.message);
    return pg;
}

static hl_engine *engine_on(hl_pg *pg, uint64_t seed)
{
    hl_engine_options eo = HL_ENGINE_OPTIONS_INIT;
    hl_engine *e = NULL;
    eo.seed = seed;
    eo.store = hl_pg_store(pg);
    assert_int_equal(hl_engine_new(&e, &eo, NULL), HL_OK);
    return e;
}

static void put_endpoint(hl_pg *pg, const char *id, const char *json)
{
    hl_endpoint_config *cfg = NULL;
    hl_error err = HL_ERROR_INIT;
    if (hl_endpoint_config_parse(&cfg, json, strlen(json), &err) != HL_OK)
        fail_msg("config: %s", err.message);
    assert_int_equal(hl_pg_endpoint_put(pg, id, cfg, T0, &err), HL_OK);
    hl_endpoint_config_free(cfg);
}

static hl_pg_sync_result sync_ok(hl_pg *pg, hl_engine *e, uint64_t now)
{
    hl_pg_sync_result res;
    hl_error err = HL_ERROR_INIT;
    if (hl_pg_sync(pg, e, now, NULL, NULL, NULL, &res, &err) != HL_OK)
        fail_msg("sync: %s", err.message);
    return res;
}

static void send_event(hl_pg *pg, const char *type, const char *key, const char *target)
{
    hl_event ev = HL_EVENT_INIT;
    hl_error err = HL_ERROR_INIT;
    ev.type = type;
    ev.data = "{\"n\":1}";
    ev.data_len = 7;
    ev.ordering_key = key;
    if (hl_pg_enqueue(pg, &ev, 1, target, &err) != HL_OK)
        fail_msg("enqueue: %s", err.message);
}

static void route_ingest(hl_pg *pg, hl_engine *e, uint64_t now)
{
    hl_error err = HL_ERROR_INIT;
    if (hl_pg_route(pg, now, 0, NULL, &err) != HL_OK)
        fail_msg("route: %s", err.message);
    if (hl_pg_ingest(pg, e, now, 0, NULL, NULL, &err) != HL_OK)
        fail_msg("ingest: %s", err.message);
}

/* ------------------------------------------------------------------ tests */

static void test_migrate(void **state)
{
    (void)state;
    int from = -1, to = -1;
    hl_error err = HL_ERROR_INIT;
    PQclear(sql("DROP SCHEMA IF EXISTS hookline CASCADE"));
    /* not migrated: open says so */
    hl_pg *pg = NULL;
    assert_int_equal(hl_pg_open(&pg, URL, NULL, &err), HL_E_STORE_SCHEMA);
    assert_non_null(strstr(err.message, "migrate"));
    assert_int_equal(hl_pg_migrate(URL, &from, &to, &err), HL_OK);
    assert_int_equal(from, 0);
    assert_int_equal(to, HL_PG_SCHEMA_VERSION);
    /* idempotent */
    assert_int_equal(hl_pg_migrate(URL, &from, &to, &err), HL_OK);
    assert_int_equal(from, HL_PG_SCHEMA_VERSION);
    assert_int_equal(to, HL_PG_SCHEMA_VERSION);
    assert_int_equal(hl_pg_open(&pg, URL, NULL, &err), HL_OK);
    assert_non_null(strchr(hl_pg_worker_id(pg), ':'));
    hl_pg_close(pg);
    /* a newer schema is refused by both */
    PQclear(sql("UPDATE hookline.meta SET value = 99"));
    assert_int_equal(hl_pg_migrate(URL, NULL, NULL, &err), HL_E_STORE_SCHEMA);
    assert_int_equal(hl_pg_open(&pg, URL, NULL, &err), HL_E_STORE_SCHEMA);
    assert_non_null(strstr(err.message, "newer"));
    assert_true(hl_pg_is_url("postgres://x") && hl_pg_is_url("postgresql://x") &&
                !hl_pg_is_url("/tmp/x.db"));
}

static void test_store_round_trip_and_restore(void **state)
{
    (void)state;
    hl_error err = HL_ERROR_INIT;
    hl_pg *pg = open_pg("A", &clock_a);
    put_endpoint(pg, "a",
                 "{\"url\":\"https://a.example/\",\"batch\":{\"max_events\":3,\"linger_ms\":1000},"
                 "\"retry\":{\"jitter_pct\":0}}");
    assert_int_equal(hl_pg_renew(pg, &err), HL_OK);
    hl_engine *e = engine_on(pg, 7);
    hl_pg_sync_result res = sync_ok(pg, e, T0);
    assert_int_equal(res.claimed, 1);
    assert_int_equal(res.owned, 1);
    for (int i = 0; i < 2; i++)
        send_event(pg, "email.sent", NULL, NULL);
    route_ingest(pg, e, T0);
    assert_int_equal(sql_int("SELECT count(*) FROM hookline.batch_events"), 2);
    assert_int_equal(sql_int("SELECT count(*) FROM hookline.pending"), 0);
    assert_int_equal(sql_int("SELECT count(*) FROM hookline.events"), 0);
    hl_action a = next(e, T0 + 2 * SEC);
    assert_int_equal(a.kind, HL_ACTION_SEND);
    char batch[HL_BATCH_ID_MAX];
    strcpy(batch, a.batch_id);
    char *body = malloc(a.body_len + 1);
    memcpy(body, a.body, a.body_len);
    size_t body_len = a.body_len;
    assert_int_equal(report(e, batch, 500, HL_FAILURE_NONE, NULL, T0 + 2 * SEC), HL_OK);
    hl_outbox_batch row;
    assert_int_equal(hl_pg_batch_get(pg, batch, &row, &err), HL_OK);
    assert_int_equal(row.state, HL_BATCH_RETRY_WAIT);
    assert_int_equal(row.attempts, 1);
    assert_int_equal(row.n_events, 2);
    char *stored = NULL;
    size_t stored_len = 0;
    assert_int_equal(hl_pg_batch_body(pg, batch, &stored, &stored_len, &err), HL_OK);
    assert_int_equal(stored_len, body_len);
    assert_memory_equal(stored, body, body_len);
    free(stored);
    /* one more event in an open batch, then the worker "crashes" */
    send_event(pg, "email.sent", NULL, NULL);
    route_ingest(pg, e, T0 + 3 * SEC);
    hl_engine_free(e);
    hl_pg_rollback(pg);
    /* a new engine: the rows it owns come back */
    e = engine_on(pg, 8);
    res = sync_ok(pg, e, T0 + 4 * SEC);
    assert_int_equal(res.claimed, 1);
    assert_int_equal(res.restored, 2);
    hl_batch_info bi;
    assert_int_equal(hl_engine_batch_get(e, batch, &bi, NULL), HL_OK);
    assert_int_equal(bi.state, HL_BATCH_RETRY_WAIT);
    assert_int_equal(bi.attempts, 1);
    /* the retry: same id, same bytes */
    a = next(e, T0 + 10 * SEC);
    while (a.kind == HL_ACTION_SEND && strcmp(a.batch_id, batch) != 0) {
        assert_int_equal(report(e, a.batch_id, 200, HL_FAILURE_NONE, NULL, T0 + 10 * SEC), HL_OK);
        a = next(e, T0 + 10 * SEC);
    }
    assert_int_equal(a.kind, HL_ACTION_SEND);
    assert_int_equal(a.body_len, body_len);
    assert_memory_equal(a.body, body, body_len);
    assert_int_equal(report(e, batch, 200, HL_FAILURE_NONE, NULL, T0 + 10 * SEC), HL_OK);
    assert_int_equal(hl_pg_batch_get(pg, batch, &row, &err), HL_OK);
    assert_int_equal(row.state, HL_BATCH_DELIVERED);
    assert_int_equal(hl_pg_batch_body(pg, batch, &stored, &stored_len, &err), HL_E_BATCH_UNKNOWN);
    /* the attempt log */
    hl_outbox_counts counts;
    assert_int_equal(hl_pg_counts_get(pg, &counts, &err), HL_OK);
    assert_true(counts.attempts >= 2);
    assert_int_equal(counts.endpoints, 1);
    free(body);
    hl_engine_free(e);
    hl_pg_close(pg);
}

/* Several events in one hl_pg_enqueue: one INSERT whose array literals
 * must carry every byte (quotes, backslashes, braces, only data_len bytes)
 * and keep the events' order. */
static void test_enqueue_many_exact(void **state)
{
    (void)state;
    hl_error err = HL_ERROR_INIT;
    hl_pg *pg = open_pg("A", &clock_a);
    static const char data0[] = "{\"s\":\"q\\\"b\\\\c,{x} NULL\"}TRAILING";
    hl_event ev[3] = {HL_EVENT_INIT, HL_EVENT_INIT, HL_EVENT_INIT};
    ev[0].type = "email.outbound.sent";
    ev[0].data = data0;
    ev[0].data_len = sizeof data0 - 1 - 8; /* not the TRAILING bytes */
    ev[0].id = "evt_m0";
    ev[0].ordering_key = "N,U\"LL}";
    ev[1].type = "domain.verified"; /* no data, no id, no key */
    ev[2].type = "email.outbound.sent";
    ev[2].data = "[1]";
    ev[2].data_len = 3;
    ev[2].id = "evt_m2";
    ev[2].created_at_ms = 1778155200000ULL;
    assert_int_equal(hl_pg_enqueue(pg, ev, 3, "tgt", &err), HL_OK);
    assert_int_equal(sql_int("SELECT count(*) FROM hookline.events WHERE endpoint_id = 'tgt'"), 3);
    assert_int_equal(sql_int("SELECT count(*) FROM hookline.events WHERE event_id = 'evt_m0' AND"
                             " data = '{\"s\":\"q\\\"b\\\\c,{x} NULL\"}' AND"
                             " ordering_key = 'N,U\"LL}'"),
                     1);
    assert_int_equal(sql_int("SELECT count(*) FROM hookline.events WHERE type = 'domain.verified'"
                             " AND data IS NULL AND event_id IS NULL AND ordering_key IS NULL"),
                     1);
    assert_int_equal(sql_int("SELECT (extract(epoch FROM created_at) * 1000)::bigint FROM"
                             " hookline.events WHERE event_id = 'evt_m2'"),
                     1778155200000LL);
    /* ids follow the order given */
    assert_int_equal(sql_int("SELECT count(*) FROM (SELECT event_id, row_number() OVER (ORDER BY"
                             " id) AS k FROM hookline.events) s WHERE (k = 1 AND event_id ="
                             " 'evt_m0') OR (k = 3 AND event_id = 'evt_m2')"),
                     2);
    /* a NUL byte refuses the whole call */
    ev[2].data = "[\0]";
    assert_int_equal(hl_pg_enqueue(pg, ev, 3, NULL, &err), HL_E_EVENT_INVALID);
    assert_int_equal(sql_int("SELECT count(*) FROM hookline.events"), 3);
    hl_pg_close(pg);
}

static void test_routing(void **state)
{
    (void)state;
    hl_error err = HL_ERROR_INIT;
    hl_pg *pg = open_pg("A", &clock_a);
    put_endpoint(pg, "a", "{\"url\":\"https://a.example/\",\"events\":[\"email.*\"]}");
    put_endpoint(pg, "b", "{\"url\":\"https://b.example/\"}");
    put_endpoint(pg, "c", "{\"url\":\"https://c.example/\",\"events\":[\"nothing.*\"]}");
    put_endpoint(pg, "off", "{\"url\":\"https://off.example/\",\"active\":false}");
    send_event(pg, "email.outbound.sent", "k1", NULL);  /* a, b */
    send_event(pg, "domain.verified", NULL, NULL);      /* b */
    send_event(pg, "email.outbound.sent", NULL, "c");   /* c only: targeted */
    send_event(pg, "email.outbound.sent", NULL, "nope"); /* rejected: no such endpoint */
    send_event(pg, "bad type!", NULL, NULL);             /* rejected: invalid type */
    PQclear(sql("INSERT INTO hookline.events (type, data) VALUES ('x.y', '{not json')"));
    size_t routed = 0;
    assert_int_equal(hl_pg_route(pg, T0, 0, &routed, &err), HL_OK);
    assert_int_equal(routed, 6);
    assert_int_equal(sql_int("SELECT count(*) FROM hookline.pending WHERE endpoint_id = 'a'"), 1);
    assert_int_equal(sql_int("SELECT count(*) FROM hookline.pending WHERE endpoint_id = 'b'"), 2);
    assert_int_equal(sql_int("SELECT count(*) FROM hookline.pending WHERE endpoint_id = 'c'"), 1);
    assert_int_equal(sql_int("SELECT count(*) FROM hookline.pending WHERE endpoint_id = 'off'"), 0);
    assert_int_equal(sql_int("SELECT count(*) FROM hookline.rejected"), 3);
    /* the same event id for every copy, generated once */
    assert_int_equal(sql_int("SELECT count(DISTINCT event_id) FROM hookline.pending WHERE"
                             " ordering_key = 'k1'"),
                     1);
    /* through SQL, as an application would, inside its own transaction */
    PQclear(sql("BEGIN"));
    PQclear(sql("SELECT hookline.enqueue('email.outbound.sent', '{\"a\":1}', 'evt_app1')"));
    PQclear(sql("ROLLBACK"));
    PQclear(sql("SELECT hookline.enqueue('email.outbound.sent', '{\"a\":2}', 'evt_app2')"));
    assert_int_equal(hl_pg_route(pg, T0, 0, &routed, &err), HL_OK);
    assert_int_equal(routed, 1);
    assert_int_equal(sql_int("SELECT count(*) FROM hookline.pending WHERE event_id = 'evt_app1'"),
                     0);
    assert_int_equal(sql_int("SELECT count(*) FROM hookline.pending WHERE event_id = 'evt_app2'"),
                     2);
    /* text the routing INSERT's array literals must carry byte for byte:
     * quotes, backslashes, braces, commas, a literal NULL */
    PQclear(sql("SELECT hookline.enqueue('email.outbound.sent', '{\"s\":\"q\\\"b\\\\c,{x} NULL\"}',"
                " 'evt_app3', 'N,U\"LL}')"));
    assert_int_equal(hl_pg_route(pg, T0, 0, &routed, &err), HL_OK);
    assert_int_equal(routed, 1);
    assert_int_equal(sql_int("SELECT count(*) FROM hookline.pending WHERE event_id = 'evt_app3'"
                             " AND data = '{\"s\":\"q\\\"b\\\\c,{x} NULL\"}'"
                             " AND ordering_key = 'N,U\"LL}' AND type = 'email.outbound.sent'"),
                     2);
    /* the owner moves them into its engine */
    assert_int_equal(hl_pg_renew(pg, &err), HL_OK);
    hl_engine *e = engine_on(pg, 3);
    sync_ok(pg, e, T0);
    size_t in = 0, rej = 0;
    assert_int_equal(hl_pg_ingest(pg, e, T0, 0, &in, &rej, &err), HL_OK);
    assert_int_equal(in, 8);
    assert_int_equal(rej, 0);
    assert_int_equal(sql_int("SELECT count(*) FROM hookline.pending"), 0);
    hl_engine_stats st;
    hl_engine_stats_get(e, &st);
    assert_int_equal(st.events_enqueued, 8);
    /* removal: the owner dead-letters its batches and deletes the row */
    assert_int_equal(hl_pg_endpoint_remove(pg, "b", &err), HL_OK);
    assert_int_equal(hl_pg_endpoint_remove(pg, "b", &err), HL_E_ENDPOINT_UNKNOWN);
    hl_pg_sync_result res = sync_ok(pg, e, T0 + SEC);
    assert_int_equal(res.removed, 1);
    assert_int_equal(sql_int("SELECT count(*) FROM hookline.endpoints WHERE id = 'b'"), 0);
    assert_true(sql_int("SELECT count(*) FROM hookline.batches WHERE endpoint_id = 'b' AND"
                        " state = 6") >= 1);
    hl_engine_free(e);
    hl_pg_close(pg);
}

#define EP_JSON "{\"url\":\"https://%s.example/\",\"batch\":{\"linger_ms\":0}}"

static void test_claim_takeover_and_lease_gate(void **state)
{
    (void)state;
    hl_error err = HL_ERROR_INIT;
    char json[128], id[8];
    clock_a = 1000000;
    clock_b = 5000000;
    hl_pg *a = open_pg("A", &clock_a), *b = open_pg("B", &clock_b);
    for (int i = 0; i < 4; i++) {
        snprintf(id, sizeof id, "e%d", i);
        snprintf(json, sizeof json, EP_JSON, id);
        put_endpoint(a, id, json);
    }
    hl_engine *ea = engine_on(a, 1), *eb = engine_on(b, 2);
    /* without a lease a worker claims nothing */
    assert_int_equal(hl_pg_lease_left(a), 0);
    assert_true(hl_pg_renew_due(a));
    assert_int_equal(sync_ok(a, ea, T0).owned, 0);
    assert_int_equal(hl_pg_renew(a, &err), HL_OK);
    assert_int_equal(hl_pg_lease_left(a), 3000);
    assert_false(hl_pg_renew_due(a));
    assert_int_equal(sync_ok(a, ea, T0).claimed, 4);
    /* B arrives: everything is owned under a valid lease */
    assert_int_equal(hl_pg_renew(b, &err), HL_OK);
    assert_int_equal(sync_ok(b, eb, T0).claimed, 0);
    /* A owns more than its share + 1: hands idle endpoints back */
    hl_pg_sync_result r = sync_ok(a, ea, T0);
    assert_int_equal(r.released, 2);
    assert_int_equal(r.owned, 2);
    assert_int_equal(sync_ok(b, eb, T0).claimed, 2);
    assert_int_equal(sql_int("SELECT count(*) FROM hookline.endpoints WHERE owner = 'A'"), 2);
    assert_int_equal(sql_int("SELECT count(*) FROM hookline.endpoints WHERE owner = 'B'"), 2);
    /* work for A's endpoints */
    for (int i = 0; i < 4; i++) {
        snprintf(id, sizeof id, "e%d", i);
        send_event(a, "t.x", NULL, id);
    }
    route_ingest(a, ea, T0);
    route_ingest(b, eb, T0);
    hl_engine_stats st;
    hl_engine_stats_get(ea, &st);
    assert_int_equal(st.events_enqueued, 2);
    /* the lease gate: time passes on A's clock; what is left shrinks */
    clock_a += 1500;
    assert_int_equal(hl_pg_lease_left(a), 1500);
    assert_true(hl_pg_renew_due(a));
    clock_a += 1000;
    assert_int_equal(hl_pg_lease_left(a), 500); /* below a 1 s timeout + margin: no new attempt */
    /* A is hung: its lease runs out in the database (its row is moved back
     * instead of waiting 3 s) and B takes over */
    PQclear(sql("UPDATE hookline.workers SET lease_until = now() - interval '1 ms' WHERE"
                " worker_id = 'A'"));
    r = sync_ok(b, eb, T0 + SEC);
    assert_int_equal(r.claimed, 2);
    assert_int_equal(r.owned, 4);
    hl_engine_stats_get(eb, &st);
    assert_int_equal(st.endpoints, 4);
    /* A wakes up and, before syncing, tries to start an attempt: the write
     * that marks the batch in flight is fenced, so it never goes out */
    hl_action act;
    assert_int_equal(hl_engine_next_action(ea, T0 + 2 * SEC, &act, &err), HL_E_STORE);
    assert_int_equal(hl_pg_last_error(a)->code, HL_E_STORE_BUSY);
    assert_non_null(strstr(hl_pg_last_error(a)->message, "owned by another worker"));
    /* A rebuilds; its local lease has run out: it holds nothing */
    hl_engine_free(ea);
    hl_pg_rollback(a);
    ea = engine_on(a, 9);
    clock_a += 1000;
    assert_int_equal(hl_pg_lease_left(a), 0);
    assert_int_equal(sync_ok(a, ea, T0 + 3 * SEC).owned, 0);
    /* renewing again: it gets a share back from B over time */
    assert_int_equal(hl_pg_renew(a, &err), HL_OK);
    assert_int_equal(sync_ok(a, ea, T0 + 3 * SEC).claimed, 0);
    /* B finishes its in-flight work, then gives back what is over share + 1 */
    for (int i = 0; i < 8; i++) {
        act = next(eb, T0 + 3 * SEC);
        if (act.kind != HL_ACTION_SEND)
            break;
        assert_int_equal(report(eb, act.batch_id, 200, HL_FAILURE_NONE, NULL, T0 + 3 * SEC), HL_OK);
    }
    r = sync_ok(b, eb, T0 + 3 * SEC);
    assert_int_equal(r.released, 2);
    assert_int_equal(sync_ok(a, ea, T0 + 3 * SEC).claimed, 2);
    /* leaving hands everything back at once */
    assert_int_equal(hl_pg_leave(b, eb, &err), HL_OK);
    assert_int_equal(sql_int("SELECT count(*) FROM hookline.endpoints WHERE owner = 'B'"), 0);
    assert_int_equal(sql_int("SELECT count(*) FROM hookline.workers WHERE worker_id = 'B'"), 0);
    assert_int_equal(sync_ok(a, ea, T0 + 3 * SEC).claimed, 2);
    hl_engine_free(ea);
    hl_engine_free(eb);
    hl_pg_close(a);
    hl_pg_close(b);
}

/* 3/3/0 is not a resting state: a worker owning two more than another
 * gives back down to its share until ownership is within one of even. */
static void test_rebalance_to_a_hungry_worker(void **state)
{
    (void)state;
    hl_error err = HL_ERROR_INIT;
    char json[128], id[8];
    uint64_t clock_c = 9000000;
    hl_pg *a = open_pg("A", &clock_a), *b = open_pg("B", &clock_b), *c = open_pg("C", &clock_c);
    for (int i = 0; i < 6; i++) {
        snprintf(id, sizeof id, "e%d", i);
        snprintf(json, sizeof json, EP_JSON, id);
        put_endpoint(a, id, json);
    }
    hl_engine *ea = engine_on(a, 1), *eb = engine_on(b, 2), *ec = engine_on(c, 3);
    assert_int_equal(hl_pg_renew(a, &err), HL_OK);
    assert_int_equal(sync_ok(a, ea, T0).owned, 6);
    assert_int_equal(hl_pg_renew(b, &err), HL_OK);
    assert_int_equal(sync_ok(a, ea, T0).owned, 3); /* share 3 with two workers */
    assert_int_equal(sync_ok(b, eb, T0).claimed, 3);
    assert_int_equal(hl_pg_renew(c, &err), HL_OK);
    assert_int_equal(sync_ok(c, ec, T0).claimed, 0); /* 3/3/0 */
    assert_int_equal(sync_ok(a, ea, T0).owned, 2);   /* C is hungry: A gives one back */
    assert_int_equal(sync_ok(c, ec, T0).claimed, 1);
    assert_int_equal(sync_ok(b, eb, T0).owned, 2);   /* 2/3/1: B gives one back */
    assert_int_equal(sync_ok(c, ec, T0).claimed, 1);
    assert_int_equal(sync_ok(a, ea, T0).owned, 2);   /* 2/2/2 rests */
    assert_int_equal(sync_ok(b, eb, T0).owned, 2);
    assert_int_equal(sync_ok(c, ec, T0).owned, 2);
    hl_engine_free(ea);
    hl_engine_free(eb);
    hl_engine_free(ec);
    hl_pg_close(a);
    hl_pg_close(b);
    hl_pg_close(c);
}

static hl_code apply_cmd(void *user, hl_outbox_command_kind kind, const char *target,
                         hl_error *err)
{
    hl_engine *e = user;
    if (kind == HL_COMMAND_REDRIVE)
        return hl_engine_redrive(e, target, T0 + 10 * SEC, err);
    return hl_engine_purge(e, target, err);
}

static int dead_seen;

static int count_dead(void *user, const hl_outbox_batch *b)
{
    (void)user;
    assert_int_equal(b->state, HL_BATCH_DEAD_LETTERED);
    assert_string_equal(b->dead_reason, "max_attempts");
    dead_seen++;
    return 0;
}

static void test_commands_and_prune(void **state)
{
    (void)state;
    hl_error err = HL_ERROR_INIT;
    hl_pg *pg = open_pg("A", &clock_a);
    put_endpoint(pg, "a",
                 "{\"url\":\"https://a.example/\",\"batch\":{\"linger_ms\":0},"
                 "\"retry\":{\"max_attempts\":1}}");
    assert_int_equal(hl_pg_renew(pg, &err), HL_OK);
    hl_engine *e = engine_on(pg, 4);
    sync_ok(pg, e, T0);
    send_event(pg, "t.x", NULL, NULL);
    send_event(pg, "t.y", "key", NULL);
    route_ingest(pg, e, T0);
    char ids[2][HL_BATCH_ID_MAX];
    for (int i = 0; i < 2; i++) {
        hl_action a = next(e, T0 + SEC);
        assert_int_equal(a.kind, HL_ACTION_SEND);
        strcpy(ids[i], a.batch_id);
        assert_int_equal(report(e, a.batch_id, 500, HL_FAILURE_NONE, NULL, T0 + SEC), HL_OK);
    }
    size_t total = 0;
    dead_seen = 0;
    assert_int_equal(hl_pg_dead_letters(pg, "a", 0, 0, count_dead, NULL, &total, &err), HL_OK);
    assert_int_equal(total, 2);
    assert_int_equal(dead_seen, 2);
    assert_int_equal(sql_int("SELECT count(*) FROM hookline.dead_letters"), 2);
    assert_int_equal(hl_pg_command_submit(pg, HL_COMMAND_REDRIVE, ids[0], T0, &err), HL_OK);
    assert_int_equal(hl_pg_command_submit(pg, HL_COMMAND_PURGE, ids[1], T0, &err), HL_OK);
    assert_int_equal(hl_pg_command_submit(pg, HL_COMMAND_PURGE, "bat_none", T0, &err),
                     HL_E_BATCH_UNKNOWN);
    assert_int_equal(hl_pg_command_submit(pg, HL_COMMAND_ENDPOINT, "a", T0, &err),
                     HL_E_INVALID_ARGUMENT);
    size_t applied = 0, failed = 0;
    assert_int_equal(hl_pg_commands_apply(pg, apply_cmd, e, 0, &applied, &failed, &err), HL_OK);
    assert_int_equal(applied, 2);
    assert_int_equal(failed, 0);
    hl_outbox_batch row;
    assert_int_equal(hl_pg_batch_get(pg, ids[0], &row, &err), HL_OK);
    assert_int_equal(row.state, HL_BATCH_QUEUED);
    assert_int_equal(row.redrives, 1);
    assert_int_equal(hl_pg_batch_get(pg, ids[1], &row, &err), HL_E_BATCH_UNKNOWN);
    assert_int_equal(sql_int("SELECT count(*) FROM hookline.commands"), 0);
    /* prune: attempts older than 24 h, delivered batches settled before */
    hl_action a = next(e, T0 + 11 * SEC);
    assert_int_equal(a.kind, HL_ACTION_SEND);
    assert_int_equal(report(e, a.batch_id, 200, HL_FAILURE_NONE, NULL, T0 + 11 * SEC), HL_OK);
    long long attempts = sql_int("SELECT count(*) FROM hookline.attempts");
    assert_true(attempts >= 3);
    size_t pruned = 0;
    assert_int_equal(hl_pg_prune(pg, T0 + HOUR, &pruned, &err), HL_OK);
    assert_int_equal(pruned, 0);
    assert_int_equal(hl_pg_prune(pg, T0 + 25 * HOUR, &pruned, &err), HL_OK);
    assert_int_equal(pruned, (size_t)attempts + 1);
    assert_int_equal(sql_int("SELECT count(*) FROM hookline.batches"), 0);
    hl_engine_free(e);
    hl_pg_close(pg);
}

static void test_errors(void **state)
{
    (void)state;
    hl_error err = HL_ERROR_INIT;
    hl_pg *pg = NULL;
    /* nothing listens there: a clear error, the password never shown */
    assert_int_equal(hl_pg_open(&pg, "postgresql://u:sekret-pw@127.0.0.1:1/db?connect_timeout=2",
                                NULL, &err),
                     HL_E_STORE_UNAVAILABLE);
    assert_null(strstr(err.message, "sekret-pw"));
    assert_int_equal(strcmp(hl_code_name(HL_E_STORE_UNAVAILABLE), "store_unavailable"), 0);
    assert_int_equal(hl_pg_migrate("postgresql://127.0.0.1:1/db?connect_timeout=2", NULL, NULL,
                                   &err),
                     HL_E_STORE_UNAVAILABLE);
    /* the server drops the connection: the next call fails cleanly, the one
     * after reconnects */
    pg = open_pg("A", &clock_a);
    PQclear(sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE"
                " application_name = '' AND pid <> pg_backend_pid() AND datname = current_database()"));
    hl_outbox_counts c;
    hl_code rc = hl_pg_counts_get(pg, &c, &err);
    assert_int_equal(rc, HL_E_STORE_UNAVAILABLE);
    assert_int_equal(hl_pg_counts_get(pg, &c, &err), HL_OK);
    hl_pg_close(pg);
    /* a read-only database maps to store_readonly */
    PQclear(sql("ALTER DATABASE hookline SET default_transaction_read_only = on"));
    pg = open_pg("A", &clock_a);
    assert_int_equal(hl_pg_renew(pg, &err), HL_E_STORE_READONLY);
    hl_pg_close(pg);
    PQclear(sql("ALTER DATABASE hookline RESET default_transaction_read_only"));
    hl_pg_close(NULL);
}

int main(void)
{
    const char *dir = getenv("HL_TEST_PG_DIR"), *url = getenv("HL_TEST_PG_URL");
    if (url) {
        snprintf(URL, sizeof URL, "%s", url);
    } else if (dir) {
        char path[512];
        FILE *f;
        snprintf(path, sizeof path, "%s/url", dir);
        if ((f = fopen(path, "r")) == NULL || fgets(URL, sizeof URL, f) == NULL) {
            fprintf(stderr, "test_pgbox: no server URL in %s\n", path);
            return 1;
        }
        fclose(f);
        URL[strcspn(URL, "\n")] = '\0';
    } else {
        fprintf(stderr, "test_pgbox: set HL_TEST_PG_DIR or HL_TEST_PG_URL\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrate),
        cmocka_unit_test_setup(test_store_round_trip_and_restore, fresh),
        cmocka_unit_test_setup(test_enqueue_many_exact, fresh),
        cmocka_unit_test_setup(test_routing, fresh),
        cmocka_unit_test_setup(test_claim_takeover_and_lease_gate, fresh),
        cmocka_unit_test_setup(test_rebalance_to_a_hungry_worker, fresh),
        cmocka_unit_test_setup(test_commands_and_prune, fresh),
        cmocka_unit_test_setup(test_errors, fresh),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
