/* secret.c - parse, generate, format and wipe secrets. */
#include "secret_internal.h"

#include "codec.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

static const char *const SCHEME_NAMES[] = {"standard", "hookline", "stripe", "github"};

hl_code hl_scheme_from_name(hl_scheme *out, const char *name, size_t name_len)
{
    if (!out || (!name && name_len))
        return HL_E_INVALID_ARGUMENT;
    for (int i = 0; i < HL_SCHEME__SENTINEL; i++)
        if (hli_ascii_ieq(name, name_len, SCHEME_NAMES[i])) {
            *out = (hl_scheme)i;
            return HL_OK;
        }
    return HL_E_SCHEME_UNKNOWN;
}

const char *hl_scheme_name(int scheme)
{
    return scheme >= 0 && scheme < HL_SCHEME__SENTINEL ? SCHEME_NAMES[scheme] : "unknown";
}

static int has_prefix(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(s, prefix, n) == 0;
}

static hl_secret *secret_alloc(hl_secret_kind kind)
{
    hl_secret *s = calloc(1, sizeof *s);
    if (s)
        s->kind = kind;
    return s;
}

void hl_secret_free(hl_secret *secret)
{
    if (!secret)
        return;
    OPENSSL_cleanse(secret, sizeof *secret);
    free(secret);
}

void hli_secret_copy(struct hl_secret *dst, const struct hl_secret *src)
{
    memcpy(dst, src, sizeof *dst);
}

static hl_code hmac_secret(hl_secret **out, const unsigned char *key, size_t len, hl_error *err)
{
    hl_secret *s;
    if (len == 0)
        return hli_fail(err, HL_E_SECRET_MALFORMED, "secret decodes to zero bytes");
    if (len > HL_SECRET_BYTES_MAX)
        return hli_fail(err, HL_E_SECRET_MALFORMED, "secret is longer than %d bytes",
                        HL_SECRET_BYTES_MAX);
    if (!(s = secret_alloc(HL_KEY_HMAC)))
        return hli_fail(err, HL_E_NOMEM, "out of memory");
    memcpy(s->key, key, len);
    s->len = len;
    hli_hmac_key_init(&s->hmac, s->key, len);
    *out = s;
    return HL_OK;
}

hl_code hl_secret_from_bytes(hl_secret **out, const void *key, size_t len, hl_error *err)
{
    if (!out || (!key && len))
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "secret bytes missing");
    return hmac_secret(out, key, len, err);
}

/* whsk_: a 32-byte seed, or 64 bytes seed + public key (libsodium form). */
static hl_code ed25519_private(hl_secret **out, const unsigned char *raw, ssize_t len, hl_error *err)
{
    unsigned char pub[HLI_ED25519_KEY_LEN];
    hl_secret *s;
    hl_code rc;
    if (len != 32 && len != 64)
        return hli_fail(err, HL_E_SECRET_MALFORMED,
                        "whsk_ key must decode to 32 or 64 bytes, got %zd", len);
    if ((rc = hli_ed25519_public_from_seed(raw, pub, err)) != HL_OK)
        return rc;
    if (len == 64 && CRYPTO_memcmp(pub, raw + 32, 32) != 0)
        return hli_fail(err, HL_E_SECRET_MALFORMED,
                        "whsk_ key: its public half does not match its seed");
    if (!(s = secret_alloc(HL_KEY_ED25519_PRIVATE)))
        return hli_fail(err, HL_E_NOMEM, "out of memory");
    memcpy(s->key, raw, 32);
    s->len = 32;
    memcpy(s->pub, pub, sizeof pub);
    *out = s;
    return HL_OK;
}

static hl_code ed25519_public(hl_secret **out, const unsigned char *raw, ssize_t len, hl_error *err)
{
    hl_secret *s;
    if (len != 32)
        return hli_fail(err, HL_E_SECRET_MALFORMED, "whpk_ key must decode to 32 bytes, got %zd",
                        len);
    if (!(s = secret_alloc(HL_KEY_ED25519_PUBLIC)))
        return hli_fail(err, HL_E_NOMEM, "out of memory");
    memcpy(s->key, raw, 32);
    memcpy(s->pub, raw, 32);
    s->len = 32;
    *out = s;
    return HL_OK;
}

