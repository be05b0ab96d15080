//! [`ContainerRuntime`]: replicas as containers in the container engine.
//!
//! Each replica is a container named after it, created from the workload's image with the spec's
//! environment plus `PORT`, its labels plus [`MANAGED_LABEL`] (so a listing finds exactly the
//! containers this runtime made, and a crashed controller's leftovers can be found and removed),
//! the engine's CPU and memory limits and restart policy, and the service port published on
//! 127.0.0.1 at a host port the engine picks. The engine's own health checks are never used:
//! Slipway checks health over HTTP at the published address.
//!
//! A spec's network is made (labelled as this runtime's) by the first replica that joins it,
//! reused by every later one, and removed when the last container on it is removed. One lock
//! orders making a network and creating a container on it against removing it, so a replica
//! starting while the last one stops never finds its network gone. On its network a container
//! reaches the host (the network's gateway) by the name [`HOST_ALIAS`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use slipway_engine::{
    ContainerDetails, ContainerEngine, ContainerFilter, ContainerSpec, ContainerStatus,
    EngineError, LogOptions, NetworkFilter, Port, PortBinding, Resources,
    RestartPolicy as EngineRestart,
};

use crate::error::RuntimeError;
use crate::replica::{LogLine, LogStream, Replica, ReplicaId, ReplicaState, ReplicaStats};
use crate::runtime::{Runtime, RuntimeKind};
use crate::spec::{Labels, ReplicaSpec, RestartPolicy, Workload, matches_labels};

/// The label every container of this runtime carries, set to `container`.
pub const MANAGED_LABEL: &str = "dev.slipway.runtime";

/// The name a container on a network reaches the host by: the network's gateway address, where
/// the host serves whatever it offers the network's containers (Slipway's proxy).
pub const HOST_ALIAS: &str = "slipway-host";

/// Runs replicas as containers. Cheap to clone; clones share the network lock.
#[derive(Debug, Clone)]
pub struct ContainerRuntime {
    engine: Arc<dyn ContainerEngine>,
    networks: Arc<tokio::sync::Mutex<()>>,
}

impl ContainerRuntime {
    /// Runs replicas in `engine`.
    pub fn new(engine: Arc<dyn ContainerEngine>) -> ContainerRuntime {
        ContainerRuntime {
            engine,
            networks: Arc::default(),
        }
    }

    /// Makes network `name` unless it exists, labelled as this runtime's, and returns the host's
    /// address on it (its gateway; `None` when the engine names none). A replica started on it
    /// later finds it, whatever stops in between.
    pub async fn prepare_network(&self, name: &str) -> Result<Option<IpAddr>, RuntimeError> {
        let _networks = self.networks.lock().await;
        self.ensure_network(name).await
    }

    /// Every network this runtime made, by name, with the host's address on it.
    pub async fn network_gateways(&self) -> Result<Vec<(String, IpAddr)>, RuntimeError> {
        let (key, value) = (MANAGED_LABEL, RuntimeKind::Container.as_str());
        Ok(self
            .engine
            .list_networks(&NetworkFilter::new().label(key, value))
            .await?
            .into_iter()
            .flat_map(|network| {
                let name = network.name;
                network
                    .gateways
                    .into_iter()
                    .map(move |gateway| (name.clone(), gateway))
            })
            .collect())
    }

    /// [`prepare_network`](ContainerRuntime::prepare_network), under the caller's lock.
    async fn ensure_network(&self, name: &str) -> Result<Option<IpAddr>, RuntimeError> {
        // Idempotent: the first replica on the network makes it, later ones reuse it.
        self.engine.create_network(name, &managed()).await?;
        let network = self.engine.inspect_network(name).await?;
        Ok(network.and_then(|network| network.gateways.first().copied()))
    }

    /// Creates the container for `spec`, on its network (made when missing).
    async fn create(&self, spec: &ReplicaSpec, image: &str) -> Result<String, RuntimeError> {
        let _networks = self.networks.lock().await;
        let gateway = match spec.network_name() {
            Some(network) => self.ensure_network(network).await?,
            None => None,
        };
        if self.engine.inspect_container(spec.name()).await?.is_some() {
            return Err(RuntimeError::NameInUse {
                replica: spec.name().to_owned(),
            });
        }
        let created = self
            .engine
            .create_container(&ContainerRuntime::container_spec(spec, image, gateway))
            .await;
        match created {
            Ok(id) => Ok(id.as_str().to_owned()),
            Err(error) => {
                self.remove_unused(spec.network_name().map(str::to_owned))
                    .await;
                Err(error.into())
            }
        }
    }

