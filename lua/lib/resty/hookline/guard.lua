--- @area `resty.hookline.guard`: an nginx access guard
-- resty.hookline.guard verifies webhooks in nginx before they reach the
-- application (access_by_lua), deduplicates them, and answers bad ones
-- itself. docs/openresty.md has the complete nginx.conf (the one the tests
-- run).
--
--   init_by_lua_block {
--       assert(require("resty.hookline.guard").configure("mail", {
--           secrets = { os.getenv("HOOKLINE_SECRET") }, dict = "hookline_seen" }))
--   }
--   location = /hooks/mail {
--       access_by_lua_block { require("resty.hookline.guard").check("mail") }
--       log_by_lua_block    { require("resty.hookline.guard").log("mail") }
--       proxy_pass http://app;
--   }
--
-- Answers, each with a small JSON body naming the reason:
--   401 {"error":"signature_mismatch" | "timestamp_too_old" |
--        "timestamp_in_future" | "header_missing"}
--   400 {"error":"header_malformed"}  (also a signature header sent twice)
--   400 {"error":"too_many_headers"} / {"error":"id_missing"}
--   413 {"error":"body_too_large"}    (over max_body, or spooled to a file
--                                      with spilled_body = "reject")
--   200 {"status":"duplicate"}        already delivered: not forwarded, and
--                                      the sender must not retry it
--   409 {"error":"in_progress"}       the same message is being delivered
--                                      right now: retry later
--   503 {"error":"dedupe_unavailable"} the shared dict is full: nothing was
--                                      forwarded unchecked
-- A verified request goes on to the upstream with the message id (or the
-- body's event id; percent-encoded if it has bytes outside visible ASCII)
-- in X-Hookline-Verified-Id; a client-sent copy of that header is always
-- removed first.
--
-- Deduplication. A message is marked "pending" with safe_add (which, unlike
-- add, never evicts live keys when the dict is full) before it is
-- forwarded. The log phase (guard.log) turns it into "done" when the
-- upstream answered 2xx, and deletes it otherwise, so the sender's retry of
-- a failed delivery is forwarded again instead of being swallowed as a
-- duplicate. Without the log phase a pending mark expires after
-- pending_ttl and the message is accepted once more (at least once, never
-- lost). Done marks live seen_ttl seconds: 2 x tolerance + 60 by default,
-- long enough that a replay after that is rejected as stale anyway.
--
-- Nothing here blocks the worker beyond reading the body file nginx itself
-- spooled (spilled_body = "read"); set client_body_buffer_size to the
-- largest body accepted to keep bodies in memory, or use "reject".

local hookline = require "resty.hookline"

local ngx = ngx
local type, tostring, tonumber, setmetatable = type, tostring, tonumber, setmetatable
local io_open = io.open

local _M = { _VERSION = hookline._VERSION }

-- HTTP answer for each failure code of the verifier.
local STATUS = {
    header_missing = 401,
    signature_mismatch = 401,
    timestamp_too_old = 401,
    timestamp_in_future = 401,
    header_malformed = 400,
    body_too_large = 413,
}

local PENDING, DONE = 0, 1 -- numbers: a replace() rewrites them in place

local guards = {}

local guard_mt = {}
guard_mt.__index = guard_mt

local function answer(status, json)
    ngx.status = status
    ngx.header["Content-Type"] = "application/json"
    ngx.header["Cache-Control"] = "no-store"
    ngx.print(json, "\n")
    return ngx.exit(status)
end

local function reject(status, code)
    return answer(status, '{"error":"' .. code .. '"}')
end

local function positive_integer(v)
    return type(v) == "number" and v > 0 and v == math.floor(v)
end

--- resty.hookline.guard.new(opts) -> guard | nil, message
-- A guard. opts are those of resty.hookline.new (secrets,
-- scheme, tolerance, max_body, secret_encoding, lib_path) and:
--   name          dedupe key prefix and log label (default "default")
--   dict          lua_shared_dict name for deduplication; nil: none
--   spilled_body  "read" (default): read the file nginx spooled a large
--                 body to; "reject": answer 413
--   id_header     header carrying the verified id upstream
--                 (default "X-Hookline-Verified-Id")
--   require_id    answer 400 when a verified request has no id (default false:
--                 forwarded, not deduplicated)
--   max_headers   request headers read (default 100); more is a 400
--   pending_ttl   seconds a message stays "pending" (default 120; keep it
--                 above proxy_read_timeout)
--   seen_ttl      seconds a delivered id is remembered (default
--                 2 x tolerance + 60; 86400 for github, which has no timestamp)
-- Returns the guard or nil, message.
function _M.new(opts)
    if type(opts) ~= "table" then
        return nil, "opts must be a table"
    end
    local verifier, err, code = hookline.new(opts)
    if not verifier then
        return nil, err .. (code and (" (" .. code .. ")") or "")
    end
    local g = {
        name = opts.name or "default",
        verifier = verifier,
        max_body = verifier.max_body,
        spilled_body = opts.spilled_body or "read",
        id_header = opts.id_header or "X-Hookline-Verified-Id",
        require_id = opts.require_id and true or false,
        max_headers = opts.max_headers or 100,
        pending_ttl = opts.pending_ttl or 120,
        seen_ttl = opts.seen_ttl
            or (verifier.scheme == "github" and 86400 or 2 * verifier.tolerance + 60),
    }
    if type(g.name) ~= "string" then
        return nil, "name must be a string"
    end
    if g.spilled_body ~= "read" and g.spilled_body ~= "reject" then
        return nil, "spilled_body must be \"read\" or \"reject\""
    end
    if type(g.id_header) ~= "string" or not g.id_header:match("^[%w-]+$") then
        return nil, "id_header must be a header name"
    end
    for _, k in ipairs({ "max_headers", "pending_ttl", "seen_ttl" }) do
        if not positive_integer(g[k]) then
            return nil, k .. " must be a positive integer"
        end
    end
    if opts.dict ~= nil then
        g.dict = ngx.shared[opts.dict]
        if not g.dict then
            return nil, "no lua_shared_dict named '" .. tostring(opts.dict) .. "'"
        end
    end
    return setmetatable(g, guard_mt)
end

--- resty.hookline.guard.configure(name, opts) -> guard | nil, message
-- new(opts) registered under `name` for check(name) and log(name); call it
-- from init_by_lua (each nginx worker then holds its own copy).
function _M.configure(name, opts)
    if type(name) ~= "string" or type(opts) ~= "table" then
        return nil, "usage: configure(name, opts)"
    end
    opts.name = opts.name or name
    local g, err = _M.new(opts)
    if not g then
        return nil, "hookline guard '" .. name .. "': " .. err
    end
    guards[name] = g
    return g
end

--- resty.hookline.guard.get(name) -> guard | nil
-- The guard configured under `name`, or nil.
function _M.get(name)
    return guards[name]
end

--- guard:read_body() -> body | nil, status, code
-- The raw request body: from memory, from nginx's spool file (spilled_body
-- = "read"), or "" when there is none. Never "" for a body that exists but
-- was not read. On failure returns nil, the HTTP status to answer (413 or
-- 500) and the error name. Inside nginx only.
function guard_mt:read_body()
    local declared = tonumber(ngx.var.http_content_length)
    if declared and declared > self.max_body then
        return nil, 413, "body_too_large"
    end
    ngx.req.read_body()
    local body = ngx.req.get_body_data()
    if body then
        return body
    end
    local path = ngx.req.get_body_file()
    if path then
        if self.spilled_body ~= "read" then
            return nil, 413, "body_too_large"
        end
        local f, err = io_open(path, "rb")
        if not f then
            ngx.log(ngx.ERR, "hookline guard ", self.name, ": cannot open body file: ", err)
            return nil, 500, "body_unreadable"
        end
        local size = f:seek("end")
        if size > self.max_body then
            f:close()
            return nil, 413, "body_too_large"
        end
        f:seek("set", 0)
        body = size == 0 and "" or f:read(size)
        f:close()
        if not body or #body ~= size then
            ngx.log(ngx.ERR, "hookline guard ", self.name, ": short read of the body file")
            return nil, 500, "body_unreadable"
        end
        return body
    end
    if declared and declared > 0 then
        -- Declared but neither in memory nor in a file: never verify "".
        ngx.log(ngx.ERR, "hookline guard ", self.name, ": request body not available")
        return nil, 500, "body_unavailable"
    end
    return ""
