/*
 * hookline/worker.h - the sending side in one handle: the durable outbox
 * (hookline/outbox.h), the engine (hookline/engine.h) with the outbox as
 * its store, and the libcurl dispatcher (hookline/dispatcher.h), composed
 * (library hookline_worker; CMake target hookline::hookline_worker).
 *
 *     hl_worker_open(&w, &opts, &err);           opens the file, restores
 *     hl_worker_endpoint_add(w, "ep", json, len, 0, NULL, &err);
 *     hl_worker_enqueue(w, &event, NULL, NULL, 0, &err);   durable on return
 *     hl_worker_run(w, &stop, &err);             delivers until *stop
 *     hl_worker_close(w);
 *
 * This is what the `hookline` command and the Python and Lua bindings use.
 * Every endpoint is configured with one JSON document
 * (hookline/endpoint_config.h); registration runs the SSRF check on its URL
 * and, unless skipped, a signed `webhook.test` POST through the very
 * dispatch path deliveries take, which must get a 2xx before the endpoint is
 * saved.
 *
 * Crashes: everything acknowledged is in the file (see outbox.h for the
 * synchronous setting). A worker killed at any moment restarts with the same
 * batches; those that were in flight are sent again with the same batch id
 * (at-least-once: receivers deduplicate on it).
 *
 * A storage failure (disk full, read-only) fails the call that hit it with
 * the storage code (HL_E_STORE_NO_SPACE, ...), leaves the file as it was
 * before that call, and rebuilds the in-memory state from the file, so the
 * handle stays usable once space is back.
 *
 * One worker per file: hl_worker_open takes an exclusive lock
 * ("<db_path>.worker-lock", released when the process exits, however it
 * exits) and fails with HL_E_STORE_BUSY while another worker holds it.
 * Other processes hand events to the running worker with hl_outbox_submit
 * on their own hl_outbox handle, and queue endpoint changes and dead-letter
 * operations with hl_outbox_command_submit (after writing the endpoint's
 * row with hl_outbox_endpoint_put / _delete); hl_worker_run_once applies
 * them.
 *
 * Threads: one thread at a time per worker. Secrets never appear in error
 * messages; endpoint listings are redacted unless asked otherwise.
 */
#ifndef HOOKLINE_WORKER_H
#define HOOKLINE_WORKER_H

#include "hookline/dispatcher.h"
#include "hookline/endpoint_config.h"
#include "hookline/outbox.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Default grace period of a secret rotation: the old secret signs for 24 h more. */
#define HL_WORKER_ROTATION_GRACE_MS (24u * 3600u * 1000u)

#define HL_WORKER_OPTIONS_VERSION 1

/*
 * Worker settings; copied by hl_worker_open (strings too) except the
 * borrowed pointers said so.
 *
 * db_path          the outbox file (required; see hl_outbox_open).
 * outbox           its options (HL_OUTBOX_OPTIONS_INIT: synchronous FULL,
 *                  24 h retention).
 * url              the SSRF policy's options (hookline/ssrf.h), used both at
 *                  registration and at every connection. Default: https on
 *                  443 to public addresses only. The pointers in it are read
 *                  during hl_worker_open only.
 * resolver         NULL: getaddrinfo. Copied; its `user` must outlive the worker.
 * clock_ms         wall-clock unix ms (NULL: CLOCK_REALTIME); clock_user is passed.
 * seed             the engine's RNG seed; 0 (default, production): from the
 *                  OS CSPRNG, so batch ids never repeat across restarts.
 * max_connections  most attempts in flight (default 64).
 * ca_file          PEM CA bundle instead of the system's (NULL: system).
 * on_attempt       optional structured-log/metrics callback for every
 *                  finished attempt (hookline/dispatcher.h); attempt_user.
 * in_flight_lease_ms  the engine's lease (0: none; the dispatcher always reports).
 * drain_timeout_ms how long hl_worker_run waits for attempts in flight when
 *                  stopping (default 30000); unfinished ones are retried later.
 * prune_every_ms   how often run/run_once prune the outbox (default 60000).
 * lease_ms         PostgreSQL only: this worker's lease (0: 30 s). It must
 *                  exceed the endpoints' attempt timeouts by a good margin:
 *                  an attempt starts only with more than its timeout + 1 s
 *                  of lease left, and the lease is renewed every third.
 *
 * db_path may be a PostgreSQL URL ("postgres://..." or "postgresql://...",
 * a libpq URI; schema created by hl_pg_migrate / `hookline migrate`): the
 * worker then shares that database with any number of workers on any
 * number of hosts (docs/postgres.md). The URL is never printed.
 */
