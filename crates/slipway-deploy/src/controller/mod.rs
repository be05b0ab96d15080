//! [`Controller`]: carries a release through its strategy's phases, saving each one in the store,
//! and converges what a killed controller left.
//!
//! A deploy begins a release record holding the controller's state (its process id and the
//! phase, see [`crate::strategy`]), then repeats: do the phase's work (`work.rs`), compute the
//! next phase, save it in the store together with the step that led there (and, for a switch, the
//! service's new state, in the same transaction). Whoever finds a release in progress whose
//! controller process is gone converges it (`recover`): a release that already took all the
//! traffic is finished, anything else is rolled back. Either way the old or the new release
//! serves, nothing it started is left running, and the record says what happened.

mod operations;
mod work;

use std::sync::Arc;

use slipway_config::StrategyName;
use slipway_store::{
    Artifact, Begun, NewRelease, NewStep, Release, ReleaseId, ReleaseOutcome, ReleaseQuery,
    ReleaseStatus, ReleaseUpdate, Revision, ServiceState, Store, StoreError,
};

use crate::error::DeployError;
use crate::names::ServiceKey;
use crate::platform::Platform;
use crate::spec::ReleaseSpec;
use crate::strategy::{ControllerState, Event, Phase};

pub use operations::{RollbackReport, ScaleReport};

/// Receives a line for each step, for a person watching.
pub type Progress = Arc<dyn Fn(&str) + Send + Sync>;

/// Drives releases.
#[derive(Clone)]
pub struct Controller {
    store: Arc<dyn Store>,
    platform: Arc<dyn Platform>,
    actor: String,
    progress: Progress,
}

impl std::fmt::Debug for Controller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller")
            .field("platform", &self.platform)
            .field("actor", &self.actor)
            .finish_non_exhaustive()
    }
}

/// A deploy to carry out.
#[derive(Debug, Clone)]
pub struct DeployRequest {
    /// The service and environment.
    pub key: ServiceKey,
    /// What to run, and how.
    pub spec: ReleaseSpec,
    /// What the release runs, as recorded.
    pub artifact: Artifact,
    /// The source it was made from, when known; its replicas are told it.
    pub revision: Option<Revision>,
    /// The hash of the merged config.
    pub config_hash: String,
    /// Why, when someone said.
    pub reason: Option<String>,
    /// The earlier release this one brings back, for a rollback to a release no longer warm.
    pub restores: Option<ReleaseId>,
}

/// How a deploy (or a promotion, an abort, a convergence) ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeployReport {
    /// The release.
    pub release: ReleaseId,
    /// What became of it.
    pub result: DeployResult,
}

/// What became of a release.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum DeployResult {
    /// The same artifact and config already serve as this release; nothing was done.
    Unchanged,
    /// It serves all traffic.
    Succeeded,
    /// It never took traffic; the previous release served throughout.
    Failed {
        /// Why.
        reason: String,
    },
    /// It took traffic, then traffic went back to the previous release.
    RolledBack {
        /// Why.
        reason: String,
    },
    /// A canary waits at this weight for `slipway promote` or `slipway abort`.
    Paused {
        /// The canary's share of traffic.
        weight: u32,
    },
}

/// One release being driven: its id, service, spec and controller state.
#[derive(Debug, Clone)]
struct Run {
    id: ReleaseId,
    key: ServiceKey,
    spec: ReleaseSpec,
    state: ControllerState,
}

/// What a phase's work produced: how it went, what to record, and the service's new state when
/// the work changed which release serves.
struct Worked {
    event: Event,
    detail: String,
    service_state: Option<ServiceState>,
}

impl Worked {
    fn done(detail: impl Into<String>) -> Worked {
        Worked {
            event: Event::Done,
            detail: detail.into(),
            service_state: None,
        }
    }

    fn failed(reason: impl Into<String>) -> Worked {
        let reason = reason.into();
        Worked {
            event: Event::Failed(reason.clone()),
            detail: reason,
            service_state: None,
        }
    }
}

impl Controller {
    /// A controller acting for `actor` (a user name, or `autoscaler`), reporting steps to
    /// `progress`.
    pub fn new(
        store: Arc<dyn Store>,
        platform: Arc<dyn Platform>,
        actor: impl Into<String>,
        progress: Progress,
    ) -> Controller {
        Controller {
            store,
            platform,
            actor: actor.into(),
            progress,
        }
    }

    /// The platform it drives.
    pub fn platform(&self) -> &Arc<dyn Platform> {
        &self.platform
    }

