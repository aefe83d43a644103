#!/usr/bin/env bash
# A short libFuzzer run of every target in fuzz/ (seeded from docs/vectors), as CI's regression check.
# Long runs and their figures: docs/fuzzing.md. FUZZ_SECONDS sets the time per target (default 15).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-15}"

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  # libFuzzer's instrumentation needs nightly; without it, prove the targets still compile.
  echo "no nightly toolchain: building the fuzz targets on stable instead of running them"
  cargo build --manifest-path fuzz/Cargo.toml --bins --features server
  exit 0
fi
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz

python3 fuzz/seed_corpus.py
# `server`: the report-server targets (intake_multipart, admin_bodies) need the server crate.
cargo +nightly fuzz build -O --features server
for target in $(cargo +nightly fuzz list); do
  mkdir -p "fuzz/corpus/$target"
  echo "-- $target (${seconds}s)"
  log="fuzz/artifacts/$target.log"
  mkdir -p fuzz/artifacts
  if ! cargo +nightly fuzz run -O --features server "$target" "fuzz/corpus/$target" -- \
      -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "fuzz target $target failed (crash input under fuzz/artifacts/$target/)" >&2
    exit 1
  fi
  grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || true
done
