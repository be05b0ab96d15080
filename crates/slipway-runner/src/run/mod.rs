//! Running a plan: the workflow runs, their job graphs, and their records.
//!
//! Every triggered workflow runs at once, each as a run of its own with its own record. Within a
//! run, a job starts once every job it needs is done: its `if:` is evaluated (with the implicit
//! `success()` reading the results of every job it depends on, directly or not, as GitHub
//! does), its matrix is expanded (expressions in it can read `needs`), and its instances start,
//! at most `max-parallel` at a time and at most the run's parallel limit across all jobs. With
//! `fail-fast` (the default), an instance failing cancels its siblings. A job calling a reusable
//! workflow runs that workflow's graph as part of the same run; its jobs are recorded as
//! `caller / job`.
//!
//! Here: [`Plan::execute`] and one workflow run from start to record; `graph` schedules a job
//! graph, `strategy` evaluates matrices and strategy settings, `call` runs reusable workflows.

mod call;
mod graph;
mod strategy;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use indexmap::IndexMap;
use slipway_engine::ContainerEngine;
use slipway_expr::{Contexts, JobStatus, Value, WorkspaceHost};
use slipway_store::{Conclusion, GitSnapshot, NewRun, Run, Store};
use slipway_workflow::Workflow;
use slipway_workflow::graph::JobGraph;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::actions::Catalog;
use crate::artifacts::Artifacts;
use crate::cache::Cache;
use crate::concurrency::ConcurrencyGroups;
use crate::error::RunError;
use crate::eval::{Scope, string_map};
use crate::labels::Labels;
use crate::mask::Masker;
use crate::observer::{Interrupt, Observer, RunEvent};
use crate::plan::{Called, Plan, PlannedWorkflow, Project, workflow_name};
use crate::trigger::Trigger;
use crate::workdirs::WorkDirs;

use self::graph::{conclude, run_graph};

/// What a run needs from its caller.
#[derive(Clone)]
pub struct Runtime {
    /// Where runs are recorded.
    pub store: Arc<dyn Store>,
    /// The container engine, for jobs that need one.
    pub engine: Option<Arc<dyn ContainerEngine>>,
    /// Who hears about progress.
    pub observer: Arc<dyn Observer>,
    /// How the caller stops the run.
    pub interrupt: Interrupt,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("store", &self.store)
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

/// What every job of a `slipway run` shares.
pub(crate) struct Shared {
    pub(crate) project: Arc<Project>,
    pub(crate) trigger: Arc<Trigger>,
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) called: Arc<HashMap<String, Arc<Called>>>,
    pub(crate) labels: Labels,
    pub(crate) vars: Value,
    pub(crate) secrets: IndexMap<String, String>,
    pub(crate) env: IndexMap<String, String>,
    pub(crate) matrix_filter: Vec<(String, String)>,
    pub(crate) dirty: bool,
    pub(crate) debug: bool,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) engine: Option<Arc<dyn ContainerEngine>>,
    pub(crate) observer: Arc<dyn Observer>,
    pub(crate) interrupt: Interrupt,
    pub(crate) masker: Masker,
    pub(crate) slots: Arc<Semaphore>,
    pub(crate) cache: Cache,
    pub(crate) concurrency: ConcurrencyGroups,
    pub(crate) work: WorkDirs,
    pub(crate) tool_cache: PathBuf,
    ids: AtomicUsize,
}

impl Shared {
    /// A number unique within this `slipway run`.
    pub(crate) fn next_id(&self) -> usize {
        self.ids.fetch_add(1, Ordering::Relaxed)
    }
}

/// One workflow being run: the top-level one, or a reusable workflow a job called.
pub(crate) struct WorkflowScope {
    pub(crate) shared: Arc<Shared>,
    pub(crate) file: Arc<str>,
    pub(crate) workflow: Arc<Workflow>,
    pub(crate) graph: JobGraph,
    /// The top-level workflow's name, for events.
    pub(crate) name: Arc<str>,
    /// The run's id (`github.run_id`), naming its directories and containers.
    pub(crate) run_key: String,
    pub(crate) github: IndexMap<String, Value>,
    pub(crate) inputs: Value,
    pub(crate) secrets: Value,
    /// `caller / ` for the jobs of a called workflow.
    pub(crate) name_prefix: String,
    /// `caller/` in recorded job ids.
    pub(crate) id_prefix: String,
    pub(crate) artifacts: Artifacts,
    pub(crate) depth: usize,
    /// Jobs to run; all of them for a called workflow.
    pub(crate) selected: Vec<String>,
}

impl WorkflowScope {
    /// `github`, `vars`, `secrets` and `inputs`: the contexts every expression of the workflow
    /// may read.
    pub(crate) fn base_contexts(&self) -> Contexts {
        let mut contexts = Contexts::new();
        contexts.insert("github", Value::object(self.github.clone()));
        contexts.insert("vars", self.shared.vars.clone());
        contexts.insert("secrets", self.secrets.clone());
        contexts.insert("inputs", self.inputs.clone());
        contexts
    }
}

