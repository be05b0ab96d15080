//! One job instance, from setting up its executor to its last post step.
//!
//! A job: picks its executor (`container:`, or `runs-on` through the label mappings), joins its
//! concurrency group, starts its services, evaluates its `env`, runs its steps, then the post
//! steps actions registered (in reverse order), evaluates its `outputs` and `environment.url`,
//! and removes everything it started. Steps run in [`Frame`]s: the job's own, and one per
//! composite action, each with its own `steps` and `inputs` contexts.
//!
//! Status, as GitHub documents it: a step's `if:` defaults to `success()`; a failed step fails
//! the job unless it has `continue-on-error`; once the job is cancelled (Ctrl-C, fail-fast, a
//! concurrency group) or times out, the running step is stopped and only steps whose `if:` asks
//! for `always()` or `cancelled()` run, no longer bound by the job's timeout.

mod output;
mod setup;
mod steps;
mod uses;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;
use slipway_expr::{Contexts, JobStatus, Value, WorkspaceHost};
use slipway_store::{Annotation, AnnotationLevel, Conclusion, JobRecord, StepRecord};
use slipway_workflow::matrix::Combination;
use slipway_workflow::{Job, Step};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::eval::{Scope, string_map, to_json};
use crate::executor::Executor;
use crate::observer::RunEvent;
use crate::run::WorkflowScope;
use crate::trigger::object;

use self::output::StepSink;

/// GitHub's default job timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(360 * 60);
/// How deeply composite actions may nest, as on GitHub.
const MAX_COMPOSITE_DEPTH: usize = 10;

/// One instance of a job (one matrix combination), ready to run.
pub(crate) struct JobRun {
    pub(crate) scope: Arc<WorkflowScope>,
    pub(crate) job_id: String,
    /// The name it is shown and recorded by.
    pub(crate) display: Arc<str>,
    pub(crate) matrix: Option<Combination>,
    pub(crate) strategy: Value,
    pub(crate) needs: Value,
    /// Cancelled by Ctrl-C, by fail-fast, or by a concurrency group.
    pub(crate) cancel: CancellationToken,
}

/// How a job instance ended.
pub(crate) struct JobOutcome {
    pub(crate) record: JobRecord,
    pub(crate) outputs: IndexMap<String, String>,
    /// It failed, but `continue-on-error` keeps the run from failing.
    pub(crate) tolerated: bool,
}

/// Runs a job instance to its end.
pub(crate) async fn run(job_run: JobRun) -> JobOutcome {
    let scope = job_run.scope.clone();
    let Some(job) = scope.workflow.jobs.get(&job_run.job_id) else {
        // The planner only schedules jobs of the workflow; nothing to run otherwise.
        return JobOutcome {
            record: skipped_record(&job_run, Conclusion::Skipped),
            outputs: IndexMap::new(),
            tolerated: false,
        };
    };
    let started_at = jiff::Timestamp::now();
    let started = Instant::now();
    let mut exec = JobExec::new(&job_run, job);
    let tolerated_if_failed = exec.continue_on_error();
    let executor = match exec.set_up().await {
        Ok(executor) => Some(executor),
        Err(message) => {
            exec.setup_failed(&message);
            None
        }
    };
    let ready = match &executor {
        Some(executor) => match exec.set_env(executor.as_ref()) {
            Ok(()) => true,
            Err(message) => {
                exec.setup_failed(&message);
                false
            }
        },
        None => false,
    };
    if let Some(executor) = executor.as_ref().filter(|_| ready) {
        exec.run_steps(executor.as_ref()).await;
        exec.run_posts(executor.as_ref()).await;
    }
    let outputs = exec.outputs();
    let environment_url = exec.environment_url();
    if let Some(executor) = &executor {
        for note in executor.shut_down().await {
            exec.job_line(&note);
        }
    }
    exec.clean_up().await;
    let conclusion = exec.conclusion();
    let duration = started.elapsed();
    scope.shared.observer.event(RunEvent::JobFinished {
        workflow: scope.name.clone(),
        job: job_run.display.clone(),
        conclusion,
        duration,
    });
    JobOutcome {
        record: JobRecord {
            job_id: format!("{}{}", scope.id_prefix, job_run.job_id),
            name: job_run.display.to_string(),
            matrix: job_run.matrix.as_ref().map(matrix_json),
            runs_on: exec.runs_on.clone(),
            conclusion,
            started_at: Some(started_at),
            duration,
            environment: exec.environment.clone(),
            environment_url,
            outputs: outputs
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            log: exec.job_log.clone(),
            steps: std::mem::take(&mut exec.records),
        },
        outputs,
        tolerated: conclusion == Conclusion::Failure && tolerated_if_failed,
    }
}

