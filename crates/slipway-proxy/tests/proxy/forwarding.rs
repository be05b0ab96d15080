//! What the upstream sees of a request: forwarding headers, the request id, no hop-by-hop
//! headers; and HTTP/2 clients.

use std::collections::BTreeMap;

use bytes::Bytes;
use http::{Request, Version};
use http_body_util::Full;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;

use crate::support::{PATIENCE, TestProxy, TestUpstream, pool, read, single};

async fn seen_by_upstream(
    proxy: &TestProxy,
    headers: &[(&str, &str)],
) -> (BTreeMap<String, String>, String) {
    let mut request = Request::get("/headers");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let answer = proxy.send(request.body(Full::default()).unwrap()).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let echoed = answer.headers["x-request-id"].to_str().unwrap().to_owned();
    (serde_json::from_str(&answer.body).unwrap(), echoed)
}

#[tokio::test]
async fn upstreams_see_forwarding_headers_and_a_request_id() {
    let upstream = TestUpstream::start("app").await;
    let proxy = TestProxy::start().await;
    proxy.apply(single(vec![pool("v1", 1, &[&upstream])])).await;

    let (seen, echoed) = seen_by_upstream(
        &proxy,
        &[
            ("host", "shop.test:8080"),
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-proto", "https"),
        ],
    )
    .await;
    assert_eq!(
        seen["host"], "shop.test:8080",
        "the Host header is passed unchanged"
    );
    assert_eq!(seen["x-forwarded-host"], "shop.test:8080");
    assert_eq!(seen["x-forwarded-for"], "203.0.113.9, 127.0.0.1");
    assert_eq!(
        seen["x-forwarded-proto"], "http",
        "this proxy is where the client's connection ends"
    );
    let id = &seen["x-request-id"];
    assert_eq!(id.len(), 32);
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
    assert_eq!(&echoed, id, "the response carries the same id");

    let (seen, echoed) =
        seen_by_upstream(&proxy, &[("host", "a"), ("x-request-id", "trace-42")]).await;
    assert_eq!(seen["x-request-id"], "trace-42");
    assert_eq!(echoed, "trace-42");
    assert_eq!(seen["x-forwarded-for"], "127.0.0.1");
}

#[tokio::test]
async fn hop_by_hop_headers_stop_at_the_proxy() {
    let upstream = TestUpstream::start("app").await;
    let proxy = TestProxy::start().await;
    proxy.apply(single(vec![pool("v1", 1, &[&upstream])])).await;
    let (seen, _) = seen_by_upstream(
        &proxy,
        &[
            ("host", "a"),
            ("connection", "x-private"),
            ("x-private", "secret"),
            ("proxy-authorization", "Basic eA=="),
        ],
    )
    .await;
    for header in [
        "x-private",
        "proxy-authorization",
        "keep-alive",
        "transfer-encoding",
    ] {
        assert!(
            !seen.contains_key(header),
            "{header} reached the upstream: {seen:?}"
        );
    }
}

#[tokio::test]
async fn http2_clients_with_prior_knowledge_are_served() {
    let upstream = TestUpstream::start("app").await;
    let proxy = TestProxy::start().await;
    proxy.apply(single(vec![pool("v1", 1, &[&upstream])])).await;
    let client: HttpClient<_, Full<Bytes>> = HttpClient::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http();
    for _ in 0..3 {
        let request = Request::get(format!("http://{}/headers", proxy.proxy.listen_addr()))
            .body(Full::default())
            .unwrap();
        let response = tokio::time::timeout(PATIENCE, client.request(request))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(response.version(), Version::HTTP_2);
        let answer = read(response).await;
        assert_eq!(answer.status, 200);
        let seen: BTreeMap<String, String> = serde_json::from_str(&answer.body).unwrap();
        assert_eq!(
            seen["host"],
            proxy.proxy.listen_addr().to_string(),
            "the :authority becomes the Host header"
        );
    }
    assert_eq!(upstream.hits(), 3);
}

#[tokio::test]
async fn an_http10_request_without_host_gets_one_for_the_upstream() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let upstream = TestUpstream::start("app").await;
    let proxy = TestProxy::start().await;
    proxy.apply(single(vec![pool("v1", 1, &[&upstream])])).await;
    let mut stream = tokio::net::TcpStream::connect(proxy.proxy.listen_addr())
        .await
        .unwrap();
    stream
        .write_all(b"GET /headers HTTP/1.0\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    tokio::time::timeout(PATIENCE, stream.read_to_string(&mut answer))
        .await
        .unwrap()
        .unwrap();
    assert!(answer.starts_with("HTTP/1.0 200"), "{answer}");
    let body = answer.split("\r\n\r\n").nth(1).unwrap();
    let seen: BTreeMap<String, String> = serde_json::from_str(body).unwrap();
    assert_eq!(seen["host"], upstream.addr.to_string());
    assert!(!seen.contains_key("x-forwarded-host"));
}
