/*
 * signature_lua.c - hookline.sign / verify / signer / verifier and secret
 * generation: Lua values in, the C calls of hookline/signature.h, Lua values
 * out. Policy (tolerance, schemes, header rules) is the core's.
 */
#include "hookline_lua.h"

#include <openssl/crypto.h>

#include <string.h>
#include <time.h>

#define VERIFIER_MT "hookline.verifier"
#define SIGNER_MT "hookline.signer"

typedef struct verifier_ud {
    hl_verifier *verifier; /* NULL once closed */
} verifier_ud;

typedef struct signer_ud {
    hl_signer *signer; /* NULL once closed */
    hl_scheme scheme;
} signer_ud;

static hl_code check_body(lua_State *L, int idx, const char **body, size_t *len, hl_error *err)
{
    if (lua_type(L, idx) != LUA_TSTRING)
        return hll_set_error(err, HL_E_INVALID_ARGUMENT, "body must be a string, not a %s",
                             luaL_typename(L, idx));
    *body = lua_tolstring(L, idx, len);
    return HL_OK;
}

/* ------------------------------------------------------------------ sign */

struct sign_args {
    const char *msg_id; /* NUL-terminated; NULL when the scheme has none */
    int64_t timestamp;
    char generated_id[HL_ID_MAX];
};

/* opts.msg_id (generated for the standard scheme when absent) and
 * opts.timestamp (the clock when absent). */
static hl_code read_sign_opts(lua_State *L, int opts, hl_scheme scheme, struct sign_args *a,
                              hl_error *err)
{
    size_t len;
    hl_code rc = hll_opt_string(L, opts, "msg_id", &a->msg_id, &len, err);
    if (rc != HL_OK)
        return rc;
    if (a->msg_id != NULL && strlen(a->msg_id) != len)
        return hll_set_error(err, HL_E_INVALID_ARGUMENT, "msg_id contains a NUL byte");
    if (a->msg_id == NULL && scheme == HL_SCHEME_STANDARD) {
        rc = hl_generate_id(a->generated_id, sizeof a->generated_id, NULL, err);
        if (rc != HL_OK)
            return rc;
        a->msg_id = a->generated_id;
    }
    return hll_opt_int64(L, opts, "timestamp", (int64_t)time(NULL), &a->timestamp, err);
}

static int push_signed(lua_State *L, const hl_signed *s)
{
    size_t i;
    lua_createtable(L, 0, (int)s->count);
    for (i = 0; i < s->count && i < HL_SIGNED_MAX_HEADERS; i++) {
        lua_pushstring(L, s->headers[i].value);
        lua_setfield(L, -2, s->headers[i].name);
    }
    return 1;
}

/*** @area `hookline`: signatures
 * Sign requests (sender) and verify them (receiver) with the schemes of
 * docs/signatures.md. One-shot functions parse the secrets on every call;
 * `hookline.signer` / `hookline.verifier` keep keyed state for many calls.
 */

/*** hookline.sign(body, secrets [, opts]) -> headers | nil, message, code
 * Sign `body` once: returns a table of lowercase header name -> value to send
 * with it (standard scheme: webhook-id, webhook-timestamp,
 * webhook-signature). With several secrets, one signature per secret.
 *   opts.scheme           signature scheme (default "standard")
 *   opts.secret_encoding  how the secret strings are written
 *   opts.msg_id           message id (standard: generated when absent)
 *   opts.timestamp        Unix seconds (default: the clock)
 * Errors: "invalid_argument" (body not a string, bad option), "scheme_unknown",
 * "secret_malformed" (a secret that does not parse), "too_many".
 */
static int l_sign(lua_State *L)
{
    hl_error err = HL_ERROR_INIT;
    const char *body;
    size_t body_len;
    hl_scheme scheme;
    hl_secret_encoding encoding;
    struct sign_args a;
    hl_signed out;
    hll_secrets *box;
    hl_code rc;

    lua_settop(L, 3); /* fixed slots: nothing pushed later can pose as an argument */

    if (check_body(L, 1, &body, &body_len, &err) != HL_OK ||
        hll_check_opts(L, 3, &err) != HL_OK || hll_opt_scheme(L, 3, &scheme, &err) != HL_OK ||
        hll_opt_secret_encoding(L, 3, &encoding, &err) != HL_OK ||
        read_sign_opts(L, 3, scheme, &a, &err) != HL_OK)
        return hll_fail_err(L, &err);

    box = hll_secrets_new(L);
    rc = hll_secrets_parse(L, 2, scheme, encoding, box, &err);
    if (rc == HL_OK)
        rc = hl_sign(scheme, (const hl_secret *const *)box->items, box->count, a.msg_id,
                     a.timestamp, body, body_len, &out, &err);
    hll_secrets_clear(box);
    if (rc != HL_OK)
        return hll_fail_err(L, &err);
    return push_signed(L, &out);
}

