/*
 * ssrf_curl.c - dispatch-time SSRF enforcement on a libcurl easy handle:
 * resolve once, check every answer, pin them, and check again the address
 * each connection actually uses.
 */
#define _POSIX_C_SOURCE 200809L
#include "hookline/ssrf_curl.h"

#include "hookline/net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct hl_curl_guard {
    CURL *easy;
    const hl_url_policy *policy; /* borrowed */
    hl_url_target target;        /* the checked URL and its pinned answers */
    struct curl_slist *resolve;  /* CURLOPT_RESOLVE list; curl keeps a pointer */
    hl_code blocked;             /* first block, HL_OK if none */
    char why[HL_ERROR_MESSAGE_MAX];
    size_t checked_len;          /* the URL handed to curl, checked with its answers */
    char checked[HL_URL_NORMALIZED_MAX];
};

static hl_code fail(hl_error *err, hl_code code, const char *msg)
{
    if (err) {
        err->code = code;
        snprintf(err->message, sizeof err->message, "%s", msg);
    }
    return code;
}

/* Record the first block; later ones are consequences of it. */
static void block(hl_curl_guard *g, hl_code code, const char *msg)
{
    if (g->blocked != HL_OK)
        return;
    g->blocked = code;
    snprintf(g->why, sizeof g->why, "%s", msg);
}

static int same_address(const hl_address *a, const hl_address *b)
{
    return a->family == b->family && memcmp(a->bytes, b->bytes, 16) == 0;
}

/* Host names equal but for one trailing dot (some curl versions drop it). */
static int same_host(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    if (na && a[na - 1] == '.')
        na--;
    if (nb && b[nb - 1] == '.')
        nb--;
    return na == nb && memcmp(a, b, na) == 0;
}

/*
 * May this connection go to `addr`:`port`? Runs in curl's callbacks, for
 * the URL curl is working on now (the original one or a redirect hop).
 * Returns HL_OK or the reason, with the message in `why`.
 */
static hl_code judge_connection(hl_curl_guard *g, const hl_address *addr, long port,
                                hl_error *why)
{
    const hl_url_target *t = &g->target;
    hl_url_target hop;
    char *current = NULL;
    if (curl_easy_getinfo(g->easy, CURLINFO_EFFECTIVE_URL, &current) == CURLE_OK && current &&
        *current &&
        /* the URL set on the handle was checked (and resolved, pinned) by
         * hl_curl_guard_new: checking the same bytes again says the same */
        !(strlen(current) == g->checked_len && memcmp(current, g->checked, g->checked_len) == 0)) {
        /* Every hop passes the URL rules: scheme, port, names, literals. */
        hl_error e = HL_ERROR_INIT;
        hl_code rc = hl_url_check(g->policy, current, strlen(current), NULL, 0, &hop, &e);
        if (rc != HL_OK) {
            why->code = rc;
            snprintf(why->message, sizeof why->message, "redirect target rejected: %.200s",
                     e.message);
            return rc;
        }
        if (!same_host(hop.host, t->host) || hop.port != t->port)
            t = &hop; /* a hop elsewhere: no pinned set, judge the address alone */
    }
    if (port >= 0 && port != t->port) {
        snprintf(why->message, sizeof why->message,
                 "connection to port %ld, not the URL's port %u", port, t->port);
        return why->code = HL_E_ADDRESS_UNPINNED;
    }
    if (t == &g->target || t->host_is_address) {
        /* Only the addresses that were checked and pinned. */
        int pinned = 0;
        for (size_t i = 0; i < t->n_addresses && !pinned; i++)
            pinned = same_address(&t->addresses[i], addr);
        if (!pinned) {
            char text[HL_ADDRESS_TEXT_MAX] = "?";
            (void)hl_address_format(addr, text, sizeof text, NULL);
            snprintf(why->message, sizeof why->message,
                     "connection to %s, which is not an address checked for %.100s", text,
                     t->host);
            return why->code = HL_E_ADDRESS_UNPINNED;
        }
    }
    if (t->host_is_allowed)
        return HL_OK;
    return hl_address_check(g->policy, addr, why);
}

