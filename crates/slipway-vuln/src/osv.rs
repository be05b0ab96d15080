//! OSV records: reading one, checking it against the schema, and the parts the index keeps.
//!
//! [`parse_record`] reads the JSON of one record (the OSV schema, 1.x) into an [`Advisory`] (what
//! a report shows) and its [`AffectedPackage`]s (what matching needs). What the schema forbids
//! is an [`OsvError`] naming the line, column and JSON path: an event with two versions in it, a
//! range without an `introduced` event, an unknown range type, a `modified` that is not an RFC
//! 3339 time. Fields the index does not use are ignored, so records written for newer schema
//! versions still load.

use serde::{Deserialize, Serialize};

use crate::ecosystem::Ecosystem;
use crate::severity::{Severity, cvss3_base_score};

/// An advisory as a report shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    /// The OSV id (`RUSTSEC-2023-0001`, `GHSA-...`, `CVE-...`, `DSA-...`).
    pub id: String,
    /// Other ids of the same vulnerability, CVE ids among them.
    pub aliases: Vec<String>,
    /// One line; the first line of `details` when the record has no summary.
    pub summary: String,
    /// The full description, Markdown as OSV allows.
    pub details: String,
    /// The level, from the record's CVSS v3 vector when it has one, else from the severity it
    /// names, else [`Severity::Unknown`].
    pub severity: Severity,
    /// The CVSS v3 base score computed from `cvss_vector`.
    pub cvss_score: Option<f64>,
    /// The CVSS v3 vector the score comes from.
    pub cvss_vector: Option<String>,
    /// When the record was published (RFC 3339), if it says.
    pub published: Option<String>,
    /// When the record last changed (RFC 3339).
    pub modified: String,
    /// Reference URLs, the advisory page first when there is one.
    pub references: Vec<String>,
}

/// One package an advisory affects, and which of its versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AffectedPackage {
    pub(crate) ecosystem: String,
    /// The name as the ecosystem compares names ([`Ecosystem::normalize_name`]).
    pub(crate) name: String,
    pub(crate) ranges: Vec<Range>,
    /// Versions listed one by one.
    pub(crate) versions: Vec<String>,
}

/// A range of affected versions: events ordered by the range's version scheme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Range {
    pub(crate) kind: RangeKind,
    pub(crate) events: Vec<Event>,
}

/// How a range's versions are ordered. `GIT` ranges name commits, not package versions, and
/// are not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum RangeKind {
    /// SemVer 2.0 precedence whatever the ecosystem.
    SemVer,
    /// The ecosystem's own ordering.
    Ecosystem,
}

/// One event of a range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Event {
    /// Versions from here on are affected; `0` means from the first version.
    Introduced(String),
    /// Versions from here on are not affected.
    Fixed(String),
    /// Versions after this one are not affected.
    LastAffected(String),
    /// Versions from here on are outside the range, whatever the other events say.
    Limit(String),
}

impl Event {
    pub(crate) fn version(&self) -> &str {
        match self {
            Event::Introduced(version)
            | Event::Fixed(version)
            | Event::LastAffected(version)
            | Event::Limit(version) => version,
        }
    }
}

/// A parsed record: withdrawn records have no affected packages the index keeps.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) advisory: Advisory,
    pub(crate) affected: Vec<AffectedPackage>,
    pub(crate) withdrawn: bool,
}

/// A record that breaks the OSV schema, or is not JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", if path.is_empty() || path == "." { String::new() } else { format!("at {path}: ") })]
pub struct OsvError {
    /// Where in the record, as a JSON path (`affected[0].ranges[1].events[2]`).
    path: String,
    /// What is wrong, with the line and column.
    message: String,
}

impl OsvError {
    /// The JSON path of the problem; `.` for the whole record.
    pub fn path(&self) -> &str {
        &self.path
    }
}

