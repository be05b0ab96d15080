//! Finding the engine, telling what it is, and the errors when there is none or it goes away.

use std::path::Path;

use futures::StreamExt;
use slipway_engine::testing::engine;
use slipway_engine::{
    BuildEvent, BuildSpec, ContainerEngine, DockerEngine, Endpoint, EndpointChoice, EngineError,
    EngineKind, ImageFilter, PODMAN_SOCKET,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

use crate::support::context;

#[tokio::test]
async fn info_reports_the_engine_its_version_and_where_it_answers() {
    let engine = engine().await;
    let info = engine.info().await.unwrap();
    assert_eq!(&info.endpoint, engine.endpoint());
    assert!(!info.version.is_empty(), "{info:?}");
    let (major, minor) = info.api_version.split_once('.').expect("MAJOR.MINOR");
    assert!(
        major.parse::<u32>().is_ok() && minor.parse::<u32>().is_ok(),
        "{info:?}"
    );
    assert_eq!(info.os, "linux");
    assert!(!info.arch.is_empty());
    if info.endpoint == Endpoint::unix(PODMAN_SOCKET) {
        assert_eq!(info.kind, EngineKind::Podman);
    }
}

#[tokio::test]
async fn no_engine_names_each_socket_tried_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.sock");
    // A socket file nobody listens on any more: the listener is dropped, the file stays.
    let abandoned = dir.path().join("abandoned.sock");
    drop(UnixListener::bind(&abandoned).unwrap());

    for (socket, reason) in [
        (&missing, "no socket there"),
        (&abandoned, "connection refused"),
    ] {
        let docker_host = format!("unix://{}", socket.display());
        match DockerEngine::connect(EndpointChoice::Discover {
            docker_host: Some(docker_host.clone()),
        })
        .await
        {
            Err(error @ EngineError::NotRunning { .. }) => {
                assert_eq!(
                    error.to_string(),
                    format!("no container engine answers on {docker_host} ({reason})")
                );
            }
            other => panic!("expected NotRunning, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_engine_going_away_mid_build_is_a_disconnection() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("engine.sock");
    let server = tokio::spawn(fake_engine(UnixListener::bind(&socket).unwrap()));
    let engine = DockerEngine::connect(EndpointChoice::Exactly(Endpoint::unix(&socket)))
        .await
        .unwrap();

    let mut events = engine.build_image(
        BuildSpec::new(),
        context(&[("Dockerfile", "FROM scratch\n")]),
    );
    match events.next().await {
        Some(Ok(BuildEvent::Output(text))) => assert_eq!(text, "Step 1/2 : FROM scratch\n"),
        other => panic!("expected the first step's output, got {other:?}"),
    }
    match events.next().await {
        Some(Err(EngineError::Disconnected { during, .. })) => {
            assert_eq!(during, "building an image")
        }
        other => panic!("expected Disconnected, got {other:?}"),
    }
    assert!(events.next().await.is_none());

    // Once the engine is gone for good, any request says so.
    server.abort();
    std::fs::remove_file(&socket).unwrap();
    match engine.list_images(&ImageFilter::new()).await {
        Err(EngineError::Disconnected { during, cause }) => {
            assert_eq!(during, "listing images");
            assert!(cause.contains("No such file"), "{cause}");
        }
        other => panic!("expected Disconnected, got {other:?}"),
    }
    match engine.info().await {
        Err(EngineError::Disconnected { cause, .. }) => assert_eq!(cause, "no socket there"),
        other => panic!("expected Disconnected, got {other:?}"),
    }
    assert!(!Path::new(&socket).exists());
}

/// Just enough of an engine: it answers `/version`, then starts a build's output and hangs up.
async fn fake_engine(listener: UnixListener) {
    while let Ok((connection, _)) = listener.accept().await {
        tokio::spawn(answer(connection));
    }
}

async fn answer(mut connection: UnixStream) {
    let mut request = Vec::new();
    let mut buffer = [0u8; 8192];
    let head_end = loop {
        let read = connection.read(&mut buffer).await.unwrap();
        assert!(read > 0, "the client hung up before sending a request");
        request.extend_from_slice(&buffer[..read]);
        if let Some(end) = find(&request, b"\r\n\r\n") {
            break end + 4;
        }
    };
    let head = String::from_utf8_lossy(&request[..head_end]).into_owned();
    let path = head
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    if path.ends_with("/version") {
        let body = r#"{"Version":"27.0.0","ApiVersion":"1.41","Os":"linux","Arch":"amd64","Components":[{"Name":"Engine","Version":"27.0.0"}]}"#;
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        connection.write_all(response.as_bytes()).await.unwrap();
    } else if path.contains("/build") {
        // Read the whole (chunked) context, answer with the first line of output, then drop
        // the connection in the middle of the chunked body.
        while find(&request[head_end..], b"0\r\n\r\n").is_none() {
            let read = connection.read(&mut buffer).await.unwrap();
            if read == 0 {
                break;
            }
            request.extend_from_slice(&buffer[..read]);
        }
        let line = "{\"stream\":\"Step 1/2 : FROM scratch\\n\"}\n";
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{line}\r\n",
            line.len()
        );
        connection.write_all(response.as_bytes()).await.unwrap();
    } else {
        connection
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            .await
            .unwrap();
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}
