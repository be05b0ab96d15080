//! [`Report`]: everything one scan found, in the shape `--format json` prints and the store
//! keeps.
//!
//! Three kinds of finding share a [`Severity`] scale: [`Vulnerability`] (a package version an
//! advisory covers), [`SecretFinding`] (a credential in a file or a commit, always redacted) and
//! [`Misconfiguration`] (a Dockerfile check). What could not be scanned is listed in
//! [`Report::skipped`] with the file and position, so a report never looks cleaner than the
//! scan was. The policy gate fills in [`Report::verdict`] and moves what an ignore file covers
//! to [`Report::ignored`].

use serde::Serialize;
use slipway_inventory::{OsReleaseInfo, Package};
use slipway_vuln::Severity;

pub use slipway_secrets::Finding as SecretFinding;

/// The version of the report's JSON shape; it changes when a field changes meaning. Version 2:
/// the verdict's `passed` became `outcome` (passed, failed, not checked), with `judged_with` and
/// `not_checked`, and the report says what the advisories covered.
pub const REPORT_VERSION: u32 = 2;

/// What one scan found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub report_version: u32,
    /// `slipway` and its version.
    pub tool: String,
    pub target: Target,
    pub scanned_at: jiff::Timestamp,
    pub duration_ms: u64,
    /// The scanners that ran.
    pub scanners: Scanners,
    /// The operating system found, for an image or a root file system.
    pub os: Option<OsReleaseInfo>,
    /// Every package found, vulnerable or not (the SBOM's components).
    pub packages: Vec<Package>,
    pub vulnerabilities: Vec<Vulnerability>,
    pub secrets: Vec<SecretFinding>,
    pub misconfigurations: Vec<Misconfiguration>,
    /// What could not be scanned, and why.
    pub skipped: Vec<Skipped>,
    /// Findings an ignore file covers, with its reason.
    pub ignored: Vec<Ignored>,
    /// What the advisory database could vouch for, when the vulnerability scanner ran over
    /// packages.
    pub advisories: Option<AdvisoryCoverage>,
    /// The policy gate's decision, once it ran.
    pub verdict: Option<Verdict>,
}

/// What the advisory database knew when the packages were checked against it: a scan is only
/// as good as its advisories, and the gate reads this to say `not checked` rather than passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdvisoryCoverage {
    /// The database file.
    pub database: String,
    /// When it was last filled or checked (`slipway db update`, `db import`); `None` when never.
    pub updated_at: Option<jiff::Timestamp>,
    /// Ecosystems the target's packages come from that it holds no advisory about (`Debian:12`,
    /// `npm`), sorted: their packages were not checked at all.
    pub missing_ecosystems: Vec<String>,
}

/// What was scanned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    pub kind: TargetKind,
    /// The directory, archive or image reference, as given.
    pub name: String,
    /// For an image: its identity.
    pub image: Option<ImageIdentity>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// A directory.
    Filesystem,
    /// A container image.
    Image,
    /// A git repository's history.
    Repository,
}

/// The identity of a scanned image, for the store and for deploy's checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageIdentity {
    /// The image id: the digest of its config (`sha256:...`).
    pub id: String,
    /// The manifest digest, when the image came with a manifest (OCI layout, registry).
    pub manifest_digest: Option<String>,
    /// Tags the image carried.
    pub tags: Vec<String>,
    pub os: Option<String>,
    pub architecture: Option<String>,
    /// Layers applied.
    pub layers: usize,
}

impl ImageIdentity {
    /// The digest deploys and the store name the image by: the manifest digest when there is
    /// one, else the image id.
    pub fn digest(&self) -> &str {
        self.manifest_digest.as_deref().unwrap_or(&self.id)
    }
}

/// Which scanners run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Scanners {
    pub vulnerabilities: bool,
    pub secrets: bool,
    pub config: bool,
}

impl Scanners {
    pub const ALL: Scanners = Scanners {
        vulnerabilities: true,
        secrets: true,
        config: true,
    };
    pub const NONE: Scanners = Scanners {
        vulnerabilities: false,
        secrets: false,
        config: false,
    };
}

/// A package version an advisory covers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Vulnerability {
    /// The advisory id (`RUSTSEC-2021-0003`, `GHSA-...`, `DSA-...`).
    pub id: String,
    /// Other ids of the same vulnerability, CVE ids among them.
    pub aliases: Vec<String>,
    pub summary: String,
    pub severity: Severity,
    pub cvss_score: Option<f64>,
    pub cvss_vector: Option<String>,
    /// Versions that fix it; empty when no fix is known.
    pub fixed_versions: Vec<String>,
    pub references: Vec<String>,
    pub package: AffectedPackage,
}

/// The package a vulnerability is in, and where it is declared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AffectedPackage {
    pub name: String,
    pub version: String,
    pub ecosystem: String,
    pub purl: String,
    /// The lockfile or package database listing it.
    pub path: String,
    pub line: Option<usize>,
}

/// A Dockerfile check that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Misconfiguration {
    /// The check's id (`DF001`).
    pub rule_id: String,
    /// The check's one-line title.
    pub title: String,
    pub severity: Severity,
    pub path: String,
    pub line: usize,
    /// What is wrong here, in this file.
    pub message: String,
}

