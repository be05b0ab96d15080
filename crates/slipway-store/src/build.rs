//! Build records: what `slipway build` produced, or why it did not, and the trait that keeps them.
//!
//! [`NewBuild`] is what a caller records once the outcome is known; [`Build`] is the same data read
//! back with the [`BuildId`] the store gave it. Failed and cancelled builds are recorded too, with
//! their log, so `slipway builds show` can show why a build broke. Listings return
//! [`BuildSummary`]: the same record without its log, which can run to megabytes and is never read
//! for a listing.

use std::fmt;
use std::num::ParseIntError;
use std::str::FromStr;
use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::StoreError;

/// Keeps build records.
pub trait BuildStore {
    /// Records a finished build in one transaction: afterwards the record is whole or absent.
    fn record_build(&self, build: &NewBuild) -> Result<BuildId, StoreError>;

    /// The build with this id, with its log, or `None` if there is none.
    fn build(&self, id: BuildId) -> Result<Option<Build>, StoreError>;

    /// Builds matching `query`, newest first (by start time, then by id), without their logs.
    fn builds(&self, query: &BuildQuery) -> Result<Vec<BuildSummary>, StoreError>;
}

/// The identifier the store gives a build; shown to people as a plain number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct BuildId(i64);

impl BuildId {
    /// Wraps a raw id, such as one a person typed. It need not exist in the store.
    pub fn new(id: i64) -> BuildId {
        BuildId(id)
    }

    /// The raw id.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for BuildId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for BuildId {
    type Err = ParseIntError;

    fn from_str(s: &str) -> Result<BuildId, ParseIntError> {
        s.parse().map(BuildId)
    }
}

/// A build to record. Plain data: the store checks nothing beyond what it can represent.
///
/// `Log` is the log's type: a `String` when recorded or read with [`BuildStore::build`],
/// [`LogOmitted`] in a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = "Log: Serialize + LogField"))]
pub struct NewBuild<Log = String> {
    /// The service from `slipway.toml`.
    pub service: String,
    /// The image id the engine reported; `None` when the build failed before producing one.
    pub image_id: Option<String>,
    /// The manifest digest, once the image has one.
    pub digest: Option<String>,
    /// Tags applied to the image, in the order they were applied.
    pub tags: Vec<String>,
    /// Image size in bytes.
    pub size_bytes: Option<u64>,
    /// Number of layers in the image.
    pub layer_count: Option<u32>,
    /// When the build started.
    pub started_at: jiff::Timestamp,
    /// How long it ran. Serialized as whole milliseconds in `duration_ms`.
    #[serde(rename = "duration_ms", serialize_with = "as_millis")]
    pub duration: Duration,
    /// The state of the repository the build was made from.
    pub git: GitSnapshot,
    /// How the build ended.
    pub outcome: BuildOutcome,
    /// Everything the engine printed, kept for failed builds as much as for good ones. Left out of
    /// the JSON when a listing left it out.
    #[serde(skip_serializing_if = "LogField::is_omitted")]
    pub log: Log,
    /// The Dockerfile stage built (`--target`), if any.
    pub target: Option<String>,
    /// The platform built for (`linux/amd64`), if one was asked for.
    pub platform: Option<String>,
    /// The Dockerfile, as given to the builder.
    pub dockerfile: String,
    /// The build context directory, as given to the builder.
    pub context: String,
}

/// A recorded build: the data that was recorded and the id it was given.
///
/// Serializes as one flat object, `id` first, for `slipway builds --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = "Log: Serialize + LogField"))]
pub struct Build<Log = String> {
    /// The store's id for this build.
    pub id: BuildId,
    /// What was recorded.
    #[serde(flatten)]
    pub record: NewBuild<Log>,
}

/// A recorded build as a listing returns it: everything but the log.
pub type BuildSummary = Build<LogOmitted>;

impl<Log> Build<Log> {
    /// This build as a listing returns it.
    pub fn summary(self) -> BuildSummary {
        Build {
            id: self.id,
            record: self.record.without_log(),
        }
    }
}

impl<Log> NewBuild<Log> {
    /// The same record without its log.
    pub fn without_log(self) -> NewBuild<LogOmitted> {
        NewBuild {
            service: self.service,
            image_id: self.image_id,
            digest: self.digest,
            tags: self.tags,
            size_bytes: self.size_bytes,
            layer_count: self.layer_count,
            started_at: self.started_at,
            duration: self.duration,
            git: self.git,
            outcome: self.outcome,
            log: LogOmitted,
            target: self.target,
            platform: self.platform,
            dockerfile: self.dockerfile,
            context: self.context,
        }
    }
}

/// The place of a log a listing did not read; it serializes to nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LogOmitted;

/// What a build's `log` field can hold: the log, or the mark that it was left out.
pub trait LogField {
    /// Whether the log was left out (and so is left out of the JSON too).
    fn is_omitted(&self) -> bool;
}

impl LogField for String {
    fn is_omitted(&self) -> bool {
        false
    }
}

impl LogField for LogOmitted {
    fn is_omitted(&self) -> bool {
        true
    }
}

/// The git state a build was made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GitSnapshot {
    /// The full commit hash of `HEAD`; `None` outside a repository or before the first commit.
    pub commit: Option<String>,
    /// The branch checked out; `None` when `HEAD` is detached.
    pub branch: Option<String>,
    /// Whether the working tree had uncommitted changes.
    pub dirty: bool,
}

/// How a build ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum BuildOutcome {
    /// The image was built.
    Succeeded,
    /// The build failed; `reason` says why in one line (the log has the rest).
    Failed {
        /// One line saying why.
        reason: String,
    },
    /// The build was stopped before it finished (Ctrl-C, a timeout).
    Cancelled,
}

impl BuildOutcome {
    /// The outcome without its details, as [`BuildQuery`] filters on it.
    pub fn status(&self) -> BuildStatus {
        match self {
            BuildOutcome::Succeeded => BuildStatus::Succeeded,
            BuildOutcome::Failed { .. } => BuildStatus::Failed,
            BuildOutcome::Cancelled => BuildStatus::Cancelled,
        }
    }
}

/// The kind of a [`BuildOutcome`], without its details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BuildStatus {
    /// See [`BuildOutcome::Succeeded`].
    Succeeded,
    /// See [`BuildOutcome::Failed`].
    Failed,
    /// See [`BuildOutcome::Cancelled`].
    Cancelled,
}

/// Which builds [`BuildStore::builds`] returns. The default returns all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildQuery {
    /// Only builds of this service.
    pub service: Option<String>,
    /// Only builds that ended this way.
    pub status: Option<BuildStatus>,
    /// At most this many builds (the newest ones).
    pub limit: Option<u32>,
}

/// Serializes a duration as whole milliseconds, the unit people and scripts read build times in.
fn as_millis<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u128(duration.as_millis())
}
