/*
 * hookline/engine.h - the delivery engine: events in, "send batch B to
 * endpoint E" decisions out.
 *
 * The engine is sans-IO, like ngtcp2 or curl's multi state machine without
 * its sockets: it never reads a clock, never touches the network or a file.
 * The host (a libcurl driver, a Python or Lua program, a test) drives it:
 *
 *     hl_engine_enqueue(e, &event, now, ...)      events arrive
 *     hl_engine_next_action(e, now, &action)      SEND / WAIT until T / IDLE
 *     ... host sends action.body to action.url ...
 *     hl_engine_report_outcome(e, batch_id, &outcome, now, ...)
 *
 * Time: every `now_ms` is wall-clock milliseconds since the unix epoch (the
 * engine needs absolute time to honour HTTP-date Retry-After values, to
 * write created_at, and so that persisted deadlines survive a restart). The
 * host must never pass a `now_ms` smaller than a previous one; the engine
 * treats a smaller value as equal to the largest seen.
 *
 * Threads: an engine is used by one thread at a time. Callbacks are called
 * from inside engine calls and must not change the same engine; the
 * read-only calls (hl_engine_batch_get, hl_engine_attempt_count/_at,
 * hl_engine_stats_get, hl_endpoint_info_get, the list functions) are
 * allowed, e.g. for a decide callback that looks at a batch's attempt log.
 *
 * Borrowed pointers (action fields, batch and attempt info) stay valid until
 * the next call that changes the engine (enqueue, next_action,
 * report_outcome, endpoint and dead-letter operations), unless said
 * otherwise.
 *
 * States, schedule and diagram: docs/engine.md.
 */
#ifndef HOOKLINE_ENGINE_H
#define HOOKLINE_ENGINE_H

#include "hookline/common.h"
#include "hookline/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------ constants */

/* Longest endpoint id, event id, event type and ordering key, including the
 * NUL. Longer ones are rejected with HL_E_INVALID_ARGUMENT / HL_E_EVENT_INVALID. */
#define HL_ENGINE_ID_MAX 256
/* Batch ids are "bat_" + 26 base32 characters (130 bits): 31 bytes with NUL. */
#define HL_BATCH_ID_MAX 32
/* Most schedule entries and event filters in one endpoint's options. */
#define HL_SCHEDULE_MAX 32
#define HL_FILTERS_MAX 64
/* Largest response-body excerpt kept in an attempt record. */
#define HL_EXCERPT_MAX 1024

/* ---------------------------------------------------------------- states */

/*
 * A batch's life (one setter in engine.c changes it; see docs/engine.md).
 */
typedef enum hl_batch_state {
    HL_BATCH_OPEN = 0,       /* collecting events; closes on max events/bytes/linger */
    HL_BATCH_HELD = 1,       /* closed, waits for the previous batch of its ordering key */
    HL_BATCH_QUEUED = 2,     /* closed and due; waits for endpoint capacity */
    HL_BATCH_IN_FLIGHT = 3,  /* handed out by next_action; waits for report_outcome */
    HL_BATCH_RETRY_WAIT = 4, /* an attempt failed; waits for the next attempt time */
    HL_BATCH_DELIVERED = 5,  /* terminal: the receiver accepted it */
    HL_BATCH_DEAD_LETTERED = 6, /* gave up; kept in the dead-letter queue */
    HL_BATCH__SENTINEL
} hl_batch_state;

/* "open", "held", "queued", "in_flight", "retry_wait", "delivered",
 * "dead_lettered"; "unknown" otherwise. Static strings. */
HL_API const char *hl_batch_state_name(int state);

/* Why an endpoint is not receiving: HL_DISABLED_NONE means it is active. */
typedef enum hl_disabled_reason {
    HL_DISABLED_NONE = 0,
    HL_DISABLED_USER = 1,    /* options.active == 0 or hl_engine_endpoint_disable */
    HL_DISABLED_GONE = 2,    /* the receiver answered 410 Gone */
    HL_DISABLED_FAILING = 3, /* continuous failure for breaker_disable_after_ms or too many trips */
    HL_DISABLED_BLOCKED = 4, /* the SSRF policy blocked it blocked_disable_after times in a row */
    HL_DISABLED__SENTINEL
} hl_disabled_reason;

/* "none", "user", "gone", "failing", "blocked"; "unknown" otherwise. */
HL_API const char *hl_disabled_reason_name(int reason);

