//! GitLab deliveries, after GitLab's "Webhook events" documentation.

use slipway_webhooks::{Event, NoRun, Provider, WebhookError, parse};

use crate::support::headers;

fn push_body(object_kind: &str, git_ref: &str, after: &str, total: usize) -> String {
    format!(
        r#"{{
  "object_kind": "{object_kind}",
  "event_name": "{object_kind}",
  "before": "95790bf891e76fee5e1747ab589903a6a1f80f22",
  "after": "{after}",
  "ref": "{git_ref}",
  "ref_protected": true,
  "checkout_sha": "{after}",
  "user_id": 4,
  "user_name": "John Smith",
  "user_username": "jsmith",
  "user_email": "john@example.com",
  "project_id": 15,
  "project": {{
    "id": 15,
    "name": "Diaspora",
    "web_url": "http://example.com/mike/diaspora",
    "git_ssh_url": "git@example.com:mike/diaspora.git",
    "git_http_url": "http://example.com/mike/diaspora.git",
    "namespace": "Mike",
    "path_with_namespace": "mike/diaspora",
    "default_branch": "master"
  }},
  "repository": {{ "name": "Diaspora", "url": "git@example.com:mike/diaspora.git" }},
  "commits": [
    {{
      "id": "b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327",
      "message": "Update Catalan translation to e38cb41.\n\nSee https://gitlab.com/gitlab-org/gitlab for more information",
      "title": "Update Catalan translation to e38cb41.",
      "timestamp": "2011-12-12T14:27:31+02:00",
      "author": {{ "name": "Jordi Mallach", "email": "jordi@softcatala.org" }},
      "added": ["CHANGELOG"], "modified": ["app/controller/application.rb"], "removed": []
    }},
    {{
      "id": "{after}",
      "message": "fixed readme",
      "title": "fixed readme",
      "timestamp": "2012-01-03T23:36:29+02:00",
      "author": {{ "name": "GitLab dev user", "email": "gitlabdev@dv6700.(none)" }},
      "added": ["CHANGELOG"], "modified": ["README.md"], "removed": ["tmp/old"]
    }}
  ],
  "total_commits_count": {total}
}}"#
    )
}

const AFTER: &str = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7";

fn gitlab(event: &str) -> http::HeaderMap {
    headers(&[
        ("x-gitlab-event", event),
        (
            "x-gitlab-event-uuid",
            "13792a34-cac6-4fda-95a8-c58e00a3954e",
        ),
        ("x-gitlab-instance", "https://gitlab.example.com"),
    ])
}

#[test]
fn push_hook_becomes_a_github_shaped_push() {
    let body = push_body("push", "refs/heads/master", AFTER, 2);
    let delivery = parse(Provider::GitLab, &gitlab("Push Hook"), body.as_bytes()).expect("parses");
    assert_eq!(delivery.id, "13792a34-cac6-4fda-95a8-c58e00a3954e");
    assert_eq!(delivery.event_header, "Push Hook");
    assert_eq!(delivery.sender.as_deref(), Some("jsmith"));
    let repository = delivery.repository.clone().expect("repository");
    assert_eq!(repository.full_name, "mike/diaspora");
    assert_eq!(
        repository.urls,
        [
            "http://example.com/mike/diaspora",
            "http://example.com/mike/diaspora.git",
            "git@example.com:mike/diaspora.git",
        ]
    );
    let Event::Push(push) = &delivery.event else {
        panic!("{:?}", delivery.event)
    };
    assert_eq!(push.head_commit_message.as_deref(), Some("fixed readme"));
    assert!(!push.commits_truncated);
    let trigger = delivery.trigger().expect("runs");
    assert_eq!(trigger.sha, AFTER);
    assert_eq!(
        trigger.changed_paths,
        Some(
            [
                "CHANGELOG",
                "app/controller/application.rb",
                "tmp/old",
                "README.md"
            ]
            .map(String::from)
            .to_vec()
        )
    );
    assert_eq!(trigger.payload["ref"], "refs/heads/master");
    assert_eq!(
        trigger.payload["before"],
        "95790bf891e76fee5e1747ab589903a6a1f80f22"
    );
    assert_eq!(trigger.payload["repository"]["full_name"], "mike/diaspora");
    assert_eq!(
        trigger.payload["repository"]["ssh_url"],
        "git@example.com:mike/diaspora.git"
    );
    assert_eq!(
        trigger.payload["repository"]["html_url"],
        "http://example.com/mike/diaspora"
    );
}

#[test]
fn truncated_commit_lists_leave_the_changed_paths_unknown() {
    let body = push_body("push", "refs/heads/master", AFTER, 45);
    let delivery = parse(Provider::GitLab, &gitlab("Push Hook"), body.as_bytes()).expect("parses");
    assert_eq!(delivery.trigger().expect("runs").changed_paths, None);
}

#[test]
fn tag_push_hook_and_a_deleted_tag() {
    let body = push_body("tag_push", "refs/tags/v1.0.0", AFTER, 2);
    let delivery =
        parse(Provider::GitLab, &gitlab("Tag Push Hook"), body.as_bytes()).expect("parses");
    assert_eq!(delivery.event.name(), "push");
    assert_eq!(
        delivery.trigger().expect("runs").filter_ref,
        "refs/tags/v1.0.0"
    );

    let deleted = push_body("tag_push", "refs/tags/v1.0.0", &"0".repeat(40), 0);
    let delivery = parse(
        Provider::GitLab,
        &gitlab("Tag Push Hook"),
        deleted.as_bytes(),
    )
    .expect("parses");
    assert_eq!(
        delivery.trigger(),
        Err(NoRun::RefDeleted {
            git_ref: "refs/tags/v1.0.0".to_owned()
        })
    );
}

