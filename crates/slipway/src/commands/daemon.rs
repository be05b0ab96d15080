//! `slipway daemon run|status|stop`: the background process hosting the proxy, the process
//! supervisor, health checks and the autoscaler.

use std::process::ExitCode;
use std::sync::Arc;

use serde::Serialize;
use slipway_deploy::{DaemonClient, DaemonConfig, DaemonPaths, DeployError};

use super::proxy::stop_signal;
use crate::cli::{DaemonCommand, GlobalArgs};
use crate::output::{self, Status, print_json, print_line};
use crate::project;
use crate::report::Failure;

pub(crate) async fn run(
    global: &GlobalArgs,
    command: &DaemonCommand,
    status: Status,
) -> Result<ExitCode, Failure> {
    match command {
        DaemonCommand::Run { listen } => serve(global, *listen, status).await,
        DaemonCommand::Status { json } => show(global, *json).await,
        DaemonCommand::Stop { all } => {
            if *all {
                super::release_ops::stop_every_service(global, status).await?;
            }
            stop(global, *all, status).await
        }
    }
}

/// Runs the daemon in the foreground until Ctrl-C, SIGTERM or `slipway daemon stop`.
async fn serve(
    global: &GlobalArgs,
    listen: Option<std::net::SocketAddr>,
    status: Status,
) -> Result<ExitCode, Failure> {
    let (listen, listen_fallback) = match listen {
        Some(listen) => (listen, false),
        None => (default_listen()?, true),
    };
    let config = project::load_config(global)?;
    let root = project::config_root(&config)?;
    let state_dir = project::state_dir(global, &root);
    let store = project::open_store(global, &root)?;
    let daemon = DaemonConfig {
        state_dir: state_dir.clone(),
        project: config.project_name(),
        listen,
        listen_fallback,
        docker_host: std::env::var("DOCKER_HOST").ok(),
    };
    let fallback = if listen_fallback {
        " (a free port instead when that one is in use)"
    } else {
        ""
    };
    status.line(format!(
        "slipway daemon for {} in {}: proxy on http://{listen}{fallback}",
        daemon.project,
        state_dir.display()
    ));
    let stopped = async {
        if let Ok(signal) = stop_signal().await {
            tracing::info!("{signal}: the daemon stops");
        }
    };
    slipway_deploy::daemon::run(daemon, Arc::clone(&store), stopped)
        .await
        .map_err(|error| match error {
            DeployError::Runtime(slipway_runtime::RuntimeError::Locked { .. }) => {
                Failure::new("a slipway daemon already runs for this state directory")
                    .hint("`slipway daemon status` shows it; `slipway daemon stop` stops it")
            }
            error => error.into(),
        })?;
    status.line("the daemon stopped; its replicas keep running for the next one to adopt");
    Ok(ExitCode::SUCCESS)
}

/// The proxy's default address, [`slipway_deploy::daemon::DEFAULT_LISTEN`].
fn default_listen() -> Result<std::net::SocketAddr, Failure> {
    slipway_deploy::daemon::DEFAULT_LISTEN
        .parse()
        .map_err(|error| Failure::new(format!("the default proxy address is invalid: {error}")))
}

/// What `slipway daemon status --json` prints.
#[derive(Debug, Serialize)]
struct Shown {
    running: bool,
    #[serde(flatten)]
    status: Option<slipway_deploy::DaemonStatus>,
}

async fn show(global: &GlobalArgs, json: bool) -> Result<ExitCode, Failure> {
    let state_dir = state_dir(global)?;
    let client = match DaemonClient::connect(&state_dir).await {
        Ok(client) => Some(client),
        Err(DeployError::DaemonUnreachable { .. }) => None,
        Err(error) => return Err(error.into()),
    };
    if json {
        print_json(&Shown {
            running: client.is_some(),
            status: client.as_ref().map(|client| client.status().clone()),
        })?;
    } else if let Some(client) = &client {
        let status = client.status();
        print_line(&format!(
            "{} process {} (slipway {}) for {}, up since {} ({})",
            output::ok("running:"),
            status.pid,
            status.version,
            status.project,
            status.started_at,
            output::ago(status.started_at)
        ));
        print_line(&format!("proxy:   http://{}", status.proxy));
        if let Some(busy) = status.proxy_fallback_from {
            print_line(&output::dim(&format!("         ({busy} was in use)")));
        }
        if let Some(limits) = &status.process_limits {
            print_line(&format!("limits:  {limits}"));
        }
        print_line(&format!(
            "log:     {}",
            DaemonPaths::new(&status.state_dir).log().display()
        ));
    } else {
        print_line(&format!(
            "{} no daemon runs for {}",
            output::caution("stopped:"),
            state_dir.display()
        ));
    }
    Ok(if client.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Stops the daemon; `replicas_stopped` when `--all` stopped every replica first, so the
/// message does not promise replicas that are gone.
async fn stop(
    global: &GlobalArgs,
    replicas_stopped: bool,
    status: Status,
) -> Result<ExitCode, Failure> {
    let state_dir = state_dir(global)?;
    match DaemonClient::connect(&state_dir).await {
        Ok(client) => {
            client.shutdown().await?;
            let pid = client.status().pid;
            status.line(if replicas_stopped {
                format!("stopped the daemon (process {pid}) and every replica")
            } else {
                format!(
                    "stopped the daemon (process {pid}); replicas keep running until it starts again"
                )
            });
        }
        Err(DeployError::DaemonUnreachable { .. }) => status.line("no daemon runs"),
        Err(error) => return Err(error.into()),
    }
    Ok(ExitCode::SUCCESS)
}

/// The state directory of the project here.
fn state_dir(global: &GlobalArgs) -> Result<std::path::PathBuf, Failure> {
    let near = match project::load_config(global) {
        Ok(config) => project::config_root(&config)?,
        Err(_) => project::current_dir()?,
    };
    Ok(project::state_dir(global, &near))
}
