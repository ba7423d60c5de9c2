/*
 * hookline/outbox.h - the durable outbox: the engine's state (endpoints,
 * batches, events of open batches, attempt log, dead-letter queue) in one
 * SQLite file (driver library hookline_sqlite; link -lhookline_sqlite
 * -lsqlite3).
 *
 * The outbox implements the engine's store interface (hl_store,
 * hookline/engine.h): give hl_outbox_store(ob) to hl_engine_new and every
 * engine call that changes state becomes ONE SQLite transaction, committed
 * before the call returns. After a crash, hl_outbox_restore rebuilds an
 * engine from the file: same endpoints (and their disabled reasons), same
 * batch ids, bodies, deadlines and attempt counts; batches that were in
 * flight are sent again (at-least-once).
 *
 * Durability: with the default HL_OUTBOX_SYNC_FULL an enqueue is on disk
 * when hl_engine_enqueue returns (the WAL is fsynced at every commit): a
 * power cut loses nothing that was acknowledged. HL_OUTBOX_SYNC_NORMAL
 * skips that fsync (it happens at checkpoints): several times faster
 * commits, still safe against a crash or kill -9 of the process, but a power
 * cut or kernel crash may lose the last transactions - acknowledged events
 * included. Grouping many enqueues in one transaction (hl_outbox_begin /
 * hl_outbox_commit) gets most of the speed with FULL. docs/outbox.md has
 * the schema and what survives what.
 *
 * One process at a time runs an engine over a file (the worker enforces it
 * with a lock: two engines would both send its batches and overwrite each
 * other's rows). Other processes open the outbox without an engine to read
 * (status, attempts, dead letters) - WAL lets them read while it writes -
 * and to hand events to the running worker through the inbox
 * (hl_outbox_submit), which the worker ingests (hl_outbox_ingest).
 *
 * Errors of every call: HL_E_STORE_IO (cannot open: missing directory, I/O
 * error), HL_E_STORE_CORRUPT (not an SQLite file, or damaged),
 * HL_E_STORE_READONLY (file or directory not writable), HL_E_STORE_NO_SPACE
 * (disk full or max_bytes reached; the transaction is rolled back, so the
 * file holds the state before the call), HL_E_STORE_BUSY, HL_E_STORE_SCHEMA
 * (a newer schema than this library knows, or tables of another shape),
 * HL_E_NOMEM. Messages carry SQLite's own explanation, never event data or
 * secrets.
 */
#ifndef HOOKLINE_OUTBOX_H
#define HOOKLINE_OUTBOX_H

#include "hookline/endpoint_config.h"
#include "hookline/engine.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The schema version this library writes (hl_outbox_meta.schema_version). */
#define HL_OUTBOX_SCHEMA_VERSION 3
/* Most rows deleted per table by one hl_outbox_prune call. */
#define HL_OUTBOX_PRUNE_BATCH 5000

typedef enum hl_outbox_sync {
    HL_OUTBOX_SYNC_FULL = 0,  /* default: fsync every commit; acknowledged = on disk */
    HL_OUTBOX_SYNC_NORMAL = 1 /* fsync at checkpoints: survives process crashes, not power cuts */
} hl_outbox_sync;

#define HL_OUTBOX_OPTIONS_VERSION 1

typedef struct hl_outbox_options {
    unsigned int version;             /* HL_OUTBOX_OPTIONS_VERSION */
    hl_outbox_sync synchronous;       /* default HL_OUTBOX_SYNC_FULL */
    int busy_timeout_ms;              /* >= 0; wait for another handle's lock (default 5000) */
    uint64_t attempt_retention_ms;    /* attempt records kept (default 24 h) */
    uint64_t delivered_retention_ms;  /* delivered batches' status kept (default 24 h) */
    uint64_t max_bytes;               /* 0: no limit; else the file may not grow beyond about
                                       * this (SQLite max_page_count): HL_E_STORE_NO_SPACE */
} hl_outbox_options;

