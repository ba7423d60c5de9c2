-- test_hookline.lua - resty.hookline (LuaJIT FFI over libhookline.so),
-- outside nginx:
--   luajit lua/tests/resty/test_hookline.lua build/core/libhookline.so
-- (lua/tests/run.sh runs it). The known-answer vectors come from
-- tests/vectors/signatures.json; when LUA_CPATH finds the C-API module
-- (`require "hookline"`, build/luajit), the two faces are cross-checked.
-- Time is always passed in, never read or waited for.
-- Ends with "<n> passed, <m> failed"; exits non-zero on failure.

local function script_dir()
    local src = debug.getinfo(1, "S").source
    return (src:sub(1, 1) == "@" and src:sub(2):match("^(.*)/")) or "."
end

local HERE = script_dir()
local REPO = HERE .. "/../../.."
package.path = REPO .. "/lua/lib/?.lua;" .. package.path

local LIB = arg[1] or os.getenv("HOOKLINE_LIB")
assert(LIB, "usage: luajit test_hookline.lua path/to/libhookline.so")

local hookline = require "resty.hookline"
local cjson = require "cjson"
local has_capi, capi = pcall(require, "hookline")

local tests = {}
local function test(name, fn)
    tests[#tests + 1] = { name = name, fn = fn }
end

local function eq(got, want, what)
    if got ~= want then
        error(string.format("%s: got %s, want %s", what or "value", tostring(got), tostring(want)),
            2)
    end
end

local function ok(cond, what)
    if not cond then
        error(what or "assertion failed", 2)
    end
end

local function must(res, msg, code)
    if res == nil then
        error(string.format("unexpected failure: %s (%s)", tostring(msg), tostring(code)), 2)
    end
    return res
end

local function fails(code, res, msg, got_code)
    if res ~= nil then
        error("expected failure " .. code .. ", got success", 2)
    end
    ok(type(msg) == "string" and msg ~= "", "failure without a message")
    if got_code ~= code then
        error(string.format("expected code %s, got %s (%s)", code, tostring(got_code), msg), 2)
    end
    return msg
end

-- Run a LuaJIT chunk in a fresh process; returns its exit status and output.
local function luajit(chunk)
    local path = os.tmpname()
    local f = assert(io.open(path, "wb"))
    f:write("package.path = " .. string.format("%q", REPO .. "/lua/lib/?.lua;") ..
        " .. package.path\n" .. chunk)
    f:close()
    local p = assert(io.popen("luajit " .. path .. " 2>&1"))
    local out = p:read("*a")
    local good = p:close()
    os.remove(path)
    return good, out
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local B64_VALUE = {}
for i = 1, 64 do
    B64_VALUE[B64:sub(i, i)] = i - 1
end
local function b64decode(s)
    local out, acc, nbits = {}, 0, 0
    for c in s:gsub("=", ""):gmatch(".") do
        acc = acc * 64 + assert(B64_VALUE[c], "bad base64")
        nbits = nbits + 6
        if nbits >= 8 then
            nbits = nbits - 8
            local byte = math.floor(acc / 2 ^ nbits)
            out[#out + 1] = string.char(byte)
            acc = acc - byte * 2 ^ nbits
        end
    end
    return table.concat(out)
end

local function opt(x)
    if x == cjson.null then
        return nil
    end
    return x
end

local VECTORS
do
    local f = assert(io.open(os.getenv("HOOKLINE_VECTORS") or
        (REPO .. "/tests/vectors/signatures.json"), "rb"))
    VECTORS = cjson.decode(f:read("*a")).vectors
    f:close()
end

local function body_of(v)
    return v.body_b64 and b64decode(v.body_b64) or v.body
end

local SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
local T = 1614265330
local BODY = '{"id":"evt_1","type":"email.delivered","created_at":"2026-11-23T18:00:00Z"}'

-- loading --------------------------------------------------------------------

test("a missing library is reported, not raised", function()
    local good, out = luajit([[
        local h = require "resty.hookline"
        local v, err = h.new{ secrets = "x", lib_path = "/nonexistent/libhookline.so" }
        assert(v == nil and err:find("cannot load libhookline", 1, true), tostring(err))
        print("reported")
    ]])
    ok(good and out:find("reported", 1, true), out)
end)

test("load() checks the ABI and refuses a struct of another size", function()
    -- Declare the structs first, one of them with HL_ID_MAX = 128 instead
    -- of 256, as a stale copy of the declarations would.
    local good, out = luajit([[
        local ffi = require "ffi"
        ffi.cdef[=[
            typedef struct hl_error { int code; char message[256]; } hl_error;
            typedef struct hl_header { const char *name; size_t name_len;
                                       const char *value; size_t value_len; } hl_header;
            typedef struct hl_signed_header { char name[32]; char value[2048]; } hl_signed_header;
            typedef struct hl_signed { size_t count; hl_signed_header headers[4]; } hl_signed;
            typedef struct hl_verify_options { unsigned int version; int scheme;
                int64_t tolerance; size_t max_body; int parse_event; } hl_verify_options;
            typedef struct hl_verify_result { int64_t timestamp; char msg_id[128];
                int secret_index; int has_event; char event_id[128]; char event_type[128];
                char created_at[64]; } hl_verify_result;
            typedef struct hl_event_summary { char id[256]; char type[256];
                char created_at[64]; } hl_event_summary;
            size_t hl_abi_sizeof(int which);
        ]=]
        local h = require "resty.hookline"
        local loaded, err = h.load(]] .. string.format("%q", LIB) .. [[)
        assert(loaded == nil, "loaded despite the mismatch")
        assert(err:find("ABI mismatch", 1, true) and err:find("hl_verify_result", 1, true), err)
        print("refused")
    ]])
    ok(good and out:find("refused", 1, true), out)
end)

test("load() takes the build tree's library and reports its version", function()
    must(hookline.load(LIB))
    must(hookline.load(LIB)) -- again: fine
    must(hookline.load()) -- no path: whatever is loaded
    eq(hookline.lib_version(), hookline._VERSION, "library version")
    local none, err = hookline.load("/elsewhere/libhookline.so")
    eq(none, nil, "second library")
    ok(err:find("already loaded", 1, true), err)
end)

-- known answers --------------------------------------------------------------

test("every vector signs to exactly its headers", function()
    for _, v in ipairs(VECTORS) do
        local h = must(hookline.sign(body_of(v), v.secrets, {
            scheme = v.scheme, msg_id = opt(v.msg_id), timestamp = opt(v.timestamp),
            secret_encoding = opt(v.secret_encoding),
        }))
        for name, value in pairs(v.headers) do
            eq(h[name], value, v.name .. " " .. name)
        end
        for name in pairs(h) do
            ok(v.headers[name] ~= nil, v.name .. ": unexpected header " .. name)
        end
    end
end)

test("every vector verifies at its timestamp, and fails tampered", function()
    for _, v in ipairs(VECTORS) do
        local verifier = must(hookline.new {
            secrets = opt(v.verify_secrets) or v.secrets, scheme = v.scheme,
            secret_encoding = opt(v.secret_encoding),
        })
        local body = body_of(v)
        local now = opt(v.timestamp) or T
        local r = must(verifier:verify(body, v.headers, now))
        if v.scheme == "standard" then
            eq(r.msg_id, v.msg_id, v.name .. " msg_id")
        end
        if v.scheme ~= "github" then
            eq(r.timestamp, v.timestamp, v.name .. " timestamp")
        else
            eq(r.timestamp, nil, v.name .. " timestamp")
        end
        fails("signature_mismatch", verifier:verify(body .. "x", v.headers, now))
        verifier:close()
    end
end)

-- verification ---------------------------------------------------------------

local function signed(body, ts, id)
    return must(hookline.sign(body, SECRET, { msg_id = id or "msg_1", timestamp = ts or T }))
end

test("a good request returns the ids, type and matching secret", function()
    local v = must(hookline.new { secrets = { "whsec_" .. ("QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"), SECRET } })
    local r = must(v:verify(BODY, signed(BODY), T))
    eq(r.msg_id, "msg_1", "msg_id")
    eq(r.timestamp, T, "timestamp")
    eq(r.secret_index, 2, "secret_index")
    eq(r.event_id, "evt_1", "event_id")
    eq(r.event_type, "email.delivered", "event_type")
    eq(r.created_at, "2026-11-23T18:00:00Z", "created_at")
end)

test("stale, future, tampered and unsigned requests fail with their codes", function()
    local v = must(hookline.new { secrets = SECRET, tolerance = 300 })
    local h = signed(BODY)
    must(v:verify(BODY, h, T + 300))
    fails("timestamp_too_old", v:verify(BODY, h, T + 301))
    fails("timestamp_in_future", v:verify(BODY, h, T - 301))
    fails("signature_mismatch", v:verify(BODY:gsub("evt_1", "evt_2"), h, T))
    fails("header_missing", v:verify(BODY, {}, T))
    local forged = signed(BODY)
    forged["webhook-id"] = "msg_2"
    fails("signature_mismatch", v:verify(BODY, forged, T))
end)

test("a header sent twice (a list, as ngx.req.get_headers gives) is malformed", function()
    local v = must(hookline.new { secrets = SECRET })
    local h = signed(BODY)
    h["webhook-signature"] = { h["webhook-signature"], h["webhook-signature"] }
    fails("header_malformed", v:verify(BODY, h, T))
    local h2 = signed(BODY)
    h2["webhook-id"] = { "msg_1" } -- a list of one is just the header
    must(v:verify(BODY, h2, T))
end)

test("header names match in any case; numbers are accepted as values", function()
    local v = must(hookline.new { secrets = SECRET })
    local h = signed(BODY)
    local mixed = {
        ["Webhook-Id"] = h["webhook-id"],
        ["WEBHOOK-TIMESTAMP"] = T, -- a number
        ["Webhook-Signature"] = h["webhook-signature"],
        ["content-type"] = "application/json",
    }
    must(v:verify(BODY, mixed, T))
end)

test("many headers grow the scratch buffer", function()
    local v = must(hookline.new { secrets = SECRET })
    local h = signed(BODY)
    for i = 1, 2000 do
        h["x-filler-" .. i] = tostring(i)
    end
    must(v:verify(BODY, h, T))
    h["x-list"] = { "a", "b", "c" }
    must(v:verify(BODY, h, T))
end)

test("max_body is enforced", function()
    local v = must(hookline.new { secrets = SECRET, max_body = 10 })
    fails("body_too_large", v:verify(BODY, signed(BODY), T))
    local empty = must(hookline.new { secrets = SECRET, max_body = 0 })
    must(empty:verify("", signed(""), T))
end)

test("other schemes and parse_event = false", function()
    local hex = ("0123456789abcdef"):rep(4)
    local h = must(hookline.sign(BODY, hex, { scheme = "hookline", timestamp = T }))
    local v = must(hookline.new { secrets = hex, scheme = "hookline", parse_event = false })
    local r = must(v:verify(BODY, h, T))
    eq(r.event_id, nil, "event_id without parse_event")
    eq(r.msg_id, nil, "msg_id (hookline scheme has none)")
    local g = must(hookline.sign(BODY, "gh-secret", { scheme = "github" }))
    local gv = must(hookline.new { secrets = "gh-secret", scheme = "GitHub" })
    local gr = must(gv:verify(BODY, g, 0))
    eq(gr.timestamp, nil, "github has no timestamp")
    eq(gr.event_id, "evt_1", "event_id")
end)

test("bad arguments fail with invalid_argument (never raise)", function()
    local v = must(hookline.new { secrets = SECRET })
    fails("invalid_argument", v:verify(nil, {}, T))
    fails("invalid_argument", v:verify(BODY, "webhook-id: x", T))
    fails("invalid_argument", v:verify(BODY, signed(BODY), 1.5))
    fails("invalid_argument", v:verify(BODY, { [1] = "x" }, T))
    fails("invalid_argument", v:verify(BODY, { ["webhook-id"] = true }, T))
    fails("invalid_argument", v:verify(BODY, { ["webhook-id"] = {} }, T))
    fails("invalid_argument", v:verify(BODY, { ["webhook-id"] = { "a", false } }, T))
    fails("invalid_argument", hookline.new("secret"))
    fails("invalid_argument", hookline.new {})
    fails("invalid_argument", hookline.new { secrets = {} })
    fails("invalid_argument", hookline.new { secrets = { SECRET, 42 } })
    fails("invalid_argument", hookline.new { secrets = SECRET, tolerance = -1 })
    fails("invalid_argument", hookline.new { secrets = SECRET, max_body = 1.5 })
    fails("invalid_argument", hookline.new { secrets = SECRET, secret_encoding = "rot13" })
    fails("scheme_unknown", hookline.new { secrets = SECRET, scheme = "svix2" })
    fails("secret_malformed", hookline.new { secrets = "v1,abc" })
    fails("secret_malformed", hookline.new { secrets = { SECRET, "whsec_!!" } })
    local many = {}
    for i = 1, 17 do
        many[i] = SECRET
    end
    fails("too_many", hookline.new { secrets = many })
    fails("invalid_argument", hookline.sign(42, SECRET))
    fails("invalid_argument", hookline.sign(BODY, SECRET, { msg_id = "a\0b" }))
    fails("invalid_argument", hookline.sign(BODY, SECRET, { timestamp = -5 }))
    v:close()
    v:close() -- idempotent
    fails("invalid_argument", v:verify(BODY, signed(BODY), T))
end)

test("sign generates a msg_id and reads the clock when not given", function()
    local h = must(hookline.sign(BODY, SECRET))
    ok(h["webhook-id"]:match("^msg_%w+$"), h["webhook-id"])
    local ts = tonumber(h["webhook-timestamp"])
    ok(math.abs(ts - os.time()) < 5, "timestamp near the clock")
    local id = must(hookline.generate_id("evt_"))
    ok(id:match("^evt_%w+$") and #id == 30, id)
end)

test("a signer is reusable and signs with every secret (rotation)", function()
    local s = must(hookline.signer({ SECRET, "whsec_QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB" }))
    local v = must(hookline.new { secrets = "whsec_QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB" })
    for i = 1, 300 do
        local body = '{"id":"evt_' .. i .. '"}'
        local h = must(s:sign(body, { msg_id = "msg_" .. i, timestamp = T + i }))
        local sigs = select(2, h["webhook-signature"]:gsub("v1,", ""))
        eq(sigs, 2, "two signatures")
        local r = must(v:verify(body, h, T + i))
        eq(r.event_id, "evt_" .. i, "event_id")
    end
    s:close()
    fails("invalid_argument", s:sign(BODY))
end)

test("verifying in a hot loop (JIT-compiled) keeps giving the right answers", function()
    local v = must(hookline.new { secrets = SECRET })
    local h = signed(BODY)
    local bad = signed(BODY)
    bad["webhook-signature"] = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    local good_count, bad_count = 0, 0
    for i = 1, 5000 do
        if v:verify(BODY, h, T) then
            good_count = good_count + 1
        end
        if not v:verify(BODY, bad, T) then
            bad_count = bad_count + 1
        end
    end
    eq(good_count, 5000, "accepted")
    eq(bad_count, 5000, "rejected")
end)

test("verifiers are freed by the garbage collector", function()
    for _ = 1, 2000 do
        must(hookline.new { secrets = { SECRET, SECRET } })
    end
    collectgarbage()
    collectgarbage()
end)

if has_capi then
    test("agrees with the C-API module both ways", function()
        for i = 1, 50 do
            local body = '{"id":"evt_' .. i .. '","n":' .. i .. "}"
            local h1 = must(hookline.sign(body, SECRET, { timestamp = T + i }))
            must(capi.verify(body, h1, SECRET, { now = T + i }))
            local h2 = must(capi.sign(body, SECRET, { timestamp = T + i }))
            local v = must(hookline.new { secrets = SECRET })
            local r = must(v:verify(body, h2, T + i))
            eq(r.event_id, "evt_" .. i, "event_id")
        end
    end)
end

-- run ----------------------------------------------------------------------------

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
print(string.format("%d passed, %d failed%s", passed, failed,
    has_capi and "" or " (C-API module not found: cross-check skipped)"))
-- close = true: the state is closed, so every ffi.gc finalizer runs before exit.
os.exit(failed == 0 and 0 or 1, true)
