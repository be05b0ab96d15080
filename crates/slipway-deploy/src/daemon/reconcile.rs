//! The daemon's loop, once a second: converge releases whose controller died, let warm releases
//! go when their time is up, autoscale, and (every ten rounds) stop replicas no release owns.
//! Every failure is logged and the loop goes on: one broken service must not stall the others.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use slipway_config::{Autoscale, ScaleTarget};
use slipway_runtime::{ReplicaState, RuntimeKind};
use slipway_store::{NewDeployEvent, ReleaseQuery, ReleaseStatus, Store};
use tokio::time::Instant;

use crate::autoscale::{Autoscaler, Decision};
use crate::controller::Controller;
use crate::error::DeployError;
use crate::names::{ServiceKey, pool_id};
use crate::platform::{LocalPlatform, Platform};

/// Time between rounds.
const ROUND: Duration = Duration::from_secs(1);
/// Rounds between sweeps for orphaned replicas.
const SWEEP_EVERY: u64 = 10;
/// How long a release whose controller died waits for a person to rerun their command before
/// the daemon converges it.
const ABANDONED_AFTER: Duration = Duration::from_secs(10);

/// One service's autoscaling: its decisions so far, and the last request count (for a
/// requests-per-second target).
struct Scaling {
    autoscaler: Autoscaler,
    last_requests: Option<(Instant, u64)>,
}

/// Runs forever; the daemon aborts it when it stops.
pub(super) async fn run(store: Arc<dyn Store>, platform: Arc<LocalPlatform>, project: String) {
    let log: crate::Progress = Arc::new(|line: &str| tracing::info!("{line}"));
    let controller = Controller::new(store.clone(), platform.clone(), "daemon", log.clone());
    let autoscaling = Controller::new(store.clone(), platform.clone(), "autoscaler", log);
    let mut scaling: BTreeMap<ServiceKey, Scaling> = BTreeMap::new();
    // Containers an earlier daemon left call other services through the relays it held.
    platform.relay_project_networks(&project).await;
    let mut ticks = tokio::time::interval(ROUND);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for round in 1_u64.. {
        ticks.tick().await;
        let keys = match keys(&store, &project).await {
            Ok(keys) => keys,
            Err(error) => {
                tracing::warn!(%error, "cannot read the services to look after");
                continue;
            }
        };
        for key in &keys {
            if let Err(error) = controller.recover_after(key, ABANDONED_AFTER).await {
                tracing::warn!(%error, service = %key, "converging an abandoned release failed");
            }
            if let Err(error) = controller.expire_warm(key).await {
                tracing::warn!(%error, service = %key, "letting a warm release go failed");
            }
            if let Err(error) =
                autoscale(&store, &autoscaling, platform.as_ref(), key, &mut scaling).await
            {
                tracing::warn!(%error, service = %key, "autoscaling failed");
            }
        }
        scaling.retain(|key, _| keys.contains(key));
        if round % SWEEP_EVERY == 0 {
            sweep(&controller, &project).await;
        }
    }
}

/// Every service with a state or a release in progress.
async fn keys(store: &Arc<dyn Store>, project: &str) -> Result<BTreeSet<ServiceKey>, DeployError> {
    let store = store.clone();
    let project = project.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut keys = BTreeSet::new();
        for state in store.service_states(None)? {
            keys.insert(ServiceKey::new(&project, state.environment, state.service));
        }
        let query = ReleaseQuery {
            status: Some(ReleaseStatus::InProgress),
            ..ReleaseQuery::default()
        };
        for release in store.releases(&query)? {
            keys.insert(ServiceKey::new(
                &project,
                release.record.environment,
                release.record.service,
            ));
        }
        Ok::<_, DeployError>(keys)
    })
    .await
    .map_err(|error| DeployError::DaemonProtocol {
        message: format!("reading the store failed: {error}"),
    })?
}

/// Stops replicas no release owns, in each runtime that answers.
async fn sweep(controller: &Controller, project: &str) {
    for runtime in [RuntimeKind::Process, RuntimeKind::Container] {
        match controller.sweep_orphans(project, runtime).await {
            Ok(stopped) if !stopped.is_empty() => {
                tracing::info!(?stopped, "stopped replicas no release owns");
            }
            Ok(_) => {}
            // No container engine here: there are no containers to sweep either.
            Err(DeployError::Runtime(slipway_runtime::RuntimeError::Engine(_))) => {}
            Err(error) => tracing::warn!(%error, %runtime, "sweeping for orphaned replicas failed"),
        }
    }
}

