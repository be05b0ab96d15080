//! Gitea and Forgejo deliveries, after Gitea's "Webhooks" documentation.

use slipway_webhooks::{Event, Provider, WebhookError, parse};

use crate::support::headers;

const PUSH: &str = r#"{
  "secret": "",
  "ref": "refs/heads/develop",
  "before": "28e1879d029cb852e4844d9c718537df08844e03",
  "after": "bffeb74224043ba2feb48d137756c8a9331c449a",
  "compare_url": "http://localhost:3000/gitea/webhooks/compare/28e1879d029cb852e4844d9c718537df08844e03...bffeb74224043ba2feb48d137756c8a9331c449a",
  "commits": [
    {
      "id": "bffeb74224043ba2feb48d137756c8a9331c449a",
      "message": "Webhooks Yay!",
      "url": "http://localhost:3000/gitea/webhooks/commit/bffeb74224043ba2feb48d137756c8a9331c449a",
      "author": { "name": "Gitea", "email": "someone@gitea.io", "username": "gitea" },
      "committer": { "name": "Gitea", "email": "someone@gitea.io", "username": "gitea" },
      "timestamp": "2017-03-13T13:52:11-04:00",
      "added": ["ci/deploy.sh"], "removed": [], "modified": ["main.go"]
    }
  ],
  "head_commit": { "id": "bffeb74224043ba2feb48d137756c8a9331c449a", "message": "Webhooks Yay!" },
  "repository": {
    "id": 140,
    "owner": { "id": 1, "login": "gitea", "full_name": "Gitea", "email": "someone@gitea.io", "username": "gitea" },
    "name": "webhooks",
    "full_name": "gitea/webhooks",
    "private": false,
    "fork": false,
    "html_url": "http://localhost:3000/gitea/webhooks",
    "ssh_url": "ssh://gitea@localhost:2222/gitea/webhooks.git",
    "clone_url": "http://localhost:3000/gitea/webhooks.git",
    "default_branch": "master"
  },
  "pusher": { "id": 1, "login": "gitea", "username": "gitea" },
  "sender": { "id": 1, "login": "gitea", "username": "gitea" }
}"#;

#[test]
fn push_from_gitea_or_forgejo_headers() {
    let gitea = headers(&[
        ("x-gitea-event", "push"),
        ("x-gitea-delivery", "f6266f16-1bf3-46a5-9ea4-602e06ead473"),
    ]);
    let forgejo = headers(&[
        ("x-forgejo-event", "push"),
        ("x-forgejo-delivery", "f6266f16-1bf3-46a5-9ea4-602e06ead473"),
    ]);
    for request in [gitea, forgejo] {
        let delivery = parse(Provider::Gitea, &request, PUSH.as_bytes()).expect("parses");
        assert_eq!(delivery.id, "f6266f16-1bf3-46a5-9ea4-602e06ead473");
        assert_eq!(delivery.sender.as_deref(), Some("gitea"));
        let repository = delivery.repository.clone().expect("repository");
        assert_eq!(repository.full_name, "gitea/webhooks");
        assert_eq!(
            repository.urls,
            [
                "http://localhost:3000/gitea/webhooks",
                "http://localhost:3000/gitea/webhooks.git",
                "ssh://gitea@localhost:2222/gitea/webhooks.git",
            ]
        );
        let Event::Push(push) = &delivery.event else {
            panic!("{:?}", delivery.event)
        };
        // Gitea sends no `created`, `deleted` or `forced`.
        assert!(!push.created && !push.deleted && !push.forced);
        assert_eq!(push.head_commit_message.as_deref(), Some("Webhooks Yay!"));

        let trigger = delivery.trigger().expect("runs");
        assert_eq!(trigger.filter_ref, "refs/heads/develop");
        assert_eq!(trigger.sha, "bffeb74224043ba2feb48d137756c8a9331c449a");
        assert_eq!(
            trigger.changed_paths,
            Some(vec!["ci/deploy.sh".to_owned(), "main.go".to_owned()])
        );
        // `github.event` has GitHub's shape, with the fields the runner reads.
        let payload = &trigger.payload;
        assert_eq!(payload["ref"], "refs/heads/develop");
        assert_eq!(
            payload["before"],
            "28e1879d029cb852e4844d9c718537df08844e03"
        );
        assert_eq!(payload["after"], "bffeb74224043ba2feb48d137756c8a9331c449a");
        assert_eq!(payload["deleted"], false);
        assert_eq!(payload["head_commit"]["message"], "Webhooks Yay!");
        assert_eq!(payload["repository"]["full_name"], "gitea/webhooks");
        assert_eq!(payload["repository"]["owner"]["login"], "gitea");
        assert_eq!(
            payload["repository"]["clone_url"],
            "http://localhost:3000/gitea/webhooks.git"
        );
        assert_eq!(
            payload["repository"]["ssh_url"],
            "ssh://gitea@localhost:2222/gitea/webhooks.git"
        );
        assert_eq!(payload["repository"]["default_branch"], "master");
        assert_eq!(payload["sender"]["login"], "gitea");
        assert_eq!(payload["commits"][0]["added"][0], "ci/deploy.sh");
    }
}

