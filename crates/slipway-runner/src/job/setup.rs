//! Before the first step and after the last: where the job runs (`runs-on`, `container:`,
//! `services:`), its concurrency group, directories and executor; and the clean-up.

use std::time::Duration;

use indexmap::IndexMap;

use slipway_config::RunnerTarget;
use slipway_expr::JobStatus;
use slipway_store::{Conclusion, StepRecord};
use slipway_workflow::Job;
use tokio::time::Instant;

use crate::eval::{Scope, to_json};
use crate::executor::container::{ContainerExecutor, JOB_CONTAINER};
use crate::executor::host::HostExecutor;
use crate::executor::options::{ContainerOptions, port_binding};
use crate::executor::services::{ContainerPlan, JobContainers};
use crate::executor::{Executor, Place, Stop};
use crate::observer::RunEvent;
use crate::workdirs::overwrite;

use super::{JobDirs, JobExec, minutes_to_duration};

impl JobExec<'_> {
    /// Everything up to the first step: placement, concurrency, env, directories, containers.
    pub(super) async fn set_up(&mut self) -> Result<Box<dyn Executor>, String> {
        // The workflow's env for the job's own settings (`container.env` may read it); `set_env`
        // evaluates it again once the job's directories are where its steps see them.
        let workflow_env = self.evaluate_env(None, &self.scope.workflow.env)?;
        self.env.extend(workflow_env);
        let contexts = self.job_contexts();
        let file = self.scope.file.clone();
        let job = self.job;
        let placement = self.evaluate(&contexts, JobStatus::Success, &file, |scope| {
            placement(job, scope, &self.scope.shared.labels)
        })?;
        if let Some(minutes) = &job.timeout_minutes {
            let minutes =
                self.evaluate(&contexts, JobStatus::Success, &file, |s| s.number(minutes))?;
            self.deadline = Instant::now() + minutes_to_duration(minutes);
        }
        if let Some(environment) = &job.environment {
            let name = self.evaluate(&contexts, JobStatus::Success, &file, |s| {
                s.string(&environment.name)
            })?;
            self.environment = Some(name);
        }
        if let Some(concurrency) = &job.concurrency {
            let group = self.evaluate(&contexts, JobStatus::Success, &file, |s| {
                s.string(&concurrency.group)
            })?;
            let cancel_in_progress = match &concurrency.cancel_in_progress {
                Some(setting) => {
                    self.evaluate(&contexts, JobStatus::Success, &file, |s| s.boolean(setting))?
                }
                None => false,
            };
            self.job_line(&format!("waiting for concurrency group '{group}'"));
            let acquired = self
                .scope
                .shared
                .concurrency
                .acquire(&group, cancel_in_progress, &self.run.cancel)
                .await;
            match acquired {
                Ok(guard) => self.group_guard = Some(guard),
                Err(error) => {
                    // A newer job took this one's place in the queue: it is cancelled, not failed.
                    if matches!(error, crate::concurrency::GroupError::Superseded(_)) {
                        self.run.cancel.cancel();
                    }
                    return Err(error.to_string());
                }
            }
        }
        let runs_on = match &placement.container {
            Some(container) => container.image.clone(),
            None => placement.target.to_string(),
        };
        self.runs_on = runs_on.clone();
        self.scope.shared.observer.event(RunEvent::JobStarted {
            workflow: self.scope.name.clone(),
            job: self.run.display.clone(),
            runs_on: runs_on.into(),
        });
        let dirs = self.make_dirs()?;
        let executor = self.start_executor(&placement, &dirs).await;
        self.dirs = Some(dirs);
        let executor = executor?;
        self.container = executor.container_context();
        self.services = executor.services_context().await;
        Ok(executor)
    }

    fn make_dirs(&self) -> Result<JobDirs, String> {
        let shared = &self.scope.shared;
        let dir = shared
            .work
            .take()
            .map_err(|e| format!("cannot prepare the job's directories: {e}"))?;
        let workspace = if shared.dirty {
            shared.project.root.clone()
        } else {
            dir.workspace
        };
        let event = dir.temp.join("_github_event.json");
        let payload = to_json(&shared.trigger.payload).to_string();
        overwrite(&event, payload.as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", event.display()))?;
        Ok(JobDirs {
            root: dir.root,
            workspace,
            temp: dir.temp,
        })
    }

    /// The env of every step below the step's own: `--env-file` values, then the workflow's
    /// `env:`, then the job's, evaluated with `github.workspace` and `runner.temp` naming the
    /// directories `executor` shows to steps (`GITHUB_WORKSPACE`, `RUNNER_TEMP`), as on GitHub.
    pub(super) fn set_env(&mut self, executor: &dyn Executor) -> Result<(), String> {
        self.env = self.scope.shared.env.clone();
        let workflow_env = self.evaluate_env(Some(executor), &self.scope.workflow.env)?;
        self.env.extend(workflow_env);
        let job_env = self.evaluate_env(Some(executor), &self.job.env)?;
        self.env.extend(job_env);
        Ok(())
    }

    /// `env` evaluated over the env so far, in the job's contexts.
    fn evaluate_env(
        &self,
        executor: Option<&dyn Executor>,
        env: &slipway_workflow::Env,
    ) -> Result<IndexMap<String, String>, String> {
        let mut contexts = self.job_contexts();
        contexts.insert("github", self.github(executor, None));
        contexts.insert("runner", self.runner_context(executor));
        self.evaluate(&contexts, JobStatus::Success, &self.scope.file, |s| {
            s.env(env)
        })
    }

    async fn start_executor(
        &mut self,
        placement: &Placement,
        dirs: &JobDirs,
    ) -> Result<Box<dyn Executor>, String> {
        let needs_containers = placement.container.is_some() || !placement.services.is_empty();
        if !needs_containers {
            return Ok(Box::new(HostExecutor::new(
                Place::same(dirs.workspace.clone()),
                Place::same(dirs.temp.clone()),
                None,
            )));
        }
        let shared = self.scope.shared.clone();
        let Some(engine) = shared.engine.clone() else {
            // `slipway run` connects one whenever a job may need it; a run without one (`slipway
            // up` on the process runtime) fails only the jobs that do run and need it.
            return Err(
                "this job needs a container engine (it has a container, services or an image runner), and none is connected: start one (scripts/setup-engine), or skip the job with an `if:`"
                    .to_owned(),
            );
        };
        let slug = format!("j{}", shared.next_id());
        let containers = JobContainers::new(engine, &self.scope.run_key, &slug)
            .await
            .map_err(|e| e.to_string())?;
        let services_result = self.start_services(&containers, &placement.services).await;
        if let Err(message) = services_result {
            for note in containers.remove().await {
                self.job_line(&note);
            }
            return Err(message);
        }
        match &placement.container {
            None => Ok(Box::new(HostExecutor::new(
                Place::same(dirs.workspace.clone()),
                Place::same(dirs.temp.clone()),
                Some(containers),
            ))),
            Some(plan) => {
                self.job_line(&format!("starting job container from {}", plan.image));
                match ContainerExecutor::start(
                    containers,
                    plan,
                    &dirs.workspace,
                    &dirs.temp,
                    &shared.project.repository,
                )
                .await
                {
                    Ok(executor) => Ok(Box::new(executor)),
                    Err((containers, error)) => {
                        for note in containers.remove().await {
                            self.job_line(&note);
                        }
                        Err(error.to_string())
                    }
                }
            }
        }
    }

    async fn start_services(
        &mut self,
        containers: &JobContainers,
        services: &[ContainerPlan],
    ) -> Result<(), String> {
        for service in services {
            self.job_line(&format!(
                "starting service {} from {}",
                service.name, service.image
            ));
            let spec = slipway_engine::ContainerSpec::new(service.image.clone());
            let started = containers
                .start(service, spec)
                .await
                .map_err(|e| e.to_string())?;
            let stop = Stop {
                token: self.run.cancel.clone(),
                deadline: Some(self.deadline),
            };
            if let Err(error) = containers.wait_ready(service, &started, stop.wait()).await {
                for line in containers.last_logs(&started.id).await {
                    self.job_line(&format!("{}: {line}", service.name));
                }
                return Err(error.to_string());
            }
            self.job_line(&format!("service {} is ready", service.name));
        }
        Ok(())
    }

    /// A job that could not set up fails with a "Set up job" step holding why.
    pub(super) fn setup_failed(&mut self, message: &str) {
        let conclusion = if self.run.cancel.is_cancelled() {
            self.hit_by_cancel = true;
            Conclusion::Cancelled
        } else {
            self.failed = true;
            Conclusion::Failure
        };
        let mut sink = self.sink(Some("Set up job".into()));
        sink.error(message);
        self.records.push(StepRecord {
            name: "Set up job".to_owned(),
            step_id: None,
            outcome: conclusion,
            conclusion,
            exit_code: None,
            started_at: Some(jiff::Timestamp::now()),
            duration: Duration::ZERO,
            outputs: Default::default(),
            log: sink.log,
            summary: String::new(),
            annotations: sink.annotations,
        });
    }

    /// Removes the job's worktrees and directories.
    pub(super) async fn clean_up(&mut self) {
        let repo = self.scope.shared.project.repo.clone();
        let worktrees = std::mem::take(&mut self.worktrees);
        let root = self.dirs.as_ref().map(|d| d.root.clone());
        let result = tokio::task::spawn_blocking(move || {
            let mut problems = Vec::new();
            // Nested worktrees (`path:` inside the workspace) go before the ones holding them.
            for worktree in worktrees.iter().rev() {
                if let Err(error) = repo.remove_worktree(worktree) {
                    problems.push(format!(
                        "could not remove worktree {}: {error}",
                        worktree.display()
                    ));
                }
            }
            problems
        })
        .await;
        // The next job that takes the directories empties them.
        if let Some(root) = root {
            self.scope.shared.work.give_back(root);
        }
        for problem in result.unwrap_or_default() {
            self.job_line(&problem);
        }
        self.group_guard = None;
    }
}

