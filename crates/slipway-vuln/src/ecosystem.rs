//! [`Ecosystem`]: where a package comes from, as OSV names it, and how its versions are ordered.
//!
//! OSV names language ecosystems plainly (`crates.io`, `npm`, `PyPI`) and distributions with
//! their release (`Debian:12`, `Ubuntu:22.04:LTS`, `Alpine:v3.18`): a Debian 12 package is
//! matched only against Debian 12 advisories. [`Ecosystem::key`] is the normalized name the
//! index stores and looks up, so `Ubuntu:22.04:LTS` in a record and `Ubuntu:22.04` from an
//! image's `/etc/os-release` meet.

use std::borrow::Cow;
use std::fmt;

use serde::{Serialize, Serializer};

use crate::version::VersionScheme;

/// A package ecosystem.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ecosystem {
    /// Rust crates.
    CratesIo,
    /// JavaScript packages from the npm registry (npm, yarn, pnpm).
    Npm,
    /// Go modules.
    Go,
    /// Python packages.
    PyPI,
    /// Ruby gems.
    RubyGems,
    /// PHP packages (Composer).
    Packagist,
    /// Debian packages of one release (`12`).
    Debian(String),
    /// Ubuntu packages of one release (`22.04`).
    Ubuntu(String),
    /// Alpine packages of one release (`3.18`, without the `v` OSV writes).
    Alpine(String),
    /// An ecosystem Slipway has no version ordering for; its advisories match only through
    /// their explicit `versions` lists.
    Other(String),
}

impl Ecosystem {
    /// The ecosystem an OSV record names. Never fails: an ecosystem Slipway does not know is
    /// [`Ecosystem::Other`].
    pub fn from_osv(name: &str) -> Ecosystem {
        let (base, release) = match name.split_once(':') {
            Some((base, release)) => (base, Some(release)),
            None => (name, None),
        };
        match (base, release) {
            ("crates.io", None) => Ecosystem::CratesIo,
            ("npm", None) => Ecosystem::Npm,
            ("Go", None) => Ecosystem::Go,
            ("PyPI", None) => Ecosystem::PyPI,
            ("RubyGems", None) => Ecosystem::RubyGems,
            ("Packagist", None) => Ecosystem::Packagist,
            ("Debian", Some(release)) if !release.is_empty() => {
                Ecosystem::Debian(release.to_owned())
            }
            // `Ubuntu:Pro:18.04:LTS` is a different product from `Ubuntu:18.04`: kept apart.
            ("Ubuntu", Some(release)) if !release.is_empty() && !release.starts_with("Pro:") => {
                Ecosystem::Ubuntu(release.trim_end_matches(":LTS").to_owned())
            }
            ("Alpine", Some(release)) if !release.is_empty() => {
                Ecosystem::Alpine(release.trim_start_matches('v').to_owned())
            }
            _ => Ecosystem::Other(name.to_owned()),
        }
    }

    /// The normalized OSV name the advisory index keys on.
    pub fn key(&self) -> Cow<'_, str> {
        match self {
            Ecosystem::CratesIo => "crates.io".into(),
            Ecosystem::Npm => "npm".into(),
            Ecosystem::Go => "Go".into(),
            Ecosystem::PyPI => "PyPI".into(),
            Ecosystem::RubyGems => "RubyGems".into(),
            Ecosystem::Packagist => "Packagist".into(),
            Ecosystem::Debian(release) => format!("Debian:{release}").into(),
            Ecosystem::Ubuntu(release) => format!("Ubuntu:{release}").into(),
            Ecosystem::Alpine(release) => format!("Alpine:v{release}").into(),
            Ecosystem::Other(name) => name.as_str().into(),
        }
    }

    /// How this ecosystem orders versions in `ECOSYSTEM` ranges; `None` for
    /// [`Ecosystem::Other`].
    pub fn version_scheme(&self) -> Option<VersionScheme> {
        Some(match self {
            Ecosystem::CratesIo | Ecosystem::Npm | Ecosystem::Go => VersionScheme::SemVer,
            Ecosystem::PyPI => VersionScheme::Pep440,
            Ecosystem::RubyGems => VersionScheme::RubyGems,
            Ecosystem::Packagist => VersionScheme::Composer,
            Ecosystem::Debian(_) | Ecosystem::Ubuntu(_) => VersionScheme::Dpkg,
            Ecosystem::Alpine(_) => VersionScheme::Apk,
            Ecosystem::Other(_) => return None,
        })
    }

    /// `name` as this ecosystem compares package names: PyPI's are normalized as PEP 503 says
    /// (`Foo_Bar.baz` is `foo-bar-baz`), Packagist's are case-insensitive; others are exact.
    pub fn normalize_name<'a>(&self, name: &'a str) -> Cow<'a, str> {
        match self {
            Ecosystem::PyPI => {
                let mut normalized = String::with_capacity(name.len());
                for part in name.split(['-', '_', '.']).filter(|part| !part.is_empty()) {
                    if !normalized.is_empty() {
                        normalized.push('-');
                    }
                    normalized.push_str(&part.to_ascii_lowercase());
                }
                normalized.into()
            }
            Ecosystem::Packagist => name.to_ascii_lowercase().into(),
            _ => name.into(),
        }
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

impl Serialize for Ecosystem {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osv_names_round_trip_through_the_key() {
        for (osv, key) in [
            ("crates.io", "crates.io"),
            ("PyPI", "PyPI"),
            ("Debian:12", "Debian:12"),
            ("Ubuntu:22.04:LTS", "Ubuntu:22.04"),
            ("Ubuntu:23.10", "Ubuntu:23.10"),
            ("Ubuntu:Pro:18.04:LTS", "Ubuntu:Pro:18.04:LTS"),
            ("Alpine:v3.18", "Alpine:v3.18"),
            ("Maven", "Maven"),
        ] {
            let ecosystem = Ecosystem::from_osv(osv);
            assert_eq!(ecosystem.key(), key, "{osv}");
            assert_eq!(Ecosystem::from_osv(&ecosystem.key()), ecosystem, "{osv}");
        }
        assert_eq!(
            Ecosystem::from_osv("Alpine:v3.18"),
            Ecosystem::Alpine("3.18".to_owned())
        );
        assert_eq!(
            Ecosystem::from_osv("Debian"),
            Ecosystem::Other("Debian".to_owned())
        );
        assert_eq!(Ecosystem::from_osv("Maven").version_scheme(), None);
    }

    #[test]
    fn pypi_names_are_normalized_as_pep_503_says() {
        let pypi = Ecosystem::PyPI;
        assert_eq!(pypi.normalize_name("Django"), "django");
        assert_eq!(pypi.normalize_name("zope.interface"), "zope-interface");
        assert_eq!(pypi.normalize_name("Foo__Bar-.baz"), "foo-bar-baz");
        assert_eq!(Ecosystem::Npm.normalize_name("Foo"), "Foo");
    }
}
