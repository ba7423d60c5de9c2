/*
 * hookline/endpoint_config.h - one endpoint's whole configuration as one
 * JSON object: what the engine needs (hl_endpoint_options: URL, event
 * filters, batching, retries, flow control, breaker, ordering) and what the
 * dispatcher needs (hl_delivery_options: signature scheme, secrets with
 * rotation expiry, custom headers, authentication, client certificate,
 * timeout).
 *
 * This is the form endpoints are stored in (the SQLite outbox keeps it per
 * endpoint), typed by users (`hookline endpoint add --config FILE`) and
 * passed by the bindings. The codec is strict and pure (no clock, file or
 * network): an unknown field, a value of the wrong type or a number out of
 * range is rejected with a code of its own and a message naming the field
 * ("retry.jitter_pct: must be an integer in 0..100"). Defaults are those of
 * HL_ENDPOINT_OPTIONS_INIT and HL_DELIVERY_OPTIONS_INIT; every field but
 * "url" may be left out.
 *
 *   {
 *     "url": "https://hooks.example.com/in",              string, required
 *     "events": ["email.outbound.*", "domain.verified"],  filters; [] = all
 *     "active": true,
 *     "ordering": "none",                                 "none" | "key"
 *     "sparkpost_compat": false,
 *     "batch":   {"max_events": 100, "max_bytes": 1048576, "linger_ms": 1000,
 *                 "unbatched": false},
 *     "retry":   {"schedule_ms": [5000, 300000, 1800000, 7200000, 18000000],
 *                 "jitter_pct": 20, "deadline_ms": 28800000, "max_attempts": 0},
 *     "flow":    {"concurrency": 10, "rate_per_s": 0, "burst": 0,
 *                 "throttle_start_rate": 10, "throttle_min_rate": 0.1,
 *                 "throttle_recover_ms": 60000},
 *     "breaker": {"window_ms": 300000, "min_attempts": 10, "failure_pct": 70,
 *                 "half_open_ms": 30000, "disable_after_ms": 86400000,
 *                 "max_trips": 0, "blocked_disable_after": 3},
 *     "scheme":  "standard",                    standard|hookline|stripe|github
 *     "secrets": [{"secret": "whsec_…", "encoding": "default",
 *                  "not_after_ms": 0}],         encoding: default|hex|base64|raw
 *     "custom_headers": {"X-Api-Key": "…"},
 *     "auth":    {"type": "none"}
 *              | {"type": "basic", "user": "…", "password": "…"}
 *              | {"type": "oauth2", "token_url": "https://…", "client_id": "…",
 *                 "client_secret": "…", "scope": "…"},
 *     "tls_client_cert": "/path/cert.pem",      or null
 *     "tls_client_key": "/path/key.pem",        or null
 *     "timeout_ms": 10000
 *   }
 *
 * Ranges (inclusive): batch.max_events 1..1000000, batch.max_bytes
 * 64..268435456, batch.linger_ms 0..86400000, retry.schedule_ms 1..32
 * entries of 0..2592000000, retry.jitter_pct 0..100, retry.deadline_ms
 * 1..2592000000, retry.max_attempts 0..1000000, flow.concurrency 1..100000,
 * rates and burst 0..1000000 (throttle rates > 0), *_ms durations
 * 0..2592000000 (breaker.window_ms >= 10), breaker.failure_pct 0..100,
 * counts 0..1000000 (breaker.min_attempts >= 1), secrets[].not_after_ms
 * 0..32503680000000 (year 3000), timeout_ms 1..HL_DELIVERY_TIMEOUT_MAX_MS.
 *
 * "secrets" may be absent or empty (the worker then generates one); when
 * present, the delivery part must pass hl_delivery_options_check, and the
 * engine part always passes the engine's own option checks.
 *
 * Secrets: the text of secrets, the basic password, the OAuth2 client
 * secret and custom header values are treated as secrets: wiped when a
 * config is freed, replaced by "<redacted>" with HL_CONFIG_REDACT, never in
 * error messages.
 */
#ifndef HOOKLINE_ENDPOINT_CONFIG_H
#define HOOKLINE_ENDPOINT_CONFIG_H

#include "hookline/common.h"
#include "hookline/delivery.h"
#include "hookline/engine.h"
#include "hookline/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Longest configuration document accepted, in bytes. */
#define HL_CONFIG_MAX_BYTES (256u * 1024u)
/* What secrets and credentials read as in redacted output. */
#define HL_CONFIG_REDACTED "<redacted>"

/* hl_endpoint_config_to_json flags. */
#define HL_CONFIG_REDACT 1u /* replace secrets and credentials by "<redacted>" */
#define HL_CONFIG_PRETTY 2u /* indented, one field per line (default: compact) */

