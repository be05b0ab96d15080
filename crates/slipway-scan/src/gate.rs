//! The policy gate: does this report let the change through?
//!
//! In order: `--ignore-unfixed` sets aside vulnerabilities without a fix; the ignore file sets
//! aside what it covers (while in force); `--fail-on` fails on any finding at or above the
//! threshold; each Rego policy fails on each `deny` message. A policy that cannot be loaded or
//! evaluated is an error of the gate: it passes only when every check it was asked for ran.

use slipway_vuln::Severity;

use crate::ignore_file::IgnoreFile;
use crate::policy::{Policy, PolicyError};
use crate::report::{Ignored, Report, SECRET_SEVERITY, Skipped, Verdict};

/// What the gate checks.
#[derive(Debug, Clone, Default)]
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
}

impl Gate {
    /// Applies the gate to `report` on `today` (the day ignore entries are checked against):
    /// moves what is set aside to `report.ignored`, records the verdict in the report, and
    /// returns it.
    pub fn apply(&self, report: &mut Report, today: jiff::civil::Date) -> Verdict {
        let mut verdict = Verdict {
            passed: false,
            reasons: Vec::new(),
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
        verdict.passed = verdict.reasons.is_empty() && verdict.errors.is_empty();
        report.verdict = Some(verdict.clone());
        verdict
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
