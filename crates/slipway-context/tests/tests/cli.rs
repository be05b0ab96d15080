//! Differential tests against the Docker CLI: for the same tree and `.dockerignore`, the tar the
//! CLI sends and the tar `write_context` writes hold the same entries, in the same order, with
//! the same metadata and contents.
//!
//! The CLI is pointed at a stand-in daemon on a Unix socket that answers `/_ping` and records the
//! body of `POST /build`, so what is compared is exactly what an engine would receive.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use proptest::prelude::*;
use slipway_context::{ContextOptions, write_context};

use crate::support::{TarEntry, make_tree, read_tar};

/// A stand-in daemon recording the last build context it was sent.
struct FakeDaemon {
    socket: std::path::PathBuf,
    received: Arc<Mutex<Option<Vec<u8>>>>,
    _dir: tempfile::TempDir,
}

impl FakeDaemon {
    fn start() -> FakeDaemon {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("docker.sock");
        let listener = UnixListener::bind(&socket).unwrap();
        let received = Arc::new(Mutex::new(None));
        let sink = Arc::clone(&received);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let sink = Arc::clone(&sink);
                std::thread::spawn(move || serve(stream, &sink));
            }
        });
        FakeDaemon {
            socket,
            received,
            _dir: dir,
        }
    }

    /// Runs `docker build` on `root` and returns the context it sent.
    fn docker_build(&self, root: &Path, dockerfile: &str) -> Vec<u8> {
        self.received.lock().unwrap().take();
        let config = tempfile::tempdir().unwrap();
        let output = Command::new("docker")
            .args(["build", "-f"])
            .arg(root.join(dockerfile))
            .arg(root)
            .env("DOCKER_HOST", format!("unix://{}", self.socket.display()))
            .env("DOCKER_BUILDKIT", "0")
            .env("DOCKER_CONFIG", config.path())
            .output()
            .unwrap_or_else(|error| {
                panic!("cannot run the docker CLI ({error}): these tests compare with it (version 23 or later); install it with `bash scripts/install-docker-cli-test-tools`")
            });
        assert!(
            output.status.success(),
            "docker build failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        self.received
            .lock()
            .unwrap()
            .take()
            .expect("the CLI sent no build context")
    }
}

/// Answers one connection's requests: `/_ping` and anything else with an empty 200, recording
/// the body of a build.
fn serve(stream: UnixStream, sink: &Mutex<Option<Vec<u8>>>) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line.trim().is_empty() {
                break;
            }
            headers.push(line.trim().to_ascii_lowercase());
        }
        let body = read_body(&mut reader, &headers);
        let is_build = request_line.starts_with("POST") && request_line.contains("/build");
        let response_body: &[u8] = if is_build {
            *sink.lock().unwrap() = Some(body);
            b"{\"stream\":\"done\\n\"}\n"
        } else if request_line.starts_with("HEAD") {
            b""
        } else {
            b"OK"
        };
        let length = if request_line.starts_with("HEAD") {
            2
        } else {
            response_body.len()
        };
        write!(
            writer,
            "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nOstype: linux\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
        )
        .unwrap();
        writer.write_all(response_body).unwrap();
    }
}

fn read_body(reader: &mut BufReader<UnixStream>, headers: &[String]) -> Vec<u8> {
    let mut body = Vec::new();
    if headers
        .iter()
        .any(|header| header == "transfer-encoding: chunked")
    {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).unwrap();
            let size = usize::from_str_radix(size.trim(), 16).unwrap();
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).unwrap();
            if size == 0 {
                return body;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    }
    let length = headers
        .iter()
        .find_map(|header| header.strip_prefix("content-length:"))
        .map_or(0, |length| length.trim().parse().unwrap());
    body.resize(length, 0);
    reader.read_exact(&mut body).unwrap();
    body
}

fn ours(root: &Path, dockerfile: &str) -> Vec<TarEntry> {
    let mut tar = Vec::new();
    write_context(root, &ContextOptions::new(dockerfile), &mut tar).unwrap();
    read_tar(&tar)
}

