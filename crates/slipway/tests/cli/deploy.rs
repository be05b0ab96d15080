//! `slipway deploy`, `rollback`, `status`, `releases`, `logs ENV SERVICE`, `scale`, `promote`,
//! `abort`, `stop` and `daemon`, with the example service on the process runtime, through the
//! daemon's real proxy, under a steady load from a bounded client in the test.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::support::{Project, Run};

/// Requests per second of the steady load.
const RATE: u32 = 240;
/// Threads the load spreads over.
const THREADS: u32 = 6;

/// The example with quicker checks, so a deploy takes about two seconds rather than six.
pub(crate) fn project() -> Project {
    let project = Project::example();
    let config = project.read("slipway.toml").replace(
        "[services.hello.health]",
        "[services.hello.deploy]\nverify = \"1s\"\nhealth_timeout = \"15s\"\nstop_grace = \"3s\"\n\n[services.hello.health]",
    );
    let config = config.replace("interval = \"1s\"", "interval = \"250ms\"");
    project.write("slipway.toml", &config);
    project.commit_all("quicker checks");
    project
}

/// Runs `slipway` with the daemon's proxy on a free port.
pub(crate) fn slipway(project: &Project, args: &[&str]) -> Run {
    project.slipway_with(args, &[("SLIPWAY_PROXY_LISTEN", "127.0.0.1:0")])
}

/// Stops every service and the daemon when the test ends, passed or not: nothing may outlive it.
pub(crate) struct Cleanup<'a>(pub(crate) &'a Project);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for environment in ["dev", "staging"] {
            let _ = slipway(self.0, &["stop", environment]);
        }
        let _ = slipway(self.0, &["daemon", "stop"]);
    }
}

fn proxy(project: &Project) -> SocketAddr {
    let status = slipway(project, &["daemon", "status", "--json"]).success();
    let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    status["proxy"].as_str().unwrap().parse().unwrap()
}

pub(crate) fn json(run: Run) -> serde_json::Value {
    serde_json::from_str(&run.success().stdout).unwrap()
}

