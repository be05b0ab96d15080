//! `Cargo.lock`: `[[package]]` tables with `name`, `version` and `source`.
//!
//! Only packages from crates.io (the `registry+https://github.com/rust-lang/crates.io-index` or
//! `sparse+https://index.crates.io/` source) are kept: workspace members have no `source`, and
//! git or alternate-registry crates are not what crates.io advisories describe.

use serde::Deserialize;
use toml::Spanned;

use super::{LockedPackage, ParseError};

const CRATES_IO_SOURCES: [&str; 2] = [
    "registry+https://github.com/rust-lang/crates.io-index",
    "sparse+https://index.crates.io/",
];

#[derive(Deserialize)]
struct Lockfile {
    #[serde(default)]
    package: Vec<Package>,
}

#[derive(Deserialize)]
struct Package {
    name: Spanned<String>,
    version: String,
    source: Option<String>,
}

pub(super) fn parse(text: &str) -> Result<Vec<LockedPackage>, ParseError> {
    let lockfile: Lockfile =
        toml::from_str(text).map_err(|error| ParseError::toml(text, &error))?;
    Ok(lockfile
        .package
        .into_iter()
        .filter(|package| {
            package
                .source
                .as_deref()
                .is_some_and(|source| CRATES_IO_SOURCES.contains(&source))
        })
        .map(|package| LockedPackage {
            line: Some(crate::text::line_column(text, package.name.span().start).0),
            name: package.name.into_inner(),
            version: package.version,
        })
        .collect())
}
