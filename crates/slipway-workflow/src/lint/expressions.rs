//! Checks every expression against where it is written.
//!
//! GitHub's "Context availability" table says which contexts and special functions each
//! workflow key may use ([`Place`]). Beyond availability, references must resolve: `needs.X`
//! only for jobs in `needs:` (and their declared outputs), `steps.X` only for steps before the
//! current one, `matrix.X` only for keys the matrix defines, `inputs.X` only for declared inputs,
//! and `jobs.X` only for jobs of the workflow. An `if:` mixing `${{ }}` with other text is a
//! string, hence always true, and `uses:` cannot hold expressions.

use slipway_expr::{BinaryOp, Expr, ExprKind, Function, Literal, Template};

use super::Findings;
use super::schema;
use super::types::{Ty, Typer};
use super::untrusted;
use crate::diagnostic::{Pos, Rule};
use crate::model::{
    Container, Credentials, Dimension, Env, IfCondition, Job, JobSecrets, Matrix, Rows,
    RunDefaults, Step, StepAction, TemplateString, Templated, Workflow,
};
use crate::yaml::PosMap;

/// Which special functions a place allows besides the general ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Special {
    None,
    HashFiles,
    Status,
    StatusAndHashFiles,
}

/// A workflow key and what expressions written there may use.
#[derive(Debug, Clone, Copy)]
struct Place {
    key: &'static str,
    contexts: &'static [&'static str],
    special: Special,
}

