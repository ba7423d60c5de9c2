-- bench_verify.lua - Lua verification cost on the vectors bench_verify (C)
-- wrote. Runs under Lua 5.4 and LuaJIT.
--
--   lua5.4 bench_verify.lua cmod   VECTOR_DIR LABEL [--quick]   C-API module (require "hookline")
--   luajit bench_verify.lua cmod   VECTOR_DIR LABEL [--quick]
--   luajit bench_verify.lua ffi    VECTOR_DIR LABEL [--quick] LIBHOOKLINE   resty.hookline (FFI)
--
-- Prints "M <LABEL>.<scheme>.<size> <ns> ns" lines. os.clock is process CPU
-- time: right for a single-threaded CPU-bound loop.
local mode, vdir, label = arg[1], arg[2], arg[3]
local quick = arg[4] == "--quick"
local libpath = arg[5]
local TS = 1778155200
local SIZES = { 256, 1024, 16384, 1048576 }
local SCHEMES = { "standard", "hookline", "stripe", "github" }
local rounds = quick and 2 or 7

local function slurp(path)
    local f = assert(io.open(path, "rb"))
    local s = f:read("a")
    f:close()
    return s
end

local function load(scheme, size)
    local body = slurp(("%s/%s_%d.body"):format(vdir, scheme, size))
    local headers = {}
    for line in slurp(("%s/%s_%d.headers"):format(vdir, scheme, size)):gmatch("[^\n]+") do
        local name, value = line:match("^(.-): (.*)$")
        headers[name] = value
    end
    return body, headers, slurp(("%s/%s.secret"):format(vdir, scheme))
end

local function best_ns(fn, iters)
    local best = math.huge
    for _ = 1, rounds do
        local t0 = os.clock()
        for _ = 1, iters do
            fn()
        end
        local per = (os.clock() - t0) * 1e9 / iters
        if per < best then
            best = per
        end
    end
    return best
end

local make
if mode == "cmod" then
    local hookline = require "hookline"
    make = function(body, headers, secret, scheme)
        local v = assert(hookline.verifier({ secret }, { scheme = scheme }))
        local opts = { now = TS }
        return function()
            local res, err = v:verify(body, headers, opts)
            if not res then
                error(err)
            end
        end
    end
else
    local hookline = require "resty.hookline"
    assert(hookline.load(libpath))
    make = function(body, headers, secret, scheme)
        local v = assert(hookline.new { secrets = { secret }, scheme = scheme })
        return function()
            local res, err = v:verify(body, headers, TS)
            if not res then
                error(err)
            end
        end
    end
end

for _, scheme in ipairs(SCHEMES) do
    for _, size in ipairs(SIZES) do
        if (not quick or size == 1024) and (scheme == "standard" or size == 1024) then
            local body, headers, secret = load(scheme, size)
            local fn = make(body, headers, secret, scheme)
            fn()
            local iters = math.max(10, math.floor((quick and 2e5 or 3e6) / (size + 1500)))
            best_ns(fn, iters) -- warm up (JIT traces)
            print(("M\t%s.%s.%d\t%.1f\tns"):format(label, scheme, size, best_ns(fn, iters)))
            io.stdout:flush()
        end
    end
end
