/*
 * hookline/pgbox.h - the PostgreSQL outbox: the engine's state in a
 * PostgreSQL database that many workers on many hosts share (driver
 * library hookline_pg; link -lhookline_pg -lpq). docs/postgres.md has the
 * schema, the SQL an application uses to enqueue inside its own
 * transactions, and the rules below in prose.
 *
 * How work is shared: by ENDPOINT OWNERSHIP. Every worker keeps a lease (a
 * row in hookline.workers, renewed every lease/3 with the database's
 * clock). An endpoint belongs to one worker while that worker's lease is
 * valid; a worker claims unowned endpoints and those of expired workers
 * (FOR UPDATE SKIP LOCKED) up to its fair share, restores them and their
 * batches into its own in-memory engine, and is then the only one that
 * sends their batches - so the engine's per-endpoint limits (concurrency,
 * rate, circuit breaker, ordering keys, batching) hold across workers.
 *
 * The safety rule (no batch delivered concurrently by two workers while a
 * lease is valid): a worker measures its lease from its monotonic clock
 * read BEFORE it sends the renewal, so its own idea of the lease ends no
 * later than the database's; it starts an attempt only while the lease has
 * more left than the attempt's timeout plus a margin (hl_pg_lease_left),
 * so every attempt ends before any other worker may take the endpoint.
 * Writes are fenced too: a batch row of an endpoint another worker owns is
 * never overwritten (the hook fails; the engine is rebuilt).
 *
 * Events come in through hookline.events (the application's transactional
 * inbox: an INSERT in the application's own transaction); any worker routes
 * them (hl_pg_route: one hookline.pending row per subscribed endpoint, by
 * the endpoints' filters) and each owner moves its endpoints' pending rows
 * into its engine (hl_pg_ingest) in the same transaction as the engine's
 * writes.
 *
 * Errors of every call: HL_E_STORE_UNAVAILABLE (cannot connect, connection
 * lost: the next call reconnects), HL_E_STORE_NO_SPACE (disk full),
 * HL_E_STORE_READONLY (a read-only server or transaction),
 * HL_E_STORE_BUSY (lock or serialization conflicts that persisted after
 * retries; an endpoint another worker owns), HL_E_STORE_SCHEMA (not
 * migrated, or a newer schema), HL_E_STORE_IO (anything else the server
 * refused), HL_E_NOMEM. Messages carry PostgreSQL's own text, never the
 * connection string (it may hold a password), event data or secrets.
 *
 * Threads: one thread at a time per handle (one libpq connection).
 */
#ifndef HOOKLINE_PGBOX_H
#define HOOKLINE_PGBOX_H

#include "hookline/endpoint_config.h"
#include "hookline/engine.h"
#include "hookline/outbox.h" /* the read types (hl_outbox_batch, ...) are shared */

