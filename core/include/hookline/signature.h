/*
 * hookline/signature.h - sign webhook payloads and verify received requests.
 *
 * Pure functions over caller buffers: nothing here reads a clock, a file or
 * a socket. Time is always an argument (`now`, `timestamp`: unix seconds).
 *
 * Two ways to call each side, as curl has easy and multi handles:
 *   - one-shot: hl_sign(), hl_verify() - simplest, keys set up per call;
 *   - reusable: hl_signer / hl_verifier - keyed HMAC state is prepared once
 *     and reused, which is what a busy receiver or sender wants. A signer or
 *     verifier may be used by one thread at a time (give each thread its own).
 */
#ifndef HOOKLINE_SIGNATURE_H
#define HOOKLINE_SIGNATURE_H

#include "hookline/common.h"
#include "hookline/error.h"
#include "hookline/secret.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Most secrets one signer or verifier holds (rotation needs 2 or 3). */
#define HL_MAX_SECRETS 16
/* Default replay window, seconds, applied both to the past and the future. */
#define HL_DEFAULT_TOLERANCE 300
/* Default largest body hl_verify accepts (HL_E_BODY_TOO_LARGE beyond). */
#define HL_DEFAULT_MAX_BODY (16u * 1024u * 1024u)
/* Longest message id (webhook-id), event id and event type reported. */
#define HL_ID_MAX 256

/*
 * A request header as the caller received it. Name and value are byte
 * ranges (not NUL-terminated, not retained). Names match case-insensitively.
 * A header that appears twice in the array is treated as malformed, never as
 * a second chance. Plain types only, so the struct is usable through FFIs.
 */
typedef struct hl_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} hl_header;

/* ------------------------------------------------------------------ sign */

#define HL_SIGNED_MAX_HEADERS 4
#define HL_HEADER_NAME_MAX 32
#define HL_HEADER_VALUE_MAX 2048

/* One header to send: NUL-terminated lowercase name and value. */
typedef struct hl_signed_header {
    char name[HL_HEADER_NAME_MAX];
    char value[HL_HEADER_VALUE_MAX];
} hl_signed_header;

/* The headers that carry a signature. Caller-owned, no pointers inside. */
typedef struct hl_signed {
    size_t count;
    hl_signed_header headers[HL_SIGNED_MAX_HEADERS];
} hl_signed;

/*
 * Which headers each scheme writes:
 *   standard: webhook-id, webhook-timestamp, webhook-signature
 *             ("v1,<b64>" per HMAC secret, "v1a,<b64>" per Ed25519 key,
 *             space-separated)
 *   hookline: x-webhook-timestamp, x-webhook-signature (hex, comma-separated
 *             during rotation)
 *   stripe:   stripe-signature ("t=<ts>,v1=<hex>[,v1=<hex>…]")
 *   github:   x-hub-signature-256 ("sha256=<hex>"; one secret only)
 */

typedef struct hl_signer hl_signer;

/*
 * hl_signer_new - prepare keyed state for signing with every secret given
 * (1 to HL_MAX_SECRETS; each one's signature goes into the header, which is
 * how key rotation works). The secrets are copied: the caller may free them
 * afterwards. `out` is caller-owned (hl_signer_free).
 * Errors: HL_E_INVALID_ARGUMENT, HL_E_TOO_MANY, HL_E_KEY_KIND (a public key,
 * an Ed25519 key outside the standard scheme, several keys for github),
 * HL_E_CRYPTO, HL_E_NOMEM.
 */
HL_API hl_code hl_signer_new(hl_signer **out, hl_scheme scheme, const hl_secret *const *secrets,
                             size_t n_secrets, hl_error *err);

/*
 * hl_signer_sign - sign `body` and write the headers into `*out`.
 *
 * msg_id     NUL-terminated message id, required by the standard scheme
 *            (1 to HL_ID_MAX-1 printable bytes, no spaces), ignored by the
 *            others. See hl_generate_id.
 * timestamp  unix seconds (>= 0), ignored by github.
 * body       `body_len` bytes; may be NULL when body_len is 0.
 */
HL_API hl_code hl_signer_sign(hl_signer *signer, const char *msg_id, int64_t timestamp,
                              const void *body, size_t body_len, hl_signed *out, hl_error *err);

/* hl_signer_free - wipe keyed state and free. NULL does nothing. */
HL_API void hl_signer_free(hl_signer *signer);

/* hl_sign - one-shot: hl_signer_new + hl_signer_sign + hl_signer_free. */
HL_API hl_code hl_sign(hl_scheme scheme, const hl_secret *const *secrets, size_t n_secrets,
                       const char *msg_id, int64_t timestamp, const void *body, size_t body_len,
                       hl_signed *out, hl_error *err);

/*
 * hl_generate_id - a random message id "<prefix><26 base32 chars>" (about
 * 130 bits from the OS CSPRNG), NUL-terminated into `buf`. prefix may be
 * NULL (then "msg_"). Errors: HL_E_BUFFER_TOO_SMALL, HL_E_RANDOM.
 */
