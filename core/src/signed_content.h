/*
 * signed_content.h - what each scheme signs (internal).
 *
 *   standard: msg_id "." timestamp "." body
 *   hookline, stripe: timestamp "." body
 *   github: body
 */
#ifndef HOOKLINE_SIGNED_CONTENT_H
#define HOOKLINE_SIGNED_CONTENT_H

#include "secret_internal.h"

typedef struct hli_signed_content {
    const char *msg_id; /* NULL unless standard */
    size_t msg_id_len;
    char ts[24]; /* decimal timestamp, "" for github */
    size_t ts_len;
    const unsigned char *body;
    size_t body_len;
} hli_signed_content;

void hli_content_init(hli_signed_content *c, hl_scheme scheme, const char *msg_id,
                      size_t msg_id_len, int64_t timestamp, const void *body, size_t body_len);
void hli_content_hmac(const hli_signed_content *c, const hli_hmac_key *key,
                      unsigned char out[HLI_MAC_LEN]);
/* The content as one malloc'ed buffer (Ed25519 signs a contiguous message);
 * NULL when out of memory. Caller frees. */
unsigned char *hli_content_flatten(const hli_signed_content *c, size_t *len_out);

/* A message id as the standard scheme allows it: 1 to HL_ID_MAX-1 bytes
 * of visible ASCII (no spaces or controls, which would break the header). */
int hli_msg_id_valid(const char *id, size_t len);

#endif
