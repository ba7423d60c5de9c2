/*
 * crash_child.c - the worker under test in tests/worker/crash_test.py: it
 * registers an endpoint on the local receiver, enqueues TOTAL events in
 * chunks (one transaction each) and delivers until nothing is pending. The
 * driver SIGKILLs it at random moments and starts it again.
 *
 *   crash_child DB PORT JOURNAL TOTAL CHUNK
 *
 * JOURNAL records, with one write(2) each (a SIGKILL cannot tear them),
 * "I a b" before enqueueing events a..b-1 and "A a b" once the call
 * returned: acknowledged events must all arrive; a chunk with an "I" but no
 * "A" may have been enqueued and is enqueued again after the restart.
 * Exit status: 0 all delivered, 2 open failed, 3 enqueue failed, 4 timeout.
 */
#define _POSIX_C_SOURCE 200809L

#include "hookline/worker.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void journal(int fd, char kind, size_t a, size_t b)
{
    char line[64];
    int n = snprintf(line, sizeof line, "%c %zu %zu\n", kind, a, b);
    if (write(fd, line, (size_t)n) != n)
        exit(5);
}

/* Where to start: the end of the last acknowledged chunk. */
static size_t acked_upto(const char *path)
{
    FILE *f = fopen(path, "r");
    char kind;
    size_t a, b, upto = 0;
    if (f == NULL)
        return 0;
    while (fscanf(f, " %c %zu %zu", &kind, &a, &b) == 3)
        if (kind == 'A' && b > upto)
            upto = b;
    fclose(f);
    return upto;
}

int main(int argc, char **argv)
{
    hl_worker_options o = HL_WORKER_OPTIONS_INIT;
    hl_worker *w = NULL;
    hl_error err = HL_ERROR_INIT;
    size_t restored = 0, total, chunk, next;
    uint16_t port;
    const char *cidrs[] = {"127.0.0.2/32"};
    char json[512];
    int fd;

    if (argc != 6)
        return 64;
    port = (uint16_t)atoi(argv[2]);
    total = (size_t)atol(argv[4]);
    chunk = (size_t)atol(argv[5]);
    o.db_path = argv[1];
    o.url.allow_http = 1;
    o.url.allow_ports = &port;
    o.url.n_allow_ports = 1;
    o.url.allow_cidrs = cidrs;
    o.url.n_allow_cidrs = 1;
    if (hl_worker_open(&w, &o, &restored, &err) != HL_OK) {
        fprintf(stderr, "open: %s\n", err.message);
        return 2;
    }
    snprintf(json, sizeof json,
             "{\"url\":\"http://127.0.0.2:%u/hook\","
             "\"batch\":{\"max_events\":25,\"linger_ms\":20},"
             "\"retry\":{\"schedule_ms\":[50,100,200],\"jitter_pct\":0}}",
             port);
    hl_code rc = hl_worker_endpoint_add(w, "crash", json, strlen(json), HL_WORKER_SKIP_TEST, NULL,
                                        &err);
    if (rc != HL_OK && rc != HL_E_ENDPOINT_EXISTS) {
        fprintf(stderr, "endpoint: %s\n", err.message);
        return 2;
    }
    fd = open(argv[3], O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0)
        return 2;
    for (next = acked_upto(argv[3]); next < total; next += chunk) {
        size_t end = next + chunk < total ? next + chunk : total, done = 0;
        hl_event ev[256];
        char ids[256][32], data[256][32];
        for (size_t i = next; i < end; i++) {
            hl_event e = HL_EVENT_INIT;
            snprintf(ids[i - next], 32, "evt_%06zu", i);
            snprintf(data[i - next], 32, "{\"n\":%zu}", i);
            e.id = ids[i - next];
            e.type = "email.outbound.delivered";
            e.data = data[i - next];
            e.data_len = strlen(data[i - next]);
            ev[i - next] = e;
        }
        journal(fd, 'I', next, end);
        if (hl_worker_enqueue_many(w, ev, end - next, &done, &err) != HL_OK) {
            fprintf(stderr, "enqueue: %s\n", err.message);
            return 3;
        }
        journal(fd, 'A', next, end);
        /* deliver a little between chunks, so kills land everywhere */
        (void)hl_worker_run_once(w, 0, NULL, NULL);
    }
    close(fd);
    for (int rounds = 0; rounds < 6000; rounds++) { /* at most ~60 s */
        hl_engine_stats st;
        if (hl_worker_run_once(w, 10, NULL, &err) != HL_OK)
            fprintf(stderr, "run: %s\n", err.message);
        hl_engine_stats_get(hl_worker_engine(w), &st);
        if (st.pending_events == 0) {
            hl_worker_drain(w, 5000, NULL);
            hl_worker_close(w);
            return 0;
        }
    }
    hl_worker_close(w);
    return 4;
}
