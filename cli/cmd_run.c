/* cmd_run.c - hookline run: the delivery worker.
 *
 * Delivers until SIGTERM/SIGINT, then drains (in-flight attempts finish or
 * time out and are recorded; nothing is lost). On a terminal, live progress
 * on stderr; otherwise (or with --json) one JSON line per attempt on stdout.
 * --metrics-addr serves Prometheus metrics; --until-idle stops when nothing
 * is pending (scripts, demos); --duration bounds the run. */
#define _DEFAULT_SOURCE
#include "cli.h"

#include "hookline/metrics_http.h"

#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

typedef struct run_state {
    cli *c;
    hl_metrics metrics;
    int log_lines;
    uint64_t delivered_attempts, failed_attempts;
} run_state;

static void on_attempt(void *user, const hl_attempt_report *r)
{
    run_state *st = user;
    int ok = r->failure == HL_FAILURE_NONE && r->status >= 200 && r->status < 300;
    char when[32];
    struct timespec now;
    hl_metrics_record_attempt(&st->metrics, ok, r->failure, r->latency_ms);
    if (ok)
        st->delivered_attempts++;
    else
        st->failed_attempts++;
    if (!st->log_lines)
        return;
    clock_gettime(CLOCK_REALTIME, &now);
    cli_time((uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u, when, sizeof when);
    /* No secrets here by construction: the report carries none. */
    cli_print_json(json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:s, s:I, s:s}", "time",
                             when, "event", r->test ? "test_attempt" : "attempt", "batch_id",
                             r->batch_id, "endpoint", r->endpoint_id, "host", r->host, "attempt",
                             (int)r->attempt, "events", (int)r->n_events, "status", r->status,
                             "failure_class", ok ? "none" : r->failure_class, "latency_ms",
                             (json_int_t)r->latency_ms, "error", r->error_message));
    fflush(stdout);
}

static size_t pending_batches(hl_engine *e)
{
    hl_engine_stats s;
    hl_engine_stats_get(e, &s);
    return s.batches[HL_BATCH_OPEN] + s.batches[HL_BATCH_HELD] + s.batches[HL_BATCH_QUEUED] +
           s.batches[HL_BATCH_IN_FLIGHT] + s.batches[HL_BATCH_RETRY_WAIT];
}

static void progress(run_state *st, hl_engine *e, double elapsed_s)
{
    hl_engine_stats s;
    hl_engine_stats_get(e, &s);
    fprintf(stderr, "\r%sdelivered%s %llu batches  %swaiting%s %zu  %sdead%s %zu  in flight %zu  "
                    "%.1f attempts/s   ",
            cli_color(st->c, "\033[32m"), cli_color(st->c, "\033[0m"),
            (unsigned long long)s.batches_delivered, cli_color(st->c, "\033[33m"),
            cli_color(st->c, "\033[0m"), s.batches[HL_BATCH_RETRY_WAIT] + s.batches[HL_BATCH_QUEUED],
            cli_color(st->c, "\033[31m"), cli_color(st->c, "\033[0m"),
            s.batches[HL_BATCH_DEAD_LETTERED], s.batches[HL_BATCH_IN_FLIGHT],
            elapsed_s > 0 ? (double)(st->delivered_attempts + st->failed_attempts) / elapsed_s : 0);
}

static uint64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

