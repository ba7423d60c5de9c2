/*
 * worker_pg.c - the worker over PostgreSQL (hookline/pgbox.h): each
 * run_once renews the lease when a third of it has passed, syncs endpoint
 * ownership (claims, restores, releases), applies the owner's commands,
 * routes the application's events, ingests its endpoints' share, and
 * holds the dispatcher while the lease is too short for an attempt to end
 * inside it. Without libpq (HL_WITH_POSTGRES undefined) every entry point
 * refuses with HL_E_INVALID_ARGUMENT.
 */
#include "worker_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Lease left beyond an attempt's timeout before the attempt may start. */
#define LEASE_MARGIN_MS 1000u

int hlw_is_pg_url(const char *path)
{
    return path && (strncmp(path, "postgres://", 11) == 0 || strncmp(path, "postgresql://", 13) == 0);
}

#ifdef HL_WITH_POSTGRES

#include "hookline/pgbox.h"

#define PG(w) ((hl_pg *)(w)->pg)

hl_code hl_worker_migrate(const char *store, int *from, int *to, hl_error *err)
{
    if (!hlw_is_pg_url(store)) {
        if (err) {
            err->code = HL_E_INVALID_ARGUMENT;
            snprintf(err->message, sizeof err->message,
                     "worker: migrate wants a postgres:// or postgresql:// URL");
        }
        return HL_E_INVALID_ARGUMENT;
    }
    return hl_pg_migrate(store, from, to, err);
}

hl_code hlw_pg_open(hl_worker *w, hl_error *err)
{
    hl_pg_options o = HL_PG_OPTIONS_INIT;
    hl_pg *pg = NULL;
    hl_code rc;
    o.lease_ms = w->opts.lease_ms;
    o.attempt_retention_ms = w->opts.outbox.attempt_retention_ms;
    o.delivered_retention_ms = w->opts.outbox.delivered_retention_ms;
    if ((rc = hl_pg_open(&pg, w->db_path, &o, err)) != HL_OK)
        return rc;
    w->pg = (struct hl_pg *)pg;
    return hl_engine_new(&w->checker, NULL, err);
}

void hlw_pg_close(hl_worker *w)
{
    /* after a clean drain nothing is in flight: hand the endpoints back at
     * once; otherwise let the lease run out (an abandoned transfer may
     * still be reaching its receiver) */
    if (w->sharing && w->drained && w->engine)
        (void)hl_pg_leave(PG(w), w->engine, NULL);
    hl_pg_close(PG(w));
    w->pg = NULL;
}

hl_store hlw_pg_store(hl_worker *w)
{
    return hl_pg_store(PG(w));
}

hl_error hlw_pg_last_error(hl_worker *w)
{
    return *hl_pg_last_error(PG(w));
}

hl_code hlw_pg_begin(hl_worker *w, hl_error *err)
{
    return hl_pg_begin(PG(w), err);
}

hl_code hlw_pg_commit(hl_worker *w, hl_error *err)
{
    return hl_pg_commit(PG(w), err);
}

void hlw_pg_rollback(hl_worker *w)
{
    hl_pg_rollback(PG(w));
}

static void on_release(void *user, const char *endpoint_id)
{
    hl_worker *w = user;
    (void)hl_dispatcher_endpoint_remove(w->disp, endpoint_id, NULL);
}

/* A failure of an engine-changing step: the engine may be ahead of the
 * database; rebuild it (the owned endpoints come back at the next sync). */
static hl_code engine_failed(hl_worker *w, hl_code rc, hl_error *err)
{
    hl_error keep = err ? *err : (hl_error)HL_ERROR_INIT;
    hl_error why = *hl_pg_last_error(PG(w));
    hl_dispatcher_free(w->disp);
    hl_engine_free(w->engine);
    w->disp = NULL;
    w->engine = NULL;
    w->broken = 1; /* ready() rebuilds at the next call */
    if (err) {
        *err = keep;
        if ((rc == HL_E_STORE || rc == HL_E_ENGINE_FAILED) && why.code) {
            err->code = why.code;
            snprintf(err->message, sizeof err->message, "%s", why.message);
        }
    }
    return err && err->code ? err->code : rc;
}

/* The lease an endpoint timeout needs: an attempt starts only with its
 * timeout + LEASE_MARGIN_MS of lease left, and the lease is renewed when a
 * third of it has passed, so two thirds of it must cover that. */
