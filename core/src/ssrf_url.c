/*
 * ssrf_url.c - the URL layer of the SSRF guard, and the registration check
 * (URL + resolution + every answer).
 *
 * The URL is parsed by libcurl's URL API because curl is what delivers it:
 * classifying what curl will connect to, not what the raw text looks like,
 * is what closes the parser-differential tricks (numeric IPv4 spellings,
 * percent-encoded hosts). A few raw-text rules come first, for input that
 * other parsers read differently from curl (backslashes, '@', slashes).
 * No network I/O happens here: curl_url only parses.
 */
#include "ssrf_internal.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Raw-text rules, applied before curl sees the URL. */
static hl_code check_raw(const hl_url_policy *policy, const char *url, size_t len, hl_error *err)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c <= 0x20 || c == 0x7f)
            return hli_fail(err, HL_E_URL_CONTROL_CHAR,
                            "the URL contains a %s at position %zu; remove it or percent-encode it",
                            c == ' ' ? "space" : "control character", i);
        if (c >= 0x80)
            return hli_fail(err, HL_E_URL_NOT_ASCII,
                            "the URL contains a non-ASCII character at position %zu; "
                            "percent-encode it (host names: use the punycode xn-- form)",
                            i);
        if (c == '\\')
            /* WHATWG parsers read '\' as '/', curl does not: "https://a.com\@10.0.0.1/"
             * is a.com to one and 10.0.0.1 to the other. */
            return hli_fail(err, HL_E_URL_MALFORMED,
                            "the URL contains a backslash at position %zu; "
                            "percent-encode it as %%5C",
                            i);
    }
    size_t i = 0;
    if (len == 0 || !((url[0] >= 'a' && url[0] <= 'z') || (url[0] >= 'A' && url[0] <= 'Z')))
        return hli_fail(err, HL_E_URL_MALFORMED, "the URL must start with https://");
    while (i < len && url[i] != ':') {
        char c = url[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '-' || c == '.'))
            return hli_fail(err, HL_E_URL_MALFORMED, "the URL must start with https://");
        i++;
    }
    if (i == len)
        return hli_fail(err, HL_E_URL_MALFORMED, "the URL must start with https://");
    /* The scheme first, so "file:///x" or "javascript:" say what is wrong. */
    if (!hli_ascii_ieq(url, i, "https") && !(policy->allow_http && hli_ascii_ieq(url, i, "http")))
        return hli_fail(err, HL_E_URL_SCHEME_DENIED, "the URL must use https://%s",
                        policy->allow_http ? " or http://" : "");
    if (len - i < 3 || memcmp(url + i, "://", 3) != 0)
        return hli_fail(err, HL_E_URL_MALFORMED,
                        "the URL must start with a scheme and two slashes, like https://");
    i += 3;
    if (i < len && url[i] == '/')
        return hli_fail(err, HL_E_URL_MALFORMED, "the URL has too many slashes after the scheme");
    /* Credentials: any '@' in the authority, even an empty "@host". */
    for (; i < len && url[i] != '/' && url[i] != '?' && url[i] != '#'; i++)
        if (url[i] == '@')
            return hli_fail(err, HL_E_URL_USERINFO,
                            "the URL must not contain a user name or password before the host");
    return HL_OK;
}

static hl_code from_curl_set(CURLUcode uc, hl_error *err)
{
    switch (uc) {
    case CURLUE_OUT_OF_MEMORY:
        return hli_fail(err, HL_E_NOMEM, "out of memory");
    case CURLUE_BAD_HOSTNAME:
    case CURLUE_BAD_IPV6:
        return hli_fail(err, HL_E_URL_HOST_INVALID,
                        "the URL's host is not a valid host name or address");
    case CURLUE_NO_HOST:
        return hli_fail(err, HL_E_URL_HOST_EMPTY, "the URL has no host");
    case CURLUE_BAD_PORT_NUMBER:
        return hli_fail(err, HL_E_URL_MALFORMED, "the URL's port is not a number from 1 to 65535");
    case CURLUE_BAD_LOGIN:
    case CURLUE_BAD_USER:
    case CURLUE_BAD_PASSWORD:
    case CURLUE_USER_NOT_ALLOWED:
        return hli_fail(err, HL_E_URL_USERINFO,
                        "the URL must not contain a user name or password before the host");
    default:
        return hli_fail(err, HL_E_URL_MALFORMED, "the URL cannot be parsed (%s)",
                        curl_url_strerror(uc));
    }
}

