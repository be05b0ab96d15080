//! GitHub deliveries, after the examples in "Webhook events and payloads".

use slipway_webhooks::{Event, NoRun, Provider, Revision, WebhookError, parse};

use crate::support::headers;

const AFTER: &str = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c";
const BEFORE: &str = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";

fn push_body(git_ref: &str, before: &str, after: &str, forced: bool) -> String {
    format!(
        r#"{{
  "ref": "{git_ref}",
  "before": "{before}",
  "after": "{after}",
  "created": false,
  "deleted": {deleted},
  "forced": {forced},
  "base_ref": null,
  "compare": "https://github.com/Codertocat/Hello-World/compare/6113728f27ae...0d1a26e67d8f",
  "commits": [
    {{
      "id": "{BEFORE}", "tree_id": "f9d2a07e9488b91af2641b26b9407fe22a451433", "distinct": true,
      "message": "Add docs", "timestamp": "2019-05-15T15:19:00-04:00",
      "author": {{ "name": "Codertocat", "email": "21031067+Codertocat@users.noreply.github.com", "username": "Codertocat" }},
      "added": ["docs/intro.md"], "removed": [], "modified": ["README.md"]
    }},
    {{
      "id": "{after}", "tree_id": "f9d2a07e9488b91af2641b26b9407fe22a451433", "distinct": true,
      "message": "Fix the build\n\nThe lockfile was stale.", "timestamp": "2019-05-15T15:20:30-04:00",
      "author": {{ "name": "Codertocat", "email": "21031067+Codertocat@users.noreply.github.com", "username": "Codertocat" }},
      "added": [], "removed": ["old.txt"], "modified": ["README.md", "src/main.rs"]
    }}
  ],
  "head_commit": {{ "id": "{after}", "message": "Fix the build\n\nThe lockfile was stale.", "added": [], "removed": ["old.txt"], "modified": ["README.md", "src/main.rs"] }},
  "repository": {{
    "id": 186853002, "node_id": "MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=", "name": "Hello-World",
    "full_name": "Codertocat/Hello-World", "private": false,
    "owner": {{ "name": "Codertocat", "login": "Codertocat", "id": 21031067 }},
    "html_url": "https://github.com/Codertocat/Hello-World",
    "git_url": "git://github.com/Codertocat/Hello-World.git",
    "ssh_url": "git@github.com:Codertocat/Hello-World.git",
    "clone_url": "https://github.com/Codertocat/Hello-World.git",
    "default_branch": "main"
  }},
  "pusher": {{ "name": "Codertocat", "email": "21031067+Codertocat@users.noreply.github.com" }},
  "sender": {{ "login": "Codertocat", "id": 21031067, "type": "User" }}
}}"#,
        deleted = after.bytes().all(|b| b == b'0'),
    )
}

fn github(event: &str) -> http::HeaderMap {
    headers(&[
        ("x-github-event", event),
        ("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
        ("x-github-hook-id", "292430182"),
    ])
}

#[test]
fn push_reads_refs_commits_paths_and_every_clone_url() {
    let body = push_body("refs/heads/main", BEFORE, AFTER, true);
    let delivery = parse(Provider::GitHub, &github("push"), body.as_bytes()).expect("parses");
    assert_eq!(delivery.id, "72d3162e-cc78-11e3-81ab-4c9367dc0958");
    assert_eq!(delivery.sender.as_deref(), Some("Codertocat"));
    let repository = delivery.repository.clone().expect("a repository");
    assert_eq!(repository.full_name, "Codertocat/Hello-World");
    assert_eq!(
        repository.urls,
        [
            "https://github.com/Codertocat/Hello-World",
            "https://github.com/Codertocat/Hello-World.git",
            "git@github.com:Codertocat/Hello-World.git",
            "git://github.com/Codertocat/Hello-World.git",
        ]
    );
    let Event::Push(push) = &delivery.event else {
        panic!("{:?}", delivery.event)
    };
    assert_eq!((push.before.as_str(), push.after.as_str()), (BEFORE, AFTER));
    assert!(push.forced && !push.created && !push.deleted && !push.is_tag());
    assert_eq!(push.commits.len(), 2);
    assert_eq!(
        push.head_commit_message.as_deref(),
        Some("Fix the build\n\nThe lockfile was stale.")
    );

    let trigger = delivery.trigger().expect("a push runs");
    assert_eq!(trigger.event, "push");
    assert_eq!(trigger.git_ref, "refs/heads/main");
    assert_eq!(trigger.filter_ref, "refs/heads/main");
    assert_eq!(trigger.sha, AFTER);
    assert_eq!(trigger.activity, None);
    assert_eq!(
        trigger.changed_paths.as_deref(),
        Some(&["docs/intro.md", "README.md", "old.txt", "src/main.rs"].map(String::from)[..])
    );
    assert!(!trigger.withhold_secrets);
    // GitHub's own body is `github.event`, untouched.
    let sent: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(trigger.payload, sent);
}

#[test]
fn a_tag_push_is_a_push_of_refs_tags() {
    let body = push_body("refs/tags/v1.2.0", BEFORE, AFTER, false);
    let delivery = parse(Provider::GitHub, &github("push"), body.as_bytes()).expect("parses");
    let Event::Push(push) = &delivery.event else {
        panic!("{:?}", delivery.event)
    };
    assert!(push.is_tag());
    assert_eq!(
        delivery.trigger().expect("runs").filter_ref,
        "refs/tags/v1.2.0"
    );
}

#[test]
fn a_branch_deletion_runs_nothing() {
    let zeros = "0".repeat(40);
    let body = push_body("refs/heads/feature", AFTER, &zeros, false);
    let delivery = parse(Provider::GitHub, &github("push"), body.as_bytes()).expect("parses");
    let Event::Push(push) = &delivery.event else {
        panic!("{:?}", delivery.event)
    };
    assert!(push.deleted);
    assert_eq!(
        delivery.trigger(),
        Err(NoRun::RefDeleted {
            git_ref: "refs/heads/feature".to_owned()
        })
    );
}

fn pull_request_body(action: &str, head_repo: &str) -> String {
    format!(
        r#"{{
  "action": "{action}",
  "number": 2,
  "pull_request": {{
    "url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/2",
    "number": 2, "state": "open", "title": "Update the README with new information.",
    "user": {{ "login": "Codertocat" }},
    "head": {{ "label": "Codertocat:changes", "ref": "changes", "sha": "{AFTER}",
              "repo": {head_repo} }},
    "base": {{ "label": "Codertocat:main", "ref": "main", "sha": "{BEFORE}",
              "repo": {{ "full_name": "Codertocat/Hello-World", "fork": false }} }}
  }},
  "repository": {{ "name": "Hello-World", "full_name": "Codertocat/Hello-World",
                  "clone_url": "https://github.com/Codertocat/Hello-World.git" }},
  "sender": {{ "login": "Codertocat" }}
}}"#
    )
}

