//! Merging an environment's overrides over a service's settings, and filling in defaults.
//!
//! Precedence, lowest first: the service's settings, then the environment's `env` (for variables
//! only), then the environment's override of that service. Maps merge key by key; everything else is
//! replaced whole.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::deploy::{self, Autoscale, DeployPlan, Limits, RuntimeName};
use crate::model::{EnvironmentSettings, HealthSettings, ServiceSettings};

/// A service as it builds and runs in one environment, defaults filled in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Service {
    /// The service name.
    pub name: String,
    /// The image repository builds are tagged as.
    pub image: String,
    /// The build context, relative to `slipway.toml`.
    pub context: PathBuf,
    /// The Dockerfile, relative to the build context.
    pub dockerfile: PathBuf,
    /// The stage to build, when not the last.
    pub target: Option<String>,
    /// Build arguments.
    pub build_args: BTreeMap<String, String>,
    /// The version set in `slipway.toml`, if any.
    pub version: Option<String>,
    /// The TCP port the service listens on.
    pub port: Option<u16>,
    /// The HTTP health check.
    pub health: Option<HealthCheck>,
    /// The command the process runtime runs.
    pub command: Option<String>,
    /// Environment variables for the running service.
    pub env: BTreeMap<String, String>,
    /// Replicas of each release.
    pub replicas: u32,
    /// What runs the replicas.
    pub runtime: RuntimeName,
    /// CPU and memory limits of each replica.
    pub resources: Limits,
    /// Autoscaling, when configured.
    pub autoscale: Option<Autoscale>,
    /// How a new release replaces the one serving.
    pub deploy: DeployPlan,
}

/// An HTTP health check with its defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthCheck {
    /// The path requested.
    pub path: String,
    /// Time between checks.
    #[serde(serialize_with = "human_duration")]
    pub interval: Duration,
    /// Time a check may take.
    #[serde(serialize_with = "human_duration")]
    pub timeout: Duration,
    /// Consecutive passes before healthy.
    pub healthy_threshold: u32,
    /// Consecutive failures before unhealthy.
    pub unhealthy_threshold: u32,
}

fn human_duration<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&humantime::format_duration(*duration))
}

/// The service `name` in an environment (`None`: no environment-specific settings).
pub(crate) fn service(
    name: &str,
    base: &ServiceSettings,
    environment: Option<&EnvironmentSettings>,
) -> Service {
    let merged = merged_settings(name, base, environment);
    Service {
        name: name.to_owned(),
        image: merged.image.unwrap_or_else(|| name.to_owned()),
        context: merged.context.unwrap_or_else(|| PathBuf::from(".")),
        dockerfile: merged
            .dockerfile
            .unwrap_or_else(|| PathBuf::from("Dockerfile")),
        target: merged.target,
        build_args: merged.build_args,
        version: merged.version,
        port: merged.port.map(|port| port.get()),
        health: merged.health.and_then(health_check),
        command: merged.command,
        env: merged.env,
        replicas: merged.replicas.unwrap_or(1),
        runtime: merged.runtime.unwrap_or_default(),
        resources: deploy::limits(merged.resources),
        autoscale: deploy::autoscale(merged.autoscale),
        deploy: deploy::plan(merged.deploy),
    }
}

/// The settings of service `name` with the environment's variables and override laid over them.
pub(crate) fn merged_settings(
    name: &str,
    base: &ServiceSettings,
    environment: Option<&EnvironmentSettings>,
) -> ServiceSettings {
    let Some(environment) = environment else {
        return base.clone();
    };
    let mut merged = base.clone();
    merged.env.extend(environment.env.clone());
    match environment.services.get(name) {
        Some(over) => overlay(merged, over),
        None => merged,
    }
}

fn overlay(base: ServiceSettings, over: &ServiceSettings) -> ServiceSettings {
    let over = over.clone();
    ServiceSettings {
        image: over.image.or(base.image),
        context: over.context.or(base.context),
        dockerfile: over.dockerfile.or(base.dockerfile),
        target: over.target.or(base.target),
        build_args: merge_maps(base.build_args, over.build_args),
        version: over.version.or(base.version),
        port: over.port.or(base.port),
        health: match (base.health, over.health) {
            (Some(base), Some(over)) => Some(overlay_health(base, over)),
            (base, over) => over.or(base),
        },
        command: over.command.or(base.command),
        env: merge_maps(base.env, over.env),
        replicas: over.replicas.or(base.replicas),
        runtime: over.runtime.or(base.runtime),
        resources: over.resources.or(base.resources),
        autoscale: over.autoscale.or(base.autoscale),
        deploy: deploy::overlay(base.deploy, over.deploy),
    }
}

fn overlay_health(base: HealthSettings, over: HealthSettings) -> HealthSettings {
    HealthSettings {
        path: over.path.or(base.path),
        interval: over.interval.or(base.interval),
        timeout: over.timeout.or(base.timeout),
        healthy_threshold: over.healthy_threshold.or(base.healthy_threshold),
        unhealthy_threshold: over.unhealthy_threshold.or(base.unhealthy_threshold),
    }
}

fn merge_maps(
    mut base: BTreeMap<String, String>,
    over: BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    base.extend(over);
    base
}

/// Defaults for what a `[health]` table leaves out; `None` without a path (validation rejects that).
fn health_check(settings: HealthSettings) -> Option<HealthCheck> {
    Some(HealthCheck {
        path: settings.path?,
        interval: settings
            .interval
            .map_or(Duration::from_secs(2), |d| d.get()),
        timeout: settings.timeout.map_or(Duration::from_secs(1), |d| d.get()),
        healthy_threshold: settings.healthy_threshold.unwrap_or(1),
        unhealthy_threshold: settings.unhealthy_threshold.unwrap_or(3),
    })
}
