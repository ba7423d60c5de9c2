/*
 * hookline/dispatcher.h - deliver what the engine decides, over HTTP, with
 * libcurl's multi interface (library hookline_curl; CMake target
 * hookline::hookline_curl; needs <curl/curl.h> only through ssrf_curl.h).
 *
 * The engine (hookline/engine.h) says "send batch B to endpoint E"; the
 * dispatcher does it: one thread, many transfers in flight on one multi
 * handle, connections kept alive and reused (HTTP/2 when the server offers
 * it over TLS), each attempt signed, authenticated and checked by the SSRF
 * guard (hookline/ssrf_curl.h), and every outcome reported back to the
 * engine. A worker loop is
 *
 *     while (running)
 *         hl_dispatcher_step(d, 1000, &progress, &err);
 *     hl_dispatcher_drain(d, now + 30000, &err);
 *
 * Per-endpoint settings the engine does not hold - secrets, custom headers,
 * basic / OAuth2 / mutual-TLS authentication, the attempt timeout - are set
 * with hl_dispatcher_endpoint_set (hookline/delivery.h). What goes on the
 * wire, the failure mapping and the limits: docs/dispatch.md.
 *
 * Threads: a dispatcher and its engine are used by one thread at a time;
 * hl_dispatcher_step calls into the engine. Secrets, credentials and tokens
 * never appear in error messages or attempt reports.
 */
#ifndef HOOKLINE_DISPATCHER_H
#define HOOKLINE_DISPATCHER_H

#include "hookline/delivery.h"
#include "hookline/engine.h"
#include "hookline/signature.h"
#include "hookline/ssrf_curl.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Most bytes of an OAuth2 token response read (a larger one is refused). */
#define HL_DISPATCH_TOKEN_RESPONSE_MAX (16u * 1024u)
/* How stale the timestamp of a replay-check request is, seconds. */
#define HL_DISPATCH_STALE_SECONDS 600
/* Longest selected response header value kept in an hl_test_response. */
#define HL_TEST_HEADER_MAX 256
/* Room for all response header lines of a test request (hl_test_response.headers). */
#define HL_TEST_HEADERS_MAX 4096

/*
 * One finished attempt, for structured logs and metrics (on_attempt).
 * Everything is borrowed for the duration of the callback. Nothing here is
 * secret: no signature, credential, token, header value or URL path/query
 * (which may carry an API key) - only the host.
 *
 * batch_id / endpoint_id  "" for a test request (hl_dispatcher_send_test).
 * host           the URL's host.
 * attempt        the engine's attempt number (1-based in the budget); 0 for tests.
 * n_events       events in the batch (0 for tests).
 * status         HTTP status of the final response; 0 when none.
 * failure        how the attempt failed to get a response (HL_FAILURE_NONE
 *                when one came, whatever its status).
 * failure_class  hl_failure_class_name(failure), or "auth" when the OAuth2
 *                token could not be obtained (then status is 0), or
 *                "unconfigured" when the endpoint has no delivery options.
 * error_code     HL_OK; the guard's reason (HL_E_ADDRESS_DENIED, …) when
 *                blocked; HL_E_OAUTH2; HL_E_TRANSPORT for other failures.
 * error_message  "" or what went wrong (curl's message, the block reason).
 * latency_ms     from the start of the transfer to its end (libcurl's
 *                total time; a wait for an OAuth2 token is not included).
 * bytes_sent     request body bytes.
 * bytes_received response body bytes, all of them (only 1 KiB is kept).
 * http_version   10, 11, 20 or 30; 0 when no response.
 * connection_reused  1 when the attempt reused a kept-alive connection.
 * test           1 for hl_dispatcher_send_test.
 */
typedef struct hl_attempt_report {
    const char *batch_id;
    const char *endpoint_id;
    const char *host;
    unsigned int attempt;
    uint32_t n_events;
    int status;
    hl_failure failure;
    const char *failure_class;
    hl_code error_code;
    const char *error_message;
    uint64_t latency_ms;
    uint64_t bytes_sent;
    uint64_t bytes_received;
    int http_version;
    int connection_reused;
    int test;
} hl_attempt_report;

typedef void (*hl_attempt_fn)(void *user, const hl_attempt_report *report);

