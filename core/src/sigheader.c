/* sigheader.c - strict parsers for signature headers. */
#include "sigheader.h"

#include "codec.h"

#include <string.h>

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static void trim(const char **s, size_t *len)
{
    while (*len > 0 && is_ows(**s))
        (*s)++, (*len)--;
    while (*len > 0 && is_ows((*s)[*len - 1]))
        (*len)--;
}

#define ONES UINT64_C(0x0101010101010101)

/* 1 when `v` may hold a byte below 0x20 or 0x7f (tabs included: the exact
 * loop then decides). Eight bytes at a time: this runs on every header a
 * verifier reads. Bytes at or above 0x80 never count. */
static int has_control(const char *v, size_t len)
{
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t x, low, del;
        memcpy(&x, v + i, 8);
        low = (x - ONES * 0x20) & ~x;   /* high bit: byte < 0x20 (or a borrow) */
        del = x ^ (ONES * 0x7f);
        del = (del - ONES) & ~del;      /* high bit: byte == 0x7f (or a borrow) */
        if ((low | del) & ONES * 0x80)
            return 1;
    }
    for (; i < len; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c == 0x7f)
            return 1;
    }
    return 0;
}

/* The checks every header value read passes: not too long, no control
 * byte (tabs aside), not empty once spaces and tabs are trimmed. */
static hl_code header_value(const hl_header *found, const char *name, const char **value,
                            size_t *value_len, hl_error *err)
{
    const char *v = found->value;
    size_t len = found->value ? found->value_len : 0;
    if (len > HLI_MAX_HEADER_VALUE)
        return hli_fail(err, HL_E_HEADER_MALFORMED, "header %s is longer than %d bytes", name,
                        HLI_MAX_HEADER_VALUE);
    if (has_control(v, len)) {
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)v[i];
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return hli_fail(err, HL_E_HEADER_MALFORMED,
                                "header %s contains a control byte at offset %zu", name, i);
        }
    }
    trim(&v, &len);
    if (len == 0)
        return hli_fail(err, HL_E_HEADER_MALFORMED, "header %s is empty", name);
    *value = v;
    *value_len = len;
    return HL_OK;
}

hl_code hli_header_find(const hl_header *headers, size_t n, const char *name, const char **value,
                        size_t *value_len, hl_error *err)
{
    const hl_header *found = NULL;
    size_t name_len = strlen(name);

    for (size_t i = 0; i < n; i++) {
        if (headers[i].name_len != name_len || !headers[i].name ||
            !hli_ascii_ieq(headers[i].name, name_len, name))
            continue;
        if (found)
            return hli_fail(err, HL_E_HEADER_MALFORMED,
                            "header %s appears more than once", name);
        found = &headers[i];
    }
    if (!found)
        return hli_fail(err, HL_E_HEADER_MISSING, "header %s is missing", name);
    return header_value(found, name, value, value_len, err);
}

hl_code hli_headers_find(const hl_header *headers, size_t n, const char *const names[3],
                         const size_t name_lens[3], const char *values[3], size_t value_lens[3],
                         hl_error *err)
{
    const hl_header *found[3] = {NULL, NULL, NULL};
    unsigned twice = 0;

    /* One walk over the request's headers for all the names (each header
     * is compared only with names of its length), then each name judged
     * in order exactly as hli_header_find would. */
    for (size_t i = 0; i < n; i++) {
        size_t len = headers[i].name_len;
        if (!headers[i].name)
            continue;
        for (int k = 0; k < 3; k++) {
            /* names[k] is lowercase without NUL: equal bytes are a match
             * (what most senders send), else the case-insensitive test. */
            if (!names[k] || name_lens[k] != len ||
                (memcmp(headers[i].name, names[k], len) != 0 &&
                 !hli_ascii_ieq(headers[i].name, len, names[k])))
                continue;
            twice |= (unsigned)(found[k] != NULL) << k;
            found[k] = &headers[i];
            break;
        }
    }
    for (int k = 0; k < 3; k++) {
        hl_code rc;
        values[k] = NULL;
        value_lens[k] = 0;
        if (!names[k])
            continue;
        if (twice >> k & 1)
            return hli_fail(err, HL_E_HEADER_MALFORMED, "header %s appears more than once",
                            names[k]);
        if (!found[k])
            return hli_fail(err, HL_E_HEADER_MISSING, "header %s is missing", names[k]);
        if ((rc = header_value(found[k], names[k], &values[k], &value_lens[k], err)) != HL_OK)
            return rc;
    }
    return HL_OK;
}

hl_code hli_parse_timestamp(const char *s, size_t len, int64_t *out, const char *what,
                            hl_error *err)
{
    int64_t v = 0;
    if (len == 0)
        return hli_fail(err, HL_E_HEADER_MALFORMED, "%s: timestamp is empty", what);
    if (len > 18)
        return hli_fail(err, HL_E_HEADER_MALFORMED, "%s: timestamp has more than 18 digits", what);
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return hli_fail(err, HL_E_HEADER_MALFORMED,
                            "%s: timestamp must be a plain non-negative integer of unix seconds",
                            what);
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return HL_OK;
}

