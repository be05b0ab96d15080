//! The hot path: one client request, routed, sent to an upstream, answered.
//!
//! The retry rule lives here. A request that never reached an upstream (no connection could be
//! made, or a connection closed before the request was written) is routed again, avoiding that
//! upstream, and sent once more; a request that reached an upstream is never sent twice, since
//! the upstream may have acted on it. Routing again (rather than picking from the same backend)
//! means a retry that races a table switch follows the new table.

use std::convert::Infallible;
use std::error::Error as StdError;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::{Either, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::sync::OwnedSemaphorePermit;

use crate::headers::{self, Forwarding};
use crate::proxy::{Chosen, Routed, Shared};
use crate::upstream::{InFlight, Lease, SendError};

/// Marks the answers the proxy made itself, so a client (or a test counting failures) can tell
/// them from the application's own: `no-route`, `unavailable`, `connect`, `upstream`, `timeout`.
pub static PROXY_ERROR_HEADER: HeaderName = HeaderName::from_static("slipway-proxy-error");

/// A client connection, shared by its requests and by a tunnel it turns into. Holds the
/// connection's slot in the proxy's connection limit.
#[derive(Debug)]
pub(crate) struct ClientConnection {
    pub(crate) peer: SocketAddr,
    pub(crate) _slot: OwnedSemaphorePermit,
}

/// Serves one request; every failure is an HTTP answer, never a dropped connection.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    connection: Arc<ClientConnection>,
    request: Request<Incoming>,
) -> Result<Response<ResponseBody>, Infallible> {
    Ok(forward(&shared, &connection, request).await)
}

async fn forward(
    shared: &Shared,
    connection: &Arc<ClientConnection>,
    mut request: Request<Incoming>,
) -> Response<ResponseBody> {
    let started = Instant::now();
    let request_id = headers::request_id(request.headers());
    let raw_host = headers::raw_host(&request);
    let host = headers::normalize_host(
        raw_host
            .as_ref()
            .and_then(|host| host.to_str().ok())
            .unwrap_or(""),
    );
    let mut chosen = match shared.route(&host, request.uri().path(), None) {
        Routed::To(chosen) => chosen,
        Routed::NoRoute => {
            shared.record_unmatched();
            let message = format!(
                "no route for host `{host}` and path `{}`",
                request.uri().path()
            );
            return proxy_error(StatusCode::NOT_FOUND, "no-route", &request_id, &message);
        }
        Routed::Unavailable(backend) => {
            backend.counters.record_unavailable();
            let message = format!("no healthy upstream for backend `{}`", backend.id);
            return proxy_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                &request_id,
                &message,
            );
        }
    };
    let upgrade = headers::upgrade_protocol(&request);
    let client_upgrade = upgrade.is_some().then(|| hyper::upgrade::on(&mut request));
    let (mut parts, body) = request.into_parts();
    let forwarding = Forwarding {
        client: connection.peer.ip(),
        raw_host: raw_host.as_ref(),
        request_id: &request_id,
        upgrade: upgrade.as_ref(),
    };
    headers::prepare_request(&mut parts, &forwarding);
    let mut outgoing = Request::from_parts(parts, Either::Left(body));
    let mut retried = false;
    loop {
        let upstream = Arc::clone(chosen.in_flight.upstream());
        let sent = tokio::time::timeout(shared.response_timeout(), upstream.send(outgoing)).await;
        let error = match sent {
            Ok(Ok((response, lease))) => {
                upstream.record_success();
                if response.status() == StatusCode::SWITCHING_PROTOCOLS && client_upgrade.is_none()
                {
                    chosen.pool.record_proxy_error(started.elapsed());
                    let message = format!(
                        "upstream `{}` switched protocols unasked",
                        upstream.key.upstream
                    );
                    return proxy_error(StatusCode::BAD_GATEWAY, "upstream", &request_id, &message);
                }
                chosen
                    .pool
                    .record_response(response.status().as_u16(), started.elapsed());
                return respond(
                    response,
                    lease,
                    chosen,
                    &request_id,
                    client_upgrade,
                    connection,
                    shared,
                );
            }
            Ok(Err(error)) => error,
            Err(_elapsed) => {
                chosen.pool.record_proxy_error(started.elapsed());
                let message = format!(
                    "upstream `{}` sent no response headers within {}",
                    upstream.key.upstream,
                    humantime::format_duration(shared.response_timeout())
                );
                return proxy_error(
                    StatusCode::GATEWAY_TIMEOUT,
                    "timeout",
                    &request_id,
                    &message,
                );
            }
        };
        upstream.record_connection_failure(&chosen.ejection);
        let (unsent, cause) = match error {
            SendError::NotSent { request, cause } => (request, cause),
            SendError::Failed(error) => {
                chosen.pool.record_proxy_error(started.elapsed());
                let message = format!(
                    "upstream `{}` failed after the request was sent: {}",
                    upstream.key.upstream,
                    source_chain(&error)
                );
                return proxy_error(StatusCode::BAD_GATEWAY, "upstream", &request_id, &message);
            }
        };
        chosen.pool.record_connect_failure();
        let next = if retried {
            None
        } else {
            shared
                .route(&host, unsent.uri().path(), Some(&upstream))
                .into_chosen()
        };
        let Some(next) = next else {
            chosen.pool.record_proxy_error(started.elapsed());
            let message = format!(
                "could not reach upstream `{}`: {cause}",
                upstream.key.upstream
            );
            return proxy_error(StatusCode::BAD_GATEWAY, "connect", &request_id, &message);
        };
        tracing::debug!(upstream = %upstream.key.upstream, %cause, "connection failed; retrying on another upstream");
        retried = true;
        chosen = next;
        outgoing = *unsent;
    }
}