const fn place(key: &'static str, contexts: &'static [&'static str], special: Special) -> Place {
    Place {
        key,
        contexts,
        special,
    }
}

const ALL_CONTEXTS: &[&str] = &[
    "github", "env", "vars", "job", "jobs", "steps", "runner", "secrets", "strategy", "matrix",
    "needs", "inputs",
];
const GIV: &[&str] = &["github", "inputs", "vars"];
const JOB_BASIC: &[&str] = &["github", "needs", "strategy", "matrix", "vars", "inputs"];
const JOB_WITH_SECRETS: &[&str] = &[
    "github", "needs", "strategy", "matrix", "secrets", "vars", "inputs",
];
const JOB_CREDENTIALS: &[&str] = &[
    "github", "needs", "strategy", "matrix", "env", "vars", "secrets", "inputs",
];
const JOB_CONTAINER_ENV: &[&str] = &[
    "github", "needs", "strategy", "matrix", "job", "runner", "env", "vars", "secrets", "inputs",
];
const JOB_ENVIRONMENT_URL: &[&str] = &[
    "github", "needs", "strategy", "matrix", "job", "runner", "env", "vars", "steps", "inputs",
];
const JOB_OUTPUTS: &[&str] = &[
    "github", "needs", "strategy", "matrix", "job", "runner", "env", "vars", "secrets", "steps",
    "inputs",
];
const STEP: &[&str] = JOB_OUTPUTS;
const STEP_IF: &[&str] = JOB_ENVIRONMENT_URL;

const RUN_NAME: Place = place("run-name", GIV, Special::None);
const WORKFLOW_CONCURRENCY: Place = place("concurrency", GIV, Special::None);
const WORKFLOW_ENV: Place = place(
    "env",
    &["github", "secrets", "inputs", "vars"],
    Special::None,
);
const WORKFLOW_DEFAULTS: Place = place(
    "defaults.run",
    &["github", "env", "vars", "inputs"],
    Special::None,
);
const CALL_OUTPUT: Place = place(
    "on.workflow_call.outputs.<output_id>.value",
    &["github", "jobs", "vars", "inputs"],
    Special::None,
);
const JOB_CONCURRENCY: Place = place("jobs.<job_id>.concurrency", JOB_BASIC, Special::None);
const JOB_CONTAINER: Place = place("jobs.<job_id>.container", JOB_BASIC, Special::None);
const JOB_CONTAINER_CREDENTIALS: Place = place(
    "jobs.<job_id>.container.credentials",
    JOB_CREDENTIALS,
    Special::None,
);
const JOB_CONTAINER_ENV_PLACE: Place = place(
    "jobs.<job_id>.container.env.<env_id>",
    JOB_CONTAINER_ENV,
    Special::None,
);
const JOB_CONTINUE_ON_ERROR: Place =
    place("jobs.<job_id>.continue-on-error", JOB_BASIC, Special::None);
const JOB_DEFAULTS: Place = place(
    "jobs.<job_id>.defaults.run",
    &[
        "github", "needs", "strategy", "matrix", "env", "vars", "inputs",
    ],
    Special::None,
);
const JOB_ENV: Place = place("jobs.<job_id>.env", JOB_WITH_SECRETS, Special::None);
const JOB_ENVIRONMENT: Place = place("jobs.<job_id>.environment", JOB_BASIC, Special::None);
const JOB_ENVIRONMENT_URL_PLACE: Place = place(
    "jobs.<job_id>.environment.url",
    JOB_ENVIRONMENT_URL,
    Special::None,
);
const JOB_IF: Place = place(
    "jobs.<job_id>.if",
    &["github", "needs", "vars", "inputs"],
    Special::Status,
);
const JOB_NAME: Place = place("jobs.<job_id>.name", JOB_BASIC, Special::None);
const JOB_OUTPUTS_PLACE: Place = place(
    "jobs.<job_id>.outputs.<output_id>",
    JOB_OUTPUTS,
    Special::None,
);
const JOB_RUNS_ON: Place = place("jobs.<job_id>.runs-on", JOB_BASIC, Special::None);
const JOB_SECRETS: Place = place(
    "jobs.<job_id>.secrets.<secrets_id>",
    JOB_WITH_SECRETS,
    Special::None,
);
const JOB_SERVICES: Place = place("jobs.<job_id>.services", JOB_BASIC, Special::None);
const JOB_SERVICE_CREDENTIALS: Place = place(
    "jobs.<job_id>.services.<service_id>.credentials",
    JOB_CREDENTIALS,
    Special::None,
);
const JOB_SERVICE_ENV: Place = place(
    "jobs.<job_id>.services.<service_id>.env.<env_id>",
    JOB_CONTAINER_ENV,
    Special::None,
);
const JOB_STRATEGY: Place = place(
    "jobs.<job_id>.strategy",
    &["github", "needs", "vars", "inputs"],
    Special::None,
);
/// Taken after the steps ran, so it sees them ("Using custom images": `snapshot.if`).
const JOB_SNAPSHOT_IF: Place = place(
    "jobs.<job_id>.snapshot.if",
    &[
        "github", "needs", "strategy", "matrix", "job", "runner", "env", "vars", "secrets",
        "steps", "inputs",
    ],
    Special::Status,
);
const JOB_TIMEOUT: Place = place("jobs.<job_id>.timeout-minutes", JOB_BASIC, Special::None);
const JOB_WITH: Place = place("jobs.<job_id>.with.<with_id>", JOB_BASIC, Special::None);
const STEP_CONTINUE_ON_ERROR: Place = place(
    "jobs.<job_id>.steps.continue-on-error",
    STEP,
    Special::HashFiles,
);
const STEP_ENV: Place = place("jobs.<job_id>.steps.env", STEP, Special::HashFiles);
const STEP_IF_PLACE: Place = place(
    "jobs.<job_id>.steps.if",
    STEP_IF,
    Special::StatusAndHashFiles,
);
const STEP_NAME: Place = place("jobs.<job_id>.steps.name", STEP, Special::HashFiles);
const STEP_RUN: Place = place("jobs.<job_id>.steps.run", STEP, Special::HashFiles);
const STEP_TIMEOUT: Place = place(
    "jobs.<job_id>.steps.timeout-minutes",
    STEP,
    Special::HashFiles,
);
const STEP_WITH: Place = place("jobs.<job_id>.steps.with", STEP, Special::HashFiles);
const STEP_WORKING_DIRECTORY: Place = place(
    "jobs.<job_id>.steps.working-directory",
    STEP,
    Special::HashFiles,
);

/// Where an expression sits: the job and how many of its steps come before it (all of them for
/// job outputs, none outside steps).
#[derive(Clone, Copy)]
struct Scope<'w> {
    job: Option<&'w Job>,
    steps_before: usize,
}

pub(super) fn check(findings: &mut Findings<'_>) {
    let workflow = findings.workflow;
    let mut checker = Checker { findings, workflow };
    checker.workflow_level();
    for job in workflow.jobs.values() {
        checker.job(job);
    }
}

