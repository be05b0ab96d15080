//! The process runtime with the example service (`node src/server.js`) and plain shell commands.

use std::collections::BTreeMap;
use std::time::Duration;

use slipway_runtime::{
    Labels, ProcessRuntime, ReplicaSpec, ReplicaState, RestartPolicy, Runtime, RuntimeError,
    Workload,
};

use crate::support::{eventually, example_dir, get, until_healthy};

fn hello(name: &str) -> ReplicaSpec {
    ReplicaSpec::new(
        name,
        Workload::Command {
            command: "node src/server.js".to_owned(),
            working_dir: example_dir(),
        },
        3000,
    )
    .unwrap()
    .labels(labels(&[
        ("dev.slipway.service", "hello"),
        ("replica", name),
    ]))
}

fn shell(name: &str, command: &str) -> ReplicaSpec {
    ReplicaSpec::new(
        name,
        Workload::Command {
            command: command.to_owned(),
            working_dir: "/".into(),
        },
        3000,
    )
    .unwrap()
}

/// How long a test waits for something that takes moments, even on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(20);

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect()
}

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    labels(pairs)
}

#[tokio::test]
async fn a_replica_answers_on_its_port_logs_and_stops_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = ProcessRuntime::open(dir.path()).await.unwrap();

    let spec = hello("hello-1").envs(env(&[("SLIPWAY_RELEASE", "r1")]));
    let replica = runtime.start(&spec).await.unwrap();
    assert!(replica.address.ip().is_loopback());
    assert_eq!(replica.state, ReplicaState::Running);
    until_healthy(replica.address).await;
    let (status, body) = get(replica.address, "/version").await.unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("\"release\":\"r1\""), "{body}");

    let listed = runtime
        .list(&labels(&[("dev.slipway.service", "hello")]))
        .await
        .unwrap();
    assert_eq!(listed, vec![replica.clone()]);
    assert_eq!(
        runtime
            .list(&labels(&[("dev.slipway.service", "other")]))
            .await
            .unwrap(),
        vec![]
    );

    let logs = runtime.logs(&replica.id, Some(5)).await.unwrap();
    assert!(
        logs.iter()
            .any(|line| line.text.contains("listening on 127.0.0.1")),
        "{logs:?}"
    );
    let log = dir.path().join("hello-1/output.log");
    let log_mode = std::os::unix::fs::PermissionsExt::mode(&log.metadata().unwrap().permissions());
    assert_eq!(log_mode & 0o777, 0o600, "a replica's output is private");

    runtime
        .stop(&replica.id, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        get(replica.address, "/healthz").await,
        None,
        "nothing answers once stopped"
    );
    assert!(runtime.list(&Labels::new()).await.unwrap().is_empty());
    assert!(
        !dir.path().join("hello-1").exists(),
        "its directory is removed"
    );
    // Stopping what is gone succeeds.
    runtime
        .stop(&replica.id, Duration::from_secs(1))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_crashing_replica_is_restarted_on_the_same_address() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = ProcessRuntime::open(dir.path()).await.unwrap();
    let replica = runtime
        .start(&hello("crashy").envs(env(&[("CRASH_AFTER_SECONDS", "1")])))
        .await
        .unwrap();

    eventually(
        "the replica was restarted",
        Duration::from_secs(15),
        || async { runtime.list(&Labels::new()).await.unwrap()[0].restarts >= 1 },
    )
    .await;
    until_healthy(replica.address).await;
    let now = runtime.list(&Labels::new()).await.unwrap().remove(0);
    assert_eq!(now.address, replica.address);
    runtime
        .stop(&replica.id, Duration::from_secs(5))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_replica_that_must_not_restart_stays_exited_with_its_status() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = ProcessRuntime::open(dir.path()).await.unwrap();
    let spec = shell("fails", "exit 3").restart(RestartPolicy::Never);
    let replica = runtime.start(&spec).await.unwrap();

    eventually("the replica exited", Duration::from_secs(5), || async {
        runtime.list(&Labels::new()).await.unwrap()[0].state
            == ReplicaState::Exited { status: Some(3) }
    })
    .await;
    runtime
        .stop(&replica.id, Duration::from_secs(1))
        .await
        .unwrap();
}

