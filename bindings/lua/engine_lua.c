/*
 * engine_lua.c - hookline.engine: the sans-IO delivery engine of
 * hookline/engine.h from Lua 5.4 and LuaJIT.
 *
 *   local e = hookline.engine{seed = 42, route = fn, transform = fn, decide = fn}
 *   e:add_endpoint("ep1", "https://example.test/hook", {events = {"email.outbound.*"}})
 *   local id, routed = e:enqueue("email.outbound.sent", '{"msg":"m1"}', {now = t})
 *   local a = e:next_action(t)   -- {kind = "send", batch_id = ..., body = ...}
 *                                -- {kind = "wait", at = T} | {kind = "idle"}
 *                                -- (+ callback_error = msg when a decide run for
 *                                -- an expired in-flight lease failed)
 *   e:report_outcome(a.batch_id, {status = 200, latency = 0.12}, t)
 *
 * Times are Unix seconds (numbers, fractions allowed), rounded to the
 * engine's milliseconds; durations are seconds; `now` defaults to the clock.
 * The same as hookline.Engine in Python, so a script gives the same batch
 * ids, jitter and bytes in C, Python and Lua for a fixed seed.
 * Failures return nil, message, code (hl_code_name: "endpoint_unknown",
 * "event_invalid", "callback", ...).
 *
 * Callbacks run inside lua_pcall (lua_cpcall on 5.1): an error raised in one
 * never unwinds through the C engine. The engine is told the callback
 * failed, keeps every batch (an enqueue enqueues nothing; a report applies
 * the default policy), and the call returns nil, "<engine message>: <Lua
 * error>", "callback". From a callback only read-only methods may be called
 * (batch, stats, attempts, endpoint_info, endpoints, dead_letters); a
 * changing one returns nil, message, "engine_reentered".
 *
 * Callbacks and each endpoint's last options (update_endpoint merges over
 * them) live in a Lua table referenced from the registry, released by close.
 */
/* clock_gettime under strict C11 */
#define _POSIX_C_SOURCE 200809L

#include "hookline_lua.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ENGINE_MT "hookline.engine"

typedef struct engine_ud {
    hl_engine *engine; /* NULL once closed */
    int state_ref;     /* registry: {route=, transform=, decide=, options={}} */
    int busy;          /* inside an engine call (callbacks may run) */
    lua_State *L;      /* the state of the call in progress */
    uint64_t now_ms;   /* its `now` */
    char cb_error[HL_ERROR_MESSAGE_MAX]; /* first callback error of the call */
    char *transform_out;                 /* last transform result (copied) */
    size_t transform_len;
} engine_ud;

static const char *const FAILURES[] = {"none", "dns", "connect", "tls", "timeout", "reset",
                                       "blocked"};
static const char *const DECISIONS[] = {"delivered", "retry", "give_up"};

/* ------------------------------------------------------------- time */

static uint64_t clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Seconds to milliseconds, rounded to nearest: a time read back from the
 * engine (ms / 1000) converts back exactly. */
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
    *out = (uint64_t)floor(s * 1000.0 + 0.5);
    return HL_OK;
}

static hl_code read_now(lua_State *L, int idx, uint64_t *now, hl_error *err)
{
    if (lua_isnoneornil(L, idx)) {
        *now = clock_ms();
        return HL_OK;
    }
    return seconds_to_ms(L, idx, "now", now, err);
}

static void push_seconds(lua_State *L, uint64_t ms)
{
    lua_pushnumber(L, (lua_Number)ms / 1000.0);
}

/* Push the field `name` of the table at `t` (raw), returning its type. */
static int raw_field(lua_State *L, int t, const char *name)
{
    lua_pushstring(L, name);
    lua_rawget(L, t);
    return lua_type(L, -1);
}

/* `now` from an options table (field "now"), the clock when absent. */
static hl_code opts_now(lua_State *L, int opts, uint64_t *now, hl_error *err)
{
    hl_code rc;
    if (lua_type(L, opts) != LUA_TTABLE) {
        *now = clock_ms();
        return HL_OK;
    }
    raw_field(L, opts, "now");
    rc = read_now(L, -1, now, err);
    lua_pop(L, 1);
    return rc;
}

/* ------------------------------------------------------------ helpers */

static engine_ud *check_engine(lua_State *L)
{
    return (engine_ud *)luaL_checkudata(L, 1, ENGINE_MT);
}

/* Open, and (for a changing call) not inside one of its callbacks. */
static hl_code usable(engine_ud *ud, int changes, hl_error *err)
{
    if (ud->engine == NULL)
        return hll_set_error(err, HL_E_INVALID_ARGUMENT, "the engine is closed");
    if (changes && ud->busy)
        return hll_set_error(err, HL_E_ENGINE_REENTERED,
                             "an engine callback called a method that changes the same engine; "
                             "only read-only calls are allowed there");
    return HL_OK;
}

static void push_state(lua_State *L, engine_ud *ud)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, ud->state_ref);
}

/* Begin / end an engine call that may run callbacks. */
static void call_begin(lua_State *L, engine_ud *ud, uint64_t now)
{
    ud->busy = 1;
    ud->L = L;
    ud->now_ms = now;
    ud->cb_error[0] = '\0';
}

/* The call's result: HL_OK, or fail with the callback's error appended. */
static int call_end(lua_State *L, engine_ud *ud, hl_code rc, const hl_error *err)
{
    char message[HL_ERROR_MESSAGE_MAX * 2 + 4];
    ud->busy = 0;
    free(ud->transform_out);
    ud->transform_out = NULL;
    if (rc == HL_OK)
        return 0;
    if (rc == HL_E_CALLBACK && ud->cb_error[0]) {
        snprintf(message, sizeof message, "%s: %s",
                 err->message[0] ? err->message : hl_strerror(rc), ud->cb_error);
        return hll_fail(L, rc, message);
    }
    return hll_fail_err(L, err);
}

#define SET_STR(L, name, value) (lua_pushstring(L, value), lua_setfield(L, -2, name))
#define SET_INT(L, name, value) (lua_pushinteger(L, (lua_Integer)(value)), lua_setfield(L, -2, name))
#define SET_SEC(L, name, value) (push_seconds(L, value), lua_setfield(L, -2, name))
#define SET_BOOL(L, name, value) (lua_pushboolean(L, value), lua_setfield(L, -2, name))

/* ---------------------------------------------------------- callbacks */

/*
 * A callback runs as a protected C function (so nothing the Lua side does,
 * not even running out of memory, can longjmp through the engine). It gets
 * a `struct cb_call` as light userdata.
 */
enum cb_kind { CB_ROUTE, CB_TRANSFORM, CB_DECIDE };

struct cb_call {
    engine_ud *ud;
    enum cb_kind kind;
    const hl_event *event;
    const char *endpoint_id;
    int filter_match;
    const char *json;
    size_t json_len;
    const hl_retry_input *in;
    int result;          /* route: 0/1 */
    int replaced;        /* transform: a string came back (in ud->transform_out) */
    hl_decision decision; /* decide */
    int bad_return;      /* set with a message in cb_error */
};

static void push_decision(lua_State *L, const hl_decision *d)
{
    lua_newtable(L);
    SET_STR(L, "kind", DECISIONS[d->kind]);
    if (d->kind == HL_DECIDE_RETRY)
        SET_SEC(L, "retry_at", d->retry_at_ms);
}

