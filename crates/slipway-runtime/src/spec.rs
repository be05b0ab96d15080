//! What to run: a [`ReplicaSpec`] and its parts.
//!
//! A spec is plain data that both runtimes read: the [`Workload`] (an image for containers, a
//! shell command for processes), environment, the port the service listens on, labels that say
//! who owns the replica, limits and a restart policy. It serializes, so the process runtime can
//! keep it beside a running child and the daemon can receive it over its control socket.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Labels on a replica: who owns it (project, environment, service, release).
pub type Labels = BTreeMap<String, String>;

/// What a replica runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Workload {
    /// A container of this image (a reference or an image id). Only the container runtime
    /// runs images.
    Image {
        /// The image reference or id.
        reference: String,
    },
    /// A shell command run with `/bin/sh -c` in `working_dir`. Only the process runtime runs
    /// commands.
    Command {
        /// The command line, e.g. `node src/server.js`.
        command: String,
        /// The directory it runs in (the service's build context).
        working_dir: PathBuf,
    },
}

/// CPU and memory limits. The container runtime has the engine enforce them; the process runtime
/// confines each replica to them in a cgroup of its own where the machine's cgroup v2 hierarchy
/// lets it (see [`ProcessLimits`](crate::ProcessLimits)), and otherwise only reports use against
/// them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Resources {
    /// CPUs the replica may use (1.5 is one and a half).
    pub cpus: Option<f64>,
    /// Memory the replica may use, in bytes.
    pub memory_bytes: Option<u64>,
}

/// When a replica that exited is started again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestartPolicy {
    /// Never: an exited replica stays exited.
    Never,
    /// When it exits with a failure, at most `max_restarts` times in a row (`None`: no limit).
    OnFailure {
        /// The most consecutive restarts.
        max_restarts: Option<u32>,
    },
    /// Whenever it exits, whatever its status. The default: a service is meant to keep running.
    #[default]
    Always,
}

impl RestartPolicy {
    /// Whether a replica that exited with `status` (`None`: killed by a signal, or unknown
    /// because it was not this process's child) after `restarts` restarts in a row is started
    /// again.
    pub fn restarts_after(self, status: Option<i32>, restarts: u32) -> bool {
        match self {
            RestartPolicy::Never => false,
            RestartPolicy::Always => true,
            RestartPolicy::OnFailure { max_restarts } => {
                status != Some(0) && max_restarts.is_none_or(|max| restarts < max)
            }
        }
    }
}

/// A replica to start.
///
/// `name` is unique among the runtime's replicas and becomes the container's name or the
/// process's state directory; `port` is the TCP port the service listens on. The process runtime
/// allocates a free loopback port instead and passes it as `PORT`, since processes share the
/// host's ports; the container runtime publishes `port` on a loopback port the engine picks.
///
/// Deserializing checks the same rules as [`ReplicaSpec::new`], so a spec read from a file or a
/// socket cannot name a path outside the runtime's directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "SpecFields")]
pub struct ReplicaSpec {
    name: String,
    workload: Workload,
    port: u16,
    env: BTreeMap<String, String>,
    labels: Labels,
    resources: Resources,
    restart: RestartPolicy,
    network: Option<String>,
    aliases: Vec<String>,
    stop_grace: Duration,
}

/// The fields of a [`ReplicaSpec`] as read, before they are checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecFields {
    name: String,
    workload: Workload,
    port: u16,
    env: BTreeMap<String, String>,
    labels: Labels,
    resources: Resources,
    restart: RestartPolicy,
    network: Option<String>,
    // Specs written before containers had aliases have none.
    #[serde(default)]
    aliases: Vec<String>,
    stop_grace: Duration,
}

impl TryFrom<SpecFields> for ReplicaSpec {
    type Error = InvalidSpec;

    fn try_from(fields: SpecFields) -> Result<ReplicaSpec, InvalidSpec> {
        let spec = ReplicaSpec::new(fields.name, fields.workload, fields.port)?;
        Ok(ReplicaSpec {
            env: fields.env,
            labels: fields.labels,
            resources: fields.resources,
            restart: fields.restart,
            network: fields.network,
            aliases: fields.aliases,
            stop_grace: fields.stop_grace,
            ..spec
        })
    }
}

/// Why a [`ReplicaSpec`] could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSpec {
    /// The name is empty, too long, or has characters a container name or a directory cannot.
    #[error(
        "invalid replica name {0:?}: use 1 to 128 letters, digits, `_`, `.` and `-`, starting with a letter or digit"
    )]
    Name(String),
    /// Port 0 is not a port a service listens on.
    #[error("a replica needs the port its service listens on, not 0")]
    Port,
}

/// How long a replica gets to finish in-flight work after SIGTERM before it is killed, unless
/// the spec says otherwise.
pub const DEFAULT_STOP_GRACE: Duration = Duration::from_secs(10);

impl ReplicaSpec {
    /// A replica named `name` running `workload`, whose service listens on `port`. Restarts
    /// always, no limits, no labels, no extra environment.
    pub fn new(
        name: impl Into<String>,
        workload: Workload,
        port: u16,
    ) -> Result<ReplicaSpec, InvalidSpec> {
        let name = name.into();
        if !is_valid_name(&name) {
            return Err(InvalidSpec::Name(name));
        }
        if port == 0 {
            return Err(InvalidSpec::Port);
        }
        Ok(ReplicaSpec {
            name,
            workload,
            port,
            env: BTreeMap::new(),
            labels: Labels::new(),
            resources: Resources::default(),
            restart: RestartPolicy::default(),
            network: None,
            aliases: Vec::new(),
            stop_grace: DEFAULT_STOP_GRACE,
        })
    }

