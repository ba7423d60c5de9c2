-- resty.hookline and resty.hookline.guard: pure Lua over libhookline.so
-- through LuaJIT's FFI, for OpenResty / nginx with the Lua module (and plain
-- LuaJIT). Installs only the Lua files; libhookline.so comes from the C
-- build (cmake --install) and is found with ffi.load("hookline") or the
-- lib_path option. See docs/openresty.md. From this directory:
--   luarocks make --lua-version=5.1 lua-resty-hookline-0.1.0-1.rockspec
rockspec_format = "3.0"
package = "lua-resty-hookline"
version = "0.1.0-1"
source = {
   url = "git+file:///work/main", -- replaced by the public repository URL on release
}
description = {
   summary = "Verify and sign webhooks in OpenResty through LuaJIT's FFI (libhookline)",
   detailed = [[
resty.hookline verifies Standard Webhooks, Stripe, GitHub and hookline
signatures by calling libhookline.so through LuaJIT's FFI, and signs events
for gateways. resty.hookline.guard is an access_by_lua guard: it verifies,
answers 401/400/413 itself, deduplicates through an ngx.shared dict with
safe_add, and forwards good requests with the verified id in a header.
]],
   license = "MIT",
}
dependencies = {
   "lua == 5.1", -- LuaJIT (the FFI)
}
build = {
   type = "builtin",
   modules = {
      ["resty.hookline"] = "lib/resty/hookline.lua",
      ["resty.hookline.guard"] = "lib/resty/hookline/guard.lua",
   },
}
