//! Networks against the real engine: containers on one network reach each other by alias.

use slipway_engine::testing::{TestScope, engine};
use slipway_engine::{
    ContainerEngine, ContainerFilter, ContainerSpec, EngineError, ExecSpec, NetworkFilter,
};

use crate::support::base;

#[tokio::test]
async fn containers_on_a_network_reach_each_other_by_alias() {
    let engine = engine().await;
    let image = base(&engine).await;
    let scope = TestScope::new(&engine, "network_aliases");
    let (key, value) = scope.label();
    let network = scope.name("net");

    let network_id = engine
        .create_network(&network, &scope.labels())
        .await
        .unwrap();
    assert_eq!(
        engine
            .create_network(&network, &scope.labels())
            .await
            .unwrap(),
        network_id,
        "creating is idempotent"
    );
    let details = engine
        .inspect_network(&network)
        .await
        .unwrap()
        .expect("the network");
    assert_eq!(
        (&details.id, details.name.as_str()),
        (&network_id, network.as_str())
    );
    assert_eq!(details.labels, scope.labels());
    let gateway = match details.gateways.as_slice() {
        [gateway] => *gateway,
        other => panic!("a bridge network has one gateway, not {other:?}"),
    };
    let listed = engine
        .list_networks(&NetworkFilter::new().label(key, value))
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|network| &network.id).collect::<Vec<_>>(),
        [&network_id]
    );

    // The server joins at creation as "db"; the client joins later as "app".
    let server_spec = ContainerSpec::new(&image)
        .name(scope.name("server"))
        .label(key, value)
        .network(&network, ["db"])
        .cmd(["sh", "-c", "mkdir -p /www && echo served-over-the-network > /www/index.html && exec httpd -f -p 8080 -h /www"]);
    let server = engine.create_container(&server_spec).await.unwrap();
    engine.start_container(server.as_str()).await.unwrap();
    let client_spec = ContainerSpec::new(&image)
        .name(scope.name("client"))
        .label(key, value)
        .extra_host("the-host", gateway)
        .cmd(["sleep", "300"]);
    let client = engine.create_container(&client_spec).await.unwrap();
    engine
        .connect_network(client.as_str(), &network, &["app".to_owned()])
        .await
        .unwrap();
    engine.start_container(client.as_str()).await.unwrap();

    let fetched = retry_exec(
        &engine,
        client.as_str(),
        &["wget", "-q", "-O-", "http://db:8080/"],
    )
    .await;
    assert_eq!(fetched, "served-over-the-network\n");
    retry_exec(&engine, server.as_str(), &["nslookup", "app"]).await;
    let hosts = retry_exec(&engine, client.as_str(), &["cat", "/etc/hosts"]).await;
    assert!(
        hosts.lines().any(|line| line
            .split_whitespace()
            .eq([gateway.to_string().as_str(), "the-host"])),
        "{hosts}"
    );

    let client_details = engine
        .inspect_container(client.as_str())
        .await
        .unwrap()
        .unwrap();
    let endpoint = client_details
        .networks
        .get(&network)
        .expect("the client on the network");
    assert!(endpoint.ip_address.is_some(), "{endpoint:?}");
    assert!(
        endpoint.aliases.iter().any(|alias| alias == "app"),
        "{endpoint:?}"
    );

    let attached = |filter: ContainerFilter| {
        let engine = &engine;
        async move {
            let mut ids: Vec<String> = engine
                .list_containers(&filter)
                .await
                .unwrap()
                .into_iter()
                .map(|container| container.id.as_str().to_owned())
                .collect();
            ids.sort();
            ids
        }
    };
    let mut both = vec![server.as_str().to_owned(), client.as_str().to_owned()];
    both.sort();
    assert_eq!(
        attached(ContainerFilter::all().network(&network)).await,
        both
    );

    engine
        .disconnect_network(client.as_str(), &network)
        .await
        .unwrap();
    assert_eq!(
        attached(ContainerFilter::all().network(&network)).await,
        [server.as_str()]
    );
    let client_details = engine
        .inspect_container(client.as_str())
        .await
        .unwrap()
        .unwrap();
    assert!(
        !client_details.networks.contains_key(&network),
        "{:?}",
        client_details.networks
    );

    engine
        .remove_container(server.as_str(), true)
        .await
        .unwrap();
    engine
        .remove_container(client.as_str(), true)
        .await
        .unwrap();
    engine.remove_network(&network).await.unwrap();
    assert!(engine.inspect_network(&network).await.unwrap().is_none());
    match engine.remove_network(&network).await {
        Err(EngineError::NetworkNotFound { network: missing }) => assert_eq!(missing, network),
        other => panic!("expected NetworkNotFound, got {other:?}"),
    }
}

/// Runs a command until it succeeds (name resolution and the server need a moment to come
/// up), returning its output.
async fn retry_exec(engine: &impl ContainerEngine, container: &str, cmd: &[&str]) -> String {
    let mut last = None;
    for _ in 0..50 {
        let output = engine
            .exec(container, ExecSpec::new(cmd.iter().copied()))
            .await
            .unwrap();
        if output.exit_code == 0 {
            return output.stdout;
        }
        last = Some(output);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{cmd:?} kept failing in {container}: {last:?}");
}
