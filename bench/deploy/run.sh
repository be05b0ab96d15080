#!/usr/bin/env bash
# Deploy benchmark: blue-green switch time, warm rollback time, requests dropped during deploys and
# rollbacks at 1,000 requests/s, through the real `slipway` binary, its daemon and proxy, with the
# example service on the process runtime. Prints a table and writes results.json next to this script.
#   ROUNDS=10 RATE=1000 bench/deploy/run.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/slipway/target}
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p slipway
cargo build --release --quiet --manifest-path "$here/Cargo.toml"
SLIPWAY="$CARGO_TARGET_DIR/release/slipway" EXAMPLE="$root/examples/hello" \
  "$CARGO_TARGET_DIR/release/slipway-deploy-bench" "$here/results.json"