/* Letters, digits, '-', '_' in labels of 1-63; at most 253 in all. */
static hl_code check_name_shape(const char *name, size_t len, hl_error *err)
{
    if (len > 253)
        return hli_fail(err, HL_E_URL_HOST_TOO_LONG, "the host name is longer than 253 characters");
    size_t label = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || name[i] == '.') {
            if (label == 0)
                return hli_fail(err, HL_E_URL_HOST_INVALID, "the host name has an empty label");
            if (label > 63)
                return hli_fail(err, HL_E_URL_HOST_TOO_LONG,
                                "a label of the host name is longer than 63 characters");
            label = 0;
            continue;
        }
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return hli_fail(err, HL_E_URL_HOST_INVALID,
                            "the host name contains a character other than letters, digits, "
                            "'-', '_' and '.'");
        label++;
    }
    return HL_OK;
}

/*
 * Classify curl's host and fill target->host (canonical text),
 * host_is_address, host_is_allowed and the literal address.
 */
static hl_code classify_host(const hl_url_policy *policy, const char *host, hl_url_target *t,
                             hl_error *err)
{
    size_t len = strlen(host);
    if (len == 0)
        return hli_fail(err, HL_E_URL_HOST_EMPTY, "the URL has no host");
    if (host[0] == '[') {
        if (hl_address_parse(&t->addresses[0], host, len, NULL) != HL_OK ||
            t->addresses[0].family != HL_FAMILY_IPV6)
            return hli_fail(err, HL_E_URL_HOST_INVALID, "the URL's IPv6 address is not valid");
        t->host_is_address = 1;
        t->n_addresses = 1;
        return hl_address_format(&t->addresses[0], t->host, sizeof t->host, err);
    }
    if (len >= HL_HOST_MAX)
        return hli_fail(err, HL_E_URL_HOST_TOO_LONG, "the host name is longer than 253 characters");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)host[i];
        /* curl percent-decodes hosts: "%C2%AD" arrives here as raw bytes. */
        if (c >= 0x80)
            return hli_fail(err, HL_E_URL_NOT_ASCII,
                            "the host name must be ASCII; use the punycode (xn--) form");
        if (c <= 0x20 || c == 0x7f)
            return hli_fail(err, HL_E_URL_CONTROL_CHAR,
                            "the host name contains a control character or space");
        t->host[i] = (char)((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
    }
    t->host[len] = '\0';
    size_t n = len;
    if (t->host[n - 1] == '.')
        n--;
    if (n == 0)
        return hli_fail(err, HL_E_URL_HOST_EMPTY, "the URL has no host");

    if (hli_host_ends_in_number(t->host, n)) {
        /* What curl and browsers read as an IPv4 address, in any spelling. */
        uint8_t v4[4];
        if (!hli_ipv4_parse_loose(t->host, n, v4))
            return hli_fail(err, HL_E_URL_HOST_INVALID,
                            "the host looks like a numeric IPv4 address but is not a valid one");
        memset(&t->addresses[0], 0, sizeof t->addresses[0]);
        t->addresses[0].family = HL_FAMILY_IPV4;
        memcpy(t->addresses[0].bytes, v4, 4);
        t->host_is_address = 1;
        t->n_addresses = 1;
        return hl_address_format(&t->addresses[0], t->host, sizeof t->host, err);
    }

    hl_code rc = check_name_shape(t->host, n, err);
    if (rc != HL_OK)
        return rc;
    if (hli_name_matches(policy->allow_hosts, policy->n_allow_hosts, t->host, n)) {
        t->host_is_allowed = 1;
        return HL_OK;
    }
    if (!memchr(t->host, '.', n))
        return hli_fail(err, HL_E_URL_NAME_DENIED,
                        "the host '%.*s' is a single-label name; use a fully qualified public "
                        "domain name",
                        (int)(n > 64 ? 64 : n), t->host);
    if (hli_builtin_denied_name(t->host, n) ||
        hli_name_matches(policy->deny_names, policy->n_deny_names, t->host, n))
        return hli_fail(err, HL_E_URL_NAME_DENIED,
                        "the host '%.*s' is a local or internal name and cannot receive webhooks",
                        (int)(n > 128 ? 128 : n), t->host);
    return HL_OK;
}

