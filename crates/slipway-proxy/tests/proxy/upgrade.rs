//! HTTP/1.1 upgrades (WebSockets and the like) pass through as byte tunnels, and are closed
//! when their upstream has left the table and the drain time is over.

use std::net::SocketAddr;
use std::time::Duration;

use slipway_proxy::RoutingTable;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{PATIENCE, TestProxy, TestUpstream, pool, single};

/// Opens a tunnel through the proxy to `/ws`; returns the stream after the 101 head.
async fn open_tunnel(proxy: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(proxy).await.unwrap();
    stream
        .write_all(
            b"GET /ws HTTP/1.1\r\nhost: chat.test\r\nconnection: Upgrade\r\nupgrade: echo\r\n\r\n",
        )
        .await
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let read = tokio::time::timeout(PATIENCE, stream.read(&mut byte))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            read,
            1,
            "the proxy closed before answering: {}",
            String::from_utf8_lossy(&head)
        );
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap().to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(head.contains("upgrade: echo"), "{head}");
    stream
}

async fn echo(stream: &mut TcpStream, text: &[u8]) {
    stream.write_all(text).await.unwrap();
    let mut back = vec![0u8; text.len()];
    tokio::time::timeout(PATIENCE, stream.read_exact(&mut back))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back, text);
}

#[tokio::test]
async fn upgraded_connections_carry_bytes_both_ways() {
    let upstream = TestUpstream::start("chat").await;
    let proxy = TestProxy::start().await;
    proxy.apply(single(vec![pool("v1", 1, &[&upstream])])).await;
    let mut tunnel = open_tunnel(proxy.proxy.listen_addr()).await;
    echo(&mut tunnel, b"ping").await;
    echo(&mut tunnel, &[7u8; 100_000]).await;
    let health = proxy.proxy.upstream_health();
    assert_eq!(health[0].in_flight, 1, "an open tunnel counts as in flight");
    drop(tunnel);
}

#[tokio::test]
async fn a_tunnel_to_a_removed_upstream_is_closed_when_the_drain_time_is_over() {
    let upstream = TestUpstream::start("chat").await;
    let proxy =
        TestProxy::start_with(|config| config.drain_timeout = Duration::from_millis(300)).await;
    proxy.apply(single(vec![pool("v1", 1, &[&upstream])])).await;
    let mut tunnel = open_tunnel(proxy.proxy.listen_addr()).await;
    echo(&mut tunnel, b"before").await;

    let applied = proxy.apply(RoutingTable::empty()).await;
    echo(&mut tunnel, b"during the drain").await;
    let report = applied.drained().await;
    assert_eq!(report.retired_upstreams, 1);
    assert_eq!(
        report.in_flight_left, 1,
        "the tunnel outlived the drain timeout"
    );
    assert!(!report.is_complete());
    assert!(report.waited >= Duration::from_millis(300), "{report:?}");

    let mut rest = Vec::new();
    let read = tokio::time::timeout(PATIENCE, tunnel.read_to_end(&mut rest))
        .await
        .unwrap();
    assert!(
        read.is_ok_and(|bytes| bytes == 0) || rest.is_empty(),
        "the tunnel was closed"
    );
}
