//! The control API: a round trip over the unix socket, the token on loopback, refusals.

use std::os::unix::fs::PermissionsExt;

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use slipway_proxy::{
    Client, ClientError, ControlEndpoint, ControlToken, Proxy, ProxyConfig, ProxyError,
};

use crate::support::{TestProxy, TestUpstream, http_client, pool, read, single};

const TOKEN: &str = "test-token-0123456789";

#[tokio::test]
async fn the_control_api_round_trips_over_a_unix_socket() {
    let upstream = TestUpstream::start("app").await;
    let proxy = TestProxy::start().await;
    let socket = proxy.dir.path().join("control.sock");
    assert_eq!(
        std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let client = Client::new(proxy.proxy.control_endpoint().clone());

    let table = single(vec![pool("v1", 1, &[&upstream])]);
    let version = client.apply(&table).await.unwrap();
    assert_eq!(version.get(), 1);
    let served = client.routes().await.unwrap();
    assert_eq!((served.version, &served.table), (version, &table));
    assert_eq!(proxy.get("x", "/").await.body, "app");

    let next = client
        .apply(&slipway_proxy::RoutingTable::empty())
        .await
        .unwrap();
    let report = client.drained(next).await.unwrap();
    assert!(report.is_complete());
    assert_eq!(report.retired_upstreams, 1);
    assert!(client.upstream_health().await.unwrap().is_empty());
    assert_eq!(client.metrics().await.unwrap().version, next);
    let unknown = client
        .drained(slipway_proxy::TableVersion::new(99))
        .await
        .unwrap_err();
    assert!(
        matches!(unknown, ClientError::Rejected { status: 404, .. }),
        "{unknown:?}"
    );

    proxy.proxy.shutdown().await;
    assert!(!socket.exists(), "the socket is removed at shutdown");
    let gone = client.routes().await.unwrap_err();
    assert!(matches!(gone, ClientError::Unreachable { .. }), "{gone:?}");
}

async fn loopback_proxy() -> Proxy {
    let endpoint = ControlEndpoint::loopback(
        "127.0.0.1:0".parse().unwrap(),
        ControlToken::new(TOKEN).unwrap(),
    )
    .unwrap();
    Proxy::start(ProxyConfig::new("127.0.0.1:0".parse().unwrap(), endpoint))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_loopback_control_api_requires_its_token() {
    let proxy = loopback_proxy().await;
    let ControlEndpoint::Loopback { addr, .. } = proxy.control_endpoint().clone() else {
        panic!("not loopback")
    };
    let client = Client::new(proxy.control_endpoint().clone());
    assert_eq!(client.routes().await.unwrap().version.get(), 0);

    let wrong =
        ControlEndpoint::loopback(addr, ControlToken::new("wrong-token-0123456789").unwrap())
            .unwrap();
    let refused = Client::new(wrong).routes().await.unwrap_err();
    assert!(
        matches!(refused, ClientError::Unauthorized { .. }),
        "{refused:?}"
    );

    let bare = http_client()
        .request(
            Request::get(format!("http://{addr}/routes"))
                .body(Full::default())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(bare.status(), 401);
    assert_eq!(bare.headers()["www-authenticate"], "Bearer");
}

#[tokio::test]
async fn an_invalid_table_is_refused_with_where_it_is_wrong_and_changes_nothing() {
    let proxy = loopback_proxy().await;
    let ControlEndpoint::Loopback { addr, .. } = proxy.control_endpoint().clone() else {
        panic!("not loopback")
    };
    let put = |body: &'static str| {
        Request::put(format!("http://{addr}/routes"))
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(Full::new(Bytes::from_static(body.as_bytes())))
            .unwrap()
    };
    let answer = read(
        http_client()
            .request(put(r#"{"routes": [{"backend": "nope"}]}"#))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(answer.status, 400);
    assert!(answer.body.contains("routes[0].backend"), "{}", answer.body);
    assert!(
        answer.body.contains("`nope` is not declared"),
        "{}",
        answer.body
    );
    let answer = read(http_client().request(put("{\"routes\": [}")).await.unwrap()).await;
    assert_eq!(answer.status, 400);
    assert!(answer.body.contains("line 1 column"), "{}", answer.body);
    assert_eq!(proxy.routes().version.get(), 0, "nothing was applied");

    let wrong_method = read(
        http_client()
            .request(
                Request::delete(format!("http://{addr}/routes"))
                    .header("authorization", format!("Bearer {TOKEN}"))
                    .body(Full::default())
                    .unwrap(),
            )
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(wrong_method.status, 405);
}

#[tokio::test]
async fn a_live_control_socket_is_not_taken_over_but_a_stale_one_is_replaced() {
    let first = TestProxy::start().await;
    let socket = first.dir.path().join("control.sock");
    let config = || {
        ProxyConfig::new(
            "127.0.0.1:0".parse().unwrap(),
            ControlEndpoint::unix(&socket),
        )
    };
    let taken = Proxy::start(config()).await.unwrap_err();
    assert!(
        matches!(taken, ProxyError::ControlSocketInUse { .. }),
        "{taken:?}"
    );

    // A proxy killed without shutting down leaves its socket file behind.
    drop(std::os::unix::net::UnixListener::bind(first.dir.path().join("stale.sock")).unwrap());
    let stale = ProxyConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        ControlEndpoint::unix(first.dir.path().join("stale.sock")),
    );
    let second = Proxy::start(stale).await.unwrap();
    assert_eq!(
        Client::new(second.control_endpoint().clone())
            .routes()
            .await
            .unwrap()
            .version
            .get(),
        0
    );

    std::fs::write(first.dir.path().join("file"), "not a socket").unwrap();
    let file = ProxyConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        ControlEndpoint::unix(first.dir.path().join("file")),
    );
    assert!(matches!(
        Proxy::start(file).await.unwrap_err(),
        ProxyError::ControlPathTaken { .. }
    ));
}