/// Where a job runs, worked out from `runs-on`, `container:` and `services:`.
struct Placement {
    target: RunnerTarget,
    container: Option<ContainerPlan>,
    services: Vec<ContainerPlan>,
}

fn placement(
    job: &Job,
    scope: &Scope<'_>,
    labels: &crate::labels::Labels,
) -> Result<Placement, String> {
    let Some(runs_on) = &job.runs_on else {
        return Err(format!(
            "{}: job '{}' has no 'runs-on'",
            scope.file, job.id.value
        ));
    };
    let names = runs_on
        .labels
        .iter()
        .map(|label| scope.string(label))
        .collect::<Result<Vec<_>, _>>()?;
    let target = labels
        .resolve(&names)
        .map_err(|message| format!("{}:{}: {message}", scope.file, runs_on.pos))?;
    let container = match (&job.container, &target) {
        (Some(container), _) => Some(container_plan(JOB_CONTAINER, container, scope)?),
        (None, RunnerTarget::Image(image)) => Some(ContainerPlan {
            name: JOB_CONTAINER.to_owned(),
            image: image.clone(),
            env: Vec::new(),
            ports: Vec::new(),
            options: ContainerOptions::default(),
        }),
        (None, RunnerTarget::Host) => None,
    };
    let services = job
        .services
        .iter()
        .map(|(name, entry)| container_plan(name, &entry.value, scope))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Placement {
        target,
        container,
        services,
    })
}

fn container_plan(
    name: &str,
    container: &slipway_workflow::Container,
    scope: &Scope<'_>,
) -> Result<ContainerPlan, String> {
    let at = |message: String| format!("{}:{}: {message}", scope.file, container.pos);
    let image = match &container.image {
        Some(image) => scope.string(image)?,
        None => return Err(at(format!("container '{name}' has no image"))),
    };
    if image.is_empty() {
        return Err(at(format!("the image of container '{name}' is empty")));
    }
    if !container.volumes.is_empty() {
        return Err(at(format!(
            "'volumes' of container '{name}' are not supported; use the workspace, which is mounted"
        )));
    }
    let env = scope.env(&container.env)?.into_iter().collect();
    let ports = container
        .ports
        .iter()
        .map(|port| port_binding(&scope.string(port)?).map_err(at))
        .collect::<Result<Vec<_>, _>>()?;
    let options = match &container.options {
        Some(options) => ContainerOptions::parse(&scope.string(options)?).map_err(at)?,
        None => ContainerOptions::default(),
    };
    Ok(ContainerPlan {
        name: name.to_owned(),
        image,
        env,
        ports,
        options,
    })
}
