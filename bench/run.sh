#!/usr/bin/env bash
# bench/run.sh [--quick] - build what the benchmarks need (Release), run them
# all and print one table: each row's measured value, the peer or floor it is
# compared with (measured in the same run), the ratio and issue 8's target.
#
#   --quick   only check that the harness runs (1 KiB vectors, short loops,
#             a few seconds of wrk, 1e4 engine events): CI's mode.
#
# Build tree: BENCH_BUILD (default build-bench/ at the repo root). Peers are
# installed into it: the Node packages with npm (never committed), the
# Python extension into a venv. Raw measurements and the table are kept in
# BENCH_BUILD/results/. nginx runs on 127.0.0.1 and is stopped by its pid.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
quick=
[ "${1:-}" = --quick ] && quick=--quick
build=${BENCH_BUILD:-$root/build-bench}
results=$build/results
mkdir -p "$results"
meas=$results/measurements.tsv
: > "$meas"
log() { printf '== %s\n' "$*" >&2; }

# ------------------------------------------------------------ machine
{
    echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores," \
        "kernel $(uname -r), $(date -u '+%Y-%m-%d %H:%M UTC')${quick:+ (quick mode: figures are not meaningful)}"
} > "$results/machine.txt"

# ------------------------------------------------------------ build
log "build (Release) into $build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DHL_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j2 >/dev/null

# The Python extension, reinstalled when a source changed since the last time.
venv=$build/venv
stamp=$venv/.hookline-stamp
if [ ! -x "$venv/bin/python" ]; then
    /usr/bin/python3 -m venv --system-site-packages "$venv"
fi
if [ ! -f "$stamp" ] || [ -n "$(find "$root/core" "$root/bindings/python" "$root/python/hookline" \
        "$root/python/setup.py" -newer "$stamp" -type f | head -1)" ]; then
    log "install the Python extension into $venv"
    "$venv/bin/pip" install -q --no-build-isolation --no-index "$root/python" >&2
    touch "$stamp"
fi

# The Node peers, into a scratch directory (never committed).
peers=$build/node-peers
if command -v npm >/dev/null && [ ! -d "$peers/node_modules/stripe" ]; then
    log "npm install standardwebhooks svix stripe into $peers"
    mkdir -p "$peers"
    echo '{"name":"hookline-bench-peers","private":true}' > "$peers/package.json"
    (cd "$peers" && npm install --no-audit --no-fund --silent standardwebhooks svix stripe) >&2 ||
        log "npm install failed: the Node peer rows will be missing"
fi

vectors=$results/vectors
rm -rf "$vectors" && mkdir -p "$vectors"
"$build/bench/bench_verify" --vectors "$vectors"

# ------------------------------------------------------------ verify
log "verify: C against the OpenSSL floor"
"$build/bench/bench_verify" $quick >> "$meas"
log "verify: Python extension and the stdlib verifier"
"$venv/bin/python" "$root/bench/bench_verify.py" "$vectors" $quick >> "$meas"
if [ -d "$peers/node_modules/stripe" ]; then
    log "verify: Node peers"
    NODE_PATH=$peers/node_modules node "$root/bench/node/bench_peers.js" "$vectors" $quick >> "$meas"
fi
log "verify: Lua 5.4 and LuaJIT (C API), LuaJIT resty.hookline (FFI)"
LUA_CPATH="$build/lua54/?.so;;" lua5.4 "$root/bench/bench_verify.lua" cmod "$vectors" lua54 "${quick:-full}" >> "$meas"
LUA_CPATH="$build/luajit/?.so;;" luajit "$root/bench/bench_verify.lua" cmod "$vectors" luajit "${quick:-full}" >> "$meas"
LUA_PATH="$root/lua/lib/?.lua;;" luajit "$root/bench/bench_verify.lua" ffi "$vectors" luajit_ffi \
    "${quick:-full}" "$build/core/libhookline.so" >> "$meas"

# ------------------------------------------------------------ callgrind
# Instructions per call, deterministic: N and 2N calls, the difference / N.
if command -v valgrind >/dev/null; then
    log "callgrind: instructions per verify (standard, 1 KiB)"
    n=200
    for path in floor verifier oneshot; do
        counts=()
        for k in $n $((2 * n)); do
            counts+=("$(valgrind --tool=callgrind --callgrind-out-file=/dev/null \
                "$build/bench/bench_verify" --count "$path" standard 1024 "$k" 2>&1 |
                sed -n 's/.*Collected : *//p')")
        done
        printf 'M\tcg.%s\t%d\tinstr\n' "$path" $(((counts[1] - counts[0]) / n)) >> "$meas"
    done
fi

# Engine instructions per event (enqueue + deliver), 1e4 and 1e5 pending:
# flat counts mean a time that grows with the queue is memory, not work.
if command -v valgrind >/dev/null && [ -z "$quick" ]; then
    log "callgrind: engine instructions per event at 1e4 and 1e5 pending"
    for n in 10000 100000; do
        total=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null \
            "$build/bench/bench_engine" --size "$n" 2>&1 | sed -n 's/.*Collected : *//p')
        printf 'M\tcg.engine.%s\t%d\tinstr\n' "$([ "$n" = 10000 ] && echo 1e4 || echo 1e5)" \
            $((total / n)) >> "$meas"
    done
fi

# ------------------------------------------------------------ the rest
if [ -x "$root/bench/bench_nginx.sh" ]; then
    log "nginx: guarded vs unguarded location under wrk"
    bash "$root/bench/bench_nginx.sh" "$build" "$vectors" $quick >> "$meas" || log "nginx bench failed"
fi
if [ -x "$build/bench/bench_sign" ]; then
    log "sign: batches of 100 events of ~500 B"
    "$build/bench/bench_sign" $quick >> "$meas"
    "$venv/bin/python" "$root/bench/bench_sign.py" $quick >> "$meas"
fi
if [ -x "$build/bench/bench_deliver" ]; then
    log "deliver: the worker to nginx at batch sizes 1, 10, 100, against wrk"
    bash "$root/bench/bench_deliver.sh" "$build" $quick >> "$meas" || log "deliver bench failed"
fi
if [ -x "$build/bench/bench_outbox" ]; then
    log "outbox: durable enqueue, single and batched transactions, against raw sqlite3"
    "$build/bench/bench_outbox" $quick --dir "$build" >> "$meas"
fi
if [ -x "$root/bench/bench_pg.sh" ]; then
    log "postgres: enqueue, claim, deliver by 1 and 3 workers beside the SQLite worker"
    bash "$root/bench/bench_pg.sh" "$build" $quick >> "$meas" || log "postgres bench failed"
fi
if [ -x "$build/bench/bench_engine" ]; then
    log "engine: cost per event at 1e4, 1e5, 1e6 pending"
    "$build/bench/bench_engine" $quick >> "$meas"
fi

python3 "$root/bench/table.py" "$meas" "$results/machine.txt" | tee "$results/table.txt"
