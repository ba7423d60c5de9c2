/*
 * dedupe_lua.c - hookline.seen_store: the seen-id store (hookline/dedupe.h)
 * in memory, or durable in an SQLite file (hookline/seen_sqlite.h).
 *
 *   local seen = hookline.seen_store(nil, {ttl = 86400, capacity = 100000})
 *   local seen = hookline.seen_store("/var/lib/app/seen.db", {ttl = 86400})
 *   seen:check_and_add(id [, now [, ttl]]) -> true (new) | false (seen)
 *   seen:contains(id [, now]) -> boolean
 *   seen:remove(id)           -> boolean (it was held)
 *   seen:prune([now])         -> number of expired ids reclaimed
 *   seen:close()
 * Times are Unix seconds (fractions allowed); `now` defaults to the clock.
 * Failures return nil, message, code (e.g. "store_full", "store_io").
 *
 * The SQLite store does file I/O: inside an nginx worker use the memory
 * store or ngx.shared instead, never this one on a request path.
 */
/* clock_gettime under strict C11 */
#define _POSIX_C_SOURCE 200809L

#include "hookline_lua.h"

#include <hookline/seen_sqlite.h>

#include <string.h>
#include <time.h>

#define SEEN_MT "hookline.seen_store"

typedef struct seen_ud {
    hl_seen *seen; /* NULL once closed */
} seen_ud;

/* Seconds (integer or float) to milliseconds; refuses negatives, NaN, and
 * values past what uint64 milliseconds can hold. */
static hl_code seconds_to_ms(lua_State *L, int idx, const char *what, uint64_t *out,
                             hl_error *err)
{
    lua_Number s;
    if (lua_type(L, idx) != LUA_TNUMBER)
        return hll_set_error(err, HL_E_INVALID_ARGUMENT, "%s must be a number of seconds, not %s",
                             what, luaL_typename(L, idx));
    s = lua_tonumber(L, idx);
    if (!(s >= 0 && s < 1.8e16))
        return hll_set_error(err, HL_E_INVALID_ARGUMENT, "%s is out of range", what);
    *out = (uint64_t)floor(s * 1000.0);
    return HL_OK;
}

static uint64_t clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Optional `now` at idx: the clock when nil. */
static hl_code read_now(lua_State *L, int idx, uint64_t *now, hl_error *err)
{
    if (lua_isnoneornil(L, idx)) {
        *now = clock_ms();
        return HL_OK;
    }
    return seconds_to_ms(L, idx, "now", now, err);
}

static hl_code read_id(lua_State *L, int idx, const char **id, size_t *len, hl_error *err)
{
    if (lua_type(L, idx) != LUA_TSTRING)
        return hll_set_error(err, HL_E_INVALID_ARGUMENT, "id must be a string, not %s",
                             luaL_typename(L, idx));
    *id = lua_tolstring(L, idx, len);
    return HL_OK;
}

static seen_ud *check_open(lua_State *L, hl_error *err)
{
    seen_ud *ud = (seen_ud *)luaL_checkudata(L, 1, SEEN_MT);
    if (ud->seen == NULL) {
        hll_set_error(err, HL_E_INVALID_ARGUMENT, "seen store is closed");
        return NULL;
    }
    return ud;
}

/*** @area `hookline`: seen-id store (deduplication)
 * Remember delivered message/event ids for a while, so a retried delivery
 * is recognised. In memory, or durable in an SQLite file. Times are Unix
 * seconds (fractions allowed); `now` defaults to the clock.
 *
 * The SQLite store does file I/O: inside an nginx worker use the memory
 * store or an `ngx.shared` dict (resty.hookline.guard), never the file store
 * on a request path.
 */

/*** hookline.seen_store([path] [, opts]) -> seen_store | nil, message, code
 * A seen-id store: in memory when `path` is nil, else the SQLite file at
 * `path` (created if missing; shared by processes and kept across
 * restarts).
 *   opts.ttl              seconds an id is remembered (default 86400)
 *   opts.capacity         memory store: most ids held (default 1000000)
 *   opts.full             memory store when full: "refuse" (default: the
 *                         add fails with "store_full") or "evict" (drop the
 *                         ids that expire soonest)
 *   opts.busy_timeout_ms  SQLite: wait for a locked file (default 5000)
 * Errors: "invalid_argument", "store_io" (the file cannot be opened).
 */
