//! What a run tells its caller as it goes ([`RunEvent`] through an [`Observer`]), and how the
//! caller stops it ([`Interrupt`]).
//!
//! Every text in an event is already masked. Events of one job arrive in order; jobs running at
//! once interleave.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use slipway_store::{Annotation, Conclusion};
use tokio_util::sync::CancellationToken;

/// Something that happened in a run.
#[derive(Debug, Clone)]
pub enum RunEvent {
    /// A workflow run started.
    RunStarted {
        /// The workflow's name.
        workflow: Arc<str>,
        /// Its run number.
        run_number: u64,
    },
    /// A job started (it has a place to run and its first step is next).
    JobStarted {
        /// The workflow's name.
        workflow: Arc<str>,
        /// The job's display name (`test (18)`).
        job: Arc<str>,
        /// Where it runs (`host` or an image).
        runs_on: Arc<str>,
    },
    /// A step started.
    StepStarted {
        /// The job's display name.
        job: Arc<str>,
        /// The step's name.
        step: Arc<str>,
    },
    /// A line of output: from a step, or from the job itself when `step` is `None`.
    Line {
        /// The job's display name.
        job: Arc<str>,
        /// The step, if the line is a step's.
        step: Option<Arc<str>>,
        /// The text, masked, without its line ending.
        text: String,
    },
    /// A step made an annotation.
    Annotation {
        /// The job's display name.
        job: Arc<str>,
        /// The annotation, masked.
        annotation: Annotation,
    },
    /// A step finished (or was skipped).
    StepFinished {
        /// The job's display name.
        job: Arc<str>,
        /// The step's name.
        step: Arc<str>,
        /// How it ended.
        conclusion: Conclusion,
        /// Its exit code, when a process ran.
        exit_code: Option<i32>,
        /// How long it took.
        duration: Duration,
    },
    /// A job finished (or was skipped or cancelled before it started).
    JobFinished {
        /// The workflow's name.
        workflow: Arc<str>,
        /// The job's display name.
        job: Arc<str>,
        /// How it ended.
        conclusion: Conclusion,
        /// How long it ran.
        duration: Duration,
    },
    /// A workflow run finished and was recorded.
    RunFinished {
        /// The workflow's name.
        workflow: Arc<str>,
        /// How it ended.
        conclusion: Conclusion,
        /// How long it took.
        duration: Duration,
    },
}

/// Receives a run's events. Called from the run's tasks: keep it quick.
pub trait Observer: Send + Sync {
    /// One event.
    fn event(&self, event: RunEvent);
}

/// An observer that drops every event.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Observer for Quiet {
    fn event(&self, _event: RunEvent) {}
}

/// How the caller stops a run: the first [`Interrupt::interrupt`] cancels it gracefully (running
/// steps are stopped, `always()` steps still run, containers are removed); the second forces it
/// (nothing more runs; clean-up still happens).
#[derive(Debug, Clone, Default)]
pub struct Interrupt {
    graceful: CancellationToken,
    forced: CancellationToken,
    count: Arc<AtomicU8>,
}

impl Interrupt {
    /// An interrupt not yet triggered.
    pub fn new() -> Interrupt {
        Interrupt::default()
    }

    /// Asks the run to stop: gracefully the first time, forcefully after.
    pub fn interrupt(&self) {
        if self.count.fetch_add(1, Ordering::SeqCst) == 0 {
            self.graceful.cancel();
        } else {
            self.graceful.cancel();
            self.forced.cancel();
        }
    }

    /// Whether the run was asked to stop.
    pub fn is_interrupted(&self) -> bool {
        self.graceful.is_cancelled()
    }

    pub(crate) fn graceful(&self) -> &CancellationToken {
        &self.graceful
    }

    pub(crate) fn forced(&self) -> &CancellationToken {
        &self.forced
    }
}
