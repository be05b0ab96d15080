//! The work of each phase: starting replicas, waiting for their health, smoke checks, canary
//! weights and gates, rolling batches, the switch, verification, and rolling back.
//!
//! A failure of the release itself (a replica that does not start, never answers its health
//! check, crashes, fails its analysis) is an [`Event::Failed`] for the state machine; only a
//! failure to record anything (the store) is an error, which leaves the phase saved for the next
//! controller to converge.

use std::collections::BTreeSet;
use std::time::Duration;

use slipway_config::{CanaryGate, StrategyName};
use slipway_proxy::{HealthState, PoolId, TableVersion, Upstream};
use slipway_runtime::{Labels, Replica, ReplicaState};
use slipway_store::{ReleaseId, ServiceState};
use tokio::time::Instant;

use super::{Controller, Run, Worked};
use crate::analysis::{Verdict, judge};
use crate::error::DeployError;
use crate::health;
use crate::names::{ServiceKey, pool_id, replica_index, upstream_id};
use crate::spec::{HealthProbe, ReleaseSpec};
use crate::strategy::{Event, Phase, RollingAction, rolling_action};
use crate::traffic::{PoolChange, TrafficEdit, active_check};

/// How often replicas are looked at while waiting or watching.
const WATCH_EVERY: Duration = Duration::from_millis(250);
/// Lines of a failing replica's output quoted in the failure.
const LOG_LINES_QUOTED: usize = 5;

impl Controller {
    /// Does the work of the run's phase.
    pub(super) async fn work(&self, run: &mut Run) -> Result<Worked, DeployError> {
        let phase = run.state.phase.clone();
        match phase {
            Phase::Start => self.start(run).await,
            Phase::AwaitHealthy => self.await_new_healthy(run).await,
            Phase::Smoke => self.smoke(run).await,
            Phase::Canary { .. } => self.canary(run).await,
            Phase::Paused { step } => Ok(Worked::done(format!(
                "{} promoted the canary at step {}",
                self.actor,
                step + 1
            ))),
            Phase::Roll { old, new } => self.roll(run, old, new).await,
            Phase::Switch => self.switch(run).await,
            Phase::Verify => self.verify(run).await,
            Phase::RollBack {
                reason,
                took_traffic,
            } => Ok(self.roll_back(run, &reason, took_traffic).await),
            Phase::Done => Ok(Worked::done("done")),
        }
    }

    async fn start(&self, run: &Run) -> Result<Worked, DeployError> {
        let indexes: Vec<u32> = (1..=run.spec.replicas).collect();
        match self
            .start_replicas(&run.key, run.id, &run.spec, &indexes)
            .await
        {
            Ok(replicas) => Ok(Worked::done(format!(
                "started {} replica{} of release {}: {}",
                replicas.len(),
                plural(replicas.len()),
                run.id,
                describe(&replicas)
            ))),
            Err(reason) => Ok(Worked::failed(reason)),
        }
    }

    async fn await_new_healthy(&self, run: &Run) -> Result<Worked, DeployError> {
        let replicas = self.replicas_of(&run.key, run.id, &run.spec).await?;
        let began = Instant::now();
        if let Err(reason) = self.await_healthy(&run.spec, &replicas).await {
            return Ok(Worked::failed(reason));
        }
        let healthy = format!(
            "{} replica{} healthy in {}ms",
            replicas.len(),
            plural(replicas.len()),
            began.elapsed().as_millis()
        );
        // The proxy refuses a backend whose every pool has weight 0: a first release joins it at
        // the switch, with its weight.
        if run.state.replaces.is_none() {
            return Ok(Worked::done(healthy));
        }
        self.admit(run, run.id, &replicas).await?;
        Ok(Worked::done(format!(
            "{healthy}; release {} is warm in the proxy with no traffic",
            run.id
        )))
    }

