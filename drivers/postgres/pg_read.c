/*
 * pg_read.c - endpoint rows, commands, pruning and the reads behind
 * status / attempts / dead-letter listings (hookline/pgbox.h).
 */
#include "pg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static hl_code code_or(hl_error *err, hl_code dflt)
{
    return err && err->code ? err->code : dflt;
}

/* Run a statement that returns nothing we need; count affected rows into *changed. */
static hl_code run(hl_pg *pg, const char *sql, int n, const char *const *vals, const char *what,
                   int *changed, hl_error *err)
{
    PGresult *r;
    hl_code code;
    if ((code = hlp_ensure(pg, err)) != HL_OK)
        return code;
    if ((r = hlp_exec(pg, sql, n, vals, NULL, NULL, what, err)) == NULL)
        return code_or(err, HL_E_STORE_IO);
    if (changed)
        *changed = atoi(PQcmdTuples(r));
    PQclear(r);
    return HL_OK;
}

static PGresult *query(hl_pg *pg, const char *sql, int n, const char *const *vals,
                       const char *what, hl_error *err)
{
    if (hlp_ensure(pg, err) != HL_OK)
        return NULL;
    return hlp_exec(pg, sql, n, vals, NULL, NULL, what, err);
}

/* -------------------------------------------------------------- endpoints */

hl_code hl_pg_endpoint_put(hl_pg *pg, const char *endpoint_id, const hl_endpoint_config *cfg,
                           uint64_t now_ms, hl_error *err)
{
    char *json = NULL, now[24], disabled[4];
    size_t len = 0;
    const char *vals[4];
    hl_code code;
    if (pg == NULL || endpoint_id == NULL || endpoint_id[0] == '\0' || cfg == NULL)
        return hlp_fail(err, HL_E_INVALID_ARGUMENT, "postgres: endpoint_put: NULL argument");
    if ((code = hl_endpoint_config_to_json(cfg, 0, &json, &len, err)) != HL_OK)
        return code;
    hlp_u64(now, now_ms);
    snprintf(disabled, sizeof disabled, "%d",
             hl_endpoint_config_engine(cfg)->active ? HL_DISABLED_NONE : HL_DISABLED_USER);
    vals[0] = endpoint_id;
    vals[1] = json;
    vals[2] = disabled;
    vals[3] = now;
    /* updated_ms moves forward on every change, so owners notice it */
    code = run(pg,
               "INSERT INTO hookline.endpoints (id, config, disabled, created_ms, updated_ms)"
               " VALUES ($1, $2, $3, $4, $4) ON CONFLICT (id) DO UPDATE SET config ="
               " excluded.config, removed = false, updated_ms = greatest(excluded.updated_ms,"
               " hookline.endpoints.updated_ms + 1)",
               4, vals, "writing an endpoint", NULL, err);
    hl_endpoint_config_json_free(json);
    return code;
}

hl_code hl_pg_endpoint_remove(hl_pg *pg, const char *endpoint_id, hl_error *err)
{
    const char *vals[1] = {endpoint_id};
    int changed = 0;
    hl_code code;
    if (pg == NULL || endpoint_id == NULL)
        return hlp_fail(err, HL_E_INVALID_ARGUMENT, "postgres: endpoint_remove: NULL argument");
    code = run(pg, "UPDATE hookline.endpoints SET removed = true WHERE id = $1 AND NOT removed", 1,
               vals, "removing an endpoint", &changed, err);
    if (code == HL_OK && !changed)
        return hlp_fail(err, HL_E_ENDPOINT_UNKNOWN, "postgres: no endpoint \"%.64s\"", endpoint_id);
    return code;
}

#define ENDPOINT_SELECT                                                                          \
    "SELECT id, config, disabled, created_ms, updated_ms FROM hookline.endpoints WHERE NOT removed"