#define HL_OUTBOX_OPTIONS_INIT                                                                   \
    {HL_OUTBOX_OPTIONS_VERSION, HL_OUTBOX_SYNC_FULL, 5000, 24u * 3600u * 1000u,                  \
     24u * 3600u * 1000u, 0}

typedef struct hl_outbox hl_outbox;

/*
 * hl_outbox_open - open (creating, or migrating to the current schema) the
 * outbox in the file at `path` (NUL-terminated; the directory must exist;
 * ":memory:" gives a private, non-durable outbox for tests). `opts` NULL:
 * the defaults. `out` is caller-owned (hl_outbox_close).
 */
HL_API hl_code hl_outbox_open(hl_outbox **out, const char *path, const hl_outbox_options *opts,
                              hl_error *err);

/* hl_outbox_close - close the file (the WAL is checkpointed). NULL does nothing. */
HL_API void hl_outbox_close(hl_outbox *ob);

/*
 * hl_outbox_store - the store interface to put in hl_engine_options.store.
 * Its `user` is `ob`, which must outlive the engine. When a hook fails the
 * transaction is rolled back (nothing half-written) and the engine stops
 * (HL_E_STORE, then HL_E_ENGINE_FAILED); hl_outbox_last_error tells why
 * (e.g. HL_E_STORE_NO_SPACE). Rebuild: free the engine, hl_outbox_rollback,
 * a new engine, hl_outbox_restore.
 */
HL_API hl_store hl_outbox_store(hl_outbox *ob);

/* hl_outbox_last_error - the last failure of a store hook (code HL_OK if none). Borrowed. */
HL_API const hl_error *hl_outbox_last_error(const hl_outbox *ob);

/*
 * Transactions. hl_outbox_begin opens a transaction that the store hooks
 * join (they nest), so several engine calls - hl_engine_enqueue for many
 * events, an endpoint change and its row - commit together: one fsync for
 * all. hl_outbox_commit ends it; hl_outbox_rollback undoes everything since
 * hl_outbox_begin (and resets after a failed hook). After a rollback the
 * engine's memory is ahead of the file: rebuild the engine.
 * Begin/commit pairs nest; only the outermost commit writes.
 */
HL_API hl_code hl_outbox_begin(hl_outbox *ob, hl_error *err);
HL_API hl_code hl_outbox_commit(hl_outbox *ob, hl_error *err);
HL_API void hl_outbox_rollback(hl_outbox *ob);

/*
 * hl_outbox_begin_lazy - hl_outbox_begin for a transaction whose loss at a
 * power cut is harmless: its commit is not fsynced even with
 * HL_OUTBOX_SYNC_FULL (it becomes durable with the next synced commit or
 * checkpoint, which also keeps the WAL in order; a crash or kill of the
 * process loses nothing). The worker uses it for delivery bookkeeping
 * (batches taken in flight, outcomes, attempt records): losing the last of
 * those at a power cut only makes batches be sent again with the same ids
 * (at-least-once), while enqueued events keep their fsync. Nested inside
 * another transaction it is that transaction. Errors: as hl_outbox_begin.
 */
HL_API hl_code hl_outbox_begin_lazy(hl_outbox *ob, hl_error *err);

/* --------------------------------------------------------------- endpoints */

/*
 * hl_outbox_endpoint_put - insert or replace endpoint `endpoint_id`'s
 * configuration (its canonical JSON, hl_endpoint_config_to_json without
 * redaction). A new endpoint starts with `disabled` = HL_DISABLED_USER when
 * its config says "active": false, else HL_DISABLED_NONE; a replaced one
 * keeps its disabled reason. The engine is not touched: the worker adds the
 * endpoint to it. Errors: storage errors, HL_E_INVALID_ARGUMENT.
 */
HL_API hl_code hl_outbox_endpoint_put(hl_outbox *ob, const char *endpoint_id,
                                      const hl_endpoint_config *cfg, uint64_t now_ms,
                                      hl_error *err);

/* hl_outbox_endpoint_delete - forget an endpoint's row. HL_E_ENDPOINT_UNKNOWN if none. */
HL_API hl_code hl_outbox_endpoint_delete(hl_outbox *ob, const char *endpoint_id, hl_error *err);

