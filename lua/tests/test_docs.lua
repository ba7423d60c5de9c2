-- test_docs.lua - run every ```lua runnable block of docs/*.md, each in a
-- fresh environment, under Lua 5.4 and LuaJIT: the documented examples
-- must work as printed.

local function script_dir()
    local src = debug.getinfo(1, "S").source
    return (src:sub(1, 1) == "@" and src:sub(2):match("^(.*)/")) or "."
end

local docs = script_dir() .. "/../../docs/"
local files = {}
local p = io.popen('ls "' .. docs .. '"')
for name in p:lines() do
    if name:match("%.md$") then
        files[#files + 1] = name
    end
end
p:close()

local passed, failed = 0, 0
for _, name in ipairs(files) do
    local f = assert(io.open(docs .. name, "rb"))
    local text = f:read("*a")
    f:close()
    local n = 0
    for code in text:gmatch("\n```lua runnable\n(.-)\n```") do
        n = n + 1
        local label = string.format("%s block %d", name, n)
        local chunk, err
        if setfenv then -- LuaJIT / 5.1
            chunk, err = loadstring(code, "=" .. label)
            if chunk then
                setfenv(chunk, setmetatable({}, { __index = _G }))
            end
        else
            chunk, err = load(code, "=" .. label, "t", setmetatable({}, { __index = _G }))
        end
        local good, run_err = false, err
        if chunk then
            good, run_err = pcall(chunk)
        end
        if good then
            passed = passed + 1
            print("ok     " .. label)
        else
            failed = failed + 1
            print("FAILED " .. label .. ": " .. tostring(run_err))
        end
    end
end
if passed + failed == 0 then
    print("FAILED: no ```lua runnable blocks found in docs/")
    failed = 1
end
print(string.format("%d passed, %d failed", passed, failed))
os.exit(failed == 0 and 0 or 1, true)
