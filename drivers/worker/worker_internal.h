/*
 * worker_internal.h - the worker handle, shared by worker.c (the SQLite
 * outbox, and everything common) and worker_pg.c (the PostgreSQL store:
 * leases, claims, routing; hookline/pgbox.h).
 */
#ifndef HOOKLINE_WORKER_INTERNAL_H
#define HOOKLINE_WORKER_INTERNAL_H

#include "hookline/worker.h"

struct hl_pg;

struct hl_worker {
    hl_worker_options opts;
    char *db_path;
    char *ca_file;
    hl_resolver resolver;
    hl_url_policy *policy;
    hl_outbox *ob;     /* SQLite mode */
    struct hl_pg *pg;  /* PostgreSQL mode (db_path is a postgres:// URL) */
    hl_engine *checker; /* PostgreSQL mode: validates and names submitted events */
    hl_engine *engine;
    hl_dispatcher *disp;
    int lock_fd; /* flock()ed "<db>.worker-lock": one worker per file */
    int broken;  /* a rebuild failed: try again at the next call */
    int drained; /* hl_worker_drain ran on this dispatcher */
    int sharing; /* PostgreSQL: this handle has become a worker (lease, claims) */
    uint64_t max_timeout_ms; /* longest attempt timeout of the endpoints it delivers to */
    uint64_t last_prune;
};

/* Restore callback: give an endpoint's delivery half to the dispatcher. */
int hlw_on_endpoint(void *user, const char *id, const hl_endpoint_config *cfg);

/* Apply a redrive/purge command to this worker's engine. */
hl_code hlw_apply_command(void *user, hl_outbox_command_kind kind, const char *target,
                          hl_error *err);

/* worker_pg.c: the PostgreSQL side (stubs failing with HL_E_INVALID_ARGUMENT
 * when built without libpq). */
int hlw_is_pg_url(const char *path);
hl_code hlw_pg_open(hl_worker *w, hl_error *err);
void hlw_pg_close(hl_worker *w);
hl_store hlw_pg_store(hl_worker *w);
hl_error hlw_pg_last_error(hl_worker *w);
hl_code hlw_pg_begin(hl_worker *w, hl_error *err);
hl_code hlw_pg_commit(hl_worker *w, hl_error *err);
void hlw_pg_rollback(hl_worker *w);
hl_code hlw_pg_cycle(hl_worker *w, hl_error *err);
void hlw_pg_prune(hl_worker *w, uint64_t now);
hl_code hlw_pg_endpoint_put(hl_worker *w, const char *id, const hl_endpoint_config *cfg,
                            hl_error *err);
hl_code hlw_pg_endpoint_remove(hl_worker *w, const char *id, hl_error *err);
hl_code hlw_pg_endpoint_get(hl_worker *w, const char *id, hl_endpoint_config **out,
                            hl_error *err);
hl_code hlw_pg_endpoint_each(hl_worker *w, hl_outbox_endpoint_fn fn, void *user, hl_error *err);
/* Events into hookline.events; endpoint_ids NULL (or an entry NULL): routed
 * by the endpoints' filters, else to that endpoint only (which must exist). */
hl_code hlw_pg_submit(hl_worker *w, const hl_event *events, const char *const *endpoint_ids,
                      size_t n, char (*ids)[HL_ENGINE_ID_MAX], size_t *failed_index,
                      hl_error *err);
hl_code hlw_pg_command(hl_worker *w, hl_outbox_command_kind kind, const char *target,
                       hl_error *err);
hl_code hlw_pg_batch_get(hl_worker *w, const char *batch_id, hl_outbox_batch *out, hl_error *err);
hl_code hlw_pg_batch_body(hl_worker *w, const char *batch_id, char **out, size_t *len,
                          hl_error *err);
hl_code hlw_pg_attempts(hl_worker *w, const hl_outbox_attempt_query *q, hl_outbox_attempt_fn fn,
                        void *user, hl_error *err);
hl_code hlw_pg_counts(hl_worker *w, hl_outbox_counts *out, hl_error *err);
hl_code hlw_pg_dead_letters(hl_worker *w, const char *endpoint_id, size_t offset, size_t limit,
                            hl_outbox_batch_fn fn, void *user, size_t *total, hl_error *err);

#endif
