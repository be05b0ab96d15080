//! Containers over the Docker Engine API: create, start, stop, kill, remove, inspect, list,
//! wait, logs and stats.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::errors::Error as BollardError;
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerState as ApiContainerState,
    ContainerStateStatusEnum, ContainerSummary as ApiContainerSummary, ContainerSummaryStateEnum,
    EndpointSettings, HostConfig, NetworkingConfig, PortBinding as ApiPortBinding, PortMap,
    RestartPolicy as ApiRestartPolicy, RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    CreateContainerOptions, KillContainerOptions, ListContainersOptions, LogsOptions,
    RemoveContainerOptions, StatsOptions, StopContainerOptions,
};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};

use super::convert::{env_list, health_config, label_map, list_filters, timestamp, unix_timestamp};
use super::errors::{Doing, translate};
use super::stats;
use crate::container::{
    ContainerDetails, ContainerFilter, ContainerId, ContainerSpec, ContainerState, ContainerStats,
    ContainerStatus, ContainerSummary, LogLine, LogOptions, LogStream, NetworkEndpoint, Port,
    PublishedPort, RestartPolicy,
};
use crate::error::EngineError;

/// The time between the two samples CPU use is computed from, as `docker stats` uses.
const STATS_WINDOW: Duration = Duration::from_secs(1);

/// How often, and how far apart, a listing or an inspection is asked again when Podman answers
/// with its transient `stopped` state (see [`asks_again`]).
const TRANSIENT_STATE_TRIES: u32 = 40;
const TRANSIENT_STATE_PAUSE: Duration = Duration::from_millis(25);

/// Runs `request` again while its answer fails to decode because of Podman's `stopped` state.
///
/// Podman 4 reports a container that exited but is not yet cleaned up (for milliseconds, or
/// between the runs of a restart policy) as `stopped`, a state the Docker API does not have, and
/// `bollard` refuses the whole answer, so one such container would fail every listing. The state
/// passes on its own; asking again is enough.
async fn asks_again<T, F, Fut>(mut request: F) -> Result<T, BollardError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, BollardError>>,
{
    let mut tries = 1;
    loop {
        match request().await {
            Err(BollardError::JsonDataError { message, .. })
                if message.contains("unknown variant `stopped`")
                    && tries < TRANSIENT_STATE_TRIES =>
            {
                tries += 1;
                tokio::time::sleep(TRANSIENT_STATE_PAUSE).await;
            }
            answer => return answer,
        }
    }
}

pub(crate) async fn create(
    docker: &Docker,
    spec: &ContainerSpec,
) -> Result<ContainerId, EngineError> {
    let mut doing = Doing::new("creating a container").image(&spec.image);
    if let Some(name) = &spec.name {
        doing = doing.container(name);
    }
    let options = spec.name.as_ref().map(|name| CreateContainerOptions {
        name: Some(name.clone()),
        platform: String::new(),
    });
    let created = docker
        .create_container(options, create_body(spec))
        .await
        .map_err(|error| translate(error, doing))?;
    for warning in created
        .warnings
        .iter()
        .filter(|warning| !warning.is_empty())
    {
        tracing::warn!(container = %created.id, %warning, "the engine warned when creating a container");
    }
    Ok(ContainerId::new(created.id))
}

fn create_body(spec: &ContainerSpec) -> ContainerCreateBody {
    let exposed: BTreeSet<String> = spec
        .exposed_ports
        .iter()
        .chain(spec.ports.iter().map(|binding| &binding.container_port))
        .map(Port::to_string)
        .collect();
    let networking_config = spec.network.as_ref().map(|attachment| NetworkingConfig {
        endpoints_config: Some(HashMap::from([(
            attachment.network.clone(),
            EndpointSettings {
                aliases: Some(attachment.aliases.clone()),
                ..EndpointSettings::default()
            },
        )])),
    });
    ContainerCreateBody {
        image: Some(spec.image.clone()),
        cmd: spec.cmd.clone(),
        entrypoint: spec.entrypoint.clone(),
        env: Some(env_list(&spec.env)),
        working_dir: spec.working_dir.clone(),
        user: spec.user.clone(),
        labels: Some(spec.labels.clone().into_iter().collect()),
        exposed_ports: Some(exposed.into_iter().collect()),
        healthcheck: spec.healthcheck.as_ref().map(health_config),
        networking_config,
        host_config: Some(host_config(spec)),
        ..ContainerCreateBody::default()
    }
}