    async fn smoke(&self, run: &Run) -> Result<Worked, DeployError> {
        let Some(path) = run.spec.plan.smoke_path.clone() else {
            return Ok(Worked::done("no smoke check"));
        };
        for replica in self.replicas_of(&run.key, run.id, &run.spec).await? {
            if let Err(reason) = health::smoke(
                replica.address,
                &path,
                run.spec.health.timeout.max(Duration::from_secs(5)),
            )
            .await
            {
                return Ok(Worked::failed(format!(
                    "replica {}: {reason}",
                    replica.name
                )));
            }
        }
        Ok(Worked::done(format!(
            "smoke check GET {path} passed on every replica"
        )))
    }

    async fn canary(&self, run: &Run) -> Result<Worked, DeployError> {
        let plan = &run.spec.plan;
        let (Some(weight), Some(gate)) = (
            run.state.phase.canary_weight(plan),
            run.state.phase.canary_gate(plan).cloned(),
        ) else {
            return Ok(Worked::done("no such canary step"));
        };
        let Some(stable) = run.state.replaces else {
            return Ok(Worked::done(
                "nothing else serves: the canary has all the traffic",
            ));
        };
        let mut changes = vec![PoolChange::SetWeight {
            pool: pool_id(run.id)?,
            weight,
        }];
        changes.push(PoolChange::SetWeight {
            pool: pool_id(stable)?,
            weight: 100 - weight,
        });
        self.edit(&run.key, &run.spec.health, changes).await?;
        (self.progress)(&format!(
            "the canary (release {}) has {weight}% of the traffic",
            run.id
        ));
        let replicas = self.replicas_of(&run.key, run.id, &run.spec).await?;
        match gate {
            CanaryGate::Promotion => Ok(Worked {
                event: Event::AwaitPromotion,
                detail: format!("the canary has {weight}% of the traffic"),
                service_state: None,
            }),
            CanaryGate::Pause(pause) => match self.watch(run, &replicas, pause).await? {
                Some(reason) => Ok(Worked::failed(reason)),
                None => Ok(Worked::done(format!(
                    "the canary held {weight}% of the traffic for {}s",
                    pause.as_secs_f64()
                ))),
            },
            CanaryGate::Analysis(window) => {
                let before = self.platform.metrics().await?;
                if let Some(reason) = self.watch(run, &replicas, window).await? {
                    return Ok(Worked::failed(reason));
                }
                let figures = self.platform.metrics().await?.since(&before);
                let backend = run.key.backend()?;
                let empty = slipway_proxy::PoolStats::default();
                let canary = figures.pool(&backend, &pool_id(run.id)?).unwrap_or(&empty);
                let stable = figures.pool(&backend, &pool_id(stable)?);
                match judge(canary, stable, &plan.canary) {
                    Verdict::Fail(reason) => Ok(Worked::failed(format!(
                        "canary analysis at {weight}% failed: {reason}"
                    ))),
                    Verdict::Pass(summary) => Ok(Worked::done(format!(
                        "canary analysis at {weight}% passed: {summary}"
                    ))),
                    Verdict::Inconclusive(summary) => Ok(Worked::done(format!(
                        "canary analysis at {weight}% passed without judging: {summary}"
                    ))),
                }
            }
        }
    }