static uint64_t lease_needed(uint64_t timeout_ms)
{
    return (timeout_ms + LEASE_MARGIN_MS) * 3 / 2 + 1;
}

/* Refuse to go on with a lease that would hold the dispatcher (for good or
 * for most of each renewal period): otherwise nothing is sent and nobody
 * is told. The check runs after each sync, so it covers endpoints claimed
 * (or reconfigured) later. */
static hl_code lease_fits(hl_worker *w, hl_error *err)
{
    uint64_t lease = w->opts.lease_ms ? w->opts.lease_ms : HL_PG_LEASE_DEFAULT_MS;
    uint64_t need = lease_needed(w->max_timeout_ms);
    if (w->max_timeout_ms == 0 || lease >= need)
        return HL_OK;
    hl_dispatcher_hold(w->disp, 1);
    if (err) {
        err->code = HL_E_CONFIG_RANGE;
        snprintf(err->message, sizeof err->message,
                 "worker: lease %llu ms too short for endpoint timeout %llu ms (nothing would"
                 " be sent): use a lease of at least %llu ms (--lease-ms) or a shorter timeout_ms",
                 (unsigned long long)lease, (unsigned long long)w->max_timeout_ms,
                 (unsigned long long)need);
    }
    return HL_E_CONFIG_RANGE;
}

hl_code hlw_pg_cycle(hl_worker *w, hl_error *err)
{
    hl_pg *pg = PG(w);
    uint64_t now = hl_worker_now(w);
    hl_code rc;
    int renewed = 0;

    w->sharing = 1;
    if (hl_pg_renew_due(pg)) {
        hl_error rerr = HL_ERROR_INIT;
        if (hl_pg_renew(pg, &rerr) == HL_OK) {
            renewed = 1;
        } else if (hl_pg_lease_left(pg) > 0) {
            /* keep delivering on what is left; the gate below holds in time */
            if (err)
                *err = rerr;
        } else {
            /* no lease: drop every endpoint (nothing can be in flight by
             * now: attempts only start with their timeout left) */
            (void)hl_pg_sync(pg, w->engine, now, hlw_on_endpoint, on_release, w, NULL, NULL);
            hl_dispatcher_hold(w->disp, 1);
            if (err)
                *err = rerr;
            return rerr.code;
        }
    }
    if (renewed || hl_pg_lease_left(pg) == 0) {
        rc = hl_pg_sync(pg, w->engine, now, hlw_on_endpoint, on_release, w, NULL, err);
        if (rc != HL_OK)
            return engine_failed(w, rc, err);
        if ((rc = lease_fits(w, err)) != HL_OK)
            return rc;
    }
    if (hl_pg_lease_left(pg) > 0) {
        rc = hl_pg_commands_apply(pg, hlw_apply_command, w, 100, NULL, NULL, err);
        if (rc != HL_OK)
            return engine_failed(w, rc, err);
        if (w->broken) /* a command's store failure rebuilt nothing yet */
            return HL_OK;
        if ((rc = hl_pg_route(pg, now, 1000, NULL, err)) != HL_OK)
            return rc; /* nothing changed in the engine */
        rc = hl_pg_ingest(pg, w->engine, now, 1000, NULL, NULL, err);
        if (rc != HL_OK)
            return engine_failed(w, rc, err);
    }
    /* the lease gate: an attempt starts only if it ends inside the lease */
    hl_dispatcher_hold(w->disp,
                       hl_pg_lease_left(pg) <= w->max_timeout_ms + LEASE_MARGIN_MS);
    return HL_OK;
}

void hlw_pg_prune(hl_worker *w, uint64_t now)
{
    (void)hl_pg_prune(PG(w), now, NULL, NULL);
}

hl_code hlw_pg_endpoint_put(hl_worker *w, const char *id, const hl_endpoint_config *cfg,
                            hl_error *err)
{
    return hl_pg_endpoint_put(PG(w), id, cfg, hl_worker_now(w), err);
}

hl_code hlw_pg_endpoint_remove(hl_worker *w, const char *id, hl_error *err)
{
    return hl_pg_endpoint_remove(PG(w), id, err);
}

hl_code hlw_pg_endpoint_get(hl_worker *w, const char *id, hl_endpoint_config **out,
                            hl_error *err)
{
    return hl_pg_endpoint_get(PG(w), id, out, NULL, err);
}

hl_code hlw_pg_endpoint_each(hl_worker *w, hl_outbox_endpoint_fn fn, void *user, hl_error *err)
{
    return hl_pg_endpoint_each(PG(w), fn, user, err);
}

