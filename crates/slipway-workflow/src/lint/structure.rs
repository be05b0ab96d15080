//! Checks of the workflow's shape: ids, the `needs` graph, event configuration (activity types,
//! cron schedules, filter patterns, input options), matrices, shells, runner labels and
//! positive numbers.

use std::collections::HashMap;

use slipway_expr::Template;

use super::Findings;
use crate::catalog;
use crate::cron;
use crate::diagnostic::{Pos, Rule};
use crate::filter::Pattern;
use crate::graph::{GraphError, JobGraph};
use crate::model::{
    Filter, InputType, Job, Matrix, Rows, RunDefaults, Spanned, TemplateString, Templated, Trigger,
    Workflow,
};

pub(super) fn check(findings: &mut Findings<'_>) {
    let workflow = findings.workflow;
    for trigger in &workflow.on.events {
        check_trigger(findings, trigger);
    }
    check_defaults(findings, workflow.defaults.as_ref());
    check_graph(findings, workflow);
    for job in workflow.jobs.values() {
        check_job(findings, job);
    }
}

/// `[A-Za-z_][A-Za-z0-9_-]*`: what GitHub accepts as a job or step id.
pub(super) fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn check_id(findings: &mut Findings<'_>, kind: &str, id: &Spanned<String>) {
    if !is_valid_id(&id.value) {
        findings.report(
            id.pos,
            Rule::Id,
            format!(
                "invalid {kind} id '{}': it must start with a letter or '_' and contain only letters, digits, '-' and '_'",
                id.value
            ),
        );
    }
}

fn check_trigger(findings: &mut Findings<'_>, trigger: &Trigger) {
    let event = &trigger.name.value;
    if let (Some(types), Some(spec)) = (&trigger.types, catalog::event(event)) {
        for activity in types {
            let known = spec
                .types
                .is_some_and(|known| known.contains(&activity.value.as_str()));
            if !known && !spec.any_type() {
                let allowed = spec
                    .types
                    .map_or_else(|| "none".to_owned(), |t| t.join(", "));
                findings.report(
                    activity.pos,
                    Rule::Events,
                    format!("unknown activity type '{}' for event '{event}'; expected one of: {allowed}", activity.value),
                );
            }
        }
    }
    for cron in &trigger.crons {
        if let Err(e) = cron::validate(&cron.value) {
            findings.report(cron.pos, Rule::Events, e.to_string());
        } else if let Some(minutes) = cron_interval(&cron.value).filter(|m| *m < 5) {
            findings.report(
                cron.pos,
                Rule::Events,
                format!("schedule '{}' runs every {minutes} minute(s), but GitHub runs scheduled workflows at most every 5 minutes", cron.value),
            );
        }
    }
    let filters = [
        &trigger.branches,
        &trigger.branches_ignore,
        &trigger.tags,
        &trigger.tags_ignore,
        &trigger.paths,
        &trigger.paths_ignore,
    ];
    for filter in filters.into_iter().flatten() {
        check_filter(findings, filter);
    }
    if event == "workflow_run" && trigger.workflows.is_empty() {
        findings.report(
            trigger.name.pos,
            Rule::Events,
            "event 'workflow_run' must list the 'workflows' it follows",
        );
    }
    for (name, entry) in &trigger.inputs {
        let input = &entry.value;
        let Some(default) = &input.default else {
            continue;
        };
        let text = default.value.to_string();
        // A caller must pass a required input of a reusable workflow, so its default is never
        // used ("Workflow syntax: on.workflow_call.inputs"). `workflow_dispatch` forms show the
        // default pre-filled, so there it is meaningful.
        if event == "workflow_call" && input.required {
            findings.report(
                default.pos,
                Rule::WorkflowCall,
                format!("input '{name}' is required, so its default '{text}' is never used; remove 'default' or set 'required: false'"),
            );
        }
        // A default may be an expression (evaluated when the workflow is called).
        if Template::contains_expression(&text) {
            continue;
        }
        if input.kind == InputType::Choice && !input.options.iter().any(|o| o.value == text) {
            findings.report(
                default.pos,
                Rule::Events,
                format!("default '{text}' of input '{name}' is not one of its options"),
            );
        }
        if input.kind == InputType::Boolean && !matches!(text.as_str(), "true" | "false") {
            findings.report(
                default.pos,
                Rule::Events,
                format!("default '{text}' of boolean input '{name}' must be true or false"),
            );
        }
    }
}

/// How many minutes apart a schedule's minute field (`*` or `*/N`) fires, when it is that simple.
fn cron_interval(cron: &str) -> Option<u32> {
    match cron.split_whitespace().next()? {
        "*" => Some(1),
        minute => minute.strip_prefix("*/")?.parse().ok(),
    }
}

fn check_filter(findings: &mut Findings<'_>, filter: &Filter) {
    for pattern in &filter.patterns {
        if let Err(e) = Pattern::parse(&pattern.value) {
            findings.report(
                pattern.pos,
                Rule::Glob,
                format!("{e} (at character {})", e.offset + 1),
            );
        }
    }
}

fn check_defaults(findings: &mut Findings<'_>, defaults: Option<&RunDefaults>) {
    if let Some(shell) = defaults.and_then(|d| d.shell.as_ref()) {
        check_shell(findings, shell);
    }
}