/// The record of a job that never started.
pub(crate) fn skipped_record(job_run: &JobRun, conclusion: Conclusion) -> JobRecord {
    JobRecord {
        job_id: format!("{}{}", job_run.scope.id_prefix, job_run.job_id),
        name: job_run.display.to_string(),
        matrix: job_run.matrix.as_ref().map(matrix_json),
        runs_on: "-".to_owned(),
        conclusion,
        started_at: None,
        duration: Duration::ZERO,
        environment: None,
        environment_url: None,
        outputs: Default::default(),
        log: String::new(),
        steps: Vec::new(),
    }
}

/// A matrix combination as the JSON recorded with the job.
pub(crate) fn matrix_json(combination: &Combination) -> String {
    to_json(&Value::object(combination.clone())).to_string()
}

/// A list of steps being run: the job's, or a composite action's.
struct Frame {
    /// The file the steps are written in, for messages.
    file: Arc<str>,
    /// The `steps` context.
    steps: IndexMap<String, Value>,
    /// The `inputs` context.
    inputs: Value,
    /// Environment every step of the frame starts from (a composite step's `env`).
    env: IndexMap<String, String>,
    /// The action's directory as steps see it, for a composite action.
    action_path: Option<String>,
    /// A step of this frame failed.
    failed: bool,
    depth: usize,
}

/// A step to run at the end of the job.
struct PostStep {
    name: Arc<str>,
    condition: Option<Box<slipway_workflow::IfCondition>>,
    kind: PostKind,
}

enum PostKind {
    Node {
        script: String,
        action_path: String,
        env: Vec<(String, String)>,
    },
    CacheSave {
        key: String,
        paths: Vec<String>,
    },
}

/// What running a step produced.
struct Performed {
    outcome: Conclusion,
    exit_code: Option<i32>,
    outputs: IndexMap<String, String>,
}

impl Performed {
    fn failed(exit_code: Option<i32>) -> Performed {
        Performed {
            outcome: Conclusion::Failure,
            exit_code,
            outputs: IndexMap::new(),
        }
    }
}

/// The state of a running job.
struct JobExec<'a> {
    run: &'a JobRun,
    job: &'a Job,
    scope: Arc<WorkflowScope>,
    /// The `env` context below step level: workflow, job, and `$GITHUB_ENV` additions.
    env: IndexMap<String, String>,
    /// `$GITHUB_PATH` additions, latest first.
    path: Vec<String>,
    failed: bool,
    timed_out: bool,
    deadline: Instant,
    posts: Vec<PostStep>,
    /// Numbers scripts and file-command files.
    counter: usize,
    records: Vec<StepRecord>,
    job_log: String,
    runs_on: String,
    environment: Option<String>,
    container: Value,
    services: Value,
    dirs: Option<JobDirs>,
    worktrees: Vec<PathBuf>,
    frame: Frame,
    /// What the last process saved with `$GITHUB_STATE`, for its action's post step.
    last_state: IndexMap<String, String>,
    /// The job's concurrency group, held until the job ends.
    group_guard: Option<crate::concurrency::Guard>,
    /// The cancellation stopped a step, skipped one, or stopped the set-up.
    hit_by_cancel: bool,
}

/// The job's directories on the host.
struct JobDirs {
    root: PathBuf,
    workspace: PathBuf,
    temp: PathBuf,
}