static int l_seen_store(lua_State *L)
{
    hl_error err = HL_ERROR_INIT;
    uint64_t ttl_ms = HL_SEEN_DEFAULT_TTL_MS;
    int64_t capacity, busy;
    const char *full;
    size_t full_len;
    seen_ud *ud;
    hl_code rc;

    lua_settop(L, 2);
    if (!lua_isnil(L, 1) && lua_type(L, 1) != LUA_TSTRING)
        return hll_fail(L, HL_E_INVALID_ARGUMENT, "path must be a string or nil");
    if (hll_check_opts(L, 2, &err) != HL_OK ||
        hll_opt_int64(L, 2, "capacity", (int64_t)HL_SEEN_DEFAULT_CAPACITY, &capacity, &err) !=
            HL_OK ||
        hll_opt_int64(L, 2, "busy_timeout_ms", 5000, &busy, &err) != HL_OK ||
        hll_opt_string(L, 2, "full", &full, &full_len, &err) != HL_OK)
        return hll_fail_err(L, &err);
    if (lua_istable(L, 2)) {
        lua_pushstring(L, "ttl");
        lua_rawget(L, 2);
        rc = lua_isnil(L, -1) ? HL_OK : seconds_to_ms(L, -1, "option 'ttl'", &ttl_ms, &err);
        lua_pop(L, 1);
        if (rc != HL_OK)
            return hll_fail_err(L, &err);
        if (ttl_ms == 0)
            return hll_fail(L, HL_E_INVALID_ARGUMENT, "option 'ttl' must be > 0");
    }
    if (capacity <= 0 || busy < 0 || busy > 3600 * 1000)
        return hll_fail(L, HL_E_INVALID_ARGUMENT,
                        "option 'capacity' must be > 0 and 'busy_timeout_ms' 0 to 3600000");

    ud = (seen_ud *)lua_newuserdata(L, sizeof *ud);
    ud->seen = NULL;
    luaL_setmetatable(L, SEEN_MT);

    if (lua_isnil(L, 1)) {
        hl_seen_options o = HL_SEEN_OPTIONS_INIT;
        o.capacity = (size_t)capacity;
        o.default_ttl_ms = ttl_ms;
        if (full == NULL || (full_len == 6 && memcmp(full, "refuse", 6) == 0))
            o.full = HL_SEEN_FULL_REFUSE;
        else if (full_len == 5 && memcmp(full, "evict", 5) == 0)
            o.full = HL_SEEN_FULL_EVICT_SOONEST;
        else
            return hll_fail(L, HL_E_INVALID_ARGUMENT,
                            "option 'full' must be \"refuse\" or \"evict\"");
        rc = hl_seen_new(&ud->seen, &o, &err);
    } else {
        hl_seen_sqlite_options o = HL_SEEN_SQLITE_OPTIONS_INIT;
        size_t len;
        const char *path = lua_tolstring(L, 1, &len);
        if (strlen(path) != len)
            return hll_fail(L, HL_E_INVALID_ARGUMENT, "path contains a NUL byte");
        o.default_ttl_ms = ttl_ms;
        o.busy_timeout_ms = (int)busy;
        rc = hl_seen_sqlite_open(&ud->seen, path, &o, &err);
    }
    if (rc != HL_OK)
        return hll_fail_err(L, &err);
    return 1;
}

/*** seen_store:check_and_add(id [, now [, ttl]]) -> is_new | nil, message, code
 * Atomically: true and remember `id` (a string) for `ttl` seconds (default
 * the store's) when it was not held; false when it already was (a
 * duplicate). Errors: "store_full" (memory store, full = "refuse"),
 * "store_io", "invalid_argument".
 */