#[test]
fn deploy_status_rollback_scale_logs_and_stop() {
    let project = project();
    let _cleanup = Cleanup(&project);

    let first = slipway(
        &project,
        &[
            "deploy",
            "dev",
            "--env",
            "APP_VERSION=1",
            "--reason",
            "first",
        ],
    )
    .success();
    assert!(
        first
            .stdout
            .contains("release 1 of hello serves dev: http://hello.dev.localhost:"),
        "{}",
        first.stdout
    );
    assert!(
        first.stderr.contains("starting the slipway daemon"),
        "{}",
        first.stderr
    );
    let first_commit = project.git(&["rev-parse", "HEAD"]);
    let proxy = proxy(&project);
    let load = Load::start(proxy, "hello.dev.localhost");

    project.commit_all("the second release");
    let second_commit = project.git(&["rev-parse", "HEAD"]);
    slipway(&project, &["deploy", "dev", "--env", "APP_VERSION=2"]).success();
    let unchanged = slipway(&project, &["deploy", "dev", "--env", "APP_VERSION=2"]).success();
    assert!(
        unchanged
            .stdout
            .contains("already serves dev with the same artifact and config"),
        "{}",
        unchanged.stdout
    );
    let status = json(slipway(&project, &["status", "dev", "--json"]));
    let service = &status["services"][0];
    assert_eq!(service["serving"]["id"], 2);
    assert_eq!(
        service["serving"]["revision"],
        serde_json::json!({"commit": second_commit, "ref": "main", "dirty": false})
    );
    assert_eq!(service["warm"]["id"], 1);
    assert_eq!(service["traffic"].as_array().unwrap().len(), 2);
    assert!(
        service["url"]
            .as_str()
            .unwrap()
            .starts_with("http://hello.dev.localhost:")
    );

    let rollback = slipway(&project, &["rollback", "dev", "--reason", "checking"]).success();
    assert!(
        rollback
            .stdout
            .contains("traffic moved from release 2 to release 1 in"),
        "{}",
        rollback.stdout
    );
    assert_eq!(
        get(proxy, "hello.dev.localhost", "/version").1,
        format!(r#"{{"service":"hello","version":"1","release":"1","commit":"{first_commit}"}}"#),
        "a rollback serves the first release with its own commit"
    );

    let scaled = slipway(&project, &["scale", "dev", "hello", "3", "--json"]);
    assert_eq!(json(scaled)["to"], 3);
    let logs = slipway(&project, &["logs", "dev", "hello", "--tail", "5"]).success();
    assert_eq!(
        logs.stdout
            .matches(&format!("==> {}-dev-hello-r1-", project.name()))
            .count(),
        3,
        "{}",
        logs.stdout
    );
    assert!(
        logs.stdout.contains("listening on 127.0.0.1"),
        "{}",
        logs.stdout
    );

    let releases = json(slipway(&project, &["releases", "dev", "hello", "--json"]));
    let statuses: Vec<&str> = releases
        .as_array()
        .unwrap()
        .iter()
        .map(|release| release["outcome"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["succeeded", "succeeded"]);
    assert_eq!(releases[1]["reason"], "first");
    assert_eq!(releases[1]["revision"]["commit"], first_commit.as_str());
    let table = slipway(&project, &["releases", "dev"]).success();
    assert!(
        table.stdout.contains("COMMIT")
            && table
                .stdout
                .contains(&format!("{} (main)", &second_commit[..12])),
        "{}",
        table.stdout
    );
    let shown = slipway(&project, &["releases", "dev", "--show", "2"]).success();
    assert!(
        shown
            .stdout
            .contains("switched all traffic to release 2; release 1 stays warm for 5m"),
        "{}",
        shown.stdout
    );

    let report = load.stop();
    report.assert_no_failures();

    slipway(&project, &["stop", "dev"]).success();
    assert_eq!(
        get(proxy, "hello.dev.localhost", "/").0,
        404,
        "no route once stopped"
    );
    let stopped = slipway(&project, &["daemon", "stop"]).success();
    assert!(
        stopped.stderr.contains("stopped the daemon"),
        "{}",
        stopped.stderr
    );
    slipway(&project, &["daemon", "status"]).failure(1);
}

#[test]
fn a_controller_killed_mid_deploy_is_converged_by_the_next_run() {
    let project = project();
    // Long enough to be killed while verifying.
    let config = project
        .read("slipway.toml")
        .replace("verify = \"1s\"", "verify = \"5s\"");
    project.write("slipway.toml", &config);
    project.commit_all("a longer verification");
    let commit = project.git(&["rev-parse", "HEAD"]);
    let _cleanup = Cleanup(&project);
    slipway(&project, &["deploy", "dev", "--env", "APP_VERSION=1"]).success();
    let proxy = proxy(&project);
    let load = Load::start(proxy, "hello.dev.localhost");

    // Killed while the new replica starts (it takes 2 s to listen): traffic never moved.
    let mut deploy = spawn(
        &project,
        &[
            "deploy",
            "dev",
            "--env",
            "APP_VERSION=2",
            "--env",
            "STARTUP_DELAY_SECONDS=2",
        ],
    );
    wait_for_step(&project, 2, "start");
    kill(&mut deploy);
    // Killed while the new release is verified: it had all the traffic.
    let mut verify = spawn(&project, &["deploy", "dev", "--env", "APP_VERSION=3"]);
    wait_for_step(&project, 3, "switch");
    kill(&mut verify);

    let rerun = slipway(&project, &["deploy", "dev", "--env", "APP_VERSION=3"]).success();

    assert!(
        rerun
            .stdout
            .contains("release 3 of hello already serves dev"),
        "{}\n{}",
        rerun.stdout,
        rerun.stderr
    );
    let releases = json(slipway(&project, &["releases", "dev", "--json"]));
    let by_id = |id: u64| {
        releases
            .as_array()
            .unwrap()
            .iter()
            .find(|release| release["id"] == id)
            .unwrap()
            .clone()
    };
    let killed = by_id(2);
    assert_eq!(killed["outcome"]["status"], "failed", "{killed}");
    assert!(
        killed["outcome"]["reason"]
            .as_str()
            .unwrap()
            .contains("stopped during await_healthy"),
        "{killed}"
    );
    assert_eq!(by_id(3)["outcome"]["status"], "succeeded");
    let status = json(slipway(&project, &["status", "dev", "--json"]));
    let replicas = status["services"][0]["replicas"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        replicas.iter().all(|replica| replica["release"] != 2),
        "release 2 left no replica: {replicas:?}"
    );
    let report = load.stop();
    report.assert_no_failures();
    assert_eq!(
        get(proxy, "hello.dev.localhost", "/version").1,
        format!(r#"{{"service":"hello","version":"3","release":"3","commit":"{commit}"}}"#)
    );
}

#[test]
fn a_container_release_killed_mid_deploy_is_converged_and_rolled_back() {
    crate::support::require_engine();
    let project = project();
    let config = project.read("slipway.toml");
    project.write(
        "slipway.toml",
        &config.replace("port = 3000", "port = 3000\nruntime = \"container\""),
    );
    project.commit_all("containers");
    let commit = project.git(&["rev-parse", "HEAD"]);
    let _cleanup = Cleanup(&project);
    let built = slipway(
        &project,
        &["deploy", "dev", "--build", "--env", "APP_VERSION=1"],
    );
    let built = built.success();
    assert!(
        built.stdout.contains("release 1 of hello serves dev"),
        "{}\n{}",
        built.stdout,
        built.stderr
    );
    let proxy = proxy(&project);
    let load = Load::start(proxy, "hello.dev.localhost");

    let mut deploy = spawn(
        &project,
        &[
            "deploy",
            "dev",
            "--env",
            "APP_VERSION=2",
            "--env",
            "STARTUP_DELAY_SECONDS=2",
        ],
    );
    wait_for_step(&project, 2, "start");
    kill(&mut deploy);
    let rerun = slipway(&project, &["deploy", "dev", "--env", "APP_VERSION=3"]).success();
    assert!(
        rerun.stdout.contains("release 3 of hello serves dev"),
        "{}\n{}",
        rerun.stdout,
        rerun.stderr
    );
    let rollback = slipway(&project, &["rollback", "dev"]).success();
    assert!(
        rollback
            .stdout
            .contains("traffic moved from release 3 to release 1"),
        "{}",
        rollback.stdout
    );

    let report = load.stop();
    report.assert_no_failures();
    let releases = json(slipway(&project, &["releases", "dev", "--json"]));
    let killed = releases
        .as_array()
        .unwrap()
        .iter()
        .find(|release| release["id"] == 2)
        .unwrap();
    assert_eq!(killed["outcome"]["status"], "failed", "{killed}");
    assert_eq!(killed["runtime"], "container");
    let status = json(slipway(&project, &["status", "dev", "--json"]));
    let replicas = status["services"][0]["replicas"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        replicas.iter().all(|replica| replica["release"] != 2),
        "release 2 left no container: {replicas:?}"
    );
    assert_eq!(
        releases[0]["revision"],
        serde_json::json!({"commit": commit, "ref": "main", "dirty": false}),
        "the image's revision label names the commit"
    );
    assert_eq!(
        get(proxy, "hello.dev.localhost", "/version").1,
        format!(r#"{{"service":"hello","version":"1","release":"1","commit":"{commit}"}}"#)
    );
}

#[test]
fn a_release_made_where_the_environment_names_no_user_is_by_the_account_running_it() {
    let project = project();
    let _cleanup = Cleanup(&project);
    let without_user = [
        ("SLIPWAY_PROXY_LISTEN", "127.0.0.1:0"),
        ("USER", ""),
        ("LOGNAME", ""),
    ];
    project
        .slipway_with(&["deploy", "dev"], &without_user)
        .success();

    let account = Command::new("id").arg("-un").output().unwrap();
    let account = String::from_utf8(account.stdout).unwrap();
    let status = json(slipway(&project, &["status", "dev", "--json"]));
    assert_eq!(
        status["services"][0]["serving"]["created_by"],
        account.trim()
    );
}

#[test]
fn a_release_from_a_dirty_tree_records_and_passes_on_its_commit_marked_dirty() {
    let project = project();
    let _cleanup = Cleanup(&project);
    let commit = project.git(&["rev-parse", "HEAD"]);
    project.write("src/uncommitted.js", "// not in any commit\n");

    slipway(&project, &["deploy", "dev"]).success();

    let proxy = proxy(&project);
    let version = get(proxy, "hello.dev.localhost", "/version").1;
    assert!(
        version.contains(&format!(r#""commit":"{commit}-dirty""#)),
        "{version}"
    );
    let releases = json(slipway(&project, &["releases", "dev", "--json"]));
    assert_eq!(
        releases[0]["revision"],
        serde_json::json!({"commit": commit, "ref": "main", "dirty": true})
    );
    let status = json(slipway(&project, &["status", "dev", "--json"]));
    let port = status["services"][0]["replicas"][0]["address"]
        .as_str()
        .unwrap()
        .rsplit_once(':')
        .unwrap()
        .1
        .to_owned();
    let environ = replica_environment(&port);
    assert!(
        environ.contains(&"SLIPWAY_REF=main".to_owned())
            && environ.contains(&format!("SLIPWAY_COMMIT={commit}-dirty")),
        "{environ:?}"
    );
    let shown = slipway(&project, &["status", "dev"]).success();
    assert!(
        shown
            .stdout
            .contains(&format!("commit {}-dirty (main)", &commit[..12])),
        "{}",
        shown.stdout
    );
}

/// The environment of the process replica listening on `port` (its `PORT`).
fn replica_environment(port: &str) -> Vec<String> {
    replica_process(port)
        .unwrap_or_else(|| panic!("no replica listens on {port}"))
        .1
}

/// The process id and environment of a live process replica listening on `port` (its `PORT`).
fn replica_process(port: &str) -> Option<(u32, Vec<String>)> {
    let wanted = format!("PORT={port}");
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            // A zombie keeps its environment readable for a moment; it no longer runs.
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                !stat
                    .rsplit_once(')')
                    .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
            })
        })
        .filter_map(|pid| {
            let environ = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
            let entries = environ
                .split(|&b| b == 0)
                .map(|entry| String::from_utf8_lossy(entry).into_owned())
                .collect::<Vec<String>>();
            Some((pid, entries))
        })
        .find(|(_, entries)| {
            entries.contains(&wanted) && entries.contains(&"SLIPWAY_SERVICE=hello".to_owned())
        })
}

#[test]
fn a_canary_is_promoted_from_the_command_line() {
    let project = project();
    let config = project.read("slipway.toml").replace(
        "stop_grace = \"3s\"",
        "stop_grace = \"3s\"\n\n[services.hello.deploy.canary]\nsteps = [{ weight = 25 }]",
    );
    project.write("slipway.toml", &config);
    project.commit_all("a canary that waits");
    let _cleanup = Cleanup(&project);
    slipway(&project, &["deploy", "dev", "--env", "APP_VERSION=1"]).success();

    let paused = slipway(
        &project,
        &[
            "deploy",
            "dev",
            "--strategy",
            "canary",
            "--env",
            "APP_VERSION=2",
        ],
    )
    .success();
    assert!(
        paused
            .stdout
            .contains("is a canary with 25% of the traffic"),
        "{}",
        paused.stdout
    );
    let status = slipway(&project, &["status", "dev"]).success();
    assert!(status.stdout.contains("paused at 25%"), "{}", status.stdout);
    let refused = slipway(&project, &["deploy", "dev", "--env", "APP_VERSION=3"]).failure(1);
    assert!(
        refused.stderr.contains("paused at 25% of the traffic"),
        "{}",
        refused.stderr
    );

    slipway(&project, &["promote", "dev"]).success();

    let status = json(slipway(&project, &["status", "dev", "--json"]));
    assert_eq!(status["services"][0]["serving"]["id"], 2);
    slipway(&project, &["abort", "dev"]).failure(2);
}

#[test]
fn bad_input_is_refused_and_the_current_release_keeps_serving() {
    let project = project();
    let _cleanup = Cleanup(&project);
    let unknown = slipway(&project, &["deploy", "qa"]).failure(2);
    assert!(
        unknown.stderr.contains("no environment named `qa`"),
        "{}",
        unknown.stderr
    );
    let nothing = slipway(&project, &["rollback", "dev"]).failure(2);
    assert!(
        nothing
            .stderr
            .contains("hello in dev has no release serving"),
        "{}",
        nothing.stderr
    );
    slipway(&project, &["deploy", "dev", "--env", "APP_VERSION=1"]).success();
    let commit = project.git(&["rev-parse", "HEAD"]);
    let proxy = proxy(&project);

    let never = slipway(&project, &["deploy", "dev", "--env", "FAIL_HEALTHCHECK=1"]).failure(1);
    assert!(
        never.stderr.contains("release 2 of hello failed"),
        "{}",
        never.stderr
    );
    assert!(
        never
            .stderr
            .contains("did not pass its health check within 15s"),
        "{}",
        never.stderr
    );
    let missing = slipway(&project, &["rollback", "dev", "--to", "99"]).failure(2);
    assert!(
        missing
            .stderr
            .contains("release 99 is not a release of hello in dev"),
        "{}",
        missing.stderr
    );
    let failed_target = slipway(&project, &["rollback", "dev", "--to", "2"]).failure(2);
    assert!(
        failed_target.stderr.contains("never served (failed)"),
        "{}",
        failed_target.stderr
    );
    let no_image = slipway(
        &project,
        &[
            "deploy",
            "dev",
            "--runtime",
            "container",
            "--image",
            "localhost/slipway-test/nothing:0",
        ],
    )
    .failure(2);
    assert!(
        no_image
            .stderr
            .contains("no image localhost/slipway-test/nothing:0"),
        "{}",
        no_image.stderr
    );
    let valid = project.read("slipway.toml");
    project.write(
        "slipway.toml",
        &valid.replace(
            "verify = \"1s\"",
            "verify = \"1s\"\nstrategy = \"big-bang\"",
        ),
    );
    let invalid = slipway(&project, &["deploy", "dev"]).failure(2);
    assert!(
        invalid
            .stderr
            .contains("services.hello.deploy.strategy: unknown variant `big-bang`"),
        "{}",
        invalid.stderr
    );
    // Put it back, so the cleanup can read it.
    project.write("slipway.toml", &valid);

    assert_eq!(
        get(proxy, "hello.dev.localhost", "/version").1,
        format!(r#"{{"service":"hello","version":"1","release":"1","commit":"{commit}"}}"#)
    );
}

#[test]
fn a_busy_default_proxy_port_moves_the_proxy_to_a_free_one_and_says_so() {
    let project = project();
    let _cleanup = Cleanup(&project);
    // Held for the whole test, by this test or, when binding fails, by whoever holds it already.
    let _held = std::net::TcpListener::bind("127.0.0.1:7080");

    let output = Command::new(env!("CARGO_BIN_EXE_slipway"))
        .current_dir(project.path())
        .args(["deploy", "dev"])
        .env("NO_COLOR", "1")
        .env_remove("SLIPWAY_PROXY_LISTEN")
        .env_remove("SLIPWAY_HOME")
        .env_remove("SLIPWAY_CONFIG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "127.0.0.1:7080 is in use (another project's daemon?): the proxy serves on 127.0.0.1:"
        ),
        "{stderr}"
    );

    let daemon = json(slipway(&project, &["daemon", "status", "--json"]));
    assert_eq!(daemon["proxy_fallback_from"], "127.0.0.1:7080");
    let proxy: SocketAddr = daemon["proxy"].as_str().unwrap().parse().unwrap();
    assert_ne!(proxy.port(), 7080);
    let status = json(slipway(&project, &["status", "dev", "--json"]));
    assert_eq!(
        status["services"][0]["url"],
        format!("http://hello.dev.localhost:{}", proxy.port())
    );
    assert_eq!(get(proxy, "hello.dev.localhost", "/healthz").0, 200);
}

#[test]
fn daemon_stop_all_stops_every_replica_with_the_daemon() {
    let project = project();
    let _cleanup = Cleanup(&project);
    slipway(&project, &["deploy", "dev"]).success();
    slipway(&project, &["deploy", "staging"]).success();
    let status = json(slipway(&project, &["status", "--json"]));
    let ports: Vec<String> = status["services"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|service| service["replicas"].as_array().unwrap().clone())
        .map(|replica| {
            let address = replica["address"].as_str().unwrap();
            address.rsplit_once(':').unwrap().1.to_owned()
        })
        .collect();
    assert_eq!(ports.len(), 2, "{status}");
    for port in &ports {
        assert!(
            replica_process(port).is_some(),
            "the replica on {port} runs"
        );
    }

    let stopped = slipway(&project, &["daemon", "stop", "--all"]).success();

    assert!(
        stopped.stdout.contains("hello in dev: 1 replicas stopped")
            && stopped
                .stdout
                .contains("hello in staging: 1 replicas stopped"),
        "{}",
        stopped.stdout
    );
    let said = format!("{}{}", stopped.stdout, stopped.stderr);
    assert!(
        said.contains("and every replica") && !said.contains("keep running"),
        "{said}"
    );
    for port in &ports {
        assert_eq!(replica_process(port), None, "the replica on {port} stopped");
    }
    slipway(&project, &["daemon", "status"]).failure(1);
    let after = slipway(&project, &["status"]).success();
    assert!(
        after.stdout.contains("nothing is deployed"),
        "{}",
        after.stdout
    );
}

#[test]
fn logs_follow_prints_lines_written_after_it_started() {
    let project = project();
    let _cleanup = Cleanup(&project);
    slipway(&project, &["deploy", "dev"]).success();
    let status = json(slipway(&project, &["status", "dev", "--json"]));
    let address = status["services"][0]["replicas"][0]["address"]
        .as_str()
        .unwrap()
        .to_owned();
    let port = address.rsplit_once(':').unwrap().1.to_owned();
    let (mut follow, lines) = follow_logs(&project);
    // Only guards against a hang: every wait below ends on output.
    let next_line = || lines.recv_timeout(Duration::from_secs(60)).ok();

    // The last line written before it started: it follows.
    let first = next_line().expect("the last line of output");
    assert!(first.contains("-dev-hello-r1-1 |"), "{first}");
    // A line the replica writes now, after it started: asked to stop, the service says so.
    let node = node_of_replica(&port);
    let signalled = Command::new("kill")
        .args(["-TERM", &node.to_string()])
        .status()
        .unwrap();
    assert!(signalled.success());
    let mut seen = vec![first];
    while !seen.last().unwrap().contains("SIGTERM: draining") {
        seen.push(next_line().unwrap_or_else(|| panic!("no new line after {seen:?}")));
    }

    kill(&mut follow);
}

#[test]
fn logs_follow_picks_up_replicas_started_after_it_began() {
    let project = project();
    let _cleanup = Cleanup(&project);
    slipway(&project, &["deploy", "dev"]).success();
    let (mut follow, lines) = follow_logs(&project);
    // Only guards against a hang: every wait below ends on output.
    let next_line = || lines.recv_timeout(Duration::from_secs(60)).ok();
    let first = next_line().expect("the last line of the first replica");
    assert!(first.contains("-dev-hello-r1-1 |"), "{first}");

    // A second replica starts after the follower began: its first lines are followed too.
    slipway(&project, &["scale", "dev", "hello", "2"]).success();
    let mut seen = vec![first];
    while !seen
        .last()
        .is_some_and(|line| line.contains("-dev-hello-r1-2 |") && line.contains("listening on"))
    {
        seen.push(next_line().unwrap_or_else(|| panic!("the new replica never showed: {seen:?}")));
    }

    kill(&mut follow);
}

/// Starts `slipway logs dev hello --follow --tail 1`, its output lines sent as they come.
fn follow_logs(project: &Project) -> (Child, std::sync::mpsc::Receiver<String>) {
    let mut follow = Command::new(env!("CARGO_BIN_EXE_slipway"))
        .current_dir(project.path())
        .args(["logs", "dev", "hello", "--follow", "--tail", "1"])
        .env("NO_COLOR", "1")
        .env_remove("SLIPWAY_HOME")
        .env_remove("SLIPWAY_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (sender, lines) = std::sync::mpsc::channel();
    let stdout = follow.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    (follow, lines)
}

/// The process id of the node process of the replica listening on `port`.
fn node_of_replica(port: &str) -> u32 {
    let wanted = format!("PORT={port}");
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .find(|pid| {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            comm.trim() == "node"
                && std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
                    environ
                        .split(|&b| b == 0)
                        .any(|entry| entry == wanted.as_bytes())
                })
        })
        .unwrap_or_else(|| panic!("no node process listens on {port}"))
}

#[test]
fn a_port_in_use_stops_the_daemon_with_a_clear_error() {
    let project = project();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();

    let run = project
        .slipway_with(&["deploy", "dev"], &[("SLIPWAY_PROXY_LISTEN", &address)])
        .failure(1);

    assert!(
        run.stderr.contains("cannot start the slipway daemon"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&address),
        "the address is named: {}",
        run.stderr
    );
    slipway(&project, &["status"]).success();
}

/// Runs `slipway` in the background.
fn spawn(project: &Project, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_slipway"))
        .current_dir(project.path())
        .args(args)
        .env("NO_COLOR", "1")
        .env("SLIPWAY_PROXY_LISTEN", "127.0.0.1:0")
        .env_remove("SLIPWAY_HOME")
        .env_remove("SLIPWAY_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// SIGKILL, then reap it, so its process id reads as gone.
fn kill(child: &mut Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Waits until release `id` has recorded a step named `step`.
fn wait_for_step(project: &Project, id: u64, step: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let run = slipway(
            project,
            &["releases", "dev", "--show", &id.to_string(), "--json"],
        );
        if run.code == 0 {
            let release: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
            if release["steps"]
                .as_array()
                .unwrap()
                .iter()
                .any(|recorded| recorded["name"] == step)
            {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "release {id} never recorded `{step}`"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One HTTP GET through the proxy: the status and body (0 and the error when it failed).
pub(crate) fn get(proxy: SocketAddr, host: &str, path: &str) -> (u16, String) {
    let exchange = || -> std::io::Result<(u16, String)> {
        let mut stream = TcpStream::connect(proxy)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        // HTTP/1.0: the answer ends with the connection, never chunked.
        write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n")?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|status| status.parse().ok())
            .unwrap_or(0);
        let body = response
            .split_once("\r\n\r\n")
            .map_or("", |(_, body)| body)
            .trim()
            .to_owned();
        let from_proxy = response
            .to_ascii_lowercase()
            .contains("slipway-proxy-error");
        Ok((
            status,
            if from_proxy {
                format!("(from the proxy) {body}")
            } else {
                body
            },
        ))
    };
    exchange().unwrap_or_else(|error| (0, error.to_string()))
}

/// A steady load of `GET /` through the proxy, from a few threads, until stopped; bounded to
/// five minutes.
pub(crate) struct Load {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    report: Arc<Mutex<LoadReport>>,
}

#[derive(Debug, Default)]
pub(crate) struct LoadReport {
    sent: u64,
    failures: Vec<String>,
}

impl LoadReport {
    #[track_caller]
    pub(crate) fn assert_no_failures(&self) {
        assert!(
            self.sent > u64::from(RATE),
            "the load sent only {}",
            self.sent
        );
        assert!(
            self.failures.is_empty(),
            "{} of {} requests failed: {:?}",
            self.failures.len(),
            self.sent,
            &self.failures[..self.failures.len().min(5)]
        );
    }
}

impl Load {
    pub(crate) fn start(proxy: SocketAddr, host: &str) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let report = Arc::new(Mutex::new(LoadReport::default()));
        let period = Duration::from_secs_f64(f64::from(THREADS) / f64::from(RATE));
        let threads = (0..THREADS)
            .map(|_| {
                let (stop, report, host) = (stop.clone(), report.clone(), host.to_owned());
                std::thread::spawn(move || {
                    let deadline = Instant::now() + Duration::from_secs(300);
                    let mut next = Instant::now();
                    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                        let (status, body) = get(proxy, &host, "/");
                        let mut report = report.lock().unwrap();
                        report.sent += 1;
                        // The app's own 500s (ERROR_RATE) are answers; anything else 5xx, or no
                        // answer at all, is a dropped request.
                        if status == 0
                            || (status >= 500 && !body.contains("injected failure"))
                            || status == 404
                        {
                            report.failures.push(format!("{status}: {body}"));
                        }
                        drop(report);
                        next += period;
                        std::thread::sleep(next.saturating_duration_since(Instant::now()));
                    }
                })
            })
            .collect();
        Load {
            stop,
            threads,
            report,
        }
    }

    pub(crate) fn stop(self) -> LoadReport {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads {
            thread.join().unwrap();
        }
        std::mem::take(&mut *self.report.lock().unwrap())
    }
}

/// A process service with limits: where this machine's cgroup v2 hierarchy is delegated, the
/// replica runs in its own group under them; where not, the deploy says why once, and `status`
/// and `daemon status` show it. The test follows what the daemon found and says which it is.
#[test]
fn process_limits_are_enforced_or_the_deploy_says_why_not() {
    let project = project();
    let _cleanup = Cleanup(&project);
    let config = project.read("slipway.toml").replace(
        "[services.hello.health]",
        "[services.hello.resources]\ncpus = 0.5\nmemory = \"256Mi\"\n\n[services.hello.health]",
    );
    project.write("slipway.toml", &config);
    project.commit_all("limits");

    let deployed = slipway(&project, &["deploy", "dev"]).success();
    let daemon = json(slipway(&project, &["daemon", "status", "--json"]));
    let limits = &daemon["process_limits"];
    let status = json(slipway(&project, &["status", "dev", "--json"]));
    let service = &status["services"][0];
    assert_eq!(&service["limits"], limits);
    let shown = slipway(&project, &["status", "dev"]).success().stdout;
    let unified = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").is_file();
    match limits["state"].as_str().unwrap() {
        "not_enforced" => {
            let reason = limits["reason"].as_str().unwrap();
            eprintln!("this machine does not confine process replicas: {reason}");
            if !unified {
                assert!(
                    reason.contains("cgroup v1") || reason.contains("hybrid"),
                    "{reason}"
                );
            }
            let warning = format!(
                "warning: limits not applied to process replicas: {reason}; use runtime = \"container\""
            );
            assert_eq!(
                deployed.stderr.matches(&warning).count(),
                1,
                "said once: {}",
                deployed.stderr
            );
            assert!(
                shown.contains("limits not applied to process replicas"),
                "{shown}"
            );
        }
        "enforced" => {
            eprintln!(
                "this machine confines process replicas under {}",
                limits["base"]
            );
            assert!(unified, "enforced without a cgroup v2 mount");
            assert!(
                !deployed.stderr.contains("limits not applied"),
                "{}",
                deployed.stderr
            );
            let address = service["replicas"][0]["address"].as_str().unwrap();
            let port = address.rsplit_once(':').unwrap().1;
            let pid = node_of_replica(port);
            let own = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
            let group = own.trim_end().rsplit_once("::").unwrap().1.to_owned();
            assert!(
                group.contains("/replica-") && group.ends_with("-r1-1"),
                "{own}"
            );
            let dir = format!("/sys/fs/cgroup{group}");
            let read = |file: &str| std::fs::read_to_string(format!("{dir}/{file}")).unwrap();
            assert_eq!(read("memory.max").trim(), (256u64 << 20).to_string());
            assert_eq!(read("cpu.max").trim(), "50000 100000");
            assert!(
                shown.contains("limits applied to process replicas"),
                "{shown}"
            );
        }
        other => panic!("unknown limits state {other}: {daemon}"),
    }
}

/// The engine's answer to a `docker` command (the CLI `scripts/install-test-tools` installs).
fn docker(args: &[&str]) -> String {
    let mut command = Command::new("docker");
    // The engine `require_engine` found: DOCKER_HOST, else Podman's socket, else Docker's.
    let podman = "/run/podman/podman.sock";
    if std::env::var_os("DOCKER_HOST").is_none() && std::path::Path::new(podman).exists() {
        command.env("DOCKER_HOST", format!("unix://{podman}"));
    }
    let output = command.args(args).output().unwrap();
    assert!(
        output.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A container replica is told to reach services at `slipway-host`, which is the proxy from
/// inside it; the environment's network lasts as long as its containers.
#[test]
fn a_container_reaches_services_through_the_proxy_and_its_network_goes_with_it() {
    crate::support::require_engine();
    let project = project();
    let config = project.read("slipway.toml");
    project.write(
        "slipway.toml",
        &config.replace("port = 3000", "port = 3000\nruntime = \"container\""),
    );
    project.commit_all("containers");
    let _cleanup = Cleanup(&project);
    slipway(
        &project,
        &["deploy", "dev", "--build", "--env", "APP_VERSION=1"],
    )
    .success();
    let proxy = proxy(&project);
    let status = json(slipway(&project, &["status", "dev", "--json"]));
    let container = status["services"][0]["replicas"][0]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let network = format!("slipway-{}-dev", project.name());

    let env = docker(&[
        "inspect",
        "--format",
        "{{range .Config.Env}}{{println .}}{{end}}",
        &container,
    ]);
    let url = format!("http://slipway-host:{}", proxy.port());
    assert!(
        env.lines()
            .any(|line| line == format!("SLIPWAY_HELLO_URL={url}")),
        "{env}"
    );
    let get = "require('http').get(process.env.SLIPWAY_HELLO_URL + '/version', \
               { headers: { host: process.env.SLIPWAY_HELLO_HOST } }, (r) => \
               { let body = ''; r.on('data', (d) => (body += d)); r.on('end', () => console.log(r.statusCode, body)); })";
    let answer = docker(&["exec", &container, "node", "-e", get]);
    assert!(
        answer.starts_with("200 ") && answer.contains(r#""version":"1""#),
        "{answer}"
    );
    let networks = || docker(&["network", "ls", "--format", "{{.Name}}"]);
    assert_eq!(
        networks().lines().filter(|name| *name == network).count(),
        1
    );

    slipway(&project, &["daemon", "stop", "--all"]).success();
    assert!(
        !networks().lines().any(|name| name == network),
        "{network} outlived its last container"
    );
}
