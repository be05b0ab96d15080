//! Planning: which workflows run for the event, which of their jobs, where, and everything that
//! would stop them, found before anything starts.
//!
//! [`plan`] reads every workflow file, lints the ones the event triggers, applies `-W`, `-j` and
//! `--matrix`, resolves inputs, `uses:` (actions and reusable workflows), `runs-on` labels,
//! shells and container options, and returns either a [`Plan`] or every [`Problem`] found, each
//! at its file, line and column.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use slipway_config::{RunnerSettings, RunnerTarget};
use slipway_engine::ContainerEngine;
use slipway_expr::{Contexts, JobStatus, Value, WorkspaceHost};
use slipway_git::{Repository, Snapshot};
use slipway_workflow::graph::JobGraph;
use slipway_workflow::matrix::{self, Combination};
use slipway_workflow::{
    ActionRuns, Job, JobSecrets, Matrix, Pos, Severity, Source, StepAction, Workflow, events,
    inputs, lint, load,
};

use crate::actions::{Catalog, Uses};
use crate::error::{PlanError, Problem};
use crate::eval::Scope;
use crate::executor::options::ContainerOptions;
use crate::labels::Labels;
use crate::shell::{self, Shell};
use crate::trigger::{Trigger, repository_name};

/// How many levels of reusable workflows GitHub allows.
const MAX_CALL_DEPTH: usize = 4;

/// A repository whose workflows can be run.
#[derive(Debug)]
pub struct Project {
    pub(crate) root: PathBuf,
    pub(crate) state_dir: PathBuf,
    pub(crate) repo: Repository,
    pub(crate) snapshot: Snapshot,
    pub(crate) repository: String,
    pub(crate) runners: RunnerSettings,
}

impl Project {
    /// The repository holding `dir`, keeping state in `state_dir`, with `[runners]` from
    /// slipway.toml (or the defaults).
    pub fn open(
        dir: &Path,
        state_dir: PathBuf,
        runners: RunnerSettings,
    ) -> Result<Project, PlanError> {
        let repo = Repository::discover(dir)?;
        // The remote is read while the snapshot's git processes run: each is a process start.
        let (snapshot, origin) = std::thread::scope(|scope| {
            let origin = scope.spawn(|| repo.origin_url());
            let snapshot = repo.snapshot();
            let origin = origin
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (snapshot, origin)
        });
        let (snapshot, origin) = (snapshot?, origin?);
        let root = repo.root().to_owned();
        let repository = repository_name(origin.as_deref(), &root);
        Ok(Project {
            root,
            state_dir,
            repo,
            snapshot,
            repository,
            runners,
        })
    }

    /// The repository's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The workflow files under `.github/workflows/`, sorted.
    pub fn workflow_files(&self) -> Result<Vec<PathBuf>, PlanError> {
        workflow_files_in(&self.root.join(".github/workflows"))
    }
}

/// The `.yml` and `.yaml` files directly in `dir`, sorted; none when `dir` does not exist.
fn workflow_files_in(dir: &Path) -> Result<Vec<PathBuf>, PlanError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(PlanError::Read {
                path: dir.to_owned(),
                source,
            });
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.is_file()
                && path
                    .extension()
                    .is_some_and(|ext| ext == "yml" || ext == "yaml")
        })
        .collect();
    files.sort();
    Ok(files)
}

/// What to run, as given on the command line.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    /// The event (`push` when empty).
    pub event: String,
    /// `-W`: workflow files or directories; all of `.github/workflows/` when empty.
    pub workflows: Vec<PathBuf>,
    /// `-j`: only these jobs (and the jobs they need).
    pub jobs: Vec<String>,
    /// `--input key=value`.
    pub inputs: Vec<String>,
    /// `--eventpath`: the event's payload as JSON.
    pub event_path: Option<PathBuf>,
    /// `--var`: the `vars` context.
    pub vars: IndexMap<String, String>,
    /// Secrets: the `secrets` context. Masked everywhere, never stored.
    pub secrets: IndexMap<String, String>,
    /// `--env-file`: environment for every step, below the workflow's own `env`.
    pub env: IndexMap<String, String>,
    /// `--matrix key:value`: only matrix combinations with these values.
    pub matrix: Vec<(String, String)>,
    /// `-P LABEL=host|IMAGE`.
    pub platforms: Vec<(String, RunnerTarget)>,
    /// `--action owner/repo[@ref]=./dir`: actions supplied from local directories.
    pub actions: Vec<(String, PathBuf)>,
    /// `--dirty`: jobs use the working tree as it is instead of worktrees of the commit.
    pub dirty: bool,
    /// How many jobs run at once; the number of CPUs when `None`.
    pub parallel: Option<usize>,
    /// Print `::debug::` messages and set `RUNNER_DEBUG`.
    pub debug: bool,
}