/*** hookline.signer(secrets [, opts]) -> signer | nil, message, code
 * Reusable signing state (the secrets parsed once) for a sender or a
 * gateway that signs many bodies. opts: scheme, secret_encoding. Errors as
 * hookline.sign. The key material is wiped by `signer:close()` or at
 * collection.
 */
static int l_signer(lua_State *L)
{
    hl_error err = HL_ERROR_INIT;
    hl_secret_encoding encoding;
    signer_ud *ud;
    hll_secrets *box;
    hl_code rc;
    int self;

    lua_settop(L, 2); /* fixed slots: nothing pushed later can pose as an argument */

    ud = (signer_ud *)lua_newuserdata(L, sizeof *ud);
    ud->signer = NULL;
    ud->scheme = HL_SCHEME_STANDARD;
    luaL_setmetatable(L, SIGNER_MT);
    self = lua_gettop(L);

    if (hll_check_opts(L, 2, &err) != HL_OK || hll_opt_scheme(L, 2, &ud->scheme, &err) != HL_OK ||
        hll_opt_secret_encoding(L, 2, &encoding, &err) != HL_OK)
        return hll_fail_err(L, &err);

    box = hll_secrets_new(L);
    rc = hll_secrets_parse(L, 1, ud->scheme, encoding, box, &err);
    if (rc == HL_OK)
        rc = hl_signer_new(&ud->signer, ud->scheme, (const hl_secret *const *)box->items,
                           box->count, &err);
    hll_secrets_clear(box);
    if (rc != HL_OK)
        return hll_fail_err(L, &err);
    lua_pushvalue(L, self);
    return 1;
}

/*** signer:sign(body [, opts]) -> headers | nil, message, code
 * The headers for `body` (as hookline.sign). opts.msg_id (standard scheme:
 * generated when absent), opts.timestamp (Unix seconds, default the clock).
 * A closed signer answers nil, message, "invalid_argument".
 */
static int signer_sign(lua_State *L)
{
    signer_ud *ud = (signer_ud *)luaL_checkudata(L, 1, SIGNER_MT);
    hl_error err = HL_ERROR_INIT;
    const char *body;
    size_t body_len;
    struct sign_args a;
    hl_signed out;

    lua_settop(L, 3); /* fixed slots: nothing pushed later can pose as an argument */

    if (ud->signer == NULL)
        return hll_fail(L, HL_E_INVALID_ARGUMENT, "signer is closed");
    if (check_body(L, 2, &body, &body_len, &err) != HL_OK ||
        hll_check_opts(L, 3, &err) != HL_OK ||
        read_sign_opts(L, 3, ud->scheme, &a, &err) != HL_OK ||
        hl_signer_sign(ud->signer, a.msg_id, a.timestamp, body, body_len, &out, &err) != HL_OK)
        return hll_fail_err(L, &err);
    return push_signed(L, &out);
}

/*** signer:close()
 * Wipe and free the key material now instead of at collection. Idempotent;
 * also run by `__close` (Lua 5.4 `local s <close>`) and `__gc`.
 */
static int signer_close(lua_State *L)
{
    signer_ud *ud = (signer_ud *)luaL_checkudata(L, 1, SIGNER_MT);
    hl_signer_free(ud->signer);
    ud->signer = NULL;
    return 0;
}

static int signer_tostring(lua_State *L)
{
    signer_ud *ud = (signer_ud *)luaL_checkudata(L, 1, SIGNER_MT);
    if (ud->signer == NULL)
        lua_pushstring(L, "hookline.signer (closed)");
    else
        lua_pushfstring(L, "hookline.signer (%s, %p)", hl_scheme_name(ud->scheme),
                        (void *)ud);
    return 1;
}

