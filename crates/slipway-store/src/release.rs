//! Release records, the deploy state of each service, and deploy events; the trait that keeps them.
//!
//! A [`Release`] is one attempt to put a version of a service into an environment: what runs
//! (the [`Artifact`], the hash of the merged config and the runnable spec), who asked, when, why,
//! with which strategy, every step the controller took with its time, and how it ended. While a
//! deploy runs, its release is in progress and carries the controller's state (`phase`, a
//! document the deploy controller owns), saved with every step so a controller killed at any
//! moment can be resumed or undone by the next one. Once finished, a release never changes.
//!
//! A [`ServiceState`] says which release of a service serves in an environment, which previous
//! one is kept warm for a fast rollback and until when, and how many replicas are wanted. It is
//! written in the same transaction as the release step that changed it, so the record and the
//! state never disagree.
//!
//! A [`DeployEvent`] is something that happened to a service outside a release's own steps: a
//! rollback, a scale, an autoscaler decision with its reason, a stop.

use std::fmt;
use std::num::ParseIntError;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::StoreError;

/// Keeps releases, service states and deploy events.
pub trait ReleaseStore {
    /// Records a new release, in progress, with its first step; or returns the release of the
    /// same service and environment that is in progress already (at most one is).
    fn begin_release(&self, release: &NewRelease, first: &NewStep) -> Result<Begun, StoreError>;

    /// Saves the controller's new `phase` with the step that led there, and the service's state
    /// when the step changed it, in one transaction. Fails with [`StoreError::ReleaseFinished`]
    /// once the release has an outcome.
    fn advance_release(&self, id: ReleaseId, update: &ReleaseUpdate) -> Result<(), StoreError>;

    /// Gives an in-progress release to the controller with process id `controller` (`None`: to
    /// no one, as a paused canary waits), saying why in a step, if its controller is still
    /// `expected`. Returns `false`, writing nothing, when another took it first. A compare and
    /// swap, so two processes converging the same abandoned release cannot both drive it.
    fn claim_release(
        &self,
        id: ReleaseId,
        expected: Option<u32>,
        controller: Option<u32>,
        step: &NewStep,
    ) -> Result<bool, StoreError>;

    /// The release with this id, with its steps; `None` if there is none.
    fn release(&self, id: ReleaseId) -> Result<Option<Release>, StoreError>;

    /// Releases matching `query`, newest first, with their steps.
    fn releases(&self, query: &ReleaseQuery) -> Result<Vec<Release>, StoreError>;

    /// The deploy state of `service` in `environment`; `None` before its first release.
    fn service_state(
        &self,
        environment: &str,
        service: &str,
    ) -> Result<Option<ServiceState>, StoreError>;

    /// The deploy state of every service, or of every service of one environment, by environment
    /// then service.
    fn service_states(&self, environment: Option<&str>) -> Result<Vec<ServiceState>, StoreError>;

    /// Writes a service's state (outside a release: a rollback, a scale, a stop), with the event
    /// that explains it, in one transaction.
    fn save_service_state(
        &self,
        state: &ServiceState,
        event: &NewDeployEvent,
    ) -> Result<DeployEventId, StoreError>;

    /// Forgets a service's state (`slipway stop`), with the event that explains it.
    fn remove_service_state(
        &self,
        environment: &str,
        service: &str,
        event: &NewDeployEvent,
    ) -> Result<DeployEventId, StoreError>;

    /// Records an event that changes no state (an autoscaler deciding to wait, say).
    fn record_deploy_event(&self, event: &NewDeployEvent) -> Result<DeployEventId, StoreError>;

    /// Events matching `query`, newest first.
    fn deploy_events(&self, query: &DeployEventQuery) -> Result<Vec<DeployEvent>, StoreError>;
}

/// The identifier the store gives a release; shown to people as a plain number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReleaseId(i64);

impl ReleaseId {
    /// Wraps a raw id, such as one a person typed. It need not exist in the store.
    pub fn new(id: i64) -> ReleaseId {
        ReleaseId(id)
    }

    /// The raw id.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for ReleaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for ReleaseId {
    type Err = ParseIntError;