#define HL_DISPATCHER_OPTIONS_VERSION 1

/*
 * Dispatcher settings; copied by hl_dispatcher_new (strings too), except
 * `policy`, which is borrowed and must outlive the dispatcher.
 *
 * policy            the SSRF policy every attempt (and OAuth2 token
 *                   request) is checked against. NULL: the defaults
 *                   (https on 443 to public addresses only).
 * resolver          NULL: getaddrinfo (hookline/net.h). The struct is
 *                   copied; its `user` must outlive the dispatcher.
 * clock_ms          wall-clock unix milliseconds, the `now` given to the
 *                   engine and the signatures' timestamp (its seconds).
 *                   NULL: CLOCK_REALTIME. Tests inject a clock they advance.
 * clock_user        passed to clock_ms.
 * max_connections   most transfers in flight at once, all endpoints
 *                   (default 64, >= 1); beyond it, batches stay queued in
 *                   the engine.
 * max_per_host      most connections open to one host (default 8; 0: no
 *                   limit). Transfers beyond it wait in libcurl for a free
 *                   connection (HTTP/2 streams share one); that wait counts
 *                   toward their timeout.
 * ca_file           a PEM CA bundle used instead of the system bundle file
 *                   (the system CA directory still applies). NULL: system.
 * follow_redirects  0 (default): a 3xx is the outcome (and, not being 2xx,
 *                   is retried). 1: follow up to 3 hops, each hop SSRF-checked.
 * user_agent_extra  appended to "hookline/<version>" after a space; NULL: none.
 * on_attempt        optional; called once per finished delivery attempt and
 *                   test request, from inside hl_dispatcher_step / _drain /
 *                   _send_test. It must not call the dispatcher.
 * attempt_user      passed to on_attempt.
 */
typedef struct hl_dispatcher_options {
    unsigned int version; /* HL_DISPATCHER_OPTIONS_VERSION */
    const hl_url_policy *policy;
    const hl_resolver *resolver;
    uint64_t (*clock_ms)(void *user);
    void *clock_user;
    unsigned int max_connections;
    unsigned int max_per_host;
    const char *ca_file;
    int follow_redirects;
    const char *user_agent_extra;
    hl_attempt_fn on_attempt;
    void *attempt_user;
} hl_dispatcher_options;

#define HL_DISPATCHER_OPTIONS_INIT                                                               \
    {HL_DISPATCHER_OPTIONS_VERSION, NULL, NULL, NULL, NULL, 64, 8, NULL, 0, NULL, NULL, NULL}

typedef struct hl_dispatcher hl_dispatcher;

/*
 * hl_dispatcher_new - a dispatcher for `engine` (borrowed; must outlive the
 * dispatcher). `engine` may be NULL for a dispatcher that only sends test
 * requests (hl_dispatcher_send_test). `opts` NULL: the defaults.
 * `out` is caller-owned (hl_dispatcher_free). Calls curl_global_init.
 * Errors: HL_E_INVALID_ARGUMENT (bad version, max_connections 0),
 * HL_E_TRANSPORT (libcurl could not be initialised), HL_E_NOMEM.
 */
HL_API hl_code hl_dispatcher_new(hl_dispatcher **out, hl_engine *engine,
                                 const hl_dispatcher_options *opts, hl_error *err);

/*
 * hl_dispatcher_free - abort transfers still in flight WITHOUT reporting
 * their outcomes (their batches stay in flight in the engine: use
 * hl_dispatcher_drain first for a clean stop), wipe secrets and tokens,
 * free. NULL does nothing.
 */
HL_API void hl_dispatcher_free(hl_dispatcher *d);

/*
 * hl_dispatcher_endpoint_set - set (or replace) how `endpoint_id` is
 * delivered to. `opts` is checked with hl_delivery_options_check and copied
 * (secrets are parsed; the caller may wipe its copy). Attempts already in
 * flight finish with the settings they started with; a cached OAuth2 token
 * is dropped when the token URL, client or scope changes.
 * The id need not be known to the engine yet, but every endpoint the engine
 * sends to needs one: an attempt to an endpoint without delivery options
 * fails at once (failure_class "unconfigured", reported to the engine as a
 * connect failure, so it is retried).
 * Errors: those of hl_delivery_options_check, HL_E_INVALID_ARGUMENT, HL_E_NOMEM.
 */
