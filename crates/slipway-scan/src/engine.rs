//! Scanning an image the container engine holds: exported as a `docker save` archive into a
//! temporary file, then scanned like any archive.

use std::io::Write;

use futures::StreamExt;
use slipway_engine::{ContainerEngine, EngineError};
use slipway_vuln::AdvisoryIndex;

use crate::error::ScanError;
use crate::fs::ScanOptions;
use crate::image::{ImageSource, scan_image};
use crate::report::Report;

/// Scans the image `reference` from `engine`.
///
/// # Errors
///
/// [`ScanError::Engine`] when the engine has no such image or the export fails; then as
/// [`scan_image`].
pub async fn scan_engine_image(
    engine: &dyn ContainerEngine,
    reference: &str,
    options: &ScanOptions<'_>,
    advisories: Option<&AdvisoryIndex>,
) -> Result<Report, ScanError> {
    if !engine.image_exists(reference).await? {
        return Err(ScanError::Engine(EngineError::ImageNotFound {
            reference: reference.to_owned(),
        }));
    }
    let mut archive = tempfile::NamedTempFile::new().map_err(|source| ScanError::Target {
        path: std::env::temp_dir(),
        source,
    })?;
    let mut export = engine.export_image(reference);
    while let Some(chunk) = export.next().await {
        archive
            .write_all(&chunk?)
            .map_err(|source| ScanError::Target {
                path: archive.path().to_owned(),
                source,
            })?;
    }
    archive.flush().map_err(|source| ScanError::Target {
        path: archive.path().to_owned(),
        source,
    })?;
    scan_image(
        ImageSource::Archive {
            path: archive.path(),
            image: None,
        },
        reference,
        options,
        advisories,
    )
}