    fn from_str(s: &str) -> Result<ReleaseId, ParseIntError> {
        s.parse().map(ReleaseId)
    }
}

/// What a release runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Artifact {
    /// A container image.
    Image {
        /// The reference deployed (`hello:1.4.0`).
        reference: String,
        /// The image's content digest or id, so the release names exactly one image.
        digest: String,
    },
    /// A command the process runtime runs from a directory.
    Command {
        /// The command line.
        command: String,
        /// The directory it runs in.
        working_dir: String,
        /// A hash of that directory's files, so the release names exactly one version of them.
        hash: String,
    },
}

/// The source a release was made from: the commit, and the branch or tag it was on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Revision {
    /// The full commit id.
    pub commit: String,
    /// The branch or tag, when known (`main`, `v1.4.0`).
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    /// Whether the files held uncommitted changes: the commit alone does not describe them.
    pub dirty: bool,
}

impl Revision {
    /// The commit as replicas are told it (`SLIPWAY_COMMIT`) and people are shown it: the full
    /// id, with `-dirty` after it when there were uncommitted changes, as `git describe --dirty`
    /// marks them (and as dirty builds' tags are marked).
    pub fn described(&self) -> String {
        if self.dirty {
            format!("{}-dirty", self.commit)
        } else {
            self.commit.clone()
        }
    }
}

/// A release to record. Plain data: the store checks nothing beyond what it can represent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewRelease {
    /// The environment deployed to.
    pub environment: String,
    /// The service deployed.
    pub service: String,
    /// The runtime that runs its replicas (`process` or `container`).
    pub runtime: String,
    /// What runs.
    pub artifact: Artifact,
    /// The source it was made from; `None` when unknown (a project outside git, or a release
    /// recorded before Slipway kept revisions).
    pub revision: Option<Revision>,
    /// A hash of the service's merged config for this environment.
    pub config_hash: String,
    /// Everything needed to start this release's replicas again, as a JSON document the deploy
    /// controller writes and reads. Not serialized: it is the controller's, not a person's.
    #[serde(skip_serializing)]
    pub spec: String,
    /// The strategy (`blue-green`, `canary`, `rolling`).
    pub strategy: String,
    /// Who asked for it (a user name).
    pub created_by: String,
    /// Why, when they said.
    pub reason: Option<String>,
    /// When it was asked for.
    pub created_at: jiff::Timestamp,
    /// The earlier release whose artifact and config this one brings back (a rollback to a
    /// release whose replicas were no longer warm).
    pub restores: Option<ReleaseId>,
    /// The process id of the controller running the deploy.
    pub controller: Option<u32>,
    /// The controller's state, saved with every step. Not serialized, like `spec`.
    #[serde(skip_serializing)]
    pub phase: String,
}

/// How a release ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ReleaseOutcome {
    /// It serves (or served) all traffic.
    Succeeded,
    /// It never took traffic: a replica did not start or never became healthy. The previous
    /// release served throughout.
    Failed {
        /// One line saying why.
        reason: String,
    },
    /// It took traffic, then traffic went back to the previous release: failed analysis, a
    /// crashing replica, an abort, a controller that was killed before finishing.
    RolledBack {
        /// One line saying why.
        reason: String,
    },
}

/// Where a release stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseStatus {
    /// A controller works on it, or it waits for a promotion.
    InProgress,
    /// See [`ReleaseOutcome::Succeeded`].
    Succeeded,
    /// See [`ReleaseOutcome::Failed`].
    Failed,
    /// See [`ReleaseOutcome::RolledBack`].
    RolledBack,
}

impl ReleaseStatus {
    /// The status as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseStatus::InProgress => "in_progress",
            ReleaseStatus::Succeeded => "succeeded",
            ReleaseStatus::Failed => "failed",
            ReleaseStatus::RolledBack => "rolled_back",
        }
    }
}

impl ReleaseOutcome {
    /// The outcome without its details.
    pub fn status(&self) -> ReleaseStatus {
        match self {
            ReleaseOutcome::Succeeded => ReleaseStatus::Succeeded,
            ReleaseOutcome::Failed { .. } => ReleaseStatus::Failed,
            ReleaseOutcome::RolledBack { .. } => ReleaseStatus::RolledBack,
        }
    }
}

