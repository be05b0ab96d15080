//! Scan records: what scanning an image found and whether its policy gate passed, kept against
//! the image's digest, and the trait that keeps them.
//!
//! Deploys ask [`ScanStore::latest_scan`] for an image's digest before they start it: no scan,
//! or a failed one, stops a deploy whose environment requires a passing scan. The whole report
//! is kept as the JSON `slipway scan --format json` prints, so it can be shown again later
//! without scanning again.

use std::fmt;

use serde::Serialize;

use crate::StoreError;

/// Keeps scan records.
pub trait ScanStore {
    /// Records a finished scan in one transaction.
    fn record_scan(&self, scan: &NewScan) -> Result<ScanId, StoreError>;

    /// The scan with this id, report included, or `None`.
    fn scan(&self, id: ScanId) -> Result<Option<Scan>, StoreError>;

    /// The newest scan of the image `digest` names: its manifest digest or its image id.
    fn latest_scan(&self, digest: &str) -> Result<Option<Scan>, StoreError>;

    /// Scans matching `query`, newest first, without their reports (which can be large).
    fn scans(&self, query: &ScanQuery) -> Result<Vec<Scan>, StoreError>;
}

/// The identifier the store gives a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct ScanId(i64);

impl ScanId {
    /// Wraps a raw id. It need not exist in the store.
    pub fn new(id: i64) -> ScanId {
        ScanId(id)
    }

    /// The raw id.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for ScanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A scan to record. Plain data: the store checks nothing beyond what it can represent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewScan {
    /// The digest deploys name the image by: its manifest digest, else its image id.
    pub digest: String,
    /// The image id (the config's digest), when it differs from `digest`.
    pub image_id: Option<String>,
    /// What was scanned, as given: a reference or an archive.
    pub reference: String,
    pub scanned_at: jiff::Timestamp,
    pub verdict: ScanVerdict,
    /// The gate it was judged with; `None` for scans recorded before slipway kept it.
    pub judged_with: Option<ScanGate>,
    /// Findings per severity, after the gate set aside what it ignores.
    pub counts: SeverityCounts,
    /// The report, as JSON. Empty in records read by [`ScanStore::scans`].
    pub report: String,
}

/// A recorded scan: the data that was recorded and the id it was given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Scan {
    pub id: ScanId,
    #[serde(flatten)]
    pub record: NewScan,
}

/// What the policy gate decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum ScanVerdict {
    Passed,
    /// Failed, one line per reason (a threshold crossed, a policy's message, a policy that did
    /// not run).
    Failed {
        reasons: Vec<String>,
    },
    /// Nothing over the threshold was found, but the advisories could not vouch for the
    /// packages; one line per reason, with the fix.
    NotChecked {
        reasons: Vec<String>,
    },
}

impl ScanVerdict {
    pub fn passed(&self) -> bool {
        matches!(self, ScanVerdict::Passed)
    }

    /// `passed`, `failed` or `not checked`, as summaries print it.
    pub fn as_str(&self) -> &'static str {
        match self {
            ScanVerdict::Passed => "passed",
            ScanVerdict::Failed { .. } => "failed",
            ScanVerdict::NotChecked { .. } => "not checked",
        }
    }

    /// Why it failed or was not checked; empty when it passed.
    pub fn reasons(&self) -> &[String] {
        match self {
            ScanVerdict::Passed => &[],
            ScanVerdict::Failed { reasons } | ScanVerdict::NotChecked { reasons } => reasons,
        }
    }
}

/// The gate a scan was judged with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScanGate {
    /// The severity threshold by name (`critical`, `high`, `medium`, `low`); `None` when the
    /// scan applied none.
    pub fail_on: Option<String>,
    /// The oldest the advisory database could be, in seconds.
    pub max_advisory_age_s: u64,
}

/// Findings per severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SeverityCounts {
    pub critical: u32,
    pub high: u32,
    pub medium: u32,
    pub low: u32,
    pub unknown: u32,
}

/// Which scans [`ScanStore::scans`] returns. The default returns all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanQuery {
    /// Only scans of the image this digest names (manifest digest or image id).
    pub digest: Option<String>,
    /// At most this many (the newest).
    pub limit: Option<u32>,
}