/* Rejections that apply to every encoding: catch the usual paste mistakes
 * with a message that says what is wrong. */
static hl_code check_text(const char *text, size_t len, hl_secret_encoding enc, hl_error *err)
{
    static const char *const SIG_PREFIXES[] = {"v1,", "v1a,", "v1=", "sha256=", "t="};
    if (len == 0)
        return hli_fail(err, HL_E_SECRET_MALFORMED, "secret is empty");
    if (len > HL_SECRET_TEXT_MAX)
        return hli_fail(err, HL_E_SECRET_MALFORMED, "secret text is longer than %d characters",
                        HL_SECRET_TEXT_MAX);
    for (size_t i = 0; i < sizeof SIG_PREFIXES / sizeof SIG_PREFIXES[0]; i++)
        if (has_prefix(text, len, SIG_PREFIXES[i]))
            return hli_fail(err, HL_E_SECRET_MALFORMED,
                            "secret starts with '%s', which belongs to a signature header, "
                            "not to the secret: remove it",
                            SIG_PREFIXES[i]);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == 0)
            return hli_fail(err, HL_E_SECRET_MALFORMED, "secret contains a NUL byte");
        /* Raw keys are text as the platform issued it: GitHub's own example
         * secret has spaces. A space at either end is still a paste slip. */
        if (c == ' ' && enc == HL_SECRET_RAW && i > 0 && i + 1 < len)
            continue;
        if (c <= ' ' || c == 0x7f)
            return hli_fail(err, HL_E_SECRET_MALFORMED,
                            "secret contains whitespace or a control character at offset %zu "
                            "(a pasted newline?)",
                            i);
        if (c >= 0x80 && enc != HL_SECRET_RAW)
            return hli_fail(err, HL_E_SECRET_MALFORMED,
                            "secret contains a non-ASCII byte at offset %zu", i);
    }
    return HL_OK;
}

static hl_code parse_hex(hl_secret **out, const char *text, size_t len, hl_error *err)
{
    unsigned char raw[HL_SECRET_BYTES_MAX];
    ssize_t n;
    hl_code rc;
    if (has_prefix(text, len, "whsec_") || has_prefix(text, len, "whsk_") ||
        has_prefix(text, len, "whpk_"))
        return hli_fail(err, HL_E_SECRET_MALFORMED,
                        "this looks like a Standard Webhooks secret (wh…_ prefix) but a hex "
                        "secret was expected: use the standard scheme or a hex secret");
    if (len % 2)
        return hli_fail(err, HL_E_SECRET_MALFORMED, "hex secret has an odd number of digits");
    if (len / 2 > HL_SECRET_BYTES_MAX)
        return hli_fail(err, HL_E_SECRET_MALFORMED, "secret is longer than %d bytes",
                        HL_SECRET_BYTES_MAX);
    if ((n = hli_hex_decode(raw, sizeof raw, text, len)) < 0)
        return hli_fail(err, HL_E_SECRET_MALFORMED, "hex secret contains a non-hex character");
    rc = hmac_secret(out, raw, (size_t)n, err);
    OPENSSL_cleanse(raw, sizeof raw);
    return rc;
}

