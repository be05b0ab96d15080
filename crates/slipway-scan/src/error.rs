//! Why a scan could not produce a report at all. Problems with single files are not errors:
//! they are listed in the report's `skipped` and the scan goes on.

use std::path::PathBuf;

/// An error that stops a scan.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    /// The target does not exist or cannot be read.
    #[error("cannot read {}", path.display())]
    Target {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The advisory index failed.
    #[error(transparent)]
    Advisories(#[from] slipway_vuln::IndexError),
    /// git history could not be read.
    #[error(transparent)]
    History(#[from] slipway_secrets::HistoryError),
    /// The container engine could not give the image.
    #[error(transparent)]
    Engine(#[from] slipway_engine::EngineError),
    /// The registry could not give the image.
    #[error(transparent)]
    Registry(#[from] slipway_registry_client::ClientError),
    /// The image could not be read at all.
    #[error(transparent)]
    Image(#[from] slipway_image::ImageError),
}
