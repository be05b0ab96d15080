//! A bare HTTP `GET` to the engine, for the few requests `bollard` cannot make: the ping and the
//! version probe, which must not carry an API version in their paths, and Podman's own (libpod)
//! API.

use std::path::Path;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::header::HOST;
use hyper::{HeaderMap, Request};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};

use crate::endpoint::Endpoint;

/// Why a `GET` got no successful answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// No connection, or it broke: "no socket there", "connection refused".
    Connection(String),
    /// The engine answered with this error status.
    Status(u16),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Connection(reason) => f.write_str(reason),
            Failure::Status(status) => write!(f, "answered HTTP {status}"),
        }
    }
}

/// GETs `path` and returns the body of a successful answer.
pub(crate) async fn get(endpoint: &Endpoint, path: &str) -> Result<Bytes, Failure> {
    get_with_headers(endpoint, path).await.map(|(_, body)| body)
}

/// GETs `path` and returns the headers and body of a successful answer.
pub(crate) async fn get_with_headers(
    endpoint: &Endpoint,
    path: &str,
) -> Result<(HeaderMap, Bytes), Failure> {
    match endpoint {
        Endpoint::Unix(socket) => {
            let stream = UnixStream::connect(socket)
                .await
                .map_err(|error| connect_failure(&error, Some(socket)))?;
            get_over(stream, "localhost", path).await
        }
        Endpoint::Tcp { host, port } => {
            let unbracketed = host.trim_start_matches('[').trim_end_matches(']');
            let stream = TcpStream::connect((unbracketed, *port))
                .await
                .map_err(|error| connect_failure(&error, None))?;
            get_over(stream, &format!("{host}:{port}"), path).await
        }
    }
}

/// Why a connection could not be made, in words.
fn connect_failure(error: &std::io::Error, socket: Option<&Path>) -> Failure {
    use std::io::ErrorKind;
    Failure::Connection(match error.kind() {
        ErrorKind::NotFound if socket.is_some() => "no socket there".to_owned(),
        ErrorKind::ConnectionRefused => "connection refused".to_owned(),
        ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => error.to_string(),
    })
}

async fn get_over<S>(stream: S, host: &str, path: &str) -> Result<(HeaderMap, Bytes), Failure>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let failed = |error: hyper::Error| {
        Failure::Connection(format!(
            "the connection failed: {}",
            super::errors::root_cause(&error)
        ))
    };
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(failed)?;
    // The connection future does the I/O; it is stopped once the answer is read.
    let connection = tokio::spawn(connection);
    let request = Request::get(path)
        .header(HOST, host)
        .body(Empty::<Bytes>::new())
        .map_err(|error| Failure::Connection(format!("cannot request {path}: {error}")))?;
    let response = sender.send_request(request).await.map_err(failed)?;
    let status = response.status();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.map_err(failed)?.to_bytes();
    connection.abort();
    if !status.is_success() {
        return Err(Failure::Status(status.as_u16()));
    }
    Ok((parts.headers, body))
}
