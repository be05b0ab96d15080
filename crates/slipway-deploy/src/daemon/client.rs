//! [`DaemonClient`]: the daemon's platform, from another process, over its socket.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt as _;
use futures::stream::BoxStream;
use serde::de::DeserializeOwned;
use slipway_proxy::{
    BackendId, DrainReport, MetricsSnapshot, TableVersion, UpstreamHealth, VersionedTable,
};
use slipway_runtime::{
    Labels, LogLine, Replica, ReplicaId, ReplicaSpec, ReplicaStats, RuntimeKind,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};

use super::DaemonPaths;
use super::protocol::{Answer, DaemonStatus, Request};
use crate::error::DeployError;
use crate::platform::Platform;
use crate::traffic::TrafficEdit;

/// The longest answer read: a routing table or metrics of a large project fit many times over.
const MAX_ANSWER: u64 = 64 << 20;

/// A client of a running daemon. Each call is one connection.
#[derive(Debug, Clone)]
pub struct DaemonClient {
    socket: PathBuf,
    status: DaemonStatus,
}

impl DaemonClient {
    /// Connects to the daemon of `state_dir`; fails with [`DeployError::DaemonUnreachable`]
    /// when none answers.
    pub async fn connect(state_dir: &Path) -> Result<DaemonClient, DeployError> {
        let socket = DaemonPaths::new(state_dir).socket();
        let status = call(&socket, &Request::Status).await?;
        Ok(DaemonClient { socket, status })
    }

