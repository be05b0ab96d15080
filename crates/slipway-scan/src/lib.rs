//! Scanning: what a directory, a repository or an image holds, what is wrong with it, and
//! whether that is acceptable.
//!
//! - [`scan_directory`] runs the vulnerability, secret and Dockerfile scanners over a directory;
//!   [`scan_history`] runs the secret scanner over a repository's history; [`scan_image`] runs
//!   the vulnerability and secret scanners over an image's layers in one pass;
//!   [`scan_engine_image`] exports one from the container engine, [`scan_registry_image`] pulls
//!   one from a registry into a temporary OCI layout.
//! - Every scan gives a [`Report`]: packages, [`Vulnerability`]s, secrets, [`Misconfiguration`]s
//!   and what was [`Skipped`], with positions.
//! - [`Gate`] decides whether a report passes: a severity threshold, `--ignore-unfixed`, an
//!   [`IgnoreFile`] whose entries expire, and Rego [`Policy`] files.
//! - [`to_sarif`], [`to_cyclonedx`] and [`to_spdx`] render a report for code scanning and as
//!   bills of materials.
//! - [`record_report`] keeps an image's report in the state store against its digest;
//!   [`clearance`] tells a deploy whether the newest scan of a digest passed; [`ScanOnPush`]
//!   scans every image pushed to the embedded registry.
//!
//! The scanners themselves live in their own crates: `slipway-inventory` (lockfiles and OS
//! package databases), `slipway-vuln` (the advisory index and version matching),
//! `slipway-secrets` and `slipway-dockerfile`. This crate puts them together.

mod dockerfile;
mod engine;
mod error;
mod format;
mod fs;
mod gate;
mod ignore_file;
mod image;
mod policy;
mod pull;
mod record;
mod registry;
mod report;
mod vulnerabilities;

pub use dockerfile::{CHECKS, Check, check, check_dockerfile, is_dockerfile};
pub use engine::scan_engine_image;
pub use error::ScanError;
pub use format::{to_cyclonedx, to_sarif, to_spdx};
pub use fs::{ScanOptions, scan_directory, scan_history};
pub use gate::{DEFAULT_MAX_ADVISORY_AGE, Gate};
pub use ignore_file::{IgnoreEntry, IgnoreFile, IgnoreFileError};
pub use image::{ImageSource, scan_image};
pub use policy::{Policy, PolicyError, PolicyOutcome};
pub use pull::scan_registry_image;
pub use record::{Clearance, RequiredGate, clearance, record_report};
pub use registry::ScanOnPush;
pub use report::{
    AdvisoryCoverage, AffectedPackage, Counts, Ignored, ImageIdentity, Judgement, Misconfiguration,
    Outcome, REPORT_VERSION, Report, SECRET_SEVERITY, Scanners, SecretFinding, Skipped, Target,
    TargetKind, Verdict, Vulnerability,
};