hl_code hl_pg_endpoint_get(hl_pg *pg, const char *endpoint_id, hl_endpoint_config **out,
                           hl_disabled_reason *disabled, hl_error *err)
{
    const char *vals[1] = {endpoint_id};
    hl_code code = HL_OK;
    PGresult *r;
    if (pg == NULL || endpoint_id == NULL || out == NULL)
        return hlp_fail(err, HL_E_INVALID_ARGUMENT, "postgres: endpoint_get: NULL argument");
    if ((r = query(pg, ENDPOINT_SELECT " AND id = $1", 1, vals, "reading an endpoint", err)) ==
        NULL)
        return code_or(err, HL_E_STORE_IO);
    if (PQntuples(r) == 0) {
        code = hlp_fail(err, HL_E_ENDPOINT_UNKNOWN, "postgres: no endpoint \"%.64s\"", endpoint_id);
    } else {
        const char *cfg = PQgetvalue(r, 0, 1);
        code = hl_endpoint_config_parse(out, cfg, strlen(cfg), err);
        if (code == HL_OK && disabled)
            *disabled = (hl_disabled_reason)hlp_get_int(r, 0, 2);
    }
    PQclear(r);
    return code;
}

hl_code hl_pg_endpoint_each(hl_pg *pg, hl_outbox_endpoint_fn fn, void *user, hl_error *err)
{
    hl_code code = HL_OK;
    PGresult *r;
    if (pg == NULL || fn == NULL)
        return hlp_fail(err, HL_E_INVALID_ARGUMENT, "postgres: endpoint_each: NULL argument");
    if ((r = query(pg, ENDPOINT_SELECT " ORDER BY seq", 0, NULL, "listing endpoints", err)) == NULL)
        return code_or(err, HL_E_STORE_IO);
    for (int i = 0; i < PQntuples(r); i++) {
        hl_outbox_endpoint ep;
        ep.endpoint_id = PQgetvalue(r, i, 0);
        ep.config_json = PQgetvalue(r, i, 1);
        ep.config_len = (size_t)PQgetlength(r, i, 1);
        ep.disabled = (hl_disabled_reason)hlp_get_int(r, i, 2);
        ep.created_ms = hlp_get_u64(r, i, 3);
        ep.updated_ms = hlp_get_u64(r, i, 4);
        if (fn(user, &ep) != 0) {
            code = hlp_fail(err, HL_E_CALLBACK, "postgres: the endpoint callback stopped the walk");
            break;
        }
    }
    PQclear(r);
    return code;
}

/* --------------------------------------------------------------- commands */

hl_code hl_pg_command_submit(hl_pg *pg, hl_outbox_command_kind kind, const char *target,
                             uint64_t now_ms, hl_error *err)
{
    char k[8], now[24];
    const char *vals[3];
    int changed = 0;
    hl_code code;
    if (pg == NULL || (kind != HL_COMMAND_REDRIVE && kind != HL_COMMAND_PURGE))
        return hlp_fail(err, HL_E_INVALID_ARGUMENT,
                        "postgres: command: only redrive and purge are queued (owners watch "
                        "endpoint rows)");
    snprintf(k, sizeof k, "%d", (int)kind);
    hlp_u64(now, now_ms);
    vals[0] = k;
    vals[1] = target;
    vals[2] = now;
    /* to the owner of the batch's endpoint; for "all", one per endpoint with dead letters */
    code = run(pg,
               target ? "INSERT INTO hookline.commands (kind, endpoint_id, target, submitted_ms)"
                        " SELECT $1, endpoint_id, $2, $3 FROM hookline.batches WHERE id = $2"
                      : "INSERT INTO hookline.commands (kind, endpoint_id, target, submitted_ms)"
                        " SELECT DISTINCT $1::integer, endpoint_id, $2::text, $3::bigint FROM"
                        " hookline.batches WHERE state = 6",
               3, vals, "queueing a command", &changed, err);
    if (code == HL_OK && target && !changed)
        return hlp_fail(err, HL_E_BATCH_UNKNOWN, "postgres: no batch \"%.40s\"", target);
    return code;
}

