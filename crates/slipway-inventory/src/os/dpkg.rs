//! dpkg's status database: one RFC 822-style stanza per package, separated by blank lines.
//!
//! Only packages whose `Status` ends in `installed` are kept (removed packages keep a stanza
//! with `deinstall ok config-files`); distroless `status.d/` files have no `Status` and are all
//! installed. `Source: name (version)` names the source package and, for binary rebuilds, its
//! version.

use super::InstalledPackage;
use crate::ParseError;

pub(crate) fn parse(text: &str) -> Result<Vec<InstalledPackage>, ParseError> {
    let mut found = Vec::new();
    for stanza in stanzas(text) {
        let field = |name: &str| {
            stanza
                .fields
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| *value)
        };
        let Some(name) = field("Package") else {
            return Err(ParseError::new(
                stanza.line,
                1,
                "a stanza without a Package field",
            ));
        };
        if field("Status")
            .is_some_and(|status| status.split_whitespace().last() != Some("installed"))
        {
            continue;
        }
        let Some(version) = field("Version") else {
            return Err(ParseError::new(
                stanza.line,
                1,
                format!("the package {name} has no Version field"),
            ));
        };
        let (source_name, source_version) = match field("Source") {
            None => (None, None),
            Some(source) => match source.split_once(" (") {
                Some((source, version)) => (
                    Some(source.trim()),
                    Some(version.trim_end_matches(')').trim()),
                ),
                None => (Some(source.trim()), None),
            },
        };
        found.push(InstalledPackage {
            name: name.to_owned(),
            version: version.to_owned(),
            arch: field("Architecture").map(str::to_owned),
            source_name: source_name
                .filter(|source| *source != name)
                .map(str::to_owned),
            source_version: source_version
                .filter(|source| *source != version)
                .map(str::to_owned),
            line: stanza.line,
        });
    }
    Ok(found)
}

/// One stanza: its first line and its single-line fields (continuation lines are skipped: no
/// field Slipway reads spans lines).
pub(crate) struct Stanza<'a> {
    pub(crate) line: usize,
    pub(crate) fields: Vec<(&'a str, &'a str)>,
}

/// Splits `text` into stanzas separated by blank lines, reading `Key: value` fields.
pub(crate) fn stanzas(text: &str) -> Vec<Stanza<'_>> {
    let mut stanzas = Vec::new();
    let mut current: Option<Stanza<'_>> = None;
    for (number, line) in (1..).zip(text.lines()) {
        if line.trim().is_empty() {
            stanzas.extend(current.take());
            continue;
        }
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let stanza = current.get_or_insert_with(|| Stanza {
            line: number,
            fields: Vec::new(),
        });
        if let Some((key, value)) = line.split_once(':') {
            stanza.fields.push((key.trim(), value.trim()));
        }
    }
    stanzas.extend(current);
    stanzas
}
