//! Calls into the workflow's own repository, checked against the called files: a job's
//! `uses: ./.github/workflows/x.yml` against the `on.workflow_call` of that file (inputs it does
//! not declare, required inputs and secrets not passed, literal values of the wrong type,
//! secrets it does not declare) and a step's `uses: ./path` against `path/action.yml` (inputs it
//! does not declare, required inputs without a default not given).
//!
//! `./` names the root of the repository, so these files can be found only when the linted file
//! sits where GitHub reads workflows, `ROOT/.github/workflows/`. A missing called workflow is an
//! error (GitHub fails the run); a missing local action is not, since a job may create its
//! directory before the step runs (a checkout of another repository, a generated action).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::Findings;
use crate::action::Action;
use crate::diagnostic::{Pos, Rule};
use crate::load::{Source, decode, load_action};
use crate::model::{InputType, Job, JobSecrets, Mapping, Step, StepAction, Trigger, Workflow};

/// What a reusable-workflow call resolved to.
pub(super) enum Called {
    /// The file does not exist or cannot be read (the message says which and why).
    Unreadable(String),
    /// The file, decoded as far as possible (its own problems are reported when it is linted).
    Workflow(Box<Workflow>),
}

/// The local files a workflow calls, read once before the checks.
#[derive(Default)]
pub(super) struct LocalFiles {
    /// By the job's `uses:` value.
    workflows: HashMap<String, Called>,
    /// By the step's `uses:` value; absent when no readable, valid `action.yml` was found.
    actions: HashMap<String, Action>,
}

impl LocalFiles {
    /// Reads what `workflow` (from `source`) calls with `./`, when its file is known and sits
    /// in `ROOT/.github/workflows/`; otherwise nothing. The file is the source's path, never its
    /// display name, which may be relative to another directory than the current one.
    pub(super) fn read(source: &Source, workflow: &Workflow) -> LocalFiles {
        let mut local = LocalFiles::default();
        let Some(root) = source.path().and_then(repository_root) else {
            return local;
        };
        for job in workflow.jobs.values() {
            if let Some(uses) = job.uses.as_ref().and_then(|u| local_path(&u.value)) {
                let called = read_workflow(&root, uses);
                local.workflows.insert(uses.to_owned(), called);
            }
            for step in &job.steps {
                if let StepAction::Uses(uses) = &step.action
                    && let Some(path) = local_path(&uses.value)
                    && let Some(action) = read_action(&root.join(path))
                {
                    local.actions.insert(path.to_owned(), action);
                }
            }
        }
        local
    }

    /// The `workflow_call` trigger of the local workflow a job calls, when it was read.
    pub(super) fn called_trigger(&self, job: &Job) -> Option<&Trigger> {
        let uses = local_path(&job.uses.as_ref()?.value)?;
        match self.workflows.get(uses)? {
            Called::Workflow(workflow) => workflow.on.get("workflow_call"),
            Called::Unreadable(_) => None,
        }
    }
}

/// The directory `./` names for a workflow at `file`: the one holding `.github/workflows/`.
fn repository_root(file: &Path) -> Option<PathBuf> {
    let file = std::path::absolute(file).ok()?;
    let workflows = file.parent()?;
    let github = workflows.parent()?;
    let is_workflows_dir =
        workflows.file_name()? == "workflows" && github.file_name()? == ".github";
    is_workflows_dir.then(|| github.parent().map(Path::to_path_buf))?
}

/// The repository-relative path of a `./` reference without expressions.
fn local_path(uses: &str) -> Option<&str> {
    uses.strip_prefix("./")
        .filter(|path| !path.contains("${{") && !path.is_empty())
}

fn read_workflow(root: &Path, path: &str) -> Called {
    match Source::read(&root.join(path)) {
        Ok(source) => match decode(&source).0 {
            Some(workflow) => Called::Workflow(Box::new(workflow)),
            None => Called::Unreadable(format!("{path} is not a valid workflow")),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Called::Unreadable(format!("{path} does not exist in the repository"))
        }
        Err(e) => Called::Unreadable(format!("cannot read {path}: {e}")),
    }
}

/// The action's metadata, from `action.yml` or `action.yaml` in `dir`.
fn read_action(dir: &Path) -> Option<Action> {
    ["action.yml", "action.yaml"]
        .iter()
        .find_map(|name| Source::read(&dir.join(name)).ok())
        .and_then(|source| load_action(&source).ok())
}

pub(super) fn check(findings: &mut Findings<'_>) {
    let workflow = findings.workflow;
    for job in workflow.jobs.values() {
        if let Some(uses) = &job.uses {
            check_call(findings, job, &uses.value, uses.pos);
        }
        for step in &job.steps {
            if let StepAction::Uses(uses) = &step.action
                && let Some(path) = local_path(&uses.value)
                && let Some(action) = findings.local.actions.get(path)
            {
                check_action_inputs(findings, step, action, &uses.value, uses.pos);
            }
        }
    }
}

