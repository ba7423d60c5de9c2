/*
 * bench_engine.c - the engine's cost per event as the queue grows: enqueue,
 * then next_action + report_outcome until idle, and the resident memory
 * held per pending event, at 1e4, 1e5 and 1e6 pending events.
 *
 * 100 endpoints, each event routed to one (by type filter), batches of 10
 * events: the batch shape is the same at every size, only the queue grows,
 * so a flat ns/event means no step is worse than linear. Each size runs in
 * a child process so RSS figures do not inherit the previous size's heap.
 *
 * Usage: bench_engine [--quick]   (quick: 1e4 only)
 *        bench_engine --size N     one size, in this process (for callgrind)
 */
#define _POSIX_C_SOURCE 200809L
#include "hookline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define T0 1700000000000ull
#define N_ENDPOINTS 100

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static long rss_bytes(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * sysconf(_SC_PAGESIZE);
}

static void die(const char *what, const hl_error *err)
{
    fprintf(stderr, "bench_engine: %s: %s\n", what, err->message);
    exit(1);
}

static void run(size_t n, const char *label)
{
    hl_error err = HL_ERROR_INIT;
    hl_engine_options eo = HL_ENGINE_OPTIONS_INIT;
    hl_engine *e = NULL;
    hl_event ev = HL_EVENT_INIT;
    char type[32];
    size_t delivered = 0;
    long rss0, rss1;
    double t0, t_enq, t_drain;

    eo.seed = 1;
    if (hl_engine_new(&e, &eo, &err) != HL_OK)
        die("engine_new", &err);
    for (int i = 0; i < N_ENDPOINTS; i++) {
        char id[32], filter[32];
        const char *filters[1] = {filter};
        hl_endpoint_options o = HL_ENDPOINT_OPTIONS_INIT;
        snprintf(id, sizeof id, "ep%d", i);
        snprintf(filter, sizeof filter, "s.%d", i);
        o.url = "https://receiver.example/hook";
        o.filters = filters;
        o.n_filters = 1;
        o.max_events = 10;
        if (hl_endpoint_add(e, id, &o, T0, &err) != HL_OK)
            die("endpoint_add", &err);
    }
    ev.type = type;
    ev.data = "{\"msg\":\"m_0001\",\"to\":\"someone@example.com\"}";
    ev.data_len = strlen(ev.data);

    rss0 = rss_bytes();
    t0 = now_ns();
    for (size_t k = 0; k < n; k++) {
        size_t routed = 0;
        snprintf(type, sizeof type, "s.%zu", k % N_ENDPOINTS);
        if (hl_engine_enqueue(e, &ev, T0, &routed, NULL, 0, &err) != HL_OK || routed != 1)
            die("enqueue", &err);
    }
    t_enq = now_ns() - t0;
    rss1 = rss_bytes();

    t0 = now_ns();
    for (;;) {
        hl_action a;
        hl_outcome o = HL_OUTCOME_INIT;
        if (hl_engine_next_action(e, T0 + 1, &a, &err) != HL_OK)
            die("next_action", &err);
        if (a.kind != HL_ACTION_SEND)
            break;
        delivered += a.n_events;
        o.status = 204;
        if (hl_engine_report_outcome(e, a.batch_id, &o, T0 + 1, &err) != HL_OK)
            die("report_outcome", &err);
    }
    t_drain = now_ns() - t0;
    if (delivered != n) {
        fprintf(stderr, "bench_engine: %zu of %zu events delivered\n", delivered, n);
        exit(1);
    }
    printf("M\tengine.enqueue.%s\t%.1f\tns\n", label, t_enq / (double)n);
    printf("M\tengine.drain.%s\t%.1f\tns\n", label, t_drain / (double)n);
    printf("M\tengine.rss.%s\t%.0f\tB\n", label, (double)(rss1 - rss0) / (double)n);
    fflush(stdout);
    hl_engine_free(e);
}

int main(int argc, char **argv)
{
    static const struct { size_t n; const char *label; } SIZES[] = {
        {10000, "1e4"}, {100000, "1e5"}, {1000000, "1e6"}};
    int quick = argc > 1 && !strcmp(argv[1], "--quick");
    if (argc == 3 && !strcmp(argv[1], "--size")) {
        run(strtoul(argv[2], NULL, 10), argv[2]);
        return 0;
    }
    for (size_t i = 0; i < (quick ? 1 : sizeof SIZES / sizeof SIZES[0]); i++) {
        pid_t pid = fork();
        int status = 0;
        if (pid == 0) {
            run(SIZES[i].n, SIZES[i].label);
            _exit(0);
        }
        if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0)
            return 1;
    }
    return 0;
}
