//! `package-lock.json` and `npm-shrinkwrap.json`, lockfile versions 1, 2 and 3.
//!
//! Versions 2 and 3 list every installed package under `packages`, keyed by its path
//! (`node_modules/a/node_modules/@s/b`); the name is the part after the last `node_modules/`,
//! or the `name` field for an alias. The root (`""`), workspace members (paths outside
//! `node_modules`) and links are left out. Version 1 nests `dependencies` objects instead,
//! which are walked depth first.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{LockedPackage, ParseError};
use crate::text::JsonLines;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Lockfile {
    lockfile_version: Option<u32>,
    packages: Option<BTreeMap<String, Entry>>,
    dependencies: Option<BTreeMap<String, LegacyEntry>>,
}

#[derive(Deserialize)]
struct Entry {
    name: Option<String>,
    version: Option<String>,
    #[serde(default)]
    link: bool,
}

#[derive(Deserialize)]
struct LegacyEntry {
    version: Option<String>,
    #[serde(default)]
    bundled: bool,
    dependencies: Option<BTreeMap<String, LegacyEntry>>,
}

pub(super) fn parse(text: &str) -> Result<Vec<LockedPackage>, ParseError> {
    let lockfile: Lockfile =
        serde_json::from_str(text).map_err(|error| ParseError::json(&error))?;
    match (
        lockfile.lockfile_version,
        lockfile.packages,
        lockfile.dependencies,
    ) {
        (Some(2 | 3), Some(packages), _) | (None, Some(packages), _) => {
            Ok(from_packages(text, packages))
        }
        (_, _, Some(dependencies)) => {
            let mut found = Vec::new();
            from_dependencies(&JsonLines::new(text), dependencies, &mut found);
            Ok(found)
        }
        (Some(version), None, None) if version > 3 => Err(ParseError::new(
            1,
            1,
            format!("lockfileVersion {version} is newer than the versions Slipway reads (1 to 3)"),
        )),
        _ => Ok(Vec::new()),
    }
}

fn from_packages(text: &str, packages: BTreeMap<String, Entry>) -> Vec<LockedPackage> {
    let lines = JsonLines::new(text);
    packages
        .into_iter()
        .filter(|(_, entry)| !entry.link)
        .filter_map(|(path, entry)| {
            let (_, installed_as) = path.rsplit_once("node_modules/")?;
            let name = entry.name.unwrap_or_else(|| installed_as.to_owned());
            let version = entry.version?;
            Some(LockedPackage {
                line: lines.key(&path),
                name,
                version,
            })
        })
        .collect()
}

fn from_dependencies(
    lines: &JsonLines<'_>,
    dependencies: BTreeMap<String, LegacyEntry>,
    found: &mut Vec<LockedPackage>,
) {
    for (name, entry) in dependencies {
        if let Some(version) = entry.version.filter(|_| !entry.bundled) {
            // `file:`, `git+...` and tarball URLs are not registry versions.
            if !version.contains(':') {
                found.push(LockedPackage {
                    line: lines.key(&name),
                    name,
                    version,
                });
            }
        }
        if let Some(nested) = entry.dependencies {
            from_dependencies(lines, nested, found);
        }
    }
}
