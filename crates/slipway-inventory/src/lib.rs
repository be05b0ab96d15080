//! What software a directory or an image holds: packages pinned by lockfiles and installed by
//! the operating system's package manager, each with its package URL.
//!
//! - [`LockfileKind`] recognizes a lockfile by name and parses it: Cargo, npm, yarn (classic and
//!   berry), pnpm, pip (`requirements.txt`), Poetry, Pipenv, uv, Go modules, Bundler, Composer.
//! - [`PackageDatabase`] parses Debian's and Alpine's installed-package databases;
//!   [`OsRelease`] says which release they belong to.
//! - [`InventoryBuilder`] takes files as the caller finds them (on disk or in image layers),
//!   in any order, and [`InventoryBuilder::finish`] gives the [`Inventory`]: every [`Package`]
//!   with where it was declared, and every file that could not be read, with why.
//!
//! Parsing is pure: nothing here touches the file system, so the same code reads a checkout
//! and an image.
//!
//! ```
//! use slipway_inventory::{FileRole, InventoryBuilder};
//!
//! let mut inventory = InventoryBuilder::new();
//! let lockfile = b"[[package]]\nname = \"smallvec\"\nversion = \"1.6.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n";
//! let role = FileRole::classify("app/Cargo.lock").unwrap();
//! inventory.add("app/Cargo.lock", role, lockfile);
//! let inventory = inventory.finish();
//! assert_eq!(inventory.packages[0].purl, "pkg:cargo/smallvec@1.6.0");
//! assert_eq!(inventory.packages[0].line, Some(2));
//! ```

mod lockfile;
mod os;
mod purl;
mod text;

use serde::Serialize;
use slipway_vuln::{Ecosystem, PackageQuery};

pub use lockfile::{LockedPackage, LockfileKind, ParseError};
pub use os::{InstalledPackage, OsRelease, PackageDatabase};

/// A package found in a lockfile or an OS package database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Package {
    pub ecosystem: Ecosystem,
    pub name: String,
    pub version: String,
    /// For an OS package, the source package advisories are written against, when it differs.
    pub source_name: Option<String>,
    /// For an OS package, the source package's version, when it differs.
    pub source_version: Option<String>,
    /// The architecture of an OS package.
    pub arch: Option<String>,
    /// The package URL.
    pub purl: String,
    /// The file that lists it, as the caller named it.
    pub path: String,
    /// The 1-based line it is declared on, when known.
    pub line: Option<usize>,
}

impl Package {
    /// The package as advisories name it: the source package for OS packages.
    pub fn query(&self) -> PackageQuery<'_> {
        PackageQuery {
            ecosystem: &self.ecosystem,
            name: self.source_name.as_deref().unwrap_or(&self.name),
            version: self.source_version.as_deref().unwrap_or(&self.version),
        }
    }
}

/// What a file is to the inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRole {
    Lockfile(LockfileKind),
    PackageDatabase(PackageDatabase),
    /// `etc/os-release` or `usr/lib/os-release`.
    OsRelease,
}

impl FileRole {
    /// The role of the file at `path` (relative to the root of what is scanned), if any.
    pub fn classify(path: &str) -> Option<FileRole> {
        let path = path.trim_start_matches('/');
        if OsRelease::PATHS.contains(&path) {
            return Some(FileRole::OsRelease);
        }
        if let Some(database) = PackageDatabase::detect(path) {
            return Some(FileRole::PackageDatabase(database));
        }
        let file_name = path.rsplit('/').next().unwrap_or(path);
        LockfileKind::detect(file_name).map(FileRole::Lockfile)
    }
}

/// A file the inventory could not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The file.
    pub path: String,
    /// Where in it, when the problem has a position.
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

/// Everything found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Inventory {
    /// The packages, lockfile packages in the order files were added, then OS packages.
    pub packages: Vec<Package>,
    /// The operating system, when an os-release file was found.
    pub os: Option<OsReleaseInfo>,
    /// Files that could not be read; their packages are missing from `packages`.
    pub problems: Vec<Problem>,
}

/// The operating system of a scanned root, as reports show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OsReleaseInfo {
    pub id: String,
    pub version_id: Option<String>,
    pub pretty_name: Option<String>,
}

/// Collects files into an [`Inventory`].
#[derive(Debug, Default)]
pub struct InventoryBuilder {
    packages: Vec<Package>,
    /// The os-release file and how specific its path is (lower is better).
    release: Option<(usize, OsRelease)>,
    installed: Vec<(String, Vec<InstalledPackage>)>,
    problems: Vec<Problem>,
}

impl InventoryBuilder {
    pub fn new() -> InventoryBuilder {
        InventoryBuilder::default()
    }

    /// Reads `bytes`, the content of the file at `path`, in its `role`. A file that cannot be
    /// read becomes a [`Problem`] of the inventory.
    pub fn add(&mut self, path: &str, role: FileRole, bytes: &[u8]) {
        let Ok(text) = std::str::from_utf8(bytes) else {
            self.problem(path, None, "the file is not UTF-8 text".to_owned());
            return;
        };
        match role {
            FileRole::Lockfile(kind) => match kind.parse(text) {
                Ok(locked) => {
                    let ecosystem = kind.ecosystem();
                    self.packages.extend(
                        locked
                            .into_iter()
                            .map(|package| lockfile_package(&ecosystem, path, package)),
                    );
                }
                Err(error) => self.parse_problem(path, &error),
            },
            FileRole::PackageDatabase(database) => match database.parse(text) {
                Ok(installed) => self.installed.push((path.to_owned(), installed)),
                Err(error) => self.parse_problem(path, &error),
            },
            FileRole::OsRelease => {
                let rank = OsRelease::PATHS
                    .iter()
                    .position(|known| *known == path.trim_start_matches('/'))
                    .unwrap_or(usize::MAX);
                if self.release.as_ref().is_none_or(|(best, _)| rank < *best) {
                    self.release = Some((rank, OsRelease::parse(text)));
                }
            }
        }
    }

