//! Scanning a directory: every scanner together, real advisories, positions, and what a
//! malformed file does to the rest of the scan (nothing).

use slipway_scan::{ScanOptions, Scanners, TargetKind, scan_directory, scan_history};
use slipway_vuln::{AdvisoryIndex, Severity};

use crate::support::{RUSTSEC, SECRETS, cargo_lock, github_token, scan, write};

#[test]
fn one_scan_finds_vulnerable_crates_secrets_and_dockerfile_problems() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "service/Cargo.lock",
        &cargo_lock(&[
            ("smallvec", "1.6.0"),
            ("serde", "1.0.200"),
            ("time", "0.1.43"),
        ]),
    );
    write(
        dir.path(),
        "service/src/config.rs",
        &format!(
            "// deploy\npub const TOKEN: &str = \"{}\";\n",
            github_token()
        ),
    );
    write(
        dir.path(),
        "service/Dockerfile",
        "FROM localhost/slipway/busybox:latest\nCMD node server.js\n",
    );

    let report = scan(dir.path());

    assert_eq!(report.target.kind, TargetKind::Filesystem);
    assert_eq!(report.packages.len(), 3);
    let vulnerable: Vec<(&str, &str, &str, Option<usize>)> = report
        .vulnerabilities
        .iter()
        .map(|v| {
            (
                v.id.as_str(),
                v.package.name.as_str(),
                v.package.path.as_str(),
                v.package.line,
            )
        })
        .collect();
    assert!(
        vulnerable.contains(&(
            "RUSTSEC-2021-0003",
            "smallvec",
            "service/Cargo.lock",
            Some(4)
        )),
        "{vulnerable:?}"
    );
    assert!(
        vulnerable.contains(&("RUSTSEC-2020-0071", "time", "service/Cargo.lock", Some(14))),
        "{vulnerable:?}"
    );
    assert!(
        report
            .vulnerabilities
            .iter()
            .all(|v| v.package.name != "serde")
    );
    assert_eq!(
        report.vulnerabilities[0].severity,
        Severity::Critical,
        "most severe first"
    );

    assert_eq!(report.secrets.len(), 1);
    assert_eq!(
        (report.secrets[0].path.as_str(), report.secrets[0].line),
        ("service/src/config.rs", 2)
    );
    assert!(
        !serde_json::to_string(&report)
            .unwrap()
            .contains(&github_token()),
        "the report must not hold the secret"
    );

    let checks: Vec<(&str, usize)> = report
        .misconfigurations
        .iter()
        .map(|m| (m.rule_id.as_str(), m.line))
        .collect();
    assert_eq!(
        checks,
        [("DF001", 1), ("DF002", 1), ("DF006", 1), ("DF010", 2)]
    );
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
}

#[test]
fn a_malformed_lockfile_is_skipped_with_its_position_and_the_rest_is_scanned() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a/Cargo.lock",
        &cargo_lock(&[("smallvec", "1.6.0")]),
    );
    write(
        dir.path(),
        "b/Cargo.lock",
        "[[package]]\nname = \"x\"\nversion = 1\n",
    );
    write(
        dir.path(),
        "c/package-lock.json",
        "{\"lockfileVersion\": 3, \"packages\": {",
    );
    write(dir.path(), "d/Dockerfile", "FROM\n");

    let report = scan(dir.path());

    assert_eq!(report.vulnerabilities.len(), 1);
    let skipped: Vec<(&str, Option<usize>)> = report
        .skipped
        .iter()
        .map(|s| (s.path.as_str(), s.line))
        .collect();
    assert_eq!(
        skipped,
        [
            ("b/Cargo.lock", Some(3)),
            ("c/package-lock.json", Some(1)),
            ("d/Dockerfile", Some(1))
        ]
    );
    assert!(
        report.skipped[2]
            .reason
            .starts_with("the Dockerfile does not parse"),
        "{:?}",
        report.skipped
    );
    assert!(
        report.skipped[1].reason.contains("EOF while parsing"),
        "{:?}",
        report.skipped
    );
}

#[test]
fn without_advisories_packages_are_listed_and_the_gap_is_said() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "Cargo.lock",
        &cargo_lock(&[("smallvec", "1.6.0")]),
    );
    let state = tempfile::tempdir().unwrap();
    let empty = AdvisoryIndex::open(state.path()).unwrap();
    let options = ScanOptions {
        scanners: Scanners::ALL,
        secrets: &SECRETS,
        respect_ignore_files: true,
    };

    let report = scan_directory(dir.path(), &options, Some(&empty)).unwrap();

    assert_eq!(report.packages.len(), 1);
    assert!(report.vulnerabilities.is_empty());
    assert!(
        report.skipped[0]
            .reason
            .contains("holds nothing about crates.io, so their packages were not checked: run `slipway db update`"),
        "{:?}",
        report.skipped
    );
    let coverage = report.advisories.unwrap();
    assert_eq!(coverage.missing_ecosystems, ["crates.io"]);
    assert_eq!(coverage.updated_at, None);
}

#[test]
fn scanners_can_be_chosen() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "Cargo.lock",
        &cargo_lock(&[("smallvec", "1.6.0")]),
    );
    write(dir.path(), "token.txt", &github_token());
    write(dir.path(), "Dockerfile", "FROM scratch\n");
    let only_config = ScanOptions {
        scanners: Scanners {
            config: true,
            ..Scanners::NONE
        },
        secrets: &SECRETS,
        respect_ignore_files: true,
    };

    let report = scan_directory(dir.path(), &only_config, Some(&RUSTSEC.1)).unwrap();

    assert!(report.packages.is_empty() && report.secrets.is_empty());
    assert!(!report.misconfigurations.is_empty());
    assert!(scan_directory(&dir.path().join("missing"), &only_config, None).is_err());
}

#[test]
fn history_scans_report_the_commit() {
    let dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let status = std::process::Command::new("git")
            .arg("-C")
            .arg(dir.path())
            .args([
                "-c",
                "user.name=Bo",
                "-c",
                "user.email=bo@example.com",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .status()
            .unwrap();
        assert!(status.success());
    };
    git(&["init", "-q"]);
    write(
        dir.path(),
        "app.env",
        &format!("TOKEN={}\n", github_token()),
    );
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "oops"]);
    git(&["rm", "-q", "app.env"]);
    git(&["commit", "-q", "-m", "remove"]);

    let report = scan_history(dir.path(), &SECRETS).unwrap();

    assert_eq!(report.target.kind, TargetKind::Repository);
    assert_eq!(report.secrets.len(), 1);
    assert_eq!(report.secrets[0].commit.as_ref().unwrap().author, "Bo");
}
