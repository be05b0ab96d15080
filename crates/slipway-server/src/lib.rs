//! `slipway serve`: the control plane. One process with the HTTP API, tokens and roles, a
//! durable run queue, and workers that run queued runs with the same runner as `slipway run`.
//!
//! - [`Server::open`] prepares the data directory (`state.db`, `mirrors/`, `workspaces/`,
//!   `runner/`, `logs/`), opens the store and settles the runs a dead server left in progress
//!   ([`OnRestart`]).
//! - [`Server::serve`] answers HTTP on a listener the caller bound (so tests bind port 0 and
//!   read the address) and runs the workers until the shutdown future completes; then it takes
//!   no more work, lets running runs finish for the grace period, interrupts what is left as
//!   Ctrl-C does, and returns once every run has stopped.
//! - [`routes::ROUTES`] is the route table; every route declares the [`routes::Access`] it needs.
//! - Every trigger becomes a [`slipway_store::Trigger`] queued through one entry point,
//!   `AppState::enqueue` in `state.rs`: the API's dispatch and rerun call it, and so will the
//!   webhook, poll and schedule triggers.
//!
//! **Architecture invariant:** the HTTP layer touches the store only through the `Store`
//! traits, never SQL, and this crate never depends on the binary crate.

mod api;
mod audit;
mod auth;
mod error;
mod hooks;
mod live;
mod metrics;
pub mod projects;
pub mod routes;
pub mod spool;
mod state;
mod worker;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use slipway_store::{ClaimLimits, OnRestart, QueuedRunId, SqliteStore, Store};

pub use audit::record_local;
pub use auth::{CreatedToken, TOKEN_PREFIX, create_token};
pub use error::ServerError;
pub use state::DataDir;

use crate::state::AppState;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The data directory.
    pub data: PathBuf,
    /// Runs in progress at once across projects.
    pub workers: u32,
    /// Runs in progress at once of one project.
    pub per_project: u32,
    /// How long running runs may go on after a shutdown is asked before they are interrupted.
    pub grace: Duration,
    /// What happens to runs a dead server left in progress.
    pub on_restart: OnRestart,
}

impl ServerConfig {
    /// The defaults for `data`: one worker per core, two runs per project, 30 s of grace,
    /// interrupted runs queued again.
    pub fn new(data: PathBuf) -> ServerConfig {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        ServerConfig {
            data,
            workers: u32::try_from(cores).unwrap_or(u32::MAX),
            per_project: 2,
            grace: Duration::from_secs(30),
            on_restart: OnRestart::Requeue,
        }
    }
}

/// A server ready to serve.
#[derive(Debug)]
pub struct Server {
    state: Arc<AppState>,
    limits: ClaimLimits,
    grace: Duration,
    recovered: Vec<QueuedRunId>,
}

impl Server {
    /// Prepares the data directory, opens the store, and settles interrupted runs.
    pub fn open(config: &ServerConfig) -> Result<Server, ServerError> {
        // Absolute, since git and the runner resolve paths from other directories.
        let root = std::path::absolute(&config.data).map_err(|source| ServerError::DataDir {
            path: config.data.clone(),
            source,
        })?;
        let data = DataDir::new(root);
        let store = open_store(data.root())?;
        for dir in data.directories() {
            create_private_dir(&dir)?;
        }
        remove_stale_workspaces(&data);
        let recovered = store.recover_interrupted(config.on_restart, jiff::Timestamp::now())?;
        Ok(Server {
            state: Arc::new(AppState::new(store, data)),
            limits: ClaimLimits {
                global: config.workers.max(1),
                per_project: config.per_project.max(1),
            },
            grace: config.grace,
            recovered,
        })
    }

    /// The runs found in progress on start, now queued again or failed.
    pub fn recovered(&self) -> &[QueuedRunId] {
        &self.recovered
    }

    /// The store, for commands that work on the data directory directly.
    pub fn store(&self) -> Arc<dyn Store> {
        self.state.store.clone()
    }

    /// Serves HTTP on `listener` and runs queued runs until `shutdown` completes, then stops
    /// as the module documentation says.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        // Pushes spooled while no server ran are queued first.
        let spool = spool::start(self.state.clone()).await?;
        let (accepting, accepting_rx) = tokio::sync::watch::channel(true);
        let mut workers = tokio::spawn(worker::run_queue(
            self.state.clone(),
            self.limits,
            accepting_rx,
        ));
        let (stop_http, http_stopped) = tokio::sync::oneshot::channel::<()>();
        let router = routes::router(self.state.clone());
        let mut http = tokio::spawn(async move {
            // The peer address is what the audit trail records as where a request came from.
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = http_stopped.await;
            })
            .await
        });
        tokio::select! {
            () = shutdown => {}
            served = &mut http => return served.map_err(|error| ServerError::Serve(std::io::Error::other(error)))?.map_err(ServerError::Serve),
        }
        tracing::info!("shutting down: no new runs start");
        let _ = accepting.send(false);
        self.state.wake.notify_waiters();
        if tokio::time::timeout(self.grace, &mut workers)
            .await
            .is_err()
        {
            tracing::warn!(grace = ?self.grace, "runs still going after the grace period: interrupting them");
            self.state.interrupt_all();
            let _ = workers.await;
        }
        spool.abort();
        let _ = std::fs::remove_file(spool::poke_socket(self.state.data.root()));
        let _ = stop_http.send(());
        // Followers of runs that never started keep their streams open; they are cut here.
        if tokio::time::timeout(HTTP_DRAIN, &mut http).await.is_err() {
            http.abort();
        }
        Ok(())
    }
}

/// The store of the data directory `data`, creating the directory (readable by this account
/// only) if needed: what `slipway tokens` and `slipway projects` work on without a server.
pub fn open_store(data: &std::path::Path) -> Result<Arc<dyn Store>, ServerError> {
    create_private_dir(data)?;
    Ok(Arc::new(SqliteStore::open(data)?))
}

/// Removes the checkouts a killed server left: no run is in progress when a server starts, and
/// each mirror forgets the worktrees whose directory is gone the next time one is removed.
fn remove_stale_workspaces(data: &DataDir) {
    let Ok(entries) = std::fs::read_dir(data.root().join("workspaces")) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        if let Err(error) = removed {
            tracing::warn!(path = %path.display(), %error, "cannot remove a stale workspace");
        }
    }
}

/// How long open HTTP connections get to finish once every run has stopped.
const HTTP_DRAIN: Duration = Duration::from_secs(5);

/// Creates `dir` readable by this account only.
pub(crate) fn create_private_dir(dir: &std::path::Path) -> Result<(), ServerError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| ServerError::DataDir {
            path: dir.to_owned(),
            source,
        })
}