/* A stored endpoint. Strings borrowed for the callback / until the next call. */
typedef struct hl_outbox_endpoint {
    const char *endpoint_id;
    const char *config_json; /* canonical, NOT redacted: it holds the secrets */
    size_t config_len;
    hl_disabled_reason disabled;
    uint64_t created_ms;
    uint64_t updated_ms;
} hl_outbox_endpoint;

/*
 * hl_outbox_endpoint_get - one endpoint's row: `*out` receives a new
 * caller-owned config (hl_endpoint_config_free), `disabled` (may be NULL)
 * its persisted reason. Errors: HL_E_ENDPOINT_UNKNOWN, the config's parse
 * errors (a damaged row), storage errors.
 */
HL_API hl_code hl_outbox_endpoint_get(hl_outbox *ob, const char *endpoint_id,
                                      hl_endpoint_config **out, hl_disabled_reason *disabled,
                                      hl_error *err);

/*
 * hl_outbox_endpoint_each - call `fn` for every stored endpoint, in the
 * order they were first added. A non-zero return from `fn` stops the walk
 * and is returned as HL_E_CALLBACK.
 */
typedef int (*hl_outbox_endpoint_fn)(void *user, const hl_outbox_endpoint *ep);
HL_API hl_code hl_outbox_endpoint_each(hl_outbox *ob, hl_outbox_endpoint_fn fn, void *user,
                                       hl_error *err);

/* ----------------------------------------------------------------- restore */

/*
 * Called by hl_outbox_restore for each endpoint after it was added to the
 * engine, with its parsed config (borrowed for the call) - the worker gives
 * the delivery half to its dispatcher here. Non-zero stops the restore
 * (HL_E_CALLBACK).
 */
typedef int (*hl_outbox_restore_fn)(void *user, const char *endpoint_id,
                                    const hl_endpoint_config *cfg);

/*
 * hl_outbox_restore - rebuild `engine` (new and empty, with this outbox as
 * its store) from the file: every endpoint is added with its stored config
 * and given back its disabled reason (hl_endpoint_set_disabled); then every
 * batch not delivered is restored in creation order with
 * hl_engine_restore_batch - OPEN batches rebuilt from their event rows. A
 * live batch whose endpoint is gone is restored dead-lettered
 * ("endpoint_removed"). `on_endpoint` may be NULL. `restored` (may be NULL)
 * receives the number of batches restored.
 * Errors: storage errors, the engine's (HL_E_ENDPOINT_EXISTS: the engine
 * was not empty), HL_E_CALLBACK, a stored config that no longer parses
 * (its parse error, the message naming the endpoint).
 */
HL_API hl_code hl_outbox_restore(hl_outbox *ob, hl_engine *engine, uint64_t now_ms,
                                 hl_outbox_restore_fn on_endpoint, void *user, size_t *restored,
                                 hl_error *err);

/* ---------------------------------------------------------------- queries */

/*
 * A batch as stored: the engine's hl_batch_info without the body (see
 * hl_outbox_batch_body), strings copied into the struct. Delivered batches
 * are kept for delivered_retention_ms after delivery.
 */
typedef struct hl_outbox_batch {
    char batch_id[HL_BATCH_ID_MAX];
    char endpoint_id[HL_ENGINE_ID_MAX];
    char ordering_key[HL_ENGINE_ID_MAX]; /* "" when none */
    hl_batch_state state;
    uint32_t n_events;
    size_t body_len;          /* body bytes (OPEN: so far); a delivered batch keeps the
                               * number but its body is dropped */
    uint64_t created_ms;
    uint64_t deadline_ms;
    uint64_t close_at_ms;
    uint64_t next_attempt_ms;
    unsigned int attempts;
    unsigned int total_attempts;
    unsigned int redrives;
    int last_status;
    hl_failure last_failure;
    char dead_reason[32];     /* "" unless dead-lettered */
    uint64_t settled_ms;
} hl_outbox_batch;