/* ---------------------------------------------------------------- verify */

/* opts.scheme, tolerance, max_body, parse_event, secret_encoding. */
static hl_code read_verify_opts(lua_State *L, int opts, hl_verify_options *o,
                                hl_secret_encoding *encoding, hl_error *err)
{
    hl_verify_options dflt = HL_VERIFY_OPTIONS_INIT;
    int64_t max_body;
    hl_code rc;

    *o = dflt;
    if ((rc = hll_check_opts(L, opts, err)) != HL_OK ||
        (rc = hll_opt_scheme(L, opts, &o->scheme, err)) != HL_OK ||
        (rc = hll_opt_secret_encoding(L, opts, encoding, err)) != HL_OK ||
        (rc = hll_opt_int64(L, opts, "tolerance", o->tolerance, &o->tolerance, err)) != HL_OK ||
        (rc = hll_opt_int64(L, opts, "max_body", (int64_t)o->max_body, &max_body, err)) !=
            HL_OK ||
        (rc = hll_opt_bool(L, opts, "parse_event", o->parse_event, &o->parse_event, err)) !=
            HL_OK)
        return rc;
    if (max_body < 0)
        return hll_set_error(err, HL_E_INVALID_ARGUMENT,
                             "option 'max_body' must not be negative");
    o->max_body = (size_t)max_body;
    return HL_OK;
}

/* Fields that are absent (no msg_id, no timestamp for github, no event)
 * are left nil rather than set to "" or -1. */
static int push_result(lua_State *L, const hl_verify_result *r)
{
    lua_createtable(L, 0, 6);
    if (r->msg_id[0]) {
        lua_pushstring(L, r->msg_id);
        lua_setfield(L, -2, "msg_id");
    }
    if (r->timestamp >= 0) {
#if LUA_VERSION_NUM >= 503
        lua_pushinteger(L, (lua_Integer)r->timestamp);
#else
        lua_pushnumber(L, (lua_Number)r->timestamp); /* exact below 2^53 */
#endif
        lua_setfield(L, -2, "timestamp");
    }
    lua_pushinteger(L, (lua_Integer)r->secret_index + 1);
    lua_setfield(L, -2, "secret_index");
    if (r->has_event) {
        if (r->event_id[0]) {
            lua_pushstring(L, r->event_id);
            lua_setfield(L, -2, "event_id");
        }
        if (r->event_type[0]) {
            lua_pushstring(L, r->event_type);
            lua_setfield(L, -2, "event_type");
        }
        if (r->created_at[0]) {
            lua_pushstring(L, r->created_at);
            lua_setfield(L, -2, "created_at");
        }
    }
    return 1;
}

/*** hookline.verify(body, headers, secrets [, opts]) -> result | nil, message, code
 * Verify one request against its headers. Returns a table:
 *   msg_id        the message id header (nil when the scheme has none)
 *   timestamp     the signed Unix time (nil for github)
 *   secret_index  1-based index of the secret that matched
 *   event_id, event_type, created_at  read from a JSON body (nil if absent,
 *                 or when opts.parse_event is false)
 * opts: scheme, secret_encoding, tolerance (seconds either side of now,
 * default 300), max_body (bytes, default 16 MiB), parse_event (default
 * true), now (Unix seconds, default the clock).
 * Errors (the code is the third value): "header_missing", "header_malformed"
 * (also a signature header sent twice), "signature_mismatch",
 * "timestamp_too_old", "timestamp_in_future", "body_too_large",
 * "secret_malformed", "scheme_unknown", "invalid_argument".
 */
