/*
 * ssrf_lua.c - hookline.check_url: the SSRF URL check of hookline/ssrf.h.
 *
 *   hookline.check_url(url, opts) -> normalised url | nil, message, code
 *
 * opts: allow_http (boolean), allow_ports (array of integers), allow_cidrs,
 * allow_hosts, deny_names (arrays of strings), resolve (boolean: resolve the
 * host with the system resolver and check every answer). resolve blocks on
 * DNS: never use it inside an nginx worker (check at registration time, in
 * the management application, instead).
 */
#include "hookline_lua.h"

#include "hookline/net.h"

#include <string.h>

/* Scratch owned by the Lua GC, so a Lua error cannot leak it. */
typedef struct url_scratch {
    uint16_t ports[HL_URL_LIST_MAX];
    const char *lists[3][HL_URL_LIST_MAX];
} url_scratch;

/* The array opts[field] of strings into `out`; pointers stay valid while
 * opts (which holds the strings) is on the stack. */
static hl_code read_strings(lua_State *L, int opts, const char *field, const char **out,
                            size_t *n, hl_error *err)
{
    size_t count, i;
    *n = 0;
    if (lua_isnoneornil(L, opts))
        return HL_OK;
    lua_pushstring(L, field);
    lua_rawget(L, opts);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return HL_OK;
    }
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        return hll_set_error(err, HL_E_INVALID_ARGUMENT, "option '%s' must be an array of strings",
                             field);
    }
    count = lua_rawlen(L, -1);
    if (count > HL_URL_LIST_MAX) {
        lua_pop(L, 1);
        return hll_set_error(err, HL_E_TOO_MANY, "option '%s' has more than %d entries", field,
                             HL_URL_LIST_MAX);
    }
    for (i = 0; i < count; i++) {
        size_t len;
        lua_rawgeti(L, -1, (int)i + 1);
        if (lua_type(L, -1) != LUA_TSTRING) {
            lua_pop(L, 2);
            return hll_set_error(err, HL_E_INVALID_ARGUMENT,
                                 "option '%s' must be an array of strings", field);
        }
        out[i] = lua_tolstring(L, -1, &len);
        lua_pop(L, 1); /* the table keeps the string alive */
        if (strlen(out[i]) != len) {
            lua_pop(L, 1);
            return hll_set_error(err, HL_E_INVALID_ARGUMENT, "option '%s' has a NUL byte", field);
        }
    }
    lua_pop(L, 1);
    *n = count;
    return HL_OK;
}

static hl_code read_ports(lua_State *L, int opts, uint16_t *out, size_t *n, int *given,
                          hl_error *err)
{
    size_t count, i;
    *n = 0;
    *given = 0;
    if (lua_isnoneornil(L, opts))
        return HL_OK;
    lua_pushstring(L, "allow_ports");
    lua_rawget(L, opts);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return HL_OK;
    }
    if (!lua_istable(L, -1) || (count = lua_rawlen(L, -1)) > HL_URL_LIST_MAX) {
        lua_pop(L, 1);
        return hll_set_error(err, HL_E_INVALID_ARGUMENT,
                             "option 'allow_ports' must be an array of at most %d ports",
                             HL_URL_LIST_MAX);
    }
    for (i = 0; i < count; i++) {
        lua_Number v;
        lua_rawgeti(L, -1, (int)i + 1);
        v = lua_tonumber(L, -1);
        if (lua_type(L, -1) != LUA_TNUMBER || v != (lua_Number)(int)v || v < 1 || v > 65535) {
            lua_pop(L, 2);
            return hll_set_error(err, HL_E_INVALID_ARGUMENT,
                                 "option 'allow_ports' must hold integers from 1 to 65535");
        }
        out[i] = (uint16_t)v;
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    *n = count;
    *given = 1;
    return HL_OK;
}

/*** @area `hookline`: SSRF URL check
 * Check an endpoint URL before storing or calling it (docs/security.md).
 */

/*** hookline.check_url(url [, opts]) -> url | nil, message, code
 * The normalised URL when it may be called, else nil, message, code.
 * The rules are the C library's (hl_url_check in c.md): https only unless
 * allow_http, no credentials in the URL, no private, loopback, link-local
 * or other special addresses, only the allowed ports.
 *   opts.allow_http   boolean: accept http:// too
 *   opts.allow_ports  array of integers 1-65535
 *   opts.allow_cidrs  array of CIDR strings let through despite the rules
 *   opts.allow_hosts  array of host names let through
 *   opts.deny_names   array of host names refused
 *   opts.resolve      boolean: resolve the host with the system resolver
 *                     and check every address (BLOCKS on DNS: never inside
 *                     an nginx worker)
 * Errors: the URL/SSRF codes ("url_malformed", "url_scheme_denied",
 * "url_userinfo", "url_port_denied", "url_name_denied", "address_denied",
 * "resolve_failed", ...) and "invalid_argument".
 */
static int l_check_url(lua_State *L)
{
    hl_error err = HL_ERROR_INIT;
    hl_url_options o = HL_URL_OPTIONS_INIT;
    hl_url_policy *policy = NULL;
    url_scratch *s;
    char normalized[HL_URL_NORMALIZED_MAX];
    const char *url;
    size_t url_len;
    int resolve = 0, ports_given = 0;
    hl_code rc;

    if (lua_type(L, 1) != LUA_TSTRING)
        return hll_fail(L, HL_E_INVALID_ARGUMENT, "url must be a string");
    url = lua_tolstring(L, 1, &url_len);
    if (memchr(url, '\0', url_len))
        return hll_fail(L, HL_E_URL_CONTROL_CHAR, "the URL contains a NUL character");
    lua_settop(L, 2);
    s = (url_scratch *)lua_newuserdata(L, sizeof *s); /* index 3 */
    if ((rc = hll_check_opts(L, 2, &err)) != HL_OK ||
        (rc = hll_opt_bool(L, 2, "allow_http", 0, &o.allow_http, &err)) != HL_OK ||
        (rc = hll_opt_bool(L, 2, "resolve", 0, &resolve, &err)) != HL_OK ||
        (rc = read_ports(L, 2, s->ports, &o.n_allow_ports, &ports_given, &err)) != HL_OK ||
        (rc = read_strings(L, 2, "allow_cidrs", s->lists[0], &o.n_allow_cidrs, &err)) != HL_OK ||
        (rc = read_strings(L, 2, "allow_hosts", s->lists[1], &o.n_allow_hosts, &err)) != HL_OK ||
        (rc = read_strings(L, 2, "deny_names", s->lists[2], &o.n_deny_names, &err)) != HL_OK)
        return hll_fail_err(L, &err);
    o.allow_ports = ports_given ? s->ports : NULL;
    o.allow_cidrs = s->lists[0];
    o.allow_hosts = s->lists[1];
    o.deny_names = s->lists[2];

    if ((rc = hl_url_policy_new(&policy, &o, &err)) != HL_OK)
        return hll_fail_err(L, &err);
    if (resolve) {
        hl_resolver resolver = hl_resolver_getaddrinfo();
        rc = hl_url_check_resolve(policy, &resolver, url, url_len, normalized, sizeof normalized,
                                  NULL, &err);
    } else {
        rc = hl_url_check(policy, url, url_len, normalized, sizeof normalized, NULL, &err);
    }
    hl_url_policy_free(policy);
    if (rc != HL_OK)
        return hll_fail_err(L, &err);
    lua_pushstring(L, normalized);
    return 1;
}

void hll_open_ssrf(lua_State *L)
{
    lua_pushcfunction(L, l_check_url);
    lua_setfield(L, -2, "check_url");
}
