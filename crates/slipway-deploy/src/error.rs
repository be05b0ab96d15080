//! [`DeployError`]: why a deploy, a rollback or a daemon call could not be carried out.
//!
//! A release that fails its health check or its analysis is not an error here: it is a deploy
//! that ran and ended badly, reported in the [`crate::DeployReport`] and recorded in the store.
//! These are the failures that stop Slipway from doing its work at all.

use std::path::PathBuf;

use slipway_proxy::{NameError, TableError};
use slipway_runtime::{InvalidSpec, RuntimeError};
use slipway_store::{ReleaseId, StoreError};

/// An error from the deploy crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeployError {
    /// The state store failed.
    #[error(transparent)]
    Store(#[from] StoreError),

    /// A runtime failed to start, stop or read a replica.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),

    /// A name Slipway derived (a backend, a pool, a host) is not valid for the proxy.
    #[error(transparent)]
    Name(#[from] NameError),

    /// A replica spec could not be made (a name too long for the runtime).
    #[error(transparent)]
    Spec(#[from] InvalidSpec),

    /// The routing table a change would make is invalid.
    #[error(transparent)]
    Table(#[from] TableError),

    /// Another release of the service is being deployed by a running controller.
    #[error(
        "release {release} of {service} is being deployed by {}",
        controller.map_or_else(|| "another process".to_owned(), |pid| format!("process {pid}"))
    )]
    Busy {
        /// The release in progress.
        release: ReleaseId,
        /// The service, as `SERVICE in ENV`.
        service: String,
        /// The controller's process id, when known.
        controller: Option<u32>,
    },

    /// A canary waits for a promotion; a new deploy would take its place unasked.
    #[error("release {release} of {service} is a canary paused at {weight}% of the traffic")]
    Paused {
        /// The paused release.
        release: ReleaseId,
        /// The service, as `SERVICE in ENV`.
        service: String,
        /// The canary's share of traffic.
        weight: u32,
    },

    /// Nothing waits for `promote` or `abort`.
    #[error("no release of {service} waits for a promotion")]
    NotPaused {
        /// The service, as `SERVICE in ENV`.
        service: String,
    },

    /// The service has no release serving.
    #[error("{service} has no release serving")]
    NotDeployed {
        /// The service, as `SERVICE in ENV`.
        service: String,
    },

    /// A rollback has no earlier release to go back to.
    #[error("{service} has no earlier release to roll back to")]
    NothingToRollBack {
        /// The service, as `SERVICE in ENV`.
        service: String,
    },

    /// A release named by a person does not exist, or belongs to another service.
    #[error("release {release} is not a release of {service}")]
    UnknownRelease {
        /// The id asked for.
        release: ReleaseId,
        /// The service, as `SERVICE in ENV`.
        service: String,
    },

    /// A rollback to the release that serves already.
    #[error("release {release} already serves {service}")]
    AlreadyServing {
        /// The release.
        release: ReleaseId,
        /// The service, as `SERVICE in ENV`.
        service: String,
    },

    /// Replicas added by a scale did not start or never became healthy; they were stopped.
    #[error("new replicas of {service} failed: {reason}")]
    ReplicasFailed {
        /// The service, as `SERVICE in ENV`.
        service: String,
        /// Why.
        reason: String,
    },

    /// A release to roll back to never served.
    #[error("release {release} never served ({status}); roll back to one that did")]
    NeverServed {
        /// The release.
        release: ReleaseId,
        /// How it ended.
        status: &'static str,
    },

    /// A stored release spec cannot be read: the database was edited, or written by an
    /// incompatible slipway.
    #[error("the stored spec of release {release} cannot be read: {message}")]
    StoredSpec {
        /// The release.
        release: ReleaseId,
        /// What is wrong.
        message: String,
    },

    /// A file or directory the deploy reads could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },

    /// The daemon does not answer on its socket.
    #[error("the slipway daemon does not answer at {}: {source}", socket.display())]
    DaemonUnreachable {
        /// The control socket.
        socket: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },

    /// The daemon answered, but not as its protocol says, or it stopped answering midway.
    #[error("talking to the slipway daemon failed: {message}")]
    DaemonProtocol {
        /// What went wrong.
        message: String,
    },

    /// The daemon could not carry out a request.
    #[error("{message}")]
    Remote {
        /// What kind of failure it was, so the command can add the right hint.
        kind: RemoteErrorKind,
        /// The daemon's message.
        message: String,
    },

    /// The daemon could not be started.
    #[error("cannot start the slipway daemon: {message}")]
    DaemonStart {
        /// Why, with the end of its log.
        message: String,
    },
}

/// The kind of a failure the daemon reports, carried across its socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemoteErrorKind {
    /// The image to run does not exist.
    ImageNotFound,
    /// A replica could not be started.
    ReplicaStart,
    /// No replica, release or backend of that name.
    NotFound,
    /// The container engine is unavailable.
    Engine,
    /// A routing change was invalid.
    Table,
    /// Anything else.
    Other,
}

impl DeployError {
    /// The kind to send across the daemon's socket for this error.
    pub(crate) fn remote_kind(&self) -> RemoteErrorKind {
        match self {
            DeployError::Runtime(RuntimeError::ImageNotFound { .. }) => {
                RemoteErrorKind::ImageNotFound
            }
            DeployError::Runtime(RuntimeError::NotFound { .. }) => RemoteErrorKind::NotFound,
            DeployError::Runtime(RuntimeError::Engine(_)) => RemoteErrorKind::Engine,
            DeployError::Runtime(_) => RemoteErrorKind::ReplicaStart,
            DeployError::Table(_) | DeployError::Name(_) => RemoteErrorKind::Table,
            DeployError::Remote { kind, .. } => *kind,
            _ => RemoteErrorKind::Other,
        }
    }
}
