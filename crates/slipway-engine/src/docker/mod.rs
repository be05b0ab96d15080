//! [`DockerEngine`]: [`ContainerEngine`] over the Docker Engine API, for Docker and Podman.
//!
//! Connecting pings each candidate endpoint with an unversioned `GET /_ping` (see [`probe`]),
//! then speaks the API version both sides know. Requests that answer at once have
//! a two-minute limit; builds, waits, logs, exec and image transfers, whose answer may take
//! as long as the work, are given a day. Each area of the API has its own module; the trait
//! implementation below only dispatches.

mod build;
mod containers;
mod convert;
mod errors;
mod exec;
mod images;
mod networks;
mod podman;
mod probe;
mod raw;
mod stats;
mod upload;

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use bollard::{ClientVersion, Docker};
use bytes::Bytes;
use futures::stream::BoxStream;

use crate::container::{
    ContainerDetails, ContainerFilter, ContainerId, ContainerSpec, ContainerStats,
    ContainerSummary, ExecEvent, ExecSpec, LogLine, LogOptions,
};
use crate::endpoint::{Endpoint, EndpointChoice, candidate_endpoints};
use crate::engine::{ByteStream, ContainerEngine, EngineInfo};
use crate::error::{EngineError, Unanswered};
use crate::image::{
    BuildEvent, BuildSpec, ImageDetails, ImageFilter, ImageId, ImageRemoval, ImageSummary,
    RegistryCredentials,
};
use crate::network::{Network, NetworkFilter, NetworkId};

/// How long a request may wait for the engine's answer to begin.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// The same, for requests whose answer may only begin once long work is done.
const LONG_REQUEST_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// A Docker or Podman engine reached over the Docker Engine API.
#[derive(Debug, Clone)]
pub struct DockerEngine {
    docker: Docker,
    endpoint: Endpoint,
    /// Podman's version, when the engine is Podman: the prefix of its own (libpod) API, asked
    /// for what its Docker-compatible API leaves out.
    podman_version: Option<String>,
}

impl DockerEngine {
    /// Connects to the first endpoint that answers, and agrees on an API version with it.
    ///
    /// Fails with [`EngineError::NotRunning`], listing every endpoint tried and why, when none
    /// answers; with [`EngineError::InvalidEndpoint`] when `DOCKER_HOST` cannot be used.
    pub async fn connect(choice: EndpointChoice) -> Result<DockerEngine, EngineError> {
        let candidates = match choice {
            EndpointChoice::Discover { docker_host } => {
                candidate_endpoints(docker_host.as_deref())?
            }
            EndpointChoice::Exactly(endpoint) => vec![endpoint],
        };
        let mut tried = Vec::new();
        for endpoint in candidates {
            match probe::greet(&endpoint).await {
                Ok(greeting) => return DockerEngine::open(endpoint, &greeting),
                Err(reason) => tried.push(Unanswered { endpoint, reason }),
            }
        }
        Err(EngineError::NotRunning { tried })
    }

    fn open(endpoint: Endpoint, greeting: &probe::Greeting) -> Result<DockerEngine, EngineError> {
        let version = negotiated_version(greeting)?;
        let timeout = REQUEST_TIMEOUT.as_secs();
        let docker = match &endpoint {
            Endpoint::Unix(path) => {
                let path = path.to_str().ok_or_else(|| EngineError::InvalidEndpoint {
                    value: endpoint.to_string(),
                    reason: "the socket path is not UTF-8",
                })?;
                Docker::connect_with_unix(path, timeout, &version)
            }
            Endpoint::Tcp { host, port } => {
                Docker::connect_with_http(&format!("{host}:{port}"), timeout, &version)
            }
        }
        .map_err(|error| {
            errors::translate(error, errors::Doing::new("connecting to the engine"))
        })?;
        tracing::debug!(%endpoint, api_version = %version, "connected to the container engine");
        Ok(DockerEngine {
            docker,
            endpoint,
            podman_version: greeting.podman_version().map(str::to_owned),
        })
    }

    /// Where the engine answers.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The client for requests whose answer begins only when long work is done.
    fn patient(&self) -> Docker {
        self.docker.clone().with_timeout(LONG_REQUEST_TIMEOUT)
    }
}

fn negotiated_version(greeting: &probe::Greeting) -> Result<ClientVersion, EngineError> {
    greeting
        .negotiated_version()
        .ok_or_else(|| EngineError::Protocol {
            during: "connecting to the engine".to_owned(),
            message: "the engine's API version is not MAJOR.MINOR".to_owned(),
        })
}

#[async_trait]
impl ContainerEngine for DockerEngine {
    async fn info(&self) -> Result<EngineInfo, EngineError> {
        let report =
            probe::probe(&self.endpoint)
                .await
                .map_err(|cause| EngineError::Disconnected {
                    during: "asking the engine its version".to_owned(),
                    cause,
                })?;
        Ok(report.into_info(self.endpoint.clone(), self.docker.client_version()))
    }

