/* verify.c - check a received request against one or more secrets. */
#include "sigheader.h"
#include "signed_content.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

struct hl_verifier {
    hl_verify_options opts;
    size_t n;
    struct hl_secret *keys; /* copies, wiped on free */
};

/* The header names each scheme reads (id, timestamp, signature; NULL when
 * the scheme has no message id or carries the timestamp in the signature),
 * and their lengths. */
enum { H_ID, H_TIMESTAMP, H_SIGNATURE };

struct scheme_headers {
    const char *names[3];
    size_t lens[3];
};

#define LEN(s) (sizeof s - 1)
static const struct scheme_headers HEADERS[] = {
    [HL_SCHEME_STANDARD] = {{"webhook-id", "webhook-timestamp", "webhook-signature"},
                            {LEN("webhook-id"), LEN("webhook-timestamp"), LEN("webhook-signature")}},
    [HL_SCHEME_HOOKLINE] = {{NULL, "x-webhook-timestamp", "x-webhook-signature"},
                            {0, LEN("x-webhook-timestamp"), LEN("x-webhook-signature")}},
    [HL_SCHEME_STRIPE] = {{NULL, NULL, "stripe-signature"}, {0, 0, LEN("stripe-signature")}},
    [HL_SCHEME_GITHUB] = {{NULL, NULL, "x-hub-signature-256"}, {0, 0, LEN("x-hub-signature-256")}},
};
#undef LEN

/* The largest tolerance accepted: far beyond any sane use, small enough
 * that now ± tolerance cannot overflow for any representable timestamp. */
#define MAX_TOLERANCE ((int64_t)1 << 40)

void hl_verifier_free(hl_verifier *verifier)
{
    if (!verifier)
        return;
    if (verifier->keys) {
        OPENSSL_cleanse(verifier->keys, verifier->n * sizeof *verifier->keys);
        free(verifier->keys);
    }
    free(verifier);
}

static hl_code check_options(const hl_verify_options *o, hl_error *err)
{
    if (o->version != HL_VERIFY_OPTIONS_VERSION)
        return hli_fail(err, HL_E_INVALID_ARGUMENT,
                        "hl_verify_options.version is %u, expected %d (use HL_VERIFY_OPTIONS_INIT)",
                        o->version, HL_VERIFY_OPTIONS_VERSION);
    if ((unsigned)o->scheme >= HL_SCHEME__SENTINEL)
        return hli_fail(err, HL_E_SCHEME_UNKNOWN, "unknown signature scheme %d", (int)o->scheme);
    if (o->tolerance < 0 || o->tolerance > MAX_TOLERANCE)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "tolerance must be between 0 and 2^40 seconds");
    return HL_OK;
}

hl_code hl_verifier_new(hl_verifier **out, const hl_verify_options *opts,
                        const hl_secret *const *secrets, size_t n_secrets, hl_error *err)
{
    static const hl_verify_options DEFAULTS = HL_VERIFY_OPTIONS_INIT;
    hl_verifier *v;
    hl_code rc;

    if (!out || (!secrets && n_secrets))
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "argument is NULL");
    if (!opts)
        opts = &DEFAULTS;
    if ((rc = check_options(opts, err)) != HL_OK)
        return rc;
    if (n_secrets == 0)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "at least one secret is needed to verify");
    if (n_secrets > HL_MAX_SECRETS)
        return hli_fail(err, HL_E_TOO_MANY, "at most %d secrets", HL_MAX_SECRETS);
    for (size_t i = 0; i < n_secrets; i++) {
        if (!secrets[i])
            return hli_fail(err, HL_E_INVALID_ARGUMENT, "secret %zu is NULL", i);
        if (secrets[i]->kind != HL_KEY_HMAC && opts->scheme != HL_SCHEME_STANDARD)
            return hli_fail(err, HL_E_KEY_KIND, "Ed25519 keys verify only in the standard scheme");
    }
    if (!(v = calloc(1, sizeof *v)) || !(v->keys = calloc(n_secrets, sizeof *v->keys))) {
        free(v);
        return hli_fail(err, HL_E_NOMEM, "out of memory");
    }
    v->opts = *opts;
    v->n = n_secrets;
    for (size_t i = 0; i < n_secrets; i++)
        hli_secret_copy(&v->keys[i], secrets[i]);
    *out = v;
    return HL_OK;
}

