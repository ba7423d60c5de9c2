/* signed_content.c - build the byte string a scheme signs. */
#include "signed_content.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hli_content_init_text(hli_signed_content *c, hl_scheme scheme, const char *msg_id,
                           size_t msg_id_len, const char *ts, size_t ts_len, const void *body,
                           size_t body_len)
{
    c->msg_id = scheme == HL_SCHEME_STANDARD ? msg_id : NULL;
    c->msg_id_len = scheme == HL_SCHEME_STANDARD ? msg_id_len : 0;
    c->ts = scheme == HL_SCHEME_GITHUB ? NULL : ts;
    c->ts_len = scheme == HL_SCHEME_GITHUB ? 0 : ts_len;
    c->body = body;
    c->body_len = body_len;
}

void hli_content_init(hli_signed_content *c, hl_scheme scheme, const char *msg_id,
                      size_t msg_id_len, int64_t timestamp, const void *body, size_t body_len)
{
    int n = snprintf(c->ts_buf, sizeof c->ts_buf, "%" PRId64, timestamp);
    hli_content_init_text(c, scheme, msg_id, msg_id_len, c->ts_buf, (size_t)n, body, body_len);
}

void hli_content_hmac(const hli_signed_content *c, const hli_hmac_key *key,
                      unsigned char out[HLI_MAC_LEN])
{
    hli_hmac h;
    hli_hmac_start(&h, key);
    if (c->msg_id) {
        hli_hmac_update(&h, c->msg_id, c->msg_id_len);
        hli_hmac_update(&h, ".", 1);
    }
    if (c->ts_len) {
        hli_hmac_update(&h, c->ts, c->ts_len);
        hli_hmac_update(&h, ".", 1);
    }
    hli_hmac_update(&h, c->body, c->body_len);
    hli_hmac_finish(&h, out);
}

unsigned char *hli_content_flatten(const hli_signed_content *c, size_t *len_out)
{
    size_t len = c->body_len + c->ts_len + 1 + (c->msg_id ? c->msg_id_len + 1 : 0), o = 0;
    unsigned char *buf = malloc(len ? len : 1);
    if (!buf)
        return NULL;
    if (c->msg_id) {
        memcpy(buf, c->msg_id, c->msg_id_len);
        o = c->msg_id_len;
        buf[o++] = '.';
    }
    if (c->ts_len) {
        memcpy(buf + o, c->ts, c->ts_len);
        o += c->ts_len;
        buf[o++] = '.';
    }
    if (c->body_len)
        memcpy(buf + o, c->body, c->body_len);
    *len_out = o + c->body_len;
    return buf;
}

int hli_msg_id_valid(const char *id, size_t len)
{
    if (!id || len == 0 || len >= HL_ID_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)id[i] <= ' ' || (unsigned char)id[i] >= 0x7f)
            return 0;
    return 1;
}