fn host_config(spec: &ContainerSpec) -> HostConfig {
    let mut port_bindings = PortMap::new();
    for binding in &spec.ports {
        let host_port = binding.host.port();
        let bound = ApiPortBinding {
            host_ip: Some(binding.host.ip().to_string()),
            // No host port lets the engine pick a free one.
            host_port: (host_port != 0).then(|| host_port.to_string()),
        };
        port_bindings
            .entry(binding.container_port.to_string())
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_default()
            .push(bound);
    }
    let binds = spec
        .binds
        .iter()
        .map(|mount| {
            let mode = if mount.read_only { ":ro" } else { "" };
            format!(
                "{}:{}{mode}",
                mount.host_path.display(),
                mount.container_path
            )
        })
        .collect();
    let to_i64 = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
    HostConfig {
        port_bindings: Some(port_bindings),
        binds: Some(binds),
        network_mode: spec
            .network
            .as_ref()
            .map(|attachment| attachment.network.clone()),
        nano_cpus: spec.resources.nano_cpus.map(to_i64),
        memory: spec.resources.memory_bytes.map(to_i64),
        restart_policy: Some(restart_policy(spec.restart)),
        extra_hosts: (!spec.extra_hosts.is_empty()).then(|| {
            spec.extra_hosts
                .iter()
                .map(|(name, address)| format!("{name}:{address}"))
                .collect()
        }),
        ..HostConfig::default()
    }
}

fn restart_policy(policy: RestartPolicy) -> ApiRestartPolicy {
    let (name, maximum_retry_count) = match policy {
        RestartPolicy::No => (RestartPolicyNameEnum::NO, None),
        RestartPolicy::OnFailure { max_retries } => (
            RestartPolicyNameEnum::ON_FAILURE,
            Some(i64::from(max_retries)),
        ),
        RestartPolicy::Always => (RestartPolicyNameEnum::ALWAYS, None),
        RestartPolicy::UnlessStopped => (RestartPolicyNameEnum::UNLESS_STOPPED, None),
    };
    ApiRestartPolicy {
        name: Some(name),
        maximum_retry_count,
    }
}

pub(crate) async fn start(docker: &Docker, container: &str) -> Result<(), EngineError> {
    docker
        .start_container(container, None)
        .await
        .map_err(|error| {
            translate(
                error,
                Doing::new("starting a container").container(container),
            )
        })
}

pub(crate) async fn stop(
    docker: &Docker,
    container: &str,
    grace: Duration,
) -> Result<(), EngineError> {
    let seconds = i32::try_from(grace.as_secs()).unwrap_or(i32::MAX);
    let options = StopContainerOptions {
        t: Some(seconds),
        signal: None,
    };
    docker
        .stop_container(container, Some(options))
        .await
        .map_err(|error| {
            translate(
                error,
                Doing::new("stopping a container").container(container),
            )
        })
}

pub(crate) async fn kill(
    docker: &Docker,
    container: &str,
    signal: &str,
) -> Result<(), EngineError> {
    let options = KillContainerOptions {
        signal: signal.to_owned(),
    };
    docker
        .kill_container(container, Some(options))
        .await
        .map_err(|error| {
            translate(
                error,
                Doing::new("signalling a container").container(container),
            )
        })
}

pub(crate) async fn remove(
    docker: &Docker,
    container: &str,
    force: bool,
) -> Result<(), EngineError> {
    if force {
        // Docker kills a container it force-removes; Podman first waits out the stop timeout
        // (10 s by default). Killing first makes both as quick. It fails harmlessly when the
        // container does not run.
        if let Err(error) = kill(docker, container, "SIGKILL").await {
            tracing::debug!(%container, %error, "kill before force removal");
        }
    }
    let options = RemoveContainerOptions {
        force,
        v: true,
        link: false,
    };
    docker
        .remove_container(container, Some(options))
        .await
        .map_err(|error| {
            translate(
                error,
                Doing::new("removing a container").container(container),
            )
        })
}

pub(crate) async fn inspect(
    docker: &Docker,
    container: &str,
) -> Result<Option<ContainerDetails>, EngineError> {
    let doing = Doing::new("inspecting a container").container(container);
    match asks_again(|| docker.inspect_container(container, None)).await {
        Ok(details) => container_details(details, doing).map(Some),
        Err(error) => match translate(error, doing) {
            EngineError::ContainerNotFound { .. } => Ok(None),
            other => Err(other),
        },
    }
}

