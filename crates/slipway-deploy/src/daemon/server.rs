//! The daemon's socket: accepts connections, reads one request each, answers it from the local
//! platform.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use futures::stream::BoxStream;
use serde::Serialize;
use slipway_runtime::{LogLine, RuntimeError};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use super::protocol::{Answer, DaemonStatus, MAX_REQUEST, Request, parse_request};
use crate::error::{DeployError, RemoteErrorKind};
use crate::platform::{LocalPlatform, Platform};

/// How long a client may take to send its request line.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long requests under way at shutdown get to finish.
const FINISH_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `socket` until `shutdown` resolves or a client sends [`Request::Shutdown`].
pub(super) async fn serve(
    socket: &Path,
    platform: Arc<LocalPlatform>,
    status: DaemonStatus,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DeployError> {
    let listener = UnixListener::bind(socket).map_err(|source| DeployError::Io {
        path: socket.to_owned(),
        source,
    })?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600)).map_err(|source| {
        DeployError::Io {
            path: socket.to_owned(),
            source,
        }
    })?;
    let stop = Arc::new(Notify::new());
    let status = Arc::new(status);
    // Followed logs never finish on their own: at shutdown they are told to end.
    let (closing, closed) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            () = stop.notified() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let (platform, status, stop) = (platform.clone(), status.clone(), stop.clone());
                    let closed = closed.clone();
                    connections.spawn(async move {
                        if let Err(error) = answer(stream, platform.as_ref(), &status, &stop, closed).await {
                            tracing::debug!(%error, "a control connection failed");
                        }
                    });
                }
                Err(error) => tracing::warn!(%error, "accepting a control connection failed"),
            },
            // Reap finished connections as they end, so the set stays small.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    let _ = closing.send(true);
    // Requests under way (a drain being waited for, a replica being stopped) get to finish, so
    // that nothing of this daemon outlives it.
    let finished = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(FINISH_TIMEOUT, finished)
        .await
        .is_err()
    {
        tracing::warn!("control requests still running at shutdown were cancelled");
    }
    Ok(())
}

/// Reads one request from `stream` and writes its answer.
async fn answer(
    stream: UnixStream,
    platform: &LocalPlatform,
    status: &DaemonStatus,
    stop: &Notify,
    closed: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut line = Vec::new();
    let mut reader = BufReader::new(reader.take(MAX_REQUEST as u64));
    tokio::time::timeout(READ_TIMEOUT, reader.read_until(b'\n', &mut line))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no request line"))??;
    let answer = match parse_request(&line) {
        Ok(Request::FollowLogs {
            runtime,
            replica,
            tail,
        }) => {
            let lines = platform.follow_logs(runtime, &replica, tail).await;
            return follow(lines, reader, writer, closed).await;
        }
        Ok(Request::Shutdown) => {
            stop.notify_one();
            Answer::Ok(serde_json::Value::Null)
        }
        Ok(request) => dispatch(platform, status, request).await,
        Err(message) => Answer::Error {
            kind: RemoteErrorKind::Other,
            message,
        },
    };
    write_answer(&mut writer, &answer).await?;
    writer.shutdown().await
}

async fn write_answer(writer: &mut OwnedWriteHalf, answer: &Answer) -> std::io::Result<()> {
    let mut text = serde_json::to_vec(answer).map_err(std::io::Error::other)?;
    text.push(b'\n');
    writer.write_all(&text).await
}

/// Writes each line of a followed log as an answer of its own, until the log fails (its last
/// answer says why), the client closes its end, or the daemon stops.
async fn follow(
    lines: Result<BoxStream<'static, Result<LogLine, RuntimeError>>, DeployError>,
    mut reader: impl AsyncRead + Unpin,
    mut writer: OwnedWriteHalf,
    mut closed: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let mut lines = match lines {
        Ok(lines) => lines,
        Err(error) => return write_answer(&mut writer, &to_answer::<()>(Err(error))).await,
    };
    let mut rest = [0; 64];
    loop {
        let line = tokio::select! {
            line = lines.next() => line,
            // The client sends nothing after its request: a read returning is its end closing.
            _ = reader.read(&mut rest) => None,
            _ = closed.wait_for(|closed| *closed) => None,
        };
        match line {
            Some(Ok(line)) => write_answer(&mut writer, &ok(&line)).await?,
            Some(Err(error)) => {
                write_answer(&mut writer, &to_answer::<()>(Err(error.into()))).await?;
                break;
            }
            None => break,
        }
    }
    writer.shutdown().await
}

/// Carries out one request on the platform.
async fn dispatch(platform: &LocalPlatform, status: &DaemonStatus, request: Request) -> Answer {
    match request {
        Request::Status => ok(status),
        Request::StartReplica { runtime, spec } => {
            to_answer(platform.start_replica(runtime, &spec).await)
        }
        Request::StopReplica {
            runtime,
            replica,
            grace_ms,
        } => to_answer(
            platform
                .stop_replica(runtime, &replica, Duration::from_millis(grace_ms))
                .await,
        ),
        Request::Replicas { runtime, selector } => {
            to_answer(platform.replicas(runtime, &selector).await)
        }
        Request::Logs {
            runtime,
            replica,
            tail,
        } => to_answer(platform.logs(runtime, &replica, tail).await),
        Request::Stats { runtime, replica } => to_answer(platform.stats(runtime, &replica).await),
        // Handled before dispatch, where the connection is.
        Request::FollowLogs { .. } => Answer::Error {
            kind: RemoteErrorKind::Other,
            message: "a followed log is answered on its own connection".to_owned(),
        },
        Request::EditTraffic { edit } => to_answer(platform.edit_traffic(&edit).await),
        Request::RemoveBackend { backend } => to_answer(platform.remove_backend(&backend).await),
        Request::Drained { version } => to_answer(platform.drained(version).await),
        Request::Routes => to_answer(platform.routes().await),
        Request::Metrics => to_answer(platform.metrics().await),
        Request::UpstreamHealth => to_answer(platform.upstream_health().await),
        // Handled before dispatch, where the stop signal is.
        Request::Shutdown => Answer::Ok(serde_json::Value::Null),
    }
}

fn to_answer<T: Serialize>(result: Result<T, DeployError>) -> Answer {
    match result {
        Ok(value) => ok(&value),
        Err(error) => Answer::Error {
            kind: error.remote_kind(),
            message: error.to_string(),
        },
    }
}

fn ok<T: Serialize>(value: &T) -> Answer {
    match serde_json::to_value(value) {
        Ok(value) => Answer::Ok(value),
        Err(error) => Answer::Error {
            kind: RemoteErrorKind::Other,
            message: format!("the answer cannot be encoded: {error}"),
        },
    }
}