static int cb_protected(lua_State *L)
{
    struct cb_call *c = (struct cb_call *)lua_touserdata(L, 1);
    engine_ud *ud = c->ud;
    static const char *const NAMES[] = {"route", "transform", "decide"};

    push_state(L, ud);
    lua_getfield(L, -1, NAMES[c->kind]);
    switch (c->kind) {
    case CB_ROUTE: {
        const hl_event *ev = c->event;
        lua_newtable(L);
        SET_STR(L, "id", ev->id);
        SET_STR(L, "type", ev->type);
        SET_SEC(L, "created_at", ev->created_at_ms ? ev->created_at_ms : ud->now_ms);
        if (ev->data && ev->data_len) {
            lua_pushlstring(L, ev->data, ev->data_len);
            lua_setfield(L, -2, "data");
        }
        if (ev->ordering_key)
            SET_STR(L, "ordering_key", ev->ordering_key);
        lua_pushstring(L, c->endpoint_id);
        lua_pushboolean(L, c->filter_match);
        lua_call(L, 3, 1);
        c->result = lua_toboolean(L, -1);
        break;
    }
    case CB_TRANSFORM:
        lua_pushstring(L, c->endpoint_id);
        lua_pushlstring(L, c->json, c->json_len);
        lua_call(L, 2, 1);
        if (lua_type(L, -1) == LUA_TSTRING) {
            size_t n;
            const char *s = lua_tolstring(L, -1, &n);
            char *copy = (char *)malloc(n ? n : 1);
            if (copy == NULL)
                return luaL_error(L, "out of memory");
            memcpy(copy, s, n);
            free(ud->transform_out);
            ud->transform_out = copy;
            ud->transform_len = n;
            c->replaced = 1;
        } else if (!lua_isnil(L, -1)) {
            return luaL_error(L, "transform must return a string or nil, not %s",
                              luaL_typename(L, -1));
        }
        break;
    case CB_DECIDE: {
        const hl_retry_input *in = c->in;
        const hl_outcome *o = in->outcome;
        const char *kind = NULL;
        lua_newtable(L);
        SET_STR(L, "batch_id", in->batch_id);
        SET_STR(L, "endpoint_id", in->endpoint_id);
        SET_INT(L, "attempt", in->attempt);
        SET_INT(L, "status", o->status);
        if (o->failure != HL_FAILURE_NONE)
            SET_STR(L, "failure", FAILURES[o->failure]);
        if (o->retry_after) {
            lua_pushlstring(L, o->retry_after, o->retry_after_len);
            lua_setfield(L, -2, "retry_after");
        }
        SET_SEC(L, "latency", o->latency_ms);
        lua_pushlstring(L, o->body_excerpt ? o->body_excerpt : "",
                        o->body_excerpt ? o->body_excerpt_len : 0);
        lua_setfield(L, -2, "body");
        SET_SEC(L, "now", in->now_ms);
        SET_SEC(L, "first_enqueue", in->first_enqueue_ms);
        SET_SEC(L, "deadline", in->deadline_ms);
        push_decision(L, &in->default_decision);
        lua_setfield(L, -2, "default");
        lua_call(L, 1, 1);
        if (lua_isnil(L, -1))
            break;
        if (lua_type(L, -1) == LUA_TSTRING) {
            kind = lua_tostring(L, -1);
        } else if (lua_type(L, -1) == LUA_TTABLE) {
            /* left on the stack: the string stays valid */
            lua_getfield(L, -1, "kind");
            kind = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
            lua_insert(L, -2); /* the table back on top */
        } else {
            return luaL_error(L, "decide must return nil, a kind or a table, not %s",
                              luaL_typename(L, -1));
        }
        for (int i = 0; i < 3; i++)
            if (kind && strcmp(kind, DECISIONS[i]) == 0)
                c->decision.kind = (hl_decision_kind)i;
        if (kind == NULL || strcmp(kind, DECISIONS[c->decision.kind]) != 0)
            return luaL_error(L, "decision kind must be \"delivered\", \"retry\" or \"give_up\"");
        if (c->decision.kind == HL_DECIDE_RETRY) {
            hl_error err = HL_ERROR_INIT;
            if (lua_type(L, -1) != LUA_TTABLE)
                return luaL_error(L, "a retry decision is a table with retry_at");
            lua_getfield(L, -1, "retry_at");
            if (seconds_to_ms(L, -1, "retry_at", &c->decision.retry_at_ms, &err) != HL_OK)
                return luaL_error(L, "%s", err.message);
        }
        break;
    }
    }
    return 0;
}

/* Run one callback protected; 0 on success, -1 with ud->cb_error set. */
static int cb_run(struct cb_call *c)
{
    engine_ud *ud = c->ud;
    lua_State *L = ud->L;
    int top, status;

    if (ud->cb_error[0])
        return -1; /* an earlier callback of this call failed */
    if (!lua_checkstack(L, 8)) {
        snprintf(ud->cb_error, sizeof ud->cb_error, "Lua stack overflow");
        return -1;
    }
    top = lua_gettop(L);
#if LUA_VERSION_NUM < 502
    status = lua_cpcall(L, cb_protected, c);
#else
    lua_pushcfunction(L, cb_protected); /* a light C function: no allocation */
    lua_pushlightuserdata(L, c);
    status = lua_pcall(L, 1, 0, 0);
#endif
    if (status != 0) {
        const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        snprintf(ud->cb_error, sizeof ud->cb_error, "%s",
                 msg ? msg : "(error object is not a string)");
        if (!ud->cb_error[0])
            snprintf(ud->cb_error, sizeof ud->cb_error, "(empty error)");
    }
    lua_settop(L, top);
    return status == 0 ? 0 : -1;
}

static int route_cb(void *user, const hl_event *ev, const char *endpoint_id, int filter_match)
{
    struct cb_call c;
    memset(&c, 0, sizeof c);
    c.ud = (engine_ud *)user;
    c.kind = CB_ROUTE;
    c.event = ev;
    c.endpoint_id = endpoint_id;
    c.filter_match = filter_match;
    return cb_run(&c) < 0 ? -1 : c.result;
}

static int transform_cb(void *user, const char *endpoint_id, const char *event_json,
                        size_t event_len, const char **out_json, size_t *out_len)
{
    struct cb_call c;
    memset(&c, 0, sizeof c);
    c.ud = (engine_ud *)user;
    c.kind = CB_TRANSFORM;
    c.endpoint_id = endpoint_id;
    c.json = event_json;
    c.json_len = event_len;
    if (cb_run(&c) < 0)
        return -1;
    if (c.replaced) {
        *out_json = c.ud->transform_out;
        *out_len = c.ud->transform_len;
    }
    return 0;
}

static int decide_cb(void *user, const hl_retry_input *in, hl_decision *out)
{
    struct cb_call c;
    memset(&c, 0, sizeof c);
    c.ud = (engine_ud *)user;
    c.kind = CB_DECIDE;
    c.in = in;
    c.decision = *out;
    if (cb_run(&c) < 0)
        return -1;
    *out = c.decision;
    return 0;
}

/* ------------------------------------------------------- construction */

/*** @area `hookline`: engine (sans-IO delivery)
 * The delivery engine of hookline/engine.h (docs/engine.md): batching,
 * retries with backoff, deadlines, circuit breaker, rate limits, dead
 * letters. It performs no I/O: you ask it what to do (`next_action`), do
 * it, and report the outcome. Times are Unix seconds (fractions allowed,
 * rounded to milliseconds); `now` defaults to the clock but tests pass it.
 * The same as hookline.Engine in Python: a script gives the same batch ids,
 * jitter and bytes in C, Python and Lua for a fixed seed.
 *
 * Callbacks run protected: an error raised in one never unwinds through C;
 * the call returns nil, "<message>: <Lua error>", "callback" and the engine
 * keeps every batch. From inside a callback only the read-only methods
 * (batch, stats, attempts, endpoint_info, endpoints, dead_letters) may be
 * called; the others return nil, message, "engine_reentered".
 */

/*** hookline.engine([opts]) -> engine | nil, message, code
 * A new engine.
 *   opts.seed                 jitter seed (integer >= 0; fixed seed, same
 *                             schedule)
 *   opts.max_in_flight        batches handed out at once (0: no limit)
 *   opts.max_attempt_records  attempt records kept (0: no count limit)
 *   opts.attempt_retention    seconds attempt records are kept (default
 *                             86400)
 *   opts.in_flight_lease      seconds before an unreported batch counts as
 *                             failed
 *   opts.route                function(event, endpoint_id, filter_match)
 *                             -> boolean: replaces the event filters
 *   opts.transform            function(endpoint_id, event_json) -> string
 *                             or nil: rewrite the JSON sent to one endpoint
 *   opts.decide               function(input) -> nil | "give_up" |
 *                             {kind = "retry", retry_at = t}: override the
 *                             retry decision (docs/engine.md)
 * Errors: "invalid_argument".
 */