struct Checker<'a, 'w> {
    findings: &'a mut Findings<'w>,
    workflow: &'w Workflow,
}

impl<'w> Checker<'_, 'w> {
    fn workflow_level(&mut self) {
        let none = Scope {
            job: None,
            steps_before: 0,
        };
        let workflow = self.workflow;
        if let Some(run_name) = &workflow.run_name {
            self.text(run_name, RUN_NAME, none);
        }
        if let Some(concurrency) = &workflow.concurrency {
            self.template(&concurrency.group, WORKFLOW_CONCURRENCY, none);
            self.templated(
                concurrency.cancel_in_progress.as_ref(),
                WORKFLOW_CONCURRENCY,
                none,
            );
        }
        self.env(&workflow.env, WORKFLOW_ENV, none);
        self.defaults(workflow.defaults.as_ref(), WORKFLOW_DEFAULTS, none);
        for trigger in &workflow.on.events {
            if trigger.name.value != "workflow_call" {
                continue;
            }
            for output in trigger.outputs.values() {
                self.template(&output.value.value, CALL_OUTPUT, none);
            }
        }
    }

    fn job(&mut self, job: &'w Job) {
        let scope = Scope {
            job: Some(job),
            steps_before: 0,
        };
        if let Some(name) = &job.name {
            self.text(name, JOB_NAME, scope);
        }
        if let Some(condition) = &job.condition {
            self.condition(condition, JOB_IF, scope);
        }
        if let Some(runs_on) = &job.runs_on {
            for label in runs_on.labels.iter().chain(&runs_on.group) {
                self.template(label, JOB_RUNS_ON, scope);
            }
        }
        if let Some(environment) = &job.environment {
            self.template(&environment.name, JOB_ENVIRONMENT, scope);
            if let Some(url) = &environment.url {
                let all_steps = Scope {
                    steps_before: job.steps.len(),
                    ..scope
                };
                self.template(url, JOB_ENVIRONMENT_URL_PLACE, all_steps);
            }
        }
        let all_steps = Scope {
            steps_before: job.steps.len(),
            ..scope
        };
        for output in job.outputs.values() {
            self.text(&output.value, JOB_OUTPUTS_PLACE, all_steps);
        }
        if let Some(condition) = job.snapshot.as_ref().and_then(|s| s.condition.as_ref()) {
            self.condition(condition, JOB_SNAPSHOT_IF, all_steps);
        }
        self.env(&job.env, JOB_ENV, scope);
        self.defaults(job.defaults.as_ref(), JOB_DEFAULTS, scope);
        self.templated(job.timeout_minutes.as_ref(), JOB_TIMEOUT, scope);
        self.templated(job.continue_on_error.as_ref(), JOB_CONTINUE_ON_ERROR, scope);
        if let Some(strategy) = &job.strategy {
            self.templated(strategy.fail_fast.as_ref(), JOB_STRATEGY, scope);
            self.templated(strategy.max_parallel.as_ref(), JOB_STRATEGY, scope);
            if let Some(matrix) = &strategy.matrix {
                self.matrix(matrix, scope);
            }
        }
        if let Some(container) = &job.container {
            self.container(
                container,
                JOB_CONTAINER,
                JOB_CONTAINER_CREDENTIALS,
                JOB_CONTAINER_ENV_PLACE,
                scope,
            );
        }
        for service in job.services.values() {
            self.container(
                &service.value,
                JOB_SERVICES,
                JOB_SERVICE_CREDENTIALS,
                JOB_SERVICE_ENV,
                scope,
            );
        }
        for value in job.with.values() {
            self.template(&value.value, JOB_WITH, scope);
        }
        if let Some(JobSecrets::Map(secrets)) = &job.secrets {
            for value in secrets.values() {
                self.template(&value.value, JOB_SECRETS, scope);
            }
        }
        if let Some(concurrency) = &job.concurrency {
            self.template(&concurrency.group, JOB_CONCURRENCY, scope);
            self.templated(
                concurrency.cancel_in_progress.as_ref(),
                JOB_CONCURRENCY,
                scope,
            );
        }
        if let Some(uses) = &job.uses {
            self.no_expression_in_uses(&uses.value, uses.pos);
        }
        for (index, step) in job.steps.iter().enumerate() {
            self.step(
                step,
                Scope {
                    job: Some(job),
                    steps_before: index,
                },
            );
        }
    }

    fn step(&mut self, step: &'w Step, scope: Scope<'w>) {
        if let Some(name) = &step.name {
            self.text(name, STEP_NAME, scope);
        }
        if let Some(condition) = &step.condition {
            self.condition(condition, STEP_IF_PLACE, scope);
        }
        match &step.action {
            StepAction::Run(run) => {
                self.text(run, STEP_RUN, scope);
                self.untrusted(run, "the script");
            }
            StepAction::Uses(uses) => self.no_expression_in_uses(&uses.value, uses.pos),
        }
        if let Some(dir) = &step.working_directory {
            self.text(dir, STEP_WORKING_DIRECTORY, scope);
        }
        for (name, value) in &step.with {
            self.text(&value.value, STEP_WITH, scope);
            if name == "script" && runs_github_script(step) {
                self.untrusted(&value.value, "the github-script script");
            }
        }
        self.env(&step.env, STEP_ENV, scope);
        self.templated(
            step.continue_on_error.as_ref(),
            STEP_CONTINUE_ON_ERROR,
            scope,
        );
        self.templated(step.timeout_minutes.as_ref(), STEP_TIMEOUT, scope);
    }

    fn untrusted(&mut self, script: &TemplateString, what: &str) {
        for expr in script.template().expressions() {
            for (span, path) in untrusted::untrusted_values(expr) {
                self.findings.report_in(
                    script,
                    span.start,
                    Rule::UntrustedInput,
                    format!("'{path}' can be set by anyone and is expanded into {what}, where it runs as code; pass it in 'env:' and use the variable instead"),
                );
            }
        }
    }

    fn no_expression_in_uses(&mut self, uses: &str, pos: Pos) {
        if uses.contains("${{") {
            self.findings.report(pos, Rule::Expression, format!("'uses: {uses}' cannot contain expressions; GitHub resolves actions before any context exists"));
        }
    }

    fn matrix(&mut self, matrix: &Matrix, scope: Scope<'w>) {
        match matrix {
            Matrix::Expr(template) => self.template(template, JOB_STRATEGY, scope),
            Matrix::Literal(def) => {
                for dimension in def.dimensions.values() {
                    if let Dimension::Expr(template) = &dimension.value {
                        self.template(template, JOB_STRATEGY, scope);
                    }
                }
                for rows in [&def.include, &def.exclude] {
                    if let Rows::Expr(template) = rows {
                        self.template(template, JOB_STRATEGY, scope);
                    }
                }
            }
        }
    }

    fn container(
        &mut self,
        container: &'w Container,
        place: Place,
        credentials: Place,
        env: Place,
        scope: Scope<'w>,
    ) {
        let plain = container
            .image
            .iter()
            .chain(&container.ports)
            .chain(&container.volumes)
            .chain(&container.options)
            .chain(&container.entrypoint)
            .chain(&container.command);
        for template in plain {
            self.template(template, place, scope);
        }
        match &container.credentials {
            Some(Credentials::Pair { username, password }) => {
                self.template(username, credentials, scope);
                self.template(password, credentials, scope);
            }
            Some(Credentials::Expr(template)) => {
                self.object_template(template, credentials, scope, "'credentials'");
            }
            None => {}
        }
        self.env(&container.env, env, scope);
    }

    fn env(&mut self, env: &'w Env, place: Place, scope: Scope<'w>) {
        match env {
            Env::Map(map) => {
                for (name, value) in map {
                    if let Some(key) = key_template(name, value.key_pos) {
                        self.template(&key, place, scope);
                    }
                    self.text(&value.value, place, scope);
                }
            }
            Env::Expr(template) => self.object_template(template, place, scope, "'env'"),
        }
    }

    fn defaults(&mut self, defaults: Option<&'w RunDefaults>, place: Place, scope: Scope<'w>) {
        if let Some(dir) = defaults.and_then(|d| d.working_directory.as_ref()) {
            self.template(dir, place, scope);
        }
    }

    fn templated<T>(&mut self, value: Option<&'w Templated<T>>, place: Place, scope: Scope<'w>) {
        if let Some(Templated::Expr(template)) = value {
            self.template(template, place, scope);
        }
    }

    fn template(&mut self, template: &TemplateString, place: Place, scope: Scope<'w>) {
        for expr in template.template().expressions() {
            self.expr(expr, template, place, scope);
            self.types(expr, template, scope);
        }
    }

    /// A value that must be an object (`credentials: ${{ ... }}`, `env: ${{ ... }}`): a lone
    /// expression whose type is known to be something else is reported.
    fn object_template(
        &mut self,
        template: &TemplateString,
        place: Place,
        scope: Scope<'w>,
        what: &str,
    ) {
        let raw = template.raw().trim();
        let mut expressions = template.template().expressions();
        let (Some(expr), None) = (expressions.next(), expressions.next()) else {
            return self.template(template, place, scope);
        };
        self.expr(expr, template, place, scope);
        let ty = self.types(expr, template, scope);
        let lone = raw.starts_with("${{") && raw.ends_with("}}");
        if lone && !matches!(ty, Ty::Any | Ty::Object(_)) {
            self.findings.report_in(
                template,
                expr.span().start,
                Rule::Expression,
                format!("{what} must be an object, but this expression is of type {ty}"),
            );
        }
    }

    /// A value GitHub turns into text (a script, a name, an input): an object or array there
    /// becomes `Object` or `Array`, which is never what was meant. (Null becomes the empty
    /// string, which matrices use on purpose.)
    fn text(&mut self, template: &TemplateString, place: Place, scope: Scope<'w>) {
        for expr in template.template().expressions() {
            self.expr(expr, template, place, scope);
            let ty = self.types(expr, template, scope);
            if matches!(ty, Ty::Object(_) | Ty::Array { .. }) {
                self.findings.report_in(
                    template,
                    expr.span().start,
                    Rule::Expression,
                    format!("a value of type {ty} is written into text, where it becomes meaningless; use toJSON() to write its content"),
                );
            }
        }
    }

    /// Infers the type of `expr`, reporting type errors; returns the type.
    fn types(&mut self, expr: &Expr, source: &TemplateString, scope: Scope<'w>) -> Ty {
        let workflow = self.workflow;
        let context = |name: &str| schema::context(workflow, scope.job, scope.steps_before, name);
        let mut typer = Typer::new(&context);
        let ty = typer.infer(expr);
        for error in typer.errors {
            self.findings
                .report_in(source, error.span.start, Rule::Expression, error.message);
        }
        ty
    }

    fn condition(&mut self, condition: &IfCondition, place: Place, scope: Scope<'w>) {
        match condition.condition.expression() {
            Some(expr) => {
                self.expr(expr, &condition.source, place, scope);
                self.types(expr, &condition.source, scope);
                self.constant_condition(expr, condition);
            }
            None => {
                self.findings.report(
                    condition.pos,
                    Rule::Expression,
                    format!("'if: {}' mixes ${{{{ }}}} with other text, so it is a non-empty string and always true; put the whole condition inside ${{{{ }}}}", condition.source.raw().trim()),
                );
                self.template(&condition.source, place, scope);
            }
        }
    }

    /// `if: true` (or any literal): the condition never changes, so the `if:` only misleads.
    fn constant_condition(&mut self, expr: &Expr, condition: &IfCondition) {
        let evaluated = match expr.kind() {
            ExprKind::Binary {
                op: BinaryOp::And,
                left,
                right,
            } if matches!(left.kind(), ExprKind::Call(c) if c.function() == Function::Success) => {
                right
            }
            _ => expr,
        };
        if let ExprKind::Literal(literal) = evaluated.kind() {
            let value = match literal {
                Literal::Null => false,
                Literal::Bool(b) => *b,
                Literal::Number(n) => *n != 0.0 && !n.is_nan(),
                Literal::String(s) => !s.is_empty(),
            };
            self.findings.report(
                condition.pos,
                Rule::IfCond,
                format!("'if: {}' is a constant, always {value}; remove the 'if:' (or the job or step, if it must never run)", condition.source.raw().trim()),
            );
        }
    }

    /// Checks one expression: functions and contexts available at `place`, and references
    /// that resolve.
    fn expr(&mut self, expr: &Expr, source: &TemplateString, place: Place, scope: Scope<'w>) {
        let pos = super::anchored(source, expr.span().start);
        if let Some(path) = expr.context_path() {
            self.context_path(&path, pos, place, scope);
            return;
        }
        match expr.kind() {
            ExprKind::Literal(_) | ExprKind::Context(_) => {}
            ExprKind::Property { target, .. }
            | ExprKind::Filter(target)
            | ExprKind::Not(target) => {
                self.expr(target, source, place, scope);
            }
            ExprKind::Index { target, index } => {
                self.expr(target, source, place, scope);
                self.expr(index, source, place, scope);
            }
            ExprKind::Binary { left, right, .. } => {
                self.expr(left, source, place, scope);
                self.expr(right, source, place, scope);
            }
            ExprKind::Call(call) => {
                self.function(call.function(), pos, place);
                for arg in call.args() {
                    self.expr(arg, source, place, scope);
                }
            }
        }
    }

    fn function(&mut self, function: Function, pos: Pos, place: Place) {
        let allowed = match function {
            Function::HashFiles => matches!(
                place.special,
                Special::HashFiles | Special::StatusAndHashFiles
            ),
            f if f.is_status() => {
                matches!(place.special, Special::Status | Special::StatusAndHashFiles)
            }
            _ => true,
        };
        if !allowed {
            self.findings.report(
                pos,
                Rule::Expression,
                format!(
                    "function '{}' is not available in '{}'",
                    function.name(),
                    place.key
                ),
            );
        }
    }

    fn context_path(&mut self, path: &[&str], pos: Pos, place: Place, scope: Scope<'w>) {
        let name = path[0].to_ascii_lowercase();
        if !ALL_CONTEXTS.contains(&name.as_str()) {
            self.findings.report(
                pos,
                Rule::Expression,
                format!(
                    "unknown context '{}'; contexts are: {}",
                    path[0],
                    ALL_CONTEXTS.join(", ")
                ),
            );
            return;
        }
        if !place.contexts.contains(&name.as_str()) {
            self.findings.report(
                pos,
                Rule::Expression,
                format!(
                    "context '{name}' is not available in '{}'; available contexts: {}",
                    place.key,
                    place.contexts.join(", ")
                ),
            );
            return;
        }
        let Some(key) = path.get(1) else {
            return;
        };
        match name.as_str() {
            "needs" => self.needs_reference(key, path.get(2..).unwrap_or_default(), pos, scope),
            "steps" => self.steps_reference(key, pos, scope),
            "matrix" => self.matrix_reference(key, pos, scope),
            "inputs" => self.inputs_reference(key, pos),
            "jobs" => self.jobs_reference(key, path.get(2..).unwrap_or_default(), pos),
            _ => {}
        }
    }

    fn needs_reference(&mut self, needed: &str, rest: &[&str], pos: Pos, scope: Scope<'w>) {
        let Some(job) = scope.job else {
            return;
        };
        if !job
            .needs
            .iter()
            .any(|n| n.value.eq_ignore_ascii_case(needed))
        {
            self.findings.report(
                pos,
                Rule::Expression,
                format!(
                    "'needs.{needed}' does not resolve: job '{}' does not need '{needed}'",
                    job.id.value
                ),
            );
            return;
        }
        if let ["outputs", output, ..] = rest {
            self.output_reference("needs", needed, output, pos);
        }
    }

    fn jobs_reference(&mut self, id: &str, rest: &[&str], pos: Pos) {
        if !self
            .workflow
            .jobs
            .keys()
            .any(|j| j.eq_ignore_ascii_case(id))
        {
            self.findings.report(
                pos,
                Rule::Expression,
                format!("'jobs.{id}' does not resolve: the workflow has no job '{id}'"),
            );
            return;
        }
        if let ["outputs", output, ..] = rest {
            self.output_reference("jobs", id, output, pos);
        }
    }

    fn output_reference(&mut self, context: &str, id: &str, output: &str, pos: Pos) {
        let Some(job) = self
            .workflow
            .jobs
            .values()
            .find(|j| j.id.value.eq_ignore_ascii_case(id))
        else {
            return;
        };
        // A reusable-workflow call's outputs are declared in the called file, known when it is
        // in the same repository.
        let declared = if job.uses.is_some() {
            match self.findings.local.called_trigger(job) {
                Some(called) => called
                    .outputs
                    .keys()
                    .any(|o| o.eq_ignore_ascii_case(output)),
                None => true,
            }
        } else {
            job.outputs.keys().any(|o| o.eq_ignore_ascii_case(output))
        };
        if !declared {
            self.findings.report(pos, Rule::Expression, format!("'{context}.{id}.outputs.{output}' does not resolve: job '{id}' has no output '{output}'"));
        }
    }

    fn steps_reference(&mut self, id: &str, pos: Pos, scope: Scope<'w>) {
        let Some(job) = scope.job else {
            return;
        };
        let before = &job.steps[..scope.steps_before.min(job.steps.len())];
        if before.iter().any(|s| {
            s.id.as_ref()
                .is_some_and(|sid| sid.value.eq_ignore_ascii_case(id))
        }) {
            return;
        }
        let later = job.steps.iter().any(|s| {
            s.id.as_ref()
                .is_some_and(|sid| sid.value.eq_ignore_ascii_case(id))
        });
        let why = if later {
            "that step runs later"
        } else {
            "no step before it has that id"
        };
        self.findings.report(
            pos,
            Rule::Expression,
            format!(
                "'steps.{id}' does not resolve in job '{}': {why}",
                job.id.value
            ),
        );
    }

    fn matrix_reference(&mut self, key: &str, pos: Pos, scope: Scope<'w>) {
        let Some(job) = scope.job else {
            return;
        };
        let matrix = job.strategy.as_ref().and_then(|s| s.matrix.as_ref());
        let def = match matrix {
            None => {
                self.findings.report(
                    pos,
                    Rule::Matrix,
                    format!(
                        "'matrix.{key}' does not resolve: job '{}' has no matrix",
                        job.id.value
                    ),
                );
                return;
            }
            Some(Matrix::Expr(_)) => return,
            Some(Matrix::Literal(def)) => def,
        };
        let Rows::Literal(include) = &def.include else {
            return;
        };
        let defined = def.dimensions.keys().any(|d| d.eq_ignore_ascii_case(key))
            || include
                .iter()
                .any(|row| row.value.keys().any(|k| k.eq_ignore_ascii_case(key)));
        if !defined {
            let mut keys: Vec<&str> = def.dimensions.keys().map(String::as_str).collect();
            for row in include {
                for k in row.value.keys() {
                    if !keys.contains(&k.as_str()) {
                        keys.push(k);
                    }
                }
            }
            self.findings.report(
                pos,
                Rule::Matrix,
                format!(
                    "'matrix.{key}' does not resolve: the matrix of job '{}' defines {}",
                    job.id.value,
                    if keys.is_empty() {
                        "no keys".to_owned()
                    } else {
                        keys.join(", ")
                    }
                ),
            );
        }
    }

    fn inputs_reference(&mut self, name: &str, pos: Pos) {
        let declared = self
            .workflow
            .on
            .events
            .iter()
            .any(|t| t.inputs.keys().any(|i| i.eq_ignore_ascii_case(name)));
        if !declared {
            self.findings.report(pos, Rule::Expression, format!("'inputs.{name}' does not resolve: no workflow_dispatch or workflow_call input is named '{name}'"));
        }
    }
}

/// A variable name built with an expression (`${{ matrix.os }}_HOME: ...`), which GitHub
/// evaluates like the values; keys are single-line, so offsets count from the key's position.
fn key_template(name: &str, pos: Pos) -> Option<TemplateString> {
    if !Template::contains_expression(name) {
        return None;
    }
    let template = Template::parse(name).ok()?;
    Some(TemplateString::new(
        name.to_owned(),
        pos,
        PosMap::at(pos),
        template,
    ))
}

fn runs_github_script(step: &Step) -> bool {
    matches!(&step.action, StepAction::Uses(uses)
        if uses.value.split('@').next().is_some_and(|a| a.eq_ignore_ascii_case("actions/github-script")))
}
