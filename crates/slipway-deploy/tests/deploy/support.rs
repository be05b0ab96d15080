//! The pieces every end-to-end deploy test needs: a platform with the real proxy and a real
//! runtime, the example service's spec, and a steady load on the proxy that counts every failure.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use http_body_util::{BodyExt, Empty};
use slipway_config::{DeployPlan, Limits, StrategyName};
use slipway_deploy::{
    Controller, DeployReport, DeployRequest, HealthProbe, LocalPlatform, Platform, ReleaseSpec,
    ServiceKey, config_hash,
};
use slipway_engine::{ContainerEngine, ContainerFilter};
use slipway_proxy::{ControlEndpoint, PROXY_ERROR_HEADER, Proxy, ProxyConfig};
use slipway_runtime::{ProcessRuntime, RuntimeKind, Workload};
use slipway_store::{Artifact, SqliteStore, Store};
use tokio::task::JoinHandle;

/// The example service.
pub(crate) fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hello")
}

/// Which runtime a test deploys on.
#[derive(Debug, Clone)]
pub(crate) enum Flavor {
    /// The process runtime, running `node src/server.js` from the example.
    Process,
    /// The container runtime, running this image of the example.
    Container(String),
}

impl Flavor {
    /// The example service as a release of this flavor with `env`, two replicas, quick checks.
    pub(crate) fn hello(&self, env: &[(&str, &str)]) -> ReleaseSpec {
        let (runtime, workload) = match self {
            Flavor::Process => (
                RuntimeKind::Process,
                Workload::Command {
                    command: "node src/server.js".to_owned(),
                    working_dir: example_dir(),
                },
            ),
            Flavor::Container(image) => (
                RuntimeKind::Container,
                Workload::Image {
                    reference: image.clone(),
                },
            ),
        };
        ReleaseSpec {
            runtime,
            workload,
            port: 3000,
            env: env
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect(),
            // The proxy's check waits at most one interval for an answer: a loaded two-core
            // machine can keep node from answering for hundreds of milliseconds, so the interval
            // is a second and three misses in a row make a replica unhealthy.
            health: HealthProbe {
                path: Some("/healthz".to_owned()),
                interval: Duration::from_secs(1),
                timeout: Duration::from_secs(1),
                healthy_threshold: 1,
                unhealthy_threshold: 3,
            },
            replicas: 2,
            resources: Limits::default(),
            plan: plan(StrategyName::BlueGreen),
            autoscale: None,
        }
    }

    /// The runtime it deploys on.
    pub(crate) fn runtime(&self) -> RuntimeKind {
        match self {
            Flavor::Process => RuntimeKind::Process,
            Flavor::Container(_) => RuntimeKind::Container,
        }
    }
}

/// Harnesses made by this test process, so each gets a project name of its own: container names
/// are unique on the engine only per project.
static HARNESSES: AtomicU64 = AtomicU64::new(0);

/// A store, a proxy and the runtimes in a scratch directory, and a controller driving them.
pub(crate) struct Harness {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) store: Arc<SqliteStore>,
    pub(crate) platform: Arc<LocalPlatform>,
    pub(crate) controller: Controller,
    pub(crate) key: ServiceKey,
    pub(crate) lines: Arc<Mutex<Vec<String>>>,
    pub(crate) flavor: Flavor,
}

