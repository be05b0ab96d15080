//! Containers: what Slipway asks the engine to run, and what it reads back.
//!
//! [`ContainerSpec`] describes a container (image, command, environment, labels, published
//! ports, binds, network, resource limits, restart policy, declared health check).
//! [`ContainerDetails`] is a container as inspected, with its state and the host ports the
//! engine actually picked. [`LogLine`], [`ContainerStats`] and the exec types cover what runs
//! inside.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;

use crate::labels::LabelSelectors;

/// A container id as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ContainerId(String);

impl ContainerId {
    pub(crate) fn new(id: impl Into<String>) -> ContainerId {
        ContainerId(id.into())
    }

    /// The id as text, usable wherever a container name or id is expected.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContainerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A transport protocol for a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP, the default.
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

/// A container port and its protocol, written `8080/tcp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Port {
    /// The port number.
    pub number: u16,
    /// The protocol.
    pub protocol: Protocol,
}

impl Port {
    /// A TCP port.
    pub fn tcp(number: u16) -> Port {
        Port {
            number,
            protocol: Protocol::Tcp,
        }
    }

    /// A UDP port.
    pub fn udp(number: u16) -> Port {
        Port {
            number,
            protocol: Protocol::Udp,
        }
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let protocol = match self.protocol {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        };
        write!(f, "{}/{protocol}", self.number)
    }
}

/// Why a port could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a port: expected NUMBER or NUMBER/tcp|udp|sctp")]
pub struct InvalidPort {
    /// The text that was read.
    pub value: String,
}

impl FromStr for Port {
    type Err = InvalidPort;

    /// Reads `8080`, `8080/tcp`, `53/udp` or `9/sctp`.
    fn from_str(value: &str) -> Result<Port, InvalidPort> {
        let invalid = || InvalidPort {
            value: value.to_owned(),
        };
        let (number, protocol) = value.split_once('/').unwrap_or((value, "tcp"));
        let protocol = match protocol {
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            "sctp" => Protocol::Sctp,
            _ => return Err(invalid()),
        };
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        let number = number.parse().map_err(|_| invalid())?;
        Ok(Port { number, protocol })
    }
}

impl Serialize for Port {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A container port published on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortBinding {
    /// The port inside the container.
    pub container_port: Port,
    /// The host address; port 0 lets the engine pick a free one (read it back with
    /// [`ContainerDetails::host_port`]).
    pub host: SocketAddr,
}

impl PortBinding {
    /// Publishes `container_port` on 127.0.0.1 at a port the engine picks.
    pub fn loopback(container_port: Port) -> PortBinding {
        PortBinding {
            container_port,
            host: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        }
    }
}

/// A host path mounted into the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindMount {
    /// The absolute path on the host.
    pub host_path: PathBuf,
    /// The absolute path in the container.
    pub container_path: String,
    /// Mount it read-only.
    pub read_only: bool,
}

/// CPU and memory limits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resources {
    /// CPU limit in billionths of a CPU (1.5 CPUs is 1_500_000_000).
    pub nano_cpus: Option<u64>,
    /// Memory limit in bytes.
    pub memory_bytes: Option<u64>,
}

/// When the engine restarts a container that exited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RestartPolicy {
    /// Never.
    #[default]
    No,
    /// When it exits non-zero, at most this many times (0: no limit).
    OnFailure {
        /// The most restarts; 0 for no limit.
        max_retries: u32,
    },
    /// Always, including when the engine restarts.
    Always,
    /// Always, unless it was stopped by hand.
    UnlessStopped,
}

/// A health check as declared to the engine (`HEALTHCHECK` in a Dockerfile, or at create).
///
/// Slipway passes it on as metadata only and never relies on the engine's health status:
/// Podman runs health checks only from systemd timers, so without systemd (in CI, in most
/// containers) the status stays "starting" forever. Slipway checks health itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthCheck {
    /// What to run.
    pub test: HealthTest,
    /// Time between checks.
    pub interval: Option<Duration>,
    /// How long one check may take.
    pub timeout: Option<Duration>,
    /// Consecutive failures before the container is unhealthy.
    pub retries: Option<u32>,
    /// Grace period after start during which failures do not count.
    pub start_period: Option<Duration>,
}

/// The command of a health check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthTest {
    /// Run this program with these arguments (`CMD`).
    Exec(Vec<String>),
    /// Run this line with the container's shell (`CMD-SHELL`).
    Shell(String),
    /// No health check, even if the image declares one (`NONE`).
    Disabled,
}

/// A network a container joins at creation, with the names it answers to there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkAttachment {
    /// The network's name or id.
    pub network: String,
    /// Extra DNS names for the container on that network.
    pub aliases: Vec<String>,
}

