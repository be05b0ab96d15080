//! A server started on port 0 with tokens of every role, a bare repository holding a workflow,
//! and a small HTTP client (JSON requests, Server-Sent Events).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use slipway_server::{Server, ServerConfig, create_token};
use slipway_store::Role;
use tempfile::TempDir;

/// A workflow that greets with its input, prints a few lines, and waits for a file when the
/// `wait_for` input names one (so a test can watch it while it runs).
pub(crate) const WORKFLOW: &str = r#"name: ci
on:
  push:
    branches: [main]
  workflow_dispatch:
    inputs:
      greeting:
        type: string
        default: hello
      wait_for:
        type: string
        default: ""
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - name: greet
        run: echo "${{ inputs.greeting }} from the server"
      - name: count
        run: |
          if [ -n "${{ inputs.wait_for }}" ]; then echo $$ > "${{ inputs.wait_for }}.pid"; fi
          echo "counting"
          if [ -n "${{ inputs.wait_for }}" ]; then
            while [ ! -e "${{ inputs.wait_for }}" ]; do sleep 0.05; done
          fi
          for i in 1 2 3; do echo "line $i"; done
"#;

/// A running server and what a test needs to talk to it.
pub(crate) struct TestServer {
    pub(crate) addr: SocketAddr,
    pub(crate) data: TempDir,
    pub(crate) repo: TempDir,
    tokens: Vec<(Role, String)>,
    client: Client<HttpConnector, Full<Bytes>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    serving: Option<tokio::task::JoinHandle<Result<(), slipway_server::ServerError>>>,
}

impl TestServer {
    /// A server on an empty data directory with one token per role and the project `web`.
    pub(crate) async fn start() -> TestServer {
        let data = tempfile::tempdir().unwrap();
        let repo = bare_repository(WORKFLOW);
        let server = TestServer::start_on(data, repo, ServerConfig::new(PathBuf::new())).await;
        let body = serde_json::json!({ "name": "web", "repository": server.repo_path() });
        let (status, _) = server.post(Role::Admin, "/api/v1/projects", body).await;
        assert_eq!(status, 201);
        server
    }

    /// A server on `data` (which may hold state) with `config` (its data path replaced).
    pub(crate) async fn start_on(
        data: TempDir,
        repo: TempDir,
        mut config: ServerConfig,
    ) -> TestServer {
        config.data = data.path().to_owned();
        let server = Server::open(&config).unwrap();
        let store = server.store();
        let tokens = Role::ALL
            .into_iter()
            .map(|role| {
                let name = format!("{role}-{}", store.tokens().unwrap().len());
                (
                    role,
                    create_token(store.as_ref(), &name, role).unwrap().secret,
                )
            })
            .collect();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(server.serve(listener, async move {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            data,
            repo,
            tokens,
            client: Client::builder(TokioExecutor::new()).build_http(),
            shutdown: Some(shutdown),
            serving: Some(serving),
        }
    }

    pub(crate) fn repo_path(&self) -> String {
        self.repo.path().display().to_string()
    }

    pub(crate) fn token(&self, role: Role) -> &str {
        &self.tokens.iter().find(|(r, _)| *r == role).unwrap().1
    }

    /// Asks the server to stop and waits until it has; returns the data and repository.
    pub(crate) async fn stop(mut self) -> (TempDir, TempDir) {
        let _ = self.shutdown.take().unwrap().send(());
        self.serving.take().unwrap().await.unwrap().unwrap();
        (self.data, self.repo)
    }

    /// Sends a request; `token` is sent as a bearer token when given.
    pub(crate) async fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> hyper::Response<Incoming> {
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr));
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let body = match body {
            Some(body) => {
                request = request.header("content-type", "application/json");
                Full::new(Bytes::from(body.to_string()))
            }
            None => Full::new(Bytes::new()),
        };
        self.client
            .request(request.body(body).unwrap())
            .await
            .unwrap()
    }

