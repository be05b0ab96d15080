//! The daemon: one background process per state directory hosting the long-lived parts of
//! deploys: the proxy, the process runtime's supervisor, the health checks (the proxy's), the
//! autoscaler, and the loop that lets warm releases go, converges releases whose controller
//! died, and stops replicas no release owns.
//!
//! `slipway deploy` starts it on demand (`slipway daemon run`, detached) and talks to it through
//! [`DaemonClient`] on its unix socket (see [`protocol`]). It outlives the command that started
//! it. When it restarts it restores routes from its routing-table file and supervision from the
//! process runtime's records (adopting the processes that still run), and its loop converges
//! the rest from the store.
//!
//! Files, under `STATE_DIR/daemon/`: `daemon.sock` (the control socket), `proxy.sock` (the
//! proxy's own control API), `routes.json` (the routing table), `daemon.log` (its output when
//! started detached). Process replicas live under `STATE_DIR/processes/`.

mod client;
pub mod protocol;
mod reconcile;
mod server;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use slipway_proxy::{ControlEndpoint, Proxy, ProxyConfig, ProxyError};
use slipway_runtime::ProcessRuntime;
use slipway_store::Store;

use crate::error::DeployError;
use crate::platform::LocalPlatform;

pub use client::DaemonClient;
pub use protocol::DaemonStatus;

/// Where the proxy listens unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7080";

/// How long the proxy lets requests on removed upstreams finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// How a daemon runs.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// The state directory it serves.
    pub state_dir: PathBuf,
    /// The project whose replicas it supervises.
    pub project: String,
    /// Where the proxy listens.
    pub listen: SocketAddr,
    /// Whether the proxy may listen on a free port of the same address when `listen` is in use:
    /// for the default address, which two projects on one machine both want. An address someone
    /// chose stays theirs, and a busy one is an error.
    pub listen_fallback: bool,
    /// `DOCKER_HOST`, for the container runtime.
    pub docker_host: Option<String>,
}

/// The daemon's files in a state directory.
#[derive(Debug, Clone)]
pub struct DaemonPaths {
    dir: PathBuf,
}

impl DaemonPaths {
    /// The daemon's files under `state_dir`.
    pub fn new(state_dir: &Path) -> DaemonPaths {
        DaemonPaths {
            dir: state_dir.join("daemon"),
        }
    }

    /// The daemon's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The control socket.
    pub fn socket(&self) -> PathBuf {
        self.dir.join("daemon.sock")
    }

    /// The proxy's own control socket.
    pub fn proxy_socket(&self) -> PathBuf {
        self.dir.join("proxy.sock")
    }

    /// The saved routing table.
    pub fn routes(&self) -> PathBuf {
        self.dir.join("routes.json")
    }

    /// The daemon's output, when started detached.
    pub fn log(&self) -> PathBuf {
        self.dir.join("daemon.log")
    }
}

/// Runs the daemon until `shutdown` resolves or a client asks it to stop.
///
/// Fails at once when another daemon serves `config.state_dir` ([`slipway_runtime::RuntimeError::Locked`])
/// or the proxy cannot listen (a port in use).
pub async fn run(
    config: DaemonConfig,
    store: Arc<dyn Store>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DeployError> {
    let paths = DaemonPaths::new(&config.state_dir);
    // Private like the rest of the state directory: it holds the daemon's sockets and log.
    slipway_store::private::create_dir(paths.dir()).map_err(|source| DeployError::Io {
        path: paths.dir().to_owned(),
        source,
    })?;
    // The runtime's lock makes this the only daemon of the state directory; after it, files a
    // dead daemon left behind can be cleared.
    let process = ProcessRuntime::open(&config.state_dir.join("processes")).await?;
    for stale in [paths.socket(), paths.proxy_socket()] {
        let _ = std::fs::remove_file(stale);
    }
    let (proxy, proxy_fallback_from) = start_proxy(&config, &paths).await?;
    let process_limits = process.limits().clone();
    let platform = Arc::new(LocalPlatform::new(
        process,
        proxy.clone(),
        config.docker_host.clone(),
    ));
    let status = DaemonStatus {
        pid: std::process::id(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        project: config.project.clone(),
        proxy: proxy.listen_addr(),
        proxy_fallback_from,
        process_limits: Some(process_limits),
        state_dir: config.state_dir.clone(),
        started_at: jiff::Timestamp::now(),
    };
    tracing::info!(proxy = %status.proxy, pid = status.pid, "the daemon serves");
    let reconciler = tokio::spawn(reconcile::run(
        store,
        platform.clone(),
        config.project.clone(),
    ));
    let served = server::serve(&paths.socket(), platform, status, shutdown).await;
    reconciler.abort();
    // Its platform (and the process runtime's lock) must be gone when this returns.
    let _ = reconciler.await;
    proxy.shutdown().await;
    let _ = std::fs::remove_file(paths.socket());
    served
}

/// Starts the proxy on `config.listen`; when that is in use and `config.listen_fallback` allows
/// it, on a free port of the same address instead, saying so. Returns the proxy and the address
/// it gave up.
async fn start_proxy(
    config: &DaemonConfig,
    paths: &DaemonPaths,
) -> Result<(Proxy, Option<SocketAddr>), DeployError> {
    let proxy_config = |listen: SocketAddr| {
        let mut proxy_config =
            ProxyConfig::new(listen, ControlEndpoint::unix(paths.proxy_socket()));
        proxy_config.state_file = Some(paths.routes());
        proxy_config.drain_timeout = DRAIN_TIMEOUT;
        proxy_config
    };
    let cannot_start = |error: ProxyError| DeployError::DaemonStart {
        message: format!("the proxy cannot start: {error}"),
    };
    match Proxy::start(proxy_config(config.listen)).await {
        Ok(proxy) => Ok((proxy, None)),
        Err(ProxyError::Bind { what, source, .. })
            if config.listen_fallback
                && what == "proxy"
                && source.kind() == std::io::ErrorKind::AddrInUse =>
        {
            let free = SocketAddr::new(config.listen.ip(), 0);
            let proxy = Proxy::start(proxy_config(free))
                .await
                .map_err(cannot_start)?;
            tracing::warn!(
                "{} is in use (another project's daemon?): the proxy serves on {} instead",
                config.listen,
                proxy.listen_addr()
            );
            Ok((proxy, Some(config.listen)))
        }
        Err(error) => Err(cannot_start(error)),
    }
}
