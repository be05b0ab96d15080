//! [`Platform`]: what the controller drives, namely the runtimes that run replicas and the proxy
//! that routes to them; and [`LocalPlatform`], the one that holds both in this process.
//!
//! The daemon holds a `LocalPlatform` and serves it on its socket; the `slipway` command reaches
//! it through [`crate::DaemonClient`], which implements `Platform` too. So the controller is the
//! same code whether it runs in a test beside an in-process proxy or in the command beside the
//! daemon.

use std::collections::{BTreeSet, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use slipway_engine::{ContainerEngine, DockerEngine, EndpointChoice};
use slipway_proxy::{
    Applied, BackendId, DrainReport, MetricsSnapshot, Proxy, TableVersion, UpstreamHealth,
    VersionedTable,
};
use slipway_runtime::{
    ContainerRuntime, Labels, LogLine, ProcessRuntime, Replica, ReplicaId, ReplicaSpec,
    ReplicaStats, Runtime, RuntimeError, RuntimeKind,
};
use tokio::sync::OnceCell;

use crate::error::{DeployError, RemoteErrorKind};
use crate::relay::Relays;
use crate::traffic::{TrafficEdit, apply_edit};

/// The runtimes and the proxy, as the controller sees them.
#[async_trait]
pub trait Platform: Send + Sync + fmt::Debug {
    /// Starts a replica in `runtime`.
    async fn start_replica(
        &self,
        runtime: RuntimeKind,
        spec: &ReplicaSpec,
    ) -> Result<Replica, DeployError>;

    /// Stops a replica, giving it `grace` to finish its requests.
    async fn stop_replica(
        &self,
        runtime: RuntimeKind,
        replica: &ReplicaId,
        grace: Duration,
    ) -> Result<(), DeployError>;

    /// The replicas of `runtime` whose labels include `selector`.
    async fn replicas(
        &self,
        runtime: RuntimeKind,
        selector: &Labels,
    ) -> Result<Vec<Replica>, DeployError>;

    /// The last `tail` lines of a replica's output.
    async fn logs(
        &self,
        runtime: RuntimeKind,
        replica: &ReplicaId,
        tail: Option<usize>,
    ) -> Result<Vec<LogLine>, DeployError>;

    /// A replica's CPU and memory use.
    async fn stats(
        &self,
        runtime: RuntimeKind,
        replica: &ReplicaId,
    ) -> Result<ReplicaStats, DeployError>;

    /// Applies a traffic edit atomically; returns the new table's version.
    async fn edit_traffic(&self, edit: &TrafficEdit) -> Result<TableVersion, DeployError>;

    /// Removes a backend and its routes.
    async fn remove_backend(&self, backend: &BackendId) -> Result<TableVersion, DeployError>;

    /// Waits until the upstreams the apply that made `version` removed have finished their
    /// requests (or the proxy's drain timeout passed).
    async fn drained(&self, version: TableVersion) -> Result<DrainReport, DeployError>;

    /// The routing table being served.
    async fn routes(&self) -> Result<VersionedTable, DeployError>;

    /// Every pool's figures now.
    async fn metrics(&self) -> Result<MetricsSnapshot, DeployError>;

    /// The proxy's view of every upstream's health.
    async fn upstream_health(&self) -> Result<Vec<UpstreamHealth>, DeployError>;

    /// Where the proxy serves.
    fn proxy_address(&self) -> SocketAddr;
}

/// The runtimes and the proxy in this process.
#[derive(Clone)]
pub struct LocalPlatform {
    process: ProcessRuntime,
    container: Arc<OnceCell<ContainerRuntime>>,
    docker_host: Option<String>,
    proxy: Proxy,
    /// The proxy as containers reach it, on each container network's gateway.
    relays: Arc<Relays>,
    /// The container networks whose containers this platform serves (by name), which it relays
    /// the proxy to; another project's are not its business.
    relayed: Arc<Mutex<BTreeSet<String>>>,
    /// The latest applies, so a drain can be waited for by version.
    applied: Arc<Mutex<VecDeque<Applied>>>,
}

/// How many recent applies [`LocalPlatform`] remembers for [`Platform::drained`]; a controller
/// waits for the drain of its own apply right after making it.
const REMEMBERED_APPLIES: usize = 256;

impl fmt::Debug for LocalPlatform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalPlatform")
            .field("process", &self.process)
            .field("proxy", &self.proxy.listen_addr())
            .finish_non_exhaustive()
    }
}

