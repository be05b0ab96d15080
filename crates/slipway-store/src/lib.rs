//! The state store: builds, runs and releases in SQLite (WAL), behind a backend-neutral API.
//!
//! Callers see [`Store`], a trait made of one sub-trait per domain ([`BuildStore`] for builds,
//! [`RunStore`] for workflow runs), and plain record types such as [`NewBuild`] and [`Build`].
//! [`SqliteStore`] implements it over a SQLite file, `state.db`, in the state directory the
//! binary resolves (`.slipway/` at the repository root unless `SLIPWAY_HOME` or `--state-dir`
//! says otherwise). No `rusqlite` type crosses this API, so a Postgres backend can implement
//! [`Store`] later without touching a caller.
//!
//! # Guarantees
//!
//! - **Whole or absent.** Every record is written in one transaction: a process killed at any
//!   moment, even with SIGKILL, leaves each record either fully present or not there at all, and
//!   loses nothing that was committed.
//! - **Migrations on open.** [`SqliteStore::open`] brings an older database up to the schema this
//!   binary knows, one transaction per migration, and refuses a database written by a newer one.
//! - **Several writers.** A CLI and, later, a daemon may write at once; a writer waits for the
//!   other's transaction rather than failing with "database is locked".
//!
//! # Why the API is synchronous
//!
//! SQLite calls are short and local: a record is a handful of rows written to a file on this
//! machine. Making every method `async` would force an executor on callers that have none (the
//! CLI's simple commands) for no gain. A caller on a hot async path wraps a call in
//! `tokio::task::spawn_blocking`; [`Store`] is `Send + Sync`, so an `Arc<dyn Store>` moves there.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use slipway_store::{BuildOutcome, BuildQuery, BuildStore, GitSnapshot, NewBuild, SqliteStore};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let state_dir = tempfile::tempdir()?;
//! let store = SqliteStore::open(state_dir.path())?;
//! let id = store.record_build(&NewBuild {
//!     service: "api".to_owned(),
//!     image_id: None,
//!     digest: None,
//!     tags: vec![],
//!     size_bytes: None,
//!     layer_count: None,
//!     started_at: jiff::Timestamp::now(),
//!     duration: Duration::from_secs(3),
//!     git: GitSnapshot { commit: None, branch: None, dirty: true },
//!     outcome: BuildOutcome::Failed { reason: "RUN npm ci exited with 1".to_owned() },
//!     log: "npm ERR! missing lockfile\n".to_owned(),
//!     target: None,
//!     platform: None,
//!     dockerfile: "Dockerfile".to_owned(),
//!     context: ".".to_owned(),
//! })?;
//! let failed = store.builds(&BuildQuery { service: Some("api".to_owned()), ..BuildQuery::default() })?;
//! assert_eq!(failed[0].id, id);
//! # Ok(())
//! # }
//! ```
//!
//! # Adding a domain
//!
//! A new domain (runs, releases, events) is a module of record types and a sub-trait next to
//! `build.rs`, its SQLite implementation next to `sqlite/builds.rs`, one migration under
//! `src/sqlite/migrations/` with the seed its upgrade test needs, and one more supertrait on
//! [`Store`].

mod audit;
mod build;
mod delivery;
mod error;
pub mod private;
mod project;
mod queue;
mod registry_event;
mod release;
mod run;
mod scan;
mod sqlite;
mod token;

pub use audit::{AuditCheck, AuditEntry, AuditProblem, AuditStore, GENESIS_HASH, NewAuditEntry};
pub use build::{
    Build, BuildId, BuildOutcome, BuildQuery, BuildStatus, BuildStore, BuildSummary, GitSnapshot,
    LogField, LogOmitted, NewBuild,
};
pub use delivery::{
    Cursor, Delivery, DeliveryId, DeliveryOutcome, DeliveryStore, NewDelivery, Page, PageRequest,
    Recorded,
};
pub use error::StoreError;
pub use project::{Project, ProjectStore};
pub use queue::{
    ClaimLimits, OnRestart, QueueQuery, QueueStore, QueuedRun, QueuedRunId, RunStatus,
    StatusCounts, Trigger,
};
pub use registry_event::{
    NewRegistryEvent, RegistryEvent, RegistryEventId, RegistryEventKind, RegistryEventQuery,
    RegistryEventStore,
};
pub use release::{
    Artifact, Begun, DeployEvent, DeployEventId, DeployEventQuery, NewDeployEvent, NewRelease,
    NewStep, Release, ReleaseId, ReleaseOutcome, ReleaseQuery, ReleaseStatus, ReleaseStore,
    ReleaseUpdate, Revision, ServiceState,
};
pub use run::{
    Annotation, AnnotationLevel, Conclusion, JobCounts, JobRecord, NewRun, Run, RunId, RunQuery,
    RunStore, RunSummary, StepRecord,
};
pub use scan::{
    NewScan, Scan, ScanGate, ScanId, ScanQuery, ScanStore, ScanVerdict, SeverityCounts,
};
pub use sqlite::SqliteStore;
pub use token::{NewToken, Role, Token, TokenId, TokenStore, UnknownRole};

/// Everything Slipway keeps: one supertrait per domain.
///
/// Implemented for every type that implements all the domain traits, so a backend implements the
/// domains and gets `Store` for free. Hold it as `Arc<dyn Store>`.
pub trait Store:
    AuditStore
    + BuildStore
    + RunStore
    + RegistryEventStore
    + ReleaseStore
    + ScanStore
    + ProjectStore
    + TokenStore
    + QueueStore
    + DeliveryStore
    + Send
    + Sync
    + std::fmt::Debug
{
}

impl<
    T: AuditStore
        + BuildStore
        + RunStore
        + RegistryEventStore
        + ReleaseStore
        + ScanStore
        + ProjectStore
        + TokenStore
        + QueueStore
        + DeliveryStore
        + Send
        + Sync
        + std::fmt::Debug,
> Store for T
{
}
