//! `slipway rollback`, `promote`, `abort`, `scale` and `stop`: what is done to a deployed service
//! after its deploy. Each starts the daemon when none runs: a daemon that stopped (or crashed)
//! restores its routes and adopts the replicas still running, so these still work on them.

use std::process::ExitCode;
use std::sync::Arc;

use slipway_deploy::Platform;
use slipway_store::ReleaseId;

use super::deploy::{Target, controller, daemon, finish, service_url};
use crate::cli::{GlobalArgs, RollbackArgs, ScaleArgs, ServiceArgs, StopArgs};
use crate::output::{self, Status, print_json, print_line};
use crate::report::Failure;

pub(crate) async fn rollback(
    global: &GlobalArgs,
    args: &RollbackArgs,
    status: Status,
) -> Result<ExitCode, Failure> {
    let target = Target::resolve(global, &args.environment, args.service.as_deref())?;
    let client = daemon(&target, status).await?;
    let proxy = client.proxy_address();
    let controller = controller(&target, Arc::new(client), status)?;
    let report = controller
        .rollback(
            &target.key,
            args.to.map(ReleaseId::new),
            args.reason.clone(),
        )
        .await?;
    if args.json {
        print_json(&report)?;
    } else if report.warm {
        print_line(&format!(
            "{} {} in {}: traffic moved from release {} to release {} in {}ms ({})",
            output::ok("✓"),
            target.key.service,
            target.key.environment,
            report.from,
            report.to,
            report.took_ms,
            service_url(&target.key, proxy)
        ));
    }
    match &report.deploy {
        // A cold rollback is a deploy: it can fail, and says so.
        Some(deploy) if !report.warm => finish(&target, deploy, proxy, args.json),
        _ => Ok(ExitCode::SUCCESS),
    }
}

pub(crate) async fn promote(
    global: &GlobalArgs,
    args: &ServiceArgs,
    status: Status,
) -> Result<ExitCode, Failure> {
    let target = Target::resolve(global, &args.environment, args.service.as_deref())?;
    let client = daemon(&target, status).await?;
    let proxy = client.proxy_address();
    let report = controller(&target, Arc::new(client), status)?
        .promote(&target.key)
        .await?;
    if args.json {
        print_json(&report)?;
    }
    finish(&target, &report, proxy, args.json)
}

pub(crate) async fn abort(
    global: &GlobalArgs,
    args: &ServiceArgs,
    status: Status,
) -> Result<ExitCode, Failure> {
    let target = Target::resolve(global, &args.environment, args.service.as_deref())?;
    let client = daemon(&target, status).await?;
    let report = controller(&target, Arc::new(client), status)?
        .abort(&target.key)
        .await?;
    if args.json {
        print_json(&report)?;
    } else {
        print_line(&format!(
            "{} release {} of {} aborted; the stable release has all the traffic",
            output::ok("✓"),
            report.release,
            target.key.service
        ));
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn scale(
    global: &GlobalArgs,
    args: &ScaleArgs,
    status: Status,
) -> Result<ExitCode, Failure> {
    let target = Target::resolve(global, &args.environment, Some(&args.service))?;
    let client = daemon(&target, status).await?;
    let why = format!(
        "asked with `slipway scale` by {}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".to_owned())
    );
    let report = controller(&target, Arc::new(client), status)?
        .scale(&target.key, args.replicas, &why)
        .await?;
    if args.json {
        print_json(&report)?;
    } else {
        print_line(&format!(
            "{} release {} of {}: {} → {} replicas",
            output::ok("✓"),
            report.release,
            target.key.service,
            report.from,
            report.to
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// Stops every deployed service of the project, in every environment (`slipway daemon stop
/// --all`): their routes go, their replicas stop, their states are forgotten.
pub(crate) async fn stop_every_service(global: &GlobalArgs, status: Status) -> Result<(), Failure> {
    let config = crate::project::load_config(global)?;
    let store = crate::project::open_store(global, &crate::project::config_root(&config)?)?;
    for state in store.service_states(None)? {
        stop_one(global, &config, &state.environment, &state.service, status).await?;
    }
    Ok(())
}

/// Stops `service` in `environment`, saying how many replicas it had.
async fn stop_one(
    global: &GlobalArgs,
    config: &slipway_config::Config,
    environment: &str,
    service: &str,
    status: Status,
) -> Result<(), Failure> {
    let target = Target::of(global, config.clone(), environment, service)?;
    let client = daemon(&target, status).await?;
    let stopped = controller(&target, Arc::new(client), status)?
        .stop_service(&target.key)
        .await?;
    print_line(&format!(
        "{} {service} in {environment}: {stopped} replicas stopped",
        output::ok("✓"),
    ));
    Ok(())
}

pub(crate) async fn stop(
    global: &GlobalArgs,
    args: &StopArgs,
    status: Status,
) -> Result<ExitCode, Failure> {
    let config = crate::project::load_config(global)?;
    let services: Vec<String> = match &args.service {
        Some(service) => {
            config.service(service, &args.environment)?;
            vec![service.clone()]
        }
        None => {
            let store = crate::project::open_store(global, &crate::project::config_root(&config)?)?;
            let states = store.service_states(Some(&args.environment))?;
            states.into_iter().map(|state| state.service).collect()
        }
    };
    if services.is_empty() {
        print_line(&format!("nothing is deployed in {}", args.environment));
        return Ok(ExitCode::SUCCESS);
    }
    for service in services {
        stop_one(global, &config, &args.environment, &service, status).await?;
    }
    Ok(ExitCode::SUCCESS)
}
