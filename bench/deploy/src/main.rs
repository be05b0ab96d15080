//! The deploy benchmark (see `run.sh`): deploys and rolls back the example service through the
//! real `slipway` binary while a load of `RATE` requests per second runs through its proxy, and
//! measures
//!
//! - the blue-green switch time: from the new release recorded healthy (its `await_healthy` step)
//!   to the first request after which every request is answered by the new release;
//! - the warm rollback time: from running `slipway rollback` to the first request after which
//!   every request is answered by the previous release;
//! - requests dropped: connection errors, timeouts and 5xx answers, over the whole run.
//!
//! Each request's send time and the release that answered it (the example's body names it) are
//! kept, so the times are read off the traffic itself, not off the commands' own reports.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)] // A benchmark harness.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};

/// One answered (or failed) request.
#[derive(Debug, Clone)]
struct Sample {
    sent: SystemTime,
    /// The release that answered, or `None` when the request failed.
    release: Option<String>,
}

fn main() {
    let results = PathBuf::from(std::env::args().nth(1).expect("usage: slipway-deploy-bench RESULTS.json"));
    let slipway = PathBuf::from(std::env::var("SLIPWAY").expect("SLIPWAY: the slipway binary"));
    let example = PathBuf::from(std::env::var("EXAMPLE").expect("EXAMPLE: examples/hello"));
    let rounds: usize = std::env::var("ROUNDS").ok().and_then(|rounds| rounds.parse().ok()).unwrap_or(10);
    let rate: u32 = std::env::var("RATE").ok().and_then(|rate| rate.parse().ok()).unwrap_or(1000);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let project = Project::new(&slipway, &example);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(bench(&project, rounds, rate))
    }));
    project.run(&["stop", "dev"]);
    project.run(&["daemon", "stop"]);
    let report = match outcome {
        Ok(report) => report,
        Err(panic) => std::panic::resume_unwind(panic),
    };
    std::fs::write(&results, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    println!("wrote {}", results.display());
}

async fn bench(project: &Project, rounds: usize, rate: u32) -> serde_json::Value {
    project.run_ok(&["deploy", "dev", "--env", "APP_VERSION=0"]);
    let status: serde_json::Value = serde_json::from_str(&project.run_ok(&["daemon", "status", "--json"])).unwrap();
    let proxy: SocketAddr = status["proxy"].as_str().unwrap().parse().unwrap();
    let load = Load::start(proxy, rate);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut switches = Vec::new();
    let mut rollbacks = Vec::new();
    let mut rollback_commands = Vec::new();
    for round in 1..=rounds {
        let version = format!("APP_VERSION={round}");
        let before = current_release(project);
        let out = project.run_ok(&["deploy", "dev", "--env", &version, "--json"]);
        let deployed: serde_json::Value = serde_json::from_str(&out).unwrap();
        let release = deployed["release"].as_u64().unwrap().to_string();
        let healthy = step_time(project, &release, "await_healthy");
        tokio::time::sleep(Duration::from_millis(500)).await;
        let switched = settled(&load.samples(), healthy, &release).expect("the new release never took all the traffic");
        switches.push(switched.duration_since(healthy).unwrap_or_default());

        let asked = SystemTime::now();
        let started = std::time::Instant::now();
        project.run_ok(&["rollback", "dev"]);
        rollback_commands.push(started.elapsed());
        tokio::time::sleep(Duration::from_millis(500)).await;
        let moved = settled(&load.samples(), asked, &before).expect("the rollback never moved all the traffic");
        rollbacks.push(moved.duration_since(asked).unwrap_or_default());
        println!(
            "round {round}: switch {:.1} ms, rollback {:.1} ms (command {:.0} ms)",
            millis(switches[round - 1]),
            millis(rollbacks[round - 1]),
            millis(rollback_commands[round - 1])
        );
    }
    let samples = load.stop().await;
    let failed = samples.iter().filter(|sample| sample.release.is_none()).count();
    let seconds = samples.last().zip(samples.first()).map_or(0.0, |(last, first)| {
        last.sent.duration_since(first.sent).unwrap_or_default().as_secs_f64()
    });
    let report = serde_json::json!({
        "rounds": rounds,
        "rate_requested": rate,
        "rate_achieved": samples.len() as f64 / seconds.max(f64::EPSILON),
        "requests": samples.len(),
        "failed": failed,
        "switch_ms": summary(&switches),
        "rollback_ms": summary(&rollbacks),
        "rollback_command_ms": summary(&rollback_commands),
    });
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
    report
}

/// The release serving now.
fn current_release(project: &Project) -> String {
    let status: serde_json::Value = serde_json::from_str(&project.run_ok(&["status", "dev", "--json"])).unwrap();
    status["services"][0]["serving"]["id"].as_u64().unwrap().to_string()
}

/// When release `id` recorded the step `name`.
fn step_time(project: &Project, id: &str, name: &str) -> SystemTime {
    let out = project.run_ok(&["releases", "dev", "--show", id, "--json"]);
    let release: serde_json::Value = serde_json::from_str(&out).unwrap();
    let step = release["steps"].as_array().unwrap().iter().find(|step| step["name"] == name).unwrap();
    let at: jiff::Timestamp = step["at"].as_str().unwrap().parse().unwrap();
    SystemTime::from(at)
}

