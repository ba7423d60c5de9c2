/*
 * bench_pg.c - the PostgreSQL outbox (hookline/pgbox.h) against a server
 * on 127.0.0.1 (bench_pg.sh starts a throwaway one), events per second:
 *
 *   enqueue  hl_worker_enqueue over a postgresql:// worker (one transaction
 *            per event) and hl_worker_enqueue_many of TXN events (one
 *            transaction each), against a raw libpq floor: a prepared
 *            INSERT of the same bytes (type, data, event id, created_at)
 *            into a table shaped like hookline.events, one row per
 *            statement as hookline does, 1 and TXN rows per transaction.
 *   claim    one worker moving events from hookline.events into batches:
 *            hl_pg_route (route by filters into hookline.pending) +
 *            hl_pg_ingest (into the engine's batches, in one transaction
 *            with the engine's writes), 1000 per call, until all are in.
 *   deliver  P worker processes (hl_worker over the URL, fork()ed) sharing
 *            one database with E endpoints that all point at TARGET, batch
 *            size B: the time from the commit of N events into
 *            hookline.events to the last batch delivered (routing,
 *            ingesting, signing, sending and bookkeeping all included).
 *
 * Every round starts from a fresh schema (DROP SCHEMA hookline CASCADE +
 * hl_pg_migrate); best of the rounds.
 *
 * Usage: bench_pg --db URL enqueue [--quick] [--tag T]
 *        bench_pg --db URL claim [--quick]
 *        bench_pg --db URL deliver --target http://127.0.0.1:PORT/PATH --batch B
 *                 --workers P --events N [--rounds R]
 * Prints "M pg.<what>[.T] <value> ev/s" lines.
 */
#define _POSIX_C_SOURCE 200809L
#include "hookline.h"
#include "hookline/pgbox.h"
#include "hookline/worker.h"

#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_events.h"

#define TXN 1000
#define ENDPOINTS 6          /* deliver: enough for 3 workers to get 2 each */
#define LEASE_MS 6000u       /* deliver: renew every 2 s, so ownership settles quickly */

static const char *db_url;
static int quick;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static void die(const char *what, const char *message)
{
    fprintf(stderr, "bench_pg: %s: %s\n", what, message);
    exit(1);
}

static PGconn *connect_db(void)
{
    PGconn *c = PQconnectdb(db_url);
    if (PQstatus(c) != CONNECTION_OK)
        die("connect", PQerrorMessage(c));
    return c;
}

static void sql(PGconn *c, const char *q)
{
    PGresult *r = PQexec(c, q);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        die(q, PQerrorMessage(c));
    PQclear(r);
}

static long long sql_count(PGconn *c, const char *q)
{
    PGresult *r = PQexec(c, q);
    long long n;
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        die(q, PQerrorMessage(c));
    n = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return n;
}

/* A fresh hookline schema (and the floor's table). */
static void fresh_schema(PGconn *c)
{
    hl_error err = HL_ERROR_INIT;
    sql(c, "SET client_min_messages = warning");
    sql(c, "DROP SCHEMA IF EXISTS hookline CASCADE");
    sql(c, "DROP TABLE IF EXISTS bench_floor");
    /* hookline.events' shape, without the NOTIFY trigger */
    sql(c, "CREATE TABLE bench_floor (id bigserial PRIMARY KEY, type text NOT NULL, data text,"
           " event_id text, ordering_key text, endpoint_id text,"
           " created_at timestamptz NOT NULL DEFAULT clock_timestamp())");
    if (hl_pg_migrate(db_url, NULL, NULL, &err) != HL_OK)
        die("hl_pg_migrate", err.message);
}

/* n events' data, built before any clock starts */
typedef struct events {
    hl_event *ev;
    char (*data)[BENCH_DATA_CAP];
    size_t n;
} events;

static void events_make(events *e, size_t n)
{
    e->n = n;
    e->ev = calloc(n, sizeof *e->ev);
    e->data = calloc(n, sizeof *e->data);
    if (!e->ev || !e->data)
        die("calloc", "out of memory");
    for (size_t i = 0; i < n; i++) {
        e->ev[i] = (hl_event)HL_EVENT_INIT;
        e->ev[i].type = BENCH_EVENT_TYPE;
        e->ev[i].data = e->data[i];
        e->ev[i].data_len = bench_event_data(e->data[i], BENCH_DATA_CAP, (long)i);
    }
}

