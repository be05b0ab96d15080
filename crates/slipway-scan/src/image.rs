//! Scanning an image: its OS packages and lockfiles, and secrets in every file, in one pass over
//! its layers.
//!
//! The files the inventory reads (package databases, os-release, lockfiles) are captured as the
//! layers stream by; every other file is shown to the secret scanner as it passes and never
//! held. A secret found in a file that a later layer deletes or replaces is dropped: the report
//! describes the image as it runs, as the final file tree has it.

use std::io::{self, Read};
use std::path::Path;

use slipway_image::{BlobStore, FileVisitor, Image, ImageReader};
use slipway_inventory::{FileRole, InventoryBuilder};
use slipway_secrets::{FileOutcome, SecretScanner};
use slipway_vuln::AdvisoryIndex;

use crate::error::ScanError;
use crate::fs::ScanOptions;
use crate::report::{ImageIdentity, Report, SecretFinding, Skipped, Target, TargetKind};
use crate::vulnerabilities;

/// Where the image to scan comes from.
#[derive(Clone, Copy)]
pub enum ImageSource<'a> {
    /// A `docker save` archive, an OCI layout directory or an OCI layout tar. `image` picks one
    /// when it holds several.
    Archive {
        path: &'a Path,
        image: Option<&'a str>,
    },
    /// An image a registry holds: its manifest and its blob store.
    Blobs {
        store: &'a dyn BlobStore,
        manifest: &'a [u8],
    },
}

impl std::fmt::Debug for ImageSource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImageSource::Archive { path, image } => f
                .debug_struct("Archive")
                .field("path", path)
                .field("image", image)
                .finish(),
            ImageSource::Blobs { manifest, .. } => f
                .debug_struct("Blobs")
                .field("manifest_bytes", &manifest.len())
                .finish_non_exhaustive(),
        }
    }
}

/// Scans an image; `name` is how the report names it (the reference or the archive given).
///
/// # Errors
///
/// [`ScanError::Image`] when it is not an image or its manifest or config is unreadable;
/// [`ScanError::Advisories`] when the index fails. Damaged layers are listed as skipped.
pub fn scan_image(
    source: ImageSource<'_>,
    name: &str,
    options: &ScanOptions<'_>,
    advisories: Option<&AdvisoryIndex>,
) -> Result<Report, ScanError> {
    let mut report = Report::new(
        Target {
            kind: TargetKind::Image,
            name: name.to_owned(),
            image: None,
        },
        options.scanners,
    );
    let inventory_wanted = options.scanners.vulnerabilities;
    let mut secrets = SecretVisitor {
        scanner: options.secrets,
        found: Vec::new(),
        unreadable: Vec::new(),
    };
    let mut reader = ImageReader::new()
        .capture(move |path| inventory_wanted && FileRole::classify(path).is_some());
    if options.scanners.secrets {
        reader = reader.visitor(&mut secrets);
    }
    let image = match source {
        ImageSource::Archive {
            path,
            image: Some(chosen),
        } => reader.name(chosen).open(path)?,
        ImageSource::Archive { path, image: None } => reader.open(path)?,
        ImageSource::Blobs { store, manifest } => reader.from_blobs(name, store, manifest)?,
    };
    report.target.image = Some(identity(&image));
    report
        .skipped
        .extend(image.problems().iter().map(|problem| Skipped {
            path: match problem.layer {
                Some(layer) => format!("layer {layer}: {}", problem.path),
                None => problem.path.clone(),
            },
            line: None,
            column: None,
            reason: problem.message.clone(),
        }));
    if options.scanners.vulnerabilities {
        let mut inventory = InventoryBuilder::new();
        let mut captured: Vec<(&str, &[u8])> = image.captured().collect();
        captured.sort_by_key(|(path, _)| *path);
        for (path, contents) in captured {
            if let Some(role) = FileRole::classify(path) {
                inventory.add(path, role, contents);
            }
        }
        vulnerabilities::record(&mut report, inventory.finish(), advisories)?;
    }
    report.secrets = secrets
        .found
        .into_iter()
        .filter(|(layer, finding)| image.is_current(&finding.path, *layer))
        .map(|(_, finding)| finding)
        .collect();
    report
        .secrets
        .sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    report.skipped.extend(secrets.unreadable);
    report.finish();
    Ok(report)
}

fn identity(image: &Image) -> ImageIdentity {
    let info = image.info();
    ImageIdentity {
        id: info.id.clone(),
        manifest_digest: info.manifest_digest.clone(),
        tags: info.tags.clone(),
        os: info.os.clone(),
        architecture: info.architecture.clone(),
        layers: info.layers,
    }
}

/// Scans every file of every layer for secrets as it streams by.
struct SecretVisitor<'s> {
    scanner: &'s SecretScanner,
    /// Findings with the layer of the file they were found in.
    found: Vec<(usize, SecretFinding)>,
    unreadable: Vec<Skipped>,
}

impl FileVisitor for SecretVisitor<'_> {
    fn wants(&mut self, _path: &str, size: u64) -> bool {
        size > 0
    }

    fn visit(&mut self, layer: usize, path: &str, contents: &mut dyn Read) -> io::Result<()> {
        match self.scanner.scan_reader(path, contents) {
            Ok(FileOutcome::Scanned { findings, .. }) => self
                .found
                .extend(findings.into_iter().map(|finding| (layer, finding))),
            Ok(FileOutcome::Binary | FileOutcome::Allowed) => {}
            Err(error) => self.unreadable.push(Skipped::new(
                format!("layer {layer}: {path}"),
                error.to_string(),
            )),
        }
        Ok(())
    }
}
