//! Every scenario on the container runtime, on the real engine: the example runs from its image,
//! built from `examples/hello` (FROM the base `scripts/base-images` makes).

use slipway_deploy::names::ServiceKey;
use slipway_engine::{ContainerEngine, ExecSpec};

use crate::scenarios;
use slipway_runtime::HOST_ALIAS;

use crate::support::{Flavor, Harness, hello_image, request};

async fn harness() -> Harness {
    Harness::new(Flavor::Container(hello_image().await)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn blue_green_switches_under_load_and_rolls_back_warm() {
    scenarios::blue_green_switches_under_load_and_rolls_back_warm(harness().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_release_that_fails_its_health_check_never_takes_traffic() {
    scenarios::a_release_that_fails_its_health_check_never_takes_traffic(harness().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_crashing_after_the_switch_rolls_back_to_the_warm_release() {
    scenarios::a_replica_crashing_after_the_switch_rolls_back_to_the_warm_release(harness().await)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rolling_replaces_replicas_one_by_one_under_load() {
    scenarios::rolling_replaces_replicas_one_by_one_under_load(harness().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_canary_passes_analysis_pauses_and_is_promoted() {
    scenarios::a_canary_passes_analysis_pauses_and_is_promoted(harness().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_canary_failing_analysis_is_rolled_back() {
    scenarios::a_canary_failing_analysis_is_rolled_back(harness().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_release_crashing_while_it_starts_never_takes_traffic() {
    scenarios::a_release_crashing_while_it_starts_never_takes_traffic(harness().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_container_replica_reaches_another_service_of_its_environment_by_name() {
    let harness = harness().await;
    let hello = harness
        .deploy(harness.hello(&[("APP_VERSION", "hello-1")]))
        .await;
    let peer = ServiceKey::new(&harness.key.project, &harness.key.environment, "peer");
    let spec = harness.hello(&[("APP_VERSION", "peer-1")]);
    let port = spec.port;
    harness
        .controller
        .deploy(request(&peer, spec))
        .await
        .unwrap();

    // A request from inside a replica of hello, to the other service by its name.
    let replica = harness.replicas_of(hello.release).await.remove(0);
    let fetch = "fetch(process.argv[1]).then(async (r) => console.log(r.status, await r.text()))";
    let url = format!("http://peer:{port}/version");
    let engine = slipway_engine::testing::engine().await;
    let output = engine
        .exec(&replica.name, ExecSpec::new(["node", "-e", fetch, &url]))
        .await
        .unwrap();
    assert!(
        output.stdout.starts_with("200 ") && output.stdout.contains(r#""version":"peer-1""#),
        "hello fetched {url}: {output:?}\n{}",
        harness.transcript()
    );
    let _ = harness.controller.stop_service(&peer).await;
    harness.tear_down().await;
}

/// What a replica's `GET url` with `Host: host` answers, asked from inside the container.
async fn call_from(container: &str, url: &str, host: &str) -> String {
    let get = "require('http').get(process.argv[1], { headers: { host: process.argv[2] } }, (r) => \
               { let body = ''; r.on('data', (d) => (body += d)); r.on('end', () => console.log(r.statusCode, body)); })\
               .on('error', (e) => console.log('error', e.message))";
    let engine = slipway_engine::testing::engine().await;
    let output = engine
        .exec(container, ExecSpec::new(["node", "-e", get, url, host]))
        .await
        .unwrap();
    output.stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_container_calls_a_process_service_through_the_proxy_and_follows_its_switch() {
    let harness = harness().await;
    let hello = harness
        .deploy(harness.hello(&[("APP_VERSION", "hello-1")]))
        .await;
    let peer = ServiceKey::new(&harness.key.project, &harness.key.environment, "peer");
    let deploy_peer = |version: &'static str| {
        let spec = Flavor::Process.hello(&[("APP_VERSION", version)]);
        harness.controller.deploy(request(&peer, spec))
    };
    deploy_peer("peer-1").await.unwrap();

    // The address a container replica's discovery variables name: the proxy, relayed on the
    // host's address on the environment's network.
    let url = format!("http://{HOST_ALIAS}:{}/version", harness.proxy().port());
    let replica = harness.replicas_of(hello.release).await.remove(0);
    let first = call_from(&replica.name, &url, &peer.internal_host()).await;
    assert!(
        first.starts_with("200 ") && first.contains(r#""version":"peer-1""#),
        "hello called {url}: {first}\n{}",
        harness.transcript()
    );

    // Containers are served the same way, the caller's own service included.
    let own = call_from(&replica.name, &url, &harness.key.internal_host()).await;
    assert!(
        own.starts_with("200 ") && own.contains(r#""version":"hello-1""#),
        "hello called itself through the proxy: {own}"
    );

    // A blue-green switch of the process service moves the container's next call.
    deploy_peer("peer-2").await.unwrap();
    let second = call_from(&replica.name, &url, &peer.internal_host()).await;
    assert!(
        second.starts_with("200 ") && second.contains(r#""version":"peer-2""#),
        "after the switch: {second}\n{}",
        harness.transcript()
    );
    let _ = harness.controller.stop_service(&peer).await;
    harness.tear_down().await;
}

/// A platform of its own (as a restarted daemon has), on the same engine.
async fn another_platform(dir: &std::path::Path) -> slipway_deploy::LocalPlatform {
    let runtime = slipway_runtime::ProcessRuntime::open(&dir.join("processes"))
        .await
        .unwrap();
    let config = slipway_proxy::ProxyConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        slipway_proxy::ControlEndpoint::unix(dir.join("proxy.sock")),
    );
    let proxy = slipway_proxy::Proxy::start(config).await.unwrap();
    slipway_deploy::LocalPlatform::new(runtime, proxy, None)
        .with_engine(std::sync::Arc::new(slipway_engine::testing::engine().await))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restarted_daemon_relays_to_the_networks_of_its_project_only() {
    let harness = harness().await;
    harness.deploy(harness.hello(&[])).await;
    let engine = slipway_engine::testing::engine().await;
    let network = engine
        .inspect_network(&harness.key.network())
        .await
        .unwrap()
        .expect("the environment's network");
    let dir = tempfile::tempdir().unwrap();

    let restarted = another_platform(dir.path()).await;
    restarted.relay_project_networks(&harness.key.project).await;
    let relayed: Vec<_> = restarted
        .relay_addresses()
        .into_iter()
        .map(|address| address.ip())
        .collect();
    assert_eq!(relayed, network.gateways);

    let other = another_platform(&dir.path().join("other")).await;
    other.relay_project_networks("another-project").await;
    assert_eq!(other.relay_addresses(), []);
    restarted.proxy().shutdown().await;
    other.proxy().shutdown().await;
    harness.tear_down().await;
}
