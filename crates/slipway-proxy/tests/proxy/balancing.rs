//! Weighted pools (canaries) and balancing inside a pool.

use slipway_proxy::{BackendId, PoolId};

use crate::support::{TestProxy, TestUpstream, pool, single};

#[tokio::test]
async fn pools_get_their_weight_and_upstreams_take_turns() {
    let stable_a = TestUpstream::start("stable-a").await;
    let stable_b = TestUpstream::start("stable-b").await;
    let canary = TestUpstream::start("canary").await;
    let proxy = TestProxy::start().await;
    proxy
        .apply(single(vec![
            pool("stable", 80, &[&stable_a, &stable_b]),
            pool("canary", 20, &[&canary]),
        ]))
        .await;
    for _ in 0..500 {
        assert_eq!(proxy.get("x", "/").await.status, 200);
    }
    // Shares are exact over every 100 consecutive requests (see the router's docs); one at a
    // time, least-requests balancing alternates between the two idle stable upstreams.
    assert_eq!(canary.hits(), 100);
    assert_eq!(stable_a.hits(), 200);
    assert_eq!(stable_b.hits(), 200);
}

#[tokio::test]
async fn changing_weights_keeps_each_pools_metrics() {
    let stable = TestUpstream::start("stable").await;
    let canary = TestUpstream::start("canary").await;
    let proxy = TestProxy::start().await;
    proxy
        .apply(single(vec![
            pool("stable", 90, &[&stable]),
            pool("canary", 10, &[&canary]),
        ]))
        .await;
    for _ in 0..100 {
        proxy.get("x", "/").await;
    }
    proxy
        .apply(single(vec![
            pool("stable", 50, &[&stable]),
            pool("canary", 50, &[&canary]),
        ]))
        .await;
    for _ in 0..100 {
        proxy.get("x", "/").await;
    }
    let metrics = proxy.proxy.metrics();
    let web = BackendId::new("web").unwrap();
    let requests = |id: &str| {
        metrics
            .pool(&web, &PoolId::new(id).unwrap())
            .unwrap()
            .requests
    };
    assert_eq!(requests("canary"), 10 + 50);
    assert_eq!(requests("stable"), 90 + 50);
    assert_eq!(canary.hits(), 60);
}
