//! Networks over the Docker Engine API: create (idempotent), remove, connect, disconnect,
//! inspect, list.

use std::collections::{BTreeMap, HashMap};

use bollard::Docker;
use bollard::models::{
    EndpointSettings, Ipam, NetworkConnectRequest, NetworkCreateRequest, NetworkDisconnectRequest,
};
use bollard::query_parameters::ListNetworksOptions;

use super::convert::{label_map, list_filters};
use super::errors::{Doing, translate};
use crate::error::EngineError;
use crate::network::{Network, NetworkFilter, NetworkId};

/// Creates a bridge network, or finds the one already of that name.
pub(crate) async fn create(
    docker: &Docker,
    name: &str,
    labels: &BTreeMap<String, String>,
) -> Result<NetworkId, EngineError> {
    if let Some(existing) = inspect(docker, name).await? {
        return Ok(existing.id);
    }
    let request = NetworkCreateRequest {
        name: name.to_owned(),
        driver: Some("bridge".to_owned()),
        labels: Some(labels.clone().into_iter().collect()),
        ..NetworkCreateRequest::default()
    };
    match docker.create_network(request).await {
        Ok(created) => Ok(NetworkId::new(created.id)),
        // Someone created it since it was looked up: Docker answers 409, Podman 500.
        Err(error) => match inspect(docker, name).await? {
            Some(existing) => Ok(existing.id),
            None => Err(translate(
                error,
                Doing::new("creating a network").network(name),
            )),
        },
    }
}

pub(crate) async fn remove(docker: &Docker, network: &str) -> Result<(), EngineError> {
    docker
        .remove_network(network)
        .await
        .map_err(|error| translate(error, Doing::new("removing a network").network(network)))
}

pub(crate) async fn connect(
    docker: &Docker,
    container: &str,
    network: &str,
    aliases: &[String],
) -> Result<(), EngineError> {
    let request = NetworkConnectRequest {
        container: container.to_owned(),
        endpoint_config: Some(EndpointSettings {
            aliases: Some(aliases.to_vec()),
            ..EndpointSettings::default()
        }),
    };
    docker
        .connect_network(network, request)
        .await
        .map_err(|error| {
            translate(
                error,
                Doing::new("joining a network")
                    .container(container)
                    .network(network),
            )
        })
}

pub(crate) async fn disconnect(
    docker: &Docker,
    container: &str,
    network: &str,
) -> Result<(), EngineError> {
    let request = NetworkDisconnectRequest {
        container: container.to_owned(),
        force: Some(false),
    };
    docker
        .disconnect_network(network, request)
        .await
        .map_err(|error| {
            translate(
                error,
                Doing::new("leaving a network")
                    .container(container)
                    .network(network),
            )
        })
}

pub(crate) async fn inspect(
    docker: &Docker,
    network: &str,
) -> Result<Option<Network>, EngineError> {
    match docker.inspect_network(network, None).await {
        Ok(found) => Ok(Some(network_of(
            found.id,
            found.name,
            found.driver,
            found.labels,
            found.internal,
            found.ipam,
        ))),
        Err(error) => match translate(error, Doing::new("inspecting a network").network(network)) {
            EngineError::NetworkNotFound { .. } => Ok(None),
            other => Err(other),
        },
    }
}

pub(crate) async fn list(
    docker: &Docker,
    filter: &NetworkFilter,
) -> Result<Vec<Network>, EngineError> {
    let filters = list_filters(
        &filter.labels,
        filter.name.as_deref().map(|name| ("name", name)),
    );
    let networks = docker
        .list_networks(Some(ListNetworksOptions {
            filters: Some(filters),
        }))
        .await
        .map_err(|error| translate(error, Doing::new("listing networks")))?;
    Ok(networks
        .into_iter()
        .map(|network| {
            network_of(
                network.id,
                network.name,
                network.driver,
                network.labels,
                network.internal,
                network.ipam,
            )
        })
        .filter(|network| filter.labels.matches(&network.labels))
        .collect())
}

/// A network from the fields that the inspect and list answers share (in different types).
fn network_of(
    id: Option<String>,
    name: Option<String>,
    driver: Option<String>,
    labels: Option<HashMap<String, String>>,
    internal: Option<bool>,
    ipam: Option<Ipam>,
) -> Network {
    Network {
        id: NetworkId::new(id.unwrap_or_default()),
        name: name.unwrap_or_default(),
        driver: driver.unwrap_or_default(),
        labels: label_map(labels),
        internal: internal.unwrap_or(false),
        gateways: gateways(ipam),
    }
}

/// The gateway addresses of a network's subnets; one that does not parse is left out.
fn gateways(ipam: Option<Ipam>) -> Vec<std::net::IpAddr> {
    ipam.and_then(|ipam| ipam.config)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|config| config.gateway?.parse().ok())
        .collect()
}
