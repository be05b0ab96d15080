//! How a proxy is started: where it listens, where its control API answers, and its bounds.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Why a control endpoint was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// A TCP control endpoint must stay on this machine.
    #[error("the control API must listen on a loopback address (127.0.0.1 or ::1), not {0}")]
    NotLoopback(SocketAddr),
    /// A TCP control endpoint needs a token.
    #[error("a control API on {0} needs a token")]
    MissingToken(SocketAddr),
    /// The token is too short or holds characters a header cannot carry.
    #[error("the control token is not valid: {0}")]
    BadToken(&'static str),
}

/// The bearer token a loopback control endpoint requires. Its `Debug` output hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct ControlToken(String);

impl ControlToken {
    /// At least 16 visible ASCII characters (no spaces), so it fits an `Authorization` header and
    /// is not trivially guessed.
    pub fn new(token: impl Into<String>) -> Result<ControlToken, EndpointError> {
        let token = token.into();
        if token.len() < 16 {
            return Err(EndpointError::BadToken(
                "it must be at least 16 characters long",
            ));
        }
        if !token.chars().all(|c| c.is_ascii_graphic()) {
            return Err(EndpointError::BadToken(
                "only visible ASCII characters, no spaces, are allowed",
            ));
        }
        Ok(ControlToken(token))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// Compares in time independent of where the first difference is, so the token cannot be
    /// found a character at a time by timing answers.
    pub(crate) fn matches(&self, candidate: &[u8]) -> bool {
        let expected = self.0.as_bytes();
        let differences = expected
            .iter()
            .zip(candidate)
            .fold(expected.len() ^ candidate.len(), |acc, (a, b)| {
                acc | usize::from(a ^ b)
            });
        differences == 0
    }
}

impl fmt::Debug for ControlToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ControlToken(..)")
    }
}

/// Where the control API answers: a unix socket (access by file permissions; the socket is made
/// `0600`), or a loopback TCP address that requires `Authorization: Bearer TOKEN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlEndpoint {
    /// A unix socket at this path.
    Unix(PathBuf),
    /// A loopback address and the token clients must present. Build it with
    /// [`ControlEndpoint::loopback`], which checks the address.
    Loopback {
        /// The address (port 0 picks a free one; [`crate::Proxy::control_endpoint`] tells which).
        addr: SocketAddr,
        /// The token.
        token: ControlToken,
    },
}

impl ControlEndpoint {
    /// A unix socket endpoint.
    pub fn unix(path: impl Into<PathBuf>) -> ControlEndpoint {
        ControlEndpoint::Unix(path.into())
    }

    /// A loopback TCP endpoint; other addresses are refused, since the control API changes what
    /// the proxy serves.
    pub fn loopback(
        addr: SocketAddr,
        token: ControlToken,
    ) -> Result<ControlEndpoint, EndpointError> {
        if !addr.ip().is_loopback() {
            return Err(EndpointError::NotLoopback(addr));
        }
        Ok(ControlEndpoint::Loopback { addr, token })
    }

    /// Reads a command-line value: an `IP:PORT` is a loopback endpoint (and needs `token`),
    /// anything else is a unix socket path.
    pub fn parse(
        text: &str,
        token: Option<ControlToken>,
    ) -> Result<ControlEndpoint, EndpointError> {
        match text.parse::<SocketAddr>() {
            Ok(addr) => {
                ControlEndpoint::loopback(addr, token.ok_or(EndpointError::MissingToken(addr))?)
            }
            Err(_) => Ok(ControlEndpoint::unix(text)),
        }
    }
}

impl fmt::Display for ControlEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ControlEndpoint::Unix(path) => write!(f, "unix:{}", path.display()),
            ControlEndpoint::Loopback { addr, .. } => write!(f, "http://{addr}"),
        }
    }
}

