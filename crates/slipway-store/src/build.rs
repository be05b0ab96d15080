//! Build records: what `slipway build` produced, or why it did not, and the trait that keeps them.
//!
//! [`NewBuild`] is what a caller records once the outcome is known; [`Build`] is the same data read
//! back with the [`BuildId`] the store gave it. Failed and cancelled builds are recorded too, with
//! their log, so `slipway builds` can show why a build broke.

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

    /// The build with this id, or `None` if there is none.
    fn build(&self, id: BuildId) -> Result<Option<Build>, StoreError>;

    /// Builds matching `query`, newest first (by start time, then by id).
    fn builds(&self, query: &BuildQuery) -> Result<Vec<Build>, StoreError>;
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewBuild {
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
    /// Everything the engine printed, kept for failed builds as much as for good ones.
    pub log: String,
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
pub struct Build {
    /// The store's id for this build.
    pub id: BuildId,
    /// What was recorded.
    #[serde(flatten)]
    pub record: NewBuild,
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
