# nginx_204.sh - sourced by bench_deliver.sh and bench_pg.sh: one Debian
# nginx worker on 127.0.0.1 whose `location = /hook` answers 204, under a
# temporary prefix, stopped by its pid.
#
#   nginx_204_start DIR   start it under DIR/prefix; sets $port and $target
#   stop_nginx            stop it (safe to call twice, or before a start)

pidfile=
stop_nginx() {
    [ -n "$pidfile" ] && [ -s "$pidfile" ] || return 0
    local pid
    pid=$(cat "$pidfile")
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

nginx_204_start() {
    local prefix=$1/prefix user_line=
    mkdir -p "$prefix/logs" "$prefix/temp"
    pidfile=$prefix/logs/nginx.pid
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    [ "$(id -u)" = 0 ] && user_line="user root;"
    cat > "$prefix/nginx.conf" <<CONF
$user_line
worker_processes 1;
pid logs/nginx.pid;
error_log logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path temp/body;
    proxy_temp_path temp/proxy;
    fastcgi_temp_path temp/fastcgi;
    uwsgi_temp_path temp/uwsgi;
    scgi_temp_path temp/scgi;
    client_max_body_size 16m;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$port;
        location = /hook { return 204; }
    }
}
CONF
    nginx -p "$prefix" -c "$prefix/nginx.conf"
    for _ in $(seq 1 50); do [ -s "$pidfile" ] && break; sleep 0.1; done
    target=http://127.0.0.1:$port/hook
}
