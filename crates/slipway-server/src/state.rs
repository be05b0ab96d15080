//! What every handler and worker shares: the store, the data directory's layout, the live logs,
//! the runs in progress with their interrupts, and the metrics.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use slipway_runner::Interrupt;
use slipway_store::{QueuedRunId, Store, StoreError, Trigger};
use tokio::sync::Notify;

use crate::error::ApiError;
use crate::live::LiveLogs;
use crate::metrics::Metrics;

/// Where the server keeps its state, under `--data`.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// The layout under `root`.
    pub fn new(root: PathBuf) -> DataDir {
        DataDir { root }
    }

    /// The directory holding `state.db`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A bare mirror per project.
    pub fn mirror(&self, project: &str) -> PathBuf {
        self.root.join("mirrors").join(format!("{project}.git"))
    }

    /// The checkout of one run.
    pub fn workspace(&self, run: QueuedRunId) -> PathBuf {
        self.root.join("workspaces").join(run.to_string())
    }

    /// The event payload given to the runner for one run.
    pub fn event_file(&self, run: QueuedRunId) -> PathBuf {
        self.root
            .join("workspaces")
            .join(format!("{run}.event.json"))
    }

    /// The runner's state (job worktrees, caches, artifacts) of one project.
    pub fn runner_state(&self, project: &str) -> PathBuf {
        self.root.join("runner").join(project)
    }

    /// The directories made on start.
    pub(crate) fn directories(&self) -> [PathBuf; 4] {
        ["mirrors", "workspaces", "runner", "logs"].map(|name| self.root.join(name))
    }
}

/// The shared state.
pub(crate) struct AppState {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) data: DataDir,
    pub(crate) live: LiveLogs,
    pub(crate) metrics: Metrics,
    pub(crate) deliveries: crate::hooks::DeliveryCounts,
    /// Woken whenever a run is queued or a worker slot frees up.
    pub(crate) wake: Notify,
    /// The interrupt of each run a worker runs.
    running: Mutex<HashMap<QueuedRunId, Interrupt>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("data", &self.data)
            .finish_non_exhaustive()
    }
}

impl AppState {
    pub(crate) fn new(store: Arc<dyn Store>, data: DataDir) -> AppState {
        AppState {
            store,
            data,
            live: LiveLogs::default(),
            metrics: Metrics::default(),
            deliveries: crate::hooks::DeliveryCounts::default(),
            wake: Notify::new(),
            running: Mutex::new(HashMap::new()),
        }
    }

    /// Runs a store call on a blocking thread: SQLite calls are synchronous.
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || work(store.as_ref()))
            .await
            .map_err(|error| ApiError::internal(format!("a store call panicked: {error}")))?
            .map_err(ApiError::from)
    }

    /// Queues a run of `trigger` and wakes a worker: the one entry point of every trigger
    /// (dispatch, rerun, and the webhook, poll and schedule triggers that feed it).
    pub(crate) async fn enqueue(&self, trigger: Trigger) -> Result<QueuedRunId, ApiError> {
        let id = self
            .blocking(move |store| store.enqueue_run(&trigger, jiff::Timestamp::now()))
            .await?;
        self.wake.notify_waiters();
        Ok(id)
    }

    pub(crate) fn started(&self, id: QueuedRunId, interrupt: Interrupt) {
        self.lock_running().insert(id, interrupt);
    }

    pub(crate) fn finished(&self, id: QueuedRunId) {
        self.lock_running().remove(&id);
    }

    /// Interrupts the run `id` as Ctrl-C does; `false` when no worker here runs it.
    pub(crate) fn interrupt(&self, id: QueuedRunId) -> bool {
        match self.lock_running().get(&id) {
            Some(interrupt) => {
                interrupt.interrupt();
                true
            }
            None => false,
        }
    }

    /// Interrupts every run in progress.
    pub(crate) fn interrupt_all(&self) {
        for interrupt in self.lock_running().values() {
            interrupt.interrupt();
        }
    }

    fn lock_running(&self) -> std::sync::MutexGuard<'_, HashMap<QueuedRunId, Interrupt>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
