//! Where replicas of a release run: supervised processes or containers, behind one trait.
//!
//! [`Runtime`] is the seam the deploy controller, the daemon and the autoscaler talk to: start a
//! replica from a [`ReplicaSpec`], stop it gracefully, list replicas by labels (to find what a
//! crashed controller left), read its output and measure its CPU and memory. Two runtimes
//! implement it:
//!
//! - [`ProcessRuntime`], the embedded default: each replica is a child process in its own process
//!   group, on a loopback port allocated here, its output captured to a file, restarted with
//!   backoff when it crashes; its state is kept on disk so a supervisor that restarts adopts the
//!   processes an earlier one left.
//! - [`ContainerRuntime`]: each replica is a container in the engine behind
//!   [`slipway_engine::ContainerEngine`], its port published on 127.0.0.1 at a port the engine
//!   picks, with labels, limits and a restart policy.
//!
//! A release never depends on which one runs it: both hand back a [`Replica`] with the loopback
//! [`address`](Replica::address) its service answers on, and health is checked by Slipway over
//! HTTP there, never by the engine.
//!
//! ```no_run
//! use std::time::Duration;
//! use slipway_runtime::{ProcessRuntime, ReplicaSpec, Runtime, Workload};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let runtime = ProcessRuntime::open("/tmp/slipway/processes".as_ref()).await?;
//! let spec = ReplicaSpec::new(
//!     "hello-dev-r1-1",
//!     Workload::Command { command: "node src/server.js".into(), working_dir: "examples/hello".into() },
//!     3000,
//! )?
//! .labels([("dev.slipway.release".to_owned(), "1".to_owned())]);
//! let replica = runtime.start(&spec).await?;
//! println!("answers on http://{}", replica.address);
//! runtime.stop(&replica.id, Duration::from_secs(10)).await?;
//! # Ok(())
//! # }
//! ```

mod container;
mod error;
mod process;
mod replica;
mod runtime;
mod spec;

pub use container::{ContainerRuntime, HOST_ALIAS, MANAGED_LABEL};
pub use error::RuntimeError;
pub use process::{CgroupHierarchy, ProcessLimits, ProcessRuntime};
pub use replica::{LogLine, LogStream, Replica, ReplicaId, ReplicaState, ReplicaStats};
pub use runtime::{Runtime, RuntimeKind};
pub use spec::{
    DEFAULT_STOP_GRACE, InvalidSpec, Labels, ReplicaSpec, Resources, RestartPolicy, Workload,
    matches_labels,
};