impl Harness {
    /// A harness deploying `flavor`.
    pub(crate) async fn new(flavor: Flavor) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let runtime = ProcessRuntime::open(&dir.path().join("processes"))
            .await
            .unwrap();
        let mut config = ProxyConfig::new(
            "127.0.0.1:0".parse().unwrap(),
            ControlEndpoint::unix(dir.path().join("proxy.sock")),
        );
        config.drain_timeout = Duration::from_secs(15);
        let proxy = Proxy::start(config).await.unwrap();
        let mut platform = LocalPlatform::new(runtime, proxy, None);
        if let Flavor::Container(_) = flavor {
            platform = platform.with_engine(Arc::new(slipway_engine::testing::engine().await));
        }
        let platform = Arc::new(platform);
        let store = Arc::new(SqliteStore::open(&dir.path().join("state")).unwrap());
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let controller = Controller::new(
            store.clone() as Arc<dyn Store>,
            platform.clone() as Arc<dyn Platform>,
            "tester",
            Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_owned())),
        );
        let project = format!(
            "slipway-test-{}-{}",
            std::process::id(),
            HARNESSES.fetch_add(1, Ordering::Relaxed)
        );
        let key = ServiceKey::new(project, "dev", "hello");
        Harness {
            dir,
            store,
            platform,
            controller,
            key,
            lines,
            flavor,
        }
    }

    /// The example service as a release of this harness's flavor.
    pub(crate) fn hello(&self, env: &[(&str, &str)]) -> ReleaseSpec {
        self.flavor.hello(env)
    }

    /// Deploys `spec` as the example service.
    pub(crate) async fn deploy(&self, spec: ReleaseSpec) -> DeployReport {
        self.controller
            .deploy(request(&self.key, spec))
            .await
            .unwrap()
    }

    /// The replicas of `release` running now.
    pub(crate) async fn replicas_of(
        &self,
        release: slipway_store::ReleaseId,
    ) -> Vec<slipway_runtime::Replica> {
        self.platform
            .replicas(self.flavor.runtime(), &self.key.release_labels(release))
            .await
            .unwrap()
    }

    /// The proxy's address.
    pub(crate) fn proxy(&self) -> SocketAddr {
        self.platform.proxy_address()
    }

    /// The steps the controller reported, for failure messages.
    pub(crate) fn transcript(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// Stops everything the harness started.
    pub(crate) async fn tear_down(self) {
        let _ = self.controller.stop_service(&self.key).await;
        self.platform.proxy().shutdown().await;
    }
}

impl Drop for Harness {
    /// Replicas outlive their runtime by design (the next supervisor adopts them); a test that
    /// failed midway must not leave its own behind.
    fn drop(&mut self) {
        let marker = format!(
            "SLIPWAY_REPLICA_DIR={}",
            self.dir.path().join("processes").display()
        );
        for pid in processes_marked(&marker) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        if let Flavor::Container(_) = self.flavor {
            let project = self.key.project.clone();
            let network = self.key.network();
            // Drop may run inside the test's runtime: remove on a thread with a runtime of its own.
            let removal = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    let engine = slipway_engine::testing::engine().await;
                    let filter =
                        ContainerFilter::all().label(slipway_deploy::names::PROJECT_LABEL, project);
                    for container in engine.list_containers(&filter).await.unwrap_or_default() {
                        let _ = engine.remove_container(container.id.as_str(), true).await;
                    }
                    let _ = engine.remove_network(&network).await;
                });
            });
            let _ = removal.join();
        }
    }
}

/// Processes whose environment has an entry starting with `prefix`.
pub(crate) fn processes_marked(prefix: &str) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
                environ
                    .split(|&b| b == 0)
                    .any(|entry| entry.starts_with(prefix.as_bytes()))
            })
        })
        .collect()
}

/// A deploy request for `spec`, identified by its environment.
pub(crate) fn request(key: &ServiceKey, spec: ReleaseSpec) -> DeployRequest {
    let artifact = match &spec.workload {
        Workload::Command {
            command,
            working_dir,
        } => Artifact::Command {
            command: command.clone(),
            working_dir: working_dir.display().to_string(),
            hash: "sha256:example".to_owned(),
        },
        Workload::Image { reference } => Artifact::Image {
            reference: reference.clone(),
            digest: reference.clone(),
        },
    };
    DeployRequest {
        key: key.clone(),
        config_hash: config_hash(&spec.env),
        spec,
        artifact,
        revision: None,
        reason: None,
        restores: None,
    }
}

