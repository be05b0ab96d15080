//! The run queue of `slipway serve`: a run from `queued` through `in_progress` to `completed`,
//! with its project, its trigger and its timestamps, and the workflow runs the runner recorded
//! for it.
//!
//! Workers take runs with [`QueueStore::claim_run`], which checks the global and the per-project
//! limit and marks the run started in one transaction, so two workers never take the same run
//! and the limits hold whatever number of workers ask at once.

use std::collections::BTreeMap;
use std::fmt;
use std::num::ParseIntError;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Conclusion, RunId, StoreError};

/// Keeps the run queue.
pub trait QueueStore {
    /// Queues a run of `trigger` at `at`.
    fn enqueue_run(
        &self,
        trigger: &Trigger,
        at: jiff::Timestamp,
    ) -> Result<QueuedRunId, StoreError>;

    /// Takes the oldest queued run whose project is under its limit, when fewer than
    /// `limits.global` runs are in progress, and marks it in progress at `at`.
    fn claim_run(
        &self,
        limits: ClaimLimits,
        at: jiff::Timestamp,
    ) -> Result<Option<QueuedRun>, StoreError>;

    /// Records that the run `id` produced the workflow run `run`.
    fn link_run(&self, id: QueuedRunId, run: RunId) -> Result<(), StoreError>;

    /// Completes the run `id` with `conclusion` at `at`; `detail` says why when no workflow run
    /// does. `false` when the run was already completed (its record is final).
    fn complete_run(
        &self,
        id: QueuedRunId,
        conclusion: Conclusion,
        detail: Option<&str>,
        at: jiff::Timestamp,
    ) -> Result<bool, StoreError>;

    /// Cancels the run `id` at `at` if no worker has taken it yet; `false` when it is not queued.
    fn cancel_queued(&self, id: QueuedRunId, at: jiff::Timestamp) -> Result<bool, StoreError>;

    /// The run `id` with the ids of its workflow runs, or `None`.
    fn queued_run(&self, id: QueuedRunId) -> Result<Option<QueuedRun>, StoreError>;

    /// Runs matching `query`, newest first (by id).
    fn queued_runs(&self, query: &QueueQuery) -> Result<Vec<QueuedRun>, StoreError>;

    /// How many runs are in each status.
    fn queue_counts(&self) -> Result<StatusCounts, StoreError>;

    /// Runs left in progress by a server that is gone: each is put back in the queue
    /// ([`OnRestart::Requeue`]) or completed as failed ([`OnRestart::Fail`]), with a `detail`
    /// saying it was interrupted. Returns their ids.
    fn recover_interrupted(
        &self,
        policy: OnRestart,
        at: jiff::Timestamp,
    ) -> Result<Vec<QueuedRunId>, StoreError>;
}

/// The identifier of a queued run; shown to people as a plain number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct QueuedRunId(i64);

impl QueuedRunId {
    /// Wraps a raw id. It need not exist in the store.
    pub fn new(id: i64) -> QueuedRunId {
        QueuedRunId(id)
    }

    /// The raw id.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for QueuedRunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for QueuedRunId {
    type Err = ParseIntError;

    fn from_str(s: &str) -> Result<QueuedRunId, ParseIntError> {
        s.parse().map(QueuedRunId)
    }
}

/// What asks for a run: every trigger (a webhook, a poll, a schedule, a dispatch, a rerun) is
/// turned into one of these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trigger {
    /// The project to run.
    pub project: String,
    /// One workflow file (`.github/workflows/ci.yml`), or every workflow the event triggers.
    pub workflow: Option<String>,
    /// The event (`push`, `workflow_dispatch`, ...).
    pub event: String,
    /// The full ref (`refs/heads/main`).
    pub git_ref: String,
    /// The commit, or `None` to run the ref's head as it is when the run starts.
    pub sha: Option<String>,
    /// Who asked: a token's name or a webhook's sender.
    pub actor: String,
    /// `workflow_dispatch` inputs.
    pub inputs: BTreeMap<String, String>,
    /// The run this one runs again.
    pub rerun_of: Option<QueuedRunId>,
    /// `github.event` as the Git host sent it; `None` when the worker builds one (dispatches,
    /// reruns of them). Left out of listings: it can be megabytes.
    #[serde(skip)]
    pub payload: Option<serde_json::Value>,
    /// The run gets no secrets: a pull request from a fork.
    pub withhold_secrets: bool,
}

/// Where a run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Waiting for a worker.
    Queued,
    /// A worker runs it.
    InProgress,
    /// It ended; its conclusion says how.
    Completed,
}

impl RunStatus {
    /// The snake-case name (`queued`, `in_progress`, `completed`).
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::InProgress => "in_progress",
            RunStatus::Completed => "completed",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<RunStatus> {
        [
            RunStatus::Queued,
            RunStatus::InProgress,
            RunStatus::Completed,
        ]
        .into_iter()
        .find(|status| status.as_str() == name)
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A run in the queue, at whatever point of its life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueuedRun {
    /// The store's id.
    pub id: QueuedRunId,
    /// What asked for it.
    pub trigger: Trigger,
    /// Where it is.
    pub status: RunStatus,
    /// How it ended, once completed.
    pub conclusion: Option<Conclusion>,
    /// When it was queued.
    pub queued_at: jiff::Timestamp,
    /// When a worker took it (the latest time, after a requeue).
    pub started_at: Option<jiff::Timestamp>,
    /// When it completed.
    pub finished_at: Option<jiff::Timestamp>,
    /// Why it ended as it did when no workflow run says it, or that a restart interrupted it.
    pub detail: Option<String>,
    /// The workflow runs the runner recorded for it, in order.
    pub runs: Vec<RunId>,
}

/// How many runs a worker may have going when it claims one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimLimits {
    /// Runs in progress across every project.
    pub global: u32,
    /// Runs in progress of any one project.
    pub per_project: u32,
}

/// What happens on start to runs a dead server left in progress.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnRestart {
    /// Queued again, to run from the start.
    #[default]
    Requeue,
    /// Completed as failed.
    Fail,
}

/// Which runs [`QueueStore::queued_runs`] returns; the default returns all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueQuery {
    /// Only runs of this project.
    pub project: Option<String>,
    /// Only runs in this status.
    pub status: Option<RunStatus>,
    /// Only runs older than this one (the cursor of the previous page).
    pub before: Option<QueuedRunId>,
    /// At most this many.
    pub limit: Option<u32>,
}

/// How many runs are in each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StatusCounts {
    /// Waiting for a worker.
    pub queued: u64,
    /// Running.
    pub in_progress: u64,
    /// Completed, by conclusion.
    pub success: u64,
    /// Completed as failed.
    pub failure: u64,
    /// Completed as cancelled.
    pub cancelled: u64,
    /// Completed as skipped.
    pub skipped: u64,
}