static int l_engine(lua_State *L)
{
    static const char *const CALLBACKS[] = {"route", "transform", "decide"};
    hl_engine_options o = HL_ENGINE_OPTIONS_INIT;
    hl_error err = HL_ERROR_INIT;
    int64_t seed, max_in_flight, max_records;
    engine_ud *ud;
    int i;

    lua_settop(L, 1);
    if (hll_check_opts(L, 1, &err) != HL_OK ||
        hll_opt_int64(L, 1, "seed", 0, &seed, &err) != HL_OK ||
        hll_opt_int64(L, 1, "max_in_flight", 0, &max_in_flight, &err) != HL_OK ||
        hll_opt_int64(L, 1, "max_attempt_records", 0, &max_records, &err) != HL_OK)
        return hll_fail_err(L, &err);
    if (seed < 0 || max_in_flight < 0 || max_in_flight > UINT32_MAX || max_records < 0)
        return hll_fail(L, HL_E_INVALID_ARGUMENT,
                        "seed, max_in_flight and max_attempt_records must be >= 0");
    o.seed = (uint64_t)seed;
    o.max_in_flight = (unsigned int)max_in_flight;
    o.max_attempt_records = (size_t)max_records;
    if (lua_istable(L, 1)) {
        if (raw_field(L, 1, "attempt_retention") != LUA_TNIL &&
            seconds_to_ms(L, -1, "attempt_retention", &o.attempt_retention_ms, &err) != HL_OK)
            return hll_fail_err(L, &err);
        lua_pop(L, 1);
        if (raw_field(L, 1, "in_flight_lease") != LUA_TNIL &&
            seconds_to_ms(L, -1, "in_flight_lease", &o.in_flight_lease_ms, &err) != HL_OK)
            return hll_fail_err(L, &err);
        lua_pop(L, 1);
    }

    /* state table: the callbacks and each endpoint's options */
    lua_newtable(L);
    for (i = 0; i < 3; i++) {
        int t = lua_istable(L, 1) ? raw_field(L, 1, CALLBACKS[i]) : (lua_pushnil(L), LUA_TNIL);
        if (t != LUA_TNIL && t != LUA_TFUNCTION) {
            lua_pushfstring(L, "option '%s' must be a function", CALLBACKS[i]);
            return hll_fail(L, HL_E_INVALID_ARGUMENT, lua_tostring(L, -1));
        }
        lua_setfield(L, -2, CALLBACKS[i]);
    }
    lua_newtable(L);
    lua_setfield(L, -2, "options");
    lua_getfield(L, -1, "route");
    o.route = lua_isnil(L, -1) ? NULL : route_cb;
    lua_getfield(L, -2, "transform");
    o.transform = lua_isnil(L, -1) ? NULL : transform_cb;
    lua_getfield(L, -3, "decide");
    o.decide = lua_isnil(L, -1) ? NULL : decide_cb;
    lua_pop(L, 3);

    ud = (engine_ud *)lua_newuserdata(L, sizeof *ud);
    memset(ud, 0, sizeof *ud);
    ud->state_ref = LUA_NOREF;
    luaL_setmetatable(L, ENGINE_MT);
    lua_pushvalue(L, -2);
    ud->state_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    o.callback_user = ud;
    if (hl_engine_new(&ud->engine, &o, &err) != HL_OK)
        return hll_fail_err(L, &err);
    return 1;
}

/*** engine:close()
 * Free the engine and release its callbacks now. Idempotent; also run by
 * `__close` and `__gc`. Later calls answer nil, message, "invalid_argument".
 */
static int engine_close(lua_State *L)
{
    engine_ud *ud = check_engine(L);
    if (ud->busy)
        return hll_fail(L, HL_E_ENGINE_REENTERED, "cannot close the engine from its callback");
    hl_engine_free(ud->engine);
    ud->engine = NULL;
    free(ud->transform_out);
    ud->transform_out = NULL;
    if (ud->state_ref != LUA_NOREF) {
        luaL_unref(L, LUA_REGISTRYINDEX, ud->state_ref);
        ud->state_ref = LUA_NOREF;
    }
    return 0;
}

static int engine_tostring(lua_State *L)
{
    engine_ud *ud = check_engine(L);
    if (ud->engine == NULL)
        lua_pushstring(L, "hookline.engine (closed)");
    else
        lua_pushfstring(L, "hookline.engine (%p)", (void *)ud);
    return 1;
}

/* ---------------------------------------------------- endpoint options */

enum opt_kind { K_U32, K_UINT, K_SIZE, K_BOOL, K_DOUBLE, K_SECONDS, K_RATIO, K_SPECIAL };

struct opt_field {
    const char *name;
    enum opt_kind kind;
    size_t offset;
};

#define F(lua_name, kind, field) {lua_name, kind, offsetof(hl_endpoint_options, field)}
static const struct opt_field OPT_FIELDS[] = {
    F("active", K_BOOL, active),
    F("max_events", K_U32, max_events),
    F("max_bytes", K_SIZE, max_bytes),
    F("linger", K_SECONDS, linger_ms),
    F("unbatched", K_BOOL, unbatched),
    F("sparkpost_compat", K_BOOL, sparkpost_compat),
    F("jitter", K_RATIO, jitter_pct),
    F("deadline", K_SECONDS, deadline_ms),
    F("max_attempts", K_UINT, max_attempts),
    F("concurrency", K_UINT, concurrency),
    F("rate", K_DOUBLE, rate_per_s),
    F("burst", K_DOUBLE, burst),
    F("throttle_start_rate", K_DOUBLE, throttle_start_rate),
    F("throttle_min_rate", K_DOUBLE, throttle_min_rate),
    F("throttle_recover", K_SECONDS, throttle_recover_ms),
    F("breaker_window", K_SECONDS, breaker_window_ms),
    F("breaker_min_attempts", K_UINT, breaker_min_attempts),
    F("breaker_failure_ratio", K_RATIO, breaker_failure_pct),
    F("breaker_half_open", K_SECONDS, breaker_half_open_ms),
    F("breaker_disable_after", K_SECONDS, breaker_disable_after_ms),
    F("breaker_max_trips", K_UINT, breaker_max_trips),
    F("blocked_disable_after", K_UINT, blocked_disable_after),
    {"url", K_SPECIAL, 0},
    {"events", K_SPECIAL, 0},
    {"schedule", K_SPECIAL, 0},
    {"ordering", K_SPECIAL, 0},
    {"now", K_SPECIAL, 0},
};
#undef F
#define N_OPT_FIELDS (sizeof OPT_FIELDS / sizeof OPT_FIELDS[0])

/* Scratch for the filter pointers, owned by the Lua GC. */
typedef struct filter_scratch {
    const char *items[HL_FILTERS_MAX];
} filter_scratch;

