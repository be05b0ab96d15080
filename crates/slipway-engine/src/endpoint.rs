//! Where a container engine listens, and the order in which Slipway looks for one.
//!
//! [`Endpoint`] is a parsed `DOCKER_HOST`: a unix socket or a plain TCP address.
//! [`candidate_endpoints`] is the discovery order as a pure function of the `DOCKER_HOST` value,
//! so it can be tested without touching the process environment: an explicit `DOCKER_HOST` is
//! the only candidate (as with the Docker CLI, a stale setting must fail loudly rather than
//! silently use another engine); without one, Docker's socket, then Podman's rootful socket.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::EngineError;

/// Docker's socket.
pub const DOCKER_SOCKET: &str = "/var/run/docker.sock";

/// Podman's rootful API socket, where `scripts/setup-engine` starts the Podman service.
pub const PODMAN_SOCKET: &str = "/run/podman/podman.sock";

/// The port a `tcp://` endpoint without one uses: Docker's unencrypted API port.
const DEFAULT_TCP_PORT: u16 = 2375;

/// Where an engine answers the Docker Engine API. Shown, and serialized, as a `DOCKER_HOST`
/// value (`unix:///run/podman/podman.sock`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// A unix socket.
    Unix(PathBuf),
    /// A plain (unencrypted) TCP address.
    Tcp {
        /// A host name, an IPv4 address, or an IPv6 address in brackets.
        host: String,
        /// The TCP port.
        port: u16,
    },
}

impl Endpoint {
    /// A unix socket endpoint.
    pub fn unix(path: impl Into<PathBuf>) -> Endpoint {
        Endpoint::Unix(path.into())
    }

    /// Parses a `DOCKER_HOST` value: `unix:///path/to.sock`, `tcp://host:port` or `tcp://host`
    /// (`http://` is accepted as a synonym of `tcp://`).
    ///
    /// TLS (`DOCKER_TLS_VERIFY`) and `ssh://` endpoints are not supported.
    pub fn parse(docker_host: &str) -> Result<Endpoint, EngineError> {
        let invalid = |reason| EngineError::InvalidEndpoint {
            value: docker_host.to_owned(),
            reason,
        };
        if let Some(path) = docker_host.strip_prefix("unix://") {
            if !path.starts_with('/') {
                return Err(invalid(
                    "a unix socket path must be absolute, as in unix:///var/run/docker.sock",
                ));
            }
            return Ok(Endpoint::unix(path));
        }
        let address = docker_host
            .strip_prefix("tcp://")
            .or_else(|| docker_host.strip_prefix("http://"))
            .ok_or_else(|| invalid("only unix:// and tcp:// endpoints are supported"))?;
        let address = address.strip_suffix('/').unwrap_or(address);
        let (host, port) =
            split_host_port(address).ok_or_else(|| invalid("expected tcp://host:port"))?;
        Ok(Endpoint::Tcp {
            host: host.to_owned(),
            port,
        })
    }

    /// The socket path, for a unix endpoint.
    pub fn socket_path(&self) -> Option<&Path> {
        match self {
            Endpoint::Unix(path) => Some(path),
            Endpoint::Tcp { .. } => None,
        }
    }
}

impl serde::Serialize for Endpoint {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Splits `host:port`, `host`, `[v6]:port` or `[v6]`; `None` when the host is empty, the port is
/// not a number, or an IPv6 address is not in brackets.
fn split_host_port(address: &str) -> Option<(&str, u16)> {
    let (host, port) = match address.rfind(':') {
        Some(colon) if !address[colon..].contains(']') => {
            (&address[..colon], address[colon + 1..].parse().ok()?)
        }
        _ => (address, DEFAULT_TCP_PORT),
    };
    let bracketed = host.starts_with('[') && host.ends_with(']') && host.len() > 2;
    let plain = !host.is_empty() && !host.contains(['[', ']', ':', '/', '@', '?', '#', ' ']);
    (bracketed || plain).then_some((host, port))
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Unix(path) => write!(f, "unix://{}", path.display()),
            Endpoint::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
        }
    }
}

/// How [`DockerEngine::connect`](crate::DockerEngine::connect) finds its engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointChoice {
    /// Look in the usual places (see [`candidate_endpoints`]), given the value of `DOCKER_HOST`
    /// (the caller reads the environment, so discovery stays testable).
    Discover {
        /// The `DOCKER_HOST` value, if set.
        docker_host: Option<String>,
    },
    /// Use exactly this endpoint.
    Exactly(Endpoint),
}

