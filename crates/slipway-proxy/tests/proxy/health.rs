//! Active health checks: failing upstreams stop getting requests, recovering ones get them again.

use std::time::Duration;

use slipway_proxy::{
    ActiveHealthCheck, HealthState, RoutingTable, Upstream, UpstreamHealth, UpstreamId,
};

use crate::support::{TestProxy, TestUpstream, backend, eventually, pool, refused_addr, route};

fn checked(pools: Vec<slipway_proxy::Pool>) -> RoutingTable {
    let mut web = backend("web", pools);
    // The test upstreams answer at once: a generous timeout keeps a loaded machine from failing
    // checks nobody meant to fail (the timeout itself has its own test, with an upstream that
    // never answers); the interval is what makes the states change quickly.
    web.health_check = Some(ActiveHealthCheck {
        path: "/healthz".to_owned(),
        interval: Duration::from_millis(500),
        timeout: Duration::from_millis(500),
        healthy_threshold: 2,
        unhealthy_threshold: 2,
    });
    RoutingTable::new(vec![web], vec![route(None, "/", "web")]).unwrap()
}

fn state_of(health: &[UpstreamHealth], upstream: &str) -> HealthState {
    health
        .iter()
        .find(|entry| entry.upstream.as_str() == upstream)
        .unwrap()
        .state
}

#[tokio::test]
async fn failing_checks_take_an_upstream_out_and_passing_ones_bring_it_back() {
    let a = TestUpstream::start("a").await;
    let b = TestUpstream::start("b").await;
    let proxy = TestProxy::start().await;
    proxy.apply(checked(vec![pool("v1", 1, &[&a, &b])])).await;

    a.set_health(503);
    eventually("a is unhealthy", || {
        state_of(&proxy.proxy.upstream_health(), "a") == HealthState::Unhealthy
    })
    .await;
    let report = proxy.proxy.upstream_health();
    let error = report
        .iter()
        .find(|entry| entry.upstream.as_str() == "a")
        .unwrap()
        .last_check_error
        .clone();
    assert!(
        error.unwrap().contains("503"),
        "the report says what the check saw"
    );
    let hits_before = a.hits();
    for _ in 0..20 {
        assert_eq!(proxy.get("x", "/").await.body, "b");
    }
    assert_eq!(
        a.hits(),
        hits_before,
        "an unhealthy upstream gets no requests"
    );

    a.set_health(200);
    eventually("a is healthy again", || {
        state_of(&proxy.proxy.upstream_health(), "a") == HealthState::Healthy
    })
    .await;
    for _ in 0..10 {
        proxy.get("x", "/").await;
    }
    assert!(
        a.hits() > hits_before,
        "a recovered upstream gets requests again"
    );

    b.set_health(500);
    a.set_health(500);
    eventually("both are unhealthy", || {
        let health = proxy.proxy.upstream_health();
        state_of(&health, "a") == HealthState::Unhealthy
            && state_of(&health, "b") == HealthState::Unhealthy
    })
    .await;
    let answer = proxy.get("x", "/").await;
    assert_eq!(answer.status, 503);
    assert!(
        answer.body.contains("no healthy upstream"),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn a_pool_without_a_healthy_upstream_is_skipped_and_the_others_take_its_share() {
    let stable = TestUpstream::start("stable").await;
    let canary = TestUpstream::start("canary").await;
    let proxy = TestProxy::start().await;
    proxy
        .apply(checked(vec![
            pool("stable", 90, &[&stable]),
            pool("canary", 10, &[&canary]),
        ]))
        .await;
    stable.set_health(503);
    eventually("stable is unhealthy", || {
        state_of(&proxy.proxy.upstream_health(), "stable") == HealthState::Unhealthy
    })
    .await;
    for _ in 0..30 {
        let answer = proxy.get("x", "/").await;
        assert_eq!(
            (answer.status.as_u16(), answer.body.as_str()),
            (200, "canary")
        );
    }
}

#[tokio::test]
async fn an_upstream_that_is_down_when_checks_start_is_taken_out() {
    let live = TestUpstream::start("live").await;
    let proxy = TestProxy::start().await;
    let (mut backends, routes) = checked(vec![pool("v1", 1, &[&live])]).into_parts();
    backends[0].pools[0].upstreams.push(Upstream {
        id: UpstreamId::new("gone").unwrap(),
        addr: refused_addr().await,
    });
    proxy
        .apply(RoutingTable::new(backends, routes).unwrap())
        .await;
    eventually("gone is unhealthy", || {
        state_of(&proxy.proxy.upstream_health(), "gone") == HealthState::Unhealthy
    })
    .await;
    let error = proxy
        .proxy
        .upstream_health()
        .into_iter()
        .find(|entry| entry.upstream.as_str() == "gone")
        .unwrap();
    assert!(
        error.last_check_error.unwrap().contains("connecting to"),
        "the report names the connection failure"
    );
}

#[tokio::test]
async fn a_check_without_an_answer_within_its_timeout_fails() {
    let live = TestUpstream::start("live").await;
    // Bound and listening, so connecting succeeds (the kernel completes the handshake), but
    // never accepting: no answer ever comes, however long the check waits or however loaded the
    // machine is. Held until the test ends.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = TestProxy::start().await;
    let (mut backends, routes) = checked(vec![pool("v1", 1, &[&live])]).into_parts();
    backends[0].pools[0].upstreams.push(Upstream {
        id: UpstreamId::new("silent").unwrap(),
        addr: silent.local_addr().unwrap(),
    });
    proxy
        .apply(RoutingTable::new(backends, routes).unwrap())
        .await;
    eventually("silent is unhealthy", || {
        state_of(&proxy.proxy.upstream_health(), "silent") == HealthState::Unhealthy
    })
    .await;
    let report = proxy.proxy.upstream_health();
    let silent_report = report
        .iter()
        .find(|entry| entry.upstream.as_str() == "silent")
        .unwrap();
    assert_eq!(
        silent_report.last_check_error.as_deref(),
        Some("GET /healthz took longer than 500ms")
    );
    eventually("live stays in service", || {
        state_of(&proxy.proxy.upstream_health(), "live") == HealthState::Healthy
    })
    .await;
}
