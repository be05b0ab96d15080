//! Networks: user-defined bridge networks on which containers reach each other by name.
//!
//! Which containers sit on a network, and at what address, is read from the container side
//! ([`ContainerDetails::networks`](crate::ContainerDetails::networks)).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::labels::LabelSelectors;

/// A network id as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct NetworkId(String);

impl NetworkId {
    pub(crate) fn new(id: impl Into<String>) -> NetworkId {
        NetworkId(id.into())
    }

    /// The id as text, usable wherever a network name or id is expected.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for NetworkId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A network as the engine describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Network {
    /// The network id.
    pub id: NetworkId,
    /// Its name.
    pub name: String,
    /// Its driver (`bridge`).
    pub driver: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Whether it is cut off from the outside world.
    pub internal: bool,
    /// The host's address on each of its subnets, which its containers reach the host by.
    pub gateways: Vec<std::net::IpAddr>,
}

/// Which networks to list. Every condition must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkFilter {
    pub(crate) labels: LabelSelectors,
    pub(crate) name: Option<String>,
}

impl NetworkFilter {
    /// No condition.
    pub fn new() -> NetworkFilter {
        NetworkFilter::default()
    }

    /// Only networks with this label set to this value.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> NetworkFilter {
        self.labels.equal(key.into(), value.into());
        self
    }

    /// Only networks with this label, whatever its value.
    pub fn has_label(mut self, key: impl Into<String>) -> NetworkFilter {
        self.labels.present(key.into());
        self
    }

    /// Only networks whose name contains this text (the engine's `name` filter).
    pub fn name(mut self, name: impl Into<String>) -> NetworkFilter {
        self.name = Some(name.into());
        self
    }
}
