//! The policy gate: does this report let the change through?
//!
//! In order: `--ignore-unfixed` sets aside vulnerabilities without a fix; the ignore file sets
//! aside what it covers (while in force); `--fail-on` fails on any finding at or above the
//! threshold; each Rego policy fails on each `deny` message. A policy that cannot be loaded or
//! evaluated is an error of the gate: it passes only when every check it was asked for ran.
//!
//! A scan that checked nothing must not pass: when the advisory database holds nothing about an
//! ecosystem the target's packages come from, or was last filled longer ago than
//! `max_advisory_age`, a gate that found nothing over its threshold is [`Outcome::NotChecked`],
//! with the reason and the fix.

use std::time::Duration;

use slipway_vuln::Severity;

use crate::ignore_file::IgnoreFile;
use crate::policy::{Policy, PolicyError};
use crate::report::{
    AdvisoryCoverage, Ignored, Judgement, Outcome, Report, SECRET_SEVERITY, Skipped, Verdict,
};

/// How old the advisory database may be by default: OSV publishes daily, and a week-old database
/// misses a week of advisories.
pub const DEFAULT_MAX_ADVISORY_AGE: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// How to fill the advisory database, as the `not checked` reasons say.
const FILL_THE_DATABASE: &str = "run `slipway db update`";

/// What the gate checks.
#[derive(Debug, Clone)]
pub struct Gate {
    /// Fail on a finding at or above this severity.
    pub fail_on: Option<Severity>,
    /// Set aside vulnerabilities no released version fixes.
    pub ignore_unfixed: bool,
    pub ignore_file: Option<IgnoreFile>,
    /// Policies that loaded.
    pub policies: Vec<Policy>,
    /// Policies that did not load: each fails the gate with an error.
    pub broken_policies: Vec<PolicyError>,
    /// The oldest the advisory database may be for vulnerabilities to count as checked.
    pub max_advisory_age: Duration,
}

impl Default for Gate {
    fn default() -> Gate {
        Gate {
            fail_on: None,
            ignore_unfixed: false,
            ignore_file: None,
            policies: Vec::new(),
            broken_policies: Vec::new(),
            max_advisory_age: DEFAULT_MAX_ADVISORY_AGE,
        }
    }
}

impl Gate {
    /// Applies the gate to `report` on `today` (the day ignore entries are checked against):
    /// moves what is set aside to `report.ignored`, records the verdict in the report, and
    /// returns it. `now` is when the advisory database's age is measured from.
    pub fn apply(&self, report: &mut Report, now: &jiff::Zoned) -> Verdict {
        let today = now.date();
        let mut verdict = Verdict {
            outcome: Outcome::Failed,
            judged_with: Judgement {
                fail_on: self.fail_on,
                max_advisory_age_s: self.max_advisory_age.as_secs(),
            },
            reasons: Vec::new(),
            not_checked: Vec::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
        };
        if self.ignore_unfixed {
            let (unfixed, fixed): (Vec<_>, Vec<_>) = std::mem::take(&mut report.vulnerabilities)
                .into_iter()
                .partition(|vulnerability| vulnerability.fixed_versions.is_empty());
            report.vulnerabilities = fixed;
            report
                .ignored
                .extend(unfixed.into_iter().map(|vulnerability| Ignored {
                    id: vulnerability.id,
                    path: vulnerability.package.path,
                    reason: "no fixed version is known (--ignore-unfixed)".to_owned(),
                    expires: None,
                }));
        }
        if let Some(ignore_file) = &self.ignore_file {
            verdict.warnings.extend(ignore_file.apply(report, today));
        }
        if let Some(reason) = self
            .fail_on
            .and_then(|threshold| threshold_reason(report, threshold))
        {
            verdict.reasons.push(reason);
        }
        for broken in &self.broken_policies {
            verdict.errors.push(format!("policy {}", broken));
            report.skipped.push(Skipped::new(
                broken.path().display().to_string(),
                format!("the policy was not evaluated: {broken}"),
            ));
        }
        if !self.policies.is_empty() {
            let input = match serde_json::to_value(&*report) {
                Ok(input) => Some(input),
                Err(error) => {
                    verdict
                        .errors
                        .push(format!("the report cannot be given to policies: {error}"));
                    None
                }
            };
            for policy in self.policies.iter() {
                let Some(input) = &input else { break };
                match policy.evaluate(input) {
                    Ok(outcome) => {
                        let name = policy.path().display();
                        verdict.reasons.extend(
                            outcome
                                .denials
                                .iter()
                                .map(|message| format!("policy {name}: {message}")),
                        );
                        verdict.warnings.extend(
                            outcome
                                .warnings
                                .iter()
                                .map(|message| format!("policy {name}: {message}")),
                        );
                    }
                    Err(error) => {
                        verdict.errors.push(format!("policy {error}"));
                        report.skipped.push(Skipped::new(
                            policy.path().display().to_string(),
                            format!("the policy was not evaluated: {error}"),
                        ));
                    }
                }
            }
        }
        if let Some(coverage) = &report.advisories {
            verdict.not_checked = self.unchecked(coverage, now.timestamp());
        }
        verdict.outcome = if !verdict.reasons.is_empty() || !verdict.errors.is_empty() {
            Outcome::Failed
        } else if !verdict.not_checked.is_empty() {
            Outcome::NotChecked
        } else {
            Outcome::Passed
        };
        report.verdict = Some(verdict.clone());
        verdict
    }
}

