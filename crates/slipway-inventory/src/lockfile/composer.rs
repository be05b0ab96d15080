//! `composer.lock`: the `packages` and `packages-dev` arrays, each entry with `name` and
//! `version`. Branch checkouts (`dev-main`) are left out.

use serde::Deserialize;

use super::{LockedPackage, ParseError};
use crate::text::JsonLines;

#[derive(Deserialize)]
struct Lockfile {
    #[serde(default)]
    packages: Vec<Package>,
    #[serde(default, rename = "packages-dev")]
    packages_dev: Vec<Package>,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    version: String,
}

pub(super) fn parse(text: &str) -> Result<Vec<LockedPackage>, ParseError> {
    let lockfile: Lockfile =
        serde_json::from_str(text).map_err(|error| ParseError::json(&error))?;
    let lines = JsonLines::new(text);
    Ok(lockfile
        .packages
        .into_iter()
        .chain(lockfile.packages_dev)
        // A branch checkout (`dev-main`) has no registry version.
        .filter(|package| !package.version.starts_with("dev-"))
        .map(|package| LockedPackage {
            line: lines.name(&package.name),
            name: package.name,
            version: package.version,
        })
        .collect())
}
