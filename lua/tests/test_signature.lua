-- test_signature.lua - the hookline Lua module's signing and verification.
--
-- Plain Lua, no framework, runs unchanged under Lua 5.4 and LuaJIT:
--   LUA_CPATH='build/lua54/?.so;;' lua5.4 lua/tests/test_signature.lua
--   LUA_CPATH='build/luajit/?.so;;' luajit lua/tests/test_signature.lua
-- (lua/tests/run.sh does both). The known-answer vectors come from
-- tests/vectors/signatures.json (computed independently with Python's hmac
-- and PyNaCl by tests/vectors/gen_signatures.py); HOOKLINE_VECTORS overrides
-- the path. Time is always passed in (opts.now), never read or waited for.
-- The run ends with "<n> passed, <m> failed" and exits non-zero on failure.

local hookline = require("hookline")
local cjson = require("cjson")

local tests = {}
local function test(name, fn)
    tests[#tests + 1] = { name = name, fn = fn }
end

-- assertions ---------------------------------------------------------------

local function fmt(v)
    if type(v) == "string" then
        if #v > 80 then
            v = v:sub(1, 80) .. "..."
        end
        return string.format("%q", v)
    end
    return tostring(v)
end

local function eq(got, want, what)
    if got ~= want then
        error(string.format("%s: got %s, want %s", what or "value", fmt(got), fmt(want)), 2)
    end
end

local function ok(cond, what)
    if not cond then
        error(what or "assertion failed", 2)
    end
end

-- Expect the `nil, message, code` failure convention with the given code.
local function fails(code, res, msg, got_code)
    if res ~= nil then
        error(string.format("expected failure %s, got success", code), 2)
    end
    if type(msg) ~= "string" or msg == "" then
        error("failure without a message", 2)
    end
    if got_code ~= code then
        error(string.format("expected code %s, got %s (%s)", code, fmt(got_code), msg), 2)
    end
    return msg
end

-- Call that must succeed; returns its results.
local function must(res, msg, code)
    if res == nil then
        error(string.format("unexpected failure: %s (%s)", tostring(msg), tostring(code)), 2)
    end
    return res, msg
end

local function same_headers(got, want, what)
    for k, v in pairs(want) do
        eq(got[k], v, (what or "") .. " header " .. k)
    end
    for k in pairs(got) do
        ok(want[k] ~= nil, (what or "") .. " unexpected header " .. k)
    end
end

local function copy(t)
    local c = {}
    for k, v in pairs(t) do
        c[k] = v
    end
    return c
end

-- Base64 decoding for body_b64 (arithmetic only: no bit library in 5.1).
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

-- fixtures -------------------------------------------------------------------

local function script_dir()
    local src = debug.getinfo(1, "S").source
    return (src:sub(1, 1) == "@" and src:sub(2):match("^(.*)/")) or "."
end

local function load_vectors()
    local path = os.getenv("HOOKLINE_VECTORS")
        or (script_dir() .. "/../../tests/vectors/signatures.json")
    local f = assert(io.open(path, "rb"))
    local text = f:read("*a")
    f:close()
    return cjson.decode(text).vectors
end

local VECTORS = load_vectors()

-- The example published with the Standard Webhooks reference libraries, kept
-- here too so the module is checked against a value from outside hookline.
local SPEC = {
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    msg_id = "msg_p5jXN8AQM9LWM0D4loKWxJek",
    timestamp = 1614265330,
    body = '{"test": 2432232314}',
    signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
}
local T = SPEC.timestamp

local function spec_headers()
    return {
        ["webhook-id"] = SPEC.msg_id,
        ["webhook-timestamp"] = tostring(T),
        ["webhook-signature"] = SPEC.signature,
    }
end

local HEX_SECRET = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

-- JSON null (cjson.null) is "absent".
local function opt(x)
    if x == cjson.null then
        return nil
    end
    return x
end

local function body_of(v)
    if v.body_b64 then
        return b64decode(v.body_b64)
    end
    return v.body
end

-- The verify options a vector asks for: its scheme, encoding and timestamp.
local function verify_opts(v)
    return { scheme = v.scheme, now = opt(v.timestamp), secret_encoding = opt(v.secret_encoding) }
end

-- module ---------------------------------------------------------------------

test("module exposes its version", function()
    ok(type(hookline._VERSION) == "string" and hookline._VERSION:match("^%d+%.%d+%.%d+$"),
        "_VERSION")
    eq(hookline.version, hookline._VERSION, "version")
    for _, name in ipairs({ "sign", "verify", "signer", "verifier", "generate_secret",
        "generate_keypair" }) do
        eq(type(hookline[name]), "function", name)
    end
end)

-- known answers --------------------------------------------------------------

test("vectors file is readable and non-trivial", function()
    ok(#VECTORS >= 10, "expected at least 10 vectors, got " .. #VECTORS)
    local schemes = {}
    for _, v in ipairs(VECTORS) do
        schemes[v.scheme] = true
    end
    for _, s in ipairs({ "standard", "hookline", "stripe", "github" }) do
        ok(schemes[s], "no vector for scheme " .. s)
    end
end)

test("Standard Webhooks published example", function()
    local h = must(hookline.sign(SPEC.body, SPEC.secret, { msg_id = SPEC.msg_id, timestamp = T }))
    same_headers(h, spec_headers())
    local r = must(hookline.verify(SPEC.body, spec_headers(), SPEC.secret, { now = T }))
    eq(r.msg_id, SPEC.msg_id, "msg_id")
    eq(r.timestamp, T, "timestamp")
    eq(r.secret_index, 1, "secret_index")
end)

test("every vector signs to exactly its headers (one-shot)", function()
    for _, v in ipairs(VECTORS) do
        local h = must(hookline.sign(body_of(v), v.secrets, {
            scheme = v.scheme, msg_id = opt(v.msg_id), timestamp = opt(v.timestamp),
            secret_encoding = opt(v.secret_encoding),
        }))
        same_headers(h, v.headers, v.name)
    end
end)

test("every vector signs to exactly its headers (signer object)", function()
    for _, v in ipairs(VECTORS) do
        local s = must(hookline.signer(v.secrets, {
            scheme = v.scheme, secret_encoding = opt(v.secret_encoding),
        }))
        local h = must(s:sign(body_of(v), { msg_id = opt(v.msg_id), timestamp = opt(v.timestamp) }))
        same_headers(h, v.headers, v.name)
        s:close()
    end
end)

test("every vector verifies at now = timestamp", function()
    for _, v in ipairs(VECTORS) do
        local secrets = opt(v.verify_secrets) or v.secrets
        local opts = verify_opts(v)
        local r = must(hookline.verify(body_of(v), v.headers, secrets, opts))
        if v.scheme == "github" then
            eq(r.timestamp, nil, v.name .. " timestamp")
        else
            eq(r.timestamp, v.timestamp, v.name .. " timestamp")
        end
        if v.scheme == "standard" then
            eq(r.msg_id, v.msg_id, v.name .. " msg_id")
        end
        ok(r.secret_index >= 1 and r.secret_index <= #secrets, v.name .. " secret_index")

        local vf = must(hookline.verifier(secrets, {
            scheme = v.scheme, secret_encoding = opt(v.secret_encoding),
        }))
        must(vf:verify(body_of(v), v.headers, { now = opt(v.timestamp) }))
        vf:close()
    end
end)

test("every vector rejects a tampered body", function()
    for _, v in ipairs(VECTORS) do
        local secrets = opt(v.verify_secrets) or v.secrets
        local opts = verify_opts(v)
        fails("signature_mismatch",
            hookline.verify(body_of(v) .. " ", v.headers, secrets, opts))
    end
end)

test("event fields are reported from a JSON body", function()
    local found = false
    for _, v in ipairs(VECTORS) do
        if v.name == "standard-email-event" then
            found = true
            local r = must(hookline.verify(v.body, v.headers, v.secrets, verify_opts(v)))
            local ev = cjson.decode(v.body)
            eq(r.event_id, ev.id, "event_id")
            eq(r.event_type, ev.type, "event_type")
            eq(r.created_at, ev.created_at, "created_at")
            r = must(hookline.verify(v.body, v.headers, v.secrets,
                { now = opt(v.timestamp), parse_event = false }))
            eq(r.event_id, nil, "event_id without parse_event")
        end
    end
    ok(found, "vector standard-email-event missing")
    -- A body that is not JSON still verifies, without event fields.
    local r = must(hookline.verify(SPEC.body .. "x", hookline.sign(SPEC.body .. "x", SPEC.secret,
        { timestamp = T }), SPEC.secret, { now = T }))
    eq(r.event_id, nil, "event_id of non-JSON body")
end)

-- round trips ----------------------------------------------------------------

test("generated secrets round-trip in every scheme", function()
    for _, scheme in ipairs({ "standard", "hookline", "stripe", "github" }) do
        local secret = must(hookline.generate_secret(scheme))
        eq(type(secret), "string", scheme)
        ok(secret ~= must(hookline.generate_secret(scheme)), scheme .. " secrets repeat")
        local h = must(hookline.sign("payload", secret, { scheme = scheme, timestamp = T }))
        must(hookline.verify("payload", h, secret, { scheme = scheme, now = T }))
    end
    ok(must(hookline.generate_secret()):match("^whsec_"), "default scheme is standard")
    ok(must(hookline.generate_secret("hookline")):match("^%x+$"), "hookline secret is hex")
end)

test("generated message ids and the clock are used when not given", function()
    local secret = must(hookline.generate_secret())
    local a = must(hookline.sign("x", secret))
    local b = must(hookline.sign("x", secret))
    ok(a["webhook-id"] and a["webhook-id"] ~= b["webhook-id"], "ids must be fresh")
    local ts = tonumber(a["webhook-timestamp"])
    ok(ts and math.abs(ts - os.time()) < 5, "timestamp is the clock")
    must(hookline.verify("x", a, secret)) -- now defaults to the clock
end)

test("Ed25519 key pair signs v1a and verifies with the public key", function()
    local sk, pk = hookline.generate_keypair()
    ok(type(sk) == "string" and sk:match("^whsk_"), "private key prefix")
    ok(type(pk) == "string" and pk:match("^whpk_"), "public key prefix")
    local h = must(hookline.sign("event", sk, { msg_id = "msg_1", timestamp = T }))
    ok(h["webhook-signature"]:match("^v1a,"), "v1a signature")
    local r = must(hookline.verify("event", h, pk, { now = T }))
    eq(r.secret_index, 1, "secret_index")
    local _, other = hookline.generate_keypair()
    fails("signature_mismatch", hookline.verify("event", h, other, { now = T }))
    fails("key_kind", hookline.sign("event", pk, { timestamp = T }))
end)

test("bodies with NUL bytes are signed byte for byte", function()
    local body = "a\0b\0\255"
    local h = must(hookline.sign(body, SPEC.secret, { timestamp = T }))
    must(hookline.verify(body, h, SPEC.secret, { now = T }))
    fails("signature_mismatch", hookline.verify("a\0b\0\254", h, SPEC.secret, { now = T }))
    fails("signature_mismatch", hookline.verify("a", h, SPEC.secret, { now = T }))
end)

test("empty body", function()
    for _, scheme in ipairs({ "standard", "hookline", "stripe", "github" }) do
        local secret = scheme == "hookline" and HEX_SECRET or SPEC.secret
        local h = must(hookline.sign("", secret, { scheme = scheme, timestamp = T }))
        must(hookline.verify("", h, secret, { scheme = scheme, now = T }))
        fails("signature_mismatch", hookline.verify("\0", h, secret, { scheme = scheme, now = T }))
    end
end)

test("10 MiB body", function()
    local body = string.rep("0123456789abcdef", 64 * 1024 * 10)
    eq(#body, 10 * 1024 * 1024, "size")
    local h = must(hookline.sign(body, SPEC.secret, { timestamp = T }))
    must(hookline.verify(body, h, SPEC.secret, { now = T }))
    must(hookline.verify(body, h, SPEC.secret, { now = T, max_body = #body }))
    fails("body_too_large",
        hookline.verify(body, h, SPEC.secret, { now = T, max_body = #body - 1 }))
    local tampered = body:sub(1, -2) .. "X"
    fails("signature_mismatch", hookline.verify(tampered, h, SPEC.secret, { now = T }))
end)

-- rotation -------------------------------------------------------------------

test("rotation: every secret signs, any one verifies", function()
    local old = must(hookline.generate_secret())
    local new = must(hookline.generate_secret())
    local unrelated = must(hookline.generate_secret())
    local h = must(hookline.sign("b", { old, new }, { timestamp = T }))
    local n = 0
    for _ in h["webhook-signature"]:gmatch("v1,") do
        n = n + 1
    end
    eq(n, 2, "signatures in header")
    eq(must(hookline.verify("b", h, old, { now = T })).secret_index, 1, "old alone")
    eq(must(hookline.verify("b", h, new, { now = T })).secret_index, 1, "new alone")
    eq(must(hookline.verify("b", h, { unrelated, new }, { now = T })).secret_index, 2,
        "new second")
    fails("signature_mismatch", hookline.verify("b", h, { unrelated }, { now = T }))

    -- A sender still on the old secret, a receiver that already has both.
    local h_old = must(hookline.sign("b", old, { timestamp = T }))
    eq(must(hookline.verify("b", h_old, { new, old }, { now = T })).secret_index, 2,
        "old second")
end)

test("rotation in the hookline and stripe schemes", function()
    local a, b = HEX_SECRET, string.rep("ab", 32)
    local h = must(hookline.sign("b", { a, b }, { scheme = "hookline", timestamp = T }))
    ok(h["x-webhook-signature"]:match("^%x+,%x+$"), "comma-separated hex")
    eq(must(hookline.verify("b", h, { b }, { scheme = "hookline", now = T })).secret_index, 1, "b")
    h = must(hookline.sign("b", { "sk_one", "sk_two" }, { scheme = "stripe", timestamp = T }))
    eq(must(hookline.verify("b", h, { "sk_x", "sk_two" }, { scheme = "stripe", now = T }))
        .secret_index, 2, "stripe second")
end)

test("too many secrets", function()
    local list = {}
    for i = 1, 17 do
        list[i] = SPEC.secret
    end
    fails("too_many", hookline.sign("b", list, { timestamp = T }))
    fails("too_many", hookline.verify("b", spec_headers(), list, { now = T }))
    list[17] = nil
    must(hookline.verify(SPEC.body, spec_headers(), list, { now = T }))
end)

-- headers as they arrive --------------------------------------------------------

test("header names of any case", function()
    local variants = {
        { ["Webhook-Id"] = SPEC.msg_id, ["Webhook-Timestamp"] = tostring(T),
            ["Webhook-Signature"] = SPEC.signature },
        { ["WEBHOOK-ID"] = SPEC.msg_id, ["WEBHOOK-TIMESTAMP"] = tostring(T),
            ["WEBHOOK-SIGNATURE"] = SPEC.signature },
        { ["wEbHoOk-iD"] = SPEC.msg_id, ["webhook-timestamp"] = tostring(T),
            ["WebHook-Signature"] = SPEC.signature },
    }
    for i, h in ipairs(variants) do
        local r = must(hookline.verify(SPEC.body, h, SPEC.secret, { now = T }))
        eq(r.msg_id, SPEC.msg_id, "variant " .. i)
    end
    -- Every scheme, with its headers upper-cased.
    for _, v in ipairs(VECTORS) do
        local upper = {}
        for k, val in pairs(v.headers) do
            upper[k:upper()] = val
        end
        must(hookline.verify(body_of(v), upper, opt(v.verify_secrets) or v.secrets,
            verify_opts(v)))
    end
end)

test("unrelated headers are ignored", function()
    local h = spec_headers()
    h["content-type"] = "application/json"
    h["user-agent"] = "test"
    h["x-webhook-signature"] = "not for this scheme"
    must(hookline.verify(SPEC.body, h, SPEC.secret, { now = T }))
end)

test("a repeated header (table value, as ngx.req.get_headers gives it) is malformed", function()
    for _, name in ipairs({ "webhook-id", "webhook-timestamp", "webhook-signature" }) do
        local h = spec_headers()
        h[name] = { h[name], h[name] }
        local msg = fails("header_malformed",
            hookline.verify(SPEC.body, h, SPEC.secret, { now = T }))
        ok(msg:find(name, 1, true), "message names the header: " .. msg)
    end
    -- Even when the second copy is the one that would verify.
    local h = spec_headers()
    h["webhook-signature"] = { "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", SPEC.signature }
    fails("header_malformed", hookline.verify(SPEC.body, h, SPEC.secret, { now = T }))
    -- The same header under two spellings is repeated too.
    h = spec_headers()
    h["Webhook-Signature"] = SPEC.signature
    fails("header_malformed", hookline.verify(SPEC.body, h, SPEC.secret, { now = T }))
    -- A one-element list is just the header.
    h = spec_headers()
    h["webhook-signature"] = { SPEC.signature }
    must(hookline.verify(SPEC.body, h, SPEC.secret, { now = T }))
end)

test("a headers table shaped like ngx.req.get_headers()", function()
    -- Lowercased keys, a normalising __index (never consulted: the table is
    -- walked raw), a repeated header as a list.
    local mt = {
        __index = function(t, k)
            return rawget(t, (k:lower():gsub("_", "-")))
        end,
    }
    local h = setmetatable(spec_headers(), mt)
    h["accept"] = { "a", "b" }
    must(hookline.verify(SPEC.body, h, SPEC.secret, { now = T }))
    h["webhook-id"] = { SPEC.msg_id, SPEC.msg_id }
    fails("header_malformed", hookline.verify(SPEC.body, h, SPEC.secret, { now = T }))
end)

test("number header values are read as their text", function()
    local h = spec_headers()
    h["webhook-timestamp"] = 1614265330
    must(hookline.verify(SPEC.body, h, SPEC.secret, { now = T }))
end)

test("hostile headers: 1 MiB value", function()
    local big = string.rep("A", 1024 * 1024)
    local h = spec_headers()
    h["webhook-signature"] = "v1," .. big
    fails("header_malformed", hookline.verify(SPEC.body, h, SPEC.secret, { now = T }))
    h = spec_headers()
    h["webhook-id"] = big
    fails("header_malformed", hookline.verify(SPEC.body, h, SPEC.secret, { now = T }))
    h = spec_headers()
    h["x-unrelated"] = big
    must(hookline.verify(SPEC.body, h, SPEC.secret, { now = T }))
end)

test("hostile headers: embedded NUL", function()
    local cases = {
        { "webhook-signature", SPEC.signature .. "\0" },
        { "webhook-signature", "\0" .. SPEC.signature },
        { "webhook-timestamp", tostring(T) .. "\0" },
        { "webhook-id", SPEC.msg_id .. "\0x" },
    }
    for _, c in ipairs(cases) do
        local h = spec_headers()
        h[c[1]] = c[2]
        fails("header_malformed", hookline.verify(SPEC.body, h, SPEC.secret, { now = T }))
    end
    -- A NUL in a header name makes it another header.
    local h = spec_headers()
    h["webhook-signature"] = nil
    h["webhook-signature\0"] = SPEC.signature
    fails("header_missing", hookline.verify(SPEC.body, h, SPEC.secret, { now = T }))
end)

test("hostile headers: 10,000 entries", function()
    -- 10,000 comma-separated signatures, the valid one last.
    local entries = {}
    for i = 1, 9999 do
        entries[i] = string.rep("0", 64)
    end
    local good = must(hookline.sign("b", HEX_SECRET, { scheme = "hookline", timestamp = T }))
    entries[10000] = good["x-webhook-signature"]
    local h = copy(good)
    h["x-webhook-signature"] = table.concat(entries, ",")
    fails("header_malformed", hookline.verify("b", h, HEX_SECRET, { scheme = "hookline", now = T }))
    -- 10,000 space-separated entries of an unknown version (skipped) before v1.
    local std = {}
    for i = 1, 9999 do
        std[i] = "v9,x"
    end
    std[10000] = SPEC.signature
    h = spec_headers()
    h["webhook-signature"] = table.concat(std, " ")
    fails("header_malformed", hookline.verify(SPEC.body, h, SPEC.secret, { now = T }))
    -- 10,000 stripe elements.
    local st = { "t=" .. T }
    for i = 2, 10000 do
        st[i] = "v1=" .. string.rep("0", 64)
    end
    fails("header_malformed", hookline.verify("b", { ["stripe-signature"] = table.concat(st, ",") },
        "sk", { scheme = "stripe", now = T }))
    -- 10,000 unrelated headers around the real ones.
    h = spec_headers()
    for i = 1, 10000 do
        h["x-filler-" .. i] = "v"
    end
    must(hookline.verify(SPEC.body, h, SPEC.secret, { now = T }))
    -- The signature header repeated 10,000 times.
    local list = {}
    for i = 1, 10000 do
        list[i] = SPEC.signature
    end
    h = spec_headers()
    h["webhook-signature"] = list
    fails("header_malformed", hookline.verify(SPEC.body, h, SPEC.secret, { now = T }))
end)

-- timestamps -----------------------------------------------------------------

test("tolerance edges: exactly 300 s in, 301 s out, both directions", function()
    local h = spec_headers()
    must(hookline.verify(SPEC.body, h, SPEC.secret, { now = T + 300 }))
    must(hookline.verify(SPEC.body, h, SPEC.secret, { now = T - 300 }))
    fails("timestamp_too_old", hookline.verify(SPEC.body, h, SPEC.secret, { now = T + 301 }))
    fails("timestamp_in_future", hookline.verify(SPEC.body, h, SPEC.secret, { now = T - 301 }))
    -- Explicit tolerances.
    must(hookline.verify(SPEC.body, h, SPEC.secret, { now = T + 10, tolerance = 10 }))
    fails("timestamp_too_old",
        hookline.verify(SPEC.body, h, SPEC.secret, { now = T + 11, tolerance = 10 }))
    must(hookline.verify(SPEC.body, h, SPEC.secret, { now = T, tolerance = 0 }))
    fails("timestamp_in_future",
        hookline.verify(SPEC.body, h, SPEC.secret, { now = T - 1, tolerance = 0 }))
    -- The same through a verifier object.
    local v = must(hookline.verifier(SPEC.secret))
    must(v:verify(SPEC.body, h, { now = T + 300 }))
    fails("timestamp_too_old", v:verify(SPEC.body, h, { now = T + 301 }))
    fails("timestamp_in_future", v:verify(SPEC.body, h, { now = T - 301 }))
    v:close()
end)

test("an old timestamp is reported even when the signature is also wrong", function()
    local h = spec_headers()
    fails("timestamp_too_old", hookline.verify("other", h, SPEC.secret, { now = T + 1000 }))
end)

test("github has no timestamp and so no replay window", function()
    local h = must(hookline.sign("b", "gh-secret", { scheme = "github", timestamp = T }))
    local r = must(hookline.verify("b", h, "gh-secret", { scheme = "github", now = T + 10 ^ 6 }))
    eq(r.timestamp, nil, "timestamp")
end)

test("timestamps that are not plain non-negative integers are malformed", function()
    local bad = { "161426533.0", "-161426533", "abc", "", " ", "+1614265330", "0x60367a72",
        "1614265330 1", "1e9", "1614265330s", "99999999999999999999" }
    for _, ts in ipairs(bad) do
        local h = spec_headers()
        h["webhook-timestamp"] = ts
        fails("header_malformed", hookline.verify(SPEC.body, h, SPEC.secret, { now = T }))
        local hh = { ["x-webhook-timestamp"] = ts, ["x-webhook-signature"] = string.rep("0", 64) }
        fails("header_malformed",
            hookline.verify("b", hh, HEX_SECRET, { scheme = "hookline", now = T }))
        local sh = { ["stripe-signature"] = "t=" .. ts .. ",v1=" .. string.rep("0", 64) }
        fails("header_malformed", hookline.verify("b", sh, "sk", { scheme = "stripe", now = T }))
    end
end)

test("integral float timestamps are accepted, fractional ones refused", function()
    must(hookline.verify(SPEC.body, spec_headers(), SPEC.secret, { now = T + 0.0 }))
    local h = must(hookline.sign(SPEC.body, SPEC.secret,
        { msg_id = SPEC.msg_id, timestamp = T + 0.0 }))
    eq(h["webhook-signature"], SPEC.signature, "float timestamp signs the integer")
    fails("invalid_argument", hookline.sign("b", SPEC.secret, { timestamp = T + 0.5 }))
    for _, bad in ipairs({ 1 / 0, -1 / 0, 0 / 0, 2 ^ 63 }) do
        fails("invalid_argument",
            hookline.verify(SPEC.body, spec_headers(), SPEC.secret, { now = bad }))
    end
    fails("invalid_argument", hookline.sign("b", SPEC.secret, { timestamp = "1614265330" }))
end)

-- secrets ----------------------------------------------------------------------

test("a secret pasted with a signature prefix says so", function()
    for _, prefix in ipairs({ "v1,", "v1a,", "v1=", "sha256=", "t=" }) do
        local msg = fails("secret_malformed", hookline.verify(SPEC.body, spec_headers(),
            prefix .. SPEC.secret, { now = T }))
        ok(msg:find("'" .. prefix .. "'", 1, true), "message quotes the prefix: " .. msg)
        ok(msg:find("signature header", 1, true), "message mentions the signature header: " .. msg)
        fails("secret_malformed", hookline.sign("b", prefix .. SPEC.secret, { timestamp = T }))
    end
    -- In a list, the message says which secret.
    local msg = fails("secret_malformed", hookline.verify(SPEC.body, spec_headers(),
        { SPEC.secret, "v1," .. SPEC.secret }, { now = T }))
    ok(msg:find("secret 2", 1, true), "message names the position: " .. msg)
end)

test("malformed secrets, and messages never contain them", function()
    local cases = {
        { "", {} },
        { "whsec_", {} },
        { "whsec_not*base64!!", {} },
        { SPEC.secret .. "\n", {} },
        { SPEC.secret:sub(1, 10) .. "\0" .. SPEC.secret:sub(11), {} },
        { "abc", { scheme = "hookline" } }, -- odd-length hex
        { "zz", { scheme = "hookline" } },
        { "whpk_AAAA", {} },
        { string.rep("a", 2000), { scheme = "stripe" } },
        { "not hex", { secret_encoding = "hex" } },
        { "@@@", { secret_encoding = "base64" } },
    }
    for i, c in ipairs(cases) do
        local opts = copy(c[2])
        opts.now = T
        local msg = fails("secret_malformed", hookline.verify("b", spec_headers(), c[1], opts))
        if #c[1] >= 8 then
            ok(not msg:find(c[1]:sub(7), 1, true), "case " .. i .. " message leaks the secret")
        end
    end
end)

test("secret encodings", function()
    -- The same key bytes given as hex, base64 and whsec_.
    local key_hex = "6465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f80818283"
    local key_b64 = "ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM="
    local h = must(hookline.sign("b", "whsec_" .. key_b64, { timestamp = T, msg_id = "m" }))
    for _, s in ipairs({
        { key_hex, "hex" }, { key_b64, "base64" }, { "whsec_" .. key_b64, "base64" },
        { key_b64, "default" }, { key_b64:gsub("=", ""), "default" },
    }) do
        must(hookline.verify("b", h, s[1], { now = T, secret_encoding = s[2] }))
    end
    -- raw: the text's bytes are the key
    local raw = must(hookline.sign("b", "defghijklmnopqrstuvwxyz{|}~", { scheme = "hookline",
        timestamp = T, secret_encoding = "raw" }))
    must(hookline.verify("b", raw, "6465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e",
        { scheme = "hookline", now = T }))
end)

-- every error code -------------------------------------------------------------

test("every error kind has its code", function()
    local h = spec_headers()
    fails("header_missing", hookline.verify(SPEC.body, {}, SPEC.secret, { now = T }))
    local missing = spec_headers()
    missing["webhook-id"] = nil
    local msg = fails("header_missing",
        hookline.verify(SPEC.body, missing, SPEC.secret, { now = T }))
    ok(msg:find("webhook-id", 1, true), "message names the header: " .. msg)
    local bad = spec_headers()
    bad["webhook-signature"] = "v1"
    fails("header_malformed", hookline.verify(SPEC.body, bad, SPEC.secret, { now = T }))
    fails("secret_malformed", hookline.verify(SPEC.body, h, "whsec_", { now = T }))
    fails("signature_mismatch", hookline.verify(SPEC.body .. "!", h, SPEC.secret, { now = T }))
    fails("timestamp_too_old", hookline.verify(SPEC.body, h, SPEC.secret, { now = T + 301 }))
    fails("timestamp_in_future", hookline.verify(SPEC.body, h, SPEC.secret, { now = T - 301 }))
    fails("body_too_large", hookline.verify(SPEC.body, h, SPEC.secret, { now = T, max_body = 3 }))
    fails("scheme_unknown", hookline.verify(SPEC.body, h, SPEC.secret, { scheme = "nope" }))
    fails("scheme_unknown", hookline.sign("b", SPEC.secret, { scheme = "nope" }))
    fails("scheme_unknown", hookline.generate_secret("nope"))
    fails("key_kind", hookline.sign("b", { "one", "two" }, { scheme = "github" }))
    fails("too_many", hookline.verify(SPEC.body, h, {
        SPEC.secret, SPEC.secret, SPEC.secret, SPEC.secret, SPEC.secret, SPEC.secret,
        SPEC.secret, SPEC.secret, SPEC.secret, SPEC.secret, SPEC.secret, SPEC.secret,
        SPEC.secret, SPEC.secret, SPEC.secret, SPEC.secret, SPEC.secret }, { now = T }))
    fails("invalid_argument",
        hookline.verify(SPEC.body, h, SPEC.secret, { now = T, tolerance = -1 }))
end)

test("scheme names are case-insensitive", function()
    must(hookline.verify(SPEC.body, spec_headers(), SPEC.secret, { scheme = "Standard", now = T }))
end)

test("bad arguments fail with invalid_argument instead of raising", function()
    local h = spec_headers()
    fails("invalid_argument", hookline.verify(nil, h, SPEC.secret, { now = T }))
    fails("invalid_argument", hookline.verify(42, h, SPEC.secret, { now = T }))
    fails("invalid_argument", hookline.verify(SPEC.body, nil, SPEC.secret, { now = T }))
    fails("invalid_argument", hookline.verify(SPEC.body, "x", SPEC.secret, { now = T }))
    fails("invalid_argument", hookline.verify(SPEC.body, { [1] = "x" }, SPEC.secret, { now = T }))
    fails("invalid_argument", hookline.verify(SPEC.body, { a = true }, SPEC.secret, { now = T }))
    fails("invalid_argument",
        hookline.verify(SPEC.body, { a = { true } }, SPEC.secret, { now = T }))
    fails("invalid_argument", hookline.verify(SPEC.body, h, nil, { now = T }))
    fails("invalid_argument", hookline.verify(SPEC.body, h, {}, { now = T }))
    fails("invalid_argument", hookline.verify(SPEC.body, h, { SPEC.secret, 5 }, { now = T }))
    fails("invalid_argument", hookline.verify(SPEC.body, h, SPEC.secret, "opts"))
    fails("invalid_argument", hookline.verify(SPEC.body, h, SPEC.secret, { now = "soon" }))
    fails("invalid_argument", hookline.verify(SPEC.body, h, SPEC.secret, { max_body = -1 }))
    fails("invalid_argument", hookline.verify(SPEC.body, h, SPEC.secret, { scheme = 1 }))
    fails("invalid_argument", hookline.verify(SPEC.body, h, SPEC.secret, { parse_event = 1 }))
    fails("invalid_argument",
        hookline.verify(SPEC.body, h, SPEC.secret, { secret_encoding = "rot13" }))
    fails("invalid_argument", hookline.sign(nil, SPEC.secret))
    fails("invalid_argument", hookline.sign("b", SPEC.secret, { msg_id = "a\0b" }))
    fails("invalid_argument", hookline.sign("b", SPEC.secret, { msg_id = "has space" }))
    fails("invalid_argument", hookline.sign("b", SPEC.secret, { timestamp = -1 }))
    fails("invalid_argument", hookline.generate_secret(5))
end)

-- objects ----------------------------------------------------------------------

test("verifier and signer objects: close is idempotent, use after close fails", function()
    local v = must(hookline.verifier({ SPEC.secret }, { tolerance = 300 }))
    ok(tostring(v):find("hookline.verifier", 1, true), "tostring")
    must(v:verify(SPEC.body, spec_headers(), { now = T }))
    fails("signature_mismatch", v:verify("x", spec_headers(), { now = T }))
    fails("header_malformed", v:verify(SPEC.body, { ["webhook-id"] = { "a", "b" },
        ["webhook-timestamp"] = tostring(T), ["webhook-signature"] = SPEC.signature }, { now = T }))
    v:close()
    v:close()
    ok(tostring(v):find("closed", 1, true), "tostring after close")
    fails("invalid_argument", v:verify(SPEC.body, spec_headers(), { now = T }))

    local s = must(hookline.signer(SPEC.secret))
    ok(tostring(s):find("hookline.signer", 1, true), "tostring")
    same_headers(must(s:sign(SPEC.body, { msg_id = SPEC.msg_id, timestamp = T })), spec_headers())
    s:close()
    s:close()
    fails("invalid_argument", s:sign(SPEC.body, { timestamp = T }))

    fails("secret_malformed", hookline.verifier("whsec_"))
    fails("secret_malformed", hookline.signer("whsec_"))
    fails("scheme_unknown", hookline.verifier(SPEC.secret, { scheme = "x" }))
    fails("key_kind", hookline.signer({ "a", "b" }, { scheme = "github" }))
    fails("invalid_argument", hookline.verifier(SPEC.secret, { tolerance = -5 }))
end)

test("methods refuse the wrong self", function()
    local v = must(hookline.verifier(SPEC.secret))
    local s = must(hookline.signer(SPEC.secret))
    ok(not pcall(v.verify, s, SPEC.body, spec_headers()), "signer as verifier")
    ok(not pcall(s.sign, v, SPEC.body), "verifier as signer")
    ok(not pcall(v.close, {}), "table as verifier")
end)

test("objects left to the garbage collector are freed", function()
    for _ = 1, 200 do
        hookline.verifier({ SPEC.secret, SPEC.secret })
        hookline.signer(SPEC.secret)
        local v = hookline.verifier(SPEC.secret)
        v:close() -- then collected: cleanup runs again, harmlessly
    end
    collectgarbage()
    collectgarbage()
end)

test("to-be-closed variables close objects (Lua 5.4)", function()
    if _VERSION ~= "Lua 5.4" then
        return -- the syntax does not exist before 5.4
    end
    local chunk = assert(load([[
        local hookline, secret = ...
        local kept
        do
            local v <close> = assert(hookline.verifier(secret))
            kept = v
        end
        return kept
    ]]))
    local v = chunk(hookline, SPEC.secret)
    ok(tostring(v):find("closed", 1, true), "closed at end of scope")
end)

test("a verifier is reusable across many requests", function()
    local v = must(hookline.verifier({ "sk_old", "sk_new" }, { scheme = "stripe" }))
    local s = must(hookline.signer("sk_new", { scheme = "stripe" }))
    for i = 1, 500 do
        local body = '{"id":"evt_' .. i .. '"}'
        local h = must(s:sign(body, { timestamp = T + i }))
        local r = must(v:verify(body, h, { now = T + i }))
        eq(r.secret_index, 2, "secret_index")
        eq(r.event_id, "evt_" .. i, "event_id")
    end
    v:close()
    s:close()
end)

test("headers: many, numbers and lists after strings give the same answers", function()
    local v = must(hookline.verifier({ "sk_a" }, { scheme = "stripe" }))
    local s = must(hookline.signer("sk_a", { scheme = "stripe" }))
    local body = '{"id":"evt_h"}'
    local h = must(s:sign(body, { timestamp = T }))
    -- more headers than the C stack array holds (32): the counted path
    local many = { ["Stripe-Signature"] = h["stripe-signature"] }
    for i = 1, 40 do
        many["x-extra-" .. i] = "v" .. i
    end
    eq(must(v:verify(body, many, { now = T })).event_id, "evt_h", "40 headers")
    -- a number value or a list seen mid-walk: the walk starts over
    many["x-number"] = 42
    eq(must(v:verify(body, many, { now = T })).event_id, "evt_h", "number value")
    local few = { ["stripe-signature"] = h["stripe-signature"], ["x-n"] = 7, ["x-l"] = { "a", "b" } }
    eq(must(v:verify(body, few, { now = T })).event_id, "evt_h", "number and list")
    -- a repeated signature header as a list, wherever the walk meets it
    few["Stripe-Signature"] = { h["stripe-signature"] }
    local r, _, code = v:verify(body, few, { now = T })
    eq(r, nil, "repeated header refused")
    eq(code, "header_malformed", "code")
    local r2, _, code2 = v:verify(body, { ["stripe-signature"] = true }, { now = T })
    eq(r2, nil, "boolean value refused")
    eq(code2, "invalid_argument", "code")
    v:close()
    s:close()
end)

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
print(string.format("%d passed, %d failed", passed, failed))
-- close = true: the state is closed, so every __gc runs before exit (leak checks see it).
os.exit(failed == 0 and 0 or 1, true)
