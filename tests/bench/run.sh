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

# ---- 3. signed inbox POSTs accepted durably -------------------------------
echo
echo "== 3. signed inbox POSTs: pre-signed (5% broken), wrk -t2 -c64 -d${SECS}s, kithd with 2 loop threads"
peer_port=$(free_port)
inbox_port=$(free_port)
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/peer.pem" 2>/dev/null
openssl pkey -in "$tmp/peer.pem" -pubout -out "$tmp/peer.pub"
actor="http://127.0.0.1:$peer_port/users/bench"
/usr/bin/python3 - "$peer_port" "$actor" "$tmp/peer.pub" <<'PY' &
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
port, actor, pub = int(sys.argv[1]), sys.argv[2], open(sys.argv[3]).read()
doc = json.dumps({"id": actor, "type": "Person", "preferredUsername": "bench",
                  "inbox": actor + "/inbox",
                  "publicKey": {"id": actor + "#main-key", "owner": actor, "publicKeyPem": pub}}).encode()
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Type", "application/activity+json")
        self.send_header("Content-Length", str(len(doc))); self.end_headers(); self.wfile.write(doc)
ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
pids="$pids $!"
mkdir -p "$tmp/inbox"
cat >"$tmp/inbox/kith.conf" <<CONF
domain = 127.0.0.1:$inbox_port
public_url = http://127.0.0.1:$inbox_port
listen = 127.0.0.1:$inbox_port
data_dir = data
threads = 2
rate_limit = off
allow_private_addresses = true
CONF
"$BUILD/kithd" -c "$tmp/inbox/kith.conf" >"$tmp/inbox/out" 2>"$tmp/inbox/log" &
pids="$pids $!"
wait_port "$peer_port"
wait_port "$inbox_port"
NREQ=${BENCH_INBOX_REQUESTS:-20000}
t0=$(date +%s.%N)
"$BUILD/bench/gen_inbox" "$tmp/reqs.bin" "$NREQ" "127.0.0.1:$inbox_port" /inbox "$actor" "$tmp/peer.pem" 20
t1=$(date +%s.%N)
echo "  pre-signed $NREQ requests in $(/usr/bin/python3 -c "print(f'{$t1-$t0:.1f}')") s (not timed below)"
# Warm-up: the first request makes kithd fetch and cache the actor's key.
/usr/bin/python3 - "$tmp/reqs.bin" "$inbox_port" <<'PY'
import socket, sys
data = open(sys.argv[1], "rb").read()
nl = data.index(b"\n"); req = data[nl + 1: nl + 1 + int(data[:nl])]
s = socket.create_connection(("127.0.0.1", int(sys.argv[2]))); s.sendall(req)
print("  warm-up:", s.recv(100).split(b"\r\n")[0].decode())
PY
out=$(wrk -t2 -c64 -d"${SECS}s" -s tests/bench/inbox.lua "http://127.0.0.1:$inbox_port/inbox" -- "$tmp/reqs.bin")
t_end=$(date +%s.%N)
q0=$("$BUILD/kithctl" -c "$tmp/inbox/kith.conf" stats | awk '/^queues:/ {gsub(",", "", $3); print $3}')
sleep 3
q1=$("$BUILD/kithctl" -c "$tmp/inbox/kith.conf" stats | awk '/^queues:/ {gsub(",", "", $3); print $3}')
verify=$(openssl speed -seconds 2 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ {print $7}')
/usr/bin/python3 - "$out" "$SECS" "$q0" "$q1" "$verify" <<'PY'
import re, sys
out, secs, q0, q1, verify = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
st = dict((int(a), int(b)) for a, b in re.findall(r" (\d+)=(\d+)", out.split("statuses:")[1]))
total = sum(st.values())
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
acc = st.get(202, 0)
print(f"  answers: {', '.join(f'{k}: {v}' for k, v in sorted(st.items()))} ({total} in {secs:.0f} s)")
print(f"  accepted durably (202): {acc / total * rps:9.0f} /s   refused (401): {st.get(401, 0)} "
      f"= {100 * st.get(401, 0) / total:.1f}% (5% of the requests carry a broken signature)")
if q0 == 0:
    print("  inbox processor backlog right after the run: 0 (it applied activities as fast as "
          "they were accepted)")
else:
    print(f"  inbox processor backlog after the run: {q0}; 3 s later: {q1} "
          f"(drain rate {(q0 - q1) / 3:.0f} /s)")
print(f"  machine: RSA-2048 verify {verify} /s per core (openssl speed, same run)")
PY
echo
echo "kithd access log lines written: $(grep -c ' access ' "$tmp/kithd.log" || true)"