#[test]
fn pull_request_reads_head_base_and_action() {
    let body = pull_request_body(
        "synchronize",
        r#"{ "full_name": "Codertocat/Hello-World", "fork": false }"#,
    );
    let delivery =
        parse(Provider::GitHub, &github("pull_request"), body.as_bytes()).expect("parses");
    let Event::PullRequest(pull) = &delivery.event else {
        panic!("{:?}", delivery.event)
    };
    assert_eq!(pull.action, "synchronize");
    assert_eq!(pull.number, 2);
    assert_eq!(pull.title, "Update the README with new information.");
    assert_eq!(
        pull.head,
        Revision {
            git_ref: "changes".to_owned(),
            sha: Some(AFTER.to_owned())
        }
    );
    assert_eq!(pull.base.git_ref, "main");
    assert!(!pull.from_fork);
    let trigger = delivery.trigger().expect("runs");
    assert_eq!(trigger.event, "pull_request");
    assert_eq!(trigger.git_ref, "refs/pull/2/merge");
    assert_eq!(trigger.filter_ref, "refs/heads/main");
    assert_eq!(trigger.sha, AFTER);
    assert_eq!(trigger.activity.as_deref(), Some("synchronize"));
    assert!(!trigger.withhold_secrets);
}

#[test]
fn a_pull_request_from_a_fork_or_a_deleted_fork_gets_no_secrets() {
    for head_repo in [
        r#"{ "full_name": "someone/Hello-World", "fork": true }"#,
        "null",
    ] {
        let body = pull_request_body("opened", head_repo);
        let delivery =
            parse(Provider::GitHub, &github("pull_request"), body.as_bytes()).expect(head_repo);
        let trigger = delivery.trigger().expect("runs");
        assert!(trigger.withhold_secrets, "{head_repo}");
    }
}

#[test]
fn ping_runs_nothing_even_without_a_repository() {
    let body = br#"{"zen":"Design for failure.","hook_id":109948940,
        "hook":{"type":"Organization","id":109948940,"active":true,"events":["push"]},
        "sender":{"login":"octocat"}}"#;
    let delivery = parse(Provider::GitHub, &github("ping"), body).expect("parses");
    assert_eq!(delivery.event, Event::Ping);
    assert_eq!(delivery.repository, None);
    assert_eq!(delivery.trigger(), Err(NoRun::Ping));
}

#[test]
fn unknown_events_and_missing_headers_are_refused() {
    let body = push_body("refs/heads/main", BEFORE, AFTER, false);
    assert_eq!(
        parse(Provider::GitHub, &github("issues"), body.as_bytes()),
        Err(WebhookError::UnknownEvent {
            provider: "github",
            event: "issues".to_owned()
        })
    );
    let no_id = headers(&[("x-github-event", "push")]);
    assert_eq!(
        parse(Provider::GitHub, &no_id, body.as_bytes()),
        Err(WebhookError::MissingHeader {
            header: "x-github-delivery"
        })
    );
}

#[test]
fn bad_json_names_line_and_column() {
    let body = b"{\n  \"ref\": \"refs/heads/main\",\n  \"before\": oops\n}";
    let error = parse(Provider::GitHub, &github("push"), body).expect_err("bad JSON");
    let WebhookError::BadJson { line, column, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!((*line, *column), (3, 13));
    assert!(error.to_string().contains("line 3, column 13"), "{error}");
}

#[test]
fn a_missing_field_is_named_by_its_path() {
    let body = pull_request_body("opened", "null").replace(r#""sha": "0d1a"#, r#""shx": "0d1a"#);
    let error =
        parse(Provider::GitHub, &github("pull_request"), body.as_bytes()).expect_err("no sha");
    let WebhookError::InvalidPayload {
        event,
        path,
        message,
        ..
    } = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!(event, "pull_request");
    assert_eq!(path, "pull_request.head");
    assert!(message.contains("missing field `sha`"), "{message}");
}

#[test]
fn a_body_over_the_limit_is_refused_before_parsing() {
    let body = vec![b' '; slipway_webhooks::MAX_BODY_BYTES + 1];
    assert!(matches!(
        parse(Provider::GitHub, &github("push"), &body),
        Err(WebhookError::TooLarge { .. })
    ));
}
