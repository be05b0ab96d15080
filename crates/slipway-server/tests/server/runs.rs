//! Trigger → queue → worker → runner → store, seen through the API: dispatch, the live log,
//! cancel, rerun, restart recovery and shutdown.

use std::path::PathBuf;
use std::time::Duration;

use slipway_server::ServerConfig;
use slipway_store::{ClaimLimits, OnRestart, QueueStore, Role, RunStatus, SqliteStore, Trigger};

use crate::support::TestServer;

#[tokio::test]
async fn a_dispatched_run_completes_and_its_jobs_steps_and_every_log_line_are_visible() {
    let server = TestServer::start().await;
    let id = server
        .dispatch(serde_json::json!({ "greeting": "howdy" }))
        .await;

    let (lines, end) = server.follow(id, |_| {}).await;

    assert_eq!(end["conclusion"], "success", "{lines:?}");
    for expected in [
        "howdy from the server",
        "counting",
        "line 1",
        "line 2",
        "line 3",
    ] {
        assert!(
            lines.iter().any(|line| line == expected),
            "{expected:?} in {lines:?}"
        );
    }
    let (status, run) = server
        .get(Role::Viewer, &format!("/api/v1/runs/{id}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(run["status"], "completed");
    assert_eq!(run["trigger"]["actor"], "developer-1");
    assert_eq!(run["trigger"]["git_ref"], "refs/heads/main");
    for stamp in ["queued_at", "started_at", "finished_at"] {
        assert!(run[stamp].is_string(), "{stamp} in {run}");
    }
    let workflow_run = &run["workflow_runs"][0];
    assert_eq!(workflow_run["event"], "workflow_dispatch");
    let steps = &workflow_run["jobs"][0]["steps"];
    assert_eq!(steps[0]["name"], "greet");
    assert_eq!(steps[1]["conclusion"], "success");

    // Once completed, the log is read back from the store: the same lines.
    let (stored, _) = server.follow(id, |_| {}).await;
    for expected in ["howdy from the server", "line 3"] {
        assert!(
            stored.iter().any(|line| line == expected),
            "{expected:?} in {stored:?}"
        );
    }
    let (_, page) = server
        .get(Role::Viewer, "/api/v1/runs?project=web&status=completed")
        .await;
    assert_eq!(page["runs"][0]["id"], id);
    let (_, metrics) = server.get(Role::Viewer, "/metrics").await;
    let metrics = metrics.as_str().unwrap().to_owned();
    assert!(
        metrics.contains("slipway_runs{status=\"success\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("slipway_job_duration_seconds_count 1"),
        "{metrics}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_follower_sees_lines_while_the_step_runs_and_the_end_when_it_completes() {
    let server = TestServer::start().await;
    let release = server.data.path().join("release");
    let id = server
        .dispatch(serde_json::json!({ "wait_for": release.display().to_string() }))
        .await;

    let (lines, end) = server
        .follow(id, |line| {
            // The step is waiting for this file: it prints the rest only after "counting" was
            // seen here, so these lines reached the follower live, before the run was recorded.
            if line == "counting" {
                std::fs::write(&release, "go").unwrap();
            }
        })
        .await;

    assert_eq!(end["conclusion"], "success");
    let counting = lines.iter().position(|line| line == "counting").unwrap();
    let last = lines.iter().position(|line| line == "line 3").unwrap();
    assert!(counting < last, "{lines:?}");
    server.stop().await;
}

#[tokio::test]
async fn cancel_interrupts_a_running_run_and_rerun_runs_it_again_at_the_same_commit() {
    let server = TestServer::start().await;
    let never = server.data.path().join("never-created");
    let id = server
        .dispatch(serde_json::json!({ "wait_for": never.display().to_string() }))
        .await;

    server.wait_for_line(id, "counting").await;

    let cancel = format!("/api/v1/runs/{id}/cancel");
    let (status, answer) = server.call(Role::Developer, "POST", &cancel, None).await;

    assert_eq!(status, 202, "{answer}");
    let (_, end) = server.follow(id, |_| {}).await;
    assert_eq!(end["conclusion"], "cancelled");
    let (status, answer) = server
        .call(
            Role::Developer,
            "POST",
            &format!("/api/v1/runs/{id}/cancel"),
            None,
        )
        .await;
    assert_eq!(status, 409, "{answer}");
    let (_, first) = server
        .get(Role::Viewer, &format!("/api/v1/runs/{id}"))
        .await;
    let commit = first["workflow_runs"][0]["git"]["commit"].clone();
    assert!(commit.is_string(), "{first}");

    let (status, queued) = server
        .call(
            Role::Developer,
            "POST",
            &format!("/api/v1/runs/{id}/rerun"),
            None,
        )
        .await;
    assert_eq!(status, 201, "{queued}");
    let rerun = queued["id"].as_i64().unwrap();
    std::fs::write(&never, "now").unwrap();
    let (_, end) = server.follow(rerun, |_| {}).await;
    assert_eq!(end["conclusion"], "success");
    let (_, again) = server
        .get(Role::Viewer, &format!("/api/v1/runs/{rerun}"))
        .await;
    assert_eq!(again["trigger"]["rerun_of"], id);
    assert_eq!(again["trigger"]["sha"], commit);
    server.stop().await;
}

#[tokio::test]
async fn a_run_left_in_progress_by_a_dead_server_is_queued_again_and_completes() {
    let data = tempfile::tempdir().unwrap();
    let repo = crate::support::bare_repository(crate::support::WORKFLOW);
    {
        // What a server killed mid-run leaves: a project and a run marked in progress.
        let store = SqliteStore::open(data.path()).unwrap();
        slipway_server::projects::add(
            &store,
            slipway_server::projects::NewProject {
                name: "web".to_owned(),
                repository: repo.path().display().to_string(),
                default_branch: None,
                webhook_secret_file: None,
                poll_interval_s: None,
            }
            .validate()
            .unwrap(),
        )
        .unwrap();
        store
            .enqueue_run(&trigger(), jiff::Timestamp::now())
            .unwrap();
        let limits = ClaimLimits {
            global: 1,
            per_project: 1,
        };
        assert!(
            store
                .claim_run(limits, jiff::Timestamp::now())
                .unwrap()
                .is_some()
        );
    }
    let mut config = ServerConfig::new(PathBuf::new());
    config.on_restart = OnRestart::Requeue;

    let server = TestServer::start_on(data, repo, config).await;

    let (lines, end) = server.follow(1, |_| {}).await;
    assert_eq!(end["conclusion"], "success", "{lines:?}");
    let (_, run) = server.get(Role::Viewer, "/api/v1/runs/1").await;
    assert!(
        run["detail"].as_str().unwrap().contains("interrupted"),
        "{run}"
    );
    server.stop().await;
}

#[tokio::test]
async fn shutdown_interrupts_runs_still_going_after_the_grace_period() {
    let data = tempfile::tempdir().unwrap();
    let repo = crate::support::bare_repository(crate::support::WORKFLOW);
    let mut config = ServerConfig::new(PathBuf::new());
    config.grace = Duration::ZERO;
    let server = TestServer::start_on(data, repo, config).await;
    let body = serde_json::json!({ "name": "web", "repository": server.repo_path() });
    assert_eq!(
        server.post(Role::Admin, "/api/v1/projects", body).await.0,
        201
    );
    let never = server.data.path().join("never-created");
    let id = server
        .dispatch(serde_json::json!({ "wait_for": never.display().to_string() }))
        .await;
    server.wait_for_line(id, "counting").await;

    let (data, _repo) = server.stop().await;

    let store = SqliteStore::open(data.path()).unwrap();
    let run = store
        .queued_run(slipway_store::QueuedRunId::new(id))
        .unwrap()
        .unwrap();
    assert_eq!(run.status, RunStatus::Completed);
    assert_eq!(run.conclusion, Some(slipway_store::Conclusion::Cancelled));
    let pid = std::fs::read_to_string(format!("{}.pid", never.display())).unwrap();
    let proc_dir = PathBuf::from(format!("/proc/{}", pid.trim()));
    assert!(!proc_dir.exists(), "the step's process outlived the server");
    assert!(
        std::fs::read_dir(data.path().join("workspaces"))
            .unwrap()
            .next()
            .is_none(),
        "the run's worktree is removed"
    );
}

#[tokio::test]
async fn a_push_the_branch_filter_excludes_completes_as_skipped_with_the_reason() {
    let data = tempfile::tempdir().unwrap();
    let repo = crate::support::bare_repository(crate::support::WORKFLOW);
    {
        let store = SqliteStore::open(data.path()).unwrap();
        let project = slipway_server::projects::NewProject {
            name: "web".to_owned(),
            repository: repo.path().display().to_string(),
            default_branch: None,
            webhook_secret_file: None,
            poll_interval_s: None,
        };
        slipway_server::projects::add(&store, project.validate().unwrap()).unwrap();
        let push = Trigger {
            workflow: None,
            event: "push".to_owned(),
            git_ref: "refs/heads/main".to_owned(),
            ..trigger()
        };
        store.enqueue_run(&push, jiff::Timestamp::now()).unwrap();
        let feature = Trigger {
            git_ref: "refs/heads/feature".to_owned(),
            ..push.clone()
        };
        store.enqueue_run(&feature, jiff::Timestamp::now()).unwrap();
        let missing = Trigger {
            git_ref: "refs/tags/v1".to_owned(),
            ..push
        };
        store.enqueue_run(&missing, jiff::Timestamp::now()).unwrap();
    }

    let server = TestServer::start_on(data, repo, ServerConfig::new(PathBuf::new())).await;

    let (lines, end) = server.follow(1, |_| {}).await;
    assert_eq!(end["conclusion"], "success", "{lines:?}");
    let (_, end) = server.follow(2, |_| {}).await;
    let (_, run) = server.get(Role::Viewer, "/api/v1/runs/2").await;
    assert_eq!(end["conclusion"], "skipped", "{run}");
    let detail = run["detail"].as_str().unwrap();
    assert!(detail.contains("does not match branches [main]"), "{run}");
    let (_, end) = server.follow(3, |_| {}).await;
    assert_eq!(
        end["conclusion"], "failure",
        "a tag the repository lacks: {end}"
    );
    let (_, run) = server.get(Role::Viewer, "/api/v1/runs/3").await;
    assert!(
        run["detail"].as_str().unwrap().contains("refs/tags/v1"),
        "{run}"
    );
    server.stop().await;
}

fn trigger() -> Trigger {
    Trigger {
        project: "web".to_owned(),
        workflow: Some(".github/workflows/ci.yml".to_owned()),
        event: "workflow_dispatch".to_owned(),
        git_ref: "refs/heads/main".to_owned(),
        sha: None,
        actor: "alice".to_owned(),
        inputs: Default::default(),
        rerun_of: None,
        payload: None,
        withhold_secrets: false,
    }
}

#[tokio::test]
async fn a_queued_run_cancelled_before_it_starts_ends_its_followers_stream() {
    let data = tempfile::tempdir().unwrap();
    let repo = crate::support::bare_repository(crate::support::WORKFLOW);
    let mut config = ServerConfig::new(PathBuf::new());
    config.per_project = 1;
    let server = TestServer::start_on(data, repo, config).await;
    let body = serde_json::json!({ "name": "web", "repository": server.repo_path() });
    assert_eq!(
        server.post(Role::Admin, "/api/v1/projects", body).await.0,
        201
    );
    let release = server.data.path().join("release");
    let wait = serde_json::json!({ "wait_for": release.display().to_string() });
    let running = server.dispatch(wait).await;
    server.wait_for_line(running, "counting").await;
    let queued = server.dispatch(serde_json::json!({})).await;
    let (_, listed) = server
        .get(Role::Viewer, &format!("/api/v1/runs/{queued}"))
        .await;
    assert_eq!(
        listed["status"], "queued",
        "the project's one slot is taken"
    );

    let follower = {
        let path = format!("/api/v1/runs/{queued}/logs?follow=1");
        server
            .request("GET", &path, Some(server.token(Role::Viewer)), None)
            .await
    };
    let cancel = format!("/api/v1/runs/{queued}/cancel");
    assert_eq!(
        server.call(Role::Developer, "POST", &cancel, None).await.0,
        202
    );

    use http_body_util::BodyExt;
    let events = follower.into_body().collect().await.unwrap().to_bytes();
    let events = String::from_utf8_lossy(&events);
    assert!(events.contains("event: end"), "{events}");
    assert!(events.contains("\"conclusion\":\"cancelled\""), "{events}");
    std::fs::write(&release, "go").unwrap();
    let (_, end) = server.follow(running, |_| {}).await;
    assert_eq!(end["conclusion"], "success");
    server.stop().await;
}
