//! A job calling a reusable workflow: its inputs and secrets, the called workflow's graph run as
//! part of the same run, and its outputs.

use std::sync::Arc;

use indexmap::IndexMap;
use slipway_expr::{JobStatus, Value, WorkspaceHost};
use slipway_store::Conclusion;
use slipway_workflow::JobSecrets;

use crate::eval::Scope;
use crate::job::{JobRun, skipped_record};
use crate::observer::RunEvent;

use super::WorkflowScope;
use super::graph::{InstanceResult, conclude, result_value, run_graph};

/// A job calling a reusable workflow: the called workflow's jobs, run as part of this run.
pub(super) async fn call_workflow(job_run: JobRun, uses: &str) -> InstanceResult {
    let parent = job_run.scope.clone();
    let shared = parent.shared.clone();
    let failed = |message: String| {
        shared.observer.event(RunEvent::Line {
            job: job_run.display.clone(),
            step: None,
            text: message.clone(),
        });
        let mut record = skipped_record(&job_run, Conclusion::Failure);
        record.log = message;
        InstanceResult {
            records: vec![record],
            conclusion: Conclusion::Failure,
            tolerated: false,
            outputs: IndexMap::new(),
        }
    };
    let Some(called) = shared.called.get(uses).cloned() else {
        return failed(format!("'uses: {uses}' was not resolved while planning"));
    };
    let Some(job) = parent.workflow.jobs.get(&job_run.job_id) else {
        return failed(format!("no job '{}'", job_run.job_id));
    };
    let mut contexts = parent.base_contexts();
    contexts.insert(
        "matrix",
        Value::object(job_run.matrix.clone().unwrap_or_default()),
    );
    contexts.insert("strategy", job_run.strategy.clone());
    contexts.insert("needs", job_run.needs.clone());
    let host = WorkspaceHost::new(&shared.project.root, JobStatus::Success);
    let scope_eval = Scope {
        contexts: &contexts,
        host: &host,
        file: &parent.file,
    };
    let given: Result<IndexMap<String, String>, String> = job
        .with
        .iter()
        .map(|(name, entry)| Ok((name.clone(), scope_eval.string(&entry.value)?)))
        .collect();
    let given = match given {
        Ok(given) => given,
        Err(message) => return failed(message),
    };
    let declared = called
        .workflow
        .on
        .get("workflow_call")
        .map(|t| t.inputs.clone())
        .unwrap_or_default();
    let inputs = match slipway_workflow::inputs::resolve(&declared, &given) {
        Ok(inputs) => inputs,
        Err(errors) => {
            return failed(
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            );
        }
    };
    let secrets = match &job.secrets {
        Some(JobSecrets::Inherit(_)) => parent.secrets.clone(),
        Some(JobSecrets::Map(map)) => {
            let values: Result<IndexMap<String, Value>, String> = map
                .iter()
                .map(|(name, entry)| {
                    Ok((name.clone(), Value::from(scope_eval.string(&entry.value)?)))
                })
                .collect();
            match values {
                Ok(values) => Value::object(values),
                Err(message) => return failed(message),
            }
        }
        None => Value::object(IndexMap::new()),
    };
    let scope = WorkflowScope {
        shared: shared.clone(),
        file: called.file.clone(),
        workflow: called.workflow.clone(),
        graph: called.graph.clone(),
        name: parent.name.clone(),
        run_key: parent.run_key.clone(),
        github: parent.github.clone(),
        inputs: Value::object(inputs),
        secrets,
        name_prefix: format!("{} / ", job_run.display),
        id_prefix: format!("{}{}/", parent.id_prefix, job_run.job_id),
        artifacts: parent.artifacts.clone(),
        depth: parent.depth + 1,
        selected: called.workflow.jobs.keys().cloned().collect(),
    };
    let scope = Arc::new(scope);
    let outcome = run_graph(scope.clone(), job_run.cancel.clone()).await;
    let jobs = Value::object(
        outcome
            .results
            .iter()
            .map(|(id, result)| (id.clone(), result_value(result)))
            .collect(),
    );
    let mut output_contexts = scope.base_contexts();
    output_contexts.insert("jobs", jobs);
    let eval = Scope {
        contexts: &output_contexts,
        host: &host,
        file: &called.file,
    };
    let mut outputs = IndexMap::new();
    if let Some(trigger) = called.workflow.on.get("workflow_call") {
        for (name, entry) in &trigger.outputs {
            if let Ok(value) = eval.string(&entry.value.value) {
                outputs.insert(name.clone(), value);
            }
        }
    }
    let conclusion = conclude(&outcome.results, &job_run.cancel);
    let conclusion = if conclusion == Conclusion::Success
        && !outcome.results.is_empty()
        && outcome
            .results
            .values()
            .all(|r| r.conclusion == Conclusion::Skipped)
    {
        Conclusion::Skipped
    } else {
        conclusion
    };
    InstanceResult {
        records: outcome.records,
        conclusion,
        tolerated: false,
        outputs,
    }
}
