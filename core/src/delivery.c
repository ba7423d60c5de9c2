/*
 * delivery.c - checking an endpoint's delivery options (hookline/delivery.h).
 * Pure: the secrets are parsed and a signer is built to prove they can
 * sign, but no file is opened and no URL fetched.
 */
#include "internal.h"

#include <string.h>

const char *hl_auth_kind_name(int kind)
{
    switch (kind) {
    case HL_AUTH_NONE:
        return "none";
    case HL_AUTH_BASIC:
        return "basic";
    case HL_AUTH_OAUTH2:
        return "oauth2";
    default:
        return "unknown";
    }
}

/* Headers the dispatcher writes itself, or that change how HTTP frames the
 * request: a custom value would fight ours or smuggle a second request. */
static const char *const RESERVED[] = {
    "content-type",       "content-length",      "content-encoding",   "transfer-encoding",
    "host",               "connection",          "keep-alive",         "te",
    "upgrade",            "expect",              "trailer",            "user-agent",
    "x-webhook-batch-id", "x-messagesystems-batch-id",
    "webhook-id",         "webhook-timestamp",   "webhook-signature",  "x-webhook-timestamp",
    "x-webhook-signature", "stripe-signature",   "x-hub-signature-256",
};

int hl_delivery_header_reserved(const char *name, size_t len, hl_auth_kind auth)
{
    if (name == NULL)
        return 0;
    for (size_t i = 0; i < sizeof RESERVED / sizeof RESERVED[0]; i++)
        if (hli_ascii_ieq(name, len, RESERVED[i]))
            return 1;
    if (len >= 6 && hli_ascii_ieq(name, 6, "proxy-"))
        return 1;
    return auth != HL_AUTH_NONE && hli_ascii_ieq(name, len, "authorization");
}

/* strlen that stops at `max` (strnlen is POSIX; the core is plain C11). */
static size_t bounded_len(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n] != '\0')
        n++;
    return n;
}

/* RFC 9110 5.6.2 tchar. */
static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A text field: NULL/"" counts as absent; present ones are bounded and free
 * of control bytes (a CR/LF in a credential ends up in a header line). */
static int present(const char *s)
{
    return s != NULL && s[0] != '\0';
}

static hl_code check_text(const char *field, const char *s, hl_error *err)
{
    size_t n;
    if (s == NULL)
        return HL_OK;
    n = bounded_len(s, HL_DELIVERY_TEXT_MAX + 1);
    if (n > HL_DELIVERY_TEXT_MAX)
        return hli_fail(err, HL_E_DELIVERY_INVALID, "%s is longer than %d bytes", field,
                        HL_DELIVERY_TEXT_MAX);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return hli_fail(err, HL_E_DELIVERY_INVALID,
                            "%s contains a control character (a pasted line break?)", field);
    }
    return HL_OK;
}

static hl_code must_be_absent(const char *field, const char *s, hl_auth_kind auth, hl_error *err)
{
    if (s != NULL)
        return hli_fail(err, HL_E_DELIVERY_INVALID, "%s is set but auth is %s", field,
                        hl_auth_kind_name(auth));
    return HL_OK;
}

static hl_code check_headers(const hl_delivery_options *o, hl_error *err)
{
    if (o->n_headers == 0)
        return HL_OK;
    if (o->n_headers > HL_DELIVERY_HEADERS_MAX)
        return hli_fail(err, HL_E_TOO_MANY, "%zu custom headers (at most %d)", o->n_headers,
                        HL_DELIVERY_HEADERS_MAX);
    if (o->header_names == NULL || o->header_values == NULL)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "n_headers is %zu but a header array is NULL",
                        o->n_headers);
    for (size_t i = 0; i < o->n_headers; i++) {
        const char *name = o->header_names[i], *value = o->header_values[i];
        size_t nlen, vlen;
        if (name == NULL || value == NULL)
            return hli_fail(err, HL_E_INVALID_ARGUMENT, "header %zu: NULL name or value", i);
        nlen = bounded_len(name, HL_DELIVERY_HEADER_NAME_MAX + 1);
        if (nlen == 0)
            return hli_fail(err, HL_E_DELIVERY_INVALID, "header %zu: empty name", i);
        if (nlen > HL_DELIVERY_HEADER_NAME_MAX)
            return hli_fail(err, HL_E_DELIVERY_INVALID, "header %zu: name longer than %d bytes",
                            i, HL_DELIVERY_HEADER_NAME_MAX);
        for (size_t k = 0; k < nlen; k++)
            if (!is_tchar((unsigned char)name[k]))
                return hli_fail(err, HL_E_DELIVERY_INVALID,
                                "header %zu: name has a character not allowed in a header "
                                "name at offset %zu",
                                i, k);
        if (hl_delivery_header_reserved(name, nlen, o->auth))
            return hli_fail(err, HL_E_DELIVERY_INVALID,
                            "header %zu (%s): hookline sets this header itself", i, name);
        for (size_t j = 0; j < i; j++)
            if (hli_ascii_ieq(name, nlen, o->header_names[j]))
                return hli_fail(err, HL_E_DELIVERY_INVALID, "header %zu (%s): repeated", i,
                                name);
        vlen = bounded_len(value, HL_DELIVERY_HEADER_VALUE_MAX + 1);
        if (vlen > HL_DELIVERY_HEADER_VALUE_MAX)
            return hli_fail(err, HL_E_DELIVERY_INVALID,
                            "header %zu (%s): value longer than %d bytes", i, name,
                            HL_DELIVERY_HEADER_VALUE_MAX);
        for (size_t k = 0; k < vlen; k++) {
            unsigned char c = (unsigned char)value[k];
            if (c == '\r' || c == '\n')
                return hli_fail(err, HL_E_DELIVERY_INVALID,
                                "header %zu (%s): value contains a line break", i, name);
            if ((c < 0x20 && c != '\t') || c >= 0x7f)
                return hli_fail(err, HL_E_DELIVERY_INVALID,
                                "header %zu (%s): value contains a control or non-ASCII byte "
                                "at offset %zu",
                                i, name, k);
        }
    }
    return HL_OK;
}

