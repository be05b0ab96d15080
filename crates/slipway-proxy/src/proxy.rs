//! [`Proxy`]: starting the proxy, swapping its routing table, reading its metrics and health,
//! stopping it.
//!
//! The current table lives behind a read-write lock holding an `Arc`. A request takes the read
//! lock only while it looks up its route, picks an upstream and counts itself in flight there;
//! an apply takes the write lock only to swap the `Arc`. So once an apply returns, every request
//! that chose an upstream under the old table is already counted in flight on it, and the drain
//! that watches removed upstreams cannot miss one.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::config::{ControlEndpoint, ProxyConfig};
use crate::control;
use crate::drain::{DrainLog, DrainReport, DrainWatch};
use crate::error::{ApplyError, ProxyError};
use crate::health::UpstreamHealth;
use crate::metrics::{self, BackendStats, MetricsSnapshot, PoolCounters};
use crate::registry::Registry;
use crate::router::{CompiledBackend, Router};
use crate::server;
use crate::state;
use crate::table::{PassiveEjection, RoutingTable, TableError, TableVersion, VersionedTable};
use crate::upstream::{InFlight, UpstreamSettings, UpstreamState};
use crate::worker;

/// The most client connections a proxy may be configured for.
const MAX_CONNECTIONS_LIMIT: usize = 1_000_000;
/// The most worker threads a proxy may be configured for.
const MAX_WORKERS: usize = 1024;

/// A running proxy. Clones share it; when the last clone drops, the proxy stops at once (call
/// [`Proxy::shutdown`] first to let requests finish).
#[derive(Clone)]
pub struct Proxy {
    shared: Arc<Shared>,
    _stop_when_dropped: Arc<DropGuard>,
}

/// The result of an apply: the new version, and the drain of the upstreams it removed.
#[derive(Debug, Clone)]
pub struct Applied {
    version: TableVersion,
    drain: DrainWatch,
}

impl Applied {
    /// The version of the table now serving.
    pub fn version(&self) -> TableVersion {
        self.version
    }

    /// Waits until the upstreams this apply removed have finished their requests (or the drain
    /// timeout passed). After it, the deploy controller may stop them.
    pub async fn drained(&self) -> DrainReport {
        self.drain.report().await
    }
}

impl Proxy {
    /// Binds the listeners, restores the saved routing table (when `state_file` holds one) and
    /// starts serving. Errors name the address or file that failed.
    pub async fn start(config: ProxyConfig) -> Result<Proxy, ProxyError> {
        check_settings(&config)?;
        let saved = match &config.state_file {
            Some(path) => state::load(path).await?,
            None => None,
        };
        let listener = bind("proxy", config.listen).await?;
        let metrics_listener = match config.metrics_listen {
            Some(addr) => Some(bind("metrics listener", addr).await?),
            None => None,
        };
        let (control_listener, control) = control::bind(&config.control).await?;
        let closing = CancellationToken::new();
        let max_connections = u32::try_from(config.max_connections).unwrap_or(u32::MAX);
        let shared = Arc::new(Shared {
            current: RwLock::new(Arc::new(Active {
                version: TableVersion::INITIAL,
                table: RoutingTable::empty(),
                router: Router::default(),
            })),
            changes: tokio::sync::Mutex::new(Registry::default()),
            drains: DrainLog::default(),
            unmatched: AtomicU64::new(0),
            settings: Settings {
                upstreams: UpstreamSettings {
                    connect_timeout: config.connect_timeout,
                    idle_timeout: config.upstream_idle_timeout,
                    workers: config.workers,
                },
                response_timeout: config.response_timeout,
                drain_timeout: config.drain_timeout,
                state_file: config.state_file.clone(),
                max_connections,
            },
            stopping: closing.child_token(),
            closing: closing.clone(),
            connections: Arc::new(Semaphore::new(config.max_connections)),
            listen_addr: local_addr("proxy", &listener, config.listen)?,
            metrics_addr: match &metrics_listener {
                Some(listener) => Some(local_addr("metrics listener", listener, config.listen)?),
                None => None,
            },
            control,
            servers: Mutex::new(Vec::new()),
            workers: Mutex::new(Vec::new()),
        });
        // From here on, an early return stops whatever was started.
        let stop_when_dropped = Arc::new(closing.drop_guard());
        if let Some(saved) = saved {
            let mut registry = shared.changes.lock().await;
            let restored = shared.install(&mut registry, saved.table, saved.version);
            tracing::info!(version = %restored.version, "restored the saved routing table");
        }
        let (queues, workers) =
            worker::start(config.workers, Arc::new(server::client_builder()), &shared)
                .map_err(|source| ProxyError::Workers { source })?;
        *shared
            .workers
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = workers;
        let mut servers = vec![
            server::spawn_acceptor(listener, queues, Arc::clone(&shared)),
            control::spawn(control_listener, Arc::clone(&shared)),
        ];
        if let Some(listener) = metrics_listener {
            servers.push(server::spawn_metrics(listener, Arc::clone(&shared)));
        }
        *shared
            .servers
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = servers;
        tracing::info!(listen = %shared.listen_addr, control = %shared.control, "proxy started");
        Ok(Proxy {
            shared,
            _stop_when_dropped: stop_when_dropped,
        })
    }

