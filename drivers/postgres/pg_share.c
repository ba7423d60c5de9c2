/*
 * pg_share.c - how many workers share one database: leases, endpoint
 * ownership (claim, restore, release), routing the application's events
 * and ingesting them into the owner's engine (hookline/pgbox.h).
 */
#define _POSIX_C_SOURCE 200809L /* gethostname */

#include "pg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Bounded retries of a self-contained transaction on serialization failure / deadlock. */
#define RETRIES 3

static hl_code code_or(hl_error *err, hl_code dflt)
{
    return err && err->code ? err->code : dflt;
}

/* ------------------------------------------------------------- loaded set */

hlp_loaded *hlp_loaded_find(hl_pg *pg, const char *id)
{
    for (size_t i = 0; i < pg->n_loaded; i++)
        if (strcmp(pg->loaded[i].id, id) == 0)
            return &pg->loaded[i];
    return NULL;
}

void hlp_loaded_drop(hl_pg *pg, const char *id)
{
    hlp_loaded *l = hlp_loaded_find(pg, id);
    if (l)
        *l = pg->loaded[--pg->n_loaded];
}

static int loaded_put(hl_pg *pg, const char *id, uint64_t updated_ms)
{
    hlp_loaded *l = hlp_loaded_find(pg, id);
    if (l == NULL) {
        if (pg->n_loaded == pg->cap_loaded) {
            size_t cap = pg->cap_loaded ? pg->cap_loaded * 2 : 16;
            hlp_loaded *n = realloc(pg->loaded, cap * sizeof *n);
            if (n == NULL)
                return -1;
            pg->loaded = n;
            pg->cap_loaded = cap;
        }
        l = &pg->loaded[pg->n_loaded++];
        snprintf(l->id, sizeof l->id, "%s", id);
    }
    l->updated_ms = updated_ms;
    return 0;
}

/* ------------------------------------------------------------------ lease */

hl_code hl_pg_renew(hl_pg *pg, hl_error *err)
{
    char lease[24], pid[24], host[64] = "host";
    const char *vals[4];
    PGresult *r;
    uint64_t t0;
    hl_code code;
    if (pg == NULL)
        return hlp_fail(err, HL_E_INVALID_ARGUMENT, "postgres: renew: NULL handle");
    if ((code = hlp_ensure(pg, err)) != HL_OK)
        return code;
    /* read BEFORE the request: the local lease ends no later than the
     * database's (now() there is taken after this moment) */
    t0 = pg->opts.mono_ms(pg->opts.mono_user);
    hlp_u64(lease, pg->opts.lease_ms);
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    vals[0] = pg->worker_id;
    vals[1] = host;
    vals[2] = pid;
    vals[3] = lease;
    r = hlp_exec(pg,
                 "INSERT INTO hookline.workers (worker_id, host, pid, lease_until) VALUES ($1, $2,"
                 " $3, now() + $4 * interval '1 millisecond') ON CONFLICT (worker_id) DO UPDATE"
                 " SET lease_until = excluded.lease_until",
                 4, vals, NULL, NULL, "renewing the lease", err);
    if (r == NULL)
        return code_or(err, HL_E_STORE_IO);
    PQclear(r);
    pg->lease_start = t0;
    pg->lease_until = t0 + pg->opts.lease_ms;
    return HL_OK;
}

int hl_pg_renew_due(const hl_pg *pg)
{
    uint64_t now;
    if (pg == NULL)
        return 0;
    if (pg->lease_until == 0)
        return 1;
    now = pg->opts.mono_ms(pg->opts.mono_user);
    return now >= pg->lease_start + pg->opts.lease_ms / 3;
}

uint64_t hl_pg_lease_left(const hl_pg *pg)
{
    uint64_t now;
    if (pg == NULL || pg->lease_until == 0)
        return 0;
    now = pg->opts.mono_ms(pg->opts.mono_user);
    return now < pg->lease_until ? pg->lease_until - now : 0;
}

/* ------------------------------------------------------- claim & restore */

