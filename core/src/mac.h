/*
 * mac.h - HMAC-SHA256 with precomputed pads, and Ed25519 (internal).
 *
 * An HMAC key's inner and outer SHA-256 states are computed once when the
 * secret is created; every MAC then starts from copies of them. This halves
 * the work for small bodies compared with keying a fresh context per call,
 * and it is what lets the one-shot hl_verify() run at the speed of a
 * long-lived context.
 */
#ifndef HOOKLINE_MAC_H
#define HOOKLINE_MAC_H

/* The low-level SHA-256 calls are deprecated in OpenSSL 3 but remain the
 * cheapest way to copy a hash state (no provider dispatch, no allocation). */
#ifndef OPENSSL_SUPPRESS_DEPRECATED
#define OPENSSL_SUPPRESS_DEPRECATED
#endif
#include <openssl/sha.h>

#include "internal.h"

#define HLI_MAC_LEN 32
#define HLI_ED25519_KEY_LEN 32
#define HLI_ED25519_SIG_LEN 64

typedef struct hli_hmac_key {
    SHA256_CTX inner; /* state after absorbing key ^ ipad */
    SHA256_CTX outer; /* state after absorbing key ^ opad */
} hli_hmac_key;

typedef struct hli_hmac {
    SHA256_CTX ctx;
    const hli_hmac_key *key;
} hli_hmac;

void hli_hmac_key_init(hli_hmac_key *k, const unsigned char *key, size_t len);
void hli_hmac_start(hli_hmac *h, const hli_hmac_key *k);
void hli_hmac_update(hli_hmac *h, const void *data, size_t len);
/* Writes the MAC and wipes the running state. */
void hli_hmac_finish(hli_hmac *h, unsigned char out[HLI_MAC_LEN]);

/* Ed25519 through OpenSSL's EVP interface. */
hl_code hli_ed25519_public_from_seed(const unsigned char seed[HLI_ED25519_KEY_LEN],
                                     unsigned char pub[HLI_ED25519_KEY_LEN], hl_error *err);
hl_code hli_ed25519_sign(const unsigned char seed[HLI_ED25519_KEY_LEN], const unsigned char *msg,
                         size_t len, unsigned char sig[HLI_ED25519_SIG_LEN], hl_error *err);
/* Returns 1 when valid, 0 when not; never fails otherwise (a key or
 * signature OpenSSL rejects counts as not valid). */
int hli_ed25519_verify(const unsigned char pub[HLI_ED25519_KEY_LEN], const unsigned char *msg,
                       size_t len, const unsigned char sig[HLI_ED25519_SIG_LEN]);

#endif