    /// Where the proxy serves (with the real port when port 0 was asked for).
    pub fn listen_addr(&self) -> SocketAddr {
        self.shared.listen_addr
    }

    /// Where the metrics listener serves, if one was asked for.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.shared.metrics_addr
    }

    /// Where the control API answers (with the real port when port 0 was asked for): give it to
    /// a [`crate::Client`].
    pub fn control_endpoint(&self) -> &ControlEndpoint {
        &self.shared.control
    }

    /// The table being served and its version.
    pub fn routes(&self) -> VersionedTable {
        let active = self.shared.current();
        VersionedTable {
            version: active.version,
            table: active.table.clone(),
        }
    }

    /// Swaps in `table` atomically: requests that already chose an upstream finish there, every
    /// later one routes by `table`. Upstreams, pools and health checks that are in both tables
    /// keep their state. With a state file, the table replaces the file's first (and is not
    /// applied if it cannot), so it survives the proxy being killed; the file is flushed to disk
    /// in the background right after, so the disk's latency never delays a switch.
    pub async fn apply(&self, table: RoutingTable) -> Result<Applied, ApplyError> {
        self.shared.apply(table).await
    }

    /// Applies `change(current table)`, with no other apply in between: read-modify-write
    /// without lost updates, for controllers that change one backend at a time.
    pub async fn update<F>(&self, change: F) -> Result<Applied, ApplyError>
    where
        F: FnOnce(&RoutingTable) -> Result<RoutingTable, TableError>,
    {
        self.shared.update(change).await
    }

    /// Every pool's figures now; subtract an earlier snapshot with [`MetricsSnapshot::since`].
    pub fn metrics(&self) -> MetricsSnapshot {
        self.shared.metrics()
    }

    /// The health of every upstream in the current table.
    pub fn upstream_health(&self) -> Vec<UpstreamHealth> {
        self.shared.upstream_health()
    }

    /// Stops gracefully: stops accepting, lets in-flight requests and upgraded connections finish
    /// for up to the drain timeout, then closes what is left, stops health checks and removes
    /// the control socket.
    pub async fn shutdown(&self) {
        let shared = &self.shared;
        shared.stopping.cancel();
        let every_slot = shared
            .connections
            .acquire_many(shared.settings.max_connections);
        if tokio::time::timeout(shared.settings.drain_timeout, every_slot)
            .await
            .is_err()
        {
            tracing::warn!("drain timeout: closing the connections still open");
        }
        shared.closing.cancel();
        shared.changes.lock().await.stop_checks();
        let servers = std::mem::take(
            &mut *shared
                .servers
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for server in servers {
            if let Err(error) = server.await {
                tracing::debug!(%error, "a listener task ended abnormally");
            }
        }
        let workers = std::mem::take(
            &mut *shared
                .workers
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        // Workers return as soon as `closing` is cancelled; joining them only waits for that.
        let joined = tokio::task::spawn_blocking(move || {
            workers.into_iter().all(|worker| worker.join().is_ok())
        });
        if !joined.await.unwrap_or(false) {
            tracing::warn!("a worker thread panicked");
        }
        tracing::info!("proxy stopped");
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("listen", &self.shared.listen_addr)
            .field("control", &self.shared.control)
            .field("version", &self.shared.current().version)
            .finish_non_exhaustive()
    }
}

fn check_settings(config: &ProxyConfig) -> Result<(), ProxyError> {
    let invalid = |setting, problem: &str| {
        Err(ProxyError::InvalidSetting {
            setting,
            problem: problem.to_owned(),
        })
    };
    if config.max_connections == 0 || config.max_connections > MAX_CONNECTIONS_LIMIT {
        return invalid("max_connections", "must be between 1 and 1000000");
    }
    if config.workers == 0 || config.workers > MAX_WORKERS {
        return invalid("workers", "must be between 1 and 1024");
    }
    for (setting, value) in [
        ("drain_timeout", config.drain_timeout),
        ("connect_timeout", config.connect_timeout),
        ("response_timeout", config.response_timeout),
        ("upstream_idle_timeout", config.upstream_idle_timeout),
    ] {
        if value.is_zero() {
            return invalid(setting, "must be more than zero");
        }
    }
    if let ControlEndpoint::Loopback { addr, .. } = &config.control
        && !addr.ip().is_loopback()
    {
        return Err(crate::config::EndpointError::NotLoopback(*addr).into());
    }
    Ok(())
}

async fn bind(what: &'static str, addr: SocketAddr) -> Result<TcpListener, ProxyError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ProxyError::Bind {
            what,
            addr: addr.to_string(),
            source,
        })
}

