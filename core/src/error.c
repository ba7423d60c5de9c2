/* error.c - code names, messages and the error report helpers. */
#include "internal.h"

#include <openssl/err.h>
#include <stdio.h>
#include <string.h>

struct code_text {
    int code;
    const char *name;
    const char *text;
};

/* One row per code; names are part of the stable API (Python .code, Lua). */
static const struct code_text CODES[] = {
    {HL_OK, "ok", "success"},
    {HL_E_INVALID_ARGUMENT, "invalid_argument", "invalid argument"},
    {HL_E_NOMEM, "nomem", "out of memory"},
    {HL_E_CRYPTO, "crypto", "cryptographic library failure"},
    {HL_E_BUFFER_TOO_SMALL, "buffer_too_small", "buffer too small"},
    {HL_E_TOO_MANY, "too_many", "too many items"},
    {HL_E_JSON, "json", "malformed JSON"},
    {HL_E_RANDOM, "random", "random number generator failure"},
    {HL_E_HEADER_MISSING, "header_missing", "signature header missing"},
    {HL_E_HEADER_MALFORMED, "header_malformed", "signature header malformed"},
    {HL_E_SECRET_MALFORMED, "secret_malformed", "secret malformed"},
    {HL_E_SIGNATURE_MISMATCH, "signature_mismatch", "no signature matches"},
    {HL_E_TIMESTAMP_TOO_OLD, "timestamp_too_old", "timestamp too old"},
    {HL_E_TIMESTAMP_IN_FUTURE, "timestamp_in_future", "timestamp in the future"},
    {HL_E_BODY_TOO_LARGE, "body_too_large", "body too large"},
    {HL_E_SCHEME_UNKNOWN, "scheme_unknown", "unknown signature scheme"},
    {HL_E_KEY_KIND, "key_kind", "secret of the wrong kind"},
    {HL_E_URL_MALFORMED, "url_malformed", "malformed URL"},
    {HL_E_URL_TOO_LONG, "url_too_long", "URL too long"},
    {HL_E_URL_CONTROL_CHAR, "url_control_char", "control character or space in URL"},
    {HL_E_URL_NOT_ASCII, "url_not_ascii", "non-ASCII character in URL"},
    {HL_E_URL_SCHEME_DENIED, "url_scheme_denied", "URL scheme not allowed"},
    {HL_E_URL_USERINFO, "url_userinfo", "credentials in URL not allowed"},
    {HL_E_URL_HOST_EMPTY, "url_host_empty", "URL has no host"},
    {HL_E_URL_HOST_TOO_LONG, "url_host_too_long", "URL host too long"},
    {HL_E_URL_HOST_INVALID, "url_host_invalid", "URL host invalid"},
    {HL_E_URL_ZONE_ID, "url_zone_id", "IPv6 zone id not allowed"},
    {HL_E_URL_PORT_DENIED, "url_port_denied", "URL port not allowed"},
    {HL_E_URL_NAME_DENIED, "url_name_denied", "host name not allowed"},
    {HL_E_ADDRESS_DENIED, "address_denied", "address not allowed"},
    {HL_E_RESOLVE_FAILED, "resolve_failed", "host name did not resolve"},
    {HL_E_ADDRESS_UNPINNED, "address_unpinned", "connection to an unchecked address"},
    {HL_E_EVENT_INVALID, "event_invalid", "event malformed"},
    {HL_E_EVENT_TOO_LARGE, "event_too_large", "event larger than the batch byte limit"},
    {HL_E_ENDPOINT_UNKNOWN, "endpoint_unknown", "no such endpoint"},
    {HL_E_ENDPOINT_EXISTS, "endpoint_exists", "endpoint already exists"},
    {HL_E_BATCH_UNKNOWN, "batch_unknown", "no such batch"},
    {HL_E_BATCH_STATE, "batch_state", "batch not in a state that allows this"},
    {HL_E_BATCH_EXISTS, "batch_exists", "batch already exists"},
    {HL_E_CALLBACK, "callback", "a callback failed"},
    {HL_E_STORE, "store", "the store failed"},
    {HL_E_ENGINE_FAILED, "engine_failed", "engine stopped after a store failure"},
    {HL_E_RETRY_AFTER, "retry_after", "Retry-After value malformed"},
    {HL_E_ENGINE_REENTERED, "engine_reentered", "engine changed from inside one of its callbacks"},
    {HL_E_STORE_FULL, "store_full", "store full"},
    {HL_E_STORE_IO, "store_io", "store I/O error"},
    {HL_E_STORE_CORRUPT, "store_corrupt", "store corrupt or not a store"},
    {HL_E_STORE_READONLY, "store_readonly", "store is read-only"},
    {HL_E_STORE_NO_SPACE, "store_no_space", "no space left for the store"},
    {HL_E_STORE_BUSY, "store_busy", "store locked by another handle"},
    {HL_E_STORE_SCHEMA, "store_schema", "store of an unsupported version"},
    {HL_E_CONFIG_UNKNOWN_FIELD, "config_unknown_field", "unknown configuration field"},
    {HL_E_CONFIG_TYPE, "config_type", "configuration value of the wrong type"},
    {HL_E_CONFIG_RANGE, "config_range", "configuration value out of range"},
    {HL_E_CONFIG_MISSING, "config_missing", "required configuration field missing"},
    {HL_E_ENDPOINT_TEST_FAILED, "endpoint_test_failed", "the endpoint test request got no 2xx"},
    {HL_E_STORE_UNAVAILABLE, "store_unavailable", "the database server is unreachable"},
    {HL_E_DELIVERY_INVALID, "delivery_invalid", "endpoint delivery options invalid"},
    {HL_E_TRANSPORT, "transport", "HTTP transport failure"},
    {HL_E_OAUTH2, "oauth2", "OAuth2 token request failed"},
    {HL_E_DRAINING, "draining", "dispatcher is draining"},
};

static const struct code_text *find_code(int code)
{
    for (size_t i = 0; i < sizeof CODES / sizeof CODES[0]; i++)
        if (CODES[i].code == code)
            return &CODES[i];
    return NULL;
}

const char *hl_code_name(int code)
{
    const struct code_text *c = find_code(code);
    return c ? c->name : "unknown";
}

const char *hl_strerror(int code)
{
    const struct code_text *c = find_code(code);
    return c ? c->text : "unknown error";
}

const char *hl_version(void)
{
    return HL_VERSION_STRING;
}

hl_code hli_fail(hl_error *err, hl_code code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

hl_code hli_fail_openssl(hl_error *err, const char *what)
{
    char reason[160] = "";
    unsigned long e;
    /* Drain the whole queue so a later, unrelated call does not see our
     * leftovers; keep the first (root) reason for the message. */
    while ((e = ERR_get_error()) != 0)
        if (reason[0] == '\0')
            ERR_error_string_n(e, reason, sizeof reason);
    if (reason[0])
        return hli_fail(err, HL_E_CRYPTO, "%s: %s", what, reason);
    return hli_fail(err, HL_E_CRYPTO, "%s failed", what);
}

int hli_ascii_ieq(const char *a, size_t a_len, const char *b)
{
    size_t i;
    /* Most senders already use the lowercase names we look for. */
    if (memchr(a, '\0', a_len) == NULL && strncmp(a, b, a_len) == 0 && b[a_len] == '\0')
        return 1;
    for (i = 0; i < a_len; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (y == '\0')
            return 0;
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y - 'A' + 'a');
        if (x != y)
            return 0;
    }
    return b[i] == '\0';
}
