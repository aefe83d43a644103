# Shell helpers shared by the scripts that start a report-server of their own (sourced, not run).

# A free loopback TCP port.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_listening LOG PID SECONDS: wait until the server whose output goes to LOG says it listens;
# print LOG and exit 1 if process PID ends first, exit 1 after SECONDS.
wait_listening() {
    local log=$1 pid=$2 deadline=$((SECONDS + $3))
    until grep -q "listening on" "$log" 2>/dev/null; do
        kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
        (( SECONDS < deadline )) || { echo "the server did not start within $3 s" >&2; exit 1; }
        sleep 0.1
    done
}

# server_token LOG ROLE: the bootstrap token of ROLE (admin, relay, service) printed in LOG.
server_token() {
    sed -n "s/^  $2 token: *//p" "$1"
}