typedef struct hl_worker_options {
    unsigned int version; /* HL_WORKER_OPTIONS_VERSION */
    const char *db_path;
    hl_outbox_options outbox;
    hl_url_options url;
    const hl_resolver *resolver;
    uint64_t (*clock_ms)(void *user);
    void *clock_user;
    uint64_t seed;
    unsigned int max_connections;
    const char *ca_file;
    hl_attempt_fn on_attempt;
    void *attempt_user;
    uint64_t in_flight_lease_ms;
    uint64_t drain_timeout_ms;
    uint64_t prune_every_ms;
    uint64_t lease_ms;
} hl_worker_options;

#define HL_WORKER_OPTIONS_INIT                                                                   \
    {HL_WORKER_OPTIONS_VERSION, NULL, HL_OUTBOX_OPTIONS_INIT, HL_URL_OPTIONS_INIT, NULL, NULL,    \
     NULL, 0, 64, NULL, NULL, NULL, 0, 30000, 60000, 0}

typedef struct hl_worker hl_worker;

/*
 * hl_worker_open - take the file's worker lock, open the outbox, build the
 * engine and dispatcher, and restore every endpoint and pending batch from
 * the file. `restored` (may be
 * NULL) receives the number of batches restored. `out` is caller-owned
 * (hl_worker_close).
 * Errors: HL_E_STORE_BUSY (another worker owns the file), those of
 * hl_outbox_open, hl_url_policy_new, hl_dispatcher_new and
 * hl_outbox_restore; HL_E_INVALID_ARGUMENT.
 */
HL_API hl_code hl_worker_open(hl_worker **out, const hl_worker_options *opts, size_t *restored,
                              hl_error *err);

/*
 * hl_worker_close - stop at once: attempts in flight are abandoned (they
 * are sent again after the next open; use hl_worker_run's stop or
 * hl_worker_drain for a clean stop), free everything, close the file.
 * NULL does nothing.
 */
HL_API void hl_worker_close(hl_worker *w);

/* Borrowed handles, valid until hl_worker_close (the engine and dispatcher
 * are replaced after a storage failure: fetch them again after any error). */
HL_API hl_engine *hl_worker_engine(hl_worker *w);
HL_API hl_outbox *hl_worker_outbox(hl_worker *w);
HL_API hl_dispatcher *hl_worker_dispatcher(hl_worker *w);

/* hl_worker_now - the worker's clock, unix ms. */
HL_API uint64_t hl_worker_now(const hl_worker *w);

/* --------------------------------------------------------------- endpoints */

/* Endpoint registration flags. */
#define HL_WORKER_SKIP_TEST 1u /* do not send the webhook.test request before saving */

/*
 * hl_worker_endpoint_add - register endpoint `endpoint_id` from its
 * configuration document (`json`, `len` bytes; hookline/endpoint_config.h):
 *   1. parse and check the document;
 *   2. the SSRF check of its URL with resolution (hl_url_check_resolve);
 *      the normalised URL is what gets stored and used;
 *   3. without secrets, one is generated for its scheme;
 *   4. unless HL_WORKER_SKIP_TEST, a signed `webhook.test` event is POSTed
 *      through the dispatcher (hl_dispatcher_send_test) and must get a 2xx;
 *      `test` (may be NULL) receives the response either way;
 *   5. the endpoint is saved in the outbox and added to the engine and the
 *      dispatcher, in one transaction.
 * Errors: the config's parse errors, HL_E_ENDPOINT_EXISTS, the URL check's
 * (HL_E_URL_*, HL_E_ADDRESS_DENIED, HL_E_RESOLVE_FAILED),
 * HL_E_ENDPOINT_TEST_FAILED (the message says what the receiver answered),
 * storage errors, HL_E_INVALID_ARGUMENT (a bad id), HL_E_NOMEM.
 */
