/*
 * worker_lua.c - hookline.worker(path, opts): the sending worker
 * (hookline/worker.h: SQLite outbox + engine + libcurl dispatcher) as a
 * userdata, and hookline.submit_events(path, events) for other processes.
 *
 *   local w = assert(hookline.worker("outbox.db", {allow_http = true,
 *                    allow_cidrs = {"127.0.0.0/8"}, allow_ports = {8080}}))
 *   local cfg = assert(w:add_endpoint("ep", '{"url":"http://127.0.0.1:8080/in"}'))
 *   assert(w:enqueue("email.outbound.sent", '{"message_id":"m1"}'))
 *   w:run({until_idle = true, timeout = 30})
 *   for _, a in ipairs(w:attempts()) do print(a.batch_id, a.status, a.latency) end
 *
 * Failures return nil, message, code. Times are Unix seconds, durations
 * seconds. Configuration documents and event data are JSON text (a table
 * is encoded with lua-cjson when it is installed). The calls BLOCK (network,
 * fsync): never use a worker inside an nginx worker.
 *
 * on_attempt(report) runs inside lua_pcall after every finished attempt
 * (the report holds no secrets); an error raised in it is kept as the
 * `callback_error` field of the progress table and loses nothing.
 */
/* clock_gettime under strict C11 */
#define _POSIX_C_SOURCE 200809L

#include "hookline_lua.h"

#include "hookline/worker.h"

#include <string.h>
#include <time.h>

#define WORKER_MT "hookline.worker"

typedef struct worker_ud {
    hl_worker *w;
    lua_State *L;      /* the state of the call running, for on_attempt */
    int cb_ref;        /* on_attempt function or LUA_NOREF */
    int in_call;       /* a call is running (re-entry from on_attempt) */
    char cb_error[256];
    hl_metrics metrics;
} worker_ud;

static worker_ud *check_worker(lua_State *L)
{
    worker_ud *ud = (worker_ud *)luaL_checkudata(L, 1, WORKER_MT);
    if (ud->w == NULL)
        luaL_error(L, "hookline.worker: the worker is closed");
    if (ud->in_call)
        luaL_error(L, "hookline.worker: called from its own on_attempt callback");
    ud->L = L;
    return ud;
}

static void setnum(lua_State *L, const char *k, double v)
{
    lua_pushnumber(L, v);
    lua_setfield(L, -2, k);
}
static void setint(lua_State *L, const char *k, long long v)
{
    lua_pushinteger(L, (lua_Integer)v);
    lua_setfield(L, -2, k);
}
static void setstr(lua_State *L, const char *k, const char *v)
{
    if (v == NULL || *v == '\0')
        return; /* absent = nil */
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}
static void setbool(lua_State *L, const char *k, int v)
{
    lua_pushboolean(L, v);
    lua_setfield(L, -2, k);
}

static double secs(uint64_t ms)
{
    return (double)ms / 1000.0;
}

/* A number of seconds >= 0 from opts[field] (default dflt) into ms. */
static int opt_seconds(lua_State *L, int opts, const char *field, double dflt, uint64_t *out)
{
    double v = dflt;
    if (lua_istable(L, opts)) {
        lua_getfield(L, opts, field);
        if (!lua_isnil(L, -1)) {
            if (!lua_isnumber(L, -1)) {
                lua_pop(L, 1);
                return 0;
            }
            v = lua_tonumber(L, -1);
        }
        lua_pop(L, 1);
    }
    if (!(v >= 0) || v > 1e12)
        return 0;
    *out = (uint64_t)(v * 1000.0 + 0.5);
    return 1;
}