static hl_code set_field(lua_State *L, const struct opt_field *f, hl_endpoint_options *o,
                         hl_error *err)
{
    char *p = (char *)o + f->offset;
    int64_t i;
    uint64_t ms;
    lua_Number d;

    switch (f->kind) {
    case K_BOOL:
        if (lua_type(L, -1) != LUA_TBOOLEAN)
            return hll_set_error(err, HL_E_INVALID_ARGUMENT, "option '%s' must be a boolean",
                                 f->name);
        *(int *)p = lua_toboolean(L, -1);
        return HL_OK;
    case K_U32:
    case K_UINT:
    case K_SIZE:
        if (!hll_tointeger64(L, -1, &i) || i < 0 ||
            (f->kind != K_SIZE && i > (int64_t)UINT32_MAX))
            return hll_set_error(err, HL_E_INVALID_ARGUMENT,
                                 "option '%s' must be a non-negative integer", f->name);
        if (f->kind == K_U32)
            *(uint32_t *)p = (uint32_t)i;
        else if (f->kind == K_UINT)
            *(unsigned int *)p = (unsigned int)i;
        else
            *(size_t *)p = (size_t)i;
        return HL_OK;
    case K_DOUBLE:
        d = lua_tonumber(L, -1);
        if (lua_type(L, -1) != LUA_TNUMBER || !(d >= 0 && d < 1e300))
            return hll_set_error(err, HL_E_INVALID_ARGUMENT,
                                 "option '%s' must be a finite number >= 0", f->name);
        *(double *)p = d;
        return HL_OK;
    case K_SECONDS:
        if (seconds_to_ms(L, -1, f->name, &ms, err) != HL_OK)
            return err->code;
        *(uint64_t *)p = ms;
        return HL_OK;
    case K_RATIO:
        d = lua_tonumber(L, -1);
        if (lua_type(L, -1) != LUA_TNUMBER || !(d >= 0 && d <= 1))
            return hll_set_error(err, HL_E_INVALID_ARGUMENT,
                                 "option '%s' must be a ratio between 0 and 1", f->name);
        *(unsigned int *)p = (unsigned int)floor(d * 100 + 0.5);
        return HL_OK;
    default:
        return HL_OK;
    }
}

/*
 * Fill `o` from the options table at `opts` (every key checked) and `url`
 * (a string at `url_idx`, or the table's url when 0). Pushes the filter
 * scratch (one value); the strings stay valid while opts is on the stack.
 */
static hl_code endpoint_options(lua_State *L, int opts, int url_idx, hl_endpoint_options *o,
                                hl_error *err)
{
    filter_scratch *fs = (filter_scratch *)lua_newuserdata(L, sizeof *fs);
    size_t i, n;

    if (lua_type(L, opts) != LUA_TTABLE && !lua_isnil(L, opts))
        return hll_set_error(err, HL_E_INVALID_ARGUMENT, "options must be a table, not a %s",
                             luaL_typename(L, opts));
    if (url_idx)
        o->url = lua_tostring(L, url_idx);
    if (lua_isnil(L, opts))
        return HL_OK;
    lua_pushnil(L);
    while (lua_next(L, opts) != 0) {
        const char *name = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        for (i = 0; name && i < N_OPT_FIELDS; i++)
            if (strcmp(name, OPT_FIELDS[i].name) == 0)
                break;
        if (name == NULL || i == N_OPT_FIELDS) {
            hll_set_error(err, HL_E_INVALID_ARGUMENT, "unknown endpoint option '%s'",
                          name ? name : "(not a string)");
            lua_pop(L, 2);
            return HL_E_INVALID_ARGUMENT;
        }
        if (OPT_FIELDS[i].kind != K_SPECIAL) {
            if (set_field(L, &OPT_FIELDS[i], o, err) != HL_OK) {
                lua_pop(L, 2);
                return err->code;
            }
        } else if (strcmp(name, "url") == 0) {
            if (lua_type(L, -1) != LUA_TSTRING) {
                lua_pop(L, 2);
                return hll_set_error(err, HL_E_INVALID_ARGUMENT, "url must be a string");
            }
            if (!url_idx)
                o->url = lua_tostring(L, -1); /* anchored by opts */
        } else if (strcmp(name, "ordering") == 0) {
            const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
            if (strcmp(s, "none") == 0)
                o->ordering = HL_ORDERING_NONE;
            else if (strcmp(s, "key") == 0)
                o->ordering = HL_ORDERING_KEY;
            else {
                lua_pop(L, 2);
                return hll_set_error(err, HL_E_INVALID_ARGUMENT,
                                     "ordering must be \"none\" or \"key\"");
            }
        } else if (strcmp(name, "events") == 0 || strcmp(name, "schedule") == 0) {
            int is_events = name[0] == 'e';
            size_t cap = is_events ? HL_FILTERS_MAX : HL_SCHEDULE_MAX;
            if (lua_type(L, -1) != LUA_TTABLE) {
                lua_pop(L, 2);
                return hll_set_error(err, HL_E_INVALID_ARGUMENT, "option '%s' must be an array",
                                     name);
            }
            n = lua_rawlen(L, -1);
            if (n > cap) {
                lua_pop(L, 2);
                return hll_set_error(err, HL_E_INVALID_ARGUMENT, "option '%s' has more than %zu "
                                     "entries", name, cap);
            }
            for (i = 0; i < n; i++) {
                hl_code rc = HL_OK;
                lua_rawgeti(L, -1, (int)i + 1);
                if (is_events) {
                    if (lua_type(L, -1) != LUA_TSTRING)
                        rc = hll_set_error(err, HL_E_INVALID_ARGUMENT,
                                           "events must be strings");
                    else
                        fs->items[i] = lua_tostring(L, -1); /* anchored by the array */
                } else {
                    rc = seconds_to_ms(L, -1, "schedule entry", &o->schedule_ms[i], err);
                }
                lua_pop(L, 1);
                if (rc != HL_OK) {
                    lua_pop(L, 2);
                    return rc;
                }
            }
            if (is_events) {
                o->filters = fs->items;
                o->n_filters = n;
            } else {
                o->n_schedule = n;
            }
        }
        lua_pop(L, 1);
    }
    return HL_OK;
}

/* ------------------------------------------------------------ methods */

/*** engine:add_endpoint(id, url [, opts]) -> true | nil, message, code
 * Add endpoint `id` delivering to `url`. opts (docs/engine.md and
 * hl_endpoint_options in c.md; durations in seconds): events (array of
 * event filters, e.g. "email.outbound.*"), active, max_events, max_bytes,
 * linger, unbatched, sparkpost_compat, jitter, deadline, max_attempts,
 * concurrency, rate, burst, throttle_start_rate, throttle_min_rate,
 * throttle_recover, breaker_window, breaker_min_attempts,
 * breaker_failure_ratio, breaker_half_open, breaker_disable_after,
 * breaker_max_trips, blocked_disable_after, schedule, ordering, now.
 * Errors: "endpoint_exists", "invalid_argument", "engine_reentered".
 */
static int engine_add_endpoint(lua_State *L)
{
    engine_ud *ud = check_engine(L);
    hl_endpoint_options o = HL_ENDPOINT_OPTIONS_INIT;
    hl_error err = HL_ERROR_INIT;
    uint64_t now;
    hl_code rc;

    lua_settop(L, 4);
    if (usable(ud, 1, &err) != HL_OK)
        return hll_fail_err(L, &err);
    if (lua_type(L, 2) != LUA_TSTRING || lua_type(L, 3) != LUA_TSTRING)
        return hll_fail(L, HL_E_INVALID_ARGUMENT, "endpoint id and url must be strings");
    if (endpoint_options(L, 4, 3, &o, &err) != HL_OK || opts_now(L, 4, &now, &err) != HL_OK)
        return hll_fail_err(L, &err);
    call_begin(L, ud, now);
    rc = hl_endpoint_add(ud->engine, lua_tostring(L, 2), &o, now, &err);
    if (call_end(L, ud, rc, &err))
        return 3;
    /* Remember the options (a copy, url included) for update_endpoint. */
    push_state(L, ud);
    lua_getfield(L, -1, "options");
    lua_newtable(L);
    if (lua_istable(L, 4)) {
        lua_pushnil(L);
        while (lua_next(L, 4) != 0) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, -4);
        }
    }
    lua_pushvalue(L, 3);
    lua_setfield(L, -2, "url");
    lua_pushnil(L);
    lua_setfield(L, -2, "now");
    lua_setfield(L, -2, lua_tostring(L, 2));
    lua_pushboolean(L, 1);
    return 1;
}

/*** engine:update_endpoint(id, changes) -> true | nil, message, code
 * Change endpoint `id`: the fields of `changes` (those of add_endpoint, and
 * url) replace the values last given; the others are kept. Errors:
 * "endpoint_unknown", "invalid_argument".
 */
