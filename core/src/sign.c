/* sign.c - produce signature headers for a payload. */
#include "signed_content.h"

#include "codec.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hl_signer {
    hl_scheme scheme;
    size_t n;
    struct hl_secret *keys; /* copies, wiped on free */
};

void hl_signer_free(hl_signer *signer)
{
    if (!signer)
        return;
    if (signer->keys) {
        OPENSSL_cleanse(signer->keys, signer->n * sizeof *signer->keys);
        free(signer->keys);
    }
    free(signer);
}

hl_code hl_signer_new(hl_signer **out, hl_scheme scheme, const hl_secret *const *secrets,
                      size_t n_secrets, hl_error *err)
{
    hl_signer *s;
    if (!out || (!secrets && n_secrets))
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "argument is NULL");
    if ((unsigned)scheme >= HL_SCHEME__SENTINEL)
        return hli_fail(err, HL_E_SCHEME_UNKNOWN, "unknown signature scheme %d", (int)scheme);
    if (n_secrets == 0)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "at least one secret is needed to sign");
    if (n_secrets > HL_MAX_SECRETS)
        return hli_fail(err, HL_E_TOO_MANY, "at most %d secrets", HL_MAX_SECRETS);
    if (scheme == HL_SCHEME_GITHUB && n_secrets > 1)
        return hli_fail(err, HL_E_KEY_KIND, "the github scheme carries a single signature");
    for (size_t i = 0; i < n_secrets; i++) {
        if (!secrets[i])
            return hli_fail(err, HL_E_INVALID_ARGUMENT, "secret %zu is NULL", i);
        if (secrets[i]->kind == HL_KEY_ED25519_PUBLIC)
            return hli_fail(err, HL_E_KEY_KIND, "secret %zu is a public key: it cannot sign", i);
        if (secrets[i]->kind == HL_KEY_ED25519_PRIVATE && scheme != HL_SCHEME_STANDARD)
            return hli_fail(err, HL_E_KEY_KIND, "Ed25519 keys sign only in the standard scheme");
    }
    if (!(s = calloc(1, sizeof *s)) || !(s->keys = calloc(n_secrets, sizeof *s->keys))) {
        free(s);
        return hli_fail(err, HL_E_NOMEM, "out of memory");
    }
    s->scheme = scheme;
    s->n = n_secrets;
    for (size_t i = 0; i < n_secrets; i++)
        hli_secret_copy(&s->keys[i], secrets[i]);
    *out = s;
    return HL_OK;
}

static void set_header(hl_signed *out, const char *name, const char *value)
{
    hl_signed_header *h = &out->headers[out->count++];
    snprintf(h->name, sizeof h->name, "%s", name);
    snprintf(h->value, sizeof h->value, "%s", value);
}

/* Append one entry to a separator-joined value; the limits on secrets
 * guarantee it fits (HL_MAX_SECRETS * 93 < HL_HEADER_VALUE_MAX). */
static void append(char *value, size_t *len, const char *sep, const char *prefix, const char *text)
{
    *len += (size_t)snprintf(value + *len, HL_HEADER_VALUE_MAX - *len, "%s%s%s",
                             *len ? sep : "", prefix, text);
}