/* Copy a byte range into a fixed NUL-terminated field, or leave it empty
 * when it does not fit. */
static void set_field(char *dst, size_t cap, const char *src, size_t len)
{
    if (len < cap) {
        memcpy(dst, src, len);
        dst[len] = '\0';
    } else {
        dst[0] = '\0';
    }
}

/*
 * Compare every candidate against every key without stopping at the first
 * match, so timing does not say which secret or which entry matched.
 * Returns the index of a matching key, or -1.
 */
static int match_signatures(const hl_verifier *v, const hli_signed_content *content,
                            const hli_sig_list *sigs, hl_code *rc, hl_error *err)
{
    unsigned char macs[HL_MAX_SECRETS][HLI_MAC_LEN];
    unsigned char *flat = NULL;
    size_t flat_len = 0;
    int found = -1;
    unsigned has_ed = 0;

    for (size_t s = 0; s < sigs->count; s++)
        has_ed |= sigs->sigs[s].kind == HLI_SIG_ED25519;
    for (size_t k = 0; k < v->n; k++)
        if (v->keys[k].kind == HL_KEY_HMAC)
            hli_content_hmac(content, &v->keys[k].hmac, macs[k]);
    if (has_ed) {
        for (size_t k = 0; k < v->n && !flat; k++)
            if (v->keys[k].kind != HL_KEY_HMAC && !(flat = hli_content_flatten(content, &flat_len))) {
                *rc = hli_fail(err, HL_E_NOMEM, "out of memory");
                OPENSSL_cleanse(macs, sizeof macs);
                return -1;
            }
    }
    for (size_t k = 0; k < v->n; k++) {
        unsigned key_ok = 0;
        for (size_t s = 0; s < sigs->count; s++) {
            const hli_sig *sig = &sigs->sigs[s];
            if (v->keys[k].kind == HL_KEY_HMAC && sig->kind == HLI_SIG_HMAC)
                key_ok |= CRYPTO_memcmp(macs[k], sig->bytes, HLI_MAC_LEN) == 0;
            else if (v->keys[k].kind != HL_KEY_HMAC && sig->kind == HLI_SIG_ED25519 && flat)
                key_ok |= (unsigned)hli_ed25519_verify(v->keys[k].pub, flat, flat_len, sig->bytes);
        }
        /* Keep the first matching key without branching on secret data. */
        {
            unsigned take = key_ok & (unsigned)(found < 0);
            found = take ? (int)k : found;
        }
    }
    free(flat);
    OPENSSL_cleanse(macs, v->n * sizeof macs[0]);
    *rc = HL_OK;
    return found;
}