    /// The networks of this runtime that `container` is on.
    async fn managed_networks(&self, container: &str) -> Result<Vec<String>, RuntimeError> {
        let Some(details) = self.engine.inspect_container(container).await? else {
            return Ok(Vec::new());
        };
        let mut managed_networks = Vec::new();
        for network in details.networks.keys() {
            let labels = self
                .engine
                .inspect_network(network)
                .await?
                .map(|network| network.labels);
            if labels.is_some_and(|labels| matches_labels(&labels, &managed())) {
                managed_networks.push(network.clone());
            }
        }
        Ok(managed_networks)
    }

    /// Removes each of `networks` that no container is on any more. Best effort: a network
    /// left behind is reused by the next replica, and the engine refuses to remove one in use.
    async fn remove_unused(&self, networks: impl IntoIterator<Item = String>) {
        let _networks = self.networks.lock().await;
        for network in networks {
            let users = self
                .engine
                .list_containers(&ContainerFilter::all().network(&network))
                .await;
            if !matches!(users, Ok(users) if users.is_empty()) {
                continue;
            }
            match self.engine.remove_network(&network).await {
                Ok(()) | Err(EngineError::NetworkNotFound { .. }) => {
                    tracing::info!(%network, "removed the network its last container left");
                }
                Err(error) => tracing::warn!(%network, %error, "cannot remove an unused network"),
            }
        }
    }

    /// The container to create for `spec`, running `image`, reaching the host at `gateway`.
    fn container_spec(spec: &ReplicaSpec, image: &str, gateway: Option<IpAddr>) -> ContainerSpec {
        let mut container = ContainerSpec::new(image)
            .name(spec.name())
            .label(MANAGED_LABEL, RuntimeKind::Container.as_str())
            .env("PORT", spec.port().to_string())
            .publish(PortBinding::loopback(Port::tcp(spec.port())))
            .resources(Resources {
                nano_cpus: spec.limits().cpus.map(|cpus| (cpus * 1e9).round() as u64),
                memory_bytes: spec.limits().memory_bytes,
            })
            .restart(match spec.restart_policy() {
                RestartPolicy::Never => EngineRestart::No,
                RestartPolicy::OnFailure { max_restarts } => EngineRestart::OnFailure {
                    max_retries: max_restarts.unwrap_or(0),
                },
                RestartPolicy::Always => EngineRestart::Always,
            });
        for (key, value) in spec.env() {
            if key != "PORT" {
                container = container.env(key, value);
            }
        }
        for (key, value) in spec.label_map() {
            container = container.label(key, value);
        }
        if let Some(network) = spec.network_name() {
            container = container.network(network, spec.network_aliases().iter().cloned());
        }
        if let Some(gateway) = gateway {
            container = container.extra_host(HOST_ALIAS, gateway);
        }
        container
    }

    /// Describes a container as a replica; `None` when it is gone.
    async fn replica(&self, container: &str) -> Result<Option<Replica>, RuntimeError> {
        let Some(details) = self.engine.inspect_container(container).await? else {
            return Ok(None);
        };
        Ok(Some(replica_of(&details)))
    }
}

/// A container as a replica. A container that does not run has no published port; its address
/// is then 0.0.0.0:0.
fn replica_of(details: &ContainerDetails) -> Replica {
    let mut labels = details.labels.clone();
    labels.remove(MANAGED_LABEL);
    let address = details
        .published_ports
        .first()
        .map(|published| loopback(published.host))
        .unwrap_or_else(|| SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)));
    let state = match details.state.status {
        ContainerStatus::Running | ContainerStatus::Paused => ReplicaState::Running,
        ContainerStatus::Restarting => ReplicaState::Restarting,
        _ => ReplicaState::Exited {
            status: details
                .state
                .exit_code
                .and_then(|code| i32::try_from(code).ok()),
        },
    };
    Replica {
        id: ReplicaId::new(details.id.as_str()),
        name: details.name.clone(),
        labels,
        address,
        state,
        restarts: details.restart_count,
        started_at: details
            .state
            .started_at
            .unwrap_or_else(jiff::Timestamp::now),
    }
}

/// A published address as one to connect to: an engine that bound every address (0.0.0.0) is
/// reached on loopback.
fn loopback(host: SocketAddr) -> SocketAddr {
    if host.ip().is_unspecified() {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), host.port())
    } else {
        host
    }
}

/// The labels of what this runtime makes.
fn managed() -> Labels {
    Labels::from([(
        MANAGED_LABEL.to_owned(),
        RuntimeKind::Container.as_str().to_owned(),
    )])
}

