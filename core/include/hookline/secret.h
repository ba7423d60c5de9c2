/*
 * hookline/secret.h - signature schemes and the secrets that sign for them.
 *
 * A secret is an opaque handle holding key bytes. It is created by parsing
 * the text form a user pastes (hl_secret_parse), from raw bytes, or freshly
 * from the OS CSPRNG, and it is wiped (OPENSSL_cleanse) when freed. Secrets
 * are immutable after creation, so one secret may be shared by many signers
 * and verifiers and by several threads.
 */
#ifndef HOOKLINE_SECRET_H
#define HOOKLINE_SECRET_H

#include "hookline/common.h"
#include "hookline/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Signature schemes (wire formats are described in docs/signatures.md).
 *
 * HL_SCHEME_STANDARD  Standard Webhooks: webhook-id / webhook-timestamp /
 *                     webhook-signature, "v1,<base64 HMAC-SHA256>" over
 *                     id.timestamp.body, or "v1a,<base64 Ed25519>".
 * HL_SCHEME_HOOKLINE  x-webhook-signature / x-webhook-timestamp, lowercase
 *                     hex HMAC-SHA256 over timestamp.body, hex secrets.
 * HL_SCHEME_STRIPE    Stripe-Signature: t=<ts>,v1=<hex> over ts.body.
 * HL_SCHEME_GITHUB    X-Hub-Signature-256: sha256=<hex> over the body only.
 *                     It carries no timestamp: no replay protection.
 */
typedef enum hl_scheme {
    HL_SCHEME_STANDARD = 0,
    HL_SCHEME_HOOKLINE = 1,
    HL_SCHEME_STRIPE = 2,
    HL_SCHEME_GITHUB = 3,
    HL_SCHEME__SENTINEL
} hl_scheme;

/*
 * How a secret's text is to be read.
 *
 * HL_SECRET_DEFAULT  the scheme's own convention: standard reads
 *                    "whsec_<base64>" (or bare base64), "whsk_<base64>"
 *                    Ed25519 private keys and "whpk_<base64>" public keys;
 *                    hookline reads hex; stripe and github use the text's
 *                    bytes as the key (as those platforms do).
 * HL_SECRET_HEX      hex digits, either case, even length.
 * HL_SECRET_BASE64   standard or URL-safe alphabet, padding optional; a
 *                    leading "whsec_" is accepted and skipped.
 * HL_SECRET_RAW      the bytes of the text are the key.
 *
 * Whatever the encoding, text that starts with a signature prefix such as
 * "v1," or "v1a," is rejected with a message saying so, and so is text with
 * whitespace or control characters (a pasted newline is a classic mistake).
 */
typedef enum hl_secret_encoding {
    HL_SECRET_DEFAULT = 0,
    HL_SECRET_HEX = 1,
    HL_SECRET_BASE64 = 2,
    HL_SECRET_RAW = 3,
    HL_SECRET__SENTINEL
} hl_secret_encoding;

/* What a secret can do. */
typedef enum hl_secret_kind {
    HL_KEY_HMAC = 0,            /* symmetric HMAC-SHA256 key: signs and verifies */
    HL_KEY_ED25519_PRIVATE = 1, /* signs (and verifies through its public half) */
    HL_KEY_ED25519_PUBLIC = 2   /* verifies only */
} hl_secret_kind;

/* Limits. Longer secret text is rejected as malformed. */
#define HL_SECRET_TEXT_MAX 1024
#define HL_SECRET_BYTES_MAX 512
/* Bytes of key material in a generated HMAC secret. */
#define HL_SECRET_GENERATED_BYTES 32

typedef struct hl_secret hl_secret;

/*
 * hl_scheme_from_name - "standard", "hookline", "stripe" or "github" (any
 * case) to a scheme. Returns HL_OK or HL_E_SCHEME_UNKNOWN.
 * hl_scheme_name - the reverse; "unknown" for values that are not schemes.
 */
HL_API hl_code hl_scheme_from_name(hl_scheme *out, const char *name, size_t name_len);
HL_API const char *hl_scheme_name(int scheme);

/*
 * hl_secret_parse - decode a secret's text form.
 *
 * out      receives a new secret owned by the caller (free with
 *          hl_secret_free); untouched on failure.
 * scheme   decides what HL_SECRET_DEFAULT means.
 * encoding how to read `text` (see hl_secret_encoding).
 * text     `len` bytes, need not be NUL-terminated; an embedded NUL is an
 *          error. Not retained.
 * Errors: HL_E_SECRET_MALFORMED (empty, bad characters, wrong prefix, bad
 * length, Ed25519 seed and public half that do not match),
 * HL_E_INVALID_ARGUMENT, HL_E_NOMEM. The message names the problem, never
 * the secret.
 */
HL_API hl_code hl_secret_parse(hl_secret **out, hl_scheme scheme, hl_secret_encoding encoding,
                               const char *text, size_t len, hl_error *err);

/*
 * hl_secret_from_bytes - an HMAC secret from raw key bytes (copied; 1 to
 * HL_SECRET_BYTES_MAX bytes). `out` is caller-owned.
 */
HL_API hl_code hl_secret_from_bytes(hl_secret **out, const void *key, size_t len, hl_error *err);

/*
 * hl_secret_generate - a fresh HMAC secret of HL_SECRET_GENERATED_BYTES
 * random bytes from the OS CSPRNG, suited to `scheme` (for the stripe and
 * github schemes, whose keys are text, the key is the text "whsec_" + 64
 * random hex digits). `out` is caller-owned. Errors: HL_E_RANDOM, HL_E_NOMEM.
 */
HL_API hl_code hl_secret_generate(hl_secret **out, hl_scheme scheme, hl_error *err);

/*
 * hl_keypair_generate - a fresh Ed25519 key pair for the standard scheme's
 * asymmetric "v1a" signatures. Both outputs are caller-owned.
 */
HL_API hl_code hl_keypair_generate(hl_secret **private_out, hl_secret **public_out, hl_error *err);

/*
 * hl_secret_public - the public half of an Ed25519 private key (a new,
 * caller-owned secret). HL_E_KEY_KIND for any other kind.
 */
HL_API hl_code hl_secret_public(hl_secret **out, const hl_secret *secret, hl_error *err);

/*
 * hl_secret_format - write the text form of a secret in `scheme`'s default
 * encoding ("whsec_…"/"whsk_…"/"whpk_…", hex, or the raw text) into `buf`
 * (`cap` bytes, NUL-terminated on success). `*len_out` (may be NULL)
 * receives the length without the NUL. HL_E_BUFFER_TOO_SMALL when it does
 * not fit (then `*len_out` holds the needed length); HL_E_KEY_KIND when the
 * scheme cannot express the key (e.g. an Ed25519 key for hookline).
 * The caller should wipe `buf` when done with it.
 */
HL_API hl_code hl_secret_format(const hl_secret *secret, hl_scheme scheme, char *buf, size_t cap,
                                size_t *len_out, hl_error *err);

/* hl_secret_kind_of - what the secret is (see hl_secret_kind). */
HL_API hl_secret_kind hl_secret_kind_of(const hl_secret *secret);

/* hl_secret_free - wipe and free. NULL is allowed and does nothing. */
HL_API void hl_secret_free(hl_secret *secret);

#ifdef __cplusplus
}
#endif

#endif /* HOOKLINE_SECRET_H */
