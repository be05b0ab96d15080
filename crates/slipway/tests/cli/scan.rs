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
    assert_eq!(report["verdict"]["outcome"], "passed");
}

#[test]
fn a_scan_with_no_advisories_for_what_it_found_is_not_checked_and_a_gate_fails() {
    let project = Project::empty();
    project.write("Cargo.lock", VULNERABLE_LOCK);
    let status = project.slipway(&["db", "status"]).success();
    assert!(
        status
            .stdout
            .contains("every scan is `not checked` until `slipway db update`"),
        "{}",
        status.stdout
    );

    let gated = project
        .slipway(&["scan", "fs", ".", "--fail-on", "critical"])
        .failure(1);
    assert!(
        gated.stdout.contains(
            "not checked: the advisory database "
        ) && gated.stdout.contains("holds nothing about crates.io, so those packages were not checked: run `slipway db update`"),
        "{}",
        gated.stdout
    );
    assert!(!gated.stdout.contains("gate passed"), "{}", gated.stdout);

    let ungated = project
        .slipway(&["scan", "fs", ".", "--format", "json"])
        .success();
    let report: serde_json::Value = serde_json::from_str(&ungated.stdout).unwrap();
    assert_eq!(report["verdict"]["outcome"], "not_checked");
    assert_eq!(
        report["advisories"]["missing_ecosystems"],
        serde_json::json!(["crates.io"])
    );

    project.slipway(&["db", "import", &corpus()]).success();
    let checked = project.slipway(&["scan", "fs", "."]).success();
    assert!(checked.stdout.contains("gate passed"), "{}", checked.stdout);
}

#[test]
fn an_invalid_scan_policy_is_reported_at_its_key() {
    let project = project();
    project.write("slipway.toml", "[scan]\nmax_advisory_age = \"0s\"\n");
    let invalid = project.slipway(&["scan", "fs", "."]).failure(2);
    assert!(
        invalid.stderr.contains(
            "slipway.toml:2:1: scan.max_advisory_age: max_advisory_age must be longer than zero"
        ),
        "{}",
        invalid.stderr
    );
}

#[test]
fn db_update_downloads_only_over_https() {
    let project = Project::empty();
    let refused = project
        .slipway(&["db", "update", "--source", "http://127.0.0.1:9/osv"])
        .failure(2);
    assert!(
        refused
            .stderr
            .contains("http://127.0.0.1:9/osv is not an https:// URL"),
        "{}",
        refused.stderr
    );
    let unknown = project
        .slipway(&["db", "update", "--ecosystem", "Maven"])
        .failure(2);
    assert!(unknown.stderr.contains("crates.io"), "{}", unknown.stderr);
}