/* Base64 forms, with the Standard Webhooks prefixes. */
static hl_code parse_base64(hl_secret **out, const char *text, size_t len, hl_error *err)
{
    unsigned char raw[HL_SECRET_BYTES_MAX];
    ssize_t n;
    hl_code rc;
    enum { HMAC, SK, PK } kind = HMAC;
    const char *what = "base64 secret";

    if (has_prefix(text, len, "whsec_")) {
        text += 6, len -= 6, what = "whsec_ secret";
        if (len == 0)
            return hli_fail(err, HL_E_SECRET_MALFORMED, "whsec_ secret has nothing after the prefix");
    } else if (has_prefix(text, len, "whsk_")) {
        text += 5, len -= 5, kind = SK, what = "whsk_ key";
    } else if (has_prefix(text, len, "whpk_")) {
        text += 5, len -= 5, kind = PK, what = "whpk_ key";
    }
    if (len == 0)
        return hli_fail(err, HL_E_SECRET_MALFORMED, "%s has nothing after the prefix", what);
    if ((n = hli_b64_decode(raw, sizeof raw, text, len)) < 0)
        return hli_fail(err, HL_E_SECRET_MALFORMED,
                        "%s is not valid base64 (or longer than %d bytes)", what,
                        HL_SECRET_BYTES_MAX);
    if (kind == SK)
        rc = ed25519_private(out, raw, n, err);
    else if (kind == PK)
        rc = ed25519_public(out, raw, n, err);
    else
        rc = hmac_secret(out, raw, (size_t)n, err);
    OPENSSL_cleanse(raw, sizeof raw);
    return rc;
}

hl_code hl_secret_parse(hl_secret **out, hl_scheme scheme, hl_secret_encoding encoding,
                        const char *text, size_t len, hl_error *err)
{
    hl_code rc;
    if (!out || (!text && len))
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "secret text missing");
    if ((unsigned)scheme >= HL_SCHEME__SENTINEL)
        return hli_fail(err, HL_E_SCHEME_UNKNOWN, "unknown signature scheme %d", (int)scheme);
    if ((unsigned)encoding >= HL_SECRET__SENTINEL)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "unknown secret encoding %d", (int)encoding);
    if (encoding == HL_SECRET_DEFAULT) {
        switch (scheme) {
        case HL_SCHEME_STANDARD:
            encoding = HL_SECRET_BASE64;
            break;
        case HL_SCHEME_HOOKLINE:
            encoding = HL_SECRET_HEX;
            break;
        default: /* stripe and github key HMAC with the text itself */
            encoding = HL_SECRET_RAW;
            break;
        }
    }
    if ((rc = check_text(text, len, encoding, err)) != HL_OK)
        return rc;
    switch (encoding) {
    case HL_SECRET_HEX:
        return parse_hex(out, text, len, err);
    case HL_SECRET_BASE64:
        return parse_base64(out, text, len, err);
    default:
        return hmac_secret(out, (const unsigned char *)text, len, err);
    }
}

hl_code hl_secret_generate(hl_secret **out, hl_scheme scheme, hl_error *err)
{
    unsigned char raw[HL_SECRET_GENERATED_BYTES];
    char text[6 + 2 * HL_SECRET_GENERATED_BYTES + 1];
    hl_code rc;
    if (!out)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "out is NULL");
    if ((unsigned)scheme >= HL_SCHEME__SENTINEL)
        return hli_fail(err, HL_E_SCHEME_UNKNOWN, "unknown signature scheme %d", (int)scheme);
    if (RAND_bytes(raw, sizeof raw) != 1)
        return hli_fail(err, HL_E_RANDOM, "the OS random generator failed");
    if (scheme == HL_SCHEME_STRIPE || scheme == HL_SCHEME_GITHUB) {
        /* These platforms key the HMAC with the secret's text. */
        memcpy(text, "whsec_", 6);
        hli_hex_encode(text + 6, sizeof text - 6, raw, sizeof raw);
        rc = hmac_secret(out, (const unsigned char *)text, strlen(text), err);
    } else {
        rc = hmac_secret(out, raw, sizeof raw, err);
    }
    OPENSSL_cleanse(raw, sizeof raw);
    OPENSSL_cleanse(text, sizeof text);
    return rc;
}