/// The example's image, built once per test run from `examples/hello` on the test engine. The
/// build starts FROM `localhost/slipway/node:20`, made by `scripts/base-images`.
pub(crate) async fn hello_image() -> String {
    static IMAGE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    IMAGE
        .get_or_init(|| async {
            let engine = slipway_engine::testing::engine().await;
            let base = "localhost/slipway/node:20";
            assert!(
                engine.image_exists(base).await.unwrap(),
                "the container tests build the example FROM {base}; run scripts/setup-engine, then scripts/base-images"
            );
            let mut context = Vec::new();
            slipway_context::write_context(&example_dir(), &slipway_context::ContextOptions::default(), &mut context).unwrap();
            let spec = slipway_engine::BuildSpec::new()
                .tag("localhost/slipway-test/hello:deploy")
                .build_arg("NODE_IMAGE", base);
            let stream = futures::stream::iter([Ok(Bytes::from(context))]).boxed();
            let mut build = engine.build_image(spec, stream);
            while let Some(event) = build.next().await {
                if let slipway_engine::BuildEvent::Built { image_id } = event.unwrap() {
                    return image_id.as_str().to_owned();
                }
            }
            panic!("the build of the example ended without an image");
        })
        .await
        .clone()
}

/// A plan with short waits, for tests.
pub(crate) fn plan(strategy: StrategyName) -> DeployPlan {
    let mut plan: DeployPlan = serde_json::from_value(serde_json::json!({
        "strategy": strategy.as_str(),
        "keep_previous": "5m",
        "health_timeout": "20s",
        "smoke_path": null,
        "verify": "2s",
        "stop_grace": "5s",
        "canary": { "steps": [], "max_error_rate": 0.05, "max_p95_ratio": 3.0, "min_requests": 20 },
        "rolling": { "batch": 1, "max_surge": 1, "max_unavailable": 0 }
    }))
    .unwrap();
    plan.strategy = strategy;
    plan
}

/// What a load saw.
#[derive(Debug, Default, Clone)]
pub(crate) struct LoadReport {
    /// Requests sent.
    pub(crate) sent: u64,
    /// Answers by the release that gave them (`SLIPWAY_RELEASE`), from the body of `/`.
    pub(crate) by_release: BTreeMap<String, u64>,
    /// 5xx answers the application produced itself (`ERROR_RATE`), by release.
    pub(crate) app_errors: BTreeMap<String, u64>,
    /// Everything else that went wrong: connection errors, timeouts, 5xx the proxy made.
    pub(crate) failures: Vec<String>,
    /// The release of the latest answers, newest last.
    pub(crate) recent: Vec<String>,
}

/// A steady stream of `GET /` on the proxy for one host, from several keep-alive connections,
/// until stopped. Bounded: it stops by itself after ten minutes.
pub(crate) struct Load {
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
    report: Arc<Mutex<LoadReport>>,
}

/// Keep-alive connections the load spreads over.
const CONNECTIONS: u32 = 8;

impl Load {
    /// Starts `rate` requests per second to `proxy` with `Host: host`.
    pub(crate) fn start(proxy: SocketAddr, host: &str, rate: u32) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let report = Arc::new(Mutex::new(LoadReport::default()));
        let period = Duration::from_secs_f64(f64::from(CONNECTIONS) / f64::from(rate));
        let workers = (0..CONNECTIONS)
            .map(|_| {
                let (stop, report, host) = (stop.clone(), report.clone(), host.to_owned());
                tokio::spawn(async move { worker(proxy, host, period, stop, report).await })
            })
            .collect();
        Load {
            stop,
            workers,
            report,
        }
    }

    /// What it saw so far.
    pub(crate) fn snapshot(&self) -> LoadReport {
        self.report.lock().unwrap().clone()
    }

    /// Waits until `count` more requests than now have been answered or have failed: a test
    /// waits for traffic, not for a time in which some traffic should have flowed.
    pub(crate) async fn until_answered(&self, count: u64) {
        let seen = |report: &LoadReport| {
            report.by_release.values().sum::<u64>() + report.failures.len() as u64
        };
        let target = seen(&self.snapshot()) + count;
        eventually(
            &format!("{count} requests were answered"),
            Duration::from_secs(60),
            || seen(&self.snapshot()) >= target,
        )
        .await;
    }

    /// Stops and returns what it saw.
    pub(crate) async fn stop(self) -> LoadReport {
        self.stop.store(true, Ordering::Relaxed);
        for worker in self.workers {
            worker.await.unwrap();
        }
        self.report.lock().unwrap().clone()
    }
}

