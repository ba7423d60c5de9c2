/*
 * dispatch_internal.h - what dispatcher.c (transfers, the loop) and
 * dispatch_endpoint.c (per-endpoint settings, signer, OAuth2 token) share.
 * Not installed.
 */
#ifndef HOOKLINE_DISPATCH_INTERNAL_H
#define HOOKLINE_DISPATCH_INTERNAL_H

#include "hookline/dispatcher.h"
#include "hookline/signature.h"

#include <curl/curl.h>

/*
 * One endpoint's delivery settings, as hl_dispatcher_endpoint_set copied
 * them, plus its live state (signer, OAuth2 token). Reference-counted: a
 * transfer holds its endpoint's settings until it ends, so replacing or
 * removing them never pulls anything from under a running attempt.
 */
typedef struct hli_dconf {
    int refs;
    char *endpoint_id;
    hl_scheme scheme;
    size_t n_secrets;
    hl_secret *secrets[HL_MAX_SECRETS];
    uint64_t not_after_ms[HL_MAX_SECRETS];
    size_t n_headers;
    char **headers; /* "Name: value", ready for CURLOPT_HTTPHEADER */
    hl_auth_kind auth;
    char *basic_user, *basic_password;
    char *token_url, *client_id, *client_secret, *scope;
    char *tls_cert, *tls_key;
    uint64_t timeout_ms;

    /* signer over the secrets valid at build time, reused until one of them
     * expires (signer_until, clock ms) */
    hl_signer *signer;
    uint64_t signer_until;

    /* OAuth2: the cached token ("Authorization: Bearer …" line), when to
     * fetch a new one, and the generation that tells a 401 on a stale token
     * from a 401 on the current one */
    char *auth_line;
    uint64_t token_refresh_ms; /* UINT64_MAX: until a 401 */
    unsigned int token_gen;
    struct hli_xfer *token_xfer; /* fetch under way */
    struct hli_xfer *waiters;    /* deliveries waiting for it */

    struct hli_dconf *next; /* the dispatcher's list */
} hli_dconf;

/* hli_dconf_new - copy checked options (caller checked them). */
hl_code hli_dconf_new(hli_dconf **out, const char *endpoint_id, const hl_delivery_options *opts,
                      hl_error *err);
/* Drop one reference; the last one wipes and frees. NULL does nothing. */
void hli_dconf_release(hli_dconf *c);
/* Same OAuth2 client (token URL, client id and secret, scope)? */
int hli_dconf_same_client(const hli_dconf *a, const hli_dconf *b);
/* Move the cached token of `from` into `to` (same client). */
void hli_dconf_take_token(hli_dconf *to, hli_dconf *from);
/* Forget the cached token (wiped). */
void hli_dconf_drop_token(hli_dconf *c);

/*
 * hli_dconf_sign - the signature headers for `body` at `now_ms`, signed by
 * every secret valid then (rebuilding the cached signer when one expired).
 * `timestamp` is the signed unix-seconds value.
 */
hl_code hli_dconf_sign(hli_dconf *c, uint64_t now_ms, const char *msg_id, int64_t timestamp,
                       const void *body, size_t body_len, hl_signed *out, hl_error *err);

/*
 * hli_oauth2_parse - read a token response (RFC 6749 5.1): access_token
 * (required, printable ASCII), token_type (absent or "bearer", any case),
 * expires_in (optional, seconds). On success `*auth_line` is a new
 * "Authorization: Bearer <token>" string (caller wipes and frees) and
 * `*expires_in_s` the lifetime (0 when absent).
 * Errors: HL_E_OAUTH2 with a message that never quotes the token.
 */
hl_code hli_oauth2_parse(const char *json, size_t len, char **auth_line, uint64_t *expires_in_s,
                         hl_error *err);

/* When to refresh a token that lives `expires_in_s` from `now_ms`: a fifth
 * of its life (at most a minute) early; UINT64_MAX when it does not say. */
uint64_t hli_oauth2_refresh_at(uint64_t now_ms, uint64_t expires_in_s);

/* Free a string after wiping it (credentials, tokens). NULL does nothing. */
void hli_wipe_free(char *s);

#endif /* HOOKLINE_DISPATCH_INTERNAL_H */
