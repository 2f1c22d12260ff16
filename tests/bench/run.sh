#!/bin/sh
# tests/bench/run.sh BUILD: the figures `make bench` prints.
# 1. Durable writes: group commit at 1, 16 and 256 submitters beside one
#    synced commit per write, in the same run (bench_commit).
# 2. GET /health on one kithd event-loop thread beside a bare evhttp server,
#    both driven by wrk on loopback, interleaved, in the same run.
# Figures only: this script does not pass or fail on them.
set -eu
BUILD=${1:-build}
SECS=${BENCH_SECONDS:-3}
ROUNDS=${BENCH_ROUNDS:-3}
tmp=$(mktemp -d /tmp/kith-bench.XXXXXX)
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

echo "== kith bench on $(nproc) cores, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo
echo "== 1. group commit (bench_commit, on $(df -P "$tmp" | awk 'NR==2 {print $1}'))"
"$BUILD/bench/bench_commit" "$tmp/db" "$SECS" "$ROUNDS"

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() {
    for _ in $(seq 1 100); do
        if /usr/bin/python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    echo "bench: server on port $1 did not start" >&2
    exit 1
}

bare_port=$(free_port)
kith_port=$(free_port)
"$BUILD/bench/bare_evhttp" "$bare_port" &
pids="$pids $!"
cat >"$tmp/kith.conf" <<CONF
domain = localhost
public_url = http://localhost:$kith_port
listen = 127.0.0.1:$kith_port
data_dir = $tmp/data
threads = 1
rate_limit = off
CONF
"$BUILD/kithd" -c "$tmp/kith.conf" >"$tmp/kithd.out" 2>"$tmp/kithd.log" &
pids="$pids $!"
wait_port "$bare_port"
wait_port "$kith_port"

rate() { # URL -> requests/s
    wrk -t1 -c50 -d"${SECS}s" "$1" | awk '/^Requests\/sec/ {print $2}'
}
echo
echo "== 2. GET /health, one event-loop thread each, wrk -t1 -c50 -d${SECS}s on loopback (same 2 cores)"
wrk -t1 -c50 -d1s "http://127.0.0.1:$bare_port/health" >/dev/null
wrk -t1 -c50 -d1s "http://127.0.0.1:$kith_port/health" >/dev/null
bare=""; kith=""
for r in $(seq 1 "$ROUNDS"); do
    bare="$bare $(rate "http://127.0.0.1:$bare_port/health")"
    kith="$kith $(rate "http://127.0.0.1:$kith_port/health")"
done
/usr/bin/python3 - "$bare" "$kith" <<'PY'
import statistics, sys
bare = sorted(float(x) for x in sys.argv[1].split())
kith = sorted(float(x) for x in sys.argv[2].split())
fmt = lambda v: f"{v[0]:9.0f} / {statistics.median(v):9.0f} / {v[-1]:9.0f} req/s (min/median/max, n={len(v)})"
print(f"  bare evhttp               {fmt(bare)}")
print(f"  kithd GET /health         {fmt(kith)}")
print(f"  kith / bare (medians)     {statistics.median(kith) / statistics.median(bare):.2f}x")
PY
echo
echo "kithd access log lines written: $(grep -c ' access ' "$tmp/kithd.log" || true)"
