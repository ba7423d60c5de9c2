/*
 * hookline_lua.c - the `hookline` Lua module: opening it, and the
 * conversions between Lua values and the C API that every area shares.
 *
 * One source for Lua 5.4 and for LuaJIT / Lua 5.1 (see compat.h); the build
 * compiles it once per runtime. The module is not linked against liblua: the
 * interpreter that loads it provides the Lua API.
 */
#include "hookline_lua.h"

#include <openssl/crypto.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Each area adds its functions to the module table (see hookline_lua.h). */
static void (*const AREAS[])(lua_State *L) = {
    hll_open_signature,
    hll_open_ssrf,
    hll_open_dedupe,
    hll_open_engine,
    hll_open_worker,
};

#define HLL_SECRETS_MT "hookline.secrets"

/*** @area `hookline`: the module
 * `local hookline = require "hookline"` loads the C-API module (built once
 * for Lua 5.4 and once for LuaJIT; not linked against liblua). Fields:
 * `hookline._VERSION` and `hookline.version`, the C library's version
 * string (e.g. "0.1.0").
 *
 * Common argument shapes:
 *   body      a Lua string, the raw bytes exactly as sent or received
 *   secrets   a secret string ("whsec_...", "whsk_..." / "whpk_...", or raw
 *             bytes with secret_encoding = "raw") or an array of them (up to
 *             the library's maximum; several for rotation)
 *   headers   a table name -> value, names in any case, as
 *             ngx.req.get_headers() gives it; a value that is an array of
 *             strings is a header sent several times (rejected as
 *             "header_malformed" for signature headers)
 *   opts      nil or a table; an unknown type for a field is
 *             "invalid_argument" naming the field
 *   scheme    "standard" (default), "hookline", "stripe", "github"
 *   secret_encoding  "default" (the scheme's text form), "hex", "base64",
 *             "raw"
 *
 * Secrets are parsed into key material that is wiped when the call returns
 * (one-shot functions) or when the object is closed or collected; the Lua
 * strings you passed stay in Lua's heap until collected (Lua strings cannot
 * be wiped).
 *
 * Objects are userdata: use each from one Lua state (one coroutine at a
 * time); nothing here is shared between states.
 */

/* ------------------------------------------------------------- errors */

int hll_fail(lua_State *L, hl_code code, const char *message)
{
    lua_pushnil(L);
    lua_pushstring(L, message && message[0] ? message : hl_strerror(code));
    lua_pushstring(L, hl_code_name(code));
    return 3;
}

int hll_fail_err(lua_State *L, const hl_error *err)
{
    return hll_fail(L, err->code, err->message);
}

hl_code hll_set_error(hl_error *err, hl_code code, const char *fmt, ...)
{
    va_list ap;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return code;
}

/* ------------------------------------------------------------ classes */

void hll_new_class(lua_State *L, const char *name, const luaL_Reg *methods,
                   const luaL_Reg *meta)
{
    /* Reuse the metatable if the module is loaded twice into one state, so
     * objects made by the first load keep working. */
    luaL_newmetatable(L, name);
    luaL_setfuncs(L, meta, 0);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}

/* ------------------------------------------------------------ options */

/* Options are read raw: no metamethod can run (and raise) or hand back a
 * temporary string whose pointer would dangle once popped. */
static int opt_get(lua_State *L, int opts, const char *field)
{
    if (lua_isnoneornil(L, opts))
        return LUA_TNIL;
    lua_pushstring(L, field);
    lua_rawget(L, opts);
    return lua_type(L, -1);
}

hl_code hll_check_opts(lua_State *L, int opts, hl_error *err)
{
    if (lua_isnoneornil(L, opts) || lua_type(L, opts) == LUA_TTABLE)
        return HL_OK;
    return hll_set_error(err, HL_E_INVALID_ARGUMENT, "options must be a table, not a %s",
                         luaL_typename(L, opts));
}

hl_code hll_opt_int64(lua_State *L, int opts, const char *field, int64_t dflt, int64_t *out,
                      hl_error *err)
{
    int t = opt_get(L, opts, field);
    hl_code rc = HL_OK;
    if (t == LUA_TNIL)
        *out = dflt;
    else if (!hll_tointeger64(L, -1, out))
        rc = hll_set_error(err, HL_E_INVALID_ARGUMENT, "option '%s' must be an integer", field);
    if (!lua_isnoneornil(L, opts))
        lua_pop(L, 1);
    return rc;
}

