//! What else a controller does to a deployed service: roll back, promote or abort a canary, scale,
//! stop, let a warm release go when its time is up, and stop replicas no release owns.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use slipway_config::StrategyName;
use slipway_store::{
    NewDeployEvent, ReleaseId, ReleaseOutcome, ReleaseQuery, ReleaseStatus, ServiceState,
};
use tokio::time::Instant;

use super::work::{next_indexes, upstreams};
use super::{Controller, DeployReport, DeployRequest, controller_state, process_alive};
use crate::error::DeployError;
use crate::names::{
    ENVIRONMENT_LABEL, PROJECT_LABEL, SERVICE_LABEL, ServiceKey, pool_id, release_of,
    replica_index, upstream_id,
};
use crate::spec::ReleaseSpec;
use crate::strategy::Phase;
use crate::traffic::PoolChange;

/// How a rollback went.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RollbackReport {
    /// The release that served before.
    pub from: ReleaseId,
    /// The release that serves now (for a cold rollback: the new release that restores it).
    pub to: ReleaseId,
    /// Whether the target's replicas were running, so only traffic moved.
    pub warm: bool,
    /// From the command to the traffic moved, in milliseconds.
    pub took_ms: u128,
    /// The deploy a cold rollback ran.
    pub deploy: Option<DeployReport>,
}

/// How a scale went.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ScaleReport {
    /// The release scaled.
    pub release: ReleaseId,
    /// Replicas before.
    pub from: u32,
    /// Replicas now.
    pub to: u32,
}

impl Controller {
    /// Moves the traffic of `key` back to release `to` (default: the previous one). When its
    /// replicas are still warm only the traffic moves; otherwise it is deployed again as a new
    /// release that restores it. A paused canary is aborted instead.
    pub async fn rollback(
        &self,
        key: &ServiceKey,
        to: Option<ReleaseId>,
        reason: Option<String>,
    ) -> Result<RollbackReport, DeployError> {
        let began = Instant::now();
        self.recover(key).await?;
        if let Some(release) = self.in_progress(key).await? {
            let from = release.id;
            let report = self.abort(key).await?;
            let to = controller_state(&release)?.replaces.unwrap_or(from);
            return Ok(RollbackReport {
                from,
                to,
                warm: true,
                took_ms: began.elapsed().as_millis(),
                deploy: Some(report),
            });
        }
        let state = self
            .service_state(key)
            .await?
            .ok_or_else(|| DeployError::NotDeployed {
                service: key.to_string(),
            })?;
        let target = self.rollback_target(key, &state, to).await?;
        let spec = self.spec_of(target).await?;
        let warm = !self.replicas_of(key, target, &spec).await?.is_empty()
            && self.pool_serves(key, target).await?;
        if !warm {
            let record = self
                .release(target)
                .await?
                .ok_or(DeployError::UnknownRelease {
                    release: target,
                    service: key.to_string(),
                })?;
            let mut spec = spec;
            spec.plan.strategy = StrategyName::BlueGreen;
            let report = self
                .deploy(DeployRequest {
                    key: key.clone(),
                    spec,
                    artifact: record.record.artifact,
                    revision: record.record.revision,
                    config_hash: record.record.config_hash,
                    reason: Some(reason.unwrap_or_else(|| format!("rollback to release {target}"))),
                    restores: Some(target),
                })
                .await?;
            return Ok(RollbackReport {
                from: state.current,
                to: report.release,
                warm: false,
                took_ms: began.elapsed().as_millis(),
                deploy: Some(report),
            });
        }
        let mut changes = vec![
            PoolChange::SetWeight {
                pool: pool_id(target)?,
                weight: 100,
            },
            PoolChange::SetWeight {
                pool: pool_id(state.current)?,
                weight: 0,
            },
        ];
        let stale = state.previous.filter(|previous| *previous != target);
        if let Some(stale) = stale {
            changes.push(PoolChange::RemovePool {
                pool: pool_id(stale)?,
            });
        }
        let version = self.edit(key, &spec.health, changes).await?;
        let took_ms = began.elapsed().as_millis();
        let running = self.replicas_of(key, target, &spec).await?.len() as u32;
        let now = jiff::Timestamp::now();
        let current_spec = self.spec_of(state.current).await?;
        let keep = jiff::SignedDuration::try_from(current_spec.plan.keep_previous).ok();
        let new_state = ServiceState {
            current: target,
            previous: Some(state.current),
            warm_until: keep.and_then(|keep| now.checked_add(keep).ok()),
            replicas: running,
            updated_at: now,
            ..state.clone()
        };
        let mut message = format!(
            "rolled back from release {} to release {target}: traffic moved in {took_ms}ms",
            state.current
        );
        if let Some(reason) = &reason {
            message.push_str(&format!(" ({reason})"));
        }
        let event = self.event(key, "rollback", &message);
        self.with_store(move |store| store.save_service_state(&new_state, &event))
            .await?;
        (self.progress)(&message);
        if let Some(stale) = stale {
            self.retire_release(key, stale, version).await?;
        }
        Ok(RollbackReport {
            from: state.current,
            to: target,
            warm: true,
            took_ms,
            deploy: None,
        })
    }