fn container_details(
    details: ContainerInspectResponse,
    doing: Doing<'_>,
) -> Result<ContainerDetails, EngineError> {
    let id = details.id.ok_or_else(|| EngineError::Protocol {
        during: doing.to_string(),
        message: "the container has no id".to_owned(),
    })?;
    let config = details.config.unwrap_or_default();
    let settings = details.network_settings.unwrap_or_default();
    let networks = settings
        .networks
        .unwrap_or_default()
        .into_iter()
        .map(|(name, endpoint)| {
            let ip_address = endpoint
                .ip_address
                .as_deref()
                .and_then(|ip| ip.parse().ok());
            (
                name,
                NetworkEndpoint {
                    ip_address,
                    aliases: endpoint.aliases.unwrap_or_default(),
                },
            )
        })
        .collect();
    Ok(ContainerDetails {
        id: ContainerId::new(id),
        name: details
            .name
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_owned(),
        image: config.image.unwrap_or_default(),
        image_id: details.image.unwrap_or_default(),
        labels: label_map(config.labels),
        state: container_state(details.state.unwrap_or_default()),
        restart_count: details
            .restart_count
            .and_then(|count| u32::try_from(count).ok())
            .unwrap_or(0),
        networks,
        published_ports: published_ports(settings.ports.unwrap_or_default()),
    })
}

fn container_state(state: ApiContainerState) -> ContainerState {
    let status = match state.status.unwrap_or(ContainerStateStatusEnum::EMPTY) {
        ContainerStateStatusEnum::CREATED => ContainerStatus::Created,
        ContainerStateStatusEnum::RUNNING => ContainerStatus::Running,
        ContainerStateStatusEnum::PAUSED => ContainerStatus::Paused,
        ContainerStateStatusEnum::RESTARTING => ContainerStatus::Restarting,
        ContainerStateStatusEnum::REMOVING => ContainerStatus::Removing,
        ContainerStateStatusEnum::STOPPING => ContainerStatus::Stopping,
        ContainerStateStatusEnum::EXITED => ContainerStatus::Exited,
        ContainerStateStatusEnum::DEAD => ContainerStatus::Dead,
        ContainerStateStatusEnum::EMPTY => ContainerStatus::Unknown,
    };
    let ended = matches!(status, ContainerStatus::Exited | ContainerStatus::Dead);
    ContainerState {
        status,
        running: state.running.unwrap_or(false),
        exit_code: state.exit_code.filter(|_| ended),
        pid: state
            .pid
            .and_then(|pid| u32::try_from(pid).ok())
            .filter(|pid| *pid > 0),
        started_at: state.started_at.as_deref().and_then(timestamp),
        finished_at: state.finished_at.as_deref().and_then(timestamp),
        oom_killed: state.oom_killed.unwrap_or(false),
        error: state.error.filter(|error| !error.is_empty()),
    }
}

/// The host addresses of published ports. An empty host IP means every address.
fn published_ports(ports: PortMap) -> Vec<PublishedPort> {
    let mut published: Vec<PublishedPort> = ports
        .into_iter()
        .filter_map(|(port, bindings)| Some((port.parse::<Port>().ok()?, bindings?)))
        .flat_map(|(container_port, bindings)| {
            bindings.into_iter().filter_map(move |binding| {
                let ip = match binding.host_ip.as_deref() {
                    None | Some("") => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                    Some(ip) => ip.parse().ok()?,
                };
                let port = binding.host_port.as_deref()?.parse().ok()?;
                Some(PublishedPort {
                    container_port,
                    host: SocketAddr::new(ip, port),
                })
            })
        })
        .collect();
    published.sort_by_key(|port| (port.container_port, port.host));
    published
}

pub(crate) async fn list(
    docker: &Docker,
    filter: &ContainerFilter,
) -> Result<Vec<ContainerSummary>, EngineError> {
    let mut filters = list_filters(
        &filter.labels,
        filter.name.as_deref().map(|name| ("name", name)),
    );
    if let Some(network) = &filter.network {
        filters.insert("network".to_owned(), vec![network.clone()]);
    }
    let options = ListContainersOptions {
        all: filter.include_stopped,
        filters: Some(filters),
        ..ListContainersOptions::default()
    };
    let containers = asks_again(|| docker.list_containers(Some(options.clone())))
        .await
        .map_err(|error| translate(error, Doing::new("listing containers")))?;
    Ok(containers
        .into_iter()
        .filter_map(container_summary)
        .filter(|container| filter.labels.matches(&container.labels))
        .collect())
}