static int port_allowed(const hl_url_policy *policy, unsigned long port)
{
    for (size_t i = 0; i < policy->n_ports; i++)
        if (policy->ports[i] == port)
            return 1;
    return 0;
}

/* Everything after the raw checks, with curl's parsed view of the URL. */
static hl_code check_parsed(const hl_url_policy *policy, CURLU *u, char *normalized, size_t cap,
                            hl_url_target *t, hl_error *err)
{
    char *part = NULL;
    hl_code rc;
    CURLUcode uc;

    if (curl_url_get(u, CURLUPART_SCHEME, &part, 0) != CURLUE_OK)
        return hli_fail(err, HL_E_URL_MALFORMED, "the URL has no scheme");
    int https = strcmp(part, "https") == 0, http = strcmp(part, "http") == 0;
    curl_free(part);
    if (!https && !(http && policy->allow_http))
        return hli_fail(err, HL_E_URL_SCHEME_DENIED, "the URL must use https://%s",
                        policy->allow_http ? " or http://" : "");
    strcpy(t->scheme, https ? "https" : "http");

    static const CURLUPart creds[] = {CURLUPART_USER, CURLUPART_PASSWORD, CURLUPART_OPTIONS};
    for (size_t i = 0; i < 3; i++) {
        part = NULL;
        uc = curl_url_get(u, creds[i], &part, 0);
        curl_free(part);
        if (uc == CURLUE_OK)
            return hli_fail(err, HL_E_URL_USERINFO,
                            "the URL must not contain a user name or password before the host");
    }

    part = NULL;
    uc = curl_url_get(u, CURLUPART_ZONEID, &part, 0);
    curl_free(part);
    if (uc == CURLUE_OK)
        return hli_fail(err, HL_E_URL_ZONE_ID,
                        "the URL's IPv6 address has a zone id (%%25...); zone ids are not allowed");

    part = NULL;
    uc = curl_url_get(u, CURLUPART_HOST, &part, 0);
    if (uc != CURLUE_OK) {
        curl_free(part);
        if (uc == CURLUE_OUT_OF_MEMORY)
            return hli_fail(err, HL_E_NOMEM, "out of memory");
        return hli_fail(err, HL_E_URL_HOST_EMPTY, "the URL has no host");
    }
    rc = classify_host(policy, part, t, err);
    curl_free(part);
    if (rc != HL_OK)
        return rc;

    part = NULL;
    if (curl_url_get(u, CURLUPART_PORT, &part, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        curl_free(part);
        return hli_fail(err, HL_E_URL_MALFORMED, "the URL has no port");
    }
    char *end = NULL;
    unsigned long port = strtoul(part, &end, 10);
    int bad = *end != '\0' || port == 0 || port > 65535;
    curl_free(part);
    if (bad || !port_allowed(policy, port))
        return hli_fail(err, HL_E_URL_PORT_DENIED, "port %lu is not allowed for webhook URLs%s",
                        port, policy->n_ports == 1 && policy->ports[0] == 443
                                  ? " (only 443, the https default)"
                                  : "");
    t->port = (uint16_t)port;

    if (t->host_is_address && !t->host_is_allowed) {
        rc = hl_address_check(policy, &t->addresses[0], err);
        if (rc != HL_OK)
            return rc;
    }

    /* Rebuild the URL from what was checked, so what is stored and
     * delivered to is exactly what passed. */
    char host[HL_HOST_MAX + 2];
    snprintf(host, sizeof host, t->host_is_address && t->addresses[0].family == HL_FAMILY_IPV6
                                    ? "[%s]"
                                    : "%s",
             t->host);
    int default_port = (https && port == 443) || (http && port == 80);
    if (curl_url_set(u, CURLUPART_HOST, host, 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) != CURLUE_OK ||
        (default_port && curl_url_set(u, CURLUPART_PORT, NULL, 0) != CURLUE_OK))
        return hli_fail(err, HL_E_URL_MALFORMED, "the URL cannot be normalised");
    part = NULL;
    if (curl_url_get(u, CURLUPART_URL, &part, 0) != CURLUE_OK) {
        curl_free(part);
        return hli_fail(err, HL_E_URL_MALFORMED, "the URL cannot be normalised");
    }
    size_t n = strlen(part);
    rc = HL_OK;
    if (n >= HL_URL_NORMALIZED_MAX)
        rc = hli_fail(err, HL_E_URL_TOO_LONG, "the URL is too long once normalised");
    else if (normalized && n >= cap)
        rc = hli_fail(err, HL_E_BUFFER_TOO_SMALL, "normalised URL buffer too small");
    else if (normalized)
        memcpy(normalized, part, n + 1);
    curl_free(part);
    return rc;
}

hl_code hl_url_check(const hl_url_policy *policy, const char *url, size_t url_len,
                     char *normalized, size_t cap, hl_url_target *target, hl_error *err)
{
    hl_url_target local;
    hl_url_target *t = target ? target : &local;
    if (!url && url_len)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "url: NULL");
    if (normalized == NULL && cap != 0)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "normalized: NULL with a capacity");
    if (!policy)
        policy = hli_url_policy_default();
    memset(t, 0, sizeof *t);
    if (url_len == 0)
        return hli_fail(err, HL_E_URL_MALFORMED, "the URL is empty");
    if (url_len > HL_URL_MAX)
        return hli_fail(err, HL_E_URL_TOO_LONG, "the URL is longer than %d bytes", HL_URL_MAX);
    hl_code rc = check_raw(policy, url, url_len, err);
    if (rc != HL_OK)
        return rc;

    char buf[HL_URL_MAX + 1];
    memcpy(buf, url, url_len);
    buf[url_len] = '\0';
    CURLU *u = curl_url();
    if (!u)
        return hli_fail(err, HL_E_NOMEM, "out of memory");
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, buf, CURLU_NON_SUPPORT_SCHEME);
    rc = uc == CURLUE_OK ? check_parsed(policy, u, normalized, cap, t, err)
                         : from_curl_set(uc, err);
    curl_url_cleanup(u);
    if (rc != HL_OK)
        memset(t, 0, sizeof *t);
    return rc;
}