/// Reads one OSV record.
pub(crate) fn parse_record(bytes: &[u8]) -> Result<Record, OsvError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let raw: RawRecord =
        serde_path_to_error::deserialize(&mut deserializer).map_err(|error| OsvError {
            path: json_path(error.path()),
            message: error.into_inner().to_string(),
        })?;
    deserializer.end().map_err(|error| OsvError {
        path: ".".to_owned(),
        message: error.to_string(),
    })?;
    Ok(raw.into_record())
}

/// The path serde_path_to_error reports, with an empty key shown as `""` (its own rendering of
/// a key `""` at the top level is the empty string, which would read as no path at all).
fn json_path(path: &serde_path_to_error::Path) -> String {
    match path.to_string() {
        empty if empty.is_empty() => "\"\"".to_owned(),
        path => path,
    }
}

#[derive(Debug, Deserialize)]
struct RawRecord {
    id: NonEmpty,
    modified: jiff::Timestamp,
    published: Option<jiff::Timestamp>,
    withdrawn: Option<jiff::Timestamp>,
    #[serde(default)]
    aliases: Vec<String>,
    summary: Option<String>,
    details: Option<String>,
    #[serde(default)]
    severity: Vec<RawSeverity>,
    #[serde(default)]
    affected: Vec<RawAffected>,
    #[serde(default)]
    references: Vec<RawReference>,
    database_specific: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(try_from = "String")]
struct NonEmpty(String);

impl TryFrom<String> for NonEmpty {
    type Error = &'static str;

    fn try_from(text: String) -> Result<NonEmpty, &'static str> {
        if text.trim().is_empty() {
            Err("must not be empty")
        } else {
            Ok(NonEmpty(text))
        }
    }
}

#[derive(Debug, Deserialize)]
struct RawSeverity {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Debug, Deserialize)]
struct RawReference {
    #[serde(rename = "type")]
    kind: String,
    url: String,
}

#[derive(Debug, Deserialize)]
struct RawAffected {
    package: Option<RawPackage>,
    #[serde(default)]
    severity: Vec<RawSeverity>,
    #[serde(default)]
    ranges: Vec<RawRange>,
    #[serde(default)]
    versions: Vec<String>,
    ecosystem_specific: Option<serde_json::Value>,
    database_specific: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct RawPackage {
    ecosystem: NonEmpty,
    name: NonEmpty,
}

#[derive(Debug, Deserialize)]
#[serde(try_from = "RawRangeFields")]
struct RawRange {
    kind: RawRangeKind,
    events: Vec<Event>,
}

#[derive(Debug, Deserialize)]
struct RawRangeFields {
    #[serde(rename = "type")]
    kind: RawRangeKind,
    events: Vec<RawEvent>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
enum RawRangeKind {
    #[serde(rename = "SEMVER")]
    SemVer,
    #[serde(rename = "ECOSYSTEM")]
    Ecosystem,
    #[serde(rename = "GIT")]
    Git,
}

impl TryFrom<RawRangeFields> for RawRange {
    type Error = String;

