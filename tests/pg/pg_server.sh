#!/usr/bin/env bash
# A throwaway PostgreSQL server from Debian's packages, for the tests.
#
#   tests/pg/pg_server.sh start DIR   initdb into DIR, start on 127.0.0.1 on
#                                     a free port, create role + database;
#                                     prints the URL (also in DIR/url)
#   tests/pg/pg_server.sh stop DIR    stop it (by the pid in its pid file)
#                                     and remove DIR
#
# The server's own files (data, socket, log) live in a private directory
# under /tmp named in DIR/real, which the `postgres` user can reach even
# when DIR's parents are private (pytest's tmp_path).
#
# Runs the server as the `postgres` system user when started as root
# (initdb refuses root). Listens on 127.0.0.1 only; the socket directory is
# DIR too. Every wait is bounded. fsync is off (a throwaway server: tests
# need no durability) unless PG_FSYNC=on is in the environment (bench/
# measures both).
set -euo pipefail

cmd=${1:?usage: pg_server.sh start|stop DIR}
dir=${2:?usage: pg_server.sh start|stop DIR}
bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$bin/pg_ctl" ] || { echo "pg_server: no PostgreSQL server binaries (apt-get install postgresql)" >&2; exit 1; }

as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

case "$cmd" in
start)
    mkdir -p "$dir"
    top=$(cd "$dir" && pwd)
    dir=$(mktemp -d /tmp/hookline-pg.XXXXXX)
    echo "$dir" >"$top/real"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
    chmod 700 "$dir"
    as_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; exit 1; }
    for try in 1 2 3 4 5; do
        port=$(free_port)
        if as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
            -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=${PG_FSYNC:-off} -c max_connections=50" \
            start >/dev/null 2>&1; then
            break
        fi
        port=""
    done
    [ -n "$port" ] || { cat "$dir/server.log" >&2; exit 1; }
    echo "$port" >"$top/port"
    psql=("$bin/psql" -X -q -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1)
    as_pg "${psql[@]}" -c "CREATE ROLE hookline LOGIN PASSWORD 'hookline-test'" \
        -c "CREATE DATABASE hookline OWNER hookline" >/dev/null
    # TCP connections need the password from here on
    as_pg sed -i 's/^host\(.*\)trust$/host\1scram-sha-256/' "$dir/data/pg_hba.conf"
    as_pg "$bin/pg_ctl" -D "$dir/data" reload >/dev/null
    url="postgresql://hookline:hookline-test@127.0.0.1:$port/hookline"
    echo "$url" >"$top/url"
    echo "$url"
    ;;
stop)
    [ -d "$dir" ] || exit 0
    top=$dir
    real=$(cat "$top/real" 2>/dev/null || true)
    case "$real" in /tmp/hookline-pg.*) dir=$real ;; *) dir=$top ;; esac
    if [ -f "$dir/data/postmaster.pid" ]; then
        pid=$(head -1 "$dir/data/postmaster.pid")
        as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
            { [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true; }
    fi
    [ "$dir" != "$top" ] && rm -rf "$dir"
    rm -rf "$top"
    ;;
*)
    echo "usage: pg_server.sh start|stop DIR" >&2
    exit 2
    ;;
esac