fn container_summary(summary: ApiContainerSummary) -> Option<ContainerSummary> {
    let status = match summary.state.unwrap_or(ContainerSummaryStateEnum::EMPTY) {
        ContainerSummaryStateEnum::CREATED => ContainerStatus::Created,
        ContainerSummaryStateEnum::RUNNING => ContainerStatus::Running,
        ContainerSummaryStateEnum::PAUSED => ContainerStatus::Paused,
        ContainerSummaryStateEnum::RESTARTING => ContainerStatus::Restarting,
        ContainerSummaryStateEnum::REMOVING => ContainerStatus::Removing,
        ContainerSummaryStateEnum::STOPPING => ContainerStatus::Stopping,
        ContainerSummaryStateEnum::EXITED => ContainerStatus::Exited,
        ContainerSummaryStateEnum::DEAD => ContainerStatus::Dead,
        ContainerSummaryStateEnum::EMPTY => ContainerStatus::Unknown,
    };
    Some(ContainerSummary {
        id: ContainerId::new(summary.id?),
        names: summary
            .names
            .unwrap_or_default()
            .iter()
            .map(|name| name.trim_start_matches('/').to_owned())
            .collect(),
        image: summary.image.unwrap_or_default(),
        labels: label_map(summary.labels),
        status,
        status_text: summary.status.unwrap_or_default(),
        created: summary.created.and_then(unix_timestamp),
    })
}

/// Waits for the container to stop; `docker` should have a long request timeout.
pub(crate) async fn wait(docker: &Docker, container: &str) -> Result<i64, EngineError> {
    let doing = Doing::new("waiting for a container").container(container);
    let mut answers = docker.wait_container(container, None);
    match answers.next().await {
        Some(Ok(answer)) => Ok(answer.status_code),
        // `bollard` reports a non-zero exit code as an error; only a message makes it one.
        Some(Err(BollardError::DockerContainerWaitError { error, code })) if error.is_empty() => {
            Ok(code)
        }
        Some(Err(error)) => Err(translate(error, doing)),
        None => Err(EngineError::Disconnected {
            during: doing.to_string(),
            cause: "the engine closed the wait without an exit code".to_owned(),
        }),
    }
}

pub(crate) fn logs(
    docker: &Docker,
    container: &str,
    options: LogOptions,
) -> BoxStream<'static, Result<LogLine, EngineError>> {
    let container = container.to_owned();
    let since = options.since.map_or(0, |since| {
        i32::try_from(since.as_second()).unwrap_or(i32::MAX)
    });
    let options = LogsOptions {
        follow: options.follow,
        stdout: true,
        stderr: true,
        since,
        tail: options
            .tail
            .map_or_else(|| "all".to_owned(), |tail| tail.to_string()),
        ..LogsOptions::default()
    };
    docker
        .logs(&container, Some(options))
        .map_err(move |error| {
            translate(
                error,
                Doing::new("reading container logs").container(&container),
            )
        })
        .try_filter_map(|output| async move { Ok(log_line(output)) })
        .boxed()
}

/// A piece of output as a [`LogLine`]; `None` for echoed input.
pub(crate) fn log_line(output: LogOutput) -> Option<LogLine> {
    let (stream, message) = match output {
        LogOutput::StdOut { message } | LogOutput::Console { message } => {
            (LogStream::Stdout, message)
        }
        LogOutput::StdErr { message } => (LogStream::Stderr, message),
        LogOutput::StdIn { .. } => return None,
    };
    Some(LogLine {
        stream,
        text: String::from_utf8_lossy(&message).into_owned(),
    })
}

/// Two samples a second apart. Each is taken with `stream=false&one-shot=true`: Docker then
/// answers at once instead of waiting a second for its own pre-sample, and Podman, which never
/// fills the pre-sample in that mode, answers the same; so CPU use is computed here from the
/// two samples (see `stats`).
pub(crate) async fn stats(docker: &Docker, container: &str) -> Result<ContainerStats, EngineError> {
    let before = sample(docker, container).await?;
    tokio::time::sleep(STATS_WINDOW).await;
    let after = sample(docker, container).await?;
    Ok(stats::container_stats(&before, &after))
}

