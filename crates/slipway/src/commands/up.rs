//! `slipway up [PATH]`: the whole path. Runs the project's workflows for a push (which call
//! Slipway's stages: build and push, scan, deploy to staging, test the release) and, when they
//! succeed, says where the service answers, which release and artifact serve, what the scan
//! said, and how to roll back.
//!
//! `up` chooses where things run and tells the workflow through `SLIPWAY_RUNTIME` (an
//! environment variable the stage commands read, and a `vars` value jobs can test): containers
//! on the engine when one answers, else processes on embedded defaults (bundles in the embedded
//! registry, filesystem and lockfile scans). It also puts this `slipway` first on the steps'
//! `PATH` and shares its state directory with them, so every stage records into one store.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use indexmap::IndexMap;
use serde::Serialize;
use slipway_config::Config;
use slipway_deploy::{Platform as _, ServiceKey};
use slipway_engine::ContainerEngine;
use slipway_runner::RunRequest;
use slipway_store::{Artifact, Conclusion, JobRecord, ReleaseId, Run, Scan, Store};
use slipway_workflow::events::Mismatch;

use super::deploy::{Target, newest_scan, running_daemon, service_url};
use crate::cli::{GlobalArgs, RuntimeArg, UpArgs};
use crate::output::{self, Status, Table, print_json, print_line};
use crate::project;
use crate::report::Failure;

/// Why `up` has nothing to run: each workflow file with the filter of `on:` that excluded the
/// push, and how to make it run.
fn nothing_runs(plan: &slipway_runner::Plan) -> Failure {
    let skipped = super::run::not_run(plan);
    if skipped.is_empty() {
        return Failure::bad_input(format!(
            "no workflow under .github/workflows runs on '{EVENT}'"
        ))
        .hint("`slipway init` writes one whose jobs call Slipway's stages");
    }
    let branch_filtered = plan.skipped().iter().find_map(|s| match &s.reason {
        Mismatch::RefFiltered {
            kind: "branch",
            name,
            filter: "branches",
            ..
        } => Some((s.file.as_str(), name.as_str())),
        _ => None,
    });
    let hint = match branch_filtered {
        Some((file, branch)) => format!(
            "add '{branch}' to `branches:` under `on: push:` in {file}, or run from a branch it lists"
        ),
        None => "change the filter under `on:` that excludes the push, or run where it matches"
            .to_owned(),
    };
    Failure::bad_input(super::run::nothing_runs(plan))
        .cause(format!("\n    {}", skipped.join("\n    ")))
        .hint(hint)
}

/// The event `up` runs the workflows for.
const EVENT: &str = "push";
/// How many lines of a failed step `up` shows.
const FAILED_LINES: usize = 12;