/* Insert the run events[from, to) (all to one target) with one statement. */
static hl_code submit_run(hl_pg *pg, hl_event *evs, size_t from, size_t to, const char *target,
                          hl_error *err)
{
    return to > from ? hl_pg_enqueue(pg, evs + from, to - from, target, err) : HL_OK;
}

hl_code hlw_pg_submit(hl_worker *w, const hl_event *events, const char *const *endpoint_ids,
                      size_t n, char (*ids)[HL_ENGINE_ID_MAX], size_t *failed_index,
                      hl_error *err)
{
    hl_pg *pg = PG(w);
    uint64_t now = hl_worker_now(w);
    const char *target = NULL, *checked = NULL, *run_target = NULL;
    hl_event *evs;
    char (*own)[HL_ENGINE_ID_MAX];
    size_t run = 0;
    hl_code rc;
    if (events == NULL && n > 0)
        return HL_E_INVALID_ARGUMENT;
    /* the checked copies (with their ids), sent a run of one target at a time */
    evs = calloc(n ? n : 1, sizeof *evs);
    own = calloc(n ? n : 1, sizeof *own);
    if (evs == NULL || own == NULL) {
        free(evs);
        free(own);
        return HL_E_NOMEM;
    }
    if ((rc = hl_pg_begin(pg, err)) != HL_OK)
        goto out;
    for (size_t i = 0; i < n; i++) {
        hl_event ev = events[i];
        /* the engine's checks now (a bad event fails here, not at routing),
         * and the id it would generate, so the caller learns it */
        if ((rc = hl_engine_enqueue(w->checker, &ev, now, NULL, own[i], sizeof own[i], err)) !=
            HL_OK) {
            if (failed_index)
                *failed_index = i;
            hl_pg_rollback(pg);
            goto out;
        }
        ev.id = own[i];
        if (ev.created_at_ms == 0)
            ev.created_at_ms = now;
        evs[i] = ev;
        target = endpoint_ids ? endpoint_ids[i] : NULL;
        /* an unknown endpoint fails now, as with the SQLite outbox, instead
         * of landing in hookline.rejected at routing (checked once per run
         * of events to the same endpoint) */
        if (target && (checked == NULL || strcmp(checked, target) != 0)) {
            hl_endpoint_config *cfg = NULL;
            if ((rc = hl_pg_endpoint_get(pg, target, &cfg, NULL, err)) != HL_OK) {
                if (failed_index)
                    *failed_index = i;
                hl_pg_rollback(pg);
                goto out;
            }
            hl_endpoint_config_free(cfg);
            checked = target;
        }
        /* a new target ends the run so far */
        if (i > run && !(target == run_target ||
                         (target && run_target && strcmp(target, run_target) == 0))) {
            if ((rc = submit_run(pg, evs, run, i, run_target, err)) != HL_OK) {
                hl_pg_rollback(pg);
                goto out;
            }
            run = i;
        }
        run_target = target;
    }
    if ((rc = submit_run(pg, evs, run, n, run_target, err)) != HL_OK) {
        hl_pg_rollback(pg);
        goto out;
    }
    if ((rc = hl_pg_commit(pg, err)) != HL_OK) {
        hl_pg_rollback(pg);
        goto out;
    }
    if (ids)
        memcpy(ids, own, n * sizeof *own);
out:
    free(evs);
    free(own);
    return rc;
}

hl_code hlw_pg_command(hl_worker *w, hl_outbox_command_kind kind, const char *target,
                       hl_error *err)
{
    return hl_pg_command_submit(PG(w), kind, target, hl_worker_now(w), err);
}

hl_code hlw_pg_batch_get(hl_worker *w, const char *batch_id, hl_outbox_batch *out, hl_error *err)
{
    return hl_pg_batch_get(PG(w), batch_id, out, err);
}

hl_code hlw_pg_batch_body(hl_worker *w, const char *batch_id, char **out, size_t *len,
                          hl_error *err)
{
    return hl_pg_batch_body(PG(w), batch_id, out, len, err);
}

hl_code hlw_pg_attempts(hl_worker *w, const hl_outbox_attempt_query *q, hl_outbox_attempt_fn fn,
                        void *user, hl_error *err)
{
    return hl_pg_attempts(PG(w), q, fn, user, err);
}

hl_code hlw_pg_counts(hl_worker *w, hl_outbox_counts *out, hl_error *err)
{
    return hl_pg_counts_get(PG(w), out, err);
}

