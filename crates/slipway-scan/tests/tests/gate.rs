//! The policy gate: thresholds, `--ignore-unfixed`, ignore files whose entries expire, and Rego
//! policies that deny, warn, or fail to load.

use std::path::Path;

use std::time::Duration;

use slipway_scan::{
    Gate, IgnoreFile, Outcome, Policy, Report, ScanOptions, Scanners, scan_directory,
};
use slipway_vuln::{AdvisoryIndex, Severity};

use crate::support::{RUSTSEC, SECRETS, cargo_lock, github_token, rustsec_corpus, scan, write};

/// A scanned tree with a critical vulnerability (smallvec), an unfixed-looking set of others, a
/// secret and Dockerfile findings.
fn report() -> Report {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "Cargo.lock",
        &cargo_lock(&[("smallvec", "1.6.0"), ("time", "0.1.43")]),
    );
    write(
        dir.path(),
        "app.env",
        &format!("TOKEN={}\n", github_token()),
    );
    write(
        dir.path(),
        "Dockerfile",
        "FROM node:22\nUSER node\nHEALTHCHECK NONE\nCMD [\"node\"]\n",
    );
    scan(dir.path())
}

/// The day the gate is applied on; before the index was filled, so its age never counts.
fn today() -> jiff::Zoned {
    "2025-06-01T12:00:00[UTC]".parse().unwrap()
}

#[test]
fn the_threshold_counts_findings_at_or_above_it() {
    let mut critical = report();
    let verdict = Gate {
        fail_on: Some(Severity::Critical),
        ..Gate::default()
    }
    .apply(&mut critical, &today());
    assert!(!verdict.passed());
    assert_eq!(
        verdict.reasons,
        ["1 finding at critical or above (--fail-on critical): 1 vulnerability"]
    );

    let mut low = report();
    let verdict = Gate {
        fail_on: Some(Severity::Low),
        ..Gate::default()
    }
    .apply(&mut low, &today());
    assert!(
        verdict.reasons[0].contains("1 secret, 1 misconfiguration"),
        "{:?}",
        verdict.reasons
    );
    assert_eq!(
        low.verdict.as_ref(),
        Some(&verdict),
        "the verdict is recorded in the report"
    );

    let mut none = report();
    assert!(
        Gate::default().apply(&mut none, &today()).passed(),
        "no threshold, no policy: nothing fails"
    );
}

#[test]
fn ignore_entries_apply_until_they_expire_and_then_say_so() {
    let file = IgnoreFile::parse(
        Path::new(".slipwayignore.toml"),
        r#"
[[ignore]]
id = "CVE-2021-25900"        # smallvec's advisory, by its alias
reason = "we never call insert_many"
expires = 2025-12-31
package = "smallvec"

[[ignore]]
id = "github-pat"
reason = "a revoked token kept for a test"
expires = "2025-01-31"
path = "app.env"
"#,
    )
    .unwrap();
    let gate = Gate {
        fail_on: Some(Severity::High),
        ignore_file: Some(file),
        ..Gate::default()
    };
    let mut report = report();

    let verdict = gate.apply(&mut report, &today());

    assert!(
        report
            .vulnerabilities
            .iter()
            .all(|v| v.id != "RUSTSEC-2021-0003")
    );
    assert_eq!(report.ignored.len(), 1);
    assert_eq!(report.ignored[0].reason, "we never call insert_many");
    assert_eq!(
        report.secrets.len(),
        1,
        "the expired entry no longer hides the secret"
    );
    assert_eq!(verdict.warnings.len(), 1);
    assert!(
        verdict.warnings[0].contains("expired on 2025-01-31"),
        "{:?}",
        verdict.warnings
    );
    assert!(
        verdict.warnings[0].contains(".slipwayignore.toml:8"),
        "{:?}",
        verdict.warnings
    );
    assert!(!verdict.passed(), "the secret is high");
}

