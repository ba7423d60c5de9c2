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
    const char *ts; /* decimal timestamp text, NULL for github */
    size_t ts_len;
    char ts_buf[24]; /* holds the text when formatted from a number */
    const unsigned char *body;
    size_t body_len;
} hli_signed_content;

/* For signing: the timestamp is formatted from a number. */
void hli_content_init(hli_signed_content *c, hl_scheme scheme, const char *msg_id,
                      size_t msg_id_len, int64_t timestamp, const void *body, size_t body_len);
/* For verifying: the timestamp is signed as the sender wrote it (`ts`,
 * already validated as digits), so no formatting round trip is needed. */
void hli_content_init_text(hli_signed_content *c, hl_scheme scheme, const char *msg_id,
                           size_t msg_id_len, const char *ts, size_t ts_len, const void *body,
                           size_t body_len);
void hli_content_hmac(const hli_signed_content *c, const hli_hmac_key *key,
                      unsigned char out[HLI_MAC_LEN]);
/* The content as one malloc'ed buffer (Ed25519 signs a contiguous message);
 * NULL when out of memory. Caller frees. */
unsigned char *hli_content_flatten(const hli_signed_content *c, size_t *len_out);

/* A message id as the standard scheme allows it: 1 to HL_ID_MAX-1 bytes
 * of visible ASCII (no spaces or controls, which would break the header). */
int hli_msg_id_valid(const char *id, size_t len);

#endif
