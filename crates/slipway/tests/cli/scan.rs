//! `slipway db`, `slipway scan` and `slipway sbom` as a user runs them: advisories imported from
//! the shared RustSec corpus, reports in every format, the gate's exit codes, ignore files and
//! policies, and bad input.

use std::path::PathBuf;

use crate::support::Project;

pub(crate) fn corpus() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/rustsec-osv/crates")
        .display()
        .to_string()
}

pub(crate) const VULNERABLE_LOCK: &str = "version = 4\n\n[[package]]\nname = \"smallvec\"\nversion = \"1.6.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n";

/// A project with a vulnerable Cargo.lock and the RustSec advisories imported.
fn project() -> Project {
    let project = Project::empty();
    project.write("Cargo.lock", VULNERABLE_LOCK);
    let imported = project.slipway(&["db", "import", &corpus()]).success();
    assert!(
        imported.stdout.starts_with("imported 1193 advisories"),
        "{}",
        imported.stdout
    );
    project
}

#[test]
fn db_status_counts_what_was_imported() {
    let project = project();
    let status = project.slipway(&["db", "status", "--json"]).success();
    let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(status["advisories"], 1193);
    assert_eq!(status["ecosystems"][0]["ecosystem"], "crates.io");
    let missing = project.slipway(&["db", "import", "no-such-dir"]).failure(1);
    assert!(
        missing.stderr.contains("cannot read no-such-dir"),
        "{}",
        missing.stderr
    );
}

#[test]
fn the_gate_sets_the_exit_status() {
    let project = project();
    let table = project.slipway(&["scan", "fs", "."]).success();
    assert!(
        table.stdout.contains("RUSTSEC-2021-0003") && table.stdout.contains("Cargo.lock:4"),
        "{}",
        table.stdout
    );
    assert!(table.stdout.contains("gate passed"), "{}", table.stdout);

    let failed = project
        .slipway(&["scan", "fs", ".", "--fail-on", "critical"])
        .failure(1);
    assert!(
        failed
            .stdout
            .contains("gate failed: 1 finding at critical or above"),
        "{}",
        failed.stdout
    );

    let json = project
        .slipway(&["scan", "fs", ".", "--format", "json", "--ignore-unfixed"])
        .success();
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["vulnerabilities"][0]["id"], "RUSTSEC-2021-0003");
    assert_eq!(report["verdict"]["passed"], true);
}

#[test]
fn sarif_and_sboms_are_written_where_asked() {
    let project = project();
    project
        .slipway(&[
            "scan",
            "fs",
            ".",
            "--format",
            "sarif",
            "--output",
            "out.sarif",
        ])
        .success();
    let sarif: serde_json::Value = serde_json::from_str(&project.read("out.sarif")).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(
        sarif["runs"][0]["results"][0]["ruleId"],
        "RUSTSEC-2021-0003"
    );

    let bom = project
        .slipway(&["sbom", ".", "--format", "cyclonedx"])
        .success();
    let bom: serde_json::Value = serde_json::from_str(&bom.stdout).unwrap();
    assert_eq!(bom["components"][0]["purl"], "pkg:cargo/smallvec@1.6.0");
    let spdx = project
        .slipway(&["sbom", ".", "--format", "spdx"])
        .success();
    assert!(spdx.stdout.contains("\"spdxVersion\": \"SPDX-2.3\""));

    let table_to_file = project
        .slipway(&["scan", "fs", ".", "--output", "x.txt"])
        .failure(2);
    assert!(
        table_to_file
            .stderr
            .contains("--output needs a file format"),
        "{}",
        table_to_file.stderr
    );
}

