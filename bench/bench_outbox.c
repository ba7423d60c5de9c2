/*
 * bench_outbox.c - durable enqueue into the SQLite outbox, events per
 * second, against a same-run floor:
 *
 *   hookline, single   hl_worker_enqueue: one transaction (one commit) per event
 *   hookline, batched  hl_worker_enqueue_many of TXN events: one transaction each
 *   floor              raw sqlite3: a prepared INSERT of the same bytes (the
 *                      serialised event, ~500 B, and a batch id) into a table
 *                      shaped like hl_events (rowid, batch_id TEXT indexed,
 *                      json BLOB), same pragmas (WAL, same synchronous), TXN
 *                      rows per transaction
 *   memory             hl_engine_enqueue with no store: the engine's share
 *
 * each with synchronous FULL (the default: fsync at every commit) and
 * NORMAL. One endpoint taking every event, default batching (100 events);
 * generated event ids. Every round uses a fresh file in a fresh directory
 * (under DIR, default "."; on the disk being measured), best of the rounds.
 *
 * Usage: bench_outbox [--quick] [--dir DIR] [--only KEY]   (KEY: e.g. batched.full)
 * Prints "M outbox.<what>.<full|normal> <events/s> ev/s" lines.
 */
#define _POSIX_C_SOURCE 200809L
#include "hookline.h"
#include "hookline/worker.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_events.h"

#define TXN 1000

static const char *dir = ".";
static const char *only; /* --only KEY: measure that one (for a profiler) */
static int quick;

static int wanted(const char *key)
{
    return only == NULL || strcmp(only, key) == 0;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what, const char *message)
{
    fprintf(stderr, "bench_outbox: %s: %s\n", what, message);
    exit(1);
}

/* A fresh directory for one round's file; `db` receives the file's path. */
static void fresh(char *tmp, size_t cap, char *db, size_t dbcap)
{
    snprintf(tmp, cap, "%s/bench-outbox-XXXXXX", dir);
    if (!mkdtemp(tmp))
        die("mkdtemp", tmp);
    snprintf(db, dbcap, "%s/outbox.db", tmp);
}

static void cleanup(const char *tmp, const char *db)
{
    static const char *const SUFFIX[] = {"", "-wal", "-shm", "-journal", ".worker-lock"};
    char path[600];
    for (size_t i = 0; i < sizeof SUFFIX / sizeof SUFFIX[0]; i++) {
        snprintf(path, sizeof path, "%s%s", db, SUFFIX[i]);
        unlink(path);
    }
    rmdir(tmp);
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

static hl_worker *worker_open(const char *db, hl_outbox_sync sync)
{
    static const char *const cidrs[] = {"127.0.0.1/32"};
    static const char config[] = "{\"url\":\"http://127.0.0.1/hook\"}";
    hl_worker_options o = HL_WORKER_OPTIONS_INIT;
    hl_error err = HL_ERROR_INIT;
    hl_worker *w = NULL;
    o.db_path = db;
    o.outbox.synchronous = sync;
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

/* hookline: `per_txn` events per transaction (1: hl_worker_enqueue each). */
static double run_hookline(const events *e, size_t n, size_t per_txn, hl_outbox_sync sync)
{
    char tmp[512], db[600];
    hl_error err = HL_ERROR_INIT;
    hl_worker *w;
    double t0, t;
    fresh(tmp, sizeof tmp, db, sizeof db);
    w = worker_open(db, sync);
    t0 = now_s();
    for (size_t i = 0; i < n; i += per_txn) {
        size_t k = n - i < per_txn ? n - i : per_txn, done = 0;
        hl_code rc = per_txn == 1
                         ? hl_worker_enqueue(w, &e->ev[i], NULL, NULL, 0, &err)
                         : hl_worker_enqueue_many(w, &e->ev[i], k, &done, &err);
        if (rc != HL_OK)
            die("enqueue", err.message);
    }
    t = now_s() - t0;
    hl_worker_close(w);
    cleanup(tmp, db);
    return (double)n / t;
}

/* The engine alone (no store): what is left of an enqueue without SQLite. */
static double run_memory(const events *e, size_t n)
{
    static const char *const filters[] = {"*"};
    hl_engine_options eo = HL_ENGINE_OPTIONS_INIT;
    hl_endpoint_options o = HL_ENDPOINT_OPTIONS_INIT;
    hl_error err = HL_ERROR_INIT;
    hl_engine *en = NULL;
    uint64_t now = 1778155200000ull;
    double t0, t;
    if (hl_engine_new(&en, &eo, &err) != HL_OK)
        die("hl_engine_new", err.message);
    o.url = "http://127.0.0.1/hook";
    o.filters = filters;
    o.n_filters = 1;
    if (hl_endpoint_add(en, "ep", &o, now, &err) != HL_OK)
        die("hl_endpoint_add", err.message);
    t0 = now_s();
    for (size_t i = 0; i < n; i++)
        if (hl_engine_enqueue(en, &e->ev[i], now, NULL, NULL, 0, &err) != HL_OK)
            die("hl_engine_enqueue", err.message);
    t = now_s() - t0;
    hl_engine_free(en);
    return (double)n / t;
}

static void check(sqlite3 *db, int rc, const char *what)
{
    if (rc != SQLITE_OK && rc != SQLITE_DONE)
        die(what, sqlite3_errmsg(db));
}

/* The floor: the same bytes as the outbox stores per event, raw sqlite3. */
static double run_floor(const events *e, size_t n, hl_outbox_sync sync)
{
    char tmp[512], path[600], json[1024], batch[32];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    double t0, t;
    fresh(tmp, sizeof tmp, path, sizeof path);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
        die("sqlite3_open", path);
    check(db, sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL), "wal");
    check(db,
          sqlite3_exec(db, sync == HL_OUTBOX_SYNC_FULL ? "PRAGMA synchronous=FULL"
                                                       : "PRAGMA synchronous=NORMAL",
                       NULL, NULL, NULL),
          "synchronous");
    check(db,
          sqlite3_exec(db,
                       "CREATE TABLE ev (seq INTEGER PRIMARY KEY, batch_id TEXT NOT NULL,"
                       " json BLOB NOT NULL); CREATE INDEX ev_by_batch ON ev (batch_id);",
                       NULL, NULL, NULL),
          "create");
    check(db, sqlite3_prepare_v2(db, "INSERT INTO ev (batch_id, json) VALUES (?1, ?2)", -1, &st, NULL),
          "prepare");
    t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        int len;
        if (i % TXN == 0)
            check(db, sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), "begin");
        /* what hli_event_serialize produces for this event, and a batch id
         * that changes every 100 events (the batch size) */
        len = snprintf(json, sizeof json,
                       "{\"id\":\"evt_2Yk8r4Qm9Tz6Wb1Xc3Vn%06zu\",\"type\":\"" BENCH_EVENT_TYPE
                       "\",\"created_at\":\"2026-11-23T21:30:00.000Z\",\"data\":%.*s}",
                       i, (int)e->ev[i].data_len, e->ev[i].data);
        snprintf(batch, sizeof batch, "bat_2Yk8r4Qm9Tz6Wb1Xc%06zu", i / 100);
        sqlite3_bind_text(st, 1, batch, -1, SQLITE_TRANSIENT);
        sqlite3_bind_blob(st, 2, json, len, SQLITE_TRANSIENT);
        check(db, sqlite3_step(st), "insert");
        sqlite3_reset(st);
        if (i % TXN == TXN - 1 || i == n - 1)
            check(db, sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), "commit");
    }
    t = now_s() - t0;
    sqlite3_finalize(st);
    sqlite3_close(db);
    cleanup(tmp, path);
    return (double)n / t;
}

