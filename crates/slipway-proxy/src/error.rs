//! What can go wrong starting a proxy or changing its routes.

use std::path::PathBuf;

use crate::config::EndpointError;
use crate::table::TableError;

/// Why [`crate::Proxy::start`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// A listener could not be bound (the address is in use, or not this machine's).
    #[error("cannot listen on {addr} for the {what}: {source}")]
    Bind {
        /// Which listener: "proxy", "metrics listener" or "control API".
        what: &'static str,
        /// The address or socket path.
        addr: String,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// Another process answers on the control socket: probably another proxy.
    #[error("another process answers on the control socket {}", .path.display())]
    ControlSocketInUse {
        /// The socket's path.
        path: PathBuf,
    },
    /// Something that is not a socket sits where the control socket should go.
    #[error("{} exists and is not a socket; not replacing it with the control socket", .path.display())]
    ControlPathTaken {
        /// The path.
        path: PathBuf,
    },
    /// The control endpoint is not acceptable.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// A setting is out of range.
    #[error("proxy setting `{setting}`: {problem}")]
    InvalidSetting {
        /// The [`crate::ProxyConfig`] field.
        setting: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// The worker threads could not be started.
    #[error("cannot start the proxy's worker threads: {source}")]
    Workers {
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The saved routing table cannot be read back.
    #[error("the proxy's state file {} cannot be used: {cause}", .path.display())]
    StateFile {
        /// The file.
        path: PathBuf,
        /// Why (an I/O error, or where the JSON is wrong).
        cause: String,
    },
}

/// Why [`crate::Proxy::apply`] or [`crate::Proxy::update`] changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The change given to [`crate::Proxy::update`] made an invalid table.
    #[error(transparent)]
    Table(#[from] TableError),
    /// The table could not be saved, so it was not applied: a restart would have lost it.
    #[error("cannot save the routing table to {}: {source}; the previous table still serves", .path.display())]
    StateFile {
        /// The state file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The proxy is stopping and takes no more changes.
    #[error("the proxy is shutting down")]
    ShuttingDown,
}
