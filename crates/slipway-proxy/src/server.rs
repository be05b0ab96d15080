//! Accepting client connections: the proxy listener (HTTP/1.1, and HTTP/2 with prior knowledge,
//! with upgrades; served on the worker threads, see `worker`) and the optional metrics listener.
//!
//! Each connection takes a slot of the connection limit before it is accepted, so at the limit
//! new connections wait in the kernel's backlog instead of exhausting file descriptors. On
//! shutdown each connection is told to finish gracefully (HTTP/1.1 closes after the response in
//! progress, HTTP/2 sends GOAWAY), and is cut when the drain timeout ends.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::forward::{self, ClientConnection};
use crate::proxy::Shared;
use crate::worker;

/// How long a client may take to send a request's headers, and how long an idle keep-alive
/// connection is kept.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Concurrent HTTP/2 streams per client connection.
const MAX_CONCURRENT_STREAMS: u32 = 256;
/// Connections the metrics listener serves at once.
const METRICS_CONNECTIONS: usize = 16;
/// After a failed accept (out of file descriptors, say), wait this long before the next.
pub(crate) const ACCEPT_BACKOFF: Duration = Duration::from_millis(20);

/// The server for client connections: HTTP/1.1 or HTTP/2, told apart by the first bytes.
pub(crate) fn client_builder() -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(MAX_CONCURRENT_STREAMS);
    builder
}

/// Accepts client connections on `listener` until the proxy stops, handing them to the
/// workers in turn.
pub(crate) fn spawn_acceptor(
    listener: TcpListener,
    workers: Vec<worker::Queue>,
    shared: Arc<Shared>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let slots = shared.connection_slots();
        let stopping = shared.stopping();
        for turn in 0usize.. {
            let slot = tokio::select! {
                slot = Arc::clone(&slots).acquire_owned() => slot,
                () = stopping.cancelled() => break,
            };
            let Ok(slot) = slot else { break };
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::warn!(%error, "accepting a connection failed");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                        continue;
                    }
                },
                () = stopping.cancelled() => break,
            };
            // Small responses must not wait for Nagle's algorithm.
            let _ = stream.set_nodelay(true);
            let stream = match stream.into_std() {
                Ok(stream) => stream,
                Err(error) => {
                    tracing::warn!(%peer, %error, "could not hand a connection to a worker");
                    continue;
                }
            };
            let connection = Arc::new(ClientConnection { peer, _slot: slot });
            let handoff = worker::Handoff { stream, connection };
            if workers[turn % workers.len()].send(handoff).is_err() {
                tracing::warn!(%peer, "a worker thread is gone; connection dropped");
            }
        }
    })
}

/// Serves one client connection on the worker that runs it.
pub(crate) async fn serve_connection(
    builder: Arc<auto::Builder<TokioExecutor>>,
    stream: TcpStream,
    connection: Arc<ClientConnection>,
    shared: Arc<Shared>,
    signals: Signals,
) {
    let service = service_fn(move |request| {
        forward::serve(Arc::clone(&shared), Arc::clone(&connection), request)
    });
    let served = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    finish_gracefully(served, &signals, |connection| {
        connection.graceful_shutdown()
    })
    .await;
}

/// Serves `GET /metrics` (Prometheus text) on `listener` until the proxy stops.
pub(crate) fn spawn_metrics(listener: TcpListener, shared: Arc<Shared>) -> JoinHandle<()> {
    let builder = Arc::new(plain_http1());
    tokio::spawn(async move {
        let slots = Arc::new(tokio::sync::Semaphore::new(METRICS_CONNECTIONS));
        let stopping = shared.stopping();
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = stopping.cancelled() => break,
            };
            let Ok((stream, _)) = accepted else {
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            };
            // Connections beyond the limit are closed at once: a scraper cannot starve the proxy.
            let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
                continue;
            };
            let shared = Arc::clone(&shared);
            let builder = Arc::clone(&builder);
            tokio::spawn(async move {
                let service = service_fn({
                    let shared = Arc::clone(&shared);
                    move |request: Request<Incoming>| {
                        let response = metrics_response(&shared, &request);
                        async move { Ok::<_, std::convert::Infallible>(response) }
                    }
                });
                let served = builder.serve_connection(TokioIo::new(stream), service);
                finish_gracefully(served, &shared.signals(), |connection| {
                    connection.graceful_shutdown()
                })
                .await;
                drop(slot);
            });
        }
    })
}

/// An HTTP/1.1-only server for the control API and the metrics listener.
pub(crate) fn plain_http1() -> hyper::server::conn::http1::Builder {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder
}

/// The proxy's two shutdown signals, as one connection watches them.
///
/// Polling a `CancellationToken` takes its lock, so every worker watches its own child tokens:
/// a shared one would put one lock, taken on every wake of every connection, between all the
/// worker threads.
#[derive(Debug, Clone)]
pub(crate) struct Signals {
    /// Stop accepting; finish connections gracefully.
    pub(crate) stopping: CancellationToken,
    /// Close everything now.
    pub(crate) closing: CancellationToken,
}

impl Signals {
    /// Signals that follow these, with their own locks.
    pub(crate) fn child(&self) -> Signals {
        Signals {
            stopping: self.stopping.child_token(),
            closing: self.closing.child_token(),
        }
    }
}

/// Drives a connection; when the proxy stops, asks it to finish gracefully, and drops it when
/// the proxy closes everything.
pub(crate) async fn finish_gracefully<C, O>(
    connection: C,
    signals: &Signals,
    graceful_shutdown: impl FnOnce(std::pin::Pin<&mut C>),
) where
    C: Future<Output = O>,
{
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => return,
        () = signals.stopping.cancelled() => graceful_shutdown(connection.as_mut()),
    }
    tokio::select! {
        _ = connection => {}
        () = signals.closing.cancelled() => {}
    }
}

fn metrics_response(shared: &Shared, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    if request.method() == Method::GET && request.uri().path() == "/metrics" {
        let mut response = Response::new(Full::new(Bytes::from(shared.prometheus_text())));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static(PROMETHEUS_TEXT),
        );
        return response;
    }
    let mut response = Response::new(Full::new(Bytes::from_static(
        b"only GET /metrics is served here\n",
    )));
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}

/// The content type of the Prometheus text exposition format.
pub(crate) const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