    /// Deploys `request`: converges a release a killed controller left, refuses while another
    /// controller runs or a canary waits, does nothing when the same artifact and config already
    /// serve, and otherwise runs the strategy to its end (or to a canary's pause).
    pub async fn deploy(&self, request: DeployRequest) -> Result<DeployReport, DeployError> {
        let key = request.key.clone();
        self.recover(&key).await?;
        self.refuse_if_in_progress(&key).await?;
        let serving = self.service_state(&key).await?;
        if let Some(current) = &serving
            && request.restores.is_none()
            && let Some(release) = self.release(current.current).await?
            && release.record.config_hash == request.config_hash
            && release.record.artifact == request.artifact
        {
            return Ok(DeployReport {
                release: release.id,
                result: DeployResult::Unchanged,
            });
        }
        let mut spec = request.spec;
        spec.env.extend(revision_env(request.revision.as_ref()));
        let mut first_detail = format!(
            "{} asked for a {} deploy of {} to {}",
            self.actor, spec.plan.strategy, key.service, key.environment
        );
        if serving.is_none() && spec.plan.strategy != StrategyName::BlueGreen {
            first_detail.push_str(&format!(
                "; nothing serves yet, so it runs blue-green instead of {}",
                spec.plan.strategy
            ));
            spec.plan.strategy = StrategyName::BlueGreen;
        }
        let replaced_replicas = serving.as_ref().map_or(0, |state| state.replicas);
        // An autoscaled service keeps the count the autoscaler reached, within its bounds; a
        // deploy resetting it would undo the scaling at the worst moment.
        if let (Some(autoscale), Some(_)) = (&spec.autoscale, &serving) {
            spec.replicas = replaced_replicas.clamp(autoscale.min, autoscale.max);
        }
        let state = ControllerState {
            replaces: serving.as_ref().map(|state| state.current),
            replaced_replicas,
            phase: Phase::first(spec.plan.strategy, replaced_replicas),
        };
        let release = NewRelease {
            environment: key.environment.clone(),
            service: key.service.clone(),
            runtime: spec.runtime.as_str().to_owned(),
            artifact: request.artifact,
            revision: request.revision,
            config_hash: request.config_hash,
            spec: spec.to_json(),
            strategy: spec.plan.strategy.as_str().to_owned(),
            created_by: self.actor.clone(),
            reason: request.reason,
            created_at: jiff::Timestamp::now(),
            restores: request.restores,
            controller: Some(std::process::id()),
            phase: state.to_json(),
        };
        let first = step("begun", &first_detail);
        let begun = self
            .with_store(move |store| store.begin_release(&release, &first))
            .await?;
        let id = match begun {
            Begun::Started(id) => id,
            Begun::Busy(other) => return Err(busy(&key, &other)),
        };
        (self.progress)(&format!("release {id}: {first_detail}"));
        self.drive(Run {
            id,
            key,
            spec,
            state,
        })
        .await
    }

    /// Converges a release of `key` whose controller process is gone: finishes it when it had
    /// taken all the traffic, rolls it back otherwise. A paused canary is left waiting. Returns
    /// what became of the release, if there was one to converge.
    pub async fn recover(&self, key: &ServiceKey) -> Result<Option<DeployReport>, DeployError> {
        self.recover_after(key, std::time::Duration::ZERO).await
    }

    /// Like [`recover`](Controller::recover), for a release whose last step is older than
    /// `idle`: the daemon waits a little, so that a person who reruns `slipway deploy` right
    /// after killing one sees their own command converge it.
    pub async fn recover_after(
        &self,
        key: &ServiceKey,
        idle: std::time::Duration,
    ) -> Result<Option<DeployReport>, DeployError> {
        let Some(release) = self.in_progress(key).await? else {
            return Ok(None);
        };
        let last_step = release
            .steps
            .last()
            .map_or(release.record.created_at, |step| step.at);
        let idle_for = jiff::Timestamp::now().duration_since(last_step);
        if idle_for < jiff::SignedDuration::try_from(idle).unwrap_or(jiff::SignedDuration::MAX) {
            return Ok(None);
        }
        let state = controller_state(&release)?;
        let controller = match release.record.controller {
            Some(pid) if pid != std::process::id() && process_alive(pid) => return Ok(None),
            None if matches!(state.phase, Phase::Paused { .. }) => return Ok(None),
            controller => controller,
        };
        let who = controller.map_or_else(
            || "no controller".to_owned(),
            |pid| format!("the controller (process {pid})"),
        );
        let serving = self.service_state(key).await?;
        let switched = serving
            .as_ref()
            .is_some_and(|state| state.current == release.id);
        let why = format!(
            "{who} stopped during {}; process {} takes over",
            controller_phase(&release),
            std::process::id()
        );
        let run = match self.claim(key, &release, state, &why).await {
            Ok(run) => run,
            // Another process converges it.
            Err(DeployError::Busy { .. }) => return Ok(None),
            Err(error) => return Err(error),
        };
        let phase = match &run.state.phase {
            Phase::Verify | Phase::Done => Phase::Done,
            _ if switched => Phase::Done,
            Phase::RollBack { .. } => run.state.phase.clone(),
            phase => Phase::RollBack {
                reason: format!("{who} stopped during {}", phase.name()),
                took_traffic: phase.takes_traffic(),
            },
        };
        let report = if phase == Phase::Done {
            self.finish(
                run,
                "the release had taken all the traffic before its controller stopped: it stays",
            )
            .await?
        } else {
            let mut run = run;
            run.state.phase = phase;
            self.save_phase(
                &run,
                "taken_over",
                "converging what the stopped controller left",
            )
            .await?;
            self.drive(run).await?
        };
        Ok(Some(report))
    }

