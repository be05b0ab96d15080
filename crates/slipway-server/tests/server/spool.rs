//! Pushes handed over through the spool: queued once, even when a file is drained again after a
//! server died between queueing it and removing it.

use std::process::Command;

use slipway_server::spool::{PushedRef, hand_over};
use slipway_store::Role;

use crate::support::TestServer;

/// Hands `refs` to the server of `data` as the post-receive hook does (it blocks until the
/// server has drained the spool, so it runs off the test's runtime thread).
async fn hand(data: &std::path::Path, refs: Vec<PushedRef>) -> std::path::PathBuf {
    let data = data.to_owned();
    tokio::task::spawn_blocking(move || hand_over(&data, "web", refs).unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_spooled_push_drained_twice_is_queued_once() {
    let server = TestServer::start().await;
    let output = Command::new("git")
        .arg("-C")
        .arg(server.repo.path())
        .args(["rev-parse", "refs/heads/main"])
        .output()
        .unwrap();
    let main = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    let pushed = PushedRef {
        before: "0".repeat(40),
        after: main.clone(),
        git_ref: "refs/heads/main".to_owned(),
    };

    let file = hand(server.data.path(), vec![pushed.clone()]).await;
    assert!(!file.exists(), "drained once the hand-over returns");
    let (_, page) = server.get(Role::Viewer, "/api/v1/runs").await;
    let runs = page["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{page}");
    assert_eq!(runs[0]["trigger"]["sha"], main.as_str());
    assert_eq!(runs[0]["trigger"]["actor"], "post-receive");

    // As if the server had died after queueing the push and before removing its file.
    let again = serde_json::json!({ "project": "web", "refs": [pushed] });
    std::fs::write(&file, again.to_string()).unwrap();
    hand(server.data.path(), Vec::new()).await;
    assert!(!file.exists());
    let (_, page) = server.get(Role::Viewer, "/api/v1/runs").await;
    assert_eq!(
        page["runs"].as_array().unwrap().len(),
        1,
        "queued once: {page}"
    );
    let (_, deliveries) = server.get(Role::Admin, "/api/v1/deliveries").await;
    assert_eq!(deliveries["items"][0]["provider"], "local", "{deliveries}");
    server.stop().await;
}