hl_code hl_signer_sign(hl_signer *signer, const char *msg_id, int64_t timestamp, const void *body,
                       size_t body_len, hl_signed *out, hl_error *err)
{
    hli_signed_content content;
    char value[HL_HEADER_VALUE_MAX], enc[HLI_B64_LEN(HLI_ED25519_SIG_LEN) + 1];
    size_t vlen = 0;
    unsigned char *flat = NULL;
    size_t flat_len = 0;
    hl_scheme scheme;

    if (!signer || !out || (!body && body_len))
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "argument is NULL");
    scheme = signer->scheme;
    if (scheme != HL_SCHEME_GITHUB && timestamp < 0)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "timestamp must be >= 0");
    if (scheme == HL_SCHEME_STANDARD && !hli_msg_id_valid(msg_id, msg_id ? strlen(msg_id) : 0))
        return hli_fail(err, HL_E_INVALID_ARGUMENT,
                        "the standard scheme needs a message id of 1 to %d visible ASCII "
                        "characters",
                        HL_ID_MAX - 1);

    hli_content_init(&content, scheme, msg_id, msg_id ? strlen(msg_id) : 0, timestamp, body,
                     body_len);
    value[0] = '\0';
    for (size_t i = 0; i < signer->n; i++) {
        const struct hl_secret *key = &signer->keys[i];
        if (key->kind == HL_KEY_ED25519_PRIVATE) {
            unsigned char sig[HLI_ED25519_SIG_LEN];
            hl_code rc;
            if (!flat && !(flat = hli_content_flatten(&content, &flat_len)))
                return hli_fail(err, HL_E_NOMEM, "out of memory");
            if ((rc = hli_ed25519_sign(key->key, flat, flat_len, sig, err)) != HL_OK) {
                free(flat);
                return rc;
            }
            hli_b64_encode(enc, sizeof enc, sig, sizeof sig);
            append(value, &vlen, " ", "v1a,", enc);
        } else {
            unsigned char mac[HLI_MAC_LEN];
            hli_content_hmac(&content, &key->hmac, mac);
            switch (scheme) {
            case HL_SCHEME_STANDARD:
                hli_b64_encode(enc, sizeof enc, mac, sizeof mac);
                append(value, &vlen, " ", "v1,", enc);
                break;
            case HL_SCHEME_HOOKLINE:
                hli_hex_encode(enc, sizeof enc, mac, sizeof mac);
                append(value, &vlen, ",", "", enc);
                break;
            case HL_SCHEME_STRIPE:
                hli_hex_encode(enc, sizeof enc, mac, sizeof mac);
                append(value, &vlen, ",", "v1=", enc);
                break;
            default:
                hli_hex_encode(enc, sizeof enc, mac, sizeof mac);
                append(value, &vlen, "", "sha256=", enc);
                break;
            }
        }
    }
    free(flat);

    out->count = 0;
    switch (scheme) {
    case HL_SCHEME_STANDARD:
        set_header(out, "webhook-id", msg_id);
        set_header(out, "webhook-timestamp", content.ts_buf);
        set_header(out, "webhook-signature", value);
        break;
    case HL_SCHEME_HOOKLINE:
        set_header(out, "x-webhook-timestamp", content.ts_buf);
        set_header(out, "x-webhook-signature", value);
        break;
    case HL_SCHEME_STRIPE: {
        char stripe[HL_HEADER_VALUE_MAX];
        snprintf(stripe, sizeof stripe, "t=%s,%s", content.ts_buf, value);
        set_header(out, "stripe-signature", stripe);
        break;
    }
    default:
        set_header(out, "x-hub-signature-256", value);
        break;
    }
    return HL_OK;
}

hl_code hl_sign(hl_scheme scheme, const hl_secret *const *secrets, size_t n_secrets,
                const char *msg_id, int64_t timestamp, const void *body, size_t body_len,
                hl_signed *out, hl_error *err)
{
    hl_signer *s = NULL;
    hl_code rc = hl_signer_new(&s, scheme, secrets, n_secrets, err);
    if (rc != HL_OK)
        return rc;
    rc = hl_signer_sign(s, msg_id, timestamp, body, body_len, out, err);
    hl_signer_free(s);
    return rc;
}

hl_code hl_generate_id(char *buf, size_t cap, const char *prefix, hl_error *err)
{
    static const char B32[] = "0123456789abcdefghjkmnpqrstvwxyz"; /* Crockford, lowercase */
    unsigned char raw[17];
    size_t plen;
    if (!prefix)
        prefix = "msg_";
    plen = strlen(prefix);
    if (!buf || cap < plen + 26 + 1)
        return hli_fail(err, HL_E_BUFFER_TOO_SMALL, "an id needs %zu bytes", plen + 27);
    if (RAND_bytes(raw, sizeof raw) != 1)
        return hli_fail(err, HL_E_RANDOM, "the OS random generator failed");
    memcpy(buf, prefix, plen);
    /* 26 characters x 5 bits = 130 bits taken from the 136 random ones. */
    for (size_t i = 0; i < 26; i++) {
        size_t bit = i * 5;
        unsigned v = ((unsigned)raw[bit / 8] << 8 | raw[bit / 8 + 1]) >> (11 - bit % 8);
        buf[plen + i] = B32[v & 31];
    }
    buf[plen + 26] = '\0';
    return HL_OK;
}
