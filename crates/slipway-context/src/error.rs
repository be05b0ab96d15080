//! What can go wrong turning a directory into a build context.

use std::io;
use std::path::PathBuf;

use crate::dockerignore::IgnoreError;

/// Why a build context could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// A file or directory inside the context could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A file shrank while it was being sent, so the tar would be corrupt.
    #[error("{} changed while it was being sent; try again", path.display())]
    Changed { path: PathBuf },
    /// The `.dockerignore` holds an invalid pattern.
    #[error("{}: {source}", path.display())]
    Ignore {
        path: PathBuf,
        #[source]
        source: IgnoreError,
    },
    /// The Dockerfile is not inside the context directory.
    #[error("the Dockerfile {} is outside the build context {}", dockerfile.display(), root.display())]
    DockerfileOutsideContext { dockerfile: PathBuf, root: PathBuf },
    /// There is no Dockerfile (or no regular file) at the configured path.
    #[error(
        "no Dockerfile at {}: set `dockerfile = \"path/to/Dockerfile\"` in slipway.toml if it lives elsewhere",
        path.display()
    )]
    MissingDockerfile { path: PathBuf },
    /// The output refused the bytes (for a stream: the receiver went away).
    #[error("writing the build context: {0}")]
    Write(#[source] io::Error),
}
