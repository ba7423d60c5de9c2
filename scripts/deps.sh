#!/usr/bin/env bash
# Install the Debian packages hookline needs to build and test, if any are
# missing. Needs root (apt-get); does nothing when everything is present.
set -euo pipefail

PACKAGES=(
    # build
    build-essential cmake pkg-config git
    clang libclang-rt-14-dev
    libssl-dev libcurl4-openssl-dev libjansson-dev libsqlite3-dev libpq-dev
    libcmocka-dev libmicrohttpd-dev
    # Python extension (offline: Debian's interpreter, venv, setuptools, wheel)
    python3 python3-dev python3-venv python3-setuptools python3-wheel python3-pip
    python3-pytest python3-hypothesis python3-flask python3-requests python3-cryptography
    python3-django python3-starlette python3-fastapi python3-uvicorn python3-httpx
    # the PostgreSQL outbox: a real server for the tests, psycopg for hookline.pg
    postgresql python3-psycopg
    # Lua 5.4 and OpenResty's LuaJIT, nginx with the Lua module
    lua5.4 liblua5.4-dev luajit2 libluajit2-5.1-dev lua-cjson luarocks
    nginx libnginx-mod-http-lua
    # tests/nginx/run.sh sends its requests with curl
    curl
    # tests/servers/make_certs.sh: the dispatcher test's throwaway CA
    openssl
)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: run as root (or install these with sudo apt-get install -y)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
