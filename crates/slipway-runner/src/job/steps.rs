//! Running steps: conditions, names, env, shells, scripts, workflow commands and file commands,
//! `continue-on-error`, timeouts; the post steps; the job's outputs.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;
use slipway_expr::{Contexts, JobStatus};
use slipway_store::{Conclusion, StepRecord};
use slipway_workflow::{Step, StepAction, TemplateString};
use tokio::time::Instant;

use crate::builtins;
use crate::executor::{Executor, StepCommand, Stop};
use crate::observer::RunEvent;
use crate::process::{Exit, StopReason};
use crate::shell::{Shell, ShellError};
use crate::workdirs::overwrite;

use super::output::{CommandReader, FileCommands, StepSink};
use super::{
    Frame, JobExec, Performed, PostKind, minutes_to_duration, runner_arch, set_step_context,
    skipped_named, skipped_step, step_id,
};

impl JobExec<'_> {
    pub(super) async fn run_steps(&mut self, executor: &dyn Executor) {
        let job = self.job;
        let mut frame = std::mem::take(&mut self.frame);
        for (index, step) in job.steps.iter().enumerate() {
            let record = self.job_step(executor, &mut frame, step, index).await;
            self.records.push(record);
        }
        self.frame = frame;
    }

    /// Runs one of the job's own steps and makes its record.
    pub(super) async fn job_step(
        &mut self,
        executor: &dyn Executor,
        frame: &mut Frame,
        step: &Step,
        index: usize,
    ) -> StepRecord {
        let status = self.status(frame);
        let contexts = self.step_contexts(executor, frame, &frame.env.clone(), status, step);
        let file = frame.file.clone();
        let name: Arc<str> = self.step_name(&contexts, status, &file, step).into();
        let condition = match &step.condition {
            Some(condition) => self.evaluate(&contexts, status, &file, |s| s.condition(condition)),
            None => Ok(status == JobStatus::Success),
        };
        let shared = self.scope.shared.clone();
        let started_at = jiff::Timestamp::now();
        let started = Instant::now();
        let mut sink = self.sink(Some(name.clone()));
        let performed = match condition {
            Ok(false) => {
                self.hit_by_cancel |= status == JobStatus::Cancelled;
                set_step_context(
                    frame,
                    step,
                    Conclusion::Skipped,
                    Conclusion::Skipped,
                    &IndexMap::new(),
                );
                shared.observer.event(RunEvent::StepFinished {
                    job: self.run.display.clone(),
                    step: name.clone(),
                    conclusion: Conclusion::Skipped,
                    exit_code: None,
                    duration: Duration::ZERO,
                });
                return skipped_step(&name, step);
            }
            Ok(true) => {
                shared.observer.event(RunEvent::StepStarted {
                    job: self.run.display.clone(),
                    step: name.clone(),
                });
                let stop = self.stop_for_step();
                self.perform(executor, frame, step, index, &mut sink, stop)
                    .await
            }
            Err(message) => {
                shared.observer.event(RunEvent::StepStarted {
                    job: self.run.display.clone(),
                    step: name.clone(),
                });
                sink.error(&message);
                Performed::failed(None)
            }
        };
        let conclusion = self.conclude(frame, step, &performed, &mut sink);
        let duration = started.elapsed();
        shared.observer.event(RunEvent::StepFinished {
            job: self.run.display.clone(),
            step: name.clone(),
            conclusion,
            exit_code: performed.exit_code,
            duration,
        });
        StepRecord {
            name: name.to_string(),
            step_id: step.id.as_ref().map(|id| id.value.clone()),
            outcome: performed.outcome,
            conclusion,
            exit_code: performed.exit_code,
            started_at: Some(started_at),
            duration,
            outputs: performed
                .outputs
                .iter()
                .map(|(k, v)| (k.clone(), shared.masker.mask(v).into_owned()))
                .collect(),
            log: sink.log,
            summary: shared.masker.mask(&sink.summary).into_owned(),
            annotations: sink.annotations,
        }
    }

    /// Applies `continue-on-error`, updates the frame's `steps` context and failure state.
    pub(super) fn conclude(
        &mut self,
        frame: &mut Frame,
        step: &Step,
        performed: &Performed,
        sink: &mut StepSink,
    ) -> Conclusion {
        self.hit_by_cancel |= performed.outcome == Conclusion::Cancelled;
        let mut conclusion = performed.outcome;
        if performed.outcome == Conclusion::Failure {
            let tolerated = match &step.continue_on_error {
                Some(setting) => {
                    let contexts = self.step_contexts_light(frame);
                    match self.evaluate(&contexts, self.status(frame), &frame.file.clone(), |s| {
                        s.boolean(setting)
                    }) {
                        Ok(tolerated) => tolerated,
                        Err(message) => {
                            sink.error(&message);
                            false
                        }
                    }
                }
                None => false,
            };
            if tolerated {
                conclusion = Conclusion::Success;
            } else {
                frame.failed = true;
                if frame.depth == 0 {
                    self.failed = true;
                }
            }
        }
        set_step_context(
            frame,
            step,
            performed.outcome,
            conclusion,
            &performed.outputs,
        );
        conclusion
    }

    /// When the next step must stop: with the job, unless the job is already cancelled (an
    /// `always()` step then runs until a forced interrupt).
    pub(super) fn stop_for_step(&mut self) -> Stop {
        if self.cancelled() {
            Stop {
                token: self.scope.shared.interrupt.forced().clone(),
                deadline: None,
            }
        } else {
            Stop {
                token: self.run.cancel.clone(),
                deadline: Some(self.deadline),
            }
        }
    }

    pub(super) fn step_name(
        &self,
        contexts: &Contexts,
        status: JobStatus,
        file: &str,
        step: &Step,
    ) -> String {
        if let Some(name) = &step.name {
            if let Ok(name) = self.evaluate(contexts, status, file, |s| s.string(name)) {
                return name;
            }
            return name.raw().to_owned();
        }
        match &step.action {
            StepAction::Run(script) => {
                let first = script
                    .raw()
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("")
                    .trim();
                format!("Run {first}")
            }
            StepAction::Uses(uses) => format!("Run {}", uses.value),
        }
    }

    /// Runs a step whose `if:` held: its `env`, then its `run:` or `uses:`.
    pub(super) async fn perform(
        &mut self,
        executor: &dyn Executor,
        frame: &mut Frame,
        step: &Step,
        index: usize,
        sink: &mut StepSink,
        stop: Stop,
    ) -> Performed {
        let status = self.status(frame);
        let file = frame.file.clone();
        let base = self.step_contexts(executor, frame, &frame.env.clone(), status, step);
        let mut step_env = frame.env.clone();
        match self.evaluate(&base, status, &file, |s| s.env(&step.env)) {
            Ok(env) => step_env.extend(env),
            Err(message) => {
                sink.error(&message);
                return Performed::failed(None);
            }
        }
        let contexts = self.step_contexts(executor, frame, &step_env, status, step);
        let timeout = match &step.timeout_minutes {
            Some(minutes) => match self.evaluate(&contexts, status, &file, |s| s.number(minutes)) {
                Ok(minutes) => Some(minutes_to_duration(minutes)),
                Err(message) => {
                    sink.error(&message);
                    return Performed::failed(None);
                }
            },
            None => None,
        };
        let stop = stop.within(timeout);
        match &step.action {
            StepAction::Run(script) => {
                let script = match self.evaluate(&contexts, status, &file, |s| s.string(script)) {
                    Ok(script) => script,
                    Err(message) => {
                        sink.error(&message);
                        return Performed::failed(None);
                    }
                };
                let shell_name = step
                    .shell
                    .as_ref()
                    .map(|s| s.value.clone())
                    .or_else(|| (frame.depth == 0).then(|| self.default_shell()).flatten());
                let working_directory =
                    match self.working_directory(executor, frame, step, &contexts, status) {
                        Ok(dir) => dir,
                        Err(message) => {
                            sink.error(&message);
                            return Performed::failed(None);
                        }
                    };
                self.run_script(
                    executor,
                    frame,
                    step,
                    &script,
                    shell_name.as_deref(),
                    &working_directory,
                    &step_env,
                    sink,
                    &stop,
                )
                .await
            }
            StepAction::Uses(uses) => {
                let Some(resolved) = self.scope.shared.catalog.get(&uses.value).cloned() else {
                    sink.error(&format!(
                        "'uses: {}' was not resolved while planning",
                        uses.value
                    ));
                    return Performed::failed(None);
                };
                let with = match self.evaluate(&contexts, status, &file, |s| {
                    step.with
                        .iter()
                        .map(|(k, e)| Ok((k.clone(), s.string(&e.value)?)))
                        .collect::<Result<IndexMap<String, String>, String>>()
                }) {
                    Ok(with) => with,
                    Err(message) => {
                        sink.error(&message);
                        return Performed::failed(None);
                    }
                };
                self.run_uses(
                    executor, frame, step, index, &resolved, with, &step_env, sink, &stop,
                )
                .await
            }
        }
    }

    pub(super) fn default_shell(&self) -> Option<String> {
        let from = |defaults: &Option<slipway_workflow::RunDefaults>| {
            defaults
                .as_ref()
                .and_then(|d| d.shell.as_ref())
                .map(|s| s.value.clone())
        };
        from(&self.job.defaults).or_else(|| from(&self.scope.workflow.defaults))
    }

    pub(super) fn working_directory(
        &self,
        executor: &dyn Executor,
        frame: &Frame,
        step: &Step,
        contexts: &Contexts,
        status: JobStatus,
    ) -> Result<String, String> {
        let defaults = |defaults: &Option<slipway_workflow::RunDefaults>| {
            defaults.as_ref().and_then(|d| d.working_directory.clone())
        };
        let template: Option<TemplateString> = step.working_directory.clone().or_else(|| {
            if frame.depth == 0 {
                defaults(&self.job.defaults).or_else(|| defaults(&self.scope.workflow.defaults))
            } else {
                None
            }
        });
        let workspace = executor.workspace().seen.clone();
        let Some(template) = template else {
            return Ok(workspace);
        };
        let dir = self.evaluate(contexts, status, &frame.file, |s| s.string(&template))?;
        if dir.starts_with('/') {
            Ok(dir)
        } else {
            Ok(format!("{}/{dir}", workspace.trim_end_matches('/')))
        }
    }

    /// GitHub's variables for a step, and the file-command files it writes to.
    pub(super) fn default_env(
        &mut self,
        executor: &dyn Executor,
        frame: &Frame,
        step_id: Option<&str>,
    ) -> (Vec<(String, String)>, FileCommands) {
        self.counter += 1;
        let n = self.counter;
        let files = FileCommands::new(&executor.temp().join("_runner_file_commands"));
        let github = &self.scope.github;
        let text = |key: &str| github.get(key).map(ToString::to_string).unwrap_or_default();
        let action = step_id.map_or_else(|| format!("__run_{n}"), str::to_owned);
        let mut env = vec![
            ("CI", "true".to_owned()),
            ("GITHUB_ACTIONS", "true".to_owned()),
            ("GITHUB_WORKSPACE", executor.workspace().seen.clone()),
            ("GITHUB_EVENT_NAME", text("event_name")),
            (
                "GITHUB_EVENT_PATH",
                format!("{}/_github_event.json", executor.temp().seen),
            ),
            ("GITHUB_SHA", text("sha")),
            ("GITHUB_REF", text("ref")),
            ("GITHUB_REF_NAME", text("ref_name")),
            ("GITHUB_REF_TYPE", text("ref_type")),
            ("GITHUB_HEAD_REF", text("head_ref")),
            ("GITHUB_BASE_REF", text("base_ref")),
            ("GITHUB_REPOSITORY", text("repository")),
            ("GITHUB_REPOSITORY_OWNER", text("repository_owner")),
            ("GITHUB_RUN_ID", text("run_id")),
            ("GITHUB_RUN_NUMBER", text("run_number")),
            ("GITHUB_RUN_ATTEMPT", text("run_attempt")),
            ("GITHUB_JOB", self.run.job_id.clone()),
            ("GITHUB_ACTION", action),
            ("GITHUB_ACTOR", text("actor")),
            ("GITHUB_TRIGGERING_ACTOR", text("triggering_actor")),
            ("GITHUB_WORKFLOW", text("workflow")),
            ("GITHUB_WORKFLOW_REF", text("workflow_ref")),
            ("GITHUB_SERVER_URL", text("server_url")),
            ("GITHUB_API_URL", text("api_url")),
            ("GITHUB_GRAPHQL_URL", text("graphql_url")),
            ("GITHUB_RETENTION_DAYS", text("retention_days")),
            ("RUNNER_OS", "Linux".to_owned()),
            ("RUNNER_ARCH", runner_arch().to_owned()),
            ("RUNNER_NAME", "slipway".to_owned()),
            ("RUNNER_ENVIRONMENT", "self-hosted".to_owned()),
            ("RUNNER_TEMP", executor.temp().seen.clone()),
            (
                "RUNNER_TOOL_CACHE",
                self.scope.shared.tool_cache.display().to_string(),
            ),
            ("GITHUB_OUTPUT", files.output.seen.clone()),
            ("GITHUB_ENV", files.env.seen.clone()),
            ("GITHUB_PATH", files.path.seen.clone()),
            ("GITHUB_STATE", files.state.seen.clone()),
            ("GITHUB_STEP_SUMMARY", files.summary.seen.clone()),
        ];
        if let Some(action_path) = &frame.action_path {
            env.push(("GITHUB_ACTION_PATH", action_path.clone()));
        }
        if self.scope.shared.debug {
            env.push(("RUNNER_DEBUG", "1".to_owned()));
        }
        (
            env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            files,
        )
    }

    /// The environment of a process: GitHub's variables, then the job's env, then the step's.
    pub(super) fn process_env(
        &self,
        defaults: Vec<(String, String)>,
        step_env: &IndexMap<String, String>,
    ) -> Vec<(String, String)> {
        let mut env: IndexMap<String, String> = defaults.into_iter().collect();
        for (name, value) in self.env.iter().chain(step_env) {
            env.insert(name.clone(), value.clone());
        }
        env.into_iter().collect()
    }

    #[allow(clippy::too_many_arguments)] // One step's whole situation; splitting it hides nothing.
    pub(super) async fn run_script(
        &mut self,
        executor: &dyn Executor,
        frame: &Frame,
        step: &Step,
        script: &str,
        shell_name: Option<&str>,
        cwd: &str,
        step_env: &IndexMap<String, String>,
        sink: &mut StepSink,
        stop: &Stop,
    ) -> Performed {
        let (shell, program) = match self.resolve_shell(executor, shell_name).await {
            Ok(resolved) => resolved,
            Err(error) => {
                sink.error(&error.to_string());
                return Performed::failed(None);
            }
        };
        let (defaults, files) = self.default_env(executor, frame, step_id(step));
        // One script file per job, rewritten for each step, for the reason `FileCommands::new`
        // gives.
        let script_place = executor
            .temp()
            .join(&format!("script{}", shell.extension()));
        if let Err(error) = overwrite(&script_place.host, shell.script(script).as_bytes()) {
            sink.error(&format!(
                "cannot write the script to {}: {error}",
                script_place.host.display()
            ));
            return Performed::failed(None);
        }
        let command = StepCommand {
            program,
            args: shell.args(&script_place.seen),
            env: self.process_env(defaults, step_env),
            path: self.path.clone(),
            cwd: cwd.to_owned(),
        };
        self.execute(executor, &command, &files, sink, stop).await
    }

    /// The shell of a `run:` step, and the program to start for it: located where the step
    /// runs, once per job, so that starting it does not search `PATH` again (unless `$GITHUB_PATH`
    /// changed what the name finds).
    pub(super) async fn resolve_shell(
        &self,
        executor: &dyn Executor,
        shell_name: Option<&str>,
    ) -> Result<(Shell, String), ShellError> {
        let wanted: Vec<String> = match shell_name {
            None => vec!["bash".to_owned(), "sh".to_owned()],
            Some("python") => vec!["python".to_owned(), "python3".to_owned()],
            Some(name) if name.contains("{0}") => shlex::split(name)
                .and_then(|words| words.into_iter().next())
                .into_iter()
                .collect(),
            Some(name) => vec![name.to_owned()],
        };
        let mut located = HashMap::new();
        for program in wanted {
            if let Some(path) = executor.locate(&program).await {
                located.insert(program, path);
            }
        }
        let shell = Shell::resolve(shell_name, |program| located.contains_key(program))?;
        let program = match located.get(shell.program()) {
            Some(path) if self.path.is_empty() => path.clone(),
            _ => shell.program().to_owned(),
        };
        Ok((shell, program))
    }

    /// Runs a command, reads the workflow commands it prints and the files it writes.
    pub(super) async fn execute(
        &mut self,
        executor: &dyn Executor,
        command: &StepCommand,
        files: &FileCommands,
        sink: &mut StepSink,
        stop: &Stop,
    ) -> Performed {
        let mut reader =
            CommandReader::new(command.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let exit = {
            let mut on_line = |line: String| reader.handle(&line, sink);
            executor.run(command, &mut on_line, stop).await
        };
        let exit = match exit {
            Ok(exit) => exit,
            Err(error) => {
                sink.error(&error.to_string());
                return Performed::failed(None);
            }
        };
        let mut outputs = std::mem::take(&mut reader.outputs);
        self.env.extend(std::mem::take(&mut reader.env));
        for dir in reader.path.drain(..) {
            self.path.insert(0, dir);
        }
        match files.read(
            &mut outputs,
            &mut self.env,
            &mut self.path,
            &mut reader.state,
        ) {
            Ok(summary) => sink.summary.push_str(&summary),
            Err(message) => {
                sink.error(&message);
                return Performed::failed(None);
            }
        }
        let state = std::mem::take(&mut reader.state);
        self.last_state = state;
        let (outcome, exit_code) = match exit {
            Exit::Code(0) if reader.failed_by.is_none() => (Conclusion::Success, Some(0)),
            Exit::Code(code) => {
                if code != 0 {
                    sink.error(&format!("Process completed with exit code {code}."));
                }
                (Conclusion::Failure, Some(code))
            }
            Exit::Stopped(StopReason::TimedOut) => {
                if Instant::now() >= self.deadline {
                    self.timed_out = true;
                    sink.error("The job has exceeded its timeout-minutes and was cancelled.");
                    (Conclusion::Cancelled, None)
                } else {
                    sink.error("The step has exceeded its timeout-minutes and was stopped.");
                    (Conclusion::Failure, None)
                }
            }
            Exit::Stopped(StopReason::Cancelled) => {
                sink.line("The step was cancelled.");
                (Conclusion::Cancelled, None)
            }
        };
        Performed {
            outcome,
            exit_code,
            outputs,
        }
    }

    /// Post steps, last registered first, each as a step of its own.
    pub(super) async fn run_posts(&mut self, executor: &dyn Executor) {
        let posts = std::mem::take(&mut self.posts);
        let mut frame = std::mem::take(&mut self.frame);
        for post in posts.into_iter().rev() {
            let status = self.status(&frame);
            let contexts = self.step_contexts_light(&frame);
            let run = match (&post.condition, &post.kind) {
                (Some(condition), _) => self
                    .evaluate(&contexts, status, &frame.file.clone(), |s| {
                        s.condition(condition)
                    })
                    .unwrap_or(false),
                (None, PostKind::Node { .. }) => true,
                (None, PostKind::CacheSave { .. }) => status == JobStatus::Success,
            };
            let shared = self.scope.shared.clone();
            if !run {
                shared.observer.event(RunEvent::StepFinished {
                    job: self.run.display.clone(),
                    step: post.name.clone(),
                    conclusion: Conclusion::Skipped,
                    exit_code: None,
                    duration: Duration::ZERO,
                });
                self.records.push(skipped_named(&post.name));
                continue;
            }
            shared.observer.event(RunEvent::StepStarted {
                job: self.run.display.clone(),
                step: post.name.clone(),
            });
            let started_at = jiff::Timestamp::now();
            let started = Instant::now();
            let mut sink = self.sink(Some(post.name.clone()));
            let performed = match &post.kind {
                PostKind::Node {
                    script,
                    action_path,
                    env,
                } => {
                    let stop = self.stop_for_step();
                    let (mut defaults, files) = self.default_env(executor, &frame, None);
                    defaults.push(("GITHUB_ACTION_PATH".to_owned(), action_path.clone()));
                    defaults.extend(env.iter().cloned());
                    // Its main step found `node`; should it be gone, starting it says so.
                    let node = executor
                        .locate("node")
                        .await
                        .unwrap_or_else(|| "node".to_owned());
                    let command = StepCommand {
                        program: node,
                        args: vec![format!("{action_path}/{script}")],
                        env: self.process_env(defaults, &IndexMap::new()),
                        path: self.path.clone(),
                        cwd: executor.workspace().seen.clone(),
                    };
                    self.execute(executor, &command, &files, &mut sink, &stop)
                        .await
                }
                PostKind::CacheSave { key, paths } => {
                    let workspace = self
                        .dirs
                        .as_ref()
                        .map(|d| d.workspace.clone())
                        .unwrap_or_default();
                    let result =
                        builtins::cache_save(&shared.cache, key, paths, &workspace, &mut |line| {
                            sink.line(line)
                        })
                        .await;
                    match result {
                        Ok(()) => Performed {
                            outcome: Conclusion::Success,
                            exit_code: None,
                            outputs: IndexMap::new(),
                        },
                        Err(message) => {
                            sink.error(&message);
                            Performed::failed(None)
                        }
                    }
                }
            };
            if performed.outcome == Conclusion::Failure {
                self.failed = true;
                frame.failed = true;
            }
            let duration = started.elapsed();
            shared.observer.event(RunEvent::StepFinished {
                job: self.run.display.clone(),
                step: post.name.clone(),
                conclusion: performed.outcome,
                exit_code: performed.exit_code,
                duration,
            });
            self.records.push(StepRecord {
                name: post.name.to_string(),
                step_id: None,
                outcome: performed.outcome,
                conclusion: performed.outcome,
                exit_code: performed.exit_code,
                started_at: Some(started_at),
                duration,
                outputs: Default::default(),
                log: sink.log,
                summary: shared.masker.mask(&sink.summary).into_owned(),
                annotations: sink.annotations,
            });
        }
        self.frame = frame;
    }

    /// The job's `outputs`, evaluated; values holding a secret are left out, as on GitHub.
    pub(super) fn outputs(&mut self) -> IndexMap<String, String> {
        let contexts = self.step_contexts_light(&self.frame);
        let status = self.status(&self.frame);
        let mut outputs = IndexMap::new();
        let file = self.scope.file.clone();
        for (name, entry) in &self.job.outputs {
            match self.evaluate(&contexts, status, &file, |s| s.string(&entry.value)) {
                Ok(value) if self.scope.shared.masker.reveals(&value) => {
                    self.job_line(&format!(
                        "output '{name}' is left out: it may contain a secret"
                    ));
                }
                Ok(value) => {
                    outputs.insert(name.clone(), value);
                }
                Err(message) => self.job_line(&message),
            }
        }
        outputs
    }

    pub(super) fn environment_url(&mut self) -> Option<String> {
        let url = self.job.environment.as_ref()?.url.as_ref()?;
        let contexts = self.step_contexts_light(&self.frame);
        let file = self.scope.file.clone();
        match self.evaluate(&contexts, self.status(&self.frame), &file, |s| {
            s.string(url)
        }) {
            Ok(url) => Some(url),
            Err(message) => {
                self.job_line(&message);
                None
            }
        }
    }
}
