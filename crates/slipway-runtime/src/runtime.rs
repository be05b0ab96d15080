//! [`Runtime`]: the seam between the deploy controller and whatever runs replicas.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

use crate::error::RuntimeError;
use crate::replica::{LogLine, Replica, ReplicaId, ReplicaStats};
use crate::spec::{Labels, ReplicaSpec};

/// Which runtime runs a replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuntimeKind {
    /// Supervised child processes on this machine ([`ProcessRuntime`](crate::ProcessRuntime)).
    Process,
    /// Containers in the container engine ([`ContainerRuntime`](crate::ContainerRuntime)).
    Container,
}

impl RuntimeKind {
    /// The name used in `slipway.toml`, on the command line and in records.
    pub fn as_str(self) -> &'static str {
        match self {
            RuntimeKind::Process => "process",
            RuntimeKind::Container => "container",
        }
    }
}

impl fmt::Display for RuntimeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Starts, stops, lists and observes replicas.
///
/// Every replica carries the labels of its spec, so after a crash whoever owns replicas finds
/// them again with [`list`](Runtime::list) and stops what it no longer wants: nothing is
/// orphaned. Health is not the runtime's business: a running replica may well be unhealthy, and
/// Slipway checks health itself over HTTP on [`Replica::address`].
#[async_trait]
pub trait Runtime: Send + Sync + fmt::Debug {
    /// Which runtime this is.
    fn kind(&self) -> RuntimeKind;

    /// Starts a replica and returns it running, with the address it answers on. Returns as
    /// soon as it runs; it may take longer to answer.
    async fn start(&self, spec: &ReplicaSpec) -> Result<Replica, RuntimeError>;

    /// Stops a replica, giving it `grace` after SIGTERM to finish in-flight work before it is
    /// killed, and forgets it. Stopping a replica that is already gone succeeds.
    async fn stop(&self, replica: &ReplicaId, grace: Duration) -> Result<(), RuntimeError>;

    /// The replicas whose labels include every pair of `selector`, in any state.
    async fn list(&self, selector: &Labels) -> Result<Vec<Replica>, RuntimeError>;

    /// The last `tail` lines of a replica's output (all of it with `None`), oldest first.
    async fn logs(
        &self,
        replica: &ReplicaId,
        tail: Option<usize>,
    ) -> Result<Vec<LogLine>, RuntimeError>;

    /// The last `tail` lines of a replica's output (all of it with `None`), then every line it
    /// writes after, as it writes it; the stream lasts until it is dropped (or, for a container,
    /// until the container is gone).
    fn follow(
        &self,
        replica: &ReplicaId,
        tail: Option<usize>,
    ) -> BoxStream<'static, Result<LogLine, RuntimeError>>;

    /// Measures a running replica's CPU and memory use.
    async fn stats(&self, replica: &ReplicaId) -> Result<ReplicaStats, RuntimeError>;
}
