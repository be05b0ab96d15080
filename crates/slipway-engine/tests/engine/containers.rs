//! Containers against the real engine: running, reaching, measuring, logs, exec, lifecycle.

use std::time::Duration;

use futures::StreamExt;
use slipway_engine::testing::{TestScope, engine};
use slipway_engine::{
    ContainerEngine, ContainerFilter, ContainerSpec, ContainerStatus, EngineError, ExecSpec,
    HealthCheck, HealthTest, LogOptions, LogStream, Port, PortBinding, Resources, RestartPolicy,
};

use crate::support::{base, http_get};

const MIB: u64 = 1 << 20;

#[tokio::test]
async fn an_httpd_container_with_env_ports_labels_and_limits_serves_http() {
    let engine = engine().await;
    let image = base(&engine).await;
    let scope = TestScope::new(&engine, "httpd");
    let (key, value) = scope.label();
    let name = scope.name("web");
    let spec = ContainerSpec::new(&image)
        .name(&name)
        .cmd(["sh", "-c", "mkdir -p /www && echo \"$GREETING\" > /www/index.html && exec httpd -f -p 8080 -h /www"])
        .env("GREETING", "hello from slipway")
        .label(key, value)
        .label("dev.slipway.role", "web")
        .publish(PortBinding::loopback(Port::tcp(8080)))
        .resources(Resources { nano_cpus: Some(500_000_000), memory_bytes: Some(64 * MIB) })
        .restart(RestartPolicy::OnFailure { max_retries: 2 })
        .healthcheck(HealthCheck {
            test: HealthTest::Exec(vec!["wget".into(), "-q".into(), "-O-".into(), "http://127.0.0.1:8080/".into()]),
            interval: Some(Duration::from_secs(5)),
            timeout: Some(Duration::from_secs(2)),
            retries: Some(3),
            start_period: None,
        });
    let id = engine.create_container(&spec).await.unwrap();
    engine.start_container(&name).await.unwrap();

    let details = engine
        .inspect_container(id.as_str())
        .await
        .unwrap()
        .expect("the container");
    assert_eq!(details.id, id);
    assert_eq!(details.name, name);
    assert!(
        details.state.running && details.state.status == ContainerStatus::Running,
        "{:?}",
        details.state
    );
    assert!(
        details.state.pid.is_some() && details.state.started_at.is_some(),
        "{:?}",
        details.state
    );
    assert_eq!(details.state.exit_code, None);
    assert_eq!(
        details.labels.get("dev.slipway.role").map(String::as_str),
        Some("web")
    );
    let address = details
        .host_port(Port::tcp(8080))
        .expect("the published port");
    assert!(
        address.ip().is_loopback() && address.port() != 0,
        "{address}"
    );

    let response = http_get(address).await;
    assert!(response.ends_with("hello from slipway\n"), "{response}");

    let stats = engine.container_stats(&name).await.unwrap();
    assert_eq!(stats.memory_limit_bytes, 64 * MIB);
    assert!(
        stats.memory_bytes > 0 && stats.memory_bytes < 64 * MIB,
        "{stats:?}"
    );
    assert!(
        stats.memory_percent > 0.0 && stats.memory_percent < 100.0,
        "{stats:?}"
    );
    assert!(
        stats.cpu_percent.is_finite() && stats.cpu_percent >= 0.0,
        "{stats:?}"
    );
}