static double best(double a, double b)
{
    return a > b ? a : b;
}

int main(int argc, char **argv)
{
    static const struct {
        hl_outbox_sync sync;
        const char *name;
    } SYNCS[] = {{HL_OUTBOX_SYNC_FULL, "full"}, {HL_OUTBOX_SYNC_NORMAL, "normal"}};
    size_t n_batched, n_single[2];
    int rounds;
    events e;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else {
            fprintf(stderr, "usage: bench_outbox [--quick] [--dir DIR] [--only KEY]\n");
            return 2;
        }
    }
    n_batched = quick ? 5000 : 100000;
    n_single[0] = quick ? 50 : 500; /* FULL: an fsync per event */
    n_single[1] = quick ? 200 : 5000;
    rounds = quick ? 1 : 3;
    events_make(&e, n_batched);

    for (size_t s = 0; s < 2; s++) {
        char kb[32], kf[32], ks[32];
        double hb = 0, fl = 0, hs = 0;
        snprintf(kb, sizeof kb, "batched.%s", SYNCS[s].name);
        snprintf(kf, sizeof kf, "floor.%s", SYNCS[s].name);
        snprintf(ks, sizeof ks, "single.%s", SYNCS[s].name);
        /* alternate hookline and the floor so both see the same machine */
        for (int r = 0; r < rounds; r++) {
            if (wanted(kb))
                hb = best(hb, run_hookline(&e, n_batched, TXN, SYNCS[s].sync));
            if (wanted(kf))
                fl = best(fl, run_floor(&e, n_batched, SYNCS[s].sync));
            if (wanted(ks))
                hs = best(hs, run_hookline(&e, n_single[s], 1, SYNCS[s].sync));
        }
        if (wanted(kb))
            printf("M\toutbox.%s\t%.0f\tev/s\n", kb, hb);
        if (wanted(kf))
            printf("M\toutbox.%s\t%.0f\tev/s\n", kf, fl);
        if (wanted(ks))
            printf("M\toutbox.%s\t%.0f\tev/s\n", ks, hs);
    }
    if (wanted("memory")) {
        double m = 0;
        for (int r = 0; r < rounds; r++)
            m = best(m, run_memory(&e, n_batched));
        printf("M\toutbox.memory\t%.0f\tev/s\n", m);
    }
    free(e.ev);
    free(e.data);
    return 0;
}