HL_API hl_code hl_worker_endpoint_add(hl_worker *w, const char *endpoint_id, const char *json,
                                      size_t len, unsigned int flags, hl_test_response *test,
                                      hl_error *err);

/*
 * hl_worker_endpoint_update - replace an endpoint's configuration, checked
 * and tested as by _add. A document without "secrets" keeps the current
 * secrets. Pending batches keep their bytes (hl_endpoint_update). Its
 * disabled state is kept. Errors: as _add, HL_E_ENDPOINT_UNKNOWN instead of
 * _EXISTS.
 */
HL_API hl_code hl_worker_endpoint_update(hl_worker *w, const char *endpoint_id, const char *json,
                                         size_t len, unsigned int flags, hl_test_response *test,
                                         hl_error *err);

/*
 * hl_worker_endpoint_remove - forget an endpoint: its undelivered batches
 * are dead-lettered ("endpoint_removed", kept in the dead-letter queue), its
 * row and delivery settings go. Errors: HL_E_ENDPOINT_UNKNOWN, storage.
 */
HL_API hl_code hl_worker_endpoint_remove(hl_worker *w, const char *endpoint_id, hl_error *err);

/* hl_worker_endpoint_enable / _disable - as hl_endpoint_enable/_disable, persisted. */
HL_API hl_code hl_worker_endpoint_enable(hl_worker *w, const char *endpoint_id, hl_error *err);
HL_API hl_code hl_worker_endpoint_disable(hl_worker *w, const char *endpoint_id, hl_error *err);

/*
 * hl_worker_endpoint_get - an endpoint's configuration document (canonical;
 * `flags` HL_CONFIG_REDACT and/or HL_CONFIG_PRETTY) into `*json` (free with
 * hl_endpoint_config_json_free) and, when `info` is not NULL, its live state
 * (strings borrowed from the engine until its next change).
 * Errors: HL_E_ENDPOINT_UNKNOWN, storage, HL_E_NOMEM.
 */
HL_API hl_code hl_worker_endpoint_get(hl_worker *w, const char *endpoint_id, unsigned int flags,
                                      char **json, hl_endpoint_info *info, hl_error *err);

/*
 * hl_worker_endpoint_list - call `fn` for every endpoint in the order they
 * were added, with its document REDACTED (compact) and its disabled reason.
 * Everything is borrowed for the call; non-zero from `fn` stops
 * (HL_E_CALLBACK).
 */
typedef int (*hl_worker_endpoint_fn)(void *user, const char *endpoint_id, const char *json,
                                     hl_disabled_reason disabled);
HL_API hl_code hl_worker_endpoint_list(hl_worker *w, hl_worker_endpoint_fn fn, void *user,
                                       hl_error *err);

/*
 * hl_worker_endpoint_test - send a signed webhook.test event to a
 * registered endpoint now (nothing stored). `flags`: 0 or HL_TEST_STALE (a
 * 10-minute-old timestamp: a receiver answering 2xx does not check
 * timestamps - `hookline endpoint test --replay-check`). `out` is filled
 * whatever the receiver answered. Errors: HL_E_ENDPOINT_UNKNOWN, those of
 * hl_dispatcher_send_test.
 */
HL_API hl_code hl_worker_endpoint_test(hl_worker *w, const char *endpoint_id, unsigned int flags,
                                       hl_test_response *out, hl_error *err);

/*
 * hl_worker_rotate_secret - make `new_secret` (NUL-terminated text in the
 * scheme's default encoding; NULL: generate one) the endpoint's secret;
 * the current ones keep signing alongside it until now + `grace_ms`
 * (HL_WORKER_ROTATION_GRACE_MS is the usual value; 0 drops them at once).
 * `new_secret_out` (may be NULL) receives the new secret's text (free it
 * with hl_endpoint_config_json_free, which wipes it) - show it to the user
 * once. Errors: HL_E_ENDPOINT_UNKNOWN, HL_E_SECRET_MALFORMED, storage,
 * HL_E_RANDOM, HL_E_NOMEM.
 */
