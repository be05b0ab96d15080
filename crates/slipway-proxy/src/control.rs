//! The control API: HTTP/1.1 on a unix socket, or on a loopback address with a bearer token.
//!
//! | Request | Answer |
//! |---|---|
//! | `GET /routes` | the [`VersionedTable`] being served |
//! | `PUT /routes` | body: a [`crate::RoutingTable`]; applies it atomically; `{"version": N}` |
//! | `GET /drain/N` | waits for the drain after the apply that made version N; a [`crate::DrainReport`] |
//! | `GET /metrics` | Prometheus text |
//! | `GET /metrics.json` | a [`crate::MetricsSnapshot`] |
//! | `GET /health` | a list of [`crate::UpstreamHealth`] |
//!
//! Errors are `{"error": "..."}` with 400 (invalid table), 401 (missing or wrong token), 404,
//! 405, 413 (body over 16 MiB), 500 (state file not writable) or 503 (shutting down).
//! [`crate::Client`] speaks this API so no caller writes HTTP by hand.

use std::convert::Infallible;
use std::future::Future;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener, UnixStream};
use tokio::task::JoinHandle;

use crate::config::{ControlEndpoint, ControlToken};
use crate::error::{ApplyError, ProxyError};
use crate::proxy::Shared;
use crate::server::{self, ACCEPT_BACKOFF, PROMETHEUS_TEXT};
use crate::table::{RoutingTable, TableVersion};

/// The largest routing table accepted.
pub(crate) const MAX_BODY: usize = 16 * 1024 * 1024;
/// Control connections served at once; more are closed.
const MAX_CONNECTIONS: usize = 64;

/// The answer to `PUT /routes`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AppliedVersion {
    pub(crate) version: TableVersion,
}

/// The body of every error answer.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ErrorBody {
    pub(crate) error: String,
}

/// A bound control listener.
#[derive(Debug)]
pub(crate) enum ControlListener {
    Unix {
        listener: UnixListener,
        path: PathBuf,
    },
    Loopback {
        listener: TcpListener,
        token: ControlToken,
    },
}

/// Binds the control endpoint; returns the listener and the endpoint as bound (the real port).
pub(crate) async fn bind(
    endpoint: &ControlEndpoint,
) -> Result<(ControlListener, ControlEndpoint), ProxyError> {
    match endpoint {
        ControlEndpoint::Unix(path) => {
            clear_stale_socket(path).await?;
            let bind_error = |source| ProxyError::Bind {
                what: "control API",
                addr: path.display().to_string(),
                source,
            };
            let listener = UnixListener::bind(path).map_err(bind_error)?;
            // Only the owner may change routes.
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(bind_error)?;
            Ok((
                ControlListener::Unix {
                    listener,
                    path: path.clone(),
                },
                endpoint.clone(),
            ))
        }
        ControlEndpoint::Loopback { addr, token } => {
            let bind_error = |source| ProxyError::Bind {
                what: "control API",
                addr: addr.to_string(),
                source,
            };
            let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
            let bound = listener.local_addr().map_err(bind_error)?;
            let endpoint = ControlEndpoint::Loopback {
                addr: bound,
                token: token.clone(),
            };
            Ok((
                ControlListener::Loopback {
                    listener,
                    token: token.clone(),
                },
                endpoint,
            ))
        }
    }
}

/// Removes a socket file left by a proxy that died, refusing to touch a live socket or a file
/// that is not a socket; creates the parent directory.
async fn clear_stale_socket(path: &Path) -> Result<(), ProxyError> {
    let bind_error = |source| ProxyError::Bind {
        what: "control API",
        addr: path.display().to_string(),
        source,
    };
    match std::fs::symlink_metadata(path) {
        Ok(metadata) if metadata.file_type().is_socket() => {
            if UnixStream::connect(path).await.is_ok() {
                return Err(ProxyError::ControlSocketInUse {
                    path: path.to_path_buf(),
                });
            }
            std::fs::remove_file(path).map_err(bind_error)
        }
        Ok(_) => Err(ProxyError::ControlPathTaken {
            path: path.to_path_buf(),
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => {
                std::fs::create_dir_all(dir).map_err(bind_error)
            }
            _ => Ok(()),
        },
        Err(error) => Err(bind_error(error)),
    }
}

/// Serves the control API until the proxy stops; removes the unix socket then.
pub(crate) fn spawn(listener: ControlListener, shared: Arc<Shared>) -> JoinHandle<()> {
    tokio::spawn(async move {
        match listener {
            ControlListener::Unix { listener, path } => {
                let accept = || async { listener.accept().await.map(|(stream, _)| stream) };
                serve(accept, &shared, None).await;
                if let Err(error) = std::fs::remove_file(&path) {
                    tracing::debug!(path = %path.display(), %error, "could not remove the control socket");
                }
            }
            ControlListener::Loopback { listener, token } => {
                let accept = || async { listener.accept().await.map(|(stream, _)| stream) };
                serve(accept, &shared, Some(token)).await;
            }
        }
    })
}

async fn serve<S, F, A>(accept: F, shared: &Arc<Shared>, token: Option<ControlToken>)
where
    F: Fn() -> A,
    A: Future<Output = std::io::Result<S>>,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let builder = Arc::new(server::plain_http1());
    let stopping = shared.stopping();
    loop {
        let stream = tokio::select! {
            accepted = accept() => accepted,
            () = stopping.cancelled() => return,
        };
        let Ok(stream) = stream else {
            // Out of file descriptors, say: wait instead of spinning.
            tokio::time::sleep(ACCEPT_BACKOFF).await;
            continue;
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            continue;
        };
        let shared = Arc::clone(shared);
        let token = token.clone();
        let builder = Arc::clone(&builder);
        tokio::spawn(async move {
            let service = service_fn({
                let shared = Arc::clone(&shared);
                move |request| handle(Arc::clone(&shared), token.clone(), request)
            });
            let served = builder.serve_connection(TokioIo::new(stream), service);
            server::finish_gracefully(served, &shared.signals(), |connection| {
                connection.graceful_shutdown()
            })
            .await;
            drop(slot);
        });
    }
}

