/* cmd_send.c - hookline send [FILE]: enqueue NDJSON events.
 *
 * One JSON object per line: {"type": "email.outbound.delivered",
 * "data": {...}, "id": "evt_…" (optional), "created_at": RFC 3339 or unix ms
 * (optional), "ordering_key": "…" (optional)}. Each line is checked; bad
 * lines are reported with their line number and skipped, the good ones are
 * submitted in transactions of CHUNK events to the outbox's inbox, which the
 * worker (hookline run, running now or started later) ingests: so sending
 * works beside a running worker. An event the worker refuses at ingestion
 * (e.g. larger than an endpoint's batch limit) is kept with the reason in
 * the outbox (hl_inbox_rejected), never dropped. Exit 1 when any line was bad. */
#define _GNU_SOURCE /* strptime, timegm */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHUNK 1000
#define MAX_LINE (1024u * 1024u)

typedef struct pending {
    hl_event events[CHUNK];
    char *owned[CHUNK][4]; /* id, type, data, ordering_key copies */
    size_t line_no[CHUNK];
    size_t n;
} pending;

static void pending_clear(pending *p)
{
    for (size_t i = 0; i < p->n; i++)
        for (int k = 0; k < 4; k++)
            free(p->owned[i][k]);
    p->n = 0;
}

/* "2026-05-07T12:00:00Z" / "2026-05-07T12:00:00.123Z" into unix ms. */
static int parse_rfc3339(const char *s, uint64_t *ms)
{
    struct tm tm;
    unsigned frac = 0;
    int n = 0;
    const char *rest;
    memset(&tm, 0, sizeof tm);
    rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest)
        return -1;
    if (*rest == '.') {
        unsigned digits = 0;
        for (rest++; *rest >= '0' && *rest <= '9'; rest++, digits++)
            if (digits < 3)
                frac = frac * 10 + (unsigned)(*rest - '0'), n++;
        while (n++ < 3)
            frac *= 10;
    }
    if (strcmp(rest, "Z") != 0)
        return -1;
    *ms = (uint64_t)timegm(&tm) * 1000u + frac;
    return 0;
}

static void report_bad(const cli *c, size_t number, const char *why)
{
    if (c->json)
        cli_print_json(json_pack("{s:I, s:s}", "line", (json_int_t)number, "error", why));
    else
        fprintf(stderr, "line %zu: %s\n", number, why);
}

/* Submit the pending events (all or nothing per call). An event the
 * checks refuse (bad type, id, data) is reported as a bad line, taken out,
 * and the rest submitted again; any other failure (storage) stops: returns
 * 1 with `err` set. */
static int flush_chunk(const cli *c, hl_outbox *ob, hl_worker *w, pending *p, size_t *enqueued,
                       size_t *bad, hl_error *err)
{
    while (p->n > 0) {
        size_t failed = 0;
        /* the file's inbox, or hookline.events in PostgreSQL */
        hl_code rc = w ? hl_worker_submit(w, p->events, p->n, NULL, &failed, err)
                       : hl_outbox_submit(ob, p->events, p->n, 0, NULL, &failed, err);
        if (rc == HL_OK) {
            *enqueued += p->n;
            break;
        }
        if (rc != HL_E_EVENT_INVALID || failed >= p->n) {
            pending_clear(p);
            return 1;
        }
        report_bad(c, p->line_no[failed], err->message);
        (*bad)++;
        for (int k = 0; k < 4; k++)
            free(p->owned[failed][k]);
        memmove(&p->events[failed], &p->events[failed + 1], (p->n - failed - 1) * sizeof p->events[0]);
        memmove(&p->owned[failed], &p->owned[failed + 1], (p->n - failed - 1) * sizeof p->owned[0]);
        memmove(&p->line_no[failed], &p->line_no[failed + 1], (p->n - failed - 1) * sizeof p->line_no[0]);
        p->n--;
    }
    pending_clear(p);
    return 0;
}

