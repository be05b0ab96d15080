//! Why an image could not be read at all, and what went wrong inside one that was.
//!
//! [`ImageError`] stops the read: no manifest, no config, an unreadable archive. A layer that
//! is truncated, too large or not a tar is an [`ImageProblem`] instead: the layers before and
//! after it still apply, and the problem is listed in the scan's report.

use std::path::PathBuf;

/// An image that cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// The archive or directory cannot be read.
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// It is neither a docker-archive (`manifest.json`) nor an OCI layout (`index.json`).
    #[error("{} is not a container image: it has neither manifest.json (docker save) nor index.json (OCI layout)", path.display())]
    NotAnImage { path: PathBuf },
    /// A part the image cannot do without (manifest, config) is missing or malformed.
    #[error("{}: {part}: {message}", path.display())]
    Malformed {
        path: PathBuf,
        /// The file inside the image (`manifest.json`, `blobs/sha256/...`).
        part: String,
        message: String,
    },
    /// The image holds several images and none was chosen.
    #[error("{} holds {count} images ({}); name one", path.display(), names.join(", "))]
    Ambiguous {
        path: PathBuf,
        count: usize,
        names: Vec<String>,
    },
}

/// A problem with part of an image that was read anyway.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImageProblem {
    /// The layer (from 0, base first), when the problem is in one.
    pub layer: Option<usize>,
    /// The file inside the image archive (the layer blob), or the path inside the layer.
    pub path: String,
    pub message: String,
}
