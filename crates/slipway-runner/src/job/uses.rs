//! `uses:` steps: the built-ins, local composite actions (their steps in a frame of their own)
//! and Node.js actions (with `pre` and `post`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use indexmap::IndexMap;
use slipway_expr::JobStatus;
use slipway_store::Conclusion;
use slipway_workflow::{Action, ActionRuns, Step, StepAction};

use crate::actions::Uses;
use crate::builtins;
use crate::eval::string_map;
use crate::executor::{Executor, StepCommand, Stop};

use super::output::StepSink;
use super::{
    Frame, JobExec, MAX_COMPOSITE_DEPTH, Performed, PostKind, PostStep, set_step_context, step_id,
    warning,
};

impl JobExec<'_> {
    /// Runs a `uses:` step: a built-in, or a local composite or Node.js action.
    #[allow(clippy::too_many_arguments)] // One step's whole situation; splitting it hides nothing.
    pub(super) async fn run_uses(
        &mut self,
        executor: &dyn Executor,
        frame: &Frame,
        step: &Step,
        index: usize,
        resolved: &Arc<Uses>,
        with: IndexMap<String, String>,
        step_env: &IndexMap<String, String>,
        sink: &mut StepSink,
        stop: &Stop,
    ) -> Performed {
        let shared = self.scope.shared.clone();
        let builtin =
            |result: Result<IndexMap<String, String>, String>, sink: &mut StepSink| match result {
                Ok(outputs) => Performed {
                    outcome: Conclusion::Success,
                    exit_code: None,
                    outputs,
                },
                Err(message) => {
                    sink.error(&message);
                    Performed::failed(None)
                }
            };
        let Some(dirs) = &self.dirs else {
            return Performed::failed(None);
        };
        let context = builtins::Context {
            workspace: dirs.workspace.clone(),
            dirty: shared.dirty,
            repository: shared.project.repository.clone(),
            repo: shared.project.repo.clone(),
            sha: shared.trigger.sha.clone(),
            artifacts: self.scope.artifacts.clone(),
            cache: shared.cache.clone(),
        };
        match &**resolved {
            Uses::Checkout => {
                let result = builtins::checkout(&context, &with, &mut |line| sink.line(line)).await;
                if let Ok((_, Some(worktree))) = &result {
                    self.worktrees.push(worktree.clone());
                }
                builtin(result.map(|(outputs, _)| outputs), sink)
            }
            Uses::UploadArtifact => {
                let result =
                    builtins::upload_artifact(&context, &with, &mut |line| sink.line(line)).await;
                builtin(result, sink)
            }
            Uses::DownloadArtifact => {
                let result =
                    builtins::download_artifact(&context, &with, &mut |line| sink.line(line)).await;
                builtin(result, sink)
            }
            Uses::Cache(mode) => {
                let result =
                    builtins::cache(&context, *mode, &with, &mut |line| sink.line(line)).await;
                match result {
                    Ok((outputs, save)) => {
                        if let Some((key, paths)) = save {
                            let name = post_name(sink, step, index);
                            self.posts.push(PostStep {
                                name,
                                condition: None,
                                kind: PostKind::CacheSave { key, paths },
                            });
                        }
                        builtin(Ok(outputs), sink)
                    }
                    Err(message) => builtin(Err(message), sink),
                }
            }
            Uses::Local {
                dir,
                action,
                in_workspace,
            } => {
                let dir = match in_workspace {
                    Some(relative) => {
                        let dir = context.workspace.join(relative);
                        if crate::actions::action_file(&dir).is_none() {
                            sink.error(&format!(
                                "Can't find 'action.yml' or 'action.yaml' under '{}'. Did you forget to run actions/checkout before running your local action?",
                                dir.display()
                            ));
                            return Performed::failed(None);
                        }
                        dir
                    }
                    None => dir.clone(),
                };
                let inputs = match self.action_inputs(action, &with, frame, sink) {
                    Ok(inputs) => inputs,
                    Err(message) => {
                        sink.error(&message);
                        return Performed::failed(None);
                    }
                };
                let action_path = match executor.stage(&dir).await {
                    Ok(path) => path,
                    Err(error) => {
                        sink.error(&error.to_string());
                        return Performed::failed(None);
                    }
                };
                match &action.runs {
                    ActionRuns::Composite { steps } => {
                        if frame.depth + 1 > MAX_COMPOSITE_DEPTH {
                            sink.error(&format!(
                                "composite actions nest deeper than {MAX_COMPOSITE_DEPTH} levels"
                            ));
                            return Performed::failed(None);
                        }
                        let nested = Frame {
                            file: action.file.clone(),
                            steps: IndexMap::new(),
                            inputs: string_map(&inputs),
                            env: step_env.clone(),
                            action_path: Some(action_path),
                            failed: false,
                            depth: frame.depth + 1,
                        };
                        self.run_composite(executor, nested, steps, action, sink, stop.clone())
                            .await
                    }
                    ActionRuns::Node {
                        main,
                        pre,
                        pre_if,
                        post,
                        post_if,
                        ..
                    } => {
                        // `pre:` runs right before `main:`, not at the start of the job.
                        if let Some(pre) = pre {
                            let runs = match pre_if {
                                Some(condition) => {
                                    let contexts = self.step_contexts_light(frame);
                                    let status = self.status(frame);
                                    self.evaluate(&contexts, status, &action.file, |s| {
                                        s.condition(condition)
                                    })
                                    .unwrap_or(false)
                                }
                                None => true,
                            };
                            if runs {
                                let performed = self
                                    .run_node(
                                        executor,
                                        frame,
                                        step,
                                        &action_path,
                                        &pre.value,
                                        &inputs,
                                        step_env,
                                        sink,
                                        stop,
                                    )
                                    .await;
                                if performed.outcome != Conclusion::Success {
                                    return performed;
                                }
                            }
                        }
                        let performed = self
                            .run_node(
                                executor,
                                frame,
                                step,
                                &action_path,
                                &main.value,
                                &inputs,
                                step_env,
                                sink,
                                stop,
                            )
                            .await;
                        if let Some(post) = post {
                            let mut env: Vec<(String, String)> = input_env(&inputs);
                            env.extend(
                                self.last_state
                                    .iter()
                                    .map(|(k, v)| (format!("STATE_{k}"), v.clone())),
                            );
                            self.posts.push(PostStep {
                                name: post_name(sink, step, index),
                                condition: post_if.clone(),
                                kind: PostKind::Node {
                                    script: post.value.clone(),
                                    action_path: action_path.clone(),
                                    env,
                                },
                            });
                        }
                        performed
                    }
                    ActionRuns::Docker { .. } => {
                        sink.error("Docker container actions are not supported");
                        Performed::failed(None)
                    }
                }
            }
        }
    }

    /// The `inputs` of an action: `with:` values, else evaluated defaults.
    pub(super) fn action_inputs(
        &self,
        action: &Action,
        with: &IndexMap<String, String>,
        frame: &Frame,
        sink: &mut StepSink,
    ) -> Result<IndexMap<String, String>, String> {
        let contexts = self.step_contexts_light(frame);
        let mut inputs = IndexMap::new();
        for (name, entry) in &action.inputs {
            let input = &entry.value;
            let given = with
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone());
            if given.is_some()
                && let Some(message) = &input.deprecation_message
            {
                sink.annotate(warning(format!("input '{name}' is deprecated: {message}")));
            }
            let value = match (given, &input.default) {
                (Some(value), _) => value,
                (None, Some(default)) => {
                    self.evaluate(&contexts, self.status(frame), &action.file, |s| {
                        s.string(default)
                    })?
                }
                (None, None) => {
                    if input.required {
                        sink.annotate(warning(format!(
                            "input '{name}' is required but was not given"
                        )));
                    }
                    String::new()
                }
            };
            inputs.insert(name.clone(), value);
        }
        let unexpected: Vec<&str> = with
            .keys()
            .filter(|k| !action.inputs.keys().any(|n| n.eq_ignore_ascii_case(k)))
            .map(String::as_str)
            .collect();
        if !unexpected.is_empty() {
            sink.annotate(warning(format!(
                "unexpected input(s) {}; valid inputs are {}",
                unexpected.join(", "),
                action.inputs.keys().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
        Ok(inputs)
    }

    /// A composite action's steps, logged into the calling step; its outputs come from its
    /// `outputs:` mappings.
    pub(super) fn run_composite<'b>(
        &'b mut self,
        executor: &'b dyn Executor,
        mut frame: Frame,
        steps: &'b [Step],
        action: &'b Action,
        sink: &'b mut StepSink,
        stop: Stop,
    ) -> Pin<Box<dyn Future<Output = Performed> + Send + 'b>> {
        Box::pin(async move {
            for (index, step) in steps.iter().enumerate() {
                let status = self.status(&frame);
                let contexts =
                    self.step_contexts(executor, &frame, &frame.env.clone(), status, step);
                let name = self.step_name(&contexts, status, &frame.file.clone(), step);
                let condition = match &step.condition {
                    Some(condition) => self.evaluate(&contexts, status, &frame.file.clone(), |s| {
                        s.condition(condition)
                    }),
                    None => Ok(status == JobStatus::Success),
                };
                let performed = match condition {
                    Ok(false) => {
                        set_step_context(
                            &mut frame,
                            step,
                            Conclusion::Skipped,
                            Conclusion::Skipped,
                            &IndexMap::new(),
                        );
                        continue;
                    }
                    Ok(true) => {
                        sink.line(&format!("▶ {name}"));
                        self.perform(executor, &mut frame, step, index, sink, stop.clone())
                            .await
                    }
                    Err(message) => {
                        sink.error(&message);
                        Performed::failed(None)
                    }
                };
                self.conclude(&mut frame, step, &performed, sink);
            }
            let contexts = self.step_contexts_light(&frame);
            let mut outputs = IndexMap::new();
            for (name, entry) in &action.outputs {
                if let Some(value) = &entry.value.value {
                    match self.evaluate(&contexts, self.status(&frame), &action.file, |s| {
                        s.string(value)
                    }) {
                        Ok(value) => {
                            outputs.insert(name.clone(), value);
                        }
                        Err(message) => sink.error(&message),
                    }
                }
            }
            let outcome = if self.cancelled() && !frame.failed {
                Conclusion::Cancelled
            } else if frame.failed {
                Conclusion::Failure
            } else {
                Conclusion::Success
            };
            Performed {
                outcome,
                exit_code: None,
                outputs,
            }
        })
    }

    /// A Node.js action's `main` (or `post`) script.
    #[allow(clippy::too_many_arguments)] // One step's whole situation; splitting it hides nothing.
    pub(super) async fn run_node(
        &mut self,
        executor: &dyn Executor,
        frame: &Frame,
        step: &Step,
        action_path: &str,
        script: &str,
        inputs: &IndexMap<String, String>,
        step_env: &IndexMap<String, String>,
        sink: &mut StepSink,
        stop: &Stop,
    ) -> Performed {
        // Like GitHub's own runtime for actions, the `node` found when the job started, whatever
        // `$GITHUB_PATH` adds.
        let Some(node) = executor.locate("node").await else {
            sink.error(
                "this Node.js action needs `node`, which is not installed where the job runs",
            );
            return Performed::failed(None);
        };
        let (mut defaults, files) = self.default_env(executor, frame, step_id(step));
        defaults.push(("GITHUB_ACTION_PATH".to_owned(), action_path.to_owned()));
        defaults.extend(input_env(inputs));
        let command = StepCommand {
            program: node,
            args: vec![format!("{action_path}/{script}")],
            env: self.process_env(defaults, step_env),
            path: self.path.clone(),
            cwd: executor.workspace().seen.clone(),
        };
        self.execute(executor, &command, &files, sink, stop).await
    }
}

/// `Post <step name>`, as GitHub names the post step of an action.
pub(super) fn post_name(sink: &StepSink, step: &Step, index: usize) -> Arc<str> {
    let name = sink
        .step
        .as_deref()
        .map_or_else(|| step_display(step, index), str::to_owned);
    format!("Post {name}").into()
}

pub(super) fn step_display(step: &Step, index: usize) -> String {
    match (&step.name, &step.action) {
        (Some(name), _) => name.raw().to_owned(),
        (None, StepAction::Uses(uses)) => uses.value.clone(),
        (None, StepAction::Run(_)) => format!("step {}", index + 1),
    }
}

/// `INPUT_<NAME>` variables of an action's inputs, as actions/toolkit reads them.
pub(super) fn input_env(inputs: &IndexMap<String, String>) -> Vec<(String, String)> {
    inputs
        .iter()
        .map(|(name, value)| {
            (
                format!("INPUT_{}", name.replace(' ', "_").to_uppercase()),
                value.clone(),
            )
        })
        .collect()
}