fn local_addr(
    what: &'static str,
    listener: &TcpListener,
    asked: SocketAddr,
) -> Result<SocketAddr, ProxyError> {
    listener.local_addr().map_err(|source| ProxyError::Bind {
        what,
        addr: asked.to_string(),
        source,
    })
}

/// Settings fixed at start.
#[derive(Debug)]
struct Settings {
    upstreams: UpstreamSettings,
    response_timeout: Duration,
    drain_timeout: Duration,
    state_file: Option<PathBuf>,
    max_connections: u32,
}

/// The table being served.
#[derive(Debug)]
struct Active {
    version: TableVersion,
    table: RoutingTable,
    router: Router,
}

/// Where a request goes.
#[derive(Debug)]
pub(crate) enum Routed {
    /// No route matches.
    NoRoute,
    /// The route's backend has no available upstream.
    Unavailable(Arc<CompiledBackend>),
    /// An upstream was chosen, and the request counts in flight there.
    To(Chosen),
}

impl Routed {
    pub(crate) fn into_chosen(self) -> Option<Chosen> {
        match self {
            Routed::To(chosen) => Some(chosen),
            Routed::NoRoute | Routed::Unavailable(_) => None,
        }
    }
}

/// The upstream a request goes to, with what its outcome is recorded against.
#[derive(Debug)]
pub(crate) struct Chosen {
    /// The backend's ejection settings, as the request found them.
    pub(crate) ejection: PassiveEjection,
    pub(crate) pool: Arc<PoolCounters>,
    pub(crate) in_flight: InFlight,
}

