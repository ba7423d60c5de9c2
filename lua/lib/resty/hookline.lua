--- @area `resty.hookline`: verify and sign through LuaJIT's FFI
-- resty.hookline verifies and signs webhooks from OpenResty (or any LuaJIT)
-- by calling libhookline.so through LuaJIT's FFI.
--
-- Why FFI and not the C-API module (`require "hookline"`): LuaJIT compiles
-- FFI calls into the trace of the code around them, while calls through the
-- Lua C API always leave the JIT. Policy (schemes, tolerance, constant-time
-- comparison, repeated-header rules) stays in the C core; this file only
-- converts Lua values to the C structs and back.
--
--   local hookline = require "resty.hookline"
--   assert(hookline.load("/usr/local/lib/libhookline.so"))  -- optional: default ffi.load("hookline")
--   local v = assert(hookline.new{ secrets = { old, new }, scheme = "standard",
--                                  tolerance = 300, max_body = 1024 * 1024 })
--   local res, err, code = v:verify(body, ngx.req.get_headers(), ngx.time())
--   local headers, err, code = hookline.sign(body, secret, { scheme = "standard" })
--
-- Failures return `nil, message, code` (code: the core's stable error name,
-- e.g. "signature_mismatch"; nil for failures to load the library).
--
-- The ABI check. ffi.cdef cannot see the C headers' #defines, so the struct
-- declarations below carry the array lengths as numbers (HL_ID_MAX = 256,
-- ...). If the library was built with other values, the core would write
-- past the buffers allocated here. load() therefore compares ffi.sizeof()
-- of every struct with hl_abi_sizeof() from the library itself and refuses
-- the library on any difference: update the declarations, never ignore it.
--
-- Secrets given as Lua strings stay in Lua's heap until collected (Lua
-- strings cannot be wiped); the parsed key material inside the library is
-- wiped when the verifier is freed (ffi.gc, or v:close()).

local ffi = require "ffi"

local ffi_new, ffi_string, ffi_sizeof, ffi_cast, ffi_gc = ffi.new, ffi.string, ffi.sizeof,
    ffi.cast, ffi.gc
local type, tostring, tonumber, pairs, pcall, setmetatable, floor =
    type, tostring, tonumber, pairs, pcall, setmetatable, math.floor

local _M = { _VERSION = "0.1.0" }

-- Mirrors core/include/hookline/{error,secret,signature}.h. Enums are
-- declared as int (same size and calling convention as the C enums, whose
-- values are all small and non-negative). Skipped when already declared (a
-- second copy of this module, e.g. after package.loaded was cleared): the
-- ABI check still runs against whatever is declared.
if not pcall(ffi.typeof, "hl_verify_result") then
    ffi.cdef [[
typedef int hl_code;
typedef int hl_scheme;
typedef int hl_secret_encoding;

typedef struct hl_error {
    hl_code code;
    char message[256];            /* HL_ERROR_MESSAGE_MAX */
} hl_error;

typedef struct hl_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} hl_header;

typedef struct hl_signed_header {
    char name[32];                /* HL_HEADER_NAME_MAX */
    char value[2048];             /* HL_HEADER_VALUE_MAX */
} hl_signed_header;

typedef struct hl_signed {
    size_t count;
    hl_signed_header headers[4];  /* HL_SIGNED_MAX_HEADERS */
} hl_signed;

typedef struct hl_verify_options {
    unsigned int version;
    hl_scheme scheme;
    int64_t tolerance;
    size_t max_body;
    int parse_event;
} hl_verify_options;

typedef struct hl_verify_result {
    int64_t timestamp;
    char msg_id[256];             /* HL_ID_MAX */
    int secret_index;
    int has_event;
    char event_id[256];
    char event_type[256];
    char created_at[64];
} hl_verify_result;

typedef struct hl_event_summary {
    char id[256];
    char type[256];
    char created_at[64];
} hl_event_summary;

typedef struct hl_secret hl_secret;
typedef struct hl_signer hl_signer;
typedef struct hl_verifier hl_verifier;

const char *hl_version(void);
const char *hl_code_name(int code);
size_t hl_abi_sizeof(int which);
void hl_verify_options_init(hl_verify_options *opts);
hl_code hl_scheme_from_name(hl_scheme *out, const char *name, size_t name_len);
hl_code hl_secret_parse(hl_secret **out, hl_scheme scheme, hl_secret_encoding encoding,
                        const char *text, size_t len, hl_error *err);
void hl_secret_free(hl_secret *secret);
hl_code hl_signer_new(hl_signer **out, hl_scheme scheme, const hl_secret *const *secrets,
                      size_t n_secrets, hl_error *err);
hl_code hl_signer_sign(hl_signer *signer, const char *msg_id, int64_t timestamp,
                       const void *body, size_t body_len, hl_signed *out, hl_error *err);
void hl_signer_free(hl_signer *signer);
hl_code hl_generate_id(char *buf, size_t cap, const char *prefix, hl_error *err);
hl_code hl_verifier_new(hl_verifier **out, const hl_verify_options *opts,
                        const hl_secret *const *secrets, size_t n_secrets, hl_error *err);
hl_code hl_verifier_verify(hl_verifier *verifier, int64_t now, const hl_header *headers,
                           size_t n_headers, const void *body, size_t body_len,
                           hl_verify_result *result, hl_error *err);
void hl_verifier_free(hl_verifier *verifier);
]]
end