static int opt_flag(lua_State *L, int opts, const char *field, int dflt)
{
    int v = dflt;
    if (lua_istable(L, opts)) {
        lua_getfield(L, opts, field);
        if (!lua_isnil(L, -1))
            v = lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    return v;
}

/* JSON text at idx: a string as is, a table through cjson.encode. Leaves
 * the text on the stack top; NULL with an error message there otherwise. */
static const char *json_arg(lua_State *L, int idx, size_t *len)
{
    if (lua_type(L, idx) == LUA_TSTRING) {
        lua_pushvalue(L, idx);
        return lua_tolstring(L, -1, len);
    }
    if (lua_istable(L, idx)) {
        lua_getglobal(L, "require");
        lua_pushstring(L, "cjson");
        if (lua_pcall(L, 1, 1, 0) != 0) {
            lua_pop(L, 1);
            lua_pushstring(L, "a table needs lua-cjson; pass JSON text instead");
            return NULL;
        }
        lua_getfield(L, -1, "encode");
        lua_remove(L, -2);
        lua_pushvalue(L, idx);
        if (lua_pcall(L, 1, 1, 0) != 0)
            return NULL;
        return lua_tolstring(L, -1, len);
    }
    lua_pushstring(L, "expected JSON text or a table");
    return NULL;
}

/* ------------------------------------------------------------ callbacks */

static void push_report(lua_State *L, const hl_attempt_report *r)
{
    int ok = r->failure == HL_FAILURE_NONE && r->status >= 200 && r->status < 300;
    lua_createtable(L, 0, 16);
    setstr(L, "batch_id", r->batch_id);
    setstr(L, "endpoint", r->endpoint_id);
    setstr(L, "host", r->host);
    setint(L, "attempt", r->attempt);
    setint(L, "events", r->n_events);
    setint(L, "status", r->status);
    setbool(L, "delivered", ok);
    setstr(L, "failure_class", ok ? "none" : r->failure_class);
    setstr(L, "error_code", r->error_code ? hl_code_name(r->error_code) : NULL);
    setstr(L, "error", r->error_message);
    setnum(L, "latency", secs(r->latency_ms));
    setint(L, "bytes_sent", (long long)r->bytes_sent);
    setint(L, "bytes_received", (long long)r->bytes_received);
    setint(L, "http_version", r->http_version);
    setbool(L, "test", r->test);
}

static void on_attempt(void *user, const hl_attempt_report *r)
{
    worker_ud *ud = user;
    lua_State *L = ud->L;
    int ok = r->failure == HL_FAILURE_NONE && r->status >= 200 && r->status < 300;
    if (!r->test)
        hl_metrics_record_attempt(&ud->metrics, ok, r->failure, r->latency_ms);
    if (ud->cb_ref == LUA_NOREF || L == NULL)
        return;
    if (!lua_checkstack(L, 8))
        return;
    lua_rawgeti(L, LUA_REGISTRYINDEX, ud->cb_ref);
    push_report(L, r);
    ud->in_call = 1;
    if (lua_pcall(L, 1, 0, 0) != 0) {
        if (ud->cb_error[0] == '\0') {
            const char *m = lua_tostring(L, -1);
            snprintf(ud->cb_error, sizeof ud->cb_error, "%s", m ? m : "error object");
        }
        lua_pop(L, 1);
    }
    ud->in_call = 0;
}

/* ------------------------------------------------------------ open/close */

/*** @area `hookline`: worker (sending)
 * The whole sending side in one object: an SQLite outbox, the engine and
 * the libcurl dispatcher (docs/sending.md, the same C API as the `hookline`
 * command). Configuration documents and event data are JSON text (a table
 * is encoded with lua-cjson when it is installed). Times are Unix seconds,
 * durations seconds.
 *
 * The calls BLOCK (network, fsync): use a worker in a standalone Lua
 * process, never inside an nginx worker. A worker belongs to one Lua state;
 * calling it from its own on_attempt callback raises an error.
 */

/*** hookline.worker(path [, opts]) -> worker | nil, message, code
 * Open (or create) the outbox at `path` and start a worker over it.
 *   opts.allow_http     boolean: endpoints may use http:// (tests)
 *   opts.allow_cidrs    array of CIDRs exempt from the SSRF address check
 *   opts.allow_ports    array of extra ports allowed (1-65535)
 *   opts.ca_file        CA bundle for TLS (default: the system's)
 *   opts.seed           jitter seed (integer >= 0; 0: random)
 *   opts.drain_timeout  seconds worker:run() gives attempts in flight when
 *                       it stops (default 30; unfinished ones are retried)
 *   opts.on_attempt     function(report) called after every finished
 *                       attempt (batch_id, endpoint, status, failure_class,
 *                       latency, ...; no secrets). An error raised in it is
 *                       kept as `callback_error` of the progress table.
 * Errors: "invalid_argument", "store_io" (the outbox cannot be opened).
 */
static int l_worker(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    hl_worker_options o = HL_WORKER_OPTIONS_INIT;
    const char *cidrs[64];
    uint16_t ports[64];
    size_t n;
    uint64_t drain_ms = 30000;
    hl_error err = HL_ERROR_INIT;
    worker_ud *ud;

    o.db_path = path;
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        o.url.allow_http = opt_flag(L, 2, "allow_http", 0);
        lua_getfield(L, 2, "allow_cidrs");
        if (lua_istable(L, -1)) {
            for (n = 0; n < 64; n++) {
                lua_rawgeti(L, -1, (lua_Integer)n + 1);
                if (lua_isnil(L, -1)) {
                    lua_pop(L, 1);
                    break;
                }
                cidrs[n] = lua_tostring(L, -1); /* kept alive by the opts table */
                lua_pop(L, 1);
                if (cidrs[n] == NULL)
                    return hll_fail(L, HL_E_INVALID_ARGUMENT, "allow_cidrs: strings expected");
            }
            o.url.allow_cidrs = cidrs;
            o.url.n_allow_cidrs = n;
        }
        lua_pop(L, 1);
        lua_getfield(L, 2, "allow_ports");
        if (lua_istable(L, -1)) {
            for (n = 0; n < 64; n++) {
                lua_rawgeti(L, -1, (lua_Integer)n + 1);
                if (lua_isnil(L, -1)) {
                    lua_pop(L, 1);
                    break;
                }
                lua_Number p = lua_tonumber(L, -1);
                lua_pop(L, 1);
                if (!(p >= 1 && p <= 65535))
                    return hll_fail(L, HL_E_INVALID_ARGUMENT,
                                    "allow_ports: each port must be in 1..65535");
                ports[n] = (uint16_t)p;
            }
            o.url.allow_ports = ports;
            o.url.n_allow_ports = n;
        }
        lua_pop(L, 1);
        lua_getfield(L, 2, "ca_file");
        o.ca_file = lua_tostring(L, -1);
        lua_pop(L, 1);
        lua_getfield(L, 2, "seed");
        if (!lua_isnil(L, -1)) {
            lua_Number s = lua_tonumber(L, -1);
            if (!(s >= 0))
                return hll_fail(L, HL_E_INVALID_ARGUMENT, "seed must be >= 0");
            o.seed = (uint64_t)s;
        }
        lua_pop(L, 1);
        if (!opt_seconds(L, 2, "drain_timeout", 30.0, &drain_ms))
            return hll_fail(L, HL_E_INVALID_ARGUMENT, "drain_timeout must be seconds >= 0");
    }
    o.drain_timeout_ms = drain_ms;
    ud = (worker_ud *)lua_newuserdata(L, sizeof *ud);
    memset(ud, 0, sizeof *ud);
    ud->cb_ref = LUA_NOREF;
    hl_metrics_init(&ud->metrics);
    luaL_setmetatable(L, WORKER_MT);
    if (lua_istable(L, 2)) {
        lua_getfield(L, 2, "on_attempt");
        if (lua_isfunction(L, -1))
            ud->cb_ref = luaL_ref(L, LUA_REGISTRYINDEX);
        else
            lua_pop(L, 1);
    }
    o.on_attempt = on_attempt;
    o.attempt_user = ud;
    if (hl_worker_open(&ud->w, &o, NULL, &err) != HL_OK) {
        ud->w = NULL;
        return hll_fail_err(L, &err);
    }
    return 1;
}