/// A reusable workflow a job calls.
#[derive(Debug)]
pub(crate) struct Called {
    pub(crate) file: Arc<str>,
    pub(crate) workflow: Arc<Workflow>,
    pub(crate) graph: JobGraph,
}

/// What will run.
#[derive(Debug)]
pub struct Plan {
    pub(crate) project: Arc<Project>,
    pub(crate) request: Arc<RunRequest>,
    pub(crate) trigger: Arc<Trigger>,
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) called: Arc<HashMap<String, Arc<Called>>>,
    pub(crate) labels: Labels,
    pub(crate) workflows: Vec<PlannedWorkflow>,
    skipped: Vec<SkippedWorkflow>,
    warnings: Vec<Problem>,
    images: Vec<ImageUse>,
    needs_engine: bool,
}

/// A workflow the event triggers.
#[derive(Debug)]
pub struct PlannedWorkflow {
    pub(crate) file: Arc<str>,
    pub(crate) workflow: Arc<Workflow>,
    pub(crate) graph: JobGraph,
    /// The jobs to run, in file order.
    pub(crate) selected: Vec<String>,
    pub(crate) inputs: IndexMap<String, Value>,
    jobs: Vec<PlannedJob>,
}

impl PlannedWorkflow {
    /// The file, relative to the repository root.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The workflow's `name:`, else its file name.
    pub fn name(&self) -> String {
        workflow_name(&self.workflow, &self.file)
    }

    /// The events the workflow listens to.
    pub fn events(&self) -> Vec<String> {
        self.workflow
            .on
            .events
            .iter()
            .map(|t| t.name.value.clone())
            .collect()
    }

    /// The jobs that will run, in file order.
    pub fn jobs(&self) -> &[PlannedJob] {
        &self.jobs
    }
}

/// A job as planned.
#[derive(Debug, Clone)]
pub struct PlannedJob {
    /// Its id.
    pub id: String,
    /// Its `name:` as written, else its id.
    pub name: String,
    /// The jobs it needs.
    pub needs: Vec<String>,
    /// Its level in the graph: 0 needs nothing, n needs jobs of levels below n.
    pub level: usize,
    /// Where it runs: `host`, an image, `workflow ./x.yml`, or `(decided at run time)`.
    pub runs_on: String,
    /// Its matrix combinations (`os=linux, node=18`), empty without a matrix; `None` when the
    /// matrix is computed at run time.
    pub matrix: Option<Vec<String>>,
}

/// A workflow the event does not trigger, and why.
#[derive(Debug, Clone)]
pub struct SkippedWorkflow {
    /// The file.
    pub file: String,
    /// Why it does not run: the filter of `on:` that excluded the event.
    pub reason: slipway_workflow::events::Mismatch,
}

/// An image a job needs, and where it is named.
#[derive(Debug, Clone)]
struct ImageUse {
    image: String,
    file: String,
    pos: Pos,
}

impl Plan {
    /// The workflows that will run.
    pub fn workflows(&self) -> &[PlannedWorkflow] {
        &self.workflows
    }

    /// The workflows the event does not trigger.
    pub fn skipped(&self) -> &[SkippedWorkflow] {
        &self.skipped
    }

    /// Findings that do not stop the run (lint warnings).
    pub fn warnings(&self) -> &[Problem] {
        &self.warnings
    }

    /// Whether some job needs the container engine.
    pub fn needs_engine(&self) -> bool {
        self.needs_engine
    }

    /// The event.
    pub fn event(&self) -> &str {
        &self.trigger.name
    }