hl_code hll_opt_now(lua_State *L, int opts, int64_t *out, hl_error *err)
{
    int t = opt_get(L, opts, "now");
    hl_code rc = HL_OK;
    if (t == LUA_TNIL)
        *out = (int64_t)time(NULL);
    else if (!hll_tointeger64(L, -1, out))
        rc = hll_set_error(err, HL_E_INVALID_ARGUMENT, "option '%s' must be an integer", "now");
    if (!lua_isnoneornil(L, opts))
        lua_pop(L, 1);
    return rc;
}

hl_code hll_opt_bool(lua_State *L, int opts, const char *field, int dflt, int *out,
                     hl_error *err)
{
    int t = opt_get(L, opts, field);
    hl_code rc = HL_OK;
    if (t == LUA_TNIL)
        *out = dflt;
    else if (t == LUA_TBOOLEAN)
        *out = lua_toboolean(L, -1);
    else
        rc = hll_set_error(err, HL_E_INVALID_ARGUMENT, "option '%s' must be a boolean", field);
    if (!lua_isnoneornil(L, opts))
        lua_pop(L, 1);
    return rc;
}

hl_code hll_opt_string(lua_State *L, int opts, const char *field, const char **out,
                       size_t *len, hl_error *err)
{
    int t = opt_get(L, opts, field);
    hl_code rc = HL_OK;
    *out = NULL;
    *len = 0;
    if (t == LUA_TSTRING)
        *out = lua_tolstring(L, -1, len); /* still referenced by opts */
    else if (t != LUA_TNIL)
        rc = hll_set_error(err, HL_E_INVALID_ARGUMENT, "option '%s' must be a string", field);
    if (!lua_isnoneornil(L, opts))
        lua_pop(L, 1);
    return rc;
}

hl_code hll_opt_scheme(lua_State *L, int opts, hl_scheme *out, hl_error *err)
{
    const char *name;
    size_t len;
    hl_code rc = hll_opt_string(L, opts, "scheme", &name, &len, err);
    if (rc != HL_OK)
        return rc;
    if (name == NULL) {
        *out = HL_SCHEME_STANDARD;
        return HL_OK;
    }
    if (hl_scheme_from_name(out, name, len) != HL_OK)
        return hll_set_error(err, HL_E_SCHEME_UNKNOWN,
                             "unknown scheme (expected standard, hookline, stripe or github)");
    return HL_OK;
}

hl_code hll_opt_secret_encoding(lua_State *L, int opts, hl_secret_encoding *out,
                                hl_error *err)
{
    static const char *const NAMES[] = {"default", "hex", "base64", "raw"};
    const char *name;
    size_t len, i;
    hl_code rc = hll_opt_string(L, opts, "secret_encoding", &name, &len, err);
    if (rc != HL_OK)
        return rc;
    *out = HL_SECRET_DEFAULT;
    if (name == NULL)
        return HL_OK;
    for (i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++) {
        if (len == strlen(NAMES[i]) && memcmp(name, NAMES[i], len) == 0) {
            *out = (hl_secret_encoding)i;
            return HL_OK;
        }
    }
    return hll_set_error(err, HL_E_INVALID_ARGUMENT,
                         "unknown secret_encoding (expected default, hex, base64 or raw)");
}

/* ------------------------------------------------------------ secrets */

void hll_secrets_clear(hll_secrets *box)
{
    size_t i;
    for (i = 0; i < HL_MAX_SECRETS; i++) {
        hl_secret_free(box->items[i]);
        box->items[i] = NULL;
    }
    box->count = 0;
    OPENSSL_cleanse(box->text, sizeof box->text);
}

static int secrets_gc(lua_State *L)
{
    hll_secrets_clear((hll_secrets *)luaL_checkudata(L, 1, HLL_SECRETS_MT));
    return 0;
}

hll_secrets *hll_secrets_new(lua_State *L)
{
    hll_secrets *box = (hll_secrets *)lua_newuserdata(L, sizeof *box);
    memset(box, 0, sizeof *box);
    luaL_setmetatable(L, HLL_SECRETS_MT);
    return box;
}