static curl_socket_t open_socket(void *clientp, curlsocktype purpose,
                                 struct curl_sockaddr *address)
{
    hl_curl_guard *g = clientp;
    hl_error why = HL_ERROR_INIT;
    hl_address addr;
    if (g->blocked != HL_OK)
        return CURL_SOCKET_BAD;
    if (purpose != CURLSOCKTYPE_IPCXN) {
        block(g, HL_E_ADDRESS_UNPINNED, "unexpected socket type");
        return CURL_SOCKET_BAD;
    }
    if (hl_address_from_sockaddr(&addr, &address->addr, address->addrlen, NULL) != HL_OK) {
        block(g, HL_E_ADDRESS_UNPINNED, "connection to a non-IP address");
        return CURL_SOCKET_BAD;
    }
    /* The port is checked in the pre-request callback (curl reports it
     * there); here the address, before any packet leaves. */
    hl_code rc = judge_connection(g, &addr, -1, &why);
    if (rc != HL_OK) {
        block(g, rc, why.message);
        return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype, address->protocol);
}

static int prereq(void *clientp, char *conn_primary_ip, char *conn_local_ip,
                  int conn_primary_port, int conn_local_port)
{
    hl_curl_guard *g = clientp;
    hl_error why = HL_ERROR_INIT;
    hl_address addr;
    (void)conn_local_ip;
    (void)conn_local_port;
    if (g->blocked != HL_OK)
        return CURL_PREREQFUNC_ABORT;
    if (!conn_primary_ip ||
        hl_address_parse(&addr, conn_primary_ip, strlen(conn_primary_ip), NULL) != HL_OK) {
        block(g, HL_E_ADDRESS_UNPINNED, "connection to a non-IP address");
        return CURL_PREREQFUNC_ABORT;
    }
    hl_code rc = judge_connection(g, &addr, conn_primary_port, &why);
    if (rc != HL_OK) {
        block(g, rc, why.message);
        return CURL_PREREQFUNC_ABORT;
    }
    return CURL_PREREQFUNC_OK;
}

/* "host:port:addr1,[v6],..." for CURLOPT_RESOLVE. */
static hl_code pin_entry(const hl_url_target *t, char *buf, size_t cap)
{
    size_t used = (size_t)snprintf(buf, cap, "%s:%u:", t->host, t->port);
    for (size_t i = 0; i < t->n_addresses; i++) {
        char text[HL_ADDRESS_TEXT_MAX];
        if (hl_address_format(&t->addresses[i], text, sizeof text, NULL) != HL_OK)
            return HL_E_INVALID_ARGUMENT;
        int v6 = t->addresses[i].family == HL_FAMILY_IPV6;
        int n = snprintf(buf + used, cap - used, "%s%s%s%s", i ? "," : "", v6 ? "[" : "", text,
                         v6 ? "]" : "");
        if (n < 0 || (size_t)n >= cap - used)
            return HL_E_BUFFER_TOO_SMALL;
        used += (size_t)n;
    }
    return HL_OK;
}

void hl_curl_guard_free(hl_curl_guard *guard)
{
    if (!guard)
        return;
    curl_slist_free_all(guard->resolve);
    free(guard);
}

