//! `slipway logs ENV SERVICE`: the last lines of output of every replica of a deployed service.

use std::process::ExitCode;

use serde::Serialize;
use slipway_deploy::Platform;
use slipway_runtime::LogLine;

use super::deploy::{Target, required_daemon};
use crate::cli::{GlobalArgs, LogsArgs};
use crate::output::{self, print_json, print_line};
use crate::report::Failure;

/// A replica's output, for `--json`.
#[derive(Debug, Serialize)]
struct ReplicaLogs {
    replica: String,
    release: String,
    lines: Vec<LogLine>,
}

pub(crate) async fn run(global: &GlobalArgs, args: &LogsArgs) -> Result<ExitCode, Failure> {
    let target = Target::resolve(global, &args.target, args.job.as_deref())?;
    let key = &target.key;
    let state = target
        .store
        .service_state(&key.environment, &key.service)?
        .ok_or_else(|| {
            Failure::bad_input(format!("{key} is not deployed")).hint(format!(
                "`slipway deploy {} {}` deploys it",
                key.environment, key.service
            ))
        })?;
    let client = required_daemon(&target).await?;
    let release = target.store.release(state.current)?.ok_or_else(|| {
        Failure::new(format!(
            "release {} is missing from the store",
            state.current
        ))
    })?;
    let spec = slipway_deploy::ReleaseSpec::of(&release)?;
    let mut logs = Vec::new();
    for release in [Some(state.current), state.previous].into_iter().flatten() {
        for replica in client
            .replicas(spec.runtime, &key.release_labels(release))
            .await?
        {
            let lines = client
                .logs(spec.runtime, &replica.id, Some(args.tail))
                .await?;
            logs.push(ReplicaLogs {
                replica: replica.name,
                release: release.to_string(),
                lines,
            });
        }
    }
    if args.json {
        print_json(&logs)?;
        return Ok(ExitCode::SUCCESS);
    }
    for replica in logs {
        print_line(&output::dim(&format!(
            "==> {} (release {}) <==",
            replica.replica, replica.release
        )));
        for line in replica.lines {
            print_line(&line.text);
        }
    }
    Ok(ExitCode::SUCCESS)
}
