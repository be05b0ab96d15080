//! Retries: once, on another upstream, and only for requests that never reached an upstream.

use std::time::Duration;

use slipway_proxy::{
    BackendId, Balance, HealthState, PassiveEjection, PoolId, RoutingTable, Upstream, UpstreamId,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::{TestProxy, TestUpstream, backend, pool, refused_addr, route, single};

fn dead(name: &str, addr: std::net::SocketAddr) -> Upstream {
    Upstream {
        id: UpstreamId::new(name).unwrap(),
        addr,
    }
}

fn table_with(
    mut pool: slipway_proxy::Pool,
    extra: Vec<Upstream>,
    ejection: PassiveEjection,
) -> RoutingTable {
    pool.upstreams.extend(extra);
    let mut web = backend("web", vec![pool]);
    web.balance = Balance::RoundRobin;
    web.passive_ejection = ejection;
    RoutingTable::new(vec![web], vec![route(None, "/", "web")]).unwrap()
}

#[tokio::test]
async fn a_refused_connection_is_retried_on_another_upstream_and_repeat_offenders_are_ejected() {
    let live = TestUpstream::start("live").await;
    let refused = refused_addr().await;
    let proxy = TestProxy::start().await;
    let ejection = PassiveEjection {
        consecutive_failures: 3,
        eject_for: Duration::from_secs(60),
    };
    proxy
        .apply(table_with(
            pool("v1", 1, &[&live]),
            vec![dead("dead", refused)],
            ejection,
        ))
        .await;
    for _ in 0..30 {
        let answer = proxy.get("x", "/").await;
        assert_eq!(
            (answer.status.as_u16(), answer.body.as_str()),
            (200, "live")
        );
    }
    assert_eq!(live.hits(), 30);
    let stats = proxy.proxy.metrics();
    let stats = stats
        .pool(&BackendId::new("web").unwrap(), &PoolId::new("v1").unwrap())
        .unwrap()
        .clone();
    assert_eq!(
        stats.connect_failures, 3,
        "after three refusals in a row the upstream is ejected"
    );
    assert_eq!(stats.proxy_errors, 0);
    let health = proxy.proxy.upstream_health();
    let dead_health = health
        .iter()
        .find(|entry| entry.upstream.as_str() == "dead")
        .unwrap();
    assert_eq!(dead_health.state, HealthState::Ejected);
    assert_eq!(dead_health.consecutive_failures, 3);
}

#[tokio::test]
async fn when_every_upstream_refuses_the_request_fails_after_two_attempts() {
    let proxy = TestProxy::start().await;
    let never = PassiveEjection {
        consecutive_failures: 100,
        eject_for: Duration::from_secs(1),
    };
    let upstreams = vec![
        dead("one", refused_addr().await),
        dead("two", refused_addr().await),
    ];
    let table = table_with(
        slipway_proxy::Pool {
            id: PoolId::new("v1").unwrap(),
            weight: 1,
            upstreams: vec![],
        },
        upstreams,
        never,
    );
    proxy.apply(table).await;
    let answer = proxy.get("x", "/").await;
    assert_eq!(answer.status, 502);
    assert_eq!(answer.headers["slipway-proxy-error"], "connect");
    assert!(
        answer.body.contains("could not reach upstream"),
        "{}",
        answer.body
    );
    let stats = proxy.proxy.metrics();
    let stats = stats
        .pool(&BackendId::new("web").unwrap(), &PoolId::new("v1").unwrap())
        .unwrap()
        .clone();
    assert_eq!(stats.connect_failures, 2, "one attempt and one retry");
    assert_eq!(stats.proxy_errors, 1);
}

#[tokio::test]
async fn a_request_that_reached_an_upstream_is_never_sent_again() {
    let a = TestUpstream::start("a").await;
    let b = TestUpstream::start("b").await;
    let proxy = TestProxy::start().await;
    proxy.apply(single(vec![pool("v1", 1, &[&a, &b])])).await;
    let answer = proxy.get("x", "/fail").await;
    assert_eq!(answer.status, 502);
    assert_eq!(answer.headers["slipway-proxy-error"], "upstream");
    assert_eq!(a.hits() + b.hits(), 1, "the upstream saw it once");
}

/// An upstream that closes each keep-alive connection shortly after answering, without saying
/// so: the proxy must notice before reusing the connection.
async fn closing_upstream() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buffer = [0u8; 1024];
                while !head.windows(4).any(|window| window == b"\r\n\r\n") {
                    let Ok(read) = stream.read(&mut buffer).await else {
                        return;
                    };
                    if read == 0 {
                        return;
                    }
                    head.extend_from_slice(&buffer[..read]);
                }
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    .await;
                tokio::time::sleep(Duration::from_millis(20)).await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn an_idle_connection_the_upstream_closed_is_not_reused() {
    let proxy =
        TestProxy::start_with(|config| config.upstream_idle_timeout = Duration::from_secs(30))
            .await;
    let upstream = Upstream {
        id: UpstreamId::new("closer").unwrap(),
        addr: closing_upstream().await,
    };
    let table = table_with(
        slipway_proxy::Pool {
            id: PoolId::new("v1").unwrap(),
            weight: 1,
            upstreams: vec![],
        },
        vec![upstream],
        PassiveEjection::default(),
    );
    proxy.apply(table).await;
    for _ in 0..10 {
        let answer = proxy.get("x", "/").await;
        assert_eq!((answer.status.as_u16(), answer.body.as_str()), (200, "ok"));
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
}
