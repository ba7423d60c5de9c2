#!/usr/bin/env bash
# run.sh BUILD_DIR - the nginx guard (resty.hookline.guard) in the real
# nginx (Debian's nginx + libnginx-mod-http-lua).
#
# The nginx.conf is the one in docs/openresty.md, taken from between its
# "nginx.conf begin/end" markers, with only these changes: the two ports
# (free ones on 127.0.0.1), the Lua path (the lua-resty-hookline rock,
# installed into a temporary tree) and libhookline.so's (the build tree),
# `user root;` when run as root, and a test-only server appended to the
# http block (a full dedupe dict, a gated upstream, a scheme without
# message ids). The doc's "Try it" snippet is run against it too.
# Requests are signed with the hookline CLI from BUILD_DIR and sent with
# curl; the answers and what reached the stand-in application are checked.
# nginx is stopped by the pid in its pid file. Exits non-zero on failure.
set -euo pipefail
build=$(cd "${1:?usage: tests/nginx/run.sh BUILD_DIR}" && pwd)
repo=$(cd "$(dirname "$0")/../.." && pwd)
cli=$build/cli/hookline
lib=$build/core/libhookline.so
for need in nginx curl python3 md5sum luarocks; do
    command -v "$need" >/dev/null || PATH=$PATH:/usr/sbin
    command -v "$need" >/dev/null || { echo "nginx test: $need not found"; exit 1; }
done
[ -x "$cli" ] && [ -f "$lib" ] || { echo "nginx test: build $build first"; exit 1; }

tmp=$(mktemp -d)
prefix=$tmp/prefix
mkdir -p "$prefix/logs" "$prefix/temp" "$tmp/req"
pidfile=$prefix/logs/nginx.pid