    /// The ref the event is for (`refs/heads/main`).
    pub fn git_ref(&self) -> &str {
        &self.trigger.git_ref
    }

    /// The commit.
    pub fn sha(&self) -> &str {
        &self.trigger.sha
    }

    /// Checks that every image a job names exists on the engine: nothing can be pulled.
    pub async fn check_images(&self, engine: &dyn ContainerEngine) -> Result<(), PlanError> {
        let mut problems = Vec::new();
        let mut checked = HashSet::new();
        for use_ in &self.images {
            if !checked.insert(use_.image.clone()) {
                continue;
            }
            match engine.image_exists(&use_.image).await {
                Ok(true) => {}
                Ok(false) => problems.push(Problem::at(
                    use_.file.clone(),
                    use_.pos,
                    format!("image '{}' is not on this machine, and Slipway does not pull images; build or load it first", use_.image),
                )),
                Err(error) => problems.push(Problem::at(use_.file.clone(), use_.pos, format!("cannot check image '{}': {error}", use_.image))),
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(PlanError::Invalid(problems))
        }
    }
}

/// Plans a run of `request` in `project`.
pub fn plan(project: Arc<Project>, request: RunRequest) -> Result<Plan, PlanError> {
    let event = if request.event.is_empty() {
        "push".to_owned()
    } else {
        request.event.clone()
    };
    let mut problems = Vec::new();
    let payload = match &request.event_path {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| PlanError::Read {
                path: path.clone(),
                source,
            })?;
            match Value::from_json_str(&text) {
                Ok(value @ Value::Object(_)) => Some(value),
                Ok(other) => {
                    problems.push(Problem::in_file(
                        path.display().to_string(),
                        format!(
                            "the event payload must be a JSON object, not {}",
                            other.type_name()
                        ),
                    ));
                    None
                }
                Err(error) => {
                    problems.push(Problem::in_file(
                        path.display().to_string(),
                        format!("the event payload is not JSON: {error}"),
                    ));
                    None
                }
            }
        }
        None => None,
    };
    let trigger = Trigger::new(
        &event,
        &project.repo,
        &project.snapshot,
        &project.repository,
        payload,
        request.dirty,
    )?;
    let labels = Labels::new(request.platforms.clone(), project.runners.labels.clone());
    let files = selected_files(&project, &request, &mut problems)?;
    let mut catalog = Catalog::new(project.root.clone(), request.actions.clone());
    let mut called = HashMap::new();
    let mut planner = Planner {
        project: &project,
        request: &request,
        labels: &labels,
        catalog: &mut catalog,
        called: &mut called,
        problems,
        warnings: Vec::new(),
        images: Vec::new(),
        needs_engine: false,
    };
    let mut workflows = Vec::new();
    let mut skipped = Vec::new();
    for path in files {
        let Some((file, workflow)) = planner.load(&path) else {
            continue;
        };
        if let Err(mismatch) = events::matches(&workflow.on, &trigger.event_context()) {
            skipped.push(SkippedWorkflow {
                file: file.to_string(),
                reason: mismatch,
            });
            continue;
        }
        if let Some(planned) = planner.workflow(file, workflow, &event) {
            workflows.push(planned);
        }
    }
    planner.check_job_filter(&workflows);
    let Planner {
        problems,
        warnings,
        images,
        needs_engine,
        ..
    } = planner;
    if !problems.is_empty() {
        return Err(PlanError::Invalid(problems));
    }
    Ok(Plan {
        project,
        request: Arc::new(request),
        trigger: Arc::new(trigger),
        catalog: Arc::new(catalog),
        called: Arc::new(called.into_iter().collect()),
        labels,
        workflows,
        skipped,
        warnings,
        images,
        needs_engine,
    })
}

