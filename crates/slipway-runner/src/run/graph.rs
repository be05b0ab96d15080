//! A workflow's job graph: jobs start when what they need is done, their `if:` and matrix are
//! evaluated then, their instances run within `max-parallel` and the run's limit, and `fail-fast`
//! cancels an instance's siblings.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;
use slipway_expr::{JobStatus, Value, WorkspaceHost};
use slipway_store::{Conclusion, JobRecord};
use slipway_workflow::Job;
use slipway_workflow::matrix::Combination;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::eval::{Scope, string_map};
use crate::job::{self, JobOutcome, JobRun, skipped_record};
use crate::observer::RunEvent;
use crate::plan::filter_matrix;
use crate::trigger::object;

use super::WorkflowScope;
use super::call::call_workflow;
use super::strategy::{expand_matrix, strategy_bool, strategy_number};

/// The result of a job, for the jobs that need it.
#[derive(Debug, Clone)]
pub(super) struct JobResult {
    pub(super) conclusion: Conclusion,
    pub(super) outputs: IndexMap<String, String>,
    /// Every failure had `continue-on-error`.
    pub(super) tolerated: bool,
}

/// The jobs of a graph, run.
pub(super) struct GraphOutcome {
    pub(super) records: Vec<JobRecord>,
    pub(super) results: IndexMap<String, JobResult>,
}

/// A run fails when a job failed without `continue-on-error`; it is cancelled when it was
/// stopped; it succeeds otherwise.
pub(super) fn conclude(
    results: &IndexMap<String, JobResult>,
    cancel: &CancellationToken,
) -> Conclusion {
    if results
        .values()
        .any(|r| r.conclusion == Conclusion::Failure && !r.tolerated)
    {
        Conclusion::Failure
    } else if cancel.is_cancelled()
        || results
            .values()
            .any(|r| r.conclusion == Conclusion::Cancelled)
    {
        Conclusion::Cancelled
    } else {
        Conclusion::Success
    }
}

/// What a started job turned into.
pub(super) enum Start {
    /// It is settled without running: skipped, cancelled, or its settings did not evaluate.
    Settled(JobResult, Vec<JobRecord>),
    /// Its instances, to run.
    Instances(Vec<Instance>),
}

/// One instance of a job.
pub(super) struct Instance {
    matrix: Option<Combination>,
    display: Arc<str>,
    strategy: Value,
}

/// What an instance produced.
pub(super) struct InstanceResult {
    pub(super) records: Vec<JobRecord>,
    pub(super) conclusion: Conclusion,
    pub(super) tolerated: bool,
    pub(super) outputs: IndexMap<String, String>,
}

/// A job's instances in flight.
pub(super) struct Pending {
    total: usize,
    done: Vec<(usize, InstanceResult)>,
    fail_fast: Option<CancellationToken>,
}