/// The send time of the first request after `since` from which on every request was answered by
/// `release`.
fn settled(samples: &[Sample], since: SystemTime, release: &str) -> Option<SystemTime> {
    let after: Vec<&Sample> = samples.iter().filter(|sample| sample.sent >= since).collect();
    let last_other = after.iter().rposition(|sample| sample.release.as_deref() != Some(release));
    let first_settled = last_other.map_or(0, |index| index + 1);
    after.get(first_settled).map(|sample| sample.sent)
}

fn summary(durations: &[Duration]) -> serde_json::Value {
    let mut sorted: Vec<f64> = durations.iter().map(|duration| millis(*duration)).collect();
    sorted.sort_by(f64::total_cmp);
    serde_json::json!({ "median": median(&sorted), "max": sorted.last().copied().unwrap_or(0.0), "all": sorted })
}

/// The median of `sorted`: its middle value, or the mean of the two middle values when it has an
/// even count (10 rounds give 10 samples); 0 when it is empty.
fn median(sorted: &[f64]) -> f64 {
    let middle = sorted.len() / 2;
    match sorted.len() {
        0 => 0.0,
        count if count % 2 == 1 => sorted[middle],
        _ => (sorted[middle - 1] + sorted[middle]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_two_middle_values() {
        assert_eq!(median(&[]), 0.0);
        assert_eq!(median(&[3.0]), 3.0);
        assert_eq!(median(&[1.0, 2.0, 10.0]), 2.0);
        assert_eq!(median(&[1.0, 2.0, 4.0, 10.0]), 3.0);
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// A copy of the example in a scratch git repository, with quick checks.
struct Project {
    dir: tempfile::TempDir,
    slipway: PathBuf,
}

impl Project {
    fn new(slipway: &Path, example: &Path) -> Project {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("cp").arg("-r").arg(format!("{}/.", example.display())).arg(dir.path()).status().unwrap();
        assert!(status.success());
        let config = std::fs::read_to_string(dir.path().join("slipway.toml")).unwrap().replace(
            "[services.hello.health]",
            "replicas = 2\n\n[services.hello.deploy]\nverify = \"1s\"\nstop_grace = \"3s\"\n\n[services.hello.health]",
        );
        let config = config.replace("interval = \"1s\"", "interval = \"250ms\"");
        std::fs::write(dir.path().join("slipway.toml"), config).unwrap();
        for args in [&["init", "-q", "-b", "main"][..], &["add", "-A"], &["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "bench"]] {
            assert!(Command::new("git").arg("-C").arg(dir.path()).args(args).status().unwrap().success());
        }
        Project { dir, slipway: slipway.to_owned() }
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new(&self.slipway)
            .current_dir(self.dir.path())
            .args(args)
            .env("NO_COLOR", "1")
            .env("SLIPWAY_PROXY_LISTEN", "127.0.0.1:0")
            .output()
            .unwrap()
    }

    fn run_ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(output.status.success(), "slipway {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    }
}

/// A steady load through the proxy from keep-alive connections, every request timestamped.
struct Load {
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<Sample>>>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

/// Connections the load spreads over.
const CONNECTIONS: u32 = 16;

impl Load {
    fn start(proxy: SocketAddr, rate: u32) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let period = Duration::from_secs_f64(f64::from(CONNECTIONS) / f64::from(rate));
        let workers = (0..CONNECTIONS)
            .map(|_| {
                let (stop, samples) = (stop.clone(), samples.clone());
                tokio::spawn(worker(proxy, period, stop, samples))
            })
            .collect();
        Load { stop, samples, workers }
    }

    fn samples(&self) -> Vec<Sample> {
        let mut samples = self.samples.lock().unwrap().clone();
        samples.sort_by_key(|sample| sample.sent);
        samples
    }

    async fn stop(mut self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        for worker in std::mem::take(&mut self.workers) {
            worker.await.unwrap();
        }
        self.samples()
    }
}

async fn worker(proxy: SocketAddr, period: Duration, stop: Arc<AtomicBool>, samples: Arc<Mutex<Vec<Sample>>>) {
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sender = None;
    while !stop.load(Ordering::Relaxed) {
        ticks.tick().await;
        let sent = SystemTime::now();
        let release = request(proxy, &mut sender).await;
        if release.is_none() {
            sender = None;
        }
        samples.lock().unwrap().push(Sample { sent, release });
    }
}

/// One `GET /` on a kept-alive connection; the release that answered, or `None` on any failure.
async fn request(
    proxy: SocketAddr,
    sender: &mut Option<hyper::client::conn::http1::SendRequest<Empty<Bytes>>>,
) -> Option<String> {
    if sender.as_ref().is_none_or(|sender| sender.is_closed()) {
        let stream = tokio::net::TcpStream::connect(proxy).await.ok()?;
        let (connected, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.ok()?;
        tokio::spawn(connection);
        *sender = Some(connected);
    }
    let request = hyper::Request::get("/").header(hyper::header::HOST, "hello.dev.localhost").body(Empty::new()).ok()?;
    let exchange = async {
        let response = sender.as_mut()?.send_request(request).await.ok()?;
        if response.status() != 200 {
            return None;
        }
        let body = response.into_body().collect().await.ok()?.to_bytes();
        let text = String::from_utf8_lossy(&body).into_owned();
        text.rsplit_once('(').and_then(|(_, rest)| rest.split_once(')')).map(|(release, _)| release.to_owned())
    };
    tokio::time::timeout(Duration::from_secs(10), exchange).await.ok().flatten()
}
