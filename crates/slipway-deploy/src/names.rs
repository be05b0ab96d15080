//! How deploys name what they make: replica labels and names, proxy backends and pools, and the
//! host names a service answers to.
//!
//! Labels say who owns a replica (project, environment, service, release), so replicas are found
//! again after any crash by asking the runtime, not by remembering them. A service in an
//! environment is one proxy backend, `ENV/SERVICE`; each release is one pool in it, `rID`; each
//! replica one upstream, named after the replica.

use slipway_proxy::{BackendId, HostPattern, NameError, PoolId, UpstreamId};
use slipway_runtime::Labels;
use slipway_store::ReleaseId;

/// The label naming the project a replica belongs to.
pub const PROJECT_LABEL: &str = "dev.slipway.project";
/// The label naming the environment a replica serves.
pub const ENVIRONMENT_LABEL: &str = "dev.slipway.environment";
/// The label naming the service a replica runs.
pub const SERVICE_LABEL: &str = "dev.slipway.service";
/// The label holding the id of the release a replica runs.
pub const RELEASE_LABEL: &str = "dev.slipway.release";

/// A service of a project in an environment: what a deploy, a rollback or a scale works on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceKey {
    /// The project (`[project] name`).
    pub project: String,
    /// The environment.
    pub environment: String,
    /// The service.
    pub service: String,
}

impl ServiceKey {
    /// The key of `service` of `project` in `environment`.
    pub fn new(
        project: impl Into<String>,
        environment: impl Into<String>,
        service: impl Into<String>,
    ) -> ServiceKey {
        ServiceKey {
            project: project.into(),
            environment: environment.into(),
            service: service.into(),
        }
    }

    /// The labels every replica of the service carries.
    pub fn labels(&self) -> Labels {
        [
            (PROJECT_LABEL, &self.project),
            (ENVIRONMENT_LABEL, &self.environment),
            (SERVICE_LABEL, &self.service),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value.clone()))
        .collect()
    }

    /// The labels every replica of `release` carries.
    pub fn release_labels(&self, release: ReleaseId) -> Labels {
        let mut labels = self.labels();
        labels.insert(RELEASE_LABEL.to_owned(), release.to_string());
        labels
    }

    /// The name of replica number `index` of `release`: unique across projects on one engine.
    pub fn replica_name(&self, release: ReleaseId, index: u32) -> String {
        format!(
            "{}-{}-{}-r{release}-{index}",
            self.project, self.environment, self.service
        )
    }

    /// The proxy backend of the service: `ENV/SERVICE`.
    pub fn backend(&self) -> Result<BackendId, NameError> {
        BackendId::new(format!("{}/{}", self.environment, self.service))
    }

    /// The host people reach the service at: `SERVICE.ENV.localhost` (curl and browsers resolve
    /// every `*.localhost` name to the loopback address).
    pub fn public_host(&self) -> String {
        format!("{}.{}.localhost", self.service, self.environment)
    }

    /// The host other services of the environment reach it at, on the proxy's address:
    /// `SERVICE.ENV.internal`.
    pub fn internal_host(&self) -> String {
        format!("{}.{}.internal", self.service, self.environment)
    }

    /// The container network the environment's container replicas share, where each answers to
    /// its service's name: `slipway-PROJECT-ENV`.
    pub fn network(&self) -> String {
        format!("slipway-{}-{}", self.project, self.environment)
    }

    /// Both hosts as proxy host patterns.
    pub fn host_patterns(&self) -> Result<[HostPattern; 2], NameError> {
        Ok([
            HostPattern::new(&self.public_host())?,
            HostPattern::new(&self.internal_host())?,
        ])
    }
}

impl std::fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} in {}", self.service, self.environment)
    }
}

/// The proxy pool of a release: `rID`.
pub fn pool_id(release: ReleaseId) -> Result<PoolId, NameError> {
    PoolId::new(format!("r{release}"))
}

/// The release a pool id names, if it names one.
pub fn pool_release(pool: &PoolId) -> Option<ReleaseId> {
    pool.as_str().strip_prefix('r')?.parse().ok()
}

/// The proxy upstream of a replica: its name.
pub fn upstream_id(replica_name: &str) -> Result<UpstreamId, NameError> {
    UpstreamId::new(replica_name)
}

/// The release a replica's labels name, if they name one.
pub fn release_of(labels: &Labels) -> Option<ReleaseId> {
    labels.get(RELEASE_LABEL)?.parse().ok()
}

/// The index of a replica, from its name (the number after the last `-`).
pub fn replica_index(name: &str) -> Option<u32> {
    name.rsplit_once('-')?.1.parse().ok()
}

/// The environment variable naming a service of the environment: `SLIPWAY_<NAME>_URL` with the
/// name upper-cased and `-` made `_`.
pub fn discovery_variable(service: &str, suffix: &str) -> String {
    let name: String = service
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("SLIPWAY_{name}_{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_labels_of_a_service() {
        let key = ServiceKey::new("shop", "staging", "orders-api");
        let release = ReleaseId::new(42);
        assert_eq!(
            key.replica_name(release, 3),
            "shop-staging-orders-api-r42-3"
        );
        assert_eq!(replica_index(&key.replica_name(release, 3)), Some(3));
        assert_eq!(key.backend().unwrap().as_str(), "staging/orders-api");
        assert_eq!(pool_id(release).unwrap().as_str(), "r42");
        assert_eq!(pool_release(&pool_id(release).unwrap()), Some(release));
        assert_eq!(key.public_host(), "orders-api.staging.localhost");
        assert_eq!(key.internal_host(), "orders-api.staging.internal");
        let labels = key.release_labels(release);
        assert_eq!(release_of(&labels), Some(release));
        assert_eq!(labels[SERVICE_LABEL], "orders-api");
        assert_eq!(
            discovery_variable("orders-api", "URL"),
            "SLIPWAY_ORDERS_API_URL"
        );
        assert!(key.host_patterns().is_ok());
    }
}
