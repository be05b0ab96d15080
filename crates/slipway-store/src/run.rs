//! Workflow run records: what `slipway run` did, job by job and step by step, and the trait that
//! keeps them.
//!
//! [`NewRun`] is one workflow run as recorded once its conclusion is known: its jobs
//! ([`JobRecord`]), each with its steps ([`StepRecord`]), their logs, outputs, step summaries and
//! [`Annotation`]s. [`Run`] is the same data read back with the [`RunId`] the store gave it;
//! [`RunSummary`] is the lighter row `slipway runs` lists. Logs and outputs arrive here already
//! masked: the store keeps whatever it is given, and the runner never gives it a secret.

use std::collections::BTreeMap;
use std::fmt;
use std::num::ParseIntError;
use std::str::FromStr;
use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::{GitSnapshot, StoreError};

/// Keeps workflow run records.
pub trait RunStore {
    /// Records a finished run with its jobs and steps in one transaction: afterwards the record
    /// is whole or absent.
    fn record_run(&self, run: &NewRun) -> Result<RunId, StoreError>;

    /// The run with this id, with every job and step, or `None` if there is none.
    fn run(&self, id: RunId) -> Result<Option<Run>, StoreError>;

    /// Runs matching `query`, newest first (by start time, then by id), without their jobs.
    fn runs(&self, query: &RunQuery) -> Result<Vec<RunSummary>, StoreError>;

    /// The highest run number recorded for `workflow` (a file path as in [`NewRun::workflow`]),
    /// or `None` before its first run. The next run takes the number after it.
    fn latest_run_number(&self, workflow: &str) -> Result<Option<u64>, StoreError>;
}

/// The identifier the store gives a run; shown to people as a plain number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct RunId(i64);

impl RunId {
    /// Wraps a raw id, such as one a person typed. It need not exist in the store.
    pub fn new(id: i64) -> RunId {
        RunId(id)
    }

    /// The raw id.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for RunId {
    type Err = ParseIntError;

    fn from_str(s: &str) -> Result<RunId, ParseIntError> {
        s.parse().map(RunId)
    }
}

/// How a run, job or step ended, in GitHub's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Conclusion {
    /// It ran and succeeded (a step that failed with `continue-on-error` concludes here too).
    Success,
    /// It ran and failed.
    Failure,
    /// It was stopped before it finished: Ctrl-C, `fail-fast`, a concurrency group.
    Cancelled,
    /// Its `if:` was false, or what it needed did not succeed, so it never ran.
    Skipped,
}

impl Conclusion {
    /// The lower-case name GitHub uses (`success`, `failure`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Conclusion::Success => "success",
            Conclusion::Failure => "failure",
            Conclusion::Cancelled => "cancelled",
            Conclusion::Skipped => "skipped",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Conclusion> {
        [
            Conclusion::Success,
            Conclusion::Failure,
            Conclusion::Cancelled,
            Conclusion::Skipped,
        ]
        .into_iter()
        .find(|conclusion| conclusion.as_str() == name)
    }
}

impl fmt::Display for Conclusion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A workflow run to record. Plain data: the store checks nothing beyond what it can represent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewRun {
    /// The workflow file, relative to the repository root (`.github/workflows/ci.yml`).
    pub workflow: String,
    /// The workflow's `name:` (or `run-name:`), else its file name.
    pub name: String,
    /// The run's number among the runs of this workflow, from 1.
    pub run_number: u64,
    /// The event that triggered it (`push`, `workflow_dispatch`, ...).
    pub event: String,
    /// The state of the repository it ran at.
    pub git: GitSnapshot,
    /// The ref the event was for (`refs/heads/main`, `refs/tags/v1`), when there is one.
    pub git_ref: Option<String>,
    /// When it started.
    pub started_at: jiff::Timestamp,
    /// How long it ran. Serialized as whole milliseconds in `duration_ms`.
    #[serde(rename = "duration_ms", serialize_with = "as_millis")]
    pub duration: Duration,
    /// How it ended.
    pub conclusion: Conclusion,
    /// Its jobs in the order they were planned (matrix instances one by one).
    pub jobs: Vec<JobRecord>,
}

/// One job of a run (one matrix instance of a job).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobRecord {
    /// The job's id under `jobs:` (`caller/called` for a job of a called reusable workflow).
    pub job_id: String,
    /// The name it is shown by (`test (18, linux)` for a matrix instance).
    pub name: String,
    /// The matrix combination as JSON, for a matrix instance.
    pub matrix: Option<String>,
    /// Where it ran: `host`, an image, or `-` when it never started.
    pub runs_on: String,
    /// How it ended.
    pub conclusion: Conclusion,
    /// When it started; `None` when it never did.
    pub started_at: Option<jiff::Timestamp>,
    /// How long it ran. Serialized as whole milliseconds in `duration_ms`.
    #[serde(rename = "duration_ms", serialize_with = "as_millis")]
    pub duration: Duration,
    /// `environment: name`, evaluated.
    pub environment: Option<String>,
    /// `environment: url`, evaluated at the end of the job.
    pub environment_url: Option<String>,
    /// The job's `outputs`, evaluated.
    pub outputs: BTreeMap<String, String>,
    /// What the job itself logged around its steps: setting up, containers, cleaning up.
    pub log: String,
    /// Its steps, in order, post steps included.
    pub steps: Vec<StepRecord>,
}