/// The endpoints to try, in order, given the value of `DOCKER_HOST`.
///
/// An empty `DOCKER_HOST` counts as unset, as it does for the Docker CLI.
pub fn candidate_endpoints(docker_host: Option<&str>) -> Result<Vec<Endpoint>, EngineError> {
    match docker_host.map(str::trim).filter(|value| !value.is_empty()) {
        Some(value) => Ok(vec![Endpoint::parse(value)?]),
        None => Ok(vec![
            Endpoint::unix(DOCKER_SOCKET),
            Endpoint::unix(PODMAN_SOCKET),
        ]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check_parse(value: &str, expected: Endpoint) {
        assert_eq!(Endpoint::parse(value).unwrap(), expected, "{value}");
    }

    fn tcp(host: &str, port: u16) -> Endpoint {
        Endpoint::Tcp {
            host: host.to_owned(),
            port,
        }
    }

    #[test]
    fn parses_the_docker_host_forms() {
        check_parse(
            "unix:///run/podman/podman.sock",
            Endpoint::unix("/run/podman/podman.sock"),
        );
        check_parse("tcp://127.0.0.1:2376", tcp("127.0.0.1", 2376));
        check_parse("tcp://docker.internal", tcp("docker.internal", 2375));
        check_parse("http://localhost:8080/", tcp("localhost", 8080));
        check_parse("tcp://[::1]:2375", tcp("[::1]", 2375));
        check_parse("tcp://[::1]", tcp("[::1]", 2375));
    }

    #[test]
    fn rejects_what_it_cannot_use_with_the_reason() {
        for (value, reason) in [
            (
                "ssh://me@host",
                "only unix:// and tcp:// endpoints are supported",
            ),
            (
                "/var/run/docker.sock",
                "only unix:// and tcp:// endpoints are supported",
            ),
            (
                "unix://relative.sock",
                "a unix socket path must be absolute, as in unix:///var/run/docker.sock",
            ),
            ("tcp://host:port", "expected tcp://host:port"),
            ("tcp://:2375", "expected tcp://host:port"),
            ("tcp://::1", "expected tcp://host:port"),
            ("tcp://host:99999", "expected tcp://host:port"),
        ] {
            match Endpoint::parse(value) {
                Err(EngineError::InvalidEndpoint {
                    value: got,
                    reason: why,
                }) => {
                    assert_eq!((got.as_str(), why), (value, reason));
                }
                other => panic!("{value}: expected InvalidEndpoint, got {other:?}"),
            }
        }
    }

    #[test]
    fn docker_host_is_the_only_candidate_when_set() {
        let candidates = candidate_endpoints(Some("unix:///tmp/engine.sock")).unwrap();
        assert_eq!(candidates, vec![Endpoint::unix("/tmp/engine.sock")]);
    }

    #[test]
    fn without_docker_host_docker_comes_before_podman() {
        for unset in [None, Some(""), Some("  ")] {
            let candidates = candidate_endpoints(unset).unwrap();
            assert_eq!(
                candidates,
                vec![
                    Endpoint::unix("/var/run/docker.sock"),
                    Endpoint::unix("/run/podman/podman.sock")
                ]
            );
        }
    }

    #[test]
    fn an_unusable_docker_host_is_an_error_not_a_fallback() {
        assert!(matches!(
            candidate_endpoints(Some("npipe:////./pipe/docker_engine")),
            Err(EngineError::InvalidEndpoint { .. })
        ));
    }

    proptest! {
        #[test]
        fn display_parses_back(endpoint in endpoint_strategy()) {
            prop_assert_eq!(Endpoint::parse(&endpoint.to_string()).unwrap(), endpoint);
        }

        #[test]
        fn parse_never_panics(value in ".{0,40}") {
            let _ = Endpoint::parse(&value);
        }
    }

    fn endpoint_strategy() -> impl Strategy<Value = Endpoint> {
        prop_oneof![
            "(/[a-z0-9._-]{1,8}){1,4}".prop_map(Endpoint::unix),
            ("[a-z0-9-]{1,12}(\\.[a-z0-9-]{1,8}){0,2}", any::<u16>())
                .prop_map(|(host, port)| Endpoint::Tcp { host, port }),
            ("\\[[0-9a-f:]{2,12}\\]", any::<u16>())
                .prop_map(|(host, port)| Endpoint::Tcp { host, port }),
        ]
    }
}
