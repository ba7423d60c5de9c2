-- test_ssrf.lua - hookline.check_url against the shared SSRF corpus
-- (tests/vectors/ssrf_urls.tsv, the rows the C and Python tests also run).
-- Runs under Lua 5.4 and LuaJIT (lua/tests/run.sh); ends with
-- "<n> passed, <m> failed" and exits non-zero on failure.

local hookline = require("hookline")

local here = arg and arg[0] and arg[0]:match("^(.*)/[^/]*$") or "."
local corpus_path = os.getenv("HOOKLINE_SSRF_CORPUS") or (here .. "/../../tests/vectors/ssrf_urls.tsv")

-- The corpus escapes: "\\" is one backslash, "\xHH" the byte 0xHH.
local function unescape(s)
    local out, i = {}, 1
    while i <= #s do
        local two = s:sub(i, i + 1)
        if two == "\\\\" then
            out[#out + 1] = "\\"
            i = i + 2
        elseif two == "\\x" and s:sub(i + 2, i + 3):match("^%x%x$") then
            out[#out + 1] = string.char(tonumber(s:sub(i + 2, i + 3), 16))
            i = i + 4
        else
            out[#out + 1] = s:sub(i, i)
            i = i + 1
        end
    end
    return table.concat(out)
end

local function split(s, sep)
    local parts, start = {}, 1
    while true do
        local a, b = s:find(sep, start, true)
        if not a then
            parts[#parts + 1] = s:sub(start)
            return parts
        end
        parts[#parts + 1] = s:sub(start, a - 1)
        start = b + 1
    end
end

local function options(field)
    if field == "-" then
        return nil
    end
    local opts = {}
    for _, pair in ipairs(split(field, ";")) do
        local key, value = pair:match("^([^=]+)=(.*)$")
        local items = {}
        for _, v in ipairs(split(value, ",")) do
            if v ~= "" then
                items[#items + 1] = v
            end
        end
        if key == "allow_http" then
            opts.allow_http = value == "1"
        elseif key == "allow_ports" then
            for i, v in ipairs(items) do
                items[i] = tonumber(v)
            end
            opts.allow_ports = items
        elseif key == "allow_cidrs" or key == "allow_hosts" or key == "deny_names" then
            opts[key] = items
        else
            error("unknown corpus option " .. tostring(key))
        end
    end
    return opts
end

local tests = {}
local function test(name, fn)
    tests[#tests + 1] = { name = name, fn = fn }
end

test("every corpus row gives its verdict, code and normalised URL", function()
    local f = assert(io.open(corpus_path, "r"))
    local rows, number = 0, 0
    for line in f:lines() do
        number = number + 1
        if line ~= "" and line:sub(1, 1) ~= "#" then
            local c = split(line, "\t")
            assert(#c == 6, "line " .. number .. " has " .. #c .. " columns")
            local url, opts = unescape(c[1]), options(c[2])
            local got, msg, code = hookline.check_url(url, opts)
            if c[3] == "accept" then
                assert(got == c[5], string.format("line %d: %q -> %s (%s %s), want %s", number,
                    url, tostring(got), tostring(code), tostring(msg), c[5]))
            else
                assert(got == nil and code == c[4], string.format("line %d: %q -> %s / %s, want %s",
                    number, url, tostring(got), tostring(code), c[4]))
                assert(type(msg) == "string" and #msg > 0, "line " .. number .. ": no message")
            end
            rows = rows + 1
        end
    end
    f:close()
    assert(rows >= 100, "corpus has only " .. rows .. " rows")
end)

test("bad options are reported, not raised", function()
    local r, msg, code = hookline.check_url("https://example.com/", { allow_cidrs = { "10.0.0.0/99" } })
    assert(r == nil and code == "invalid_argument", tostring(code))
    r, msg, code = hookline.check_url("https://example.com/", { allow_ports = { 0 } })
    assert(r == nil and code == "invalid_argument", tostring(code))
    r, msg, code = hookline.check_url("https://example.com/", { allow_cidrs = "10.0.0.0/8" })
    assert(r == nil and code == "invalid_argument", tostring(code))
    r, msg, code = hookline.check_url(42)
    assert(r == nil and code == "invalid_argument", tostring(code))
end)

test("a NUL inside the URL is refused before it can cut the URL short", function()
    local r, msg, code = hookline.check_url("https://example.com\0.evil.test/")
    assert(r == nil and code == "url_control_char", tostring(code))
end)

test("resolve checks the addresses (literal loopback, allowed by CIDR)", function()
    local r, msg, code = hookline.check_url("https://127.0.0.1/", { resolve = true })
    assert(r == nil and code == "address_denied", tostring(code))
    r = hookline.check_url("https://127.0.0.1:8443/x",
        { resolve = true, allow_cidrs = { "127.0.0.1/32" }, allow_ports = { 8443 } })
    assert(r == "https://127.0.0.1:8443/x", tostring(r))
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
print(string.format("%d passed, %d failed", passed, failed))
os.exit(failed == 0 and 0 or 1, true)
