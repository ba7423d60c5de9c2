-- test_dedupe.lua - hookline.seen_store (memory and SQLite) from Lua 5.4 and
-- LuaJIT. Time is passed in (seconds), never waited for. Files live in a
-- temporary directory removed at the end.

local hookline = require("hookline")

local tests = {}
local function test(name, fn)
    tests[#tests + 1] = { name = name, fn = fn }
end

local function eq(got, want, what)
    if got ~= want then
        error(string.format("%s: got %s, want %s", what or "value", tostring(got), tostring(want)), 2)
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
end

local function must(res, msg, code)
    if res == nil then
        error(string.format("unexpected failure: %s (%s)", tostring(msg), tostring(code)), 2)
    end
    return res
end

local tmp = os.tmpname() -- a file; our databases sit next to it
local created = {}
local function db_path(name)
    local p = tmp .. "-" .. name .. ".db"
    created[#created + 1] = p
    return p
end

local T = 1778155200

test("memory store: new, duplicate, expiry with an advanced clock", function()
    local s = must(hookline.seen_store(nil, { ttl = 10, capacity = 100 }))
    eq(s:check_and_add("evt_1", T), true, "first")
    eq(s:check_and_add("evt_1", T + 9.999), false, "inside the window")
    eq(s:contains("evt_1", T + 5), true, "contains")
    eq(s:check_and_add("evt_1", T + 10), true, "after expiry")
    eq(s:check_and_add("short", T, 0.5), true, "own ttl")
    eq(s:check_and_add("short", T + 0.5), true, "own ttl expired")
    eq(tostring(s):match("^hookline.seen_store %(memory"), "hookline.seen_store (memory", "tostring")
    s:close()
    s:close() -- idempotent
    fails("invalid_argument", s:check_and_add("x", T))
end)

test("remove lets the sender's retry through", function()
    local s = must(hookline.seen_store(nil, { ttl = 60 }))
    eq(s:check_and_add("evt_2", T), true, "first")
    eq(s:remove("evt_2"), true, "removed")
    eq(s:remove("evt_2"), false, "absent")
    eq(s:check_and_add("evt_2", T + 1), true, "retry is new")
end)

test("binary ids with NUL bytes are distinct", function()
    local s = must(hookline.seen_store(nil, {}))
    eq(s:check_and_add("a\0b", T), true, "a\\0b")
    eq(s:check_and_add("a\0c", T), true, "a\\0c")
    eq(s:check_and_add("a", T), true, "a")
    eq(s:check_and_add("a\0b", T), false, "a\\0b again")
    fails("invalid_argument", s:check_and_add("", T))
    fails("invalid_argument", s:check_and_add(string.rep("x", 256), T))
    fails("invalid_argument", s:check_and_add(42, T))
    fails("invalid_argument", s:check_and_add("x", -1))
    fails("invalid_argument", s:check_and_add("x", "now"))
end)

test("full memory store refuses, or evicts when asked", function()
    local s = must(hookline.seen_store(nil, { capacity = 2, ttl = 100 }))
    eq(s:check_and_add("a", T), true, "a")
    eq(s:check_and_add("b", T), true, "b")
    fails("store_full", s:check_and_add("c", T))
    eq(s:check_and_add("a", T), false, "a kept")
    local e = must(hookline.seen_store(nil, { capacity = 2, ttl = 100, full = "evict" }))
    eq(e:check_and_add("a", T, 5), true, "a")
    eq(e:check_and_add("b", T), true, "b")
    eq(e:check_and_add("c", T), true, "c evicts a")
    eq(e:contains("a", T), false, "a evicted")
    fails("invalid_argument", hookline.seen_store(nil, { full = "drop" }))
    fails("invalid_argument", hookline.seen_store(nil, { capacity = 0 }))
    fails("invalid_argument", hookline.seen_store(nil, { ttl = 0 }))
    fails("invalid_argument", hookline.seen_store(nil, "opts"))
end)

test("sqlite store persists across close and reopen", function()
    local path = db_path("persist")
    local s = must(hookline.seen_store(path, { ttl = 60 }))
    eq(s:check_and_add("batch_1", T), true, "first")
    s:close()
    s = must(hookline.seen_store(path, { ttl = 60 }))
    eq(tostring(s):match("sqlite") ~= nil, true, "backend")
    eq(s:check_and_add("batch_1", T + 1), false, "after reopen")
    eq(s:check_and_add("batch_1", T + 60), true, "after expiry")
    eq(s:prune(T + 1000), 1, "pruned")
    s:close()
end)

test("two sqlite handles on one file agree", function()
    local path = db_path("shared")
    local a = must(hookline.seen_store(path, {}))
    local b = must(hookline.seen_store(path, {}))
    eq(a:check_and_add("x", T), true, "a adds")
    eq(b:check_and_add("x", T), false, "b sees it")
    eq(b:remove("x"), true, "b removes")
    eq(a:check_and_add("x", T), true, "a adds again")
    a:close()
    b:close()
end)

test("sqlite bad paths and corrupt files give storage codes", function()
    fails("store_io", hookline.seen_store("/nonexistent-hookline-dir/seen.db", {}))
    fails("invalid_argument", hookline.seen_store("", {}))
    local path = db_path("junk")
    local f = assert(io.open(path, "wb"))
    f:write(string.rep("junk", 2048))
    f:close()
    fails("store_corrupt", hookline.seen_store(path, {}))
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
for _, p in ipairs(created) do
    os.remove(p)
    os.remove(p .. "-wal")
    os.remove(p .. "-shm")
end
os.remove(tmp)
print(string.format("%d passed, %d failed", passed, failed))
os.exit(failed == 0 and 0 or 1, true)
