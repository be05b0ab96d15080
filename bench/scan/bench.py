#!/usr/bin/env python3
"""Scanning benchmarks, in one run (see bench/README.md for the figures).

1. Secrets over a large tree (~/.cargo/registry/src by default): slipway against ripgrep searching
   the same patterns (the built-in rules' regexes), and against detect-secrets, which is too slow to
   run on the whole tree, so it scans a fixed slice of it and the comparison is in MB/s.
2. A 2,000-package package-lock.json matched against 100,000 advisories, after `slipway db import`.
3. A 200 MB image (a `docker save` archive with a Debian package database, a lockfile and thousands
   of source files): vulnerabilities and secrets in one pass.

Usage: bench.py SLIPWAY_BINARY [TREE]
Each timing is the median of several runs after one warm-up run, so files are in the page cache.
"""

import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUILTIN = HERE.parent.parent / "crates/slipway-secrets/src/builtin.rs"
RUNS = int(os.environ.get("RUNS", "5"))


def timed(command, runs=RUNS, **kwargs):
    """Median wall time of `command` over `runs` runs, after one warm-up."""
    subprocess.run(command, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(command, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)
        times.append(time.perf_counter() - started)
        if done.returncode not in (0, 1):
            sys.exit(f"{command[0]} failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    return statistics.median(times)


def tree_size(root):
    """Bytes of the regular, non-symlink files under root."""
    total = 0
    for directory, _, files in os.walk(root):
        for name in files:
            path = os.path.join(directory, name)
            if os.path.isfile(path) and not os.path.islink(path):
                total += os.path.getsize(path)
    return total


def builtin_patterns():
    """The built-in rules' regexes, read from the rule table, as ripgrep patterns."""
    text = BUILTIN.read_text()
    patterns = re.findall(r'regex: r#?"(.*?)"#?,\n', text)
    assert len(patterns) >= 30, f"found only {len(patterns)} patterns in {BUILTIN}"
    # ripgrep searches line by line and refuses a pattern with a literal newline (a PuTTY key
    # file's lines); `[^\n]` is fine.
    return [pattern for pattern in patterns if not re.search(r"(?<!\\)\\n", pattern.replace("[^\\n]", ""))]


def secrets(slipway, tree, work):
    size = tree_size(tree)
    patterns = work / "patterns.txt"
    patterns.write_text("\n".join(builtin_patterns()) + "\n")
    ours = timed([slipway, "scan", "secrets", str(tree), "--no-ignore", "--format", "json", "--output", str(work / "secrets.json"), "-q"])
    findings = len(json.loads((work / "secrets.json").read_text())["secrets"])
    # -uu: no ignore files, hidden files included, binary files skipped: what slipway does. Once
    # as ripgrep runs by default (Unicode classes and `\b`), once with --no-unicode, which is how
    # slipway compiles its rules (ASCII classes, as gitleaks' RE2 reads them).
    ripgrep = timed(["rg", "-uu", "--no-messages", "-c", "-f", str(patterns), str(tree)])
    ripgrep_ascii = timed(["rg", "-uu", "--no-unicode", "--no-messages", "-c", "-f", str(patterns), str(tree)])
    # detect-secrets on a slice: whole crates (the tree's second level), about 8 MB of them.
    slice_dir = work / "slice"
    slice_dir.mkdir()
    taken = 0
    crates = sorted(entry for registry in sorted(Path(tree).iterdir()) if registry.is_dir() for entry in registry.iterdir() if entry.is_dir())
    for crate in crates:
        if taken > 8 << 20:
            break
        shutil.copytree(crate, slice_dir / crate.name, symlinks=True)
        taken += tree_size(crate)
    slice_size = tree_size(slice_dir)
    # Run from inside the slice: started in a git repository (as from this one), detect-secrets
    # leaves out every path outside it and scans nothing.
    theirs = timed(["detect-secrets", "scan", "--all-files", "."], runs=1, cwd=slice_dir)
    detected = subprocess.run(["detect-secrets", "scan", "--all-files", "."], check=True, capture_output=True, text=True, cwd=slice_dir)
    detect_findings = sum(len(items) for items in json.loads(detected.stdout)["results"].values())
    assert detect_findings > 0, "detect-secrets found nothing: it did not scan the slice"
    ours_slice = timed([slipway, "scan", "secrets", str(slice_dir), "--no-ignore", "--format", "json", "--output", "/dev/null", "-q"])
    mb = lambda n: n / (1 << 20)
    return {
        "tree_mb": round(mb(size)),
        "findings": findings,
        "slipway_s": round(ours, 2),
        "slipway_mb_s": round(mb(size) / ours),
        "ripgrep_s": round(ripgrep, 2),
        "ripgrep_mb_s": round(mb(size) / ripgrep),
        "ripgrep_no_unicode_s": round(ripgrep_ascii, 2),
        "ripgrep_no_unicode_mb_s": round(mb(size) / ripgrep_ascii),
        "slice_mb": round(mb(slice_size), 1),
        "detect_secrets_s": round(theirs, 1),
        "detect_secrets_mb_s": round(mb(slice_size) / theirs, 2),
        "detect_secrets_findings": detect_findings,
        "slipway_slice_s": round(ours_slice, 3),
        "slipway_slice_mb_s": round(mb(slice_size) / ours_slice),
    }


def advisories_and_lockfile(slipway, work, count=100_000, packages=2_000):
    """`count` npm advisories over 50,000 package names, and a lockfile of `packages` of them."""
    rng = random.Random(7)
    names = [f"pkg-{n:05d}" for n in range(50_000)]
    records = work / "osv"
    records.mkdir()
    for n in range(count):
        name = names[n % len(names)]
        fixed = f"{rng.randint(1, 5)}.{rng.randint(0, 20)}.{rng.randint(0, 20)}"
        record = {
            "id": f"GHSA-BENCH-{n:06d}",
            "modified": "2025-01-01T00:00:00Z",
            "summary": f"benchmark advisory {n}",
            "database_specific": {"severity": rng.choice(["LOW", "MODERATE", "HIGH", "CRITICAL"])},
            "affected": [{
                "package": {"ecosystem": "npm", "name": name},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
            }],
        }
        (records / f"{record['id']}.json").write_text(json.dumps(record))
    project = work / "project"
    project.mkdir()
    chosen = rng.sample(names, packages)
    lock = {
        "name": "bench",
        "lockfileVersion": 3,
        "packages": {"": {"name": "bench"}}
        | {f"node_modules/{name}": {"version": f"{rng.randint(1, 5)}.{rng.randint(0, 20)}.{rng.randint(0, 20)}"} for name in chosen},
    }
    (project / "package-lock.json").write_text(json.dumps(lock, indent=2))
    state = work / "state"
    env = dict(os.environ, SLIPWAY_HOME=str(state))
    started = time.perf_counter()
    subprocess.run([slipway, "db", "import", str(records), "-q"], check=True, env=env, stdout=subprocess.DEVNULL)
    imported = time.perf_counter() - started
    scan = [slipway, "scan", "fs", str(project), "--scanner", "vuln", "--format", "json", "--output", str(work / "vulns.json"), "-q"]
    matched = timed(scan, env=env)
    vulnerabilities = len(json.loads((work / "vulns.json").read_text())["vulnerabilities"])
    return {
        "advisories": count,
        "packages": packages,
        "import_s": round(imported, 1),
        "scan_ms": round(matched * 1000),
        "vulnerabilities": vulnerabilities,
    }


def image(slipway, work, megabytes=200):
    """A `docker save` archive of about `megabytes`: OS packages, a lockfile, source files."""
    rng = random.Random(11)
    words = "let const fn return if else for while match struct impl pub use mod self super crate value key token".split()
    layers = []
    status = "".join(
        f"Package: lib{n}\nStatus: install ok installed\nArchitecture: amd64\nSource: src{n}\nVersion: 1.{n}-1\n\n" for n in range(400)
    )
    base = {"etc/os-release": 'ID=debian\nVERSION_ID="12"\n', "var/lib/dpkg/status": status}
    lock = {"lockfileVersion": 3, "packages": {f"node_modules/pkg-{n:05d}": {"version": "1.0.0"} for n in range(1000)}}
    app = {"app/package-lock.json": json.dumps(lock, indent=2)}
    total = 0
    source_layers = [dict(base), dict(app), {}]
    n = 0
    while total < megabytes << 20:
        lines = "\n".join(" ".join(rng.choice(words) for _ in range(12)) for _ in range(rng.randint(50, 400)))
        source_layers[n % 3][f"src/{n // 1000}/file{n}.rs"] = lines
        total += len(lines)
        n += 1
    for index, files in enumerate(source_layers):
        path = work / f"layer{index}.tar"
        with tarfile.open(path, "w") as tar:
            for name, text in files.items():
                data = text.encode()
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, fileobj=__import__("io").BytesIO(data))
        layers.append(path)
    config = work / "config.json"
    config.write_text(json.dumps({"architecture": "amd64", "os": "linux", "config": {"User": "1000"}}))
    manifest = work / "manifest.json"
    manifest.write_text(json.dumps([{"Config": "config.json", "RepoTags": ["bench:1"], "Layers": [f"layer{i}/layer.tar" for i in range(3)]}]))
    archive = work / "image.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(config, "config.json")
        for index, layer in enumerate(layers):
            tar.add(layer, f"layer{index}/layer.tar")
        tar.add(manifest, "manifest.json")
    size = archive.stat().st_size
    env = dict(os.environ, SLIPWAY_HOME=str(work / "state"))
    scanned = timed([slipway, "scan", "image", str(archive), "--no-record", "--format", "json", "--output", str(work / "image.json"), "-q"], env=env)
    report = json.loads((work / "image.json").read_text())
    return {
        "archive_mb": round(size / (1 << 20)),
        "files": n + 3,
        "packages": len(report["packages"]),
        "scan_s": round(scanned, 2),
    }


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    slipway = sys.argv[1]
    tree = Path(sys.argv[2] if len(sys.argv) > 2 else os.path.expanduser("~/.cargo/registry/src"))
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        # PARTS (default all three) runs some of them: PARTS=secrets after a change to the rules.
        parts = os.environ.get("PARTS", "secrets,lockfile,image").split(",")
        runners = {
            "secrets": lambda: secrets(slipway, tree, work),
            "lockfile": lambda: advisories_and_lockfile(slipway, work),
            "image": lambda: image(slipway, work),
        }
        results = {part: runners[part]() for part in parts}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
