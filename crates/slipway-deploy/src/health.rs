//! Slipway's own HTTP checks of a replica: the health check a new replica must pass before it
//! gets traffic, and the smoke check. Never the engine's `HEALTHCHECK`.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::spec::HealthProbe;

/// The most of an answer's body read; a health answer is a few bytes.
const MAX_BODY: usize = 64 * 1024;

/// `GET path` on `address`: the status, or why there was none.
pub async fn get(address: SocketAddr, path: &str, timeout: Duration) -> Result<u16, String> {
    let exchange = async {
        let stream = TcpStream::connect(address)
            .await
            .map_err(|error| format!("cannot connect: {error}"))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|error| error.to_string())?;
        let connection = tokio::spawn(connection);
        let request = Request::get(path)
            .header(hyper::header::HOST, "localhost")
            .header(hyper::header::USER_AGENT, "slipway-health")
            .body(Empty::<Bytes>::new())
            .map_err(|error| error.to_string())?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|error| error.to_string())?;
        let status = response.status().as_u16();
        // Read the body so the replica sees a complete exchange, but do not hold on to it.
        let _ = Limited::new(response.into_body(), MAX_BODY).collect().await;
        connection.abort();
        Ok(status)
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {}ms", timeout.as_millis())))
}

/// One health check of the replica at `address`: `Ok` when it passes, else what it saw.
pub async fn check(address: SocketAddr, probe: &HealthProbe) -> Result<(), String> {
    match &probe.path {
        Some(path) => match get(address, path, probe.timeout).await? {
            200..=299 => Ok(()),
            status => Err(format!("GET {path} answered {status}")),
        },
        None => match get(address, "/", probe.timeout).await? {
            status if status < 500 => Ok(()),
            status => Err(format!("GET / answered {status}")),
        },
    }
}

/// A smoke check: `GET path` must answer 2xx.
pub async fn smoke(address: SocketAddr, path: &str, timeout: Duration) -> Result<(), String> {
    match get(address, path, timeout).await? {
        200..=299 => Ok(()),
        status => Err(format!("smoke check GET {path} answered {status}")),
    }
}
