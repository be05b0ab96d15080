//! The daemon in this process, driven through its socket as the `slipway` command drives it:
//! autoscaling under load, and a restart that restores routes and adopts the running replicas.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use slipway_config::{Autoscale, ScaleTarget};
use slipway_deploy::{Controller, DaemonClient, DaemonConfig, DeployResult, Platform, ServiceKey};
use slipway_store::{DeployEventQuery, SqliteStore, Store};
use tokio::sync::oneshot;

use crate::support::{Flavor, Load, assert_no_failures, request};

/// A daemon running in a task of this test, stopped when the sender is dropped or fired.
struct Daemon {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), slipway_deploy::DeployError>>,
    client: DaemonClient,
}

async fn start(state_dir: &std::path::Path, store: Arc<dyn Store>, project: &str) -> Daemon {
    let (stop, stopped) = oneshot::channel::<()>();
    let config = DaemonConfig {
        state_dir: state_dir.to_owned(),
        project: project.to_owned(),
        listen: "127.0.0.1:0".parse().unwrap(),
        listen_fallback: false,
        docker_host: None,
    };
    let task = tokio::spawn(slipway_deploy::daemon::run(config, store, async {
        let _ = stopped.await;
    }));
    let client = DaemonClient::wait_for(state_dir, Duration::from_secs(10))
        .await
        .unwrap();
    Daemon { stop, task, client }
}

impl Daemon {
    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap().unwrap();
    }
}

fn controller(
    store: Arc<dyn Store>,
    client: &DaemonClient,
    lines: &Arc<Mutex<Vec<String>>>,
) -> Controller {
    let sink = lines.clone();
    Controller::new(
        store,
        Arc::new(client.clone()),
        "tester",
        Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_owned())),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_autoscaler_adds_replicas_under_load_and_removes_them_after() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("state")).unwrap());
    let project = format!("autoscale-{}", std::process::id());
    let daemon = start(dir.path(), store.clone(), &project).await;
    let lines = Arc::new(Mutex::new(Vec::new()));
    let controller = controller(store.clone(), &daemon.client, &lines);
    let key = ServiceKey::new(&project, "dev", "hello");
    let mut spec = Flavor::Process.hello(&[("APP_VERSION", "1")]);
    spec.replicas = 1;
    spec.autoscale = Some(Autoscale {
        min: 1,
        max: 3,
        target: ScaleTarget::RequestsPerSecond(40.0),
        interval: Duration::from_secs(1),
        stabilization: Duration::from_secs(3),
        cooldown: Duration::from_secs(1),
    });
    assert_eq!(
        controller.deploy(request(&key, spec)).await.unwrap().result,
        DeployResult::Succeeded
    );
    let load = Load::start(daemon.client.proxy_address(), &key.public_host(), 120);

    let replicas = |wanted: u32| {
        let store = store.clone();
        move || {
            store
                .service_state("dev", "hello")
                .unwrap()
                .is_some_and(|state| state.replicas == wanted)
        }
    };
    crate::support::eventually(
        "the autoscaler reaches 3 replicas",
        Duration::from_secs(30),
        replicas(3),
    )
    .await;
    let report = load.stop().await;
    assert_no_failures(&report, &lines.lock().unwrap().join("\n"));
    crate::support::eventually(
        "the autoscaler comes back to 1 replica",
        Duration::from_secs(30),
        replicas(1),
    )
    .await;

    let events = store
        .deploy_events(&DeployEventQuery {
            kind: Some("autoscale".to_owned()),
            ..DeployEventQuery::default()
        })
        .unwrap();
    assert!(
        events.iter().any(|event| event
            .record
            .message
            .contains("requests/s per replica against a target of 40.0 requests/s: 1 → 3")
            || event
                .record
                .message
                .contains("requests/s per replica against a target of 40.0 requests/s: 2 → 3")),
        "{events:#?}"
    );
    assert!(
        events
            .iter()
            .any(|event| event.record.message.contains("→ 1 replicas")),
        "{events:#?}"
    );
    assert!(
        events
            .iter()
            .all(|event| event.record.actor == "autoscaler")
    );
    controller.stop_service(&key).await.unwrap();
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restarted_daemon_restores_routes_and_adopts_its_replicas() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("state")).unwrap());
    let project = format!("restart-{}", std::process::id());
    let daemon = start(dir.path(), store.clone(), &project).await;
    let lines = Arc::new(Mutex::new(Vec::new()));
    let key = ServiceKey::new(&project, "dev", "hello");
    let report = controller(store.clone(), &daemon.client, &lines)
        .deploy(request(
            &key,
            Flavor::Process.hello(&[("APP_VERSION", "1")]),
        ))
        .await
        .unwrap();
    assert_eq!(report.result, DeployResult::Succeeded);
    let before = daemon
        .client
        .replicas(slipway_runtime::RuntimeKind::Process, &key.labels())
        .await
        .unwrap();
    daemon.stop().await;

    let again = start(dir.path(), store.clone(), &project).await;

    let after = again
        .client
        .replicas(slipway_runtime::RuntimeKind::Process, &key.labels())
        .await
        .unwrap();
    assert_eq!(
        after
            .iter()
            .map(|replica| (&replica.name, replica.address))
            .collect::<Vec<_>>(),
        before
            .iter()
            .map(|replica| (&replica.name, replica.address))
            .collect::<Vec<_>>(),
        "the same replicas, adopted where they run"
    );
    assert!(
        after.iter().all(|replica| replica.restarts == 0),
        "adopted, not restarted: {after:?}"
    );
    let load = Load::start(again.client.proxy_address(), &key.public_host(), 100);
    load.until_answered(100).await;
    let served = load.stop().await;
    assert_no_failures(&served, &lines.lock().unwrap().join("\n"));
    assert_eq!(
        served.by_release.keys().collect::<Vec<_>>(),
        [&report.release.to_string()],
        "routes restored"
    );
    controller(store.clone(), &again.client, &lines)
        .stop_service(&key)
        .await
        .unwrap();
    again.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemons_directory_and_sockets_are_its_owners_alone() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("state")).unwrap());
    let project = format!("private-{}", std::process::id());
    let daemon = start(dir.path(), store, &project).await;
    let paths = slipway_deploy::DaemonPaths::new(dir.path());
    let mode = |path: &std::path::Path| path.metadata().unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(paths.dir()), 0o700);
    assert_eq!(mode(&paths.socket()), 0o600);
    assert_eq!(mode(&paths.proxy_socket()), 0o600);
    daemon.stop().await;
}