static int engine_update_endpoint(lua_State *L)
{
    engine_ud *ud = check_engine(L);
    hl_endpoint_options o = HL_ENDPOINT_OPTIONS_INIT;
    hl_error err = HL_ERROR_INIT;
    uint64_t now;
    hl_code rc;
    int merged;

    lua_settop(L, 3);
    if (usable(ud, 1, &err) != HL_OK)
        return hll_fail_err(L, &err);
    if (lua_type(L, 2) != LUA_TSTRING)
        return hll_fail(L, HL_E_INVALID_ARGUMENT, "endpoint id must be a string");
    if (!lua_isnil(L, 3) && !lua_istable(L, 3))
        return hll_fail(L, HL_E_INVALID_ARGUMENT, "options must be a table");
    if (opts_now(L, 3, &now, &err) != HL_OK)
        return hll_fail_err(L, &err);
    /* merged = copy(old options or {}) + changes, without "now" */
    push_state(L, ud);
    lua_getfield(L, -1, "options");
    lua_getfield(L, -1, lua_tostring(L, 2));
    lua_newtable(L);
    merged = lua_gettop(L);
    if (lua_istable(L, merged - 1)) {
        lua_pushnil(L);
        while (lua_next(L, merged - 1) != 0) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, merged);
        }
    }
    if (lua_istable(L, 3)) {
        lua_pushnil(L);
        while (lua_next(L, 3) != 0) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, merged);
        }
    }
    lua_pushnil(L);
    lua_setfield(L, merged, "now");
    if (endpoint_options(L, merged, 0, &o, &err) != HL_OK)
        return hll_fail_err(L, &err);
    if (o.url == NULL)
        o.url = ""; /* unknown endpoint: let the engine name the real problem */
    call_begin(L, ud, now);
    rc = hl_endpoint_update(ud->engine, lua_tostring(L, 2), &o, now, &err);
    if (call_end(L, ud, rc, &err))
        return 3;
    lua_pushvalue(L, merged);
    lua_setfield(L, merged - 2, lua_tostring(L, 2));
    lua_pushboolean(L, 1);
    return 1;
}

enum id_op { OP_REMOVE, OP_ENABLE, OP_DISABLE, OP_REDRIVE };

static int id_now_call(lua_State *L, enum id_op op)
{
    engine_ud *ud = check_engine(L);
    hl_error err = HL_ERROR_INIT;
    uint64_t now;
    const char *id;
    hl_code rc = HL_OK;

    lua_settop(L, 3);
    if (usable(ud, 1, &err) != HL_OK || read_now(L, 3, &now, &err) != HL_OK)
        return hll_fail_err(L, &err);
    if (lua_type(L, 2) != LUA_TSTRING)
        return hll_fail(L, HL_E_INVALID_ARGUMENT, "id must be a string");
    id = lua_tostring(L, 2);
    call_begin(L, ud, now);
    switch (op) {
    case OP_REMOVE: rc = hl_endpoint_remove(ud->engine, id, now, &err); break;
    case OP_ENABLE: rc = hl_endpoint_enable(ud->engine, id, now, &err); break;
    case OP_DISABLE: rc = hl_endpoint_disable(ud->engine, id, now, &err); break;
    case OP_REDRIVE: rc = hl_engine_redrive(ud->engine, id, now, &err); break;
    }
    if (call_end(L, ud, rc, &err))
        return 3;
    if (op == OP_REMOVE) {
        push_state(L, ud);
        lua_getfield(L, -1, "options");
        lua_pushnil(L);
        lua_setfield(L, -2, id);
    }
    lua_pushboolean(L, 1);
    return 1;
}

/*** engine:remove_endpoint(id [, now]) -> true | nil, message, code
 * Forget endpoint `id`: its undelivered batches are dead-lettered
 * ("endpoint_removed"); one in flight settles when reported. Errors:
 * "endpoint_unknown".
 */
static int engine_remove_endpoint(lua_State *L) { return id_now_call(L, OP_REMOVE); }
/*** engine:enable_endpoint(id [, now]) -> true | nil, message, code
 * Deliver to `id` again (after disable_endpoint or a breaker disable).
 */
static int engine_enable_endpoint(lua_State *L) { return id_now_call(L, OP_ENABLE); }
/*** engine:disable_endpoint(id [, now]) -> true | nil, message, code
 * Stop delivering to `id` (reason "user"); its batches wait, their
 * deadlines run.
 */
static int engine_disable_endpoint(lua_State *L) { return id_now_call(L, OP_DISABLE); }
/*** engine:redrive(batch_id [, now]) -> true | nil, message, code
 * Queue a dead-lettered batch again now (same id and body, fresh
 * deadline). Errors: "batch_unknown", "batch_state" (not dead-lettered),
 * "endpoint_unknown" (its endpoint was removed).
 */
static int engine_redrive(lua_State *L) { return id_now_call(L, OP_REDRIVE); }

static int name_index(const char *name, const char *(*namer)(int), int count)
{
    for (int i = 0; name && i < count; i++)
        if (strcmp(namer(i), name) == 0)
            return i;
    return -1;
}

/*** engine:set_endpoint_disabled(id, reason [, now]) -> true | nil, message, code
 * Set the disabled state with its reason: "none" (enabled), "user",
 * "gone", "failing" or "blocked", e.g. when reloading saved state. Errors:
 * "endpoint_unknown", "invalid_argument" (another reason).
 */
static int engine_set_endpoint_disabled(lua_State *L)
{
    engine_ud *ud = check_engine(L);
    hl_error err = HL_ERROR_INIT;
    uint64_t now;
    int why;
    hl_code rc;

    lua_settop(L, 4);
    if (usable(ud, 1, &err) != HL_OK || read_now(L, 4, &now, &err) != HL_OK)
        return hll_fail_err(L, &err);
    if (lua_type(L, 2) != LUA_TSTRING)
        return hll_fail(L, HL_E_INVALID_ARGUMENT, "id must be a string");
    why = lua_type(L, 3) == LUA_TSTRING
              ? name_index(lua_tostring(L, 3), hl_disabled_reason_name, HL_DISABLED__SENTINEL)
              : -1;
    if (why < 0)
        return hll_fail(L, HL_E_INVALID_ARGUMENT,
                        "reason must be none, user, gone, failing or blocked");
    call_begin(L, ud, now);
    rc = hl_endpoint_set_disabled(ud->engine, lua_tostring(L, 2), (hl_disabled_reason)why, now,
                                  &err);
    if (call_end(L, ud, rc, &err))
        return 3;
    lua_pushboolean(L, 1);
    return 1;
}

/*** engine:endpoint_info(id) -> table | nil, message, code
 * Endpoint state: endpoint_id, url, disabled (reason or nil), breaker,
 * breaker_trips, in_flight, queued, pending_batches, effective_rate,
 * failing_since, options. Errors: "endpoint_unknown".
 */
static int engine_endpoint_info(lua_State *L)
{
    engine_ud *ud = check_engine(L);
    hl_error err = HL_ERROR_INIT;
    hl_endpoint_info info;

    if (usable(ud, 0, &err) != HL_OK)
        return hll_fail_err(L, &err);
    if (lua_type(L, 2) != LUA_TSTRING)
        return hll_fail(L, HL_E_INVALID_ARGUMENT, "id must be a string");
    if (hl_endpoint_info_get(ud->engine, lua_tostring(L, 2), &info, &err) != HL_OK)
        return hll_fail_err(L, &err);
    lua_newtable(L);
    SET_STR(L, "endpoint_id", info.endpoint_id);
    SET_STR(L, "url", info.url);
    SET_STR(L, "disabled", hl_disabled_reason_name(info.disabled));
    SET_STR(L, "breaker", hl_breaker_state_name(info.breaker));
    SET_INT(L, "breaker_trips", info.breaker_trips);
    SET_INT(L, "in_flight", info.in_flight);
    SET_INT(L, "queued", info.queued);
    SET_INT(L, "pending_batches", info.pending_batches);
    lua_pushnumber(L, info.effective_rate);
    lua_setfield(L, -2, "effective_rate");
    if (info.failing_since_ms)
        SET_SEC(L, "failing_since", info.failing_since_ms);
    return 1;
}