    /// Runs `run` from its phase until it is done or paused.
    async fn drive(&self, mut run: Run) -> Result<DeployReport, DeployError> {
        loop {
            if run.state.phase == Phase::Done {
                let release = self.release(run.id).await?;
                return Ok(DeployReport {
                    release: run.id,
                    result: release
                        .and_then(|release| release.outcome)
                        .map_or(DeployResult::Succeeded, result_of),
                });
            }
            let worked = self.work(&mut run).await?;
            let from = run.state.phase.clone();
            let next = from.next(&run.spec.plan, run.spec.replicas, worked.event.clone());
            let outcome = (next == Phase::Done).then(|| outcome_of(&from));
            run.state.phase = next.clone();
            let name = match &worked.event {
                Event::Failed(_) => format!("{}_failed", from.name()),
                _ => from.name().to_owned(),
            };
            (self.progress)(&worked.detail);
            let update = ReleaseUpdate {
                phase: run.state.to_json(),
                step: step(&name, &worked.detail),
                service_state: worked.service_state,
                outcome,
            };
            let id = run.id;
            self.with_store(move |store| store.advance_release(id, &update))
                .await?;
            if let Phase::Paused { .. } = next {
                let weight = next.canary_weight(&run.spec.plan).unwrap_or(0);
                let waiting = step(
                    "paused",
                    &format!(
                        "the canary has {weight}% of the traffic and waits for `slipway promote` or `slipway abort`"
                    ),
                );
                let own = Some(std::process::id());
                self.with_store(move |store| store.claim_release(id, own, None, &waiting))
                    .await?;
                return Ok(DeployReport {
                    release: run.id,
                    result: DeployResult::Paused { weight },
                });
            }
        }
    }

    /// Finishes `run` as succeeded, recording `detail`.
    async fn finish(&self, mut run: Run, detail: &str) -> Result<DeployReport, DeployError> {
        run.state.phase = Phase::Done;
        let update = ReleaseUpdate {
            phase: run.state.to_json(),
            step: step("finished", detail),
            service_state: None,
            outcome: Some(ReleaseOutcome::Succeeded),
        };
        let id = run.id;
        self.with_store(move |store| store.advance_release(id, &update))
            .await?;
        (self.progress)(detail);
        Ok(DeployReport {
            release: run.id,
            result: DeployResult::Succeeded,
        })
    }

    /// Saves the phase of `run` with a step.
    async fn save_phase(&self, run: &Run, name: &str, detail: &str) -> Result<(), DeployError> {
        let update = ReleaseUpdate {
            phase: run.state.to_json(),
            step: step(name, detail),
            service_state: None,
            outcome: None,
        };
        let id = run.id;
        self.with_store(move |store| store.advance_release(id, &update))
            .await
    }

    /// Makes this process the controller of `release`, recording why; fails with
    /// [`DeployError::Busy`] when another process took it first.
    async fn claim(
        &self,
        key: &ServiceKey,
        release: &Release,
        state: ControllerState,
        why: &str,
    ) -> Result<Run, DeployError> {
        let id = release.id;
        let claimed = step("claimed", why);
        let expected = release.record.controller;
        let took = self
            .with_store(move |store| {
                store.claim_release(id, expected, Some(std::process::id()), &claimed)
            })
            .await?;
        if !took {
            return Err(DeployError::Busy {
                release: id,
                service: key.to_string(),
                controller: None,
            });
        }
        (self.progress)(&format!("release {id}: {why}"));
        Ok(Run {
            id,
            key: key.clone(),
            spec: ReleaseSpec::of(release)?,
            state,
        })
    }

