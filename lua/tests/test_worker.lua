-- test_worker.lua - hookline.worker from Lua 5.4 and LuaJIT against a real
-- receiver on 127.0.0.1 (tests/servers/receiver.py, started here and
-- stopped by its pid): registration with its test POST, an SSRF refusal,
-- delivery, attempts, the dead-letter queue and redrive, rotation, metrics,
-- on_attempt (no secrets; an error in it loses nothing), submit_events.

local hookline = require("hookline")
local cjson = require("cjson")

local here = arg and arg[0] and arg[0]:match("^(.*)/[^/]*$") or "."
local repo = here .. "/../.."

local function eq(got, want, what)
    if got ~= want then
        error(string.format("%s: got %s, want %s", what or "value", tostring(got), tostring(want)), 2)
    end
end

local function must(res, msg, code, ...)
    if res == nil then
        error(string.format("unexpected failure %s: %s", tostring(code), tostring(msg)), 2)
    end
    return res, msg, code, ...
end

local tmp = os.tmpname()
os.remove(tmp)
assert(os.execute("mkdir -p " .. tmp))

-- the receiver
local portfile = tmp .. "/port"
local p = assert(io.popen(string.format(
    "python3 %s/tests/servers/receiver.py --host 127.0.0.1 --log %s/requests.log > %s 2>/dev/null & echo $!",
    repo, tmp, portfile)))
local pid = assert(tonumber(p:read("*l")))
p:close()
local port
for _ = 1, 200 do -- bounded: 10 s
    local f = io.open(portfile)
    if f then
        local line = f:read("*l")
        f:close()
        port = line and tonumber(line:match("^PORT (%d+)"))
        if port then break end
    end
    os.execute("sleep 0.05")
end

