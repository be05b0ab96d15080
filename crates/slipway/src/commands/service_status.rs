//! `slipway status [ENV]`: what serves each deployed service: its releases (serving, warm, in
//! progress), its replicas with their health, the traffic split between releases, and its URL.

use std::process::ExitCode;

use serde::Serialize;
use slipway_deploy::names::{ServiceKey, pool_release};
use slipway_deploy::strategy::ControllerState;
use slipway_deploy::{DaemonClient, Platform, ReleaseSpec};
use slipway_proxy::{HealthState, UpstreamHealth, VersionedTable};
use slipway_runtime::{ProcessLimits, RuntimeKind};
use slipway_store::{
    Release, ReleaseId, ReleaseQuery, ReleaseStatus, Revision, ServiceState, Store,
};

use super::deploy::{Target, running_daemon, service_url};
use super::releases::{artifact, commit};
use crate::cli::{GlobalArgs, StatusArgs};
use crate::output::{self, print_json, print_line};
use crate::project;
use crate::report::Failure;

/// The whole status, as `--json` prints it.
#[derive(Debug, Serialize)]
struct Report {
    /// Where the daemon's proxy serves; `None` when no daemon runs.
    proxy: Option<std::net::SocketAddr>,
    services: Vec<ServiceStatus>,
}

#[derive(Debug, Serialize)]
struct ServiceStatus {
    environment: String,
    service: String,
    url: Option<String>,
    serving: Option<ReleaseSummary>,
    warm: Option<ReleaseSummary>,
    warm_until: Option<jiff::Timestamp>,
    in_progress: Option<InProgress>,
    wanted_replicas: Option<u32>,
    replicas: Vec<ReplicaStatus>,
    traffic: Vec<Share>,
    /// Whether the CPU and memory limits of its process replicas are enforced; `None` for
    /// containers (the engine enforces them) and for services without limits.
    limits: Option<ProcessLimits>,
}

#[derive(Debug, Serialize)]
struct ReleaseSummary {
    id: ReleaseId,
    strategy: String,
    runtime: String,
    artifact: String,
    /// The source it was made from; `None` when unknown.
    revision: Option<Revision>,
    created_by: String,
    created_at: jiff::Timestamp,
}

#[derive(Debug, Serialize)]
struct InProgress {
    release: ReleaseSummary,
    phase: String,
    controller: Option<u32>,
}

#[derive(Debug, Serialize)]
struct ReplicaStatus {
    name: String,
    release: Option<ReleaseId>,
    address: std::net::SocketAddr,
    state: slipway_runtime::ReplicaState,
    restarts: u32,
    /// The proxy's view: healthy, unhealthy, ejected; `None` while not in the proxy's pool.
    health: Option<HealthState>,
}

#[derive(Debug, Serialize)]
struct Share {
    release: Option<ReleaseId>,
    weight: u32,
    percent: f64,
}