/* An endpoint's configuration; immutable once built. */
typedef struct hl_endpoint_config hl_endpoint_config;

/*
 * hl_endpoint_config_parse - read a configuration document.
 *
 * out   receives a new caller-owned config (hl_endpoint_config_free);
 *       untouched on failure.
 * json  `len` bytes of UTF-8 JSON (need not be NUL-terminated; at most
 *       HL_CONFIG_MAX_BYTES), one object. Not retained.
 * Errors, each with a message naming the field:
 *   HL_E_JSON                  not JSON, not an object, a repeated key,
 *                              or longer than HL_CONFIG_MAX_BYTES
 *   HL_E_CONFIG_UNKNOWN_FIELD  a field the format does not have
 *   HL_E_CONFIG_TYPE           a value of the wrong JSON type
 *   HL_E_CONFIG_RANGE          a number out of range, a string not among
 *                              the allowed names, too many list entries
 *   HL_E_CONFIG_MISSING        "url" (or a field the auth type needs) absent
 *   HL_E_INVALID_ARGUMENT      an engine option check failed (e.g. a bad
 *                              event filter; the message says which)
 *   those of hl_delivery_options_check (HL_E_DELIVERY_INVALID,
 *   HL_E_SECRET_MALFORMED, HL_E_KEY_KIND, HL_E_TOO_MANY), HL_E_NOMEM.
 */
HL_API hl_code hl_endpoint_config_parse(hl_endpoint_config **out, const char *json, size_t len,
                                        hl_error *err);

/*
 * hl_endpoint_config_from_options - a config holding copies of `engine`
 * (required) and `delivery` (NULL: the defaults with no secret). Checked as
 * hl_endpoint_config_parse checks a document (same errors). `out` is
 * caller-owned.
 */
HL_API hl_code hl_endpoint_config_from_options(hl_endpoint_config **out,
                                               const hl_endpoint_options *engine,
                                               const hl_delivery_options *delivery,
                                               hl_error *err);

/*
 * hl_endpoint_config_engine / hl_endpoint_config_delivery - the options,
 * ready for hl_endpoint_add / hl_dispatcher_endpoint_set. Borrowed from
 * `cfg` (valid until it is freed). The delivery options may hold 0 secrets
 * (see above).
 */
HL_API const hl_endpoint_options *hl_endpoint_config_engine(const hl_endpoint_config *cfg);
HL_API const hl_delivery_options *hl_endpoint_config_delivery(const hl_endpoint_config *cfg);

/*
 * hl_endpoint_config_to_json - the canonical document: every field,
 * defaults written out, in the order shown above, so that parsing it gives
 * the same options. `flags`: HL_CONFIG_REDACT, HL_CONFIG_PRETTY.
 * `*out` receives a caller-owned NUL-terminated string (free it with
 * hl_endpoint_config_json_free, which wipes it); `len_out` may be NULL.
 * A redacted document does not parse back (its secrets are placeholders).
 * Errors: HL_E_INVALID_ARGUMENT, HL_E_NOMEM.
 */
HL_API hl_code hl_endpoint_config_to_json(const hl_endpoint_config *cfg, unsigned int flags,
                                          char **out, size_t *len_out, hl_error *err);

/* hl_endpoint_config_json_free - wipe and free a string from _to_json. NULL does nothing. */
HL_API void hl_endpoint_config_json_free(char *json);

/*
 * hl_endpoint_config_rotate_secret - a new config (caller-owned, `*out`)
 * equal to `cfg` with `new_secret` (NUL-terminated text, read with
 * `encoding` for the config's scheme) as the secret without expiry. The
 * secrets that had no expiry, or one later than now + grace, keep signing
 * until `now_ms + grace_ms`; secrets already expired at `now_ms` are
 * dropped; when HL_MAX_SECRETS would be exceeded the ones expiring first are
 * dropped. With grace_ms 0 the old secrets are dropped at once.
 * Errors: those of hl_endpoint_config_parse for the new secret
 * (HL_E_SECRET_MALFORMED, HL_E_KEY_KIND), HL_E_INVALID_ARGUMENT, HL_E_NOMEM.
 */
HL_API hl_code hl_endpoint_config_rotate_secret(hl_endpoint_config **out,
                                                const hl_endpoint_config *cfg,
                                                const char *new_secret,
                                                hl_secret_encoding encoding, uint64_t now_ms,
                                                uint64_t grace_ms, hl_error *err);

/* hl_endpoint_config_free - wipe the secrets and free. NULL does nothing. */
HL_API void hl_endpoint_config_free(hl_endpoint_config *cfg);

#ifdef __cplusplus
}
#endif

#endif /* HOOKLINE_ENDPOINT_CONFIG_H */
