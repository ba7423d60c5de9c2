#!/usr/bin/env bash
# Every test of hookline: C (ctest), C under ASan+UBSan, Python (pytest),
# Lua 5.4 and LuaJIT, and a bounded libFuzzer run of every parser.
# FUZZ_SECONDS (default 20) bounds each fuzz target.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
fuzz_seconds=${FUZZ_SECONDS:-20}
bash scripts/deps.sh

section() { printf '\n==== %s\n' "$*"; }

section "C tests (gcc, RelWithDebInfo)"
bash scripts/build.sh build
ctest --test-dir build --output-on-failure

section "C tests under AddressSanitizer + UndefinedBehaviorSanitizer (clang)"
CC=clang cmake -S . -B build-asan -DHL_SANITIZE=ON -DHL_BUILD_LUA=OFF \
    -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$(nproc)" >/dev/null
ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build-asan --output-on-failure

section "Python extension (offline install into .venv) and pytest"
/usr/bin/python3 -m venv --system-site-packages .venv
.venv/bin/pip install -q --no-build-isolation --no-index ./python
.venv/bin/python -m pytest -q python/tests

section "Lua module under Lua 5.4 and LuaJIT"
bash lua/tests/run.sh build

section "libFuzzer, ${fuzz_seconds}s per target (clang)"
CC=clang cmake -S . -B build-fuzz -DHL_BUILD_FUZZ=ON -DHL_BUILD_LUA=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" >/dev/null
bash scripts/fuzz.sh build-fuzz "$fuzz_seconds"

section "all test suites passed"