hl_code hl_url_target_check_addresses(const hl_url_policy *policy, const hl_url_target *target,
                                      hl_error *err)
{
    if (!target || target->n_addresses > HL_RESOLVE_MAX)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "target: NULL or bad address count");
    if (target->host_is_allowed)
        return HL_OK;
    for (size_t i = 0; i < target->n_addresses; i++) {
        hl_error why = HL_ERROR_INIT;
        hl_code rc = hl_address_check(policy, &target->addresses[i], &why);
        if (rc != HL_OK) {
            if (target->host_is_address)
                return hli_fail(err, rc, "%s", why.message);
            return hli_fail(err, rc,
                            "the host %.100s resolves to an address that is not allowed: %s",
                            target->host, why.message);
        }
    }
    return HL_OK;
}

hl_code hl_url_check_resolve(const hl_url_policy *policy, const hl_resolver *resolver,
                             const char *url, size_t url_len, char *normalized, size_t cap,
                             hl_url_target *target, hl_error *err)
{
    hl_url_target local;
    hl_url_target *t = target ? target : &local;
    if (!resolver || !resolver->resolve)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "resolver: NULL");
    hl_code rc = hl_url_check(policy, url, url_len, normalized, cap, t, err);
    if (rc != HL_OK || t->host_is_address)
        return rc;

    size_t n = 0;
    hl_error why = HL_ERROR_INIT;
    rc = resolver->resolve(resolver->user, t->host, t->addresses, HL_RESOLVE_MAX, &n, &why);
    if (rc == HL_E_TOO_MANY || (rc == HL_OK && n > HL_RESOLVE_MAX))
        rc = hli_fail(err, HL_E_RESOLVE_FAILED,
                      "the host %.100s resolves to more than %d addresses", t->host,
                      HL_RESOLVE_MAX);
    else if (rc != HL_OK)
        rc = hli_fail(err, HL_E_RESOLVE_FAILED, "the host %.100s could not be resolved%s%.120s",
                      t->host, why.message[0] ? ": " : "", why.message);
    else if (n == 0)
        rc = hli_fail(err, HL_E_RESOLVE_FAILED, "the host %.100s has no addresses", t->host);
    if (rc == HL_OK) {
        t->n_addresses = n;
        rc = hl_url_target_check_addresses(policy, t, err);
    }
    if (rc != HL_OK)
        memset(t, 0, sizeof *t);
    return rc;
}
