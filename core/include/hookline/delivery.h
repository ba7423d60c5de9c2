/*
 * hookline/delivery.h - how one endpoint is delivered to: the signing
 * secrets (with rotation), custom headers, authentication, client TLS
 * certificate and the per-attempt timeout.
 *
 * The engine (hookline/engine.h) decides WHAT to send WHEN; it holds no
 * secrets and no credentials. The dispatcher (hookline/dispatcher.h, in the
 * libcurl driver) holds one hl_delivery_options per endpoint and applies it
 * to every attempt. This header only describes the options and checks them:
 * hl_delivery_options_check is pure (no clock, no file, no network), so
 * registration code, the CLI and the bindings can validate an endpoint's
 * configuration before storing it.
 *
 * Secrets and credentials given here never appear in error messages, logs
 * or attempt records (docs/dispatch.md).
 */
#ifndef HOOKLINE_DELIVERY_H
#define HOOKLINE_DELIVERY_H

#include "hookline/common.h"
#include "hookline/error.h"
#include "hookline/secret.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Most custom headers per endpoint. */
#define HL_DELIVERY_HEADERS_MAX 32
/* Longest custom header name and value, in bytes (without the NUL). */
#define HL_DELIVERY_HEADER_NAME_MAX 128
#define HL_DELIVERY_HEADER_VALUE_MAX 4096
/* Longest credential (user, password, client id/secret, scope) and path. */
#define HL_DELIVERY_TEXT_MAX 4096
/* Per-attempt timeout: default and accepted range, milliseconds. */
#define HL_DELIVERY_TIMEOUT_DEFAULT_MS 10000
#define HL_DELIVERY_TIMEOUT_MAX_MS (10u * 60u * 1000u)

/*
 * One signing secret of an endpoint.
 *
 * text         NUL-terminated secret text as the user pasted it (parsed with
 *              hl_secret_parse for the endpoint's scheme); required.
 * encoding     how to read `text` (HL_SECRET_DEFAULT: the scheme's own).
 * not_after_ms unix ms after which this secret stops signing; 0 = no
 *              expiry. Rotation: the new secret has 0, the old one gets
 *              not_after_ms = now + grace period (24 h by default), and
 *              until then every request carries both signatures, so
 *              receivers can switch secrets at their own pace.
 */
typedef struct hl_delivery_secret {
    const char *text;
    hl_secret_encoding encoding;
    uint64_t not_after_ms;
} hl_delivery_secret;

#define HL_DELIVERY_SECRET_INIT {NULL, HL_SECRET_DEFAULT, 0}

/* How the dispatcher authenticates to the receiver (besides the signature). */
typedef enum hl_auth_kind {
    HL_AUTH_NONE = 0,   /* signature only (custom headers may carry an API key) */
    HL_AUTH_BASIC = 1,  /* HTTP basic: basic_user / basic_password */
    HL_AUTH_OAUTH2 = 2, /* OAuth2 client credentials: a bearer token from oauth2_token_url */
    HL_AUTH__SENTINEL
} hl_auth_kind;

/* "none", "basic", "oauth2"; "unknown" otherwise. Static strings. */
HL_API const char *hl_auth_kind_name(int kind);

#define HL_DELIVERY_OPTIONS_VERSION 1