impl LocalPlatform {
    /// Runs processes in `process` and routes with `proxy`. The container engine is found the
    /// first time a container is asked for (`DOCKER_HOST`, then the usual sockets), so a machine
    /// without one deploys processes all the same.
    pub fn new(
        process: ProcessRuntime,
        proxy: Proxy,
        docker_host: Option<String>,
    ) -> LocalPlatform {
        LocalPlatform {
            process,
            container: Arc::new(OnceCell::new()),
            docker_host,
            relays: Arc::new(Relays::new(proxy.listen_addr())),
            relayed: Arc::default(),
            proxy,
            applied: Arc::default(),
        }
    }

    /// Remembers an apply for [`Platform::drained`] and returns its version.
    fn remember(&self, applied: Applied) -> TableVersion {
        let version = applied.version();
        let mut remembered = self.applied.lock().unwrap_or_else(PoisonError::into_inner);
        if remembered.len() == REMEMBERED_APPLIES {
            remembered.pop_front();
        }
        remembered.push_back(applied);
        version
    }

    /// The same, with containers in `engine`.
    pub fn with_engine(self, engine: Arc<dyn ContainerEngine>) -> LocalPlatform {
        LocalPlatform {
            container: Arc::new(OnceCell::new_with(Some(ContainerRuntime::new(engine)))),
            ..self
        }
    }

    /// The proxy.
    pub fn proxy(&self) -> &Proxy {
        &self.proxy
    }

    /// The process runtime.
    pub fn process_runtime(&self) -> &ProcessRuntime {
        &self.process
    }

    /// A replica's last `tail` lines of output, then each new line as it is written, until the
    /// stream is dropped.
    pub async fn follow_logs(
        &self,
        runtime: RuntimeKind,
        replica: &ReplicaId,
        tail: Option<usize>,
    ) -> Result<futures::stream::BoxStream<'static, Result<LogLine, RuntimeError>>, DeployError>
    {
        Ok(self.runtime(runtime).await?.follow(replica, tail))
    }

    /// Where containers reach the proxy now: one address per container network.
    pub fn relay_addresses(&self) -> Vec<SocketAddr> {
        self.relays.addresses()
    }

    /// Relays the proxy to the container networks named `slipway-PROJECT-…` that exist: the
    /// networks of containers an earlier daemon of `project` left.
    pub async fn relay_project_networks(&self, project: &str) {
        let prefix = format!("slipway-{project}-");
        if let Ok(runtime) = self.container_runtime().await
            && let Ok(networks) = runtime.network_gateways().await
        {
            self.relayed_names().extend(
                networks
                    .into_iter()
                    .map(|(name, _)| name)
                    .filter(|name| name.starts_with(&prefix)),
            );
        }
        self.sync_relays().await;
    }