    /// Records that a file could not even be read (an I/O error, a file too large).
    pub fn unreadable(&mut self, path: &str, reason: String) {
        self.problem(path, None, reason);
    }

    /// The inventory: OS packages get the ecosystem of the release found, if any.
    pub fn finish(mut self) -> Inventory {
        let release = self.release.take().map(|(_, release)| release);
        let ecosystem = release.as_ref().and_then(OsRelease::ecosystem);
        for (path, installed) in std::mem::take(&mut self.installed) {
            let ecosystem = match (&ecosystem, &release) {
                (Some(ecosystem), _) => ecosystem.clone(),
                (None, release) => {
                    let id = release
                        .as_ref()
                        .map_or("unknown", |release| release.id.as_str());
                    self.problem(
                        &path,
                        None,
                        format!(
                            "the distribution ({id}) or its release is unknown, so its packages cannot be matched with advisories"
                        ),
                    );
                    Ecosystem::Other(id.to_owned())
                }
            };
            let distro = release.as_ref().map(OsRelease::distro).unwrap_or_default();
            self.packages.extend(
                installed
                    .into_iter()
                    .map(|package| os_package(&ecosystem, &distro, &path, package)),
            );
        }
        Inventory {
            packages: self.packages,
            os: release.map(|release| OsReleaseInfo {
                id: release.id,
                version_id: release.version_id,
                pretty_name: release.pretty_name,
            }),
            problems: self.problems,
        }
    }

    fn parse_problem(&mut self, path: &str, error: &ParseError) {
        self.problems.push(Problem {
            path: path.to_owned(),
            line: Some(error.line()),
            column: Some(error.column()),
            message: error.message().to_owned(),
        });
    }

    fn problem(&mut self, path: &str, line: Option<usize>, message: String) {
        self.problems.push(Problem {
            path: path.to_owned(),
            line,
            column: None,
            message,
        });
    }
}

fn lockfile_package(ecosystem: &Ecosystem, path: &str, package: LockedPackage) -> Package {
    let purl = match ecosystem {
        Ecosystem::CratesIo => purl::purl("cargo", None, &package.name, &package.version, &[]),
        Ecosystem::Npm => {
            let (namespace, name) = split_namespace(&package.name);
            purl::purl("npm", namespace, name, &package.version, &[])
        }
        Ecosystem::PyPI => purl::purl(
            "pypi",
            None,
            &ecosystem.normalize_name(&package.name),
            &package.version,
            &[],
        ),
        Ecosystem::Go => {
            let (namespace, name) = split_namespace(&package.name);
            purl::purl(
                "golang",
                namespace,
                name,
                &format!("v{}", package.version),
                &[],
            )
        }
        Ecosystem::RubyGems => purl::purl("gem", None, &package.name, &package.version, &[]),
        Ecosystem::Packagist => {
            let (namespace, name) = split_namespace(&package.name);
            purl::purl("composer", namespace, name, &package.version, &[])
        }
        other => purl::purl(
            "generic",
            None,
            &package.name,
            &package.version,
            &[("ecosystem", &other.key())],
        ),
    };
    Package {
        ecosystem: ecosystem.clone(),
        name: package.name,
        version: package.version,
        source_name: None,
        source_version: None,
        arch: None,
        purl,
        path: path.to_owned(),
        line: package.line,
    }
}

fn os_package(
    ecosystem: &Ecosystem,
    distro: &str,
    path: &str,
    package: InstalledPackage,
) -> Package {
    let (kind, namespace) = match ecosystem {
        Ecosystem::Alpine(_) => ("apk", "alpine"),
        Ecosystem::Ubuntu(_) => ("deb", "ubuntu"),
        Ecosystem::Debian(_) => ("deb", "debian"),
        _ if PackageDatabase::detect(path) == Some(PackageDatabase::Apk) => ("apk", "alpine"),
        _ => ("deb", "debian"),
    };
    let arch = package.arch.as_deref().unwrap_or_default();
    let upstream = package.source_name.as_deref().unwrap_or_default();
    let purl = purl::purl(
        kind,
        Some(namespace),
        &package.name,
        &package.version,
        &[("arch", arch), ("distro", distro), ("upstream", upstream)],
    );
    Package {
        ecosystem: ecosystem.clone(),
        name: package.name,
        version: package.version,
        source_name: package.source_name,
        source_version: package.source_version,
        arch: package.arch,
        purl,
        path: path.to_owned(),
        line: Some(package.line),
    }
}

/// `@scope/name` → (`@scope`, `name`); `github.com/a/b` → (`github.com/a`, `b`).
fn split_namespace(name: &str) -> (Option<&str>, &str) {
    match name.rsplit_once('/') {
        Some((namespace, name)) => (Some(namespace), name),
        None => (None, name),
    }
}