    /// Waits up to `limit` for the daemon of `state_dir` to answer (one just started).
    pub async fn wait_for(state_dir: &Path, limit: Duration) -> Result<DaemonClient, DeployError> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            match DaemonClient::connect(state_dir).await {
                Ok(client) => return Ok(client),
                Err(error @ DeployError::DaemonUnreachable { .. })
                    if tokio::time::Instant::now() < deadline =>
                {
                    tracing::debug!(%error, "waiting for the daemon");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// What the daemon said about itself when connecting.
    pub fn status(&self) -> &DaemonStatus {
        &self.status
    }

    /// A replica's last `tail` lines of output, then each new line as it is written, for as long
    /// as the stream is kept (its connection closes when it is dropped).
    pub async fn follow_logs(
        &self,
        runtime: RuntimeKind,
        replica: &ReplicaId,
        tail: Option<usize>,
    ) -> Result<BoxStream<'static, Result<LogLine, DeployError>>, DeployError> {
        let request = Request::FollowLogs {
            runtime,
            replica: replica.clone(),
            tail,
        };
        // The writing half is kept with the stream: dropping it would tell the daemon that the
        // client is gone.
        let connection = send(&self.socket, &request).await?;
        let lines = futures::stream::try_unfold(connection, |(mut reader, writer)| async move {
            match read_answer(&mut reader).await? {
                Some(line) => Ok(Some((line, (reader, writer)))),
                None => Ok(None),
            }
        });
        Ok(lines.boxed())
    }

    /// Asks the daemon to stop; returns once it stopped answering.
    pub async fn shutdown(&self) -> Result<(), DeployError> {
        call::<serde_json::Value>(&self.socket, &Request::Shutdown).await?;
        for _ in 0..200 {
            if UnixStream::connect(&self.socket).await.is_err() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(DeployError::DaemonProtocol {
            message: "the daemon still answers 10s after being asked to stop".to_owned(),
        })
    }

    async fn call<T: DeserializeOwned>(&self, request: Request) -> Result<T, DeployError> {
        call(&self.socket, &request).await
    }
}

/// One exchange with the daemon at `socket`.
async fn call<T: DeserializeOwned>(socket: &Path, request: &Request) -> Result<T, DeployError> {
    let (mut reader, _) = send(socket, request).await?;
    read_answer(&mut reader)
        .await?
        .ok_or_else(|| DeployError::DaemonProtocol {
            message: "the daemon closed the connection without answering".to_owned(),
        })
}

/// Sends `request` to the daemon at `socket`; returns the connection's two halves, the reading
/// one buffered.
async fn send(
    socket: &Path,
    request: &Request,
) -> Result<(BufReader<OwnedReadHalf>, OwnedWriteHalf), DeployError> {
    let unreachable = |source| DeployError::DaemonUnreachable {
        socket: socket.to_owned(),
        source,
    };
    let protocol = |message: String| DeployError::DaemonProtocol { message };
    let stream = UnixStream::connect(socket).await.map_err(unreachable)?;
    let (reader, mut writer) = stream.into_split();
    let mut line = serde_json::to_vec(request).map_err(|error| protocol(error.to_string()))?;
    line.push(b'\n');
    writer
        .write_all(&line)
        .await
        .map_err(|error| protocol(format!("sending the request: {error}")))?;
    Ok((BufReader::new(reader), writer))
}

/// Reads the next answer line; `None` when the daemon closed the connection instead.
async fn read_answer<T: DeserializeOwned>(
    reader: &mut BufReader<OwnedReadHalf>,
) -> Result<Option<T>, DeployError> {
    let protocol = |message: String| DeployError::DaemonProtocol { message };
    let mut answer = Vec::new();
    let mut limited = tokio::io::AsyncReadExt::take(reader, MAX_ANSWER);
    limited
        .read_until(b'\n', &mut answer)
        .await
        .map_err(|error| protocol(format!("reading the answer: {error}")))?;
    if answer.is_empty() {
        return Ok(None);
    }
    match serde_json::from_slice::<Answer>(&answer) {
        Ok(Answer::Ok(value)) => serde_json::from_value(value)
            .map(Some)
            .map_err(|error| protocol(format!("the answer is not what was expected: {error}"))),
        Ok(Answer::Error { kind, message }) => Err(DeployError::Remote { kind, message }),
        Err(error) => Err(protocol(format!("the answer is not JSON: {error}"))),
    }
}

#[async_trait]
impl Platform for DaemonClient {
    async fn start_replica(
        &self,
        runtime: RuntimeKind,
        spec: &ReplicaSpec,
    ) -> Result<Replica, DeployError> {
        self.call(Request::StartReplica {
            runtime,
            spec: spec.clone(),
        })
        .await
    }

    async fn stop_replica(
        &self,
        runtime: RuntimeKind,
        replica: &ReplicaId,
        grace: Duration,
    ) -> Result<(), DeployError> {
        self.call(Request::StopReplica {
            runtime,
            replica: replica.clone(),
            grace_ms: u64::try_from(grace.as_millis()).unwrap_or(u64::MAX),
        })
        .await
    }

    async fn replicas(
        &self,
        runtime: RuntimeKind,
        selector: &Labels,
    ) -> Result<Vec<Replica>, DeployError> {
        self.call(Request::Replicas {
            runtime,
            selector: selector.clone(),
        })
        .await
    }

    async fn logs(
        &self,
        runtime: RuntimeKind,
        replica: &ReplicaId,
        tail: Option<usize>,
    ) -> Result<Vec<LogLine>, DeployError> {
        self.call(Request::Logs {
            runtime,
            replica: replica.clone(),
            tail,
        })
        .await
    }

    async fn stats(
        &self,
        runtime: RuntimeKind,
        replica: &ReplicaId,
    ) -> Result<ReplicaStats, DeployError> {
        self.call(Request::Stats {
            runtime,
            replica: replica.clone(),
        })
        .await
    }

    async fn edit_traffic(&self, edit: &TrafficEdit) -> Result<TableVersion, DeployError> {
        self.call(Request::EditTraffic { edit: edit.clone() }).await
    }

    async fn remove_backend(&self, backend: &BackendId) -> Result<TableVersion, DeployError> {
        self.call(Request::RemoveBackend {
            backend: backend.clone(),
        })
        .await
    }

    async fn drained(&self, version: TableVersion) -> Result<DrainReport, DeployError> {
        self.call(Request::Drained { version }).await
    }

    async fn routes(&self) -> Result<VersionedTable, DeployError> {
        self.call(Request::Routes).await
    }

    async fn metrics(&self) -> Result<MetricsSnapshot, DeployError> {
        self.call(Request::Metrics).await
    }

    async fn upstream_health(&self) -> Result<Vec<UpstreamHealth>, DeployError> {
        self.call(Request::UpstreamHealth).await
    }

    fn proxy_address(&self) -> SocketAddr {
        self.status.proxy
    }
}
