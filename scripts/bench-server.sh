#!/usr/bin/env bash
# One command for the report server's throughput table (docs/performance.md, "Report server"):
# builds release binaries, starts a PostgreSQL-backed report-server on a fresh database, measures
# pgbench's one-row-insert transaction rate at each client count, then runs the load generator
# (report-server/examples/load.rs) at the same counts and prints the ratios.
#
#   scripts/bench-server.sh [--svg DIR]
#
# Environment (all optional):
#   BENCH_PG        PostgreSQL server URL without a database (default postgres://postgres@127.0.0.1:5432)
#   BENCH_LEVELS    concurrent connections / pgbench clients (default 1,4,16,32,64)
#   BENCH_REPORTS   distinct reports submitted per level (default 12000: a few seconds of steady
#                   intake after each connection has prepared its statements)
#   BENCH_REQUESTS  healthz and stamp requests per level (default 50000)
#   BENCH_ROUNDS    turns the healthz and stamp runs take at each level (default 5)
#   BENCH_SECONDS   pgbench run time per level (default 5)
#   BENCH_DB_CONNECTIONS  the server's --db-max-connections (default: the server's default)
#
# It creates and drops the databases franking_bench and franking_bench_pgbench on that server,
# and never touches any other.
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/server.sh
source scripts/lib/server.sh
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
LEVELS=${BENCH_LEVELS:-1,4,16,32,64}
REPORTS=${BENCH_REPORTS:-12000}
REQUESTS=${BENCH_REQUESTS:-50000}
ROUNDS=${BENCH_ROUNDS:-5}
SECONDS_PER_LEVEL=${BENCH_SECONDS:-5}
SVG_ARGS=()
if [[ ${1:-} == --svg ]]; then
    SVG_ARGS=(--svg "${2:?--svg needs a directory}")
fi

for tool in psql pgbench; do
    command -v "$tool" >/dev/null || { echo "bench-server: $tool not found (Debian: postgresql-client)" >&2; exit 2; }
done

cargo build --release -p report-server --bins --examples

work=$(mktemp -d)
server_pid=
cleanup() {
    if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS franking_bench" -c "DROP DATABASE IF EXISTS franking_bench_pgbench" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS franking_bench" -c "CREATE DATABASE franking_bench" \
    -c "DROP DATABASE IF EXISTS franking_bench_pgbench" -c "CREATE DATABASE franking_bench_pgbench" >/dev/null
echo "PostgreSQL: synchronous_commit=$(psql "$PG/postgres" -Atc 'SHOW synchronous_commit'), fsync=$(psql "$PG/postgres" -Atc 'SHOW fsync')"

# The baseline: one transaction inserting one row, at each client count.
psql "$PG/franking_bench_pgbench" -qc "CREATE TABLE one_row (id bigserial PRIMARY KEY, v text NOT NULL)"
printf 'BEGIN;\nINSERT INTO one_row (v) VALUES (%s);\nEND;\n' "'x'" > "$work/one_row.sql"
pgbench_rates=()
IFS=, read -ra levels <<< "$LEVELS"
for c in "${levels[@]}"; do
    tps=$(pgbench -n -c "$c" -j "$(( c < 2 ? 1 : 2 ))" -T "$SECONDS_PER_LEVEL" -f "$work/one_row.sql" \
        "$PG/franking_bench_pgbench" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
    echo "pgbench one-row-insert transaction, $c clients: $tps tx/s"
    pgbench_rates+=("$c=$tps")
done
pgbench_arg=$(IFS=,; echo "${pgbench_rates[*]}")

port=$(free_port)
db_args=()
if [[ -n ${BENCH_DB_CONNECTIONS:-} ]]; then db_args=(--db-max-connections "$BENCH_DB_CONNECTIONS"); fi
DATABASE_URL="$PG/franking_bench" target/release/report-server --listen "127.0.0.1:$port" \
    --data-dir "$work" "${db_args[@]}" > "$work/server.log" 2>&1 &
server_pid=$!
wait_listening "$work/server.log" "$server_pid" 10
token() { server_token "$work/server.log" "$1"; }

target/release/examples/load "http://127.0.0.1:$port" "$(token admin)" "$(token relay)" "$(token service)" \
    --network dev --reports "$REPORTS" --requests "$REQUESTS" --rounds "$ROUNDS" --concurrency "$LEVELS" \
    --pgbench "$pgbench_arg" --server-pid "$server_pid" "${SVG_ARGS[@]}"