/// `-W` files and directories, else `.github/workflows/`.
fn selected_files(
    project: &Project,
    request: &RunRequest,
    problems: &mut Vec<Problem>,
) -> Result<Vec<PathBuf>, PlanError> {
    if request.workflows.is_empty() {
        let files = project.workflow_files()?;
        if files.is_empty() {
            problems.push(Problem::in_file(
                ".github/workflows",
                "no workflow files (*.yml, *.yaml) found",
            ));
        }
        return Ok(files);
    }
    let mut files = Vec::new();
    for given in &request.workflows {
        let path = if given.is_absolute() || given.exists() {
            given.clone()
        } else {
            project.root.join(given)
        };
        if path.is_dir() {
            files.extend(workflow_files_in(&path)?);
        } else if path.is_file() {
            files.push(path);
        } else {
            problems.push(Problem::in_file(
                given.display().to_string(),
                "-W: no such workflow file or directory",
            ));
        }
    }
    Ok(files)
}

/// The workflow's `name:`, else its file name.
pub(crate) fn workflow_name(workflow: &Workflow, file: &str) -> String {
    workflow
        .name
        .as_ref()
        .map(|n| n.value.clone())
        .unwrap_or_else(|| file.rsplit('/').next().unwrap_or(file).to_owned())
}

struct Planner<'a> {
    project: &'a Project,
    request: &'a RunRequest,
    labels: &'a Labels,
    catalog: &'a mut Catalog,
    called: &'a mut HashMap<String, Arc<Called>>,
    problems: Vec<Problem>,
    warnings: Vec<Problem>,
    images: Vec<ImageUse>,
    needs_engine: bool,
}