/* Restore the endpoint's live and dead-lettered batches, oldest first. */
static hl_code restore_batches(hl_pg *pg, hl_engine *engine, const char *endpoint_id,
                               uint64_t now_ms, size_t *count, hl_error *err)
{
    const char *vals[1] = {endpoint_id};
    hl_code code = HL_OK;
    PGresult *r = hlp_exec(
        pg,
        "SELECT id, state, ordering_key, n_events, created_ms, deadline_ms, close_at_ms,"
        " next_attempt_ms, attempts, total_attempts, redrives, last_status, last_failure,"
        " dead_reason, settled_ms, body, (SELECT string_agg(convert_from(json, 'UTF8'), ','"
        " ORDER BY seq) FROM hookline.batch_events ev WHERE ev.batch_id = b.id),"
        " (SELECT count(*) FROM hookline.batch_events ev WHERE ev.batch_id = b.id)"
        " FROM hookline.batches b WHERE endpoint_id = $1 AND state <> 5 ORDER BY seq",
        1, vals, NULL, NULL, "reading batches", err);
    if (r == NULL)
        return code_or(err, HL_E_STORE_IO);
    for (int i = 0; i < PQntuples(r) && code == HL_OK; i++) {
        hl_batch_info bi;
        char *body = NULL;
        size_t len = 0;
        memset(&bi, 0, sizeof bi);
        bi.batch_id = PQgetvalue(r, i, 0);
        bi.endpoint_id = endpoint_id;
        bi.state = (hl_batch_state)hlp_get_int(r, i, 1);
        bi.ordering_key = PQgetisnull(r, i, 2) ? NULL : PQgetvalue(r, i, 2);
        bi.n_events = (uint32_t)hlp_get_u64(r, i, 3);
        bi.created_ms = hlp_get_u64(r, i, 4);
        bi.deadline_ms = hlp_get_u64(r, i, 5);
        bi.close_at_ms = hlp_get_u64(r, i, 6);
        bi.next_attempt_ms = hlp_get_u64(r, i, 7);
        bi.attempts = (unsigned int)hlp_get_u64(r, i, 8);
        bi.total_attempts = (unsigned int)hlp_get_u64(r, i, 9);
        bi.redrives = (unsigned int)hlp_get_u64(r, i, 10);
        bi.last_status = hlp_get_int(r, i, 11);
        bi.last_failure = (hl_failure)hlp_get_int(r, i, 12);
        bi.dead_reason = PQgetisnull(r, i, 13) ? NULL : PQgetvalue(r, i, 13);
        bi.settled_ms = hlp_get_u64(r, i, 14);
        if (bi.state == HL_BATCH_OPEN) {
            const char *ev = PQgetvalue(r, i, 16);
            size_t n = (size_t)hlp_get_u64(r, i, 17);
            if (n == 0)
                continue; /* an open batch that never got its event */
            len = strlen(ev) + 2;
            if ((body = malloc(len + 1)) == NULL) {
                code = hlp_fail(err, HL_E_NOMEM, "postgres: out of memory restoring");
                break;
            }
            snprintf(body, len + 1, "[%s]", ev);
            bi.n_events = (uint32_t)n;
        } else if ((body = hlp_get_bytea(r, i, 15, &len)) == NULL) {
            code = hlp_fail(err, HL_E_STORE_CORRUPT, "postgres: batch \"%.40s\" has no body",
                            bi.batch_id);
            break;
        }
        bi.body = body;
        bi.body_len = len;
        code = hl_engine_restore_batch(engine, &bi, now_ms, err);
        if (code == HL_OK)
            (*count)++;
        free(body);
    }
    PQclear(r);
    return code;
}

/* Add an owned endpoint to the engine from its row, then its batches. */
static hl_code load_endpoint(hl_pg *pg, hl_engine *engine, const char *id, const char *config,
                             hl_disabled_reason disabled, uint64_t updated_ms, uint64_t now_ms,
                             hl_outbox_restore_fn on_claim, void *user, size_t *restored,
                             hl_error *err)
{
    hl_endpoint_config *cfg = NULL;
    hl_error perr = HL_ERROR_INIT;
    hl_code code = hl_endpoint_config_parse(&cfg, config, strlen(config), &perr);
    if (code != HL_OK)
        return hlp_fail(err, code, "postgres: endpoint \"%.64s\": %s", id, perr.message);
    code = hl_endpoint_add(engine, id, hl_endpoint_config_engine(cfg), now_ms, err);
    if (code == HL_OK)
        code = hl_endpoint_set_disabled(engine, id, disabled, now_ms, err);
    if (code == HL_OK)
        code = restore_batches(pg, engine, id, now_ms, restored, err);
    if (code == HL_OK && on_claim && on_claim(user, id, cfg) != 0)
        code = hlp_fail(err, HL_E_CALLBACK, "postgres: claim callback failed for \"%.64s\"", id);
    if (code == HL_OK && loaded_put(pg, id, updated_ms) != 0)
        code = hlp_fail(err, HL_E_NOMEM, "postgres: out of memory");
    if (code != HL_OK)
        (void)hl_endpoint_release(engine, id, NULL);
    hl_endpoint_config_free(cfg);
    return code;
}

/* Apply a changed configuration to an endpoint already in the engine. */
static hl_code reload_endpoint(hl_pg *pg, hl_engine *engine, const char *id, const char *config,
                               uint64_t updated_ms, uint64_t now_ms, hl_outbox_restore_fn on_claim,
                               void *user, hl_error *err)
{
    hl_endpoint_config *cfg = NULL;
    hl_error perr = HL_ERROR_INIT;
    hl_code code = hl_endpoint_config_parse(&cfg, config, strlen(config), &perr);
    if (code != HL_OK)
        return hlp_fail(err, code, "postgres: endpoint \"%.64s\": %s", id, perr.message);
    code = hl_endpoint_update(engine, id, hl_endpoint_config_engine(cfg), now_ms, err);
    if (code == HL_OK && on_claim && on_claim(user, id, cfg) != 0)
        code = hlp_fail(err, HL_E_CALLBACK, "postgres: claim callback failed for \"%.64s\"", id);
    if (code == HL_OK)
        loaded_put(pg, id, updated_ms);
    hl_endpoint_config_free(cfg);
    return code;
}