    /// The release a rollback goes to: `to` if it is a release of `key` that served, else the
    /// warm previous one, else the newest earlier release that succeeded.
    async fn rollback_target(
        &self,
        key: &ServiceKey,
        state: &ServiceState,
        to: Option<ReleaseId>,
    ) -> Result<ReleaseId, DeployError> {
        if let Some(to) = to {
            let release = self.release(to).await?.filter(|release| {
                release.record.environment == key.environment
                    && release.record.service == key.service
            });
            let release = release.ok_or(DeployError::UnknownRelease {
                release: to,
                service: key.to_string(),
            })?;
            if release.id == state.current {
                return Err(DeployError::AlreadyServing {
                    release: to,
                    service: key.to_string(),
                });
            }
            return match release.outcome {
                Some(ReleaseOutcome::Succeeded) => Ok(release.id),
                _ => Err(DeployError::NeverServed {
                    release: to,
                    status: release.status().as_str(),
                }),
            };
        }
        if let Some(previous) = state.previous {
            return Ok(previous);
        }
        let query = ReleaseQuery {
            environment: Some(key.environment.clone()),
            service: Some(key.service.clone()),
            status: Some(ReleaseStatus::Succeeded),
            limit: None,
        };
        let releases = self.with_store(move |store| store.releases(&query)).await?;
        releases
            .into_iter()
            .map(|release| release.id)
            .find(|id| *id < state.current)
            .ok_or_else(|| DeployError::NothingToRollBack {
                service: key.to_string(),
            })
    }

    /// Whether the proxy has a pool for `release` with upstreams in it.
    async fn pool_serves(&self, key: &ServiceKey, release: ReleaseId) -> Result<bool, DeployError> {
        let routes = self.platform.routes().await?;
        let pool = pool_id(release)?;
        Ok(routes
            .table
            .backend(&key.backend()?)
            .is_some_and(|backend| {
                backend
                    .pools
                    .iter()
                    .any(|candidate| candidate.id == pool && !candidate.upstreams.is_empty())
            }))
    }

    /// Continues a paused canary with its next step (or gives it all the traffic after its last).
    pub async fn promote(&self, key: &ServiceKey) -> Result<DeployReport, DeployError> {
        let release = self.waiting_release(key).await?;
        let state = controller_state(&release)?;
        if !matches!(state.phase, Phase::Paused { .. }) {
            return Err(DeployError::NotPaused {
                service: key.to_string(),
            });
        }
        let why = format!("{} promotes the canary", self.actor);
        let run = self.claim(key, &release, state, &why).await?;
        self.drive(run).await
    }

    /// Stops a paused canary (or a release whose controller is gone): traffic back to the
    /// release it was replacing, its replicas stopped.
    pub async fn abort(&self, key: &ServiceKey) -> Result<DeployReport, DeployError> {
        let release = self.waiting_release(key).await?;
        let state = controller_state(&release)?;
        let took_traffic = state.phase.takes_traffic();
        let why = format!("aborted by {}", self.actor);
        let mut run = self.claim(key, &release, state, &why).await?;
        run.state.phase = Phase::RollBack {
            reason: why.clone(),
            took_traffic,
        };
        self.save_phase(&run, "aborted", &why).await?;
        self.drive(run).await
    }