static int l_verify(lua_State *L)
{
    hl_error err = HL_ERROR_INIT;
    hl_verify_options o;
    hl_secret_encoding encoding;
    hl_verify_result result;
    hl_header stack[HLL_HEADERS_STACK];
    const hl_header *headers;
    size_t n_headers, body_len;
    const char *body;
    int64_t now;
    hll_secrets *box;
    hl_code rc;

    lua_settop(L, 4); /* fixed slots: nothing pushed later can pose as an argument */

    if (check_body(L, 1, &body, &body_len, &err) != HL_OK ||
        read_verify_opts(L, 4, &o, &encoding, &err) != HL_OK ||
        hll_opt_now(L, 4, &now, &err) != HL_OK ||
        hll_headers_from_table(L, 2, stack, HLL_HEADERS_STACK, &headers, &n_headers, &err) != HL_OK)
        return hll_fail_err(L, &err);

    box = hll_secrets_new(L);
    rc = hll_secrets_parse(L, 3, o.scheme, encoding, box, &err);
    if (rc == HL_OK)
        rc = hl_verify(&o, (const hl_secret *const *)box->items, box->count, now, headers,
                       n_headers, body, body_len, &result, &err);
    hll_secrets_clear(box);
    if (rc != HL_OK)
        return hll_fail_err(L, &err);
    return push_result(L, &result);
}

/*** hookline.verifier(secrets [, opts]) -> verifier | nil, message, code
 * Keyed verification state for a receiver: the secrets are parsed once.
 * opts: scheme, secret_encoding, tolerance, max_body, parse_event (as
 * hookline.verify). Errors as hookline.verify's configuration errors.
 */
static int l_verifier(lua_State *L)
{
    hl_error err = HL_ERROR_INIT;
    hl_verify_options o;
    hl_secret_encoding encoding;
    verifier_ud *ud;
    hll_secrets *box;
    hl_code rc;
    int self;

    lua_settop(L, 2); /* fixed slots: nothing pushed later can pose as an argument */

    ud = (verifier_ud *)lua_newuserdata(L, sizeof *ud);
    ud->verifier = NULL;
    luaL_setmetatable(L, VERIFIER_MT);
    self = lua_gettop(L);

    if (read_verify_opts(L, 2, &o, &encoding, &err) != HL_OK)
        return hll_fail_err(L, &err);
    box = hll_secrets_new(L);
    rc = hll_secrets_parse(L, 1, o.scheme, encoding, box, &err);
    if (rc == HL_OK)
        rc = hl_verifier_new(&ud->verifier, &o, (const hl_secret *const *)box->items,
                             box->count, &err);
    hll_secrets_clear(box);
    if (rc != HL_OK)
        return hll_fail_err(L, &err);
    lua_pushvalue(L, self);
    return 1;
}

/*** verifier:verify(body, headers [, opts]) -> result | nil, message, code
 * Verify one request (result and errors as hookline.verify). opts.now only
 * (Unix seconds, default the clock): the rest was fixed by
 * hookline.verifier. A closed verifier answers nil, message,
 * "invalid_argument".
 */
static int verifier_verify(lua_State *L)
{
    verifier_ud *ud = (verifier_ud *)luaL_checkudata(L, 1, VERIFIER_MT);
    hl_error err = HL_ERROR_INIT;
    hl_verify_result result;
    hl_header stack[HLL_HEADERS_STACK];
    const hl_header *headers;
    size_t n_headers, body_len;
    const char *body;
    int64_t now;

    lua_settop(L, 4); /* fixed slots: nothing pushed later can pose as an argument */

    if (ud->verifier == NULL)
        return hll_fail(L, HL_E_INVALID_ARGUMENT, "verifier is closed");
    if (check_body(L, 2, &body, &body_len, &err) != HL_OK ||
        hll_check_opts(L, 4, &err) != HL_OK ||
        hll_opt_now(L, 4, &now, &err) != HL_OK ||
        hll_headers_from_table(L, 3, stack, HLL_HEADERS_STACK, &headers, &n_headers, &err) != HL_OK ||
        hl_verifier_verify(ud->verifier, now, headers, n_headers, body, body_len, &result,
                           &err) != HL_OK)
        return hll_fail_err(L, &err);
    return push_result(L, &result);
}

/*** verifier:close()
 * Wipe and free the key material now instead of at collection. Idempotent;
 * also run by `__close` and `__gc`.
 */
static int verifier_close(lua_State *L)
{
    verifier_ud *ud = (verifier_ud *)luaL_checkudata(L, 1, VERIFIER_MT);
    hl_verifier_free(ud->verifier);
    ud->verifier = NULL;
    return 0;
}

static int verifier_tostring(lua_State *L)
{
    verifier_ud *ud = (verifier_ud *)luaL_checkudata(L, 1, VERIFIER_MT);
    if (ud->verifier == NULL)
        lua_pushstring(L, "hookline.verifier (closed)");
    else
        lua_pushfstring(L, "hookline.verifier (%p)", (void *)ud);
    return 1;
}

