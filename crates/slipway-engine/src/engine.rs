//! [`ContainerEngine`]: the seam between Slipway and whatever runs its containers.
//!
//! Builds, deploys and the workflow runner hold an `Arc<dyn ContainerEngine>`; only
//! [`DockerEngine`](crate::DockerEngine) implements it today. Methods that take a container,
//! image or network accept a name or an id. Long-running operations (builds, logs, exec, image
//! archives) return streams that do nothing until polled and stop their request when dropped.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use serde::Serialize;

use crate::container::{
    ContainerDetails, ContainerFilter, ContainerId, ContainerSpec, ContainerStats,
    ContainerSummary, ExecEvent, ExecOutput, ExecSpec, LogLine, LogOptions, LogStream,
};
use crate::endpoint::Endpoint;
use crate::error::EngineError;
use crate::image::{
    BuildEvent, BuildSpec, ImageDetails, ImageFilter, ImageId, ImageRemoval, ImageSummary,
    RegistryCredentials,
};
use crate::network::{Network, NetworkFilter, NetworkId};

/// Bytes sent to the engine: a build context, an image archive, a root filesystem tar.
pub type ByteStream = BoxStream<'static, std::io::Result<Bytes>>;

/// Which engine answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// Docker Engine.
    Docker,
    /// Podman's Docker-compatible API service.
    Podman,
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EngineKind::Docker => "Docker",
            EngineKind::Podman => "Podman",
        })
    }
}

/// What `slipway doctor` reports about the engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EngineInfo {
    /// Docker or Podman.
    pub kind: EngineKind,
    /// The engine's own version (`27.3.1`, `4.3.1`).
    pub version: String,
    /// The Docker Engine API version Slipway speaks with it: the engine's, or the newest Slipway
    /// knows if the engine's is newer.
    pub api_version: String,
    /// Where it answers.
    pub endpoint: Endpoint,
    /// The operating system it runs containers for (`linux`).
    pub os: String,
    /// The architecture it runs containers for (`amd64`).
    pub arch: String,
}

/// A container engine: images, builds, containers, logs, stats, exec and networks.
#[async_trait]
pub trait ContainerEngine: Send + Sync + fmt::Debug {
    /// Asks the engine what it is. Fails with [`EngineError::Disconnected`] once it is gone.
    async fn info(&self) -> Result<EngineInfo, EngineError>;

    // Images.

    /// Builds an image from a tar of the build context. The stream yields the build log as it
    /// comes and ends with [`BuildEvent::Built`]; a failing step ends it with
    /// [`EngineError::BuildFailed`], the engine going away with [`EngineError::Disconnected`],
    /// and a failure to read the context with [`EngineError::Io`].
    fn build_image(
        &self,
        spec: BuildSpec,
        context: ByteStream,
    ) -> BoxStream<'static, Result<BuildEvent, EngineError>>;

    /// Points `target` (`name:tag`; the tag defaults to `latest`) at the image `source`.
    async fn tag_image(&self, source: &str, target: &str) -> Result<(), EngineError>;

    /// Describes an image; `None` when there is no such image.
    async fn inspect_image(&self, reference: &str) -> Result<Option<ImageDetails>, EngineError>;

    /// Whether the image exists.
    async fn image_exists(&self, reference: &str) -> Result<bool, EngineError> {
        Ok(self.inspect_image(reference).await?.is_some())
    }

    /// Lists images.
    async fn list_images(&self, filter: &ImageFilter) -> Result<Vec<ImageSummary>, EngineError>;

    /// Removes an image (every tag of it with `force`).
    async fn remove_image(&self, reference: &str, removal: ImageRemoval)
    -> Result<(), EngineError>;

    /// Writes an image as a `docker save` archive.
    fn export_image(&self, reference: &str) -> BoxStream<'static, Result<Bytes, EngineError>>;

    /// Loads a `docker save` archive (`docker load`), returning what was loaded: the tags it
    /// carried, or image ids for untagged images.
    async fn load_image(&self, archive: ByteStream) -> Result<Vec<String>, EngineError>;

    /// Makes a single-layer image from a tar of a root filesystem (`docker import`) and tags
    /// it `reference`.
    async fn import_image(
        &self,
        rootfs: ByteStream,
        reference: &str,
    ) -> Result<ImageId, EngineError>;