    fn try_from(fields: RawRangeFields) -> Result<RawRange, String> {
        let events = fields
            .events
            .into_iter()
            .enumerate()
            .map(|(index, event)| {
                event
                    .into_event()
                    .map_err(|error| format!("events[{index}]: {error}"))
            })
            .collect::<Result<Vec<Event>, String>>()?;
        if !events
            .iter()
            .any(|event| matches!(event, Event::Introduced(_)))
        {
            return Err("a range needs at least one `introduced` event".to_owned());
        }
        Ok(RawRange {
            kind: fields.kind,
            events,
        })
    }
}

#[derive(Debug, Deserialize)]
struct RawEvent {
    introduced: Option<String>,
    fixed: Option<String>,
    last_affected: Option<String>,
    limit: Option<String>,
}

impl RawEvent {
    fn into_event(self) -> Result<Event, String> {
        let events: Vec<Event> = [
            self.introduced.map(Event::Introduced),
            self.fixed.map(Event::Fixed),
            self.last_affected.map(Event::LastAffected),
            self.limit.map(Event::Limit),
        ]
        .into_iter()
        .flatten()
        .collect();
        match <[Event; 1]>::try_from(events) {
            Ok([event]) if !event.version().trim().is_empty() => Ok(event),
            Ok(_) => Err("the event's version is empty".to_owned()),
            Err(events) if events.is_empty() => {
                Err("an event needs one of introduced, fixed, last_affected or limit".to_owned())
            }
            Err(_) => Err(
                "an event holds more than one of introduced, fixed, last_affected and limit"
                    .to_owned(),
            ),
        }
    }
}

impl RawRecord {
    fn into_record(self) -> Record {
        let (severity, cvss_score, cvss_vector) = self.severity_level();
        let summary = self
            .summary
            .filter(|summary| !summary.trim().is_empty())
            .or_else(|| {
                self.details
                    .as_deref()
                    .and_then(|details| details.lines().find(|line| !line.trim().is_empty()))
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        let mut references: Vec<RawReference> = self.references;
        // The advisory page first: reports link it.
        references.sort_by_key(|reference| reference.kind != "ADVISORY");
        let advisory = Advisory {
            id: self.id.0,
            aliases: self.aliases,
            summary,
            details: self.details.unwrap_or_default(),
            severity,
            cvss_score,
            cvss_vector,
            published: self.published.map(|time| time.to_string()),
            modified: self.modified.to_string(),
            references: references
                .into_iter()
                .map(|reference| reference.url)
                .collect(),
        };
        let affected = self
            .affected
            .into_iter()
            .filter_map(|affected| {
                let package = affected.package?;
                let ecosystem = Ecosystem::from_osv(&package.ecosystem.0);
                let ranges = affected
                    .ranges
                    .into_iter()
                    .filter_map(|range| {
                        let kind = match range.kind {
                            RawRangeKind::SemVer => RangeKind::SemVer,
                            RawRangeKind::Ecosystem => RangeKind::Ecosystem,
                            RawRangeKind::Git => return None,
                        };
                        Some(Range {
                            kind,
                            events: range.events,
                        })
                    })
                    .collect();
                Some(AffectedPackage {
                    name: ecosystem.normalize_name(&package.name.0).into_owned(),
                    ecosystem: ecosystem.key().into_owned(),
                    ranges,
                    versions: affected.versions,
                })
            })
            .collect();
        Record {
            advisory,
            affected,
            withdrawn: self.withdrawn.is_some(),
        }
    }

    /// The record's severity: a CVSS v3 vector (the record's, else an affected package's) wins;
    /// else a level the record names (`database_specific.severity` as GitHub writes it, an
    /// `Ubuntu` severity entry, an affected package's `severity`); else unknown.
    fn severity_level(&self) -> (Severity, Option<f64>, Option<String>) {
        let all_severities = self
            .severity
            .iter()
            .chain(self.affected.iter().flat_map(|affected| &affected.severity));
        for entry in all_severities.clone() {
            if entry.kind == "CVSS_V3"
                && let Ok(score) = cvss3_base_score(&entry.score)
            {
                return (
                    Severity::from_score(score),
                    Some(score),
                    Some(entry.score.clone()),
                );
            }
        }
        let named = all_severities
            .filter(|entry| !entry.kind.starts_with("CVSS"))
            .map(|entry| entry.score.as_str())
            .chain(named_severity(self.database_specific.as_ref()))
            .chain(self.affected.iter().flat_map(|affected| {
                named_severity(affected.ecosystem_specific.as_ref())
                    .chain(named_severity(affected.database_specific.as_ref()))
            }))
            .filter_map(|name| name.parse::<Severity>().ok())
            .max()
            .unwrap_or(Severity::Unknown);
        (named, None, None)
    }
}

/// The `severity` string of a `database_specific` or `ecosystem_specific` object, if any.
fn named_severity(value: Option<&serde_json::Value>) -> impl Iterator<Item = &str> {
    value
        .and_then(|value| value.get("severity"))
        .and_then(serde_json::Value::as_str)
        .into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(json: &str) -> Result<Record, OsvError> {
        parse_record(json.as_bytes())
    }

    #[test]
    fn a_ghsa_style_record_reads_with_its_named_severity() {
        let record = record(
            r#"{"id": "GHSA-xxxx", "modified": "2024-01-02T03:04:05Z",
                "aliases": ["CVE-2024-1"], "details": "\nFirst line.\nMore.",
                "affected": [{"package": {"ecosystem": "PyPI", "name": "Django_Foo"},
                              "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2"}]},
                                         {"type": "GIT", "repo": "https://x", "events": [{"introduced": "abc"}]}],
                              "versions": ["1.0", "1.1"]}],
                "references": [{"type": "WEB", "url": "https://web"}, {"type": "ADVISORY", "url": "https://adv"}],
                "database_specific": {"severity": "MODERATE"}}"#,
        )
        .unwrap();
        assert_eq!(record.advisory.severity, Severity::Medium);
        assert_eq!(record.advisory.summary, "First line.");
        assert_eq!(record.advisory.references, ["https://adv", "https://web"]);
        assert_eq!(
            record.affected,
            [AffectedPackage {
                ecosystem: "PyPI".to_owned(),
                name: "django-foo".to_owned(),
                ranges: vec![Range {
                    kind: RangeKind::Ecosystem,
                    events: vec![
                        Event::Introduced("0".to_owned()),
                        Event::Fixed("1.2".to_owned())
                    ],
                }],
                versions: vec!["1.0".to_owned(), "1.1".to_owned()],
            }]
        );
    }

    #[test]
    fn a_cvss_vector_wins_over_a_named_severity() {
        let record = record(
            r#"{"id": "X-1", "modified": "2024-01-02T03:04:05Z",
                "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
                "database_specific": {"severity": "LOW"}}"#,
        )
        .unwrap();
        assert_eq!(record.advisory.severity, Severity::Critical);
        assert_eq!(record.advisory.cvss_score, Some(9.8));
    }

    #[test]
    fn schema_violations_name_the_path_and_the_line() {
        let error = |json: &str| record(json).unwrap_err().to_string();
        let two_in_one = error(
            r#"{"id": "X", "modified": "2024-01-02T03:04:05Z", "affected": [{"package": {"ecosystem": "npm", "name": "a"},
               "ranges": [{"type": "SEMVER", "events": [{"introduced": "0", "fixed": "1.0.0"}]}]}]}"#,
        );
        assert!(
            two_in_one
                .starts_with("at affected[0].ranges[0]: events[0]: an event holds more than one"),
            "{two_in_one}"
        );
        assert!(two_in_one.contains("line 2"), "{two_in_one}");
        let no_introduced = error(
            r#"{"id": "X", "modified": "2024-01-02T03:04:05Z", "affected": [{"package": {"ecosystem": "npm", "name": "a"},
               "ranges": [{"type": "SEMVER", "events": [{"fixed": "1.0.0"}]}]}]}"#,
        );
        assert!(
            no_introduced.contains("at least one `introduced`"),
            "{no_introduced}"
        );
        let bad_type = error(
            r#"{"id": "X", "modified": "2024-01-02T03:04:05Z", "affected": [{"ranges": [{"type": "SEMVERX", "events": []}]}]}"#,
        );
        assert!(bad_type.contains("unknown variant `SEMVERX`"), "{bad_type}");
        assert!(error(r#"{"id": "X", "modified": "yesterday"}"#).starts_with("at modified: "));
        assert!(error(r#"{"modified": "2024-01-02T03:04:05Z"}"#).contains("missing field `id`"));
        assert!(
            error(r#"{"id": "", "modified": "2024-01-02T03:04:05Z"}"#)
                .starts_with("at id: must not be empty")
        );
        assert!(
            error(r#"{"id": "X", "modified": "2024-01-02T03:04:05Z"} trailing"#)
                .contains("trailing characters")
        );
        let empty_key = record(r#"{"": {"#).unwrap_err();
        assert_eq!(empty_key.path(), "\"\"");
    }
}
