//! Scan reports in the state store, and the question deploys ask of it.
//!
//! An image's scan is kept against the digest deploys name it by ([`ImageIdentity::digest`]).
//! [`clearance`] answers "may this image be deployed?" from the newest scan of a digest: a
//! deploy whose environment requires a passing scan refuses [`Clearance::Missing`] and
//! [`Clearance::Failed`].

use slipway_store::{NewScan, Scan, ScanId, ScanStore, ScanVerdict, SeverityCounts, StoreError};

use crate::report::{ImageIdentity, Report};

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
        Some(verdict) if !verdict.passed => ScanVerdict::Failed {
            reasons: verdict
                .reasons
                .iter()
                .chain(&verdict.errors)
                .cloned()
                .collect(),
        },
        _ => ScanVerdict::Passed,
    };
    let digest = image.digest().to_owned();
    NewScan {
        image_id: (image.id != digest).then(|| image.id.clone()),
        digest,
        reference: report.target.name.clone(),
        scanned_at: report.scanned_at,
        verdict,
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

/// What the newest scan of an image says about deploying it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clearance {
    /// The newest scan passed its gate.
    Passed(Scan),
    /// The newest scan failed its gate; its reasons say why.
    Failed(Scan),
    /// The image was never scanned.
    Missing,
}

impl Clearance {
    /// Whether a deploy requiring a passing scan may go ahead.
    pub fn allows_deploy(&self) -> bool {
        matches!(self, Clearance::Passed(_))
    }
}

/// The clearance of the image `digest` names (manifest digest or image id).
///
/// # Errors
///
/// What the store returned.
pub fn clearance(store: &dyn ScanStore, digest: &str) -> Result<Clearance, StoreError> {
    Ok(match store.latest_scan(digest)? {
        None => Clearance::Missing,
        Some(scan) if scan.record.verdict.passed() => Clearance::Passed(scan),
        Some(scan) => Clearance::Failed(scan),
    })
}