static void events_free(events *e)
{
    free(e->ev);
    free(e->data);
}

/* ------------------------------------------------------------ enqueue */

static hl_worker *enqueue_worker(void)
{
    static const char *const cidrs[] = {"127.0.0.1/32"};
    static const char config[] = "{\"url\":\"http://127.0.0.1/hook\"}";
    hl_worker_options o = HL_WORKER_OPTIONS_INIT;
    hl_error err = HL_ERROR_INIT;
    hl_worker *w = NULL;
    o.db_path = db_url;
    o.url.allow_http = 1;
    o.url.allow_cidrs = cidrs;
    o.url.n_allow_cidrs = 1;
    if (hl_worker_open(&w, &o, NULL, &err) != HL_OK)
        die("hl_worker_open", err.message);
    if (hl_worker_endpoint_add(w, "ep", config, sizeof config - 1, HL_WORKER_SKIP_TEST, NULL,
                               &err) != HL_OK)
        die("hl_worker_endpoint_add", err.message);
    return w;
}

static double hookline_enqueue(const events *e, size_t per_txn)
{
    hl_error err = HL_ERROR_INIT;
    hl_worker *w = enqueue_worker();
    double t0 = now_s(), t;
    for (size_t i = 0; i < e->n; i += per_txn) {
        size_t k = e->n - i < per_txn ? e->n - i : per_txn;
        hl_code rc = per_txn == 1 ? hl_worker_enqueue(w, &e->ev[i], NULL, NULL, 0, &err)
                                  : hl_worker_enqueue_many(w, &e->ev[i], k, NULL, &err);
        if (rc != HL_OK)
            die("enqueue", err.message);
    }
    t = now_s() - t0;
    hl_worker_close(w);
    return t;
}

/* The floor: the same bytes (the event id and created_at hookline sends as
 * well) by a prepared INSERT, one row per statement. */
static double floor_enqueue(PGconn *c, const events *e, size_t per_txn)
{
    double t0;
    PGresult *r;
    sql(c, "DEALLOCATE ALL");
    t0 = now_s();
    r = PQprepare(c, "floor", "INSERT INTO bench_floor (type, data, event_id, created_at)"
                                   " VALUES ($1, $2, $3, to_timestamp($4::bigint / 1000.0))",
                            4, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        die("prepare", PQerrorMessage(c));
    PQclear(r);
    for (size_t i = 0; i < e->n; i += per_txn) {
        size_t k = e->n - i < per_txn ? e->n - i : per_txn;
        if (per_txn > 1)
            sql(c, "BEGIN");
        for (size_t j = i; j < i + k; j++) {
            char id[40], created[24], data[BENCH_DATA_CAP];
            const char *vals[4] = {e->ev[j].type, data, id, created};
            memcpy(data, e->ev[j].data, e->ev[j].data_len);
            data[e->ev[j].data_len] = '\0';
            snprintf(id, sizeof id, "evt_bench%022zu", j);
            snprintf(created, sizeof created, "%llu", 1778155200000ULL + j);
            r = PQexecPrepared(c, "floor", 4, vals, NULL, NULL, 0);
            if (PQresultStatus(r) != PGRES_COMMAND_OK)
                die("insert", PQerrorMessage(c));
            PQclear(r);
        }
        if (per_txn > 1)
            sql(c, "COMMIT");
    }
    return now_s() - t0;
}

static void bench_enqueue(const char *tag)
{
    size_t n_single = quick ? 200 : 3000, n_batched = quick ? 2000 : 30000;
    int rounds = quick ? 1 : 3;
    double best[4] = {0, 0, 0, 0};
    static const char *const KEY[4] = {"enqueue.single", "enqueue.batched", "floor.single",
                                       "floor.batched"};
    events single, batched;
    PGconn *c = connect_db();
    events_make(&single, n_single);
    events_make(&batched, n_batched);
    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < 4; k++) {
            const events *e = k % 2 ? &batched : &single;
            size_t per_txn = k % 2 ? TXN : 1;
            double t;
            fresh_schema(c);
            t = k < 2 ? hookline_enqueue(e, per_txn) : floor_enqueue(c, e, per_txn);
            if (best[k] == 0 || t < best[k])
                best[k] = t;
        }
    }
    for (int k = 0; k < 4; k++)
        printf("M\tpg.%s%s%s\t%.0f\tev/s\n", KEY[k], tag ? "." : "", tag ? tag : "",
               (double)(k % 2 ? n_batched : n_single) / best[k]);
    fflush(stdout);
    fresh_schema(c);
    PQfinish(c);
    events_free(&single);
    events_free(&batched);
}

