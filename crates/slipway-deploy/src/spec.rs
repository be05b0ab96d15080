//! [`ReleaseSpec`]: everything needed to start a release's replicas, kept with the release in the
//! store so that a rollback, a scale, the autoscaler or a restarted daemon can start more of them
//! without reading `slipway.toml` again (which may have changed since).
//!
//! Also here: the hashes that identify a release, of the merged config ([`config_hash`]) and of
//! a process release's files ([`directory_hash`]).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use slipway_config::{Autoscale, DeployPlan, HealthCheck, Limits};
use slipway_runtime::{ReplicaSpec, Resources, RestartPolicy, RuntimeKind, Workload};
use slipway_store::{Release, ReleaseId};

use crate::error::DeployError;
use crate::names::ServiceKey;

/// How Slipway checks a replica's health: `GET path` answering 2xx, or, without a path, any
/// answer below 500 on `/` (a service with no health endpoint is healthy once it serves).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthProbe {
    /// The path, when the service declares a health check.
    pub path: Option<String>,
    /// Time between checks.
    #[serde(with = "millis")]
    pub interval: Duration,
    /// Time one check may take.
    #[serde(with = "millis")]
    pub timeout: Duration,
    /// Passed checks in a row before a replica counts as healthy.
    pub healthy_threshold: u32,
    /// Failed checks in a row before a serving replica counts as unhealthy.
    pub unhealthy_threshold: u32,
}

impl HealthProbe {
    /// The probe for a service's health check, or the default one without.
    pub fn of(health: Option<&HealthCheck>) -> HealthProbe {
        match health {
            Some(check) => HealthProbe {
                path: Some(check.path.clone()),
                interval: check.interval,
                timeout: check.timeout,
                healthy_threshold: check.healthy_threshold,
                unhealthy_threshold: check.unhealthy_threshold,
            },
            None => HealthProbe {
                path: None,
                interval: Duration::from_secs(1),
                timeout: Duration::from_secs(1),
                healthy_threshold: 1,
                unhealthy_threshold: 3,
            },
        }
    }
}

/// A release's runnable definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleaseSpec {
    /// The runtime that runs it.
    pub runtime: RuntimeKind,
    /// What each replica runs: an image id, or a command in a directory.
    pub workload: Workload,
    /// The port the service listens on.
    pub port: u16,
    /// Its environment: the merged config's, `--env` values, and discovery variables.
    pub env: BTreeMap<String, String>,
    /// How its health is checked.
    pub health: HealthProbe,
    /// How many replicas run.
    pub replicas: u32,
    /// Limits of each replica.
    pub resources: Limits,
    /// The strategy and its parameters.
    pub plan: DeployPlan,
    /// Autoscaling, when configured.
    pub autoscale: Option<Autoscale>,
}

impl ReleaseSpec {
    /// Reads the spec stored with `release`.
    pub fn of(release: &Release) -> Result<ReleaseSpec, DeployError> {
        serde_json::from_str(&release.record.spec).map_err(|error| DeployError::StoredSpec {
            release: release.id,
            message: error.to_string(),
        })
    }

    /// The spec as stored.
    pub fn to_json(&self) -> String {
        // A spec is maps, strings and numbers: it always encodes.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The replica number `index` of `release`, labelled as the service's.
    pub fn replica(
        &self,
        key: &ServiceKey,
        release: ReleaseId,
        index: u32,
    ) -> Result<ReplicaSpec, DeployError> {
        let identity = [
            ("SLIPWAY_RELEASE", release.to_string()),
            ("SLIPWAY_ENVIRONMENT", key.environment.clone()),
            ("SLIPWAY_SERVICE", key.service.clone()),
        ]
        .map(|(name, value)| (name.to_owned(), value));
        let spec = ReplicaSpec::new(
            key.replica_name(release, index),
            self.workload.clone(),
            self.port,
        )?
        .envs(self.env.clone())
        .envs(identity)
        .labels(key.release_labels(release))
        .resources(Resources {
            cpus: self.resources.cpus,
            memory_bytes: self.resources.memory_bytes,
        })
        .restart(RestartPolicy::Always)
        .stop_grace(self.plan.stop_grace);
        Ok(match self.runtime {
            // Inside a container, the proxy's loopback address is the container itself: other
            // containers of the environment reach this one on their shared network, by its
            // service's name.
            RuntimeKind::Container => spec.network(key.network(), [key.service.clone()]),
            RuntimeKind::Process => spec,
        })
    }
}

/// A hash of the merged config a release runs with: the same service settings and variables
/// give the same hash, so `slipway deploy` can tell when nothing changed.
pub fn config_hash(parts: &impl Serialize) -> String {
    let text = serde_json::to_vec(parts).unwrap_or_default();
    format!("sha256:{}", hex::encode(Sha256::digest(&text)))
}

/// Directories whose contents do not make a release: version control, Slipway's state, and
/// dependencies a package manager restores.
const UNHASHED: [&str; 4] = [".git", ".slipway", "node_modules", "target"];

/// A hash of the files under `dir` (paths and contents, in path order), naming the exact files
/// a process release runs.
pub fn directory_hash(dir: &Path) -> Result<String, DeployError> {
    let mut hasher = Sha256::new();
    let walker = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|entry| {
            entry.depth() == 0 || !UNHASHED.iter().any(|name| entry.file_name() == *name)
        });
    for entry in walker {
        let entry = entry.map_err(|error| {
            let path = error.path().unwrap_or(dir).to_owned();
            DeployError::Io {
                path,
                source: error.into(),
            }
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        let relative = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        hasher.update(relative.to_string_lossy().as_bytes());
        hasher.update([0]);
        let io_error = |source| DeployError::Io {
            path: entry.path().to_owned(),
            source,
        };
        let mut file = std::fs::File::open(entry.path()).map_err(io_error)?;
        let mut buffer = [0; 64 * 1024];
        loop {
            let read = file.read(&mut buffer).map_err(io_error)?;
            if read == 0 {
                break;
            }
            hasher.update(&buffer[..read]);
        }
        hasher.update([0]);
    }
    Ok(format!("sha256:{}", hex::encode(hasher.finalize())))
}

/// Durations as whole milliseconds in stored specs.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        duration: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_hash_follows_contents_and_skips_dependencies() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/app.js"), "one").unwrap();
        let first = directory_hash(dir.path()).unwrap();
        std::fs::create_dir_all(dir.path().join("node_modules/x")).unwrap();
        std::fs::write(dir.path().join("node_modules/x/index.js"), "dependency").unwrap();
        assert_eq!(directory_hash(dir.path()).unwrap(), first);
        std::fs::write(dir.path().join("src/app.js"), "two").unwrap();
        assert_ne!(directory_hash(dir.path()).unwrap(), first);
    }

    #[test]
    fn config_hashes_differ_by_content() {
        let a = config_hash(&BTreeMap::from([("A", "1")]));
        assert_eq!(a, config_hash(&BTreeMap::from([("A", "1")])));
        assert_ne!(a, config_hash(&BTreeMap::from([("A", "2")])));
    }
}
