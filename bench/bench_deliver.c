/*
 * bench_deliver.c - delivery throughput of the worker (hl_worker: the
 * SQLite outbox, the engine, the libcurl dispatcher) to a receiver on
 * 127.0.0.1 that answers 2xx (bench_deliver.sh: nginx returning 204).
 *
 * Everything a production delivery does stays on: the endpoint is
 * registered through the SSRF check (the policy allows http and
 * 127.0.0.1/32 explicitly, as `hookline --allow-http --allow-cidr` does) and
 * its webhook.test; every attempt is signed (standard scheme), connects
 * through the SSRF guard, and its state changes and attempt record are
 * written to the outbox (synchronous FULL by default) before the next step.
 *
 * Per round: a fresh outbox file, one endpoint with batch.max_events =
 * BATCH, N events enqueued (not timed; N a multiple of BATCH, so every
 * batch is full and closes at once), then hl_worker_run_once is called
 * until every batch is delivered: that time gives events/s and batches/s.
 * Best of the rounds.
 *
 * Usage: bench_deliver --url URL --batch BATCH --events N [--rounds R]
 *                      [--dir DIR] [--sync full|normal]
 * BENCH_TRACE=1 in the environment prints every step (started, finished, in flight).
 * Prints "M deliver.ev.<BATCH>[.normal] <events/s> ev/s" and
 *        "M deliver.batch.<BATCH>[.normal] <batches/s> batch/s".
 */
#define _POSIX_C_SOURCE 200809L
#include "hookline.h"
#include "hookline/worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_events.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what, const char *message)
{
    fprintf(stderr, "bench_deliver: %s: %s\n", what, message);
    exit(1);
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

/* One round; returns the seconds from the first run_once to the last delivery. */
static double round_once(const char *dir, const char *url, unsigned port, size_t batch, size_t n,
                         hl_outbox_sync sync, const hl_event *events)
{
    static const char *const cidrs[] = {"127.0.0.1/32"};
    uint16_t ports[1] = {(uint16_t)port};
    char tmp[512], db[600], config[1024];
    hl_worker_options o = HL_WORKER_OPTIONS_INIT;
    hl_error err = HL_ERROR_INIT;
    hl_worker *w = NULL;
    hl_engine_stats st;
    size_t failed = 0, batches = n / batch;
    double t0, t;

    snprintf(tmp, sizeof tmp, "%s/bench-deliver-XXXXXX", dir);
    if (!mkdtemp(tmp))
        die("mkdtemp", tmp);
    snprintf(db, sizeof db, "%s/outbox.db", tmp);
    o.db_path = db;
    o.outbox.synchronous = sync;
    o.url.allow_http = 1;
    o.url.allow_cidrs = cidrs;
    o.url.n_allow_cidrs = 1;
    o.url.allow_ports = ports;
    o.url.n_allow_ports = 1;
    if (hl_worker_open(&w, &o, NULL, &err) != HL_OK)
        die("hl_worker_open", err.message);
    /* linger long enough that only full batches close; quick retries so a
     * refused attempt (there should be none) does not stall the run */
    snprintf(config, sizeof config,
             "{\"url\":\"%s\",\"batch\":{\"max_events\":%zu,\"linger_ms\":60000},"
             "\"retry\":{\"schedule_ms\":[100]},\"flow\":{\"concurrency\":64},\"timeout_ms\":10000}",
             url, batch);
    if (hl_worker_endpoint_add(w, "nginx", config, strlen(config), 0, NULL, &err) != HL_OK)
        die("hl_worker_endpoint_add", err.message);
    for (size_t i = 0; i < n; i += 1000) {
        size_t k = n - i < 1000 ? n - i : 1000;
        if (hl_worker_enqueue_many(w, &events[i], k, NULL, &err) != HL_OK)
            die("hl_worker_enqueue_many", err.message);
    }

    t0 = now_s();
    for (;;) {
        hl_dispatch_progress p;
        if (hl_worker_run_once(w, 100, &p, &err) != HL_OK)
            die("hl_worker_run_once", err.message);
        failed += p.failed;
        if (getenv("BENCH_TRACE"))
            fprintf(stderr, "%.4f started %zu finished %zu in_flight %zu action %d\n", now_s() - t0,
                    p.started, p.finished, p.in_flight, (int)p.engine_action);
        hl_engine_stats_get(hl_worker_engine(w), &st);
        if (st.batches_delivered >= batches)
            break;
        if (now_s() - t0 > 300)
            die("delivery", "not every batch was delivered within 300 s");
    }
    t = now_s() - t0;
    if (failed)
        fprintf(stderr, "bench_deliver: %zu attempts failed (retried)\n", failed);
    hl_worker_close(w);
    cleanup(tmp, db);
    return t;
}

int main(int argc, char **argv)
{
    const char *url = NULL, *dir = ".";
    size_t batch = 0, n = 0;
    int rounds = 3;
    hl_outbox_sync sync = HL_OUTBOX_SYNC_FULL;
    unsigned port = 0;
    double best = 0;
    hl_event *events;
    char (*data)[BENCH_DATA_CAP];

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--url") == 0)
            url = argv[i + 1];
        else if (strcmp(argv[i], "--batch") == 0)
            batch = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--events") == 0)
            n = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--rounds") == 0)
            rounds = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--dir") == 0)
            dir = argv[i + 1];
        else if (strcmp(argv[i], "--sync") == 0)
            sync = strcmp(argv[i + 1], "normal") == 0 ? HL_OUTBOX_SYNC_NORMAL : HL_OUTBOX_SYNC_FULL;
        else
            url = NULL, i = argc;
    }
    if (!url || batch == 0 || n < batch || rounds < 1 ||
        sscanf(url, "http://127.0.0.1:%u/", &port) != 1) {
        fprintf(stderr, "usage: bench_deliver --url http://127.0.0.1:PORT/PATH --batch B --events N"
                        " [--rounds R] [--dir DIR] [--sync full|normal]\n");
        return 2;
    }
    n -= n % batch;
    events = calloc(n, sizeof *events);
    data = calloc(n, sizeof *data);
    if (!events || !data)
        die("calloc", "out of memory");
    for (size_t i = 0; i < n; i++) {
        events[i] = (hl_event)HL_EVENT_INIT;
        events[i].type = BENCH_EVENT_TYPE;
        events[i].data = data[i];
        events[i].data_len = bench_event_data(data[i], BENCH_DATA_CAP, (long)i);
    }
    for (int r = 0; r < rounds; r++) {
        double t = round_once(dir, url, port, batch, n, sync, events);
        if (best == 0 || t < best)
            best = t;
    }
    {
        const char *tag = sync == HL_OUTBOX_SYNC_NORMAL ? ".normal" : "";
        printf("M\tdeliver.ev.%zu%s\t%.0f\tev/s\n", batch, tag, (double)n / best);
        printf("M\tdeliver.batch.%zu%s\t%.0f\tbatch/s\n", batch, tag, (double)(n / batch) / best);
    }
    free(events);
    free(data);
    return 0;
}