typedef enum hl_breaker_state {
    HL_BREAKER_CLOSED = 0,    /* normal */
    HL_BREAKER_OPEN = 1,      /* too many failures: nothing is sent */
    HL_BREAKER_HALF_OPEN = 2, /* one probe may be sent */
    HL_BREAKER__SENTINEL
} hl_breaker_state;

/* "closed", "open", "half_open"; "unknown" otherwise. */
HL_API const char *hl_breaker_state_name(int state);

/* How an attempt failed to get an HTTP response. */
typedef enum hl_failure {
    HL_FAILURE_NONE = 0,    /* an HTTP response came back (see status) */
    HL_FAILURE_DNS = 1,     /* name did not resolve */
    HL_FAILURE_CONNECT = 2, /* TCP connect failed or was refused */
    HL_FAILURE_TLS = 3,     /* handshake or certificate failure */
    HL_FAILURE_TIMEOUT = 4, /* no complete response within the attempt timeout */
    HL_FAILURE_RESET = 5,   /* connection reset or closed mid-response */
    HL_FAILURE_BLOCKED = 6, /* the SSRF policy refused the address */
    HL_FAILURE__SENTINEL
} hl_failure;

/*
 * hl_failure_class_name - the failure class written to attempt records:
 * "dns", "connect", "tls", "timeout", "reset", "blocked", and for
 * HL_FAILURE_NONE "http". "unknown" otherwise.
 */
HL_API const char *hl_failure_class_name(int failure);

/* ---------------------------------------------------------------- events */

/*
 * An event to enqueue. Strings are NUL-terminated and copied; nothing is
 * retained after the call.
 *
 * id          NULL or "" to have one generated ("evt_" + 26 base32 chars).
 * type        required, 1..HL_ENGINE_ID_MAX-1 bytes of [A-Za-z0-9._:-].
 * created_at_ms  unix ms; 0 means `now_ms` of the enqueue. Written as an
 *             RFC 3339 UTC string with milliseconds.
 * data        `data_len` bytes of JSON (any value; NULL/0 means null).
 * ordering_key  NULL for none; used by endpoints in HL_ORDERING_KEY mode.
 *
 * The event is sent as the compact JSON object
 *   {"id":…,"type":…,"created_at":"2026-11-23T18:03:32.123Z","data":…}
 * (after the endpoint's transform callback, if any).
 */
typedef struct hl_event {
    const char *id;
    const char *type;
    uint64_t created_at_ms;
    const char *data;
    size_t data_len;
    const char *ordering_key;
} hl_event;

#define HL_EVENT_INIT {NULL, NULL, 0, NULL, 0, NULL}

/*
 * The catalogue of well-known event types: email.inbound.received,
 * email.outbound.{sent,failed,opened,clicked,scheduled,cancelled,delivered,
 * bounced,complained}, domain.{verified,failed}, webhook.test and the
 * SparkPost/Bird names (injection, delivery, delay, bounce, spam_complaint,
 * out_of_band, policy_rejection, generation_failure, generation_rejection,
 * open, initial_open, click, initial_click, amp_click, amp_open).
 * Custom types are allowed everywhere; the catalogue is for UIs and checks.
 *
 * hl_event_type_count / hl_event_type_at - iterate (static strings; NULL
 * past the end). hl_event_type_known - 1 when `type` is in the catalogue.
 */
HL_API size_t hl_event_type_count(void);
HL_API const char *hl_event_type_at(size_t index);
HL_API int hl_event_type_known(const char *type);

/*
 * hl_event_filter_match - 1 when `type` matches `pattern`: "*" matches
 * everything, "a.b.*" every type that starts with "a.b.", anything else
 * only itself. Exposed so hosts and UIs use the very rule the router uses.
 */
HL_API int hl_event_filter_match(const char *pattern, const char *type);

/* ------------------------------------------------------------- endpoints */

/*
 * Ordering. With HL_ORDERING_KEY, events that carry an ordering key are
 * batched per key, and a key's next batch is HELD until the previous one is
 * delivered or dead-lettered; other keys, and events without a key, are not
 * held up.
 */
typedef enum hl_ordering {
    HL_ORDERING_NONE = 0, /* default: batches are independent */
    HL_ORDERING_KEY = 1   /* a key's next batch waits for the previous one to settle */
} hl_ordering;

#define HL_ENDPOINT_OPTIONS_VERSION 1