/// Something that could not be scanned: a malformed lockfile, a truncated layer, a record the
/// advisory index could not evaluate, an invalid policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The file (or layer, or policy) concerned.
    pub path: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub reason: String,
}

impl Skipped {
    pub fn new(path: impl Into<String>, reason: impl Into<String>) -> Skipped {
        Skipped {
            path: path.into(),
            line: None,
            column: None,
            reason: reason.into(),
        }
    }
}

/// A finding an ignore file covers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ignored {
    /// The finding's id: advisory id, secret rule id, or Dockerfile check id.
    pub id: String,
    pub path: String,
    /// Why: the ignore entry's reason, or `--ignore-unfixed`.
    pub reason: String,
    /// When the ignore entry stops applying; `None` for `--ignore-unfixed`.
    pub expires: Option<jiff::civil::Date>,
}

/// The policy gate's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub outcome: Outcome,
    /// The gate it was judged with, as a deploy's `require_scan` compares it with the
    /// environment's policy.
    pub judged_with: Judgement,
    /// Why it failed, one line each: a threshold crossed, a Rego policy's message.
    pub reasons: Vec<String>,
    /// Why the vulnerabilities could not be judged, one line each with the fix: no advisories
    /// for an ecosystem the target holds, or advisories older than the gate allows.
    pub not_checked: Vec<String>,
    /// Policies that could not be evaluated: the gate cannot vouch for what they check.
    pub errors: Vec<String>,
    /// Things a person should know even when it passed: ignore entries that expired, policy
    /// warnings.
    pub warnings: Vec<String>,
}

impl Verdict {
    /// Whether the gate let the change through.
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Passed
    }
}

/// What the gate decided. A failure outranks `not checked`: findings over the threshold fail
/// the gate even when other packages could not be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Passed,
    /// A threshold was crossed, a policy denied, or a policy could not be evaluated.
    Failed,
    /// Nothing over the threshold was found, but the advisories could not vouch for it.
    NotChecked,
}

impl Outcome {
    /// `passed`, `failed` or `not checked`, as summaries print it.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::NotChecked => "not checked",
        }
    }
}

/// The gate a report was judged with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Judgement {
    /// The severity threshold; `None` when no threshold was applied.
    pub fail_on: Option<Severity>,
    /// The oldest the advisory database could be, in seconds.
    pub max_advisory_age_s: u64,
}

/// Findings per severity, across all kinds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub critical: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
    pub unknown: usize,
}

impl Counts {
    fn add(&mut self, severity: Severity) {
        match severity {
            Severity::Critical => self.critical += 1,
            Severity::High => self.high += 1,
            Severity::Medium => self.medium += 1,
            Severity::Low => self.low += 1,
            Severity::Unknown => self.unknown += 1,
        }
    }

    /// How many findings are at `severity` or above.
    pub fn at_least(&self, severity: Severity) -> usize {
        Severity::ALL
            .into_iter()
            .filter(|level| *level >= severity)
            .map(|level| match level {
                Severity::Critical => self.critical,
                Severity::High => self.high,
                Severity::Medium => self.medium,
                Severity::Low => self.low,
                Severity::Unknown => self.unknown,
            })
            .sum()
    }

    pub fn total(&self) -> usize {
        self.at_least(Severity::Unknown)
    }
}

/// The severity of every secret finding: a credential in a repository or an image is exposed to
/// everyone who can read it.
pub const SECRET_SEVERITY: Severity = Severity::High;

impl Report {
    /// An empty report of `target`, started now.
    pub fn new(target: Target, scanners: Scanners) -> Report {
        Report {
            report_version: REPORT_VERSION,
            tool: concat!("slipway ", env!("CARGO_PKG_VERSION")).to_owned(),
            target,
            scanned_at: jiff::Timestamp::now(),
            duration_ms: 0,
            scanners,
            os: None,
            packages: Vec::new(),
            vulnerabilities: Vec::new(),
            secrets: Vec::new(),
            misconfigurations: Vec::new(),
            skipped: Vec::new(),
            ignored: Vec::new(),
            advisories: None,
            verdict: None,
        }
    }

    /// Findings per severity.
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for vulnerability in &self.vulnerabilities {
            counts.add(vulnerability.severity);
        }
        for _ in &self.secrets {
            counts.add(SECRET_SEVERITY);
        }
        for misconfiguration in &self.misconfigurations {
            counts.add(misconfiguration.severity);
        }
        counts
    }

    /// Records how long the scan took, from `scanned_at` to now.
    pub(crate) fn finish(&mut self) {
        let elapsed = jiff::Timestamp::now().duration_since(self.scanned_at);
        self.duration_ms = u64::try_from(elapsed.as_millis()).unwrap_or(0);
        self.vulnerabilities.sort_by(|a, b| {
            (b.severity, &a.package.path, &a.package.name, &a.id).cmp(&(
                a.severity,
                &b.package.path,
                &b.package.name,
                &b.id,
            ))
        });
        self.misconfigurations
            .sort_by(|a, b| (&a.path, a.line, &a.rule_id).cmp(&(&b.path, b.line, &b.rule_id)));
        self.skipped
            .sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    }
}
