//! The container runtime on the real engine, with a busybox `httpd` image built in the test.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use slipway_engine::testing::{TestScope, busybox_image, engine};
use slipway_engine::{BuildEvent, BuildSpec, ContainerEngine, ContainerFilter, NetworkFilter};
use slipway_runtime::{
    ContainerRuntime, Labels, MANAGED_LABEL, ReplicaSpec, ReplicaState, Resources, Runtime,
    RuntimeError, Workload,
};

use crate::support::{eventually, get, until_healthy};

/// Builds an image serving `/healthz` with busybox's httpd on `$PORT`; returns its reference.
async fn httpd_image(engine: &dyn ContainerEngine, scope: &TestScope) -> String {
    let base = busybox_image(engine, "slipway-test/busybox:1")
        .await
        .unwrap();
    let dockerfile = format!(
        "FROM {base}\nRUN mkdir -p /www && echo ok > /www/healthz\n\
         CMD [\"sh\", \"-c\", \"echo serving on $PORT; exec httpd -f -p $PORT -h /www\"]\n"
    );
    let mut archive = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(dockerfile.len() as u64);
    header.set_mode(0o644);
    archive
        .append_data(&mut header, "Dockerfile", dockerfile.as_bytes())
        .unwrap();
    let context = futures::stream::iter([Ok(Bytes::from(archive.into_inner().unwrap()))]).boxed();
    let reference = format!("{}:1", scope.name("httpd"));
    let spec = BuildSpec::new().tag(&reference).labels(scope.labels());
    let mut build = engine.build_image(spec, context);
    while let Some(event) = build.next().await {
        if let BuildEvent::Built { .. } = event.unwrap() {
            return reference;
        }
    }
    panic!("the build ended without an image");
}

fn spec(scope: &TestScope, name: &str, image: &str) -> ReplicaSpec {
    let (key, value) = scope.label();
    ReplicaSpec::new(
        scope.name(name),
        Workload::Image {
            reference: image.to_owned(),
        },
        8080,
    )
    .unwrap()
    .labels([
        (key.to_owned(), value.to_owned()),
        ("replica".to_owned(), name.to_owned()),
    ])
}

#[tokio::test]
async fn a_container_replica_answers_on_loopback_and_is_found_by_labels() {
    let engine = Arc::new(engine().await);
    let scope = TestScope::new(&engine, "container_replica_answers");
    let image = httpd_image(engine.as_ref(), &scope).await;
    let runtime = ContainerRuntime::new(engine.clone());

    let spec = spec(&scope, "web", &image).resources(Resources {
        cpus: Some(0.5),
        memory_bytes: Some(64 << 20),
    });
    let replica = runtime.start(&spec).await.unwrap();

    assert!(replica.address.ip().is_loopback(), "{replica:?}");
    assert_eq!(replica.state, ReplicaState::Running);
    until_healthy(replica.address).await;
    let (key, value) = scope.label();
    let mine: Labels = [(key.to_owned(), value.to_owned())].into();
    let listed = runtime.list(&mine).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, replica.id);
    assert_eq!(listed[0].address, replica.address);
    assert!(
        !listed[0].labels.contains_key(MANAGED_LABEL),
        "the runtime's own label stays inside"
    );
    let details = engine
        .inspect_container(replica.id.as_str())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        details.labels.get(MANAGED_LABEL).map(String::as_str),
        Some("container")
    );

    let logs = runtime.logs(&replica.id, None).await.unwrap();
    assert!(
        logs.iter().any(|line| line.text == "serving on 8080"),
        "{logs:?}"
    );
    let stats = runtime.stats(&replica.id).await.unwrap();
    assert!(stats.memory_bytes > 0, "{stats:?}");

    runtime
        .stop(&replica.id, Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(get(replica.address, "/healthz").await, None);
    assert!(runtime.list(&mine).await.unwrap().is_empty());
    let left = engine
        .list_containers(&ContainerFilter::all().label(key, value))
        .await
        .unwrap();
    assert!(left.is_empty(), "the container is removed: {left:?}");
    runtime
        .stop(&replica.id, Duration::from_secs(1))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_crashing_container_is_restarted_by_its_policy() {
    let engine = Arc::new(engine().await);
    let scope = TestScope::new(&engine, "crashing_container");
    let base = busybox_image(engine.as_ref(), "slipway-test/busybox:1")
        .await
        .unwrap();
    let runtime = ContainerRuntime::new(engine.clone());
    // busybox's image runs `sh` by default; a replica exits at once and is restarted.
    let replica = runtime.start(&spec(&scope, "crashy", &base)).await;
    // With nothing listening the port is still published; the replica restarts over and over.
    let replica = replica.unwrap();
    eventually(
        "the container was restarted",
        Duration::from_secs(20),
        || async {
            runtime
                .list(&Labels::from([("replica".to_owned(), "crashy".to_owned())]))
                .await
                .unwrap()
                .iter()
                .any(|listed| listed.id == replica.id && listed.restarts >= 1)
        },
    )
    .await;
    runtime
        .stop(&replica.id, Duration::from_secs(1))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_missing_image_and_a_command_are_refused() {
    let engine = Arc::new(engine().await);
    let scope = TestScope::new(&engine, "container_refusals");
    let runtime = ContainerRuntime::new(engine.clone());

    let missing = spec(&scope, "missing", "localhost/slipway-test/no-such-image:0");
    let error = runtime.start(&missing).await.unwrap_err();
    assert!(
        matches!(&error, RuntimeError::ImageNotFound { reference } if reference.contains("no-such-image")),
        "{error:?}"
    );

    let command = ReplicaSpec::new(
        scope.name("cmd"),
        Workload::Command {
            command: "true".into(),
            working_dir: "/".into(),
        },
        8080,
    )
    .unwrap();
    assert!(matches!(
        runtime.start(&command).await,
        Err(RuntimeError::Unsupported { .. })
    ));
    let unknown = slipway_runtime::ReplicaId::new(scope.name("unknown"));
    assert!(matches!(
        runtime.stats(&unknown).await,
        Err(RuntimeError::NotFound { .. })
    ));
}

#[tokio::test]
async fn an_environment_network_is_shared_while_a_container_remains_and_removed_with_the_last() {
    let engine = Arc::new(engine().await);
    let scope = TestScope::new(&engine, "container_network_lifetime");
    let image = httpd_image(engine.as_ref(), &scope).await;
    let runtime = ContainerRuntime::new(engine.clone());
    let network = scope.name("env-net");
    let named = |name: &str| spec(&scope, name, &image).network(&network, [name.to_owned()]);
    let networks_named = || async {
        engine
            .list_networks(&NetworkFilter::new().name(&network))
            .await
            .unwrap()
            .into_iter()
            .filter(|found| found.name == network)
            .count()
    };

    let first = runtime.start(&named("first")).await.unwrap();
    let second = runtime.start(&named("second")).await.unwrap();
    assert_eq!(
        networks_named().await,
        1,
        "the second replica reuses the network"
    );

    runtime.stop(&first.id, Duration::ZERO).await.unwrap();
    assert_eq!(
        networks_named().await,
        1,
        "a container still uses the network"
    );
    let third = runtime.start(&named("third")).await.unwrap();
    runtime.stop(&second.id, Duration::ZERO).await.unwrap();
    assert_eq!(networks_named().await, 1);

    runtime.stop(&third.id, Duration::ZERO).await.unwrap();
    assert_eq!(
        networks_named().await,
        0,
        "the last container took the network with it"
    );
    assert!(engine.inspect_network(&network).await.unwrap().is_none());
}