/* ------------------------------------------------------------ shared */

static void endpoint_put(hl_pg *pg, const char *id, const char *json)
{
    hl_endpoint_config *cfg = NULL;
    hl_error err = HL_ERROR_INIT;
    if (hl_endpoint_config_parse(&cfg, json, strlen(json), &err) != HL_OK)
        die("config", err.message);
    if (hl_pg_endpoint_put(pg, id, cfg, 0, &err) != HL_OK)
        die("hl_pg_endpoint_put", err.message);
    hl_endpoint_config_free(cfg);
}

/* n events of ~500 B into hookline.events in one statement (set-up, not
 * timed): endpoint "ep<i % endpoints>" when `endpoints` > 0, else routed
 * by filter. */
static void insert_events(PGconn *c, size_t n, int endpoints)
{
    char data[BENCH_DATA_CAP], count[24], eps[24];
    const char *vals[4] = {BENCH_EVENT_TYPE, data, count, eps};
    PGresult *r;
    bench_event_data(data, sizeof data, 1);
    snprintf(count, sizeof count, "%zu", n);
    snprintf(eps, sizeof eps, "%d", endpoints);
    r = PQexecParams(c,
                     "INSERT INTO hookline.events (type, data, endpoint_id)"
                     " SELECT $1, $2, CASE WHEN $4::int > 0 THEN 'ep' || (g % $4::int) END"
                     " FROM generate_series(0, $3::bigint - 1) g",
                     4, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        die("insert events", PQerrorMessage(c));
    PQclear(r);
}

/* ------------------------------------------------------------ claim */

static double claim_round(PGconn *c, size_t n)
{
    hl_pg_options o = HL_PG_OPTIONS_INIT;
    hl_engine_options eo = HL_ENGINE_OPTIONS_INIT;
    hl_error err = HL_ERROR_INIT;
    hl_pg *pg = NULL;
    hl_engine *e = NULL;
    size_t moved = 0;
    double t0, t;

    fresh_schema(c);
    o.worker_id = "bench-claim";
    if (hl_pg_open(&pg, db_url, &o, &err) != HL_OK)
        die("hl_pg_open", err.message);
    endpoint_put(pg, "ep", "{\"url\":\"http://127.0.0.1/hook\",\"batch\":{\"max_events\":100}}");
    insert_events(c, n, 0);
    eo.store = hl_pg_store(pg);
    if (hl_engine_new(&e, &eo, &err) != HL_OK)
        die("hl_engine_new", err.message);
    if (hl_pg_renew(pg, &err) != HL_OK ||
        hl_pg_sync(pg, e, 1, NULL, NULL, NULL, NULL, &err) != HL_OK)
        die("claim the endpoint", err.message);
    t0 = now_s();
    while (moved < n) {
        size_t in = 0;
        if (hl_pg_route(pg, 1, 1000, NULL, &err) != HL_OK)
            die("hl_pg_route", err.message);
        if (hl_pg_ingest(pg, e, 1, 1000, &in, NULL, &err) != HL_OK)
            die("hl_pg_ingest", err.message);
        if (in == 0)
            die("claim", "nothing was ingested");
        moved += in;
    }
    t = now_s() - t0;
    hl_engine_free(e);
    hl_pg_close(pg);
    return t;
}

static void bench_claim(void)
{
    size_t n = quick ? 2000 : 10000;
    double best = 0;
    PGconn *c = connect_db();
    for (int r = 0; r < (quick ? 1 : 3); r++) {
        double t = claim_round(c, n);
        if (best == 0 || t < best)
            best = t;
    }
    printf("M\tpg.claim\t%.0f\tev/s\n", (double)n / best);
    fflush(stdout);
    fresh_schema(c);
    PQfinish(c);
}

/* ------------------------------------------------------------ deliver */

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

/* A worker process: run_once until SIGTERM. */
static void worker_main(const char *target, unsigned port)
{
    static const char *const cidrs[] = {"127.0.0.1/32"};
    uint16_t ports[1] = {(uint16_t)port};
    hl_worker_options o = HL_WORKER_OPTIONS_INIT;
    hl_error err = HL_ERROR_INIT;
    hl_worker *w = NULL;
    struct sigaction sa;
    (void)target;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    o.db_path = db_url;
    o.lease_ms = LEASE_MS;
    o.url.allow_http = 1;
    o.url.allow_cidrs = cidrs;
    o.url.n_allow_cidrs = 1;
    o.url.allow_ports = ports;
    o.url.n_allow_ports = 1;
    if (hl_worker_open(&w, &o, NULL, &err) != HL_OK)
        die("worker: hl_worker_open", err.message);
    while (!stop) {
        hl_dispatch_progress p;
        err = (hl_error)HL_ERROR_INIT;
        /* a failed cycle (a lost race, a rebuilt engine) is retried */
        if (hl_worker_run_once(w, 100, &p, &err) != HL_OK && getenv("BENCH_TRACE"))
            fprintf(stderr, "bench_pg worker %ld: %s\n", (long)getpid(), err.message);
    }
    hl_worker_close(w);
    _exit(0);
}

/* Ownership has settled: every worker owns an endpoint, within one of even. */
static int settled(PGconn *c, int workers)
{
    PGresult *r = PQexec(c, "SELECT count(*) FROM hookline.endpoints WHERE owner IS NULL"
                            " UNION ALL SELECT count(DISTINCT owner) FROM hookline.endpoints"
                            " UNION ALL SELECT coalesce(max(n) - min(n), 0) FROM (SELECT"
                            " count(*) n FROM hookline.endpoints GROUP BY owner) s");
    int ok;
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 3)
        die("settled", PQerrorMessage(c));
    ok = atoi(PQgetvalue(r, 0, 0)) == 0 && atoi(PQgetvalue(r, 1, 0)) == workers &&
         atoi(PQgetvalue(r, 2, 0)) <= 1;
    PQclear(r);
    return ok;
}

