-- api_docs_common.lua - shared by test_api_docs.lua (the C-API module) and
-- resty/test_api_docs.lua (resty.hookline): read docs/api/lua.md's entries
-- and compare them with what a module really exports. Not a test itself
-- (run.sh runs test_*.lua only).

local M = {}

function M.read(path)
    local f = assert(io.open(path, "rb"))
    local s = f:read("*a")
    f:close()
    return s
end

-- { [module] = { [name] = true } } from the page: "## `module`: title"
-- opens a module's section, "### `name(args) ...`" is an entry.
function M.documented(page_path)
    local by_module, current = {}, nil
    for line in (M.read(page_path) .. "\n"):gmatch("([^\n]*)\n") do
        local mod = line:match("^## `([%w_.]+)`")
        if mod then
            current = mod
            by_module[mod] = by_module[mod] or {}
        else
            local name = line:match("^### `([%w_.:]+)%(")
            if name then
                assert(current, "entry before any module section: " .. name)
                by_module[current][name] = true
            end
        end
    end
    return by_module
end

-- Functions of a table (a module or a method table), as prefix .. name.
function M.functions_of(t, prefix, into)
    into = into or {}
    for k, v in pairs(t) do
        if type(k) == "string" and type(v) == "function" and not k:match("^__") then
            into[prefix .. k] = true
        end
    end
    return into
end

-- Both ways: exported but undocumented, documented but not exported.
-- Returns the number of problems (printed).
function M.compare(label, exported, documented)
    local problems = 0
    local function sorted(set)
        local list = {}
        for k in pairs(set) do
            list[#list + 1] = k
        end
        table.sort(list)
        return list
    end
    for _, name in ipairs(sorted(exported)) do
        if not documented[name] then
            print("FAILED " .. label .. ": " .. name .. " is exported but has no entry in docs/api/lua.md"
                  .. " (add a doc comment to its source and run scripts/gen_api_lua.py)")
            problems = problems + 1
        end
    end
    for _, name in ipairs(sorted(documented)) do
        if not exported[name] then
            print("FAILED " .. label .. ": docs/api/lua.md documents " .. name .. ", which does not exist")
            problems = problems + 1
        end
    end
    local n = #sorted(exported)
    if problems == 0 then
        print("ok     " .. label .. ": " .. n .. " functions and methods, all documented")
    end
    return problems
end

-- The page is what scripts/gen_api_lua.py makes of the sources now.
function M.check_current(root)
    local cmd = 'env -u LD_PRELOAD python3 "' .. root .. '/scripts/gen_api_lua.py" --check'
    local a, _, c = os.execute(cmd)
    local good = (a == true or a == 0) and (c == nil or c == 0)
    if good then
        print("ok     docs/api/lua.md is current")
        return 0
    end
    print("FAILED docs/api/lua.md is stale: run scripts/gen_api_lua.py")
    return 1
end

return M