/// What the proxy's tasks share.
#[derive(Debug)]
pub(crate) struct Shared {
    current: RwLock<Arc<Active>>,
    /// Held through an apply, so applies happen one at a time and in version order.
    changes: tokio::sync::Mutex<Registry>,
    drains: DrainLog,
    unmatched: AtomicU64,
    settings: Settings,
    /// Cancelled to stop accepting and close connections gracefully.
    stopping: CancellationToken,
    /// Cancelled to close everything now.
    closing: CancellationToken,
    /// One permit per client connection being served.
    connections: Arc<Semaphore>,
    listen_addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    control: ControlEndpoint,
    servers: Mutex<Vec<JoinHandle<()>>>,
    workers: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl Shared {
    fn current(&self) -> Arc<Active> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Looks up `host` and `path` and picks an upstream, avoiding `avoid`. The read lock is held
    /// until the request counts in flight (see the module docs).
    pub(crate) fn route(&self, host: &str, path: &str, avoid: Option<&UpstreamState>) -> Routed {
        let active = self.current.read().unwrap_or_else(PoisonError::into_inner);
        let Some(backend) = active.router.lookup(host, path) else {
            return Routed::NoRoute;
        };
        match backend.pick(avoid) {
            Some((pool, upstream)) => Routed::To(Chosen {
                ejection: backend.ejection,
                pool: Arc::clone(&pool.counters),
                in_flight: upstream.begin(),
            }),
            None => Routed::Unavailable(Arc::clone(backend)),
        }
    }

    pub(crate) fn record_unmatched(&self) {
        self.unmatched.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn response_timeout(&self) -> Duration {
        self.settings.response_timeout
    }

    pub(crate) fn stopping(&self) -> CancellationToken {
        self.stopping.clone()
    }

    pub(crate) fn closing(&self) -> CancellationToken {
        self.closing.clone()
    }

    pub(crate) fn signals(&self) -> server::Signals {
        server::Signals {
            stopping: self.stopping.clone(),
            closing: self.closing.clone(),
        }
    }

    pub(crate) fn connection_slots(&self) -> Arc<Semaphore> {
        Arc::clone(&self.connections)
    }

    pub(crate) fn versioned_table(&self) -> VersionedTable {
        let active = self.current();
        VersionedTable {
            version: active.version,
            table: active.table.clone(),
        }
    }

    pub(crate) fn drain(&self, version: TableVersion) -> Option<DrainWatch> {
        self.drains.find(version)
    }

    pub(crate) async fn apply(&self, table: RoutingTable) -> Result<Applied, ApplyError> {
        let mut registry = self.changes.lock().await;
        self.apply_locked(&mut registry, table).await
    }

    async fn update<F>(&self, change: F) -> Result<Applied, ApplyError>
    where
        F: FnOnce(&RoutingTable) -> Result<RoutingTable, TableError>,
    {
        let mut registry = self.changes.lock().await;
        let table = change(&self.current().table)?;
        self.apply_locked(&mut registry, table).await
    }

    async fn apply_locked(
        &self,
        registry: &mut Registry,
        table: RoutingTable,
    ) -> Result<Applied, ApplyError> {
        if self.stopping.is_cancelled() {
            return Err(ApplyError::ShuttingDown);
        }
        let version = self.current().version.next();
        if let Some(path) = &self.settings.state_file {
            let saved = VersionedTable {
                version,
                table: table.clone(),
            };
            state::save(path.clone(), &saved)
                .await
                .map_err(|source| ApplyError::StateFile {
                    path: path.clone(),
                    source,
                })?;
        }
        let applied = self.install(registry, table, version);
        tracing::info!(%version, "routing table applied");
        Ok(applied)
    }

    fn install(
        &self,
        registry: &mut Registry,
        table: RoutingTable,
        version: TableVersion,
    ) -> Applied {
        let (router, retired) = registry.rebuild(&table, self.settings.upstreams);
        let active = Arc::new(Active {
            version,
            table,
            router,
        });
        let previous = std::mem::replace(
            &mut *self.current.write().unwrap_or_else(PoisonError::into_inner),
            active,
        );
        // Dropped outside the lock: the old router may hold the last references to upstreams.
        drop(previous);
        Applied {
            version,
            drain: self
                .drains
                .start(version, retired, self.settings.drain_timeout),
        }
    }

    pub(crate) fn metrics(&self) -> MetricsSnapshot {
        let active = self.current();
        let backends = active
            .router
            .backends()
            .iter()
            .map(|backend| {
                let pools = backend
                    .pools
                    .iter()
                    .map(|pool| (pool.id.clone(), pool.counters.snapshot()))
                    .collect();
                (
                    backend.id.clone(),
                    BackendStats {
                        unavailable: backend.counters.unavailable(),
                        pools,
                    },
                )
            })
            .collect();
        MetricsSnapshot {
            version: active.version,
            unmatched: self.unmatched.load(Ordering::Relaxed),
            backends,
        }
    }

    pub(crate) fn upstream_health(&self) -> Vec<UpstreamHealth> {
        let active = self.current();
        active
            .router
            .backends()
            .iter()
            .flat_map(|backend| backend.pools.iter())
            .flat_map(|pool| pool.upstreams.iter())
            .map(|upstream| UpstreamHealth::of(upstream))
            .collect()
    }

    pub(crate) fn prometheus_text(&self) -> String {
        metrics::render_prometheus(&self.metrics(), &self.upstream_health())
    }
}
