-- test_engine_trace.lua - the cross-language golden trace: the scenario of
-- tests/test_engine_trace.c, driven through hookline.engine, must give
-- tests/vectors/engine_trace_seed42.txt line for line (same batch ids,
-- jittered retry times, body sizes) under Lua 5.4 and LuaJIT. Times go in
-- as seconds and come back from the wait action as seconds.

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

local path = script_dir() .. "/../../tests/vectors/engine_trace_seed42.txt"
local f = assert(io.open(path, "rb"))
local want = {}
for line in f:read("*a"):gmatch("([^\n]*)\n") do
    want[#want + 1] = line
end
f:close()

local got = run_scenario()
local failed = 0
for i = 1, math.max(#got, #want) do
    if got[i] ~= want[i] then
        print(string.format("FAILED line %d: got %q, want %q", i, tostring(got[i]), tostring(want[i])))
        failed = failed + 1
    end
end
if #want < 10 then
    print("FAILED: the golden file has only " .. #want .. " lines")
    failed = failed + 1
end
if failed == 0 then
    print(string.format("ok     golden trace (%d lines identical to %s)", #want, "engine_trace_seed42.txt"))
end
os.exit(failed == 0 and 0 or 1, true)