pub(crate) async fn run(global: &GlobalArgs, args: &StatusArgs) -> Result<ExitCode, Failure> {
    let config = project::load_config(global)?;
    if let Some(environment) = &args.environment {
        config.services(environment)?;
    }
    let root = project::config_root(&config)?;
    let store = project::open_store(global, &root)?;
    let states = store.service_states(args.environment.as_deref())?;
    let query = ReleaseQuery {
        environment: args.environment.clone(),
        status: Some(ReleaseStatus::InProgress),
        ..ReleaseQuery::default()
    };
    let in_progress = store.releases(&query)?;
    let mut keys: Vec<ServiceKey> = states
        .iter()
        .map(|state| ServiceKey::new(config.project_name(), &state.environment, &state.service))
        .collect();
    for release in &in_progress {
        let key = ServiceKey::new(
            config.project_name(),
            &release.record.environment,
            &release.record.service,
        );
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys.sort();
    let daemon = match keys.first() {
        Some(key) => {
            running_daemon(&Target::of(
                global,
                config.clone(),
                &key.environment,
                &key.service,
            )?)
            .await?
        }
        None => None,
    };
    let views = match &daemon {
        Some(client) => Some((client.routes().await?, client.upstream_health().await?)),
        None => None,
    };
    let mut services = Vec::new();
    for key in &keys {
        let state = states
            .iter()
            .find(|state| state.environment == key.environment && state.service == key.service);
        let progress = in_progress.iter().find(|release| {
            release.record.environment == key.environment && release.record.service == key.service
        });
        services.push(
            service_status(
                store.as_ref(),
                daemon.as_ref(),
                views.as_ref(),
                key,
                state,
                progress,
            )
            .await?,
        );
    }
    let report = Report {
        proxy: daemon.as_ref().map(|client| client.status().proxy),
        services,
    };
    if args.json {
        print_json(&report)?;
    } else {
        print(&report);
    }
    Ok(ExitCode::SUCCESS)
}

async fn service_status(
    store: &dyn Store,
    daemon: Option<&DaemonClient>,
    views: Option<&(VersionedTable, Vec<UpstreamHealth>)>,
    key: &ServiceKey,
    state: Option<&ServiceState>,
    progress: Option<&Release>,
) -> Result<ServiceStatus, Failure> {
    let summary = |id: Option<ReleaseId>| -> Result<Option<(Release, ReleaseSummary)>, Failure> {
        let Some(id) = id else { return Ok(None) };
        Ok(store.release(id)?.map(|release| {
            let summary = summarize(&release);
            (release, summary)
        }))
    };
    let serving = summary(state.map(|state| state.current))?;
    let warm = summary(state.and_then(|state| state.previous))?;
    let backend = key
        .backend()
        .map_err(|error| Failure::new(error.to_string()))?;
    let mut replicas = Vec::new();
    let mut traffic = Vec::new();
    let mut limits = None;
    if let (Some(client), Some((routes, health))) = (daemon, views) {
        let spec = [serving.as_ref().map(|(release, _)| release), progress]
            .into_iter()
            .flatten()
            .find_map(|release| ReleaseSpec::of(release).ok());
        limits = spec
            .as_ref()
            .filter(|spec| spec.runtime == RuntimeKind::Process)
            .filter(|spec| spec.resources.cpus.is_some() || spec.resources.memory_bytes.is_some())
            .and_then(|_| client.status().process_limits.clone());
        if let Some(runtime) = spec.map(|spec| spec.runtime) {
            for replica in client.replicas(runtime, &key.labels()).await? {
                let release = slipway_deploy::names::release_of(&replica.labels);
                let health = health
                    .iter()
                    .find(|upstream| {
                        upstream.backend == backend && upstream.upstream.as_str() == replica.name
                    })
                    .map(|upstream| upstream.state);
                replicas.push(ReplicaStatus {
                    name: replica.name,
                    release,
                    address: replica.address,
                    state: replica.state,
                    restarts: replica.restarts,
                    health,
                });
            }
        }
        replicas.sort_by(|a, b| a.name.cmp(&b.name));
        if let Some(backend) = routes.table.backend(&backend) {
            let total: u32 = backend.pools.iter().map(|pool| pool.weight).sum();
            for pool in &backend.pools {
                let percent = if total == 0 {
                    0.0
                } else {
                    f64::from(pool.weight) * 100.0 / f64::from(total)
                };
                traffic.push(Share {
                    release: pool_release(&pool.id),
                    weight: pool.weight,
                    percent,
                });
            }
        }
    }
    let in_progress = progress.map(|release| InProgress {
        release: summarize(release),
        phase: ControllerState::from_json(&release.record.phase).map_or_else(
            |_| "unknown".to_owned(),
            |state| describe_phase(&state, release),
        ),
        controller: release.record.controller,
    });
    Ok(ServiceStatus {
        environment: key.environment.clone(),
        service: key.service.clone(),
        url: daemon.map(|client| service_url(key, client.status().proxy)),
        serving: serving.map(|(_, summary)| summary),
        warm: warm.map(|(_, summary)| summary),
        warm_until: state.and_then(|state| state.warm_until),
        in_progress,
        wanted_replicas: state.map(|state| state.replicas),
        replicas,
        traffic,
        limits,
    })
}

fn summarize(release: &Release) -> ReleaseSummary {
    ReleaseSummary {
        id: release.id,
        strategy: release.record.strategy.clone(),
        runtime: release.record.runtime.clone(),
        artifact: artifact(&release.record.artifact),
        revision: release.record.revision.clone(),
        created_by: release.record.created_by.clone(),
        created_at: release.record.created_at,
    }
}

fn describe_phase(state: &ControllerState, release: &Release) -> String {
    let weight = ReleaseSpec::of(release)
        .ok()
        .and_then(|spec| state.phase.canary_weight(&spec.plan));
    match (state.phase.name(), weight) {
        ("paused", Some(weight)) => {
            format!("paused at {weight}%: `slipway promote` or `slipway abort`")
        }
        ("canary", Some(weight)) => format!("canary at {weight}%"),
        (name, _) => name.replace('_', " "),
    }
}

fn print(report: &Report) {
    if report.services.is_empty() {
        print_line("nothing is deployed: `slipway deploy ENV` deploys a service");
        return;
    }
    if report.proxy.is_none() {
        print_line(&output::caution(
            "the slipway daemon does not run: nothing serves until `slipway deploy` starts it",
        ));
    }
    for service in &report.services {
        print_line(&format!(
            "{} in {}  {}",
            service.service,
            service.environment,
            service.url.clone().unwrap_or_default()
        ));
        if let Some(serving) = &service.serving {
            let healthy = service
                .replicas
                .iter()
                .filter(|replica| {
                    replica.release == Some(serving.id)
                        && replica.health == Some(HealthState::Healthy)
                })
                .count();
            print_line(&format!(
                "  {}  release {} ({}, {}, {}, commit {}) by {} {}; {healthy}/{} replicas healthy",
                output::ok("serving"),
                serving.id,
                serving.strategy,
                serving.runtime,
                serving.artifact,
                commit(serving.revision.as_ref()),
                serving.created_by,
                output::ago(serving.created_at),
                service.wanted_replicas.unwrap_or(0)
            ));
        }
        if let Some(warm) = &service.warm {
            let until = service
                .warm_until
                .map_or_else(String::new, |until| format!(" until {until}"));
            print_line(&format!(
                "  {}     release {}{until}",
                output::dim("warm"),
                warm.id
            ));
        }
        if let Some(progress) = &service.in_progress {
            print_line(&format!(
                "  {}  release {}: {}",
                output::caution("deploying"),
                progress.release.id,
                progress.phase
            ));
        }
        if !service.traffic.is_empty() {
            let split: Vec<String> = service
                .traffic
                .iter()
                .map(|share| {
                    format!(
                        "release {} {:.0}%",
                        share
                            .release
                            .map_or_else(|| "?".to_owned(), |id| id.to_string()),
                        share.percent
                    )
                })
                .collect();
            print_line(&format!("  traffic  {}", split.join(", ")));
        }
        match &service.limits {
            Some(limits @ ProcessLimits::NotEnforced { .. }) => {
                print_line(&format!(
                    "  limits   {}",
                    output::caution(&limits.to_string())
                ));
            }
            Some(limits @ ProcessLimits::Enforced { .. }) => {
                print_line(&format!("  limits   {}", output::dim(&limits.to_string())));
            }
            None => {}
        }
        for replica in &service.replicas {
            let health = match replica.health {
                Some(HealthState::Healthy) => output::ok("healthy"),
                Some(HealthState::Unhealthy) => output::bad("unhealthy"),
                Some(HealthState::Ejected) => output::bad("ejected"),
                None => output::dim("not in traffic"),
            };
            let restarts = if replica.restarts > 0 {
                format!(", {} restarts", replica.restarts)
            } else {
                String::new()
            };
            print_line(&format!(
                "    {}  {}  {:?}{restarts}  {health}",
                replica.name, replica.address, replica.state
            ));
        }
    }
}