    /// The in-progress release of `key` that no live controller runs.
    async fn waiting_release(
        &self,
        key: &ServiceKey,
    ) -> Result<slipway_store::Release, DeployError> {
        let release = self
            .in_progress(key)
            .await?
            .ok_or_else(|| DeployError::NotPaused {
                service: key.to_string(),
            })?;
        match release.record.controller {
            Some(pid) if pid != std::process::id() && process_alive(pid) => {
                Err(DeployError::Busy {
                    release: release.id,
                    service: key.to_string(),
                    controller: Some(pid),
                })
            }
            _ => Ok(release),
        }
    }

    /// Runs `replicas` replicas of the release serving `key`: new ones are started and join the
    /// traffic once healthy; surplus ones leave the traffic, finish their requests and stop.
    pub async fn scale(
        &self,
        key: &ServiceKey,
        replicas: u32,
        why: &str,
    ) -> Result<ScaleReport, DeployError> {
        let state = self
            .service_state(key)
            .await?
            .ok_or_else(|| DeployError::NotDeployed {
                service: key.to_string(),
            })?;
        let release = state.current;
        let spec = self.spec_of(release).await?;
        let running = self.replicas_of(key, release, &spec).await?;
        let from = running.len() as u32;
        if replicas > from {
            let indexes = next_indexes(&running, replicas - from);
            let failed = |reason| DeployError::ReplicasFailed {
                service: key.to_string(),
                reason,
            };
            let started = self
                .start_replicas(key, release, &spec, &indexes)
                .await
                .map_err(failed)?;
            if let Err(reason) = self.await_healthy(&spec, &started).await {
                for replica in &started {
                    self.platform
                        .stop_replica(spec.runtime, &replica.id, Duration::ZERO)
                        .await?;
                }
                return Err(failed(reason));
            }
            let changes = vec![PoolChange::AddUpstreams {
                pool: pool_id(release)?,
                upstreams: upstreams(&started)?,
            }];
            self.edit(key, &spec.health, changes).await?;
        } else if replicas < from {
            let mut leaving = running;
            leaving.sort_by_key(|replica| std::cmp::Reverse(replica_index(&replica.name)));
            leaving.truncate((from - replicas) as usize);
            let ids = leaving
                .iter()
                .map(|replica| upstream_id(&replica.name))
                .collect::<Result<Vec<_>, _>>()?;
            let changes = vec![PoolChange::RemoveUpstreams {
                pool: pool_id(release)?,
                upstreams: ids,
            }];
            let version = self.edit(key, &spec.health, changes).await?;
            self.stop_drained(version, &spec, &leaving).await?;
        }
        let message = format!("release {release}: {from} → {replicas} replicas ({why})");
        let event = self.event(key, "scale", &message);
        let new_state = ServiceState {
            replicas,
            updated_at: jiff::Timestamp::now(),
            ..state
        };
        self.with_store(move |store| store.save_service_state(&new_state, &event))
            .await?;
        (self.progress)(&message);
        Ok(ScaleReport {
            release,
            from,
            to: replicas,
        })
    }

    /// Stops every release of `key`: its routes go, its replicas finish their requests and stop,
    /// and its state is forgotten (its releases stay recorded). Returns how many replicas stopped.
    pub async fn stop_service(&self, key: &ServiceKey) -> Result<usize, DeployError> {
        self.recover(key).await?;
        if self.in_progress(key).await?.is_some() {
            self.abort(key).await?;
        }
        let state = self.service_state(key).await?;
        let version = self.platform.remove_backend(&key.backend()?).await?;
        self.platform.drained(version).await?;
        let mut stopped = 0;
        for release in state
            .iter()
            .flat_map(|state| [Some(state.current), state.previous])
            .flatten()
        {
            let spec = self.spec_of(release).await?;
            for replica in self.replicas_of(key, release, &spec).await? {
                self.platform
                    .stop_replica(spec.runtime, &replica.id, spec.plan.stop_grace)
                    .await?;
                stopped += 1;
            }
        }
        if state.is_some() {
            let message = format!("stopped by {}: {stopped} replicas", self.actor);
            let event = self.event(key, "stop", &message);
            let (environment, service) = (key.environment.clone(), key.service.clone());
            self.with_store(move |store| {
                store.remove_service_state(&environment, &service, &event)
            })
            .await?;
            (self.progress)(&message);
        }
        Ok(stopped)
    }