#[tokio::test]
async fn on_failure_gives_up_after_its_limit() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = ProcessRuntime::open(dir.path()).await.unwrap();
    let spec = shell("gives-up", "exit 1").restart(RestartPolicy::OnFailure {
        max_restarts: Some(1),
    });
    runtime.start(&spec).await.unwrap();

    eventually("the replica gave up", Duration::from_secs(10), || async {
        let replica = runtime.list(&Labels::new()).await.unwrap().remove(0);
        replica.state == ReplicaState::Exited { status: Some(1) } && replica.restarts == 1
    })
    .await;
}

#[tokio::test]
async fn a_stop_kills_what_ignores_sigterm_after_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = ProcessRuntime::open(dir.path()).await.unwrap();
    // The shell and the sleep it starts both ignore SIGTERM; the marker says both are set up, so
    // the SIGTERM cannot come before the trap does.
    let trapped = dir.path().join("trapped");
    let spec = shell(
        "stubborn",
        &format!(
            "trap '' TERM; sleep 60 & : > '{}'; wait; sleep 60",
            trapped.display()
        ),
    );
    let replica = runtime.start(&spec).await.unwrap();
    eventually("the replica ignores SIGTERM", PATIENCE, || {
        let trapped = trapped.clone();
        async move { trapped.exists() }
    })
    .await;
    let pids_before = marked_processes(dir.path(), "stubborn");
    assert!(!pids_before.is_empty());

    let started = std::time::Instant::now();
    runtime
        .stop(&replica.id, Duration::from_millis(300))
        .await
        .unwrap();

    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "SIGTERM alone must not have ended it"
    );
    assert!(
        started.elapsed() < Duration::from_secs(50),
        "the stop must not wait for the 60 s sleeps"
    );
    assert!(
        marked_processes(dir.path(), "stubborn").is_empty(),
        "every process of the group is gone"
    );
}

#[tokio::test]
async fn a_new_supervisor_adopts_running_replicas_and_restarts_dead_ones() {
    let dir = tempfile::tempdir().unwrap();
    let first = ProcessRuntime::open(dir.path()).await.unwrap();
    let alive = first.start(&hello("alive")).await.unwrap();
    let doomed = first.start(&hello("doomed")).await.unwrap();
    until_healthy(alive.address).await;
    until_healthy(doomed.address).await;
    // A second supervisor of the same directory is refused while the first lives.
    assert!(matches!(
        ProcessRuntime::open(dir.path()).await,
        Err(RuntimeError::Locked { .. })
    ));
    drop(first);
    // While nobody supervises, one replica dies.
    for pid in marked_processes(dir.path(), "doomed") {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }

    let second = ProcessRuntime::open(dir.path()).await.unwrap();

    let replicas = second.list(&Labels::new()).await.unwrap();
    assert_eq!(replicas.len(), 2);
    assert_eq!(
        get(alive.address, "/healthz")
            .await
            .map(|(status, _)| status),
        Some(200),
        "untouched"
    );
    until_healthy(doomed.address).await;
    eventually(
        "the dead replica counts a restart",
        Duration::from_secs(5),
        || async {
            second
                .list(&labels(&[("replica", "doomed")]))
                .await
                .unwrap()[0]
                .restarts
                == 1
        },
    )
    .await;
    // The adopted replica is supervised: killed now, it comes back.
    for pid in marked_processes(dir.path(), "alive") {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    eventually(
        "the adopted replica was restarted",
        Duration::from_secs(10),
        || async { second.list(&labels(&[("replica", "alive")])).await.unwrap()[0].restarts == 1 },
    )
    .await;
    until_healthy(alive.address).await;
    for replica in [alive, doomed] {
        second
            .stop(&replica.id, Duration::from_secs(5))
            .await
            .unwrap();
    }
    assert!(marked_processes(dir.path(), "alive").is_empty());
}

#[tokio::test]
async fn a_child_left_without_a_record_is_killed_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let replica_dir = dir.path().join("half-started");
    std::fs::create_dir_all(&replica_dir).unwrap();
    let mut orphan = std::process::Command::new("sleep")
        .arg("60")
        .env("SLIPWAY_REPLICA_DIR", &replica_dir)
        .spawn()
        .unwrap();

    let runtime = ProcessRuntime::open(dir.path()).await.unwrap();

    let status = tokio::time::timeout(Duration::from_secs(5), async { orphan.wait() })
        .await
        .unwrap()
        .unwrap();
    assert!(!status.success(), "killed, not finished");
    assert!(!replica_dir.exists());
    assert!(runtime.list(&Labels::new()).await.unwrap().is_empty());
}