impl Plan {
    /// Runs the plan: every triggered workflow, each recorded in the store. The runs are
    /// returned as recorded.
    pub async fn execute(self, runtime: Runtime) -> Result<Vec<Run>, RunError> {
        if let Some(engine) = &runtime.engine {
            crate::executor::services::sweep_orphans(engine.as_ref()).await;
        }
        let request = self.request.clone();
        let masker = Masker::new();
        for value in request.secrets.values() {
            masker.add(value);
        }
        let parallel = request
            .parallel
            .or_else(|| self.project.runners.parallel.map(|n| n.get() as usize))
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
            .max(1);
        let state = self.project.state_dir.clone();
        let shared = Arc::new(Shared {
            project: self.project.clone(),
            trigger: self.trigger.clone(),
            catalog: self.catalog.clone(),
            called: self.called.clone(),
            labels: self.labels.clone(),
            vars: string_map(&request.vars),
            secrets: request.secrets.clone(),
            env: request.env.clone(),
            matrix_filter: request.matrix.clone(),
            dirty: request.dirty,
            debug: request.debug,
            store: runtime.store.clone(),
            engine: runtime.engine.clone(),
            observer: runtime.observer.clone(),
            interrupt: runtime.interrupt.clone(),
            masker,
            slots: Arc::new(Semaphore::new(parallel)),
            cache: Cache::new(state.join("cache")),
            concurrency: ConcurrencyGroups::new(state.join("concurrency")),
            work: WorkDirs::new(state.join("work").join(format!(
                "{}-{}",
                std::process::id(),
                jiff::Timestamp::now().as_microsecond()
            ))),
            tool_cache: state.join("toolcache"),
            ids: AtomicUsize::new(0),
        });
        let mut runs = JoinSet::new();
        for (index, planned) in self.workflows.into_iter().enumerate() {
            runs.spawn(run_workflow(shared.clone(), planned, index));
        }
        let mut recorded = Vec::new();
        let mut failure = None;
        while let Some(result) = runs.join_next().await {
            match result {
                Ok(Ok(run)) => recorded.push(run),
                Ok(Err(error)) => {
                    failure.get_or_insert(error);
                }
                Err(error) => {
                    failure.get_or_insert(RunError::Io {
                        path: state.clone(),
                        source: std::io::Error::other(error),
                    });
                }
            }
        }
        // Every job has ended: no directory is in use any more.
        let pool = shared.clone();
        let _ = tokio::task::spawn_blocking(move || pool.work.remove_all()).await;
        if let Some(error) = failure {
            return Err(error);
        }
        recorded.sort_by_key(|run: &(usize, Run)| run.0);
        Ok(recorded.into_iter().map(|(_, run)| run).collect())
    }
}

/// Runs one workflow and records it.
async fn run_workflow(
    shared: Arc<Shared>,
    planned: PlannedWorkflow,
    index: usize,
) -> Result<(usize, Run), RunError> {
    let started_at = jiff::Timestamp::now();
    let started = Instant::now();
    let file = planned.file.clone();
    let store = shared.store.clone();
    let workflow_file = file.to_string();
    let latest = tokio::task::spawn_blocking(move || store.latest_run_number(&workflow_file))
        .await
        .map_err(|e| RunError::Io {
            path: shared.project.state_dir.clone(),
            source: std::io::Error::other(e),
        })??;
    let run_number = latest.unwrap_or(0) + 1;
    let run_key = format!("{}{:02}", started_at.as_microsecond(), index % 100);
    let name: Arc<str> = workflow_name(&planned.workflow, &file).into();
    let github = github_context(&shared, &file, &name, &run_key, run_number);
    let inputs = Value::object(planned.inputs.clone());
    let secrets = string_map(&shared.secrets);
    let scope = WorkflowScope {
        shared: shared.clone(),
        file: file.clone(),
        workflow: planned.workflow.clone(),
        graph: planned.graph.clone(),
        name: name.clone(),
        run_key: run_key.clone(),
        github,
        inputs,
        secrets,
        name_prefix: String::new(),
        id_prefix: String::new(),
        artifacts: Artifacts::new(shared.project.state_dir.join("artifacts").join(&run_key)),
        depth: 0,
        selected: planned.selected.clone(),
    };
    shared.observer.event(RunEvent::RunStarted {
        workflow: name.clone(),
        run_number,
    });
    let cancel = shared.interrupt.graceful().child_token();
    let mut records = Vec::new();
    let mut failed_early = None;
    let mut display_name = name.to_string();
    if let Some(run_name) = &planned.workflow.run_name {
        let contexts = scope.base_contexts();
        let host = WorkspaceHost::new(&shared.project.root, JobStatus::Success);
        if let Ok(text) = (Scope {
            contexts: &contexts,
            host: &host,
            file: &file,
        })
        .string(run_name)
        {
            display_name = text;
        }
    }
    let mut guard = None;
    if failed_early.is_none()
        && let Some(concurrency) = &planned.workflow.concurrency
    {
        match workflow_group(&scope, concurrency) {
            Ok((group, cancel_in_progress)) => match shared
                .concurrency
                .acquire(&group, cancel_in_progress, &cancel)
                .await
            {
                Ok(held) => guard = Some(held),
                Err(error) => {
                    cancel.cancel();
                    failed_early = Some(error.to_string());
                }
            },
            Err(message) => failed_early = Some(message),
        }
    }
    let scope = Arc::new(scope);
    let conclusion = match failed_early {
        Some(message) => {
            shared.observer.event(RunEvent::Line {
                job: name.clone(),
                step: None,
                text: message.clone(),
            });
            if cancel.is_cancelled() {
                Conclusion::Cancelled
            } else {
                Conclusion::Failure
            }
        }
        None => {
            let outcome = run_graph(scope.clone(), cancel.clone()).await;
            records = outcome.records;
            conclude(&outcome.results, &cancel)
        }
    };
    drop(guard);
    let duration = started.elapsed();
    let snapshot = &shared.project.snapshot;
    let run = NewRun {
        workflow: file.to_string(),
        name: display_name,
        run_number,
        event: shared.trigger.name.clone(),
        git: GitSnapshot {
            commit: Some(shared.trigger.sha.clone()),
            branch: snapshot.branch.clone(),
            dirty: snapshot.dirty,
        },
        git_ref: (!shared.trigger.git_ref.is_empty()).then(|| shared.trigger.git_ref.clone()),
        started_at,
        duration,
        conclusion,
        jobs: records,
    };
    let store = shared.store.clone();
    let to_record = run.clone();
    let id = tokio::task::spawn_blocking(move || store.record_run(&to_record))
        .await
        .map_err(|e| RunError::Io {
            path: shared.project.state_dir.clone(),
            source: std::io::Error::other(e),
        })??;
    shared.observer.event(RunEvent::RunFinished {
        workflow: name,
        conclusion,
        duration,
    });
    Ok((index, Run { id, record: run }))
}