    async fn roll(&self, run: &Run, old: u32, new: u32) -> Result<Worked, DeployError> {
        let Some(previous) = run.state.replaces else {
            return Ok(Worked::done("nothing to roll from"));
        };
        match rolling_action(&run.spec.plan.rolling, run.spec.replicas, old, new) {
            RollingAction::Finish => Ok(Worked::done("every replica is new")),
            RollingAction::Start(count) => {
                let running = self.replicas_of(&run.key, run.id, &run.spec).await?;
                let indexes = next_indexes(&running, count);
                let started = match self
                    .start_replicas(&run.key, run.id, &run.spec, &indexes)
                    .await
                {
                    Ok(started) => started,
                    Err(reason) => return Ok(Worked::failed(reason)),
                };
                if let Err(reason) = self.await_healthy(&run.spec, &started).await {
                    return Ok(Worked::failed(reason));
                }
                self.admit(run, run.id, &started).await?;
                self.balance(run, previous, old, new + count).await?;
                Ok(Worked::done(format!(
                    "{count} new replica{} in service ({} old, {} new)",
                    plural(count as usize),
                    old,
                    new + count
                )))
            }
            RollingAction::Retire(count) => {
                let old_spec = self.spec_of(previous).await?;
                let mut serving = self.replicas_of(&run.key, previous, &old_spec).await?;
                serving.sort_by_key(|replica| std::cmp::Reverse(replica_index(&replica.name)));
                let leaving: Vec<Replica> = serving.into_iter().take(count as usize).collect();
                let ids = leaving
                    .iter()
                    .map(|replica| upstream_id(&replica.name))
                    .collect::<Result<Vec<_>, _>>()?;
                let mut changes = vec![PoolChange::RemoveUpstreams {
                    pool: pool_id(previous)?,
                    upstreams: ids,
                }];
                changes.extend(weight_changes(run.id, previous, old - count, new)?);
                let version = self.edit(&run.key, &run.spec.health, changes).await?;
                self.stop_drained(version, &old_spec, &leaving).await?;
                Ok(Worked::done(format!(
                    "{count} old replica{} retired ({} old, {} new)",
                    plural(count as usize),
                    old - count,
                    new
                )))
            }
        }
    }

    /// Sets the pools' weights in proportion to their replicas, so each replica gets its share.
    async fn balance(
        &self,
        run: &Run,
        previous: ReleaseId,
        old: u32,
        new: u32,
    ) -> Result<(), DeployError> {
        let changes = weight_changes(run.id, previous, old, new)?;
        self.edit(&run.key, &run.spec.health, changes).await?;
        Ok(())
    }

    async fn switch(&self, run: &Run) -> Result<Worked, DeployError> {
        let key = &run.key;
        let before = self.service_state(key).await?;
        let keep_old = run.spec.plan.strategy != StrategyName::Rolling
            && !run.spec.plan.keep_previous.is_zero();
        let replicas = self.replicas_of(key, run.id, &run.spec).await?;
        let mut changes = vec![
            PoolChange::AddUpstreams {
                pool: pool_id(run.id)?,
                upstreams: upstreams(&replicas)?,
            },
            PoolChange::SetWeight {
                pool: pool_id(run.id)?,
                weight: 100,
            },
        ];
        let mut retiring = BTreeSet::new();
        if let Some(old) = run.state.replaces {
            if keep_old {
                changes.push(PoolChange::SetWeight {
                    pool: pool_id(old)?,
                    weight: 0,
                });
            } else {
                retiring.insert(old);
            }
        }
        if let Some(stale) = before.as_ref().and_then(|state| state.previous)
            && stale != run.id
            && Some(stale) != run.state.replaces
        {
            retiring.insert(stale);
        }
        for release in &retiring {
            changes.push(PoolChange::RemovePool {
                pool: pool_id(*release)?,
            });
        }
        let version = self.edit(key, &run.spec.health, changes).await?;
        let switched_at = jiff::Timestamp::now();
        for release in retiring {
            self.retire_release(key, release, version).await?;
        }
        let previous = run.state.replaces.filter(|_| keep_old);
        let warm_until = previous.and_then(|_| {
            jiff::SignedDuration::try_from(run.spec.plan.keep_previous)
                .ok()
                .and_then(|keep| switched_at.checked_add(keep).ok())
        });
        let state = ServiceState {
            environment: key.environment.clone(),
            service: key.service.clone(),
            current: run.id,
            previous,
            warm_until,
            replicas: run.spec.replicas,
            updated_at: switched_at,
        };
        let detail = match previous {
            Some(old) => format!(
                "switched all traffic to release {}; release {old} stays warm for {}",
                run.id,
                humanize(run.spec.plan.keep_previous)
            ),
            None => format!("switched all traffic to release {}", run.id),
        };
        Ok(Worked {
            event: Event::Done,
            detail,
            service_state: Some(state),
        })
    }

