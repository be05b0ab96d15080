//! The types of `slipway.toml`, exactly as written.
//!
//! Every struct denies unknown keys, so a typo is an error at its position rather than a silently
//! ignored setting. Service settings are all optional because the same type serves both the
//! `[services.NAME]` table and its per-environment override under `[environments.ENV.services.NAME]`:
//! one type, so an override can change any setting and the two can never drift apart.

use std::collections::BTreeMap;
use std::fmt;
use std::num::NonZeroU16;
use std::path::{Path, PathBuf};
use std::time::Duration;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use crate::deploy::{AutoscaleSettings, DeploySettings, ResourceSettings, RuntimeName};
use crate::error::ConfigError;
use crate::registry::RegistryServerSettings;
use crate::runners::RunnerSettings;
use crate::scan::ScanSettings;

/// The whole of `slipway.toml`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The project as a whole.
    #[serde(default)]
    pub project: ProjectSettings,
    /// Where images are pushed. Without this table, the project uses Slipway's embedded registry.
    #[serde(default)]
    pub registry: RegistrySettings,
    /// The services of this project, by name. A name is a DNS label: lower-case letters, digits
    /// and `-`.
    #[serde(default)]
    pub services: BTreeMap<String, ServiceSettings>,
    /// Per-environment settings. `dev`, `staging` and `prod` exist even when not declared here.
    #[serde(default)]
    pub environments: BTreeMap<String, EnvironmentSettings>,
    /// Where `slipway run` runs workflow jobs, by `runs-on` label.
    #[serde(default)]
    pub runners: RunnerSettings,
    /// The scan policy images are judged by (`slipway scan image --env`, `require_scan`).
    #[serde(default)]
    pub scan: ScanSettings,
}

/// `[project]`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectSettings {
    /// The project's name; defaults to the name of the directory holding `slipway.toml`.
    pub name: Option<String>,
    /// The source repository URL recorded in the `org.opencontainers.image.source` label;
    /// defaults to the git remote `origin`.
    pub source: Option<String>,
}

/// `[registry]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrySettings {
    /// Host, optional port and namespace images are pushed under, without a scheme
    /// (`registry.example.com/team`). Unset: Slipway's embedded registry.
    pub url: Option<String>,
    /// User name for basic authentication.
    pub username: Option<String>,
    /// The name of the environment variable holding the password or token. The secret itself
    /// never goes into `slipway.toml`.
    pub password_env: Option<String>,
    /// Talk plain HTTP instead of HTTPS (for a registry on loopback or a trusted network).
    #[serde(default)]
    pub insecure: bool,
    /// The embedded registry: how `slipway registry serve` runs it.
    #[serde(default)]
    pub server: RegistryServerSettings,
}

/// `[services.NAME]`, and its per-environment override `[environments.ENV.services.NAME]`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceSettings {
    /// The image repository builds are tagged as; defaults to the service name.
    pub image: Option<String>,
    /// The build context directory, relative to `slipway.toml`; defaults to `.`.
    pub context: Option<PathBuf>,
    /// The Dockerfile, relative to the build context; defaults to `Dockerfile`.
    pub dockerfile: Option<PathBuf>,
    /// The stage to build; defaults to the Dockerfile's last stage.
    pub target: Option<String>,
    /// Build arguments passed to the Dockerfile's `ARG`s.
    #[serde(default)]
    pub build_args: BTreeMap<String, String>,
    /// The version images are tagged with; defaults to `package.json`'s or `Cargo.toml`'s version,
    /// else the nearest git tag.
    pub version: Option<String>,
    /// The TCP port the service listens on.
    pub port: Option<Port>,
    /// The HTTP health check Slipway runs against the service.
    pub health: Option<HealthSettings>,
    /// The command the process runtime runs (through `/bin/sh -c`), from the build context.
    pub command: Option<String>,
    /// Environment variables for the running service.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// How many replicas of each release run; default 1.
    pub replicas: Option<u32>,
    /// What runs the replicas: `process` (default, runs `command`) or `container` (runs the image).
    pub runtime: Option<RuntimeName>,
    /// CPU and memory limits of each replica.
    pub resources: Option<ResourceSettings>,
    /// Keeps the replica count between bounds by CPU, memory or request rate.
    pub autoscale: Option<AutoscaleSettings>,
    /// How a new release replaces the one serving.
    pub deploy: Option<DeploySettings>,
}