/*
 * An endpoint's settings. Copied by the engine (strings too). Zero numbers
 * mean "no limit" only where said; use HL_ENDPOINT_OPTIONS_INIT for the
 * defaults and change what you need.
 */
typedef struct hl_endpoint_options {
    unsigned int version; /* HL_ENDPOINT_OPTIONS_VERSION */
    const char *url;      /* required; the engine does not fetch it, it hands it back */
    /* Event filter: exact names and "prefix.*" wildcards; 0 filters = all events. */
    const char *const *filters;
    size_t n_filters;
    int active; /* 0: created disabled (HL_DISABLED_USER) */

    /* batching */
    uint32_t max_events;  /* per batch, >= 1 (default 100) */
    size_t max_bytes;     /* body bytes per batch, >= 64 (default 1 MiB) */
    uint64_t linger_ms;   /* longest a batch stays open (default 1000) */
    int unbatched;        /* 1: one event per request, body is the bare object */
    int sparkpost_compat; /* 1: only 200 counts as delivered; host adds X-MessageSystems-Batch-ID */

    /* retries: schedule[i] is the delay after attempt i+1 fails; the last
     * entry repeats. n_schedule 0 means the default. */
    uint64_t schedule_ms[HL_SCHEDULE_MAX];
    size_t n_schedule;
    unsigned int jitter_pct;  /* +- percent applied to each delay (default 20, max 100) */
    uint64_t deadline_ms;     /* hard deadline after first enqueue (default 8 h) */
    unsigned int max_attempts; /* secondary cap per attempt budget; 0 = none (default) */

    /* flow control */
    unsigned int concurrency; /* most batches in flight at once, >= 1 (default 10) */
    double rate_per_s;        /* token bucket refill, sends per second; 0 = unlimited (default) */
    double burst;             /* bucket size (default max(1, rate_per_s)) */
    double throttle_start_rate; /* rate imposed by a first 429/502/504 when unlimited (default 10/s) */
    double throttle_min_rate;   /* floor when halving (default 0.1/s) */
    uint64_t throttle_recover_ms; /* the rate doubles after this long without throttling (default 60 s) */

    /* circuit breaker */
    uint64_t breaker_window_ms;        /* default 5 min */
    unsigned int breaker_min_attempts; /* default 10 */
    unsigned int breaker_failure_pct;  /* open at >= this % failures (default 70) */
    uint64_t breaker_half_open_ms;     /* probe after (default 30 s) */
    uint64_t breaker_disable_after_ms; /* continuous failure that disables; 0 = never (default 24 h) */
    unsigned int breaker_max_trips;    /* trips in a row that disable; 0 = no limit (default) */
    unsigned int blocked_disable_after; /* consecutive SSRF blocks that disable (default 3; 0 never) */

    hl_ordering ordering; /* default HL_ORDERING_NONE */
} hl_endpoint_options;

#define HL_ENDPOINT_OPTIONS_INIT                                                                 \
    {HL_ENDPOINT_OPTIONS_VERSION, NULL, NULL, 0, 1, 100, 1024u * 1024u, 1000, 0, 0,            \
     {5000, 300000, 1800000, 7200000, 18000000}, 5, 20, 8u * 3600u * 1000u, 0,                   \
     10, 0.0, 0.0, 10.0, 0.1, 60000,                                                             \
     300000, 10, 70, 30000, 24u * 3600u * 1000u, 0, 3,                                           \
     HL_ORDERING_NONE}

/* ---------------------------------------------------------------- engine */

typedef struct hl_engine hl_engine;

/*
 * Routing callback: decide whether `endpoint_id` gets the event.
 * `filter_match` says what the endpoint's filter alone decided. Return 1 to
 * route, 0 not to, negative on error (the enqueue then fails with
 * HL_E_CALLBACK and nothing is enqueued). Called once per active endpoint
 * and event - use endpoint filters when there are very many endpoints.
 */
typedef int (*hl_route_fn)(void *user, const hl_event *event, const char *endpoint_id,
                           int filter_match);

/*
 * Transform callback: may replace the JSON object sent for one event to one
 * endpoint. `event_json` is the default serialisation. To replace it, set
 * `*out_json`/`*out_len` to new JSON text (borrowed: it must stay valid
 * until the callback is called again or the enqueue returns; the engine
 * copies it). Leave them untouched to keep the default. Return 0 on
 * success, non-zero on error (the enqueue fails with HL_E_CALLBACK, nothing
 * enqueued: the caller still holds the event).
 */
