//! Executors: where a job's steps run. The seam between the job logic and the machine.
//!
//! [`Executor`] is what the job runner asks of a place to run: the workspace and temporary
//! directory as the host and the steps see them, whether a program is installed, and running one
//! step's command until it exits or is stopped. [`host::HostExecutor`] runs steps as processes on
//! this machine; [`container::ContainerExecutor`] runs them with `exec` in a long-lived container
//! on the engine, with the workspace mounted, next to the job's service containers.
//!
//! Only executors start step processes: the job runner decides what to run, the executor runs it.

pub(crate) mod container;
pub(crate) mod host;
pub(crate) mod options;
pub(crate) mod services;

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use slipway_expr::Value;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::process::{Exit, StopReason};

/// A directory as the host sees it and as steps see it (the same path on the host executor, a
/// mount point in a container).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Place {
    pub(crate) host: PathBuf,
    pub(crate) seen: String,
}

impl Place {
    /// A directory that steps see at the same path.
    pub(crate) fn same(host: PathBuf) -> Place {
        let seen = host.display().to_string();
        Place { host, seen }
    }

    /// `relative` under this directory, on both sides.
    pub(crate) fn join(&self, relative: &str) -> Place {
        Place {
            host: self.host.join(relative),
            seen: format!("{}/{relative}", self.seen.trim_end_matches('/')),
        }
    }
}

/// One step's command.
#[derive(Debug, Clone)]
pub(crate) struct StepCommand {
    pub(crate) program: String,
    pub(crate) args: Vec<String>,
    /// The step's environment: what the workflow sets and GitHub's variables. The host
    /// executor adds it to Slipway's own environment; a container's adds it to the image's.
    pub(crate) env: Vec<(String, String)>,
    /// Directories to put first on `PATH` (from `$GITHUB_PATH`), latest first.
    pub(crate) path: Vec<String>,
    /// The working directory, as steps see it.
    pub(crate) cwd: String,
}

/// When a running step must stop: when `token` is cancelled, or at `deadline`.
#[derive(Debug, Clone)]
pub(crate) struct Stop {
    pub(crate) token: CancellationToken,
    pub(crate) deadline: Option<Instant>,
}

impl Stop {
    /// Resolves when the step must stop, with the reason.
    pub(crate) async fn wait(&self) -> StopReason {
        match self.deadline {
            Some(deadline) => tokio::select! {
                () = self.token.cancelled() => StopReason::Cancelled,
                () = tokio::time::sleep_until(deadline) => StopReason::TimedOut,
            },
            None => {
                self.token.cancelled().await;
                StopReason::Cancelled
            }
        }
    }

    /// A stop at whichever comes first of the deadline and `timeout` from now.
    pub(crate) fn within(&self, timeout: Option<Duration>) -> Stop {
        let step = timeout.map(|t| Instant::now() + t);
        let deadline = match (self.deadline, step) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Stop {
            token: self.token.clone(),
            deadline,
        }
    }
}

/// Why an executor could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ExecutorError {
    /// Starting or reading a process failed.
    #[error("cannot run {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    /// A file or directory could not be prepared.
    #[error("cannot prepare {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The container engine failed.
    #[error("container engine: {0}")]
    Engine(#[from] slipway_engine::EngineError),
    /// A service or the job container did not become ready.
    #[error("{0}")]
    NotReady(String),
}

/// Where a job's steps run.
#[async_trait]
pub(crate) trait Executor: Send + Sync {
    /// The workspace (`GITHUB_WORKSPACE`).
    fn workspace(&self) -> &Place;

    /// The job's temporary directory (`RUNNER_TEMP`), where scripts and file commands go.
    fn temp(&self) -> &Place;

    /// Where `program` is, where steps run (a path to start it by, without searching `PATH`
    /// again), or `None` when it is not installed.
    async fn locate(&self, program: &str) -> Option<String>;

    /// Makes the host directory `dir` (an action's) visible to steps; the path they see it at.
    async fn stage(&self, dir: &Path) -> Result<String, ExecutorError>;

    /// Runs one step's command, handing each output line to `on_line`.
    async fn run(
        &self,
        command: &StepCommand,
        on_line: &mut (dyn FnMut(String) + Send),
        stop: &Stop,
    ) -> Result<Exit, ExecutorError>;

    /// `job.container`: `id` and `network` of the job container, if there is one.
    fn container_context(&self) -> Value;

    /// `job.services`: each service's `id`, `network` and published `ports`.
    async fn services_context(&self) -> Value;

    /// Stops and removes everything the job started; lines for the job's log.
    async fn shut_down(&self) -> Vec<String>;
}