/// `[services.NAME.health]`: an HTTP check, healthy on a 2xx or 3xx answer.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthSettings {
    /// The path requested, starting with `/` (for example `/healthz`).
    pub path: Option<String>,
    /// Time between checks (`2s`, `500ms`); default 2s.
    pub interval: Option<DurationText>,
    /// Time a check may take before it counts as failed; default 1s.
    pub timeout: Option<DurationText>,
    /// Consecutive passes before a replica counts as healthy; default 1.
    pub healthy_threshold: Option<u32>,
    /// Consecutive failures before a replica counts as unhealthy; default 3.
    pub unhealthy_threshold: Option<u32>,
}

/// `[environments.ENV]`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentSettings {
    /// Environment variables for every service in this environment. They override a service's
    /// own `env`; the environment's per-service overrides override them.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Overrides of any service setting in this environment, by service name.
    #[serde(default)]
    pub services: BTreeMap<String, ServiceSettings>,
    /// Overrides of the project's `[scan]` policy in this environment.
    pub scan: Option<ScanSettings>,
}

/// A TCP port from 1 to 65535.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Port(NonZeroU16);

impl Port {
    /// The port number.
    pub fn get(self) -> u16 {
        self.0.get()
    }
}

impl<'de> Deserialize<'de> for Port {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Port, D::Error> {
        struct PortVisitor;
        impl Visitor<'_> for PortVisitor {
            type Value = Port;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a port number from 1 to 65535")
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Port, E> {
                u16::try_from(value)
                    .ok()
                    .and_then(NonZeroU16::new)
                    .map(Port)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Signed(value), &self))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Port, E> {
                u16::try_from(value)
                    .ok()
                    .and_then(NonZeroU16::new)
                    .map(Port)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Unsigned(value), &self))
            }
        }
        deserializer.deserialize_u16(PortVisitor)
    }
}

impl JsonSchema for Port {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Port".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "integer",
            "minimum": 1,
            "maximum": 65535,
            "description": "A TCP port from 1 to 65535."
        })
    }
}

/// A duration written as text: a number and a unit (`ms`, `s`, `m`, `h`), several parts allowed
/// (`1m30s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationText(Duration);

impl DurationText {
    /// The duration.
    pub fn get(self) -> Duration {
        self.0
    }
}

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<DurationText, D::Error> {
        struct DurationVisitor;
        impl Visitor<'_> for DurationVisitor {
            type Value = DurationText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"500ms\", \"2s\" or \"1m30s\"")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<DurationText, E> {
                humantime::parse_duration(text)
                    .map(DurationText)
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(text), &self))
            }
        }
        deserializer.deserialize_str(DurationVisitor)
    }
}

/// Written back the way a person would write it (`1m 30s`), for `slipway config show`.
impl Serialize for DurationText {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&humantime::format_duration(self.0))
    }
}

impl JsonSchema for DurationText {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^\\s*([0-9]+\\s*[a-zµ]+\\s*)+$",
            "description": "A duration: a number and a unit (ms, s, m, h), e.g. \"2s\" or \"1m30s\"."
        })
    }
}

/// Deserializes `text`, reporting the position and key path of the first error.
pub(crate) fn deserialize(text: &str, origin: &Path) -> Result<ConfigFile, ConfigError> {
    let document = toml::Deserializer::parse(text)
        .map_err(|error| ConfigError::from_toml(origin, text, String::new(), &error))?;
    serde_path_to_error::deserialize(document).map_err(|error| {
        let key = error.path().to_string();
        ConfigError::from_toml(origin, text, key, error.inner())
    })
}
