//! Helpers shared by the integration tests: the base image, build contexts, running a
//! container to completion, and an HTTP GET with retries.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use slipway_engine::testing::{TestScope, busybox_image};
use slipway_engine::{
    BuildEvent, BuildSpec, ByteStream, ContainerEngine, ContainerSpec, DockerEngine, EngineError,
    ImageId, LogOptions, LogStream,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The busybox base image every test Dockerfile starts from.
pub(crate) const BASE: &str = "slipway-test/busybox:1";

/// Makes sure the base image exists and returns its reference.
pub(crate) async fn base(engine: &DockerEngine) -> String {
    busybox_image(engine, BASE)
        .await
        .expect("the busybox base image")
}

/// A build context holding these files.
pub(crate) fn context(files: &[(&str, &str)]) -> ByteStream {
    let mut archive = tar::Builder::new(Vec::new());
    for (path, text) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        archive
            .append_data(&mut header, path, text.as_bytes())
            .unwrap();
    }
    let bytes = Bytes::from(archive.into_inner().unwrap());
    futures::stream::iter([Ok(bytes)]).boxed()
}

/// What a build streamed: its output, and how it ended.
pub(crate) struct Build {
    pub(crate) output: String,
    pub(crate) result: Result<ImageId, EngineError>,
}

/// Runs a build to its end.
pub(crate) async fn build(engine: &DockerEngine, spec: BuildSpec, context: ByteStream) -> Build {
    let mut events = engine.build_image(spec, context);
    let mut output = String::new();
    while let Some(event) = events.next().await {
        match event {
            Ok(BuildEvent::Output(text)) => output.push_str(&text),
            Ok(BuildEvent::Built { image_id }) => {
                assert!(
                    events.next().await.is_none(),
                    "Built must be the last event"
                );
                return Build {
                    output,
                    result: Ok(image_id),
                };
            }
            Err(error) => {
                assert!(
                    events.next().await.is_none(),
                    "an error must end the stream"
                );
                return Build {
                    output,
                    result: Err(error),
                };
            }
        }
    }
    panic!("the build stream ended without Built or an error; output:\n{output}");
}

/// Runs `cmd` in a new container of `image` until it exits; returns its exit code and stdout.
pub(crate) async fn run(
    engine: &DockerEngine,
    scope: &TestScope,
    image: &str,
    cmd: &[&str],
) -> (i64, String) {
    let (key, value) = scope.label();
    let spec = ContainerSpec::new(image)
        .label(key, value)
        .cmd(cmd.iter().copied());
    let id = engine.create_container(&spec).await.unwrap();
    engine.start_container(id.as_str()).await.unwrap();
    let exit_code = engine.wait_container(id.as_str()).await.unwrap();
    let stdout = engine
        .container_logs(id.as_str(), LogOptions::default())
        .filter_map(|line| async move {
            let line = line.unwrap();
            (line.stream == LogStream::Stdout).then_some(line.text)
        })
        .collect::<String>()
        .await;
    engine.remove_container(id.as_str(), true).await.unwrap();
    (exit_code, stdout)
}

/// GETs `/` from `address` over HTTP/1.0, retrying for a few seconds while the server starts.
pub(crate) async fn http_get(address: SocketAddr) -> String {
    let mut last_error = String::new();
    for _ in 0..50 {
        match try_http_get(address).await {
            Ok(response) if response.starts_with("HTTP/1.") => return response,
            Ok(response) => last_error = format!("unexpected answer {response:?}"),
            Err(error) => last_error = error.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no HTTP answer from {address}: {last_error}");
}

async fn try_http_get(address: SocketAddr) -> std::io::Result<String> {
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    stream
        .write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .await?;
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut response)).await??;
    Ok(response)
}