static int seen_check_and_add(lua_State *L)
{
    hl_error err = HL_ERROR_INIT;
    seen_ud *ud;
    const char *id;
    size_t len;
    uint64_t now, ttl = 0;
    int was_new;

    lua_settop(L, 4);
    if ((ud = check_open(L, &err)) == NULL || read_id(L, 2, &id, &len, &err) != HL_OK ||
        read_now(L, 3, &now, &err) != HL_OK ||
        (!lua_isnil(L, 4) && seconds_to_ms(L, 4, "ttl", &ttl, &err) != HL_OK))
        return hll_fail_err(L, &err);
    if (!lua_isnil(L, 4) && ttl == 0)
        return hll_fail(L, HL_E_INVALID_ARGUMENT, "ttl must be > 0");
    if (hl_seen_check_and_add(ud->seen, id, len, now, ttl, &was_new, &err) != HL_OK)
        return hll_fail_err(L, &err);
    lua_pushboolean(L, was_new);
    return 1;
}

/*** seen_store:contains(id [, now]) -> boolean | nil, message, code
 * Whether `id` is held and not expired at `now`. Does not add it.
 */
static int seen_contains(lua_State *L)
{
    hl_error err = HL_ERROR_INIT;
    seen_ud *ud;
    const char *id;
    size_t len;
    uint64_t now;
    int present;

    lua_settop(L, 3);
    if ((ud = check_open(L, &err)) == NULL || read_id(L, 2, &id, &len, &err) != HL_OK ||
        read_now(L, 3, &now, &err) != HL_OK ||
        hl_seen_contains(ud->seen, id, len, now, &present, &err) != HL_OK)
        return hll_fail_err(L, &err);
    lua_pushboolean(L, present);
    return 1;
}

/*** seen_store:remove(id) -> boolean | nil, message, code
 * Forget `id` (e.g. the application failed to process the event, so the
 * sender's retry must be accepted). Returns whether it was held.
 */
static int seen_remove(lua_State *L)
{
    hl_error err = HL_ERROR_INIT;
    seen_ud *ud;
    const char *id;
    size_t len;
    int removed;

    lua_settop(L, 2);
    if ((ud = check_open(L, &err)) == NULL || read_id(L, 2, &id, &len, &err) != HL_OK ||
        hl_seen_remove(ud->seen, id, len, &removed, &err) != HL_OK)
        return hll_fail_err(L, &err);
    lua_pushboolean(L, removed);
    return 1;
}

/*** seen_store:prune([now]) -> count | nil, message, code
 * Reclaim the ids expired at `now`; returns how many were removed.
 */
static int seen_prune(lua_State *L)
{
    hl_error err = HL_ERROR_INIT;
    seen_ud *ud;
    uint64_t now;
    size_t pruned;

    lua_settop(L, 2);
    if ((ud = check_open(L, &err)) == NULL || read_now(L, 2, &now, &err) != HL_OK ||
        hl_seen_prune(ud->seen, now, 0, &pruned, &err) != HL_OK)
        return hll_fail_err(L, &err);
    lua_pushnumber(L, (lua_Number)pruned);
    return 1;
}

/*** seen_store:close()
 * Free the store now (closes the SQLite file). Idempotent; also run by
 * `__close` and `__gc`. Later calls answer nil, message, "invalid_argument".
 */
static int seen_close(lua_State *L)
{
    seen_ud *ud = (seen_ud *)luaL_checkudata(L, 1, SEEN_MT);
    hl_seen_free(ud->seen);
    ud->seen = NULL;
    return 0;
}

static int seen_tostring(lua_State *L)
{
    seen_ud *ud = (seen_ud *)luaL_checkudata(L, 1, SEEN_MT);
    if (ud->seen == NULL)
        lua_pushstring(L, "hookline.seen_store (closed)");
    else
        lua_pushfstring(L, "hookline.seen_store (%s, %p)", hl_seen_backend_name(ud->seen),
                        (void *)ud);
    return 1;
}

void hll_open_dedupe(lua_State *L)
{
    static const luaL_Reg methods[] = {{"check_and_add", seen_check_and_add},
                                       {"contains", seen_contains},
                                       {"remove", seen_remove},
                                       {"prune", seen_prune},
                                       {"close", seen_close},
                                       {NULL, NULL}};
    static const luaL_Reg meta[] = {{"__gc", seen_close},
                                    {"__close", seen_close},
                                    {"__tostring", seen_tostring},
                                    {NULL, NULL}};
    hll_new_class(L, SEEN_MT, methods, meta);
    lua_pushcfunction(L, l_seen_store);
    lua_setfield(L, -2, "seen_store");
}
