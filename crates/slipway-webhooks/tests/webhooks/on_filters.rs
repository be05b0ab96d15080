//! A delivery's trigger feeds `on:` matching (slipway-workflow's `EventContext`) as it is: branch,
//! tag, path and activity filters decide on what the host sent.

use slipway_webhooks::{Provider, Trigger, parse};
use slipway_workflow::events::{EventContext, matches};
use slipway_workflow::{Source, load};

use crate::support::headers;

const WORKFLOW: &str = "
on:
  push:
    branches: [main]
    paths: ['src/**']
  pull_request:
    types: [opened, synchronize]
    branches: [main]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: cargo test
";

/// The `EventContext` a server builds from a trigger.
fn context(trigger: &Trigger) -> EventContext {
    let mut context = EventContext::new(trigger.event).with_ref(trigger.filter_ref.clone());
    if let Some(paths) = &trigger.changed_paths {
        context = context.with_changed_paths(paths.clone());
    }
    if let Some(activity) = &trigger.activity {
        context = context.with_activity_type(activity.clone());
    }
    context
}

fn gitea_push(git_ref: &str, paths: &[&str]) -> Trigger {
    let body = serde_json::json!({
        "ref": git_ref,
        "before": "28e1879d029cb852e4844d9c718537df08844e03",
        "after": "bffeb74224043ba2feb48d137756c8a9331c449a",
        "commits": [{ "id": "bffeb74224043ba2feb48d137756c8a9331c449a", "message": "change", "added": [], "removed": [], "modified": paths }],
        "repository": { "full_name": "team/app", "clone_url": "http://git.example.com/team/app.git" },
        "sender": { "login": "alice" },
    });
    let request = headers(&[("x-gitea-event", "push"), ("x-gitea-delivery", "1")]);
    parse(Provider::Gitea, &request, body.to_string().as_bytes())
        .expect("parses")
        .trigger()
        .expect("runs")
}

fn github_pull_request(action: &str, base: &str) -> Trigger {
    let body = serde_json::json!({
        "action": action,
        "number": 5,
        "pull_request": {
            "title": "t",
            "head": { "ref": "feature", "sha": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", "repo": { "full_name": "team/app" } },
            "base": { "ref": base, "sha": "6113728f27ae82c7b1a177c8d03f9e96e0adf246", "repo": { "full_name": "team/app" } },
        },
        "repository": { "full_name": "team/app" },
    });
    let request = headers(&[
        ("x-github-event", "pull_request"),
        ("x-github-delivery", "2"),
    ]);
    parse(Provider::GitHub, &request, body.to_string().as_bytes())
        .expect("parses")
        .trigger()
        .expect("runs")
}

#[test]
fn branch_path_and_activity_filters_decide_on_the_delivery() {
    let workflow = load(&Source::new("ci.yml", WORKFLOW)).expect("the workflow loads");
    let runs = |trigger: Trigger| matches(&workflow.on, &context(&trigger)).is_ok();

    assert!(runs(gitea_push("refs/heads/main", &["src/lib.rs"])));
    assert!(
        !runs(gitea_push("refs/heads/main", &["README.md"])),
        "no path under src/"
    );
    assert!(
        !runs(gitea_push("refs/heads/docs", &["src/lib.rs"])),
        "not main"
    );
    assert!(
        !runs(gitea_push("refs/tags/v1", &["src/lib.rs"])),
        "branch filters exclude tags"
    );

    assert!(runs(github_pull_request("synchronize", "main")));
    assert!(
        !runs(github_pull_request("closed", "main")),
        "closed is not in types"
    );
    assert!(
        !runs(github_pull_request("opened", "release")),
        "the base branch is filtered"
    );
}
