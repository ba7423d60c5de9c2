/*
 * ssrf_policy.c - the operator's SSRF policy (hl_url_options, checked and
 * copied once) and host-name patterns.
 */
#include "ssrf_internal.h"

#include <stdlib.h>
#include <string.h>

static uint16_t DEFAULT_PORTS[] = {443};

static const hl_url_policy DEFAULT_POLICY = {0, DEFAULT_PORTS, 1, NULL, 0, NULL, 0, NULL, 0};

const hl_url_policy *hli_url_policy_default(void)
{
    return &DEFAULT_POLICY;
}

/* Names no webhook may target, whatever they resolve to today. *.internal
 * is ICANN's private-use TLD and holds metadata.google.internal; *.local is
 * mDNS; *.home.arpa is RFC 8375 home networks. */
static char *const BUILTIN_DENIED[] = {
    "localhost", "*.localhost", "localhost.localdomain", "*.local",  "*.internal",
    "metadata.google.internal", "*.home.arpa", "metadata.goog",
};

int hli_name_matches(char *const *patterns, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++) {
        const char *p = patterns[i];
        size_t plen = strlen(p);
        if (plen >= 2 && p[0] == '*' && p[1] == '.') {
            /* "*.x" matches "a.x", "a.b.x", never "x" itself */
            size_t slen = plen - 1; /* ".x" */
            if (len > slen && memcmp(name + len - slen, p + 1, slen) == 0)
                return 1;
        } else if (plen == len && memcmp(p, name, len) == 0) {
            return 1;
        }
    }
    return 0;
}

const char *hli_builtin_denied_name(const char *name, size_t len)
{
    size_t n = sizeof BUILTIN_DENIED / sizeof BUILTIN_DENIED[0];
    for (size_t i = 0; i < n; i++)
        if (hli_name_matches(&BUILTIN_DENIED[i], 1, name, len))
            return BUILTIN_DENIED[i];
    return NULL;
}

/* A pattern: optional "*.", then letters, digits, '-', '_' and dots, no
 * empty label. Stored lowercase without a trailing dot. */
static hl_code copy_pattern(char **out, const char *list, const char *text, hl_error *err)
{
    if (!text)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "%s: NULL entry", list);
    size_t len = strlen(text);
    if (len && text[len - 1] == '.')
        len--;
    size_t start = (len >= 2 && text[0] == '*' && text[1] == '.') ? 2 : 0;
    if (len == start || len >= HL_HOST_MAX)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "%s: empty or too long name", list);
    char *copy = malloc(len + 1);
    if (!copy)
        return hli_fail(err, HL_E_NOMEM, "out of memory");
    char prev = '.';
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                 (c == '.' && prev != '.');
        if (i < start)
            ok = 1;
        if (!ok) {
            free(copy);
            return hli_fail(err, HL_E_INVALID_ARGUMENT, "%s: '%.64s' is not a host name pattern",
                            list, text);
        }
        copy[i] = c;
        prev = c;
    }
    copy[len] = '\0';
    *out = copy;
    return HL_OK;
}

static void free_names(char **names, size_t n)
{
    if (!names)
        return;
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static hl_code copy_names(char ***out, size_t *n_out, const char *list, const char *const *src,
                          size_t n, hl_error *err)
{
    *out = NULL;
    *n_out = 0;
    if (n == 0)
        return HL_OK;
    if (!src)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "%s: NULL list", list);
    char **names = calloc(n, sizeof *names);
    if (!names)
        return hli_fail(err, HL_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        hl_code rc = copy_pattern(&names[i], list, src[i], err);
        if (rc != HL_OK) {
            free_names(names, i);
            return rc;
        }
    }
    *out = names;
    *n_out = n;
    return HL_OK;
}

int hl_url_policy_allows_http(const hl_url_policy *policy)
{
    return policy ? policy->allow_http : 0;
}

void hl_url_policy_free(hl_url_policy *policy)
{
    if (!policy)
        return;
    free(policy->ports);
    free(policy->allow_cidrs);
    free_names(policy->allow_hosts, policy->n_allow_hosts);
    free_names(policy->deny_names, policy->n_deny_names);
    free(policy);
}

hl_code hl_url_policy_new(hl_url_policy **out, const hl_url_options *opts, hl_error *err)
{
    static const hl_url_options defaults = HL_URL_OPTIONS_INIT;
    hl_code rc;
    if (!out)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "policy: NULL output");
    if (!opts)
        opts = &defaults;
    if (opts->version != HL_URL_OPTIONS_VERSION)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "url options: unknown version %u",
                        opts->version);
    if (opts->n_allow_ports > HL_URL_LIST_MAX || opts->n_allow_cidrs > HL_URL_LIST_MAX ||
        opts->n_allow_hosts > HL_URL_LIST_MAX || opts->n_deny_names > HL_URL_LIST_MAX)
        return hli_fail(err, HL_E_TOO_MANY, "url options: more than %d entries in a list",
                        HL_URL_LIST_MAX);
    if ((opts->n_allow_ports && !opts->allow_ports) ||
        (opts->n_allow_cidrs && !opts->allow_cidrs))
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "url options: NULL list");

    hl_url_policy *p = calloc(1, sizeof *p);
    if (!p)
        return hli_fail(err, HL_E_NOMEM, "out of memory");
    p->allow_http = opts->allow_http != 0;

    size_t n_ports = opts->n_allow_ports ? opts->n_allow_ports : (p->allow_http ? 2 : 1);
    p->ports = calloc(n_ports, sizeof *p->ports);
    if (!p->ports) {
        hl_url_policy_free(p);
        return hli_fail(err, HL_E_NOMEM, "out of memory");
    }
    p->n_ports = n_ports;
    if (opts->n_allow_ports) {
        for (size_t i = 0; i < n_ports; i++) {
            if (opts->allow_ports[i] == 0) {
                hl_url_policy_free(p);
                return hli_fail(err, HL_E_INVALID_ARGUMENT, "allow_ports: port 0");
            }
            p->ports[i] = opts->allow_ports[i];
        }
    } else {
        p->ports[0] = 443;
        if (p->allow_http)
            p->ports[1] = 80;
    }

    if (opts->n_allow_cidrs) {
        p->allow_cidrs = calloc(opts->n_allow_cidrs, sizeof *p->allow_cidrs);
        if (!p->allow_cidrs) {
            hl_url_policy_free(p);
            return hli_fail(err, HL_E_NOMEM, "out of memory");
        }
        for (size_t i = 0; i < opts->n_allow_cidrs; i++) {
            const char *c = opts->allow_cidrs[i];
            rc = c ? hli_cidr_parse(&p->allow_cidrs[i], c, strlen(c), err)
                   : hli_fail(err, HL_E_INVALID_ARGUMENT, "allow_cidrs: NULL entry");
            if (rc != HL_OK) {
                hl_url_policy_free(p);
                return rc;
            }
        }
        p->n_allow_cidrs = opts->n_allow_cidrs;
    }

    rc = copy_names(&p->allow_hosts, &p->n_allow_hosts, "allow_hosts", opts->allow_hosts,
                    opts->n_allow_hosts, err);
    if (rc == HL_OK)
        rc = copy_names(&p->deny_names, &p->n_deny_names, "deny_names", opts->deny_names,
                        opts->n_deny_names, err);
    if (rc != HL_OK) {
        hl_url_policy_free(p);
        return rc;
    }
    *out = p;
    return HL_OK;
}
