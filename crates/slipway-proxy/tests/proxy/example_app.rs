//! The example service (`examples/hello`, Node.js) behind the proxy, health-checked.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use slipway_proxy::{ActiveHealthCheck, HealthState, RoutingTable, Upstream, UpstreamId};
use tokio::net::TcpStream;
use tokio::process::Command;

use crate::support::{PATIENCE, TestProxy, backend, refused_addr, route};

#[tokio::test]
async fn the_example_service_answers_through_the_proxy() {
    let server =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/hello/src/server.js");
    let addr = refused_addr().await;
    let mut node = Command::new("node")
        .arg(&server)
        .env("PORT", addr.port().to_string())
        .env("HOST", "127.0.0.1")
        .env("SLIPWAY_RELEASE", "r7")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs the example service (install Node.js 20)");

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
    hello.health_check = Some(ActiveHealthCheck {
        interval: Duration::from_millis(100),
        timeout: Duration::from_millis(100),
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
    // Node takes a moment to listen; the deploy controller waits for it the same way.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while TcpStream::connect(addr).await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the example service never listened on {addr}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let health = proxy.proxy.upstream_health();
    assert_eq!(
        (health[0].state, &health[0].last_check_error),
        (HealthState::Healthy, &None),
        "checks pass"
    );

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