    /// POSTs `body` as it is with `headers` (a webhook delivery); answers status and JSON body.
    pub(crate) async fn post_raw(
        &self,
        path: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> (u16, Value) {
        let mut request = hyper::Request::builder()
            .method("POST")
            .uri(format!("http://{}{path}", self.addr));
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let response = self
            .client
            .request(request.body(Full::new(Bytes::from(body))).unwrap())
            .await
            .unwrap();
        answer(response).await
    }

    /// A request as `role`, answered with its status and JSON body (`null` when empty).
    pub(crate) async fn call(
        &self,
        role: Role,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let response = self
            .request(method, path, Some(self.token(role)), body)
            .await;
        answer(response).await
    }

    pub(crate) async fn get(&self, role: Role, path: &str) -> (u16, Value) {
        self.call(role, "GET", path, None).await
    }

    pub(crate) async fn post(&self, role: Role, path: &str, body: Value) -> (u16, Value) {
        self.call(role, "POST", path, Some(body)).await
    }

    /// Dispatches `ci.yml` of `web` with `inputs`; returns the queued run's id.
    pub(crate) async fn dispatch(&self, inputs: Value) -> i64 {
        let body = serde_json::json!({ "workflow": ".github/workflows/ci.yml", "inputs": inputs });
        let (status, queued) = self
            .post(Role::Developer, "/api/v1/projects/web/dispatch", body)
            .await;
        assert_eq!(status, 201, "{queued}");
        queued["id"].as_i64().unwrap()
    }

    /// Follows the run's log: calls `on_line` with each line's text as it arrives, and returns
    /// every line and the `end` event's data once the run has completed.
    pub(crate) async fn follow(
        &self,
        run: i64,
        mut on_line: impl FnMut(&str),
    ) -> (Vec<String>, Value) {
        let (lines, end) = self
            .follow_until(run, |line| {
                on_line(line);
                false
            })
            .await;
        (lines, end.expect("the run ended"))
    }

    /// Waits until the run's log shows `text` (printed earlier or later).
    pub(crate) async fn wait_for_line(&self, run: i64, text: &str) {
        let (lines, end) = self.follow_until(run, |line| line == text).await;
        assert!(
            end.is_none(),
            "the run ended without printing {text:?}: {lines:?}"
        );
    }

    /// Follows the run's log until `stop` says so for a line (the end is then `None`) or the
    /// run ends.
    async fn follow_until(
        &self,
        run: i64,
        mut stop: impl FnMut(&str) -> bool,
    ) -> (Vec<String>, Option<Value>) {
        let response = self
            .request(
                "GET",
                &format!("/api/v1/runs/{run}/logs?follow=1"),
                Some(self.token(Role::Viewer)),
                None,
            )
            .await;
        assert_eq!(response.status(), 200);
        let mut body = response.into_body();
        let mut buffer = String::new();
        let mut lines = Vec::new();
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(120), body.frame())
                .await
                .expect("no event for two minutes")
                .expect("the stream ended without an end event")
                .unwrap();
            let Ok(data) = frame.into_data() else {
                continue;
            };
            buffer.push_str(&String::from_utf8_lossy(&data));
            while let Some(end) = buffer.find("\n\n") {
                let event: String = buffer.drain(..end + 2).collect();
                let (kind, data) = parse_event(&event);
                match kind.as_str() {
                    "line" => {
                        let line: Value = serde_json::from_str(&data).unwrap();
                        let text = line["text"].as_str().unwrap().to_owned();
                        let stopping = stop(&text);
                        lines.push(text);
                        if stopping {
                            return (lines, None);
                        }
                    }
                    "end" => return (lines, Some(serde_json::from_str(&data).unwrap())),
                    _ => {}
                }
            }
        }
    }
}

/// A response's status and JSON body (`null` when empty, a string when not JSON).
async fn answer(response: hyper::Response<Incoming>) -> (u16, Value) {
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    (status, json)
}

/// The `event:` and `data:` of one Server-Sent Event.
fn parse_event(event: &str) -> (String, String) {
    let mut kind = String::new();
    let mut data = String::new();
    for line in event.lines() {
        if let Some(value) = line.strip_prefix("event:") {
            kind = value.trim().to_owned();
        } else if let Some(value) = line.strip_prefix("data:") {
            data.push_str(value.strip_prefix(' ').unwrap_or(value));
        }
    }
    (kind, data)
}

/// A bare repository whose `main` (and `feature`, at the same commit) holds
/// `.github/workflows/ci.yml` with `workflow`.
pub(crate) fn bare_repository(workflow: &str) -> TempDir {
    let work = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(work.path().join(".github/workflows")).unwrap();
    std::fs::write(work.path().join(".github/workflows/ci.yml"), workflow).unwrap();
    git(work.path(), &["init", "--quiet", "--initial-branch=main"]);
    git(work.path(), &["add", "."]);
    git(
        work.path(),
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "--quiet",
            "-m",
            "ci",
        ],
    );
    git(work.path(), &["branch", "feature"]);
    let bare = tempfile::tempdir().unwrap();
    git(
        Path::new("."),
        &[
            "clone",
            "--bare",
            "--quiet",
            work.path().to_str().unwrap(),
            bare.path().to_str().unwrap(),
        ],
    );
    bare
}

pub(crate) fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}