typedef int (*hl_transform_fn)(void *user, const char *endpoint_id, const char *event_json,
                               size_t event_len, const char **out_json, size_t *out_len);

/* What the retry policy decided about a failed (or succeeded) attempt. */
typedef enum hl_decision_kind {
    HL_DECIDE_DELIVERED = 0, /* count the batch as delivered */
    HL_DECIDE_RETRY = 1,     /* retry at `retry_at_ms` (clamped to [now, deadline]) */
    HL_DECIDE_GIVE_UP = 2    /* dead-letter now */
} hl_decision_kind;

typedef struct hl_decision {
    hl_decision_kind kind;
    uint64_t retry_at_ms;
} hl_decision;

struct hl_outcome;

/* What the retry-decision callback is told. Pointers are borrowed for the call. */
typedef struct hl_retry_input {
    const char *batch_id;
    const char *endpoint_id;
    unsigned int attempt;         /* attempt number just made, 1-based in this budget */
    const struct hl_outcome *outcome;
    uint64_t now_ms;
    uint64_t first_enqueue_ms;
    uint64_t deadline_ms;
    hl_decision default_decision; /* what the built-in policy would do */
} hl_retry_input;

/*
 * Retry-decision callback: fill `*out` (pre-filled with the default
 * decision) and return 0; non-zero means error: the default decision is
 * applied, the batch is kept, and report_outcome returns HL_E_CALLBACK.
 * The hard deadline still applies to whatever it decides.
 */
typedef int (*hl_retry_fn)(void *user, const hl_retry_input *in, hl_decision *out);

/* --- persistence ---------------------------------------------------------- */

/* A batch as the store sees it. Strings and body borrowed for the call. */
typedef struct hl_batch_info {
    const char *batch_id;
    const char *endpoint_id;
    hl_batch_state state;
    const char *ordering_key;  /* NULL when none */
    /* Body: for a closed batch the exact bytes that are (were) sent. For an
     * OPEN batch the events so far, as a closed JSON array. */
    const char *body;
    size_t body_len;
    uint32_t n_events;
    uint64_t created_ms;       /* first enqueue */
    uint64_t deadline_ms;      /* no attempt after this */
    uint64_t close_at_ms;      /* OPEN: when linger closes it */
    uint64_t next_attempt_ms;  /* RETRY_WAIT: when it becomes due */
    unsigned int attempts;     /* attempts made in the current budget */
    unsigned int total_attempts; /* attempts over its whole life */
    unsigned int redrives;
    int last_status;           /* last HTTP status, 0 if none */
    hl_failure last_failure;
    const char *dead_reason;   /* DEAD_LETTERED: "deadline", "max_attempts",
                                  "policy", "endpoint_removed"; else NULL */
    uint64_t settled_ms;       /* DELIVERED / DEAD_LETTERED: when */
} hl_batch_info;

/* One attempt log record. Strings borrowed (see hl_engine_attempt_at). */
typedef struct hl_attempt_record {
    const char *batch_id;
    const char *endpoint_id;
    unsigned int attempt;      /* 1-based number within the batch's budget */
    uint64_t at_ms;            /* when it was reported */
    uint64_t sent_ms;          /* when next_action handed it out */
    int status;                /* HTTP status, 0 when none */
    hl_failure failure;
    int delivered;             /* 1 when this attempt delivered the batch */
    uint64_t latency_ms;
    const char *excerpt;       /* first <= HL_EXCERPT_MAX bytes of the response body */
    size_t excerpt_len;
} hl_attempt_record;

/*
 * The store interface: the engine calls these after each change it makes,
 * so a durable store (SQLite, PostgreSQL) can keep a copy it can rebuild the
 * engine from (hl_engine_restore_batch). Any member may be NULL. Each
 * returns 0 on success; non-zero makes the API call that caused it fail
 * with HL_E_STORE and puts the engine in a failed state (every later call
 * fails with HL_E_ENGINE_FAILED): the durable copy is then behind the
 * memory one, and the host must rebuild the engine from its store.
 *
 * begin / commit   bracket every engine call that changes state, so a store
 *                  can use one transaction per call (many events per
 *                  enqueue: one transaction).
 * batch_changed    a batch was created or changed state, schedule or
 *                  attempts; `info` is its complete current state.
 * event_added      an event was appended to OPEN batch `batch_id`
 *                  (`event_json`: its serialisation, as in the body).
 * attempt_recorded an attempt log record was appended.
 * batch_removed    a batch left the engine (delivered then forgotten, or
 *                  purged from the dead-letter queue).
 * endpoint_changed an endpoint was disabled (by the engine: 410, failing,
 *                  blocked; or by a call) or enabled again - the host
 *                  persists the reason with the endpoint's row and gives it
 *                  back with hl_endpoint_set_disabled after a restart.
 */