static int stops_commands(hl_code rc)
{
    return rc == HL_E_STORE || rc == HL_E_ENGINE_FAILED || rc == HL_E_STORE_UNAVAILABLE ||
           (rc >= HL_E_STORE_FULL && rc <= HL_E_STORE_SCHEMA);
}

hl_code hl_pg_commands_apply(hl_pg *pg, hl_outbox_command_fn fn, void *user, size_t max,
                             size_t *applied, size_t *failed, hl_error *err)
{
    size_t done = 0, bad = 0;
    hl_code code = HL_OK;
    if (applied)
        *applied = 0;
    if (failed)
        *failed = 0;
    if (pg == NULL || fn == NULL)
        return hlp_fail(err, HL_E_INVALID_ARGUMENT, "postgres: commands: NULL argument");
    if (max == 0)
        max = 100;
    while (done < max) {
        const char *vals[1] = {pg->worker_id};
        char seq[24], target[HL_ENGINE_ID_MAX];
        hl_outbox_command_kind kind;
        int has_target;
        hl_error why = HL_ERROR_INIT;
        hl_code frc;
        PGresult *r = query(pg,
                            "SELECT c.seq, c.kind, c.target FROM hookline.commands c JOIN"
                            " hookline.endpoints e ON e.id = c.endpoint_id WHERE e.owner = $1"
                            " ORDER BY c.seq LIMIT 1",
                            1, vals, "reading commands", err);
        if (r == NULL)
            return code_or(err, HL_E_STORE_IO);
        if (PQntuples(r) == 0) {
            PQclear(r);
            break;
        }
        snprintf(seq, sizeof seq, "%s", PQgetvalue(r, 0, 0));
        kind = (hl_outbox_command_kind)hlp_get_int(r, 0, 1);
        has_target = !PQgetisnull(r, 0, 2);
        snprintf(target, sizeof target, "%s", PQgetvalue(r, 0, 2));
        PQclear(r);
        frc = kind == HL_COMMAND_REDRIVE || kind == HL_COMMAND_PURGE
                  ? fn(user, kind, has_target ? target : NULL, &why)
                  : HL_E_INVALID_ARGUMENT;
        if (stops_commands(frc)) {
            code = hlp_fail(err, frc, "%s", why.message);
            break;
        }
        bad += frc != HL_OK;
        {
            const char *dv[1] = {seq};
            if ((code = run(pg, "DELETE FROM hookline.commands WHERE seq = $1", 1, dv,
                            "deleting a command", NULL, err)) != HL_OK)
                break;
        }
        done++;
    }
    if (applied)
        *applied = done;
    if (failed)
        *failed = bad;
    return code;
}

hl_code hl_pg_prune(hl_pg *pg, uint64_t now_ms, size_t *pruned, hl_error *err)
{
    static const char *const SQL[3] = {
        "DELETE FROM hookline.attempts WHERE seq IN (SELECT seq FROM hookline.attempts WHERE"
        " at_ms < $1 ORDER BY at_ms LIMIT 5000)",
        "DELETE FROM hookline.batches WHERE seq IN (SELECT seq FROM hookline.batches WHERE"
        " state = 5 AND settled_ms < $1 ORDER BY settled_ms LIMIT 5000)",
        /* workers gone for a day */
        "DELETE FROM hookline.workers WHERE lease_until < now() - interval '1 day' AND $1::bigint"
        " IS NOT NULL",
    };
    size_t n = 0;
    if (pg == NULL)
        return hlp_fail(err, HL_E_INVALID_ARGUMENT, "postgres: prune: NULL argument");
    for (int i = 0; i < 3; i++) {
        uint64_t keep = i == 0 ? pg->opts.attempt_retention_ms : pg->opts.delivered_retention_ms;
        char cutoff[24];
        const char *vals[1] = {cutoff};
        int changed = 0;
        hl_code code;
        hlp_u64(cutoff, now_ms > keep ? now_ms - keep : 0);
        if ((code = run(pg, SQL[i], 1, vals, "pruning", &changed, err)) != HL_OK)
            return code;
        n += (size_t)changed;
    }
    if (pruned)
        *pruned = n;
    return HL_OK;
}