/// Runs the selected jobs of `scope` in dependency order.
pub(super) fn run_graph(
    scope: Arc<WorkflowScope>,
    cancel: CancellationToken,
) -> Pin<Box<dyn Future<Output = GraphOutcome> + Send>> {
    Box::pin(async move {
        let mut results: IndexMap<String, JobResult> = IndexMap::new();
        let mut records: Vec<(usize, usize, Vec<JobRecord>)> = Vec::new();
        let mut waiting: Vec<String> = scope.selected.clone();
        let mut pending: HashMap<String, Pending> = HashMap::new();
        let mut running = JoinSet::new();
        loop {
            let mut progressed = true;
            while progressed {
                progressed = false;
                for job_id in waiting.clone() {
                    let ready = scope
                        .graph
                        .needs(&job_id)
                        .iter()
                        .all(|needed| results.contains_key(needed));
                    if !ready {
                        continue;
                    }
                    waiting.retain(|j| j != &job_id);
                    let index = scope
                        .workflow
                        .jobs
                        .get_index_of(&job_id)
                        .unwrap_or(usize::MAX);
                    match start_job(&scope, &job_id, &results, &cancel) {
                        Start::Settled(result, settled) => {
                            records.push((index, 0, settled));
                            results.insert(job_id, result);
                            progressed = true;
                        }
                        Start::Instances(instances) => {
                            // A job starting after the run was cancelled (its `if:` asked for always())
                            // runs to its end; only a forced interrupt stops it.
                            let parent = if cancel.is_cancelled() {
                                scope.shared.interrupt.forced().clone()
                            } else {
                                cancel.clone()
                            };
                            let group = parent.child_token();
                            let fail_fast = fails_fast(&instances).then(|| group.clone());
                            let max_parallel =
                                max_parallel(&instances).map(|n| Arc::new(Semaphore::new(n)));
                            pending.insert(
                                job_id.clone(),
                                Pending {
                                    total: instances.len(),
                                    done: Vec::new(),
                                    fail_fast: fail_fast.clone(),
                                },
                            );
                            let needs = needs_context(&scope, &job_id, &results);
                            for (n, instance) in instances.into_iter().enumerate() {
                                let job_run = JobRun {
                                    scope: scope.clone(),
                                    job_id: job_id.clone(),
                                    display: instance.display,
                                    matrix: instance.matrix,
                                    strategy: instance.strategy,
                                    needs: needs.clone(),
                                    cancel: group.child_token(),
                                };
                                let id = job_id.clone();
                                let limit = max_parallel.clone();
                                running.spawn(async move {
                                    (id, index, n, run_instance(job_run, limit).await)
                                });
                            }
                        }
                    }
                }
            }
            let Some(joined) = running.join_next().await else {
                break;
            };
            let Ok((job_id, index, n, result)) = joined else {
                // A job task panicked; the jobs waiting on it are never ready and end below.
                continue;
            };
            let Some(state) = pending.get_mut(&job_id) else {
                continue;
            };
            if result.conclusion == Conclusion::Failure
                && !result.tolerated
                && let Some(fail_fast) = &state.fail_fast
            {
                fail_fast.cancel();
            }
            state.done.push((n, result));
            if state.done.len() == state.total {
                let Some(mut state) = pending.remove(&job_id) else {
                    continue;
                };
                state.done.sort_by_key(|(n, _)| *n);
                let result = aggregate(&state.done);
                for (n, instance) in state.done {
                    records.push((index, n, instance.records));
                }
                results.insert(job_id, result);
            }
        }
        // Jobs whose needs never settled (a task panicked) are recorded as cancelled.
        for job_id in waiting {
            let index = scope
                .workflow
                .jobs
                .get_index_of(&job_id)
                .unwrap_or(usize::MAX);
            let display: Arc<str> = format!("{}{job_id}", scope.name_prefix).into();
            let job_run = placeholder_run(&scope, &job_id, display, &cancel);
            records.push((
                index,
                0,
                vec![skipped_record(&job_run, Conclusion::Cancelled)],
            ));
            results.insert(
                job_id,
                JobResult {
                    conclusion: Conclusion::Cancelled,
                    outputs: IndexMap::new(),
                    tolerated: false,
                },
            );
        }
        records.sort_by_key(|(index, n, _)| (*index, *n));
        GraphOutcome {
            records: records.into_iter().flat_map(|(_, _, r)| r).collect(),
            results,
        }
    })
}

pub(super) fn placeholder_run(
    scope: &Arc<WorkflowScope>,
    job_id: &str,
    display: Arc<str>,
    cancel: &CancellationToken,
) -> JobRun {
    JobRun {
        scope: scope.clone(),
        job_id: job_id.to_owned(),
        display,
        matrix: None,
        strategy: Value::Null,
        needs: Value::Null,
        cancel: cancel.child_token(),
    }
}

/// The result of a job from its instances: a failure fails it, else a cancellation cancels it,
/// else it succeeded (or was skipped, when every instance was). Outputs are merged in instance
/// order, later non-empty values winning.
pub(super) fn aggregate(done: &[(usize, InstanceResult)]) -> JobResult {
    let conclusions: Vec<Conclusion> = done.iter().map(|(_, r)| r.conclusion).collect();
    let conclusion = if conclusions.contains(&Conclusion::Failure) {
        Conclusion::Failure
    } else if conclusions.contains(&Conclusion::Cancelled) {
        Conclusion::Cancelled
    } else if !conclusions.is_empty() && conclusions.iter().all(|c| *c == Conclusion::Skipped) {
        Conclusion::Skipped
    } else {
        Conclusion::Success
    };
    let mut outputs = IndexMap::new();
    for (_, result) in done {
        for (name, value) in &result.outputs {
            if !value.is_empty() || !outputs.contains_key(name) {
                outputs.insert(name.clone(), value.clone());
            }
        }
    }
    let tolerated = done
        .iter()
        .filter(|(_, r)| r.conclusion == Conclusion::Failure)
        .all(|(_, r)| r.tolerated);
    JobResult {
        conclusion,
        outputs,
        tolerated,
    }
}

