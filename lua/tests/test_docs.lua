-- test_docs.lua - run every ```lua runnable block of README.md and docs/*.md
-- (under Lua 5.4 and LuaJIT: lua/tests/run.sh). Each block runs in a fresh
-- environment and must not raise. Ends with "<n> passed, <m> failed".

local here = arg and arg[0] and arg[0]:match("^(.*)/[^/]*$") or "."
local root = here .. "/../.."

local function read(path)
    local f = assert(io.open(path, "rb"))
    local s = f:read("*a")
    f:close()
    return s
end

local docs = { root .. "/README.md" }
local ls = assert(io.popen('ls "' .. root .. '/docs"'))
for name in ls:lines() do
    if name:match("%.md$") then
        docs[#docs + 1] = root .. "/docs/" .. name
    end
end
ls:close()

-- Lua 5.1 (LuaJIT) has setfenv + loadstring; 5.2+ has load with an env.
local function compile(code, name, env)
    if setfenv then
        local fn, err = loadstring(code, name)
        if fn then
            setfenv(fn, env)
        end
        return fn, err
    end
    return load(code, name, "t", env)
end

local passed, failed = 0, 0
for _, path in ipairs(docs) do
    local text, n = read(path), 0
    for code in text:gmatch("```lua runnable\n(.-)```") do
        n = n + 1
        local name = path:match("([^/]+)$") .. "#" .. n
        local env = setmetatable({}, { __index = _G })
        local fn, err = compile(code, "=" .. name, env)
        local good = fn ~= nil
        if good then
            good, err = pcall(fn)
        end
        if good then
            passed = passed + 1
            print("ok     " .. name)
        else
            failed = failed + 1
            print("FAILED " .. name .. ": " .. tostring(err))
        end
    end
end
if passed + failed == 0 then
    failed = 1
    print("FAILED no lua runnable blocks found")
end
print(string.format("%d passed, %d failed", passed, failed))
os.exit(failed == 0 and 0 or 1, true)