/* ---------------------------------------------------------- generation */

/* Push box->items[i]'s text form, then wipe the text buffer. */
static hl_code push_secret_text(lua_State *L, hll_secrets *box, size_t i, hl_scheme scheme,
                                hl_error *err)
{
    size_t len = 0;
    hl_code rc = hl_secret_format(box->items[i], scheme, box->text, sizeof box->text, &len, err);
    if (rc == HL_OK)
        lua_pushlstring(L, box->text, len);
    OPENSSL_cleanse(box->text, sizeof box->text);
    return rc;
}

/*** hookline.generate_secret([scheme]) -> text | nil, message, code
 * A new random secret in the scheme's text form (standard: "whsec_" and
 * base64). Errors: "scheme_unknown", "invalid_argument" (not a string).
 */
static int l_generate_secret(lua_State *L)
{
    hl_error err = HL_ERROR_INIT;
    hl_scheme scheme = HL_SCHEME_STANDARD;
    hll_secrets *box;
    hl_code rc;

    lua_settop(L, 1); /* fixed slots: nothing pushed later can pose as an argument */

    if (!lua_isnoneornil(L, 1)) {
        size_t len;
        const char *name;
        if (lua_type(L, 1) != LUA_TSTRING)
            return hll_fail(L, HL_E_INVALID_ARGUMENT, "scheme must be a string");
        name = lua_tolstring(L, 1, &len);
        if (hl_scheme_from_name(&scheme, name, len) != HL_OK)
            return hll_fail(L, HL_E_SCHEME_UNKNOWN,
                            "unknown scheme (expected standard, hookline, stripe or github)");
    }
    box = hll_secrets_new(L);
    rc = hl_secret_generate(&box->items[0], scheme, &err);
    if (rc == HL_OK)
        rc = push_secret_text(L, box, 0, scheme, &err);
    hll_secrets_clear(box);
    if (rc != HL_OK)
        return hll_fail_err(L, &err);
    return 1;
}

/*** hookline.generate_keypair() -> private, public | nil, message, code
 * A new Ed25519 key pair for the standard scheme's asymmetric signatures:
 * the signing key "whsk_..." (keep it secret) and the verifying key
 * "whpk_..." (give it to receivers).
 */
static int l_generate_keypair(lua_State *L)
{
    hl_error err = HL_ERROR_INIT;
    hll_secrets *box = hll_secrets_new(L);
    hl_code rc = hl_keypair_generate(&box->items[0], &box->items[1], &err);
    if (rc == HL_OK)
        rc = push_secret_text(L, box, 0, HL_SCHEME_STANDARD, &err);
    if (rc == HL_OK)
        rc = push_secret_text(L, box, 1, HL_SCHEME_STANDARD, &err);
    hll_secrets_clear(box);
    if (rc != HL_OK)
        return hll_fail_err(L, &err);
    return 2;
}

void hll_open_signature(lua_State *L)
{
    static const luaL_Reg functions[] = {
        {"sign", l_sign},
        {"verify", l_verify},
        {"signer", l_signer},
        {"verifier", l_verifier},
        {"generate_secret", l_generate_secret},
        {"generate_keypair", l_generate_keypair},
        {NULL, NULL},
    };
    static const luaL_Reg signer_methods[] = {
        {"sign", signer_sign}, {"close", signer_close}, {NULL, NULL}};
    static const luaL_Reg signer_meta[] = {{"__gc", signer_close},
                                           {"__close", signer_close},
                                           {"__tostring", signer_tostring},
                                           {NULL, NULL}};
    static const luaL_Reg verifier_methods[] = {
        {"verify", verifier_verify}, {"close", verifier_close}, {NULL, NULL}};
    static const luaL_Reg verifier_meta[] = {{"__gc", verifier_close},
                                             {"__close", verifier_close},
                                             {"__tostring", verifier_tostring},
                                             {NULL, NULL}};

    hll_new_class(L, SIGNER_MT, signer_methods, signer_meta);
    hll_new_class(L, VERIFIER_MT, verifier_methods, verifier_meta);
    luaL_setfuncs(L, functions, 0);
}