HL_API hl_code hl_dispatcher_endpoint_set(hl_dispatcher *d, const char *endpoint_id,
                                          const hl_delivery_options *opts, hl_error *err);

/*
 * hl_dispatcher_endpoint_remove - forget an endpoint's settings (wiped).
 * Attempts in flight finish with them. Errors: HL_E_ENDPOINT_UNKNOWN.
 */
HL_API hl_code hl_dispatcher_endpoint_remove(hl_dispatcher *d, const char *endpoint_id,
                                             hl_error *err);

/* What one hl_dispatcher_step (or drain) did. */
typedef struct hl_dispatch_progress {
    size_t started;      /* attempts started (SEND actions taken from the engine) */
    size_t finished;     /* outcomes reported to the engine */
    size_t succeeded;    /* ... of which a 2xx response */
    size_t failed;       /* ... of which anything else (blocked included) */
    size_t blocked;      /* ... of which the SSRF guard refused */
    size_t in_flight;    /* attempts still running afterwards */
    hl_action_kind engine_action; /* the engine's last answer: IDLE, WAIT, or SEND
                                     when the dispatcher stopped at max_connections */
    uint64_t wake_ms;    /* WAIT: when the engine has work next (clock ms); else 0 */
} hl_dispatch_progress;

/*
 * hl_dispatcher_step - one iteration of the delivery loop:
 *   1. take SEND actions from the engine while it gives them and fewer
 *      than max_connections attempts are in flight; start each transfer
 *      (an attempt the SSRF guard refuses before connecting is reported at
 *      once as HL_FAILURE_BLOCKED, an unresolvable name as HL_FAILURE_DNS);
 *   2. wait for network activity for up to min(max_wait_ms, the engine's
 *      next deadline) - not at all when step 1 or 3 has something done;
 *   3. report every finished transfer to the engine.
 * `progress` may be NULL. Returns HL_OK, HL_E_DRAINING (after
 * hl_dispatcher_drain), HL_E_TRANSPORT (libcurl's multi handle failed), or
 * the first engine error (HL_E_STORE, HL_E_ENGINE_FAILED, …; the other
 * outcomes are still reported). An engine answering HL_E_BATCH_STATE to a
 * report (its in-flight lease expired) is not an error.
 */
HL_API hl_code hl_dispatcher_step(hl_dispatcher *d, uint64_t max_wait_ms,
                                  hl_dispatch_progress *progress, hl_error *err);

/*
 * hl_dispatcher_wait - wait up to `max_wait_ms` for network activity on the
 * attempts in flight (or hl_dispatcher_wakeup), and nothing else: no call
 * into the engine, no outcome reported (the next hl_dispatcher_step
 * collects them). For hosts that group each step's engine calls in one
 * store transaction (the worker: hl_dispatcher_step(d, 0, ...) inside the
 * transaction, this wait outside it). Errors: HL_E_INVALID_ARGUMENT,
 * HL_E_TRANSPORT.
 */
HL_API hl_code hl_dispatcher_wait(hl_dispatcher *d, uint64_t max_wait_ms, hl_error *err);

/*
 * hl_dispatcher_wakeup - make a hl_dispatcher_step that is waiting return
 * now (curl_multi_wakeup). The one call that may come from another thread:
 * e.g. a thread that enqueued events, or the one that saw SIGTERM. (From a
 * signal handler, set a flag instead and keep max_wait_ms short.)
 * Returns HL_OK or HL_E_TRANSPORT.
 */
HL_API hl_code hl_dispatcher_wakeup(hl_dispatcher *d);

/*
 * hl_dispatcher_hold - while `hold` is non-zero, hl_dispatcher_step takes
 * no new work from the engine (attempts in flight still finish and are
 * reported). A PostgreSQL worker holds while its lease is too short for an
 * attempt to end inside it.
 */
HL_API void hl_dispatcher_hold(hl_dispatcher *d, int hold);

/* hl_dispatcher_in_flight - attempts started and not yet reported. */
HL_API size_t hl_dispatcher_in_flight(const hl_dispatcher *d);