#[track_caller]
fn assert_same_context(daemon: &FakeDaemon, root: &Path, dockerfile: &str) {
    let theirs = read_tar(&daemon.docker_build(root, dockerfile));
    let ours = ours(root, dockerfile);
    let names = |entries: &[TarEntry]| {
        entries
            .iter()
            .map(|entry| entry.path.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(&ours),
        names(&theirs),
        ".dockerignore: {:?}",
        std::fs::read_to_string(root.join(".dockerignore"))
    );
    assert_eq!(ours, theirs);
}

/// The tree every table case uses.
const TREE: &[&str] = &[
    "Dockerfile",
    "README.md",
    "docs/guide.md",
    "docs/keep/notes.md",
    "node_modules/a/index.js",
    "node_modules/keep/x.js",
    "src/app.js",
    "src/debug.log",
    "src/nested/deep/file.txt",
    "src/nested/link -> ../app.js",
    "build/",
    "a.txt",
    "b.txt",
    "ab/c.txt",
    "x y/z",
    ".git/HEAD",
];

#[test]
fn the_cli_and_write_context_send_the_same_context() {
    let daemon = FakeDaemon::start();
    let cases = [
        "",
        "node_modules\n",
        "node_modules\n!node_modules/keep\n",
        "**/*.md\n!README.md\n",
        "*\n!src\nsrc/*.log\n",
        "docs\n!docs/keep\n",
        "# comment\n  .git  \n/build/\n./ab\n",
        "[a-b].txt\n",
        "[^a].txt\n?.txt\n",
        "src/**\n!src/nested/**\n",
        "**\n!src/app.js\n",
        "**/deep\n",
        "x\\ y\n",
        "Dockerfile\n.dockerignore\n",
        "src\n!src/nested/deep/file.txt\nsrc\n",
        "*/nested\n",
        "docs/\n!docs/keep/\n!**/notes.md\n",
    ];
    for dockerignore in cases {
        let dir = tempfile::tempdir().unwrap();
        make_tree(dir.path(), TREE);
        std::fs::write(dir.path().join(".dockerignore"), dockerignore).unwrap();
        assert_same_context(&daemon, dir.path(), "Dockerfile");
    }
}

#[test]
fn an_excluded_dockerfile_in_a_subdirectory_is_still_sent() {
    let daemon = FakeDaemon::start();
    let dir = tempfile::tempdir().unwrap();
    make_tree(
        dir.path(),
        &["deploy/Dockerfile.prod", "deploy/other", "src/a"],
    );
    std::fs::write(
        dir.path().join(".dockerignore"),
        "deploy\n*.prod\n.dockerignore\n",
    )
    .unwrap();
    assert_same_context(&daemon, dir.path(), "deploy/Dockerfile.prod");
}

fn tree() -> impl Strategy<Value = Vec<String>> {
    let name = prop_oneof![
        Just("a"),
        Just("b"),
        Just("c.txt"),
        Just("d.log"),
        Just("e"),
        Just(".f")
    ];
    let path = prop::collection::vec(name, 1..4).prop_map(|names| names.join("/"));
    prop::collection::vec(path, 1..10)
}

fn dockerignore() -> impl Strategy<Value = String> {
    let pattern = prop_oneof![
        Just("a"),
        Just("b"),
        Just("*.txt"),
        Just("**/*.log"),
        Just("a/**"),
        Just("**/e"),
        Just("*/b"),
        Just("[a-c]"),
        Just("?"),
        Just(".f"),
        Just("a/b"),
        Just("**")
    ];
    let line = (any::<bool>(), pattern).prop_map(|(exception, pattern)| {
        if exception {
            format!("!{pattern}")
        } else {
            pattern.to_owned()
        }
    });
    prop::collection::vec(line, 0..5).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn generated_trees_and_patterns_give_the_cli_s_context(paths in tree(), dockerignore in dockerignore()) {
        let daemon = FakeDaemon::start();
        let dir = tempfile::tempdir().unwrap();
        for path in &paths {
            // A generated path may clash with one that made the same name a directory.
            let file = dir.path().join(path);
            if !file.exists() && file.ancestors().skip(1).all(|parent| !parent.is_file()) {
                std::fs::create_dir_all(file.parent().unwrap()).unwrap();
                std::fs::write(&file, path).unwrap();
            }
        }
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        std::fs::write(dir.path().join(".dockerignore"), &dockerignore).unwrap();
        assert_same_context(&daemon, dir.path(), "Dockerfile");
    }
}