    async fn verify(&self, run: &Run) -> Result<Worked, DeployError> {
        let replicas = self.replicas_of(&run.key, run.id, &run.spec).await?;
        match self.watch(run, &replicas, run.spec.plan.verify).await? {
            Some(reason) => Ok(Worked::failed(reason)),
            None => Ok(Worked::done(format!(
                "release {} served all traffic for {} without a crash or a failed health check",
                run.id,
                humanize(run.spec.plan.verify)
            ))),
        }
    }

    /// Puts traffic back on the release the deploy replaced and stops this one. Never fails: what
    /// cannot be undone is said in the record, and the daemon's sweep stops leftover replicas.
    async fn roll_back(&self, run: &Run, reason: &str, took_traffic: bool) -> Worked {
        let mut problems = Vec::new();
        if let Err(error) = self.undo(run).await {
            problems.push(error.to_string());
        }
        let mut detail = match (took_traffic, run.state.replaces) {
            (true, Some(old)) => format!("rolled back to release {old}: {reason}"),
            (false, Some(old)) => format!(
                "release {old} kept serving; release {} stopped: {reason}",
                run.id
            ),
            (_, None) => format!("release {} stopped: {reason}", run.id),
        };
        if !problems.is_empty() {
            detail.push_str(&format!("; while rolling back: {}", problems.join("; ")));
        }
        let service_state = match (self.service_state(&run.key).await, run.state.replaces) {
            (Ok(Some(state)), Some(old)) if state.current == run.id => Some(ServiceState {
                current: old,
                previous: None,
                warm_until: None,
                replicas: run.state.replaced_replicas,
                updated_at: jiff::Timestamp::now(),
                ..state
            }),
            _ => None,
        };
        Worked {
            event: Event::Done,
            detail,
            service_state,
        }
    }

    async fn undo(&self, run: &Run) -> Result<(), DeployError> {
        let key = &run.key;
        let version = match run.state.replaces {
            Some(old) => {
                if run.spec.plan.strategy == StrategyName::Rolling {
                    self.restore_replicas(run, old).await?;
                }
                let changes = vec![
                    PoolChange::SetWeight {
                        pool: pool_id(old)?,
                        weight: 100,
                    },
                    PoolChange::RemovePool {
                        pool: pool_id(run.id)?,
                    },
                ];
                self.edit(key, &run.spec.health, changes).await?
            }
            None => {
                let version = self.platform.remove_backend(&key.backend()?).await?;
                let (environment, service) = (key.environment.clone(), key.service.clone());
                let current = self.service_state(key).await?;
                if current.is_some_and(|state| state.current == run.id) {
                    let event = self.event(
                        key,
                        "rollback",
                        &format!("release {} rolled back; nothing serves", run.id),
                    );
                    self.with_store(move |store| {
                        store.remove_service_state(&environment, &service, &event)
                    })
                    .await?;
                }
                version
            }
        };
        self.retire_release(key, run.id, version).await
    }

    /// Starts replicas of `old` until it has as many as it had when the rolling deploy began.
    async fn restore_replicas(&self, run: &Run, old: ReleaseId) -> Result<(), DeployError> {
        let spec = self.spec_of(old).await?;
        let serving = self.replicas_of(&run.key, old, &spec).await?;
        let missing = run
            .state
            .replaced_replicas
            .saturating_sub(serving.len() as u32);
        if missing == 0 {
            return Ok(());
        }
        let indexes = next_indexes(&serving, missing);
        let started = self
            .start_replicas(&run.key, old, &spec, &indexes)
            .await
            .map_err(|reason| DeployError::ReplicasFailed {
                service: run.key.to_string(),
                reason,
            })?;
        self.await_healthy(&spec, &started)
            .await
            .map_err(|reason| DeployError::ReplicasFailed {
                service: run.key.to_string(),
                reason,
            })?;
        let upstreams = upstreams(&started)?;
        self.edit(
            &run.key,
            &spec.health,
            vec![PoolChange::AddUpstreams {
                pool: pool_id(old)?,
                upstreams,
            }],
        )
        .await?;
        Ok(())
    }

