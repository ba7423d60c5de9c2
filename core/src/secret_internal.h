/* secret_internal.h - the layout of hl_secret (internal). */
#ifndef HOOKLINE_SECRET_INTERNAL_H
#define HOOKLINE_SECRET_INTERNAL_H

#include "mac.h"

struct hl_secret {
    hl_secret_kind kind;
    size_t len;                             /* bytes used in key[] */
    unsigned char key[HL_SECRET_BYTES_MAX]; /* HMAC key, Ed25519 seed or public key */
    unsigned char pub[HLI_ED25519_KEY_LEN]; /* Ed25519 public key (both Ed25519 kinds) */
    hli_hmac_key hmac;                      /* HMAC kind: precomputed pads */
};

/* Copy of a secret into caller storage (no allocation); wipe with
 * OPENSSL_cleanse when done. */
void hli_secret_copy(struct hl_secret *dst, const struct hl_secret *src);

#endif
