#!/usr/bin/env python3
"""Runs the runner corpus (crates/slipway-runner/tests/corpus) through Slipway and act, and
reports where their outcomes differ.

Each case is copied into a scratch git repository exactly as the Rust harness does (its commits,
tag, uncommitted files, origin remote), then run by `slipway run --json` and by
`act --json -P ubuntu-latest=-self-hosted` (act's host mode) with the same event, filters,
inputs, secrets and variables. Compared per job (job id and matrix values): the conclusion
(success, failure, cancelled, skipped); and per case: whether it ran at all (Slipway refuses
invalid workflows before running; act may run them) and the exit status.

Usage: bench/act-compare/compare.py [CASE...]
  SLIPWAY=path/to/slipway (default: target/release/slipway, else target/debug/slipway)
Writes the table to stdout, and to bench/act-compare/results.md with --write.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "crates/slipway-runner/tests/corpus"
HOST_LABELS = ["ubuntu-latest", "ubuntu-22.04", "ubuntu-24.04", "self-hosted", "linux"]


def slipway_binary():
    if os.environ.get("SLIPWAY"):
        return os.environ["SLIPWAY"]
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    for profile in ("release", "debug"):
        candidate = target / profile / "slipway"
        if candidate.exists():
            return str(candidate)
    sys.exit("build slipway first (cargo build --release -p slipway) or set SLIPWAY")


def git(repo, *args):
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com",
         "-c", "commit.gpgsign=false", *args],
        check=True, capture_output=True)


def scratch(name, case):
    """The case's files in a new repository, committed as the Rust harness commits them."""
    repo = Path(tempfile.mkdtemp(prefix=f"compare-{name}-"))
    shutil.copytree(CORPUS / name, repo, dirs_exist_ok=True)
    (repo / "expected.toml").unlink()
    git(repo, "init", "-q", "-b", case.get("branch", "main"))
    git(repo, "remote", "add", "origin", "https://github.com/slipway/corpus.git")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "the case")
    for index, commit in enumerate(case.get("commits", [])):
        for path, text in commit.items():
            (repo / path).parent.mkdir(parents=True, exist_ok=True)
            (repo / path).write_text(text)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"commit {index + 2}")
    if "tag" in case:
        git(repo, "tag", case["tag"])
        git(repo, "checkout", "-q", "--detach", case["tag"])
    for path, text in case.get("uncommitted", {}).items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    return repo


def common_args(name, case, tool):
    """The flags both tools take the same way."""
    args = []
    for job in case.get("jobs", []):
        args += ["-j", job]
    for value in case.get("inputs", []):
        args += ["--input", value]
    for key, value in case.get("secrets", {}).items():
        args += ["-s", f"{key}={value}"]
    for key, value in case.get("vars", {}).items():
        args += ["--var", f"{key}={value}"]
    for matrix in case.get("matrix", []):
        args += ["--matrix", matrix]
    if "eventpath" in case:
        args += ["-e", str(CORPUS / name / case["eventpath"])]
    platforms = dict(case.get("platforms", {}))
    if tool == "act":
        for label in HOST_LABELS:
            target = platforms.pop(label, "host")
            args += ["-P", f"{label}={'-self-hosted' if target == 'host' else target}"]
    for label, target in platforms.items():
        args += ["-P", f"{label}={target}"]
    return args


def run(command, cwd, env, interrupt_after_ms):
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    if interrupt_after_ms:
        time.sleep(interrupt_after_ms / 1000)
        process.send_signal(signal.SIGINT)
    try:
        stdout, stderr = process.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        return 124, stdout, stderr, time.monotonic() - started
    return process.returncode, stdout, stderr, time.monotonic() - started


def matrix_key(matrix):
    return json.dumps(matrix or {}, sort_keys=True)