#ifdef __cplusplus
extern "C" {
#endif

/* The schema version this library writes (hookline.meta). */
#define HL_PG_SCHEMA_VERSION 1
/* Default lease of a worker. */
#define HL_PG_LEASE_DEFAULT_MS 30000u

/* 1 when `url` names a PostgreSQL store ("postgres://" or "postgresql://"). */
HL_API int hl_pg_is_url(const char *url);

/*
 * hl_pg_migrate - create the schema `hookline` or bring it to
 * HL_PG_SCHEMA_VERSION, in one transaction (an advisory lock keeps two
 * migrations apart). Idempotent. `from` / `to` (may be NULL) receive the
 * versions before and after.
 * Errors: HL_E_STORE_SCHEMA (a newer schema than this library's), the
 * storage errors, HL_E_INVALID_ARGUMENT.
 */
HL_API hl_code hl_pg_migrate(const char *url, int *from, int *to, hl_error *err);

#define HL_PG_OPTIONS_VERSION 1

/*
 * Options of a handle. worker_id NULL: "<host>:<pid>:<random>". lease_ms
 * 0: HL_PG_LEASE_DEFAULT_MS. mono_ms: a monotonic clock in ms (NULL:
 * CLOCK_MONOTONIC; tests pass one they advance). Retention as in
 * hl_outbox_options.
 */
typedef struct hl_pg_options {
    unsigned int version; /* HL_PG_OPTIONS_VERSION */
    const char *worker_id;
    uint64_t lease_ms;
    uint64_t (*mono_ms)(void *user);
    void *mono_user;
    uint64_t attempt_retention_ms;   /* default 24 h */
    uint64_t delivered_retention_ms; /* default 24 h */
} hl_pg_options;

#define HL_PG_OPTIONS_INIT                                                                       \
    {HL_PG_OPTIONS_VERSION, NULL, 0, NULL, NULL, 24u * 3600u * 1000u, 24u * 3600u * 1000u}

typedef struct hl_pg hl_pg;

/*
 * hl_pg_open - connect to `url` (a libpq URI or conninfo string; copied)
 * and check the schema is at HL_PG_SCHEMA_VERSION (run hl_pg_migrate
 * first). The handle is a reader and writer; it becomes a worker (a lease
 * row) at its first hl_pg_renew. `out` is caller-owned (hl_pg_close).
 */
HL_API hl_code hl_pg_open(hl_pg **out, const char *url, const hl_pg_options *opts,
                          hl_error *err);

/* hl_pg_close - disconnect (the lease, if any, is left to expire). NULL does nothing. */
HL_API void hl_pg_close(hl_pg *pg);

/* hl_pg_worker_id - this handle's worker id (borrowed). */
HL_API const char *hl_pg_worker_id(const hl_pg *pg);

/*
 * hl_pg_store - the store interface for hl_engine_options.store (`user` is
 * `pg`, which must outlive the engine). As hl_outbox_store: every engine
 * call is one transaction; a failed hook rolls back and the engine stops
 * (rebuild it: free it, hl_pg_rollback, a new engine, hl_pg_sync).
 * hl_pg_last_error - why the last hook failed (borrowed).
 * hl_pg_begin / _commit / _rollback - an outer transaction the hooks join
 * (they nest; only the outermost commit writes).
 */
HL_API hl_store hl_pg_store(hl_pg *pg);
HL_API const hl_error *hl_pg_last_error(const hl_pg *pg);
HL_API hl_code hl_pg_begin(hl_pg *pg, hl_error *err);
HL_API hl_code hl_pg_commit(hl_pg *pg, hl_error *err);
HL_API void hl_pg_rollback(hl_pg *pg);

/* -------------------------------------------------------------- endpoints */

/*
 * hl_pg_endpoint_put - insert or replace an endpoint's configuration (as
 * hl_outbox_endpoint_put). Its owner sees the change at its next
 * hl_pg_sync and updates its engine.
 * hl_pg_endpoint_remove - mark the endpoint removed: its owner (or the next
 * worker to claim it) removes it from its engine (dead-lettering its
 * batches) and deletes the row. HL_E_ENDPOINT_UNKNOWN if none.
 * hl_pg_endpoint_get / _each - as hl_outbox_endpoint_get / _each (removed
 * endpoints are skipped).
 */
HL_API hl_code hl_pg_endpoint_put(hl_pg *pg, const char *endpoint_id,
                                  const hl_endpoint_config *cfg, uint64_t now_ms, hl_error *err);
HL_API hl_code hl_pg_endpoint_remove(hl_pg *pg, const char *endpoint_id, hl_error *err);
HL_API hl_code hl_pg_endpoint_get(hl_pg *pg, const char *endpoint_id, hl_endpoint_config **out,
                                  hl_disabled_reason *disabled, hl_error *err);
HL_API hl_code hl_pg_endpoint_each(hl_pg *pg, hl_outbox_endpoint_fn fn, void *user,
                                   hl_error *err);

/* ------------------------------------------------------- sharing the work */

/*
 * hl_pg_renew - make this handle a live worker, or keep it one: upsert its
 * row with lease_until = now() + lease (database clock). The local lease
 * runs from the monotonic time read before the request. Errors: storage.
 */
HL_API hl_code hl_pg_renew(hl_pg *pg, hl_error *err);

/* hl_pg_renew_due - 1 when a third of the lease has passed since the last renewal. */
HL_API int hl_pg_renew_due(const hl_pg *pg);

/*
 * hl_pg_lease_left - milliseconds of this worker's lease left by its own
 * (conservative) clock; 0 when never renewed or expired. Start an attempt
 * only when this exceeds its timeout plus a margin.
 */
HL_API uint64_t hl_pg_lease_left(const hl_pg *pg);

/* Called for an endpoint claimed into the engine (after its batches were
 * restored) and for one released from it. Non-zero from on_claim fails the
 * sync (HL_E_CALLBACK). */
typedef void (*hl_pg_release_fn)(void *user, const char *endpoint_id);

/* What one hl_pg_sync did. */
typedef struct hl_pg_sync_result {
    size_t claimed;   /* endpoints taken into the engine */
    size_t released;  /* endpoints dropped from it (lost, rebalanced, lease expired) */
    size_t updated;   /* configuration changes applied */
    size_t removed;   /* endpoints removed for good */
    size_t restored;  /* batches restored with the claimed endpoints */
    size_t owned;     /* endpoints this worker owns afterwards */
} hl_pg_sync_result;

/*
 * hl_pg_sync - bring `engine` (whose store is `pg`) in line with the
 * database, in one transaction:
 *   1. with no valid lease, release every endpoint (hl_endpoint_release)
 *      that has nothing in flight, and stop;
 *   2. release endpoints another worker now owns; restore those this
 *      worker owns but the engine lacks (after a rebuild); apply changed
 *      configurations; remove endpoints marked removed;
 *   3. claim endpoints that are unowned or whose owner's lease expired, up
 *      to ceil(endpoints / live workers); release idle ones beyond that
 *      share when it owns more than share + 1, or more than the share
 *      while another live worker owns at least two fewer (so ownership
 *      converges to within one endpoint of even).
 * `result` may be NULL. Errors: storage, the engine's, HL_E_CALLBACK.
 */
HL_API hl_code hl_pg_sync(hl_pg *pg, hl_engine *engine, uint64_t now_ms,
                          hl_outbox_restore_fn on_claim, hl_pg_release_fn on_release, void *user,
                          hl_pg_sync_result *result, hl_error *err);

/*
 * hl_pg_leave - stop being a worker: hand every endpoint back (owner NULL)
 * and delete the lease row, so others take over at once. Call it only
 * when nothing is in flight (after a drain). The engine's endpoints are
 * released. Errors: storage.
 */
HL_API hl_code hl_pg_leave(hl_pg *pg, hl_engine *engine, hl_error *err);

/*
 * hl_pg_route - move up to `max` (0: 1000) rows of hookline.events, oldest
 * first, to hookline.pending: one row per endpoint whose filter matches
 * (hl_event_filter_match; removed and disabled endpoints get nothing), or
 * the one named in endpoint_id. Invalid events (bad type or id, data not
 * JSON) go to hookline.rejected with the reason. One worker routes at a
 * time (an advisory lock), so ids keep their order. `routed` (may be
 * NULL) receives how many events were taken.
 */
HL_API hl_code hl_pg_route(hl_pg *pg, uint64_t now_ms, size_t max, size_t *routed,
                           hl_error *err);

/*
 * hl_pg_ingest - enqueue up to `max` (0: 1000) pending rows of endpoints
 * this worker owns into `engine` (hl_engine_enqueue_to) and delete them,
 * in ONE transaction with the engine's writes. Rows the engine refuses go
 * to hookline.rejected. Errors: storage (nothing moved: rebuild the
 * engine), HL_E_STORE.
 */
HL_API hl_code hl_pg_ingest(hl_pg *pg, hl_engine *engine, uint64_t now_ms, size_t max,
                            size_t *ingested, size_t *rejected, hl_error *err);

/*
 * hl_pg_enqueue - insert events into hookline.events (what the application
 * does in SQL; for the CLI and tests). `endpoint_id` NULL: route by
 * filters; else to that endpoint only. One transaction (joins an outer
 * hl_pg_begin). Events are checked when routed, not here.
 */
HL_API hl_code hl_pg_enqueue(hl_pg *pg, const hl_event *events, size_t n,
                             const char *endpoint_id, hl_error *err);

/* ---------------------------------------------------- commands, pruning */

/*
 * hl_pg_command_submit - queue a redrive or purge for the owner of the
 * batch's endpoint (HL_COMMAND_REDRIVE / HL_COMMAND_PURGE; `target` a
 * batch id, or NULL: every dead letter). HL_COMMAND_ENDPOINT is not
 * needed (owners watch the endpoint rows): HL_E_INVALID_ARGUMENT.
 * Errors: HL_E_BATCH_UNKNOWN, storage.
 *
 * hl_pg_commands_apply - call `fn` for up to `max` (0: 100) commands of
 * endpoints this worker owns, oldest first, deleting each (as
 * hl_outbox_commands_apply; `target` is a batch id, or NULL for every
 * dead letter of that endpoint's owner - the worker's engine).
 */
HL_API hl_code hl_pg_command_submit(hl_pg *pg, hl_outbox_command_kind kind, const char *target,
                                    uint64_t now_ms, hl_error *err);
HL_API hl_code hl_pg_commands_apply(hl_pg *pg, hl_outbox_command_fn fn, void *user, size_t max,
                                    size_t *applied, size_t *failed, hl_error *err);

/* hl_pg_prune - as hl_outbox_prune (any worker may run it). */
HL_API hl_code hl_pg_prune(hl_pg *pg, uint64_t now_ms, size_t *pruned, hl_error *err);

/* ---------------------------------------------------------------- reads */

/* As the hl_outbox_ reads of the same names (hookline/outbox.h). */
HL_API hl_code hl_pg_batch_get(hl_pg *pg, const char *batch_id, hl_outbox_batch *out,
                               hl_error *err);
HL_API hl_code hl_pg_batch_body(hl_pg *pg, const char *batch_id, char **out, size_t *len,
                                hl_error *err);
HL_API hl_code hl_pg_attempts(hl_pg *pg, const hl_outbox_attempt_query *q,
                              hl_outbox_attempt_fn fn, void *user, hl_error *err);
HL_API hl_code hl_pg_dead_letters(hl_pg *pg, const char *endpoint_id, size_t offset,
                                  size_t limit, hl_outbox_batch_fn fn, void *user, size_t *total,
                                  hl_error *err);
/* Counts: `inbox` = hookline.events + hookline.pending rows, `inbox_rejected`
 * = hookline.rejected, `commands` = hookline.commands. */
HL_API hl_code hl_pg_counts_get(hl_pg *pg, hl_outbox_counts *out, hl_error *err);

#ifdef __cplusplus
}
#endif

#endif /* HOOKLINE_PGBOX_H */
