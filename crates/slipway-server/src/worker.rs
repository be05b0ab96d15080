//! Workers: take runs from the queue and run them with the same runner as `slipway run`.
//!
//! For each run a worker brings the project's mirror (`DATA/mirrors/NAME.git`, a `git clone
//! --mirror` fetched again on every run) up to date, checks the run's commit out into a worktree
//! of its own (`DATA/workspaces/ID`, never a working tree), plans the trigger's event there,
//! executes the plan with the runner (lines go to the live log, Ctrl-C becomes the run's
//! interrupt), links the recorded workflow runs to the queued run, completes it, and removes the
//! worktree.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, PoisonError};

use slipway_config::{Config, RunnerSettings};
use slipway_git::Repository;
use slipway_runner::{Interrupt, PlanError, Project as RunnerProject, RunRequest, Runtime};
use slipway_store::{ClaimLimits, Conclusion, Project, QueuedRun, Run};

use crate::live::LiveObserver;
use crate::state::AppState;

/// Mirrors are fetched one at a time: two fetches of one mirror would fight over its refs.
static MIRRORS: Mutex<()> = Mutex::new(());

/// How a run ended, and why when its workflow runs do not say.
struct Outcome {
    conclusion: Conclusion,
    detail: Option<String>,
    runs: Vec<Run>,
}

impl Outcome {
    fn failed(detail: String) -> Outcome {
        Outcome {
            conclusion: Conclusion::Failure,
            detail: Some(detail),
            runs: Vec::new(),
        }
    }
}

/// Claims runs while `accepting` holds, each run on its own task, within `limits`. Returns once
/// `accepting` is false and every run it started has completed.
pub(crate) async fn run_queue(
    state: Arc<AppState>,
    limits: ClaimLimits,
    accepting: tokio::sync::watch::Receiver<bool>,
) {
    let mut running = tokio::task::JoinSet::new();
    let mut accepting = accepting;
    while *accepting.borrow() {
        let woken = state.wake.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        while let Some(finished) = running.try_join_next() {
            log_panic(finished);
        }
        match claim(&state, limits).await {
            Some(run) => {
                running.spawn(execute(state.clone(), run));
                continue;
            }
            None => {
                tokio::select! {
                    () = woken => {}
                    Some(finished) = running.join_next() => log_panic(finished),
                    _ = accepting.changed() => {}
                }
            }
        }
    }
    while let Some(finished) = running.join_next().await {
        log_panic(finished);
    }
}

fn log_panic(finished: Result<(), tokio::task::JoinError>) {
    if let Err(error) = finished {
        tracing::error!(%error, "a worker task failed");
    }
}

async fn claim(state: &AppState, limits: ClaimLimits) -> Option<QueuedRun> {
    match state
        .blocking(move |store| store.claim_run(limits, jiff::Timestamp::now()))
        .await
    {
        Ok(run) => run,
        Err(error) => {
            tracing::error!(?error, "claiming a run failed");
            None
        }
    }
}

/// Runs one claimed run to completion and records how it ended.
async fn execute(state: Arc<AppState>, run: QueuedRun) {
    let id = run.id;
    let interrupt = Interrupt::new();
    state.started(id, interrupt.clone());
    let outcome = match prepare(state.clone(), run.clone()).await {
        Ok(checkout) => {
            let outcome = run_checkout(&state, &run, &checkout, interrupt).await;
            remove_checkout(state.clone(), run.trigger.project.clone(), checkout).await;
            outcome
        }
        Err(detail) => Outcome::failed(detail),
    };
    let linked: Vec<_> = outcome.runs.iter().map(|recorded| recorded.id).collect();
    let recorded = state
        .blocking(move |store| {
            for run_id in linked {
                store.link_run(id, run_id)?;
            }
            store.complete_run(
                id,
                outcome.conclusion,
                outcome.detail.as_deref(),
                jiff::Timestamp::now(),
            )
        })
        .await;
    if let Err(error) = recorded {
        tracing::error!(run = %id, ?error, "recording the run's end failed");
    }
    state.finished(id);
    state.live.finish(id);
    state.wake.notify_waiters();
}

/// A run's checkout: its worktree and the event payload the runner reads.
struct Checkout {
    worktree: PathBuf,
    event_file: PathBuf,
}

/// Updates the mirror and checks the run's commit out; the error says what failed.
async fn prepare(state: Arc<AppState>, run: QueuedRun) -> Result<Checkout, String> {
    let project = {
        let name = run.trigger.project.clone();
        state
            .blocking(move |store| store.project(&name))
            .await
            .map_err(|error| format!("reading the project failed: {error:?}"))?
            .ok_or_else(|| format!("project {:?} no longer exists", run.trigger.project))?
    };
    tokio::task::spawn_blocking(move || checkout(&state, &project, &run))
        .await
        .map_err(|error| format!("checking out panicked: {error}"))?
}

fn checkout(state: &AppState, project: &Project, run: &QueuedRun) -> Result<Checkout, String> {
    let mirror = state.data.mirror(&project.name);
    update_mirror(&project.repository, &mirror)?;
    let sha = match &run.trigger.sha {
        Some(sha) => sha.clone(),
        None => resolve(&mirror, &run.trigger.git_ref)?,
    };
    let repository = Repository::bare(&mirror).map_err(|error| error.to_string())?;
    let worktree = state.data.workspace(run.id);
    if worktree.exists() {
        // Left by a server that was killed: its run is being run again from the start.
        let _ = repository.remove_worktree(&worktree);
        let _ = std::fs::remove_dir_all(&worktree);
    }
    repository
        .add_worktree(&worktree, &sha)
        .map_err(|error| format!("checking out {sha}: {error}"))?;
    let event_file = state.data.event_file(run.id);
    // A webhook's payload as the host sent it: its `before` gives the changed paths that
    // `paths:` filters test.
    let payload = run.trigger.payload.clone().unwrap_or_else(|| {
        serde_json::json!({
            "ref": run.trigger.git_ref,
            "after": sha,
            "inputs": run.trigger.inputs,
            "sender": { "login": run.trigger.actor },
        })
    });
    std::fs::write(&event_file, payload.to_string())
        .map_err(|error| format!("writing {}: {error}", event_file.display()))?;
    Ok(Checkout {
        worktree,
        event_file,
    })
}

