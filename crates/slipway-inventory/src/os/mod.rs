//! Operating-system package databases and the release they belong to.
//!
//! - [`dpkg`]: Debian and Ubuntu's `var/lib/dpkg/status`, and the one-file-per-package
//!   `var/lib/dpkg/status.d/` of distroless images.
//! - [`apk`]: Alpine's `lib/apk/db/installed`.
//! - [`OsRelease`]: `etc/os-release`, which says which release's advisories apply.
//!
//! Advisories for distribution packages are written against *source* packages (one source,
//! `openssl`, builds `libssl3`, `openssl` and `libcrypto3`), so each [`InstalledPackage`] keeps
//! the source package it was built from.

pub(crate) mod apk;
pub(crate) mod dpkg;

use slipway_vuln::Ecosystem;

/// A package an OS package database lists as installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledPackage {
    /// The binary package's name (`libssl3`).
    pub name: String,
    /// The binary package's version.
    pub version: String,
    /// The architecture (`amd64`, `x86_64`), if recorded.
    pub arch: Option<String>,
    /// The source package it was built from (`openssl`), when it differs from `name`.
    pub source_name: Option<String>,
    /// The source package's version, when it differs from `version` (binary rebuilds: `+b1`).
    pub source_version: Option<String>,
    /// The 1-based line the package's record starts on.
    pub line: usize,
}

/// Which OS package database a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PackageDatabase {
    /// `var/lib/dpkg/status` or a file of `var/lib/dpkg/status.d/`.
    Dpkg,
    /// `lib/apk/db/installed`.
    Apk,
}

impl PackageDatabase {
    /// The database at `path` (relative to the root of a file system), if it is one.
    pub fn detect(path: &str) -> Option<PackageDatabase> {
        let path = path.trim_start_matches('/');
        if path == "var/lib/dpkg/status" {
            return Some(PackageDatabase::Dpkg);
        }
        if let Some(file) = path.strip_prefix("var/lib/dpkg/status.d/") {
            // Distroless also writes `name.md5sums` beside each `name` record.
            return (!file.contains('/') && !file.ends_with(".md5sums"))
                .then_some(PackageDatabase::Dpkg);
        }
        (path == "lib/apk/db/installed").then_some(PackageDatabase::Apk)
    }

    /// The packages `text` lists as installed.
    ///
    /// # Errors
    ///
    /// A [`ParseError`](crate::ParseError) at the first record that cannot be read.
    pub fn parse(self, text: &str) -> Result<Vec<InstalledPackage>, crate::ParseError> {
        match self {
            PackageDatabase::Dpkg => dpkg::parse(text),
            PackageDatabase::Apk => apk::parse(text),
        }
    }
}

/// What `etc/os-release` (or `usr/lib/os-release`) says about the system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsRelease {
    /// `ID`: `debian`, `ubuntu`, `alpine`.
    pub id: String,
    /// `VERSION_ID`: `12`, `22.04`, `3.19.1`.
    pub version_id: Option<String>,
    /// `PRETTY_NAME`, for reports.
    pub pretty_name: Option<String>,
}

impl OsRelease {
    /// The files that say which release a root file system is, most specific first.
    pub const PATHS: [&'static str; 2] = ["etc/os-release", "usr/lib/os-release"];

    /// Reads an os-release file: `KEY=value` lines, values optionally quoted. Never fails: a
    /// file without an `ID` describes plain `linux`, as the specification says.
    pub fn parse(text: &str) -> OsRelease {
        let mut release = OsRelease {
            id: "linux".to_owned(),
            version_id: None,
            pretty_name: None,
        };
        for line in text.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = value.trim().trim_matches(['"', '\'']).to_owned();
            match key.trim() {
                "ID" => release.id = value.to_ascii_lowercase(),
                "VERSION_ID" => release.version_id = Some(value),
                "PRETTY_NAME" => release.pretty_name = Some(value),
                _ => {}
            }
        }
        release
    }

    /// The advisory ecosystem of this release's packages: `Debian:12`, `Ubuntu:22.04`,
    /// `Alpine:v3.19`. `None` when the distribution or its release is unknown (Debian testing
    /// has no `VERSION_ID`): its packages cannot be matched to a release's advisories.
    pub fn ecosystem(&self) -> Option<Ecosystem> {
        let version = self.version_id.as_deref()?;
        match self.id.as_str() {
            "debian" => Some(Ecosystem::Debian(
                version.split('.').next().unwrap_or(version).to_owned(),
            )),
            "ubuntu" => Some(Ecosystem::Ubuntu(version.to_owned())),
            "alpine" => {
                let mut parts = version.split('.');
                let (major, minor) = (parts.next()?, parts.next()?);
                Some(Ecosystem::Alpine(format!("{major}.{minor}")))
            }
            _ => None,
        }
    }

    /// The purl `distro` qualifier: `debian-12`, `ubuntu-22.04`, `alpine-3.19.1`.
    pub fn distro(&self) -> String {
        match &self.version_id {
            Some(version) => format!("{}-{version}", self.id),
            None => self.id.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_map_to_advisory_ecosystems() {
        let release = |text: &str| OsRelease::parse(text);
        assert_eq!(
            release(
                "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n"
            )
            .ecosystem(),
            Some(Ecosystem::Debian("12".to_owned()))
        );
        assert_eq!(
            release("ID=ubuntu\nVERSION_ID=\"22.04\"").ecosystem(),
            Some(Ecosystem::Ubuntu("22.04".to_owned()))
        );
        assert_eq!(
            release("ID=alpine\nVERSION_ID=3.19.1").ecosystem(),
            Some(Ecosystem::Alpine("3.19".to_owned()))
        );
        assert_eq!(
            release("ID=debian\n").ecosystem(),
            None,
            "testing and sid have no VERSION_ID"
        );
        assert_eq!(release("ID=fedora\nVERSION_ID=40").ecosystem(), None);
        assert_eq!(release("").id, "linux");
        assert_eq!(
            release("ID=alpine\nVERSION_ID=3.19.1").distro(),
            "alpine-3.19.1"
        );
    }

    #[test]
    fn databases_are_found_by_path() {
        assert_eq!(
            PackageDatabase::detect("var/lib/dpkg/status"),
            Some(PackageDatabase::Dpkg)
        );
        assert_eq!(
            PackageDatabase::detect("/var/lib/dpkg/status.d/base"),
            Some(PackageDatabase::Dpkg)
        );
        assert_eq!(
            PackageDatabase::detect("var/lib/dpkg/status.d/base.md5sums"),
            None
        );
        assert_eq!(
            PackageDatabase::detect("lib/apk/db/installed"),
            Some(PackageDatabase::Apk)
        );
        assert_eq!(PackageDatabase::detect("var/lib/dpkg/status-old"), None);
    }
}