impl<'a> JobExec<'a> {
    fn new(run: &'a JobRun, job: &'a Job) -> JobExec<'a> {
        let scope = run.scope.clone();
        let frame = Frame {
            file: scope.file.clone(),
            steps: IndexMap::new(),
            inputs: scope.inputs.clone(),
            env: IndexMap::new(),
            action_path: None,
            failed: false,
            depth: 0,
        };
        JobExec {
            run,
            job,
            env: scope.shared.env.clone(),
            scope,
            path: Vec::new(),
            failed: false,
            timed_out: false,
            deadline: Instant::now() + DEFAULT_TIMEOUT,
            posts: Vec::new(),
            counter: 0,
            records: Vec::new(),
            job_log: String::new(),
            runs_on: "-".to_owned(),
            environment: None,
            container: Value::object(IndexMap::new()),
            services: Value::object(IndexMap::new()),
            dirs: None,
            worktrees: Vec::new(),
            frame,
            last_state: IndexMap::new(),
            group_guard: None,
            hit_by_cancel: false,
        }
    }

    fn job_line(&mut self, text: &str) {
        let masked = self.scope.shared.masker.mask(text).into_owned();
        self.job_log.push_str(&masked);
        self.job_log.push('\n');
        self.scope.shared.observer.event(RunEvent::Line {
            job: self.run.display.clone(),
            step: None,
            text: masked,
        });
    }

    fn cancelled(&self) -> bool {
        self.timed_out || self.run.cancel.is_cancelled()
    }

    /// What the status functions report to the next step of `frame`.
    fn status(&self, frame: &Frame) -> JobStatus {
        if self.cancelled() {
            JobStatus::Cancelled
        } else if self.failed || frame.failed {
            JobStatus::Failure
        } else {
            JobStatus::Success
        }
    }

    /// Failed when a step failed or the job timed out; cancelled when the cancellation stopped
    /// or skipped one of its steps (a job whose steps all ran to the end when a sibling failed
    /// succeeded); succeeded otherwise.
    fn conclusion(&self) -> Conclusion {
        if self.timed_out || self.failed {
            Conclusion::Failure
        } else if self.hit_by_cancel {
            Conclusion::Cancelled
        } else {
            Conclusion::Success
        }
    }

    /// The contexts of the job's own settings (no steps yet).
    fn job_contexts(&self) -> Contexts {
        let mut contexts = self.scope.base_contexts();
        contexts.insert("matrix", self.matrix_value());
        contexts.insert("strategy", self.run.strategy.clone());
        contexts.insert("needs", self.run.needs.clone());
        contexts.insert("env", string_map(&self.env));
        contexts.insert("github", self.github(None, None));
        contexts.insert("runner", self.runner_context(None));
        contexts.insert("job", self.job_context(self.status(&self.frame)));
        contexts
    }

    fn matrix_value(&self) -> Value {
        Value::object(self.run.matrix.clone().unwrap_or_default())
    }

    fn host(&self, status: JobStatus) -> WorkspaceHost {
        let workspace = self.dirs.as_ref().map_or_else(
            || self.scope.shared.project.root.clone(),
            |d| d.workspace.clone(),
        );
        WorkspaceHost::new(workspace, status)
    }

    fn evaluate<T>(
        &self,
        contexts: &Contexts,
        status: JobStatus,
        file: &str,
        f: impl FnOnce(&Scope<'_>) -> T,
    ) -> T {
        let host = self.host(status);
        f(&Scope {
            contexts,
            host: &host,
            file,
        })
    }

    fn continue_on_error(&self) -> bool {
        let Some(setting) = &self.job.continue_on_error else {
            return false;
        };
        let contexts = self.job_contexts();
        self.evaluate(&contexts, JobStatus::Success, &self.scope.file, |s| {
            s.boolean(setting)
        })
        .unwrap_or(false)
    }

    fn sink(&self, step: Option<Arc<str>>) -> StepSink {
        StepSink {
            job: self.run.display.clone(),
            step,
            scope: self.scope.clone(),
            log: String::new(),
            annotations: Vec::new(),
            summary: String::new(),
        }
    }

    /// The contexts a step sees, with `env` as given.
    fn step_contexts(
        &self,
        executor: &dyn Executor,
        frame: &Frame,
        env: &IndexMap<String, String>,
        status: JobStatus,
        step: &Step,
    ) -> Contexts {
        let mut all_env = self.env.clone();
        all_env.extend(env.iter().map(|(k, v)| (k.clone(), v.clone())));
        let mut contexts = self.scope.base_contexts();
        contexts.insert("matrix", self.matrix_value());
        contexts.insert("strategy", self.run.strategy.clone());
        contexts.insert("needs", self.run.needs.clone());
        contexts.insert("inputs", frame.inputs.clone());
        contexts.insert("steps", Value::object(frame.steps.clone()));
        contexts.insert("env", string_map(&all_env));
        contexts.insert("github", self.github(Some(executor), Some((frame, step))));
        contexts.insert("runner", self.runner_context(Some(executor)));
        contexts.insert("job", self.job_context(status));
        contexts
    }

    /// Contexts for evaluating a setting after a step ran (its `continue-on-error`).
    fn step_contexts_light(&self, frame: &Frame) -> Contexts {
        let mut contexts = self.job_contexts();
        contexts.insert("inputs", frame.inputs.clone());
        contexts.insert("steps", Value::object(frame.steps.clone()));
        contexts
    }

    /// The `runner` context; `runner.temp` is the directory as `executor` shows it to steps
    /// (`RUNNER_TEMP`), or on the host before there is one.
    fn runner_context(&self, executor: Option<&dyn Executor>) -> Value {
        let temp = match executor {
            Some(executor) => executor.temp().seen.clone(),
            None => self
                .dirs
                .as_ref()
                .map(|d| d.temp.display().to_string())
                .unwrap_or_default(),
        };
        object([
            ("name", Value::from("slipway")),
            ("os", Value::from("Linux")),
            ("arch", Value::from(runner_arch())),
            ("temp", Value::from(temp)),
            (
                "tool_cache",
                Value::from(self.scope.shared.tool_cache.display().to_string()),
            ),
            (
                "debug",
                Value::from(if self.scope.shared.debug { "1" } else { "" }),
            ),
            ("environment", Value::from("self-hosted")),
        ])
    }

    fn job_context(&self, status: JobStatus) -> Value {
        let status = match status {
            JobStatus::Success | JobStatus::Skipped => "success",
            JobStatus::Failure => "failure",
            JobStatus::Cancelled => "cancelled",
        };
        object([
            ("status", Value::from(status)),
            ("container", self.container.clone()),
            ("services", self.services.clone()),
        ])
    }

    /// The `github` context for a step of `frame` (or for the job's own settings).
    /// `github.workspace` is the workspace as `executor` shows it to steps (`GITHUB_WORKSPACE`).
    fn github(&self, executor: Option<&dyn Executor>, step: Option<(&Frame, &Step)>) -> Value {
        let mut github = self.scope.github.clone();
        github.insert("job".to_owned(), Value::from(self.run.job_id.clone()));
        if let Some(executor) = executor {
            github.insert(
                "workspace".to_owned(),
                Value::from(executor.workspace().seen.clone()),
            );
        }
        if let Some((frame, step)) = step {
            let action = step
                .id
                .as_ref()
                .map_or_else(|| "__run".to_owned(), |id| id.value.clone());
            github.insert("action".to_owned(), Value::from(action));
            github.insert(
                "action_path".to_owned(),
                Value::from(frame.action_path.clone().unwrap_or_default()),
            );
        }
        Value::object(github)
    }
}