hl_code hlw_pg_dead_letters(hl_worker *w, const char *endpoint_id, size_t offset, size_t limit,
                            hl_outbox_batch_fn fn, void *user, size_t *total, hl_error *err)
{
    return hl_pg_dead_letters(PG(w), endpoint_id, offset, limit, fn, user, total, err);
}

#else /* without libpq */

static hl_code no_pg(hl_error *err)
{
    if (err) {
        err->code = HL_E_INVALID_ARGUMENT;
        snprintf(err->message, sizeof err->message,
                 "worker: this build has no PostgreSQL support (libpq was not found)");
    }
    return HL_E_INVALID_ARGUMENT;
}

hl_code hlw_pg_open(hl_worker *w, hl_error *err)
{
    (void)w;
    return no_pg(err);
}

hl_code hl_worker_migrate(const char *store, int *from, int *to, hl_error *err)
{
    (void)store;
    (void)from;
    (void)to;
    return no_pg(err);
}

void hlw_pg_close(hl_worker *w)
{
    (void)w;
}

hl_store hlw_pg_store(hl_worker *w)
{
    hl_store s = {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    (void)w;
    return s;
}

hl_error hlw_pg_last_error(hl_worker *w)
{
    hl_error e = HL_ERROR_INIT;
    (void)w;
    return e;
}
/* The remaining entry points are unreachable: a worker without w->pg never calls them. */
hl_code hlw_pg_begin(hl_worker *w, hl_error *err) { (void)w; return no_pg(err); }
hl_code hlw_pg_commit(hl_worker *w, hl_error *err) { (void)w; return no_pg(err); }
void hlw_pg_rollback(hl_worker *w) { (void)w; }
hl_code hlw_pg_cycle(hl_worker *w, hl_error *err) { (void)w; return no_pg(err); }
void hlw_pg_prune(hl_worker *w, uint64_t now) { (void)w; (void)now; }
hl_code hlw_pg_endpoint_put(hl_worker *w, const char *id, const hl_endpoint_config *cfg,
                            hl_error *err) { (void)w; (void)id; (void)cfg; return no_pg(err); }
hl_code hlw_pg_endpoint_remove(hl_worker *w, const char *id, hl_error *err)
{ (void)w; (void)id; return no_pg(err); }
hl_code hlw_pg_endpoint_get(hl_worker *w, const char *id, hl_endpoint_config **out,
                            hl_error *err) { (void)w; (void)id; (void)out; return no_pg(err); }
hl_code hlw_pg_endpoint_each(hl_worker *w, hl_outbox_endpoint_fn fn, void *user, hl_error *err)
{ (void)w; (void)fn; (void)user; return no_pg(err); }
hl_code hlw_pg_submit(hl_worker *w, const hl_event *events, const char *const *endpoint_ids,
                      size_t n, char (*ids)[HL_ENGINE_ID_MAX], size_t *failed_index,
                      hl_error *err)
{
    (void)w, (void)events, (void)endpoint_ids, (void)n, (void)ids, (void)failed_index;
    return no_pg(err);
}
hl_code hlw_pg_command(hl_worker *w, hl_outbox_command_kind kind, const char *target,
                       hl_error *err) { (void)w; (void)kind; (void)target; return no_pg(err); }
hl_code hlw_pg_counts(hl_worker *w, hl_outbox_counts *out, hl_error *err)
{ (void)w; (void)out; return no_pg(err); }
hl_code hlw_pg_batch_get(hl_worker *w, const char *batch_id, hl_outbox_batch *out, hl_error *err)
{ (void)w; (void)batch_id; (void)out; return no_pg(err); }
hl_code hlw_pg_batch_body(hl_worker *w, const char *batch_id, char **out, size_t *len,
                          hl_error *err) { (void)w; (void)batch_id; (void)out; (void)len; return no_pg(err); }
hl_code hlw_pg_attempts(hl_worker *w, const hl_outbox_attempt_query *q, hl_outbox_attempt_fn fn,
                        void *user, hl_error *err) { (void)w; (void)q; (void)fn; (void)user; return no_pg(err); }
hl_code hlw_pg_dead_letters(hl_worker *w, const char *endpoint_id, size_t offset, size_t limit,
                            hl_outbox_batch_fn fn, void *user, size_t *total, hl_error *err)
{ (void)w; (void)endpoint_id; (void)offset; (void)limit; (void)fn; (void)user; (void)total; return no_pg(err); }

#endif