#[test]
fn a_deleted_branch_is_known_from_the_zero_commit() {
    let body = PUSH.replace(
        r#""after": "bffeb74224043ba2feb48d137756c8a9331c449a""#,
        &format!(r#""after": "{}""#, "0".repeat(40)),
    );
    let request = headers(&[("x-gitea-event", "push"), ("x-gitea-delivery", "1")]);
    let delivery = parse(Provider::Gitea, &request, body.as_bytes()).expect("parses");
    let Event::Push(push) = &delivery.event else {
        panic!("{:?}", delivery.event)
    };
    assert!(push.deleted);
    assert!(delivery.trigger().is_err());
}

#[test]
fn pull_request_synchronized_is_githubs_synchronize() {
    let body = r#"{
      "action": "synchronized",
      "number": 7,
      "pull_request": {
        "id": 1, "number": 7, "title": "Add a health check", "state": "open",
        "head": { "label": "feature", "ref": "feature", "sha": "5d1e0b2c3a4f5e6d7c8b9a0f1e2d3c4b5a6f7e8d",
                  "repo_id": 12, "repo": { "id": 12, "full_name": "alice/webhooks" } },
        "base": { "label": "master", "ref": "master", "sha": "28e1879d029cb852e4844d9c718537df08844e03",
                  "repo_id": 140, "repo": { "id": 140, "full_name": "gitea/webhooks" } }
      },
      "repository": { "full_name": "gitea/webhooks", "clone_url": "http://localhost:3000/gitea/webhooks.git" },
      "sender": { "login": "alice", "username": "alice" }
    }"#;
    let request = headers(&[("x-gitea-event", "pull_request"), ("x-gitea-delivery", "2")]);
    let delivery = parse(Provider::Gitea, &request, body.as_bytes()).expect("parses");
    let Event::PullRequest(pull) = &delivery.event else {
        panic!("{:?}", delivery.event)
    };
    assert_eq!(pull.action, "synchronize");
    assert!(pull.from_fork, "the head lives in alice/webhooks");
    let trigger = delivery.trigger().expect("runs");
    assert!(trigger.withhold_secrets);
    assert_eq!(trigger.git_ref, "refs/pull/7/merge");
    assert_eq!(
        trigger.payload["pull_request"]["head"]["sha"],
        "5d1e0b2c3a4f5e6d7c8b9a0f1e2d3c4b5a6f7e8d"
    );
    assert_eq!(trigger.payload["pull_request"]["base"]["ref"], "master");
    assert_eq!(trigger.payload["number"], 7);
    assert_eq!(trigger.payload["action"], "synchronize");
}

#[test]
fn events_slipway_does_not_handle_are_refused() {
    let request = headers(&[("x-gitea-event", "issues"), ("x-gitea-delivery", "3")]);
    let error = parse(Provider::Gitea, &request, b"{}").expect_err("unknown");
    assert_eq!(
        error,
        WebhookError::UnknownEvent {
            provider: "gitea",
            event: "issues".to_owned()
        }
    );
}
