//! Webhook receivers over real HTTP: signed GitHub, Gitea and GitLab deliveries of real pushes
//! to a bare repository run its workflow; refusals, redeliveries, deletions and path filters
//! start nothing; every delivery is recorded, counted and audited.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use slipway_store::Role;

use crate::support::{TestServer, bare_repository, git};

/// Runs on pushes to main that touch `src/`, and on pull requests.
const WORKFLOW: &str = r#"name: hooked
on:
  push:
    branches: [main]
    paths: ["src/**"]
  pull_request:
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo "built ${{ github.sha }} of ${{ github.ref }} for ${{ github.event.sender.login }}"
"#;

pub(crate) const SECRET: &str = "It's a Secret to Everybody";
/// The repository of a project added without a webhook secret.
const NO_SECRET: &str = "https://git.example.com/team/bare.git";
const ZERO: &str = "0000000000000000000000000000000000000000";

/// A server whose project `app` is the bare repository of [`WORKFLOW`] under a `file://` URL
/// (the form a delivery names), with a webhook secret file.
async fn hooked_server() -> TestServer {
    let server = TestServer::start_on(
        tempfile::tempdir().unwrap(),
        bare_repository(WORKFLOW),
        slipway_server::ServerConfig::new(std::path::PathBuf::new()),
    )
    .await;
    add_hooked_project(&server).await;
    server
}

/// Adds the project `app` for the server's repository, with [`SECRET`] in a file.
pub(crate) async fn add_hooked_project(server: &TestServer) {
    let secret_file = server.data.path().join("app.secret");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    let body = json!({
        "name": "app",
        "repository": repo_url(server),
        "webhook_secret_file": secret_file,
    });
    let (status, answer) = server.post(Role::Admin, "/api/v1/projects", body).await;
    assert_eq!(status, 201, "{answer}");
}

fn repo_url(server: &TestServer) -> String {
    format!("file://localhost{}", server.repo_path())
}

/// A push delivery as `provider` sends it, signed with `secret`: headers and body.
pub(crate) fn push(
    provider: &str,
    url: &str,
    id: &str,
    (before, after): (&str, &str),
    paths: &[&str],
    secret: &str,
) -> (Vec<(String, String)>, Vec<u8>) {
    let commits = json!([{ "id": after, "message": "change", "modified": paths }]);
    let body = if provider == "gitlab" {
        json!({
            "ref": "refs/heads/main", "before": before, "after": after,
            "user_username": "octocat", "commits": commits, "total_commits_count": 1,
            "project": { "path_with_namespace": "octo/app", "git_http_url": url },
        })
    } else {
        json!({
            "ref": "refs/heads/main", "before": before, "after": after, "commits": commits,
            "repository": { "full_name": "octo/app", "clone_url": url },
            "sender": { "login": "octocat" },
        })
    };
    let body = body.to_string().into_bytes();
    let signature = slipway_webhooks::sign(secret.as_bytes(), &body);
    let headers = match provider {
        "github" => [
            ("x-github-event", "push".to_owned()),
            ("x-github-delivery", id.to_owned()),
            ("x-hub-signature-256", format!("sha256={signature}")),
        ],
        "gitea" => [
            ("x-gitea-event", "push".to_owned()),
            ("x-gitea-delivery", id.to_owned()),
            ("x-gitea-signature", signature),
        ],
        _ => [
            ("x-gitlab-event", "Push Hook".to_owned()),
            ("x-gitlab-event-uuid", id.to_owned()),
            ("x-gitlab-token", secret.to_owned()),
        ],
    };
    let headers = headers
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    (headers, body)
}

/// Commits a change of `path` on main in a clone of `bare` and pushes it: the commits before
/// and after.
fn push_commit(bare: &Path, path: &str) -> (String, String) {
    push_commit_to(bare, path, "main")
}

/// Commits a change of `path` on a new or existing `branch` of a clone of `bare` and pushes it.
fn push_commit_to(bare: &Path, path: &str, branch: &str) -> (String, String) {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    git(
        Path::new("."),
        &[
            "clone",
            "--quiet",
            bare.to_str().unwrap(),
            dir.to_str().unwrap(),
        ],
    );
    git(dir, &["checkout", "--quiet", "-B", branch]);
    let file = dir.join(path);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, format!("{path} changed\n")).unwrap();
    git(dir, &["add", "."]);
    git(
        dir,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "--quiet",
            "-m",
            path,
        ],
    );
    git(dir, &["push", "--quiet", "origin", branch]);
    (rev(dir, "HEAD~1"), rev(dir, "HEAD"))
}

