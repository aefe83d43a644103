#!/usr/bin/env bash
# Instructions per request of `GET /healthz` and `POST /v1/stamp`, counted by valgrind's callgrind
# in the report server's own process (user space: the kernel's share of a request, the same for
# both, is not counted). Unlike a throughput run, the count does not move with the load of a shared
# machine, so it shows what a change to the request path does even where `bench-server.sh`'s ratios
# drift by tens of percent between runs (docs/performance.md, "Report server").
#
#   scripts/bench-instructions.sh [REQUESTS]      # default 2000 of each
#
# Builds the release server, starts it under callgrind on SQLite in a temporary directory, warms
# both paths up (the relay token and the stamping key are then cached), and counts REQUESTS
# sequential keep-alive requests of each. Needs valgrind (Debian: valgrind) and python3.
# Under valgrind, SHA-256 runs its portable code (valgrind does not emulate the SHA extensions),
# so the stamp's count includes ≈ 13,500 instructions that are a few hundred on the machine itself.
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/server.sh
source scripts/lib/server.sh
N=${1:-2000}
for tool in valgrind callgrind_control python3; do
    command -v "$tool" >/dev/null || { echo "bench-instructions: $tool not found (Debian: valgrind, python3)" >&2; exit 2; }
done

cargo build --release -p report-server --bin report-server

work=$(mktemp -d)
server_pid=
cleanup() {
    if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

port=$(free_port)
env -u DATABASE_URL valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" \
    target/release/report-server --listen "127.0.0.1:$port" --data-dir "$work" > "$work/server.log" 2>&1 &
server_pid=$!
wait_listening "$work/server.log" "$server_pid" 120
relay=$(server_token "$work/server.log" relay)

# One keep-alive connection; `callgrind_control -z` zeroes the counts after the warm-up and `-d`
# writes them out after the counted requests (callgrind.out.1 for healthz, .2 for stamp).
python3 - "$port" "$relay" "$N" "$server_pid" <<'EOF'
import http.client, json, subprocess, sys, time
port, relay, n, pid = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
body = json.dumps({"suite": 2, "commitment": "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc",
                   "context": {"network": "dev", "sender": "a", "recipients": ["b"],
                               "timestamp_ms": int(time.time() * 1000), "message_id": "m"}},
                  separators=(",", ":"))
conn = http.client.HTTPConnection("127.0.0.1", port)
def request(what):
    if what == "healthz":
        conn.request("GET", "/healthz")
    else:
        conn.request("POST", "/v1/stamp", body=body,
                     headers={"Content-Type": "application/json", "Authorization": "Bearer " + relay})
    r = conn.getresponse()
    r.read()
    if r.status != 200:
        sys.exit(f"{what}: HTTP {r.status}")
for what in ("healthz", "stamp"):
    for _ in range(50):
        request(what)
    subprocess.run(["callgrind_control", "-z", pid], capture_output=True, check=True)
    for _ in range(n):
        request(what)
    subprocess.run(["callgrind_control", "-d", what, pid], capture_output=True, check=True)
EOF

count() { sed -n 's/^summary: *//p' "$work/callgrind.out.$1"; }
healthz=$(count 1)
stamp=$(count 2)
python3 - "$healthz" "$stamp" "$N" <<'EOF'
import sys
healthz, stamp, n = (int(a) for a in sys.argv[1:])
print(f"GET /healthz    {healthz / n:>9,.0f} instructions per request")
print(f"POST /v1/stamp  {stamp / n:>9,.0f} instructions per request")
print(f"healthz / stamp {100 * healthz / stamp:>9.0f} %")
EOF
