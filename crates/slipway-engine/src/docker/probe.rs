//! Asking an endpoint what engine answers there, before speaking any versioned API to it.
//!
//! Docker refuses a versioned path newer than it knows ("client version 1.53 is too new") and,
//! since Docker 29, one older than its minimum, so the API version must be learned first, from a
//! request without one in its path. Connecting asks `GET /_ping` ([`greet`]), as the Docker CLI
//! does: both engines name their API version in its headers, and Podman its own version too.
//! Podman answers a ping at once, where its `GET /version` asks each of its components for theirs
//! (a third of a second on a loaded machine, a tenth of a cached build). `GET /version`
//! ([`probe`]) is kept for what only it tells (`slipway doctor`'s OS and architecture), and for
//! an endpoint whose ping names no API version. The API version Slipway then speaks is the
//! engine's, capped at the newest that `bollard` knows (Podman 4.3 answers 1.41).

use std::time::Duration;

use bollard::{API_DEFAULT_VERSION, ClientVersion};
use hyper::HeaderMap;
use serde::Deserialize;

use super::raw;
use crate::endpoint::Endpoint;
use crate::engine::{EngineInfo, EngineKind};

/// How long an endpoint may take to answer the probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// The fields of the engine's `/version` answer that Slipway uses.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct VersionReport {
    version: String,
    api_version: String,
    #[serde(default)]
    os: String,
    #[serde(default)]
    arch: String,
    platform: Option<Platform>,
    components: Option<Vec<Component>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Platform {
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Component {
    name: String,
}

impl VersionReport {
    /// Docker or Podman: Podman names itself in a component ("Podman Engine") or the platform.
    pub(crate) fn kind(&self) -> EngineKind {
        let platform = self.platform.iter().map(|platform| platform.name.as_str());
        let components = self
            .components
            .iter()
            .flatten()
            .map(|component| component.name.as_str());
        let podman = platform
            .chain(components)
            .any(|name| name.to_ascii_lowercase().contains("podman"));
        if podman {
            EngineKind::Podman
        } else {
            EngineKind::Docker
        }
    }

    /// The engine's own version.
    pub(crate) fn version(&self) -> &str {
        &self.version
    }

    /// What `slipway doctor` shows, for an engine at `endpoint` spoken to with `api_version`.
    pub(crate) fn into_info(self, endpoint: Endpoint, api_version: ClientVersion) -> EngineInfo {
        EngineInfo {
            kind: self.kind(),
            version: self.version,
            api_version: api_version.to_string(),
            endpoint,
            os: self.os,
            arch: self.arch,
        }
    }
}

/// What connecting needs to know of an engine: the API version it speaks and, for Podman, its
/// own version (the prefix of its libpod API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Greeting {
    api_version: String,
    podman_version: Option<String>,
}

impl Greeting {
    /// What a `/_ping` answer's headers say; `None` when they name no API version.
    fn from_ping(headers: &HeaderMap) -> Option<Greeting> {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .filter(|value| !value.is_empty())
                .map(str::to_owned)
        };
        Some(Greeting {
            api_version: header("api-version")?,
            podman_version: header("libpod-api-version"),
        })
    }

    /// Podman's version when the engine is Podman; `None` for Docker.
    pub(crate) fn podman_version(&self) -> Option<&str> {
        self.podman_version.as_deref()
    }

    /// The API version to speak: the engine's, or `bollard`'s newest if the engine's is newer.
    /// `None` when the engine's is not `MAJOR.MINOR`.
    pub(crate) fn negotiated_version(&self) -> Option<ClientVersion> {
        negotiated_version(&self.api_version)
    }
}

impl From<VersionReport> for Greeting {
    fn from(report: VersionReport) -> Greeting {
        Greeting {
            podman_version: (report.kind() == EngineKind::Podman)
                .then(|| report.version().to_owned()),
            api_version: report.api_version,
        }
    }
}

/// `api_version` if `bollard` knows it, else `bollard`'s newest; `None` when it is not
/// `MAJOR.MINOR`.
fn negotiated_version(api_version: &str) -> Option<ClientVersion> {
    let (major, minor) = api_version.split_once('.')?;
    let engine = ClientVersion {
        major_version: major.parse().ok()?,
        minor_version: minor.parse().ok()?,
    };
    Some(if engine < *API_DEFAULT_VERSION {
        engine
    } else {
        *API_DEFAULT_VERSION
    })
}

/// Learns what connecting needs from `GET /_ping`, or from `GET /version` when the ping is
/// refused or names no API version. The error is [`probe`]'s.
pub(crate) async fn greet(endpoint: &Endpoint) -> Result<Greeting, String> {
    let ping = tokio::time::timeout(PROBE_TIMEOUT, raw::get_with_headers(endpoint, "/_ping"))
        .await
        .map_err(|_| format!("no answer within {}s", PROBE_TIMEOUT.as_secs()))?;
    match ping {
        Ok((headers, _)) => {
            if let Some(greeting) = Greeting::from_ping(&headers) {
                return Ok(greeting);
            }
        }
        Err(raw::Failure::Connection(reason)) => return Err(reason),
        Err(raw::Failure::Status(_)) => {}
    }
    probe(endpoint).await.map(Greeting::from)
}

