//! The daemon's control protocol: one JSON request per line on its unix socket, one JSON answer
//! per line back, one exchange per connection.
//!
//! Every [`Platform`](crate::Platform) call has a request, plus [`Request::Status`] and
//! [`Request::Shutdown`]. An answer is `{"ok": VALUE}` or `{"error": {"kind", "message"}}`. The
//! socket is the daemon's only door: its file permissions (`0600`, in the state directory) say
//! who may use it.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use slipway_proxy::{BackendId, TableVersion};
use slipway_runtime::{Labels, ProcessLimits, ReplicaId, ReplicaSpec, RuntimeKind};

use crate::error::RemoteErrorKind;
use crate::traffic::TrafficEdit;

/// The longest request line the daemon reads: a replica spec or a traffic edit is a few
/// kilobytes.
pub const MAX_REQUEST: usize = 1 << 20;

/// What a client asks the daemon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Who the daemon is and where its proxy serves.
    Status,
    /// Starts a replica.
    StartReplica {
        /// The runtime.
        runtime: RuntimeKind,
        /// The replica.
        spec: ReplicaSpec,
    },
    /// Stops a replica.
    StopReplica {
        /// The runtime.
        runtime: RuntimeKind,
        /// The replica.
        replica: ReplicaId,
        /// Milliseconds it gets to finish after SIGTERM.
        grace_ms: u64,
    },
    /// Lists replicas by labels.
    Replicas {
        /// The runtime.
        runtime: RuntimeKind,
        /// The labels they must carry.
        selector: Labels,
    },
    /// A replica's last lines of output.
    Logs {
        /// The runtime.
        runtime: RuntimeKind,
        /// The replica.
        replica: ReplicaId,
        /// How many lines; all with `None`.
        tail: Option<usize>,
    },
    /// A replica's last lines of output, then each new one: answered by one line per log line
    /// until the client closes the connection (or the daemon stops).
    FollowLogs {
        /// The runtime.
        runtime: RuntimeKind,
        /// The replica.
        replica: ReplicaId,
        /// How many lines before the new ones; all with `None`.
        tail: Option<usize>,
    },
    /// A replica's CPU and memory use.
    Stats {
        /// The runtime.
        runtime: RuntimeKind,
        /// The replica.
        replica: ReplicaId,
    },
    /// Applies a traffic edit.
    EditTraffic {
        /// The edit.
        edit: TrafficEdit,
    },
    /// Removes a backend and its routes.
    RemoveBackend {
        /// The backend.
        backend: BackendId,
    },
    /// Waits for the drain after an apply.
    Drained {
        /// The table version the apply made.
        version: TableVersion,
    },
    /// The routing table.
    Routes,
    /// Every pool's figures.
    Metrics,
    /// Every upstream's health.
    UpstreamHealth,
    /// Stops the daemon (its replicas keep running; the next daemon adopts them).
    Shutdown,
}

/// An answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Answer {
    /// It was done; the value is the request's result.
    Ok(serde_json::Value),
    /// It failed.
    Error {
        /// What kind of failure, for the command's hint.
        kind: RemoteErrorKind,
        /// What went wrong.
        message: String,
    },
}

/// What [`Request::Status`] answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonStatus {
    /// The daemon's process id.
    pub pid: u32,
    /// The slipway version it runs.
    pub version: String,
    /// The project it serves.
    pub project: String,
    /// Where its proxy serves.
    pub proxy: SocketAddr,
    /// The default address the proxy found in use (another project's daemon, typically), so
    /// that it serves on `proxy`, a free port, instead; `None` when it got the address it asked
    /// for.
    #[serde(default)]
    pub proxy_fallback_from: Option<SocketAddr>,
    /// Whether its process replicas are confined to their limits, and why not; `None` from a
    /// daemon older than limits.
    #[serde(default)]
    pub process_limits: Option<ProcessLimits>,
    /// Its state directory.
    pub state_dir: PathBuf,
    /// When it started.
    pub started_at: jiff::Timestamp,
}

/// Reads one request line.
pub fn parse_request(line: &[u8]) -> Result<Request, String> {
    serde_json::from_slice(line).map_err(|error| format!("not a request: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn requests_and_answers_read_back() {
        let requests = [
            Request::Status,
            Request::Replicas {
                runtime: RuntimeKind::Process,
                selector: Labels::from([("a".to_owned(), "b".to_owned())]),
            },
            Request::StopReplica {
                runtime: RuntimeKind::Container,
                replica: ReplicaId::new("x"),
                grace_ms: 10,
            },
            Request::Drained {
                version: TableVersion::new(7),
            },
        ];
        for request in requests {
            let line = serde_json::to_vec(&request).unwrap();
            assert_eq!(parse_request(&line), Ok(request));
        }
        let answer = Answer::Error {
            kind: RemoteErrorKind::ImageNotFound,
            message: "no image".to_owned(),
        };
        let text = serde_json::to_string(&answer).unwrap();
        assert_eq!(
            text,
            r#"{"error":{"kind":"image_not_found","message":"no image"}}"#
        );
    }

    #[test]
    fn unknown_operations_and_fields_are_refused() {
        assert!(parse_request(br#"{"op":"format_disk"}"#).is_err());
        assert!(parse_request(br#"{"op":"drained","version":1,"extra":1}"#).is_err());
        assert!(parse_request(b"not json").is_err());
    }

    proptest! {
        #[test]
        fn parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = parse_request(&bytes);
        }
    }
}
