//! `slipway logs ENV SERVICE`: the last lines of output of every replica of a deployed service;
//! with `--follow`, then every line they write until Ctrl-C.

use std::collections::HashSet;
use std::process::ExitCode;
use std::time::Duration;

use futures::StreamExt as _;
use futures::stream::{BoxStream, SelectAll};
use serde::Serialize;
use slipway_deploy::{DaemonClient, DeployError, Platform};
use slipway_runtime::{LogLine, ReplicaId, RuntimeKind};

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
        return follow(&target, &client, spec.runtime, args).await;
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

/// How often `--follow` looks for replicas started after it began (a scale, a new release, a
/// restart): the daemon has no replica-started event to subscribe to, and a second is as soon as a
/// person reading the output would notice.
const LOOK_FOR_NEW_REPLICAS_EVERY: Duration = Duration::from_secs(1);

/// One followed replica's lines, each with the replica's name and release.
type Followed = BoxStream<'static, (String, String, Result<LogLine, DeployError>)>;

/// Prints the last `--tail` lines of every replica of the serving and the warm release, then each
/// line they write, each line led by its replica's name, until Ctrl-C or the daemon stops.
/// Replicas started after it began (a scale, a new release, a restart) are followed from their
/// first line as soon as they are seen.
async fn follow(
    target: &Target,
    client: &DaemonClient,
    runtime: RuntimeKind,
    args: &LogsArgs,
) -> Result<ExitCode, Failure> {
    let mut followed = HashSet::new();
    let mut lines: SelectAll<Followed> = SelectAll::new();
    follow_new_replicas(
        target,
        client,
        runtime,
        Some(args.tail),
        &mut followed,
        &mut lines,
    )
    .await?;
    if lines.is_empty() {
        print_line(&format!("{} has no replica running", target.key));
        return Ok(ExitCode::SUCCESS);
    }
    let mut look_again = tokio::time::interval(LOOK_FOR_NEW_REPLICAS_EVERY);
    look_again.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            Some((replica, release, line)) = lines.next(), if !lines.is_empty() => {
                print_followed(&replica, &release, line?, args.json)?;
            }
            _ = look_again.tick() => {
                // A daemon that stopped answering ends the follow, as its streams ended.
                if follow_new_replicas(target, client, runtime, None, &mut followed, &mut lines)
                    .await
                    .is_err()
                    && lines.is_empty()
                {
                    return Ok(ExitCode::SUCCESS);
                }
            }
        }
    }
}

/// Adds to `lines` a stream for each replica of the service's serving and warm releases that is
/// not in `followed` yet, starting `tail` lines back (`None`: from its first line).
async fn follow_new_replicas(
    target: &Target,
    client: &DaemonClient,
    runtime: RuntimeKind,
    tail: Option<usize>,
    followed: &mut HashSet<ReplicaId>,
    lines: &mut SelectAll<Followed>,
) -> Result<(), Failure> {
    let key = &target.key;
    let Some(state) = target.store.service_state(&key.environment, &key.service)? else {
        return Ok(());
    };
    for release in [Some(state.current), state.previous].into_iter().flatten() {
        for replica in client
            .replicas(runtime, &key.release_labels(release))
            .await?
        {
            if !followed.insert(replica.id.clone()) {
                continue;
            }
            let stream = client.follow_logs(runtime, &replica.id, tail).await?;
            let (name, release) = (replica.name, release.to_string());
            lines.push(
                stream
                    .map(move |line| (name.clone(), release.clone(), line))
                    .boxed(),
            );
        }
    }
    Ok(())
}

fn print_followed(replica: &str, release: &str, line: LogLine, json: bool) -> Result<(), Failure> {
    if json {
        return print_json_line(&FollowedLine {
            replica,
            release,
            line,
        });
    }
    print_line(&format!(
        "{} {}",
        output::dim(&format!("{replica} |")),
        line.text
    ));
    Ok(())
}

/// Prints `value` as one line of JSON, as a stream of records is read (`jq`, a log shipper).
fn print_json_line<T: Serialize>(value: &T) -> Result<(), Failure> {
    let text = serde_json::to_string(value)
        .map_err(|error| Failure::new(format!("cannot encode JSON: {error}")))?;
    print_line(&text);
    Ok(())
}
