-- The hookline Lua module (Lua 5.1/LuaJIT and 5.4) built by LuaRocks from the
-- same C sources as the CMake build: the binding glue plus the core, linked
-- into one module. From this directory:
--   luarocks make --lua-version=5.4 hookline-0.1.0-1.rockspec   (or 5.1 for LuaJIT)
-- Keep the source lists in step with bindings/lua/ and core/src/
-- (lua/tests/run.sh checks that every core/src/*.c is listed).
rockspec_format = "3.0"
package = "hookline"
version = "0.1.0-1"
source = {
   url = "git+file:///work/main", -- replaced by the public repository URL on release
}
description = {
   summary = "Sign and verify webhooks (Standard Webhooks, Stripe, GitHub, hookline schemes)",
   detailed = [[
hookline signs webhook payloads and verifies received requests: HMAC-SHA256
and Ed25519 Standard Webhooks signatures, Stripe and GitHub style headers, key
rotation, replay tolerance. Works with ngx.req.get_headers() tables.
]],
   license = "MIT",
}
dependencies = {
   "lua >= 5.1, < 5.5",
}
external_dependencies = {
   CRYPTO = { header = "openssl/evp.h", library = "crypto" },
   JANSSON = { header = "jansson.h", library = "jansson" },
   CURL = { header = "curl/curl.h", library = "curl" },
   SQLITE = { header = "sqlite3.h", library = "sqlite3" },
}
build = {
   type = "builtin",
   modules = {
      hookline = {
         sources = {
            "../bindings/lua/dedupe_lua.c",
            "../bindings/lua/engine_lua.c",
            "../bindings/lua/hookline_lua.c",
            "../bindings/lua/signature_lua.c",
            "../bindings/lua/ssrf_lua.c",
            "../bindings/lua/worker_lua.c",
            "../drivers/net/resolver_getaddrinfo.c",
            "../drivers/sqlite/outbox.c",
            "../drivers/sqlite/seen_sqlite.c",
            "../drivers/sqlite/sqlite_errors.c",
            "../drivers/curl/dispatch_endpoint.c",
            "../drivers/curl/dispatcher.c",
            "../drivers/curl/ssrf_curl.c",
            "../drivers/worker/worker.c",
            "../drivers/worker/worker_pg.c",
            "../core/src/abi.c",
            "../core/src/codec.c",
            "../core/src/dedupe.c",
            "../core/src/dedupe_memory.c",
            "../core/src/delivery.c",
            "../core/src/endpoint_config.c",
            "../core/src/engine.c",
            "../core/src/engine_endpoint.c",
            "../core/src/engine_event.c",
            "../core/src/engine_heap.c",
            "../core/src/engine_log.c",
            "../core/src/engine_map.c",
            "../core/src/error.c",
            "../core/src/event_peek.c",
            "../core/src/json_canonical.c",
            "../core/src/mac.c",
            "../core/src/metrics.c",
            "../core/src/retry_after.c",
            "../core/src/secret.c",
            "../core/src/sigheader.c",
            "../core/src/sign.c",
            "../core/src/signed_content.c",
            "../core/src/siphash.c",
            "../core/src/ssrf_address.c",
            "../core/src/ssrf_policy.c",
            "../core/src/ssrf_url.c",
            "../core/src/verify.c",
         },
         incdirs = {
            "../bindings/lua",
            "../core/include",
            "../core/src",
            "../drivers/net/include",
            "../drivers/sqlite/include",
            "../drivers/curl/include",
            "../drivers/worker/include",
            "$(SQLITE_INCDIR)",
            "$(CRYPTO_INCDIR)",
            "$(JANSSON_INCDIR)",
            "$(CURL_INCDIR)",
         },
         libdirs = { "$(CRYPTO_LIBDIR)", "$(JANSSON_LIBDIR)", "$(CURL_LIBDIR)", "$(SQLITE_LIBDIR)" },
         libraries = { "crypto", "jansson", "curl", "sqlite3", "m" },
      },
   },
}