hl_code hl_curl_guard_new(hl_curl_guard **out, CURL *easy, const hl_url_policy *policy,
                          const hl_resolver *resolver, const char *url, size_t url_len,
                          const hl_curl_guard_options *opts, hl_error *err)
{
    static const hl_curl_guard_options defaults = HL_CURL_GUARD_OPTIONS_INIT;
    if (!out || !easy)
        return fail(err, HL_E_INVALID_ARGUMENT, "curl guard: NULL argument");
    *out = NULL;
    if (!opts)
        opts = &defaults;
    if (opts->version != HL_CURL_GUARD_OPTIONS_VERSION || opts->max_redirects < 0 ||
        opts->max_redirects > 20)
        return fail(err, HL_E_INVALID_ARGUMENT, "curl guard: bad options");
    hl_resolver system = hl_resolver_getaddrinfo();
    if (!resolver)
        resolver = &system;

    hl_curl_guard *g = calloc(1, sizeof *g);
    if (!g)
        return fail(err, HL_E_NOMEM, "out of memory");
    g->easy = easy;
    g->policy = policy;
    char normalized[HL_URL_NORMALIZED_MAX];
    hl_code rc = hl_url_check_resolve(policy, resolver, url, url_len, normalized,
                                      sizeof normalized, &g->target, err);
    if (rc != HL_OK) {
        hl_curl_guard_free(g);
        return rc;
    }
    g->checked_len = strlen(normalized);
    memcpy(g->checked, normalized, g->checked_len + 1);
    if (!g->target.host_is_address) {
        char entry[HL_HOST_MAX + 16 + HL_RESOLVE_MAX * (HL_ADDRESS_TEXT_MAX + 3)];
        struct curl_slist *more = NULL;
        int ok = pin_entry(&g->target, entry, sizeof entry) == HL_OK &&
                 (g->resolve = curl_slist_append(NULL, entry)) != NULL;
        /* Some curl versions look "name." up as "name": pin both spellings. */
        size_t n = strlen(g->target.host);
        if (ok && n > 1 && g->target.host[n - 1] == '.') {
            hl_url_target undotted = g->target;
            undotted.host[n - 1] = '\0';
            ok = pin_entry(&undotted, entry, sizeof entry) == HL_OK &&
                 (more = curl_slist_append(g->resolve, entry)) != NULL;
            if (more)
                g->resolve = more;
        }
        if (!ok) {
            hl_curl_guard_free(g);
            return fail(err, HL_E_NOMEM, "curl guard: cannot build the resolve list");
        }
    }
    /* Only what the policy allows; Debian's curl also speaks gopher, dict,
     * file, ldap... which a redirect could otherwise reach. */
    const char *protocols = hl_url_policy_allows_http(policy) ? "http,https" : "https";

    CURLcode cc = CURLE_OK;
#define SET(opt, val)                                                                            \
    do {                                                                                         \
        if (cc == CURLE_OK)                                                                      \
            cc = curl_easy_setopt(easy, opt, val);                                               \
    } while (0)
    SET(CURLOPT_URL, normalized);
    SET(CURLOPT_RESOLVE, g->resolve);
    SET(CURLOPT_PROTOCOLS_STR, protocols);
    SET(CURLOPT_REDIR_PROTOCOLS_STR, protocols);
    SET(CURLOPT_FOLLOWLOCATION, opts->follow_redirects ? 1L : 0L);
    SET(CURLOPT_MAXREDIRS, opts->max_redirects);
    SET(CURLOPT_PROXY, "");
    SET(CURLOPT_NOPROXY, "*");
    SET(CURLOPT_OPENSOCKETFUNCTION, open_socket);
    SET(CURLOPT_OPENSOCKETDATA, g);
    SET(CURLOPT_PREREQFUNCTION, prereq);
    SET(CURLOPT_PREREQDATA, g);
#undef SET
    if (cc != CURLE_OK) {
        /* Leave no pointer to the freed guard in the handle. */
        curl_easy_setopt(easy, CURLOPT_RESOLVE, NULL);
        curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, NULL);
        curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, NULL);
        curl_easy_setopt(easy, CURLOPT_PREREQFUNCTION, NULL);
        curl_easy_setopt(easy, CURLOPT_PREREQDATA, NULL);
        hl_curl_guard_free(g);
        char msg[HL_ERROR_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "curl guard: curl_easy_setopt failed: %s",
                 curl_easy_strerror(cc));
        return fail(err, HL_E_INVALID_ARGUMENT, msg);
    }
    *out = g;
    return HL_OK;
}

hl_code hl_curl_guard_blocked(const hl_curl_guard *guard, hl_error *err)
{
    if (!guard)
        return fail(err, HL_E_INVALID_ARGUMENT, "curl guard: NULL");
    if (guard->blocked != HL_OK)
        return fail(err, guard->blocked, guard->why);
    return HL_OK;
}

const hl_url_target *hl_curl_guard_target(const hl_curl_guard *guard)
{
    return guard ? &guard->target : NULL;
}