HL_API hl_code hl_generate_id(char *buf, size_t cap, const char *prefix, hl_error *err);

/* ---------------------------------------------------------------- verify */

#define HL_VERIFY_OPTIONS_VERSION 1

typedef struct hl_verify_options {
    unsigned int version; /* HL_VERIFY_OPTIONS_VERSION */
    hl_scheme scheme;
    int64_t tolerance;    /* seconds, past and future; >= 0 */
    size_t max_body;      /* bytes; SIZE_MAX for no limit */
    int parse_event;      /* non-zero: fill the event fields of the result */
} hl_verify_options;

#define HL_VERIFY_OPTIONS_INIT                                                                   \
    {HL_VERIFY_OPTIONS_VERSION, HL_SCHEME_STANDARD, HL_DEFAULT_TOLERANCE, HL_DEFAULT_MAX_BODY, 1}

/*
 * What a receiver needs to be idempotent, filled on success. Strings are
 * NUL-terminated and empty when absent (or longer than HL_ID_MAX-1).
 */
typedef struct hl_verify_result {
    int64_t timestamp;           /* signed timestamp; -1 for github (none) */
    char msg_id[HL_ID_MAX];      /* webhook-id (standard scheme) */
    int secret_index;            /* which secret of the list verified */
    int has_event;               /* 1: body was a JSON object and was read */
    char event_id[HL_ID_MAX];    /* body "id" */
    char event_type[HL_ID_MAX];  /* body "type", else "eventType" */
    char created_at[64];         /* body "created_at" */
} hl_verify_result;

typedef struct hl_verifier hl_verifier;

/*
 * hl_verifier_new - prepare keyed state for verifying against every secret
 * given (1 to HL_MAX_SECRETS, HMAC or Ed25519 public/private keys; rotation
 * = pass the old and the new). Secrets are copied. `opts` may be NULL for
 * the defaults (HL_VERIFY_OPTIONS_INIT). `out` is caller-owned.
 * Errors: HL_E_INVALID_ARGUMENT, HL_E_TOO_MANY, HL_E_KEY_KIND, HL_E_CRYPTO,
 * HL_E_NOMEM.
 */
HL_API hl_code hl_verifier_new(hl_verifier **out, const hl_verify_options *opts,
                               const hl_secret *const *secrets, size_t n_secrets, hl_error *err);

/*
 * hl_verifier_verify - check one request.
 *
 * now       the receiver's clock, unix seconds.
 * headers   `n_headers` request headers (any case); only the scheme's are read.
 * body      the raw body bytes exactly as received (never re-serialised).
 * result    may be NULL; filled only on success.
 *
 * Returns HL_OK when a signature in the header matches one of the secrets
 * and the timestamp is within now ± tolerance. Every candidate signature is
 * compared in constant time against every secret, with no early exit.
 * Errors, checked in this order: HL_E_BODY_TOO_LARGE, HL_E_HEADER_MISSING,
 * HL_E_HEADER_MALFORMED (repeated header, bad syntax, a timestamp that is not
 * a plain non-negative integer), HL_E_TIMESTAMP_TOO_OLD,
 * HL_E_TIMESTAMP_IN_FUTURE, HL_E_SIGNATURE_MISMATCH. The event fields are
 * best effort: a body that is not JSON still verifies (has_event = 0).
 */
HL_API HL_WARN_UNUSED hl_code hl_verifier_verify(hl_verifier *verifier, int64_t now,
                                                 const hl_header *headers, size_t n_headers,
                                                 const void *body, size_t body_len,
                                                 hl_verify_result *result, hl_error *err);

/* hl_verifier_free - wipe keyed state and free. NULL does nothing. */
HL_API void hl_verifier_free(hl_verifier *verifier);

/* hl_verify - one-shot: hl_verifier_new + hl_verifier_verify + free. */
HL_API HL_WARN_UNUSED hl_code hl_verify(const hl_verify_options *opts,
                                        const hl_secret *const *secrets, size_t n_secrets,
                                        int64_t now, const hl_header *headers, size_t n_headers,
                                        const void *body, size_t body_len,
                                        hl_verify_result *result, hl_error *err);

/* ------------------------------------------------------------ event peek */

/* The identifying fields of a JSON event object. */
typedef struct hl_event_summary {
    char id[HL_ID_MAX];
    char type[HL_ID_MAX];
    char created_at[64];
} hl_event_summary;

/*
 * hl_event_peek - read "id", "type"/"eventType" and "created_at" from a JSON
 * object body (string or integer values). Fields absent or too long are
 * left empty. Errors: HL_E_JSON when the body is not a JSON object.
 */
HL_API hl_code hl_event_peek(const void *body, size_t body_len, hl_event_summary *out,
                             hl_error *err);

#ifdef __cplusplus
}
#endif

#endif /* HOOKLINE_SIGNATURE_H */