    /// Pushes an image to its registry.
    async fn push_image(
        &self,
        reference: &str,
        credentials: Option<&RegistryCredentials>,
    ) -> Result<(), EngineError>;

    /// Pulls an image from its registry.
    async fn pull_image(
        &self,
        reference: &str,
        credentials: Option<&RegistryCredentials>,
    ) -> Result<(), EngineError>;

    // Containers.

    /// Creates a container, without starting it.
    async fn create_container(&self, spec: &ContainerSpec) -> Result<ContainerId, EngineError>;

    /// Starts a created or stopped container. Starting a running one does nothing.
    async fn start_container(&self, container: &str) -> Result<(), EngineError>;

    /// Stops a container: its stop signal, then `SIGKILL` after `grace`. Stopping a stopped
    /// one does nothing.
    async fn stop_container(&self, container: &str, grace: Duration) -> Result<(), EngineError>;

    /// Sends a signal (`SIGTERM`, `SIGKILL`, `SIGHUP`…) to a running container.
    async fn kill_container(&self, container: &str, signal: &str) -> Result<(), EngineError>;

    /// Removes a container; `force` stops it first if it runs.
    async fn remove_container(&self, container: &str, force: bool) -> Result<(), EngineError>;

    /// Describes a container; `None` when there is no such container.
    async fn inspect_container(
        &self,
        container: &str,
    ) -> Result<Option<ContainerDetails>, EngineError>;

    /// Lists containers.
    async fn list_containers(
        &self,
        filter: &ContainerFilter,
    ) -> Result<Vec<ContainerSummary>, EngineError>;

    /// Waits until a container stops and returns its exit code.
    async fn wait_container(&self, container: &str) -> Result<i64, EngineError>;

    /// Reads a container's output.
    fn container_logs(
        &self,
        container: &str,
        options: LogOptions,
    ) -> BoxStream<'static, Result<LogLine, EngineError>>;

    /// Measures a running container's CPU and memory use over about a second.
    async fn container_stats(&self, container: &str) -> Result<ContainerStats, EngineError>;

    /// Runs a command in a running container, streaming its output; the stream ends with
    /// [`ExecEvent::Exited`].
    fn exec_stream(
        &self,
        container: &str,
        spec: ExecSpec,
    ) -> BoxStream<'static, Result<ExecEvent, EngineError>>;

    /// Runs a command in a running container and collects its output and exit code.
    async fn exec(&self, container: &str, spec: ExecSpec) -> Result<ExecOutput, EngineError> {
        let mut events = self.exec_stream(container, spec);
        let (mut stdout, mut stderr) = (String::new(), String::new());
        while let Some(event) = events.next().await {
            match event? {
                ExecEvent::Output(LogLine {
                    stream: LogStream::Stdout,
                    text,
                }) => stdout.push_str(&text),
                ExecEvent::Output(LogLine {
                    stream: LogStream::Stderr,
                    text,
                }) => stderr.push_str(&text),
                ExecEvent::Exited { exit_code } => {
                    return Ok(ExecOutput {
                        exit_code,
                        stdout,
                        stderr,
                    });
                }
            }
        }
        Err(EngineError::Protocol {
            during: format!("running a command in container {container}"),
            message: "the output ended without an exit code".to_owned(),
        })
    }

    // Networks.

    /// Creates a bridge network, or returns the existing one of that name.
    async fn create_network(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<NetworkId, EngineError>;

    /// Removes a network.
    async fn remove_network(&self, network: &str) -> Result<(), EngineError>;

    /// Joins a container to a network, where it also answers to `aliases`.
    async fn connect_network(
        &self,
        container: &str,
        network: &str,
        aliases: &[String],
    ) -> Result<(), EngineError>;

    /// Takes a container off a network.
    async fn disconnect_network(&self, container: &str, network: &str) -> Result<(), EngineError>;

    /// Describes a network; `None` when there is no such network.
    async fn inspect_network(&self, network: &str) -> Result<Option<Network>, EngineError>;

    /// Lists networks.
    async fn list_networks(&self, filter: &NetworkFilter) -> Result<Vec<Network>, EngineError>;
}