/* ------------------------------------------------------------------ reads */

#define BATCH_COLS                                                                               \
    "id, endpoint_id, state, ordering_key, n_events, body_len, created_ms, deadline_ms, "       \
    "close_at_ms, next_attempt_ms, attempts, total_attempts, redrives, last_status, "          \
    "last_failure, dead_reason, settled_ms"

static void read_batch(const PGresult *r, int i, hl_outbox_batch *b)
{
    memset(b, 0, sizeof *b);
    snprintf(b->batch_id, sizeof b->batch_id, "%s", PQgetvalue(r, i, 0));
    snprintf(b->endpoint_id, sizeof b->endpoint_id, "%s", PQgetvalue(r, i, 1));
    b->state = (hl_batch_state)hlp_get_int(r, i, 2);
    snprintf(b->ordering_key, sizeof b->ordering_key, "%s", PQgetvalue(r, i, 3));
    b->n_events = (uint32_t)hlp_get_u64(r, i, 4);
    b->body_len = (size_t)hlp_get_u64(r, i, 5);
    b->created_ms = hlp_get_u64(r, i, 6);
    b->deadline_ms = hlp_get_u64(r, i, 7);
    b->close_at_ms = hlp_get_u64(r, i, 8);
    b->next_attempt_ms = hlp_get_u64(r, i, 9);
    b->attempts = (unsigned int)hlp_get_u64(r, i, 10);
    b->total_attempts = (unsigned int)hlp_get_u64(r, i, 11);
    b->redrives = (unsigned int)hlp_get_u64(r, i, 12);
    b->last_status = hlp_get_int(r, i, 13);
    b->last_failure = (hl_failure)hlp_get_int(r, i, 14);
    snprintf(b->dead_reason, sizeof b->dead_reason, "%s", PQgetvalue(r, i, 15));
    b->settled_ms = hlp_get_u64(r, i, 16);
}

hl_code hl_pg_batch_get(hl_pg *pg, const char *batch_id, hl_outbox_batch *out, hl_error *err)
{
    const char *vals[1] = {batch_id};
    hl_code code = HL_OK;
    PGresult *r;
    if (pg == NULL || batch_id == NULL || out == NULL)
        return hlp_fail(err, HL_E_INVALID_ARGUMENT, "postgres: batch_get: NULL argument");
    r = query(pg,
              "SELECT " BATCH_COLS ", (SELECT count(*) FROM hookline.batch_events e WHERE"
              " e.batch_id = b.id), (SELECT coalesce(sum(length(json)), 0) FROM"
              " hookline.batch_events e WHERE e.batch_id = b.id) FROM hookline.batches b"
              " WHERE id = $1",
              1, vals, "reading a batch", err);
    if (r == NULL)
        return code_or(err, HL_E_STORE_IO);
    if (PQntuples(r) == 0) {
        code = hlp_fail(err, HL_E_BATCH_UNKNOWN, "postgres: no batch \"%.40s\"", batch_id);
    } else {
        read_batch(r, 0, out);
        if (out->state == HL_BATCH_OPEN) {
            uint32_t n = (uint32_t)hlp_get_u64(r, 0, 17);
            out->n_events = n;
            out->body_len = 2 + (size_t)hlp_get_u64(r, 0, 18) + (n ? n - 1 : 0);
        }
    }
    PQclear(r);
    return code;
}