/// Asks `endpoint` for its version. The error is why it did not answer, phrased for a list of
/// endpoints tried ("no socket there", "connection refused").
pub(crate) async fn probe(endpoint: &Endpoint) -> Result<VersionReport, String> {
    let body = tokio::time::timeout(PROBE_TIMEOUT, raw::get(endpoint, "/version"))
        .await
        .map_err(|_| format!("no answer within {}s", PROBE_TIMEOUT.as_secs()))?
        .map_err(|failure| match failure {
            raw::Failure::Status(status) => format!("answered HTTP {status} to GET /version"),
            raw::Failure::Connection(reason) => reason,
        })?;
    serde_json::from_slice(&body)
        .map_err(|error| format!("answered, but not with a Docker Engine API version ({error})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PODMAN_4_3: &str = r#"{"Platform":{"Name":"linux/amd64/debian-12"},"Components":[{"Name":"Podman Engine","Version":"4.3.1","Details":{"APIVersion":"4.3.1"}},{"Name":"Conmon","Version":"conmon version 2.1.6"}],"Version":"4.3.1","ApiVersion":"1.41","MinAPIVersion":"1.24","Os":"linux","Arch":"amd64"}"#;

    const DOCKER_27: &str = r#"{"Platform":{"Name":"Docker Engine - Community"},"Components":[{"Name":"Engine","Version":"27.3.1","Details":{"ApiVersion":"1.47"}},{"Name":"containerd","Version":"1.7.22"}],"Version":"27.3.1","ApiVersion":"1.47","MinAPIVersion":"1.24","Os":"linux","Arch":"arm64"}"#;

    fn report(json: &str) -> VersionReport {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn tells_podman_from_docker() {
        assert_eq!(report(PODMAN_4_3).kind(), EngineKind::Podman);
        assert_eq!(report(DOCKER_27).kind(), EngineKind::Docker);
        let bare = r#"{"Version":"20.10.0","ApiVersion":"1.41"}"#;
        assert_eq!(report(bare).kind(), EngineKind::Docker);
    }

    #[test]
    fn speaks_the_engines_api_version_unless_newer_than_bollards() {
        let version = |json: &str| {
            Greeting::from(report(json))
                .negotiated_version()
                .map(|version| version.to_string())
        };
        assert_eq!(version(PODMAN_4_3).as_deref(), Some("1.41"));
        assert_eq!(version(DOCKER_27).as_deref(), Some("1.47"));
        let future = r#"{"Version":"99.0","ApiVersion":"1.99"}"#;
        assert_eq!(version(future), Some(API_DEFAULT_VERSION.to_string()));
        assert_eq!(version(r#"{"Version":"1","ApiVersion":"latest"}"#), None);
    }

    #[test]
    fn a_ping_names_the_api_version_and_podmans_own() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.insert(*name, hyper::header::HeaderValue::from_static(value));
            }
            map
        };
        let podman = Greeting::from_ping(&headers(&[
            ("Api-Version", "1.41"),
            ("Libpod-Api-Version", "4.3.1"),
            ("Server", "Libpod/4.3.1 (linux)"),
        ]))
        .unwrap();
        assert_eq!(podman.podman_version(), Some("4.3.1"));
        assert_eq!(
            podman
                .negotiated_version()
                .map(|v| v.to_string())
                .as_deref(),
            Some("1.41")
        );
        let docker = Greeting::from_ping(&headers(&[
            ("Api-Version", "1.47"),
            ("Docker-Experimental", "false"),
        ]))
        .unwrap();
        assert_eq!(docker.podman_version(), None);
        assert_eq!(
            docker
                .negotiated_version()
                .map(|v| v.to_string())
                .as_deref(),
            Some("1.47")
        );
        // Nothing said of the API: /version is asked instead.
        assert_eq!(Greeting::from_ping(&headers(&[("Server", "nginx")])), None);
        assert_eq!(Greeting::from_ping(&headers(&[("Api-Version", "")])), None);
    }

    #[test]
    fn a_version_report_greets_as_its_ping_would() {
        assert_eq!(
            Greeting::from(report(PODMAN_4_3)),
            Greeting {
                api_version: "1.41".to_owned(),
                podman_version: Some("4.3.1".to_owned()),
            }
        );
        assert_eq!(
            Greeting::from(report(DOCKER_27)),
            Greeting {
                api_version: "1.47".to_owned(),
                podman_version: None,
            }
        );
    }

    #[test]
    fn info_reports_what_doctor_shows() {
        let endpoint = Endpoint::unix("/run/podman/podman.sock");
        let report = report(PODMAN_4_3);
        let version = negotiated_version(&report.api_version).unwrap();
        let info = report.into_info(endpoint.clone(), version);
        assert_eq!(
            info,
            EngineInfo {
                kind: EngineKind::Podman,
                version: "4.3.1".to_owned(),
                api_version: "1.41".to_owned(),
                endpoint,
                os: "linux".to_owned(),
                arch: "amd64".to_owned(),
            }
        );
        assert_eq!(
            serde_json::to_value(&info).unwrap(),
            serde_json::json!({
                "kind": "podman",
                "version": "4.3.1",
                "api_version": "1.41",
                "endpoint": "unix:///run/podman/podman.sock",
                "os": "linux",
                "arch": "amd64",
            })
        );
    }

    #[tokio::test]
    async fn a_missing_socket_is_reported_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let endpoint = Endpoint::unix(dir.path().join("engine.sock"));
        assert_eq!(probe(&endpoint).await.unwrap_err(), "no socket there");
        assert_eq!(greet(&endpoint).await.unwrap_err(), "no socket there");
    }
}