    /// Waits for the drain of `version`, then stops every replica of `release`.
    pub(super) async fn retire_release(
        &self,
        key: &ServiceKey,
        release: ReleaseId,
        version: TableVersion,
    ) -> Result<(), DeployError> {
        let spec = self.spec_of(release).await?;
        let replicas = self.replicas_of(key, release, &spec).await?;
        self.stop_drained(version, &spec, &replicas).await
    }

    /// Waits for the drain of `version`, then stops `replicas`.
    pub(super) async fn stop_drained(
        &self,
        version: TableVersion,
        spec: &ReleaseSpec,
        replicas: &[Replica],
    ) -> Result<(), DeployError> {
        let drain = self.platform.drained(version).await?;
        if !drain.is_complete() {
            tracing::warn!(
                left = drain.in_flight_left,
                "the drain timed out; stopping anyway"
            );
        }
        for replica in replicas {
            self.platform
                .stop_replica(spec.runtime, &replica.id, spec.plan.stop_grace)
                .await?;
        }
        Ok(())
    }

    /// Starts replicas `indexes` of `release`; on failure stops those it started and says why.
    pub(super) async fn start_replicas(
        &self,
        key: &ServiceKey,
        release: ReleaseId,
        spec: &ReleaseSpec,
        indexes: &[u32],
    ) -> Result<Vec<Replica>, String> {
        let mut started = Vec::new();
        for &index in indexes {
            let replica_spec = match spec.replica(key, release, index) {
                Ok(replica_spec) => replica_spec,
                Err(error) => return Err(error.to_string()),
            };
            match self
                .platform
                .start_replica(spec.runtime, &replica_spec)
                .await
            {
                Ok(replica) => started.push(replica),
                Err(error) => {
                    for replica in &started {
                        let _ = self
                            .platform
                            .stop_replica(spec.runtime, &replica.id, Duration::ZERO)
                            .await;
                    }
                    return Err(format!("starting replica {}: {error}", replica_spec.name()));
                }
            }
        }
        Ok(started)
    }

    /// Waits until every one of `replicas` passes its health check as many times in a row as
    /// the probe asks, within the plan's health timeout. Fails early when one exits.
    pub(super) async fn await_healthy(
        &self,
        spec: &ReleaseSpec,
        replicas: &[Replica],
    ) -> Result<(), String> {
        let deadline = Instant::now() + spec.plan.health_timeout;
        let mut passes = vec![0_u32; replicas.len()];
        let mut last_problem = vec![String::from("no check answered yet"); replicas.len()];
        let every = spec.health.interval.min(WATCH_EVERY);
        let mut next_look = Instant::now();
        loop {
            for (index, replica) in replicas.iter().enumerate() {
                if passes[index] >= spec.health.healthy_threshold {
                    continue;
                }
                match health::check(replica.address, &spec.health).await {
                    Ok(()) => passes[index] += 1,
                    Err(problem) => {
                        passes[index] = 0;
                        last_problem[index] = problem;
                    }
                }
            }
            if passes
                .iter()
                .all(|&passed| passed >= spec.health.healthy_threshold)
            {
                // A replica restarted between two checks can show an unbroken run of passes
                // that spans its crash: healthy only if none restarted while it was checked.
                return match self.crashed(spec, replicas, 0).await {
                    Some(reason) => Err(reason),
                    None => Ok(()),
                };
            }
            if Instant::now() >= next_look {
                next_look = Instant::now() + Duration::from_secs(1);
                if let Some(reason) = self.crashed(spec, replicas, 0).await {
                    return Err(reason);
                }
            }
            if Instant::now() >= deadline {
                let (index, replica) = replicas
                    .iter()
                    .enumerate()
                    .find(|(index, _)| passes[*index] < spec.health.healthy_threshold)
                    .unwrap_or((0, &replicas[0]));
                let reason = format!(
                    "replica {} did not pass its health check within {} (last: {})",
                    replica.name,
                    humanize(spec.plan.health_timeout),
                    last_problem[index]
                );
                return Err(self.with_output(spec, replica, reason).await);
            }
            tokio::time::sleep(every).await;
        }
    }