static hl_code check_secrets(const hl_delivery_options *o, hl_error *err)
{
    hl_secret *parsed[HL_MAX_SECRETS] = {0};
    const hl_secret *signing[HL_MAX_SECRETS];
    size_t n_signing = 0, n_forever = 0;
    hl_signer *signer = NULL;
    hl_code rc = HL_OK;

    if (o->n_secrets == 0 || o->secrets == NULL)
        return hli_fail(err, HL_E_DELIVERY_INVALID, "no signing secret (at least one is needed)");
    if (o->n_secrets > HL_MAX_SECRETS)
        return hli_fail(err, HL_E_TOO_MANY, "%zu secrets (at most %d)", o->n_secrets,
                        HL_MAX_SECRETS);
    for (size_t i = 0; i < o->n_secrets; i++)
        n_forever += o->secrets[i].not_after_ms == 0;
    if (n_forever == 0)
        return hli_fail(err, HL_E_DELIVERY_INVALID,
                        "every secret has an expiry: keep one without (not_after_ms 0)");
    if (o->scheme == HL_SCHEME_GITHUB && n_forever != 1)
        return hli_fail(err, HL_E_DELIVERY_INVALID,
                        "the github scheme signs with one secret: exactly one secret may be "
                        "without expiry (%zu are)",
                        n_forever);

    for (size_t i = 0; i < o->n_secrets && rc == HL_OK; i++) {
        const hl_delivery_secret *s = &o->secrets[i];
        hl_error perr = HL_ERROR_INIT;
        if (s->text == NULL) {
            rc = hli_fail(err, HL_E_INVALID_ARGUMENT, "secret %zu: text is NULL", i);
            break;
        }
        rc = hl_secret_parse(&parsed[i], o->scheme, s->encoding, s->text,
                             bounded_len(s->text, HL_SECRET_TEXT_MAX + 1), &perr);
        if (rc != HL_OK) {
            /* hl_secret_parse never quotes the secret; keep its reason. */
            hli_fail(err, rc, "secret %zu: %s", i, perr.message);
            break;
        }
        if (o->scheme != HL_SCHEME_GITHUB || s->not_after_ms == 0)
            signing[n_signing++] = parsed[i];
    }
    if (rc == HL_OK) {
        hl_error serr = HL_ERROR_INIT;
        rc = hl_signer_new(&signer, o->scheme, signing, n_signing, &serr);
        if (rc != HL_OK)
            hli_fail(err, rc, "secrets cannot sign for the %s scheme: %s",
                     hl_scheme_name(o->scheme), serr.message);
    }
    hl_signer_free(signer);
    for (size_t i = 0; i < o->n_secrets && i < HL_MAX_SECRETS; i++)
        hl_secret_free(parsed[i]);
    return rc;
}