async fn handle(
    shared: Arc<Shared>,
    token: Option<ControlToken>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if let Some(token) = &token
        && !authorized(token, &request)
    {
        let mut response = error(
            StatusCode::UNAUTHORIZED,
            "missing or wrong `Authorization: Bearer` token",
        );
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return Ok(response);
    }
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = match (&method, path.as_str()) {
        (&Method::GET, "/routes") => json(StatusCode::OK, &shared.versioned_table()),
        (&Method::PUT, "/routes") => put_routes(&shared, request).await,
        (&Method::GET, "/metrics") => {
            let mut response = Response::new(Full::new(Bytes::from(shared.prometheus_text())));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(PROMETHEUS_TEXT),
            );
            response
        }
        (&Method::GET, "/metrics.json") => json(StatusCode::OK, &shared.metrics()),
        (&Method::GET, "/health") => json(StatusCode::OK, &shared.upstream_health()),
        (&Method::GET, drain) if drain.starts_with("/drain/") => {
            wait_for_drain(&shared, &drain["/drain/".len()..]).await
        }
        (_, "/routes" | "/metrics" | "/metrics.json" | "/health") => error(
            StatusCode::METHOD_NOT_ALLOWED,
            &format!("{method} is not served on {path}"),
        ),
        _ => error(
            StatusCode::NOT_FOUND,
            &format!("no control endpoint {path}"),
        ),
    };
    Ok(response)
}

fn authorized(token: &ControlToken, request: &Request<Incoming>) -> bool {
    request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.as_bytes().strip_prefix(b"Bearer "))
        .is_some_and(|given| token.matches(given))
}

async fn put_routes(shared: &Shared, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
        Ok(body) => body.to_bytes(),
        Err(cause) if cause.is::<http_body_util::LengthLimitError>() => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("a routing table is at most {MAX_BODY} bytes"),
            );
        }
        Err(cause) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("reading the body: {cause}"),
            );
        }
    };
    let Ok(text) = std::str::from_utf8(&body) else {
        return error(StatusCode::BAD_REQUEST, "the body is not UTF-8 JSON");
    };
    let table = match RoutingTable::from_json(text) {
        Ok(table) => table,
        Err(cause) => return error(StatusCode::BAD_REQUEST, &cause.to_string()),
    };
    match shared.apply(table).await {
        Ok(applied) => json(
            StatusCode::OK,
            &AppliedVersion {
                version: applied.version(),
            },
        ),
        Err(cause @ ApplyError::Table(_)) => error(StatusCode::BAD_REQUEST, &cause.to_string()),
        Err(cause @ ApplyError::StateFile { .. }) => {
            error(StatusCode::INTERNAL_SERVER_ERROR, &cause.to_string())
        }
        Err(cause @ ApplyError::ShuttingDown) => {
            error(StatusCode::SERVICE_UNAVAILABLE, &cause.to_string())
        }
    }
}

async fn wait_for_drain(shared: &Shared, version: &str) -> Response<Full<Bytes>> {
    let Ok(number) = version.parse::<u64>() else {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("`{version}` is not a table version"),
        );
    };
    let Some(drain) = shared.drain(TableVersion::new(number)) else {
        return error(
            StatusCode::NOT_FOUND,
            &format!("no recent apply made version {number}"),
        );
    };
    let closing = shared.closing();
    tokio::select! {
        report = drain.report() => json(StatusCode::OK, &report),
        () = closing.cancelled() => error(StatusCode::SERVICE_UNAVAILABLE, "the proxy is shutting down"),
    }
}

fn json<T: Serialize>(status: StatusCode, value: &T) -> Response<Full<Bytes>> {
    match serde_json::to_vec(value) {
        Ok(bytes) => {
            let mut response = Response::new(Full::new(Bytes::from(bytes)));
            *response.status_mut() = status;
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        }
        Err(cause) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("encoding the answer: {cause}"),
        ),
    }
}

fn error(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::to_vec(&ErrorBody {
        error: message.to_owned(),
    })
    .unwrap_or_default();
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