/* hl_outbox_batch_get - a batch's stored status. Errors: HL_E_BATCH_UNKNOWN, storage. */
HL_API hl_code hl_outbox_batch_get(hl_outbox *ob, const char *batch_id, hl_outbox_batch *out,
                                   hl_error *err);

/*
 * hl_outbox_batch_body - a copy of a batch's body (for an OPEN batch, the
 * events so far as a JSON array): `*out` is caller-owned (free()), `*len`
 * its length; it is NUL-terminated for convenience.
 * Errors: HL_E_BATCH_UNKNOWN (also for a delivered batch), storage, HL_E_NOMEM.
 */
HL_API hl_code hl_outbox_batch_body(hl_outbox *ob, const char *batch_id, char **out, size_t *len,
                                    hl_error *err);

#define HL_OUTBOX_QUERY_VERSION 1

/*
 * Which attempt records to list. NULL strings and 0 numbers do not filter.
 * Records come oldest first, or newest first with `newest_first`.
 */
typedef struct hl_outbox_attempt_query {
    unsigned int version; /* HL_OUTBOX_QUERY_VERSION */
    const char *endpoint_id;
    const char *batch_id;
    uint64_t since_ms;    /* at_ms >= since_ms */
    size_t limit;         /* 0: no limit */
    int newest_first;
} hl_outbox_attempt_query;

#define HL_OUTBOX_ATTEMPT_QUERY_INIT {HL_OUTBOX_QUERY_VERSION, NULL, NULL, 0, 0, 0}

/* Record callbacks: the record is borrowed for the call; non-zero stops (HL_E_CALLBACK). */
typedef int (*hl_outbox_attempt_fn)(void *user, const hl_attempt_record *rec);
typedef int (*hl_outbox_batch_fn)(void *user, const hl_outbox_batch *batch);

/* hl_outbox_attempts - walk the attempt log. `q` NULL: everything, oldest first. */
HL_API hl_code hl_outbox_attempts(hl_outbox *ob, const hl_outbox_attempt_query *q,
                                  hl_outbox_attempt_fn fn, void *user, hl_error *err);

/*
 * hl_outbox_dead_letters - walk the dead-letter queue in the order batches
 * died, skipping `offset`, at most `limit` (0: all). `endpoint_id` NULL: all
 * endpoints. `total` (may be NULL) receives the queue's length (for that
 * endpoint). Redrive and purge go through the engine (hl_engine_redrive,
 * hl_engine_purge), which records them here.
 */
HL_API hl_code hl_outbox_dead_letters(hl_outbox *ob, const char *endpoint_id, size_t offset,
                                      size_t limit, hl_outbox_batch_fn fn, void *user,
                                      size_t *total, hl_error *err);

/* Counts by state, for status displays and metrics. */
typedef struct hl_outbox_counts {
    size_t batches[HL_BATCH__SENTINEL]; /* rows per state (delivered: those still kept) */
    size_t open_events;                 /* event rows of open batches */
    size_t attempts;                    /* attempt records kept */
    size_t endpoints;
    size_t inbox;                       /* submitted events not yet ingested */
    size_t inbox_rejected;              /* submitted events the engine refused at ingestion */
    size_t commands;                    /* commands queued for the worker */
} hl_outbox_counts;

HL_API hl_code hl_outbox_counts_get(hl_outbox *ob, hl_outbox_counts *out, hl_error *err);

/* ------------------------------------------------------------------ inbox */

/*
 * hl_outbox_submit - hand `n` events to the worker that owns this file,
 * from any process, without an engine: they are checked (as
 * hl_engine_enqueue checks them: type, id, data is JSON), given an id when
 * they have none and a created_at of `now_ms` when 0, and written to the
 * inbox in ONE transaction, durable when this returns. The worker routes
 * and batches them at its next hl_outbox_ingest (hl_worker_run_once does).
 * All or nothing: an invalid event writes nothing and `*failed_index` (may
 * be NULL) receives its index. `ids` (may be NULL) receives the event ids:
 * `n` buffers of HL_ENGINE_ID_MAX bytes.
 * Errors: HL_E_EVENT_INVALID, HL_E_INVALID_ARGUMENT, storage errors, HL_E_NOMEM.
 */
