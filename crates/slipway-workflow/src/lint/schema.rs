//! The type of each context, from GitHub's "Contexts reference" and the workflow itself: the
//! fixed contexts (`github`, `runner`, `job`, `strategy`) are strict objects, `env`, `secrets`
//! and `vars` map names to strings, and `steps`, `needs`, `jobs`, `matrix` and `inputs` are
//! typed from the steps, jobs, matrix and inputs the workflow declares. Unknown step ids, jobs,
//! matrix keys and inputs are left `any` here: the resolution checks report them with a
//! clearer message.

use super::actions;
use super::types::{Object, Ty};
use crate::model::{Dimension, InputType, Job, Matrix, Rows, Step, StepAction, Workflow};

/// The documented properties of the `github` context; `event` is the webhook payload, typed
/// loosely since its shape depends on the event.
const GITHUB_STRINGS: &[&str] = &[
    "action",
    "action_path",
    "action_ref",
    "action_repository",
    "action_status",
    "actor",
    "actor_id",
    "api_url",
    "base_ref",
    "env",
    "event_name",
    "event_path",
    "graphql_url",
    "head_ref",
    "job",
    "path",
    "ref",
    "ref_name",
    "ref_type",
    "repository",
    "repository_id",
    "repository_owner",
    "repository_owner_id",
    "repositoryurl",
    "retention_days",
    "run_attempt",
    "run_id",
    "run_number",
    "secret_source",
    "server_url",
    "sha",
    "token",
    "triggering_actor",
    "workflow",
    "workflow_ref",
    "workflow_sha",
    "workspace",
];

fn github() -> Ty {
    let mut object = Object::strict(GITHUB_STRINGS.iter().map(|k| (*k, Ty::String)));
    object.insert("event", Ty::object(Object::map(Ty::Any)));
    object.insert("ref_protected", Ty::Bool);
    Ty::object(object)
}

fn runner() -> Ty {
    Ty::object(Object::strict(
        [
            "name",
            "os",
            "arch",
            "temp",
            "tool_cache",
            "debug",
            "environment",
        ]
        .map(|k| (k, Ty::String)),
    ))
}

fn container_info() -> Object {
    Object::strict([("id", Ty::String), ("network", Ty::String)])
}

fn job_context() -> Ty {
    let mut service = container_info();
    service.insert("ports", Ty::object(Object::map(Ty::String)));
    let mut object = Object::strict(
        [
            "status",
            "check_run_id",
            "workflow_ref",
            "workflow_sha",
            "workflow_repository",
            "workflow_file_path",
        ]
        .map(|k| (k, Ty::String)),
    );
    object.insert("container", Ty::object(container_info()));
    object.insert("services", Ty::object(Object::map(Ty::object(service))));
    Ty::object(object)
}

fn strategy() -> Ty {
    Ty::object(Object::strict([
        ("fail-fast", Ty::Bool),
        ("job-index", Ty::Number),
        ("job-total", Ty::Number),
        ("max-parallel", Ty::Number),
    ]))
}

/// `secrets`: any name, except in a workflow only called (`on: workflow_call` alone) that
/// declares its secrets: it receives those and `GITHUB_TOKEN` ("Reusing workflows: Using inputs
/// and secrets in a reusable workflow"). A caller's `secrets: inherit` passes more, which is
/// why a workflow that writes no `secrets:` key is left open.
fn secrets(workflow: &Workflow) -> Ty {
    let declared = match workflow.on.events.as_slice() {
        [only] if only.name.value == "workflow_call" && only.declares_secrets => &only.secrets,
        _ => return Ty::object(Object::map(Ty::String)),
    };
    Ty::object(Object::strict(
        declared
            .keys()
            .map(|name| (name.as_str(), Ty::String))
            .chain([("github_token", Ty::String)]),
    ))
}

/// `{outputs, result}` of a needed job (or of `jobs.<id>` in a reusable workflow's outputs).
fn job_result() -> Ty {
    Ty::object(Object::strict([
        ("outputs", Ty::object(Object::map(Ty::String))),
        ("result", Ty::String),
    ]))
}

/// `steps.<id>`: a well-known action's outputs are the ones it declares; other steps may set
/// any output.
fn step_result(step: &Step) -> Ty {
    let known = match &step.action {
        StepAction::Uses(uses) => actions::known_action(&uses.value),
        StepAction::Run(_) => None,
    };
    let outputs = match known {
        Some(action) if !action.sets_any_output() => {
            Object::strict(action.outputs.iter().map(|o| (*o, Ty::String)))
        }
        _ => Object::map(Ty::String),
    };
    Ty::object(Object::strict([
        ("outputs", Ty::object(outputs)),
        ("outcome", Ty::String),
        ("conclusion", Ty::String),
    ]))
}

fn steps(job: &Job, before: usize) -> Ty {
    let with_ids = job.steps[..before.min(job.steps.len())]
        .iter()
        .filter_map(|s| s.id.as_ref().map(|id| (id.value.as_str(), step_result(s))));
    Ty::object(Object::strict(with_ids).with_rest(Ty::Any))
}

fn needs(job: &Job) -> Ty {
    Ty::object(
        Object::strict(job.needs.iter().map(|n| (n.value.as_str(), job_result())))
            .with_rest(Ty::Any),
    )
}

fn jobs(workflow: &Workflow) -> Ty {
    Ty::object(
        Object::strict(workflow.jobs.keys().map(|id| (id.as_str(), job_result())))
            .with_rest(Ty::Any),
    )
}

fn matrix(job: &Job) -> Ty {
    let Some(Matrix::Literal(def)) = job.strategy.as_ref().and_then(|s| s.matrix.as_ref()) else {
        return Ty::Any;
    };
    let mut object = Object::default().with_rest(Ty::Any);
    for (name, dimension) in &def.dimensions {
        let ty = match &dimension.value {
            Dimension::Values(values) => Ty::merge_all(values.iter().map(Ty::of_value)),
            Dimension::Expr(_) => Ty::Any,
        };
        object.insert(name, ty);
    }
    match &def.include {
        Rows::Literal(rows) => {
            for row in rows {
                for (key, entry) in &row.value {
                    object.insert(key, Ty::of_value(&entry.value));
                }
            }
        }
        Rows::Expr(_) => return Ty::Any,
    }
    Ty::object(object)
}

fn inputs(workflow: &Workflow) -> Ty {
    let mut object = Object::default().with_rest(Ty::Any);
    for trigger in &workflow.on.events {
        for (name, input) in &trigger.inputs {
            let ty = match input.value.kind {
                InputType::Boolean => Ty::Bool,
                InputType::Number => Ty::Number,
                _ => Ty::String,
            };
            object.insert(name, ty);
        }
    }
    Ty::object(object)
}

/// The type of context `name` (lower case) for an expression in `job` (if any) after
/// `steps_before` of its steps; `None` for names that are not contexts.
pub(super) fn context(
    workflow: &Workflow,
    job: Option<&Job>,
    steps_before: usize,
    name: &str,
) -> Option<Ty> {
    let ty = match name {
        "github" => github(),
        "runner" => runner(),
        "job" => job_context(),
        "strategy" => strategy(),
        "secrets" => secrets(workflow),
        "env" | "vars" => Ty::object(Object::map(Ty::String)),
        "jobs" => jobs(workflow),
        "inputs" => inputs(workflow),
        "steps" => job.map_or(Ty::Any, |j| steps(j, steps_before)),
        "needs" => job.map_or(Ty::Any, needs),
        "matrix" => job.map_or(Ty::Any, matrix),
        _ => return None,
    };
    Some(ty)
}
