-- test_api_docs.lua - docs/api/lua.md documents exactly what resty.hookline
-- and resty.hookline.guard export (LuaJIT, outside nginx):
--   luajit lua/tests/resty/test_api_docs.lua build/core/libhookline.so
-- Module functions are enumerated from the module tables, methods from the
-- metatables of real objects (a verifier, a signer, a guard without a
-- shared dict). Exits non-zero on failure.

local src = debug.getinfo(1, "S").source
local here = (src:sub(1, 1) == "@" and src:sub(2):match("^(.*)/")) or "."
local root = here .. "/../../.."
package.path = root .. "/lua/lib/?.lua;" .. here .. "/../?.lua;" .. package.path
local common = require "api_docs_common"

local LIB = arg[1] or os.getenv("HOOKLINE_LIB")
assert(LIB, "usage: luajit test_api_docs.lua path/to/libhookline.so")
local SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

local hookline = require "resty.hookline"
local guard = require "resty.hookline.guard"
assert(hookline.load(LIB))
local documented = common.documented(root .. "/docs/api/lua.md")
local problems = 0

local exported = common.functions_of(hookline, "resty.hookline.")
local v = assert(hookline.new { secrets = SECRET })
common.functions_of(getmetatable(v).__index, "verifier:", exported)
local s = assert(hookline.signer(SECRET))
common.functions_of(getmetatable(s).__index, "signer:", exported)
problems = problems + common.compare("resty.hookline", exported, documented["resty.hookline"] or {})

exported = common.functions_of(guard, "resty.hookline.guard.")
local g = assert(guard.new { secrets = SECRET })
common.functions_of(getmetatable(g).__index, "guard:", exported)
problems = problems + common.compare("resty.hookline.guard", exported,
                                     documented["resty.hookline.guard"] or {})
print(problems == 0 and "1 passed, 0 failed" or "0 passed, 1 failed")
os.exit(problems == 0 and 0 or 1)