HL_API hl_code hl_outbox_submit(hl_outbox *ob, const hl_event *events, size_t n, uint64_t now_ms,
                                char (*ids)[HL_ENGINE_ID_MAX], size_t *failed_index,
                                hl_error *err);

/*
 * hl_outbox_ingest - move up to `max` (0: 1000) submitted events, oldest
 * first, from the inbox into `engine` (whose store is this outbox), in ONE
 * transaction: each row is enqueued and deleted together, so an event is
 * never both in the inbox and in a batch, nor in neither. An event the
 * engine refuses at ingestion (e.g. larger than an endpoint's max_bytes) is
 * moved to the hl_inbox_rejected table with the reason, never dropped
 * silently. `ingested` and `rejected` may be NULL.
 * Errors: storage errors (nothing moved; rebuild the engine), HL_E_STORE.
 */
HL_API hl_code hl_outbox_ingest(hl_outbox *ob, hl_engine *engine, uint64_t now_ms, size_t max,
                                size_t *ingested, size_t *rejected, hl_error *err);

/* --------------------------------------------------------------- commands */

/*
 * Changes another process asks the running worker to make (the worker owns
 * the engine, so only it may change endpoints and dead letters). A client
 * (the CLI while `hookline run` runs) writes an endpoint's row itself
 * (hl_outbox_endpoint_put / _delete, after its own checks) and then submits
 * HL_COMMAND_ENDPOINT; the worker applies commands in order at its next
 * run_once. Applying twice is harmless (a crash between applying and
 * deleting a command makes it run again).
 */
typedef enum hl_outbox_command_kind {
    HL_COMMAND_ENDPOINT = 0, /* re-read endpoint `target`'s row: add or update it (options,
                              * disabled reason, delivery settings), remove it when the row
                              * is gone */
    HL_COMMAND_REDRIVE = 1,  /* redrive dead letter `target`; NULL: every dead letter */
    HL_COMMAND_PURGE = 2,    /* purge dead letter `target`; NULL: all */
    HL_COMMAND__SENTINEL
} hl_outbox_command_kind;

/* hl_outbox_command_submit - queue a command (durable on return). Errors: storage, HL_E_INVALID_ARGUMENT. */
HL_API hl_code hl_outbox_command_submit(hl_outbox *ob, hl_outbox_command_kind kind,
                                        const char *target, uint64_t now_ms, hl_error *err);

/*
 * hl_outbox_commands_apply - call `fn` for up to `max` (0: 100) queued
 * commands, oldest first, deleting each after `fn` returns. When `fn`
 * returns a storage code (400-406) or HL_E_STORE the walk stops and the
 * command stays queued (that code is returned); any other failure is
 * counted in `*failed` (may be NULL) and the command is dropped.
 * `applied` (may be NULL) receives how many were handled.
 */
typedef hl_code (*hl_outbox_command_fn)(void *user, hl_outbox_command_kind kind,
                                        const char *target, hl_error *err);
HL_API hl_code hl_outbox_commands_apply(hl_outbox *ob, hl_outbox_command_fn fn, void *user,
                                        size_t max, size_t *applied, size_t *failed,
                                        hl_error *err);

/*
 * hl_outbox_prune - delete attempt records older than attempt_retention_ms
 * and delivered batches settled longer than delivered_retention_ms ago, at
 * most HL_OUTBOX_PRUNE_BATCH rows of each per call (call it periodically;
 * the worker does every minute). `pruned` (may be NULL) receives how many
 * rows went. Never touches undelivered batches or dead letters.
 */
HL_API hl_code hl_outbox_prune(hl_outbox *ob, uint64_t now_ms, size_t *pruned, hl_error *err);

#ifdef __cplusplus
}
#endif

#endif /* HOOKLINE_OUTBOX_H */
