//! The container engine seam, and its adapter for the Docker Engine API (Docker and Podman).
//!
//! [`ContainerEngine`] is the trait the rest of Slipway talks to: builds and images, containers
//! with their logs, stats and exec, and networks. [`DockerEngine`] implements it over the Docker
//! Engine API with `bollard`, against Docker and Podman alike; no `bollard` type crosses this
//! crate's API. [`EngineError`] says what went wrong in terms a person can act on: no engine,
//! an engine that went away, a failed build step, a name in use, a taken port.
//!
//! Finding the engine: `DOCKER_HOST` when set, else `/var/run/docker.sock`, else
//! `/run/podman/podman.sock` (see [`candidate_endpoints`]).
//!
//! Health: a [`HealthCheck`] is passed to the engine as metadata only. Slipway never relies on
//! the engine's health status, because Podman runs health checks only from systemd timers.
//!
//! ```no_run
//! use futures::StreamExt;
//! use slipway_engine::{BuildEvent, BuildSpec, ContainerEngine, DockerEngine, EndpointChoice};
//!
//! # async fn example(context: slipway_engine::ByteStream) -> Result<(), slipway_engine::EngineError> {
//! let docker_host = std::env::var("DOCKER_HOST").ok();
//! let engine = DockerEngine::connect(EndpointChoice::Discover { docker_host }).await?;
//! let info = engine.info().await?;
//! tracing::info!("{} {} (API {}) at {}", info.kind, info.version, info.api_version, info.endpoint);
//!
//! let mut build = engine.build_image(BuildSpec::new().tag("app:1"), context);
//! while let Some(event) = build.next().await {
//!     match event? {
//!         BuildEvent::Output(text) => tracing::info!("{}", text.trim_end()),
//!         BuildEvent::Built { image_id } => tracing::info!("built {image_id}"),
//!     }
//! }
//! # Ok(())
//! # }
//! ```

mod container;
mod docker;
mod endpoint;
mod engine;
mod error;
mod image;
mod labels;
mod network;
#[cfg(feature = "test-support")]
pub mod testing;

pub use container::{
    BindMount, ContainerDetails, ContainerFilter, ContainerId, ContainerSpec, ContainerState,
    ContainerStats, ContainerStatus, ContainerSummary, ExecEvent, ExecOutput, ExecSpec,
    HealthCheck, HealthTest, InvalidPort, LogLine, LogOptions, LogStream, NetworkAttachment,
    NetworkEndpoint, Port, PortBinding, Protocol, PublishedPort, Resources, RestartPolicy,
};
pub use docker::DockerEngine;
pub use endpoint::{DOCKER_SOCKET, Endpoint, EndpointChoice, PODMAN_SOCKET, candidate_endpoints};
pub use engine::{ByteStream, ContainerEngine, EngineInfo, EngineKind};
pub use error::{EngineError, Unanswered};
pub use image::{
    BuildEvent, BuildSpec, ImageConfig, ImageDetails, ImageFilter, ImageId, ImageRemoval,
    ImageSummary, RegistryCredentials,
};
pub use network::{Network, NetworkFilter, NetworkId};