/*** worker:close()
 * Stop at once: attempts in flight are abandoned (sent again after the next
 * open; call worker:drain() first for a clean stop), then close the outbox.
 * Idempotent; also run by `__close` and `__gc`.
 */
static int w_close(lua_State *L)
{
    worker_ud *ud = (worker_ud *)luaL_checkudata(L, 1, WORKER_MT);
    if (ud->in_call)
        return luaL_error(L, "hookline.worker: close from its own on_attempt callback");
    hl_worker_close(ud->w);
    ud->w = NULL;
    if (ud->cb_ref != LUA_NOREF) {
        luaL_unref(L, LUA_REGISTRYINDEX, ud->cb_ref);
        ud->cb_ref = LUA_NOREF;
    }
    return 0;
}

static int w_tostring(lua_State *L)
{
    worker_ud *ud = (worker_ud *)luaL_checkudata(L, 1, WORKER_MT);
    lua_pushfstring(L, "hookline.worker (%s)", ud->w ? "open" : "closed");
    return 1;
}

/* ------------------------------------------------------------ endpoints */

static void push_test(lua_State *L, const hl_test_response *t)
{
    lua_createtable(L, 0, 12);
    setbool(L, "ok", t->failure == HL_FAILURE_NONE && t->status >= 200 && t->status < 300);
    setint(L, "status", t->status);
    setstr(L, "failure_class", hl_failure_class_name(t->failure));
    setstr(L, "error_code", t->error_code ? hl_code_name(t->error_code) : NULL);
    setstr(L, "message", t->message);
    setnum(L, "latency", secs(t->latency_ms));
    setint(L, "http_version", t->http_version);
    setint(L, "timestamp", t->timestamp);
    setstr(L, "msg_id", t->msg_id);
    setstr(L, "content_type", t->content_type);
    setstr(L, "retry_after", t->retry_after);
    lua_pushlstring(L, t->body_excerpt, t->body_excerpt_len);
    lua_setfield(L, -2, "body_excerpt");
}

/*** worker:add_endpoint(id, config [, opts]) -> config_json, test | nil, message, code, test
 * Register endpoint `id` from `config` (JSON text or a table: url, events,
 * secret, auth, limits; docs/sending.md). Unless opts.test is false, a
 * signed test request is sent first and the endpoint is refused when it
 * does not answer 2xx. Returns the stored configuration JSON (with its
 * generated secrets: show them once) and the test response table (ok,
 * status, failure_class, error_code, message, latency, http_version,
 * timestamp, msg_id, content_type, retry_after, body_excerpt) or nil. On
 * failure the 4th value is the test response, if a test ran. Errors:
 * "invalid_argument", "config_unknown_field", "config_type", "config_range",
 * "config_missing", "endpoint_exists", "endpoint_test_failed", the URL/SSRF
 * codes, "store_io".
 */
static int endpoint_put(lua_State *L, int update)
{
    worker_ud *ud = check_worker(L);
    const char *id = luaL_checkstring(L, 2);
    size_t len;
    const char *json = json_arg(L, 3, &len);
    hl_test_response t;
    hl_error err = HL_ERROR_INIT;
    char *stored = NULL;
    int skip = !opt_flag(L, 4, "test", 1);
    hl_code c;
    if (json == NULL)
        return hll_fail(L, HL_E_INVALID_ARGUMENT, lua_tostring(L, -1));
    memset(&t, 0, sizeof t);
    c = update ? hl_worker_endpoint_update(ud->w, id, json, len, skip ? HL_WORKER_SKIP_TEST : 0,
                                           &t, &err)
               : hl_worker_endpoint_add(ud->w, id, json, len, skip ? HL_WORKER_SKIP_TEST : 0,
                                        &t, &err);
    if (c == HL_OK)
        c = hl_worker_endpoint_get(ud->w, id, 0, &stored, NULL, &err);
    if (c != HL_OK) {
        hll_fail_err(L, &err);
        if (!skip && (t.status || t.failure))
            push_test(L, &t);
        else
            lua_pushnil(L);
        return 4; /* nil, message, code, test response */
    }
    lua_pushstring(L, stored);
    hl_endpoint_config_json_free(stored);
    if (!skip && (t.status || t.failure))
        push_test(L, &t);
    else
        lua_pushnil(L);
    return 2;
}

static int w_add_endpoint(lua_State *L)
{
    return endpoint_put(L, 0);
}
/*** worker:update_endpoint(id, config [, opts]) -> config_json, test | nil, message, code, test
 * Replace endpoint `id`'s configuration; as add_endpoint (the endpoint must
 * exist: "endpoint_unknown").
 */
static int w_update_endpoint(lua_State *L)
{
    return endpoint_put(L, 1);
}

