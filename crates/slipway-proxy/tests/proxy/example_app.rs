//! The example service (`examples/hello`, Node.js) behind the proxy, health-checked.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use slipway_proxy::{ActiveHealthCheck, HealthState, RoutingTable, Upstream, UpstreamId};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{ChildStdout, Command};

use crate::support::{PATIENCE, TestProxy, backend, eventually, route};

/// The address the example reports in its "listening on HOST:PORT" line: it binds port 0 itself,
/// so no port is picked, released and bound again.
async fn listening_address(stdout: ChildStdout) -> SocketAddr {
    let mut lines = BufReader::new(stdout).lines();
    let read = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some((_, address)) = line.split_once(" listening on ") {
                return address.parse().unwrap();
            }
        }
        panic!("the example service ended without listening");
    };
    tokio::time::timeout(PATIENCE, read)
        .await
        .expect("the example service never said where it listens")
}

#[tokio::test]
async fn the_example_service_answers_through_the_proxy() {
    let server =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/hello/src/server.js");
    let mut node = Command::new("node")
        .arg(&server)
        .env("PORT", "0")
        .env("HOST", "127.0.0.1")
        .env("SLIPWAY_RELEASE", "r7")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs the example service (install Node.js 20)");
    let addr = listening_address(node.stdout.take().unwrap()).await;

    let proxy = TestProxy::start().await;
    let mut hello = backend(
        "dev/hello",
        vec![slipway_proxy::Pool {
            id: "r7".parse().unwrap(),
            weight: 1,
            upstreams: vec![Upstream {
                id: UpstreamId::new("r7-1").unwrap(),
                addr,
            }],
        }],
    );
    // A timeout no loaded machine comes near: this test is about passing checks, not slow ones.
    hello.health_check = Some(ActiveHealthCheck {
        interval: Duration::from_secs(1),
        timeout: Duration::from_secs(1),
        healthy_threshold: 1,
        unhealthy_threshold: 1,
        ..ActiveHealthCheck::new("/healthz")
    });
    let table = RoutingTable::new(
        vec![hello],
        vec![route(Some("hello.internal"), "/", "dev/hello")],
    )
    .unwrap();
    proxy.apply(table).await;
    eventually("the checks pass", || {
        let health = proxy.proxy.upstream_health();
        health[0].state == HealthState::Healthy && health[0].last_check_error.is_none()
    })
    .await;

    let answer = proxy.get("hello.internal", "/version").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let version: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(version["release"], "r7");
    assert_eq!(version["service"], "hello");
    let answer = proxy.get("hello.internal", "/").await;
    assert!(
        answer.body.starts_with("hello from hello"),
        "{}",
        answer.body
    );
    node.kill().await.unwrap();
}