static void bench_deliver(const char *target, size_t batch, int workers, size_t n, int rounds)
{
    hl_worker *admin = NULL;
    hl_error err = HL_ERROR_INIT;
    pid_t pids[16];
    unsigned port = 0;
    double best = 0, t0;
    PGconn *c = connect_db();
    char config[1024];
    long long delivered = 0;

    if (sscanf(target, "http://127.0.0.1:%u/", &port) != 1 || workers < 1 || workers > 16)
        die("deliver", "--target http://127.0.0.1:PORT/PATH and 1..16 --workers");
    n -= n % (batch * ENDPOINTS);
    if (n == 0)
        die("deliver", "--events must be at least --batch x 6");
    fresh_schema(c);
    /* through a worker handle: it gives each endpoint a signing secret */
    {
        static const char *const cidrs[] = {"127.0.0.1/32"};
        uint16_t ports[1] = {(uint16_t)port};
        hl_worker_options o = HL_WORKER_OPTIONS_INIT;
        o.db_path = db_url;
        o.url.allow_http = 1;
        o.url.allow_cidrs = cidrs;
        o.url.n_allow_cidrs = 1;
        o.url.allow_ports = ports;
        o.url.n_allow_ports = 1;
        if (hl_worker_open(&admin, &o, NULL, &err) != HL_OK)
            die("hl_worker_open", err.message);
    }
    /* full batches close at once; a 1 s timeout fits the 6 s lease */
    snprintf(config, sizeof config,
             "{\"url\":\"%s\",\"batch\":{\"max_events\":%zu,\"linger_ms\":60000},"
             "\"retry\":{\"schedule_ms\":[100]},\"flow\":{\"concurrency\":64},\"timeout_ms\":1000}",
             target, batch);
    for (int i = 0; i < ENDPOINTS; i++) {
        char id[16];
        snprintf(id, sizeof id, "ep%d", i);
        if (hl_worker_endpoint_add(admin, id, config, strlen(config), HL_WORKER_SKIP_TEST, NULL,
                                   &err) != HL_OK)
            die("hl_worker_endpoint_add", err.message);
    }
    hl_worker_close(admin);

    fflush(stdout);
    for (int i = 0; i < workers; i++) {
        if ((pids[i] = fork()) < 0)
            die("fork", "failed");
        if (pids[i] == 0)
            worker_main(target, port);
    }
    /* let every worker claim its share before the clock starts (bounded) */
    t0 = now_s();
    while (!settled(c, workers)) {
        if (now_s() - t0 > 60)
            die("deliver", "endpoint ownership did not settle within 60 s");
        sleep_ms(50);
    }
    for (int r = 0; r < rounds; r++) {
        long long want = delivered + (long long)(n / batch);
        double t;
        insert_events(c, n, ENDPOINTS);
        t0 = now_s(); /* the events are visible from here */
        for (;;) {
            delivered = sql_count(c, "SELECT count(*) FROM hookline.batches WHERE state = 5");
            if (delivered >= want)
                break;
            if (now_s() - t0 > 600)
                die("deliver", "not every batch was delivered within 600 s");
            sleep_ms(5);
        }
        t = now_s() - t0;
        if (best == 0 || t < best)
            best = t;
    }
    for (int i = 0; i < workers; i++)
        kill(pids[i], SIGTERM);
    for (int i = 0; i < workers; i++) {
        int st;
        for (int k = 0; k < 200 && waitpid(pids[i], &st, WNOHANG) == 0; k++)
            sleep_ms(50);
        if (waitpid(pids[i], &st, WNOHANG) == 0) {
            kill(pids[i], SIGKILL);
            waitpid(pids[i], &st, 0);
        }
    }
    printf("M\tpg.deliver.%zu.%d\t%.0f\tev/s\n", batch, workers, (double)n / best);
    fflush(stdout);
    fresh_schema(c);
    PQfinish(c);
}

