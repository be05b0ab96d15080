//! `slipway logs ENV SERVICE`: the last lines of output of every replica of a deployed service;
//! with `--follow`, then every line they write until Ctrl-C.

use std::process::ExitCode;

use futures::StreamExt as _;
use serde::Serialize;
use slipway_deploy::{DaemonClient, Platform, ServiceKey};
use slipway_runtime::{LogLine, RuntimeKind};
use slipway_store::ServiceState;

use super::deploy::{Target, required_daemon};
use crate::cli::{GlobalArgs, LogsArgs};
use crate::output::{self, print_json, print_line};
use crate::report::Failure;

/// A line of a followed replica's output, for `--follow --json` (one object a line).
#[derive(Debug, Serialize)]
struct FollowedLine<'a> {
    replica: &'a str,
    release: &'a str,
    #[serde(flatten)]
    line: LogLine,
}

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
    if args.follow {
        return follow(&client, spec.runtime, key, &state, args).await;
    }
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

/// Prints the last `--tail` lines of every replica of the serving and the warm release, then each
/// line they write, each line led by its replica's name, until Ctrl-C or the daemon stops.
/// Replicas started after it began (a scale, a new release) are not followed.
async fn follow(
    client: &DaemonClient,
    runtime: RuntimeKind,
    key: &ServiceKey,
    state: &ServiceState,
    args: &LogsArgs,
) -> Result<ExitCode, Failure> {
    let mut streams = Vec::new();
    for release in [Some(state.current), state.previous].into_iter().flatten() {
        for replica in client
            .replicas(runtime, &key.release_labels(release))
            .await?
        {
            let lines = client
                .follow_logs(runtime, &replica.id, Some(args.tail))
                .await?;
            let (name, release) = (replica.name, release.to_string());
            streams.push(
                lines
                    .map(move |line| (name.clone(), release.clone(), line))
                    .boxed(),
            );
        }
    }
    if streams.is_empty() {
        print_line(&format!("{key} has no replica running"));
        return Ok(ExitCode::SUCCESS);
    }
    let mut lines = futures::stream::select_all(streams);
    while let Some((replica, release, line)) = lines.next().await {
        let line = line?;
        if args.json {
            print_json_line(&FollowedLine {
                replica: &replica,
                release: &release,
                line,
            })?;
        } else {
            print_line(&format!(
                "{} {}",
                output::dim(&format!("{replica} |")),
                line.text
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints `value` as one line of JSON, as a stream of records is read (`jq`, a log shipper).
fn print_json_line<T: Serialize>(value: &T) -> Result<(), Failure> {
    let text = serde_json::to_string(value)
        .map_err(|error| Failure::new(format!("cannot encode JSON: {error}")))?;
    print_line(&text);
    Ok(())
}
