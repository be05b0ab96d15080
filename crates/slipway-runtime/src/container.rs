//! [`ContainerRuntime`]: replicas as containers in the container engine.
//!
//! Each replica is a container named after it, created from the workload's image with the spec's
//! environment plus `PORT`, its labels plus [`MANAGED_LABEL`] (so a listing finds exactly the
//! containers this runtime made, and a crashed controller's leftovers can be found and removed),
//! the engine's CPU and memory limits and restart policy, and the service port published on
//! 127.0.0.1 at a host port the engine picks. The engine's own health checks are never used:
//! Slipway checks health over HTTP at the published address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use slipway_engine::{
    ContainerDetails, ContainerEngine, ContainerFilter, ContainerSpec, ContainerStatus,
    EngineError, LogOptions, Port, PortBinding, Resources, RestartPolicy as EngineRestart,
};

use crate::error::RuntimeError;
use crate::replica::{LogLine, LogStream, Replica, ReplicaId, ReplicaState, ReplicaStats};
use crate::runtime::{Runtime, RuntimeKind};
use crate::spec::{Labels, ReplicaSpec, RestartPolicy, Workload};

/// The label every container of this runtime carries, set to `container`.
pub const MANAGED_LABEL: &str = "dev.slipway.runtime";

/// Runs replicas as containers. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ContainerRuntime {
    engine: Arc<dyn ContainerEngine>,
}

impl ContainerRuntime {
    /// Runs replicas in `engine`.
    pub fn new(engine: Arc<dyn ContainerEngine>) -> ContainerRuntime {
        ContainerRuntime { engine }
    }

    /// The container to create for `spec`, running `image`.
    fn container_spec(spec: &ReplicaSpec, image: &str) -> ContainerSpec {
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
        if let Some(network) = spec.network_name() {
            // Idempotent: the first replica on the network makes it.
            let labels = Labels::from([(
                MANAGED_LABEL.to_owned(),
                RuntimeKind::Container.as_str().to_owned(),
            )]);
            self.engine.create_network(network, &labels).await?;
        }
        if self.engine.inspect_container(spec.name()).await?.is_some() {
            return Err(RuntimeError::NameInUse {
                replica: spec.name().to_owned(),
            });
        }
        let id = self
            .engine
            .create_container(&ContainerRuntime::container_spec(spec, reference))
            .await?;
        let started = async {
            self.engine.start_container(id.as_str()).await?;
            let replica = self.replica(id.as_str()).await?;
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
            let _ = self.engine.remove_container(id.as_str(), true).await;
        }
        started
    }

    async fn stop(&self, replica: &ReplicaId, grace: Duration) -> Result<(), RuntimeError> {
        gone_is_fine(self.engine.stop_container(replica.as_str(), grace).await)?;
        gone_is_fine(self.engine.remove_container(replica.as_str(), true).await)
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
