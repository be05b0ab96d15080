//! `pnpm-lock.yaml`, lockfile versions 5, 6 and 9.
//!
//! Every installed package is a key of the top-level `packages:` map, two spaces in. The key
//! format changed over versions: `/name/1.2.3_peer` (5), `/name@1.2.3(peer)` (6),
//! `name@1.2.3(peer)` (9), with `@scope/name` for scoped packages. Keys whose version is not a
//! registry version (tarballs, git, other registries' hosts) are left out. The file is read
//! line by line: pnpm writes this part of its YAML in one fixed style, and that keeps a YAML
//! library out of the scanner.

use super::{LockedPackage, ParseError};

/// How package keys are written.
#[derive(Clone, Copy)]
enum KeyFormat {
    /// Version 5: `/name/1.2.3_peer`.
    Slashes,
    /// Version 6: `/name@1.2.3(peer)`.
    SlashAt,
    /// Version 9: `name@1.2.3(peer)`.
    At,
}

pub(super) fn parse(text: &str) -> Result<Vec<LockedPackage>, ParseError> {
    let mut format = KeyFormat::SlashAt;
    let mut in_packages = false;
    let mut found = Vec::new();
    for (number, line) in (1..).zip(text.lines()) {
        let line = line.trim_end();
        if line.trim_start().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if !line.starts_with(' ') {
            if let Some(version) = line.strip_prefix("lockfileVersion:") {
                format = match version.trim().trim_matches(['\'', '"']).split('.').next() {
                    Some("5") => KeyFormat::Slashes,
                    Some("6") => KeyFormat::SlashAt,
                    _ => KeyFormat::At,
                };
            }
            in_packages = line == "packages:";
            continue;
        }
        let Some(key) = line
            .strip_prefix("  ")
            .filter(|key| in_packages && !key.starts_with(' '))
        else {
            continue;
        };
        let Some(key) = key.strip_suffix(':') else {
            return Err(ParseError::new(
                number,
                3,
                "expected a package key ending in `:`",
            ));
        };
        let key = key.trim_matches(['\'', '"']);
        if let Some((name, version)) = split_key(format, key) {
            found.push(LockedPackage {
                name: name.to_owned(),
                version: version.to_owned(),
                line: Some(number),
            });
        }
    }
    Ok(found)
}

/// A key's package name and version; `None` when the version is not a registry version.
fn split_key(format: KeyFormat, key: &str) -> Option<(&str, &str)> {
    let (name, version) = match format {
        KeyFormat::Slashes => {
            let (name, version) = key.strip_prefix('/')?.rsplit_once('/')?;
            (name, version.split('_').next().unwrap_or(version))
        }
        KeyFormat::SlashAt => split_at_version(key.strip_prefix('/')?)?,
        KeyFormat::At => split_at_version(key)?,
    };
    let registry_version =
        version.starts_with(|c: char| c.is_ascii_digit()) && !version.contains(':');
    (registry_version && !name.is_empty()).then_some((name, version))
}

/// `name@1.2.3(peer@1)` → (`name`, `1.2.3`), a leading `@` being the scope's.
fn split_at_version(key: &str) -> Option<(&str, &str)> {
    let key = key.split('(').next().unwrap_or(key);
    let at = key.get(1..)?.find('@')? + 1;
    Some((&key[..at], &key[at + 1..]))
}
