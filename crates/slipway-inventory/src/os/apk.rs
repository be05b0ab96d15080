//! apk's installed database: one stanza per package, separated by blank lines, each line a
//! one-letter key, `:` and a value (`P:` package, `V:` version, `A:` architecture, `o:` origin,
//! the source package).

use super::InstalledPackage;
use crate::ParseError;

pub(crate) fn parse(text: &str) -> Result<Vec<InstalledPackage>, ParseError> {
    let mut found = Vec::new();
    for stanza in super::dpkg::stanzas(text) {
        let field = |key: &str| {
            stanza
                .fields
                .iter()
                .find(|(name, _)| *name == key)
                .map(|(_, value)| *value)
        };
        let Some(name) = field("P") else {
            return Err(ParseError::new(
                stanza.line,
                1,
                "a record without a P: (package) line",
            ));
        };
        let Some(version) = field("V") else {
            return Err(ParseError::new(
                stanza.line,
                1,
                format!("the package {name} has no V: (version) line"),
            ));
        };
        found.push(InstalledPackage {
            name: name.to_owned(),
            version: version.to_owned(),
            arch: field("A").map(str::to_owned),
            source_name: field("o")
                .filter(|origin| *origin != name)
                .map(str::to_owned),
            source_version: None,
            line: stanza.line,
        });
    }
    Ok(found)
}