int main(int argc, char **argv)
{
    const char *mode = NULL, *target = NULL, *tag = NULL;
    size_t batch = 0, n = 0;
    int workers = 1, rounds = 3;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--db") == 0 && v)
            db_url = v, i++;
        else if (strcmp(argv[i], "--target") == 0 && v)
            target = v, i++;
        else if (strcmp(argv[i], "--tag") == 0 && v)
            tag = v, i++;
        else if (strcmp(argv[i], "--batch") == 0 && v)
            batch = strtoul(v, NULL, 10), i++;
        else if (strcmp(argv[i], "--events") == 0 && v)
            n = strtoul(v, NULL, 10), i++;
        else if (strcmp(argv[i], "--workers") == 0 && v)
            workers = atoi(v), i++;
        else if (strcmp(argv[i], "--rounds") == 0 && v)
            rounds = atoi(v), i++;
        else if (argv[i][0] != '-' && mode == NULL)
            mode = argv[i];
        else
            mode = "?", i = argc;
    }
    if (db_url && mode && strcmp(mode, "enqueue") == 0)
        bench_enqueue(tag);
    else if (db_url && mode && strcmp(mode, "claim") == 0)
        bench_claim();
    else if (db_url && mode && strcmp(mode, "deliver") == 0 && target && batch > 0 && n > 0 &&
             rounds > 0)
        bench_deliver(target, batch, workers, n, rounds);
    else {
        fprintf(stderr, "usage: bench_pg --db URL enqueue [--quick] [--tag T]\n"
                        "       bench_pg --db URL claim [--quick]\n"
                        "       bench_pg --db URL deliver --target http://127.0.0.1:PORT/PATH"
                        " --batch B --workers P --events N [--rounds R]\n");
        return 2;
    }
    return 0;
}
