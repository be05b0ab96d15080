//! Planning helpers on loaded workflows: event matching, matrix expansion, the job graph and
//! input resolution.

use slipway_expr::Value;
use slipway_workflow::events::{EventContext, Mismatch, matches};
use slipway_workflow::graph::{GraphError, JobGraph};
use slipway_workflow::inputs::{InputError, parse_assignments, resolve};
use slipway_workflow::matrix::expand;
use slipway_workflow::{Matrix, Source, Workflow, load};

fn workflow(text: &str) -> Workflow {
    load(&Source::new("w.yml", text)).unwrap_or_else(|e| panic!("{e:#?}"))
}

const JOBS: &str = "jobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n";

fn on(triggers: &str) -> Workflow {
    workflow(&format!("on:\n{triggers}{JOBS}"))
}

fn push(git_ref: &str) -> EventContext {
    EventContext::new("push").with_ref(git_ref)
}

#[test]
fn events_must_be_listed() {
    let w = on("  push:\n");
    assert_eq!(matches(&w.on, &push("refs/heads/main")), Ok(()));
    assert_eq!(
        matches(&w.on, &EventContext::new("pull_request")),
        Err(Mismatch::EventNotListed {
            event: "pull_request".into(),
            listed: vec!["push".into()]
        })
    );
    let w = workflow(&format!("on: [push, workflow_dispatch]\n{JOBS}"));
    assert_eq!(
        matches(&w.on, &EventContext::new("workflow_dispatch")),
        Ok(())
    );
}

#[test]
fn branch_filters_are_order_dependent() {
    let w = on("  push:\n    branches: ['releases/**', '!releases/**-alpha']\n");
    assert_eq!(matches(&w.on, &push("refs/heads/releases/10")), Ok(()));
    assert!(matches!(
        matches(&w.on, &push("refs/heads/releases/10-alpha")),
        Err(Mismatch::RefFiltered {
            filter: "branches",
            ..
        })
    ));
    assert!(matches!(
        matches(&w.on, &push("refs/heads/main")),
        Err(Mismatch::RefFiltered { .. })
    ));
    // Only branch filters: tag pushes do not run.
    assert!(matches!(
        matches(&w.on, &push("refs/tags/v1")),
        Err(Mismatch::RefKindUnfiltered {
            kind: "tag",
            other: "branches",
            ..
        })
    ));
}

#[test]
fn ignore_filters_and_tags() {
    let w = on("  push:\n    branches-ignore: ['dependabot/**']\n    tags: ['v*']\n");
    assert_eq!(matches(&w.on, &push("refs/heads/main")), Ok(()));
    assert!(matches!(
        matches(&w.on, &push("refs/heads/dependabot/npm/x")),
        Err(Mismatch::RefFiltered {
            filter: "branches-ignore",
            ..
        })
    ));
    assert_eq!(matches(&w.on, &push("refs/tags/v1.2.0")), Ok(()));
    assert!(matches!(
        matches(&w.on, &push("refs/tags/release-1")),
        Err(Mismatch::RefFiltered {
            kind: "tag",
            filter: "tags",
            ..
        })
    ));
}

#[test]
fn path_filters_need_one_selected_path() {
    let w = on("  push:\n    paths: ['src/**', '!src/**/*.md']\n");
    let changed = |paths: &[&str]| {
        push("refs/heads/main").with_changed_paths(paths.iter().map(|p| (*p).to_owned()).collect())
    };
    assert_eq!(matches(&w.on, &changed(&["src/lib.rs"])), Ok(()));
    assert_eq!(
        matches(&w.on, &changed(&["README.md", "src/a/b.rs"])),
        Ok(())
    );
    assert_eq!(
        matches(&w.on, &changed(&["src/docs/x.md", "README.md"])),
        Err(Mismatch::PathsFiltered {
            event: "push".into(),
            filter: "paths",
            patterns: vec!["src/**".into(), "!src/**/*.md".into()]
        })
    );
    // Path filters are not evaluated for tag pushes.
    let w = on("  push:\n    tags: ['v*']\n    paths: ['src/**']\n");
    assert_eq!(
        matches(
            &w.on,
            &push("refs/tags/v1").with_changed_paths(vec!["docs/x".into()])
        ),
        Ok(())
    );

    let w = on("  push:\n    paths-ignore: ['docs/**']\n");
    assert_eq!(
        matches(
            &w.on,
            &push("refs/heads/main").with_changed_paths(vec!["docs/a.md".into()])
        ),
        Err(Mismatch::PathsFiltered {
            event: "push".into(),
            filter: "paths-ignore",
            patterns: vec!["docs/**".into()]
        })
    );
    assert_eq!(
        matches(
            &w.on,
            &push("refs/heads/main").with_changed_paths(vec!["docs/a.md".into(), "src/x".into()])
        ),
        Ok(())
    );
}

#[test]
fn activity_types_default_for_pull_requests() {
    let w = on("  pull_request:\n    branches: [main]\n  issues:\n    types: [opened]\n");
    let pr = |activity: &str| {
        EventContext::new("pull_request")
            .with_ref("main")
            .with_activity_type(activity)
    };
    assert_eq!(matches(&w.on, &pr("synchronize")), Ok(()));
    assert!(matches!(
        matches(&w.on, &pr("closed")),
        Err(Mismatch::ActivityType { .. })
    ));
    let issue = |activity: &str| EventContext::new("issues").with_activity_type(activity);
    assert_eq!(matches(&w.on, &issue("opened")), Ok(()));
    assert!(matches!(
        matches(&w.on, &issue("closed")),
        Err(Mismatch::ActivityType { .. })
    ));
}