end

--- guard:check()
-- For access_by_lua: returns (lets the request through) when
-- the request verifies and is new; otherwise answers and ends the request.
function guard_mt:check()
    ngx.req.clear_header(self.id_header)

    local body, status, code = self:read_body()
    if not body then
        return reject(status, code)
    end
    local headers, truncated = ngx.req.get_headers(self.max_headers)
    if truncated == "truncated" then
        return reject(400, "too_many_headers")
    end

    local result, err
    result, err, code = self.verifier:verify(body, headers, ngx.time())
    if not result then
        ngx.log(ngx.INFO, "hookline guard ", self.name, ": rejected: ", err, " (", code, ")")
        return reject(STATUS[code] or 500, code or "internal")
    end

    local id = result.msg_id or result.event_id
    if not id then
        if self.require_id then
            return reject(400, "id_missing")
        end
        return
    end

    if self.dict then
        local key = self.name .. ":" .. id
        local ok, derr = self.dict:safe_add(key, PENDING, self.pending_ttl)
        if not ok then
            if derr == "exists" then
                if self.dict:get(key) == DONE then
                    ngx.log(ngx.INFO, "hookline guard ", self.name, ": duplicate ", id)
                    return answer(200, '{"status":"duplicate"}')
                end
                ngx.header["Retry-After"] = "30"
                return reject(409, "in_progress")
            end
            ngx.log(ngx.ERR, "hookline guard ", self.name, ": dedupe dict: ", derr)
            return reject(503, "dedupe_unavailable")
        end
        ngx.ctx.hookline_key = key
        ngx.ctx.hookline_guard = self
    end
    -- A body's "id" may hold any bytes (JSON escapes): never put control
    -- characters into a request header.
    if id:find("[^\33-\126]") then
        id = ngx.escape_uri(id)
    end
    ngx.req.set_header(self.id_header, id)
end

--- guard:log()
-- For log_by_lua: settle the pending mark by the answer the
-- client got (2xx: done; anything else: forget, so a retry is forwarded).
function guard_mt:log()
    local ctx = ngx.ctx
    local key = ctx.hookline_key
    if not key or ctx.hookline_guard ~= self then
        return
    end
    ctx.hookline_key = nil
    local status = ngx.status
    if status >= 200 and status < 300 then
        self.dict:replace(key, DONE, self.seen_ttl)
    else
        self.dict:delete(key)
    end
end

local function lookup(name)
    local g = guards[name or "default"]
    if not g then
        ngx.log(ngx.ERR, "hookline guard '", tostring(name), "' is not configured")
    end
    return g
end

--- resty.hookline.guard.check([name])
-- The guard configured under `name` (default "default") runs check(). An
-- unknown name answers 500: a missing guard must not let requests pass.
function _M.check(name)
    local g = lookup(name)
    if not g then
        return reject(500, "guard_not_configured")
    end
    return g:check()
end

--- resty.hookline.guard.log([name])
-- The guard configured under `name` (default "default") runs log(); an
-- unknown name is logged and ignored.
function _M.log(name)
    local g = lookup(name)
    if g then
        return g:log()
    end
end

return _M
