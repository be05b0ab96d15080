//! Scan reports in the state store, and the question deploys ask of it.
//!
//! An image's scan is kept against the digest deploys name it by ([`ImageIdentity::digest`]).
//! [`clearance`] answers "may this image be deployed under this policy?" from the newest scan of
//! a digest: only a scan that passed a gate at least as strict as the environment's
//! [`RequiredGate`] clears it. The verdict and the gate are kept as typed columns, so the answer
//! never depends on reading a message.

use std::time::Duration;

use slipway_store::{
    NewScan, Scan, ScanGate, ScanId, ScanStore, ScanVerdict, SeverityCounts, StoreError,
};
use slipway_vuln::Severity;

use crate::report::{ImageIdentity, Outcome, Report};

/// Records the report of an image scan; `None` for a report of something else (a directory, a
/// repository), which has no digest to keep it against.
///
/// # Errors
///
/// What the store returned.
pub fn record_report(store: &dyn ScanStore, report: &Report) -> Option<Result<ScanId, StoreError>> {
    let image = report.target.image.as_ref()?;
    Some(store.record_scan(&new_scan(image, report)))
}

fn new_scan(image: &ImageIdentity, report: &Report) -> NewScan {
    let counts = report.counts();
    let count = |value: usize| u32::try_from(value).unwrap_or(u32::MAX);
    let verdict = match &report.verdict {
        Some(verdict) if verdict.outcome == Outcome::Failed => ScanVerdict::Failed {
            reasons: verdict
                .reasons
                .iter()
                .chain(&verdict.errors)
                .cloned()
                .collect(),
        },
        Some(verdict) if verdict.outcome == Outcome::NotChecked => ScanVerdict::NotChecked {
            reasons: verdict.not_checked.clone(),
        },
        _ => ScanVerdict::Passed,
    };
    let judged_with = report.verdict.as_ref().map(|verdict| ScanGate {
        fail_on: verdict
            .judged_with
            .fail_on
            .map(|severity| severity.as_str().to_owned()),
        max_advisory_age_s: verdict.judged_with.max_advisory_age_s,
    });
    let digest = image.digest().to_owned();
    NewScan {
        image_id: (image.id != digest).then(|| image.id.clone()),
        digest,
        reference: report.target.name.clone(),
        scanned_at: report.scanned_at,
        verdict,
        judged_with,
        counts: SeverityCounts {
            critical: count(counts.critical),
            high: count(counts.high),
            medium: count(counts.medium),
            low: count(counts.low),
            unknown: count(counts.unknown),
        },
        report: serde_json::to_string(report).unwrap_or_default(),
    }
}

/// The gate an environment requires a scan to have passed: its scan policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequiredGate {
    /// The threshold the scan must have failed on, or a stricter one.
    pub fail_on: Severity,
    /// The oldest the advisory database may have been, or less.
    pub max_advisory_age: Duration,
}

impl RequiredGate {
    /// Whether a scan judged with `gate` was judged at least this strictly.
    pub fn satisfied_by(&self, gate: Option<&ScanGate>) -> bool {
        let Some(gate) = gate else {
            return false;
        };
        let threshold = gate
            .fail_on
            .as_deref()
            .and_then(|name| name.parse::<Severity>().ok());
        threshold.is_some_and(|threshold| threshold <= self.fail_on)
            && gate.max_advisory_age_s <= self.max_advisory_age.as_secs()
    }
}

/// What the newest scan of an image says about deploying it under a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clearance {
    /// The newest scan passed a gate at least as strict as the policy.
    Passed(Scan),
    /// The newest scan failed its gate; its reasons say why.
    Failed(Scan),
    /// The newest scan could not check the packages (no or old advisories); its reasons say why.
    NotChecked(Scan),
    /// The newest scan passed, but was judged more leniently than the policy asks (no
    /// threshold, a higher one, or older advisories allowed), or before slipway kept the gate.
    NotJudged(Scan),
    /// The image was never scanned.
    Missing,
}

impl Clearance {
    /// Whether a deploy requiring a passing scan may go ahead.
    pub fn allows_deploy(&self) -> bool {
        matches!(self, Clearance::Passed(_))
    }
}

/// The clearance under `required` of the image `digest` names (manifest digest or image id).
///
/// # Errors
///
/// What the store returned.
pub fn clearance(
    store: &dyn ScanStore,
    digest: &str,
    required: &RequiredGate,
) -> Result<Clearance, StoreError> {
    Ok(Clearance::of(store.latest_scan(digest)?, required))
}

impl Clearance {
    /// The clearance `scan` (an image's newest, `None` when it has none) gives under `required`.
    pub fn of(scan: Option<Scan>, required: &RequiredGate) -> Clearance {
        let Some(scan) = scan else {
            return Clearance::Missing;
        };
        match &scan.record.verdict {
            ScanVerdict::Failed { .. } => Clearance::Failed(scan),
            ScanVerdict::NotChecked { .. } => Clearance::NotChecked(scan),
            ScanVerdict::Passed if required.satisfied_by(scan.record.judged_with.as_ref()) => {
                Clearance::Passed(scan)
            }
            ScanVerdict::Passed => Clearance::NotJudged(scan),
        }
    }
}