typedef struct hl_store {
    void *user;
    int (*begin)(void *user);
    int (*commit)(void *user);
    int (*batch_changed)(void *user, const hl_batch_info *info);
    int (*event_added)(void *user, const char *batch_id, const char *event_json, size_t len);
    int (*attempt_recorded)(void *user, const hl_attempt_record *rec);
    int (*batch_removed)(void *user, const char *batch_id);
    int (*endpoint_changed)(void *user, const char *endpoint_id, hl_disabled_reason disabled);
} hl_store;

#define HL_ENGINE_OPTIONS_VERSION 1

typedef struct hl_engine_options {
    unsigned int version; /* HL_ENGINE_OPTIONS_VERSION */
    /* Seed of the engine's RNG (jitter, batch and event ids). 0: seed from
     * the OS CSPRNG (production: ids must not repeat across restarts).
     * Non-zero: fully deterministic runs (tests, simulations). */
    uint64_t seed;
    unsigned int max_in_flight;       /* all endpoints together; 0 = no limit (default) */
    uint64_t attempt_retention_ms;    /* attempt records kept (default 24 h) */
    size_t max_attempt_records;       /* 0 = no count limit (default) */
    hl_route_fn route;                /* optional */
    hl_transform_fn transform;        /* optional */
    hl_retry_fn decide;               /* optional */
    void *callback_user;              /* passed to the three callbacks */
    hl_store store;                   /* all NULL: nothing persisted */
    /* A batch in flight longer than this is treated as an attempt that timed
     * out (the host lost it); a late report then gets HL_E_BATCH_STATE.
     * 0 = no lease (default): the host always reports. */
    uint64_t in_flight_lease_ms;
} hl_engine_options;

#define HL_ENGINE_OPTIONS_INIT                                                                   \
    {HL_ENGINE_OPTIONS_VERSION, 0, 0, 24u * 3600u * 1000u, 0, NULL, NULL, NULL, NULL,            \
     {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL}, 0}

/*
 * hl_engine_new - a new, empty engine. `opts` may be NULL for the defaults
 * (copied). `out` is caller-owned (hl_engine_free).
 * Errors: HL_E_INVALID_ARGUMENT (bad version), HL_E_RANDOM, HL_E_NOMEM.
 */
HL_API hl_code hl_engine_new(hl_engine **out, const hl_engine_options *opts, hl_error *err);

/* hl_engine_free - free everything (the store is not called). NULL does nothing. */
HL_API void hl_engine_free(hl_engine *engine);

/*
 * hl_endpoint_add - register endpoint `endpoint_id` (1..HL_ENGINE_ID_MAX-1
 * bytes, copied). Errors: HL_E_ENDPOINT_EXISTS, HL_E_INVALID_ARGUMENT (the
 * message names the bad option), HL_E_NOMEM.
 *
 * hl_endpoint_update - replace the options of an existing endpoint. Pending
 * batches keep their bytes and deadlines (its open unordered batch is closed
 * as it is); new limits apply to new batches and next attempts. `active` 0
 * disables it (HL_DISABLED_USER); `active` 1 lifts only a user disable - an
 * endpoint the engine disabled (410, failing, blocked) needs
 * hl_endpoint_enable.
 *
 * hl_endpoint_remove - forget an endpoint. Its undelivered batches are
 * dead-lettered ("endpoint_removed"); a batch in flight settles when its
 * outcome is reported. Errors: HL_E_ENDPOINT_UNKNOWN.
 *
 * hl_endpoint_enable / hl_endpoint_disable - switch an endpoint on or off by
 * hand. Enabling clears any disabled reason (410, failing, blocked) and
 * resets its breaker; its kept batches become deliverable again. A disabled
 * endpoint gets no new events; its batches wait and are dead-lettered at
 * their deadline.
 */