fn check_call(findings: &mut Findings<'_>, job: &Job, uses: &str, pos: Pos) {
    let Some(path) = local_path(uses) else {
        return;
    };
    let trigger = match findings.local.workflows.get(path) {
        None => return,
        Some(Called::Unreadable(why)) => {
            let message = format!("reusable workflow '{uses}' cannot be called: {why}");
            findings.report(pos, Rule::WorkflowCall, message);
            return;
        }
        Some(Called::Workflow(called)) => called.on.get("workflow_call"),
    };
    let Some(trigger) = trigger else {
        findings.report(
            pos,
            Rule::WorkflowCall,
            format!("'{uses}' is not a reusable workflow: it has no 'on: workflow_call'; add that event to it"),
        );
        return;
    };
    check_call_inputs(findings, job, trigger, uses, pos);
    check_call_secrets(findings, job, trigger, uses, pos);
}

fn check_call_inputs(
    findings: &mut Findings<'_>,
    job: &Job,
    trigger: &Trigger,
    uses: &str,
    pos: Pos,
) {
    for (name, entry) in &job.with {
        let Some(input) = find(&trigger.inputs, name) else {
            findings.report(
                entry.key_pos,
                Rule::WorkflowCall,
                format!("input '{name}' is not defined by reusable workflow '{uses}'; its inputs are: {}", names(&trigger.inputs)),
            );
            continue;
        };
        let value = &entry.value;
        if value.is_literal() && !fits(input.kind, value.raw()) {
            findings.report(
                value.pos(),
                Rule::WorkflowCall,
                format!(
                    "input '{name}' of reusable workflow '{uses}' is a {}, but '{}' is not one",
                    input.kind.name(),
                    value.raw()
                ),
            );
        }
    }
    for (name, entry) in &trigger.inputs {
        if entry.value.required && find(&job.with, name).is_none() {
            findings.report(
                pos,
                Rule::WorkflowCall,
                format!("input '{name}' of reusable workflow '{uses}' is required but not given in 'with'"),
            );
        }
    }
}

/// Whether the literal text of a `with:` value is a value of `kind`.
fn fits(kind: InputType, text: &str) -> bool {
    match kind {
        InputType::Boolean => matches!(text, "true" | "false"),
        InputType::Number => text.trim().parse::<f64>().is_ok(),
        InputType::String | InputType::Choice | InputType::Environment => true,
    }
}

fn check_call_secrets(
    findings: &mut Findings<'_>,
    job: &Job,
    trigger: &Trigger,
    uses: &str,
    pos: Pos,
) {
    let passed = match &job.secrets {
        // Every secret of the caller is passed, whatever the called workflow declares.
        Some(JobSecrets::Inherit(_)) => return,
        Some(JobSecrets::Map(passed)) => Some(passed),
        None => None,
    };
    for (name, entry) in passed.into_iter().flatten() {
        if find(&trigger.secrets, name).is_none() {
            findings.report(
                entry.key_pos,
                Rule::WorkflowCall,
                format!("secret '{name}' is not defined by reusable workflow '{uses}'; its secrets are: {}", names(&trigger.secrets)),
            );
        }
    }
    for (name, entry) in &trigger.secrets {
        let given = passed.is_some_and(|passed| find(passed, name).is_some());
        if entry.value.required && !given {
            findings.report(
                pos,
                Rule::WorkflowCall,
                format!("secret '{name}' of reusable workflow '{uses}' is required but not given in 'secrets' (or pass them all with 'secrets: inherit')"),
            );
        }
    }
}

fn check_action_inputs(
    findings: &mut Findings<'_>,
    step: &Step,
    action: &Action,
    uses: &str,
    pos: Pos,
) {
    for (name, entry) in &step.with {
        if find(&action.inputs, name).is_none() {
            findings.report(
                entry.key_pos,
                Rule::Action,
                format!(
                    "input '{name}' is not defined by local action '{uses}'; its inputs are: {}",
                    names(&action.inputs)
                ),
            );
        }
    }
    for (name, entry) in &action.inputs {
        let input = &entry.value;
        if input.required && input.default.is_none() && find(&step.with, name).is_none() {
            findings.report(
                pos,
                Rule::Action,
                format!("input '{name}' of local action '{uses}' is required and has no default, but is not given in 'with'"),
            );
        }
    }
}

/// The entry named `name`; GitHub compares input and secret names without case.
fn find<'m, T>(mapping: &'m Mapping<T>, name: &str) -> Option<&'m T> {
    mapping
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, entry)| &entry.value)
}

fn names<T>(mapping: &Mapping<T>) -> String {
    if mapping.is_empty() {
        return "none".to_owned();
    }
    mapping
        .keys()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}
