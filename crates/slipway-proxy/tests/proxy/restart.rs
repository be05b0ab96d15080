//! The state file: routes survive a restart.

use slipway_proxy::{ControlEndpoint, Proxy, ProxyConfig, ProxyError};

use crate::support::{TestUpstream, http_client, pool, read, single};

fn config(dir: &std::path::Path) -> ProxyConfig {
    let mut config = ProxyConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        ControlEndpoint::unix(dir.join("control.sock")),
    );
    config.state_file = Some(dir.join("state/routes.json"));
    config
}

async fn get(proxy: &Proxy) -> String {
    let request = http::Request::get(format!("http://{}/", proxy.listen_addr()))
        .body(Default::default())
        .unwrap();
    read(http_client().request(request).await.unwrap())
        .await
        .body
}

#[tokio::test]
async fn routes_survive_a_restart() {
    let upstream = TestUpstream::start("app").await;
    let dir = tempfile::tempdir().unwrap();
    let table = single(vec![pool("v1", 1, &[&upstream])]);

    let first = Proxy::start(config(dir.path())).await.unwrap();
    first
        .apply(slipway_proxy::RoutingTable::empty())
        .await
        .unwrap();
    first.apply(table.clone()).await.unwrap();
    assert_eq!(get(&first).await, "app");
    first.shutdown().await;
    drop(first);

    let second = Proxy::start(config(dir.path())).await.unwrap();
    let restored = second.routes();
    assert_eq!(restored.version.get(), 2);
    assert_eq!(restored.table, table);
    assert_eq!(
        get(&second).await,
        "app",
        "the restored table serves at once"
    );
    let next = second.apply(table).await.unwrap();
    assert_eq!(next.version().get(), 3, "versions go on from the saved one");
}

#[tokio::test]
async fn a_damaged_state_file_stops_the_start_and_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("state")).unwrap();
    std::fs::write(
        dir.path().join("state/routes.json"),
        "{\"version\": 1, \"table\": {\"routes\": 7}}",
    )
    .unwrap();
    let error = Proxy::start(config(dir.path())).await.unwrap_err();
    assert!(matches!(error, ProxyError::StateFile { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("routes.json") && message.contains("table.routes"),
        "{message}"
    );
}