-- hl_abi_struct values (core/include/hookline/abi.h) and our declarations.
local ABI = {
    { 1, "hl_error" },
    { 2, "hl_header" },
    { 3, "hl_signed_header" },
    { 4, "hl_signed" },
    { 5, "hl_verify_options" },
    { 6, "hl_verify_result" },
    { 7, "hl_event_summary" },
}

local HL_OK = 0
local ID_MAX = 256
local ENCODINGS = { default = 0, hex = 1, base64 = 2, raw = 3 }

local lib, lib_name -- the loaded libhookline and what it was loaded as

-- Scratch structs, reused: one Lua VM runs one call at a time and nothing
-- here yields, so sharing them per VM (per nginx worker) is safe.
local err_buf, result_buf, signed_buf, id_buf
local header_cap = 32
local header_buf
local code_names = {}
-- Keeps the Lua strings whose addresses sit in header_buf (the headers
-- table, numbers converted to text) reachable until the C call returns;
-- emptied after each call.
local anchor = {}

--- resty.hookline.load([path]) -> true | nil, message
-- Load libhookline (`path`, or "hookline": the system's libhookline.so)
-- and check its ABI (the struct sizes). Returns true, or nil and a message
-- (no code: a library that cannot be loaded has no error names). Called by
-- new(), signer(), sign(), ... with no path when nothing was loaded yet;
-- once loaded, asking for another path fails. One library per Lua VM.
function _M.load(path)
    if lib then
        if path ~= nil and path ~= lib_name then
            return nil, "libhookline is already loaded from " .. lib_name
        end
        return true
    end
    local name = path or "hookline"
    local ok, clib = pcall(ffi.load, name)
    if not ok then
        return nil, "cannot load libhookline (" .. name .. "): " .. tostring(clib)
    end
    for _, entry in pairs(ABI) do
        local which, ctype = entry[1], entry[2]
        local got_ok, want = pcall(function()
            return tonumber(clib.hl_abi_sizeof(which))
        end)
        if not got_ok then
            return nil, "libhookline (" .. name .. ") has no hl_abi_sizeof: too old for "
                .. "resty.hookline " .. _M._VERSION
        end
        if want ~= ffi_sizeof(ctype) then
            return nil, string.format("ABI mismatch with libhookline (%s): sizeof(%s) is %d "
                .. "in the library, %d in resty.hookline's declarations; refusing to load",
                name, ctype, want, ffi_sizeof(ctype))
        end
    end
    lib, lib_name = clib, name
    err_buf = ffi_new("hl_error")
    result_buf = ffi_new("hl_verify_result")
    signed_buf = ffi_new("hl_signed")
    id_buf = ffi_new("char[?]", ID_MAX)
    header_buf = ffi_new("hl_header[?]", header_cap)
    return true
end

--- resty.hookline.lib_version() -> version | nil, message
-- The loaded library's version string, e.g. "0.1.0" (loads it if needed).
-- `resty.hookline._VERSION` is this module's version.
function _M.lib_version()
    local ok, err = _M.load()
    if not ok then
        return nil, err
    end
    return ffi_string(lib.hl_version())
end

local function code_name(rc)
    local name = code_names[rc]
    if not name then
        name = ffi_string(lib.hl_code_name(rc))
        code_names[rc] = name
    end
    return name
end

-- nil, message, code from err_buf after a failed call.
local function failed(rc)
    local msg = ffi_string(err_buf.message)
    if msg == "" then
        msg = code_name(rc)
    end
    return nil, msg, code_name(rc)
end

local function invalid(msg)
    return nil, msg, "invalid_argument"
end

local function clock()
    if ngx then
        return ngx.time()
    end
    return os.time()
end

local function scheme_of(name)
    if name == nil then
        return 0, "standard"
    end
    if type(name) ~= "string" then
        return nil, "scheme must be a string"
    end
    local out = ffi_new("hl_scheme[1]")
    if lib.hl_scheme_from_name(out, name, #name) ~= HL_OK then
        return nil, "unknown scheme '" .. name .. "' (expected standard, hookline, stripe or github)"
    end
    return out[0], name:lower()
end

local function encoding_of(name)
    if name == nil then
        return 0
    end
    local e = ENCODINGS[name]
    if not e then
        return nil
    end
    return e
end

local function free_secrets(arr, n)
    for i = 0, n - 1 do
        lib.hl_secret_free(arr[i])
        arr[i] = nil
    end
end

-- Parse a secret or a list of secrets into a C array (caller frees with
-- free_secrets). Returns arr, n or nil, message, code.
local function parse_secrets(secrets, scheme, encoding)
    if type(secrets) == "string" then
        secrets = { secrets }
    end
    if type(secrets) ~= "table" or secrets[1] == nil then
        return invalid("secrets must be a string or a non-empty list of strings")
    end
    local n = #secrets
    local arr = ffi_new("hl_secret *[?]", n)
    for i = 1, n do
        local text = secrets[i]
        if type(text) ~= "string" then
            free_secrets(arr, i - 1)
            return invalid("secret " .. i .. " must be a string, not a " .. type(text))
        end
        local rc = lib.hl_secret_parse(arr + (i - 1), scheme, encoding, text, #text, err_buf)
        if rc ~= HL_OK then
            free_secrets(arr, i - 1)
            return failed(rc)
        end
    end
    return arr, n
end

local function integer_opt(opts, key, default)
    local v = opts[key]
    if v == nil then
        return default
    end
    if type(v) ~= "number" or v < 0 or v ~= floor(v) or v >= 2 ^ 53 then
        return nil, "option '" .. key .. "' must be a non-negative integer"
    end
    return v
end

-- ------------------------------------------------------------------ verify

local verifier_mt = {}
verifier_mt.__index = verifier_mt

--- resty.hookline.new(opts) -> verifier | nil, message, code
-- A verifier holding keyed state for opts.secrets (parsed once; the key
-- material is wiped when the verifier is closed or collected).
--   secrets          a secret or a list of them (rotation: old and new)
--   scheme           "standard" (default), "hookline", "stripe", "github"
--   tolerance        seconds either side of now (default 300)
--   max_body         largest body accepted, bytes (default 16 MiB)
--   secret_encoding  "default", "hex", "base64", "raw"
--   parse_event      read id/type/created_at from a JSON body (default true)
--   lib_path         passed to load() first
-- Errors: "invalid_argument", "scheme_unknown", "secret_malformed",
-- "too_many"; nil, message when the library cannot be loaded.
function _M.new(opts)
    if type(opts) ~= "table" then
        return invalid("opts must be a table")
    end
    local ok, err = _M.load(opts.lib_path)
    if not ok then
        return nil, err
    end
    local scheme, scheme_name = scheme_of(opts.scheme)
    if not scheme then
        return nil, scheme_name, "scheme_unknown"
    end
    local encoding = encoding_of(opts.secret_encoding)
    if not encoding then
        return invalid("secret_encoding must be default, hex, base64 or raw")
    end
    -- The library's defaults (HL_VERIFY_OPTIONS_INIT), then the caller's.
    local o = ffi_new("hl_verify_options")
    lib.hl_verify_options_init(o)
    local tolerance, terr = integer_opt(opts, "tolerance", tonumber(o.tolerance))
    if not tolerance then
        return invalid(terr)
    end
    local max_body, merr = integer_opt(opts, "max_body", tonumber(o.max_body))
    if not max_body then
        return invalid(merr)
    end
    o.scheme = scheme
    o.tolerance = tolerance
    o.max_body = max_body
    if opts.parse_event ~= nil then
        o.parse_event = opts.parse_event and 1 or 0
    end

    local arr, n, code = parse_secrets(opts.secrets, scheme, encoding)
    if not arr then
        return nil, n, code
    end
    local out = ffi_new("hl_verifier *[1]")
    local rc = lib.hl_verifier_new(out, o, ffi_cast("const hl_secret *const *", arr), n, err_buf)
    free_secrets(arr, n) -- the verifier holds its own copies
    if rc ~= HL_OK then
        return failed(rc)
    end
    return setmetatable({
        scheme = scheme_name,
        tolerance = tolerance,
        max_body = max_body,
        _verifier = ffi_gc(out[0], lib.hl_verifier_free),
    }, verifier_mt)
end

-- Fill header_buf from a headers table (name -> string | number | list of
-- strings, as ngx.req.get_headers() gives; a list becomes one hl_header per
-- value so the core sees the repetition). Returns the count, or nil, message.
-- Converted numbers are kept in `anchor` for the duration of the C call.
local function fill_headers(headers)
    local n = 0
    for name, value in pairs(headers) do
        if type(name) ~= "string" then
            return nil, "header names must be strings, not " .. type(name)
        end
        local t = type(value)
        if t == "table" then
            local len = #value
            if len == 0 then
                return nil, "header '" .. name .. "' has an empty list of values"
            end
            n = n + len
        elseif t == "string" or t == "number" then
            n = n + 1
        else
            return nil, "header values must be strings or lists of strings, not " .. t
        end
    end
    local buf = header_buf
    if n > header_cap then
        buf = ffi_new("hl_header[?]", n)
        if n <= 1024 then
            header_buf, header_cap = buf, n
        end
    end
    local i = 0
    for name, value in pairs(headers) do
        local list = type(value) == "table" and value or nil
        local count = list and #list or 1
        for j = 1, count do
            local v = list and list[j] or value
            local tv = type(v)
            if tv == "number" then
                v = tostring(v)
                anchor[#anchor + 1] = v
            elseif tv ~= "string" then
                return nil, "header values must be strings, not " .. tv
            end
            local h = buf[i]
            h.name, h.name_len = name, #name
            h.value, h.value_len = v, #v
            i = i + 1
        end
    end
    return n, buf
end

local function clear_anchor()
    for i = #anchor, 1, -1 do
        anchor[i] = nil
    end
end

local function result_table(r)
    local res = { secret_index = r.secret_index + 1 }
    local ts = tonumber(r.timestamp)
    if ts >= 0 then
        res.timestamp = ts
    end
    if r.msg_id[0] ~= 0 then
        res.msg_id = ffi_string(r.msg_id)
    end
    if r.has_event ~= 0 then
        if r.event_id[0] ~= 0 then
            res.event_id = ffi_string(r.event_id)
        end
        if r.event_type[0] ~= 0 then
            res.event_type = ffi_string(r.event_type)
        end
        if r.created_at[0] ~= 0 then
            res.created_at = ffi_string(r.created_at)
        end
    end
    return res
end

--- verifier:verify(body, headers [, now]) -> result | nil, message, code
-- Check one request. Never yields or blocks; safe in any nginx phase.
--   body     the raw body, a string, exactly as received
--   headers  name -> value table (any case), e.g. ngx.req.get_headers()
--   now      unix seconds (default ngx.time() / os.time())
-- Returns { msg_id, timestamp, secret_index (1-based), event_id, event_type,
-- created_at } (absent fields are nil), or nil, message, code with code
-- "header_missing", "header_malformed" (also a header sent twice),
-- "signature_mismatch", "timestamp_too_old", "timestamp_in_future",
-- "body_too_large", "invalid_argument" (e.g. a closed verifier).
function verifier_mt:verify(body, headers, now)
    local v = self._verifier
    if v == nil then
        return invalid("verifier is closed")
    end
    if type(body) ~= "string" then
        return invalid("body must be a string, not a " .. type(body))
    end
    if type(headers) ~= "table" then
        return invalid("headers must be a table, not a " .. type(headers))
    end
    if now == nil then
        now = clock()
    elseif type(now) ~= "number" or now ~= floor(now) then
        return invalid("now must be an integer (unix seconds)")
    end
    anchor[1] = headers
    local n, buf = fill_headers(headers)
    if not n then
        clear_anchor()
        return invalid(buf)
    end
    local rc = lib.hl_verifier_verify(v, now, buf, n, body, #body, result_buf, err_buf)
    clear_anchor()
    if rc ~= HL_OK then
        return failed(rc)
    end
    return result_table(result_buf)
end

--- verifier:close()
-- Wipe and free the keyed state now instead of at collection. Idempotent.
function verifier_mt:close()
    local v = self._verifier
    if v ~= nil then
        self._verifier = nil
        lib.hl_verifier_free(ffi_gc(v, nil))
    end
end

-- -------------------------------------------------------------------- sign

local signer_mt = {}
signer_mt.__index = signer_mt

local function signed_table(s)
    local out = {}
    for i = 0, tonumber(s.count) - 1 do
        local h = s.headers[i]
        out[ffi_string(h.name)] = ffi_string(h.value)
    end
    return out
end

-- true, msg_id (generated for the standard scheme when absent), timestamp;
-- or nil, message, code.
local function sign_args(scheme_name, opts)
    local msg_id = opts.msg_id
    if msg_id ~= nil and (type(msg_id) ~= "string" or msg_id:find("\0", 1, true)) then
        return invalid("msg_id must be a string without NUL bytes")
    end
    if msg_id == nil and scheme_name == "standard" then
        local rc = lib.hl_generate_id(id_buf, ID_MAX, nil, err_buf)
        if rc ~= HL_OK then
            return failed(rc)
        end
        msg_id = ffi_string(id_buf)
    end
    local timestamp, terr = integer_opt(opts, "timestamp", nil)
    if terr then
        return invalid(terr)
    end
    return true, msg_id, timestamp or clock()
end

--- resty.hookline.signer(secrets [, opts]) -> signer | nil, message, code
-- Reusable keyed state for a gateway that signs many events.
-- opts: scheme, secret_encoding, lib_path. Errors as new().
function _M.signer(secrets, opts)
    opts = opts or {}
    if type(opts) ~= "table" then
        return invalid("opts must be a table")
    end
    local ok, err = _M.load(opts.lib_path)
    if not ok then
        return nil, err
    end
    local scheme, scheme_name = scheme_of(opts.scheme)
    if not scheme then
        return nil, scheme_name, "scheme_unknown"
    end
    local encoding = encoding_of(opts.secret_encoding)
    if not encoding then
        return invalid("secret_encoding must be default, hex, base64 or raw")
    end
    local arr, n, code = parse_secrets(secrets, scheme, encoding)
    if not arr then
        return nil, n, code
    end
    local out = ffi_new("hl_signer *[1]")
    local rc = lib.hl_signer_new(out, scheme, ffi_cast("const hl_secret *const *", arr), n,
        err_buf)
    free_secrets(arr, n)
    if rc ~= HL_OK then
        return failed(rc)
    end
    return setmetatable({ scheme = scheme_name, _signer = ffi_gc(out[0], lib.hl_signer_free) },
        signer_mt)
end

--- signer:sign(body [, opts]) -> headers | nil, message, code
-- The headers (lowercase name -> value) to send with `body`.
-- opts.msg_id (standard; generated when absent), opts.timestamp (default now).
function signer_mt:sign(body, opts)
    local s = self._signer
    if s == nil then
        return invalid("signer is closed")
    end
    if type(body) ~= "string" then
        return invalid("body must be a string, not a " .. type(body))
    end
    opts = opts or {}
    if type(opts) ~= "table" then
        return invalid("opts must be a table")
    end
    local ok, msg_id, timestamp = sign_args(self.scheme, opts)
    if not ok then
        return nil, msg_id, timestamp
    end
    local rc = lib.hl_signer_sign(s, msg_id, timestamp, body, #body, signed_buf, err_buf)
    if rc ~= HL_OK then
        return failed(rc)
    end
    return signed_table(signed_buf)
end

--- signer:close()
-- Wipe and free the keyed state now instead of at collection. Idempotent.
function signer_mt:close()
    local s = self._signer
    if s ~= nil then
        self._signer = nil
        lib.hl_signer_free(ffi_gc(s, nil))
    end
end

--- resty.hookline.sign(body, secrets [, opts]) -> headers | nil, message, code
-- One-shot signing: the headers to send with `body` (the secrets are parsed
-- and wiped in this call). opts: scheme, secret_encoding, msg_id,
-- timestamp, lib_path.
-- Returns a table of lowercase header names to values, or nil, message, code.
function _M.sign(body, secrets, opts)
    opts = opts or {}
    if type(opts) ~= "table" then
        return invalid("opts must be a table")
    end
    local s, err, code = _M.signer(secrets, opts)
    if not s then
        return nil, err, code
    end
    local headers, serr, scode = s:sign(body, opts)
    s:close()
    return headers, serr, scode
end

--- resty.hookline.generate_id([prefix]) -> id | nil, message, code
-- A random message id "<prefix><26 base32 chars>" (default prefix "msg_").
function _M.generate_id(prefix)
    local ok, err = _M.load()
    if not ok then
        return nil, err
    end
    if prefix ~= nil and type(prefix) ~= "string" then
        return invalid("prefix must be a string")
    end
    local rc = lib.hl_generate_id(id_buf, ID_MAX, prefix, err_buf)
    if rc ~= HL_OK then
        return failed(rc)
    end
    return ffi_string(id_buf)
end

return _M