hl_code hl_pg_batch_body(hl_pg *pg, const char *batch_id, char **out, size_t *len, hl_error *err)
{
    const char *vals[1] = {batch_id};
    hl_code code = HL_OK;
    PGresult *r;
    if (pg == NULL || batch_id == NULL || out == NULL || len == NULL)
        return hlp_fail(err, HL_E_INVALID_ARGUMENT, "postgres: batch_body: NULL argument");
    r = query(pg,
              "SELECT state, body, (SELECT '[' || coalesce(string_agg(convert_from(json, 'UTF8'),"
              " ',' ORDER BY seq), '') || ']' FROM hookline.batch_events e WHERE e.batch_id ="
              " b.id) FROM hookline.batches b WHERE id = $1",
              1, vals, "reading a body", err);
    if (r == NULL)
        return code_or(err, HL_E_STORE_IO);
    if (PQntuples(r) == 0) {
        code = hlp_fail(err, HL_E_BATCH_UNKNOWN, "postgres: no batch \"%.40s\"", batch_id);
    } else if (hlp_get_int(r, 0, 0) == HL_BATCH_OPEN) {
        size_t n = (size_t)PQgetlength(r, 0, 2);
        if ((*out = malloc(n + 1)) == NULL) {
            code = hlp_fail(err, HL_E_NOMEM, "postgres: out of memory");
        } else {
            memcpy(*out, PQgetvalue(r, 0, 2), n + 1);
            *len = n;
        }
    } else if ((*out = hlp_get_bytea(r, 0, 1, len)) == NULL) {
        code = hlp_fail(err, HL_E_BATCH_UNKNOWN, "postgres: batch \"%.40s\" has no body (delivered)",
                        batch_id);
    }
    PQclear(r);
    return code;
}

hl_code hl_pg_attempts(hl_pg *pg, const hl_outbox_attempt_query *q, hl_outbox_attempt_fn fn,
                       void *user, hl_error *err)
{
    static const hl_outbox_attempt_query all = HL_OUTBOX_ATTEMPT_QUERY_INIT;
    char since[24], lim[24];
    const char *vals[4];
    hl_code code = HL_OK;
    PGresult *r;
    if (pg == NULL || fn == NULL)
        return hlp_fail(err, HL_E_INVALID_ARGUMENT, "postgres: attempts: NULL argument");
    if (q == NULL)
        q = &all;
    if (q->version != HL_OUTBOX_QUERY_VERSION)
        return hlp_fail(err, HL_E_INVALID_ARGUMENT, "postgres: attempt query version %u",
                        q->version);
    hlp_u64(since, q->since_ms);
    hlp_u64(lim, q->limit);
    vals[0] = since;
    vals[1] = q->endpoint_id;
    vals[2] = q->batch_id;
    vals[3] = q->limit ? lim : NULL;
    r = query(pg,
              q->newest_first
                  ? "SELECT batch_id, endpoint_id, attempt, at_ms, sent_ms, status, failure,"
                    " delivered, latency_ms, excerpt FROM hookline.attempts WHERE at_ms >= $1 AND"
                    " ($2::text IS NULL OR endpoint_id = $2) AND ($3::text IS NULL OR batch_id ="
                    " $3) ORDER BY at_ms DESC, seq DESC LIMIT $4::bigint"
                  : "SELECT batch_id, endpoint_id, attempt, at_ms, sent_ms, status, failure,"
                    " delivered, latency_ms, excerpt FROM hookline.attempts WHERE at_ms >= $1 AND"
                    " ($2::text IS NULL OR endpoint_id = $2) AND ($3::text IS NULL OR batch_id ="
                    " $3) ORDER BY at_ms, seq LIMIT $4::bigint",
              4, vals, "listing attempts", err);
    if (r == NULL)
        return code_or(err, HL_E_STORE_IO);
    for (int i = 0; i < PQntuples(r); i++) {
        hl_attempt_record a;
        char *excerpt;
        size_t elen = 0;
        int stop;
        excerpt = hlp_get_bytea(r, i, 9, &elen);
        a.batch_id = PQgetvalue(r, i, 0);
        a.endpoint_id = PQgetvalue(r, i, 1);
        a.attempt = (unsigned int)hlp_get_u64(r, i, 2);
        a.at_ms = hlp_get_u64(r, i, 3);
        a.sent_ms = hlp_get_u64(r, i, 4);
        a.status = hlp_get_int(r, i, 5);
        a.failure = (hl_failure)hlp_get_int(r, i, 6);
        a.delivered = hlp_get_int(r, i, 7);
        a.latency_ms = hlp_get_u64(r, i, 8);
        a.excerpt = excerpt;
        a.excerpt_len = elen;
        stop = fn(user, &a);
        free(excerpt);
        if (stop != 0) {
            code = hlp_fail(err, HL_E_CALLBACK, "postgres: the attempt callback stopped the walk");
            break;
        }
    }
    PQclear(r);
    return code;
}