    /// Watches `replicas` of the run's release for `period`: a restart, an exit, or the proxy
    /// marking one unhealthy ends the watch with the reason.
    async fn watch(
        &self,
        run: &Run,
        replicas: &[Replica],
        period: Duration,
    ) -> Result<Option<String>, DeployError> {
        let until = Instant::now() + period;
        let baseline = replicas
            .iter()
            .map(|replica| replica.restarts)
            .max()
            .unwrap_or(0);
        let pool = pool_id(run.id)?;
        let backend = run.key.backend()?;
        loop {
            if let Some(reason) = self.crashed(&run.spec, replicas, baseline).await {
                return Ok(Some(reason));
            }
            if let Some(reason) = self.unhealthy_in_proxy(&backend, &pool).await? {
                return Ok(Some(reason));
            }
            if Instant::now() >= until {
                return Ok(None);
            }
            tokio::time::sleep(WATCH_EVERY.min(until.saturating_duration_since(Instant::now())))
                .await;
        }
    }

    /// Why one of `replicas` counts as crashed (restarted more than `baseline` times, or exited),
    /// with its last output; `None` when all run.
    async fn crashed(
        &self,
        spec: &ReleaseSpec,
        replicas: &[Replica],
        baseline: u32,
    ) -> Option<String> {
        let wanted: BTreeSet<&str> = replicas
            .iter()
            .map(|replica| replica.name.as_str())
            .collect();
        let labels: Labels = replicas.first()?.labels.clone();
        let now = self.platform.replicas(spec.runtime, &labels).await.ok()?;
        for replica in now
            .iter()
            .filter(|replica| wanted.contains(replica.name.as_str()))
        {
            let reason = match replica.state {
                ReplicaState::Exited { status } => Some(format!(
                    "replica {} exited ({})",
                    replica.name,
                    status.map_or_else(|| "killed".to_owned(), |status| format!("status {status}"))
                )),
                _ if replica.restarts > baseline => Some(format!(
                    "replica {} crashed and was restarted {} time{}",
                    replica.name,
                    replica.restarts - baseline,
                    plural((replica.restarts - baseline) as usize)
                )),
                _ => None,
            };
            if let Some(reason) = reason {
                return Some(self.with_output(spec, replica, reason).await);
            }
        }
        let missing = wanted
            .iter()
            .find(|name| !now.iter().any(|replica| &replica.name == *name))?;
        Some(format!("replica {missing} is gone"))
    }

    async fn unhealthy_in_proxy(
        &self,
        backend: &slipway_proxy::BackendId,
        pool: &PoolId,
    ) -> Result<Option<String>, DeployError> {
        let health = self.platform.upstream_health().await?;
        Ok(health
            .iter()
            .find(|upstream| {
                &upstream.backend == backend
                    && &upstream.pool == pool
                    && upstream.state != HealthState::Healthy
            })
            .map(|upstream| {
                format!(
                    "replica {} is {} in the proxy{}",
                    upstream.upstream,
                    match upstream.state {
                        HealthState::Ejected => "ejected (connections fail)",
                        _ => "unhealthy (health checks fail)",
                    },
                    upstream
                        .last_check_error
                        .as_deref()
                        .map_or_else(String::new, |error| format!(": {error}"))
                )
            }))
    }