    /// Fails when a release of `key` is in progress: a live controller runs it, or it is a
    /// paused canary.
    async fn refuse_if_in_progress(&self, key: &ServiceKey) -> Result<(), DeployError> {
        let Some(release) = self.in_progress(key).await? else {
            return Ok(());
        };
        let state = controller_state(&release)?;
        match (release.record.controller, &state.phase) {
            (None, Phase::Paused { .. }) => Err(DeployError::Paused {
                release: release.id,
                service: key.to_string(),
                weight: ReleaseSpec::of(&release)
                    .ok()
                    .and_then(|spec| state.phase.canary_weight(&spec.plan))
                    .unwrap_or(0),
            }),
            _ => Err(busy(key, &release)),
        }
    }

    async fn in_progress(&self, key: &ServiceKey) -> Result<Option<Release>, DeployError> {
        let query = ReleaseQuery {
            environment: Some(key.environment.clone()),
            service: Some(key.service.clone()),
            status: Some(ReleaseStatus::InProgress),
            limit: Some(1),
        };
        Ok(self
            .with_store(move |store| store.releases(&query))
            .await?
            .pop())
    }

    async fn service_state(&self, key: &ServiceKey) -> Result<Option<ServiceState>, DeployError> {
        let (environment, service) = (key.environment.clone(), key.service.clone());
        self.with_store(move |store| store.service_state(&environment, &service))
            .await
    }

    async fn release(&self, id: ReleaseId) -> Result<Option<Release>, DeployError> {
        self.with_store(move |store| store.release(id)).await
    }

    /// Runs a store call on a blocking thread: SQLite may wait for another process's lock, and
    /// the daemon's proxy shares this runtime.
    async fn with_store<T: Send + 'static>(
        &self,
        work: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, DeployError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || work(store.as_ref()))
            .await
            .map_err(|error| DeployError::DaemonProtocol {
                message: format!("a store call did not finish: {error}"),
            })?
            .map_err(DeployError::from)
    }
}

/// The outcome of a release whose last phase was `from`.
fn outcome_of(from: &Phase) -> ReleaseOutcome {
    match from {
        Phase::RollBack {
            reason,
            took_traffic: true,
        } => ReleaseOutcome::RolledBack {
            reason: reason.clone(),
        },
        Phase::RollBack {
            reason,
            took_traffic: false,
        } => ReleaseOutcome::Failed {
            reason: reason.clone(),
        },
        _ => ReleaseOutcome::Succeeded,
    }
}

fn result_of(outcome: ReleaseOutcome) -> DeployResult {
    match outcome {
        ReleaseOutcome::Succeeded => DeployResult::Succeeded,
        ReleaseOutcome::Failed { reason } => DeployResult::Failed { reason },
        ReleaseOutcome::RolledBack { reason } => DeployResult::RolledBack { reason },
    }
}

fn step(name: &str, detail: &str) -> NewStep {
    NewStep {
        at: jiff::Timestamp::now(),
        name: name.to_owned(),
        detail: detail.to_owned(),
    }
}

fn busy(key: &ServiceKey, release: &Release) -> DeployError {
    DeployError::Busy {
        release: release.id,
        service: key.to_string(),
        controller: release.record.controller,
    }
}

fn controller_state(release: &Release) -> Result<ControllerState, DeployError> {
    ControllerState::from_json(&release.record.phase).map_err(|error| DeployError::StoredSpec {
        release: release.id,
        message: format!("its controller state: {error}"),
    })
}

/// The phase name of a stored release, for messages.
fn controller_phase(release: &Release) -> String {
    ControllerState::from_json(&release.record.phase).map_or_else(
        |_| "an unknown phase".to_owned(),
        |state| state.phase.name().to_owned(),
    )
}

/// Whether process `pid` runs. A zombie (exited, not yet reaped by its parent) does not.
pub(crate) fn process_alive(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    if nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), None)
        == Err(nix::errno::Errno::ESRCH)
    {
        return false;
    }
    // After the name in parentheses comes the state; `Z` is a zombie.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
        !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
    })
}

/// What replicas are told of their release's source: `SLIPWAY_COMMIT` (the commit, `-dirty`
/// after it for uncommitted changes) and `SLIPWAY_REF` (the branch or tag). They go into the
/// stored spec, so every replica of the release, started by whoever, is told the same.
fn revision_env(revision: Option<&Revision>) -> Vec<(String, String)> {
    let Some(revision) = revision else {
        return Vec::new();
    };
    let mut env = vec![("SLIPWAY_COMMIT".to_owned(), revision.described())];
    if let Some(git_ref) = &revision.git_ref {
        env.push(("SLIPWAY_REF".to_owned(), git_ref.clone()));
    }
    env
}