    fn relayed_names(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        self.relayed.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Offers the proxy on the gateway of each relayed network that exists, and no other: after
    /// a replica joined or left one.
    pub async fn sync_relays(&self) {
        let runtime = match self.container_runtime().await {
            Ok(runtime) => runtime,
            Err(error) => {
                // A machine without an engine has no container to offer the proxy to.
                tracing::debug!(%error, "no container engine: no relays");
                return;
            }
        };
        match runtime.network_gateways().await {
            Ok(networks) => {
                let mut relayed = self.relayed_names();
                relayed.retain(|name| networks.iter().any(|(network, _)| network == name));
                let gateways: Vec<_> = networks
                    .into_iter()
                    .filter(|(name, _)| relayed.contains(name))
                    .map(|(_, gateway)| gateway)
                    .collect();
                self.relays.sync(&gateways);
            }
            Err(error) => tracing::warn!(%error, "cannot list the container networks"),
        }
    }

    async fn runtime(&self, kind: RuntimeKind) -> Result<&dyn Runtime, DeployError> {
        match kind {
            RuntimeKind::Process => Ok(&self.process),
            RuntimeKind::Container => Ok(self.container_runtime().await?),
        }
    }

    async fn container_runtime(&self) -> Result<&ContainerRuntime, RuntimeError> {
        self.container
            .get_or_try_init(|| async {
                let choice = EndpointChoice::Discover {
                    docker_host: self.docker_host.clone(),
                };
                let engine = DockerEngine::connect(choice).await?;
                Ok::<_, RuntimeError>(ContainerRuntime::new(Arc::new(engine)))
            })
            .await
    }
}

#[async_trait]
impl Platform for LocalPlatform {
    async fn start_replica(
        &self,
        runtime: RuntimeKind,
        spec: &ReplicaSpec,
    ) -> Result<Replica, DeployError> {
        if runtime == RuntimeKind::Container
            && let Some(network) = spec.network_name()
        {
            // The relay listens before the replica can call through it.
            self.container_runtime()
                .await?
                .prepare_network(network)
                .await?;
            self.relayed_names().insert(network.to_owned());
            self.sync_relays().await;
        }
        Ok(self.runtime(runtime).await?.start(spec).await?)
    }

    async fn stop_replica(
        &self,
        runtime: RuntimeKind,
        replica: &ReplicaId,
        grace: Duration,
    ) -> Result<(), DeployError> {
        self.runtime(runtime).await?.stop(replica, grace).await?;
        if runtime == RuntimeKind::Container {
            // The last replica of an environment took its network, and the relay goes with it.
            self.sync_relays().await;
        }
        Ok(())
    }

    async fn replicas(
        &self,
        runtime: RuntimeKind,
        selector: &Labels,
    ) -> Result<Vec<Replica>, DeployError> {
        Ok(self.runtime(runtime).await?.list(selector).await?)
    }

    async fn logs(
        &self,
        runtime: RuntimeKind,
        replica: &ReplicaId,
        tail: Option<usize>,
    ) -> Result<Vec<LogLine>, DeployError> {
        Ok(self.runtime(runtime).await?.logs(replica, tail).await?)
    }

    async fn stats(
        &self,
        runtime: RuntimeKind,
        replica: &ReplicaId,
    ) -> Result<ReplicaStats, DeployError> {
        Ok(self.runtime(runtime).await?.stats(replica).await?)
    }

    async fn edit_traffic(&self, edit: &TrafficEdit) -> Result<TableVersion, DeployError> {
        let applied = self
            .proxy
            .update(|table| apply_edit(table, edit))
            .await
            .map_err(apply_error)?;
        Ok(self.remember(applied))
    }

    async fn remove_backend(&self, backend: &BackendId) -> Result<TableVersion, DeployError> {
        let applied = self
            .proxy
            .update(|table| Ok(table.without_backend(backend)))
            .await
            .map_err(apply_error)?;
        Ok(self.remember(applied))
    }

    async fn drained(&self, version: TableVersion) -> Result<DrainReport, DeployError> {
        let applied = self
            .applied
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|applied| applied.version() == version)
            .cloned();
        match applied {
            Some(applied) => Ok(applied.drained().await),
            None => Err(DeployError::Remote {
                kind: RemoteErrorKind::NotFound,
                message: format!("the proxy no longer knows routing table version {version}"),
            }),
        }
    }

    async fn routes(&self) -> Result<VersionedTable, DeployError> {
        Ok(self.proxy.routes())
    }

    async fn metrics(&self) -> Result<MetricsSnapshot, DeployError> {
        Ok(self.proxy.metrics())
    }

    async fn upstream_health(&self) -> Result<Vec<UpstreamHealth>, DeployError> {
        Ok(self.proxy.upstream_health())
    }

    fn proxy_address(&self) -> SocketAddr {
        self.proxy.listen_addr()
    }
}

/// An apply the proxy refused: an invalid table (which [`apply_edit`] reports as such), or a
/// proxy that could not save or is shutting down.
fn apply_error(error: slipway_proxy::ApplyError) -> DeployError {
    DeployError::Remote {
        kind: RemoteErrorKind::Table,
        message: format!("the proxy refused a routing change: {error}"),
    }
}