hl_code hl_pg_dead_letters(hl_pg *pg, const char *endpoint_id, size_t offset, size_t limit,
                           hl_outbox_batch_fn fn, void *user, size_t *total, hl_error *err)
{
    char off[24], lim[24];
    const char *vals[3];
    hl_code code = HL_OK;
    PGresult *r;
    if (pg == NULL || fn == NULL)
        return hlp_fail(err, HL_E_INVALID_ARGUMENT, "postgres: dead_letters: NULL argument");
    hlp_u64(off, offset);
    hlp_u64(lim, limit);
    vals[0] = endpoint_id;
    vals[1] = limit ? lim : NULL;
    vals[2] = off;
    if (total) {
        r = query(pg,
                  "SELECT count(*) FROM hookline.batches WHERE state = 6 AND ($1::text IS NULL OR"
                  " endpoint_id = $1)",
                  1, vals, "counting dead letters", err);
        if (r == NULL)
            return code_or(err, HL_E_STORE_IO);
        *total = (size_t)hlp_get_u64(r, 0, 0);
        PQclear(r);
    }
    r = query(pg,
              "SELECT " BATCH_COLS " FROM hookline.batches WHERE state = 6 AND ($1::text IS NULL"
              " OR endpoint_id = $1) ORDER BY settled_ms, seq LIMIT $2::bigint OFFSET $3::bigint",
              3, vals, "listing dead letters", err);
    if (r == NULL)
        return code_or(err, HL_E_STORE_IO);
    for (int i = 0; i < PQntuples(r); i++) {
        hl_outbox_batch b;
        read_batch(r, i, &b);
        if (fn(user, &b) != 0) {
            code = hlp_fail(err, HL_E_CALLBACK, "postgres: the dead-letter callback stopped the walk");
            break;
        }
    }
    PQclear(r);
    return code;
}

hl_code hl_pg_counts_get(hl_pg *pg, hl_outbox_counts *out, hl_error *err)
{
    PGresult *r;
    if (pg == NULL || out == NULL)
        return hlp_fail(err, HL_E_INVALID_ARGUMENT, "postgres: counts: NULL argument");
    memset(out, 0, sizeof *out);
    r = query(pg, "SELECT state, count(*) FROM hookline.batches GROUP BY state", 0, NULL,
              "counting batches", err);
    if (r == NULL)
        return code_or(err, HL_E_STORE_IO);
    for (int i = 0; i < PQntuples(r); i++) {
        int s = hlp_get_int(r, i, 0);
        if (s >= 0 && s < HL_BATCH__SENTINEL)
            out->batches[s] = (size_t)hlp_get_u64(r, i, 1);
    }
    PQclear(r);
    r = query(pg,
              "SELECT (SELECT count(*) FROM hookline.events) + (SELECT count(*) FROM"
              " hookline.pending), (SELECT count(*) FROM hookline.rejected), (SELECT count(*)"
              " FROM hookline.commands), (SELECT count(*) FROM hookline.batch_events), (SELECT"
              " count(*) FROM hookline.attempts), (SELECT count(*) FROM hookline.endpoints WHERE"
              " NOT removed)",
              0, NULL, "counting", err);
    if (r == NULL)
        return code_or(err, HL_E_STORE_IO);
    out->inbox = (size_t)hlp_get_u64(r, 0, 0);
    out->inbox_rejected = (size_t)hlp_get_u64(r, 0, 1);
    out->commands = (size_t)hlp_get_u64(r, 0, 2);
    out->open_events = (size_t)hlp_get_u64(r, 0, 3);
    out->attempts = (size_t)hlp_get_u64(r, 0, 4);
    out->endpoints = (size_t)hlp_get_u64(r, 0, 5);
    PQclear(r);
    return HL_OK;
}