    fn build_image(
        &self,
        spec: BuildSpec,
        context: ByteStream,
    ) -> BoxStream<'static, Result<BuildEvent, EngineError>> {
        build::build(self.patient(), spec, context)
    }

    async fn tag_image(&self, source: &str, target: &str) -> Result<(), EngineError> {
        images::tag(&self.docker, source, target).await
    }

    async fn inspect_image(&self, reference: &str) -> Result<Option<ImageDetails>, EngineError> {
        let Some(mut details) = images::inspect(&self.docker, reference).await? else {
            return Ok(None);
        };
        if let Some(podman_version) = &self.podman_version
            && details.config.healthcheck.is_none()
        {
            details.config.healthcheck =
                podman::declared_healthcheck(&self.endpoint, podman_version, details.id.as_str())
                    .await?;
        }
        Ok(Some(details))
    }

    async fn list_images(&self, filter: &ImageFilter) -> Result<Vec<ImageSummary>, EngineError> {
        images::list(&self.docker, filter).await
    }

    async fn remove_image(
        &self,
        reference: &str,
        removal: ImageRemoval,
    ) -> Result<(), EngineError> {
        images::remove(&self.docker, reference, removal).await
    }

    fn export_image(&self, reference: &str) -> BoxStream<'static, Result<Bytes, EngineError>> {
        images::export(&self.patient(), reference)
    }

    async fn load_image(&self, archive: ByteStream) -> Result<Vec<String>, EngineError> {
        images::load(&self.patient(), archive).await
    }

    async fn import_image(
        &self,
        rootfs: ByteStream,
        reference: &str,
    ) -> Result<ImageId, EngineError> {
        images::import(&self.patient(), rootfs, reference).await
    }

    async fn push_image(
        &self,
        reference: &str,
        credentials: Option<&RegistryCredentials>,
    ) -> Result<(), EngineError> {
        images::push(&self.patient(), reference, credentials).await
    }

    async fn pull_image(
        &self,
        reference: &str,
        credentials: Option<&RegistryCredentials>,
    ) -> Result<(), EngineError> {
        images::pull(&self.patient(), reference, credentials).await
    }

    async fn create_container(&self, spec: &ContainerSpec) -> Result<ContainerId, EngineError> {
        containers::create(&self.docker, spec).await
    }

    async fn start_container(&self, container: &str) -> Result<(), EngineError> {
        containers::start(&self.docker, container).await
    }

    async fn stop_container(&self, container: &str, grace: Duration) -> Result<(), EngineError> {
        containers::stop(&self.patient(), container, grace).await
    }

    async fn kill_container(&self, container: &str, signal: &str) -> Result<(), EngineError> {
        containers::kill(&self.docker, container, signal).await
    }

    async fn remove_container(&self, container: &str, force: bool) -> Result<(), EngineError> {
        containers::remove(&self.docker, container, force).await
    }

    async fn inspect_container(
        &self,
        container: &str,
    ) -> Result<Option<ContainerDetails>, EngineError> {
        containers::inspect(&self.docker, container).await
    }

    async fn list_containers(
        &self,
        filter: &ContainerFilter,
    ) -> Result<Vec<ContainerSummary>, EngineError> {
        containers::list(&self.docker, filter).await
    }

    async fn wait_container(&self, container: &str) -> Result<i64, EngineError> {
        containers::wait(&self.patient(), container).await
    }

    fn container_logs(
        &self,
        container: &str,
        options: LogOptions,
    ) -> BoxStream<'static, Result<LogLine, EngineError>> {
        containers::logs(&self.patient(), container, options)
    }

    async fn container_stats(&self, container: &str) -> Result<ContainerStats, EngineError> {
        containers::stats(&self.docker, container).await
    }

    fn exec_stream(
        &self,
        container: &str,
        spec: ExecSpec,
    ) -> BoxStream<'static, Result<ExecEvent, EngineError>> {
        exec::exec_stream(self.patient(), container.to_owned(), spec)
    }

    async fn create_network(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<NetworkId, EngineError> {
        networks::create(&self.docker, name, labels).await
    }

    async fn remove_network(&self, network: &str) -> Result<(), EngineError> {
        networks::remove(&self.docker, network).await
    }

    async fn connect_network(
        &self,
        container: &str,
        network: &str,
        aliases: &[String],
    ) -> Result<(), EngineError> {
        networks::connect(&self.docker, container, network, aliases).await
    }

    async fn disconnect_network(&self, container: &str, network: &str) -> Result<(), EngineError> {
        networks::disconnect(&self.docker, container, network).await
    }

    async fn inspect_network(&self, network: &str) -> Result<Option<Network>, EngineError> {
        networks::inspect(&self.docker, network).await
    }

    async fn list_networks(&self, filter: &NetworkFilter) -> Result<Vec<Network>, EngineError> {
        networks::list(&self.docker, filter).await
    }
}