async fn sample(
    docker: &Docker,
    container: &str,
) -> Result<bollard::models::ContainerStatsResponse, EngineError> {
    let doing = Doing::new("reading container stats").container(container);
    let options = StatsOptions {
        stream: false,
        one_shot: true,
    };
    match docker.stats(container, Some(options)).next().await {
        Some(sample) => sample.map_err(|error| translate(error, doing)),
        None => Err(EngineError::Protocol {
            during: doing.to_string(),
            message: "no stats in the answer".to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::{BindMount, PortBinding, Resources};

    #[test]
    fn the_create_body_carries_the_spec() {
        let spec = ContainerSpec::new("app:1")
            .name("web")
            .cmd(["httpd", "-f"])
            .env("MODE", "test")
            .label("dev.slipway.service", "web")
            .publish(PortBinding::loopback(Port::tcp(80)))
            .publish(PortBinding {
                container_port: Port::tcp(80),
                host: "0.0.0.0:8080".parse().unwrap(),
            })
            .expose(Port::udp(53))
            .bind(BindMount {
                host_path: "/srv/data".into(),
                container_path: "/data".to_owned(),
                read_only: true,
            })
            .network("backend", ["web", "www"])
            .resources(Resources {
                nano_cpus: Some(500_000_000),
                memory_bytes: Some(64 << 20),
            })
            .restart(RestartPolicy::OnFailure { max_retries: 3 });
        let body = create_body(&spec);
        assert_eq!(body.env, Some(vec!["MODE=test".to_owned()]));
        assert_eq!(
            body.exposed_ports,
            Some(vec!["53/udp".to_owned(), "80/tcp".to_owned()])
        );
        let aliases = &body.networking_config.unwrap().endpoints_config.unwrap()["backend"].aliases;
        assert_eq!(
            aliases.as_deref(),
            Some(&["web".to_owned(), "www".to_owned()][..])
        );
        let host = body.host_config.unwrap();
        let bindings = host.port_bindings.unwrap()["80/tcp"].clone().unwrap();
        assert_eq!(
            bindings[0],
            ApiPortBinding {
                host_ip: Some("127.0.0.1".to_owned()),
                host_port: None
            }
        );
        assert_eq!(
            bindings[1],
            ApiPortBinding {
                host_ip: Some("0.0.0.0".to_owned()),
                host_port: Some("8080".to_owned())
            }
        );
        assert_eq!(host.binds, Some(vec!["/srv/data:/data:ro".to_owned()]));
        assert_eq!(host.network_mode.as_deref(), Some("backend"));
        assert_eq!(
            (host.nano_cpus, host.memory),
            (Some(500_000_000), Some(64 << 20))
        );
        assert_eq!(
            host.restart_policy,
            Some(ApiRestartPolicy {
                name: Some(RestartPolicyNameEnum::ON_FAILURE),
                maximum_retry_count: Some(3)
            })
        );
    }

    #[test]
    fn published_ports_read_every_host_binding() {
        let ports: PortMap = serde_json::from_str(
            r#"{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"41000"},{"HostIp":"::","HostPort":"41000"}],
                "53/udp":[{"HostIp":"","HostPort":"5353"}],
                "443/tcp":null}"#,
        )
        .unwrap();
        let published = published_ports(ports);
        let addresses: Vec<String> = published
            .iter()
            .map(|port| format!("{} {}", port.container_port, port.host))
            .collect();
        assert_eq!(
            addresses,
            vec![
                "53/udp 0.0.0.0:5353",
                "80/tcp 0.0.0.0:41000",
                "80/tcp [::]:41000"
            ]
        );
    }

    #[test]
    fn exit_codes_are_reported_once_the_container_ended() {
        let running = ApiContainerState {
            status: Some(ContainerStateStatusEnum::RUNNING),
            running: Some(true),
            exit_code: Some(0),
            pid: Some(4242),
            started_at: Some("2026-11-21T23:59:31Z".to_owned()),
            finished_at: Some("0001-01-01T00:00:00Z".to_owned()),
            ..ApiContainerState::default()
        };
        let state = container_state(running);
        assert_eq!(
            (state.status, state.exit_code, state.pid),
            (ContainerStatus::Running, None, Some(4242))
        );
        assert!(state.started_at.is_some() && state.finished_at.is_none());
        let exited = ApiContainerState {
            status: Some(ContainerStateStatusEnum::EXITED),
            exit_code: Some(3),
            pid: Some(0),
            ..ApiContainerState::default()
        };
        let state = container_state(exited);
        assert_eq!(
            (state.status, state.exit_code, state.pid),
            (ContainerStatus::Exited, Some(3), None)
        );
    }
}