hl_code hl_keypair_generate(hl_secret **private_out, hl_secret **public_out, hl_error *err)
{
    unsigned char seed[HLI_ED25519_KEY_LEN];
    hl_secret *sk = NULL;
    hl_code rc;
    if (!private_out || !public_out)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "output pointer is NULL");
    if (RAND_bytes(seed, sizeof seed) != 1)
        return hli_fail(err, HL_E_RANDOM, "the OS random generator failed");
    rc = ed25519_private(&sk, seed, sizeof seed, err);
    OPENSSL_cleanse(seed, sizeof seed);
    if (rc != HL_OK)
        return rc;
    if ((rc = hl_secret_public(public_out, sk, err)) != HL_OK) {
        hl_secret_free(sk);
        return rc;
    }
    *private_out = sk;
    return HL_OK;
}

hl_code hl_secret_public(hl_secret **out, const hl_secret *secret, hl_error *err)
{
    if (!out || !secret)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "argument is NULL");
    if (secret->kind == HL_KEY_HMAC)
        return hli_fail(err, HL_E_KEY_KIND, "an HMAC secret has no public half");
    return ed25519_public(out, secret->pub, 32, err);
}

hl_secret_kind hl_secret_kind_of(const hl_secret *secret)
{
    return secret->kind;
}

/* Copy `prefix` + encoded bytes into buf, reporting the needed size. */
static hl_code emit(char *buf, size_t cap, size_t *len_out, const char *prefix,
                    const unsigned char *raw, size_t raw_len, int base64, hl_error *err)
{
    size_t plen = strlen(prefix);
    size_t need = plen + (base64 ? HLI_B64_LEN(raw_len) : HLI_HEX_LEN(raw_len));
    if (len_out)
        *len_out = need;
    if (!buf || cap < need + 1)
        return hli_fail(err, HL_E_BUFFER_TOO_SMALL, "secret text needs %zu bytes", need + 1);
    memcpy(buf, prefix, plen);
    if (base64)
        hli_b64_encode(buf + plen, cap - plen, raw, raw_len);
    else
        hli_hex_encode(buf + plen, cap - plen, raw, raw_len);
    return HL_OK;
}

hl_code hl_secret_format(const hl_secret *secret, hl_scheme scheme, char *buf, size_t cap,
                         size_t *len_out, hl_error *err)
{
    if (!secret)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "secret is NULL");
    if ((unsigned)scheme >= HL_SCHEME__SENTINEL)
        return hli_fail(err, HL_E_SCHEME_UNKNOWN, "unknown signature scheme %d", (int)scheme);
    if (secret->kind != HL_KEY_HMAC) {
        unsigned char both[64];
        hl_code rc;
        if (scheme != HL_SCHEME_STANDARD)
            return hli_fail(err, HL_E_KEY_KIND, "Ed25519 keys exist only in the standard scheme");
        if (secret->kind == HL_KEY_ED25519_PUBLIC)
            return emit(buf, cap, len_out, "whpk_", secret->pub, 32, 1, err);
        memcpy(both, secret->key, 32);
        memcpy(both + 32, secret->pub, 32);
        rc = emit(buf, cap, len_out, "whsk_", both, sizeof both, 1, err);
        OPENSSL_cleanse(both, sizeof both);
        return rc;
    }
    switch (scheme) {
    case HL_SCHEME_STANDARD:
        return emit(buf, cap, len_out, "whsec_", secret->key, secret->len, 1, err);
    case HL_SCHEME_HOOKLINE:
        return emit(buf, cap, len_out, "", secret->key, secret->len, 0, err);
    default:
        for (size_t i = 0; i < secret->len; i++)
            if (secret->key[i] <= ' ' || secret->key[i] >= 0x7f)
                return hli_fail(err, HL_E_KEY_KIND,
                                "this secret's bytes are not printable text, which the %s "
                                "scheme needs",
                                hl_scheme_name(scheme));
        if (len_out)
            *len_out = secret->len;
        if (!buf || cap < secret->len + 1)
            return hli_fail(err, HL_E_BUFFER_TOO_SMALL, "secret text needs %zu bytes",
                            secret->len + 1);
        memcpy(buf, secret->key, secret->len);
        buf[secret->len] = '\0';
        return HL_OK;
    }
}
