//! Releases, the deploy controller and its strategies, and the daemon that hosts the proxy,
//! supervision and autoscaling.
//!
//! - [`Controller`] carries a release of a service through its strategy (blue-green, canary,
//!   rolling: explicit state machines in [`strategy`]), saving the controller's state in the store
//!   at every step, and converges whatever a killed controller left. It also rolls back, promotes
//!   and aborts canaries, scales and stops services.
//! - [`Platform`] is what the controller drives: the runtimes and the proxy. [`LocalPlatform`]
//!   holds them in this process (the daemon, and tests); [`DaemonClient`] reaches the daemon's
//!   over its unix socket (the `slipway` command).
//! - [`ReleaseSpec`] is a release's runnable definition, kept with its record so any release can
//!   be started again.
//!
//! **Architecture Invariant:** the controller's state lives in the store, never only in memory;
//! the proxy knows nothing about releases (it is driven through [`traffic::TrafficEdit`]s); only
//! `slipway-runtime` starts service processes or containers.

pub mod analysis;
pub mod autoscale;
mod controller;
pub mod daemon;
mod error;
pub mod health;
pub mod names;
mod platform;
mod relay;
mod spec;
pub mod strategy;
pub mod traffic;

pub use controller::{
    Controller, DeployReport, DeployRequest, DeployResult, Progress, RollbackReport, ScaleReport,
};
pub use daemon::{DaemonClient, DaemonConfig, DaemonPaths, DaemonStatus};
pub use error::{DeployError, RemoteErrorKind};
pub use names::ServiceKey;
pub use platform::{LocalPlatform, Platform};
pub use spec::{HealthProbe, ReleaseSpec, config_hash, directory_hash};