static int release_one(hl_pg *pg, hl_engine *engine, const char *id, hl_pg_release_fn on_release,
                       void *user)
{
    char copy[HL_ENGINE_ID_MAX];
    hl_endpoint_info info;
    if (hl_endpoint_info_get(engine, id, &info, NULL) == HL_OK && info.in_flight > 0)
        return 0; /* cannot drop what is in flight: next time */
    snprintf(copy, sizeof copy, "%s", id);
    if (hl_endpoint_release(engine, copy, NULL) != HL_OK &&
        hl_endpoint_info_get(engine, copy, &info, NULL) == HL_OK)
        return 0;
    hlp_loaded_drop(pg, copy);
    if (on_release)
        on_release(user, copy);
    return 1;
}

/* Every endpoint id the engine has, copied (free()). */
static char (*engine_ids(hl_engine *engine, size_t *n))[HL_ENGINE_ID_MAX]
{
    hl_engine_stats st;
    const char **ids;
    char (*copy)[HL_ENGINE_ID_MAX];
    size_t got = 0;
    hl_engine_stats_get(engine, &st);
    *n = 0;
    ids = calloc(st.endpoints + 1, sizeof *ids);
    copy = calloc(st.endpoints + 1, sizeof *copy);
    if (ids == NULL || copy == NULL) {
        free(ids);
        free(copy);
        return NULL;
    }
    hl_endpoint_list(engine, 0, ids, st.endpoints, &got);
    for (size_t i = 0; i < got; i++)
        snprintf(copy[i], HL_ENGINE_ID_MAX, "%s", ids[i]);
    free(ids);
    *n = got;
    return copy;
}

static hl_code sync_owned(hl_pg *pg, hl_engine *engine, uint64_t now_ms,
                          hl_outbox_restore_fn on_claim, hl_pg_release_fn on_release, void *user,
                          hl_pg_sync_result *res, hl_error *err)
{
    const char *vals[1] = {pg->worker_id};
    char (*ids)[HL_ENGINE_ID_MAX];
    size_t n_ids = 0;
    hl_code code = HL_OK;
    PGresult *r = hlp_exec(pg,
                           "SELECT id, config, disabled, updated_ms, removed FROM"
                           " hookline.endpoints WHERE owner = $1 ORDER BY seq",
                           1, vals, NULL, NULL, "reading owned endpoints", err);
    if (r == NULL)
        return code_or(err, HL_E_STORE_IO);
    /* 1. in the engine but not ours any more: drop */
    if ((ids = engine_ids(engine, &n_ids)) == NULL) {
        PQclear(r);
        return hlp_fail(err, HL_E_NOMEM, "postgres: out of memory");
    }
    for (size_t i = 0; i < n_ids; i++) {
        int mine = 0;
        for (int j = 0; j < PQntuples(r) && !mine; j++)
            mine = strcmp(PQgetvalue(r, j, 0), ids[i]) == 0;
        if (!mine)
            res->released += (size_t)release_one(pg, engine, ids[i], on_release, user);
    }
    free(ids);
    /* 2. ours: load, update, or remove */
    for (int j = 0; j < PQntuples(r) && code == HL_OK; j++) {
        const char *id = PQgetvalue(r, j, 0);
        const char *config = PQgetvalue(r, j, 1);
        uint64_t updated = hlp_get_u64(r, j, 3);
        int removed = PQgetvalue(r, j, 4)[0] == 't';
        hl_endpoint_info info;
        int known = hl_endpoint_info_get(engine, id, &info, NULL) == HL_OK;
        hlp_loaded *l = hlp_loaded_find(pg, id);
        if (removed) {
            const char *v1[1] = {id};
            PGresult *d;
            if (!known && (code = load_endpoint(pg, engine, id, config, HL_DISABLED_NONE, updated,
                                                now_ms, NULL, NULL, &res->restored, err)) != HL_OK)
                break;
            if ((code = hl_endpoint_remove(engine, id, now_ms, err)) != HL_OK)
                break;
            hlp_loaded_drop(pg, id);
            if (on_release)
                on_release(user, id);
            d = hlp_exec(pg, "DELETE FROM hookline.endpoints WHERE id = $1", 1, v1, NULL, NULL,
                         "deleting a removed endpoint", err);
            if (d == NULL) {
                code = code_or(err, HL_E_STORE_IO);
                break;
            }
            PQclear(d);
            res->removed++;
        } else if (!known) {
            code = load_endpoint(pg, engine, id, config,
                                 (hl_disabled_reason)hlp_get_int(r, j, 2), updated, now_ms,
                                 on_claim, user, &res->restored, err);
            res->claimed += code == HL_OK;
        } else if (l == NULL || l->updated_ms != updated) {
            code = reload_endpoint(pg, engine, id, config, updated, now_ms, on_claim, user, err);
            res->updated += code == HL_OK;
        }
    }
    PQclear(r);
    return code;
}

