//! Scanning an image the container engine holds: exported as a `docker save` archive into a
//! temporary file, then scanned like any archive. An image the engine does not have is pulled
//! first when asked, so `slipway scan image REF` reaches any registry the engine can.

use std::io::Write;

use futures::StreamExt;
use slipway_engine::{ContainerEngine, EngineError};
use slipway_vuln::AdvisoryIndex;

use crate::error::ScanError;
use crate::fs::ScanOptions;
use crate::image::{ImageSource, scan_image};
use crate::report::Report;

/// Whether to pull an image the engine does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pull {
    IfMissing,
    Never,
}

/// Scans the image `reference` from `engine`.
///
/// # Errors
///
/// [`ScanError::Engine`] when the engine has no such image (and may not, or cannot, pull it)
/// or the export fails; then as [`scan_image`].
pub async fn scan_engine_image(
    engine: &dyn ContainerEngine,
    reference: &str,
    pull: Pull,
    options: &ScanOptions<'_>,
    advisories: Option<&AdvisoryIndex>,
) -> Result<Report, ScanError> {
    if !engine.image_exists(reference).await? {
        match pull {
            Pull::IfMissing => engine.pull_image(reference, None).await?,
            Pull::Never => {
                return Err(ScanError::Engine(EngineError::ImageNotFound {
                    reference: reference.to_owned(),
                }));
            }
        }
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