impl Gate {
    /// Why the advisories cannot vouch for the packages: ecosystems they know nothing about,
    /// or an age over the limit.
    fn unchecked(&self, coverage: &AdvisoryCoverage, now: jiff::Timestamp) -> Vec<String> {
        let mut reasons = Vec::new();
        if !coverage.missing_ecosystems.is_empty() {
            reasons.push(format!(
                "the advisory database {} holds nothing about {}, so those packages were not checked: {FILL_THE_DATABASE}",
                coverage.database,
                coverage.missing_ecosystems.join(", ")
            ));
        }
        let limit = humantime::format_duration(self.max_advisory_age);
        match coverage.updated_at {
            None if coverage.missing_ecosystems.is_empty() => reasons.push(format!(
                "the advisory database {} was never filled: {FILL_THE_DATABASE}",
                coverage.database
            )),
            None => {}
            Some(updated_at) => {
                let age = now.duration_since(updated_at);
                if age.is_positive() && age.unsigned_abs() > self.max_advisory_age {
                    // Whole seconds: the age is shown, not measured.
                    let age = humantime::format_duration(Duration::from_secs(
                        age.unsigned_abs().as_secs(),
                    ));
                    reasons.push(format!(
                        "the advisory database {} was last updated {age} ago, more than the {limit} the scan policy allows: {FILL_THE_DATABASE} (or raise max_advisory_age under [scan] in slipway.toml)",
                        coverage.database
                    ));
                }
            }
        }
        reasons
    }
}

/// "3 findings at high or above: 2 vulnerabilities, 1 secret", or `None` under the threshold.
fn threshold_reason(report: &Report, threshold: Severity) -> Option<String> {
    let vulnerabilities = report
        .vulnerabilities
        .iter()
        .filter(|found| found.severity >= threshold)
        .count();
    let secrets = if SECRET_SEVERITY >= threshold {
        report.secrets.len()
    } else {
        0
    };
    let misconfigurations = report
        .misconfigurations
        .iter()
        .filter(|found| found.severity >= threshold)
        .count();
    let total = vulnerabilities + secrets + misconfigurations;
    if total == 0 {
        return None;
    }
    let parts: Vec<String> = [
        (vulnerabilities, "vulnerability", "vulnerabilities"),
        (secrets, "secret", "secrets"),
        (misconfigurations, "misconfiguration", "misconfigurations"),
    ]
    .into_iter()
    .filter(|(count, _, _)| *count > 0)
    .map(|(count, one, many)| format!("{count} {}", if count == 1 { one } else { many }))
    .collect();
    let finding = if total == 1 { "finding" } else { "findings" };
    Some(format!(
        "{total} {finding} at {threshold} or above (--fail-on {threshold}): {}",
        parts.join(", ")
    ))
}
