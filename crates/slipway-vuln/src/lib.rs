//! Known vulnerabilities, offline: OSV advisories in an index, and matching packages against it.
//!
//! - [`VersionScheme`] orders versions the way each ecosystem does: SemVer (npm, crates.io, Go),
//!   PEP 440 (PyPI), RubyGems, dpkg (Debian, Ubuntu), apk (Alpine) and Composer (Packagist).
//! - [`Ecosystem`] names where a package comes from, as OSV does, and picks its scheme.
//! - [`AdvisoryIndex`] imports OSV records (a directory of JSON files or OSV's per-ecosystem
//!   `all.zip`) into `advisories.db` in the state directory, and [`AdvisoryIndex::find`] looks
//!   packages up and evaluates each advisory's ranges exactly as the OSV schema specifies.
//! - [`Updater`] downloads OSV's per-ecosystem `all.zip` exports over HTTPS (conditional
//!   requests, the served checksums checked) and rebuilds the index from them in one transaction.
//! - [`Severity`] comes from the record's CVSS v3 vector ([`cvss3_base_score`]) or the level it
//!   names.
//!
//! ```
//! use slipway_vuln::{AdvisoryIndex, Ecosystem, PackageQuery, Severity};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let state = tempfile::tempdir()?;
//! # let advisories = tempfile::tempdir()?;
//! # std::fs::write(advisories.path().join("RUSTSEC-2016-0001.json"), r#"{"id": "RUSTSEC-2016-0001",
//! #   "modified": "2023-06-13T13:10:24Z", "summary": "SSL/TLS MitM vulnerability",
//! #   "severity": [{"type": "CVSS_V3", "score": "CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
//! #   "affected": [{"package": {"ecosystem": "crates.io", "name": "openssl"},
//! #     "ranges": [{"type": "SEMVER", "events": [{"introduced": "0.0.0-0"}, {"fixed": "0.9.0"}]}]}]}"#)?;
//! let index = AdvisoryIndex::open(state.path())?;
//! let summary = index.import(advisories.path(), &mut |_read| {})?;
//! assert_eq!(summary.imported, 1);
//!
//! let crates_io = Ecosystem::CratesIo;
//! let lockfile = [PackageQuery { ecosystem: &crates_io, name: "openssl", version: "0.8.3" }];
//! let findings = index.find(&lockfile)?;
//! assert_eq!(findings.matches[0].advisory.id, "RUSTSEC-2016-0001");
//! assert_eq!(findings.matches[0].advisory.severity, Severity::High);
//! assert_eq!(findings.matches[0].fixed_versions, ["0.9.0"]);
//! # Ok(())
//! # }
//! ```

mod ecosystem;
mod error;
mod index;
mod matching;
mod osv;
mod severity;
mod source;
mod update;
mod version;

pub use ecosystem::Ecosystem;
pub use error::IndexError;
pub use index::{
    AdvisoryIndex, AdvisoryMatch, EcosystemCount, Findings, ImportRecord, ImportSummary,
    IndexStatus, PackageQuery, SkippedRecord, Unchecked,
};
pub use osv::{Advisory, OsvError};
pub use severity::{CvssError, Severity, UnknownSeverity, cvss3_base_score};
pub use update::{
    EcosystemUpdate, Fetched, OSV_URL, UPDATE_ECOSYSTEMS, UpdateError, UpdateSummary, Updater,
};
pub use version::{Version, VersionError, VersionScheme};

/// Checks one OSV record against the schema, as an import does; for fuzzing and for tools that
/// validate records before publishing them.
///
/// # Errors
///
/// The [`OsvError`] an import would list the record under.
pub fn validate_osv_record(bytes: &[u8]) -> Result<Advisory, OsvError> {
    osv::parse_record(bytes).map(|record| record.advisory)
}