impl Planner<'_> {
    /// A path as diagnostics show it: relative to the repository root when inside it.
    fn display_name(&self, path: &Path) -> String {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
        absolute.strip_prefix(&self.project.root).map_or_else(
            |_| path.display().to_string(),
            |relative| relative.display().to_string(),
        )
    }

    /// Loads and lints a workflow file; `None` (with problems recorded) when it has errors.
    fn load(&mut self, path: &Path) -> Option<(Arc<str>, Arc<Workflow>)> {
        let name = self.display_name(path);
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) => {
                self.problems
                    .push(Problem::in_file(name, format!("cannot read: {error}")));
                return None;
            }
        };
        let source = Source::new(name.clone(), text).at(path);
        let findings = lint(std::slice::from_ref(&source));
        let mut failed = false;
        for finding in &findings {
            match finding.severity() {
                Severity::Error => {
                    failed = true;
                    self.problems.push(Problem::from(finding));
                }
                Severity::Warning => self.warnings.push(Problem::from(finding)),
            }
        }
        if failed {
            return None;
        }
        match load(&source) {
            Ok(workflow) => Some((Arc::from(name.as_str()), Arc::new(workflow))),
            Err(diagnostics) => {
                self.problems.extend(diagnostics.iter().map(Problem::from));
                None
            }
        }
    }

    fn workflow(
        &mut self,
        file: Arc<str>,
        workflow: Arc<Workflow>,
        event: &str,
    ) -> Option<PlannedWorkflow> {
        let graph = match JobGraph::new(&workflow) {
            Ok(graph) => graph,
            Err(errors) => {
                for error in errors {
                    self.problems
                        .push(Problem::in_file(file.to_string(), error.to_string()));
                }
                return None;
            }
        };
        let inputs = self.inputs(&file, &workflow, event);
        let selected = self.selected_jobs(&workflow, &graph);
        let base = base_contexts(self.request, &inputs);
        let mut jobs = Vec::new();
        for (level, ids) in graph.levels().iter().enumerate() {
            for id in ids.iter().filter(|id| selected.contains(id)) {
                let Some(job) = workflow.jobs.get(id) else {
                    continue;
                };
                let planned = self.job(&file, &workflow, job, level, &base, 0, &mut Vec::new());
                jobs.push(planned);
            }
        }
        let mut ordered = jobs;
        ordered.sort_by_key(|job| workflow.jobs.get_index_of(&job.id));
        Some(PlannedWorkflow {
            file,
            graph,
            selected,
            inputs,
            jobs: ordered,
            workflow,
        })
    }

    /// The `inputs` context: `--input` against `workflow_dispatch` inputs.
    fn inputs(&mut self, file: &str, workflow: &Workflow, event: &str) -> IndexMap<String, Value> {
        let given = match inputs::parse_assignments(&self.request.inputs) {
            Ok(given) => given,
            Err(error) => {
                self.problems
                    .push(Problem::in_file("--input", error.to_string()));
                return IndexMap::new();
            }
        };
        let declared = match workflow.on.get("workflow_dispatch") {
            Some(trigger) if event == "workflow_dispatch" => &trigger.inputs,
            _ => {
                if !given.is_empty() {
                    self.problems.push(Problem::in_file("--input", format!("inputs apply to workflow_dispatch runs only, and this run is for '{event}'")));
                }
                return IndexMap::new();
            }
        };
        match inputs::resolve(declared, &given) {
            Ok(values) => values,
            Err(errors) => {
                for error in errors {
                    self.problems.push(Problem::in_file(
                        file.to_owned(),
                        format!("--input: {error}"),
                    ));
                }
                IndexMap::new()
            }
        }
    }

    /// The jobs `-j` selects, with the jobs they need; every job without `-j`.
    fn selected_jobs(&self, workflow: &Workflow, graph: &JobGraph) -> Vec<String> {
        if self.request.jobs.is_empty() {
            return workflow.jobs.keys().cloned().collect();
        }
        let mut wanted: HashSet<String> = HashSet::new();
        for job in self
            .request
            .jobs
            .iter()
            .filter(|j| workflow.jobs.contains_key(j.as_str()))
        {
            wanted.insert(job.clone());
            wanted.extend(graph.ancestors(job));
        }
        workflow
            .jobs
            .keys()
            .filter(|id| wanted.contains(*id))
            .cloned()
            .collect()
    }

    /// `-j` names that no planned workflow has.
    fn check_job_filter(&mut self, workflows: &[PlannedWorkflow]) {
        for wanted in &self.request.jobs {
            if !workflows
                .iter()
                .any(|w| w.workflow.jobs.contains_key(wanted.as_str()))
            {
                let known: Vec<&str> = workflows
                    .iter()
                    .flat_map(|w| w.workflow.jobs.keys().map(String::as_str))
                    .collect();
                self.problems.push(Problem::in_file(
                    "-j",
                    format!(
                        "no job '{wanted}' in the workflows that run; jobs: {}",
                        known.join(", ")
                    ),
                ));
            }
        }
    }

    #[allow(clippy::too_many_arguments)] // The walk's position: file, job, level, contexts, depth, call chain.
    fn job(
        &mut self,
        file: &Arc<str>,
        workflow: &Workflow,
        job: &Job,
        level: usize,
        base: &Contexts,
        depth: usize,
        chain: &mut Vec<String>,
    ) -> PlannedJob {
        let static_matrix = self.matrix(file, job);
        let runs_on = if let Some(uses) = &job.uses {
            self.call(file, job, &uses.value, uses.pos, depth, chain);
            format!("workflow {}", uses.value)
        } else {
            let placement = self.placement(file, job, base, static_matrix.as_deref());
            self.steps(file, workflow, job, placement.as_ref());
            match placement {
                Some(Some(target)) => target.to_string(),
                Some(None) => "(decided at run time)".to_owned(),
                None => "-".to_owned(),
            }
        };
        PlannedJob {
            id: job.id.value.clone(),
            name: job
                .name
                .as_ref()
                .map_or_else(|| job.id.value.clone(), |n| n.raw().to_owned()),
            needs: job.needs.iter().map(|n| n.value.clone()).collect(),
            level,
            runs_on,
            matrix: static_matrix
                .map(|combinations| combinations.iter().map(describe_combination).collect()),
        }
    }

    /// The combinations of a matrix written out (after `--matrix`), `Some(vec![])` without a
    /// matrix, `None` when it is computed at run time.
    fn matrix(&mut self, file: &str, job: &Job) -> Option<Vec<Combination>> {
        let Some(strategy) = &job.strategy else {
            return Some(Vec::new());
        };
        let Some(Matrix::Literal(def)) = &strategy.matrix else {
            return if strategy.matrix.is_none() {
                Some(Vec::new())
            } else {
                None
            };
        };
        match matrix::expand(def) {
            Ok(combinations) => Some(filter_matrix(combinations, &self.request.matrix)),
            Err(matrix::MatrixError::Unevaluated { .. }) => None,
            Err(error) => {
                self.problems
                    .push(Problem::at(file, strategy.pos, error.to_string()));
                None
            }
        }
    }

    /// Where a job runs: `Some(Some(target))` when known now, `Some(None)` when it depends on
    /// run-time values, `None` after a problem.
    fn placement(
        &mut self,
        file: &Arc<str>,
        job: &Job,
        base: &Contexts,
        matrix: Option<&[Combination]>,
    ) -> Option<Option<RunnerTarget>> {
        let Some(runs_on) = &job.runs_on else {
            self.problems.push(Problem::at(
                file.to_string(),
                job.id.pos,
                format!("job '{}' has no 'runs-on'", job.id.value),
            ));
            return None;
        };
        let combinations: Vec<Combination> = match matrix {
            Some([]) | None => vec![Combination::new()],
            Some(list) => list.to_vec(),
        };
        let mut target = None;
        // Labels are resolved now when they use only what is known now.
        let known_now = runs_on
            .labels
            .iter()
            .all(|l| reads_only(l, &["matrix", "inputs", "vars"]));
        let dynamic =
            !known_now || (matrix.is_none() && runs_on.labels.iter().any(|l| !l.is_literal()));
        for combination in combinations.iter().filter(|_| !dynamic) {
            let mut contexts = base.clone();
            contexts.insert("matrix", Value::object(combination.clone()));
            let host = WorkspaceHost::new(&self.project.root, JobStatus::Success);
            let scope = Scope {
                contexts: &contexts,
                host: &host,
                file,
            };
            let labels: Result<Vec<String>, String> =
                runs_on.labels.iter().map(|l| scope.string(l)).collect();
            let labels = match labels {
                Ok(labels) => labels,
                Err(message) => {
                    self.problems
                        .push(Problem::in_file(file.to_string(), message));
                    return None;
                }
            };
            match self.labels.resolve(&labels) {
                Ok(resolved) => {
                    if let RunnerTarget::Image(image) = &resolved
                        && job.container.is_none()
                    {
                        self.needs_engine = true;
                        self.images.push(ImageUse {
                            image: image.clone(),
                            file: file.to_string(),
                            pos: runs_on.pos,
                        });
                    }
                    target = Some(resolved);
                }
                Err(message) => {
                    self.problems
                        .push(Problem::at(file.to_string(), runs_on.pos, message));
                    return None;
                }
            }
        }
        for (name, container) in job
            .container
            .iter()
            .map(|c| ("job", c))
            .chain(job.services.iter().map(|(n, e)| (n.as_str(), &e.value)))
        {
            self.needs_engine = true;
            if let Some(image) = container.image.as_ref().filter(|i| i.is_literal()) {
                self.images.push(ImageUse {
                    image: image.raw().to_owned(),
                    file: file.to_string(),
                    pos: image.pos(),
                });
            }
            if let Some(options) = container.options.as_ref().filter(|o| o.is_literal())
                && let Err(message) = ContainerOptions::parse(options.raw())
            {
                self.problems.push(Problem::at(
                    file.to_string(),
                    options.pos(),
                    format!("{message} (in the options of {name})"),
                ));
            }
            for port in container.ports.iter().filter(|p| p.is_literal()) {
                if let Err(message) = crate::executor::options::port_binding(port.raw()) {
                    self.problems
                        .push(Problem::at(file.to_string(), port.pos(), message));
                }
            }
            if !container.volumes.is_empty() {
                self.problems.push(Problem::at(
                    file.to_string(),
                    container.pos,
                    format!("'volumes' of {name} are not supported; the workspace is mounted"),
                ));
            }
        }
        if let Some(container) = &job.container
            && let Some(image) = container.image.as_ref().filter(|i| i.is_literal())
        {
            return Some(Some(RunnerTarget::Image(image.raw().to_owned())));
        }
        if dynamic && self.labels_may_map_to_images() {
            self.needs_engine = true;
        }
        Some(if dynamic { None } else { target })
    }

    fn labels_may_map_to_images(&self) -> bool {
        self.project
            .runners
            .labels
            .values()
            .chain(self.request.platforms.iter().map(|(_, t)| t))
            .any(|t| matches!(t, RunnerTarget::Image(_)))
    }

    /// Steps: `uses:` resolved, and on the host, shells that exist.
    fn steps(
        &mut self,
        file: &Arc<str>,
        workflow: &Workflow,
        job: &Job,
        placement: Option<&Option<RunnerTarget>>,
    ) {
        let on_host =
            matches!(placement, Some(Some(RunnerTarget::Host))) && job.container.is_none();
        let default_shell = job
            .defaults
            .as_ref()
            .and_then(|d| d.shell.as_ref())
            .or_else(|| workflow.defaults.as_ref().and_then(|d| d.shell.as_ref()));
        let path = std::env::var_os("PATH");
        let installed = |program: &str| shell::locate(program, path.as_deref()).is_some();
        for step in &job.steps {
            match &step.action {
                StepAction::Run(_) => {
                    let shell = step.shell.as_ref().or(default_shell);
                    if on_host
                        && let Err(error) =
                            Shell::resolve(shell.map(|s| s.value.as_str()), installed)
                    {
                        let pos = shell.map_or(step.pos, |s| s.pos);
                        self.problems
                            .push(Problem::at(file.to_string(), pos, error.to_string()));
                    }
                }
                StepAction::Uses(uses) => {
                    self.catalog
                        .resolve(&uses.value, file, uses.pos, &mut self.problems);
                    let node = self
                        .catalog
                        .get(&uses.value)
                        .is_some_and(|resolved| uses_node(resolved));
                    if on_host && node && !installed("node") {
                        self.problems.push(Problem::at(
                            file.to_string(),
                            uses.pos,
                            format!(
                                "'uses: {}' is a Node.js action, and `node` is not installed",
                                uses.value
                            ),
                        ));
                    }
                }
            }
        }
    }

    /// A job calling a reusable workflow: the file is loaded and checked, its jobs planned.
    fn call(
        &mut self,
        file: &Arc<str>,
        job: &Job,
        uses: &str,
        pos: Pos,
        depth: usize,
        chain: &mut Vec<String>,
    ) {
        let Some(relative) = uses.strip_prefix("./") else {
            self.problems.push(Problem::at(file.to_string(), pos, format!("'uses: {uses}' calls a remote reusable workflow, which Slipway cannot fetch; call a local one (./.github/workflows/x.yml)")));
            return;
        };
        if depth + 1 > MAX_CALL_DEPTH {
            self.problems.push(Problem::at(
                file.to_string(),
                pos,
                format!("reusable workflows nest deeper than {MAX_CALL_DEPTH} levels"),
            ));
            return;
        }
        if chain.iter().any(|c| c == uses) {
            self.problems.push(Problem::at(
                file.to_string(),
                pos,
                format!("'{uses}' calls itself: {} -> {uses}", chain.join(" -> ")),
            ));
            return;
        }
        let called = match self.called.get(uses) {
            Some(called) => called.clone(),
            None => {
                let path = self.project.root.join(relative);
                if !path.is_file() {
                    self.problems.push(Problem::at(
                        file.to_string(),
                        pos,
                        format!("no reusable workflow at {relative}"),
                    ));
                    return;
                }
                let Some((called_file, workflow)) = self.load(&path) else {
                    return;
                };
                let graph = match JobGraph::new(&workflow) {
                    Ok(graph) => graph,
                    Err(_) => return,
                };
                let called = Arc::new(Called {
                    file: called_file,
                    workflow,
                    graph,
                });
                self.called.insert(uses.to_owned(), called.clone());
                called
            }
        };
        let Some(trigger) = called.workflow.on.get("workflow_call") else {
            self.problems.push(Problem::at(
                file.to_string(),
                pos,
                format!("{relative} cannot be called: it has no 'on: workflow_call'"),
            ));
            return;
        };
        for (name, entry) in &job.with {
            if !trigger.inputs.contains_key(name) {
                let declared: Vec<&str> = trigger.inputs.keys().map(String::as_str).collect();
                self.problems.push(Problem::at(
                    file.to_string(),
                    entry.key_pos,
                    format!(
                        "{relative} has no input '{name}'; its inputs: {}",
                        declared.join(", ")
                    ),
                ));
            }
        }
        for (name, entry) in &trigger.inputs {
            if entry.value.required && entry.value.default.is_none() && !job.with.contains_key(name)
            {
                self.problems.push(Problem::at(
                    file.to_string(),
                    pos,
                    format!("{relative} requires input '{name}'"),
                ));
            }
        }
        if let Some(JobSecrets::Map(given)) = &job.secrets {
            for (name, entry) in &trigger.secrets {
                if entry.value.required && !given.contains_key(name) {
                    self.problems.push(Problem::at(
                        file.to_string(),
                        pos,
                        format!("{relative} requires secret '{name}'"),
                    ));
                }
            }
        } else if job.secrets.is_none() {
            for (name, entry) in &trigger.secrets {
                if entry.value.required {
                    self.problems.push(Problem::at(file.to_string(), pos, format!("{relative} requires secret '{name}'; pass it under 'secrets:' or use 'secrets: inherit'")));
                }
            }
        }
        chain.push(uses.to_owned());
        let base = base_contexts(self.request, &IndexMap::new());
        let workflow = called.workflow.clone();
        for (level, ids) in called.graph.levels().iter().enumerate() {
            for id in ids {
                if let Some(called_job) = workflow.jobs.get(id) {
                    self.job(
                        &called.file,
                        &workflow,
                        called_job,
                        level,
                        &base,
                        depth + 1,
                        chain,
                    );
                }
            }
        }
        chain.pop();
    }
}