/*
 * hl_dispatcher_drain - stop for good: take no new work from the engine,
 * wait until every attempt in flight has finished or `deadline_ms` (clock
 * ms) has passed, and report every outcome; attempts still running at the
 * deadline are aborted and reported as HL_FAILURE_TIMEOUT (the engine
 * retries them). Afterwards step returns HL_E_DRAINING; send_test still
 * works. `progress` may be NULL.
 * Returns HL_OK or the first engine error, as step.
 */
HL_API hl_code hl_dispatcher_drain(hl_dispatcher *d, uint64_t deadline_ms,
                                   hl_dispatch_progress *progress, hl_error *err);

/* ---------------------------------------------------------- test requests */

/* hl_dispatcher_send_test flags. */
#define HL_TEST_STALE 1u /* sign with a timestamp HL_DISPATCH_STALE_SECONDS in the past */

/*
 * The answer to a test request. Strings are NUL-terminated, cut to fit.
 * failure/status as in hl_outcome. `blocked` is HL_OK, or the SSRF reason
 * code when the guard refused the URL or a connection (then `message` says
 * why, written for the customer). `message` also carries transport and
 * OAuth2 errors. Response headers are those of the final response:
 * `headers` holds every header line of it as received, "name: value\n"
 * each (value trimmed, NUL-terminated); a line that does not fit in what is
 * left of HL_TEST_HEADERS_MAX is left out and `headers_truncated` is set.
 */
typedef struct hl_test_response {
    int status;
    hl_failure failure;
    hl_code blocked;
    hl_code error_code; /* HL_OK, the blocked code, HL_E_OAUTH2 or HL_E_TRANSPORT */
    char message[HL_ERROR_MESSAGE_MAX];
    uint64_t latency_ms;
    int http_version;
    int64_t timestamp;  /* the signed timestamp, unix seconds */
    char msg_id[HL_ID_MAX]; /* the message id signed (and sent as x-webhook-batch-id) */
    char content_type[HL_TEST_HEADER_MAX];
    char retry_after[HL_TEST_HEADER_MAX];
    char location[HL_TEST_HEADER_MAX];
    char body_excerpt[HL_EXCERPT_MAX];
    size_t body_excerpt_len; /* bytes in body_excerpt (not NUL-terminated) */
    uint64_t body_bytes;     /* response body bytes received in all */
    char headers[HL_TEST_HEADERS_MAX];
    size_t headers_len;      /* bytes in headers, without the NUL */
    int headers_truncated;   /* 1 when header lines were left out */
} hl_test_response;

/*
 * hl_dispatcher_send_test - ONE synchronous delivery through the same path
 * as the engine's (URL and connection SSRF checks, signing, auth, custom
 * headers, timeout), without the engine: for the registration-time
 * webhook.test POST and `hookline endpoint test`.
 *
 * url        the endpoint URL (NUL-terminated).
 * opts       the endpoint's delivery options (checked; nothing kept - an
 *            OAuth2 token is fetched for this request and discarded).
 * body       `body_len` bytes of JSON to send.
 * msg_id     the message id to sign and send as the batch id; NULL or ""
 *            for a generated "msg_…" id.
 * flags      0, or HL_TEST_STALE: the request carries a timestamp 10
 *            minutes old - a receiver that accepts it (2xx) does not check
 *            timestamps (`hookline endpoint test --replay-check`).
 * out        filled (zeroed first) whenever HL_OK is returned, whatever
 *            the receiver answered: look at out->status / out->failure.
 *
 * Blocks until the request is over (at most opts->timeout_ms, twice with
 * an OAuth2 token request). Transfers of the engine that are in flight keep
 * running meanwhile and their outcomes are reported; no new engine work is
 * taken.
 * Errors (no request was made or it could not be judged): those of
 * hl_delivery_options_check, HL_E_INVALID_ARGUMENT, HL_E_NOMEM,
 * HL_E_TRANSPORT.
 */
HL_API hl_code hl_dispatcher_send_test(hl_dispatcher *d, const char *url,
                                       const hl_delivery_options *opts, const char *body,
                                       size_t body_len, const char *msg_id, unsigned int flags,
                                       hl_test_response *out, hl_error *err);

#ifdef __cplusplus
}
#endif

#endif /* HOOKLINE_DISPATCHER_H */
