//! What a runtime reports about a replica: where it answers, whether it runs, its output and its
//! resource use.

use std::fmt;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::spec::Labels;

/// A replica's identity in its runtime: the process runtime's replica name, or a container id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReplicaId(String);

impl ReplicaId {
    /// Wraps an id a runtime gave out earlier.
    pub fn new(id: impl Into<String>) -> ReplicaId {
        ReplicaId(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ReplicaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a replica runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ReplicaState {
    /// Its process runs (which says nothing about its health: Slipway checks that over HTTP).
    Running,
    /// It exited and waits to be started again by its restart policy.
    Restarting,
    /// It exited and stays down: its restart policy gave up, or says never.
    Exited {
        /// The exit status; `None` when it was killed by a signal or the status is unknown.
        status: Option<i32>,
    },
}

/// A replica as its runtime sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replica {
    /// Its identity in the runtime.
    pub id: ReplicaId,
    /// The name it was started with.
    pub name: String,
    /// Its labels.
    pub labels: Labels,
    /// Where its service answers, on loopback.
    pub address: SocketAddr,
    /// Whether it runs.
    pub state: ReplicaState,
    /// How many times it was restarted after exiting.
    pub restarts: u32,
    /// When it was first started.
    pub started_at: jiff::Timestamp,
}

/// Which output stream a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogStream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// One line of a replica's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// The stream it was written to; `None` where both streams are captured together (the
    /// process runtime writes them to one file, keeping their order).
    pub stream: Option<LogStream>,
    /// The line, without its newline.
    pub text: String,
}

/// A replica's resource use, measured over a short interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReplicaStats {
    /// CPU use in percent of one CPU (200 is two CPUs fully used).
    pub cpu_percent: f64,
    /// Memory in use, in bytes.
    pub memory_bytes: u64,
    /// `memory_bytes` in percent of the replica's memory limit, or of the host's memory when it
    /// has none.
    pub memory_percent: f64,
}