/// Waits for a place to run (`max-parallel`, then the run's limit), then runs the instance.
pub(super) async fn run_instance(
    job_run: JobRun,
    max_parallel: Option<Arc<Semaphore>>,
) -> InstanceResult {
    let cancelled = |job_run: &JobRun| InstanceResult {
        records: vec![skipped_record(job_run, Conclusion::Cancelled)],
        conclusion: Conclusion::Cancelled,
        tolerated: false,
        outputs: IndexMap::new(),
    };
    let _limit = match max_parallel {
        Some(limit) => tokio::select! {
            permit = limit.acquire_owned() => permit.ok(),
            () = job_run.cancel.cancelled() => return cancelled(&job_run),
        },
        None => None,
    };
    let calls_workflow = job_run
        .scope
        .workflow
        .jobs
        .get(&job_run.job_id)
        .and_then(|job| job.uses.clone());
    if let Some(uses) = calls_workflow {
        return call_workflow(job_run, &uses.value).await;
    }
    let slots = job_run.scope.shared.slots.clone();
    let _slot = tokio::select! {
        permit = slots.acquire_owned() => permit.ok(),
        () = job_run.cancel.cancelled() => return cancelled(&job_run),
    };
    let JobOutcome {
        record,
        outputs,
        tolerated,
    } = job::run(job_run).await;
    InstanceResult {
        conclusion: record.conclusion,
        records: vec![record],
        tolerated,
        outputs,
    }
}

/// `{result, outputs}` of a job, as the `needs` and `jobs` contexts hold it.
pub(super) fn result_value(result: &JobResult) -> Value {
    object([
        ("result", Value::from(result.conclusion.as_str())),
        ("outputs", string_map(&result.outputs)),
    ])
}

pub(super) fn needs_context(
    scope: &WorkflowScope,
    job_id: &str,
    results: &IndexMap<String, JobResult>,
) -> Value {
    Value::object(
        scope
            .graph
            .needs(job_id)
            .iter()
            .filter_map(|needed| {
                results
                    .get(needed)
                    .map(|r| (needed.clone(), result_value(r)))
            })
            .collect(),
    )
}

/// Evaluates a ready job's `if:` and matrix.
pub(super) fn start_job(
    scope: &Arc<WorkflowScope>,
    job_id: &str,
    results: &IndexMap<String, JobResult>,
    cancel: &CancellationToken,
) -> Start {
    let Some(job) = scope.workflow.jobs.get(job_id) else {
        return Start::Settled(
            JobResult {
                conclusion: Conclusion::Skipped,
                outputs: IndexMap::new(),
                tolerated: false,
            },
            Vec::new(),
        );
    };
    // A job settled before it starts is shown by its name when the name needs no evaluation.
    let name = job
        .name
        .as_ref()
        .filter(|name| name.is_literal())
        .map_or(job_id, |name| name.raw());
    let display: Arc<str> = format!("{}{name}", scope.name_prefix).into();
    let settle = |conclusion: Conclusion, message: Option<String>| {
        let job_run = placeholder_run(scope, job_id, display.clone(), cancel);
        let mut record = skipped_record(&job_run, conclusion);
        if let Some(message) = message {
            scope.shared.observer.event(RunEvent::Line {
                job: display.clone(),
                step: None,
                text: message.clone(),
            });
            record.log = message;
        }
        scope.shared.observer.event(RunEvent::JobFinished {
            workflow: scope.name.clone(),
            job: display.clone(),
            conclusion,
            duration: Duration::ZERO,
        });
        Start::Settled(
            JobResult {
                conclusion,
                outputs: IndexMap::new(),
                tolerated: false,
            },
            vec![record],
        )
    };
    let status = ancestors_status(scope, job_id, results, cancel);
    let mut contexts = scope.base_contexts();
    contexts.insert("needs", needs_context(scope, job_id, results));
    let host = WorkspaceHost::new(&scope.shared.project.root, status);
    let eval = Scope {
        contexts: &contexts,
        host: &host,
        file: &scope.file,
    };
    let runs = match &job.condition {
        Some(condition) => eval.condition(condition),
        None => Ok(status == JobStatus::Success),
    };
    match runs {
        Ok(true) => {}
        Ok(false) if status == JobStatus::Cancelled => return settle(Conclusion::Cancelled, None),
        Ok(false) => return settle(Conclusion::Skipped, None),
        Err(message) => return settle(Conclusion::Failure, Some(message)),
    }
    let combinations = match expand_matrix(job, &eval) {
        Ok(combinations) => combinations,
        Err(message) => return settle(Conclusion::Failure, Some(message)),
    };
    let combinations = match combinations {
        None => vec![None],
        Some(list) => {
            let list = filter_matrix(list, &scope.shared.matrix_filter);
            if list.is_empty() {
                return settle(
                    Conclusion::Skipped,
                    Some("every matrix combination was filtered out".to_owned()),
                );
            }
            list.into_iter().map(Some).collect()
        }
    };
    let total = combinations.len();
    let fail_fast = strategy_bool(job, &eval, |s| s.fail_fast.as_ref()).unwrap_or(true);
    let max_parallel = strategy_number(job, &eval).unwrap_or(total);
    let instances = combinations
        .into_iter()
        .enumerate()
        .map(|(index, matrix)| {
            let mut instance_contexts = contexts.clone();
            instance_contexts.insert("matrix", Value::object(matrix.clone().unwrap_or_default()));
            let instance_eval = Scope {
                contexts: &instance_contexts,
                host: &host,
                file: &scope.file,
            };
            let display = display_name(scope, job, matrix.as_ref(), &instance_eval);
            let strategy = object([
                ("fail-fast", Value::Bool(fail_fast)),
                ("job-index", Value::Number(index as f64)),
                ("job-total", Value::Number(total as f64)),
                ("max-parallel", Value::Number(max_parallel as f64)),
            ]);
            Instance {
                matrix,
                display: display.into(),
                strategy,
            }
        })
        .collect();
    Start::Instances(instances)
}