static hl_code claim_more(hl_pg *pg, hl_engine *engine, uint64_t now_ms,
                          hl_outbox_restore_fn on_claim, void *user, hl_pg_sync_result *res,
                          hl_error *err)
{
    const char *vals[2];
    char want[24];
    hl_code code = HL_OK;
    uint64_t endpoints, workers, mine, share, least;
    /* the fewest endpoints any live worker owns: a hungry worker makes the
     * others give back beyond their share (max - min converges to <= 1) */
    PGresult *r = hlp_exec(pg,
                           "SELECT (SELECT count(*) FROM hookline.endpoints),"
                           " (SELECT count(*) FROM hookline.workers WHERE lease_until > now()),"
                           " (SELECT count(*) FROM hookline.endpoints WHERE owner = $1),"
                           " (SELECT coalesce(min(n), 0) FROM (SELECT count(e.id) AS n FROM"
                           " hookline.workers w LEFT JOIN hookline.endpoints e ON e.owner ="
                           " w.worker_id WHERE w.lease_until > now() GROUP BY w.worker_id) o)",
                           1, (const char *const[]){pg->worker_id}, NULL, NULL,
                           "counting workers", err);
    if (r == NULL)
        return code_or(err, HL_E_STORE_IO);
    endpoints = hlp_get_u64(r, 0, 0);
    workers = hlp_get_u64(r, 0, 1);
    mine = hlp_get_u64(r, 0, 2);
    least = hlp_get_u64(r, 0, 3);
    PQclear(r);
    if (workers == 0)
        workers = 1;
    share = (endpoints + workers - 1) / workers;
    if (mine < share) {
        hlp_u64(want, share - mine);
        vals[0] = pg->worker_id;
        vals[1] = want;
        r = hlp_exec(
            pg,
            "UPDATE hookline.endpoints SET owner = $1 WHERE id IN (SELECT e.id FROM"
            " hookline.endpoints e WHERE e.owner IS DISTINCT FROM $1 AND (e.owner IS NULL OR NOT"
            " EXISTS (SELECT 1 FROM hookline.workers w WHERE w.worker_id = e.owner AND"
            " w.lease_until > now())) ORDER BY e.seq LIMIT $2 FOR UPDATE OF e SKIP LOCKED)"
            " RETURNING id, config, disabled, updated_ms, removed",
            2, vals, NULL, NULL, "claiming endpoints", err);
        if (r == NULL)
            return code_or(err, HL_E_STORE_IO);
        for (int j = 0; j < PQntuples(r) && code == HL_OK; j++) {
            const char *id = PQgetvalue(r, j, 0);
            if (PQgetvalue(r, j, 4)[0] == 't')
                continue; /* removed: the next sync_owned finishes it */
            code = load_endpoint(pg, engine, id, PQgetvalue(r, j, 1),
                                 (hl_disabled_reason)hlp_get_int(r, j, 2), hlp_get_u64(r, j, 3),
                                 now_ms, on_claim, user, &res->restored, err);
            res->claimed += code == HL_OK;
            mine++;
        }
        PQclear(r);
    } else if (mine > share + 1 || (mine > share && least + 2 <= mine)) {
        /* too many, or another worker is hungry: hand idle ones back (down
         * to the share), so a new worker gets its share */
        size_t n_ids = 0, give = (size_t)(mine - share);
        char (*ids)[HL_ENGINE_ID_MAX] = engine_ids(engine, &n_ids);
        if (ids == NULL)
            return hlp_fail(err, HL_E_NOMEM, "postgres: out of memory");
        for (size_t i = n_ids; i-- > 0 && give > 0 && code == HL_OK;) {
            const char *v2[2] = {ids[i], pg->worker_id};
            if (!release_one(pg, engine, ids[i], NULL, NULL))
                continue;
            r = hlp_exec(pg,
                         "UPDATE hookline.endpoints SET owner = NULL WHERE id = $1 AND owner = $2",
                         2, v2, NULL, NULL, "releasing an endpoint", err);
            if (r == NULL)
                code = code_or(err, HL_E_STORE_IO);
            PQclear(r);
            res->released++;
            mine--;
            give--;
        }
        free(ids);
    }
    res->owned = (size_t)mine;
    return code;
}

hl_code hl_pg_sync(hl_pg *pg, hl_engine *engine, uint64_t now_ms, hl_outbox_restore_fn on_claim,
                   hl_pg_release_fn on_release, void *user, hl_pg_sync_result *result,
                   hl_error *err)
{
    hl_pg_sync_result res;
    hl_code code;
    memset(&res, 0, sizeof res);
    if (result)
        memset(result, 0, sizeof *result);
    if (pg == NULL || engine == NULL)
        return hlp_fail(err, HL_E_INVALID_ARGUMENT, "postgres: sync: NULL argument");
    if (hl_pg_lease_left(pg) == 0) {
        /* no valid lease: another worker may own any of these by now */
        size_t n_ids = 0;
        char (*ids)[HL_ENGINE_ID_MAX] = engine_ids(engine, &n_ids);
        for (size_t i = 0; ids && i < n_ids; i++)
            res.released += (size_t)release_one(pg, engine, ids[i], on_release, user);
        free(ids);
        if (result)
            *result = res;
        return HL_OK;
    }
    if ((code = hlp_ensure(pg, err)) != HL_OK || (code = hl_pg_begin(pg, err)) != HL_OK)
        return code;
    code = sync_owned(pg, engine, now_ms, on_claim, on_release, user, &res, err);
    if (code == HL_OK)
        code = claim_more(pg, engine, now_ms, on_claim, user, &res, err);
    if (code != HL_OK) {
        hl_pg_rollback(pg);
        return code;
    }
    if ((code = hl_pg_commit(pg, err)) != HL_OK)
        return code;
    if (result)
        *result = res;
    return HL_OK;
}