/// Whether `template` reads no context but `allowed`.
fn reads_only(template: &slipway_workflow::TemplateString, allowed: &[&str]) -> bool {
    let mut only = true;
    for expr in template.template().expressions() {
        expr.walk(&mut |e| {
            if let slipway_expr::ExprKind::Context(name) = e.kind() {
                only &= allowed.iter().any(|a| a.eq_ignore_ascii_case(name));
            }
        });
    }
    only
}

fn uses_node(resolved: &Uses) -> bool {
    matches!(resolved, Uses::Local { action, .. } if matches!(action.runs, ActionRuns::Node { .. }))
}

/// The contexts known while planning: `inputs`, `vars`, and an empty `github`.
fn base_contexts(request: &RunRequest, inputs: &IndexMap<String, Value>) -> Contexts {
    let mut contexts = Contexts::new();
    contexts.insert("inputs", Value::object(inputs.clone()));
    contexts.insert("vars", crate::eval::string_map(&request.vars));
    contexts
}

/// Keeps the combinations whose values match every `--matrix key:value`.
pub(crate) fn filter_matrix(
    combinations: Vec<Combination>,
    filter: &[(String, String)],
) -> Vec<Combination> {
    if filter.is_empty() {
        return combinations;
    }
    let by_key: BTreeMap<&str, Vec<&str>> =
        filter.iter().fold(BTreeMap::new(), |mut map, (k, v)| {
            map.entry(k.as_str()).or_default().push(v.as_str());
            map
        });
    combinations
        .into_iter()
        .filter(|combination| {
            by_key.iter().all(|(key, values)| {
                combination
                    .get(*key)
                    .is_some_and(|value| values.iter().any(|v| value.to_string() == *v))
            })
        })
        .collect()
}

/// `os=linux, node=18`.
fn describe_combination(combination: &Combination) -> String {
    combination
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                crate::eval::to_json(v).to_string().trim_matches('"')
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matrix_filter_keeps_matching_combinations() {
        let combination = |os: &str, n: f64| -> Combination {
            IndexMap::from([
                ("os".to_owned(), Value::from(os)),
                ("node".to_owned(), Value::Number(n)),
            ])
        };
        let all = vec![
            combination("linux", 18.0),
            combination("linux", 20.0),
            combination("mac", 20.0),
        ];
        let filter = vec![
            ("node".to_owned(), "20".to_owned()),
            ("os".to_owned(), "linux".to_owned()),
            ("os".to_owned(), "mac".to_owned()),
        ];
        let kept = filter_matrix(all.clone(), &filter);
        assert_eq!(
            kept,
            vec![combination("linux", 20.0), combination("mac", 20.0)]
        );
        assert_eq!(filter_matrix(all.clone(), &[]).len(), 3);
        assert_eq!(describe_combination(&all[0]), "os=linux, node=18");
    }
}