/// The status the implicit `success()` of a job reads: cancelled with the run; failed when a
/// job it depends on (directly or not) failed; skipped-like when one was skipped or cancelled.
pub(super) fn ancestors_status(
    scope: &WorkflowScope,
    job_id: &str,
    results: &IndexMap<String, JobResult>,
    cancel: &CancellationToken,
) -> JobStatus {
    if cancel.is_cancelled() {
        return JobStatus::Cancelled;
    }
    let ancestors: Vec<&JobResult> = scope
        .graph
        .ancestors(job_id)
        .iter()
        .filter_map(|a| results.get(a))
        .collect();
    if ancestors
        .iter()
        .any(|r| r.conclusion == Conclusion::Failure)
    {
        JobStatus::Failure
    } else if ancestors
        .iter()
        .any(|r| matches!(r.conclusion, Conclusion::Skipped | Conclusion::Cancelled))
    {
        JobStatus::Skipped
    } else {
        JobStatus::Success
    }
}

/// Whether one instance failing cancels the others: `fail-fast`, with several instances.
pub(super) fn fails_fast(instances: &[Instance]) -> bool {
    let fail_fast = instances
        .first()
        .and_then(|i| i.strategy.property("fail-fast"))
        .is_some_and(Value::is_truthy);
    fail_fast && instances.len() > 1
}

/// `max-parallel`, when it limits anything.
pub(super) fn max_parallel(instances: &[Instance]) -> Option<usize> {
    let limit = instances
        .first()
        .and_then(|i| i.strategy.property("max-parallel"))
        .map(Value::to_number)?;
    // A count of jobs.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let limit = limit as usize;
    (limit < instances.len()).then_some(limit.max(1))
}

/// `name:` evaluated, or the id; matrix values are appended unless the name uses the matrix.
pub(super) fn display_name(
    scope: &WorkflowScope,
    job: &Job,
    matrix: Option<&Combination>,
    eval: &Scope<'_>,
) -> String {
    let name = job
        .name
        .as_ref()
        .and_then(|n| eval.string(n).ok())
        .unwrap_or_else(|| job.id.value.clone());
    let uses_matrix = job
        .name
        .as_ref()
        .is_some_and(|n| n.raw().contains("matrix"));
    let name = match matrix {
        Some(combination) if !combination.is_empty() && !uses_matrix => {
            let values: Vec<String> = combination
                .values()
                .map(|v| match v {
                    Value::Array(_) | Value::Object(_) => crate::eval::to_json(v).to_string(),
                    other => other.to_string(),
                })
                .collect();
            format!("{name} ({})", values.join(", "))
        }
        _ => name,
    };
    format!("{}{name}", scope.name_prefix)
}