/// A mismatch names the event, the ref or paths, and the filter with its patterns, so that a
/// skipped workflow explains itself.
#[test]
fn mismatches_say_which_filter_excluded_the_event() {
    let reason = |triggers: &str, event: &EventContext| {
        matches(&on(triggers).on, event).unwrap_err().to_string()
    };
    let main_only = "  push:\n    branches: [main]\n  workflow_dispatch:\n";
    assert_eq!(
        reason(main_only, &push("refs/heads/master")),
        "push to 'master' does not match branches [main]"
    );
    assert_eq!(
        reason(main_only, &push("refs/tags/v1")),
        "push of tag 'v1' does not run: only branches are filtered [main]"
    );
    assert_eq!(
        reason(main_only, &EventContext::new("pull_request")),
        "pull_request is not in on: [push, workflow_dispatch]"
    );
    assert_eq!(
        reason(
            "  push:\n    branches-ignore: ['wip/**']\n",
            &push("refs/heads/wip/x")
        ),
        "push to 'wip/x' is excluded by branches-ignore [wip/**]"
    );
    assert_eq!(
        reason(
            "  push:\n    tags: ['v*', '!v0*']\n",
            &push("refs/tags/v0.1")
        ),
        "push of tag 'v0.1' does not match tags [v*, !v0*]"
    );
    assert_eq!(
        reason(
            "  pull_request:\n    branches: [main]\n",
            &EventContext::new("pull_request")
                .with_ref("dev")
                .with_activity_type("opened")
        ),
        "pull_request into 'dev' does not match branches [main]"
    );
    assert_eq!(
        reason(
            "  pull_request:\n",
            &EventContext::new("pull_request").with_activity_type("closed")
        ),
        "pull_request activity 'closed' is not in types [opened, synchronize, reopened]"
    );
    let docs_only = push("refs/heads/main").with_changed_paths(vec!["docs/a.md".into()]);
    assert_eq!(
        reason("  push:\n    paths: ['src/**']\n", &docs_only),
        "push changed no path matching paths [src/**]"
    );
    assert_eq!(
        reason("  push:\n    paths-ignore: ['docs/**']\n", &docs_only),
        "push changed only paths ignored by paths-ignore [docs/**]"
    );
}

#[test]
fn matrices_expand_from_the_model() {
    let w = workflow(
        "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n        os: [a, b]\n        v: [1, 2]\n        exclude:\n          - {os: b, v: 2}\n        include:\n          - {os: a, extra: x}\n          - {os: c}\n    steps:\n      - run: echo\n",
    );
    let Some(Matrix::Literal(def)) = &w.jobs["t"].strategy.as_ref().unwrap().matrix else {
        panic!("literal matrix")
    };
    let combos = expand(def).unwrap();
    let rendered: Vec<String> = combos
        .iter()
        .map(|c| {
            c.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    assert_eq!(
        rendered,
        ["os=a,v=1,extra=x", "os=a,v=2,extra=x", "os=b,v=1", "os=c"]
    );
}

#[test]
fn the_job_graph_of_a_workflow() {
    let w = workflow(
        "on: push\njobs:\n  test:\n    needs: build\n    runs-on: x\n    steps: [{run: echo}]\n  build:\n    runs-on: x\n    steps: [{run: echo}]\n  ship:\n    needs: [test, build]\n    runs-on: x\n    steps: [{run: echo}]\n",
    );
    let graph = JobGraph::new(&w).unwrap();
    let levels: Vec<Vec<&str>> = graph
        .levels()
        .iter()
        .map(|l| l.iter().map(String::as_str).collect())
        .collect();
    assert_eq!(levels, [vec!["build"], vec!["test"], vec!["ship"]]);
    let w = workflow(
        "on: push\njobs:\n  a:\n    needs: [a]\n    runs-on: x\n    steps: [{run: echo}]\n",
    );
    assert_eq!(
        JobGraph::new(&w).unwrap_err(),
        vec![GraphError::Cycle {
            path: vec!["a".into(), "a".into()]
        }]
    );
}

#[test]
fn dispatch_inputs_resolve_from_key_value_strings() {
    let w = on(
        "  workflow_dispatch:\n    inputs:\n      env:\n        type: choice\n        options: [staging, prod]\n        required: true\n      debug:\n        type: boolean\n        default: true\n      retries:\n        type: number\n",
    );
    let declared = &w.on.get("workflow_dispatch").unwrap().inputs;
    let inputs = resolve(
        declared,
        &parse_assignments(&["env=prod", "retries=3"]).unwrap(),
    )
    .unwrap();
    assert_eq!(inputs["env"], Value::from("prod"));
    assert_eq!(inputs["debug"], Value::Bool(true));
    assert_eq!(inputs["retries"], Value::Number(3.0));
    let errors = resolve(declared, &parse_assignments(&["debug=maybe"]).unwrap()).unwrap_err();
    assert_eq!(errors[0], InputError::Missing("env".into()));
    assert!(matches!(&errors[1], InputError::WrongType { name, .. } if name == "debug"));
}
