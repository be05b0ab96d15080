//! The client against a local HTTPS server with a certificate of the test's own: trusted when
//! given as an extra authority, refused otherwise; and plain HTTP where the URL says so.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests: a panic is the report.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;

/// Serves `hello over HTTP/x` on 127.0.0.1, with TLS when given a certificate; returns the port.
async fn serve(tls: Option<&rcgen::CertifiedKey<rcgen::KeyPair>>) -> u16 {
    let acceptor = tls.map(|certified| {
        let key = PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .unwrap();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        tokio_rustls::TlsAcceptor::from(Arc::new(config))
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let service = service_fn(|request: Request<hyper::body::Incoming>| async move {
                    let text = format!("hello over {:?}", request.version());
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(text))))
                });
                let builder = auto::Builder::new(TokioExecutor::new());
                match acceptor {
                    Some(acceptor) => {
                        // A client that does not trust the certificate ends the handshake.
                        let Ok(tls) = acceptor.accept(stream).await else {
                            return;
                        };
                        let _ = builder.serve_connection(TokioIo::new(tls), service).await;
                    }
                    None => {
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                }
            });
        }
    });
    port
}

async fn get(extra: &[CertificateDer<'static>], url: &str) -> Result<String, String> {
    let (roots, _) = slipway_https::roots(extra);
    let client: slipway_https::Client<Empty<Bytes>> =
        slipway_https::client(slipway_https::tls_config(roots).unwrap());
    let response = client
        .get(url.parse().unwrap())
        .await
        .map_err(|error| format!("{error:?}"))?;
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Ok(String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn an_extra_authority_is_trusted_and_http2_is_negotiated() {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let port = serve(Some(&certified)).await;
    let url = format!("https://localhost:{port}/");
    assert_eq!(
        get(&[certified.cert.der().clone()], &url).await.unwrap(),
        "hello over HTTP/2.0"
    );
    let refused = get(&[], &url).await.unwrap_err();
    assert!(refused.contains("UnknownIssuer"), "{refused}");
}

#[tokio::test]
async fn plain_http_urls_are_reached_without_tls() {
    let port = serve(None).await;
    assert_eq!(
        get(&[], &format!("http://127.0.0.1:{port}/"))
            .await
            .unwrap(),
        "hello over HTTP/1.1"
    );
}