int cmd_run(cli *c, int argc, char **argv)
{
    static const cli_opt_spec SPEC[] = {
        {"metrics-addr", 1}, {"until-idle", 0}, {"duration", 1}, {"lease-ms", 1}, {"max-connections", 1}, {NULL, 0}};
    long long lease, conns;
    run_state st;
    hl_worker *w = NULL;
    hl_metrics_server *server = NULL;
    hl_error err = HL_ERROR_INIT;
    struct sigaction sa;
    long long duration;
    uint64_t start, last_tick = 0;
    int rc = cli_parse(c, argc, argv, SPEC), show_progress;
    if (rc)
        return rc;
    if ((duration = cli_opt_int(c, "duration", 0)) < 0 ||
        (lease = cli_opt_int(c, "lease-ms", 0)) < 0 ||
        (conns = cli_opt_int(c, "max-connections", 0)) < 0)
        return EXIT_USAGE;
    if (conns > 100000)
        return cli_usage("--max-connections wants 1..100000");
    c->lease_ms = (uint64_t)lease;
    c->max_connections = (unsigned int)conns;
    memset(&st, 0, sizeof st);
    st.c = c;
    hl_metrics_init(&st.metrics);
    show_progress = c->stderr_tty && !c->json;
    st.log_lines = c->json || !isatty(STDOUT_FILENO);
    if ((rc = cli_open_worker(c, &w, on_attempt, &st)) != 0)
        return rc;
    if (cli_opt(c, "metrics-addr") &&
        hl_metrics_server_start(&server, cli_opt(c, "metrics-addr"), &err) != HL_OK) {
        hl_worker_close(w);
        return cli_fail("starting the metrics server", &err);
    }
    if (server)
        fprintf(stderr, "metrics on http://%s/metrics\n", cli_opt(c, "metrics-addr"));

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    start = mono_ms();
    while (!stop_requested) {
        uint64_t now = mono_ms();
        if (hl_worker_run_once(w, 200, NULL, &err) != HL_OK) {
            /* storage codes only (407-411 in between are configuration
             * errors, e.g. a lease too short for the timeouts: fatal) */
            if (hl_worker_is_shared(w) && err.code != HL_E_STORE_SCHEMA &&
                ((err.code >= HL_E_STORE_FULL && err.code <= HL_E_STORE_BUSY) ||
                 err.code == HL_E_STORE_UNAVAILABLE)) {
                /* the database is away or refusing: say so, wait, go on */
                struct timespec pause = {0, 500 * 1000 * 1000};
                fprintf(stderr, "hookline: %s (%s); retrying\n", err.message,
                        hl_code_name(err.code));
                nanosleep(&pause, NULL);
                continue;
            }
            rc = cli_fail("delivering", &err);
            break;
        }
        if (now - last_tick >= 500) {
            last_tick = now;
            hl_metrics_update_from_engine(&st.metrics, hl_worker_engine(w));
            hl_metrics_server_publish(server, &st.metrics);
            if (show_progress)
                progress(&st, hl_worker_engine(w), (double)(now - start) / 1000.0);
        }
        if (cli_flag(c, "until-idle") && pending_batches(hl_worker_engine(w)) == 0)
            break;
        if (duration && now - start >= (uint64_t)duration * 1000u)
            break;
    }
    if (show_progress) {
        progress(&st, hl_worker_engine(w), (double)(mono_ms() - start) / 1000.0);
        fputc('\n', stderr);
    }
    /* A clean stop: what is in flight finishes (or times out) and is recorded. */
    if (hl_worker_drain(w, 30000, &err) != HL_OK && !rc)
        rc = cli_fail("draining", &err);
    hl_metrics_server_stop(server);
    hl_worker_close(w);
    return rc;
}

int cmd_migrate(cli *c, int argc, char **argv)
{
    static const cli_opt_spec SPEC[] = {{NULL, 0}};
    hl_error err = HL_ERROR_INIT;
    int from = 0, to = 0;
    int rc = cli_parse(c, argc, argv, SPEC);
    if (rc)
        return rc;
    if (!cli_is_postgres(cli_db_path(c)))
        return cli_usage("migrate wants --store postgres://... (an SQLite file migrates itself)");
    if (hl_worker_migrate(cli_db_path(c), &from, &to, &err) != HL_OK)
        return cli_fail("migrating the PostgreSQL store", &err);
    if (c->json)
        cli_print_json(json_pack("{s:i, s:i}", "from_version", from, "to_version", to));
    else if (from == to)
        fprintf(stderr, "schema hookline is at version %d: nothing to do\n", to);
    else
        fprintf(stderr, "schema hookline migrated from version %d to %d\n", from, to);
    return 0;
}
