//! Why a build could not be prepared or did not succeed.

use std::path::PathBuf;

use slipway_config::ConfigError;
use slipway_context::ContextError;
use slipway_dockerfile::ParseError;
use slipway_engine::EngineError;
use slipway_git::GitError;
use slipway_store::StoreError;

use crate::log::BuildLog;
use crate::version::VersionError;

/// A build that could not be prepared, or did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The config is invalid or names no such service.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The config declares no service.
    #[error("{} declares no service to build", config.display())]
    NoServices {
        /// The config file.
        config: PathBuf,
    },
    /// The config declares several services and none was named.
    #[error("which service? slipway.toml declares {}", services.join(", "))]
    WhichService {
        /// The services declared.
        services: Vec<String>,
    },
    /// The build context directory does not exist.
    #[error("the build context {} of service `{service}` does not exist", path.display())]
    ContextMissing {
        /// The directory.
        path: PathBuf,
        /// The service.
        service: String,
    },
    /// The Dockerfile does not exist.
    #[error("no Dockerfile at {} for service `{service}`", path.display())]
    DockerfileMissing {
        /// Where it was looked for.
        path: PathBuf,
        /// The service.
        service: String,
    },
    /// The Dockerfile does not parse.
    #[error("{}:{}:{}: {}", path.display(), error.line(), error.column(), error.message())]
    DockerfileInvalid {
        /// The Dockerfile.
        path: PathBuf,
        /// Where and why.
        error: ParseError,
    },
    /// `--target` (or `target` in slipway.toml) names no stage of the Dockerfile.
    #[error("{} has no stage `{target}`; its stages are {}", path.display(), stages.join(", "))]
    UnknownTarget {
        /// The Dockerfile.
        path: PathBuf,
        /// The stage asked for.
        target: String,
        /// The stages it has (names, or indexes for unnamed ones).
        stages: Vec<String>,
    },
    /// git could not tell the commit or branch.
    #[error(transparent)]
    Git(#[from] GitError),
    /// A manifest holding the version is broken.
    #[error(transparent)]
    Version(#[from] VersionError),
    /// The build context could not be read.
    #[error(transparent)]
    Context(#[from] ContextError),
    /// The engine failed the build, or could not be reached.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The build could not be recorded.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The build was cancelled (Ctrl-C).
    #[error("the build was cancelled")]
    Cancelled,
    /// A bug in Slipway.
    #[error("internal error: {0}")]
    Internal(String),
}

impl BuildError {
    /// An engine error during a build, with the engine's last output attached when it gave none.
    pub(crate) fn from_engine(error: EngineError, log: &BuildLog) -> BuildError {
        match error {
            EngineError::BuildFailed { message, output } if output.is_empty() => {
                BuildError::Engine(EngineError::BuildFailed {
                    message,
                    output: log.tail(),
                })
            }
            other => BuildError::Engine(other),
        }
    }
}
