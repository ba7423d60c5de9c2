#!/usr/bin/env bash
# Run every libFuzzer target for a bounded time over a scratch copy of its
# seed corpus. Usage: scripts/fuzz.sh BUILD_DIR SECONDS_PER_TARGET
# (BUILD_DIR configured with CC=clang -DHL_BUILD_FUZZ=ON). Fails on any finding.
set -euo pipefail
build=$(cd "${1:?build dir}" && pwd)
seconds=${2:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for bin in "$build"/tests/fuzz/fuzz_*; do
    name=$(basename "$bin")
    case $name in *_replay) continue ;; esac
    [ -x "$bin" ] || continue
    mkdir -p "$work/$name"
    cp "$root/tests/fuzz/corpus/$name"/* "$work/$name/" 2>/dev/null || true
    echo "== fuzzing $name for ${seconds}s"
    if ! (cd "$work" && "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
            -print_final_stats=0 "$work/$name" 2>"$work/$name.log"); then
        echo "FINDING in $name:"; tail -40 "$work/$name.log"; status=1
    else
        grep -E "^Done [0-9]+ runs" "$work/$name.log" || tail -2 "$work/$name.log"
    fi
done
exit $status
