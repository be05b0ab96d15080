//! Routing by host and path prefix, and the proxy's own answers when nothing can serve.

use http::{Request, StatusCode};
use http_body_util::Full;
use slipway_proxy::RoutingTable;

use crate::support::{TestProxy, TestUpstream, backend, pool, route, single};

#[tokio::test]
async fn requests_route_by_the_most_specific_host_then_the_longest_prefix() {
    let web = TestUpstream::start("web").await;
    let api = TestUpstream::start("api").await;
    let admin = TestUpstream::start("admin").await;
    let shops = TestUpstream::start("shops").await;
    let proxy = TestProxy::start().await;
    let table = RoutingTable::new(
        vec![
            backend("web", vec![pool("v1", 1, &[&web])]),
            backend("api", vec![pool("v1", 1, &[&api])]),
            backend("admin", vec![pool("v1", 1, &[&admin])]),
            backend("shops", vec![pool("v1", 1, &[&shops])]),
        ],
        vec![
            route(None, "/", "web"),
            route(Some("api.test"), "/", "api"),
            route(Some("api.test"), "/admin", "admin"),
            route(Some("*.shop.test"), "/", "shops"),
        ],
    )
    .unwrap();
    proxy.apply(table).await;
    for (host, path, expected) in [
        ("other.test", "/", "web"),
        ("api.test", "/v1/orders", "api"),
        ("API.Test:8080", "/admin/users", "admin"),
        ("api.test", "/administrator", "api"),
        ("a.b.shop.test", "/cart", "shops"),
        ("shop.test", "/cart", "web"),
    ] {
        let answer = proxy.get(host, path).await;
        assert_eq!(answer.status, StatusCode::OK, "{host}{path}");
        assert_eq!(answer.body, expected, "{host}{path}");
    }
}

#[tokio::test]
async fn no_route_answers_404_and_a_backend_without_pools_503_saying_why() {
    let proxy = TestProxy::start().await;
    let table = RoutingTable::new(
        vec![backend("empty", vec![])],
        vec![route(Some("only.test"), "/", "empty")],
    )
    .unwrap();
    proxy.apply(table).await;

    let unmatched = proxy.get("other.test", "/x").await;
    assert_eq!(unmatched.status, StatusCode::NOT_FOUND);
    assert_eq!(unmatched.headers["slipway-proxy-error"], "no-route");
    assert!(
        unmatched
            .body
            .contains("no route for host `other.test` and path `/x`"),
        "{}",
        unmatched.body
    );

    let unavailable = proxy.get("only.test", "/").await;
    assert_eq!(unavailable.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(unavailable.headers["slipway-proxy-error"], "unavailable");
    assert!(
        unavailable
            .body
            .contains("no healthy upstream for backend `empty`"),
        "{}",
        unavailable.body
    );
    assert!(unavailable.headers.contains_key("x-request-id"));
}

#[tokio::test]
async fn request_and_response_bodies_pass_through_whole() {
    let upstream = TestUpstream::start("echo").await;
    let proxy = TestProxy::start().await;
    proxy.apply(single(vec![pool("v1", 1, &[&upstream])])).await;
    let body: String = (0..200_000)
        .map(|index| char::from(b'a' + (index % 26) as u8))
        .collect();
    let request = Request::post("/echo")
        .header("host", "x")
        .body(Full::from(body.clone()))
        .unwrap();
    let answer = proxy.send(request).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body.len(), body.len());
    assert!(answer.body == body, "the body came back changed");
}

#[tokio::test]
async fn upstream_connections_are_kept_alive_and_reused() {
    let upstream = TestUpstream::start("app").await;
    let proxy = TestProxy::start().await;
    proxy.apply(single(vec![pool("v1", 1, &[&upstream])])).await;
    for path in ["/", "/echo", "/status/404", "/", "/headers"]
        .iter()
        .cycle()
        .take(30)
    {
        proxy.get("x", path).await;
    }
    assert_eq!(upstream.hits(), 30);
    assert_eq!(
        upstream.connections(),
        1,
        "one client connection, one upstream connection"
    );

    // A body the client abandons halfway leaves its upstream connection unusable: it is closed,
    // and the next request gets a fresh one.
    let before = upstream.connections();
    let request = Request::get("/slow?ms=2000")
        .header("host", "x")
        .body(Full::default())
        .unwrap();
    let abandoned =
        tokio::time::timeout(std::time::Duration::from_millis(100), proxy.send(request)).await;
    assert!(abandoned.is_err(), "the slow answer cannot have come yet");
    assert_eq!(proxy.get("x", "/").await.body, "app");
    assert_eq!(upstream.connections(), before + 1);
}
