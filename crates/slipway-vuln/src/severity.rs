//! [`Severity`] levels, and the CVSS v3 base score they are computed from when a record gives
//! only a vector.
//!
//! [`cvss3_base_score`] implements the base metric equations of CVSS v3.0 and v3.1 (FIRST's
//! specification, section 7.1 of v3.1), including v3.1's `Roundup` that avoids floating-point
//! artefacts. The qualitative levels are the specification's table: 0.1–3.9 low, 4.0–6.9 medium,
//! 7.0–8.9 high, 9.0–10.0 critical.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How bad a finding is. Ordered: `Unknown < Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The record gives no severity Slipway can read.
    Unknown,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// Every level, lowest first.
    pub const ALL: [Severity; 5] = [
        Severity::Unknown,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The level of a CVSS score (0.0 is "none", which is below low; it reads as `Unknown`).
    pub fn from_score(score: f64) -> Severity {
        match score {
            s if s >= 9.0 => Severity::Critical,
            s if s >= 7.0 => Severity::High,
            s if s >= 4.0 => Severity::Medium,
            s if s > 0.0 => Severity::Low,
            _ => Severity::Unknown,
        }
    }

    /// A representative score for a level given only by name, for SARIF's `security-severity`
    /// (GitHub maps scores back to levels with the same bands).
    pub fn representative_score(self) -> f64 {
        match self {
            Severity::Critical => 9.5,
            Severity::High => 8.0,
            Severity::Medium => 5.5,
            Severity::Low => 2.0,
            Severity::Unknown => 0.0,
        }
    }

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Unknown => "unknown",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A severity name that is none of the levels.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a severity: use critical, high, medium, low or unknown")]
pub struct UnknownSeverity(String);

impl FromStr for Severity {
    type Err = UnknownSeverity;

    /// Reads a level by name, case-insensitively; `moderate` (GitHub's word) is medium and
    /// `important` (Red Hat's and Ubuntu's) is high.
    fn from_str(text: &str) -> Result<Severity, UnknownSeverity> {
        Ok(match text.trim().to_ascii_lowercase().as_str() {
            "critical" => Severity::Critical,
            "high" | "important" => Severity::High,
            "medium" | "moderate" => Severity::Medium,
            "low" | "negligible" => Severity::Low,
            "unknown" | "none" | "unimportant" | "untriaged" => Severity::Unknown,
            _ => return Err(UnknownSeverity(text.to_owned())),
        })
    }
}

/// A CVSS v3 vector that cannot be scored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{vector:?} is not a CVSS v3 base vector: {reason}")]
pub struct CvssError {
    vector: String,
    reason: String,
}

/// The CVSS v3.0 or v3.1 base score of `vector`
/// (`CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H` is 9.8).
///
/// # Errors
///
/// A [`CvssError`] when the prefix is not `CVSS:3.0` or `CVSS:3.1`, a base metric is missing,
/// repeated or has a value the specification does not define.
pub fn cvss3_base_score(vector: &str) -> Result<f64, CvssError> {
    let error = |reason: String| CvssError {
        vector: vector.to_owned(),
        reason,
    };
    let mut parts = vector.trim().split('/');
    match parts.next() {
        Some("CVSS:3.0" | "CVSS:3.1") => {}
        _ => {
            return Err(error(
                "it does not start with CVSS:3.0 or CVSS:3.1".to_owned(),
            ));
        }
    }
    let mut metrics = BaseMetrics::default();
    for part in parts {
        let (name, value) = part
            .split_once(':')
            .ok_or_else(|| error(format!("{part:?} is not NAME:VALUE")))?;
        metrics.set(name, value).map_err(error)?;
    }
    metrics.score().map_err(error)
}

/// The eight base metrics, as weights, once read.
#[derive(Debug, Default)]
struct BaseMetrics {
    attack_vector: Option<f64>,
    attack_complexity: Option<f64>,
    privileges_required: Option<char>,
    user_interaction: Option<f64>,
    scope_changed: Option<bool>,
    confidentiality: Option<f64>,
    integrity: Option<f64>,
    availability: Option<f64>,
}

impl BaseMetrics {
    fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        let unknown = || format!("{name}:{value} is not a defined value");
        fn put<T>(slot: &mut Option<T>, value: T, name: &str) -> Result<(), String> {
            match slot.replace(value) {
                Some(_) => Err(format!("{name} is given twice")),
                None => Ok(()),
            }
        }
        let impact = |value: &str| match value {
            "H" => Some(0.56),
            "L" => Some(0.22),
            "N" => Some(0.0),
            _ => None,
        };
        match name {
            "AV" => {
                let weight = match value {
                    "N" => 0.85,
                    "A" => 0.62,
                    "L" => 0.55,
                    "P" => 0.2,
                    _ => return Err(unknown()),
                };
                put(&mut self.attack_vector, weight, name)
            }
            "AC" => {
                let weight = match value {
                    "L" => 0.77,
                    "H" => 0.44,
                    _ => return Err(unknown()),
                };
                put(&mut self.attack_complexity, weight, name)
            }
            "PR" if matches!(value, "N" | "L" | "H") => put(
                &mut self.privileges_required,
                value.chars().next().unwrap_or('N'),
                name,
            ),
            "UI" => {
                let weight = match value {
                    "N" => 0.85,
                    "R" => 0.62,
                    _ => return Err(unknown()),
                };
                put(&mut self.user_interaction, weight, name)
            }
            "S" => {
                let changed = match value {
                    "U" => false,
                    "C" => true,
                    _ => return Err(unknown()),
                };
                put(&mut self.scope_changed, changed, name)
            }
            "C" => put(
                &mut self.confidentiality,
                impact(value).ok_or_else(unknown)?,
                name,
            ),
            "I" => put(
                &mut self.integrity,
                impact(value).ok_or_else(unknown)?,
                name,
            ),
            "A" => put(
                &mut self.availability,
                impact(value).ok_or_else(unknown)?,
                name,
            ),
            "PR" => Err(unknown()),
            // Temporal and environmental metrics do not change the base score.
            _ => Ok(()),
        }
    }

    fn score(&self) -> Result<f64, String> {
        let missing = |name: &str| format!("the base metric {name} is missing");
        let attack_vector = self.attack_vector.ok_or_else(|| missing("AV"))?;
        let attack_complexity = self.attack_complexity.ok_or_else(|| missing("AC"))?;
        let privileges = self.privileges_required.ok_or_else(|| missing("PR"))?;
        let user_interaction = self.user_interaction.ok_or_else(|| missing("UI"))?;
        let changed = self.scope_changed.ok_or_else(|| missing("S"))?;
        let confidentiality = self.confidentiality.ok_or_else(|| missing("C"))?;
        let integrity = self.integrity.ok_or_else(|| missing("I"))?;
        let availability = self.availability.ok_or_else(|| missing("A"))?;

        let privileges_required = match (privileges, changed) {
            ('N', _) => 0.85,
            ('L', false) => 0.62,
            ('L', true) => 0.68,
            (_, false) => 0.27,
            (_, true) => 0.5,
        };
        let impact_sub_score =
            1.0 - (1.0 - confidentiality) * (1.0 - integrity) * (1.0 - availability);
        let impact = if changed {
            7.52 * (impact_sub_score - 0.029) - 3.25 * (impact_sub_score - 0.02).powi(15)
        } else {
            6.42 * impact_sub_score
        };
        let exploitability =
            8.22 * attack_vector * attack_complexity * privileges_required * user_interaction;
        if impact <= 0.0 {
            return Ok(0.0);
        }
        Ok(if changed {
            roundup((1.08 * (impact + exploitability)).min(10.0))
        } else {
            roundup((impact + exploitability).min(10.0))
        })
    }
}