/*
 * An endpoint's delivery settings. Every pointer is borrowed for the call
 * that takes the struct (hl_dispatcher_endpoint_set, hl_dispatcher_send_test,
 * hl_delivery_options_check); whoever keeps the settings copies them.
 * Strings are NUL-terminated.
 *
 * version        HL_DELIVERY_OPTIONS_VERSION.
 * scheme         the signature scheme (hookline/secret.h).
 * secrets        1..HL_MAX_SECRETS secrets; at least one without expiry
 *                (not_after_ms == 0), so an endpoint never ends up
 *                unsigned when old secrets expire. Every secret valid at
 *                send time signs (rotation), except with HL_SCHEME_GITHUB,
 *                whose header holds one signature: there exactly one
 *                secret has no expiry and only that one signs.
 * header_names   n_headers custom headers sent with every attempt. Names
 * header_values  are HTTP tokens (RFC 9110 5.6.2), at most
 * n_headers      HL_DELIVERY_HEADER_NAME_MAX bytes, not repeated (any case),
 *                and not one hookline sets itself (see
 *                hl_delivery_header_reserved). Values are at most
 *                HL_DELIVERY_HEADER_VALUE_MAX bytes of visible ASCII,
 *                spaces and tabs (no CR, LF, NUL or other control bytes).
 *                Values may be secrets (an API key): they are never logged.
 * auth           HL_AUTH_NONE / _BASIC / _OAUTH2.
 * basic_user     BASIC: required, no ':' (RFC 7617);
 * basic_password BASIC: may be NULL or "" (an empty password).
 * oauth2_token_url     OAUTH2: required; the client-credentials token
 *                      endpoint. It is fetched through the same SSRF guard
 *                      as deliveries (so it must be https unless the
 *                      policy allows http).
 * oauth2_client_id     OAUTH2: required.
 * oauth2_client_secret OAUTH2: required. Sent as HTTP basic to the token
 *                      endpoint (RFC 6749 2.3.1).
 * oauth2_scope         OAUTH2: optional (NULL or "": no scope parameter).
 * tls_client_cert  path of a PEM client certificate for mutual TLS
 *                  (independent of `auth`); NULL for none.
 * tls_client_key   path of its PEM private key; NULL when it is in the
 *                  certificate file. Requires tls_client_cert. The files are
 *                  read by the TLS library at each new connection; they are
 *                  not opened by the check.
 * timeout_ms       whole-attempt timeout (connect, send, response),
 *                  1..HL_DELIVERY_TIMEOUT_MAX_MS; default
 *                  HL_DELIVERY_TIMEOUT_DEFAULT_MS.
 *
 * Every credential field must be free of control characters (CR, LF, NUL…)
 * and at most HL_DELIVERY_TEXT_MAX bytes. Fields that do not belong to the
 * chosen `auth` must be NULL (a password left behind by a switch from basic
 * to oauth2 is a configuration mistake, reported as such).
 */
typedef struct hl_delivery_options {
    unsigned int version;
    hl_scheme scheme;
    const hl_delivery_secret *secrets;
    size_t n_secrets;
    const char *const *header_names;
    const char *const *header_values;
    size_t n_headers;
    hl_auth_kind auth;
    const char *basic_user;
    const char *basic_password;
    const char *oauth2_token_url;
    const char *oauth2_client_id;
    const char *oauth2_client_secret;
    const char *oauth2_scope;
    const char *tls_client_cert;
    const char *tls_client_key;
    uint64_t timeout_ms;
} hl_delivery_options;

#define HL_DELIVERY_OPTIONS_INIT                                                                 \
    {HL_DELIVERY_OPTIONS_VERSION, HL_SCHEME_STANDARD, NULL, 0, NULL, NULL, 0, HL_AUTH_NONE,      \
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, HL_DELIVERY_TIMEOUT_DEFAULT_MS}

/*
 * hl_delivery_options_check - validate `opts` without doing any I/O: every
 * secret parses for the scheme and can sign (no Ed25519 public key; Ed25519
 * only with the standard scheme), the secret-expiry rule above, header names
 * and values, the fields `auth` needs (and no others), the TLS pair, the
 * timeout range.
 *
 * Returns HL_OK, or HL_E_DELIVERY_INVALID with a message naming the field
 * ("header 3 (x-foo): value contains a line break"), HL_E_SECRET_MALFORMED
 * / HL_E_KEY_KIND for a secret (the message names its index, never its
 * text), HL_E_TOO_MANY (more than HL_MAX_SECRETS secrets or
 * HL_DELIVERY_HEADERS_MAX headers), HL_E_INVALID_ARGUMENT (NULL, bad
 * version), HL_E_NOMEM.
 */
HL_API HL_WARN_UNUSED hl_code hl_delivery_options_check(const hl_delivery_options *opts,
                                                        hl_error *err);

/*
 * hl_delivery_header_reserved - 1 when `name` (`len` bytes, any case) is a
 * header hookline sets or controls itself and a custom header must not
 * replace: content-type, content-length, content-encoding,
 * transfer-encoding, host, connection, keep-alive, te, upgrade, expect,
 * trailer, proxy-*, user-agent, x-webhook-batch-id,
 * x-messagesystems-batch-id, every signature header of every scheme
 * (webhook-id, webhook-timestamp, webhook-signature, x-webhook-timestamp,
 * x-webhook-signature, stripe-signature, x-hub-signature-256), and
 * authorization when `auth` is not HL_AUTH_NONE. 0 otherwise.
 */
HL_API int hl_delivery_header_reserved(const char *name, size_t len, hl_auth_kind auth);

#ifdef __cplusplus
}
#endif

#endif /* HOOKLINE_DELIVERY_H */