fn check_shell(findings: &mut Findings<'_>, shell: &Spanned<String>) {
    let name = shell.value.as_str();
    // An expression (`shell: ${{ env.SHELL }}`) names the shell only when the job runs.
    let known = catalog::BUILTIN_SHELLS.contains(&name)
        || name.contains("{0}")
        || Template::contains_expression(name);
    if !known {
        findings.report(
            shell.pos,
            Rule::ShellName,
            format!(
                "unknown shell '{name}'; use one of {} or a custom command containing '{{0}}' for the script path",
                catalog::BUILTIN_SHELLS.join(", ")
            ),
        );
    }
}

fn check_graph(findings: &mut Findings<'_>, workflow: &Workflow) {
    let Err(errors) = JobGraph::new(workflow) else {
        return;
    };
    for error in errors {
        let pos = match &error {
            GraphError::UnknownJob { pos, .. } => *pos,
            GraphError::Cycle { path } => path
                .first()
                .and_then(|job| workflow.jobs.get(job))
                .map_or(Pos::new(1, 1), |job| job.id.pos),
        };
        findings.report(pos, Rule::JobNeeds, error.to_string());
    }
}

fn check_job(findings: &mut Findings<'_>, job: &Job) {
    check_id(findings, "job", &job.id);
    check_positive(findings, job.timeout_minutes.as_ref(), "timeout-minutes");
    if let Some(strategy) = &job.strategy {
        check_positive(findings, strategy.max_parallel.as_ref(), "max-parallel");
        if let Some(Matrix::Literal(matrix)) = &strategy.matrix
            && let Rows::Literal(rows) = &matrix.exclude
        {
            for row in rows {
                for (key, entry) in &row.value {
                    if !matrix.dimensions.contains_key(key) {
                        findings.report(entry.key_pos, Rule::Matrix, format!("'exclude' names '{key}', which is not a dimension of the matrix of job '{}'", job.id.value));
                    }
                }
            }
        }
    }
    check_defaults(findings, job.defaults.as_ref());
    if let Some(runs_on) = &job.runs_on {
        let literal: Vec<&str> = runs_on
            .labels
            .iter()
            .filter(|l| l.is_literal())
            .map(|l| l.raw())
            .collect();
        let self_hosted = literal
            .iter()
            .any(|l| l.eq_ignore_ascii_case("self-hosted"));
        if runs_on.group.is_none() && !self_hosted {
            for label in runs_on.labels.iter().filter(|l| l.is_literal()) {
                if !catalog::RUNNER_LABELS
                    .iter()
                    .any(|known| known.eq_ignore_ascii_case(label.raw()))
                {
                    findings.report(label.pos(), Rule::RunnerLabel, format!("label '{}' is not a GitHub-hosted runner label; self-hosted runners are selected with 'self-hosted' and their own labels", label.raw()));
                }
            }
            check_conflicting_labels(findings, &runs_on.labels);
        }
    }
    let mut step_ids: HashMap<String, Pos> = HashMap::new();
    for step in &job.steps {
        if let Some(shell) = &step.shell {
            check_shell(findings, shell);
        }
        check_positive(findings, step.timeout_minutes.as_ref(), "timeout-minutes");
        let Some(id) = &step.id else {
            continue;
        };
        check_id(findings, "step", id);
        match step_ids.get(&id.value.to_ascii_lowercase()) {
            Some(first) => findings.report(
                id.pos,
                Rule::Id,
                format!(
                    "step id '{}' is already used at line {} in job '{}'",
                    id.value, first.line, job.id.value
                ),
            ),
            None => {
                step_ids.insert(id.value.to_ascii_lowercase(), id.pos);
            }
        }
    }
}

/// GitHub runs a job on a runner that has every label listed, and a GitHub-hosted runner has
/// one operating system: `[ubuntu-latest, windows-latest]` matches no runner, and the job waits
/// forever. Reports each label whose system differs from the first one listed.
fn check_conflicting_labels(findings: &mut Findings<'_>, labels: &[TemplateString]) {
    let system = |label: &str| {
        let label = label.to_ascii_lowercase();
        ["ubuntu", "windows", "macos"]
            .into_iter()
            .find(|system| label.starts_with(system))
    };
    let mut first: Option<(&str, &str)> = None;
    for label in labels.iter().filter(|l| l.is_literal()) {
        let Some(this) = system(label.raw()) else {
            continue;
        };
        match first {
            None => first = Some((this, label.raw())),
            Some((system, name)) if system != this => findings.report(
                label.pos(),
                Rule::RunnerLabel,
                format!("label '{}' asks for another operating system than '{name}', so no runner has both; to run the job on each, use a matrix", label.raw()),
            ),
            Some(_) => {}
        }
    }
}

fn check_positive(findings: &mut Findings<'_>, value: Option<&Templated<f64>>, key: &str) {
    if let Some(Templated::Literal(n)) = value
        && n.value <= 0.0
    {
        findings.report(
            n.pos,
            Rule::SyntaxCheck,
            format!("'{key}' must be a positive number, not {}", n.value),
        );
    }
}
