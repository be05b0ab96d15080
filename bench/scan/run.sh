#!/usr/bin/env bash
# Scanning benchmarks: secrets (vs ripgrep and detect-secrets), a lockfile against 100,000
# advisories, a 200 MB image. Builds slipway in release mode, then runs bench.py, which prints the
# figures as JSON (recorded in bench/README.md).
# Needs: ripgrep (apt-get install ripgrep), detect-secrets (pip install detect-secrets), python3.
# TREE (default ~/.cargo/registry/src) is the tree the secret scanners read; RUNS (default 5)
# how many timed runs each median is of; PARTS (default secrets,lockfile,image) which parts run,
# and when it is set the figures go to results-PARTS.json instead.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
command -v rg >/dev/null || { echo "ripgrep is missing: apt-get install ripgrep" >&2; exit 1; }
command -v detect-secrets >/dev/null || { echo "detect-secrets is missing: pip install detect-secrets" >&2; exit 1; }
(cd "$root" && cargo build --release -p slipway --quiet)
python3 "$root/bench/scan/bench.py" "$target/release/slipway" "${TREE:-$HOME/.cargo/registry/src}" | tee "$root/bench/scan/results${PARTS:+-${PARTS//,/-}}.json"