fn merge_request_body(action: &str, source_project: u64, oldrev: &str) -> String {
    format!(
        r#"{{
  "object_kind": "merge_request",
  "event_type": "merge_request",
  "user": {{ "id": 1, "name": "Administrator", "username": "root" }},
  "project": {{
    "id": 1, "name": "Gitlab Test",
    "web_url": "http://example.com/gitlabhq/gitlab-test",
    "git_ssh_url": "git@example.com:gitlabhq/gitlab-test.git",
    "git_http_url": "http://example.com/gitlabhq/gitlab-test.git",
    "path_with_namespace": "gitlabhq/gitlab-test",
    "default_branch": "master"
  }},
  "object_attributes": {{
    "id": 99, "iid": 1,
    "target_branch": "master", "source_branch": "ms-viewport",
    "source_project_id": {source_project}, "target_project_id": 1,
    "title": "MS-Viewport", "state": "opened", "action": "{action}",
    {oldrev}
    "source": {{ "path_with_namespace": "awesome_space/awesome_project" }},
    "target": {{ "path_with_namespace": "gitlabhq/gitlab-test" }},
    "last_commit": {{ "id": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", "message": "fixed readme" }}
  }}
}}"#
    )
}

#[test]
fn merge_request_actions_become_github_activity_types() {
    let cases = [
        ("open", ""),
        ("reopen", ""),
        ("close", ""),
        ("merge", ""),
        (
            "update",
            r#""oldrev": "95790bf891e76fee5e1747ab589903a6a1f80f22","#,
        ),
        ("update", ""),
        ("approved", ""),
    ];
    let expected = [
        "opened",
        "reopened",
        "closed",
        "closed",
        "synchronize",
        "edited",
        "approved",
    ];
    for ((action, oldrev), expected) in cases.into_iter().zip(expected) {
        let body = merge_request_body(action, 1, oldrev);
        let delivery = parse(
            Provider::GitLab,
            &gitlab("Merge Request Hook"),
            body.as_bytes(),
        )
        .expect(action);
        let trigger = delivery.trigger().expect("runs");
        assert_eq!(
            trigger.activity.as_deref(),
            Some(expected),
            "{action} {oldrev}"
        );
    }
}

#[test]
fn merge_request_reads_branches_and_forks() {
    let body = merge_request_body("open", 1, "");
    let delivery = parse(
        Provider::GitLab,
        &gitlab("Merge Request Hook"),
        body.as_bytes(),
    )
    .expect("parses");
    assert_eq!(delivery.sender.as_deref(), Some("root"));
    let Event::PullRequest(pull) = &delivery.event else {
        panic!("{:?}", delivery.event)
    };
    assert_eq!(pull.number, 1);
    assert_eq!(pull.title, "MS-Viewport");
    assert_eq!(pull.head.git_ref, "ms-viewport");
    assert_eq!(pull.head.sha.as_deref(), Some(AFTER));
    assert_eq!(
        (pull.base.git_ref.as_str(), pull.base.sha.as_deref()),
        ("master", None)
    );
    assert!(!pull.from_fork);
    let trigger = delivery.trigger().expect("runs");
    assert_eq!(trigger.filter_ref, "refs/heads/master");
    assert_eq!(
        trigger.payload["pull_request"]["head"]["ref"],
        "ms-viewport"
    );

    let fork = merge_request_body("open", 14, "");
    let delivery = parse(
        Provider::GitLab,
        &gitlab("Merge Request Hook"),
        fork.as_bytes(),
    )
    .expect("parses");
    assert!(delivery.trigger().expect("runs").withhold_secrets);
}

#[test]
fn system_hooks_and_a_missing_uuid_are_refused() {
    let body = push_body("push", "refs/heads/master", AFTER, 2);
    assert_eq!(
        parse(Provider::GitLab, &gitlab("System Hook"), body.as_bytes()),
        Err(WebhookError::UnknownEvent {
            provider: "gitlab",
            event: "System Hook".to_owned()
        })
    );
    let no_uuid = headers(&[("x-gitlab-event", "Push Hook")]);
    assert_eq!(
        parse(Provider::GitLab, &no_uuid, body.as_bytes()),
        Err(WebhookError::MissingHeader {
            header: "x-gitlab-event-uuid"
        })
    );
}

#[test]
fn a_merge_request_without_action_or_source_reads_from_its_state() {
    let body = r#"{
      "object_kind": "merge_request",
      "user": { "username": "root" },
      "project": { "path_with_namespace": "gitlabhq/gitlab-test", "git_http_url": "http://example.com/gitlabhq/gitlab-test.git" },
      "object_attributes": {
        "iid": 3, "title": "From a deleted fork", "state": "merged",
        "source_branch": "topic", "target_branch": "master", "target_project_id": 1,
        "target": { "path_with_namespace": "gitlabhq/gitlab-test" }
      }
    }"#;
    let delivery = parse(
        Provider::GitLab,
        &gitlab("Merge Request Hook"),
        body.as_bytes(),
    )
    .expect("parses");
    let Event::PullRequest(pull) = &delivery.event else {
        panic!("{:?}", delivery.event)
    };
    assert_eq!(pull.action, "closed");
    assert_eq!(pull.head.sha, None);
    assert!(
        pull.from_fork,
        "a deleted source project is treated as a fork"
    );
}