hl_code hl_pg_leave(hl_pg *pg, hl_engine *engine, hl_error *err)
{
    const char *vals[1];
    PGresult *r;
    hl_code code;
    if (pg == NULL)
        return hlp_fail(err, HL_E_INVALID_ARGUMENT, "postgres: leave: NULL handle");
    if (engine) {
        size_t n_ids = 0;
        char (*ids)[HL_ENGINE_ID_MAX] = engine_ids(engine, &n_ids);
        for (size_t i = 0; ids && i < n_ids; i++)
            (void)release_one(pg, engine, ids[i], NULL, NULL);
        free(ids);
    }
    pg->lease_until = 0;
    if ((code = hlp_ensure(pg, err)) != HL_OK)
        return code;
    vals[0] = pg->worker_id;
    r = hlp_exec(pg,
                 "WITH w AS (DELETE FROM hookline.workers WHERE worker_id = $1)"
                 " UPDATE hookline.endpoints SET owner = NULL WHERE owner = $1",
                 1, vals, NULL, NULL, "leaving", err);
    if (r == NULL)
        return code_or(err, HL_E_STORE_IO);
    PQclear(r);
    return HL_OK;
}

/* ---------------------------------------------------------------- routing */

/* An enabled endpoint's filters, for routing. */
typedef struct route_ep {
    char *id;
    hl_endpoint_config *cfg;
} route_ep;

static void free_route_eps(route_ep *eps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(eps[i].id);
        hl_endpoint_config_free(eps[i].cfg);
    }
    free(eps);
}

static int ep_wants(const route_ep *ep, const char *type)
{
    const hl_endpoint_options *o = hl_endpoint_config_engine(ep->cfg);
    if (o->n_filters == 0)
        return 1;
    for (size_t i = 0; i < o->n_filters; i++)
        if (hl_event_filter_match(o->filters[i], type))
            return 1;
    return 0;
}

static hl_code load_route_eps(hl_pg *pg, route_ep **out, size_t *n_out, hl_error *err)
{
    route_ep *eps;
    size_t n = 0;
    PGresult *r = hlp_exec(pg,
                           "SELECT id, config FROM hookline.endpoints WHERE disabled = 0 AND"
                           " NOT removed ORDER BY seq",
                           0, NULL, NULL, NULL, "reading endpoints", err);
    if (r == NULL)
        return code_or(err, HL_E_STORE_IO);
    eps = calloc((size_t)PQntuples(r) + 1, sizeof *eps);
    if (eps == NULL) {
        PQclear(r);
        return hlp_fail(err, HL_E_NOMEM, "postgres: out of memory");
    }
    for (int i = 0; i < PQntuples(r); i++) {
        const char *cfg = PQgetvalue(r, i, 1);
        route_ep *e = &eps[n];
        if (hl_endpoint_config_parse(&e->cfg, cfg, strlen(cfg), NULL) != HL_OK)
            continue; /* a damaged row routes nothing; its owner reports it */
        if (!hl_endpoint_config_engine(e->cfg)->active ||
            (e->id = malloc(strlen(PQgetvalue(r, i, 0)) + 1)) == NULL) {
            hl_endpoint_config_free(e->cfg);
            e->cfg = NULL;
            continue;
        }
        strcpy(e->id, PQgetvalue(r, i, 0));
        n++;
    }
    PQclear(r);
    *out = eps;
    *n_out = n;
    return HL_OK;
}

