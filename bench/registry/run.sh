#!/usr/bin/env bash
# Benchmarks Slipway's embedded registry against Debian's docker-registry (the CNCF distribution
# registry): push and pull throughput and latency with concurrent skopeo clients, layers of 1, 10
# and 100 MB, both registries on loopback with their storage on the same disk; the same with
# concurrent HTTP clients in one process (load/); then garbage collection of a store of 10,000
# manifests. Prints Markdown tables (recorded in bench/README.md) and keeps them in results.md next
# to this script (RESULTS=FILE to keep them elsewhere).
#
#   bench/registry/run.sh                       everything
#   CLIENTS=8 HTTP_CLIENTS=16 ROUNDS=3 SIZES_MB="1 10" GC_MANIFESTS=0 bench/registry/run.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)

"$root/scripts/install-registry-test-tools"
if ! command -v docker-registry >/dev/null; then
  sudo_or() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
  sudo_or env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry >/dev/null
fi

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/slipway/target}
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p slipway
cargo build --release --quiet --manifest-path "$root/bench/registry/load/Cargo.toml"
export SLIPWAY_BIN="$CARGO_TARGET_DIR/release/slipway"
export LOAD_BIN="$CARGO_TARGET_DIR/release/slipway-registry-load"

# Everything on stdout goes to the results file too: the figures in bench/README.md come from it.
exec > >(tee "${RESULTS:-$root/bench/registry/results.md}")
echo "## $(date -u +%Y-%m-%d) on $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
echo "slipway $("$SLIPWAY_BIN" --version | cut -d' ' -f2), $(docker-registry --version 2>/dev/null | head -1), $(skopeo --version)"
echo "CLIENTS=${CLIENTS:-4} HTTP_CLIENTS=${HTTP_CLIENTS:-8} ROUNDS=${ROUNDS:-3} SIZES_MB=\"${SIZES_MB:-1 10 100}\" GC_MANIFESTS=${GC_MANIFESTS:-10000}"
echo
python3 "$root/bench/registry/bench.py"