fn rev(dir: &Path, name: &str) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", name])
        .output()
        .unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

async fn run_count(server: &TestServer) -> usize {
    let (_, page) = server.get(Role::Viewer, "/api/v1/runs?project=app").await;
    page["runs"].as_array().unwrap().len()
}

async fn deliveries(server: &TestServer) -> Vec<Value> {
    let (status, page) = server.get(Role::Admin, "/api/v1/deliveries").await;
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().unwrap().clone()
}

async fn metric(server: &TestServer, outcome: &str) -> String {
    let (_, text) = server.get(Role::Viewer, "/metrics").await;
    let text = text.as_str().unwrap().to_owned();
    text.lines()
        .find(|line| {
            line.starts_with(&format!(
                "slipway_webhook_deliveries{{outcome=\"{outcome}\"}}"
            ))
        })
        .unwrap_or_else(|| panic!("no {outcome} deliveries in {text}"))
        .to_owned()
}

#[tokio::test]
async fn a_signed_github_push_runs_the_workflow_once_however_often_it_is_delivered() {
    let server = hooked_server().await;
    let (before, after) = push_commit(server.repo.path(), "src/main.rs");
    let (headers, body) = push(
        "github",
        &repo_url(&server),
        "d-1",
        (&before, &after),
        &["src/main.rs"],
        SECRET,
    );

    let (status, answer) = server
        .post_raw("/hooks/github", &headers, body.clone())
        .await;
    assert_eq!(status, 202, "{answer}");
    let run = answer["run"]["id"].as_i64().unwrap();
    let (again, duplicate) = server.post_raw("/hooks/github", &headers, body).await;
    assert_eq!(
        (again, duplicate["outcome"].as_str()),
        (200, Some("duplicate"))
    );

    let (lines, end) = server.follow(run, |_| {}).await;
    assert_eq!(end["conclusion"], "success", "{lines:?}");
    let built = format!("built {after} of refs/heads/main for octocat");
    assert!(lines.contains(&built), "{built:?} in {lines:?}");
    assert_eq!(run_count(&server).await, 1, "a redelivery starts nothing");
    let (_, detail) = server
        .get(Role::Viewer, &format!("/api/v1/runs/{run}"))
        .await;
    assert_eq!(detail["trigger"]["event"], "push");
    assert_eq!(detail["trigger"]["sha"], after.as_str());
    assert_eq!(detail["trigger"]["withhold_secrets"], false);

    let recorded = deliveries(&server).await;
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0]["delivery_id"], "d-1");
    assert_eq!(recorded[0]["outcome"], "accepted");
    assert_eq!(recorded[0]["remote_addr"], "127.0.0.1");
    assert_eq!(
        metric(&server, "accepted").await,
        "slipway_webhook_deliveries{outcome=\"accepted\"} 1"
    );
    assert_eq!(
        metric(&server, "duplicate").await,
        "slipway_webhook_deliveries{outcome=\"duplicate\"} 1"
    );
    let (_, audit) = server.get(Role::Admin, "/api/v1/audit").await;
    let accepted = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["action"] == "delivery.accept")
        .unwrap_or_else(|| panic!("{audit}"));
    assert_eq!(accepted["actor"], "octocat");
    assert_eq!(accepted["target"], "github:d-1");
    assert_eq!(accepted["remote_addr"], "127.0.0.1");
    server.stop().await;
}