    /// Stops the previous release of `key` once its warm time is up. Returns whether it did.
    pub async fn expire_warm(&self, key: &ServiceKey) -> Result<bool, DeployError> {
        let Some(state) = self.service_state(key).await? else {
            return Ok(false);
        };
        let (Some(previous), Some(until)) = (state.previous, state.warm_until) else {
            return Ok(false);
        };
        if until > jiff::Timestamp::now() {
            return Ok(false);
        }
        let spec = self.spec_of(state.current).await?;
        let version = self
            .edit(
                key,
                &spec.health,
                vec![PoolChange::RemovePool {
                    pool: pool_id(previous)?,
                }],
            )
            .await?;
        self.retire_release(key, previous, version).await?;
        let message = format!("release {previous} was kept warm until {until}; it is stopped");
        let event = self.event(key, "warm_expired", &message);
        let new_state = ServiceState {
            previous: None,
            warm_until: None,
            updated_at: jiff::Timestamp::now(),
            ..state
        };
        self.with_store(move |store| store.save_service_state(&new_state, &event))
            .await?;
        Ok(true)
    }

    /// Stops every replica of `project` in `runtime` that no release owns any more: not the
    /// current or warm release of its service, nor one in progress. Returns their names.
    pub async fn sweep_orphans(
        &self,
        project: &str,
        runtime: slipway_runtime::RuntimeKind,
    ) -> Result<Vec<String>, DeployError> {
        let selector = BTreeMap::from([(PROJECT_LABEL.to_owned(), project.to_owned())]);
        let replicas = self.platform.replicas(runtime, &selector).await?;
        let states = self.with_store(|store| store.service_states(None)).await?;
        let query = ReleaseQuery {
            status: Some(ReleaseStatus::InProgress),
            ..ReleaseQuery::default()
        };
        let in_progress = self.with_store(move |store| store.releases(&query)).await?;
        let mut owned: BTreeSet<(String, String, ReleaseId)> = BTreeSet::new();
        for state in &states {
            for release in [Some(state.current), state.previous].into_iter().flatten() {
                owned.insert((state.environment.clone(), state.service.clone(), release));
            }
        }
        for release in &in_progress {
            owned.insert((
                release.record.environment.clone(),
                release.record.service.clone(),
                release.id,
            ));
        }
        let mut stopped = Vec::new();
        for replica in replicas {
            let owner = (
                replica
                    .labels
                    .get(ENVIRONMENT_LABEL)
                    .cloned()
                    .unwrap_or_default(),
                replica
                    .labels
                    .get(SERVICE_LABEL)
                    .cloned()
                    .unwrap_or_default(),
                release_of(&replica.labels).unwrap_or(ReleaseId::new(-1)),
            );
            if owned.contains(&owner) {
                continue;
            }
            self.platform
                .stop_replica(runtime, &replica.id, Duration::from_secs(10))
                .await?;
            let key = ServiceKey::new(project, owner.0.clone(), owner.1.clone());
            let message = format!(
                "replica {} belonged to no serving release; it is stopped",
                replica.name
            );
            let event = self.event(&key, "orphan_stopped", &message);
            self.with_store(move |store| store.record_deploy_event(&event))
                .await?;
            stopped.push(replica.name);
        }
        Ok(stopped)
    }

    /// An event about `key` by this controller's actor.
    pub(crate) fn event(&self, key: &ServiceKey, kind: &str, message: &str) -> NewDeployEvent {
        NewDeployEvent {
            at: jiff::Timestamp::now(),
            environment: key.environment.clone(),
            service: key.service.clone(),
            kind: kind.to_owned(),
            message: message.to_owned(),
            actor: self.actor.clone(),
        }
    }

    /// The spec of the release serving `key`, if one serves.
    pub async fn serving_spec(
        &self,
        key: &ServiceKey,
    ) -> Result<Option<(ServiceState, ReleaseSpec)>, DeployError> {
        let Some(state) = self.service_state(key).await? else {
            return Ok(None);
        };
        let spec = self.spec_of(state.current).await?;
        Ok(Some((state, spec)))
    }
}
