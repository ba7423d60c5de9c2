/* cmd_status.c - hookline status BATCH_ID, hookline attempts, hookline dlq. */
#define _DEFAULT_SOURCE
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static json_t *batch_json(const hl_outbox_batch *b)
{
    char created[32], settled[32], next[32];
    return json_pack("{s:s, s:s, s:s, s:i, s:I, s:i, s:i, s:i, s:i, s:s, s:s, s:s, s:s, s:s}",
                     "batch_id", b->batch_id, "endpoint", b->endpoint_id, "state",
                     hl_batch_state_name(b->state), "events", (int)b->n_events, "bytes",
                     (json_int_t)b->body_len, "attempts", (int)b->attempts, "total_attempts",
                     (int)b->total_attempts, "redrives", (int)b->redrives, "last_status",
                     b->last_status, "last_failure", hl_failure_class_name(b->last_failure),
                     "created_at", cli_time(b->created_ms, created, sizeof created),
                     "next_attempt_at", cli_time(b->next_attempt_ms, next, sizeof next),
                     "settled_at", cli_time(b->settled_ms, settled, sizeof settled),
                     "dead_reason", b->dead_reason);
}

static void print_batch(const cli *c, const hl_outbox_batch *b)
{
    char t[32];
    if (c->json) {
        cli_print_json(batch_json(b));
        return;
    }
    printf("%s  %-14s endpoint %s, %u events, %u attempts (%u in all), last %s %d, created %s%s%s\n",
           b->batch_id, hl_batch_state_name(b->state), b->endpoint_id, (unsigned)b->n_events,
           b->attempts, b->total_attempts, hl_failure_class_name(b->last_failure), b->last_status,
           cli_time(b->created_ms, t, sizeof t), b->dead_reason[0] ? ", dead: " : "",
           b->dead_reason);
}

struct attempt_ctx {
    const cli *c;
    size_t n;
};

static int print_attempt(void *user, const hl_attempt_record *r)
{
    struct attempt_ctx *a = user;
    char t[32];
    a->n++;
    if (a->c->json) {
        cli_print_json(json_pack("{s:s, s:s, s:i, s:s, s:i, s:s, s:b, s:I, s:s%}", "batch_id",
                                 r->batch_id, "endpoint", r->endpoint_id, "attempt",
                                 (int)r->attempt, "time", cli_time(r->at_ms, t, sizeof t),
                                 "response_code", r->status, "failure_code",
                                 hl_failure_class_name(r->failure), "delivered", r->delivered,
                                 "latency_ms", (json_int_t)r->latency_ms, "response_excerpt",
                                 r->excerpt ? r->excerpt : "", r->excerpt ? r->excerpt_len : 0));
    } else {
        printf("%s  %s  %-16s #%u  %3d %-8s %6llu ms%s\n", cli_time(r->at_ms, t, sizeof t),
               r->batch_id, r->endpoint_id, r->attempt, r->status,
               hl_failure_class_name(r->failure), (unsigned long long)r->latency_ms,
               r->delivered ? "  delivered" : "");
    }
    return 0;
}

int cmd_status(cli *c, int argc, char **argv)
{
    static const cli_opt_spec SPEC[] = {{NULL, 0}};
    hl_worker *w = NULL;
    hl_outbox_batch b;
    hl_error err = HL_ERROR_INIT;
    hl_outbox_attempt_query q = HL_OUTBOX_ATTEMPT_QUERY_INIT;
    struct attempt_ctx a = {c, 0};
    int rc = cli_parse(c, argc, argv, SPEC);
    if (rc)
        return rc;
    if (c->n_pos != 1)
        return cli_usage("usage: hookline status BATCH_ID");
    if ((rc = cli_open_worker(c, &w, NULL, NULL)) != 0)
        return rc;
    if (hl_worker_batch_get(w, c->pos[0], &b, &err) != HL_OK) {
        rc = cli_fail("batch status", &err);
    } else {
        print_batch(c, &b);
        q.batch_id = c->pos[0];
        if (hl_worker_attempts(w, &q, print_attempt, &a, &err) != HL_OK)
            rc = cli_fail("reading attempts", &err);
    }
    hl_worker_close(w);
    return rc;
}