static hl_code parse_one(const char *text, size_t len, hl_scheme scheme,
                         hl_secret_encoding encoding, int position, hll_secrets *box,
                         hl_error *err)
{
    hl_error inner = HL_ERROR_INIT;
    hl_code rc = hl_secret_parse(&box->items[box->count], scheme, encoding, text, len, &inner);
    if (rc == HL_OK) {
        box->count++;
        return HL_OK;
    }
    if (position == 0) {
        *err = inner;
        return rc;
    }
    /* In a rotation list, say which secret is wrong (never what it is). */
    return hll_set_error(err, rc, "secret %d: %s", position,
                         inner.message[0] ? inner.message : hl_strerror(rc));
}

hl_code hll_secrets_parse(lua_State *L, int idx, hl_scheme scheme, hl_secret_encoding encoding,
                          hll_secrets *box, hl_error *err)
{
    const char *text;
    size_t len;
    int i;
    hl_code rc;

    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) == LUA_TSTRING) {
        text = lua_tolstring(L, idx, &len);
        return parse_one(text, len, scheme, encoding, 0, box, err);
    }
    if (lua_type(L, idx) != LUA_TTABLE)
        return hll_set_error(err, HL_E_INVALID_ARGUMENT,
                             "secret must be a string or a list of strings, not a %s",
                             luaL_typename(L, idx));
    for (i = 1;; i++) {
        lua_rawgeti(L, idx, i);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            break;
        }
        if (i > HL_MAX_SECRETS) {
            lua_pop(L, 1);
            return hll_set_error(err, HL_E_TOO_MANY, "at most %d secrets are allowed",
                                 HL_MAX_SECRETS);
        }
        if (lua_type(L, -1) != LUA_TSTRING) {
            rc = hll_set_error(err, HL_E_INVALID_ARGUMENT, "secret %d is a %s, not a string", i,
                               luaL_typename(L, -1));
            lua_pop(L, 1);
            return rc;
        }
        text = lua_tolstring(L, -1, &len); /* still referenced by the list */
        lua_pop(L, 1);
        rc = parse_one(text, len, scheme, encoding, i, box, err);
        if (rc != HL_OK)
            return rc;
    }
    if (box->count == 0)
        return hll_set_error(err, HL_E_INVALID_ARGUMENT, "the list of secrets is empty");
    return HL_OK;
}

/* ------------------------------------------------------------ headers */

/*
 * Visit every header value of the table at `idx`: call `visit` with the key
 * and each value (a string or number) on the stack top. Pass 1 counts,
 * pass 2 fills; both share this walk so they cannot disagree.
 */
struct header_walk {
    hl_header *array; /* NULL while counting */
    size_t count;
    int direct;       /* first pass filling `array` (of `cap`) while it can */
    size_t cap;
    int needs_anchor; /* a number value had to be converted */
    int anchor;       /* stack index of the table keeping conversions alive */
    int anchored;
};

static void header_add(lua_State *L, struct header_walk *w, int key)
{
    hl_header *h;
    if (w->direct) {
        /* One pass straight into the caller's array while every value is
         * a string and the array has room; otherwise count (the caller
         * then walks again with an array of the right size). */
        if (lua_type(L, -1) == LUA_TNUMBER || w->count == w->cap) {
            w->direct = 0;
            w->array = NULL; /* counting from here on */
            w->count++;
            return;
        }
        h = &w->array[w->count++];
        h->name = lua_tolstring(L, key, &h->name_len);
        h->value = lua_tolstring(L, -1, &h->value_len);
        return;
    }
    if (w->array == NULL) {
        if (lua_type(L, -1) == LUA_TNUMBER)
            w->needs_anchor = 1;
        w->count++;
        return;
    }
    h = &w->array[w->count++];
    h->name = lua_tolstring(L, key, &h->name_len);
    if (lua_type(L, -1) == LUA_TNUMBER) {
        /* lua_tolstring converts in place: convert a copy and keep it. */
        lua_pushvalue(L, -1);
        h->value = lua_tolstring(L, -1, &h->value_len);
        lua_rawseti(L, w->anchor, ++w->anchored);
    } else {
        h->value = lua_tolstring(L, -1, &h->value_len);
    }
}