HL_API hl_code hl_endpoint_add(hl_engine *engine, const char *endpoint_id,
                               const hl_endpoint_options *opts, uint64_t now_ms, hl_error *err);
HL_API hl_code hl_endpoint_update(hl_engine *engine, const char *endpoint_id,
                                  const hl_endpoint_options *opts, uint64_t now_ms, hl_error *err);
HL_API hl_code hl_endpoint_remove(hl_engine *engine, const char *endpoint_id, uint64_t now_ms,
                                  hl_error *err);
HL_API hl_code hl_endpoint_enable(hl_engine *engine, const char *endpoint_id, uint64_t now_ms,
                                  hl_error *err);
HL_API hl_code hl_endpoint_disable(hl_engine *engine, const char *endpoint_id, uint64_t now_ms,
                                   hl_error *err);

/*
 * hl_endpoint_release - forget an endpoint and every batch of it (its
 * pending batches and its dead letters) from memory WITHOUT telling the
 * store: the rows stay, for another engine to restore (a PostgreSQL
 * worker hands an endpoint to another worker this way). Nothing is
 * dead-lettered. Refused while one of its batches is in flight, so no
 * outcome is lost. Errors: HL_E_ENDPOINT_UNKNOWN, HL_E_BATCH_STATE (in
 * flight), HL_E_ENGINE_FAILED.
 */
HL_API hl_code hl_endpoint_release(hl_engine *engine, const char *endpoint_id, hl_error *err);

/*
 * hl_endpoint_set_disabled - set an endpoint's disabled reason directly:
 * HL_DISABLED_NONE enables it (as hl_endpoint_enable), any other reason
 * disables it with that reason. Meant for restoring persisted state (an
 * endpoint that was "gone" stays gone after a restart).
 * Errors: HL_E_ENDPOINT_UNKNOWN, HL_E_INVALID_ARGUMENT (not a reason).
 */
HL_API hl_code hl_endpoint_set_disabled(hl_engine *engine, const char *endpoint_id,
                                        hl_disabled_reason reason, uint64_t now_ms,
                                        hl_error *err);

/* An endpoint's live state. Strings borrowed. */
typedef struct hl_endpoint_info {
    const char *endpoint_id;
    const char *url;
    hl_disabled_reason disabled;
    hl_breaker_state breaker;
    unsigned int breaker_trips;
    unsigned int in_flight;
    size_t queued;            /* batches due and waiting for capacity */
    size_t pending_batches;   /* every batch not yet settled (open included) */
    double effective_rate;    /* sends/s now allowed; 0 = unlimited */
    uint64_t failing_since_ms; /* 0 when the last attempt succeeded */
} hl_endpoint_info;

/* hl_endpoint_info_get - fill `out`. Errors: HL_E_ENDPOINT_UNKNOWN. */
HL_API hl_code hl_endpoint_info_get(hl_engine *engine, const char *endpoint_id,
                                    hl_endpoint_info *out, hl_error *err);

/*
 * hl_endpoint_list - up to `cap` endpoint ids, in the order they were added,
 * starting at `offset`, into `ids` (borrowed strings); `*n_out` receives how
 * many. hl_engine_stats_get's `endpoints` is the total.
 */
HL_API void hl_endpoint_list(hl_engine *engine, size_t offset, const char **ids, size_t cap,
                             size_t *n_out);

/*
 * hl_engine_enqueue - route an event to the endpoints whose filter matches
 * (and the route callback accepts), appending it to each one's open batch.
 *
 * routed       may be NULL; receives the number of endpoints that got it
 *              (0 is not an error: nobody subscribed).
 * id_out       may be NULL; receives the event id (generated or given),
 *              NUL-terminated, `id_cap` bytes.
 * All or nothing: on error nothing was enqueued anywhere.
 * Errors: HL_E_EVENT_INVALID (bad type/id, data not JSON),
 * HL_E_EVENT_TOO_LARGE (larger than an endpoint's max_bytes - the message
 * names it), HL_E_CALLBACK, HL_E_BUFFER_TOO_SMALL, HL_E_STORE, HL_E_NOMEM.
 */
HL_API hl_code hl_engine_enqueue(hl_engine *engine, const hl_event *event, uint64_t now_ms,
                                 size_t *routed, char *id_out, size_t id_cap, hl_error *err);

/*
 * hl_engine_enqueue_to - the same, to one endpoint, bypassing filters and
 * the route callback (for webhook.test, replays). The endpoint must exist;
 * it may be disabled (the batch then waits for it).
 */