int cmd_attempts(cli *c, int argc, char **argv)
{
    static const cli_opt_spec SPEC[] = {
        {"endpoint", 1}, {"batch", 1}, {"since", 1}, {"limit", 1}, {NULL, 0}};
    hl_worker *w = NULL;
    hl_error err = HL_ERROR_INIT;
    hl_outbox_attempt_query q = HL_OUTBOX_ATTEMPT_QUERY_INIT;
    struct attempt_ctx a = {c, 0};
    long long since, limit;
    int rc = cli_parse(c, argc, argv, SPEC);
    if (rc)
        return rc;
    /* --since is in seconds before now: "the last hour" is --since 3600. */
    if ((since = cli_opt_int(c, "since", 0)) < 0 || (limit = cli_opt_int(c, "limit", 100)) < 0)
        return EXIT_USAGE;
    if ((rc = cli_open_worker(c, &w, NULL, NULL)) != 0)
        return rc;
    q.endpoint_id = cli_opt(c, "endpoint");
    q.batch_id = cli_opt(c, "batch");
    q.since_ms = since ? hl_worker_now(w) - (uint64_t)since * 1000u : 0;
    q.limit = (size_t)limit;
    q.newest_first = 1;
    if (hl_worker_attempts(w, &q, print_attempt, &a, &err) != HL_OK)
        rc = cli_fail("reading attempts", &err);
    else if (!a.n && !c->json)
        fprintf(stderr, "no attempts recorded\n");
    hl_worker_close(w);
    return rc;
}

static int print_dead(void *user, const hl_outbox_batch *b)
{
    print_batch(user, b);
    return 0;
}

int cmd_dlq(cli *c, int argc, char **argv)
{
    static const cli_opt_spec SPEC[] = {{"endpoint", 1}, {"limit", 1}, {"all", 0}, {NULL, 0}};
    hl_worker *w = NULL;
    hl_error err = HL_ERROR_INIT;
    const char *verb, *batch;
    long long limit;
    size_t total = 0, n = 0;
    int rc = cli_parse(c, argc, argv, SPEC);
    if (rc)
        return rc;
    if (c->n_pos < 1)
        return cli_usage("usage: hookline dlq list|show|redrive|purge [BATCH_ID|--all]");
    verb = c->pos[0];
    batch = c->n_pos > 1 ? c->pos[1] : NULL;
    if ((limit = cli_opt_int(c, "limit", 0)) < 0)
        return EXIT_USAGE;
    if ((!strcmp(verb, "redrive") || !strcmp(verb, "purge")) && !batch && !cli_flag(c, "all"))
        return cli_usage("hookline dlq %s needs a batch id, or --all", verb);
    if (!strcmp(verb, "show") && !batch)
        return cli_usage("hookline dlq show needs a batch id");
    if ((rc = cli_open_worker(c, &w, NULL, NULL)) != 0)
        return rc;
    if (!strcmp(verb, "list")) {
        if (hl_worker_dead_letters(w, cli_opt(c, "endpoint"), 0, (size_t)limit,
                                   print_dead, c, &total, &err) != HL_OK)
            rc = cli_fail("listing dead letters", &err);
        else if (!c->json)
            fprintf(stderr, "%zu dead-lettered batch(es)\n", total);
    } else if (!strcmp(verb, "show")) {
        hl_outbox_batch b;
        char *body = NULL;
        size_t len = 0;
        if (hl_worker_batch_get(w, batch, &b, &err) != HL_OK ||
            hl_worker_batch_body(w, batch, &body, &len, &err) != HL_OK) {
            rc = cli_fail("reading the batch", &err);
        } else if (c->json) {
            json_t *o = batch_json(&b);
            json_object_set_new(o, "body", json_loadb(body, len, 0, NULL));
            cli_print_json(o);
        } else {
            print_batch(c, &b);
            fwrite(body, 1, len, stdout);
            putchar('\n');
        }
        free(body);
    } else if (!strcmp(verb, "redrive")) {
        if (hl_worker_redrive(w, batch, &n, &err) != HL_OK)
            rc = cli_fail("redriving", &err);
        else if (c->json)
            cli_print_json(json_pack("{s:I}", "redriven", (json_int_t)n));
        else
            fprintf(stderr, "%zu batch(es) queued again (same batch id, fresh attempt budget)\n", n);
    } else if (!strcmp(verb, "purge")) {
        if (hl_worker_purge(w, batch, &err) != HL_OK)
            rc = cli_fail("purging", &err);
    } else {
        rc = cli_usage("unknown dlq command '%s'", verb);
    }
    hl_worker_close(w);
    return rc;
}