    /// `reason` followed by the replica's last lines of output, when it has any.
    async fn with_output(&self, spec: &ReleaseSpec, replica: &Replica, reason: String) -> String {
        match self
            .platform
            .logs(spec.runtime, &replica.id, Some(LOG_LINES_QUOTED))
            .await
        {
            Ok(lines) if !lines.is_empty() => {
                let text: Vec<String> = lines.into_iter().map(|line| line.text).collect();
                format!("{reason}; its last output: {}", text.join(" | "))
            }
            _ => reason,
        }
    }

    /// Adds `replicas` of `release` to its pool (created with no traffic when new).
    async fn admit(
        &self,
        run: &Run,
        release: ReleaseId,
        replicas: &[Replica],
    ) -> Result<(), DeployError> {
        let changes = vec![PoolChange::AddUpstreams {
            pool: pool_id(release)?,
            upstreams: upstreams(replicas)?,
        }];
        self.edit(&run.key, &run.spec.health, changes).await?;
        Ok(())
    }

    /// Applies `changes` to the service's backend, with its routes and health check.
    pub(super) async fn edit(
        &self,
        key: &ServiceKey,
        probe: &HealthProbe,
        changes: Vec<PoolChange>,
    ) -> Result<TableVersion, DeployError> {
        let edit = TrafficEdit {
            backend: key.backend()?,
            hosts: key.host_patterns()?.into(),
            health_check: active_check(probe),
            changes,
        };
        self.platform.edit_traffic(&edit).await
    }

    /// The replicas of `release` that run now.
    pub(super) async fn replicas_of(
        &self,
        key: &ServiceKey,
        release: ReleaseId,
        spec: &ReleaseSpec,
    ) -> Result<Vec<Replica>, DeployError> {
        self.platform
            .replicas(spec.runtime, &key.release_labels(release))
            .await
    }

    /// The stored spec of `release`.
    pub(super) async fn spec_of(&self, release: ReleaseId) -> Result<ReleaseSpec, DeployError> {
        let record = self
            .release(release)
            .await?
            .ok_or(DeployError::UnknownRelease {
                release,
                service: "this project".to_owned(),
            })?;
        ReleaseSpec::of(&record)
    }
}

/// The proxy upstreams of `replicas`.
pub(super) fn upstreams(replicas: &[Replica]) -> Result<Vec<Upstream>, DeployError> {
    replicas
        .iter()
        .map(|replica| {
            Ok(Upstream {
                id: upstream_id(&replica.name)?,
                addr: replica.address,
            })
        })
        .collect()
}

/// Weights in proportion to replica counts: `new` replicas of `release`, `old` of `previous`.
fn weight_changes(
    release: ReleaseId,
    previous: ReleaseId,
    old: u32,
    new: u32,
) -> Result<Vec<PoolChange>, DeployError> {
    Ok(vec![
        PoolChange::SetWeight {
            pool: pool_id(release)?,
            weight: new,
        },
        PoolChange::SetWeight {
            pool: pool_id(previous)?,
            weight: old,
        },
    ])
}

/// `count` replica indexes after the highest of `running`.
pub(super) fn next_indexes(running: &[Replica], count: u32) -> Vec<u32> {
    let highest = running
        .iter()
        .filter_map(|replica| replica_index(&replica.name))
        .max()
        .unwrap_or(0);
    (highest + 1..=highest + count).collect()
}

fn describe(replicas: &[Replica]) -> String {
    let addresses: Vec<String> = replicas
        .iter()
        .map(|replica| format!("{} at {}", replica.name, replica.address))
        .collect();
    addresses.join(", ")
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

/// A duration for people (`5m`, `30s`, `750ms`).
pub(crate) fn humanize(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis.is_multiple_of(60_000) && millis > 0 {
        format!("{}m", millis / 60_000)
    } else if millis.is_multiple_of(1000) {
        format!("{}s", millis / 1000)
    } else {
        format!("{millis}ms")
    }
}