/// CVSS v3.1's `Roundup`: the smallest number with one decimal that is at least `value`,
/// computed on integers so that 4.000000001 does not become 4.1 by floating-point noise.
fn roundup(value: f64) -> f64 {
    let scaled = (value * 100_000.0).round() as i64;
    if scaled % 10_000 == 0 {
        scaled as f64 / 100_000.0
    } else {
        ((scaled / 10_000) + 1) as f64 / 10.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_scores_match_the_nvd_calculator() {
        for (vector, score) in [
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
            ("CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H", 8.1),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
            ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5),
            ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6),
            ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 6.4),
            ("CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:C/C:H/I:H/A:H", 9.1),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
            // Temporal metrics are allowed and ignored.
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O", 9.8),
        ] {
            assert_eq!(cvss3_base_score(vector), Ok(score), "{vector}");
        }
    }

    #[test]
    fn broken_vectors_say_what_is_wrong() {
        let reason = |vector: &str| cvss3_base_score(vector).unwrap_err().to_string();
        assert!(reason("CVSS:2.0/AV:N").contains("does not start with"));
        assert!(reason("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H").contains("A is missing"));
        assert!(reason("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H").contains("AV:X"));
        assert!(reason("CVSS:3.1/AV:N/AV:N/AC:L").contains("given twice"));
    }

    #[test]
    fn levels_follow_the_specification_bands() {
        assert_eq!(Severity::from_score(9.8), Severity::Critical);
        assert_eq!(Severity::from_score(7.0), Severity::High);
        assert_eq!(Severity::from_score(6.9), Severity::Medium);
        assert_eq!(Severity::from_score(0.1), Severity::Low);
        assert_eq!(Severity::from_score(0.0), Severity::Unknown);
        assert_eq!("Moderate".parse(), Ok(Severity::Medium));
        assert!("severe".parse::<Severity>().is_err());
        for level in Severity::ALL {
            assert_eq!(Severity::from_score(level.representative_score()), level);
        }
    }
}