hl_code hl_verifier_verify(hl_verifier *v, int64_t now, const hl_header *headers,
                           size_t n_headers, const void *body, size_t body_len,
                           hl_verify_result *result, hl_error *err)
{
    const struct scheme_headers *names;
    const char *id = NULL, *ts_text = NULL, *sig_text = NULL;
    size_t id_len = 0, ts_len = 0, sig_len = 0;
    int64_t ts = -1;
    hli_sig_list sigs;
    hli_signed_content content;
    hl_code rc;
    int key;

    if (!v || (!headers && n_headers) || (!body && body_len))
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "argument is NULL");
    if (body_len > v->opts.max_body)
        return hli_fail(err, HL_E_BODY_TOO_LARGE, "body of %zu bytes exceeds the limit of %zu",
                        body_len, v->opts.max_body);
    names = &HEADERS[v->opts.scheme];

    /* Presence first (a missing header is the commonest misconfiguration),
     * then syntax. */
    {
        const char *values[3];
        size_t lens[3];
        if ((rc = hli_headers_find(headers, n_headers, names->names, names->lens, values, lens,
                                   err)) != HL_OK)
            return rc;
        id = values[H_ID], id_len = lens[H_ID];
        ts_text = values[H_TIMESTAMP], ts_len = lens[H_TIMESTAMP];
        sig_text = values[H_SIGNATURE], sig_len = lens[H_SIGNATURE];
    }
    if (id && !hli_msg_id_valid(id, id_len))
        return hli_fail(err, HL_E_HEADER_MALFORMED,
                        "webhook-id must be 1 to %d visible ASCII characters", HL_ID_MAX - 1);
    if (ts_text && (rc = hli_parse_timestamp(ts_text, ts_len, &ts, names->names[H_TIMESTAMP], err)) != HL_OK)
        return rc;
    if ((rc = hli_parse_signatures(v->opts.scheme, sig_text, sig_len, &sigs, err)) != HL_OK)
        return rc;
    if (v->opts.scheme == HL_SCHEME_STRIPE) {
        ts = sigs.timestamp;
        ts_text = sigs.timestamp_text;
        ts_len = sigs.timestamp_len;
    }

    if (ts >= 0) {
        /* Differences are printed as unsigned: now may be anywhere in the
         * int64 range, and the true difference always fits in 64 bits. */
        int64_t tol = v->opts.tolerance;
        if (now >= INT64_MIN + tol && ts < now - tol)
            return hli_fail(err, HL_E_TIMESTAMP_TOO_OLD,
                            "timestamp is %llu s old, beyond the %lld s tolerance",
                            (unsigned long long)now - (unsigned long long)ts, (long long)tol);
        if (now <= INT64_MAX - tol && ts > now + tol)
            return hli_fail(err, HL_E_TIMESTAMP_IN_FUTURE,
                            "timestamp is %llu s in the future, beyond the %lld s tolerance",
                            (unsigned long long)ts - (unsigned long long)now, (long long)tol);
    }

    hli_content_init_text(&content, v->opts.scheme, id, id_len, ts_text, ts_len, body, body_len);
    key = match_signatures(v, &content, &sigs, &rc, err);
    if (rc != HL_OK)
        return rc;
    if (key < 0)
        return hli_fail(err, HL_E_SIGNATURE_MISMATCH,
                        "no signature in %s matches any of the %zu secret(s)", names->names[H_SIGNATURE],
                        v->n);

    if (result) {
        memset(result, 0, sizeof *result);
        result->timestamp = ts;
        result->secret_index = key;
        if (id)
            set_field(result->msg_id, sizeof result->msg_id, id, id_len);
        if (v->opts.parse_event) {
            hl_event_summary ev;
            if (hl_event_peek(body, body_len, &ev, NULL) == HL_OK) {
                result->has_event = 1;
                memcpy(result->event_id, ev.id, sizeof ev.id);
                memcpy(result->event_type, ev.type, sizeof ev.type);
                memcpy(result->created_at, ev.created_at, sizeof ev.created_at);
            }
        }
    }
    return HL_OK;
}

hl_code hl_verify(const hl_verify_options *opts, const hl_secret *const *secrets, size_t n_secrets,
                  int64_t now, const hl_header *headers, size_t n_headers, const void *body,
                  size_t body_len, hl_verify_result *result, hl_error *err)
{
    hl_verifier *v = NULL;
    hl_code rc = hl_verifier_new(&v, opts, secrets, n_secrets, err);
    if (rc != HL_OK)
        return rc;
    rc = hl_verifier_verify(v, now, headers, n_headers, body, body_len, result, err);
    hl_verifier_free(v);
    return rc;
}