#[tokio::test]
async fn stats_measure_cpu_within_the_limit() {
    let engine = engine().await;
    let image = base(&engine).await;
    let scope = TestScope::new(&engine, "stats_cpu");
    let (key, value) = scope.label();
    // A busy loop limited to half a CPU.
    let spec = ContainerSpec::new(&image)
        .label(key, value)
        .cmd(["sh", "-c", "while :; do :; done"])
        .resources(Resources {
            nano_cpus: Some(500_000_000),
            memory_bytes: None,
        });
    let id = engine.create_container(&spec).await.unwrap();
    engine.start_container(id.as_str()).await.unwrap();
    // Sampled until the loop shows busy, however long a loaded machine takes to start it: the
    // test is the limit, not how soon the samples see the loop.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let stats = loop {
        let stats = engine.container_stats(id.as_str()).await.unwrap();
        if stats.cpu_percent > 10.0 {
            break stats;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the busy loop never showed: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // At most the half CPU it may use (with room for sampling jitter), and clearly busy.
    assert!(
        stats.cpu_percent > 10.0 && stats.cpu_percent < 65.0,
        "{stats:?}"
    );
}

#[tokio::test]
async fn logs_stream_stdout_and_stderr_and_follow_to_the_end() {
    let engine = engine().await;
    let image = base(&engine).await;
    let scope = TestScope::new(&engine, "logs");
    let (key, value) = scope.label();
    let spec = ContainerSpec::new(&image).label(key, value).cmd([
        "sh",
        "-c",
        "echo out-1; echo err-1 >&2; sleep 1; echo out-2; exit 7",
    ]);
    let id = engine.create_container(&spec).await.unwrap();
    engine.start_container(id.as_str()).await.unwrap();

    let followed: Vec<(LogStream, String)> = engine
        .container_logs(
            id.as_str(),
            LogOptions {
                follow: true,
                ..LogOptions::default()
            },
        )
        .map(|line| {
            let line = line.unwrap();
            (line.stream, line.text)
        })
        .collect()
        .await;
    let stdout: Vec<&str> = followed
        .iter()
        .filter(|(stream, _)| *stream == LogStream::Stdout)
        .map(|(_, text)| text.as_str())
        .collect();
    let stderr: Vec<&str> = followed
        .iter()
        .filter(|(stream, _)| *stream == LogStream::Stderr)
        .map(|(_, text)| text.as_str())
        .collect();
    assert_eq!(
        (stdout, stderr),
        (vec!["out-1\n", "out-2\n"], vec!["err-1\n"])
    );

    assert_eq!(engine.wait_container(id.as_str()).await.unwrap(), 7);
    let state = engine
        .inspect_container(id.as_str())
        .await
        .unwrap()
        .unwrap()
        .state;
    assert_eq!(
        (state.status, state.exit_code, state.running),
        (ContainerStatus::Exited, Some(7), false)
    );
    assert!(state.finished_at.is_some());

    let last: Vec<String> = engine
        .container_logs(
            id.as_str(),
            LogOptions {
                tail: Some(1),
                ..LogOptions::default()
            },
        )
        .map(|line| line.unwrap().text)
        .collect()
        .await;
    assert_eq!(last, ["out-2\n"]);
}

#[tokio::test]
async fn exec_runs_with_env_workdir_and_user_and_returns_output_and_exit_code() {
    let engine = engine().await;
    let image = base(&engine).await;
    let scope = TestScope::new(&engine, "exec");
    let (key, value) = scope.label();
    let spec = ContainerSpec::new(&image)
        .label(key, value)
        .cmd(["sleep", "300"]);
    let id = engine.create_container(&spec).await.unwrap();
    engine.start_container(id.as_str()).await.unwrap();

    let command = ExecSpec::new([
        "sh",
        "-c",
        "echo \"$FOO\"; pwd; id -u; echo oops >&2; exit 4",
    ])
    .env("FOO", "bar")
    .working_dir("/tmp")
    .user("nobody");
    let output = engine.exec(id.as_str(), command).await.unwrap();
    assert_eq!(output.stdout, "bar\n/tmp\n65534\n");
    assert_eq!(output.stderr, "oops\n");
    assert_eq!(output.exit_code, 4);

    let success = engine
        .exec(id.as_str(), ExecSpec::new(["true"]))
        .await
        .unwrap();
    assert_eq!((success.exit_code, success.stdout.as_str()), (0, ""));

    let missing: Vec<_> = engine
        .exec_stream("slipway-test-no-such-container", ExecSpec::new(["true"]))
        .collect()
        .await;
    assert!(
        matches!(
            missing.as_slice(),
            [Err(EngineError::ContainerNotFound { .. })]
        ),
        "{missing:?}"
    );
}

#[tokio::test]
async fn stop_kill_remove_and_their_errors() {
    let engine = engine().await;
    let image = base(&engine).await;
    let scope = TestScope::new(&engine, "lifecycle");
    let (key, value) = scope.label();
    let sleeper = |name: &str| {
        ContainerSpec::new(&image)
            .name(scope.name(name))
            .label(key, value)
            .cmd(["sleep", "300"])
    };

    // Names are unique.
    let stopped = engine.create_container(&sleeper("stopped")).await.unwrap();
    match engine.create_container(&sleeper("stopped")).await {
        Err(EngineError::Conflict { .. }) => {}
        other => panic!("expected Conflict, got {other:?}"),
    }

    // Created containers are listed only with stopped ones.
    let filter = ContainerFilter::all().label(key, value);
    assert_eq!(engine.list_containers(&filter).await.unwrap().len(), 1);
    assert!(
        engine
            .list_containers(&ContainerFilter::running().label(key, value))
            .await
            .unwrap()
            .is_empty()
    );

    // `sleep` as process 1 ignores SIGTERM: stop ends it with SIGKILL after the grace period.
    engine.start_container(stopped.as_str()).await.unwrap();
    let listed = engine
        .list_containers(&ContainerFilter::running().label(key, value))
        .await
        .unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|container| &container.id)
            .collect::<Vec<_>>(),
        [&stopped]
    );
    assert_eq!(listed[0].names, [scope.name("stopped")]);
    assert_eq!(listed[0].status, ContainerStatus::Running);
    engine
        .stop_container(stopped.as_str(), Duration::from_secs(1))
        .await
        .unwrap();
    let state = engine
        .inspect_container(stopped.as_str())
        .await
        .unwrap()
        .unwrap()
        .state;
    assert!(
        !state.running && state.status == ContainerStatus::Exited,
        "{state:?}"
    );
    engine
        .stop_container(stopped.as_str(), Duration::from_secs(1))
        .await
        .unwrap();

    let killed = engine.create_container(&sleeper("killed")).await.unwrap();
    engine.start_container(killed.as_str()).await.unwrap();
    engine
        .kill_container(killed.as_str(), "SIGKILL")
        .await
        .unwrap();
    assert_eq!(engine.wait_container(killed.as_str()).await.unwrap(), 137);

    // A running container is removed only with force.
    let running = engine.create_container(&sleeper("running")).await.unwrap();
    engine.start_container(running.as_str()).await.unwrap();
    match engine.remove_container(running.as_str(), false).await {
        Err(EngineError::Conflict { .. }) => {}
        other => panic!("expected Conflict, got {other:?}"),
    }
    engine
        .remove_container(running.as_str(), true)
        .await
        .unwrap();
    assert!(
        engine
            .inspect_container(running.as_str())
            .await
            .unwrap()
            .is_none()
    );
    match engine.remove_container(running.as_str(), true).await {
        Err(EngineError::ContainerNotFound { container }) => {
            assert_eq!(container, running.as_str())
        }
        other => panic!("expected ContainerNotFound, got {other:?}"),
    }
    assert!(matches!(
        engine
            .start_container("slipway-test-no-such-container")
            .await,
        Err(EngineError::ContainerNotFound { .. })
    ));
    assert!(matches!(
        engine.create_container(&ContainerSpec::new("slipway-test/no-such-image:1")).await,
        Err(EngineError::ImageNotFound { reference }) if reference == "slipway-test/no-such-image:1"
    ));
}

#[tokio::test]
async fn a_taken_host_port_is_reported_as_such() {
    let engine = engine().await;
    let image = base(&engine).await;
    let scope = TestScope::new(&engine, "port_in_use");
    let (key, value) = scope.label();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let spec = ContainerSpec::new(&image)
        .label(key, value)
        .cmd(["sleep", "300"])
        .publish(PortBinding {
            container_port: Port::tcp(80),
            host: taken.local_addr().unwrap(),
        });
    let result = match engine.create_container(&spec).await {
        Ok(id) => engine.start_container(id.as_str()).await,
        Err(error) => Err(error),
    };
    match result {
        Err(EngineError::PortInUse { message, .. }) => {
            assert!(
                message.contains(&taken.local_addr().unwrap().port().to_string()),
                "{message}"
            );
        }
        other => panic!("expected PortInUse, got {other:?}"),
    }
}