static hl_code check_auth(const hl_delivery_options *o, hl_error *err)
{
    hl_code rc;
    const struct {
        const char *field;
        const char *value;
    } texts[] = {
        {"basic_user", o->basic_user},
        {"basic_password", o->basic_password},
        {"oauth2_token_url", o->oauth2_token_url},
        {"oauth2_client_id", o->oauth2_client_id},
        {"oauth2_client_secret", o->oauth2_client_secret},
        {"oauth2_scope", o->oauth2_scope},
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if ((rc = check_text(texts[i].field, texts[i].value, err)) != HL_OK)
            return rc;

    switch (o->auth) {
    case HL_AUTH_NONE:
        for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
            if ((rc = must_be_absent(texts[i].field, texts[i].value, o->auth, err)) != HL_OK)
                return rc;
        return HL_OK;
    case HL_AUTH_BASIC:
        if (!present(o->basic_user))
            return hli_fail(err, HL_E_DELIVERY_INVALID, "auth is basic but basic_user is empty");
        if (strchr(o->basic_user, ':') != NULL)
            return hli_fail(err, HL_E_DELIVERY_INVALID,
                            "basic_user contains ':' (not allowed in HTTP basic user names)");
        for (size_t i = 2; i < sizeof texts / sizeof texts[0]; i++)
            if ((rc = must_be_absent(texts[i].field, texts[i].value, o->auth, err)) != HL_OK)
                return rc;
        return HL_OK;
    case HL_AUTH_OAUTH2:
        for (size_t i = 0; i < 2; i++)
            if ((rc = must_be_absent(texts[i].field, texts[i].value, o->auth, err)) != HL_OK)
                return rc;
        if (!present(o->oauth2_token_url))
            return hli_fail(err, HL_E_DELIVERY_INVALID,
                            "auth is oauth2 but oauth2_token_url is empty");
        if (bounded_len(o->oauth2_token_url, HL_URL_MAX + 1) > HL_URL_MAX)
            return hli_fail(err, HL_E_DELIVERY_INVALID,
                            "oauth2_token_url is longer than %d bytes", HL_URL_MAX);
        if (strncmp(o->oauth2_token_url, "https://", 8) != 0 &&
            strncmp(o->oauth2_token_url, "http://", 7) != 0)
            return hli_fail(err, HL_E_DELIVERY_INVALID,
                            "oauth2_token_url must start with https:// (or http://)");
        if (!present(o->oauth2_client_id))
            return hli_fail(err, HL_E_DELIVERY_INVALID,
                            "auth is oauth2 but oauth2_client_id is empty");
        if (!present(o->oauth2_client_secret))
            return hli_fail(err, HL_E_DELIVERY_INVALID,
                            "auth is oauth2 but oauth2_client_secret is empty");
        if (strchr(o->oauth2_client_id, ':') != NULL)
            return hli_fail(err, HL_E_DELIVERY_INVALID,
                            "oauth2_client_id contains ':' (it is sent as an HTTP basic user)");
        return HL_OK;
    default:
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "auth %d is not an hl_auth_kind",
                        (int)o->auth);
    }
}

hl_code hl_delivery_options_check(const hl_delivery_options *opts, hl_error *err)
{
    hl_code rc;
    if (opts == NULL)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "delivery options are NULL");
    if (opts->version != HL_DELIVERY_OPTIONS_VERSION)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "delivery options version %u (expected %d)",
                        opts->version, HL_DELIVERY_OPTIONS_VERSION);
    if ((int)opts->scheme < 0 || opts->scheme >= HL_SCHEME__SENTINEL)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "scheme %d is not an hl_scheme",
                        (int)opts->scheme);
    if (opts->timeout_ms == 0 || opts->timeout_ms > HL_DELIVERY_TIMEOUT_MAX_MS)
        return hli_fail(err, HL_E_DELIVERY_INVALID, "timeout_ms must be 1..%u (is %llu)",
                        HL_DELIVERY_TIMEOUT_MAX_MS, (unsigned long long)opts->timeout_ms);
    if ((rc = check_text("tls_client_cert", opts->tls_client_cert, err)) != HL_OK ||
        (rc = check_text("tls_client_key", opts->tls_client_key, err)) != HL_OK)
        return rc;
    if (opts->tls_client_cert != NULL && opts->tls_client_cert[0] == '\0')
        return hli_fail(err, HL_E_DELIVERY_INVALID, "tls_client_cert is empty (use NULL)");
    if (opts->tls_client_key != NULL && !present(opts->tls_client_cert))
        return hli_fail(err, HL_E_DELIVERY_INVALID, "tls_client_key needs tls_client_cert");
    if (opts->tls_client_key != NULL && opts->tls_client_key[0] == '\0')
        return hli_fail(err, HL_E_DELIVERY_INVALID, "tls_client_key is empty (use NULL)");
    if ((rc = check_auth(opts, err)) != HL_OK || (rc = check_headers(opts, err)) != HL_OK)
        return rc;
    return check_secrets(opts, err);
}