/* One line into p's next slot; returns NULL or the reason it is bad. */
static const char *take_line(char *line, size_t number, pending *p)
{
    json_error_t jerr;
    json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &jerr), *v;
    hl_event *ev = &p->events[p->n];
    char **own = p->owned[p->n];
    const char *key;
    static char reason[256];
    *ev = (hl_event)HL_EVENT_INIT;
    memset(own, 0, 4 * sizeof *own);
    if (!o) {
        snprintf(reason, sizeof reason, "not JSON: %s", jerr.text);
        return reason;
    }
    if (!json_is_object(o)) {
        json_decref(o);
        return "not a JSON object";
    }
    json_object_foreach(o, key, v) {
        if (strcmp(key, "type") && strcmp(key, "data") && strcmp(key, "id") &&
            strcmp(key, "created_at") && strcmp(key, "ordering_key")) {
            snprintf(reason, sizeof reason, "unknown field \"%.64s\"", key);
            json_decref(o);
            return reason;
        }
    }
    if (!json_is_string(v = json_object_get(o, "type"))) {
        json_decref(o);
        return "\"type\" (a string) is required";
    }
    own[1] = strdup(json_string_value(v));
    if ((v = json_object_get(o, "id")) && !json_is_null(v)) {
        if (!json_is_string(v)) {
            json_decref(o);
            free(own[1]);
            return "\"id\" must be a string";
        }
        own[0] = strdup(json_string_value(v));
    }
    if ((v = json_object_get(o, "ordering_key")) && json_is_string(v))
        own[3] = strdup(json_string_value(v));
    if ((v = json_object_get(o, "created_at"))) {
        if (json_is_integer(v) && json_integer_value(v) > 0)
            ev->created_at_ms = (uint64_t)json_integer_value(v);
        else if (!json_is_string(v) || parse_rfc3339(json_string_value(v), &ev->created_at_ms)) {
            for (int k = 0; k < 4; k++)
                free(own[k]);
            json_decref(o);
            return "\"created_at\" must be RFC 3339 UTC (…Z) or unix milliseconds";
        }
    }
    if ((v = json_object_get(o, "data")))
        own[2] = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(o);
    ev->id = own[0];
    ev->type = own[1];
    ev->data = own[2];
    ev->data_len = own[2] ? strlen(own[2]) : 0;
    ev->ordering_key = own[3];
    p->line_no[p->n] = number;
    p->n++;
    return NULL;
}

int cmd_send(cli *c, int argc, char **argv)
{
    hl_worker *w = NULL;
    static const cli_opt_spec SPEC[] = {{NULL, 0}};
    FILE *in = stdin;
    hl_outbox *ob = NULL;
    hl_error err = HL_ERROR_INIT;
    pending *p;
    char *line = NULL;
    size_t cap = 0, enqueued = 0, bad = 0, number = 0;
    ssize_t got;
    int rc = cli_parse(c, argc, argv, SPEC);
    if (rc)
        return rc;
    if (c->n_pos > 1)
        return cli_usage("usage: hookline send [FILE]   (NDJSON events; stdin when absent)");
    if (c->n_pos == 1 && strcmp(c->pos[0], "-") && !(in = fopen(c->pos[0], "r"))) {
        fprintf(stderr, "hookline: cannot open %s\n", c->pos[0]);
        return 1;
    }
    if (!(p = calloc(1, sizeof *p)) ||
        (cli_is_postgres(cli_db_path(c)) ? cli_open_worker(c, &w, NULL, NULL) != 0
                                         : hl_outbox_open(&ob, cli_db_path(c), NULL, &err) != HL_OK)) {
        free(p);
        if (in != stdin)
            fclose(in);
        return err.code ? cli_fail("opening the outbox", &err) : 1;
    }
    while ((got = getline(&line, &cap, in)) >= 0) {
        const char *why;
        number++;
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
            line[--got] = '\0';
        if (got == 0)
            continue;
        if ((size_t)got > MAX_LINE)
            why = "line longer than 1 MiB";
        else
            why = take_line(line, number, p);
        if (why) {
            bad++;
            report_bad(c, number, why);
            continue;
        }
        if (p->n == CHUNK && flush_chunk(c, ob, w, p, &enqueued, &bad, &err)) {
            rc = cli_fail("enqueueing", &err);
            break;
        }
    }
    if (!rc && flush_chunk(c, ob, w, p, &enqueued, &bad, &err))
        rc = cli_fail("enqueueing", &err);
    pending_clear(p);
    free(p);
    free(line);
    if (in != stdin)
        fclose(in);
    hl_outbox_close(ob);
    hl_worker_close(w);
    if (c->json)
        cli_print_json(json_pack("{s:I, s:I}", "enqueued", (json_int_t)enqueued, "rejected_lines",
                                 (json_int_t)bad));
    else
        fprintf(stderr, "enqueued %zu events%s", enqueued, bad ? "" : "\n");
    if (bad && !c->json)
        fprintf(stderr, ", %zu bad lines skipped\n", bad);
    return rc ? rc : bad ? 1 : 0;
}
