#!/usr/bin/env bash
# Cold release build of the Keras tutorial program as a user builds it: seqnet (this checkout,
# default features; the program is examples/seed_pipeline.rs) against dfdx 0.13 (the same model
# and loop, tools/cold_build/dfdx_tut), each from an empty target folder, in interleaved rounds.
# Prints one line per build: round, program, seconds. Needs the crates in cargo's cache (run
# once online, or `cargo fetch` in each copy); nothing here runs in CI.
#
#   tools/cold_build/run.sh [rounds]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
rounds=${1:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/seqnet_tut/src"
cat > "$work/seqnet_tut/Cargo.toml" <<TOML
[package]
name = "seqnet_tut"
version = "0.1.0"
edition = "2021"
[dependencies]
seqnet = { path = "$root" }
[workspace]
TOML
cp "$root/examples/seed_pipeline.rs" "$work/seqnet_tut/src/main.rs"
cp -r "$root/tools/cold_build/dfdx_tut" "$work/"
for p in seqnet_tut dfdx_tut; do (cd "$work/$p" && cargo fetch -q); done
for round in $(seq "$rounds"); do
  for p in seqnet_tut dfdx_tut; do
    cd "$work/$p"
    rm -rf target
    start=$(date +%s.%N)
    cargo build -q --release --offline
    echo "$round $p $(echo "$(date +%s.%N) - $start" | bc)"
  done
done
