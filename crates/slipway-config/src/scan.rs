//! `[scan]`: the scan policy images are judged by, and `[environments.ENV.scan]` overriding it.
//!
//! A scan judged by this policy fails at `fail_on` or above, and says `not checked` (which a
//! gate treats as a failure) when the advisory database is older than `max_advisory_age` or holds
//! nothing about an ecosystem the image contains. A deploy under `require_scan` accepts only a
//! scan judged at least as strictly as its environment's policy.
//!
//! ```toml
//! [scan]
//! fail_on = "high"                 # critical, high (default), medium, low
//! max_advisory_age = "7d"          # default 7 days; `slipway db update` refreshes the database
//!
//! [environments.prod.scan]
//! fail_on = "medium"
//! max_advisory_age = "1d"
//! ```

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::DurationText;

/// `[scan]` and `[environments.ENV.scan]`, as written.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanSettings {
    /// Fail the gate on a finding at or above this severity; default "high".
    pub fail_on: Option<FailOn>,
    /// The oldest the advisory database may be for a scan to count as checked; default "7d".
    pub max_advisory_age: Option<DurationText>,
}

/// A severity threshold.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    Low,
    Medium,
    High,
    Critical,
}

impl FailOn {
    /// The name, as `--fail-on` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            FailOn::Low => "low",
            FailOn::Medium => "medium",
            FailOn::High => "high",
            FailOn::Critical => "critical",
        }
    }
}

/// The scan policy of one environment, defaults filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanPolicy {
    pub fail_on: FailOn,
    pub max_advisory_age: Duration,
}

/// The default `max_advisory_age`: OSV publishes daily, and a week-old database misses a week of
/// advisories.
pub const DEFAULT_MAX_ADVISORY_AGE: Duration = Duration::from_secs(7 * 24 * 60 * 60);

impl ScanPolicy {
    /// The policy with `over` (an environment's `[scan]`) merged over `base` (the project's).
    pub(crate) fn merged(base: &ScanSettings, over: Option<&ScanSettings>) -> ScanPolicy {
        let fail_on = over
            .and_then(|over| over.fail_on)
            .or(base.fail_on)
            .unwrap_or(FailOn::High);
        let max_advisory_age = over
            .and_then(|over| over.max_advisory_age)
            .or(base.max_advisory_age)
            .map_or(DEFAULT_MAX_ADVISORY_AGE, DurationText::get);
        ScanPolicy {
            fail_on,
            max_advisory_age,
        }
    }
}

/// What `[scan]` allows that its types do not say: an age of zero would make every scan
/// `not checked`.
pub(crate) fn check(settings: &ScanSettings) -> Result<(), (Vec<&'static str>, String)> {
    match settings.max_advisory_age {
        Some(age) if age.get().is_zero() => Err((
            vec!["max_advisory_age"],
            "max_advisory_age must be longer than zero: write a duration such as \"7d\" or \"12h\""
                .to_owned(),
        )),
        _ => Ok(()),
    }
}
