//! The audit trail of the API's state-changing requests: who, what, on what, from where, never a
//! secret, listed newest first by cursor, and a chain the store proves whole.

use serde_json::{Value, json};
use slipway_store::{AuditCheck, AuditStore, Role, SqliteStore};

use crate::support::TestServer;

/// Every entry of `/api/v1/audit`, newest first, read two at a time by cursor.
async fn whole_trail(server: &TestServer) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut path = "/api/v1/audit?limit=2".to_owned();
    loop {
        let (status, page) = server.get(Role::Admin, &path).await;
        assert_eq!(status, 200, "{page}");
        entries.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next"].as_i64() {
            Some(cursor) => path = format!("/api/v1/audit?limit=2&cursor={cursor}"),
            None => return entries,
        }
    }
}

#[tokio::test]
async fn every_state_changing_request_is_audited_with_its_caller_and_address() {
    let server = TestServer::start().await;
    let (status, created) = server
        .post(
            Role::Admin,
            "/api/v1/tokens",
            json!({ "name": "ci", "role": "viewer" }),
        )
        .await;
    assert_eq!(status, 201);
    let secret = created["secret"].as_str().unwrap().to_owned();
    let (status, _) = server
        .call(Role::Admin, "DELETE", "/api/v1/tokens/ci", None)
        .await;
    assert_eq!(status, 204);
    let run = server.dispatch(json!({ "greeting": "hi" })).await;
    server.follow(run, |_| {}).await;
    let (status, _) = server
        .call(
            Role::Developer,
            "POST",
            &format!("/api/v1/runs/{run}/rerun"),
            None,
        )
        .await;
    assert_eq!(status, 201);
    let never = server.data.path().join("never");
    let waiting = server
        .dispatch(json!({ "wait_for": never.display().to_string() }))
        .await;
    server.wait_for_line(waiting, "counting").await;
    let (status, _) = server
        .call(
            Role::Developer,
            "POST",
            &format!("/api/v1/runs/{waiting}/cancel"),
            None,
        )
        .await;
    assert_eq!(status, 202);
    let (status, _) = server
        .call(Role::Admin, "DELETE", "/api/v1/projects/web", None)
        .await;
    assert_eq!(status, 204);

    let trail = whole_trail(&server).await;
    let seen: Vec<_> = trail
        .iter()
        .rev()
        .map(|entry| {
            (
                entry["actor"].as_str().unwrap(),
                entry["action"].as_str().unwrap(),
                entry["target"].as_str().unwrap(),
            )
        })
        .collect();
    let run = run.to_string();
    let waiting = waiting.to_string();
    assert_eq!(
        seen,
        [
            ("admin-3", "project.add", "web"),
            ("admin-3", "token.create", "ci"),
            ("admin-3", "token.revoke", "ci"),
            ("developer-1", "run.dispatch", "web"),
            ("developer-1", "run.rerun", "web"),
            ("developer-1", "run.dispatch", "web"),
            ("developer-1", "run.cancel", waiting.as_str()),
            ("admin-3", "project.remove", "web"),
        ]
    );
    assert!(
        trail[3]["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("runs {run} again"))
    );
    assert!(
        trail
            .iter()
            .all(|entry| entry["remote_addr"] == "127.0.0.1")
    );
    assert!(
        !format!("{trail:?}").contains(&secret),
        "no token in the trail"
    );
    let (data, _repo) = server.stop().await;

    let store = SqliteStore::open(data.path()).unwrap();
    assert!(matches!(
        store.verify_audit().unwrap(),
        AuditCheck::Intact { entries: 8, .. }
    ));
}