/// The upstream's response on its way to the client; a 101 to an upgrade request becomes a tunnel
/// (and takes the upstream connection with it, so the lease is dropped).
fn respond(
    mut response: Response<Incoming>,
    lease: Lease,
    chosen: Chosen,
    request_id: &HeaderValue,
    client_upgrade: Option<OnUpgrade>,
    connection: &Arc<ClientConnection>,
    shared: &Shared,
) -> Response<ResponseBody> {
    if response.status() == StatusCode::SWITCHING_PROTOCOLS
        && let Some(client_upgrade) = client_upgrade
    {
        let upstream_upgrade = hyper::upgrade::on(&mut response);
        spawn_tunnel(
            client_upgrade,
            upstream_upgrade,
            chosen.in_flight,
            Arc::clone(connection),
            shared,
        );
        let (mut parts, _) = response.into_parts();
        headers::prepare_response(&mut parts, request_id);
        return Response::from_parts(parts, ResponseBody::full(Bytes::new()));
    }
    let (mut parts, body) = response.into_parts();
    headers::prepare_response(&mut parts, request_id);
    let body = ResponseBody {
        inner: Either::Left(body),
        in_flight: Some(chosen.in_flight),
        lease: Some(lease),
    };
    Response::from_parts(parts, body)
}

/// Copies bytes both ways between an upgraded client connection and an upgraded upstream
/// connection until either side closes, the upstream's drain time is over, or the proxy stops.
fn spawn_tunnel(
    client: OnUpgrade,
    upstream: OnUpgrade,
    in_flight: InFlight,
    connection: Arc<ClientConnection>,
    shared: &Shared,
) {
    // Child tokens: this task polls them on every wake, and each token's lock is its own.
    let retired = in_flight.upstream().retired.child_token();
    let closing = shared.closing().child_token();
    tokio::spawn(async move {
        let splice = async {
            let (client, upstream) = tokio::try_join!(client, upstream)?;
            let (mut client, mut upstream) = (TokioIo::new(client), TokioIo::new(upstream));
            tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
            Ok::<(), Box<dyn StdError + Send + Sync>>(())
        };
        tokio::select! {
            outcome = splice => if let Err(error) = outcome {
                tracing::debug!(peer = %connection.peer, %error, "tunnel ended");
            },
            () = retired.cancelled() => tracing::debug!(peer = %connection.peer, "tunnel closed: its upstream left the table"),
            () = closing.cancelled() => tracing::debug!(peer = %connection.peer, "tunnel closed: the proxy stops"),
        }
        drop(in_flight);
    });
}

/// An answer the proxy makes itself.
pub(crate) fn proxy_error(
    status: StatusCode,
    kind: &'static str,
    request_id: &HeaderValue,
    message: &str,
) -> Response<ResponseBody> {
    tracing::debug!(%status, kind, request_id = ?request_id, message, "proxy error");
    let mut response = Response::new(ResponseBody::full(Bytes::from(format!(
        "slipway-proxy: {message}\n"
    ))));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(&headers::X_REQUEST_ID, request_id.clone());
    headers.insert(&PROXY_ERROR_HEADER, HeaderValue::from_static(kind));
    response
}

/// An error with its causes, since hyper's own message ("connection error") says little.
fn source_chain(error: &dyn StdError) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A response body to the client: an upstream's, streamed, or one the proxy made. The request
/// stays in flight (for draining and least-requests balancing) until the body is done, and the
/// upstream connection goes back to the pool only if the body was read whole.
#[derive(Debug)]
pub(crate) struct ResponseBody {
    inner: Either<Incoming, Full<Bytes>>,
    in_flight: Option<InFlight>,
    lease: Option<Lease>,
}

impl ResponseBody {
    pub(crate) fn full(bytes: Bytes) -> ResponseBody {
        ResponseBody {
            inner: Either::Right(Full::new(bytes)),
            in_flight: None,
            lease: None,
        }
    }

    /// The body ended: `whole` when it was read to its end.
    fn finish(&mut self, whole: bool) {
        if let Some(lease) = self.lease.take()
            && whole
        {
            lease.release();
        }
        self.in_flight = None;
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = Box<dyn StdError + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let frame = Pin::new(&mut this.inner).poll_frame(cx);
        match &frame {
            Poll::Ready(None) => this.finish(true),
            Poll::Ready(Some(Err(_))) => this.finish(false),
            Poll::Ready(Some(Ok(_))) | Poll::Pending => {}
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for ResponseBody {
    /// hyper stops polling a body once it has sent as many bytes as `Content-Length` said, so
    /// "read whole" is also "dropped at its end".
    fn drop(&mut self) {
        let whole = self.inner.is_end_stream();
        self.finish(whole);
    }
}
