#!/usr/bin/env bash
# Wall time of `slipway up` for examples/hello, cold and warm, with each stage's share, on both paths:
#   container  the engine answers: image build, Redis service container, image scan;
#   process    no engine (DOCKER_HOST points nowhere): bundle in the embedded registry, processes.
# cold: a fresh copy with its own state directory and daemon, and a package.json nobody built
#       before (so the image's layers from `COPY package*.json` on miss the engine's cache; the base
#       images stay, as on a CI machine that has them);
# warm: `slipway up` again on the same commit (cached build, the release already serving).
# ROUNDS (default 3) of each; prints a table and writes results.json next to this script.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
rounds=${ROUNDS:-3}

DOCKER_HOST=$("$root/scripts/setup-engine" | tail -n 1)
export DOCKER_HOST
"$root/scripts/base-images" >/dev/null
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/slipway/target}
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p slipway
slipway=$CARGO_TARGET_DIR/release/slipway
work=$(mktemp -d "${TMPDIR:-/tmp}/slipway-bench-up.XXXXXX")
export SLIPWAY_PROXY_LISTEN=127.0.0.1:0

cleanup() {
  for project in "$work"/*/; do
    (cd "$project" && "$slipway" stop staging >/dev/null 2>&1; "$slipway" daemon stop >/dev/null 2>&1) || true
    podman images --filter "label=dev.slipway.project=$(basename "$project")" -q 2>/dev/null |
      xargs -r podman rmi -f >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# One `slipway up --json`: prints "wall_milliseconds<TAB>summary-json".
up() {
  local start end
  start=$(date +%s%N)
  "$slipway" up --json "$@" 2>/dev/null >"$work/last.json" || { echo "slipway up failed in $PWD" >&2; "$slipway" up 2>&1 | tail -30 >&2; exit 1; }
  end=$(date +%s%N)
  printf '%s\t%s\n' "$(((end - start) / 1000000))" "$(tr -d '\n' <"$work/last.json")"
}

results=$work/results.tsv
: >"$results"
for path in container process; do
  for round in $(seq 1 "$rounds"); do
    name=bench-$path-$round-$$
    project=$work/$name
    mkdir -p "$project"
    (cd "$root/examples/hello" && tar --exclude=node_modules --exclude=.slipway -cf - .) | tar -C "$project" -xf -
    cd "$project"
    sed -i "s/^name = \"hello\"/name = \"$name\"/" slipway.toml
    sed -i "s/\"description\": \"/\"description\": \"$name: /" package.json
    printf '.slipway/\nnode_modules/\n' >.gitignore
    git init -q -b main && git add -A && git -c user.name=b -c user.email=b@example.com commit -q -m bench
    if [ "$path" = process ]; then export DOCKER_HOST_SAVED=$DOCKER_HOST DOCKER_HOST=unix:///nonexistent/bench.sock; fi
    printf '%s\tcold\t%s\n' "$path" "$(up)" >>"$results"
    printf '%s\twarm\t%s\n' "$path" "$(up)" >>"$results"
    if [ "$path" = process ]; then export DOCKER_HOST=$DOCKER_HOST_SAVED; fi
    "$slipway" stop staging >/dev/null 2>&1 || true
    "$slipway" daemon stop >/dev/null 2>&1 || true
    echo "$path round $round done" >&2
  done
done

python3 - "$results" "$here/results.json" <<'PY'
import json, statistics, sys
rows = [line.rstrip("\n").split("\t", 3) for line in open(sys.argv[1])]
out = {}
for path, kind, wall, summary in rows:
    summary = json.loads(summary)
    entry = out.setdefault(f"{path}/{kind}", {"walls": [], "stages": {}})
    entry["walls"].append(int(wall) / 1000)
    for stage in summary["stages"]:
        if stage["conclusion"] == "skipped":
            continue
        entry["stages"].setdefault(stage["name"], []).append(stage["duration_ms"] / 1000)
print("| path / run | wall (median) | stages: median seconds and share of the wall time | slowest stage |")
print("|---|---|---|---|")
for key, entry in out.items():
    wall = statistics.median(entry["walls"])
    stages = {name: statistics.median(times) for name, times in entry["stages"].items()}
    slowest = max(stages, key=stages.get)
    cells = ", ".join(f"{name} {t:.2f} s ({100 * t / wall:.0f}%)" for name, t in stages.items())
    print(f"| {key} | {wall:.2f} s | {cells} | {slowest} |")
    entry["median_wall"] = wall
    entry["median_stages"] = stages
    entry["slowest"] = slowest
json.dump(out, open(sys.argv[2], "w"), indent=2)
PY