#[test]
fn ignore_files_refuse_entries_without_a_reason_or_a_date() {
    let error = |text: &str| {
        IgnoreFile::parse(Path::new("ignore.toml"), text)
            .unwrap_err()
            .to_string()
    };
    assert!(
        error("[[ignore]]\nid = \"X\"\nreason = \"\"\nexpires = 2025-01-01\n")
            .contains("gives no reason")
    );
    assert!(
        error("[[ignore]]\nid = \"X\"\nreason = \"r\"\nexpires = \"soon\"\n")
            .contains("not a date")
    );
    assert!(error("[[ignore]]\nid = \"X\"\nreason = \"r\"\n").contains("missing field `expires`"));
    let typo =
        error("[[ignore]]\nid = \"X\"\nreason = \"r\"\nexpires = 2025-01-01\npackages = \"a\"\n");
    assert!(
        typo.starts_with("ignore.toml:5:1: unknown field `packages`"),
        "{typo}"
    );
}

#[test]
fn ignore_unfixed_sets_aside_what_has_no_fix() {
    let mut report = report();
    for vulnerability in &mut report.vulnerabilities {
        if vulnerability.package.name == "time" {
            vulnerability.fixed_versions.clear();
        }
    }
    let before = report.vulnerabilities.len();
    Gate {
        ignore_unfixed: true,
        ..Gate::default()
    }
    .apply(&mut report, &today());
    assert!(
        report
            .vulnerabilities
            .iter()
            .all(|v| !v.fixed_versions.is_empty())
    );
    assert_eq!(report.ignored.len(), before - report.vulnerabilities.len());
    assert!(
        report
            .ignored
            .iter()
            .all(|ignored| ignored.reason.contains("--ignore-unfixed"))
    );
}

#[test]
fn rego_policies_deny_and_warn_over_the_report() {
    let v1 = Policy::parse(
        Path::new("policies/images.rego"),
        r#"package slipway.images

deny contains msg if {
    some v in input.vulnerabilities
    v.severity == "critical"
    count(v.fixed_versions) > 0
    msg := sprintf("%s in %s has a fix: upgrade to %s", [v.id, v.package.name, v.fixed_versions[count(v.fixed_versions) - 1]])
}

warn contains {"msg": "a secret was found"} if {
    count(input.secrets) > 0
}
"#,
    )
    .unwrap();
    let v0 = Policy::parse(
        Path::new("policies/legacy.rego"),
        "package legacy\n\ndeny[msg] {\n  input.misconfigurations[_].rule_id == \"DF003\"\n  msg := \"pin base images\"\n}\n",
    )
    .unwrap();
    let mut report = report();

    let verdict = Gate {
        policies: vec![v1, v0],
        ..Gate::default()
    }
    .apply(&mut report, &today());

    assert_eq!(
        verdict.reasons,
        [
            "policy policies/images.rego: RUSTSEC-2021-0003 in smallvec has a fix: upgrade to 1.6.1",
            "policy policies/legacy.rego: pin base images",
        ]
    );
    assert_eq!(
        verdict.warnings,
        ["policy policies/images.rego: a secret was found"]
    );
}

#[test]
fn a_broken_policy_is_an_error_of_the_gate_and_is_listed_as_skipped() {
    let broken = Policy::parse(
        Path::new("bad.rego"),
        "package x\n\ndeny contains msg if {\n  msg := \n}\n",
    )
    .unwrap_err();
    assert!(broken.to_string().starts_with("bad.rego: "), "{broken}");
    assert!(
        broken.to_string().contains("bad.rego:4"),
        "regorus names the line: {broken}"
    );
    let mut report = report();

    let verdict = Gate {
        broken_policies: vec![broken],
        ..Gate::default()
    }
    .apply(&mut report, &today());

    assert!(!verdict.passed());
    assert!(verdict.reasons.is_empty());
    assert_eq!(verdict.errors.len(), 1);
    assert_eq!(report.skipped.last().unwrap().path, "bad.rego");
}

/// A tree with a crate no advisory covers and an npm package, scanned against `advisories`.
fn crates_and_npm(advisories: &AdvisoryIndex) -> Report {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "Cargo.lock",
        &cargo_lock(&[("smallvec", "1.13.2")]),
    );
    write(
        dir.path(),
        "web/package-lock.json",
        r#"{"name": "web", "lockfileVersion": 3, "packages": {"": {"name": "web"}, "node_modules/left-pad": {"version": "1.3.0"}}}"#,
    );
    let options = ScanOptions {
        scanners: Scanners::ALL,
        secrets: &SECRETS,
        respect_ignore_files: true,
    };
    scan_directory(dir.path(), &options, Some(advisories)).unwrap()
}

