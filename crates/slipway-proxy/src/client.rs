//! [`Client`]: the control API from another process (the CLI talking to the daemon's proxy).

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};

use crate::config::ControlEndpoint;
use crate::control::{AppliedVersion, ErrorBody};
use crate::drain::DrainReport;
use crate::health::UpstreamHealth;
use crate::metrics::MetricsSnapshot;
use crate::table::{RoutingTable, TableVersion, VersionedTable};

/// The largest answer read: a routing table or metrics of a big table fit many times over.
const MAX_ANSWER: usize = 64 * 1024 * 1024;

/// Why a control API call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing answers at the endpoint: the proxy is not running there.
    #[error("cannot reach the proxy's control API at {endpoint}: {source}")]
    Unreachable {
        /// The endpoint.
        endpoint: String,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The proxy refused the token.
    #[error("the proxy at {endpoint} refused the control token")]
    Unauthorized {
        /// The endpoint.
        endpoint: String,
    },
    /// The proxy refused the request: an invalid table, an unknown version, shutting down.
    #[error("the proxy answered {status}: {message}")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The proxy's explanation.
        message: String,
    },
    /// The exchange failed midway, or the answer is not what the API promises.
    #[error("talking to the proxy at {endpoint}: {message}")]
    Protocol {
        /// The endpoint.
        endpoint: String,
        /// What went wrong.
        message: String,
    },
    /// No answer came in time.
    #[error("the proxy at {endpoint} did not answer within {}", humantime::format_duration(*.after))]
    TimedOut {
        /// The endpoint.
        endpoint: String,
        /// The time allowed.
        after: Duration,
    },
}

/// A client of a proxy's control API. Each call opens its own connection: calls are rare, and
/// nothing has to be kept alive between them.
#[derive(Debug, Clone)]
pub struct Client {
    endpoint: ControlEndpoint,
    timeout: Duration,
}

impl Client {
    /// A client for `endpoint`, allowing each call 60 s.
    pub fn new(endpoint: ControlEndpoint) -> Client {
        Client {
            endpoint,
            timeout: Duration::from_secs(60),
        }
    }

    /// The same client, allowing each call `timeout` (raise it above the proxy's drain timeout
    /// to wait for long drains with [`Client::drained`]).
    pub fn with_timeout(self, timeout: Duration) -> Client {
        Client { timeout, ..self }
    }

    /// The table being served and its version.
    pub async fn routes(&self) -> Result<VersionedTable, ClientError> {
        self.json(self.call(Method::GET, "/routes", None).await?)
    }

    /// Applies `table` atomically; returns its version.
    pub async fn apply(&self, table: &RoutingTable) -> Result<TableVersion, ClientError> {
        let body = serde_json::to_vec(table)
            .map_err(|error| self.protocol(format!("encoding the table: {error}")))?;
        let applied: AppliedVersion =
            self.json(self.call(Method::PUT, "/routes", Some(body)).await?)?;
        Ok(applied.version)
    }

    /// Waits for the drain after the apply that made `version`.
    pub async fn drained(&self, version: TableVersion) -> Result<DrainReport, ClientError> {
        self.json(
            self.call(Method::GET, &format!("/drain/{version}"), None)
                .await?,
        )
    }

    /// Every pool's figures.
    pub async fn metrics(&self) -> Result<MetricsSnapshot, ClientError> {
        self.json(self.call(Method::GET, "/metrics.json", None).await?)
    }

    /// The metrics in Prometheus text format.
    pub async fn metrics_text(&self) -> Result<String, ClientError> {
        let body = self.call(Method::GET, "/metrics", None).await?;
        String::from_utf8(body.to_vec())
            .map_err(|_| self.protocol("the metrics are not UTF-8".to_owned()))
    }

    /// The health of every upstream.
    pub async fn upstream_health(&self) -> Result<Vec<UpstreamHealth>, ClientError> {
        self.json(self.call(Method::GET, "/health", None).await?)
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Bytes, ClientError> {
        let exchange = async {
            match &self.endpoint {
                ControlEndpoint::Unix(path_to_socket) => {
                    let stream = UnixStream::connect(path_to_socket)
                        .await
                        .map_err(|source| self.unreachable(source))?;
                    self.exchange(stream, method, path, body).await
                }
                ControlEndpoint::Loopback { addr, .. } => {
                    let stream = TcpStream::connect(addr)
                        .await
                        .map_err(|source| self.unreachable(source))?;
                    self.exchange(stream, method, path, body).await
                }
            }
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| ClientError::TimedOut {
                endpoint: self.endpoint.to_string(),
                after: self.timeout,
            })?
    }

    async fn exchange<S>(
        &self,
        stream: S,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Bytes, ClientError>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (mut sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|error| self.protocol(format!("starting HTTP: {error}")))?;
        tokio::spawn(connection);
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "slipway-proxy");
        if let ControlEndpoint::Loopback { token, .. } = &self.endpoint {
            let value = HeaderValue::from_str(&format!("Bearer {}", token.as_str()))
                .map_err(|error| self.protocol(format!("the token cannot be sent: {error}")))?;
            request = request.header(header::AUTHORIZATION, value);
        }
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|error| self.protocol(format!("building the request: {error}")))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|error| self.protocol(error.to_string()))?;
        let status = response.status();
        let answer = Limited::new(response.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|error| self.protocol(format!("reading the answer: {error}")))?
            .to_bytes();
        match status {
            StatusCode::OK => Ok(answer),
            StatusCode::UNAUTHORIZED => Err(ClientError::Unauthorized {
                endpoint: self.endpoint.to_string(),
            }),
            status => {
                let message = serde_json::from_slice::<ErrorBody>(&answer).map_or_else(
                    |_| String::from_utf8_lossy(&answer).into_owned(),
                    |body| body.error,
                );
                Err(ClientError::Rejected {
                    status: status.as_u16(),
                    message,
                })
            }
        }
    }

    fn json<T: DeserializeOwned>(&self, body: Bytes) -> Result<T, ClientError> {
        serde_json::from_slice(&body)
            .map_err(|error| self.protocol(format!("the answer is not what was expected: {error}")))
    }

    fn unreachable(&self, source: std::io::Error) -> ClientError {
        ClientError::Unreachable {
            endpoint: self.endpoint.to_string(),
            source,
        }
    }

    fn protocol(&self, message: String) -> ClientError {
        ClientError::Protocol {
            endpoint: self.endpoint.to_string(),
            message,
        }
    }
}
