#!/usr/bin/env bash
# `slipway build` against `docker build` (the Docker CLI, legacy builder, against the same engine),
# in one run:
#   1. a no-change rebuild of examples/hello (every step from the cache);
#   2. a cached rebuild whose context holds 50,000 files, with a .dockerignore that excludes some.
# Both tools build the same Dockerfile with the same build arguments; Slipway also computes its tags
# and labels, inspects the image and records the build. A no-change `slipway build` finds the
# image already built from the same inputs (its fingerprint label) and sends nothing to the
# engine; to time the engine path too, "engine path" adds a build argument the Dockerfile does not
# use, new on every run: it changes the fingerprint (so the LABEL step runs) and nothing else. It
# builds a clone of the project under another project name, so that its images never take the
# tags of the no-change rebuild (which would then no longer find its own image). Its like for
# docker is "docker build, a new label each run": one LABEL step that runs every time. The
# rebuild is also timed for `docker build` making what Slipway makes: the Dockerfile with the same
# LABEL instruction added at its end, and four tags; that tells Slipway's own overhead from the
# engine's cost of the labels.
# The commands run interleaved (../compare.py), so that other work on a shared machine slows them
# alike. Prints min, median and mean of each and writes every time to JSON next to this script.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
runs=${RUNS:-15}

DOCKER_HOST=$("$root/scripts/setup-engine" | tail -n 1)
export DOCKER_HOST
"$root/scripts/base-images" >/dev/null
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/slipway/target}
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p slipway
slipway=$CARGO_TARGET_DIR/release/slipway
echo "== $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); $("$slipway" --version);" \
  "docker CLI $(docker version --format '{{.Client.Version}}'), engine: $(docker version --format '{{.Server.Version}}' 2>/dev/null)"
work=$(mktemp -d "${TMPDIR:-/tmp}/slipway-bench-build.XXXXXX")
# The engine-path runs leave an image behind each (only the LABEL step differs); prune them.
prune_benchmark_images() {
  for project in hello hello-engine big big-engine; do
    docker image prune -f --filter "label=dev.slipway.project=$project" >/dev/null 2>&1 || true
  done
  docker image prune -f --filter label=bench.run >/dev/null 2>&1 || true
}
trap 'rm -rf "$work"; prune_benchmark_images' EXIT
engine_path='--build-arg SLIPWAY_BENCH_RUN=$(date +%s%N)'
new_label='--label bench.run=$(date +%s%N)'

commit_all() {
  git -C "$1" add -A
  git -C "$1" -c user.name=bench -c user.email=bench@example.com commit -q -m bench
}

# A clone of the project in $1 at $1-engine, for the engine-path runs; its project name comes from
# its directory unless slipway.toml names one, which is then renamed too.
engine_clone() {
  git clone -q "$1" "$1-engine"
  sed -i "s/^name = \"\(.*\)\"$/name = \"\1-engine\"/" "$1-engine/slipway.toml"
  commit_all "$1-engine" >/dev/null 2>&1 || true
  (cd "$1-engine" && "$slipway" build -q >/dev/null)
}

# 1. The example service.
cp -r "$root/examples/hello" "$work/hello"
rm -rf "$work/hello/node_modules" "$work/hello/.slipway"
git -C "$work/hello" init -q -b main
commit_all "$work/hello"
engine_clone "$work/hello"
cd "$work/hello"
# Warm both caches (and make sure both work) before measuring.
"$slipway" build -q >/dev/null
docker build -q --build-arg NODE_IMAGE=localhost/slipway/node:20 -t bench/hello:docker . >/dev/null 2>&1
# The same LABEL instruction, read back from the image Slipway built, after a copy of the Dockerfile
# (kept outside the context, which it would otherwise change).
python3 - Dockerfile "$(docker image inspect -f '{{json .Config.Labels}}' "$("$slipway" build -q)")" \
  >"$work/Dockerfile.labelled" <<'PY'
import json, sys
labels = json.loads(sys.argv[2])
sys.stdout.write(open(sys.argv[1]).read())
ours = sorted(key for key in labels if key.startswith(("org.opencontainers.image.", "dev.slipway.")))
sys.stdout.write("LABEL " + " ".join(f'"{key}"="{labels[key]}"' for key in ours) + "\n")
PY
docker_build="docker build -q --build-arg NODE_IMAGE=localhost/slipway/node:20"
labelled_tags="-t bench/hello:docker-1 -t bench/hello:docker-2 -t bench/hello:docker-3 -t bench/hello:docker-4"
$docker_build -f "$work/Dockerfile.labelled" $labelled_tags . >/dev/null 2>&1
echo "== no-change rebuild of examples/hello"
"$here/../compare.py" "$runs" 2 "$here/rebuild.json" \
  "slipway build" "$slipway build -q" \
  "docker build" "$docker_build -t bench/hello:docker . 2>/dev/null" \
  "slipway build, engine path" "cd $work/hello-engine && $slipway build -q $engine_path" \
  "docker build, a new label each run" "$docker_build $new_label -t bench/hello:docker-label . 2>/dev/null" \
  "docker build, Slipway's labels and tags" "$docker_build -f $work/Dockerfile.labelled $labelled_tags . 2>/dev/null"

# 2. A context of 50,000 files: 40,000 sent, 10,000 excluded by .dockerignore (a node_modules tree and
# editor backups), in directories of 500 files. The .dockerignore also leaves out Slipway's state
# directory, as the one `slipway init` writes does: its SQLite files change with every build
# recorded, so a context holding them misses the cache at `COPY . /context` every time.
mkdir -p "$work/big"
cd "$work/big"
python3 - <<'PY'
import os
for d in range(80):
    os.makedirs(f"src/pkg{d:03}", exist_ok=True)
    for f in range(500):
        with open(f"src/pkg{d:03}/file{f:03}.txt", "w") as out:
            out.write(f"package {d} file {f}\n" * 4)
for d in range(20):
    os.makedirs(f"node_modules/dep{d:03}", exist_ok=True)
    for f in range(400):
        with open(f"node_modules/dep{d:03}/index{f:03}.js", "w") as out:
            out.write("module.exports = 1;\n")
for f in range(2000):
    with open(f"src/pkg{f % 80:03}/backup{f:04}.txt~", "w") as out:
        out.write("old\n")
PY
printf 'node_modules\n**/*~\n.git\n.slipway\n' >.dockerignore
printf 'FROM localhost/slipway/busybox:latest\nCOPY . /context\nRUN find /context -type f | wc -l\n' >Dockerfile
printf '[services.big]\nversion = "1.0.0"\n' >slipway.toml
git init -q -b main
commit_all "$work/big"
engine_clone "$work/big"
"$slipway" build -q >/dev/null
docker build -q -t bench/big:docker . >/dev/null 2>&1
echo "== cached rebuild with a 50,000-file context"
"$here/../compare.py" "$runs" 1 "$here/context.json" \
  "slipway build (50,000-file context)" "$slipway build -q" \
  "docker build (50,000-file context)" "docker build -q -t bench/big:docker . 2>/dev/null" \
  "slipway build, engine path (50,000-file context)" "cd $work/big-engine && $slipway build -q $engine_path" \
  "docker build, a new label each run (50,000-file context)" "docker build -q $new_label -t bench/big:docker-label . 2>/dev/null"
