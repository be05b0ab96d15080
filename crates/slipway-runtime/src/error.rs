//! [`RuntimeError`]: why a replica could not be started, stopped or read.

use std::path::PathBuf;

use slipway_engine::EngineError;

use crate::runtime::RuntimeKind;

/// An error from a runtime.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// The runtime cannot run this kind of workload: the process runtime runs commands, the
    /// container runtime runs images.
    #[error("the {runtime} runtime cannot run {workload}")]
    Unsupported {
        /// The runtime asked.
        runtime: RuntimeKind,
        /// What it was asked to run, e.g. "an image".
        workload: &'static str,
    },

    /// The image to run is not in the container engine.
    #[error("no image {reference} in the container engine")]
    ImageNotFound {
        /// The reference asked for.
        reference: String,
    },

    /// The replica's command could not be started at all (no `/bin/sh`, a missing working
    /// directory).
    #[error("cannot start replica {replica} (`{command}` in {}): {source}", working_dir.display())]
    Spawn {
        /// The replica.
        replica: String,
        /// The command line.
        command: String,
        /// Where it was to run.
        working_dir: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },

    /// No free loopback port could be had for a replica.
    #[error("cannot allocate a loopback port for replica {replica}: {source}")]
    NoPort {
        /// The replica.
        replica: String,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },

    /// The engine started the container but did not publish its port.
    #[error("container {container} runs but its port {port} is not published on the host")]
    NotPublished {
        /// The container.
        container: String,
        /// The container port.
        port: u16,
    },

    /// A replica's cgroup could not be made or given its limits.
    #[error("cannot confine replica {replica} to its limits at {}: {source}", path.display())]
    Cgroup {
        /// The replica.
        replica: String,
        /// The cgroup directory or interface file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },

    /// The runtime's state directory cannot be read or written.
    #[error("cannot use the runtime's state at {}: {source}", path.display())]
    State {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },

    /// Another process supervises the replicas in this state directory.
    #[error("another process already supervises the replicas in {}", dir.display())]
    Locked {
        /// The state directory.
        dir: PathBuf,
    },

    /// No replica with this id.
    #[error("no replica {replica}")]
    NotFound {
        /// The id asked for.
        replica: String,
    },

    /// A replica with this name exists already.
    #[error("a replica named {replica} exists already")]
    NameInUse {
        /// The name.
        replica: String,
    },

    /// The container engine failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
}