/// What container to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSpec {
    pub(crate) image: String,
    pub(crate) name: Option<String>,
    pub(crate) cmd: Option<Vec<String>>,
    pub(crate) entrypoint: Option<Vec<String>>,
    pub(crate) env: BTreeMap<String, String>,
    pub(crate) working_dir: Option<String>,
    pub(crate) user: Option<String>,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) ports: Vec<PortBinding>,
    pub(crate) exposed_ports: Vec<Port>,
    pub(crate) binds: Vec<BindMount>,
    pub(crate) network: Option<NetworkAttachment>,
    pub(crate) resources: Resources,
    pub(crate) restart: RestartPolicy,
    pub(crate) healthcheck: Option<HealthCheck>,
    pub(crate) extra_hosts: BTreeMap<String, std::net::IpAddr>,
}

impl ContainerSpec {
    /// A container of `image` running the image's own command.
    pub fn new(image: impl Into<String>) -> ContainerSpec {
        ContainerSpec {
            image: image.into(),
            name: None,
            cmd: None,
            entrypoint: None,
            env: BTreeMap::new(),
            working_dir: None,
            user: None,
            labels: BTreeMap::new(),
            ports: Vec::new(),
            exposed_ports: Vec::new(),
            binds: Vec::new(),
            network: None,
            resources: Resources::default(),
            restart: RestartPolicy::No,
            healthcheck: None,
            extra_hosts: BTreeMap::new(),
        }
    }

    /// Makes `name` resolve to `address` inside the container (its `/etc/hosts`).
    pub fn extra_host(
        mut self,
        name: impl Into<String>,
        address: std::net::IpAddr,
    ) -> ContainerSpec {
        self.extra_hosts.insert(name.into(), address);
        self
    }

    /// Names the container (the engine generates a name otherwise).
    pub fn name(mut self, name: impl Into<String>) -> ContainerSpec {
        self.name = Some(name.into());
        self
    }

    /// Replaces the image's `CMD`.
    pub fn cmd<S: Into<String>>(mut self, cmd: impl IntoIterator<Item = S>) -> ContainerSpec {
        self.cmd = Some(cmd.into_iter().map(Into::into).collect());
        self
    }

    /// Replaces the image's `ENTRYPOINT`.
    pub fn entrypoint<S: Into<String>>(
        mut self,
        entrypoint: impl IntoIterator<Item = S>,
    ) -> ContainerSpec {
        self.entrypoint = Some(entrypoint.into_iter().map(Into::into).collect());
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> ContainerSpec {
        self.env.insert(name.into(), value.into());
        self
    }

    /// Runs the command in this directory.
    pub fn working_dir(mut self, dir: impl Into<String>) -> ContainerSpec {
        self.working_dir = Some(dir.into());
        self
    }

    /// Runs as this user (`name`, `uid` or `uid:gid`).
    pub fn user(mut self, user: impl Into<String>) -> ContainerSpec {
        self.user = Some(user.into());
        self
    }

    /// Sets a label.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> ContainerSpec {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// Publishes a container port on the host; the port is exposed too.
    pub fn publish(mut self, binding: PortBinding) -> ContainerSpec {
        self.ports.push(binding);
        self
    }

    /// Exposes a port without publishing it.
    pub fn expose(mut self, port: Port) -> ContainerSpec {
        self.exposed_ports.push(port);
        self
    }

    /// Mounts a host path.
    pub fn bind(mut self, mount: BindMount) -> ContainerSpec {
        self.binds.push(mount);
        self
    }

    /// Joins this network (instead of the engine's default one) under these extra names.
    pub fn network<S: Into<String>>(
        mut self,
        network: impl Into<String>,
        aliases: impl IntoIterator<Item = S>,
    ) -> ContainerSpec {
        self.network = Some(NetworkAttachment {
            network: network.into(),
            aliases: aliases.into_iter().map(Into::into).collect(),
        });
        self
    }

    /// Limits CPU and memory.
    pub fn resources(mut self, resources: Resources) -> ContainerSpec {
        self.resources = resources;
        self
    }

    /// Sets the restart policy.
    pub fn restart(mut self, policy: RestartPolicy) -> ContainerSpec {
        self.restart = policy;
        self
    }

    /// Declares a health check (metadata only: see [`HealthCheck`]).
    pub fn healthcheck(mut self, healthcheck: HealthCheck) -> ContainerSpec {
        self.healthcheck = Some(healthcheck);
        self
    }
}

/// A container as the engine describes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContainerDetails {
    /// The container id.
    pub id: ContainerId,
    /// Its name, without the leading `/` the API adds.
    pub name: String,
    /// The image reference it was created from.
    pub image: String,
    /// The id of that image.
    pub image_id: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Whether it runs, and how it ended.
    pub state: ContainerState,
    /// How many times the engine restarted it.
    pub restart_count: u32,
    /// Its address on each network it joined, by network name.
    pub networks: BTreeMap<String, NetworkEndpoint>,
    /// The ports published on the host, with the host ports actually bound.
    pub published_ports: Vec<PublishedPort>,
}

