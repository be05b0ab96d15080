//! `slipway proxy`: the proxy on its own, as a foreground process.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use crate::support::Project;

/// An upstream answering `hello` to every request, on a thread that lives as long as the test.
fn upstream() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).is_ok_and(|read| read == 1)
            {
                head.push(byte[0]);
            }
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello",
            );
        }
    });
    addr
}

/// `GET /` through the proxy at `addr`; `None` when nothing answers.
fn get(addr: SocketAddr) -> Option<String> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nhost: web.test\r\nconnection: close\r\n\r\n")
        .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    Some(answer)
}

#[test]
fn the_proxy_serves_a_routes_file_and_stops_cleanly_on_sigterm() {
    let project = Project::empty();
    let upstream = upstream();
    project.write(
        "routes.json",
        &format!(
            r#"{{"backends": [{{"id": "web", "pools": [{{"id": "v1", "upstreams": [{{"id": "a", "addr": "{upstream}"}}]}}]}}],
                "routes": [{{"backend": "web"}}]}}"#
        ),
    );
    let served = project.serve(&[
        "proxy",
        "--listen",
        "127.0.0.1:0",
        "--routes",
        "routes.json",
    ]);

    let answer = get(served.addr).expect("the proxy answers once it says it serves");
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.ends_with("hello"),
        "{answer}"
    );
    let socket = project.path().join(".slipway/proxy/control.sock");
    assert!(
        socket.exists(),
        "the control socket defaults to the state directory"
    );
    let saved = project.read(".slipway/proxy/routes.json");
    assert!(
        saved.contains("\"version\": 1") && saved.contains(&upstream.to_string()),
        "{saved}"
    );

    let addr = served.addr;
    let (status, stderr) = served.terminate();
    assert!(status.success(), "exit {status}\n{stderr}");
    assert!(
        stderr.contains(&format!("proxy serving http://{addr}")),
        "{stderr}"
    );
    assert!(stderr.contains("SIGTERM: stopping"), "{stderr}");
    assert!(
        !socket.exists(),
        "the control socket is removed on the way out"
    );
}

#[test]
fn a_broken_routes_file_is_bad_input_naming_the_file_and_key() {
    let project = Project::empty();
    project.write("routes.json", "{\"routes\": [{\"backend\": \"missing\"}]}");
    let run = project
        .slipway(&[
            "proxy",
            "--listen",
            "127.0.0.1:0",
            "--routes",
            "routes.json",
        ])
        .failure(2);
    assert!(run.stderr.contains("routes.json"), "{}", run.stderr);
    assert!(run.stderr.contains("routes[0].backend"), "{}", run.stderr);
}

#[test]
fn a_loopback_control_address_needs_a_token() {
    let project = Project::empty();
    let run = project
        .slipway(&[
            "proxy",
            "--listen",
            "127.0.0.1:0",
            "--control",
            "127.0.0.1:0",
        ])
        .failure(2);
    assert!(run.stderr.contains("needs a token"), "{}", run.stderr);
    assert!(run.stderr.contains("SLIPWAY_PROXY_TOKEN"), "{}", run.stderr);
    let run = project
        .slipway(&[
            "proxy",
            "--listen",
            "127.0.0.1:0",
            "--control",
            "0.0.0.0:9999",
            "--control-token",
            "0123456789abcdef",
        ])
        .failure(2);
    assert!(run.stderr.contains("loopback"), "{}", run.stderr);
}
