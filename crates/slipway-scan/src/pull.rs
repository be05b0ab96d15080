//! Scanning an image a registry holds without a container engine: `slipway-registry-client`
//! pulls this machine's platform of it, with the credentials its client carries, into a
//! temporary OCI image layout, which is then scanned like any layout and removed.

use slipway_registry_client::{ImageName, Platform, RegistryClient};
use slipway_vuln::AdvisoryIndex;

use crate::error::ScanError;
use crate::fs::ScanOptions;
use crate::image::{ImageSource, scan_image};
use crate::report::Report;

/// Pulls the image `name` through `client` (which must be for `name`'s registry) and scans it;
/// `name`'s text names the target in the report.
///
/// # Errors
///
/// [`ScanError::Registry`] when the pull fails; then as [`scan_image`].
pub async fn scan_registry_image(
    client: &RegistryClient,
    name: &ImageName,
    target: &str,
    options: &ScanOptions<'_>,
    advisories: Option<&AdvisoryIndex>,
) -> Result<Report, ScanError> {
    let layout = tempfile::tempdir().map_err(|source| ScanError::Target {
        path: std::env::temp_dir(),
        source,
    })?;
    let (os, architecture) = slipway_image::host_platform();
    client
        .pull_image(
            &name.repository,
            &name.reference,
            Platform { os, architecture },
            layout.path(),
        )
        .await?;
    scan_image(
        ImageSource::Archive {
            path: layout.path(),
            image: None,
        },
        target,
        options,
        advisories,
    )
}
