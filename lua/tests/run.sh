#!/bin/sh
# run.sh BUILD_DIR - run the Lua tests under Lua 5.4 and LuaJIT against the
# modules the CMake build put in BUILD_DIR/lua54 and BUILD_DIR/luajit.
# Exits non-zero if either runtime fails or its module is missing.
#
# When BUILD_DIR was configured with -DHL_SANITIZE=ON, the interpreters are
# started with the ASan/UBSan runtimes preloaded (the module needs them and
# lua5.4/luajit are not built with them); lua-cjson's one global buffer,
# never freed, is the only leak suppressed.
set -u
build=${1:?usage: lua/tests/run.sh BUILD_DIR}
build=$(cd "$build" && pwd) || exit 2
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
status=0

preload=
launcher=
if grep -q '^HL_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
    cc=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")
    # clang: one libclang_rt.asan (UBSan included); gcc: libasan + libubsan.
    # (clang also finds gcc's libraries, so ask for its own first.)
    rts="libasan.so libubsan.so"
    [ -f "$("${cc:-cc}" -print-file-name=libclang_rt.asan-x86_64.so)" ] &&
        rts=libclang_rt.asan-x86_64.so
    for rt in $rts; do
        lib=$("${cc:-cc}" -print-file-name=$rt)
        [ -f "$lib" ] && preload="$preload $lib"
    done
    # clang 14's ASan runtime cannot place its shadow memory next to a
    # preloaded interpreter under this kernel's ASLR ("Shadow memory range
    # interleaves"); running without ASLR avoids it.
    if command -v setarch >/dev/null 2>&1; then
        launcher="setarch $(uname -m) -R"
    fi
    supp=$(mktemp)
    trap 'rm -f "$supp"' EXIT
    echo "leak:cjson.so" > "$supp"
    export LSAN_OPTIONS="suppressions=$supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
fi

# The rockspec lists the core's sources by hand; catch one left out.
for c in "$repo"/core/src/*.c "$repo"/bindings/lua/*.c "$repo"/drivers/sqlite/*.c \
         "$repo"/drivers/curl/*.c "$repo"/drivers/worker/*.c; do
    rel=${c#"$repo"/}
    if ! grep -q "\"../$rel\"" "$repo/lua/hookline-0.1.0-1.rockspec"; then
        echo "== rockspec: $rel is not listed in lua/hookline-0.1.0-1.rockspec"
        status=1
    fi
done

for pair in "lua5.4 lua54" "luajit luajit"; do
    set -- $pair
    lua=$1 dir=$build/$2
    if [ ! -f "$dir/hookline.so" ]; then
        echo "== $lua: $dir/hookline.so is missing (build first)"
        status=1
        continue
    fi
    for t in "$here"/test_*.lua; do
        echo "== $lua $(basename "$t")"
        # ';;' keeps the default search path, where lua-cjson lives.
        $launcher env LD_PRELOAD="${preload# }" LUA_CPATH="$dir/?.so;;" "$lua" "$t" || status=1
    done
done

# resty.hookline: LuaJIT's FFI over the build tree's libhookline.so
# (cross-checked against the C-API module found through LUA_CPATH).
for t in "$here"/resty/test_*.lua; do
    echo "== luajit resty/$(basename "$t")"
    $launcher env LD_PRELOAD="${preload# }" LUA_CPATH="$build/luajit/?.so;;" \
        luajit "$t" "$build/core/libhookline.so" || status=1
done
exit $status
