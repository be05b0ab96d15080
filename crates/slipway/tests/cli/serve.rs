//! `slipway serve`, `slipway tokens` and `slipway projects` on a data directory.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use crate::support::Project;

/// `GET path` with a bearer token: the status and the body.
fn get(addr: SocketAddr, path: &str, token: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

#[test]
fn projects_and_tokens_are_managed_on_the_data_directory_and_served() {
    let project = Project::empty();
    let data = ["--data", "server-data"];
    let add = |name: &str| {
        let mut args = vec!["projects", "add", name, "--repo", "/srv/git/web.git"];
        args.extend(data);
        project.slipway(&args)
    };
    add("web").success();
    let duplicate = add("web").failure(2);
    assert!(
        duplicate.stderr.contains("exists already"),
        "{}",
        duplicate.stderr
    );

    let listed = project
        .slipway(&["projects", "list", "--json", "--data", "server-data"])
        .success();
    let listed: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    assert_eq!(listed[0]["name"], "web");
    assert_eq!(listed[0]["default_branch"], "main");

    let created = project
        .slipway(&[
            "tokens",
            "create",
            "ci",
            "--role",
            "viewer",
            "--quiet",
            "--data",
            "server-data",
        ])
        .success();
    let token = created.stdout.trim().to_owned();
    assert!(token.starts_with("slipway_"), "{token}");
    let tokens = project
        .slipway(&["tokens", "list", "--json", "--data", "server-data"])
        .success();
    assert!(tokens.stdout.contains("\"viewer\""));
    assert!(
        !tokens.stdout.contains(&token),
        "the token is never shown again"
    );
    let mode = std::fs::metadata(project.path().join("server-data")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
        0o700
    );

    let server = project.serve(&["serve", "--listen", "127.0.0.1:0", "--data", "server-data"]);
    let (status, body) = get(server.addr, "/api/v1/projects/web", &token);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("/srv/git/web.git"), "{body}");
    assert_eq!(get(server.addr, "/api/v1/tokens", &token).0, 403);
    assert_eq!(get(server.addr, "/api/v1/projects", "slipway_wrong").0, 401);
    let (exit, stderr) = server.terminate();
    assert!(exit.success(), "{stderr}");
    assert!(stderr.contains("SIGTERM: no new runs start"), "{stderr}");

    project
        .slipway(&["projects", "remove", "web", "--data", "server-data"])
        .success();
    let gone = project
        .slipway(&["projects", "show", "web", "--data", "server-data"])
        .failure(2);
    assert!(gone.stderr.contains("no project named"), "{}", gone.stderr);
}