typedef void (*id_lister)(hl_engine *, size_t, const char **, size_t, size_t *);

static int list_ids(lua_State *L, id_lister lister)
{
    engine_ud *ud = check_engine(L);
    hl_error err = HL_ERROR_INIT;
    const char *ids[64];
    size_t n, offset = 0;
    int k = 0;

    if (usable(ud, 0, &err) != HL_OK)
        return hll_fail_err(L, &err);
    lua_newtable(L);
    do {
        lister(ud->engine, offset, ids, 64, &n);
        for (size_t i = 0; i < n; i++) {
            lua_pushstring(L, ids[i]);
            lua_rawseti(L, -2, ++k);
        }
        offset += n;
    } while (n == 64);
    return 1;
}

/*** engine:endpoints() -> array | nil, message, code
 * The endpoint ids.
 */
static int engine_endpoints(lua_State *L) { return list_ids(L, hl_endpoint_list); }
/*** engine:dead_letters() -> array | nil, message, code
 * The ids of the dead-lettered batches (see engine:batch, redrive, purge).
 */
static int engine_dead_letters(lua_State *L) { return list_ids(L, hl_engine_dead_letter_list); }

/* enqueue(type, data_json, opts) / enqueue_to(endpoint_id, type, data_json, opts):
 * -> id, routed | nil, message, code. opts: id, created_at, ordering_key, now. */
static int do_enqueue(lua_State *L, int direct)
{
    engine_ud *ud = check_engine(L);
    hl_error err = HL_ERROR_INIT;
    hl_event ev = HL_EVENT_INIT;
    int base = direct ? 3 : 2, opts = base + 2;
    char id_out[HL_ENGINE_ID_MAX];
    size_t routed = 0, len;
    uint64_t now;
    hl_code rc;

    lua_settop(L, opts);
    if (usable(ud, 1, &err) != HL_OK)
        return hll_fail_err(L, &err);
    if (direct && lua_type(L, 2) != LUA_TSTRING)
        return hll_fail(L, HL_E_INVALID_ARGUMENT, "endpoint id must be a string");
    if (lua_type(L, base) != LUA_TSTRING)
        return hll_fail(L, HL_E_INVALID_ARGUMENT, "event type must be a string");
    ev.type = lua_tostring(L, base);
    if (lua_type(L, base + 1) == LUA_TSTRING) {
        ev.data = lua_tolstring(L, base + 1, &len);
        ev.data_len = len;
    } else if (!lua_isnil(L, base + 1)) {
        return hll_fail(L, HL_E_INVALID_ARGUMENT, "event data must be a JSON string or nil");
    }
    if (hll_check_opts(L, opts, &err) != HL_OK ||
        hll_opt_string(L, opts, "id", &ev.id, &len, &err) != HL_OK ||
        hll_opt_string(L, opts, "ordering_key", &ev.ordering_key, &len, &err) != HL_OK ||
        opts_now(L, opts, &now, &err) != HL_OK)
        return hll_fail_err(L, &err);
    if (lua_istable(L, opts)) {
        if (raw_field(L, opts, "created_at") != LUA_TNIL &&
            seconds_to_ms(L, -1, "created_at", &ev.created_at_ms, &err) != HL_OK)
            return hll_fail_err(L, &err);
        lua_pop(L, 1);
    }
    call_begin(L, ud, now);
    if (direct) {
        rc = hl_engine_enqueue_to(ud->engine, lua_tostring(L, 2), &ev, now, id_out,
                                  sizeof id_out, &err);
        routed = 1;
    } else {
        rc = hl_engine_enqueue(ud->engine, &ev, now, &routed, id_out, sizeof id_out, &err);
    }
    if (call_end(L, ud, rc, &err))
        return 3;
    lua_pushstring(L, id_out);
    lua_pushinteger(L, (lua_Integer)routed);
    return 2;
}

/*** engine:enqueue(type [, data_json] [, opts]) -> id, routed | nil, message, code
 * Route one event (type, data as JSON text or nil) to the endpoints whose
 * filters (or `route` callback) accept it and batch it. opts.id (default
 * generated), opts.created_at, opts.ordering_key, opts.now. Returns the
 * event id and how many endpoints it went to. Errors: "event_invalid",
 * "event_too_large", "callback", "engine_reentered", "invalid_argument".
 */
static int engine_enqueue(lua_State *L) { return do_enqueue(L, 0); }
/*** engine:enqueue_to(endpoint_id, type [, data_json] [, opts]) -> id, routed | nil, message, code
 * As enqueue, to one endpoint regardless of filters (e.g. a test event).
 * Errors also "endpoint_unknown".
 */
static int engine_enqueue_to(lua_State *L) { return do_enqueue(L, 1); }

/*** engine:flush([now]) -> true | nil, message, code
 * Close every open batch now instead of waiting for its linger time.
 */
static int engine_flush(lua_State *L)
{
    engine_ud *ud = check_engine(L);
    hl_error err = HL_ERROR_INIT;
    uint64_t now;
    hl_code rc;

    lua_settop(L, 2);
    if (usable(ud, 1, &err) != HL_OK || read_now(L, 2, &now, &err) != HL_OK)
        return hll_fail_err(L, &err);
    call_begin(L, ud, now);
    rc = hl_engine_flush(ud->engine, now, &err);
    if (call_end(L, ud, rc, &err))
        return 3;
    lua_pushboolean(L, 1);
    return 1;
}

/*** engine:next_action([now]) -> action | nil, message, code
 * What to do next:
 *   {kind = "send", batch_id, endpoint_id, url, body, n_events, attempt,
 *    deadline, due, sparkpost_compat}   sign and POST body to url, then
 *                                       report_outcome(batch_id, ...)
 *   {kind = "wait", at = t}             call again at t (or after enqueue)
 *   {kind = "idle"}                     nothing queued
 * (+ callback_error when a `decide` run for an expired lease failed).
 */
static int engine_next_action(lua_State *L)
{
    engine_ud *ud = check_engine(L);
    hl_error err = HL_ERROR_INIT;
    hl_action a;
    uint64_t now;
    hl_code rc;

    lua_settop(L, 2);
    if (usable(ud, 1, &err) != HL_OK || read_now(L, 2, &now, &err) != HL_OK)
        return hll_fail_err(L, &err);
    /* Make room first: a memory error after the engine handed out a batch
     * would lose the action. */
    lua_createtable(L, 0, 10);
    call_begin(L, ud, now);
    rc = hl_engine_next_action(ud->engine, now, &a, &err);
    if (call_end(L, ud, rc, &err))
        return 3;
    if (a.kind == HL_ACTION_SEND) {
        SET_STR(L, "kind", "send");
        SET_STR(L, "batch_id", a.batch_id);
        SET_STR(L, "endpoint_id", a.endpoint_id);
        SET_STR(L, "url", a.url);
        lua_pushlstring(L, a.body, a.body_len);
        lua_setfield(L, -2, "body");
        SET_INT(L, "n_events", a.n_events);
        SET_INT(L, "attempt", a.attempt);
        SET_SEC(L, "deadline", a.deadline_ms);
        SET_SEC(L, "due", a.at_ms);
        SET_BOOL(L, "sparkpost_compat", a.sparkpost_compat);
    } else if (a.kind == HL_ACTION_WAIT) {
        SET_STR(L, "kind", "wait");
        SET_SEC(L, "at", a.at_ms);
    } else {
        SET_STR(L, "kind", "idle");
    }
    if (ud->cb_error[0]) {
        /* decide failed for an expired in-flight lease (the default policy
         * applied): failing the call would lose the action, so say it here. */
        SET_STR(L, "callback_error", ud->cb_error);
    }
    return 1;
}

/*** engine:report_outcome(batch_id, outcome [, now]) -> true | nil, message, code
 * Report how a "send" went. outcome: status (HTTP status, 0 when none),
 * failure ("none", "dns", "connect", "tls", "timeout", "reset", ...),
 * retry_after (the Retry-After header text), latency (seconds), body (an
 * excerpt of the answer). 2xx delivers the batch; the rest retries with
 * backoff or dead-letters it (docs/engine.md). Errors: "batch_unknown",
 * "batch_state", "callback", "invalid_argument".
 */