stop_nginx() {
    [ -s "$pidfile" ] || return 0
    local pid i
    pid=$(cat "$pidfile")
    kill -QUIT "$pid" 2>/dev/null || return 0
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    echo "nginx test: nginx ($pid) did not stop on QUIT; sending TERM"
    kill -TERM "$pid" 2>/dev/null || true
}
cleanup() {
    stop_nginx
    if [ "${KEEP_TMP:-0}" = 1 ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port=$(free_port)
app_port=$(free_port)
extra_port=$(free_port)
while [ "$app_port" = "$port" ]; do app_port=$(free_port); done
while [ "$extra_port" = "$port" ] || [ "$extra_port" = "$app_port" ]; do extra_port=$(free_port); done

# The Lua files as users get them: installed by the lua-resty-hookline rock.
(cd "$repo/lua" && luarocks make --lua-version=5.1 --tree "$tmp/rocks" \
    lua-resty-hookline-0.1.0-1.rockspec > "$tmp/luarocks.log" 2>&1) ||
    { cat "$tmp/luarocks.log"; exit 1; }
lua_dir=$tmp/rocks/share/lua/5.1
[ -f "$lua_dir/resty/hookline/guard.lua" ] || { echo "nginx test: the rock did not install"; exit 1; }

secret=$("$cli" secret generate)
hex_secret=$("$cli" secret generate --scheme hookline)
export HOOKLINE_SECRET=$secret

# ------------------------------------------------------------ the config
python3 - "$repo/docs/openresty.md" "$prefix/nginx.conf" <<EOF
import os, re, sys
doc = open(sys.argv[1]).read()
m = re.search(r"<!-- nginx.conf begin[^\n]*-->\n\`\`\`nginx\n(.*?)\n\`\`\`\n<!-- nginx.conf end -->", doc, re.S)
if not m:
    sys.exit("docs/openresty.md: no nginx.conf block between the begin/end markers")
conf = m.group(1)
subs = [
    ("listen 127.0.0.1:8080;", "listen 127.0.0.1:$port;"),
    ("127.0.0.1:8081", "127.0.0.1:$app_port"),
    ('"/usr/local/share/lua/5.1/?.lua;;"', '"$lua_dir/?.lua;;"'),
    ('"/usr/local/lib/libhookline.so"', '"$lib"'),
]
for old, new in subs:
    if old not in conf:
        sys.exit("docs/openresty.md: the config no longer contains %r" % old)
    conf = conf.replace(old, new)
for path in re.findall(r"^load_module (\S+);", conf, re.M):
    if not os.path.exists(path):
        sys.exit("load_module path %s does not exist here" % path)
if os.getuid() == 0:
    conf = "user root;\n" + conf
extra = r'''
    # ---- test only (tests/nginx/run.sh) ----
    lua_shared_dict hookline_tiny 12k;
    lua_shared_dict test_gate 64k;
    init_worker_by_lua_block {
        assert(require("resty.hookline.guard").configure("tiny", {
            secrets = { os.getenv("HOOKLINE_SECRET") },
            dict = "hookline_tiny", pending_ttl = 600, seen_ttl = 600,
            lib_path = "$lib",
        }))
        -- A scheme without a message id: dedupe on the body's "id".
        assert(require("resty.hookline.guard").configure("by-event", {
            secrets = { "$hex_secret" }, scheme = "hookline",
            dict = "hookline_seen", lib_path = "$lib",
        }))
    }
    server {
        listen 127.0.0.1:$extra_port;
        location = /hooks/by-event {
            access_by_lua_block { require("resty.hookline.guard").check("by-event") }
            log_by_lua_block { require("resty.hookline.guard").log("by-event") }
            proxy_pass http://app;
        }
        location = /hooks/tiny {
            access_by_lua_block { require("resty.hookline.guard").check("tiny") }
            log_by_lua_block { require("resty.hookline.guard").log("tiny") }
            proxy_pass http://app;
        }
        # The "mail" guard in front of an upstream that holds each request
        # until /gate/open: a message is in flight while its copy arrives.
        location = /hooks/gated {
            access_by_lua_block { require("resty.hookline.guard").check("mail") }
            log_by_lua_block { require("resty.hookline.guard").log("mail") }
            proxy_pass http://127.0.0.1:$extra_port/gated-app;
        }
        location = /gated-app {
            access_log logs/app.log app;
            content_by_lua_block {
                local gate = ngx.shared.test_gate
                gate:set("arrived", true)
                for _ = 1, 200 do
                    if gate:get("open") then break end
                    ngx.sleep(0.05)
                end
                ngx.say("gated id=", ngx.var.http_x_hookline_verified_id)
            }
        }
        location = /gate/arrived {
            content_by_lua_block { ngx.say(ngx.shared.test_gate:get("arrived") and "yes" or "no") }
        }
        location = /gate/open {
            content_by_lua_block { ngx.shared.test_gate:set("open", true) ngx.say("open") }
        }
    }
'''
end = conf.rstrip().rfind("}")
conf = conf[:end] + extra + "}\n"
open(sys.argv[2], "w").write(conf)
EOF

nginx -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/logs/error.log" -t -q
nginx -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/logs/error.log"
up=0
for _ in $(seq 1 100); do
    if [ -s "$pidfile" ] &&
        curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$extra_port/gate/arrived"; then
        up=1
        break
    fi
    sleep 0.1
done
if [ $up != 1 ]; then
    echo "nginx test: nginx did not come up"; cat "$prefix/logs/error.log"; exit 1
fi

# ------------------------------------------------------------ helpers
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok     $1"; }
bad() { failed=$((failed + 1)); echo "FAILED $1"; }
now=$(date +%s)

# body NAME TEXT: write a body file
body() { printf %s "$2" > "$tmp/req/$1.body"; }
# sign NAME MSG_ID TIMESTAMP: headers for body NAME into NAME.h
sign() {
    "$cli" sign --secret "$secret" --id "$2" --timestamp "$3" \
        < "$tmp/req/$1.body" > "$tmp/req/$1.h"
}
# post URL_PATH HEADERS_NAME BODY_NAME [curl args...]: sets $code and $resp
post() {
    local path=$1 h=$2 b=$3
    shift 3
    code=$(curl -sS -o "$tmp/resp" -w '%{http_code}' --max-time 20 \
        -H "Content-Type: application/json" -H @"$tmp/req/$h.h" \
        --data-binary @"$tmp/req/$b.body" "$@" "http://127.0.0.1:${PORT_OVERRIDE:-$port}$path")
    resp=$(cat "$tmp/resp")
}
# expect WHAT CODE SUBSTRING
expect() {
    if [ "$code" = "$2" ] && [[ "$resp" == *"$3"* ]]; then
        ok "$1 -> $code"
    else
        bad "$1: want $2 with '$3', got $code: $resp"
    fi
}
md5() { md5sum < "$tmp/req/$1.body" | cut -d' ' -f1; }
size() { wc -c < "$tmp/req/$1.body" | tr -d ' '; }

# ------------------------------------------------------------ requests
body good '{"id":"evt_good","type":"email.delivered"}'
sign good msg_good "$now"
post /hooks/mail good good -H "X-Hookline-Verified-Id: msg_forged_by_client"
expect "good request reaches the app with the verified id" 200 \
    "id=msg_good len=$(size good) md5=$(md5 good)"

post /hooks/mail good good
expect "the same request again is a duplicate, answered 200" 200 '{"status":"duplicate"}'

body tampered '{"id":"evt_good","type":"email.bounced"}'
post /hooks/mail good tampered
expect "tampered body" 401 '{"error":"signature_mismatch"}'

body stale '{"id":"evt_stale"}'
sign stale msg_stale $((now - 3600))
post /hooks/mail stale stale
expect "stale timestamp" 401 '{"error":"timestamp_too_old"}'

body future '{"id":"evt_future"}'
sign future msg_future $((now + 3600))
post /hooks/mail future future
expect "timestamp in the future" 401 '{"error":"timestamp_in_future"}'

body twice '{"id":"evt_twice"}'
sign twice msg_twice "$now"
post /hooks/mail twice twice -H "$(grep -i '^webhook-signature:' "$tmp/req/twice.h")"
expect "signature header sent twice" 400 '{"error":"header_malformed"}'

body unsigned '{"id":"evt_unsigned"}'
sign unsigned msg_unsigned "$now"
grep -vi '^webhook-signature:' "$tmp/req/unsigned.h" > "$tmp/req/nosig.h"
post /hooks/mail nosig unsigned
expect "signature header missing" 401 '{"error":"header_missing"}'
: > "$tmp/req/none.h"
post /hooks/mail none unsigned
expect "no signature headers at all" 401 '{"error":"header_missing"}'

sed 's/^webhook-timestamp: .*/webhook-timestamp: soon/' "$tmp/req/unsigned.h" > "$tmp/req/badts.h"
post /hooks/mail badts unsigned
expect "malformed timestamp header" 400 '{"error":"header_malformed"}'

# 200 KiB: above client_body_buffer_size (16k), so nginx spools it to a file.
pad=$(head -c 150000 /dev/zero | tr '\0' 'a')
body big "{\"id\":\"evt_big\",\"pad\":\"$pad\"}"
sign big msg_big "$now"
post /hooks/mail big big
expect "body spooled to a file is read and verified" 200 \
    "id=msg_big len=$(size big) md5=$(md5 big)"
if grep -q "buffered to a temporary file" "$prefix/logs/error.log"; then
    ok "nginx did spool that body to a file"
else
    bad "nginx did not spool the large body (the spill path was not exercised)"
fi

sign big msg_big_strict "$now"
post /hooks/mail-strict big big
expect "spooled body with spilled_body = reject" 413 '{"error":"body_too_large"}'
body small '{"id":"evt_small"}'
sign small msg_small "$now"
post /hooks/mail-strict small small
expect "in-memory body with spilled_body = reject" 200 "id=msg_small"

head -c 2000000 /dev/zero | tr '\0' 'b' > "$tmp/req/huge.body"
sign huge msg_huge "$now"
post /hooks/mail huge huge
expect "body over client_max_body_size (nginx's own 413)" 413 ""

body fail '{"id":"evt_fail","fail":true}'
sign fail msg_fail "$now"
post /hooks/mail fail fail
expect "the app fails (503)" 503 ""
post /hooks/mail fail fail
expect "the sender's retry is forwarded again, not a duplicate" 503 ""

# The hookline scheme has no message id: the body's "id" is the key, and
# one with control characters is forwarded percent-encoded.
body evt1 '{"id":"evt_plain","type":"email.opened"}'
"$cli" sign --scheme hookline --secret "$hex_secret" --timestamp "$now" \
    < "$tmp/req/evt1.body" > "$tmp/req/evt1.h"
PORT_OVERRIDE=$extra_port post /hooks/by-event evt1 evt1
expect "event id as the key (hookline scheme)" 200 "id=evt_plain "
PORT_OVERRIDE=$extra_port post /hooks/by-event evt1 evt1
expect "and its duplicate" 200 '{"status":"duplicate"}'
body evt2 '{"id":"evt\r\nx-evil: 1"}'
"$cli" sign --scheme hookline --secret "$hex_secret" --timestamp "$now" \
    < "$tmp/req/evt2.body" > "$tmp/req/evt2.h"
PORT_OVERRIDE=$extra_port post /hooks/by-event evt2 evt2
expect "an event id with CR LF is forwarded percent-encoded" 200 "id=evt%0D%0Ax-evil%3A%201 "

# In flight: the gated upstream holds msg_gated until /gate/open.
body gated '{"id":"evt_gated"}'
sign gated msg_gated "$now"
curl -sS -o "$tmp/gated.resp" -w '%{http_code}' --max-time 20 -H @"$tmp/req/gated.h" \
    --data-binary @"$tmp/req/gated.body" "http://127.0.0.1:$extra_port/hooks/gated" \
    > "$tmp/gated.code" &
gated_curl=$!
arrived=no
for _ in $(seq 1 100); do
    arrived=$(curl -s --max-time 2 "http://127.0.0.1:$extra_port/gate/arrived" || true)
    [ "$arrived" = yes ] && break
    sleep 0.05
done
if [ "$arrived" = yes ]; then
    PORT_OVERRIDE=$extra_port post /hooks/gated gated gated
    expect "a copy of a message still in flight" 409 '{"error":"in_progress"}'
else
    bad "the gated request never reached its upstream"
fi
curl -s --max-time 2 -o /dev/null "http://127.0.0.1:$extra_port/gate/open"
wait "$gated_curl" || true
code=$(cat "$tmp/gated.code") resp=$(cat "$tmp/gated.resp")
expect "the message in flight completes" 200 "gated id=msg_gated"
PORT_OVERRIDE=$extra_port post /hooks/gated gated gated
expect "and then its copy is a duplicate" 200 '{"status":"duplicate"}'

# A full dedupe dict: 503, never forwarded unchecked.
full_at=
for i in $(seq 1 400); do
    body "t$i" "{\"id\":\"evt_t$i\"}"
    sign "t$i" "msg_tiny_$i" "$now"
    PORT_OVERRIDE=$extra_port post /hooks/tiny "t$i" "t$i"
    if [ "$code" != 200 ]; then
        full_at=$i
        break
    fi
done
if [ -n "$full_at" ] && [ "$full_at" -gt 1 ]; then
    expect "dedupe dict full after $((full_at - 1)) ids" 503 '{"error":"dedupe_unavailable"}'
else
    bad "the 12k dedupe dict never filled (or failed at once): ${full_at:-never}, $code $resp"
fi

# The doc's "Try it" snippet, as written (but for the port).
python3 - "$repo/docs/openresty.md" "$port" > "$tmp/try-it.sh" <<'PY'
import re, sys
doc = open(sys.argv[1]).read()
m = re.search(r"<!-- try-it begin -->\n```sh\n(.*?)```\n<!-- try-it end -->", doc, re.S)
if not m or "127.0.0.1:8080" not in m.group(1):
    sys.exit("docs/openresty.md: no try-it block using 127.0.0.1:8080")
print(m.group(1).replace("127.0.0.1:8080", "127.0.0.1:" + sys.argv[2]))
PY
resp=$(cd "$tmp" && PATH="$build/cli:$PATH" bash -e "$tmp/try-it.sh" 2>/dev/null) && code=200 || code=fail
expect "the doc's try-it snippet" 200 "len=39 "
[[ "$resp" == id=msg_* ]] && ok "try-it: verified id forwarded" || bad "try-it: $resp"

# ------------------------------------------------------------ what reached the app
stop_nginx
app_log=$prefix/logs/app.log
reached() { grep -c "^$1 " "$app_log" || true; }
check_reached() { # ID COUNT WHAT
    local n
    n=$(reached "$1")
    if [ "$n" = "$2" ]; then ok "app saw $1 $2 time(s): $3"; else bad "app saw $1 $n time(s), want $2: $3"; fi
}
check_reached msg_good 1 "delivered once, the duplicate was not forwarded"
check_reached msg_big 1 "the spooled body"
check_reached msg_small 1 "strict location"
check_reached msg_fail 2 "failed delivery and its retry"
check_reached msg_gated 1 "in-flight copy not forwarded"
check_reached evt_plain 1 "by event id, the duplicate was not forwarded"
for id in msg_forged_by_client msg_stale msg_future msg_twice msg_unsigned msg_big_strict msg_huge; do
    check_reached "$id" 0 "rejected"
done
if [ -n "$full_at" ]; then
    check_reached "msg_tiny_$full_at" 0 "refused when the dict was full"
    check_reached "msg_tiny_$((full_at - 1))" 1 "the last id that fitted"
fi
if grep -q "^- " "$app_log"; then
    bad "a request reached the app without a verified id"
else
    ok "every request that reached the app carried a verified id"
fi
big_line=$(grep "^msg_big " "$app_log" || true)
if [ "$big_line" = "msg_big $(size big) 200" ]; then
    ok "the spooled body reached the app whole ($(size big) bytes)"
else
    bad "spooled body line in app.log: '$big_line'"
fi
# Errors nginx logs that are expected here: the 2 MB body, the full dict.
expected_errors='too large body|dedupe dict: no memory'
errors=$(grep -E '\[(error|crit|alert|emerg)\]' "$prefix/logs/error.log" |
    grep -Ev "$expected_errors" || true)
if [ -z "$errors" ]; then
    ok "no unexpected errors in nginx's error.log"
else
    bad "unexpected errors in error.log:"
    printf '%s\n' "$errors" | head -20
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
