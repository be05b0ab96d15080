//! Scanning a directory: lockfiles, OS package databases (a directory can be an unpacked root
//! file system), Dockerfiles and secrets.
//!
//! One sequential walk finds the files the inventory and the Dockerfile checks read (they are
//! few, and named); the secret scanner walks the tree again in parallel, since it reads every
//! file. Both walks honour `.gitignore` unless told otherwise, never enter `.git`, and never
//! follow symbolic links.

use std::io::Read;
use std::path::Path;

use slipway_inventory::{FileRole, InventoryBuilder};
use slipway_secrets::{SecretScanner, TreeOptions, source_walk};
use slipway_vuln::AdvisoryIndex;

use crate::dockerfile::{check_dockerfile, is_dockerfile};
use crate::error::ScanError;
use crate::report::{Report, Scanners, Skipped, Target, TargetKind};
use crate::vulnerabilities;

/// The largest lockfile, package database or Dockerfile read: real ones are a few megabytes.
const MAX_MANIFEST_BYTES: u64 = 256 << 20;

/// How to scan a directory.
#[derive(Debug, Clone)]
pub struct ScanOptions<'a> {
    pub scanners: Scanners,
    /// The secret rules; also used to find secrets in Dockerfile `ENV` values.
    pub secrets: &'a SecretScanner,
    /// Skip what `.gitignore` and `.ignore` exclude.
    pub respect_ignore_files: bool,
}

/// Scans the directory `root` with the scanners `options` turns on. `advisories` is needed for
/// vulnerabilities; without it packages are listed but not checked.
///
/// # Errors
///
/// [`ScanError::Target`] when `root` cannot be read, [`ScanError::Advisories`] when the index
/// fails. Unreadable files inside are listed in the report instead.
pub fn scan_directory(
    root: &Path,
    options: &ScanOptions<'_>,
    advisories: Option<&AdvisoryIndex>,
) -> Result<Report, ScanError> {
    std::fs::metadata(root).map_err(|source| ScanError::Target {
        path: root.to_owned(),
        source,
    })?;
    let target = Target {
        kind: TargetKind::Filesystem,
        name: root.display().to_string(),
        image: None,
    };
    let mut report = Report::new(target, options.scanners);
    let mut inventory = InventoryBuilder::new();
    if options.scanners.vulnerabilities || options.scanners.config {
        for (relative, path) in named_files(root, options.respect_ignore_files, &mut report.skipped)
        {
            let file_name = relative.rsplit('/').next().unwrap_or(&relative);
            let role = FileRole::classify(&relative).filter(|_| options.scanners.vulnerabilities);
            let dockerfile = options.scanners.config && is_dockerfile(file_name);
            if role.is_none() && !dockerfile {
                continue;
            }
            let bytes = match read_limited(&path) {
                Ok(bytes) => bytes,
                Err(reason) => {
                    report.skipped.push(Skipped::new(relative, reason));
                    continue;
                }
            };
            if let Some(role) = role {
                inventory.add(&relative, role, &bytes);
            }
            if dockerfile {
                match check_dockerfile(&relative, &String::from_utf8_lossy(&bytes), options.secrets)
                {
                    Ok(found) => report.misconfigurations.extend(found),
                    Err(skipped) => report.skipped.push(skipped),
                }
            }
        }
    }
    if options.scanners.vulnerabilities {
        vulnerabilities::record(&mut report, inventory.finish(), advisories)?;
    }
    if options.scanners.secrets {
        let tree = TreeOptions {
            respect_ignore_files: options.respect_ignore_files,
            threads: 0,
        };
        let scan = options.secrets.scan_tree(root, &tree);
        report.secrets = scan.findings;
        report.skipped.extend(
            scan.unreadable
                .into_iter()
                .map(|file| Skipped::new(file.path, file.reason)),
        );
    }
    report.finish();
    Ok(report)
}

/// Scans the history of the git repository holding `root` for secrets.
///
/// # Errors
///
/// [`ScanError::History`] when git cannot read the history.
pub fn scan_history(root: &Path, secrets: &SecretScanner) -> Result<Report, ScanError> {
    let target = Target {
        kind: TargetKind::Repository,
        name: root.display().to_string(),
        image: None,
    };
    let mut report = Report::new(
        target,
        Scanners {
            secrets: true,
            ..Scanners::NONE
        },
    );
    report.secrets = secrets.scan_git_history(root)?.findings;
    report.finish();
    Ok(report)
}

/// Every regular file under `root`, as (path relative to `root`, path to open).
fn named_files(
    root: &Path,
    respect_ignore_files: bool,
    skipped: &mut Vec<Skipped>,
) -> Vec<(String, std::path::PathBuf)> {
    let mut files = Vec::new();
    let walk = source_walk(root, respect_ignore_files).build();
    for entry in walk {
        match entry {
            Ok(entry) if entry.file_type().is_some_and(|kind| kind.is_file()) => {
                let relative = entry.path().strip_prefix(root).unwrap_or(entry.path());
                let relative = if relative.as_os_str().is_empty() {
                    entry.file_name().to_string_lossy().into_owned()
                } else {
                    relative.to_string_lossy().replace('\\', "/")
                };
                files.push((relative, entry.into_path()));
            }
            Ok(_) => {}
            Err(error) => skipped.push(Skipped::new(root.display().to_string(), error.to_string())),
        }
    }
    files
}

fn read_limited(path: &Path) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|error| format!("cannot read it: {error}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_MANIFEST_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| format!("cannot read it: {error}"))?;
    if bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(format!(
            "it is larger than {MAX_MANIFEST_BYTES} bytes, more than any lockfile or Dockerfile"
        ));
    }
    Ok(bytes)
}