static int engine_report_outcome(lua_State *L)
{
    engine_ud *ud = check_engine(L);
    hl_error err = HL_ERROR_INIT;
    hl_outcome o = HL_OUTCOME_INIT;
    const char *failure, *ra;
    size_t len, ra_len;
    int64_t status;
    uint64_t now;
    hl_code rc;
    int i;

    lua_settop(L, 4);
    if (usable(ud, 1, &err) != HL_OK || read_now(L, 4, &now, &err) != HL_OK)
        return hll_fail_err(L, &err);
    if (lua_type(L, 2) != LUA_TSTRING)
        return hll_fail(L, HL_E_INVALID_ARGUMENT, "batch id must be a string");
    if (hll_check_opts(L, 3, &err) != HL_OK ||
        hll_opt_int64(L, 3, "status", 0, &status, &err) != HL_OK ||
        hll_opt_string(L, 3, "failure", &failure, &len, &err) != HL_OK ||
        hll_opt_string(L, 3, "body", &o.body_excerpt, &o.body_excerpt_len, &err) != HL_OK)
        return hll_fail_err(L, &err);
    if (status < 0 || status > 999)
        return hll_fail(L, HL_E_INVALID_ARGUMENT, "status must be 0 to 999");
    o.status = (int)status;
    if (failure != NULL) {
        for (i = 1; i < HL_FAILURE__SENTINEL; i++)
            if (strcmp(failure, FAILURES[i]) == 0)
                break;
        if (i == HL_FAILURE__SENTINEL)
            return hll_fail(L, HL_E_INVALID_ARGUMENT,
                            "failure must be dns, connect, tls, timeout, reset or blocked");
        o.failure = (hl_failure)i;
    }
    if (lua_istable(L, 3)) {
        int t = raw_field(L, 3, "retry_after");
        if (t == LUA_TNUMBER) {
            /* seconds as a number: the header's delay-seconds form */
            lua_pushfstring(L, "%d", (int)lua_tonumber(L, -1));
            lua_replace(L, -2);
            t = LUA_TSTRING;
        }
        if (t == LUA_TSTRING) {
            ra = lua_tolstring(L, -1, &ra_len);
            o.retry_after = ra; /* kept on the stack below */
            o.retry_after_len = ra_len;
        } else if (t != LUA_TNIL) {
            return hll_fail(L, HL_E_INVALID_ARGUMENT, "retry_after must be a string or number");
        }
        if (raw_field(L, 3, "latency") != LUA_TNIL &&
            seconds_to_ms(L, -1, "latency", &o.latency_ms, &err) != HL_OK)
            return hll_fail_err(L, &err);
        lua_pop(L, 1);
    }
    call_begin(L, ud, now);
    rc = hl_engine_report_outcome(ud->engine, lua_tostring(L, 2), &o, now, &err);
    if (call_end(L, ud, rc, &err))
        return 3;
    lua_pushboolean(L, 1);
    return 1;
}

/*** engine:batch(batch_id) -> table | nil, message, code
 * A batch's state (ids, state, body, attempts, deadline, settled, ...), the
 * table restore_batch accepts. Errors: "batch_unknown".
 */
static int engine_batch(lua_State *L)
{
    engine_ud *ud = check_engine(L);
    hl_error err = HL_ERROR_INIT;
    hl_batch_info b;

    if (usable(ud, 0, &err) != HL_OK)
        return hll_fail_err(L, &err);
    if (lua_type(L, 2) != LUA_TSTRING)
        return hll_fail(L, HL_E_INVALID_ARGUMENT, "batch id must be a string");
    if (hl_engine_batch_get(ud->engine, lua_tostring(L, 2), &b, &err) != HL_OK)
        return hll_fail_err(L, &err);
    lua_newtable(L);
    SET_STR(L, "batch_id", b.batch_id);
    SET_STR(L, "endpoint_id", b.endpoint_id);
    SET_STR(L, "state", hl_batch_state_name(b.state));
    if (b.ordering_key)
        SET_STR(L, "ordering_key", b.ordering_key);
    lua_pushlstring(L, b.body, b.body_len);
    lua_setfield(L, -2, "body");
    SET_INT(L, "n_events", b.n_events);
    SET_SEC(L, "created", b.created_ms);
    SET_SEC(L, "deadline", b.deadline_ms);
    if (b.close_at_ms)
        SET_SEC(L, "close_at", b.close_at_ms);
    if (b.next_attempt_ms)
        SET_SEC(L, "next_attempt", b.next_attempt_ms);
    SET_INT(L, "attempts", b.attempts);
    SET_INT(L, "total_attempts", b.total_attempts);
    SET_INT(L, "redrives", b.redrives);
    SET_INT(L, "last_status", b.last_status);
    if (b.last_failure != HL_FAILURE_NONE)
        SET_STR(L, "last_failure", FAILURES[b.last_failure]);
    if (b.dead_reason)
        SET_STR(L, "dead_reason", b.dead_reason);
    if (b.settled_ms)
        SET_SEC(L, "settled", b.settled_ms);
    return 1;
}

/*** engine:stats() -> table
 * Counters: batches, endpoints, pending_events, pending_body_bytes,
 * events_enqueued, batches_delivered, batches_dead_lettered, attempts,
 * attempt_records.
 */
static int engine_stats(lua_State *L)
{
    engine_ud *ud = check_engine(L);
    hl_error err = HL_ERROR_INIT;
    hl_engine_stats st;

    if (usable(ud, 0, &err) != HL_OK)
        return hll_fail_err(L, &err);
    hl_engine_stats_get(ud->engine, &st);
    lua_newtable(L);
    lua_newtable(L);
    for (int i = 0; i < HL_BATCH__SENTINEL; i++)
        SET_INT(L, hl_batch_state_name(i), st.batches[i]);
    lua_setfield(L, -2, "batches");
    SET_INT(L, "endpoints", st.endpoints);
    SET_INT(L, "pending_events", st.pending_events);
    SET_INT(L, "pending_body_bytes", st.pending_body_bytes);
    SET_INT(L, "events_enqueued", st.events_enqueued);
    SET_INT(L, "batches_delivered", st.batches_delivered);
    SET_INT(L, "batches_dead_lettered", st.batches_dead_lettered);
    SET_INT(L, "attempts", st.attempts);
    SET_INT(L, "attempt_records", st.attempt_records);
    return 1;
}

/*** engine:attempts() -> array
 * The attempt records kept (see opts.max_attempt_records), oldest first.
 */
static int engine_attempts(lua_State *L)
{
    engine_ud *ud = check_engine(L);
    hl_error err = HL_ERROR_INIT;
    hl_attempt_record r;
    size_t n;

    if (usable(ud, 0, &err) != HL_OK)
        return hll_fail_err(L, &err);
    n = hl_engine_attempt_count(ud->engine);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        if (hl_engine_attempt_at(ud->engine, i, &r, NULL) != HL_OK)
            break;
        lua_newtable(L);
        SET_STR(L, "batch_id", r.batch_id);
        SET_STR(L, "endpoint_id", r.endpoint_id);
        SET_INT(L, "attempt", r.attempt);
        SET_SEC(L, "at", r.at_ms);
        SET_SEC(L, "sent", r.sent_ms);
        SET_INT(L, "status", r.status);
        SET_STR(L, "failure", hl_failure_class_name(r.failure));
        SET_BOOL(L, "delivered", r.delivered);
        SET_SEC(L, "latency", r.latency_ms);
        lua_pushlstring(L, r.excerpt ? r.excerpt : "", r.excerpt_len);
        lua_setfield(L, -2, "excerpt");
        lua_rawseti(L, -2, (int)i + 1);
    }
    return 1;
}

/*** engine:purge([batch_id]) -> true | nil, message, code
 * Delete one dead-lettered batch, or all of them, for good.
 */