fn set_step_context(
    frame: &mut Frame,
    step: &Step,
    outcome: Conclusion,
    conclusion: Conclusion,
    outputs: &IndexMap<String, String>,
) {
    let Some(id) = &step.id else {
        return;
    };
    frame.steps.insert(
        id.value.clone(),
        object([
            ("outputs", string_map(outputs)),
            ("outcome", Value::from(outcome.as_str())),
            ("conclusion", Value::from(conclusion.as_str())),
        ]),
    );
}

fn skipped_step(name: &str, step: &Step) -> StepRecord {
    StepRecord {
        step_id: step.id.as_ref().map(|id| id.value.clone()),
        ..skipped_named(name)
    }
}

fn skipped_named(name: &str) -> StepRecord {
    StepRecord {
        name: name.to_owned(),
        step_id: None,
        outcome: Conclusion::Skipped,
        conclusion: Conclusion::Skipped,
        exit_code: None,
        started_at: None,
        duration: Duration::ZERO,
        outputs: Default::default(),
        log: String::new(),
        summary: String::new(),
        annotations: Vec::new(),
    }
}

fn warning(message: String) -> Annotation {
    Annotation {
        level: AnnotationLevel::Warning,
        message,
        title: None,
        file: None,
        line: None,
        end_line: None,
        column: None,
        end_column: None,
    }
}

fn minutes_to_duration(minutes: f64) -> Duration {
    Duration::try_from_secs_f64(minutes.max(0.0) * 60.0).unwrap_or(DEFAULT_TIMEOUT)
}

fn runner_arch() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "ARM64",
        "arm" => "ARM",
        "x86" => "X86",
        _ => "X64",
    }
}

/// An empty frame: what stands in while the job's own frame is lent to its step loop.
impl Default for Frame {
    fn default() -> Frame {
        Frame {
            file: Arc::from(""),
            steps: IndexMap::new(),
            inputs: Value::Null,
            env: IndexMap::new(),
            action_path: None,
            failed: false,
            depth: 0,
        }
    }
}

fn step_id(step: &Step) -> Option<&str> {
    step.id.as_ref().map(|id| id.value.as_str())
}