pub(crate) async fn run(
    global: &GlobalArgs,
    args: &UpArgs,
    status: Status,
) -> Result<ExitCode, Failure> {
    if let Some(path) = &args.path {
        std::env::set_current_dir(path).map_err(|error| {
            Failure::bad_input(format!("cannot enter {}: {error}", path.display()))
                .hint("give the directory of a project that holds slipway.toml")
        })?;
    }
    let cwd = project::current_dir()?;
    let config = project::load_config(global)?;
    let root = project::config_root(&config)?;
    let state_dir = project::state_dir(global, &root);
    let choice = Choice::make(args.runtime).await?;
    status.line(format!("{} {}", output::ok("▸"), choice.explained()));

    let request = request(&choice, &state_dir, args.dirty)?;
    let plan = super::run::plan(global, &cwd, request)?;
    for warning in plan.warnings() {
        status.warn(warning);
    }
    if plan.workflows().is_empty() {
        return Err(nothing_runs(&plan));
    }
    if !args.dirty && tree_is_dirty(&root) {
        status.warn(
            "uncommitted changes are not part of this run: it builds the commit; commit them, or pass --dirty",
        );
    }
    let store = project::open_store(global, &root)?;
    let before = serving(store.as_ref(), &config, &args.environment)?;
    let engine = choice.engine.clone();
    let runs = super::run::execute(global, &cwd, plan, engine, status).await?;

    let stages = stages(&runs);
    let succeeded = runs
        .iter()
        .all(|run| run.record.conclusion == Conclusion::Success);
    let services = if succeeded {
        released(
            global,
            &config,
            store.as_ref(),
            choice.engine.as_deref(),
            &args.environment,
        )
        .await?
    } else {
        Vec::new()
    };
    let summary = Summary {
        runtime: choice.runtime_name(),
        chose: choice.explained(),
        runs: runs.iter().map(|run| run.id.get()).collect(),
        succeeded,
        stages,
        services,
        still_serving: if succeeded { Vec::new() } else { before },
    };
    if args.json {
        print_json(&summary)?;
    } else {
        summary.print(&args.environment);
    }
    Ok(if succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Where the run's services run, and why.
struct Choice {
    runtime: RuntimeArg,
    engine: Option<Arc<dyn ContainerEngine>>,
    reason: String,
}

impl Choice {
    /// `asked` when given (containers need an engine, so none answering is an error then); else
    /// containers when an engine answers, processes when none does.
    async fn make(asked: Option<RuntimeArg>) -> Result<Choice, Failure> {
        if asked == Some(RuntimeArg::Process) {
            return Ok(Choice::processes("as --runtime process asks".to_owned()));
        }
        let engine = match project::connect_engine().await {
            Ok(engine) => engine,
            Err(failure) if asked.is_none() => {
                return Ok(Choice::processes(format!(
                    "no container engine answers ({})",
                    failure.message()
                )));
            }
            Err(failure) => return Err(failure),
        };
        let reason = match engine.info().await {
            Ok(info) => format!(
                "{} {} answers at {}",
                info.kind, info.version, info.endpoint
            ),
            Err(_) => "a container engine answers".to_owned(),
        };
        Ok(Choice {
            runtime: RuntimeArg::Container,
            engine: Some(engine),
            reason,
        })
    }

    fn processes(reason: String) -> Choice {
        Choice {
            runtime: RuntimeArg::Process,
            engine: None,
            reason,
        }
    }

    fn runtime_name(&self) -> &'static str {
        match self.runtime {
            RuntimeArg::Process => "process",
            RuntimeArg::Container => "container",
        }
    }

    fn explained(&self) -> String {
        match self.runtime {
            RuntimeArg::Container => format!(
                "running in containers: {}; images go to the project's registry",
                self.reason
            ),
            RuntimeArg::Process => format!(
                "running on embedded defaults: {}; services run as supervised processes, each build is a bundle (an OCI artifact) in the embedded registry, and scans read the files and lockfiles; jobs that need containers are skipped",
                self.reason
            ),
        }
    }
}

/// The run's request: the push event, with the choice and this binary made known to the steps.
fn request(choice: &Choice, state_dir: &Path, dirty: bool) -> Result<RunRequest, Failure> {
    let runtime = choice.runtime_name().to_owned();
    let mut env = IndexMap::new();
    env.insert("PATH".to_owned(), path_with_this_binary()?);
    env.insert("SLIPWAY_RUNTIME".to_owned(), runtime.clone());
    env.insert(
        "SLIPWAY_HOME".to_owned(),
        std::path::absolute(state_dir)
            .unwrap_or_else(|_| state_dir.to_owned())
            .display()
            .to_string(),
    );
    let vars = IndexMap::from([("SLIPWAY_RUNTIME".to_owned(), runtime)]);
    Ok(RunRequest {
        event: EVENT.to_owned(),
        env,
        vars,
        dirty,
        ..RunRequest::default()
    })
}

/// `PATH` with the directory of the running `slipway` first, so that the workflow's
/// `slipway ...` steps run this very binary whatever else is installed.
fn path_with_this_binary() -> Result<String, Failure> {
    let exe = std::env::current_exe().map_err(|error| {
        Failure::new(format!("cannot tell where this slipway is: {error}"))
            .hint("run slipway by its path, or install it on PATH")
    })?;
    let dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    let inherited = std::env::var_os("PATH").unwrap_or_default();
    let joined =
        std::env::join_paths(std::iter::once(dir).chain(std::env::split_paths(&inherited)))
            .map_err(|error| Failure::new(format!("cannot put slipway on PATH: {error}")))?;
    Ok(joined.to_string_lossy().into_owned())
}

fn tree_is_dirty(root: &Path) -> bool {
    slipway_git::Repository::discover(root)
        .and_then(|repository| repository.snapshot())
        .is_ok_and(|snapshot| snapshot.dirty)
}

/// One job of the run, as the summary shows it.
#[derive(Debug, Serialize)]
struct Stage {
    workflow: String,
    name: String,
    conclusion: Conclusion,
    duration_ms: u128,
    /// The step that failed, its exit status and its last lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    failed: Option<FailedStep>,
}

#[derive(Debug, Serialize)]
struct FailedStep {
    name: String,
    exit_code: Option<i32>,
    last_lines: Vec<String>,
}

fn stages(runs: &[Run]) -> Vec<Stage> {
    runs.iter()
        .flat_map(|run| {
            run.record
                .jobs
                .iter()
                .map(|job| stage(&run.record.name, job))
        })
        .collect()
}

fn stage(workflow: &str, job: &JobRecord) -> Stage {
    let failed = job
        .steps
        .iter()
        .find(|step| step.conclusion == Conclusion::Failure)
        .map(|step| FailedStep {
            name: step.name.clone(),
            exit_code: step.exit_code,
            last_lines: last_lines(&step.log),
        })
        .or_else(|| {
            // A job can fail before any step: its setup (a service that never got healthy).
            (job.conclusion == Conclusion::Failure).then(|| FailedStep {
                name: "setting up the job".to_owned(),
                exit_code: None,
                last_lines: last_lines(&job.log),
            })
        });
    Stage {
        workflow: workflow.to_owned(),
        name: job.name.clone(),
        conclusion: job.conclusion,
        duration_ms: job.duration.as_millis(),
        failed,
    }
}

fn last_lines(log: &str) -> Vec<String> {
    let lines: Vec<&str> = log.lines().filter(|line| !line.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(FAILED_LINES)..]
        .iter()
        .map(|line| (*line).to_owned())
        .collect()
}

/// A service's release after the run.
#[derive(Debug, Serialize)]
struct Released {
    service: String,
    environment: String,
    url: Option<String>,
    release: ReleaseId,
    /// The image reference, or the command of a process release.
    artifact: String,
    /// The image's id, or the bundle's manifest digest.
    digest: String,
    /// What the newest scan of that digest said, when there is one.
    scan: Option<String>,
    /// The release `slipway rollback` would bring back.
    previous: Option<ReleaseId>,
}

/// The releases serving `environment` now, one per service that has one.
async fn released(
    global: &GlobalArgs,
    config: &Config,
    store: &dyn Store,
    engine: Option<&dyn ContainerEngine>,
    environment: &str,
) -> Result<Vec<Released>, Failure> {
    let mut released = Vec::new();
    for service in config.service_names() {
        let Some(state) = store.service_state(environment, service)? else {
            continue;
        };
        let Some(release) = store.release(state.current)? else {
            continue;
        };
        let target = Target::of(global, config.clone(), environment, service)?;
        let proxy = running_daemon(&target)
            .await?
            .map(|client| client.proxy_address());
        let key = ServiceKey::new(config.project_name(), environment, service);
        let (artifact, digest, scan) = match &release.record.artifact {
            Artifact::Image { reference, .. } => {
                let (digest, scan) = image_scan(engine, store, reference).await?;
                (reference.clone(), digest, scan)
            }
            Artifact::Command { command, hash, .. } => {
                let scan = store.latest_scan(hash)?;
                (command.clone(), hash.clone(), scan)
            }
        };
        let scan = scan.map(|scan| {
            let counts = scan.record.counts;
            format!(
                "{} (scan #{} of {}: {} critical, {} high, {} medium, {} low)",
                scan.record.verdict.as_str(),
                scan.id,
                scan.record.reference,
                counts.critical,
                counts.high,
                counts.medium,
                counts.low
            )
        });
        released.push(Released {
            service: service.to_owned(),
            environment: environment.to_owned(),
            url: proxy.map(|proxy| service_url(&key, proxy)),
            release: state.current,
            artifact,
            digest,
            scan,
            previous: state.previous,
        });
    }
    Ok(released)
}

/// The image's id and the newest scan kept for it (by id or by a registry digest).
async fn image_scan(
    engine: Option<&dyn ContainerEngine>,
    store: &dyn Store,
    reference: &str,
) -> Result<(String, Option<Scan>), Failure> {
    let details = match engine {
        Some(engine) => engine.inspect_image(reference).await?,
        None => None,
    };
    let Some(details) = details else {
        return Ok((reference.to_owned(), None));
    };
    let scan = newest_scan(store, &details)?;
    Ok((details.id.as_str().to_owned(), scan))
}

/// What served `environment` before the run: `service → release`.
fn serving(
    store: &dyn Store,
    config: &Config,
    environment: &str,
) -> Result<Vec<(String, ReleaseId)>, Failure> {
    let mut serving = Vec::new();
    for service in config.service_names() {
        if let Some(state) = store.service_state(environment, service)? {
            serving.push((service.to_owned(), state.current));
        }
    }
    Ok(serving)
}

/// What `up` did, as `--json` prints it.
#[derive(Debug, Serialize)]
struct Summary {
    runtime: &'static str,
    chose: String,
    runs: Vec<i64>,
    succeeded: bool,
    stages: Vec<Stage>,
    services: Vec<Released>,
    /// After a failure: the releases that kept serving.
    still_serving: Vec<(String, ReleaseId)>,
}

impl Summary {
    fn print(&self, environment: &str) {
        let mut table = Table::new(vec!["stage", "result", "time"]);
        for stage in &self.stages {
            table.row(vec![
                stage.name.clone(),
                super::runs::conclusion_cell(stage.conclusion),
                if stage.conclusion == Conclusion::Skipped {
                    String::new()
                } else {
                    output::duration(std::time::Duration::from_millis(
                        u64::try_from(stage.duration_ms).unwrap_or(u64::MAX),
                    ))
                },
            ]);
        }
        print_line("");
        table.print();
        if self.succeeded {
            self.print_released(environment);
        } else {
            self.print_stopped(environment);
        }
    }

    fn print_released(&self, environment: &str) {
        if self.services.is_empty() {
            print_line(&format!(
                "\n{} the workflow succeeded, but nothing serves {environment}: no job deployed there",
                output::caution("!")
            ));
            return;
        }
        for released in &self.services {
            print_line(&format!(
                "\n{} {} serves {environment}: {}",
                output::ok("✓"),
                released.service,
                released
                    .url
                    .as_deref()
                    .unwrap_or("(the daemon is not running)")
            ));
            let rows = [
                (
                    "release",
                    format!("{} ({} runtime)", released.release, self.runtime),
                ),
                ("artifact", released.artifact.clone()),
                ("digest", released.digest.clone()),
                (
                    "scan",
                    released.scan.clone().unwrap_or_else(|| {
                        "gate passed in the workflow (no report kept for this digest)".to_owned()
                    }),
                ),
                (
                    "rollback",
                    match released.previous {
                        Some(previous) => format!(
                            "slipway rollback {environment} {}   (back to release {previous})",
                            released.service
                        ),
                        None => "none yet: this is the first release".to_owned(),
                    },
                ),
            ];
            for (label, value) in rows {
                print_line(&format!("  {label:<9} {value}"));
            }
        }
    }

    fn print_stopped(&self, environment: &str) {
        let failed = self
            .stages
            .iter()
            .find(|stage| stage.conclusion == Conclusion::Failure);
        match failed.and_then(|stage| stage.failed.as_ref().map(|step| (stage, step))) {
            Some((stage, step)) => {
                let exit = step
                    .exit_code
                    .map(|code| format!(" (exit {code})"))
                    .unwrap_or_default();
                print_line(&format!(
                    "\n{} stopped at stage {}: {}{exit}",
                    output::bad("✗"),
                    stage.name,
                    step.name
                ));
                for line in &step.last_lines {
                    print_line(&output::dim(&format!("  │ {line}")));
                }
            }
            None => print_line(&format!(
                "\n{} the workflow did not succeed",
                output::bad("✗")
            )),
        }
        if self.still_serving.is_empty() {
            print_line(&format!(
                "nothing was serving {environment}, and nothing does"
            ));
        }
        for (service, release) in &self.still_serving {
            print_line(&format!(
                "release {release} of {service} still serves {environment}"
            ));
        }
        if let Some(run) = self.runs.first() {
            print_line(&output::dim(&format!(
                "every step's log: slipway logs {run} [JOB]"
            )));
        }
    }
}
