/*
 * hookline_lua.h - what the Lua binding's source files share.
 *
 * The module is split by area: hookline_lua.c opens the module and holds the
 * conversions every area needs (errors, options, secrets, headers); each
 * area (signatures, SSRF, dedupe, engine) lives in its own .c file and
 * exposes one `hll_open_<area>` function that adds its functions to the
 * module table. To add an area: write the file, declare its opener below,
 * list it in AREAS in hookline_lua.c and in bindings/lua/CMakeLists.txt and
 * the rockspec.
 *
 * Conventions (the binding is thin: it converts types and errors, nothing
 * more):
 *   - failures return `nil, message, code` where code is hl_code_name();
 *     bad argument types are reported the same way with "invalid_argument";
 *   - C resources are owned by userdata with a __gc from the moment they
 *     exist, so a Lua error (out of memory) can never leak or leave a secret
 *     unwiped;
 *   - every userdata type has a named metatable, and __gc, __close and
 *     :close() share one idempotent cleanup.
 * Internal names start with `hll_`; nothing but luaopen_hookline is exported.
 */
#ifndef HOOKLINE_LUA_H
#define HOOKLINE_LUA_H

#include "compat.h"

#include <hookline.h>

#if defined(__GNUC__) || defined(__clang__)
#define HLL_EXPORT __attribute__((visibility("default")))
#else
#define HLL_EXPORT
#endif

/* The module's one exported symbol: `require "hookline"` calls it. */
HLL_EXPORT int luaopen_hookline(lua_State *L);

/* Area openers: the module table is on the top of the stack. */
void hll_open_signature(lua_State *L);
void hll_open_ssrf(lua_State *L);
void hll_open_dedupe(lua_State *L);
void hll_open_engine(lua_State *L);
void hll_open_worker(lua_State *L);

/* ------------------------------------------------------------- errors */

/* Push nil, message, code name; returns 3 (so `return hll_fail(...)`). */
int hll_fail(lua_State *L, hl_code code, const char *message);

/* hll_fail with err's code and message (the code's text if empty). */
int hll_fail_err(lua_State *L, const hl_error *err);

/* Fill `err` with a formatted message and return `code` (like hli_fail). */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 3, 4)))
#endif
hl_code hll_set_error(hl_error *err, hl_code code, const char *fmt, ...);

/* ------------------------------------------------------------ classes */

/*
 * Register a userdata class: a metatable named `name` whose __index is a
 * table of `methods`, plus the metamethods in `meta` (__gc, __close, ...).
 */
void hll_new_class(lua_State *L, const char *name, const luaL_Reg *methods,
                   const luaL_Reg *meta);

/* ------------------------------------------------------------ options */

/*
 * Options arguments are nil or a table. hll_check_opts reports anything
 * else; the readers below return HL_OK with the default when the table or
 * the field is absent, or an error naming the field.
 */
hl_code hll_check_opts(lua_State *L, int opts, hl_error *err);
hl_code hll_opt_int64(lua_State *L, int opts, const char *field, int64_t dflt, int64_t *out,
                      hl_error *err);
hl_code hll_opt_bool(lua_State *L, int opts, const char *field, int dflt, int *out,
                     hl_error *err);
/* Option `now` (Unix seconds): the clock is read only when it is absent. */
hl_code hll_opt_now(lua_State *L, int opts, int64_t *out, hl_error *err);
/* A string field: *out points into the Lua string (valid while opts is). */
hl_code hll_opt_string(lua_State *L, int opts, const char *field, const char **out,
                       size_t *len, hl_error *err);
hl_code hll_opt_scheme(lua_State *L, int opts, hl_scheme *out, hl_error *err);
hl_code hll_opt_secret_encoding(lua_State *L, int opts, hl_secret_encoding *out,
                                hl_error *err);

/* ------------------------------------------------------------ secrets */

/*
 * A scratch box for parsed secrets (and one secret's text form), owned by
 * the Lua GC: hll_secrets_new pushes it; hll_secrets_clear frees and wipes
 * everything now (also done by __gc, idempotently).
 */
#define HLL_SECRET_TEXT_CAP (HL_SECRET_TEXT_MAX + 1)
typedef struct hll_secrets {
    size_t count;
    hl_secret *items[HL_MAX_SECRETS];
    char text[HLL_SECRET_TEXT_CAP];
} hll_secrets;

hll_secrets *hll_secrets_new(lua_State *L);
void hll_secrets_clear(hll_secrets *box);

/*
 * Parse the secret string, or array of secret strings, at `idx` into `box`.
 * Errors: invalid_argument (not a string or array of strings, empty list),
 * too_many (more than HL_MAX_SECRETS), and hl_secret_parse's.
 */
hl_code hll_secrets_parse(lua_State *L, int idx, hl_scheme scheme, hl_secret_encoding encoding,
                          hll_secrets *box, hl_error *err);

/* ------------------------------------------------------------ headers */

/* Headers the callers' stack arrays hold (more: a userdata array). */
#define HLL_HEADERS_STACK 32

/*
 * Convert a headers table ({name = value}, keys of any case, as
 * ngx.req.get_headers() gives it) into an hl_header array. A value that is a
 * table of strings (a repeated header) becomes one hl_header per string, so
 * the core sees the repetition. The array is `stack` when it has room
 * (stack_cap entries), else a userdata; it and any converted strings are
 * pushed onto the stack (two values, nil for what is not needed) and live
 * as long as they stay there (and `stack` lives).
 */
hl_code hll_headers_from_table(lua_State *L, int idx, hl_header *stack, size_t stack_cap,
                               const hl_header **out, size_t *count, hl_error *err);

#endif /* HOOKLINE_LUA_H */