    /// Sets environment variables (the runtime's own `PORT` wins over one given here).
    pub fn envs(mut self, env: impl IntoIterator<Item = (String, String)>) -> ReplicaSpec {
        self.env.extend(env);
        self
    }

    /// Sets labels.
    pub fn labels(mut self, labels: impl IntoIterator<Item = (String, String)>) -> ReplicaSpec {
        self.labels.extend(labels);
        self
    }

    /// Sets limits.
    pub fn resources(mut self, resources: Resources) -> ReplicaSpec {
        self.resources = resources;
        self
    }

    /// Sets the restart policy.
    pub fn restart(mut self, restart: RestartPolicy) -> ReplicaSpec {
        self.restart = restart;
        self
    }

    /// Joins a container network, where other containers reach it by `aliases` (containers
    /// only; the process runtime has none).
    pub fn network<S: Into<String>>(
        mut self,
        network: impl Into<String>,
        aliases: impl IntoIterator<Item = S>,
    ) -> ReplicaSpec {
        self.network = Some(network.into());
        self.aliases = aliases.into_iter().map(Into::into).collect();
        self
    }

    /// How long the replica gets after SIGTERM before it is killed when it is stopped.
    pub fn stop_grace(mut self, grace: Duration) -> ReplicaSpec {
        self.stop_grace = grace;
        self
    }

    /// The replica's unique name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What it runs.
    pub fn workload(&self) -> &Workload {
        &self.workload
    }

    /// The port its service listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its environment variables.
    pub fn env(&self) -> &BTreeMap<String, String> {
        &self.env
    }

    /// Its labels.
    pub fn label_map(&self) -> &Labels {
        &self.labels
    }

    /// Its limits.
    pub fn limits(&self) -> Resources {
        self.resources
    }

    /// Its restart policy.
    pub fn restart_policy(&self) -> RestartPolicy {
        self.restart
    }

    /// The container network it joins.
    pub fn network_name(&self) -> Option<&str> {
        self.network.as_deref()
    }

    /// The names other containers of its network reach it by.
    pub fn network_aliases(&self) -> &[String] {
        &self.aliases
    }

    /// How long it gets after SIGTERM when stopped.
    pub fn grace(&self) -> Duration {
        self.stop_grace
    }
}

/// Whether `name` works as a container name (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`) and, being free of
/// `/` and not `.` or `..`, as a directory name.
fn is_valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    name.len() <= 128
        && bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Whether `labels` carries every pair of `selector`.
pub fn matches_labels(labels: &Labels, selector: &Labels) -> bool {
    selector
        .iter()
        .all(|(key, value)| labels.get(key) == Some(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command() -> Workload {
        Workload::Command {
            command: "true".to_owned(),
            working_dir: PathBuf::from("/"),
        }
    }

    #[test]
    fn names_must_suit_containers_and_directories() {
        for good in ["hello-dev-r12-1", "a", "A.b_c", &"x".repeat(128)] {
            assert!(ReplicaSpec::new(good, command(), 3000).is_ok(), "{good}");
        }
        for bad in ["", ".", "..", "-a", "a/b", "a b", &"x".repeat(129)] {
            assert_eq!(
                ReplicaSpec::new(bad, command(), 3000),
                Err(InvalidSpec::Name(bad.to_owned())),
                "{bad}"
            );
        }
        assert_eq!(ReplicaSpec::new("a", command(), 0), Err(InvalidSpec::Port));
    }

    #[test]
    fn restart_policies_decide_by_status_and_count() {
        assert!(!RestartPolicy::Never.restarts_after(Some(1), 0));
        assert!(RestartPolicy::Always.restarts_after(Some(0), 99));
        let limited = RestartPolicy::OnFailure {
            max_restarts: Some(2),
        };
        assert!(limited.restarts_after(Some(1), 0));
        assert!(limited.restarts_after(None, 1));
        assert!(!limited.restarts_after(Some(1), 2));
        assert!(!limited.restarts_after(Some(0), 0));
    }

    #[test]
    fn a_selector_matches_labels_that_include_it() {
        let labels: Labels = [("a", "1"), ("b", "2")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into();
        let selector = |pairs: &[(&str, &str)]| -> Labels {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert!(matches_labels(&labels, &selector(&[])));
        assert!(matches_labels(&labels, &selector(&[("a", "1")])));
        assert!(!matches_labels(&labels, &selector(&[("a", "2")])));
        assert!(!matches_labels(&labels, &selector(&[("c", "1")])));
    }

    #[test]
    fn a_spec_round_trips_through_json() {
        let spec = ReplicaSpec::new("web-1", command(), 3000)
            .unwrap()
            .envs([("A".to_owned(), "b".to_owned())])
            .labels([("dev.slipway.release".to_owned(), "7".to_owned())])
            .resources(Resources {
                cpus: Some(0.5),
                memory_bytes: Some(1 << 28),
            })
            .restart(RestartPolicy::OnFailure {
                max_restarts: Some(3),
            });
        let text = serde_json::to_string(&spec).unwrap();
        assert_eq!(serde_json::from_str::<ReplicaSpec>(&text).unwrap(), spec);

        let escaping = text.replace("\"web-1\"", "\"../web-1\"");
        let error = serde_json::from_str::<ReplicaSpec>(&escaping).unwrap_err();
        assert!(
            error.to_string().contains("invalid replica name"),
            "{error}"
        );
    }
}