/// Everything [`crate::Proxy::start`] needs. Build it with [`ProxyConfig::new`] and change the
/// public fields; more fields may come (TLS), so it cannot be built literally.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProxyConfig {
    /// Where the proxy serves HTTP/1.1 and HTTP/2 with prior knowledge (h2c). Port 0 picks a
    /// free port; [`crate::Proxy::listen_addr`] tells which.
    pub listen: SocketAddr,
    /// Where the control API answers.
    pub control: ControlEndpoint,
    /// An extra listener serving only `GET /metrics`, without authentication, for a scraper.
    pub metrics_listen: Option<SocketAddr>,
    /// Where the routing table is saved after every apply and read back at start, so routes
    /// survive a restart. `None` starts empty every time.
    pub state_file: Option<PathBuf>,
    /// How long requests and upgraded connections on upstreams removed by an apply may go on,
    /// and how long [`crate::Proxy::shutdown`] waits for in-flight requests. Default 30 s.
    pub drain_timeout: Duration,
    /// How long connecting to an upstream may take before the request tries another. Default 2 s.
    pub connect_timeout: Duration,
    /// How long an upstream may take to send response headers before the proxy answers 504.
    /// Default 60 s.
    pub response_timeout: Duration,
    /// How long a pooled upstream connection may sit idle before it is closed. Shorter than
    /// any upstream's own keep-alive timeout (Node's is 5 s, gunicorn's 2 s), so the proxy never
    /// sends on a connection the upstream is closing. Default 1 s.
    pub upstream_idle_timeout: Duration,
    /// Client connections served at once; more wait to be accepted. Default 10 000.
    pub max_connections: usize,
    /// Worker threads serving client connections, each owning its connections end to end.
    /// Default: one per CPU.
    pub workers: usize,
}

impl ProxyConfig {
    /// A configuration with the defaults described on each field.
    pub fn new(listen: SocketAddr, control: ControlEndpoint) -> ProxyConfig {
        ProxyConfig {
            listen,
            control,
            metrics_listen: None,
            state_file: None,
            drain_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(60),
            upstream_idle_timeout: Duration::from_secs(1),
            max_connections: 10_000,
            workers: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_endpoints_refuse_other_addresses() {
        let token = ControlToken::new("0123456789abcdef").unwrap();
        assert!(
            ControlEndpoint::loopback("127.0.0.1:9000".parse().unwrap(), token.clone()).is_ok()
        );
        assert!(ControlEndpoint::loopback("[::1]:9000".parse().unwrap(), token.clone()).is_ok());
        assert_eq!(
            ControlEndpoint::loopback("0.0.0.0:9000".parse().unwrap(), token),
            Err(EndpointError::NotLoopback("0.0.0.0:9000".parse().unwrap()))
        );
    }

    #[test]
    fn parse_tells_addresses_from_paths() {
        assert_eq!(
            ControlEndpoint::parse("/run/proxy.sock", None),
            Ok(ControlEndpoint::unix("/run/proxy.sock"))
        );
        assert!(matches!(
            ControlEndpoint::parse("127.0.0.1:1", None),
            Err(EndpointError::MissingToken(_))
        ));
        let token = ControlToken::new("0123456789abcdef").unwrap();
        assert!(matches!(
            ControlEndpoint::parse("127.0.0.1:1", Some(token)),
            Ok(ControlEndpoint::Loopback { .. })
        ));
    }

    #[test]
    fn tokens_are_checked_hidden_and_compared_whole() {
        assert!(ControlToken::new("short").is_err());
        assert!(ControlToken::new("has a space in it!").is_err());
        let token = ControlToken::new("0123456789abcdef").unwrap();
        assert_eq!(format!("{token:?}"), "ControlToken(..)");
        assert!(token.matches(b"0123456789abcdef"));
        assert!(!token.matches(b"0123456789abcdeF"));
        assert!(!token.matches(b"0123456789abcdef0"));
        assert!(!token.matches(b""));
    }
}