impl ContainerDetails {
    /// The host address a container port is published on, preferring IPv4 when the engine
    /// bound both families.
    pub fn host_port(&self, container_port: Port) -> Option<SocketAddr> {
        let mut bound = self
            .published_ports
            .iter()
            .filter(|published| published.container_port == container_port)
            .map(|published| published.host);
        let first = bound.next()?;
        Some(if first.is_ipv4() {
            first
        } else {
            bound.find(SocketAddr::is_ipv4).unwrap_or(first)
        })
    }
}

/// A container port bound on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PublishedPort {
    /// The port inside the container.
    pub container_port: Port,
    /// The host address it is reachable on (0.0.0.0 when bound on every address).
    pub host: SocketAddr,
}

/// A container's address on one network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetworkEndpoint {
    /// Its IPv4 address there, once running.
    pub ip_address: Option<IpAddr>,
    /// The extra names it answers to there.
    pub aliases: Vec<String>,
}

/// Whether a container runs, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerState {
    /// The engine's status.
    pub status: ContainerStatus,
    /// Whether its process runs (true while paused or restarting too).
    pub running: bool,
    /// The exit code, once it exited.
    pub exit_code: Option<i64>,
    /// The main process id on the host, while running.
    pub pid: Option<u32>,
    /// When it last started.
    pub started_at: Option<Timestamp>,
    /// When it last stopped.
    pub finished_at: Option<Timestamp>,
    /// Whether the kernel killed it for exceeding its memory limit.
    pub oom_killed: bool,
    /// The engine's error when it could not start it.
    pub error: Option<String>,
}

/// A container's status, as the engine names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContainerStatus {
    /// Created, never started.
    Created,
    /// Running.
    Running,
    /// Paused.
    Paused,
    /// Being restarted by its restart policy.
    Restarting,
    /// Being removed.
    Removing,
    /// Being stopped.
    Stopping,
    /// Exited.
    Exited,
    /// Dead: the engine failed to stop or remove it.
    Dead,
    /// The engine gave no status.
    Unknown,
}

/// One container in a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerSummary {
    /// The container id.
    pub id: ContainerId,
    /// Its names, without the leading `/`.
    pub names: Vec<String>,
    /// The image reference it was created from.
    pub image: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its status.
    pub status: ContainerStatus,
    /// The engine's human description, e.g. "Up 3 minutes".
    pub status_text: String,
    /// When it was created.
    pub created: Option<Timestamp>,
}

/// Which containers to list. Every condition must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerFilter {
    pub(crate) labels: LabelSelectors,
    pub(crate) name: Option<String>,
    pub(crate) network: Option<String>,
    pub(crate) include_stopped: bool,
}

impl ContainerFilter {
    /// Running containers only.
    pub fn running() -> ContainerFilter {
        ContainerFilter::default()
    }

    /// Containers in any state.
    pub fn all() -> ContainerFilter {
        ContainerFilter {
            include_stopped: true,
            ..ContainerFilter::default()
        }
    }

    /// Only containers with this label set to this value.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> ContainerFilter {
        self.labels.equal(key.into(), value.into());
        self
    }

    /// Only containers with this label, whatever its value.
    pub fn has_label(mut self, key: impl Into<String>) -> ContainerFilter {
        self.labels.present(key.into());
        self
    }

    /// Only containers whose name contains this text (the engine's `name` filter).
    pub fn name(mut self, name: impl Into<String>) -> ContainerFilter {
        self.name = Some(name.into());
        self
    }

    /// Only containers attached to this network (a name or an id).
    pub fn network(mut self, network: impl Into<String>) -> ContainerFilter {
        self.network = Some(network.into());
        self
    }
}

/// Which logs to read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// Keep streaming new output until the container stops.
    pub follow: bool,
    /// Only output since this time.
    pub since: Option<Timestamp>,
    /// Only the last this many lines (of what exists when the call is made).
    pub tail: Option<usize>,
}

/// Which output stream a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogStream {
    /// Standard output (and a terminal's output).
    Stdout,
    /// Standard error.
    Stderr,
}