#[test]
fn packages_of_an_ecosystem_the_advisories_know_nothing_about_are_not_checked() {
    let mut report = crates_and_npm(&RUSTSEC.1);
    let coverage = report.advisories.clone().unwrap();
    assert_eq!(coverage.missing_ecosystems, ["npm"]);
    let verdict = Gate {
        fail_on: Some(Severity::Critical),
        ..Gate::default()
    }
    .apply(&mut report, &today());
    assert_eq!(verdict.outcome, Outcome::NotChecked);
    assert!(!verdict.passed());
    assert!(verdict.reasons.is_empty(), "{:?}", verdict.reasons);
    assert_eq!(verdict.not_checked.len(), 1, "{:?}", verdict.not_checked);
    assert!(
        verdict.not_checked[0].contains("holds nothing about npm")
            && verdict.not_checked[0].contains("run `slipway db update`"),
        "{:?}",
        verdict.not_checked
    );
    assert_eq!(verdict.judged_with.fail_on, Some(Severity::Critical));
}

#[test]
fn an_empty_advisory_database_checks_nothing_and_a_finding_still_fails() {
    let state = tempfile::tempdir().unwrap();
    let empty = AdvisoryIndex::open(state.path()).unwrap();
    let mut report = crates_and_npm(&empty);
    assert_eq!(
        report.advisories.as_ref().unwrap().missing_ecosystems,
        ["crates.io", "npm"]
    );
    let verdict = Gate::default().apply(&mut report, &today());
    assert_eq!(
        verdict.outcome,
        Outcome::NotChecked,
        "no threshold, still not a pass"
    );

    // A failure outranks `not checked`: what was found over the threshold is reported.
    let mut failing = crates_and_npm(&empty);
    failing.vulnerabilities = report_with_critical().vulnerabilities;
    let verdict = Gate {
        fail_on: Some(Severity::Critical),
        ..Gate::default()
    }
    .apply(&mut failing, &today());
    assert_eq!(verdict.outcome, Outcome::Failed);
    assert_eq!(verdict.not_checked.len(), 1);
}

fn report_with_critical() -> Report {
    let mut critical = report();
    Gate::default().apply(&mut critical, &today());
    assert!(!critical.vulnerabilities.is_empty());
    critical
}

#[test]
fn advisories_older_than_the_gate_allows_are_not_checked() {
    let state = tempfile::tempdir().unwrap();
    let index = AdvisoryIndex::open(state.path()).unwrap();
    index.import(&rustsec_corpus(), &mut |_| {}).unwrap();
    let updated_at = index.updated_at().unwrap().unwrap();
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "Cargo.lock",
        &cargo_lock(&[("smallvec", "1.13.2")]),
    );
    let options = ScanOptions {
        scanners: Scanners::ALL,
        secrets: &SECRETS,
        respect_ignore_files: true,
    };
    let gate = Gate {
        fail_on: Some(Severity::High),
        max_advisory_age: Duration::from_secs(24 * 3600),
        ..Gate::default()
    };
    let at = |hours: i64| {
        updated_at
            .checked_add(jiff::SignedDuration::from_hours(hours))
            .unwrap()
            .to_zoned(jiff::tz::TimeZone::UTC)
    };

    let mut fresh = scan_directory(dir.path(), &options, Some(&index)).unwrap();
    assert_eq!(gate.apply(&mut fresh, &at(23)).outcome, Outcome::Passed);

    let mut stale = scan_directory(dir.path(), &options, Some(&index)).unwrap();
    let verdict = gate.apply(&mut stale, &at(49));
    assert_eq!(verdict.outcome, Outcome::NotChecked);
    assert!(
        verdict.not_checked[0].contains("was last updated 2days 1h ago, more than the 1day")
            && verdict.not_checked[0].contains("run `slipway db update`"),
        "{:?}",
        verdict.not_checked
    );
    assert_eq!(verdict.judged_with.max_advisory_age_s, 24 * 3600);
}
