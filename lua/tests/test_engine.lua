-- test_engine.lua - hookline.engine from Lua 5.4 and LuaJIT: every method,
-- the policy callbacks (including ones that raise), errors, and a small
-- simulation whose invariants must hold. Time is a variable advanced by
-- hand (seconds); nothing sleeps.

local hookline = require("hookline")
local cjson = require("cjson")

local tests = {}
local function test(name, fn)
    tests[#tests + 1] = { name = name, fn = fn }
end

local function eq(got, want, what)
    if got ~= want then
        error(string.format("%s: got %s, want %s", what or "value", tostring(got), tostring(want)), 2)
    end
end

local function ok(cond, what)
    if not cond then
        error(what or "assertion failed", 2)
    end
end

local function fails(code, res, msg, got_code)
    if res ~= nil then
        error("expected failure " .. code .. ", got " .. tostring(res), 2)
    end
    if type(msg) ~= "string" or msg == "" then
        error("failure without a message", 2)
    end
    if got_code ~= code then
        error(string.format("expected code %s, got %s (%s)", code, tostring(got_code), msg), 2)
    end
    return msg
end

local function must(...)
    local res, msg, code = ...
    if res == nil then
        error(string.format("unexpected failure: %s (%s)", tostring(msg), tostring(code)), 2)
    end
    return ...
end

local T0 = 1700000000

local function engine(opts)
    opts = opts or {}
    opts.seed = opts.seed or 7
    return must(hookline.engine(opts))
end

-- send everything due at `now`, answering with outcome(a) (a status)
local function drain(e, now, outcome)
    local sent = {}
    for _ = 1, 10000 do
        local a = must(e:next_action(now))
        if a.kind ~= "send" then
            return sent, a
        end
        sent[#sent + 1] = a
        must(e:report_outcome(a.batch_id, { status = outcome and outcome(a) or 200 }, now))
    end
    error("next_action never stopped sending")
end

test("catalogue and filter rule", function()
    local types = hookline.event_types()
    local set = {}
    for _, t in ipairs(types) do
        set[t] = true
    end
    ok(set["email.outbound.delivered"] and set["spam_complaint"], "catalogue")
    eq(hookline.event_filter_match("email.outbound.*", "email.outbound.sent"), true, "wildcard")
    eq(hookline.event_filter_match("email.outbound.*", "email.inbound.received"), false, "other")
    eq(hookline.event_filter_match("*", "x"), true, "star")
end)

test("enqueue, wait, send, deliver", function()
    local e = engine()
    eq(must(e:add_endpoint("ep", "https://example.test/h", { linger = 2, now = T0 })), true, "add")
    eq(e:endpoints()[1], "ep", "endpoints")
    local id, routed = e:enqueue("email.outbound.delivered", '{"msg": "m1"}', { now = T0 })
    ok(id:match("^evt_"), "generated id " .. tostring(id))
    eq(routed, 1, "routed")
    local w = must(e:next_action(T0))
    eq(w.kind, "wait", "kind")
    eq(w.at, T0 + 2, "at")
    local a = must(e:next_action(w.at))
    eq(a.kind, "send", "send")
    eq(a.url, "https://example.test/h", "url")
    eq(a.n_events, 1, "n_events")
    eq(a.attempt, 1, "attempt")
    eq(a.deadline, T0 + 8 * 3600, "deadline")
    eq(a.due, T0 + 2, "due")
    eq(a.sparkpost_compat, false, "sparkpost")
    local body = cjson.decode(a.body)
    eq(body[1].id, id, "body id")
    eq(body[1].data.msg, "m1", "data")
    eq(body[1].created_at, "2023-11-14T22:13:20.000Z", "created_at")
    eq(must(e:batch(a.batch_id)).state, "in_flight", "state")
    must(e:report_outcome(a.batch_id, { status = 204, latency = 0.25, body = "ok" }, w.at + 0.25))
    eq(must(e:next_action(w.at + 1)).kind, "idle", "idle")
    fails("batch_unknown", e:batch(a.batch_id))
    local rec = e:attempts()[1]
    eq(rec.status, 204, "status")
    eq(rec.failure, "http", "failure class")
    eq(rec.delivered, true, "delivered")
    eq(rec.excerpt, "ok", "excerpt")
    eq(rec.latency, 0.25, "latency")
    eq(rec.sent, T0 + 2, "sent")
    local st = e:stats()
    eq(st.batches_delivered, 1, "delivered")
    eq(st.events_enqueued, 1, "enqueued")
    eq(st.batches.in_flight, 0, "in flight")
    eq(st.endpoints, 1, "endpoints")
end)

test("bad events are refused, all or nothing", function()
    local e = engine()
    must(e:add_endpoint("big", "https://example.test/big", { now = T0 }))
    must(e:add_endpoint("small", "https://example.test/s", { max_bytes = 100, now = T0 }))
    fails("event_invalid", e:enqueue("t", "{not json", { now = T0 }))
    fails("event_invalid", e:enqueue("bad type", nil, { now = T0 }))
    local msg = fails("event_too_large", e:enqueue("t", '{"pad":"' .. string.rep("x", 200) .. '"}',
        { now = T0 }))
    ok(msg:find("small", 1, true), msg)
    fails("invalid_argument", e:enqueue("t", { table = true }, { now = T0 }))
    fails("invalid_argument", e:enqueue(12))
    eq(e:stats().events_enqueued, 0, "nothing enqueued")
end)

test("given id, created_at, enqueue_to", function()
    local e = engine()
    must(e:add_endpoint("ep", "https://example.test/h", { events = { "only.this" }, now = T0 }))
    local _, routed = e:enqueue("other", nil, { now = T0 })
    eq(routed, 0, "filtered")
    local id, n = e:enqueue_to("ep", "webhook.test", '{"hello":1}',
        { id = "evt_test", created_at = T0 - 60, now = T0 })
    eq(id, "evt_test", "id")
    eq(n, 1, "routed")
    must(e:flush(T0))
    local sent = drain(e, T0)
    local ev = cjson.decode(sent[1].body)[1]
    eq(ev.created_at, "2023-11-14T22:12:20.000Z", "created_at")
    fails("endpoint_unknown", e:enqueue_to("nope", "t", nil, { now = T0 }))
end)

test("endpoint management", function()
    local e = engine()
    must(e:add_endpoint("a", "https://example.test/a", { now = T0 }))
    must(e:add_endpoint("b", "https://example.test/b", { active = false, now = T0 }))
    fails("endpoint_exists", e:add_endpoint("a", "https://example.test/a", { now = T0 }))
    fails("invalid_argument", e:add_endpoint("c", "https://example.test/c", { colour = "blue" }))
    fails("invalid_argument", e:add_endpoint("c", "https://example.test/c", { jitter = 2 }))
    fails("invalid_argument", e:add_endpoint("c", "https://example.test/c", { ordering = "x" }))
    fails("invalid_argument", e:add_endpoint("c", "https://example.test/c", { max_events = 0 }))
    local ids = e:endpoints()
    eq(#ids, 2, "two endpoints")
    local info = must(e:endpoint_info("b"))
    eq(info.disabled, "user", "disabled")
    eq(info.breaker, "closed", "breaker")
    eq(info.url, "https://example.test/b", "url")
    must(e:enable_endpoint("b", T0))
    eq(e:endpoint_info("b").disabled, "none", "enabled")
    must(e:disable_endpoint("b", T0))
    eq(e:endpoint_info("b").disabled, "user", "disabled again")
    must(e:set_endpoint_disabled("b", "gone", T0))
    eq(e:endpoint_info("b").disabled, "gone", "gone")
    fails("invalid_argument", e:set_endpoint_disabled("b", "sleepy", T0))
    -- update merges over the options last given
    must(e:update_endpoint("a", { url = "https://example.test/a2", max_events = 2, now = T0 }))
    must(e:enqueue("t", '{"i":1}', { now = T0 }))
    must(e:enqueue("t", '{"i":2}', { now = T0 }))
    local sent = drain(e, T0)
    eq(#sent, 1, "one batch closed by max_events")
    eq(sent[1].url, "https://example.test/a2", "new url")
    eq(sent[1].n_events, 2, "two events")
    fails("endpoint_unknown", e:update_endpoint("zzz", { max_events = 3 }))
    must(e:remove_endpoint("b", T0))
    eq(#e:endpoints(), 1, "removed")
    fails("endpoint_unknown", e:endpoint_info("b"))
end)

test("retry schedule, deadline, dead letters, redrive, purge", function()
    local e = engine()
    must(e:add_endpoint("ep", "https://example.test/h",
        { schedule = { 10, 60 }, jitter = 0, deadline = 200, linger = 0.5, now = T0 }))
    must(e:enqueue("t", '{"x":1}', { now = T0 }))
    local now, times, batch_id = T0 + 0.5, {}, nil
    for _ = 1, 20 do
        local a = must(e:next_action(now))
        if a.kind == "wait" then
            now = a.at
        elseif a.kind == "idle" then
            break
        else
            batch_id = batch_id or a.batch_id
            eq(a.batch_id, batch_id, "same batch id on every retry")
            times[#times + 1] = string.format("%.1f", now - T0)
            must(e:report_outcome(a.batch_id, { status = 500 }, now))
            if #times == 1 then
                local b = e:batch(batch_id)
                eq(b.state, "retry_wait", "retry_wait")
                eq(b.next_attempt, now + 10, "next attempt")
                eq(b.last_status, 500, "last status")
            end
        end
    end
    eq(table.concat(times, " "), "0.5 10.5 70.5 130.5 190.5 200.0", "attempt times")
    eq(e:dead_letters()[1], batch_id, "dead letter")
    local b = e:batch(batch_id)
    eq(b.dead_reason, "deadline", "reason")
    eq(b.attempts, 6, "attempts")
    must(e:redrive(batch_id, T0 + 300))
    local a = must(e:next_action(T0 + 300))
    eq(a.batch_id, batch_id, "redriven")
    eq(a.attempt, 1, "fresh budget")
    must(e:report_outcome(a.batch_id, { failure = "timeout" }, T0 + 300))
    local recs = e:attempts()
    eq(recs[#recs].failure, "timeout", "failure class")
    fails("batch_state", e:redrive(batch_id, T0 + 301))
    fails("invalid_argument", e:report_outcome(batch_id, { failure = "gremlins" }, T0 + 301))

    local f = engine()
    must(f:add_endpoint("ep", "https://example.test/h",
        { max_attempts = 1, linger = 0, unbatched = true, now = T0 }))
    for i = 1, 3 do
        must(f:enqueue("t", tostring(i), { now = T0 }))
    end
    drain(f, T0, function() return 400 end)
    local dead = f:dead_letters()
    eq(#dead, 3, "three dead")
    eq(f:batch(dead[1]).dead_reason, "max_attempts", "reason")
    must(f:purge(dead[1]))
    eq(#f:dead_letters(), 2, "purged one")
    must(f:purge())
    eq(#f:dead_letters(), 0, "purged all")
    fails("batch_unknown", f:purge("bat_nope"))
end)

test("Retry-After and 410", function()
    local e = engine()
    must(e:add_endpoint("ep", "https://example.test/h",
        { linger = 0, schedule = { 10 }, jitter = 0, now = T0 }))
    must(e:enqueue("t", nil, { now = T0 }))
    local a = must(e:next_action(T0))
    must(e:report_outcome(a.batch_id, { status = 429, retry_after = 15 }, T0))
    eq(e:batch(a.batch_id).next_attempt, T0 + 15, "retry-after honoured")
    a = must(e:next_action(T0 + 15))
    must(e:report_outcome(a.batch_id, { status = 503, retry_after = "999" }, T0 + 15))
    eq(e:batch(a.batch_id).next_attempt, T0 + 35, "bounded to twice the delay")
    fails("batch_state", e:report_outcome(a.batch_id, { status = 200 }, T0 + 16))
    a = must(e:next_action(T0 + 35))
    must(e:report_outcome(a.batch_id, { status = 410 }, T0 + 35))
    eq(e:endpoint_info("ep").disabled, "gone", "410 disables")
    eq(e:batch(a.batch_id).state, "retry_wait", "batch kept")
    must(e:enable_endpoint("ep", T0 + 100))
    local sent = drain(e, T0 + 100)
    eq(sent[1].batch_id, a.batch_id, "delivered after enable")
end)

test("ordering key holds the next batch", function()
    local e = engine()
    must(e:add_endpoint("ep", "https://example.test/h", { ordering = "key", max_events = 1, now = T0 }))
    must(e:enqueue("t", '{"n":1}', { ordering_key = "m1", now = T0 }))
    must(e:enqueue("t", '{"n":2}', { ordering_key = "m1", now = T0 }))
    local a = must(e:next_action(T0))
    eq(a.kind, "send", "first")
    ok(must(e:next_action(T0)).kind ~= "send", "second held")
    eq(e:batch(a.batch_id).ordering_key, "m1", "key")
    must(e:report_outcome(a.batch_id, { status = 200 }, T0))
    local b = must(e:next_action(T0))
    eq(cjson.decode(b.body)[1].data.n, 2, "second after the first")
end)

test("restore_batch round trip", function()
    local e = engine()
    must(e:add_endpoint("ep", "https://example.test/h", { linger = 0, now = T0 }))
    must(e:enqueue("t", '{"k":1}', { now = T0 }))
    local a = must(e:next_action(T0))
    must(e:report_outcome(a.batch_id, { status = 500 }, T0))
    local saved = must(e:batch(a.batch_id))
    local f = engine({ seed = 99 })
    must(f:add_endpoint("ep", "https://example.test/h", { now = T0 }))
    must(f:restore_batch(saved, T0 + 1))
    local back = must(f:batch(a.batch_id))
    for k, v in pairs(saved) do
        eq(back[k], v, "restored " .. k)
    end
    fails("batch_exists", f:restore_batch(saved, T0 + 1))
    local sent = drain(f, saved.next_attempt)
    eq(sent[1].body, a.body, "same bytes")
    eq(sent[1].attempt, 2, "attempt count kept")
end)

test("close is idempotent; a closed engine fails cleanly; now defaults to the clock", function()
    local e = engine()
    must(e:add_endpoint("ep", "https://example.test/h"))
    must(e:enqueue("t"))
    local w = must(e:next_action())
    eq(w.kind, "wait", "wait")
    ok(math.abs(w.at - (os.time() + 1)) < 5, "clock")
    fails("invalid_argument", e:flush(-1))
    fails("invalid_argument", e:flush("soon"))
    ok(tostring(e):match("^hookline.engine %("), "tostring")
    e:close()
    e:close()
    eq(tostring(e), "hookline.engine (closed)", "closed tostring")
    fails("invalid_argument", e:enqueue("t"))
    fails("invalid_argument", e:stats())
    fails("invalid_argument", hookline.engine({ seed = "x" }))
    fails("invalid_argument", hookline.engine({ seed = -1 }))
    fails("invalid_argument", hookline.engine({ attempt_retention = -1 }))
    fails("invalid_argument", hookline.engine({ route = 12 }))
end)

-- callbacks ------------------------------------------------------------------

test("route callback sees the event", function()
    local seen = {}
    local e = engine({
        route = function(ev, endpoint_id, filter_match)
            seen[#seen + 1] = table.concat({ ev.id, ev.type, ev.data, ev.ordering_key, endpoint_id,
                tostring(filter_match), tostring(ev.created_at) }, " ")
            return endpoint_id == "b" or filter_match
        end,
    })
    must(e:add_endpoint("a", "https://example.test/a", { events = { "x.*" }, now = T0 }))
    must(e:add_endpoint("b", "https://example.test/b", { events = { "x.*" }, now = T0 }))
    local _, routed = must(e:enqueue("y.z", '{"v":1}', { id = "evt_1", ordering_key = "k", now = T0 }))
    eq(routed, 1, "routed by the callback")
    eq(seen[1], 'evt_1 y.z {"v":1} k a false ' .. tostring(T0 + 0.0), "a")
    eq(seen[2], 'evt_1 y.z {"v":1} k b false ' .. tostring(T0 + 0.0), "b")
end)

test("transform callback rewrites per endpoint", function()
    local e = engine({
        transform = function(endpoint_id, json)
            if endpoint_id == "spark" then
                local ev = cjson.decode(json)
                return cjson.encode({ msys = { message_event = ev.data } })
            end
            return nil
        end,
    })
    must(e:add_endpoint("plain", "https://example.test/p", { now = T0 }))
    must(e:add_endpoint("spark", "https://example.test/s", { now = T0 }))
    must(e:enqueue("delivery", '{"rcpt":"a@b"}', { now = T0 }))
    must(e:flush(T0))
    local sent = drain(e, T0)
    local bodies = {}
    for _, s in ipairs(sent) do
        bodies[s.endpoint_id] = cjson.decode(s.body)
    end
    eq(bodies.spark[1].msys.message_event.rcpt, "a@b", "transformed")
    eq(bodies.plain[1].data.rcpt, "a@b", "untouched")
end)

test("decide callback overrides and reads the engine", function()
    local e
    local log = {}
    e = engine({
        decide = function(inp)
            local b = must(e:batch(inp.batch_id)) -- read-only calls are allowed
            log[#log + 1] = { attempt = inp.attempt, status = inp.status, default = inp.default.kind,
                state = b.state, retry_after = inp.retry_after, attempts = #e:attempts() }
            if inp.status == 418 then
                return "give_up"
            elseif inp.status == 299 then
                return { kind = "delivered" }
            elseif inp.status == 500 then
                return { kind = "retry", retry_at = inp.now + 42 }
            end
            return nil
        end,
    })
    must(e:add_endpoint("ep", "https://example.test/h", { linger = 0, unbatched = true, now = T0 }))
    for _ = 1, 3 do
        must(e:enqueue("t", nil, { now = T0 }))
    end
    local a1, a2, a3 = must(e:next_action(T0)), must(e:next_action(T0)), must(e:next_action(T0))
    must(e:report_outcome(a1.batch_id, { status = 418 }, T0))
    must(e:report_outcome(a2.batch_id, { status = 500, retry_after = "7" }, T0))
    must(e:report_outcome(a3.batch_id, { status = 201 }, T0))
    eq(e:batch(a1.batch_id).dead_reason, "policy", "gave up")
    eq(e:batch(a2.batch_id).next_attempt, T0 + 42, "retry at")
    local a = must(e:next_action(T0 + 42))
    eq(a.batch_id, a2.batch_id, "retried")
    must(e:report_outcome(a.batch_id, { status = 299 }, T0 + 42))
    fails("batch_unknown", e:batch(a2.batch_id))
    eq(log[1].default, "retry", "default decision")
    eq(log[1].state, "in_flight", "read from the callback")
    eq(log[1].attempts, 1, "attempt log visible")
    eq(log[2].retry_after, "7", "retry_after")
    eq(log[3].default, "delivered", "2xx default")
end)

test("a raising route callback: nothing enqueued, error surfaced", function()
    local e = engine({ route = function() error("no route today") end })
    must(e:add_endpoint("ep", "https://example.test/h", { now = T0 }))
    local msg = fails("callback", e:enqueue("t", nil, { now = T0 }))
    ok(msg:find("no route today", 1, true), msg)
    eq(e:stats().events_enqueued, 0, "nothing enqueued")
    -- a non-string error object
    local f = engine({ route = function() error({ code = 1 }) end })
    must(f:add_endpoint("ep", "https://example.test/h", { now = T0 }))
    fails("callback", f:enqueue("t", nil, { now = T0 }))
end)

test("a raising or misbehaving transform", function()
    local n = 0
    local e = engine({
        transform = function()
            n = n + 1
            if n == 1 then
                error("boom")
            elseif n == 2 then
                return 12
            elseif n == 3 then
                return "{not json"
            end
        end,
    })
    must(e:add_endpoint("ep", "https://example.test/h", { now = T0 }))
    ok(fails("callback", e:enqueue("t", nil, { now = T0 })):find("boom", 1, true), "boom")
    ok(fails("callback", e:enqueue("t", nil, { now = T0 })):find("string or nil", 1, true), "type")
    ok(fails("callback", e:enqueue("t", nil, { now = T0 })):find("invalid JSON", 1, true), "json")
    eq(e:stats().events_enqueued, 0, "nothing enqueued")
    local _, routed = must(e:enqueue("t", nil, { now = T0 }))
    eq(routed, 1, "works again")
end)

test("a raising decide: batch kept with the default policy", function()
    local e = engine({ decide = function() error("policy bug") end })
    must(e:add_endpoint("ep", "https://example.test/h", { linger = 0, schedule = { 5 }, jitter = 0, now = T0 }))
    must(e:enqueue("t", nil, { now = T0 }))
    local a = must(e:next_action(T0))
    local msg = fails("callback", e:report_outcome(a.batch_id, { status = 503 }, T0))
    ok(msg:find("policy bug", 1, true), msg)
    local b = e:batch(a.batch_id)
    eq(b.state, "retry_wait", "kept")
    eq(b.next_attempt, T0 + 5, "default schedule")
    a = must(e:next_action(T0 + 5))
    fails("callback", e:report_outcome(a.batch_id, { status = 200 }, T0 + 5))
    eq(e:stats().batches_delivered, 1, "default (delivered) applied")
    -- bad decisions are callback failures too
    local f = engine({ decide = function() return { kind = "retry" } end })
    must(f:add_endpoint("ep", "https://example.test/h", { linger = 0, now = T0 }))
    must(f:enqueue("t", nil, { now = T0 }))
    a = must(f:next_action(T0))
    ok(fails("callback", f:report_outcome(a.batch_id, { status = 500 }, T0)):find("retry_at"), "needs retry_at")
    eq(f:batch(a.batch_id).state, "retry_wait", "kept")
end)

test("a decide error on lease expiry is reported with the action", function()
    local e = engine({ in_flight_lease = 10, decide = function() error("lease policy bug") end })
    must(e:add_endpoint("ep", "https://example.test/h", { linger = 0, schedule = { 5 }, jitter = 0, now = T0 }))
    must(e:enqueue("t", nil, { now = T0 }))
    local a = must(e:next_action(T0))
    local w = must(e:next_action(T0 + 10))
    eq(w.kind, "wait", "wait")
    eq(w.at, T0 + 15, "default retry")
    ok(w.callback_error and w.callback_error:find("lease policy bug", 1, true), tostring(w.callback_error))
    local b = e:batch(a.batch_id)
    eq(b.state, "retry_wait", "kept")
    eq(b.last_failure, "timeout", "timeout")
    fails("batch_state", e:report_outcome(a.batch_id, { status = 200 }, T0 + 11))
    eq(must(e:next_action(T0 + 11)).callback_error, nil, "cleared")
end)

test("a changing call from a callback is refused; yields are caught", function()
    local e
    local inner
    e = engine({
        decide = function(inp)
            inner = { e:enqueue("t", nil, { now = inp.now }) }
            local c = select(3, e:close())
            inner.close = c
            return nil
        end,
    })
    must(e:add_endpoint("ep", "https://example.test/h", { linger = 0, now = T0 }))
    must(e:enqueue("t", nil, { now = T0 }))
    local a = must(e:next_action(T0))
    must(e:report_outcome(a.batch_id, { status = 200 }, T0))
    eq(inner[1], nil, "refused")
    eq(inner[3], "engine_reentered", "code")
    eq(inner.close, "engine_reentered", "close refused too")
    eq(e:stats().batches_delivered, 1, "outer call done")

    local g = engine({ route = function() coroutine.yield() end })
    must(g:add_endpoint("ep", "https://example.test/h", { now = T0 }))
    local co = coroutine.create(function() return g:enqueue("t", nil, { now = T0 }) end)
    local resumed, res, msg, code = coroutine.resume(co)
    ok(resumed, "the coroutine did not die")
    eq(res, nil, "failed")
    eq(code, "callback", "yield across the engine is a callback error: " .. tostring(msg))
end)

test("garbage collection frees engines with callback cycles", function()
    for _ = 1, 50 do
        local e
        e = engine({ route = function() return e ~= nil end })
        must(e:add_endpoint("ep", "https://example.test/h", { now = T0 }))
        must(e:enqueue("t", nil, { now = T0 }))
    end
    collectgarbage()
    collectgarbage()
end)

-- simulation -----------------------------------------------------------------

test("simulation: every event delivered or dead-lettered, ids stable", function()
    local e = engine({ seed = 1234 })
    must(e:add_endpoint("ok", "https://example.test/ok", { max_events = 7, now = T0 }))
    must(e:add_endpoint("flaky", "https://example.test/flaky", { max_events = 5, now = T0 }))
    must(e:add_endpoint("dead", "https://example.test/dead", { events = { "email.*" }, deadline = 3600, now = T0 }))
    must(e:add_endpoint("slow429", "https://example.test/429",
        { unbatched = true, events = { "email.outbound.bounced" }, now = T0 }))
    local types = { "email.outbound.sent", "email.outbound.bounced", "delivery", "email.inbound.received" }
    local now, total, seed = T0, 0, 5
    local function rand() -- Park-Miller: exact in doubles, so the same in 5.4 and LuaJIT
        seed = (seed * 16807) % 2147483647
        return seed / 2147483647
    end
    for i = 0, 299 do
        local _, routed = must(e:enqueue(types[math.floor(rand() * 4) + 1], string.format('{"i":%d}', i), { now = now }))
        total = total + routed
        now = now + rand() * 2
    end
    local bodies, delivered, n_delivered = {}, {}, 0
    local settled = false
    for _ = 1, 100000 do
        local a = must(e:next_action(now))
        if a.kind == "idle" then
            settled = true
            break
        elseif a.kind == "wait" then
            ok(a.at >= now, "time never goes back")
            now = a.at
        else
            -- (now is rounded to whole milliseconds by the engine)
            ok(a.due <= math.floor(now * 1000 + 0.5) / 1000, "nothing sent early")
            if bodies[a.batch_id] then
                eq(bodies[a.batch_id], a.body, "same bytes on every retry")
            end
            bodies[a.batch_id] = a.body
            local out
            if a.endpoint_id == "ok" then
                out = { status = 200 }
            elseif a.endpoint_id == "dead" then
                out = { failure = "connect" }
            elseif a.endpoint_id == "flaky" then
                out = { status = a.attempt <= 2 and 503 or 200 }
            else
                out = a.attempt == 1 and { status = 429, retry_after = "30" } or { status = 202 }
            end
            must(e:report_outcome(a.batch_id, out, now))
            if out.status and out.status >= 200 and out.status < 300 then
                local evs = cjson.decode(a.body)
                if evs.id then
                    evs = { evs }
                end
                for _, ev in ipairs(evs) do
                    local key = a.endpoint_id .. "/" .. ev.id
                    ok(not delivered[key], "delivered twice: " .. key)
                    delivered[key] = true
                    n_delivered = n_delivered + 1
                end
            end
        end
    end
    ok(settled, "simulation settled")
    ok(now - T0 < 10 * 3600, "within the deadline horizon")
    local n_dead = 0
    for _, id in ipairs(e:dead_letters()) do
        local b = e:batch(id)
        eq(b.endpoint_id, "dead", "only the dead endpoint dead-letters")
        for _, ev in ipairs(cjson.decode(b.body)) do
            ok(not delivered[b.endpoint_id .. "/" .. ev.id], "delivered and dead")
            n_dead = n_dead + 1
        end
    end
    eq(n_delivered + n_dead, total, "every event accounted for")
    local st = e:stats()
    eq(st.pending_events, 0, "nothing pending")
    eq(st.events_enqueued, total, "enqueued")
    local dead_attempts = 0
    for _, r in ipairs(e:attempts()) do
        if r.endpoint_id == "dead" then
            dead_attempts = dead_attempts + 1
        end
    end
    ok(dead_attempts < #e:dead_letters() * 7, "the breaker bounds attempts to the dead endpoint")
end)

local passed, failed = 0, 0
for _, t in ipairs(tests) do
    local good, err = pcall(t.fn)
    if good then
        passed = passed + 1
        print("ok     " .. t.name)
    else
        failed = failed + 1
        print("FAILED " .. t.name .. ": " .. tostring(err))
    end
end
collectgarbage()
print(string.format("%d passed, %d failed", passed, failed))
os.exit(failed == 0 and 0 or 1, true)