def slipway_outcome(name, case, repo, state):
    env = dict(os.environ, NO_COLOR="1", SLIPWAY_HOME=str(state))
    command = [slipway_binary(), "run", case.get("event", "push"), "--json"]
    command += common_args(name, case, "slipway")
    if case.get("env"):
        (repo / ".compare.env").write_text("".join(f"{k}={v}\n" for k, v in case["env"].items()))
        command += ["--env-file", str(repo / ".compare.env")]
    if case.get("dirty"):
        command.append("--dirty")
    if case.get("parallel"):
        command += ["--parallel", str(case["parallel"])]
    code, stdout, stderr, took = run(command, repo, env, case.get("interrupt_after_ms"))
    jobs = {}
    if code in (0, 1) and stdout.strip():
        for workflow_run in json.loads(stdout):
            for job in workflow_run["jobs"]:
                matrix = json.loads(job["matrix"]) if job["matrix"] else {}
                # act reports a called workflow's jobs by their own id, without the caller's.
                job_id = job["job_id"].rsplit("/", 1)[-1]
                jobs[(job_id, matrix_key(matrix))] = job["conclusion"]
    return code, jobs, took, stderr


def act_outcome(name, case, repo):
    command = ["act", case.get("event", "push"), "--json", "--pull=false"]
    command += common_args(name, case, "act")
    if case.get("env"):
        (repo / ".compare.env").write_text("".join(f"{k}={v}\n" for k, v in case["env"].items()))
        command += ["--env-file", str(repo / ".compare.env")]
    code, stdout, stderr, took = run(command, repo, dict(os.environ), case.get("interrupt_after_ms"))
    jobs = {}
    for line in (stdout + stderr).splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "jobResult" in event:
            job_id = event.get("jobID", "")
            jobs[(job_id, matrix_key(event.get("matrix")))] = event["jobResult"]
    return code, jobs, took, stderr


def compare(name):
    case = tomllib.loads((CORPUS / name / "expected.toml").read_text())
    expect = case.get("expect", {})
    # One repository each: a run may leave worktrees or files behind.
    mine, theirs = scratch(name, case), scratch(name, case)
    state = Path(tempfile.mkdtemp(prefix="compare-state-"))
    try:
        s_code, s_jobs, s_took, _ = slipway_outcome(name, case, mine, state)
        a_code, a_jobs, a_took, _ = act_outcome(name, case, theirs)
    finally:
        for directory in (mine, theirs, state):
            shutil.rmtree(directory, ignore_errors=True)
    differences = []
    if expect.get("plan_errors"):
        if s_code != 2:
            differences.append(f"slipway exited {s_code}, not 2")
        if a_jobs:
            differences.append("act ran jobs Slipway refuses to run: " + ", ".join(f"{k[0]}={v}" for k, v in sorted(a_jobs.items())))
        elif a_code == 0:
            differences.append("act exited 0")
    else:
        for key in sorted(set(s_jobs) | set(a_jobs)):
            mine = s_jobs.get(key, "not run")
            theirs = a_jobs.get(key, "not run")
            if mine == "skipped" and theirs == "not run":
                continue
            if mine != theirs:
                label = key[0] + ("" if key[1] == "{}" else " " + key[1])
                differences.append(f"{label}: slipway {mine}, act {theirs}")
        if (s_code == 0) != (a_code == 0):
            differences.append(f"exit status: slipway {s_code}, act {a_code}")
    return {"case": name, "slipway": s_code, "act": a_code, "slipway_s": s_took, "act_s": a_took,
            "differences": differences}


def main():
    names = [a for a in sys.argv[1:] if not a.startswith("--")] or sorted(
        p.name for p in CORPUS.iterdir() if (p / "expected.toml").exists())
    rows = []
    for name in names:
        row = compare(name)
        rows.append(row)
        status = "same" if not row["differences"] else "DIFFERENT"
        print(f"{name:22} {status:9} slipway exit {row['slipway']} ({row['slipway_s']:.1f}s)  "
              f"act exit {row['act']} ({row['act_s']:.1f}s)", flush=True)
        for difference in row["differences"]:
            print(f"    {difference}", flush=True)
    if "--write" in sys.argv:
        lines = ["| case | slipway | act | differences |", "|---|---|---|---|"]
        for row in rows:
            diff = "<br>".join(row["differences"]) or "same"
            lines.append(f"| {row['case']} | exit {row['slipway']}, {row['slipway_s']:.1f}s | "
                         f"exit {row['act']}, {row['act_s']:.1f}s | {diff} |")
        (Path(__file__).parent / "results.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