HL_API hl_code hl_worker_rotate_secret(hl_worker *w, const char *endpoint_id,
                                       const char *new_secret, uint64_t grace_ms,
                                       char **new_secret_out, hl_error *err);

/* ------------------------------------------------------------------ events */

/*
 * hl_worker_enqueue - hl_engine_enqueue at the worker's clock, durable when
 * it returns HL_OK. `routed`, `id_out`/`id_cap` as there (may be NULL/0).
 * Errors: those of hl_engine_enqueue; storage codes instead of HL_E_STORE.
 */
HL_API hl_code hl_worker_enqueue(hl_worker *w, const hl_event *event, size_t *routed,
                                 char *id_out, size_t id_cap, hl_error *err);

/*
 * hl_worker_enqueue_many - enqueue `n` events in ONE transaction (one
 * fsync). Stops at the first event that fails: the events before it are
 * enqueued and durable (`*n_done`, may be NULL, says how many) and the
 * failure is returned. On a storage failure nothing of this call is kept
 * (`*n_done` = 0).
 */
HL_API hl_code hl_worker_enqueue_many(hl_worker *w, const hl_event *events, size_t n,
                                      size_t *n_done, hl_error *err);

/*
 * hl_worker_enqueue_to - as hl_worker_enqueue_many, but the host routes:
 * event i goes to endpoint `endpoint_ids[i]` only (hl_engine_enqueue_to:
 * the endpoint's filter and active state are not consulted), or, where
 * endpoint_ids[i] is NULL, through the filters as usual. For hosts that
 * keep routing policy of their own (tenancy: one workspace's events never
 * reach another's endpoints). To send one event to several endpoints, list
 * it once per endpoint with the same event id. ONE transaction; stops at
 * the first failure as hl_worker_enqueue_many does (`*n_done` entries were
 * enqueued and are durable). Over PostgreSQL the events go into
 * hookline.events with their targets, all or nothing (the owner of each
 * endpoint delivers them; a target disabled by then lands in
 * hookline.rejected).
 * Errors: those of hl_worker_enqueue_many, HL_E_ENDPOINT_UNKNOWN (an id
 * that is not registered), HL_E_INVALID_ARGUMENT (events or endpoint_ids
 * NULL).
 */
HL_API hl_code hl_worker_enqueue_to(hl_worker *w, const hl_event *events,
                                    const char *const *endpoint_ids, size_t n, size_t *n_done,
                                    hl_error *err);

/* ---------------------------------------------------------------- delivery */

/*
 * hl_worker_run_once - apply up to 100 queued commands
 * (hl_outbox_commands_apply), ingest up to 1000 submitted events from the
 * inbox (hl_outbox_ingest), one delivery step (hl_dispatcher_step, waiting up to
 * `max_wait_ms` for network activity or the engine's next timer), and the
 * periodic outbox pruning. `progress` may be NULL. The step's engine calls
 * (batches taken in flight, outcomes, attempt records) are written in one
 * transaction without fsync (hl_outbox_begin_lazy), and the wait happens
 * outside it: a power cut can make the last batches be sent again, never
 * lose an event.
 * Errors: storage codes (the state is rebuilt from the file), HL_E_TRANSPORT.
 */
HL_API hl_code hl_worker_run_once(hl_worker *w, uint64_t max_wait_ms,
                                  hl_dispatch_progress *progress, hl_error *err);

/*
 * hl_worker_run - deliver until `*stop` becomes non-zero (set it from a
 * signal handler), then drain: attempts in flight get up to
 * drain_timeout_ms to finish and every outcome is recorded; nothing is lost
 * (unfinished attempts are retried after the next open). The worker can
 * still be used for everything but delivery afterwards.
 * Errors: the first error of run_once that is not a storage failure.
 */
