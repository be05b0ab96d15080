//! `yarn.lock`, classic (v1) and berry (v2 and later).
//!
//! Both formats are a sequence of entries: a top-level line of specifiers ending in `:`, then
//! fields indented by two spaces. Classic writes `version "1.2.3"`; berry writes YAML,
//! `version: 1.2.3` and `resolution: "name@npm:1.2.3"`. Berry entries whose resolution is not
//! from the npm registry (`workspace:`, `patch:`, `git`, `file:`...) are left out; so are classic
//! entries resolved from a URL or path. An alias (`alias@npm:real@^1`) is reported as the real
//! package.

use super::{LockedPackage, ParseError};

/// One entry being read.
struct Entry<'a> {
    line: usize,
    specifiers: &'a str,
    version: Option<&'a str>,
    resolution: Option<&'a str>,
}

pub(super) fn parse(text: &str) -> Result<Vec<LockedPackage>, ParseError> {
    let mut found = Vec::new();
    let mut entry: Option<Entry<'_>> = None;
    for (number, line) in (1..).zip(text.lines()) {
        let trimmed = line.trim_end();
        if trimmed.trim_start().is_empty() || trimmed.trim_start().starts_with('#') {
            continue;
        }
        if !trimmed.starts_with(' ') {
            let Some(specifiers) = trimmed.strip_suffix(':') else {
                return Err(ParseError::new(
                    number,
                    1,
                    "expected an entry (`name@range:`)",
                ));
            };
            if let Some(done) = entry.take() {
                found.extend(finish(done)?);
            }
            entry = Some(Entry {
                line: number,
                specifiers,
                version: None,
                resolution: None,
            });
            continue;
        }
        let Some(field) = trimmed
            .strip_prefix("  ")
            .filter(|field| !field.starts_with(' '))
        else {
            continue; // Deeper lines: dependency lists and the like.
        };
        let Some(current) = entry.as_mut() else {
            return Err(ParseError::new(number, 3, "a field outside of any entry"));
        };
        let (key, value) = split_field(field);
        match key {
            "version" => current.version = Some(value),
            "resolution" => current.resolution = Some(value),
            _ => {}
        }
    }
    if let Some(done) = entry.take() {
        found.extend(finish(done)?);
    }
    Ok(found)
}

/// `key "value"`, `key value` or `key: value`, quotes removed.
fn split_field(field: &str) -> (&str, &str) {
    let (key, value) = field.split_once([' ', ':']).unwrap_or((field, ""));
    let value = value.trim_start_matches([':', ' ']).trim();
    (key, unquote(value))
}

fn unquote(text: &str) -> &str {
    text.strip_prefix('"')
        .and_then(|text| text.strip_suffix('"'))
        .unwrap_or(text)
}

fn finish(entry: Entry<'_>) -> Result<Option<LockedPackage>, ParseError> {
    if entry.specifiers == "__metadata" {
        return Ok(None);
    }
    let Some(version) = entry.version else {
        return Err(ParseError::new(
            entry.line,
            1,
            format!("the entry `{}` has no version", entry.specifiers),
        ));
    };
    let name = match entry.resolution {
        // Berry: the resolution says where the package came from.
        Some(resolution) => match resolution.rsplit_once("@npm:") {
            Some((name, _)) if !name.is_empty() => name,
            _ => return Ok(None),
        },
        None => {
            let first = unquote(
                entry
                    .specifiers
                    .split(',')
                    .next()
                    .unwrap_or_default()
                    .trim(),
            );
            match package_name(first) {
                Some(name) => name,
                None => return Ok(None),
            }
        }
    };
    Ok(Some(LockedPackage {
        name: name.to_owned(),
        version: version.to_owned(),
        line: Some(entry.line),
    }))
}

/// The package a classic specifier (`name@range`, `@scope/name@range`, `alias@npm:real@range`)
/// installs; `None` for URLs, paths and git specifiers.
fn package_name(specifier: &str) -> Option<&str> {
    let at = specifier.get(1..)?.find('@')? + 1;
    let (name, range) = (&specifier[..at], &specifier[at + 1..]);
    match range.strip_prefix("npm:") {
        Some(real) => package_name(real).or(Some(real)),
        None if range.contains("://")
            || range.starts_with("file:")
            || range.starts_with("link:") =>
        {
            None
        }
        None => Some(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specifiers_name_the_package() {
        assert_eq!(package_name("lodash@^4.17.0"), Some("lodash"));
        assert_eq!(package_name("@babel/core@7.0.0"), Some("@babel/core"));
        assert_eq!(
            package_name("alias@npm:@scope/real@^1.0.0"),
            Some("@scope/real")
        );
        assert_eq!(package_name("left@npm:right"), Some("right"));
        assert_eq!(package_name("x@https://example.com/x.tgz"), None);
        assert_eq!(package_name("x@file:../x"), None);
        assert_eq!(package_name("noversion"), None);
    }
}