#[test]
fn ignore_files_and_policies_take_part_in_the_gate() {
    let project = project();
    project.write(
        "accepted.toml",
        "[[ignore]]\nid = \"CVE-2021-25900\"\nreason = \"insert_many is never called\"\nexpires = 2999-01-01\n",
    );
    let ignored = project
        .slipway(&[
            "scan",
            "fs",
            ".",
            "--fail-on",
            "critical",
            "--ignore-file",
            "accepted.toml",
        ])
        .success();
    assert!(
        ignored
            .stdout
            .contains("ignored RUSTSEC-2021-0003 in Cargo.lock: insert_many is never called"),
        "{}",
        ignored.stdout
    );

    project.write(
        "expired.toml",
        "[[ignore]]\nid = \"RUSTSEC-2021-0003\"\nreason = \"r\"\nexpires = 2020-01-01\n",
    );
    let expired = project
        .slipway(&[
            "scan",
            "fs",
            ".",
            "--fail-on",
            "critical",
            "--ignore-file",
            "expired.toml",
        ])
        .failure(1);
    assert!(
        expired
            .stderr
            .contains("expired on 2020-01-01: the finding counts again"),
        "{}",
        expired.stderr
    );

    project.write(
        "no-reason.toml",
        "[[ignore]]\nid = \"X\"\nreason = \"\"\nexpires = 2999-01-01\n",
    );
    let bad = project
        .slipway(&["scan", "fs", ".", "--ignore-file", "no-reason.toml"])
        .failure(2);
    assert!(
        bad.stderr
            .contains("no-reason.toml:1:1: the entry for X gives no reason"),
        "{}",
        bad.stderr
    );

    project.write("deny.rego", "package gate\n\ndeny contains msg if {\n  some v in input.vulnerabilities\n  msg := sprintf(\"no %s\", [v.package.name])\n}\n");
    let denied = project
        .slipway(&["scan", "fs", ".", "--policy", "deny.rego"])
        .failure(1);
    assert!(
        denied
            .stdout
            .contains("gate failed: policy deny.rego: no smallvec"),
        "{}",
        denied.stdout
    );

    project.write("broken.rego", "package gate\n\ndeny contains msg if {\n");
    let broken = project
        .slipway(&["scan", "fs", ".", "--policy", "broken.rego"])
        .failure(2);
    assert!(
        broken.stdout.contains("gate error: policy broken.rego:"),
        "{}",
        broken.stdout
    );
    assert!(
        broken.stdout.contains("skipped broken.rego"),
        "{}",
        broken.stdout
    );
}

#[test]
fn secrets_in_files_and_in_history() {
    let project = Project::empty();
    let token = ["gh", "p_", "R8xQ2mZ7vK4pL9wN3tY6bC1dF5gH0jS2aE7u"].concat();
    project.write("app.env", &format!("TOKEN={token}\n"));
    let found = project
        .slipway(&["scan", "secrets", ".", "--fail-on", "high"])
        .failure(1);
    assert!(
        found.stdout.contains("github-pat") && found.stdout.contains("app.env:1"),
        "{}",
        found.stdout
    );
    assert!(
        !found.stdout.contains(&token),
        "the secret itself is never printed"
    );

    project.git(&["init", "-q"]);
    project.commit_all("add a token");
    std::fs::remove_file(project.path().join("app.env")).unwrap();
    project.commit_all("remove it");
    let history = project
        .slipway(&["scan", "secrets", ".", "--git-history", "--format", "json"])
        .success();
    let report: serde_json::Value = serde_json::from_str(&history.stdout).unwrap();
    assert_eq!(report["secrets"][0]["commit"]["author"], "t");
    assert_eq!(report["secrets"][0]["path"], "app.env");
}

#[test]
fn dockerfile_checks_and_bad_input() {
    let project = Project::empty();
    project.write("Dockerfile", "FROM node\nCMD node server.js\n");
    let checked = project.slipway(&["scan", "config", "."]).success();
    assert!(
        checked.stdout.contains("DF010") && checked.stdout.contains("Dockerfile:2"),
        "{}",
        checked.stdout
    );
    let missing = project.slipway(&["scan", "fs", "no-such-dir"]).failure(2);
    assert!(
        missing.stderr.contains("cannot read no-such-dir"),
        "{}",
        missing.stderr
    );
    project.write("rules.toml", "[[rules]]\nid = \"x\"\nregex = '''(oops'''\n");
    let rules = project
        .slipway(&["scan", "secrets", ".", "--secret-rules", "rules.toml"])
        .failure(2);
    assert!(
        rules.stderr.contains("rules.toml:1:1: rule x: regex"),
        "{}",
        rules.stderr
    );
    let not_an_image = project.slipway(&["scan", "image", "Dockerfile"]).failure(2);
    assert!(
        not_an_image.stderr.contains("is not a container image"),
        "{}",
        not_an_image.stderr
    );
}
