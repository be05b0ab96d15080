//! `slipway proxy`: the proxy on its own, as a foreground process.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::Project;

/// A child process killed if the test fails before it exits.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET /` through the proxy on `port`; `None` while nothing listens.
fn get(port: u16) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
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
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_slipway"))
        .current_dir(project.path())
        .args(["proxy", "--listen", &listen, "--routes", "routes.json"])
        .env("NO_COLOR", "1")
        .env_remove("SLIPWAY_HOME")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut running = Running(child);

    let deadline = Instant::now() + Duration::from_secs(20);
    let answer = loop {
        if let Some(answer) = get(port) {
            break answer;
        }
        assert!(
            Instant::now() < deadline,
            "the proxy never answered on {listen}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
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

    let terminated = Command::new("kill")
        .args(["-TERM", &running.0.id().to_string()])
        .status()
        .unwrap();
    assert!(terminated.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = running.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the proxy did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    running
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "exit {status}\n{stderr}");
    assert!(
        stderr.contains(&format!("proxy serving http://{listen}")),
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