HL_API hl_code hl_engine_enqueue_to(hl_engine *engine, const char *endpoint_id,
                                    const hl_event *event, uint64_t now_ms, char *id_out,
                                    size_t id_cap, hl_error *err);

/*
 * hl_engine_flush - close every open batch now (e.g. before shutdown or in
 * a test), instead of waiting for linger.
 */
HL_API hl_code hl_engine_flush(hl_engine *engine, uint64_t now_ms, hl_error *err);

typedef enum hl_action_kind {
    HL_ACTION_IDLE = 0, /* nothing to do and no timer: wait for enqueue or an outcome */
    HL_ACTION_WAIT = 1, /* nothing now; call again at `at_ms` (or on enqueue/outcome) */
    HL_ACTION_SEND = 2  /* send the batch described below */
} hl_action_kind;

/*
 * What to do next. For SEND, the pointers are borrowed from the engine and
 * stay valid until the batch's outcome is reported (the url until the
 * endpoint is updated or removed). The host POSTs `body` to `url` with
 * content-type application/json and the batch id as x-webhook-batch-id
 * (and X-MessageSystems-Batch-ID when `sparkpost_compat`), signs it, and
 * reports the outcome with hl_engine_report_outcome.
 */
typedef struct hl_action {
    hl_action_kind kind;
    uint64_t at_ms;          /* WAIT: when; SEND: when it was due */
    const char *batch_id;
    const char *endpoint_id;
    const char *url;
    const char *body;
    size_t body_len;
    uint32_t n_events;
    unsigned int attempt;    /* 1-based within the current budget */
    uint64_t deadline_ms;
    int sparkpost_compat;
} hl_action;

/*
 * hl_engine_next_action - fire due timers (close lingering batches, move
 * retries to their queues, dead-letter batches past their deadline) and
 * pick the next batch to send, round-robin across endpoints with due work
 * and capacity. Call it until it returns something other than SEND.
 * Returns HL_OK or HL_E_STORE / HL_E_ENGINE_FAILED; `*action` always filled.
 */
HL_API hl_code hl_engine_next_action(hl_engine *engine, uint64_t now_ms, hl_action *action,
                                     hl_error *err);

#define HL_OUTCOME_VERSION 1

/*
 * How an attempt ended. `retry_after` is the raw Retry-After header value
 * (NULL when absent; malformed values are ignored). The excerpt is cut to
 * HL_EXCERPT_MAX bytes by the engine.
 */
typedef struct hl_outcome {
    unsigned int version; /* HL_OUTCOME_VERSION */
    int status;           /* HTTP status, 0 when no response */
    hl_failure failure;   /* HL_FAILURE_NONE when a response came */
    const char *retry_after;
    size_t retry_after_len;
    uint64_t latency_ms;
    const char *body_excerpt;
    size_t body_excerpt_len;
} hl_outcome;

#define HL_OUTCOME_INIT {HL_OUTCOME_VERSION, 0, HL_FAILURE_NONE, NULL, 0, 0, NULL, 0}

/*
 * hl_engine_report_outcome - tell the engine how the attempt of an
 * IN_FLIGHT batch ended. Applies the policy (docs/engine.md):
 *   2xx (200 only for sparkpost_compat)   delivered
 *   410                                   endpoint disabled (gone), batch kept
 *   429, 502, 504                         endpoint throttled, batch retried
 *   anything else, any transport failure  retried
 * Retries follow the schedule with jitter, Retry-After bounded to
 * [delay, 2*delay], never after the deadline (the last one is clamped to
 * it), then the batch is dead-lettered.
 * Errors: HL_E_BATCH_UNKNOWN, HL_E_BATCH_STATE (not in flight),
 * HL_E_INVALID_ARGUMENT, HL_E_CALLBACK (the decide callback failed; the
 * default policy was applied), HL_E_STORE.
 */
HL_API hl_code hl_engine_report_outcome(hl_engine *engine, const char *batch_id,
                                        const hl_outcome *outcome, uint64_t now_ms,
                                        hl_error *err);

/*
 * hl_retry_after_parse - read a Retry-After value (RFC 9110 10.2.3):
 * delay-seconds, or an HTTP-date in any of the three formats (IMF-fixdate,
 * RFC 850, asctime). `*delay_ms` receives the delay from `now_ms` (0 for a
 * date in the past). Surrounding spaces are allowed.
 * Errors: HL_E_RETRY_AFTER (malformed), HL_E_INVALID_ARGUMENT.
 */
