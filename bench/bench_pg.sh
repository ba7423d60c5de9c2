#!/usr/bin/env bash
# bench_pg.sh BUILD_DIR [--quick] - the PostgreSQL outbox rows (issue 9):
# enqueue (vs a raw libpq floor), claim (route + ingest), and delivery by 1
# and 3 worker processes to nginx on 127.0.0.1 at batch sizes 1 and 100,
# beside the SQLite worker (bench_deliver) against the same nginx in the
# same run.
#
# Starts its own throwaway PostgreSQL with tests/pg/pg_server.sh (fsync=off,
# as the tests run it) and, for the enqueue rows, a second one with
# PG_FSYNC=on; stops both (by pid, through pg_server.sh) and nginx (by pid)
# on exit. Without the server binaries it prints nothing and says why.
# Prints "M pg.* <value> ev/s" lines.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
quick=${2:-}
PATH=$PATH:/usr/sbin
bench=$build/bench/bench_pg
if [ ! -x "$bench" ]; then
    echo "bench_pg: not built (no libpq): PostgreSQL rows skipped" >&2
    exit 0
fi
if ! ls -d /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 && [ -z "${PG_BIN:-}" ]; then
    echo "bench_pg: no PostgreSQL server binaries (apt-get install postgresql): rows skipped" >&2
    exit 0
fi
for need in nginx python3; do
    command -v "$need" >/dev/null || { echo "bench_pg: $need not found" >&2; exit 1; }
done
if [ -n "$quick" ]; then
    runs=1 sizes="1:120 100:1200"
else
    runs=3 sizes="1:2000 100:20000"
fi

tmp=$(mktemp -d "$build/bench-pg.XXXXXX")
. "$(dirname "$0")/nginx_204.sh"
cleanup() {
    stop_nginx
    bash "$root/tests/pg/pg_server.sh" stop "$tmp/pg" || true
    bash "$root/tests/pg/pg_server.sh" stop "$tmp/pg-fsync" || true
    rm -rf "$tmp"
}
trap cleanup EXIT

# ---- enqueue and claim, fsync off (the tests' server)
url=$(bash "$root/tests/pg/pg_server.sh" start "$tmp/pg")
"$bench" --db "$url" enqueue $quick
"$bench" --db "$url" claim $quick

# ---- delivery: one nginx worker answering 204 (as bench_deliver.sh)
nginx_204_start "$tmp"

best() { awk -v m="${1:-0}" -v v="$2" 'BEGIN { print (v > m ? v : m) }'; }
declare -A top
for _ in $(seq 1 "$runs"); do
    for s in $sizes; do
        b=${s%%:*} n=${s##*:}
        # the SQLite worker, same nginx, same events
        while IFS=$'\t' read -r tag key value _; do
            [ "$tag" = M ] || continue
            top[pg.sqlite.$b]=$(best "${top[pg.sqlite.$b]:-0}" "$value")
        done < <("$build/bench/bench_deliver" --url "$target" --batch "$b" --events "$n" \
                     --rounds 1 --dir "$tmp" | grep "deliver.ev")
        for w in 1 3; do
            while IFS=$'\t' read -r tag key value _; do
                [ "$tag" = M ] || continue
                top[$key]=$(best "${top[$key]:-0}" "$value")
            done < <("$bench" --db "$url" deliver --target "$target" --batch "$b" --workers "$w" \
                         --events "$n" --rounds 1)
        done
    done
done
for s in $sizes; do
    b=${s%%:*}
    printf 'M\tpg.sqlite.%s\t%s\tev/s\n' "$b" "${top[pg.sqlite.$b]}"
    for w in 1 3; do
        printf 'M\tpg.deliver.%s.%s\t%s\tev/s\n' "$b" "$w" "${top[pg.deliver.$b.$w]}"
    done
done
bash "$root/tests/pg/pg_server.sh" stop "$tmp/pg"

# ---- enqueue with fsync on: a second server, durable commits
url=$(PG_FSYNC=on bash "$root/tests/pg/pg_server.sh" start "$tmp/pg-fsync")
"$bench" --db "$url" enqueue $quick --tag fsync
