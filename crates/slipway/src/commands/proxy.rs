//! `slipway proxy`: runs the reverse proxy on its own, in the foreground, until Ctrl-C or
//! SIGTERM; then lets in-flight requests finish (up to the drain timeout) and exits.
//!
//! The routing table is restored from the state file, replaced by `--routes FILE` when given,
//! and changed at run time through the control API (`slipway_proxy::Client`).

use std::path::Path;
use std::process::ExitCode;

use slipway_proxy::{
    ApplyError, ControlEndpoint, ControlToken, EndpointError, Proxy, ProxyConfig, ProxyError,
    RoutingTable,
};

use crate::cli::{GlobalArgs, ProxyArgs};
use crate::output::Status;
use crate::project;
use crate::report::Failure;

pub(crate) async fn run(
    global: &GlobalArgs,
    args: &ProxyArgs,
    status: Status,
) -> Result<ExitCode, Failure> {
    let initial = args.routes.as_deref().map(read_routes).transpose()?;
    let config = config(global, args)?;
    let proxy = Proxy::start(config).await?;
    if let Some(table) = initial {
        proxy.apply(table).await?;
    }
    let routes = proxy.routes();
    status.line(format!(
        "proxy serving http://{} — routing table version {}: {} routes to {} backends",
        proxy.listen_addr(),
        routes.version,
        routes.table.routes().len(),
        routes.table.backends().len()
    ));
    status.line(format!("control API: {}", proxy.control_endpoint()));
    if let Some(addr) = proxy.metrics_addr() {
        status.line(format!("metrics: http://{addr}/metrics"));
    }
    let signal = stop_signal().await?;
    status.line(format!(
        "{signal}: stopping; in-flight requests get up to {}",
        humantime::format_duration(args.drain_timeout)
    ));
    proxy.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// The proxy's settings: the arguments, with the control socket and state file defaulting to
/// `proxy/` in the state directory.
fn config(global: &GlobalArgs, args: &ProxyArgs) -> Result<ProxyConfig, Failure> {
    let state_dir = project::state_dir(global, &project::current_dir()?);
    let own_dir = state_dir.join("proxy");
    if args.control.is_none() || args.state_file.is_none() {
        project::create_private_dir(&state_dir)?;
        project::create_private_dir(&own_dir)?;
        project::ignore_in_git(&state_dir);
    }
    let token = args
        .control_token
        .clone()
        .map(ControlToken::new)
        .transpose()?;
    let control = match &args.control {
        Some(text) => ControlEndpoint::parse(text, token)?,
        None => ControlEndpoint::unix(own_dir.join("control.sock")),
    };
    let mut config = ProxyConfig::new(args.listen, control);
    config.state_file = Some(
        args.state_file
            .clone()
            .unwrap_or_else(|| own_dir.join("routes.json")),
    );
    config.metrics_listen = args.metrics_listen;
    config.drain_timeout = args.drain_timeout;
    Ok(config)
}

fn read_routes(path: &Path) -> Result<RoutingTable, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| Failure::bad_input(format!("cannot read {}: {error}", path.display())))?;
    RoutingTable::from_json(&text).map_err(|error| {
        Failure::bad_input(format!("{}: {error}", path.display())).hint(
            "fix the table at that position; `GET /routes` on a running proxy shows a valid one",
        )
    })
}

/// Waits for Ctrl-C or SIGTERM; names the one that came. (`slipway daemon run` waits the same way.)
pub(super) async fn stop_signal() -> Result<&'static str, Failure> {
    use tokio::signal::unix::{SignalKind, signal};
    let cannot_listen =
        |error: std::io::Error| Failure::new(format!("cannot listen for signals: {error}"));
    let mut terminate = signal(SignalKind::terminate()).map_err(cannot_listen)?;
    tokio::select! {
        interrupted = tokio::signal::ctrl_c() => interrupted.map(|()| "interrupted").map_err(cannot_listen),
        _ = terminate.recv() => Ok("SIGTERM"),
    }
}

impl From<ProxyError> for Failure {
    fn from(error: ProxyError) -> Failure {
        let hint = match &error {
            ProxyError::Bind { .. } => {
                "another program listens there; choose another address or stop it"
            }
            ProxyError::ControlSocketInUse { .. } => {
                "another proxy (or the Slipway daemon) is running; stop it, or pass another --control"
            }
            ProxyError::ControlPathTaken { .. } => "move that file away, or pass another --control",
            ProxyError::Workers { .. } => {
                "the system refused a thread or a file descriptor: check `ulimit -u` and `ulimit -n`"
            }
            ProxyError::Endpoint(_) | ProxyError::InvalidSetting { .. } => "fix the argument",
            ProxyError::StateFile { .. } => {
                "fix or delete the state file (the proxy then starts with an empty table), or pass another --state-file"
            }
        };
        let bad_input = matches!(
            error,
            ProxyError::Endpoint(_) | ProxyError::InvalidSetting { .. }
        );
        let failure = if bad_input {
            Failure::bad_input(error.to_string())
        } else {
            Failure::new(error.to_string())
        };
        failure.hint(hint)
    }
}

impl From<EndpointError> for Failure {
    fn from(error: EndpointError) -> Failure {
        let hint = match &error {
            EndpointError::NotLoopback(_) => "use 127.0.0.1:PORT, or a unix socket path",
            EndpointError::MissingToken(_) => "set SLIPWAY_PROXY_TOKEN (at least 16 characters)",
            EndpointError::BadToken(_) => {
                "use at least 16 visible characters, such as `openssl rand -hex 16`"
            }
        };
        Failure::bad_input(error.to_string()).hint(hint)
    }
}

impl From<ApplyError> for Failure {
    fn from(error: ApplyError) -> Failure {
        let hint = match &error {
            ApplyError::Table(_) => "fix the routing table",
            ApplyError::StateFile { .. } => {
                "check the state file's directory: permissions and free space"
            }
            ApplyError::ShuttingDown => "start the proxy again",
        };
        Failure::new(error.to_string()).hint(hint)
    }
}