/// One autoscaling round for `key`: measure, decide, scale, record.
async fn autoscale(
    store: &Arc<dyn Store>,
    controller: &Controller,
    platform: &LocalPlatform,
    key: &ServiceKey,
    scaling: &mut BTreeMap<ServiceKey, Scaling>,
) -> Result<(), DeployError> {
    let Some((state, spec)) = controller.serving_spec(key).await? else {
        return Ok(());
    };
    let Some(config) = spec.autoscale else {
        scaling.remove(key);
        return Ok(());
    };
    if in_progress(store, key).await? {
        return Ok(());
    }
    let entry = scaling.entry(key.clone()).or_insert_with(|| Scaling {
        autoscaler: Autoscaler::new(config),
        last_requests: None,
    });
    if *entry.autoscaler.config() != config {
        *entry = Scaling {
            autoscaler: Autoscaler::new(config),
            last_requests: None,
        };
    }
    let now = Instant::now();
    if !entry.autoscaler.due(now) {
        return Ok(());
    }
    let replicas: Vec<_> = platform
        .replicas(spec.runtime, &key.release_labels(state.current))
        .await?
        .into_iter()
        .filter(|replica| replica.state == ReplicaState::Running)
        .collect();
    let Some(measured) = measure(
        platform,
        key,
        state.current,
        &config,
        &replicas,
        spec.runtime,
        entry,
    )
    .await?
    else {
        return Ok(());
    };
    let running = u32::try_from(replicas.len()).unwrap_or(u32::MAX);
    match entry.autoscaler.decide(now, running, measured) {
        Decision::Steady => Ok(()),
        Decision::Hold { reason } => {
            record(store, controller, key, &format!("held: {reason}")).await
        }
        Decision::Scale { to, reason } => {
            record(store, controller, key, &reason).await?;
            controller.scale(key, to, &reason).await?;
            Ok(())
        }
    }
}

/// The measure per replica, or `None` when there is nothing to compare yet.
async fn measure(
    platform: &LocalPlatform,
    key: &ServiceKey,
    release: slipway_store::ReleaseId,
    config: &Autoscale,
    replicas: &[slipway_runtime::Replica],
    runtime: RuntimeKind,
    entry: &mut Scaling,
) -> Result<Option<f64>, DeployError> {
    if replicas.is_empty() {
        return Ok(None);
    }
    let count = replicas.len() as f64;
    match config.target {
        ScaleTarget::CpuPercent(_) | ScaleTarget::MemoryPercent(_) => {
            let stats = futures::future::try_join_all(
                replicas
                    .iter()
                    .map(|replica| platform.stats(runtime, &replica.id)),
            )
            .await?;
            let total: f64 = stats
                .iter()
                .map(|stats| match config.target {
                    ScaleTarget::CpuPercent(_) => stats.cpu_percent,
                    _ => stats.memory_percent,
                })
                .sum();
            Ok(Some(total / count))
        }
        ScaleTarget::RequestsPerSecond(_) => {
            let metrics = platform.metrics().await?;
            let requests = metrics
                .pool(&key.backend()?, &pool_id(release)?)
                .map_or(0, |pool| pool.requests);
            let now = Instant::now();
            let previous = entry.last_requests.replace((now, requests));
            Ok(previous.and_then(|(then, before)| {
                let seconds = now.saturating_duration_since(then).as_secs_f64();
                (seconds > 0.0).then(|| requests.saturating_sub(before) as f64 / seconds / count)
            }))
        }
    }
}

async fn in_progress(store: &Arc<dyn Store>, key: &ServiceKey) -> Result<bool, DeployError> {
    let store = store.clone();
    let query = ReleaseQuery {
        environment: Some(key.environment.clone()),
        service: Some(key.service.clone()),
        status: Some(ReleaseStatus::InProgress),
        limit: Some(1),
    };
    tokio::task::spawn_blocking(move || store.releases(&query))
        .await
        .map_err(|error| DeployError::DaemonProtocol {
            message: format!("reading the store failed: {error}"),
        })?
        .map(|releases| !releases.is_empty())
        .map_err(DeployError::from)
}

/// Records an autoscaling decision.
async fn record(
    store: &Arc<dyn Store>,
    controller: &Controller,
    key: &ServiceKey,
    reason: &str,
) -> Result<(), DeployError> {
    let event: NewDeployEvent = controller.event(key, "autoscale", reason);
    let store = store.clone();
    tokio::task::spawn_blocking(move || store.record_deploy_event(&event))
        .await
        .map_err(|error| DeployError::DaemonProtocol {
            message: format!("recording an event failed: {error}"),
        })??;
    Ok(())
}
