#!/usr/bin/env bash
# run.sh BUILD_DIR - install BUILD_DIR into a temporary prefix and build a
# third-party program (examples/verify_request.c) against that copy three
# ways, then run each over the known-answer vectors (check_example.py):
#   1. CMake: find_package(hookline), hookline::hookline (shared)
#   2. CMake: the same project's hookline::hookline_static target
#   3. pkg-config --cflags --libs hookline with plain cc (shared, found at
#      run time through LD_LIBRARY_PATH)
# Each shared build must load the installed libhookline, not the build
# tree's. Exits non-zero on failure.
set -euo pipefail
build=$(cd "${1:?usage: tests/install/run.sh BUILD_DIR}" && pwd)
repo=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
status=0

step() { printf '== %s\n' "$*"; }

step "cmake --install into a temporary prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
pc=$(find "$prefix" -name hookline.pc -print -quit)
config=$(find "$prefix" -name hooklineConfig.cmake -print -quit)
libdir=$(dirname "$(dirname "$pc")")
for f in "$prefix/include/hookline.h" "$prefix/include/hookline/abi.h" \
    "$libdir/libhookline.so" "$libdir/libhookline.a" "$pc" "$config"; do
    [ -e "$f" ] || { echo "not installed: $f"; exit 1; }
done
if grep -q "$build" "$pc" "$config"; then
    echo "the installed package files mention the build tree"
    exit 1
fi

# uses_installed BINARY: the shared library it loads is the installed one.
uses_installed() {
    local where
    where=$(LD_LIBRARY_PATH="$libdir" ldd "$1" | awk '/libhookline/ {print $3}')
    if [ "$(readlink -f "$where")" != "$(readlink -f "$libdir/libhookline.so.0")" ]; then
        echo "$1 loads libhookline from '$where', not from $libdir"
        return 1
    fi
}

step "find_package(hookline) from a CMake project"
cmake -S "$repo/examples" -B "$tmp/cmake" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$tmp/cmake" >/dev/null
uses_installed "$tmp/cmake/verify_request" || status=1
python3 "$repo/tests/install/check_example.py" "$tmp/cmake/verify_request" |
    tail -1 || status=1

step "hookline::hookline_static from the same project"
if ldd "$tmp/cmake/verify_request_static" | grep -q libhookline; then
    echo "verify_request_static loads libhookline.so"
    status=1
fi
python3 "$repo/tests/install/check_example.py" "$tmp/cmake/verify_request_static" |
    tail -1 || status=1

step "pkg-config --cflags --libs hookline"
export PKG_CONFIG_PATH=$libdir/pkgconfig
pkg-config --exact-version="$(sed -n 's/^Version: //p' "$pc")" hookline
# shellcheck disable=SC2046 # word splitting of pkg-config's flags is intended
cc -std=c11 -Wall -Wextra -Werror -o "$tmp/verify_request_pc" "$repo/examples/verify_request.c" \
    $(pkg-config --cflags --libs hookline)
uses_installed "$tmp/verify_request_pc" || status=1
LD_LIBRARY_PATH="$libdir" python3 "$repo/tests/install/check_example.py" \
    "$tmp/verify_request_pc" | tail -1 || status=1

[ $status = 0 ] && echo "installed library works for third-party builds"
exit $status
