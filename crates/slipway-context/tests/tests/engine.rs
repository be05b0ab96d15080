//! With the real engine (Podman here): what `write_context` sends is what arrives in the image,
//! and it is the same build as the Docker CLI's, down to the engine's cache.
//!
//! The context is built `FROM scratch` with `COPY . /`; the image is saved and its layer read
//! back. The CLI's build of the same tree must produce the very same image: the engine's cache
//! only hits when the files, their modes, owners and times are the same.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use slipway_context::{ContextOptions, write_context};

use crate::support::{make_tree, read_tar, set_mode};

const SOCKET: &str = "/run/podman/podman.sock";

/// The engine's socket, or a failure saying how to start one.
fn engine_socket() -> PathBuf {
    let socket = std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|host| host.strip_prefix("unix://").map(str::to_owned))
        .unwrap_or_else(|| SOCKET.to_owned());
    let ping = Command::new("curl")
        .args([
            "-fsS",
            "--max-time",
            "5",
            "--unix-socket",
            &socket,
            "http://d/_ping",
        ])
        .output();
    match ping {
        Ok(output) if output.status.success() => PathBuf::from(socket),
        _ => panic!(
            "no container engine answers on {socket}: run `bash scripts/setup-engine` (these tests need the real engine)"
        ),
    }
}

fn run(command: &mut Command) -> Output {
    let output = command.output().unwrap_or_else(|error| {
        panic!(
            "cannot run {command:?}: {error} (the docker CLI comes from `bash scripts/install-docker-cli-test-tools`)"
        )
    });
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn docker(socket: &Path) -> Command {
    let mut command = Command::new("docker");
    command
        .env("DOCKER_HOST", format!("unix://{}", socket.display()))
        .env("DOCKER_BUILDKIT", "0");
    command
}

/// Posts our tar to the engine's build endpoint and returns the image ID.
fn build_with_write_context(socket: &Path, root: &Path, tag: &str) -> String {
    let mut tar = Vec::new();
    write_context(root, &ContextOptions::default(), &mut tar).unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &tar).unwrap();
    let url = format!("http://d/v1.41/build?t={tag}&rm=1");
    // Podman 4.3 loses a build's cache lookup when another test removes an image at that moment
    // ("layer not known"); the build itself was fine, so it is sent again, as slipway-build does.
    let mut attempts = 0;
    loop {
        attempts += 1;
        let output = run(Command::new("curl")
            .args(["-fsS", "--max-time", "120", "--unix-socket"])
            .arg(socket)
            .args([
                "-X",
                "POST",
                "-H",
                "Content-Type: application/x-tar",
                "--data-binary",
                &format!("@{}", file.path().display()),
                &url,
            ]));
        let response = String::from_utf8_lossy(&output.stdout);
        let lost_to_a_removal = response.contains("layer not known")
            || response.contains("identifier is not a container");
        if lost_to_a_removal && attempts < 3 {
            continue;
        }
        assert!(
            !response.contains("\"error"),
            "the engine rejected the build: {response}"
        );
        return image_id(socket, tag);
    }
}

fn image_id(socket: &Path, tag: &str) -> String {
    let output = run(docker(socket).args(["image", "inspect", "--format", "{{.Id}}", tag]));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The paths in the image's only layer.
fn image_paths(socket: &Path, tag: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("image.tar");
    run(docker(socket).args(["save", "-o"]).arg(&saved).arg(tag));
    let outer = read_tar(&std::fs::read(saved).unwrap());
    // Layers are regular `.tar` files; `<id>/layer.tar` may be a symlink to one.
    let layers: Vec<_> = outer
        .iter()
        .filter(|entry| entry.path.ends_with(".tar") && entry.kind == '0')
        .collect();
    assert_eq!(
        layers.len(),
        1,
        "FROM scratch with one COPY makes one layer"
    );
    read_tar(&layers[0].content)
        .into_iter()
        .map(|entry| entry.path)
        .collect()
}

#[test]
fn the_engine_receives_the_context_and_caches_it_like_the_cli_s() {
    let socket = engine_socket();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    make_tree(
        root,
        &[
            "src/app.js",
            "src/run.sh",
            "node_modules/dep/index.js",
            "keep.log",
            "debug.log",
            "link -> src/app.js",
        ],
    );
    std::fs::write(root.join("Dockerfile"), "FROM scratch\nCOPY . /\n").unwrap();
    std::fs::write(
        root.join(".dockerignore"),
        "node_modules\n*.log\n!keep.log\n",
    )
    .unwrap();
    set_mode(&root.join("src/run.sh"), 0o755);
    let tag = format!("localhost/slipway-context-test:{}", std::process::id());

    let ours = build_with_write_context(&socket, root, &tag);
    let mut arrived = image_paths(&socket, &tag);
    arrived.retain(|path| !path.is_empty() && path != "./");
    let expected = [
        ".dockerignore",
        "Dockerfile",
        "keep.log",
        "link",
        "src/",
        "src/app.js",
        "src/run.sh",
    ];
    assert_eq!(arrived, expected);

    // An unchanged tree sent again is a cache hit: the same image.
    assert_eq!(build_with_write_context(&socket, root, &tag), ours);
    // So is the Docker CLI's context for the same tree.
    let cli_tag = format!("{tag}-cli");
    run(docker(&socket)
        .args(["build", "-q", "-t", &cli_tag])
        .arg(root));
    let cli = image_id(&socket, &cli_tag);
    run(docker(&socket).args(["rmi", "-f", &tag, &cli_tag]));
    assert_eq!(
        cli, ours,
        "the CLI's build of the same tree should reuse ours from the cache"
    );
}