HL_API hl_code hl_worker_run(hl_worker *w, const volatile int *stop, hl_error *err);

/* hl_worker_drain - the clean stop of hl_worker_run, for hosts with their own loop. */
HL_API hl_code hl_worker_drain(hl_worker *w, uint64_t timeout_ms, hl_error *err);

/* ---------------------------------------------------- dead letters, status */

/*
 * hl_worker_is_shared - 1 when the worker runs over PostgreSQL (shared
 * with other workers), 0 over an SQLite file.
 *
 * With PostgreSQL: a handle becomes a worker (a lease, endpoint claims) at
 * its first hl_worker_run_once, so opening one for reads or registration
 * claims nothing. Endpoint changes are written to the database and picked
 * up by the endpoint's owner; enqueued events go to hookline.events and
 * are routed by whichever worker routes next (`routed` is 0: not known
 * yet); hl_worker_redrive / _purge queue a command for the owner (`n` 0);
 * hl_worker_endpoint_enable / _disable are refused (update the config's
 * "active"); hl_worker_outbox is NULL.
 */
HL_API int hl_worker_is_shared(const hl_worker *w);

/*
 * hl_worker_migrate - create or upgrade the PostgreSQL schema at `store`
 * (hl_pg_migrate; idempotent). `from`/`to` may be NULL.
 * Errors: HL_E_INVALID_ARGUMENT (not a postgres:// URL, or built without
 * libpq), those of hl_pg_migrate.
 */
HL_API hl_code hl_worker_migrate(const char *store, int *from, int *to, hl_error *err);

/*
 * hl_worker_submit - hand events to the running worker(s) without
 * enqueueing them here: hl_outbox_submit on the file, or inserts into
 * hookline.events with PostgreSQL (checked as hl_engine_enqueue checks,
 * ids generated; all or nothing; `ids` and `failed_index` as there).
 */
HL_API hl_code hl_worker_submit(hl_worker *w, const hl_event *events, size_t n,
                                char (*ids)[HL_ENGINE_ID_MAX], size_t *failed_index,
                                hl_error *err);

/* The store's reads, whichever store it is (hl_outbox_batch_get and co.,
 * hl_pg_batch_get and co.). */
HL_API hl_code hl_worker_batch_get(hl_worker *w, const char *batch_id, hl_outbox_batch *out,
                                   hl_error *err);
HL_API hl_code hl_worker_batch_body(hl_worker *w, const char *batch_id, char **out, size_t *len,
                                    hl_error *err);
HL_API hl_code hl_worker_attempts(hl_worker *w, const hl_outbox_attempt_query *q,
                                  hl_outbox_attempt_fn fn, void *user, hl_error *err);
HL_API hl_code hl_worker_dead_letters(hl_worker *w, const char *endpoint_id, size_t offset,
                                      size_t limit, hl_outbox_batch_fn fn, void *user,
                                      size_t *total, hl_error *err);
HL_API hl_code hl_worker_counts_get(hl_worker *w, hl_outbox_counts *out, hl_error *err);

/*
 * hl_worker_redrive - send a dead-lettered batch again (same id and body,
 * fresh attempt budget and deadline); batch_id NULL: every dead letter
 * (whose endpoint still exists). `n` (may be NULL) receives how many.
 * hl_worker_purge - forget one dead letter, or all when batch_id is NULL.
 * Errors: HL_E_BATCH_UNKNOWN, HL_E_BATCH_STATE, HL_E_ENDPOINT_UNKNOWN, storage.
 *
 * Listing and showing dead letters, batch status and the attempt log are
 * reads of the outbox: hl_outbox_dead_letters, hl_outbox_batch_get,
 * hl_outbox_batch_body, hl_outbox_attempts on hl_worker_outbox(w).
 */
HL_API hl_code hl_worker_redrive(hl_worker *w, const char *batch_id, size_t *n, hl_error *err);
HL_API hl_code hl_worker_purge(hl_worker *w, const char *batch_id, hl_error *err);

#ifdef __cplusplus
}
#endif

#endif /* HOOKLINE_WORKER_H */