static hl_code header_walk(lua_State *L, int idx, struct header_walk *w, hl_error *err)
{
    int top = lua_gettop(L), key, t, i;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        key = lua_gettop(L) - 1;
        if (lua_type(L, key) != LUA_TSTRING) {
            hll_set_error(err, HL_E_INVALID_ARGUMENT, "header names must be strings, not %s",
                          luaL_typename(L, key));
            lua_settop(L, top);
            return HL_E_INVALID_ARGUMENT;
        }
        t = lua_type(L, -1);
        if (t == LUA_TSTRING || t == LUA_TNUMBER) {
            header_add(L, w, key);
        } else if (t == LUA_TTABLE) {
            /* A repeated header (ngx.req.get_headers): one entry each. */
            for (i = 1;; i++) {
                lua_rawgeti(L, -1, i);
                t = lua_type(L, -1);
                if (t == LUA_TNIL) {
                    lua_pop(L, 1);
                    break;
                }
                if (t != LUA_TSTRING && t != LUA_TNUMBER) {
                    hll_set_error(err, HL_E_INVALID_ARGUMENT,
                                  "header values must be strings, not %s", lua_typename(L, t));
                    lua_settop(L, top);
                    return HL_E_INVALID_ARGUMENT;
                }
                header_add(L, w, key);
                lua_pop(L, 1);
            }
        } else {
            hll_set_error(err, HL_E_INVALID_ARGUMENT,
                          "header values must be strings or lists of strings, not %s",
                          lua_typename(L, t));
            lua_settop(L, top);
            return HL_E_INVALID_ARGUMENT;
        }
        lua_pop(L, 1);
    }
    return HL_OK;
}

hl_code hll_headers_from_table(lua_State *L, int idx, hl_header *stack, size_t stack_cap,
                               const hl_header **out, size_t *count, hl_error *err)
{
    struct header_walk w;
    size_t n;
    hl_code rc;

    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) != LUA_TTABLE)
        return hll_set_error(err, HL_E_INVALID_ARGUMENT, "headers must be a table, not a %s",
                             luaL_typename(L, idx));
    memset(&w, 0, sizeof w);
    /* The common case: string values that fit the caller's array, filled
     * in one walk; each points into a string the table holds. */
    w.direct = 1;
    w.array = stack;
    w.cap = stack_cap;
    rc = header_walk(L, idx, &w, err);
    if (rc != HL_OK)
        return rc;
    if (w.direct) {
        lua_pushnil(L); /* the same two slots as the general path pushes */
        lua_pushnil(L);
        *out = stack;
        *count = w.count;
        return HL_OK;
    }
    /* The direct fill stopped part way: count from scratch, then fill. */
    memset(&w, 0, sizeof w);
    rc = header_walk(L, idx, &w, err);
    if (rc != HL_OK)
        return rc;
    n = w.count;
    if (n > ((size_t)-1) / sizeof(hl_header) - 1)
        return hll_set_error(err, HL_E_NOMEM, "too many headers");

    /* The caller's array when it is big enough: no garbage per call. */
    if (n <= stack_cap) {
        w.array = stack;
        lua_pushnil(L);
    } else {
        w.array = (hl_header *)lua_newuserdata(L, (n ? n : 1) * sizeof(hl_header));
    }
    if (w.needs_anchor)
        lua_newtable(L);
    else
        lua_pushnil(L);
    w.anchor = lua_gettop(L);
    w.count = 0;
    rc = header_walk(L, idx, &w, err);
    if (rc != HL_OK)
        return rc;
    *out = w.array;
    *count = w.count;
    return HL_OK;
}

/* ------------------------------------------------------------- module */

int luaopen_hookline(lua_State *L)
{
    static const luaL_Reg secrets_meta[] = {{"__gc", secrets_gc}, {NULL, NULL}};
    static const luaL_Reg no_methods[] = {{NULL, NULL}};
    size_t i;

    hll_new_class(L, HLL_SECRETS_MT, no_methods, secrets_meta);

    lua_newtable(L);
    for (i = 0; i < sizeof AREAS / sizeof AREAS[0]; i++)
        AREAS[i](L);
    lua_pushstring(L, hl_version());
    lua_setfield(L, -2, "_VERSION");
    lua_pushstring(L, hl_version());
    lua_setfield(L, -2, "version");
    return 1;
}