async fn worker(
    proxy: SocketAddr,
    host: String,
    period: Duration,
    stop: Arc<AtomicBool>,
    report: Arc<Mutex<LoadReport>>,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sender: Option<hyper::client::conn::http1::SendRequest<Empty<Bytes>>> = None;
    while !stop.load(Ordering::Relaxed) && tokio::time::Instant::now() < deadline {
        ticks.tick().await;
        if sender.as_ref().is_none_or(|sender| sender.is_closed()) {
            match connect(proxy).await {
                Ok(connected) => sender = Some(connected),
                Err(error) => {
                    let mut report = report.lock().unwrap();
                    report.sent += 1;
                    report.failures.push(format!("connect: {error}"));
                    continue;
                }
            }
        }
        let Some(active) = sender.as_mut() else {
            continue;
        };
        let request = hyper::Request::get("/")
            .header(hyper::header::HOST, &host)
            .body(Empty::new())
            .unwrap();
        let outcome = tokio::time::timeout(Duration::from_secs(10), async {
            let response = active
                .send_request(request)
                .await
                .map_err(|error| error.to_string())?;
            let status = response.status().as_u16();
            let from_proxy = response.headers().contains_key(&PROXY_ERROR_HEADER);
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|error| error.to_string())?
                .to_bytes();
            Ok::<_, String>((
                status,
                from_proxy,
                String::from_utf8_lossy(&body).into_owned(),
            ))
        })
        .await;
        let mut report = report.lock().unwrap();
        report.sent += 1;
        match outcome {
            Err(_) => report.failures.push("no answer within 10s".to_owned()),
            Ok(Err(error)) => {
                report.failures.push(format!("request: {error}"));
                sender = None;
            }
            Ok(Ok((status, false, body))) if status < 500 => {
                let release = release_in(&body);
                *report.by_release.entry(release.clone()).or_default() += 1;
                report.recent.push(release);
                let excess = report.recent.len().saturating_sub(50);
                report.recent.drain(..excess);
            }
            Ok(Ok((500, false, body))) if body.contains("injected failure") => {
                *report.app_errors.entry("app".to_owned()).or_default() += 1;
            }
            Ok(Ok((status, from_proxy, body))) => {
                report.failures.push(format!(
                    "{status}{}: {}",
                    if from_proxy { " from the proxy" } else { "" },
                    body.trim()
                ));
            }
        }
    }
}

async fn connect(
    proxy: SocketAddr,
) -> Result<hyper::client::conn::http1::SendRequest<Empty<Bytes>>, String> {
    let stream = tokio::net::TcpStream::connect(proxy)
        .await
        .map_err(|error| error.to_string())?;
    let (sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|error| error.to_string())?;
    tokio::spawn(connection);
    Ok(sender)
}

/// The release in the example's answer to `/`: `hello from hello 1.4.0 (RELEASE)`.
fn release_in(body: &str) -> String {
    body.rsplit_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .map_or_else(|| body.trim().to_owned(), |(release, _)| release.to_owned())
}

/// Waits until `check` holds, failing after `limit`.
pub(crate) async fn eventually<F: FnMut() -> bool>(what: &str, limit: Duration, mut check: F) {
    let deadline = tokio::time::Instant::now() + limit;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Asserts the load saw no failure.
#[track_caller]
pub(crate) fn assert_no_failures(report: &LoadReport, transcript: &str) {
    assert!(report.sent > 0, "the load sent nothing");
    assert!(
        report.failures.is_empty(),
        "{} of {} requests failed; first: {:?}\ncontroller:\n{transcript}",
        report.failures.len(),
        report.sent,
        report.failures.iter().take(5).collect::<Vec<_>>()
    );
}