static int endpoint_simple(lua_State *L, hl_code (*fn)(hl_worker *, const char *, hl_error *))
{
    worker_ud *ud = check_worker(L);
    hl_error err = HL_ERROR_INIT;
    if (fn(ud->w, luaL_checkstring(L, 2), &err) != HL_OK)
        return hll_fail_err(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}
/*** worker:remove_endpoint(id) -> true | nil, message, code
 * Remove endpoint `id` (its queued batches are dead-lettered). Errors:
 * "endpoint_unknown", "store_io".
 */
static int w_remove_endpoint(lua_State *L)
{
    return endpoint_simple(L, hl_worker_endpoint_remove);
}
/*** worker:enable_endpoint(id) -> true | nil, message, code
 * Re-enable a disabled endpoint (manually or by its circuit breaker).
 */
static int w_enable_endpoint(lua_State *L)
{
    return endpoint_simple(L, hl_worker_endpoint_enable);
}
/*** worker:disable_endpoint(id) -> true | nil, message, code
 * Stop delivering to `id`; its events wait in the outbox until it is
 * enabled again (or their deadline passes).
 */
static int w_disable_endpoint(lua_State *L)
{
    return endpoint_simple(L, hl_worker_endpoint_disable);
}

/*** worker:endpoint(id [, opts]) -> config_json, info | nil, message, code
 * Endpoint `id`'s configuration (secrets redacted unless opts.reveal) and
 * its live state: disabled (reason or nil), breaker, breaker_trips,
 * in_flight, queued, pending_batches, effective_rate, failing_since.
 */
static int w_endpoint(lua_State *L)
{
    worker_ud *ud = check_worker(L);
    const char *id = luaL_checkstring(L, 2);
    char *json = NULL;
    hl_endpoint_info i;
    hl_error err = HL_ERROR_INIT;
    if (hl_worker_endpoint_get(ud->w, id, opt_flag(L, 3, "reveal", 0) ? 0 : HL_CONFIG_REDACT,
                               &json, &i, &err) != HL_OK)
        return hll_fail_err(L, &err);
    lua_pushstring(L, json);
    hl_endpoint_config_json_free(json);
    lua_createtable(L, 0, 8);
    setstr(L, "disabled", i.disabled ? hl_disabled_reason_name(i.disabled) : NULL);
    setstr(L, "breaker", hl_breaker_state_name(i.breaker));
    setint(L, "breaker_trips", i.breaker_trips);
    setint(L, "in_flight", i.in_flight);
    setint(L, "queued", (long long)i.queued);
    setint(L, "pending_batches", (long long)i.pending_batches);
    setnum(L, "effective_rate", i.effective_rate);
    if (i.failing_since_ms)
        setnum(L, "failing_since", secs(i.failing_since_ms));
    return 2;
}

static int list_one(void *user, const char *id, const char *json, hl_disabled_reason disabled)
{
    lua_State *L = user;
    lua_createtable(L, 0, 3);
    setstr(L, "id", id);
    setstr(L, "config", json);
    setstr(L, "disabled", disabled ? hl_disabled_reason_name(disabled) : NULL);
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    return 0;
}

/*** worker:endpoints() -> array | nil, message, code
 * Every endpoint as {id, config (redacted JSON), disabled}.
 */
static int w_endpoints(lua_State *L)
{
    worker_ud *ud = check_worker(L);
    hl_error err = HL_ERROR_INIT;
    lua_newtable(L);
    if (hl_worker_endpoint_list(ud->w, list_one, L, &err) != HL_OK)
        return hll_fail_err(L, &err);
    return 1;
}

/*** worker:test_endpoint(id [, opts]) -> test | nil, message, code
 * Send a signed test request to `id` now (BLOCKS up to the endpoint's
 * timeout) and return the test response table (see add_endpoint).
 * opts.stale: sign it with an old timestamp, to check the receiver rejects
 * it.
 */
static int w_test_endpoint(lua_State *L)
{
    worker_ud *ud = check_worker(L);
    const char *id = luaL_checkstring(L, 2);
    hl_test_response t;
    hl_error err = HL_ERROR_INIT;
    memset(&t, 0, sizeof t);
    if (hl_worker_endpoint_test(ud->w, id, opt_flag(L, 3, "stale", 0) ? HL_TEST_STALE : 0, &t,
                                &err) != HL_OK)
        return hll_fail_err(L, &err);
    push_test(L, &t);
    return 1;
}

/*** worker:rotate_secret(id [, new_secret] [, opts]) -> secret | nil, message, code
 * Start signing with `new_secret` (generated when nil) while the old secret
 * keeps signing too for opts.grace seconds (default 86400), so receivers
 * can switch. Returns the new secret (show it once).
 */
static int w_rotate_secret(lua_State *L)
{
    worker_ud *ud = check_worker(L);
    const char *id = luaL_checkstring(L, 2);
    const char *secret = luaL_optstring(L, 3, NULL);
    uint64_t grace;
    char *out = NULL;
    hl_error err = HL_ERROR_INIT;
    if (!opt_seconds(L, 4, "grace", 86400.0, &grace))
        return hll_fail(L, HL_E_INVALID_ARGUMENT, "grace must be seconds >= 0");
    if (hl_worker_rotate_secret(ud->w, id, secret, grace, &out, &err) != HL_OK)
        return hll_fail_err(L, &err);
    lua_pushstring(L, out);
    hl_endpoint_config_json_free(out);
    return 1;
}

/* ------------------------------------------------------------ events */

/* An event from (type, data, opts) at idx..idx+2; strings stay on the stack. */
static int event_at(lua_State *L, int idx, hl_event *ev)
{
    uint64_t created = 0;
    *ev = (hl_event)HL_EVENT_INIT;
    ev->type = lua_tostring(L, idx);
    if (ev->type == NULL || lua_type(L, idx) != LUA_TSTRING) {
        lua_pushstring(L, "event type must be a string");
        return 0;
    }
    if (!lua_isnoneornil(L, idx + 1)) {
        ev->data = json_arg(L, idx + 1, &ev->data_len);
        if (ev->data == NULL)
            return 0;
        lua_replace(L, idx + 1); /* keep the text where the data was */
    }
    if (lua_istable(L, idx + 2)) {
        /* strings only: they stay alive in the table once popped (a
         * number converted by lua_tostring would not) */
        lua_getfield(L, idx + 2, "id");
        lua_getfield(L, idx + 2, "ordering_key");
        if ((!lua_isnil(L, -2) && lua_type(L, -2) != LUA_TSTRING) ||
            (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)) {
            lua_pop(L, 2);
            lua_pushstring(L, "id and ordering_key must be strings");
            return 0;
        }
        ev->id = lua_tostring(L, -2);
        ev->ordering_key = lua_tostring(L, -1);
        lua_pop(L, 2);
        if (!opt_seconds(L, idx + 2, "created_at", 0, &created)) {
            lua_pushstring(L, "created_at must be seconds >= 0");
            return 0;
        }
        ev->created_at_ms = created;
    }
    return 1;
}

/*** worker:enqueue(type [, data] [, opts]) -> id, routed | nil, message, code
 * Store one event durably in the outbox (committed before returning) and
 * route it to the endpoints whose event filters match. `data`: JSON text or
 * a table. opts.id (default generated), opts.created_at (Unix seconds),
 * opts.ordering_key (events with the same key are delivered in order).
 * Returns the event id and how many endpoints it was routed to. Errors:
 * "invalid_argument", "event_invalid", "store_io", "store_full".
 */
static int w_enqueue(lua_State *L)
{
    worker_ud *ud = check_worker(L);
    hl_event ev;
    char id[HL_ENGINE_ID_MAX];
    size_t routed = 0;
    hl_error err = HL_ERROR_INIT;
    lua_settop(L, 4);
    if (!event_at(L, 2, &ev))
        return hll_fail(L, HL_E_INVALID_ARGUMENT, lua_tostring(L, -1));
    if (hl_worker_enqueue(ud->w, &ev, &routed, id, sizeof id, &err) != HL_OK)
        return hll_fail_err(L, &err);
    lua_pushstring(L, id);
    lua_pushinteger(L, (lua_Integer)routed);
    return 2;
}

/* Events from an array of {type=, data=, id=, created_at=, ordering_key=}
 * at idx; each item's strings are kept in a table pushed on the stack. */
static hl_event *events_from(lua_State *L, int idx, size_t *n_out)
{
    size_t n = (size_t)lua_rawlen(L, idx);
    hl_event *evs = (hl_event *)lua_newuserdata(L, (n + 1) * sizeof *evs); /* GC-owned */
    int keep;
    lua_newtable(L);
    keep = lua_gettop(L);
    for (size_t i = 0; i < n; i++) {
        int base;
        lua_rawgeti(L, idx, (lua_Integer)i + 1);
        if (!lua_istable(L, -1)) {
            lua_pushstring(L, "each event must be a table with a type");
            return NULL;
        }
        base = lua_gettop(L);
        lua_getfield(L, base, "type");
        lua_getfield(L, base, "data");
        lua_pushvalue(L, base); /* opts: id, created_at, ordering_key */
        if (!event_at(L, base + 1, &evs[i]))
            return NULL;
        /* keep type and data text alive */
        lua_pushvalue(L, base + 1);
        lua_rawseti(L, keep, (lua_Integer)(2 * i + 1));
        lua_pushvalue(L, base + 2);
        lua_rawseti(L, keep, (lua_Integer)(2 * i + 2));
        lua_settop(L, keep);
    }
    *n_out = n;
    return evs;
}

/*** worker:enqueue_many(events) -> count | nil, message, code, count
 * Enqueue an array of event tables {type =, data =, id =, created_at =,
 * ordering_key =} in one transaction. Returns how many were enqueued; on
 * failure the 4th value is how many were enqueued before the bad one.
 */
static int w_enqueue_many(lua_State *L)
{
    worker_ud *ud = check_worker(L);
    size_t n = 0, done = 0;
    hl_error err = HL_ERROR_INIT;
    hl_event *evs;
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    if ((evs = events_from(L, 2, &n)) == NULL)
        return hll_fail(L, HL_E_INVALID_ARGUMENT, lua_tostring(L, -1));
    if (hl_worker_enqueue_many(ud->w, evs, n, &done, &err) != HL_OK) {
        hll_fail_err(L, &err);
        lua_pushinteger(L, (lua_Integer)done);
        return 4; /* nil, message, code, how many were enqueued */
    }
    lua_pushinteger(L, (lua_Integer)done);
    return 1;
}

/*** hookline.submit_events(path, events) -> ids | nil, message, code, index
 * Append events (an array of tables as worker:enqueue_many) to the outbox
 * at `path` from another process, without a worker: the worker running on
 * that outbox routes and delivers them. Returns the array of event ids; on
 * failure the 4th value is the 1-based index of the bad event.
 */
static int l_submit_events(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    size_t n = 0, failed = 0;
    hl_outbox *ob = NULL;
    hl_error err = HL_ERROR_INIT;
    hl_event *evs;
    char(*ids)[HL_ENGINE_ID_MAX];
    struct timespec ts;
    hl_code c;
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    if ((evs = events_from(L, 2, &n)) == NULL)
        return hll_fail(L, HL_E_INVALID_ARGUMENT, lua_tostring(L, -1));
    ids = lua_newuserdata(L, (n + 1) * sizeof *ids);
    clock_gettime(CLOCK_REALTIME, &ts);
    c = hl_outbox_open(&ob, path, NULL, &err);
    if (c == HL_OK)
        c = hl_outbox_submit(ob, evs, n,
                             (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u, ids,
                             &failed, &err);
    hl_outbox_close(ob);
    if (c != HL_OK) {
        hll_fail_err(L, &err);
        lua_pushinteger(L, (lua_Integer)failed + 1); /* 1-based index of the bad event */
        return 4;
    }
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_pushstring(L, ids[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

/* ------------------------------------------------------------ delivery */

static void push_progress(lua_State *L, const hl_dispatch_progress *p, worker_ud *ud)
{
    lua_createtable(L, 0, 9);
    setint(L, "started", (long long)p->started);
    setint(L, "finished", (long long)p->finished);
    setint(L, "succeeded", (long long)p->succeeded);
    setint(L, "failed", (long long)p->failed);
    setint(L, "blocked", (long long)p->blocked);
    setint(L, "in_flight", (long long)p->in_flight);
    /* idle: nothing timed, nothing in flight, and this step changed nothing
     * (an outcome just reported may have scheduled a retry) */
    setbool(L, "idle", p->engine_action == HL_ACTION_IDLE && p->in_flight == 0 &&
                           p->started == 0 && p->finished == 0);
    if (p->wake_ms)
        setnum(L, "wake_at", secs(p->wake_ms));
    setstr(L, "callback_error", ud->cb_error);
    ud->cb_error[0] = '\0';
}

static int run_step(lua_State *L, worker_ud *ud, uint64_t wait_ms, hl_dispatch_progress *p)
{
    hl_error err = HL_ERROR_INIT;
    memset(p, 0, sizeof *p);
    if (hl_worker_run_once(ud->w, wait_ms, p, &err) != HL_OK)
        return hll_fail_err(L, &err);
    return 0;
}

/*** worker:run_once([max_wait]) -> progress | nil, message, code
 * One step of delivery: start due attempts, wait up to `max_wait` seconds
 * (default 0.2) for network progress, record finished attempts. Returns
 * {started, finished, succeeded, failed, blocked, in_flight, idle,
 * wake_at, callback_error}.
 */
static int w_run_once(lua_State *L)
{
    worker_ud *ud = check_worker(L);
    double wait = luaL_optnumber(L, 2, 0.2);
    hl_dispatch_progress p;
    int r;
    if (!(wait >= 0 && wait < 86400))
        return hll_fail(L, HL_E_INVALID_ARGUMENT, "max_wait must be seconds >= 0");
    if ((r = run_step(L, ud, (uint64_t)(wait * 1000.0 + 0.5), &p)) != 0)
        return r;
    push_progress(L, &p, ud);
    return 1;
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*** worker:run([opts]) -> totals | nil, message, code
 * Loop run_once until opts.until_idle and nothing is left to do, or
 * opts.timeout seconds passed, or opts.stop() returns true (checked each
 * step); opts.max_wait as run_once. Attempts in flight at the end are
 * finished (up to 30 s); the worker stays usable. Returns the totals table
 * (fields of run_once's; idle = whether it ended idle).
 */
static int w_run(lua_State *L)
{
    worker_ud *ud = check_worker(L);
    int until_idle = opt_flag(L, 2, "until_idle", 0), has_stop = 0, r;
    uint64_t wait_ms = 200, timeout_ms = 0;
    double end = 0;
    hl_dispatch_progress p, tot;
    char cb_error[sizeof ud->cb_error] = "";
    lua_settop(L, 2);
    if (!opt_seconds(L, 2, "max_wait", 0.2, &wait_ms) ||
        !opt_seconds(L, 2, "timeout", 0, &timeout_ms))
        return hll_fail(L, HL_E_INVALID_ARGUMENT, "max_wait and timeout must be seconds >= 0");
    if (lua_istable(L, 2)) {
        lua_getfield(L, 2, "stop");
        has_stop = lua_isfunction(L, -1);
        if (!has_stop)
            lua_pop(L, 1);
    }
    /* stack: [3] = stop function when has_stop */
    if (timeout_ms)
        end = mono() + (double)timeout_ms / 1000.0;
    memset(&tot, 0, sizeof tot);
    memset(&p, 0, sizeof p);
    for (;;) {
        if (has_stop) {
            lua_pushvalue(L, 3);
            if (lua_pcall(L, 0, 1, 0) != 0)
                return lua_error(L);
            int stop = lua_toboolean(L, -1);
            lua_pop(L, 1);
            if (stop)
                break;
        }
        uint64_t w = wait_ms;
        if (timeout_ms) {
            double left = end - mono();
            if (left <= 0)
                break;
            if (left * 1000.0 < (double)w)
                w = (uint64_t)(left * 1000.0);
        }
        if ((r = run_step(L, ud, w, &p)) != 0)
            return r;
        tot.started += p.started;
        tot.finished += p.finished;
        tot.succeeded += p.succeeded;
        tot.failed += p.failed;
        tot.blocked += p.blocked;
        if (ud->cb_error[0] && !cb_error[0])
            memcpy(cb_error, ud->cb_error, sizeof cb_error);
        if (until_idle && p.engine_action == HL_ACTION_IDLE && p.in_flight == 0 &&
            p.started == 0 && p.finished == 0)
            break;
    }
    for (double limit = mono() + 30.0; p.in_flight && mono() < limit;) {
        if ((r = run_step(L, ud, 50, &p)) != 0)
            return r;
        tot.finished += p.finished;
        tot.succeeded += p.succeeded;
        tot.failed += p.failed;
        tot.blocked += p.blocked;
    }
    tot.in_flight = p.in_flight;
    tot.engine_action = p.engine_action;
    if (!ud->cb_error[0])
        memcpy(ud->cb_error, cb_error, sizeof cb_error);
    push_progress(L, &tot, ud);
    setbool(L, "idle", p.engine_action == HL_ACTION_IDLE && p.in_flight == 0 &&
                           p.started == 0 && p.finished == 0);
    return 1;
}

/*** worker:drain([timeout]) -> true | nil, message, code
 * Stop starting attempts and wait up to `timeout` seconds (default 30) for
 * those in flight.
 */
static int w_drain(lua_State *L)
{
    worker_ud *ud = check_worker(L);
    double t = luaL_optnumber(L, 2, 30.0);
    hl_error err = HL_ERROR_INIT;
    if (!(t >= 0 && t < 86400))
        return hll_fail(L, HL_E_INVALID_ARGUMENT, "timeout must be seconds >= 0");
    if (hl_worker_drain(ud->w, (uint64_t)(t * 1000.0 + 0.5), &err) != HL_OK)
        return hll_fail_err(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

/* ---------------------------------------------------- dead letters, status */

static void push_batch(lua_State *L, const hl_outbox_batch *b)
{
    lua_createtable(L, 0, 16);
    setstr(L, "batch_id", b->batch_id);
    setstr(L, "endpoint", b->endpoint_id);
    setstr(L, "ordering_key", b->ordering_key);
    setstr(L, "state", hl_batch_state_name(b->state));
    setint(L, "events", b->n_events);
    setint(L, "body_bytes", (long long)b->body_len);
    setnum(L, "created_at", secs(b->created_ms));
    setnum(L, "deadline", secs(b->deadline_ms));
    if (b->next_attempt_ms)
        setnum(L, "next_attempt_at", secs(b->next_attempt_ms));
    setint(L, "attempts", b->attempts);
    setint(L, "total_attempts", b->total_attempts);
    setint(L, "redrives", b->redrives);
    setint(L, "last_status", b->last_status);
    setstr(L, "last_failure_class", hl_failure_class_name(b->last_failure));
    setstr(L, "dead_reason", b->dead_reason);
    if (b->settled_ms)
        setnum(L, "settled_at", secs(b->settled_ms));
}

/*** worker:batch(batch_id) -> batch | nil, message, code
 * A batch's record: batch_id, endpoint, ordering_key, state, events,
 * body_bytes, created_at, deadline, next_attempt_at, attempts,
 * total_attempts, redrives, last_status, last_failure_class, dead_reason,
 * settled_at. Errors: "batch_unknown", "store_io".
 */
static int w_batch(lua_State *L)
{
    worker_ud *ud = check_worker(L);
    hl_outbox_batch b;
    hl_error err = HL_ERROR_INIT;
    if (hl_worker_batch_get(ud->w, luaL_checkstring(L, 2), &b, &err) != HL_OK)
        return hll_fail_err(L, &err);
    push_batch(L, &b);
    return 1;
}

static int attempt_one(void *user, const hl_attempt_record *a)
{
    lua_State *L = user;
    lua_createtable(L, 0, 10);
    setstr(L, "batch_id", a->batch_id);
    setstr(L, "endpoint", a->endpoint_id);
    setint(L, "attempt", a->attempt);
    setnum(L, "at", secs(a->at_ms));
    setnum(L, "sent_at", secs(a->sent_ms));
    setint(L, "status", a->status);
    setstr(L, "failure_class", hl_failure_class_name(a->failure));
    setbool(L, "delivered", a->delivered);
    setnum(L, "latency", secs(a->latency_ms));
    lua_pushlstring(L, a->excerpt ? a->excerpt : "", a->excerpt_len);
    lua_setfield(L, -2, "excerpt");
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    return 0;
}

/*** worker:attempts([opts]) -> array | nil, message, code
 * The recorded delivery attempts, oldest first, filtered by opts.endpoint,
 * opts.batch, opts.since (Unix seconds); at most opts.limit (default 100).
 * Each: batch_id, endpoint, attempt, at, sent_at, status, failure_class,
 * latency, ...
 */
static int w_attempts(lua_State *L)
{
    worker_ud *ud = check_worker(L);
    hl_outbox_attempt_query q = HL_OUTBOX_ATTEMPT_QUERY_INIT;
    hl_error err = HL_ERROR_INIT;
    uint64_t since = 0;
    lua_settop(L, 2);
    q.limit = 100;
    if (lua_istable(L, 2)) {
        lua_getfield(L, 2, "endpoint");
        q.endpoint_id = lua_tostring(L, -1);
        lua_getfield(L, 2, "batch");
        q.batch_id = lua_tostring(L, -1);
        lua_getfield(L, 2, "limit");
        if (!lua_isnil(L, -1)) {
            lua_Number l = lua_tonumber(L, -1);
            if (!(l >= 0))
                return hll_fail(L, HL_E_INVALID_ARGUMENT, "limit must be >= 0");
            q.limit = (size_t)l;
        }
        lua_pop(L, 1);
        if (!opt_seconds(L, 2, "since", 0, &since))
            return hll_fail(L, HL_E_INVALID_ARGUMENT, "since must be seconds >= 0");
        q.since_ms = since;
    }
    lua_newtable(L);
    if (hl_worker_attempts(ud->w, &q, attempt_one, L, &err) != HL_OK)
        return hll_fail_err(L, &err);
    return 1;
}

static int batch_one(void *user, const hl_outbox_batch *b)
{
    lua_State *L = user;
    push_batch(L, b);
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    return 0;
}

/*** worker:dead_letters([opts]) -> array | nil, message, code
 * The dead-lettered batches (tables as worker:batch), of opts.endpoint only
 * if given; at most opts.limit (0, the default: all).
 */
static int w_dead_letters(lua_State *L)
{
    worker_ud *ud = check_worker(L);
    const char *ep = NULL;
    size_t limit = 0;
    hl_error err = HL_ERROR_INIT;
    lua_settop(L, 2);
    if (lua_istable(L, 2)) {
        lua_getfield(L, 2, "endpoint");
        ep = lua_tostring(L, -1);
        lua_getfield(L, 2, "limit");
        if (!lua_isnil(L, -1)) {
            lua_Number l = lua_tonumber(L, -1);
            if (!(l >= 0))
                return hll_fail(L, HL_E_INVALID_ARGUMENT, "limit must be >= 0");
            limit = (size_t)l;
        }
        lua_pop(L, 1);
    }
    lua_newtable(L);
    if (hl_worker_dead_letters(ud->w, ep, 0, limit, batch_one, L, NULL,
                               &err) != HL_OK)
        return hll_fail_err(L, &err);
    return 1;
}

/*** worker:redrive([endpoint]) -> count | nil, message, code
 * Queue the dead letters again (of one endpoint, or all) with a fresh
 * deadline; returns how many.
 */
static int w_redrive(lua_State *L)
{
    worker_ud *ud = check_worker(L);
    size_t n = 0;
    hl_error err = HL_ERROR_INIT;
    if (hl_worker_redrive(ud->w, luaL_optstring(L, 2, NULL), &n, &err) != HL_OK)
        return hll_fail_err(L, &err);
    lua_pushinteger(L, (lua_Integer)n);
    return 1;
}

/*** worker:purge([endpoint]) -> true | nil, message, code
 * Delete the dead letters (of one endpoint, or all) for good.
 */
static int w_purge(lua_State *L)
{
    worker_ud *ud = check_worker(L);
    hl_error err = HL_ERROR_INIT;
    if (hl_worker_purge(ud->w, luaL_optstring(L, 2, NULL), &err) != HL_OK)
        return hll_fail_err(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

/*** worker:status() -> table | nil, message, code
 * Outbox counts: batches (state name -> count), open_events, attempts,
 * endpoints, inbox, inbox_rejected.
 */
static int w_status(lua_State *L)
{
    worker_ud *ud = check_worker(L);
    hl_outbox_counts k;
    hl_error err = HL_ERROR_INIT;
    if (hl_worker_counts_get(ud->w, &k, &err) != HL_OK)
        return hll_fail_err(L, &err);
    lua_createtable(L, 0, 6);
    lua_createtable(L, 0, HL_BATCH__SENTINEL);
    for (int s = 0; s < HL_BATCH__SENTINEL; s++)
        setint(L, hl_batch_state_name(s), (long long)k.batches[s]);
    lua_setfield(L, -2, "batches");
    setint(L, "open_events", (long long)k.open_events);
    setint(L, "attempts", (long long)k.attempts);
    setint(L, "endpoints", (long long)k.endpoints);
    setint(L, "inbox", (long long)k.inbox);
    setint(L, "inbox_rejected", (long long)k.inbox_rejected);
    return 1;
}

/* metrics: name -> value; labelled samples as name -> {label value -> value} */
static int metric_one(void *user, const hl_metric_sample *s)
{
    lua_State *L = user;
    if (s->label_name == NULL || s->label_name[0] == '\0') {
        setnum(L, s->name, s->value);
        return 0;
    }
    lua_getfield(L, -1, s->name);
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, -3, s->name);
    }
    setnum(L, s->label_value, s->value);
    lua_pop(L, 1);
    return 0;
}

/*** worker:metrics() -> table
 * The Prometheus metrics as a table: name -> value, or for labelled metrics
 * name -> {label value -> value} (e.g. hookline_attempts_total.connect).
 */
static int w_metrics(lua_State *L)
{
    worker_ud *ud = check_worker(L);
    hl_metrics_update_from_engine(&ud->metrics, hl_worker_engine(ud->w));
    lua_newtable(L);
    hl_metrics_each(&ud->metrics, metric_one, L);
    return 1;
}

void hll_open_worker(lua_State *L)
{
    static const luaL_Reg methods[] = {{"add_endpoint", w_add_endpoint},
                                       {"update_endpoint", w_update_endpoint},
                                       {"remove_endpoint", w_remove_endpoint},
                                       {"enable_endpoint", w_enable_endpoint},
                                       {"disable_endpoint", w_disable_endpoint},
                                       {"endpoint", w_endpoint},
                                       {"endpoints", w_endpoints},
                                       {"test_endpoint", w_test_endpoint},
                                       {"rotate_secret", w_rotate_secret},
                                       {"enqueue", w_enqueue},
                                       {"enqueue_many", w_enqueue_many},
                                       {"run_once", w_run_once},
                                       {"run", w_run},
                                       {"drain", w_drain},
                                       {"batch", w_batch},
                                       {"attempts", w_attempts},
                                       {"dead_letters", w_dead_letters},
                                       {"redrive", w_redrive},
                                       {"purge", w_purge},
                                       {"status", w_status},
                                       {"metrics", w_metrics},
                                       {"close", w_close},
                                       {NULL, NULL}};
    static const luaL_Reg meta[] = {{"__gc", w_close},
                                    {"__close", w_close},
                                    {"__tostring", w_tostring},
                                    {NULL, NULL}};
    hll_new_class(L, WORKER_MT, methods, meta);
    lua_pushcfunction(L, l_worker);
    lua_setfield(L, -2, "worker");
    lua_pushcfunction(L, l_submit_events);
    lua_setfield(L, -2, "submit_events");
}