/// `Ok(())` for an error that says the container is already gone.
fn gone_is_fine(result: Result<(), EngineError>) -> Result<(), RuntimeError> {
    match result {
        Ok(()) | Err(EngineError::ContainerNotFound { .. }) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

/// Turns "no such container" into [`RuntimeError::NotFound`].
/// The lines of a chunk of a container's output.
fn log_lines(chunk: slipway_engine::LogLine) -> impl Iterator<Item = LogLine> {
    let stream = match chunk.stream {
        slipway_engine::LogStream::Stdout => LogStream::Stdout,
        slipway_engine::LogStream::Stderr => LogStream::Stderr,
    };
    chunk
        .text
        .lines()
        .map(|text| LogLine {
            stream: Some(stream),
            text: text.to_owned(),
        })
        .collect::<Vec<_>>()
        .into_iter()
}

fn not_found(replica: &ReplicaId) -> impl Fn(EngineError) -> RuntimeError + '_ {
    move |error| match error {
        EngineError::ContainerNotFound { .. } => RuntimeError::NotFound {
            replica: replica.to_string(),
        },
        error => error.into(),
    }
}

#[async_trait]
impl Runtime for ContainerRuntime {
    fn kind(&self) -> RuntimeKind {
        RuntimeKind::Container
    }

    async fn start(&self, spec: &ReplicaSpec) -> Result<Replica, RuntimeError> {
        let Workload::Image { reference } = spec.workload() else {
            return Err(RuntimeError::Unsupported {
                runtime: RuntimeKind::Container,
                workload: "a command without an image",
            });
        };
        if !self.engine.image_exists(reference).await? {
            return Err(RuntimeError::ImageNotFound {
                reference: reference.clone(),
            });
        }
        let id = self.create(spec, reference).await?;
        let started = async {
            self.engine.start_container(&id).await?;
            let replica = self.replica(&id).await?;
            match replica {
                Some(replica) if replica.address.port() != 0 => Ok(replica),
                _ => Err(RuntimeError::NotPublished {
                    container: spec.name().to_owned(),
                    port: spec.port(),
                }),
            }
        }
        .await;
        if started.is_err() {
            // Best effort: the start error is what the caller needs to see.
            let _ = self.engine.remove_container(&id, true).await;
            self.remove_unused(spec.network_name().map(str::to_owned))
                .await;
        }
        started
    }

    async fn stop(&self, replica: &ReplicaId, grace: Duration) -> Result<(), RuntimeError> {
        let networks = self.managed_networks(replica.as_str()).await?;
        gone_is_fine(self.engine.stop_container(replica.as_str(), grace).await)?;
        gone_is_fine(self.engine.remove_container(replica.as_str(), true).await)?;
        self.remove_unused(networks).await;
        Ok(())
    }

    async fn list(&self, selector: &Labels) -> Result<Vec<Replica>, RuntimeError> {
        let mut filter =
            ContainerFilter::all().label(MANAGED_LABEL, RuntimeKind::Container.as_str());
        for (key, value) in selector {
            filter = filter.label(key, value);
        }
        let mut replicas = Vec::new();
        for summary in self.engine.list_containers(&filter).await? {
            if let Some(replica) = self.replica(summary.id.as_str()).await? {
                replicas.push(replica);
            }
        }
        Ok(replicas)
    }

    async fn logs(
        &self,
        replica: &ReplicaId,
        tail: Option<usize>,
    ) -> Result<Vec<LogLine>, RuntimeError> {
        let options = LogOptions {
            follow: false,
            since: None,
            tail,
        };
        let mut stream = self.engine.container_logs(replica.as_str(), options);
        let mut lines = Vec::new();
        while let Some(chunk) = stream.next().await {
            lines.extend(log_lines(chunk.map_err(not_found(replica))?));
        }
        Ok(lines)
    }

    fn follow(
        &self,
        replica: &ReplicaId,
        tail: Option<usize>,
    ) -> BoxStream<'static, Result<LogLine, RuntimeError>> {
        let options = LogOptions {
            follow: true,
            since: None,
            tail,
        };
        let replica = replica.clone();
        self.engine
            .container_logs(replica.as_str(), options)
            .flat_map(move |chunk| {
                let lines = match chunk {
                    Ok(chunk) => log_lines(chunk).map(Ok).collect(),
                    Err(error) => vec![Err(not_found(&replica)(error))],
                };
                futures::stream::iter(lines)
            })
            .boxed()
    }

    async fn stats(&self, replica: &ReplicaId) -> Result<ReplicaStats, RuntimeError> {
        let stats = self
            .engine
            .container_stats(replica.as_str())
            .await
            .map_err(not_found(replica))?;
        Ok(ReplicaStats {
            cpu_percent: stats.cpu_percent,
            memory_bytes: stats.memory_bytes,
            memory_percent: stats.memory_percent,
        })
    }
}
