//! `slipway run [EVENT]`: plans the workflows an event triggers, reports every problem before
//! anything starts, runs them with live output, and ends with a report: each job's conclusion,
//! the annotations, and the step summaries.
//!
//! Live output: on a terminal, a compact view with one spinner per running job (a failing step's
//! last lines are printed above it); elsewhere, every line prefixed with its job. Ctrl-C cancels
//! the run gracefully (running steps are stopped, `always()` steps run, containers are removed);
//! a second Ctrl-C stops it at once.

use std::collections::{HashMap, VecDeque};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use indexmap::IndexMap;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use slipway_config::{Config, RunnerSettings, RunnerTarget};
use slipway_engine::ContainerEngine;
use slipway_runner::{
    Interrupt, Observer, Plan, PlanError, Project, RunError, RunEvent, RunRequest, Runtime,
};
use slipway_store::{AnnotationLevel, Conclusion, Run};

use crate::cli::{GlobalArgs, RunArgs};
use crate::output::{self, Status, Table, print_json, print_line};
use crate::project;
use crate::report::Failure;

/// How many lines of a failing step are shown above the progress view.
const TAIL_LINES: usize = 15;

pub(crate) async fn run(
    global: &GlobalArgs,
    args: &RunArgs,
    status: Status,
) -> Result<ExitCode, Failure> {
    let cwd = project::current_dir()?;
    let plan = plan(global, &cwd, request(args)?)?;
    for warning in plan.warnings() {
        status.warn(warning);
    }
    if args.list {
        if plan.workflows().is_empty() {
            print_line(&nothing_runs(&plan));
            for line in not_run(&plan) {
                print_line(&format!("  {line}"));
            }
        } else {
            list(&plan);
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.dry_run {
        dry_run(&plan);
        return Ok(ExitCode::SUCCESS);
    }
    if plan.workflows().is_empty() {
        status.line(nothing_runs(&plan));
        for line in not_run(&plan) {
            status.line(output::dim(&format!("  {line}")));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let engine = if plan.needs_engine() {
        Some(project::connect_engine().await?)
    } else {
        None
    };
    let runs = execute(global, &cwd, plan, engine, status).await?;
    if args.json {
        print_json(&runs)?;
    } else {
        report(&runs, status);
    }
    Ok(exit_code(&runs))
}

/// Plans the workflows `request` triggers in the repository at `cwd`, with the `[runners]` of
/// slipway.toml (whose `vars` fill in those the request leaves out).
pub(crate) fn plan(
    global: &GlobalArgs,
    cwd: &std::path::Path,
    mut request: RunRequest,
) -> Result<Plan, Failure> {
    let runners = runner_settings(global)?;
    for (name, value) in &runners.vars {
        request
            .vars
            .entry(name.clone())
            .or_insert_with(|| value.clone());
    }
    let state_dir = project::state_dir(global, cwd);
    let project = Arc::new(Project::open(cwd, state_dir, runners)?);
    Ok(slipway_runner::plan(project, request)?)
}

/// Runs `plan` with the live view, recording it in the store. Jobs that need containers run on
/// `engine`; without one they fail when they start, saying so.
pub(crate) async fn execute(
    global: &GlobalArgs,
    cwd: &std::path::Path,
    plan: Plan,
    engine: Option<Arc<dyn ContainerEngine>>,
    status: Status,
) -> Result<Vec<Run>, Failure> {
    if let Some(engine) = &engine {
        plan.check_images(engine.as_ref()).await?;
    }
    let store = project::open_store(global, cwd)?;
    let view = Arc::new(LiveView::new(status, plan.workflows().len() > 1));
    let interrupt = Interrupt::new();
    let watcher = tokio::spawn(watch_ctrl_c(interrupt.clone(), status));
    let runtime = Runtime {
        store,
        engine,
        observer: view.clone(),
        interrupt,
    };
    let result = plan.execute(runtime).await;
    watcher.abort();
    view.finish();
    Ok(result?)
}

/// 0 when every run succeeded.
pub(crate) fn exit_code(runs: &[Run]) -> ExitCode {
    if runs
        .iter()
        .all(|run| run.record.conclusion == Conclusion::Success)
    {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `[runners]` of slipway.toml when there is one; a repository without one runs with defaults.
fn runner_settings(global: &GlobalArgs) -> Result<RunnerSettings, Failure> {
    match project::config_path(global) {
        Ok(path) => Ok(Config::load(&path)?.runners().clone()),
        Err(_) if global.config.is_none() => Ok(RunnerSettings::default()),
        Err(failure) => Err(failure),
    }
}

/// The request, from flags and the files they name.
pub(crate) fn request(args: &RunArgs) -> Result<RunRequest, Failure> {
    let mut secrets = IndexMap::new();
    for path in &args.secret_files {
        secrets.extend(dotenv(path)?);
    }
    for given in &args.secrets {
        let (name, value) = match given.split_once('=') {
            Some((name, value)) => (name.to_owned(), value.to_owned()),
            None => {
                let value = std::env::var(given).map_err(|_| {
                    Failure::bad_input(format!("--secret {given}: no environment variable {given}"))
                        .hint("give the value (--secret NAME=VALUE) or export the variable")
                })?;
                (given.clone(), value)
            }
        };
        secrets.insert(name, value);
    }
    let mut vars = IndexMap::new();
    for path in &args.var_files {
        vars.extend(dotenv(path)?);
    }
    vars.extend(args.vars.iter().cloned());
    let mut env = IndexMap::new();
    for path in &args.env_files {
        env.extend(dotenv(path)?);
    }
    let platforms = args
        .platforms
        .iter()
        .map(|(label, target)| {
            RunnerTarget::parse(target)
                .map(|target| (label.clone(), target))
                .map_err(|message| Failure::bad_input(format!("-P {label}={target}: {message}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RunRequest {
        event: args.event.clone(),
        workflows: args.workflows.clone(),
        jobs: args.jobs.clone(),
        inputs: args.inputs.clone(),
        event_path: args.event_path.clone(),
        vars,
        secrets,
        env,
        matrix: args.matrix.clone(),
        platforms,
        actions: args
            .actions
            .iter()
            .map(|(uses, dir)| (uses.clone(), PathBuf::from(dir)))
            .collect(),
        dirty: args.dirty,
        parallel: args.parallel,
        debug: args.debug,
    })
}

fn dotenv(path: &std::path::Path) -> Result<IndexMap<String, String>, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| Failure::bad_input(format!("cannot read {}: {error}", path.display())))?;
    slipway_runner::envfile::parse_dotenv(&text).map_err(|error| {
        Failure::bad_input(format!(
            "{}:{}: {}",
            path.display(),
            error.line,
            error.message
        ))
    })
}

async fn watch_ctrl_c(interrupt: Interrupt, status: Status) {
    let mut presses = 0;
    while tokio::signal::ctrl_c().await.is_ok() {
        presses += 1;
        interrupt.interrupt();
        if presses == 1 {
            status.warn("cancelling: running steps are stopped, always() steps still run; Ctrl-C again to stop at once");
        } else {
            status.warn("stopping at once");
        }
    }
}

/// The first line when the event triggers no workflow: the event, and where it happened.
pub(crate) fn nothing_runs(plan: &Plan) -> String {
    let at = match plan.git_ref() {
        "" => String::new(),
        git_ref => format!(
            " ({})",
            git_ref
                .strip_prefix("refs/heads/")
                .map_or_else(|| git_ref.to_owned(), |b| format!("branch {b}"))
        ),
    };
    format!("no workflow runs on '{}'{at}:", plan.event())
}

/// Each workflow file the event skipped, with the filter of `on:` that excluded it:
/// `.github/workflows/pipeline.yml: push to 'master' does not match branches [main]`.
pub(crate) fn not_run(plan: &Plan) -> Vec<String> {
    plan.skipped()
        .iter()
        .map(|skipped| format!("{}: {}", skipped.file, skipped.reason))
        .collect()
}

/// `-l`: the jobs, their stage in the graph and what they need.
fn list(plan: &Plan) {
    let mut table = Table::new(vec![
        "STAGE", "JOB", "NAME", "NEEDS", "RUNS ON", "WORKFLOW", "FILE", "EVENTS",
    ]);
    for workflow in plan.workflows() {
        for job in workflow.jobs() {
            table.row(vec![
                job.level.to_string(),
                job.id.clone(),
                job.name.clone(),
                if job.needs.is_empty() {
                    "-".to_owned()
                } else {
                    job.needs.join(", ")
                },
                job.runs_on.clone(),
                workflow.name(),
                workflow.file().to_owned(),
                workflow.events().join(", "),
            ]);
        }
    }
    table.print();
}

/// `--dry-run`: what would run, where, and what would not.
fn dry_run(plan: &Plan) {
    print_line(&format!(
        "event {} at {} ({})",
        plan.event(),
        short(plan.sha()),
        if plan.git_ref().is_empty() {
            "detached"
        } else {
            plan.git_ref()
        }
    ));
    for workflow in plan.workflows() {
        print_line(&format!(
            "\nworkflow {} ({})",
            workflow.name(),
            workflow.file()
        ));
        for job in workflow.jobs() {
            let needs = if job.needs.is_empty() {
                String::new()
            } else {
                format!(", needs {}", job.needs.join(", "))
            };
            print_line(&format!(
                "  stage {}: {} on {}{needs}",
                job.level, job.id, job.runs_on
            ));
            match &job.matrix {
                Some(combinations) => {
                    for combination in combinations {
                        print_line(&format!("      matrix {combination}"));
                    }
                }
                None => print_line("      matrix computed at run time"),
            }
        }
    }
    for skipped in plan.skipped() {
        print_line(&output::dim(&format!(
            "\nnot run: {}: {}",
            skipped.file, skipped.reason
        )));
    }
}

fn short(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

/// The end-of-run report: jobs, annotations, step summaries.
fn report(runs: &[Run], status: Status) {
    for run in runs {
        let record = &run.record;
        print_line(&format!(
            "\n{} #{} {} in {} (run {})",
            record.name,
            record.run_number,
            mark(record.conclusion),
            output::duration(record.duration),
            run.id
        ));
        for job in &record.jobs {
            let failed_step = job
                .steps
                .iter()
                .find(|s| s.conclusion == Conclusion::Failure);
            let why = failed_step
                .map(|s| match s.exit_code {
                    Some(code) => format!("  {}: exit {code}", s.name),
                    None => format!("  {}", s.name),
                })
                .unwrap_or_default();
            let took = if job.conclusion == Conclusion::Skipped {
                String::new()
            } else {
                output::duration(job.duration)
            };
            print_line(&format!(
                "  {} {:<32} {took:>7}{}",
                symbol(job.conclusion),
                job.name,
                output::dim(&why)
            ));
        }
    }
    let annotations: Vec<String> = runs
        .iter()
        .flat_map(|run| run.record.jobs.iter())
        .flat_map(|job| {
            job.steps
                .iter()
                .flat_map(move |step| step.annotations.iter().map(move |a| (job, a)))
        })
        .map(|(job, annotation)| {
            let level = match annotation.level {
                AnnotationLevel::Error => output::bad("error"),
                AnnotationLevel::Warning => output::caution("warning"),
                AnnotationLevel::Notice => "notice".to_owned(),
            };
            let place = match (&annotation.file, annotation.line, annotation.column) {
                (Some(file), Some(line), Some(column)) => format!("{file}:{line}:{column}: "),
                (Some(file), Some(line), None) => format!("{file}:{line}: "),
                (Some(file), None, _) => format!("{file}: "),
                _ => String::new(),
            };
            let title = annotation
                .title
                .as_deref()
                .map(|t| format!("{t}: "))
                .unwrap_or_default();
            format!(
                "  {level} {}: {place}{title}{}",
                job.name, annotation.message
            )
        })
        .collect();
    if !annotations.is_empty() {
        print_line("\nannotations:");
        for line in annotations {
            print_line(&line);
        }
    }
    for run in runs {
        for job in &run.record.jobs {
            for step in job.steps.iter().filter(|s| !s.summary.trim().is_empty()) {
                print_line(&format!(
                    "\n{}",
                    output::dim(&format!("── summary of {} / {}", job.name, step.name))
                ));
                print_line(step.summary.trim_end());
            }
        }
    }
    if let Some(run) = runs.first() {
        status.line(output::dim(&format!(
            "\nlogs: slipway logs {} [JOB]",
            run.id
        )));
    }
}

fn symbol(conclusion: Conclusion) -> String {
    match conclusion {
        Conclusion::Success => output::ok("✓"),
        Conclusion::Failure => output::bad("✗"),
        Conclusion::Cancelled => output::caution("⊘"),
        Conclusion::Skipped => output::dim("-"),
    }
}

fn mark(conclusion: Conclusion) -> String {
    crate::commands::runs::conclusion_cell(conclusion)
}

/// Live output of a run.
struct LiveView {
    status: Status,
    multi_workflow: bool,
    progress: Option<MultiProgress>,
    state: Mutex<ViewState>,
}

#[derive(Default)]
struct ViewState {
    workflows: HashMap<Arc<str>, Arc<str>>,
    bars: HashMap<Arc<str>, ProgressBar>,
    tails: HashMap<Arc<str>, VecDeque<String>>,
}

impl LiveView {
    fn new(status: Status, multi_workflow: bool) -> LiveView {
        let interactive = !status.is_quiet() && std::io::stderr().is_terminal();
        LiveView {
            status,
            multi_workflow,
            progress: interactive.then(MultiProgress::new),
            state: Mutex::new(ViewState::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, ViewState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn label(&self, state: &ViewState, job: &Arc<str>) -> String {
        match (self.multi_workflow, state.workflows.get(job)) {
            (true, Some(workflow)) => format!("{workflow}/{job}"),
            _ => job.to_string(),
        }
    }

    /// A line above the progress view, or on stderr.
    fn say(&self, text: String) {
        match &self.progress {
            // A terminal that went away only loses the progress view.
            Some(progress) => drop(progress.println(text)),
            None => self.status.line(text),
        }
    }

    fn finish(&self) {
        let mut state = self.state();
        for (_, bar) in state.bars.drain() {
            bar.finish_and_clear();
        }
    }
}

impl Observer for LiveView {
    fn event(&self, event: RunEvent) {
        if self.status.is_quiet() {
            return;
        }
        let mut state = self.state();
        match event {
            RunEvent::RunStarted {
                workflow,
                run_number,
            } => self.say(output::dim(&format!("▶ {workflow} #{run_number}"))),
            RunEvent::JobStarted {
                workflow,
                job,
                runs_on,
            } => {
                state.workflows.insert(job.clone(), workflow);
                let label = self.label(&state, &job);
                match &self.progress {
                    Some(progress) => {
                        let bar = progress.add(ProgressBar::new_spinner());
                        if let Ok(style) =
                            ProgressStyle::with_template("{spinner} {prefix:.bold} {wide_msg:.dim}")
                        {
                            bar.set_style(style);
                        }
                        bar.set_prefix(label);
                        bar.set_message(format!("on {runs_on}"));
                        bar.enable_steady_tick(Duration::from_millis(120));
                        state.bars.insert(job, bar);
                    }
                    None => self.say(format!(
                        "[{label}] {}",
                        output::dim(&format!("⚙ {runs_on}"))
                    )),
                }
            }
            RunEvent::StepStarted { job, step } => {
                state.tails.entry(job.clone()).or_default().clear();
                match state.bars.get(&job) {
                    Some(bar) => bar.set_message(step.to_string()),
                    None => {
                        let label = self.label(&state, &job);
                        self.say(format!("[{label}] ▶ {step}"));
                    }
                }
            }
            RunEvent::Line { job, step, text } => {
                let label = self.label(&state, &job);
                match state.bars.get(&job) {
                    Some(bar) => {
                        bar.set_message(format!("{}: {text}", step.as_deref().unwrap_or("")));
                        let tail = state.tails.entry(job).or_default();
                        tail.push_back(text);
                        if tail.len() > TAIL_LINES {
                            tail.pop_front();
                        }
                    }
                    None => self.say(format!("[{label}]   {text}")),
                }
            }
            RunEvent::Annotation { .. } => {}
            RunEvent::StepFinished {
                job,
                step,
                conclusion,
                exit_code,
                duration,
            } => {
                let label = self.label(&state, &job);
                let exit = exit_code
                    .filter(|c| *c != 0)
                    .map(|c| format!("exit {c}, "))
                    .unwrap_or_default();
                let line = match conclusion {
                    Conclusion::Skipped => output::dim(&format!("[{label}] - {step} (skipped)")),
                    _ => format!(
                        "[{label}] {} {step} ({exit}{})",
                        symbol(conclusion),
                        output::duration(duration)
                    ),
                };
                if self.progress.is_none() {
                    self.say(line);
                } else if conclusion == Conclusion::Failure {
                    self.say(line);
                    if let Some(tail) = state.tails.get_mut(&job) {
                        for text in tail.drain(..) {
                            self.say(format!("    {text}"));
                        }
                    }
                }
            }
            RunEvent::JobFinished {
                workflow,
                job,
                conclusion,
                duration,
            } => {
                state.workflows.entry(job.clone()).or_insert(workflow);
                let label = self.label(&state, &job);
                if let Some(bar) = state.bars.remove(&job) {
                    bar.finish_and_clear();
                }
                self.say(format!(
                    "{} {label} {}",
                    symbol(conclusion),
                    output::dim(&format!("{conclusion} in {}", output::duration(duration)))
                ));
            }
            RunEvent::RunFinished {
                workflow,
                conclusion,
                duration,
            } => {
                self.say(output::dim(&format!(
                    "■ {workflow}: {conclusion} in {}",
                    output::duration(duration)
                )));
            }
        }
    }
}

impl From<PlanError> for Failure {
    fn from(error: PlanError) -> Failure {
        match error {
            PlanError::Invalid(problems) => {
                let count = problems.len();
                let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
                Failure::bad_input(format!(
                    "{count} problem{} found before running anything:\n{}",
                    if count == 1 { "" } else { "s" },
                    lines.join("\n")
                ))
                .hint("fix them and run again; `slipway lint` checks workflow files on their own")
            }
            PlanError::Git(error) => error.into(),
            PlanError::Read { .. } => Failure::bad_input(error.to_string()),
        }
    }
}

impl From<RunError> for Failure {
    fn from(error: RunError) -> Failure {
        match error {
            RunError::Store(error) => error.into(),
            RunError::Engine(error) => error.into(),
            RunError::Io { .. } => Failure::new(error.to_string())
                .hint("check the state directory's permissions and free space"),
        }
    }
}