/// Clones the mirror on first use, fetches it after.
fn update_mirror(repository: &str, mirror: &Path) -> Result<(), String> {
    let _one_at_a_time = MIRRORS.lock().unwrap_or_else(PoisonError::into_inner);
    if mirror.join("HEAD").exists() {
        Repository::bare(mirror)
            .and_then(|repository| repository.fetch_origin())
            .map_err(|error| error.to_string())
    } else {
        git(Command::new("git")
            .args(["clone", "--mirror", "--quiet", "--"])
            .arg(repository)
            .arg(mirror))
    }
}

/// The commit `git_ref` points at in the mirror.
fn resolve(mirror: &Path, git_ref: &str) -> Result<String, String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(mirror)
        .args(["rev-parse", "--verify", "--quiet", "--end-of-options"])
        .arg(format!("{git_ref}^{{commit}}"))
        .output()
        .map_err(|error| format!("cannot run git: {error}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        Err(format!("{git_ref} is not in the repository"))
    }
}

fn git(command: &mut Command) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|error| format!("cannot run git: {error}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{:?} failed: {}",
            command,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// Plans and executes the run in its checkout.
async fn run_checkout(
    state: &Arc<AppState>,
    run: &QueuedRun,
    checkout: &Checkout,
    interrupt: Interrupt,
) -> Outcome {
    let plan = {
        let state_dir = state.data.runner_state(&run.trigger.project);
        let worktree = checkout.worktree.clone();
        let request = RunRequest {
            event: run.trigger.event.clone(),
            workflows: run
                .trigger
                .workflow
                .iter()
                .map(|file| checkout.worktree.join(file))
                .collect(),
            inputs: run
                .trigger
                .inputs
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect(),
            event_path: Some(checkout.event_file.clone()),
            ..RunRequest::default()
        };
        tokio::task::spawn_blocking(move || plan(&worktree, state_dir, request)).await
    };
    let plan = match plan {
        Ok(Ok(plan)) => plan,
        Ok(Err(detail)) => return Outcome::failed(detail),
        Err(error) => return Outcome::failed(format!("planning panicked: {error}")),
    };
    if plan.workflows().is_empty() {
        let reasons: Vec<_> = plan
            .skipped()
            .iter()
            .map(|skipped| format!("{}: {}", skipped.file, skipped.reason))
            .collect();
        return Outcome {
            conclusion: Conclusion::Skipped,
            detail: Some(format!(
                "no workflow runs on {}: {}",
                run.trigger.event,
                reasons.join("; ")
            )),
            runs: Vec::new(),
        };
    }
    let runtime = Runtime {
        store: state.store.clone(),
        engine: None,
        observer: Arc::new(LiveObserver {
            id: run.id,
            state: state.clone(),
        }),
        interrupt: interrupt.clone(),
    };
    match plan.execute(runtime).await {
        Ok(runs) => Outcome {
            conclusion: conclusion(&runs, &interrupt),
            detail: None,
            runs,
        },
        Err(error) => Outcome::failed(format!("the run failed: {error}")),
    }
}

fn plan(
    worktree: &Path,
    state_dir: PathBuf,
    request: RunRequest,
) -> Result<slipway_runner::Plan, String> {
    let runners = runner_settings(worktree)?;
    let project = RunnerProject::open(worktree, state_dir, runners).map_err(describe)?;
    slipway_runner::plan(Arc::new(project), request).map_err(describe)
}

/// `[runners]` of the commit's slipway.toml, or the defaults without one.
fn runner_settings(worktree: &Path) -> Result<RunnerSettings, String> {
    let path = worktree.join("slipway.toml");
    if !path.exists() {
        return Ok(RunnerSettings::default());
    }
    Config::load(&path)
        .map(|config| config.runners().clone())
        .map_err(|error| format!("{}: {error}", path.display()))
}

/// A plan error with every problem it lists.
fn describe(error: PlanError) -> String {
    match error {
        PlanError::Invalid(problems) => problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// Cancelled when interrupted, else failed when any workflow run failed, else succeeded.
fn conclusion(runs: &[Run], interrupt: &Interrupt) -> Conclusion {
    let concluded = |wanted| runs.iter().any(|run| run.record.conclusion == wanted);
    if interrupt.is_interrupted() || concluded(Conclusion::Cancelled) {
        Conclusion::Cancelled
    } else if concluded(Conclusion::Failure) {
        Conclusion::Failure
    } else if runs
        .iter()
        .all(|run| run.record.conclusion == Conclusion::Skipped)
    {
        Conclusion::Skipped
    } else {
        Conclusion::Success
    }
}

async fn remove_checkout(state: Arc<AppState>, project: String, checkout: Checkout) {
    let removed = tokio::task::spawn_blocking(move || {
        let _ = std::fs::remove_file(&checkout.event_file);
        Repository::bare(&state.data.mirror(&project))
            .and_then(|repository| repository.remove_worktree(&checkout.worktree))
    })
    .await;
    if let Ok(Err(error)) = removed {
        tracing::warn!(%error, "removing a run's worktree failed");
    }
}