fn workflow_group(
    scope: &WorkflowScope,
    concurrency: &slipway_workflow::Concurrency,
) -> Result<(String, bool), String> {
    let contexts = scope.base_contexts();
    let host = WorkspaceHost::new(&scope.shared.project.root, JobStatus::Success);
    let eval = Scope {
        contexts: &contexts,
        host: &host,
        file: &scope.file,
    };
    let group = eval.string(&concurrency.group)?;
    let cancel_in_progress = match &concurrency.cancel_in_progress {
        Some(setting) => eval.boolean(setting)?,
        None => false,
    };
    Ok((group, cancel_in_progress))
}

/// The `github` context of a run, before job and step details.
fn github_context(
    shared: &Shared,
    file: &str,
    workflow: &str,
    run_key: &str,
    run_number: u64,
) -> IndexMap<String, Value> {
    let trigger = &shared.trigger;
    let repository = shared.project.repository.clone();
    let owner = repository
        .split_once('/')
        .map_or(repository.as_str(), |(o, _)| o)
        .to_owned();
    let actor = std::env::var("USER").unwrap_or_else(|_| "slipway".to_owned());
    let pairs: Vec<(&str, Value)> = vec![
        ("event_name", Value::from(trigger.name.as_str())),
        ("event", trigger.payload.clone()),
        ("ref", Value::from(trigger.git_ref.as_str())),
        ("ref_name", Value::from(trigger.ref_name())),
        ("ref_type", Value::from(trigger.ref_type())),
        ("ref_protected", Value::Bool(false)),
        ("sha", Value::from(trigger.sha.as_str())),
        ("head_ref", Value::from(trigger.head_ref.as_str())),
        ("base_ref", Value::from(trigger.base_ref.as_str())),
        ("repository", Value::from(repository.as_str())),
        ("repository_owner", Value::from(owner)),
        ("actor", Value::from(actor.as_str())),
        ("triggering_actor", Value::from(actor.as_str())),
        ("run_id", Value::from(run_key)),
        ("run_number", Value::from(run_number.to_string())),
        ("run_attempt", Value::from("1")),
        ("workflow", Value::from(workflow)),
        (
            "workflow_ref",
            Value::from(format!("{repository}/{file}@{}", trigger.git_ref)),
        ),
        ("workflow_sha", Value::from(trigger.sha.as_str())),
        ("server_url", Value::from("https://github.com")),
        ("api_url", Value::from("https://api.github.com")),
        ("graphql_url", Value::from("https://api.github.com/graphql")),
        ("retention_days", Value::from("90")),
        ("secret_source", Value::from("Actions")),
        (
            "token",
            Value::from(
                shared
                    .secrets
                    .get("GITHUB_TOKEN")
                    .cloned()
                    .unwrap_or_default(),
            ),
        ),
        ("job", Value::from("")),
        ("action", Value::from("")),
        ("action_path", Value::from("")),
        (
            "workspace",
            Value::from(shared.project.root.display().to_string()),
        ),
    ];
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}