#[tokio::test]
async fn signed_gitea_and_gitlab_pushes_run_the_workflow() {
    let server = hooked_server().await;
    for (provider, id) in [("gitea", "g-1"), ("gitlab", "l-1")] {
        let (before, after) = push_commit(server.repo.path(), &format!("src/{provider}.rs"));
        let (headers, body) = push(
            provider,
            &repo_url(&server),
            id,
            (&before, &after),
            &["src/x.rs"],
            SECRET,
        );
        let (status, answer) = server
            .post_raw(&format!("/hooks/{provider}"), &headers, body)
            .await;
        assert_eq!(status, 202, "{provider}: {answer}");
        let run = answer["run"]["id"].as_i64().unwrap();
        let (lines, end) = server.follow(run, |_| {}).await;
        assert_eq!(end["conclusion"], "success", "{provider}: {lines:?}");
        assert!(
            lines
                .iter()
                .any(|line| line.starts_with(&format!("built {after}"))),
            "{provider}: {lines:?}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn a_pull_request_from_a_fork_is_queued_to_run_without_secrets() {
    let server = hooked_server().await;
    let (base, head) = push_commit_to(server.repo.path(), "src/fork.rs", "feature");
    let body = json!({
        "action": "opened",
        "number": 7,
        "pull_request": {
            "title": "from a fork",
            "head": { "ref": "feature", "sha": head, "repo": { "full_name": "mallory/app" } },
            "base": { "ref": "main", "sha": base, "repo": { "full_name": "octo/app" } },
        },
        "repository": { "full_name": "octo/app", "clone_url": repo_url(&server) },
        "sender": { "login": "mallory" },
    })
    .to_string()
    .into_bytes();
    let signature = slipway_webhooks::sign(SECRET.as_bytes(), &body);
    let headers = [
        ("x-github-event", "pull_request".to_owned()),
        ("x-github-delivery", "pr-7".to_owned()),
        ("x-hub-signature-256", format!("sha256={signature}")),
    ]
    .map(|(name, value)| (name.to_owned(), value));

    let (status, answer) = server.post_raw("/hooks/github", &headers, body).await;
    assert_eq!(status, 202, "{answer}");
    let run = answer["run"]["id"].as_i64().unwrap();
    let (_, detail) = server
        .get(Role::Viewer, &format!("/api/v1/runs/{run}"))
        .await;
    assert_eq!(detail["trigger"]["event"], "pull_request");
    assert_eq!(detail["trigger"]["git_ref"], "refs/pull/7/merge");
    assert_eq!(detail["trigger"]["withhold_secrets"], true, "{detail}");
    let (lines, end) = server.follow(run, |_| {}).await;
    assert_eq!(end["conclusion"], "success", "{lines:?}");
    let built = format!("built {head} of refs/pull/7/merge for mallory");
    assert!(lines.contains(&built), "{built:?} in {lines:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_push_whose_paths_the_filter_excludes_completes_skipped_without_running() {
    let server = hooked_server().await;
    let (before, after) = push_commit(server.repo.path(), "docs/guide.md");
    let (headers, body) = push(
        "github",
        &repo_url(&server),
        "docs-1",
        (&before, &after),
        &["docs/guide.md"],
        SECRET,
    );

    let (status, answer) = server.post_raw("/hooks/github", &headers, body).await;
    assert_eq!(status, 202, "{answer}");
    let run = answer["run"]["id"].as_i64().unwrap();
    let (lines, end) = server.follow(run, |_| {}).await;

    assert_eq!(end["conclusion"], "skipped", "{lines:?}");
    let (_, detail) = server
        .get(Role::Viewer, &format!("/api/v1/runs/{run}"))
        .await;
    assert_eq!(detail["conclusion"], "skipped");
    assert!(
        detail["detail"]
            .as_str()
            .unwrap()
            .contains("no workflow runs on push"),
        "{detail}"
    );
    assert_eq!(detail["workflow_runs"], json!([]), "no workflow ran");
    let recorded = deliveries(&server).await;
    assert_eq!(recorded[0]["delivery_id"], "docs-1");
    assert_eq!(recorded[0]["outcome"], "skipped", "{recorded:?}");
    assert!(
        recorded[0]["reason"]
            .as_str()
            .unwrap()
            .contains("no workflow runs on push"),
        "{recorded:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn refused_and_skipped_deliveries_are_recorded_with_their_reason_and_start_nothing() {
    let server = hooked_server().await;
    let bare = json!({ "name": "bare", "repository": NO_SECRET });
    assert_eq!(
        server.post(Role::Admin, "/api/v1/projects", bare).await.0,
        201
    );
    let url = repo_url(&server);
    let commits = (ZERO, "1111111111111111111111111111111111111111");
    let (mut forged, body) = push("github", &url, "bad-sig", commits, &["src/a.rs"], "guess");
    let cases = [
        (
            "bad signature",
            "github",
            forged.clone(),
            body.clone(),
            401,
            "does not match",
        ),
        (
            "no signature",
            "github",
            {
                forged.retain(|(name, _)| name != "x-hub-signature-256");
                forged
            },
            body,
            401,
            "x-hub-signature-256",
        ),
        (
            "wrong gitlab token",
            "gitlab",
            push("gitlab", &url, "l-bad", commits, &[], "guess").0,
            push("gitlab", &url, "l-bad", commits, &[], "guess").1,
            401,
            "x-gitlab-token",
        ),
        (
            "no project",
            "gitea",
            push(
                "gitea",
                "https://example.com/o/other.git",
                "g-none",
                commits,
                &[],
                SECRET,
            )
            .0,
            push(
                "gitea",
                "https://example.com/o/other.git",
                "g-none",
                commits,
                &[],
                SECRET,
            )
            .1,
            404,
            "example.com/o/other",
        ),
        (
            "bad JSON",
            "github",
            vec![
                ("x-github-event".to_owned(), "push".to_owned()),
                ("x-github-delivery".to_owned(), "bad-json".to_owned()),
            ],
            b"{\"ref\": ".to_vec(),
            400,
            "line 1",
        ),
        (
            "unknown event",
            "github",
            vec![
                ("x-github-event".to_owned(), "star".to_owned()),
                ("x-github-delivery".to_owned(), "star-1".to_owned()),
            ],
            b"{}".to_vec(),
            400,
            "star",
        ),
        (
            "project without a secret",
            "github",
            push("github", NO_SECRET, "n-1", commits, &[], SECRET).0,
            push("github", NO_SECRET, "n-1", commits, &[], SECRET).1,
            401,
            "has no webhook secret",
        ),
    ];
    for (case, provider, headers, body, status, reason) in cases {
        let (answered, answer) = server
            .post_raw(&format!("/hooks/{provider}"), &headers, body)
            .await;
        assert_eq!(answered, status, "{case}: {answer}");
        let error = answer["error"].as_str().unwrap();
        assert!(error.contains(reason), "{case}: {error}");
    }

    let (deleted_headers, deleted_body) = push(
        "github",
        &url,
        "deleted",
        ("1111111111111111111111111111111111111111", ZERO),
        &[],
        SECRET,
    );
    let (status, answer) = server
        .post_raw("/hooks/github", &deleted_headers, deleted_body)
        .await;
    assert_eq!(
        (status, answer["outcome"].as_str()),
        (200, Some("skipped")),
        "{answer}"
    );
    assert!(
        answer["reason"]
            .as_str()
            .unwrap()
            .contains("refs/heads/main was deleted")
    );

    assert_eq!(run_count(&server).await, 0, "nothing was queued");
    let recorded = deliveries(&server).await;
    let outcome_of = |id: &str| {
        let delivery = recorded
            .iter()
            .find(|delivery| delivery["delivery_id"] == id)
            .unwrap_or_else(|| panic!("{id} in {recorded:?}"));
        (
            delivery["outcome"].as_str().unwrap().to_owned(),
            delivery["reason"].clone(),
        )
    };
    for id in ["bad-sig", "l-bad", "g-none", "bad-json", "star-1", "n-1"] {
        assert_eq!(outcome_of(id).0, "refused", "{id}");
    }
    assert_eq!(outcome_of("deleted").0, "skipped");
    assert_eq!(
        metric(&server, "refused").await,
        "slipway_webhook_deliveries{outcome=\"refused\"} 7"
    );
    let (_, audit) = server.get(Role::Admin, "/api/v1/audit?limit=100").await;
    let trail = audit.to_string();
    assert!(
        trail.contains("delivery.refuse") && trail.contains("delivery.skip"),
        "{trail}"
    );
    let refusals = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["action"] == "delivery.refuse");
    for refusal in refusals {
        // A forged delivery names whoever it likes: only a verified sender is an actor.
        assert_eq!(refusal["actor"], "webhook", "{refusal}");
    }
    let listed = format!("{recorded:?}{trail}");
    assert!(
        !listed.contains(SECRET) && !listed.contains("guess"),
        "no secret in records"
    );

    let (status, _) = server.get(Role::Viewer, "/healthz").await;
    assert_eq!(status, 200, "the server keeps serving");
    server.stop().await;
}

#[tokio::test]
async fn a_body_over_25_mb_is_refused_with_413() {
    let server = hooked_server().await;
    let headers = vec![
        ("x-github-event".to_owned(), "push".to_owned()),
        ("x-github-delivery".to_owned(), "huge".to_owned()),
    ];
    let body = vec![b' '; slipway_webhooks::MAX_BODY_BYTES + 1];
    let (status, answer) = server.post_raw("/hooks/github", &headers, body).await;
    assert_eq!(status, 413, "{answer}");
    let recorded = deliveries(&server).await;
    assert_eq!(recorded[0]["delivery_id"], "huge");
    assert_eq!(recorded[0]["outcome"], "refused");
    server.stop().await;
}
