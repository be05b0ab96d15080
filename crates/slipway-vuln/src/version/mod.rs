//! Version ordering, one [`VersionScheme`] per family of ecosystems.
//!
//! A [`Version`] is parsed once under a scheme into a sort key, and versions of one scheme are
//! totally ordered by that key: every scheme's key is built so that the order is total and
//! transitive by construction, and equality is the scheme's own (`1.0 == 1.0.0` in PEP 440,
//! `1.0+build1 == 1.0+build2` in SemVer). Versions of different schemes never meet in matching;
//! they are ordered by scheme first so that `Version` is still a total order.
//!
//! ```
//! use slipway_vuln::VersionScheme;
//!
//! let apk = |text| VersionScheme::Apk.parse(text).unwrap();
//! assert!(apk("1.2.3_rc1") < apk("1.2.3"));
//! assert!(apk("1.2.3") < apk("1.2.3-r1"));
//! let pypi = |text| VersionScheme::Pep440.parse(text).unwrap();
//! assert_eq!(pypi("1.0"), pypi("1.0.0"));
//! assert!(pypi("1.0.dev1") < pypi("1.0a1"));
//! ```

mod apk;
mod composer;
mod dpkg;
mod numeral;
mod pep440;
mod rubygems;
mod semver;

use std::cmp::Ordering;
use std::fmt;

use serde::Serialize;

/// How an ecosystem orders its versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VersionScheme {
    /// Semantic Versioning 2.0 precedence: npm, crates.io, Go, and every OSV `SEMVER` range.
    SemVer,
    /// PEP 440: PyPI.
    Pep440,
    /// `Gem::Version`: RubyGems.
    RubyGems,
    /// `dpkg --compare-versions`: Debian and Ubuntu.
    Dpkg,
    /// `apk version -t`: Alpine.
    Apk,
    /// Composer's normalized versions: Packagist.
    Composer,
}

impl VersionScheme {
    /// Every scheme, for tables and tests.
    pub const ALL: [VersionScheme; 6] = [
        VersionScheme::SemVer,
        VersionScheme::Pep440,
        VersionScheme::RubyGems,
        VersionScheme::Dpkg,
        VersionScheme::Apk,
        VersionScheme::Composer,
    ];

    /// Parses `text` as a version of this scheme.
    ///
    /// # Errors
    ///
    /// A [`VersionError`] saying why `text` is not a version of this scheme.
    pub fn parse(self, text: &str) -> Result<Version, VersionError> {
        let error = |reason: String| VersionError {
            scheme: self,
            text: text.to_owned(),
            reason,
        };
        let key = match self {
            VersionScheme::SemVer => Key::SemVer(semver::parse(text).map_err(error)?),
            VersionScheme::Pep440 => Key::Pep440(pep440::parse(text).map_err(error)?),
            VersionScheme::RubyGems => Key::RubyGems(rubygems::parse(text).map_err(error)?),
            VersionScheme::Dpkg => Key::Dpkg(dpkg::parse(text).map_err(error)?),
            VersionScheme::Apk => Key::Apk(apk::parse(text).map_err(error)?),
            VersionScheme::Composer => Key::Composer(composer::parse(text).map_err(error)?),
        };
        Ok(Version {
            text: text.to_owned(),
            key,
        })
    }

    /// Compares two version strings of this scheme.
    ///
    /// # Errors
    ///
    /// The [`VersionError`] of the first one that does not parse.
    pub fn compare(self, left: &str, right: &str) -> Result<Ordering, VersionError> {
        Ok(self.parse(left)?.cmp(&self.parse(right)?))
    }
}

impl fmt::Display for VersionScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VersionScheme::SemVer => "SemVer",
            VersionScheme::Pep440 => "PEP 440",
            VersionScheme::RubyGems => "RubyGems",
            VersionScheme::Dpkg => "dpkg",
            VersionScheme::Apk => "apk",
            VersionScheme::Composer => "Composer",
        })
    }
}

/// A version parsed under a [`VersionScheme`], ordered by that scheme's rules.
#[derive(Debug, Clone)]
pub struct Version {
    text: String,
    key: Key,
}

/// The sort key of each scheme. Variant order orders versions of different schemes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    SemVer(semver::SemVer),
    Pep440(pep440::Pep440),
    RubyGems(rubygems::GemVersion),
    Dpkg(dpkg::DpkgVersion),
    Apk(apk::ApkVersion),
    Composer(composer::ComposerVersion),
}

impl Version {
    /// The version as it was written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Version) -> bool {
        self.key == other.key
    }
}

impl Eq for Version {}

impl Ord for Version {
    fn cmp(&self, other: &Version) -> Ordering {
        self.key.cmp(&other.key)
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Version) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A version that does not parse under a scheme.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a {scheme} version: {reason}")]
pub struct VersionError {
    scheme: VersionScheme,
    text: String,
    reason: String,
}

impl VersionError {
    /// The scheme the text was parsed under.
    pub fn scheme(&self) -> VersionScheme {
        self.scheme
    }

    /// The text that did not parse.
    pub fn text(&self) -> &str {
        &self.text
    }
}
