//! Loading workflows into the model: values, positions, templates, and load errors.

use slipway_expr::{Contexts, JobStatus, Value, WorkspaceHost};
use slipway_workflow::{
    Dimension, Env, InputType, Matrix, Permissions, Pos, Rows, Source, StepAction, Templated, load,
};

fn valid() -> slipway_workflow::Workflow {
    let text = include_str!("../lint/valid.yml");
    load(&Source::new("valid.yml", text)).expect("valid.yml loads")
}

#[test]
fn loads_workflow_level_settings() {
    let workflow = valid();
    assert_eq!(workflow.name.as_ref().unwrap().value, "CI");
    let events: Vec<&str> = workflow
        .on
        .events
        .iter()
        .map(|t| t.name.value.as_str())
        .collect();
    assert_eq!(
        events,
        ["push", "pull_request", "schedule", "workflow_dispatch"]
    );
    let push = workflow.on.get("push").unwrap();
    let branches: Vec<&str> = push
        .branches
        .as_ref()
        .unwrap()
        .patterns
        .iter()
        .map(|p| p.value.as_str())
        .collect();
    assert_eq!(branches, ["main", "releases/**", "!releases/**-alpha"]);
    assert_eq!(
        workflow.on.get("schedule").unwrap().crons[0].value,
        "30 5 * * MON-FRI"
    );
    let level = &workflow.on.get("workflow_dispatch").unwrap().inputs["level"].value;
    assert_eq!(level.kind, InputType::Choice);
    assert_eq!(level.default.as_ref().unwrap().value, Value::from("info"));
    assert!(
        matches!(workflow.permissions, Some(Permissions::Scopes(_, ref scopes)) if scopes.len() == 2)
    );
    let concurrency = workflow.concurrency.as_ref().unwrap();
    assert_eq!(concurrency.group.raw(), "ci-${{ github.ref }}");
    assert!(matches!(concurrency.cancel_in_progress, Some(Templated::Literal(ref b)) if b.value));
    let Env::Map(env) = &workflow.env else {
        panic!("env is a map")
    };
    assert_eq!(env["TOKEN"].value.raw(), "${{ secrets.TOKEN }}");
    assert_eq!(
        workflow
            .defaults
            .as_ref()
            .unwrap()
            .shell
            .as_ref()
            .unwrap()
            .value,
        "bash"
    );
}

#[test]
fn loads_jobs_steps_and_positions() {
    let workflow = valid();
    let ids: Vec<&String> = workflow.jobs.keys().collect();
    assert_eq!(ids, ["build", "deploy", "reuse"]);
    let build = &workflow.jobs["build"];
    assert_eq!(build.id.pos, Pos::new(35, 3));
    assert!(
        matches!(build.timeout_minutes, Some(Templated::Expr(ref t)) if t.raw() == "${{ matrix.timeout }}")
    );
    let strategy = build.strategy.as_ref().unwrap();
    assert!(matches!(strategy.max_parallel, Some(Templated::Literal(ref n)) if n.value == 4.0));
    let Some(Matrix::Literal(matrix)) = &strategy.matrix else {
        panic!("literal matrix")
    };
    assert!(
        matches!(&matrix.dimensions["node"].value, Dimension::Values(v) if v == &[Value::Number(18.0), Value::Number(20.0)])
    );
    assert!(matches!(&matrix.include, Rows::Literal(rows) if rows.len() == 1));
    assert_eq!(
        build.services["redis"].value.image.as_ref().unwrap().raw(),
        "redis:7"
    );
    assert_eq!(build.steps.len(), 4);
    let run_step = &build.steps[2];
    assert_eq!(run_step.id.as_ref().unwrap().value, "image");
    let StepAction::Run(run) = &run_step.action else {
        panic!("run step")
    };
    let expr = run.template().expressions().next().unwrap();
    // The literal block's expression maps back to its exact line and column.
    assert_eq!(run.position_of(expr.span().start), Pos::new(70, 35));
    assert!(build.steps[3].condition.is_some());

    let deploy = &workflow.jobs["deploy"];
    assert_eq!(deploy.needs[0].value, "build");
    assert_eq!(
        deploy.environment.as_ref().unwrap().name.raw(),
        "production"
    );
    assert!(deploy.container.as_ref().unwrap().credentials.is_some());
    let reuse = &workflow.jobs["reuse"];
    assert_eq!(
        reuse.uses.as_ref().unwrap().value,
        "./.github/workflows/notify.yml"
    );
    assert!(matches!(
        reuse.secrets,
        Some(slipway_workflow::JobSecrets::Inherit(_))
    ));
}

#[test]
fn loaded_templates_and_conditions_evaluate() {
    let workflow = valid();
    let mut contexts = Contexts::new();
    contexts.insert(
        "github",
        Value::from(serde_json::json!({"event_name": "push", "ref_name": "main", "actor": "mona"})),
    );
    contexts.insert(
        "needs",
        Value::from(serde_json::json!({"build": {"result": "success"}})),
    );
    let host = WorkspaceHost::new("/nonexistent", JobStatus::Success);
    let run_name = workflow
        .run_name
        .as_ref()
        .unwrap()
        .template()
        .evaluate_to_string(&contexts, &host)
        .unwrap();
    assert_eq!(run_name, "CI for main by mona");
    let condition = &workflow.jobs["deploy"]
        .condition
        .as_ref()
        .unwrap()
        .condition;
    assert!(condition.evaluate(&contexts, &host).unwrap());
    let failed = WorkspaceHost::new("/nonexistent", JobStatus::Failure);
    assert!(
        !condition.evaluate(&contexts, &failed).unwrap(),
        "implicit success() applies"
    );
}

#[test]
fn load_reports_every_problem_with_file_line_and_column() {
    let text = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    stepz: []\n    steps:\n      - run: ${{ nope( }}\n";
    let errors = load(&Source::new("w.yml", text)).unwrap_err();
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(
        lines[0]
            .starts_with("w.yml:5:5: unknown key 'stepz' in job 'a'; expected one of: name, needs"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("w.yml:7:18: invalid expression: unknown function 'nope'"),
        "{}",
        lines[1]
    );
}

#[test]
fn load_reports_missing_and_mistyped_keys() {
    let cases: &[(&str, &str)] = &[
        (
            "jobs:\n  a:\n    runs-on: x\n    steps: [{run: echo}]\n",
            "w.yml:1:1: the workflow is missing required key 'on' [syntax-check]",
        ),
        (
            "on: push\n",
            "w.yml:1:1: the workflow is missing required key 'jobs' [syntax-check]",
        ),
        (
            "on: push\njobs: [a]\n",
            "w.yml:2:7: 'jobs' must be a mapping, but it is a sequence [syntax-check]",
        ),
        (
            "on: push\njobs:\n  a:\n    runs-on: x\n    steps: {run: echo}\n",
            "w.yml:5:12: 'steps' of job 'a' must be a sequence, but it is a mapping [syntax-check]",
        ),
        (
            "on: push\njobs:\n  a:\n    runs-on: x\n    timeout-minutes: soon\n    steps: [{run: echo}]\n",
            "w.yml:5:22: 'timeout-minutes' of job 'a' must be a number or an expression, but it is a string [syntax-check]",
        ),
        ("", "w.yml:1:1: the workflow file is empty [syntax-check]"),
        (
            "- a\n- b\n",
            "w.yml:1:1: the workflow must be a mapping, but it is a sequence [syntax-check]",
        ),
    ];
    for (text, expected) in cases {
        let errors = load(&Source::new("w.yml", *text)).unwrap_err();
        assert_eq!(errors[0].to_string(), *expected, "{text}");
    }
}