/// A step a controller took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewStep {
    /// When.
    pub at: jiff::Timestamp,
    /// A short name (`replicas_started`, `switched`, `analysis_failed`).
    pub name: String,
    /// What happened, for people.
    pub detail: String,
}

/// What [`ReleaseStore::advance_release`] writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseUpdate {
    /// The controller's new state.
    pub phase: String,
    /// The step that led there.
    pub step: NewStep,
    /// The service's new state, when the step changed it (a switch of traffic).
    pub service_state: Option<ServiceState>,
    /// The outcome, when the step finished the release (it finishes at the step's time).
    pub outcome: Option<ReleaseOutcome>,
}

/// A recorded release.
///
/// Serializes as one flat object, `id` first, for `slipway releases --json`; `phase` and
/// `spec` stay out of it, being the controller's own documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Release {
    /// The store's id for it.
    pub id: ReleaseId,
    /// What was recorded when it began.
    #[serde(flatten)]
    pub record: NewRelease,
    /// `None` while in progress.
    pub outcome: Option<ReleaseOutcome>,
    /// When it finished.
    pub finished_at: Option<jiff::Timestamp>,
    /// Every step, oldest first.
    pub steps: Vec<NewStep>,
}

impl Release {
    /// Where it stands.
    pub fn status(&self) -> ReleaseStatus {
        self.outcome
            .as_ref()
            .map_or(ReleaseStatus::InProgress, ReleaseOutcome::status)
    }
}

/// What [`ReleaseStore::begin_release`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begun {
    /// The release was recorded with this id.
    Started(ReleaseId),
    /// Another release of the service in the environment is in progress; nothing was written.
    Busy(Box<Release>),
}

/// Which releases [`ReleaseStore::releases`] returns. The default returns all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReleaseQuery {
    /// Only releases to this environment.
    pub environment: Option<String>,
    /// Only releases of this service.
    pub service: Option<String>,
    /// Only releases that stand so.
    pub status: Option<ReleaseStatus>,
    /// At most this many (the newest).
    pub limit: Option<u32>,
}

/// The deploy state of one service in one environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceState {
    /// The environment.
    pub environment: String,
    /// The service.
    pub service: String,
    /// The release serving its traffic.
    pub current: ReleaseId,
    /// The release before it, whose replicas stay warm for a rollback until `warm_until`.
    pub previous: Option<ReleaseId>,
    /// When the previous release's replicas are stopped.
    pub warm_until: Option<jiff::Timestamp>,
    /// How many replicas of the current release are wanted.
    pub replicas: u32,
    /// When this state was written.
    pub updated_at: jiff::Timestamp,
}

/// The identifier the store gives a deploy event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct DeployEventId(i64);

impl DeployEventId {
    /// The raw id.
    pub fn get(self) -> i64 {
        self.0
    }
}

/// Something that happened to a service outside a release's steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewDeployEvent {
    /// When.
    pub at: jiff::Timestamp,
    /// The environment.
    pub environment: String,
    /// The service.
    pub service: String,
    /// A short name (`rollback`, `scale`, `autoscale`, `stop`, `warm_expired`).
    pub kind: String,
    /// What happened and why, for people.
    pub message: String,
    /// Who caused it (a user, or `autoscaler`).
    pub actor: String,
}

/// A recorded deploy event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeployEvent {
    /// The store's id for it.
    pub id: DeployEventId,
    /// What was recorded.
    #[serde(flatten)]
    pub record: NewDeployEvent,
}

/// Which events [`ReleaseStore::deploy_events`] returns. The default returns all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeployEventQuery {
    /// Only events of this environment.
    pub environment: Option<String>,
    /// Only events of this service.
    pub service: Option<String>,
    /// Only events of this kind.
    pub kind: Option<String>,
    /// At most this many (the newest).
    pub limit: Option<u32>,
}

pub(crate) fn deploy_event_id(id: i64) -> DeployEventId {
    DeployEventId(id)
}
