-- test_api_docs.lua - docs/api/lua.md documents exactly what the C-API
-- module exports (under Lua 5.4 and LuaJIT: lua/tests/run.sh): every
-- function of `require "hookline"` and every method of its classes (the
-- metatables named "hookline.<class>" in the registry) has an entry, and
-- every entry of the module's sections exists. Also checks the page is
-- current (scripts/gen_api_lua.py --check). Exits non-zero on failure.

local src = debug.getinfo(1, "S").source
local here = (src:sub(1, 1) == "@" and src:sub(2):match("^(.*)/")) or "."
local root = here .. "/../.."
package.path = here .. "/?.lua;" .. package.path
local common = require "api_docs_common"

local hookline = require "hookline"
local documented = common.documented(root .. "/docs/api/lua.md")
local problems = common.check_current(root)

local exported = common.functions_of(hookline, "hookline.")
local classes = 0
for key, mt in pairs(debug.getregistry()) do
    local class = type(key) == "string" and key:match("^hookline%.([%w_]+)$")
    if class and type(mt) == "table" and type(mt.__index) == "table" then
        classes = classes + 1
        common.functions_of(mt.__index, class .. ":", exported)
    end
end
if classes < 5 then
    print("FAILED found only " .. classes .. " hookline.* metatables in the registry")
    problems = problems + 1
end
problems = problems + common.compare("hookline (" .. _VERSION .. (jit and ", " .. jit.version or "") .. ")",
                                     exported, documented["hookline"] or {})
print(problems == 0 and "1 passed, 0 failed" or "0 passed, 1 failed")
os.exit(problems == 0 and 0 or 1)