local ok, err = pcall(function()
    assert(port, "receiver did not start")
    local url = "http://127.0.0.1:" .. port
    local function requests()
        local out = {}
        local f = io.open(tmp .. "/requests.log")
        if not f then return out end
        for line in f:lines() do out[#out + 1] = cjson.decode(line) end
        f:close()
        return out
    end

    local reports, raise = {}, false
    local w = must(hookline.worker(tmp .. "/outbox.db", {
        allow_http = true, allow_cidrs = { "127.0.0.0/8" }, allow_ports = { port },
        on_attempt = function(r)
            reports[#reports + 1] = r
            if raise then error("callback failure") end
        end,
    }))
    -- a second worker on the same file is refused
    local res, msg, code = hookline.worker(tmp .. "/outbox.db")
    eq(res, nil, "second worker")
    eq(code, "store_busy", "second worker code")
    -- a PostgreSQL URL goes through to the shared store (nothing listens
    -- there: a clear error, the password never in the message)
    res, msg, code = hookline.worker("postgresql://u:pw-secret@127.0.0.1:1/db?connect_timeout=2")
    eq(res, nil, "postgres worker")
    eq(code, "store_unavailable", "postgres worker code")
    eq(msg:find("pw-secret", 1, true), nil, "no password in the message")

    -- registration: SSRF refusal, failing test POST, success
    res, msg, code = w:add_endpoint("meta", { url = "http://169.254.169.254:" .. port .. "/x" })
    eq(res, nil, "metadata address")
    eq(code, "address_denied", "metadata code")
    local test
    res, msg, code, test = w:add_endpoint("bad", { url = url .. "/status/500" })
    eq(code, "endpoint_test_failed", "500 test")
    eq(test.status, 500, "test response status")
    local cfg_json = must(w:add_endpoint("ep", { url = url .. "/ok", batch = { linger_ms = 0 } }))
    local cfg = cjson.decode(cfg_json)
    local secret = cfg.secrets[1].secret
    assert(secret and secret ~= "<redacted>", "secret shown once")
    eq(#requests(), 2, "test requests so far") -- the 500 one and the 200 one
    local redacted = cjson.decode((must(w:endpoint("ep"))))
    eq(redacted.secrets[1].secret, "<redacted>", "redacted")
    eq(#must(w:endpoints()), 1, "endpoints")
    local t = must(w:test_endpoint("ep"))
    eq(t.ok, true, "test_endpoint")

    -- enqueue and deliver
    for i = 1, 3 do must(w:enqueue("email.outbound.delivered", cjson.encode({ n = i }))) end
    res, msg, code = w:enqueue("email.outbound.delivered", "{}", { id = 42 })
    eq(code, "invalid_argument", "numeric id refused")
    res, msg, code = w:enqueue("email.outbound.delivered", "{not json")
    eq(code, "event_invalid", "bad data")
    eq(must(w:enqueue_many({ { type = "email.outbound.opened", data = { n = 1 } },
                             { type = "email.outbound.opened", data = "{\"n\":2}" } })), 2,
       "enqueue_many")
    local tot = must(w:run({ until_idle = true, timeout = 20 }))
    eq(tot.idle, true, "ended idle")
    local atts = must(w:attempts({ endpoint = "ep" }))
    assert(#atts >= 1, "attempts")
    local n_events = 0
    for _, a in ipairs(atts) do
        eq(a.status, 200, "attempt status")
        eq(a.delivered, true, "delivered")
        assert(a.latency >= 0, "latency")
        n_events = n_events + must(w:batch(a.batch_id)).events
    end
    eq(n_events, 5, "events delivered")
    for _, r in ipairs(reports) do
        assert(not cjson.encode(r):find(secret, 1, true), "secret in a report")
    end

    local m = must(w:metrics())
    eq(m.hookline_attempts_total.success, #atts, "metrics success")
    eq(m.hookline_events_enqueued_total, 5, "metrics enqueued")
    eq(m.hookline_attempt_duration_seconds_count, #atts, "metrics latency count")

    -- dead letters with a short deadline, then redrive
    must(w:add_endpoint("down", { url = url .. "/status/500", events = { "domain.*" },
        batch = { linger_ms = 0 },
        retry = { schedule_ms = { 10 }, max_attempts = 2, deadline_ms = 2000 } }, { test = false }))
    must(w:update_endpoint("ep", { url = url .. "/ok", events = { "email.*" },
        batch = { linger_ms = 0 } }, { test = false }))
    raise = true -- a failing callback loses nothing
    must(w:enqueue("domain.verified", "{}"))
    tot = must(w:run({ until_idle = true, timeout = 20 }))
    assert(tot.callback_error and tot.callback_error:find("callback failure"), "callback error kept")
    local dead = must(w:dead_letters())
    eq(#dead, 1, "dead letters")
    eq(dead[1].state, "dead_lettered", "dead state")
    eq(must(w:metrics()).hookline_attempts_total.http, 2, "metrics http failures")
    raise = false
    must(w:update_endpoint("down", { url = url .. "/ok", events = { "domain.*" },
        batch = { linger_ms = 0 } }, { test = false }))
    eq(must(w:redrive()), 1, "redrive")
    must(w:run({ until_idle = true, timeout = 20 }))
    eq(#must(w:dead_letters()), 0, "dead letters after redrive")
    eq(must(w:batch(dead[1].batch_id)).state, "delivered", "redriven batch")

    -- rotation
    local new = must(w:rotate_secret("ep"))
    assert(new ~= secret, "new secret")
    local secrets = cjson.decode((must(w:endpoint("ep", { reveal = true })))).secrets
    eq(#secrets, 2, "both secrets during the grace period")
    must(w:rotate_secret("ep", nil, { grace = 0 }))
    eq(#cjson.decode((must(w:endpoint("ep", { reveal = true })))).secrets, 1, "grace 0")

    -- submit from another handle
    local ids = must(hookline.submit_events(tmp .. "/outbox.db",
        { { type = "email.inbound.received", data = { i = 1 } } }))
    eq(#ids, 1, "submitted")
    eq(must(w:status()).inbox, 1, "inbox")
    must(w:run({ until_idle = true, timeout = 20 }))
    eq(must(w:status()).inbox, 0, "inbox ingested")

    must(w:disable_endpoint("ep"))
    eq(must(w:endpoints())[1].disabled, "user", "disabled")
    must(w:enable_endpoint("ep"))
    must(w:remove_endpoint("down"))
    w:close()
    local okc, e = pcall(w.enqueue, w, "x.y")
    assert(not okc and tostring(e):find("closed"), "closed worker")
end)

os.execute("kill " .. pid)
os.execute("rm -rf " .. tmp)
if not ok then
    io.stderr:write("FAIL test_worker: " .. tostring(err) .. "\n")
    os.exit(1)
end
print("test_worker: ok")
