//! `slipway hooks install`: real `git push`es to a bare repository run the project on the server,
//! whether the server was down at the time (the push waits in the spool) or up (it is poked).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use crate::support::Project;

const WORKFLOW: &str = r#"name: pushed
on:
  push:
    branches: [main]
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo "pushed ${{ github.sha }} by ${{ github.event.sender.login }}"
"#;

/// Follows run `id`'s log until it ends: everything the stream carried.
fn follow(addr: SocketAddr, id: u32, token: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET /api/v1/runs/{id}/logs?follow=1 HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    answer
}

/// A project whose `origin.git` is a bare repository holding [`WORKFLOW`] on main, the project
/// `app` of the data directory `server-data`, and a viewer token for it.
fn pushed_project() -> (Project, String) {
    let project = Project::empty();
    project.git(&["init", "-q", "-b", "main"]);
    project.write(".gitignore", "origin.git/\nserver-data/\n.slipway/\n");
    project.write(".github/workflows/pushed.yml", WORKFLOW);
    project.commit_all("workflow");
    project.git(&["clone", "-q", "--bare", ".", "origin.git"]);
    project.git(&["remote", "add", "origin", "origin.git"]);
    let origin = project.path().join("origin.git").display().to_string();
    project
        .slipway(&[
            "projects",
            "add",
            "app",
            "--repo",
            &origin,
            "--data",
            "server-data",
        ])
        .success();
    let token = project
        .slipway(&[
            "tokens",
            "create",
            "t",
            "--role",
            "viewer",
            "--quiet",
            "--data",
            "server-data",
        ])
        .success()
        .stdout
        .trim()
        .to_owned();
    (project, token)
}

fn spooled(project: &Project) -> Vec<String> {
    std::fs::read_dir(project.path().join("server-data/spool"))
        .map(|entries| {
            entries
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_push_made_while_the_server_is_down_runs_when_it_starts_and_one_made_while_it_is_up_runs_at_once()
 {
    let (project, token) = pushed_project();
    let installed = project
        .slipway(&[
            "hooks",
            "install",
            "--repo",
            "origin.git",
            "--project",
            "app",
            "--data",
            "server-data",
        ])
        .success();
    assert!(
        installed.stderr.contains("post-receive"),
        "{}",
        installed.stderr
    );

    project.write("src/one.txt", "one\n");
    project.commit_all("one");
    project.git(&["push", "-q", "origin", "main"]);
    let first = project.git(&["rev-parse", "HEAD"]);
    let waiting = spooled(&project);
    assert_eq!(waiting.len(), 1, "the push waits in the spool");

    let server = project.serve(&["serve", "--listen", "127.0.0.1:0", "--data", "server-data"]);
    let log = follow(server.addr, 1, &token);
    // Bound before the spool was drained, so it exists now.
    let socket = std::fs::metadata(project.path().join("server-data/poke.sock")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&socket.permissions()) & 0o777,
        0o600
    );
    assert!(
        log.contains(&format!("pushed {first} by post-receive")),
        "{log}"
    );
    assert!(log.contains("\"conclusion\":\"success\""), "{log}");

    project.write("src/two.txt", "two\n");
    project.commit_all("two");
    project.git(&["push", "-q", "origin", "main"]);
    let second = project.git(&["rev-parse", "HEAD"]);
    // `git push` returns once the server has queued the push's run.
    let log = follow(server.addr, 2, &token);
    assert!(
        log.contains(&format!("pushed {second} by post-receive")),
        "{log}"
    );

    // The poke that queued the second push was taken after the first push's file was drained.
    let left = spooled(&project);
    assert!(!left.contains(&waiting[0]), "{left:?}");
    let (exit, stderr) = server.terminate();
    assert!(exit.success(), "{stderr}");
}

#[test]
fn install_refuses_a_directory_that_is_not_a_bare_repository_and_an_unknown_project() {
    let (project, _) = pushed_project();
    let not_bare = project
        .slipway(&[
            "hooks",
            "install",
            "--repo",
            ".",
            "--project",
            "app",
            "--data",
            "server-data",
        ])
        .failure(2);
    assert!(
        not_bare.stderr.contains("is not a bare git repository"),
        "{}",
        not_bare.stderr
    );
    let unknown = project
        .slipway(&[
            "hooks",
            "install",
            "--repo",
            "origin.git",
            "--project",
            "nope",
            "--data",
            "server-data",
        ])
        .failure(2);
    assert!(
        unknown.stderr.contains("no project named \"nope\""),
        "{}",
        unknown.stderr
    );
    assert!(
        !project
            .path()
            .join("origin.git/hooks/post-receive")
            .exists()
    );

    // What was done on the data directory from the command line is in the audit trail.
    let trail = project
        .slipway(&["audit", "--json", "--data", "server-data"])
        .success();
    let trail: serde_json::Value = serde_json::from_str(&trail.stdout).unwrap();
    let entries = trail
        .as_array()
        .or_else(|| trail["items"].as_array())
        .unwrap_or_else(|| panic!("{trail}"));
    let actions: Vec<_> = entries
        .iter()
        .map(|entry| {
            (
                entry["action"].as_str().unwrap(),
                entry["target"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(actions, [("token.create", "t"), ("project.add", "app")]);
    assert!(trail.to_string().contains("local:"), "{trail}");
}
