-- test_engine_trace.lua - the cross-language golden traces: the scenarios of
-- tests/test_engine_trace.c, driven through hookline.engine, must give
-- tests/vectors/engine_trace_seed42.txt and engine_trace_policy_seed7.txt
-- line for line (same batch ids, jittered retry times, bodies, dead
-- letters) under Lua 5.4 and LuaJIT. Times go in as seconds and come back
-- from the wait action as seconds.

local hookline = require("hookline")

local function script_dir()
    local src = debug.getinfo(1, "S").source
    return (src:sub(1, 1) == "@" and src:sub(2):match("^(.*)/")) or "."
end

local function must(a, msg, code)
    if a == nil then
        error(string.format("unexpected failure: %s (%s)", tostring(msg), tostring(code)), 2)
    end
    return a
end

local T0 = 1700000000 -- seconds (the C test's 1700000000000 ms)

local function run_scenario()
    local e = must(hookline.engine({ seed = 42 }))
    must(e:add_endpoint("ep1", "https://example.test/a", { now = T0 }))
    must(e:add_endpoint("ep2", "https://example.test/b",
        { events = { "email.outbound.*" }, max_events = 5, now = T0 }))
    for i = 0, 49 do
        must(e:enqueue(i % 2 == 1 and "email.outbound.sent" or "delivery",
            string.format('{"i":%d}', i),
            { id = string.format("evt_%02d", i), created_at = T0, now = T0 + 0.1 * i }))
    end
    local lines, seen = {}, {}
    local now = T0 + 4.9
    for _ = 1, 10000 do
        local a = must(e:next_action(now))
        if a.kind == "idle" then
            break
        elseif a.kind == "wait" then
            now = a.at
        else
            local k = seen[a.batch_id]
            if k == nil then
                k = #seen
                seen[#seen + 1] = a.batch_id
                seen[a.batch_id] = k
            end
            local status = (a.attempt == 1 and k % 3 == 0) and 503 or 200
            lines[#lines + 1] = string.format("%d %s %s %d %d %d %d",
                math.floor((now - T0) * 1000 + 0.5), a.endpoint_id, a.batch_id, a.attempt,
                a.n_events, #a.body, status)
            must(e:report_outcome(a.batch_id, { status = status }, now))
        end
    end
    local st = e:stats()
    assert(st.pending_events == 0, "events left pending")
    assert(st.events_enqueued == 75, "events_enqueued " .. tostring(st.events_enqueued))
    e:close()
    return lines
end

-- The policy scenario (tests/test_engine_trace.c, test_policy_trace): the
-- route / transform / decide callbacks, every kind of outcome, dead letters
-- and a redrive, against tests/vectors/engine_trace_policy_seed7.txt.
local TYPES = { "email.outbound.sent", "delivery", "internal.audit" }

local function answer(k, attempt)
    local r = k % 5
    if r == 0 then
        if attempt == 1 then return { status = 503, retry_after = "20" } end
        return { status = 200 }
    elseif r == 1 then
        return { status = 400 }
    elseif r == 2 then
        if attempt == 1 then return { status = 418 } end
        if attempt == 2 then return { failure = "timeout" } end
        return { status = 200 }
    elseif r == 3 then
        return { status = 500 }
    end
    return { status = attempt == 1 and 202 or 200 }
end

local function body_sum(body)
    local sum = 0
    for i = 1, #body do
        sum = (sum + body:byte(i)) % 65521
    end
    return sum
end

local function policy_loop(e, now, phase, seen, lines)
    for _ = 1, 100000 do
        local a = must(e:next_action(now))
        if a.kind == "idle" then
            return now
        elseif a.kind == "wait" then
            now = a.at
        else
            local k = seen[a.batch_id]
            if k == nil then
                k = #seen
                seen[#seen + 1] = a.batch_id
                seen[a.batch_id] = k
            end
            local out = phase == 1 and answer(k, a.attempt) or { status = 200 }
            lines[#lines + 1] = string.format("%d send %s %s %d %d %d %d %s",
                math.floor((now - T0) * 1000 + 0.5), a.endpoint_id, a.batch_id, a.attempt,
                a.n_events, #a.body, body_sum(a.body), out.failure or tostring(out.status))
            must(e:report_outcome(a.batch_id, out, now))
        end
    end
    error("the policy scenario did not settle")
end

local function run_policy_scenario()
    local e = must(hookline.engine({
        seed = 7,
        route = function(event, endpoint_id, filter_match)
            if event.type == "internal.audit" then
                return endpoint_id == "c"
            end
            return filter_match
        end,
        transform = function(endpoint_id, json)
            if endpoint_id == "b" then
                return '{"msys":' .. json .. "}"
            end
        end,
        decide = function(input)
            if input.status == 400 then
                return "give_up"
            elseif input.status == 418 then
                return { kind = "retry", retry_at = input.now + 1.5 }
            end
        end,
    }))
    must(e:add_endpoint("a", "https://example.test/a",
        { max_events = 3, schedule = { 10, 60 }, deadline = 600, now = T0 }))
    must(e:add_endpoint("b", "https://example.test/b",
        { events = { "email.*" }, unbatched = true, sparkpost_compat = true, now = T0 }))
    must(e:add_endpoint("c", "https://example.test/c", { ordering = "key", max_events = 2, now = T0 }))
    for i = 0, 29 do
        must(e:enqueue(TYPES[i % 3 + 1], string.format('{"i":%d}', i), {
            id = string.format("evt_%02d", i), created_at = T0,
            ordering_key = "k" .. (i % 2), now = T0 + 0.25 * i }))
    end
    local lines, seen = {}, {}
    local now = policy_loop(e, T0 + 7.25, 1, seen, lines)
    local dead = e:dead_letters()
    for _, id in ipairs(dead) do
        local b = must(e:batch(id))
        lines[#lines + 1] = string.format("dead %s %s %d", b.batch_id, b.dead_reason, b.attempts)
    end
    now = now + 1
    for _, id in ipairs(dead) do
        must(e:redrive(id, now))
    end
    policy_loop(e, now, 2, seen, lines)
    local st = e:stats()
    lines[#lines + 1] = string.format("stats %d %d %d %d %d", st.batches_delivered,
        st.batches_dead_lettered, st.attempts, st.events_enqueued, st.pending_events)
    e:close()
    return lines
end

local function read_lines(name)
    local f = assert(io.open(script_dir() .. "/../../tests/vectors/" .. name, "rb"))
    local out = {}
    for line in f:read("*a"):gmatch("([^\n]*)\n") do
        out[#out + 1] = line
    end
    f:close()
    return out
end

local failed = 0
local function compare(name, got)
    local want = read_lines(name)
    local bad = 0
    for i = 1, math.max(#got, #want) do
        if got[i] ~= want[i] then
            print(string.format("FAILED %s line %d: got %q, want %q", name, i, tostring(got[i]),
                tostring(want[i])))
            bad = bad + 1
            if bad > 5 then break end
        end
    end
    if #want < 10 then
        print("FAILED: " .. name .. " has only " .. #want .. " lines")
        bad = bad + 1
    end
    if bad == 0 then
        print(string.format("ok     %s (%d lines identical)", name, #want))
    end
    failed = failed + bad
end

compare("engine_trace_seed42.txt", run_scenario())
compare("engine_trace_policy_seed7.txt", run_policy_scenario())
os.exit(failed == 0 and 0 or 1, true)