static hl_code reject(hl_pg *pg, const char *event_id, const char *type, const char *data,
                      const char *key, const char *endpoint_id, hl_code why, const char *reason,
                      hl_error *err)
{
    const char *vals[7] = {event_id, type, data, key, endpoint_id, hl_code_name(why), reason};
    PGresult *r = hlp_exec(pg,
                           "INSERT INTO hookline.rejected (event_id, type, data, ordering_key,"
                           " endpoint_id, code, reason) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                           7, vals, NULL, NULL, "recording a rejected event", err);
    if (r == NULL)
        return code_or(err, HL_E_STORE_IO);
    PQclear(r);
    return HL_OK;
}

static int cmp_row_id(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

/*
 * A PostgreSQL array literal of text being built ("{...}"): a pass's routed
 * rows go to the server as one parameter per column of one INSERT, not one
 * round trip per row. Every element is double-quoted with " and \ escaped,
 * so any text survives as is; NULL stays the unquoted NULL.
 */
typedef struct route_arr {
    char *buf;
    size_t len, cap;
    int oom;
} route_arr;

static void arr_put(route_arr *a, const char *s, size_t n)
{
    if (a->oom)
        return;
    if (a->len + n + 2 > a->cap) { /* room for the closing brace and NUL */
        size_t cap = a->cap ? a->cap : 256;
        char *b;
        while (a->len + n + 2 > cap)
            cap *= 2;
        if ((b = realloc(a->buf, cap)) == NULL) {
            a->oom = 1;
            return;
        }
        a->buf = b;
        a->cap = cap;
    }
    memcpy(a->buf + a->len, s, n);
    a->len += n;
}

/* `n` bytes of `v` (no NUL among them) as one element; NULL: SQL NULL. */
static void arr_add_n(route_arr *a, const char *v, size_t n)
{
    const char *end;
    arr_put(a, a->len ? "," : "{", 1);
    if (v == NULL) {
        arr_put(a, "NULL", 4);
        return;
    }
    end = v + n; /* only now: v + 0 on NULL is undefined */
    arr_put(a, "\"", 1);
    while (v < end) {
        const char *q = v;
        while (q < end && *q != '"' && *q != '\\')
            q++;
        arr_put(a, v, (size_t)(q - v));
        v = q;
        if (v < end) {
            arr_put(a, "\\", 1);
            arr_put(a, v, 1);
            v++;
        }
    }
    arr_put(a, "\"", 1);
}

static void arr_add(route_arr *a, const char *v)
{
    arr_add_n(a, v, v ? strlen(v) : 0);
}

/* Close the literal ("}") and NUL-terminate it; NULL when out of memory. */
static const char *arr_end(route_arr *a)
{
    if (a->oom || a->buf == NULL)
        return NULL;
    a->buf[a->len++] = '}';
    a->buf[a->len] = '\0';
    return a->buf;
}

#define ROUTE_COLS 6

/* Routed rows waiting to be inserted, one array per pending column. */
typedef struct route_rows {
    route_arr col[ROUTE_COLS];
    size_t n;
} route_rows;

static void rows_free(route_rows *rows)
{
    for (int c = 0; c < ROUTE_COLS; c++)
        free(rows->col[c].buf);
}

/* Insert the rows gathered so far, in the order they were added (their
 * pending seq follows it, as one INSERT per row did), and start over. */
static hl_code rows_flush(hl_pg *pg, route_rows *rows, hl_error *err)
{
    const char *vals[ROUTE_COLS];
    PGresult *r;
    if (rows->n == 0)
        return HL_OK;
    for (int c = 0; c < ROUTE_COLS; c++) {
        route_arr *a = &rows->col[c];
        if (a->oom)
            return hlp_fail(err, HL_E_NOMEM, "postgres: out of memory");
        a->buf[a->len++] = '}';
        a->buf[a->len] = '\0';
        vals[c] = a->buf;
    }
    r = hlp_exec(pg,
                 "INSERT INTO hookline.pending (endpoint_id, event_id, type, created_ms, data,"
                 " ordering_key) SELECT e, i, t, c, d, o FROM unnest($1::text[], $2::text[],"
                 " $3::text[], $4::bigint[], $5::text[], $6::text[]) WITH ORDINALITY"
                 " AS u(e, i, t, c, d, o, n) ORDER BY n",
                 ROUTE_COLS, vals, NULL, NULL, "routing events", err);
    for (int c = 0; c < ROUTE_COLS; c++)
        rows->col[c].len = 0;
    rows->n = 0;
    if (r == NULL)
        return code_or(err, HL_E_STORE_IO);
    PQclear(r);
    return HL_OK;
}

static hl_code route_once(hl_pg *pg, uint64_t now_ms, size_t max, size_t *routed, hl_error *err)
{
    char lim[24];
    const char *vals[1] = {lim};
    route_ep *eps = NULL;
    size_t n_eps = 0;
    hl_code code;
    PGresult *r;
    long long (*order)[2] = NULL;
    route_rows rows;
    int got;

    r = hlp_exec(pg, "SELECT pg_try_advisory_xact_lock(7175002)", 0, NULL, NULL, NULL,
                 "locking the router", err);
    if (r == NULL)
        return code_or(err, HL_E_STORE_IO);
    got = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (!got)
        return HL_OK; /* another worker is routing */
    hlp_u64(lim, max);
    r = hlp_exec(pg,
                 "DELETE FROM hookline.events WHERE id IN (SELECT id FROM hookline.events ORDER BY"
                 " id LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING id, event_id, type, data,"
                 " ordering_key, endpoint_id, (extract(epoch FROM created_at) * 1000)::bigint",
                 1, vals, NULL, NULL, "taking events", err);
    if (r == NULL)
        return code_or(err, HL_E_STORE_IO);
    if (PQntuples(r) == 0) {
        PQclear(r);
        return HL_OK;
    }
    if ((code = load_route_eps(pg, &eps, &n_eps, err)) != HL_OK) {
        PQclear(r);
        return code;
    }
    /* RETURNING has no order: route by id */
    if ((order = calloc((size_t)PQntuples(r), sizeof *order)) == NULL) {
        free_route_eps(eps, n_eps);
        PQclear(r);
        return hlp_fail(err, HL_E_NOMEM, "postgres: out of memory");
    }
    for (int i = 0; i < PQntuples(r); i++) {
        order[i][0] = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        order[i][1] = i;
    }
    qsort(order, (size_t)PQntuples(r), sizeof *order, cmp_row_id);
    memset(&rows, 0, sizeof rows);
    for (int k = 0; k < PQntuples(r) && code == HL_OK; k++) {
        int i = (int)order[k][1];
        hl_event ev = HL_EVENT_INIT;
        hl_error why = HL_ERROR_INIT;
        char id[HL_ENGINE_ID_MAX], created[24];
        const char *target = PQgetisnull(r, i, 5) ? NULL : PQgetvalue(r, i, 5);
        const char *data = PQgetisnull(r, i, 3) ? NULL : PQgetvalue(r, i, 3);
        hl_code erc;
        ev.id = PQgetisnull(r, i, 1) ? NULL : PQgetvalue(r, i, 1);
        ev.type = PQgetvalue(r, i, 2);
        ev.data = data;
        ev.data_len = data ? strlen(data) : 0;
        ev.ordering_key = PQgetisnull(r, i, 4) ? NULL : PQgetvalue(r, i, 4);
        ev.created_at_ms = hlp_get_u64(r, i, 6);
        /* the engine's own checks, and the id it would generate */
        erc = hl_engine_enqueue(pg->checker, &ev, now_ms, NULL, id, sizeof id, &why);
        if (erc != HL_OK) {
            code = reject(pg, ev.id, ev.type, data, ev.ordering_key, target, erc, why.message, err);
            continue;
        }
        hlp_u64(created, ev.created_at_ms ? ev.created_at_ms : now_ms);
        for (size_t e = 0; e < n_eps && code == HL_OK; e++) {
            if (target ? strcmp(target, eps[e].id) != 0 : !ep_wants(&eps[e], ev.type))
                continue;
            arr_add(&rows.col[0], eps[e].id);
            arr_add(&rows.col[1], id);
            arr_add(&rows.col[2], ev.type);
            arr_add(&rows.col[3], created);
            arr_add(&rows.col[4], data);
            arr_add(&rows.col[5], ev.ordering_key);
            /* bound the memory a pass of large events holds */
            if (++rows.n >= 1000 || rows.col[4].len > (4u << 20))
                code = rows_flush(pg, &rows, err);
        }
        /* a targeted event for an endpoint that does not exist (or is
         * disabled) is kept for the operator, not dropped */
        if (code == HL_OK && target) {
            int found = 0;
            for (size_t e = 0; e < n_eps && !found; e++)
                found = strcmp(target, eps[e].id) == 0;
            if (!found)
                code = reject(pg, id, ev.type, data, ev.ordering_key, target,
                              HL_E_ENDPOINT_UNKNOWN, "no such enabled endpoint", err);
        }
    }
    if (code == HL_OK)
        code = rows_flush(pg, &rows, err);
    if (code == HL_OK && routed)
        *routed = (size_t)PQntuples(r);
    rows_free(&rows);
    free(order);
    free_route_eps(eps, n_eps);
    PQclear(r);
    return code;
}

hl_code hl_pg_route(hl_pg *pg, uint64_t now_ms, size_t max, size_t *routed, hl_error *err)
{
    hl_code code = HL_OK;
    if (routed)
        *routed = 0;
    if (pg == NULL)
        return hlp_fail(err, HL_E_INVALID_ARGUMENT, "postgres: route: NULL handle");
    if (max == 0 || max > 100000)
        max = 1000;
    for (int attempt = 0; attempt < RETRIES; attempt++) {
        if ((code = hlp_ensure(pg, err)) != HL_OK || (code = hl_pg_begin(pg, err)) != HL_OK)
            return code;
        code = route_once(pg, now_ms, max, routed, err);
        if (code == HL_OK && (code = hl_pg_commit(pg, err)) == HL_OK)
            return HL_OK;
        hl_pg_rollback(pg);
        if (code != HL_E_STORE_BUSY)
            break;
    }
    return code;
}

/* ---------------------------------------------------------------- ingest */

hl_code hl_pg_ingest(hl_pg *pg, hl_engine *engine, uint64_t now_ms, size_t max, size_t *ingested,
                     size_t *rejected, hl_error *err)
{
    char lim[24];
    const char *vals[2];
    size_t n_in = 0, n_rej = 0, used = 0, cap = 0;
    char *seqs = NULL;
    hl_code code;
    PGresult *r;

    if (ingested)
        *ingested = 0;
    if (rejected)
        *rejected = 0;
    if (pg == NULL || engine == NULL)
        return hlp_fail(err, HL_E_INVALID_ARGUMENT, "postgres: ingest: NULL argument");
    if (max == 0 || max > 100000)
        max = 1000;
    if ((code = hlp_ensure(pg, err)) != HL_OK || (code = hl_pg_begin(pg, err)) != HL_OK)
        return code;
    hlp_u64(lim, max);
    vals[0] = pg->worker_id;
    vals[1] = lim;
    r = hlp_exec(pg,
                 "SELECT p.seq, p.endpoint_id, p.event_id, p.type, p.created_ms, p.data,"
                 " p.ordering_key FROM hookline.pending p JOIN hookline.endpoints e ON e.id ="
                 " p.endpoint_id WHERE e.owner = $1 ORDER BY p.seq LIMIT $2 FOR UPDATE OF p"
                 " SKIP LOCKED",
                 2, vals, NULL, NULL, "reading pending events", err);
    if (r == NULL) {
        hl_pg_rollback(pg);
        return code_or(err, HL_E_STORE_IO);
    }
    for (int i = 0; i < PQntuples(r) && code == HL_OK; i++) {
        const char *ep = PQgetvalue(r, i, 1);
        hl_event ev = HL_EVENT_INIT;
        hl_error why = HL_ERROR_INIT;
        hl_endpoint_info info;
        hl_code erc;
        size_t need;
        if (hl_endpoint_info_get(engine, ep, &info, NULL) != HL_OK)
            continue; /* owned but not loaded yet (next sync): leave it */
        ev.id = PQgetvalue(r, i, 2);
        ev.type = PQgetvalue(r, i, 3);
        ev.created_at_ms = hlp_get_u64(r, i, 4);
        ev.data = PQgetisnull(r, i, 5) ? NULL : PQgetvalue(r, i, 5);
        ev.data_len = ev.data ? strlen(ev.data) : 0;
        ev.ordering_key = PQgetisnull(r, i, 6) ? NULL : PQgetvalue(r, i, 6);
        erc = hl_engine_enqueue_to(engine, ep, &ev, now_ms, NULL, 0, &why);
        if (erc == HL_E_STORE || erc == HL_E_ENGINE_FAILED) {
            code = hlp_fail(err, pg->last.code ? pg->last.code : erc, "%s",
                            pg->last.code ? pg->last.message : why.message);
            break;
        }
        if (erc != HL_OK) {
            code = reject(pg, ev.id, ev.type, ev.data, ev.ordering_key, ep, erc, why.message, err);
            n_rej++;
        } else {
            n_in++;
        }
        /* the seq list: digits only, sent as one array parameter */
        need = strlen(PQgetvalue(r, i, 0)) + 2;
        if (used + need + 2 > cap) {
            char *nb = realloc(seqs, cap = (used + need + 2) * 2);
            if (nb == NULL) {
                code = hlp_fail(err, HL_E_NOMEM, "postgres: out of memory");
                break;
            }
            seqs = nb;
        }
        used += (size_t)snprintf(seqs + used, cap - used, "%s%s", used ? "," : "{",
                                 PQgetvalue(r, i, 0));
    }
    PQclear(r);
    if (code == HL_OK && used > 0) {
        const char *dv[1] = {seqs};
        snprintf(seqs + used, cap - used, "}");
        r = hlp_exec(pg, "DELETE FROM hookline.pending WHERE seq = ANY($1::bigint[])", 1, dv, NULL,
                     NULL, "emptying pending events", err);
        if (r == NULL)
            code = code_or(err, HL_E_STORE_IO);
        PQclear(r);
    }
    free(seqs);
    if (code != HL_OK) {
        hl_pg_rollback(pg);
        return code;
    }
    if ((code = hl_pg_commit(pg, err)) != HL_OK) {
        hl_pg_rollback(pg);
        return code;
    }
    if (ingested)
        *ingested = n_in;
    if (rejected)
        *rejected = n_rej;
    return HL_OK;
}

hl_code hl_pg_enqueue(hl_pg *pg, const hl_event *events, size_t n, const char *endpoint_id,
                      hl_error *err)
{
    hl_code code;
    if (pg == NULL || (events == NULL && n > 0))
        return hlp_fail(err, HL_E_INVALID_ARGUMENT, "postgres: enqueue: NULL argument");
    if ((code = hlp_ensure(pg, err)) != HL_OK || (code = hl_pg_begin(pg, err)) != HL_OK)
        return code;
    /* all n in one INSERT (one array literal per column, in order: the
     * events' ids follow it), not one round trip per event */
    {
        route_arr col[5];
        const char *vals[6];
        memset(col, 0, sizeof col);
        for (size_t i = 0; i < n && code == HL_OK; i++) {
            char created[24];
            const hl_event *ev = &events[i];
            int has_data = ev->data && ev->data_len;
            if (has_data && memchr(ev->data, '\0', ev->data_len)) {
                code = hlp_fail(err, HL_E_EVENT_INVALID, "postgres: event data holds a NUL byte");
                break;
            }
            hlp_u64(created, ev->created_at_ms);
            arr_add(&col[0], ev->type);
            arr_add_n(&col[1], has_data ? ev->data : NULL, has_data ? ev->data_len : 0);
            arr_add(&col[2], ev->id && ev->id[0] ? ev->id : NULL);
            arr_add(&col[3], ev->ordering_key);
            arr_add(&col[4], ev->created_at_ms ? created : NULL);
        }
        if (code == HL_OK && n > 0) {
            PGresult *r;
            for (int c = 0; c < 5 && code == HL_OK; c++)
                if ((vals[c] = arr_end(&col[c])) == NULL)
                    code = hlp_fail(err, HL_E_NOMEM, "postgres: out of memory");
            vals[5] = endpoint_id;
            if (code == HL_OK) {
                r = hlp_exec(pg,
                             "INSERT INTO hookline.events (type, data, event_id, ordering_key,"
                             " endpoint_id, created_at) SELECT t, d, i, o, $6, coalesce("
                             "to_timestamp(c / 1000.0), clock_timestamp()) FROM unnest($1::text[],"
                             " $2::text[], $3::text[], $4::text[], $5::bigint[]) WITH ORDINALITY"
                             " AS u(t, d, i, o, c, n) ORDER BY n",
                             6, vals, NULL, NULL, "inserting events", err);
                if (r == NULL)
                    code = code_or(err, HL_E_STORE_IO);
                PQclear(r);
            }
        }
        for (int c = 0; c < 5; c++)
            free(col[c].buf);
    }
    if (code != HL_OK) {
        hl_pg_rollback(pg);
        return code;
    }
    if ((code = hl_pg_commit(pg, err)) != HL_OK)
        hl_pg_rollback(pg);
    return code;
}
