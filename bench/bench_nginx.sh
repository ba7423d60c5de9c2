#!/usr/bin/env bash
# bench_nginx.sh BUILD_DIR VECTOR_DIR [--quick] - requests/s of one nginx
# location guarded by resty.hookline.guard (verify, standard scheme, 1 KiB
# signed POST) against the same location unguarded, same nginx, same run,
# driven by wrk on 127.0.0.1, in two shapes:
#   bare:    the location answers 204 itself (the guard's cost at its most
#            visible);
#   proxied: the location proxies to an application (here a second server
#            block of the same nginx answering 204), as the guard is used.
# Prints "M nginx.{guarded,plain,guarded_proxy,plain_proxy} <req/s>".
#
# One nginx worker and one wrk thread (2 cores). Runs alternate plain and
# guarded (3 times, 5 s each) and keep the best of each; a warm-up run first. No dedupe dict: every request is
# verified (a replayed id would otherwise be answered as a duplicate). The
# vector is signed at a fixed time, so the tolerance is set wide.
# nginx is started with a temporary prefix and stopped by its pid.
set -euo pipefail
build=$(cd "$1" && pwd)
vectors=$(cd "$2" && pwd)
quick=${3:-}
root=$(cd "$(dirname "$0")/.." && pwd)
PATH=$PATH:/usr/sbin
for need in nginx wrk python3; do
    command -v "$need" >/dev/null || { echo "bench_nginx: $need not found" >&2; exit 1; }
done
duration=${quick:+1s}
duration=${duration:-5s}
runs=${quick:+1}
runs=${runs:-3}

tmp=$(mktemp -d)
prefix=$tmp/prefix
mkdir -p "$prefix/logs" "$prefix/temp"
pidfile=$prefix/logs/nginx.pid
stop_nginx() {
    [ -s "$pidfile" ] || return 0
    local pid
    pid=$(cat "$pidfile")
    kill -TERM "$pid" 2>/dev/null || return 0 # fast shutdown: nothing to drain here
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}
trap 'stop_nginx; rm -rf "$tmp"' EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port=$(free_port)
app_port=$(free_port)
while [ "$app_port" = "$port" ]; do app_port=$(free_port); done
user_line=
[ "$(id -u)" = 0 ] && user_line="user root;"
HOOKLINE_SECRET=$(cat "$vectors/standard.secret")
export HOOKLINE_SECRET

cat > "$prefix/nginx.conf" <<EOF
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
$user_line
worker_processes 1;
pid logs/nginx.pid;
error_log logs/error.log warn;
env HOOKLINE_SECRET;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path temp/body;
    proxy_temp_path temp/proxy;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    fastcgi_temp_path temp/fastcgi;
    uwsgi_temp_path temp/uwsgi;
    scgi_temp_path temp/scgi;
    client_max_body_size 1m;
    client_body_buffer_size 1m;
    lua_package_path "$root/lua/lib/?.lua;;";
    init_by_lua_block {
        assert(require("resty.hookline.guard").configure("bench", {
            secrets = { os.getenv("HOOKLINE_SECRET") },
            scheme = "standard",
            tolerance = 1000000000,
            max_body = 1024 * 1024,
            lib_path = "$build/core/libhookline.so",
        }))
    }
    server {
        listen 127.0.0.1:$port;
        location = /plain {
            content_by_lua_block { ngx.exit(204) }
        }
        location = /guarded {
            access_by_lua_block { require("resty.hookline.guard").check("bench") }
            content_by_lua_block { ngx.exit(204) }
        }
        location = /plain_proxy {
            proxy_pass http://app;
        }
        location = /guarded_proxy {
            access_by_lua_block { require("resty.hookline.guard").check("bench") }
            proxy_pass http://app;
        }
    }
    upstream app {
        server 127.0.0.1:$app_port;
        keepalive 32;
    }
    server {
        listen 127.0.0.1:$app_port;
        location / {
            return 204;
        }
    }
}
EOF
nginx -p "$prefix" -c "$prefix/nginx.conf"
for _ in $(seq 1 50); do [ -s "$pidfile" ] && break; sleep 0.1; done

cat > "$tmp/post.lua" <<'EOF'
-- the signed 1 KiB vector as a POST
local function slurp(path)
    local f = assert(io.open(path, "rb"))
    local s = f:read("*a")
    f:close()
    return s
end
local dir = os.getenv("HL_VECTORS")
wrk.method = "POST"
wrk.body = slurp(dir .. "/standard_1024.body")
wrk.headers["Content-Type"] = "application/json"
for line in slurp(dir .. "/standard_1024.headers"):gmatch("[^\n]+") do
    local name, value = line:match("^(.-): (.*)$")
    wrk.headers[name] = value
end
EOF

# Both locations must answer 204 to the vector before anything is timed.
for loc in plain guarded plain_proxy guarded_proxy; do
    code=$(python3 - "$port" "$loc" "$vectors" <<'EOF'
import http.client, sys
port, loc, d = sys.argv[1], sys.argv[2], sys.argv[3]
headers = dict(l.split(": ", 1) for l in open(d + "/standard_1024.headers").read().splitlines())
c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=5)
c.request("POST", "/" + loc, open(d + "/standard_1024.body", "rb").read(), headers)
print(c.getresponse().status)
EOF
)
    if [ "$code" != 204 ]; then
        echo "bench_nginx: /$loc answered $code to the signed vector" >&2
        tail -5 "$prefix/logs/error.log" >&2
        exit 1
    fi
done

rps() { # LOCATION
    HL_VECTORS=$vectors wrk -t1 -c16 -d"$duration" -s "$tmp/post.lua" \
        "http://127.0.0.1:$port/$1" | sed -n 's/^Requests\/sec: *//p'
}
HL_VECTORS=$vectors wrk -t1 -c16 -d1s -s "$tmp/post.lua" "http://127.0.0.1:$port/guarded" >/dev/null
for pair in plain:guarded plain_proxy:guarded_proxy; do
    a=${pair%%:*} b=${pair##*:}
    best_a=0 best_b=0
    for _ in $(seq 1 "$runs"); do
        x=$(rps "$a")
        y=$(rps "$b")
        best_a=$(awk -v m="$best_a" -v v="$x" 'BEGIN { print (v > m ? v : m) }')
        best_b=$(awk -v m="$best_b" -v v="$y" 'BEGIN { print (v > m ? v : m) }')
    done
    printf 'M\tnginx.%s\t%s\treq/s\n' "$a" "$best_a" "$b" "$best_b"
done