#[tokio::test]
async fn stats_measure_a_busy_replica() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = ProcessRuntime::open(dir.path()).await.unwrap();
    let replica = runtime
        .start(&shell(
            "busy",
            "exec node -e 'const a = Buffer.alloc(64 << 20, 1); for (;;) {}'",
        ))
        .await
        .unwrap();
    // Sampled until the replica is busy and has its buffer, however long a loaded machine takes
    // to start node: the test is that the samples see it, not how soon.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let stats = loop {
        let sample = runtime.stats(&replica.id).await.unwrap();
        if sample.cpu_percent > 20.0 && sample.memory_bytes > 64 << 20 {
            break sample;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the replica never showed busy: {sample:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        stats.memory_percent > 0.0 && stats.memory_percent < 100.0,
        "{stats:?}"
    );
    runtime
        .stop(&replica.id, Duration::from_secs(1))
        .await
        .unwrap();
}

#[tokio::test]
async fn what_cannot_start_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = ProcessRuntime::open(dir.path()).await.unwrap();
    let image = ReplicaSpec::new(
        "img",
        Workload::Image {
            reference: "hello:1".into(),
        },
        3000,
    )
    .unwrap();
    assert!(matches!(
        runtime.start(&image).await,
        Err(RuntimeError::Unsupported { .. })
    ));

    let nowhere = ReplicaSpec::new(
        "nowhere",
        Workload::Command {
            command: "true".into(),
            working_dir: dir.path().join("missing"),
        },
        3000,
    )
    .unwrap();
    let error = runtime.start(&nowhere).await.unwrap_err();
    assert!(
        matches!(&error, RuntimeError::Spawn { replica, .. } if replica == "nowhere"),
        "{error:?}"
    );

    runtime.start(&shell("twice", "sleep 30")).await.unwrap();
    assert!(matches!(
        runtime.start(&shell("twice", "sleep 30")).await,
        Err(RuntimeError::NameInUse { .. })
    ));
    runtime
        .stop(
            &slipway_runtime::ReplicaId::new("twice"),
            Duration::from_secs(1),
        )
        .await
        .unwrap();
    let unknown = slipway_runtime::ReplicaId::new("unknown");
    assert!(matches!(
        runtime.logs(&unknown, None).await,
        Err(RuntimeError::NotFound { .. })
    ));
}

/// The processes carrying the marker of replica `name` in `dir`.
fn marked_processes(dir: &std::path::Path, name: &str) -> Vec<i32> {
    let marker = format!("SLIPWAY_REPLICA_DIR={}", dir.join(name).display());
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
                environ
                    .split(|&b| b == 0)
                    .any(|entry| entry == marker.as_bytes())
            })
        })
        .filter(|pid| {
            // Zombies still list their environment as empty; a live process has its stat.
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                stat.rsplit_once(')')
                    .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
            })
        })
        .collect()
}
