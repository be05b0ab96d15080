//! The ignore file: findings a team has looked at and accepted, each with a reason and an
//! expiry date.
//!
//! ```toml
//! [[ignore]]
//! id = "CVE-2024-1234"                    # an advisory id or alias, a secret rule id or
//!                                         # fingerprint, or a Dockerfile check id
//! reason = "not reachable: we never parse untrusted XML"
//! expires = 2025-06-30                    # a TOML date, or "2025-06-30"
//! path = "web/package-lock.json"          # optional: only in this file or directory
//! package = "libxml2"                     # optional: only in this package
//! ```
//!
//! An entry stops applying the day after it expires, and the gate says so: an accepted risk has
//! to be looked at again rather than accepted forever. Entries without a reason are refused.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::report::{Ignored, Report};

/// An ignore file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}:{column}: {message}", path.display())]
pub struct IgnoreFileError {
    path: PathBuf,
    line: usize,
    column: usize,
    message: String,
}

/// The entries of an ignore file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoreFile {
    path: PathBuf,
    entries: Vec<IgnoreEntry>,
}

/// One accepted finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoreEntry {
    id: String,
    reason: String,
    expires: jiff::civil::Date,
    path: Option<String>,
    package: Option<String>,
    /// The entry's line, to point at it when it expires.
    line: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    ignore: Vec<toml::Spanned<Fields>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fields {
    id: String,
    reason: String,
    expires: DateField,
    path: Option<String>,
    package: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum DateField {
    Literal(toml::value::Datetime),
    Text(String),
}

impl IgnoreFile {
    /// Reads the ignore file at `path`.
    ///
    /// # Errors
    ///
    /// An [`IgnoreFileError`] with the line and column: unreadable, not TOML, an unknown key, a
    /// missing or empty reason, an expiry that is not a date.
    pub fn load(path: &Path) -> Result<IgnoreFile, IgnoreFileError> {
        let text = std::fs::read_to_string(path).map_err(|error| IgnoreFileError {
            path: path.to_owned(),
            line: 1,
            column: 1,
            message: format!("cannot read the ignore file: {error}"),
        })?;
        IgnoreFile::parse(path, &text)
    }

    /// Reads an ignore file's text; `path` names it in errors.
    ///
    /// # Errors
    ///
    /// As [`IgnoreFile::load`].
    pub fn parse(path: &Path, text: &str) -> Result<IgnoreFile, IgnoreFileError> {
        let error_at = |offset: usize, message: String| {
            let before = &text[..offset.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |newline| newline + 1) + 1;
            IgnoreFileError {
                path: path.to_owned(),
                line,
                column,
                message,
            }
        };
        let file: File = toml::from_str(text).map_err(|error| {
            error_at(
                error.span().map_or(0, |span| span.start),
                error.message().trim_end().to_owned(),
            )
        })?;
        let mut entries = Vec::new();
        for spanned in file.ignore {
            let offset = spanned.span().start;
            let fields = spanned.into_inner();
            let line = error_at(offset, String::new()).line;
            if fields.id.trim().is_empty() {
                return Err(error_at(offset, "an entry's id is empty".to_owned()));
            }
            if fields.reason.trim().is_empty() {
                return Err(error_at(
                    offset,
                    format!(
                        "the entry for {} gives no reason: say why it is acceptable",
                        fields.id
                    ),
                ));
            }
            let text = match &fields.expires {
                DateField::Literal(datetime) => datetime.to_string(),
                DateField::Text(text) => text.clone(),
            };
            let expires: jiff::civil::Date = text.parse().map_err(|_| {
                error_at(
                    offset,
                    format!(
                        "the entry for {} expires on {text:?}, which is not a date (YYYY-MM-DD)",
                        fields.id
                    ),
                )
            })?;
            entries.push(IgnoreEntry {
                id: fields.id,
                reason: fields.reason,
                expires,
                path: fields
                    .path
                    .map(|path| path.trim_end_matches('/').to_owned()),
                package: fields.package,
                line,
            });
        }
        Ok(IgnoreFile {
            path: path.to_owned(),
            entries,
        })
    }

    /// The entries, in file order.
    pub fn entries(&self) -> &[IgnoreEntry] {
        &self.entries
    }

    /// Moves the findings an entry in force on `today` covers from `report` to its ignored
    /// list, and returns a warning for each finding an expired entry would have covered.
    pub fn apply(&self, report: &mut Report, today: jiff::civil::Date) -> Vec<String> {
        let mut warnings = Vec::new();
        let mut decide = |ids: &[&str], path: &str, package: Option<&str>| -> Option<Ignored> {
            let entry = self
                .entries
                .iter()
                .find(|entry| entry.covers(ids, path, package))?;
            if entry.expires < today {
                warnings.push(format!(
                    "the ignore entry for {} ({}:{}) expired on {}: the finding counts again",
                    entry.id,
                    self.path.display(),
                    entry.line,
                    entry.expires
                ));
                return None;
            }
            Some(Ignored {
                id: ids[0].to_owned(),
                path: path.to_owned(),
                reason: entry.reason.clone(),
                expires: Some(entry.expires),
            })
        };
        let mut ignored = Vec::new();
        report.vulnerabilities.retain(|vulnerability| {
            let ids: Vec<&str> = std::iter::once(vulnerability.id.as_str())
                .chain(vulnerability.aliases.iter().map(String::as_str))
                .collect();
            let decision = decide(
                &ids,
                &vulnerability.package.path,
                Some(&vulnerability.package.name),
            );
            decision.map(|entry| ignored.push(entry)).is_none()
        });
        report.secrets.retain(|secret| {
            let decision = decide(
                &[secret.rule_id.as_str(), secret.fingerprint.as_str()],
                &secret.path,
                None,
            );
            decision.map(|entry| ignored.push(entry)).is_none()
        });
        report.misconfigurations.retain(|misconfiguration| {
            let decision = decide(
                &[misconfiguration.rule_id.as_str()],
                &misconfiguration.path,
                None,
            );
            decision.map(|entry| ignored.push(entry)).is_none()
        });
        report.ignored.extend(ignored);
        warnings.sort();
        warnings.dedup();
        warnings
    }
}

impl IgnoreEntry {
    /// Whether this entry names a finding known by `ids`, in `path` (and `package`).
    fn covers(&self, ids: &[&str], path: &str, package: Option<&str>) -> bool {
        let id = ids.iter().any(|id| id.eq_ignore_ascii_case(&self.id));
        let in_path = self.path.as_deref().is_none_or(|scope| {
            path == scope
                || path
                    .strip_prefix(scope)
                    .is_some_and(|rest| rest.starts_with('/'))
        });
        let in_package = self
            .package
            .as_deref()
            .is_none_or(|scope| package == Some(scope));
        id && in_path && in_package
    }
}