static int engine_purge(lua_State *L)
{
    engine_ud *ud = check_engine(L);
    hl_error err = HL_ERROR_INIT;
    hl_code rc;

    lua_settop(L, 2);
    if (usable(ud, 1, &err) != HL_OK)
        return hll_fail_err(L, &err);
    if (!lua_isnil(L, 2) && lua_type(L, 2) != LUA_TSTRING)
        return hll_fail(L, HL_E_INVALID_ARGUMENT, "batch id must be a string or nil");
    call_begin(L, ud, 0);
    rc = hl_engine_purge(ud->engine, lua_isnil(L, 2) ? NULL : lua_tostring(L, 2), &err);
    if (call_end(L, ud, rc, &err))
        return 3;
    lua_pushboolean(L, 1);
    return 1;
}

/* A seconds field of a batch table (absent: 0). */
static hl_code batch_ms(lua_State *L, int t, const char *name, uint64_t *out, hl_error *err)
{
    hl_code rc = HL_OK;
    *out = 0;
    if (raw_field(L, t, name) != LUA_TNIL)
        rc = seconds_to_ms(L, -1, name, out, err);
    lua_pop(L, 1);
    return rc;
}

static hl_code batch_uint(lua_State *L, int t, const char *name, unsigned int *out, hl_error *err)
{
    int64_t v;
    hl_code rc = hll_opt_int64(L, t, name, 0, &v, err);
    if (rc == HL_OK && (v < 0 || v > (int64_t)UINT32_MAX))
        rc = hll_set_error(err, HL_E_INVALID_ARGUMENT, "batch field '%s' out of range", name);
    if (rc == HL_OK)
        *out = (unsigned int)v;
    return rc;
}

/*** engine:restore_batch(batch [, now]) -> true | nil, message, code
 * Put back a batch saved from engine:batch() (e.g. after a restart, from
 * your own store). Errors: "batch_exists", "endpoint_unknown",
 * "invalid_argument".
 */
static int engine_restore_batch(lua_State *L)
{
    engine_ud *ud = check_engine(L);
    hl_error err = HL_ERROR_INIT;
    hl_batch_info b;
    const char *state, *failure;
    size_t len;
    unsigned int n_events, last_status;
    uint64_t now;
    int s = -1;
    hl_code rc;

    lua_settop(L, 3);
    if (usable(ud, 1, &err) != HL_OK || read_now(L, 3, &now, &err) != HL_OK)
        return hll_fail_err(L, &err);
    if (!lua_istable(L, 2))
        return hll_fail(L, HL_E_INVALID_ARGUMENT, "batch must be a table");
    memset(&b, 0, sizeof b);
    if (hll_opt_string(L, 2, "batch_id", &b.batch_id, &len, &err) != HL_OK ||
        hll_opt_string(L, 2, "endpoint_id", &b.endpoint_id, &len, &err) != HL_OK ||
        hll_opt_string(L, 2, "state", &state, &len, &err) != HL_OK ||
        hll_opt_string(L, 2, "ordering_key", &b.ordering_key, &len, &err) != HL_OK ||
        hll_opt_string(L, 2, "body", &b.body, &b.body_len, &err) != HL_OK ||
        hll_opt_string(L, 2, "dead_reason", &b.dead_reason, &len, &err) != HL_OK ||
        hll_opt_string(L, 2, "last_failure", &failure, &len, &err) != HL_OK ||
        batch_uint(L, 2, "n_events", &n_events, &err) != HL_OK ||
        batch_uint(L, 2, "attempts", &b.attempts, &err) != HL_OK ||
        batch_uint(L, 2, "total_attempts", &b.total_attempts, &err) != HL_OK ||
        batch_uint(L, 2, "redrives", &b.redrives, &err) != HL_OK ||
        batch_uint(L, 2, "last_status", &last_status, &err) != HL_OK ||
        batch_ms(L, 2, "created", &b.created_ms, &err) != HL_OK ||
        batch_ms(L, 2, "deadline", &b.deadline_ms, &err) != HL_OK ||
        batch_ms(L, 2, "close_at", &b.close_at_ms, &err) != HL_OK ||
        batch_ms(L, 2, "next_attempt", &b.next_attempt_ms, &err) != HL_OK ||
        batch_ms(L, 2, "settled", &b.settled_ms, &err) != HL_OK)
        return hll_fail_err(L, &err);
    if (b.batch_id == NULL || b.endpoint_id == NULL || b.body == NULL)
        return hll_fail(L, HL_E_INVALID_ARGUMENT, "batch needs batch_id, endpoint_id and body");
    if ((s = name_index(state, hl_batch_state_name, HL_BATCH__SENTINEL)) < 0)
        return hll_fail(L, HL_E_INVALID_ARGUMENT, "unknown batch state");
    b.state = (hl_batch_state)s;
    b.n_events = n_events;
    b.last_status = (int)last_status;
    if (failure != NULL) {
        int i;
        for (i = 1; i < HL_FAILURE__SENTINEL && strcmp(failure, FAILURES[i]) != 0; i++)
            ;
        if (i == HL_FAILURE__SENTINEL)
            return hll_fail(L, HL_E_INVALID_ARGUMENT, "unknown last_failure");
        b.last_failure = (hl_failure)i;
    }
    call_begin(L, ud, now);
    rc = hl_engine_restore_batch(ud->engine, &b, now, &err);
    if (call_end(L, ud, rc, &err))
        return 3;
    lua_pushboolean(L, 1);
    return 1;
}

/* ------------------------------------------------------ module level */

/*** hookline.event_types() -> array
 * The event types of hookline's catalogue ("email.outbound.delivered", ...).
 */
static int l_event_types(lua_State *L)
{
    size_t n = hl_event_type_count();
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_pushstring(L, hl_event_type_at(i));
        lua_rawseti(L, -2, (int)i + 1);
    }
    return 1;
}

/*** hookline.event_filter_match(pattern, type) -> boolean
 * Whether event filter `pattern` ("email.outbound.*", "*", an exact type)
 * matches `type`, as endpoint filters do. Raises a Lua error when either is
 * not a string.
 */
static int l_event_filter_match(lua_State *L)
{
    const char *pattern = luaL_checkstring(L, 1), *type = luaL_checkstring(L, 2);
    lua_pushboolean(L, hl_event_filter_match(pattern, type));
    return 1;
}

void hll_open_engine(lua_State *L)
{
    static const luaL_Reg methods[] = {{"add_endpoint", engine_add_endpoint},
                                       {"update_endpoint", engine_update_endpoint},
                                       {"remove_endpoint", engine_remove_endpoint},
                                       {"enable_endpoint", engine_enable_endpoint},
                                       {"disable_endpoint", engine_disable_endpoint},
                                       {"set_endpoint_disabled", engine_set_endpoint_disabled},
                                       {"endpoint_info", engine_endpoint_info},
                                       {"endpoints", engine_endpoints},
                                       {"enqueue", engine_enqueue},
                                       {"enqueue_to", engine_enqueue_to},
                                       {"flush", engine_flush},
                                       {"next_action", engine_next_action},
                                       {"report_outcome", engine_report_outcome},
                                       {"batch", engine_batch},
                                       {"stats", engine_stats},
                                       {"attempts", engine_attempts},
                                       {"dead_letters", engine_dead_letters},
                                       {"redrive", engine_redrive},
                                       {"purge", engine_purge},
                                       {"restore_batch", engine_restore_batch},
                                       {"close", engine_close},
                                       {NULL, NULL}};
    static const luaL_Reg meta[] = {{"__gc", engine_close},
                                    {"__close", engine_close},
                                    {"__tostring", engine_tostring},
                                    {NULL, NULL}};
    hll_new_class(L, ENGINE_MT, methods, meta);
    lua_pushcfunction(L, l_engine);
    lua_setfield(L, -2, "engine");
    lua_pushcfunction(L, l_event_types);
    lua_setfield(L, -2, "event_types");
    lua_pushcfunction(L, l_event_filter_match);
    lua_setfield(L, -2, "event_filter_match");
}