static hl_code add_sig(hli_sig_list *out, int kind, const char *text, size_t len, int base64,
                       const char *what, hl_error *err)
{
    size_t want = kind == HLI_SIG_HMAC ? HLI_MAC_LEN : HLI_ED25519_SIG_LEN;
    ssize_t n;
    hli_sig *sig;
    if (out->count == HLI_MAX_SIGNATURES)
        return hli_fail(err, HL_E_HEADER_MALFORMED, "%s holds more than %d signatures", what,
                        HLI_MAX_SIGNATURES);
    sig = &out->sigs[out->count];
    n = base64 ? hli_b64_decode(sig->bytes, sizeof sig->bytes, text, len)
               : hli_hex_decode(sig->bytes, sizeof sig->bytes, text, len);
    if (n != (ssize_t)want)
        return hli_fail(err, HL_E_HEADER_MALFORMED, "%s: a signature is not %zu bytes of %s", what,
                        want, base64 ? "base64" : "hex");
    sig->kind = kind;
    out->count++;
    return HL_OK;
}

/* Calls `entry` for each `sep`-separated piece, skipping OWS around it.
 * Empty pieces are left to the callback to judge. */
typedef hl_code (*entry_fn)(hli_sig_list *out, const char *s, size_t len, hl_error *err);

static hl_code split(const char *value, size_t len, char sep, int skip_empty, entry_fn entry,
                     hli_sig_list *out, hl_error *err)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && value[i] != sep)
            continue;
        {
            const char *piece = value + start;
            size_t plen = i - start;
            hl_code rc;
            trim(&piece, &plen);
            start = i + 1;
            if (plen == 0 && skip_empty)
                continue;
            if ((rc = entry(out, piece, plen, err)) != HL_OK)
                return rc;
        }
    }
    return HL_OK;
}

static hl_code standard_entry(hli_sig_list *out, const char *s, size_t len, hl_error *err)
{
    const char *comma = memchr(s, ',', len);
    size_t vlen;
    if (!comma)
        return hli_fail(err, HL_E_HEADER_MALFORMED,
                        "webhook-signature: each entry must be <version>,<signature>");
    vlen = (size_t)(comma - s);
    if (vlen == 2 && memcmp(s, "v1", 2) == 0)
        return add_sig(out, HLI_SIG_HMAC, comma + 1, len - vlen - 1, 1, "webhook-signature", err);
    if (vlen == 3 && memcmp(s, "v1a", 3) == 0)
        return add_sig(out, HLI_SIG_ED25519, comma + 1, len - vlen - 1, 1, "webhook-signature",
                       err);
    if (vlen == 0)
        return hli_fail(err, HL_E_HEADER_MALFORMED, "webhook-signature: an entry has no version");
    return HL_OK; /* a version we do not know: skipped, as the spec asks */
}

static hl_code hookline_entry(hli_sig_list *out, const char *s, size_t len, hl_error *err)
{
    if (len == 0)
        return hli_fail(err, HL_E_HEADER_MALFORMED, "x-webhook-signature: empty entry");
    return add_sig(out, HLI_SIG_HMAC, s, len, 0, "x-webhook-signature", err);
}

static hl_code stripe_entry(hli_sig_list *out, const char *s, size_t len, hl_error *err)
{
    const char *eq = memchr(s, '=', len);
    size_t klen;
    hl_code rc;
    if (!eq)
        return hli_fail(err, HL_E_HEADER_MALFORMED,
                        "stripe-signature: each element must be <key>=<value>");
    klen = (size_t)(eq - s);
    if (klen == 1 && s[0] == 't') {
        int64_t ts;
        if (out->timestamp >= 0)
            return hli_fail(err, HL_E_HEADER_MALFORMED, "stripe-signature: t= appears twice");
        if ((rc = hli_parse_timestamp(eq + 1, len - 2, &ts, "stripe-signature", err)) != HL_OK)
            return rc;
        out->timestamp = ts;
        out->timestamp_text = eq + 1;
        out->timestamp_len = len - 2;
        return HL_OK;
    }
    if (klen == 2 && memcmp(s, "v1", 2) == 0)
        return add_sig(out, HLI_SIG_HMAC, eq + 1, len - 3, 0, "stripe-signature", err);
    if (klen == 0)
        return hli_fail(err, HL_E_HEADER_MALFORMED, "stripe-signature: an element has no key");
    return HL_OK; /* v0 and other keys are ignored, as Stripe's libraries do */
}

hl_code hli_parse_signatures(hl_scheme scheme, const char *value, size_t len, hli_sig_list *out,
                             hl_error *err)
{
    hl_code rc = HL_OK;
    out->count = 0;
    out->timestamp = -1;
    switch (scheme) {
    case HL_SCHEME_STANDARD:
        rc = split(value, len, ' ', 1, standard_entry, out, err);
        if (rc == HL_OK && out->count == 0)
            return hli_fail(err, HL_E_HEADER_MALFORMED,
                            "webhook-signature holds no v1 or v1a signature");
        return rc;
    case HL_SCHEME_HOOKLINE:
        return split(value, len, ',', 0, hookline_entry, out, err);
    case HL_SCHEME_STRIPE:
        rc = split(value, len, ',', 0, stripe_entry, out, err);
        if (rc != HL_OK)
            return rc;
        if (out->timestamp < 0)
            return hli_fail(err, HL_E_HEADER_MALFORMED, "stripe-signature has no t= timestamp");
        if (out->count == 0)
            return hli_fail(err, HL_E_HEADER_MALFORMED, "stripe-signature has no v1= signature");
        return HL_OK;
    case HL_SCHEME_GITHUB:
        if (len < 7 || memcmp(value, "sha256=", 7) != 0)
            return hli_fail(err, HL_E_HEADER_MALFORMED,
                            "x-hub-signature-256 must start with sha256=");
        return add_sig(out, HLI_SIG_HMAC, value + 7, len - 7, 0, "x-hub-signature-256", err);
    default:
        return hli_fail(err, HL_E_SCHEME_UNKNOWN, "unknown signature scheme %d", (int)scheme);
    }
}
