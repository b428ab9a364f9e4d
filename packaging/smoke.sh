#!/usr/bin/env bash
# A smoke test of a built `tagroute` as an operator runs it: the demo, then `serve` on loopback
# with the examples: the addresses it prints, /healthz, /metrics, a reload on SIGHUP, and a
# clean exit 0 on SIGTERM. Every wait is bounded.
#
#   packaging/smoke.sh path/to/tagroute
set -euo pipefail
cd "$(dirname "$0")/.."
binary=$(realpath "$1")
work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill -KILL "$server" 2>/dev/null; rm -rf "$work"' EXIT

fail() {
    echo "smoke: $*" >&2
    [ -s "$work/stderr" ] && sed 's/^/  serve: /' "$work/stderr" >&2
    exit 1
}

"$binary" --version
"$binary" demo >"$work/demo"
grep -q "After n1b goes down" "$work/demo" || fail "demo printed no failure section"
echo "smoke: demo ok ($(wc -l <"$work/demo") lines)"

cp examples/neo4j.conf examples/cluster.json "$work/"
"$binary" serve --config "$work/neo4j.conf" --topology "$work/cluster.json" \
    --listen 127.0.0.1:0 --admin 127.0.0.1:0 --watch-interval 0 \
    >"$work/stdout" 2>"$work/stderr" &
server=$!
for _ in $(seq 100); do
    [ -s "$work/stdout" ] && break
    kill -0 "$server" 2>/dev/null || fail "serve exited before it listened"
    sleep 0.1
done
read -r addresses <"$work/stdout" || fail "serve printed no addresses within 10 s"
admin=$(sed -n 's/.*"admin":"\([^"]*\)".*/\1/p' <<<"$addresses")
[ -n "$admin" ] || fail "no admin address in $addresses"
echo "smoke: serving $addresses"

get() { curl --silent --show-error --fail --max-time 5 "http://$admin$1"; }
[ "$(get /healthz)" = ok ] || fail "/healthz is not ok"
get /metrics | grep -q '^tagroute_' || fail "/metrics has no tagroute_ metric"

kill -HUP "$server"
reloaded=
for _ in $(seq 100); do
    if get /metrics | grep -q 'tagroute_reloads_total{source="sighup",outcome="ok"} 1'; then
        reloaded=yes
        break
    fi
    sleep 0.1
done
[ -n "$reloaded" ] || fail "SIGHUP did not reload within 10 s"
echo "smoke: /healthz, /metrics and a SIGHUP reload ok"

kill -TERM "$server"
status=0
for _ in $(seq 100); do
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$server" 2>/dev/null && fail "serve did not exit within 10 s of SIGTERM"
wait "$server" || status=$?
server=
[ "$status" = 0 ] || fail "serve exited $status on SIGTERM"
echo "smoke: SIGTERM exit 0; passed"
