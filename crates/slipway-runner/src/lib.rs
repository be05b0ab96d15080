//! Runs GitHub Actions workflows: planning from the repository's state, jobs on the host or in
//! containers, records in the store.
//!
//! - [`Project::open`] finds the repository; [`plan`] turns a [`RunRequest`] (the event, `-W`,
//!   `-j`, inputs, secrets, label mappings...) into a [`Plan`]: the workflows the event
//!   triggers, their jobs, where each runs; or every [`Problem`] that would stop them, each at
//!   its file, line and column, before anything starts.
//! - [`Plan::execute`] runs it with a [`Runtime`] (the store, an optional container engine, an
//!   [`Observer`] for progress, an [`Interrupt`] for Ctrl-C) and returns the recorded runs.
//!
//! Inside: the job graph and matrices are scheduled by `run`; a job instance runs in `job`,
//! on an executor (`executor::host` or `executor::container`, the only code that starts step
//! processes); `actions` and `builtins` handle `uses:`; `commands` and `envfile` read what steps
//! tell the runner; `mask` keeps secrets out of everything shown or stored.
//!
//! ```no_run
//! # async fn example(store: std::sync::Arc<dyn slipway_store::Store>) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use slipway_runner::{Interrupt, Project, Quiet, RunRequest, Runtime, plan};
//!
//! let project = Arc::new(Project::open(".".as_ref(), ".slipway".into(), Default::default())?);
//! let plan = plan(project, RunRequest { event: "push".into(), ..RunRequest::default() })?;
//! let runtime = Runtime { store, engine: None, observer: Arc::new(Quiet), interrupt: Interrupt::new() };
//! for run in plan.execute(runtime).await? {
//!     println!("{} #{}: {}", run.record.name, run.id, run.record.conclusion);
//! }
//! # Ok(())
//! # }
//! ```

mod actions;
mod artifacts;
mod builtins;
mod cache;
pub mod commands;
mod concurrency;
pub mod envfile;
mod error;
mod eval;
mod executor;
mod job;
mod labels;
mod mask;
mod observer;
mod plan;
mod process;
mod run;
mod shell;
mod trigger;
mod workdirs;

pub use error::{PlanError, Problem, RunError};
pub use mask::{MASK, Masker};
pub use observer::{Interrupt, Observer, Quiet, RunEvent};
pub use plan::{Plan, PlannedJob, PlannedWorkflow, Project, RunRequest, SkippedWorkflow, plan};
pub use run::Runtime;