HL_API hl_code hl_retry_after_parse(const char *value, size_t len, uint64_t now_ms,
                                    uint64_t *delay_ms, hl_error *err);

/* ------------------------------------------------------ inspection & DLQ */

/*
 * hl_engine_batch_get - any batch still known to the engine: open, pending,
 * in flight or dead-lettered. A delivered batch is forgotten as soon as its
 * outcome is reported (the store keeps its history), so it is unknown here.
 * Errors: HL_E_BATCH_UNKNOWN.
 */
HL_API hl_code hl_engine_batch_get(hl_engine *engine, const char *batch_id, hl_batch_info *out,
                                   hl_error *err);

/* Counters since the engine was created (restored batches count as created). */
typedef struct hl_engine_stats {
    size_t batches[HL_BATCH__SENTINEL]; /* batches now in each state (delivered: 0, forgotten) */
    size_t endpoints;
    size_t pending_events;      /* events in batches not yet settled */
    size_t pending_body_bytes;  /* their bytes */
    uint64_t events_enqueued;   /* event copies (one per endpoint routed) */
    uint64_t batches_delivered;
    uint64_t batches_dead_lettered;
    uint64_t attempts;
    size_t attempt_records;
} hl_engine_stats;

HL_API void hl_engine_stats_get(hl_engine *engine, hl_engine_stats *out);

/*
 * Attempt log, oldest first. Records older than attempt_retention_ms are
 * pruned on every call that takes `now_ms`.
 * hl_engine_attempt_count - how many are kept.
 * hl_engine_attempt_at - the index-th (0 = oldest); HL_E_INVALID_ARGUMENT
 * past the end.
 */
HL_API size_t hl_engine_attempt_count(hl_engine *engine);
HL_API hl_code hl_engine_attempt_at(hl_engine *engine, size_t index, hl_attempt_record *out,
                                    hl_error *err);

/*
 * Dead-letter queue, in the order batches died.
 * hl_engine_dead_letter_count - how many.
 * hl_engine_dead_letter_list - up to `cap` batch ids starting at `offset`
 *     into `ids` (borrowed strings); `*n_out` receives how many.
 * hl_engine_redrive - back to QUEUED now, same batch id and body, fresh
 *     attempt budget and a new deadline (now + the endpoint's deadline).
 *     Errors: HL_E_BATCH_UNKNOWN, HL_E_BATCH_STATE (not dead-lettered),
 *     HL_E_ENDPOINT_UNKNOWN (its endpoint was removed).
 * hl_engine_purge - forget one dead-lettered batch, or all when batch_id is
 *     NULL. Errors: HL_E_BATCH_UNKNOWN, HL_E_BATCH_STATE.
 */
HL_API size_t hl_engine_dead_letter_count(hl_engine *engine);
HL_API void hl_engine_dead_letter_list(hl_engine *engine, size_t offset, const char **ids,
                                       size_t cap, size_t *n_out);
HL_API hl_code hl_engine_redrive(hl_engine *engine, const char *batch_id, uint64_t now_ms,
                                 hl_error *err);
HL_API hl_code hl_engine_purge(hl_engine *engine, const char *batch_id, hl_error *err);

/*
 * hl_engine_restore_batch - re-insert a batch read back from a store at
 * startup (after its endpoint was added). Same id, body, deadline and
 * attempt counts. IN_FLIGHT comes back as due now (its outcome was lost:
 * at-least-once), RETRY_WAIT keeps its time, OPEN reopens (linger from
 * `close_at_ms`), DELIVERED is ignored, DEAD_LETTERED returns to the
 * dead-letter queue. `info->body` must be a JSON array (or the bare object
 * for unbatched endpoints). Nothing is reported to the store.
 * Errors: HL_E_ENDPOINT_UNKNOWN (DEAD_LETTERED batches of unknown endpoints
 * are accepted), HL_E_BATCH_EXISTS, HL_E_INVALID_ARGUMENT, HL_E_NOMEM.
 */
HL_API hl_code hl_engine_restore_batch(hl_engine *engine, const hl_batch_info *info,
                                       uint64_t now_ms, hl_error *err);

#ifdef __cplusplus
}
#endif

#endif /* HOOKLINE_ENGINE_H */
