//! Per-pool metrics, in-process and as Prometheus text on the control API and the metrics
//! listener.

use std::collections::HashMap;

use slipway_proxy::{BackendId, Client, PoolId, RoutingTable};

use crate::support::{TestProxy, TestUpstream, backend, http_client, pool, read, route, single};

#[tokio::test]
async fn requests_are_counted_per_pool_by_status_class() {
    let upstream = TestUpstream::start("app").await;
    let proxy = TestProxy::start().await;
    proxy.apply(single(vec![pool("v1", 1, &[&upstream])])).await;
    let before = proxy.proxy.metrics();
    for path in [
        "/",
        "/",
        "/",
        "/status/503",
        "/status/500",
        "/status/404",
        "/status/302",
        "/fail",
    ] {
        proxy.get("x", path).await;
    }
    let snapshot = proxy.proxy.metrics();
    let stats = snapshot
        .pool(&BackendId::new("web").unwrap(), &PoolId::new("v1").unwrap())
        .unwrap();
    assert_eq!(stats.responses.success, 3);
    assert_eq!(stats.responses.redirection, 1);
    assert_eq!(stats.responses.client_error, 1);
    assert_eq!(stats.responses.server_error, 2);
    assert_eq!(stats.proxy_errors, 1);
    assert_eq!(stats.requests, 8);
    assert_eq!(stats.latency.count(), 8);
    assert_eq!(stats.error_rate(), Some(3.0 / 8.0));
    assert!(stats.latency.quantile(0.95).is_some());

    let window = snapshot.since(&before);
    assert_eq!(
        window
            .pool(&BackendId::new("web").unwrap(), &PoolId::new("v1").unwrap())
            .unwrap()
            .requests,
        8
    );
}

/// Parses Prometheus text: every sample line is `name{labels} value`, and every family has HELP
/// and TYPE lines before its samples. Returns samples by `name{labels}`.
fn parse_prometheus(text: &str) -> HashMap<String, f64> {
    let mut described = Vec::new();
    let mut samples = HashMap::new();
    for line in text.lines() {
        if let Some(rest) = line
            .strip_prefix("# HELP ")
            .or_else(|| line.strip_prefix("# TYPE "))
        {
            described.push(rest.split(' ').next().unwrap().to_owned());
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("not a sample: {line}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("not a number in: {line}"));
        let name = series.split('{').next().unwrap();
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .unwrap_or(name);
        assert!(
            described
                .iter()
                .any(|described| described == family || described == name),
            "{name} has no HELP/TYPE"
        );
        if series.contains('{') {
            assert!(series.ends_with('}'), "unclosed labels: {line}");
        }
        samples.insert(series.to_owned(), value);
    }
    samples
}

#[tokio::test]
async fn prometheus_text_has_every_family_and_the_counts() {
    let stable = TestUpstream::start("stable").await;
    let canary = TestUpstream::start("canary").await;
    let proxy = TestProxy::start_with(|config| {
        config.metrics_listen = Some("127.0.0.1:0".parse().unwrap())
    })
    .await;
    let table = RoutingTable::new(
        vec![backend(
            "staging/orders",
            vec![pool("r1", 1, &[&stable]), pool("r2", 1, &[&canary])],
        )],
        vec![route(None, "/", "staging/orders")],
    )
    .unwrap();
    proxy.apply(table).await;
    for _ in 0..10 {
        proxy.get("x", "/").await;
    }
    proxy.get("x", "/status/500").await;

    let text = Client::new(proxy.proxy.control_endpoint().clone())
        .metrics_text()
        .await
        .unwrap();
    let samples = parse_prometheus(&text);
    let labels = |pool: &str| format!("backend=\"staging/orders\",pool=\"{pool}\"");
    let r1 = samples[&format!("slipway_proxy_requests_total{{{}}}", labels("r1"))];
    let r2 = samples[&format!("slipway_proxy_requests_total{{{}}}", labels("r2"))];
    assert_eq!(r1 + r2, 11.0);
    let ok = samples[&format!(
        "slipway_proxy_responses_total{{{},class=\"2xx\"}}",
        labels("r1")
    )] + samples[&format!(
        "slipway_proxy_responses_total{{{},class=\"2xx\"}}",
        labels("r2")
    )];
    assert_eq!(ok, 10.0);
    for pool in ["r1", "r2"] {
        let count = samples[&format!(
            "slipway_proxy_request_duration_seconds_count{{{}}}",
            labels(pool)
        )];
        let infinity = samples[&format!(
            "slipway_proxy_request_duration_seconds_bucket{{{},le=\"+Inf\"}}",
            labels(pool)
        )];
        assert_eq!(count, infinity);
        let mut buckets: Vec<(f64, f64)> = samples
            .iter()
            .filter(|(series, _)| {
                series.starts_with("slipway_proxy_request_duration_seconds_bucket")
                    && series.contains(&labels(pool))
            })
            .filter_map(|(series, value)| {
                let bound = series.split("le=\"").nth(1)?.trim_end_matches("\"}");
                Some((bound.parse::<f64>().unwrap_or(f64::INFINITY), *value))
            })
            .collect();
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert!(
            buckets.windows(2).all(|pair| pair[0].1 <= pair[1].1),
            "buckets are cumulative: {buckets:?}"
        );
    }
    assert_eq!(samples["slipway_proxy_routes_version"], 1.0);
    assert_eq!(
        samples["slipway_proxy_upstream_healthy{backend=\"staging/orders\",pool=\"r1\",upstream=\"stable\"}"],
        1.0
    );

    let scraped = http_client()
        .request(
            http::Request::get(format!(
                "http://{}/metrics",
                proxy.proxy.metrics_addr().unwrap()
            ))
            .body(Default::default())
            .unwrap(),
        )
        .await
        .unwrap();
    assert!(
        scraped.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let scraped = read(scraped).await;
    assert!(parse_prometheus(&scraped.body).contains_key("slipway_proxy_unmatched_requests_total"));
    let elsewhere = http_client()
        .request(
            http::Request::get(format!(
                "http://{}/routes",
                proxy.proxy.metrics_addr().unwrap()
            ))
            .body(Default::default())
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        elsewhere.status(),
        404,
        "the metrics listener serves metrics only"
    );
}

#[tokio::test]
async fn unmatched_and_unavailable_requests_are_counted() {
    let proxy = TestProxy::start().await;
    proxy
        .apply(
            RoutingTable::new(
                vec![backend("web", vec![])],
                vec![route(Some("a.test"), "/", "web")],
            )
            .unwrap(),
        )
        .await;
    proxy.get("b.test", "/").await;
    proxy.get("b.test", "/").await;
    proxy.get("a.test", "/").await;
    let snapshot = proxy.proxy.metrics();
    assert_eq!(snapshot.unmatched, 2);
    assert_eq!(
        snapshot.backends[&BackendId::new("web").unwrap()].unavailable,
        1
    );
}
