#!/usr/bin/env bash
# bench_deliver.sh BUILD_DIR [--quick] - delivery throughput of the worker
# (build/bench/bench_deliver: hl_worker with signing, the SSRF guard and the
# durable SQLite outbox) to nginx on 127.0.0.1 answering 204, at batch sizes
# 1, 10 and 100, against wrk POSTing a one-event body (the batch-of-1 body
# size) to the same nginx location in the same run: this machine's HTTP
# limit for that request.
#
# The worker sends on at most 8 connections to one host (the dispatcher's
# max_per_host), so wrk gets the same 8 (-t1 -c8). One nginx worker (Debian's
# nginx, no Lua needed), started with a temporary prefix and stopped by its
# pid. Runs alternate wrk and the three batch sizes, 3 times (quick: once),
# and keep the best of each. The outbox files go to a temporary directory
# under BUILD_DIR (the disk, not tmpfs).
# Prints "M deliver.{wrk,ev.N,batch.N} <value> <unit>".
set -euo pipefail
build=$(cd "$1" && pwd)
quick=${2:-}
PATH=$PATH:/usr/sbin
for need in nginx wrk python3; do
    command -v "$need" >/dev/null || { echo "bench_deliver: $need not found" >&2; exit 1; }
done
if [ -n "$quick" ]; then
    runs=1 duration=1s sizes="1:300 10:1000 100:2000"
else
    runs=3 duration=5s sizes="1:20000 10:50000 100:100000"
fi

tmp=$(mktemp -d "$build/bench-deliver.XXXXXX")
. "$(dirname "$0")/nginx_204.sh"
trap 'stop_nginx; rm -rf "$tmp"' EXIT

nginx_204_start "$tmp"

# wrk's request: one event as the worker sends it at batch size 1 (a JSON
# array of one ~500 B event) with the same kind of signature headers.
cat > "$tmp/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '[{"id":"evt_2Yk8r4Qm9Tz6Wb1Xc3Vn000001","type":"email.outbound.delivered",'
    .. '"created_at":"2026-11-23T21:30:00.000Z","data":{"message_id":"<1.bench@mail.example.com>",'
    .. '"from":"news@example.com","to":"someone1@example.org",'
    .. '"subject":"Your weekly digest: 12 new articles you may like",'
    .. '"smtp_response":"250 2.0.0 OK 1778155200 a1b2c3d4e5f6 - gsmtp","ip":"192.0.2.10",'
    .. '"pool":"shared-1","tags":["digest","weekly"],"metadata":{"campaign":"cmp_0042","user":"u_1"},'
    .. '"padding":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}}]'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["webhook-id"] = "msg_2Yk8r4Qm9Tz6Wb1Xc3Vn8Lp0Aa"
wrk.headers["webhook-timestamp"] = "1778155200"
wrk.headers["webhook-signature"] = "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="
LUA

url=http://127.0.0.1:$port/hook
best() { awk -v m="${1:-0}" -v v="$2" 'BEGIN { print (v > m ? v : m) }'; }
declare -A top
for _ in $(seq 1 "$runs"); do
    rps=$(wrk -t1 -c8 -d"$duration" -s "$tmp/post.lua" "$url" | sed -n 's/^Requests\/sec: *//p')
    top[wrk]=$(best "${top[wrk]:-0}" "${rps:-0}")
    for s in $sizes; do
        b=${s%%:*} n=${s##*:}
        while IFS=$'\t' read -r tag key value _; do
            [ "$tag" = M ] || continue
            top[$key]=$(best "${top[$key]:-0}" "$value")
        done < <("$build/bench/bench_deliver" --url "$url" --batch "$b" --events "$n" --rounds 1 \
                     --dir "$tmp")
    done
done
printf 'M\tdeliver.wrk\t%s\treq/s\n' "${top[wrk]}"
for s in $sizes; do
    b=${s%%:*}
    printf 'M\tdeliver.ev.%s\t%s\tev/s\n' "$b" "${top[deliver.ev.$b]}"
    printf 'M\tdeliver.batch.%s\t%s\tbatch/s\n' "$b" "${top[deliver.batch.$b]}"
done