/// A piece of a container's output: one line as the engine stored it, newline included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
    /// Where it was written.
    pub stream: LogStream,
    /// The text, decoded as UTF-8 with invalid bytes replaced.
    pub text: String,
}

/// A container's resource use, measured over about a second.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ContainerStats {
    /// CPU use in percent of one CPU (200 is two CPUs fully used), as `docker stats` shows it.
    pub cpu_percent: f64,
    /// Memory in use in bytes, page cache excluded as `docker stats` does.
    pub memory_bytes: u64,
    /// The memory limit in bytes (the host's memory when there is no limit).
    pub memory_limit_bytes: u64,
    /// `memory_bytes` in percent of `memory_limit_bytes`.
    pub memory_percent: f64,
}

/// A command to run in a running container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecSpec {
    pub(crate) cmd: Vec<String>,
    pub(crate) env: BTreeMap<String, String>,
    pub(crate) working_dir: Option<String>,
    pub(crate) user: Option<String>,
}

impl ExecSpec {
    /// Runs this program with these arguments.
    pub fn new<S: Into<String>>(cmd: impl IntoIterator<Item = S>) -> ExecSpec {
        ExecSpec {
            cmd: cmd.into_iter().map(Into::into).collect(),
            env: BTreeMap::new(),
            working_dir: None,
            user: None,
        }
    }

    /// Sets an environment variable for the command.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> ExecSpec {
        self.env.insert(name.into(), value.into());
        self
    }

    /// Runs the command in this directory.
    pub fn working_dir(mut self, dir: impl Into<String>) -> ExecSpec {
        self.working_dir = Some(dir.into());
        self
    }

    /// Runs the command as this user.
    pub fn user(mut self, user: impl Into<String>) -> ExecSpec {
        self.user = Some(user.into());
        self
    }
}

/// Something that happened while a command ran in a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecEvent {
    /// Output of the command.
    Output(LogLine),
    /// The command finished; always the last event.
    Exited {
        /// Its exit code.
        exit_code: i64,
    },
}

/// The collected result of a command run in a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecOutput {
    /// Its exit code.
    pub exit_code: i64,
    /// Everything it wrote to standard output.
    pub stdout: String,
    /// Everything it wrote to standard error.
    pub stderr: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ports_read_with_and_without_protocol() {
        assert_eq!("8080".parse(), Ok(Port::tcp(8080)));
        assert_eq!("8080/tcp".parse(), Ok(Port::tcp(8080)));
        assert_eq!("53/udp".parse(), Ok(Port::udp(53)));
        assert_eq!(
            "9/sctp".parse(),
            Ok(Port {
                number: 9,
                protocol: Protocol::Sctp
            })
        );
        for bad in ["", "/tcp", "80/", "80/icmp", "+80", "65536", "http"] {
            assert_eq!(
                bad.parse::<Port>(),
                Err(InvalidPort {
                    value: bad.to_owned()
                })
            );
        }
    }

    #[test]
    fn host_port_prefers_ipv4() {
        let details_with = |published_ports| ContainerDetails {
            id: ContainerId::new("c"),
            name: "c".to_owned(),
            image: "i".to_owned(),
            image_id: "sha256:i".to_owned(),
            labels: BTreeMap::new(),
            state: ContainerState {
                status: ContainerStatus::Running,
                running: true,
                exit_code: None,
                pid: Some(1),
                started_at: None,
                finished_at: None,
                oom_killed: false,
                error: None,
            },
            restart_count: 0,
            networks: BTreeMap::new(),
            published_ports,
        };
        let v6: SocketAddr = "[::]:4000".parse().unwrap();
        let v4: SocketAddr = "0.0.0.0:4000".parse().unwrap();
        let published = |host| PublishedPort {
            container_port: Port::tcp(80),
            host,
        };
        let details = details_with(vec![published(v6), published(v4)]);
        assert_eq!(details.host_port(Port::tcp(80)), Some(v4));
        assert_eq!(details.host_port(Port::udp(80)), None);
        assert_eq!(
            details_with(vec![published(v6)]).host_port(Port::tcp(80)),
            Some(v6)
        );
    }

    proptest! {
        #[test]
        fn port_display_parses_back(number: u16, protocol in prop_oneof![
            Just(Protocol::Tcp), Just(Protocol::Udp), Just(Protocol::Sctp)
        ]) {
            let port = Port { number, protocol };
            prop_assert_eq!(port.to_string().parse::<Port>(), Ok(port));
        }

        #[test]
        fn port_parse_never_panics(value in ".{0,12}") {
            let _ = value.parse::<Port>();
        }
    }
}