/// One step of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepRecord {
    /// The name it is shown by.
    pub name: String,
    /// Its `id:`, when it has one.
    pub step_id: Option<String>,
    /// How it ended before `continue-on-error` was applied (`steps.<id>.outcome`).
    pub outcome: Conclusion,
    /// How it ended after (`steps.<id>.conclusion`).
    pub conclusion: Conclusion,
    /// The exit code of its process, when one ran and exited.
    pub exit_code: Option<i32>,
    /// When it started; `None` when it was skipped.
    pub started_at: Option<jiff::Timestamp>,
    /// How long it ran. Serialized as whole milliseconds in `duration_ms`.
    #[serde(rename = "duration_ms", serialize_with = "as_millis")]
    pub duration: Duration,
    /// The outputs it set.
    pub outputs: BTreeMap<String, String>,
    /// Its log, masked.
    pub log: String,
    /// What it wrote to `$GITHUB_STEP_SUMMARY` (Markdown).
    pub summary: String,
    /// The annotations it made with `::error`, `::warning` and `::notice`.
    pub annotations: Vec<Annotation>,
}

/// An annotation a step made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Annotation {
    /// Error, warning or notice.
    pub level: AnnotationLevel,
    /// The message.
    pub message: String,
    /// `title=`.
    pub title: Option<String>,
    /// `file=`, relative to the workspace.
    pub file: Option<String>,
    /// `line=`.
    pub line: Option<u32>,
    /// `endLine=`.
    pub end_line: Option<u32>,
    /// `col=`.
    pub column: Option<u32>,
    /// `endColumn=`.
    pub end_column: Option<u32>,
}

/// The kind of an [`Annotation`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnnotationLevel {
    /// `::error`.
    Error,
    /// `::warning`.
    Warning,
    /// `::notice`.
    Notice,
}

impl AnnotationLevel {
    /// The command's name (`error`, `warning`, `notice`).
    pub fn as_str(self) -> &'static str {
        match self {
            AnnotationLevel::Error => "error",
            AnnotationLevel::Warning => "warning",
            AnnotationLevel::Notice => "notice",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<AnnotationLevel> {
        [
            AnnotationLevel::Error,
            AnnotationLevel::Warning,
            AnnotationLevel::Notice,
        ]
        .into_iter()
        .find(|level| level.as_str() == name)
    }
}

/// A recorded run: the data that was recorded and the id it was given.
///
/// Serializes as one flat object, `id` first, for `slipway runs --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Run {
    /// The store's id for this run.
    pub id: RunId,
    /// What was recorded.
    #[serde(flatten)]
    pub record: NewRun,
}

/// A run as `slipway runs` lists it: everything but its jobs, which are counted instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    /// The store's id for this run.
    pub id: RunId,
    /// See [`NewRun::workflow`].
    pub workflow: String,
    /// See [`NewRun::name`].
    pub name: String,
    /// See [`NewRun::run_number`].
    pub run_number: u64,
    /// See [`NewRun::event`].
    pub event: String,
    /// See [`NewRun::git`].
    pub git: GitSnapshot,
    /// See [`NewRun::git_ref`].
    pub git_ref: Option<String>,
    /// See [`NewRun::started_at`].
    pub started_at: jiff::Timestamp,
    /// See [`NewRun::duration`].
    #[serde(rename = "duration_ms", serialize_with = "as_millis")]
    pub duration: Duration,
    /// See [`NewRun::conclusion`].
    pub conclusion: Conclusion,
    /// How many of its jobs ended each way.
    pub jobs: JobCounts,
}

/// How many jobs of a run ended each way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct JobCounts {
    /// Jobs that succeeded.
    pub success: u32,
    /// Jobs that failed.
    pub failure: u32,
    /// Jobs that were cancelled.
    pub cancelled: u32,
    /// Jobs that were skipped.
    pub skipped: u32,
}

/// Which runs [`RunStore::runs`] returns. The default returns all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunQuery {
    /// Only runs of this workflow file.
    pub workflow: Option<String>,
    /// Only runs that ended this way.
    pub conclusion: Option<Conclusion>,
    /// At most this many runs (the newest ones).
    pub limit: Option<u32>,
}

/// Serializes a duration as whole milliseconds.
fn as_millis<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u128(duration.as_millis())
}
