//! How a service's releases run and replace each other: `replicas`, `runtime`,
//! `[services.NAME.resources]`, `[services.NAME.autoscale]` and `[services.NAME.deploy]` (the
//! strategy and its parameters).
//!
//! The types named `*Settings` are the file as written (every key optional, so the same type
//! serves a service and its per-environment override); [`DeployPlan`], [`Autoscale`] and
//! [`Limits`] are the same with defaults filled in, as the deploy controller uses them.
//!
//! ```toml
//! [services.hello]
//! replicas = 2
//! runtime = "process"                   # or "container"
//! resources = { cpus = 0.5, memory = "256Mi" }
//! autoscale = { min = 2, max = 6, cpu_percent = 70 }
//!
//! [services.hello.deploy]
//! strategy = "canary"                   # blue-green (default), canary, rolling
//! keep_previous = "10m"
//!
//! [environments.prod.services.hello.deploy]
//! require_scan = true                   # refuse images without a passing `slipway scan image`
//!
//! [services.hello.deploy.canary]
//! steps = [{ weight = 10, analysis = "30s" }, { weight = 50 }]   # no pause: wait for `slipway promote`
//! max_error_rate = 0.02
//! ```

use std::fmt;
use std::time::Duration;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use crate::model::{DurationText, ServiceSettings};

/// Which runtime runs a service's replicas.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RuntimeName {
    /// A supervised child process running `command` (the default: needs no container engine).
    #[default]
    Process,
    /// A container of the service's image, on the container engine.
    Container,
}

/// How a new release replaces the one serving.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum StrategyName {
    /// Start the new release beside the old, switch all traffic at once when it is healthy, keep
    /// the old one warm for `keep_previous`.
    #[default]
    BlueGreen,
    /// Shift traffic to the new release in weighted steps, judging it against the old at each.
    Canary,
    /// Replace replicas a few at a time.
    Rolling,
}

impl StrategyName {
    /// The name as written in `slipway.toml` and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            StrategyName::BlueGreen => "blue-green",
            StrategyName::Canary => "canary",
            StrategyName::Rolling => "rolling",
        }
    }
}

impl fmt::Display for StrategyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[services.NAME.deploy]`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeploySettings {
    /// `blue-green` (default), `canary` or `rolling`.
    pub strategy: Option<StrategyName>,
    /// How long the previous release's replicas stay running after a switch, so a rollback moves
    /// traffic without starting anything; default "5m", "0s" stops them at once.
    pub keep_previous: Option<DurationText>,
    /// How long a new replica may take to pass its health check before the deploy gives up;
    /// default "60s".
    pub health_timeout: Option<DurationText>,
    /// A path every new replica must answer with a 2xx before it gets traffic (a smoke check).
    pub smoke_path: Option<String>,
    /// How long the new release is watched once it has all the traffic; a replica crashing
    /// meanwhile rolls it back to the warm previous release. Default "5s".
    pub verify: Option<DurationText>,
    /// How long a replica being stopped gets to finish its requests before it is killed;
    /// default "10s".
    pub stop_grace: Option<DurationText>,
    /// The canary strategy's steps and thresholds.
    pub canary: Option<CanarySettings>,
    /// The rolling strategy's pace.
    pub rolling: Option<RollingSettings>,
    /// Refuse to deploy an image whose newest recorded scan (`slipway scan image`) is missing or
    /// failed its gate; default false. Applies to the container runtime: a process release has
    /// no image.
    pub require_scan: Option<bool>,
}

/// `[services.NAME.deploy.canary]`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CanarySettings {
    /// The steps, in order; after the last, the canary gets all traffic. Default: 10% then 50%,
    /// each analysed for 30s.
    pub steps: Option<Vec<CanaryStepSettings>>,
    /// The highest share of the canary's answers that may be 5xx during an analysis (0 to 1);
    /// default 0.05.
    pub max_error_rate: Option<f64>,
    /// The highest ratio of the canary's p95 latency to the stable release's; default 2.
    pub max_p95_ratio: Option<f64>,
    /// Fewer canary requests than this in an analysis judge nothing: the step passes and says
    /// so. Default 20.
    pub min_requests: Option<u64>,
}

/// One canary step: a weight, then a pause, an analysis, or (neither) a wait for
/// `slipway promote`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CanaryStepSettings {
    /// The canary's share of traffic in percent, 1 to 99.
    pub weight: u32,
    /// Wait this long at this weight.
    pub pause: Option<DurationText>,
    /// Compare the canary's error rate and p95 latency with the stable release's over this long.
    pub analysis: Option<DurationText>,
}

/// `[services.NAME.deploy.rolling]`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RollingSettings {
    /// Replicas replaced at a time; default 1.
    pub batch: Option<u32>,
    /// Replicas allowed above `replicas` while replacing; default 1.
    pub max_surge: Option<u32>,
    /// Replicas allowed to be missing below `replicas` while replacing; default 0.
    pub max_unavailable: Option<u32>,
}

/// `[services.NAME.autoscale]`: keeps the replicas between `min` and `max` so that the chosen
/// measure (exactly one of `cpu_percent`, `memory_percent`, `requests_per_second`) stays near
/// its target per replica.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoscaleSettings {
    /// The fewest replicas; default 1.
    pub min: Option<u32>,
    /// The most replicas.
    pub max: Option<u32>,
    /// Target CPU use per replica, in percent of one CPU.
    pub cpu_percent: Option<f64>,
    /// Target memory use per replica, in percent of its limit (or of the host's memory).
    pub memory_percent: Option<f64>,
    /// Target requests per second per replica, as the proxy counts them.
    pub requests_per_second: Option<f64>,
    /// Time between decisions; default "15s".
    pub interval: Option<DurationText>,
    /// A scale-down happens only if every decision over this long asked for no more replicas
    /// than it does; default "1m".
    pub stabilization: Option<DurationText>,
    /// The least time between two changes; default "30s".
    pub cooldown: Option<DurationText>,
}

/// `[services.NAME.resources]`.
#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceSettings {
    /// CPUs a replica may use (`0.5`, `2`).
    pub cpus: Option<f64>,
    /// Memory a replica may use: bytes, or a number with a unit (`256Mi`, `1G`, `512MiB`).
    pub memory: Option<ByteSize>,
}

/// A number of bytes, written as an integer or as text with a unit: `K`, `M`, `G`, `T` are powers
/// of 1000, `Ki`, `Mi`, `Gi`, `Ti` powers of 1024, an optional `B` may follow (`256Mi`, `1GB`,
/// `1.5Gi`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(u64);

impl ByteSize {
    /// The size in bytes.
    pub fn get(self) -> u64 {
        self.0
    }

    /// Reads a size, or says why the text is not one.
    pub fn parse(text: &str) -> Result<ByteSize, &'static str> {
        let text = text.trim();
        let number_end = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(number_end);
        if number.is_empty() || number.starts_with('.') || number.ends_with('.') {
            return Err("it must start with a number");
        }
        let unit = unit.trim_start();
        let unit = unit.strip_suffix('B').unwrap_or(unit);
        let factor: u64 = match unit {
            "" => 1,
            "K" | "k" => 1_000,
            "M" => 1_000_000,
            "G" => 1_000_000_000,
            "T" => 1_000_000_000_000,
            "Ki" => 1 << 10,
            "Mi" => 1 << 20,
            "Gi" => 1 << 30,
            "Ti" => 1 << 40,
            _ => {
                return Err(
                    "the unit must be one of K, M, G, T, Ki, Mi, Gi, Ti (optionally followed by B)",
                );
            }
        };
        let bytes = match number.split_once('.') {
            None => number
                .parse::<u64>()
                .ok()
                .and_then(|whole| whole.checked_mul(factor)),
            Some((_, fraction)) => {
                if fraction.contains('.') {
                    return Err("it has two decimal points");
                }
                let value: f64 = number.parse().map_err(|_| "it must start with a number")?;
                let bytes = (value * factor as f64).round();
                (bytes.is_finite() && bytes < u64::MAX as f64).then_some(bytes as u64)
            }
        };
        bytes.map(ByteSize).ok_or("it is too large")
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ByteSize, D::Error> {
        struct SizeVisitor;
        impl Visitor<'_> for SizeVisitor {
            type Value = ByteSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size in bytes, or a number with a unit such as \"256Mi\" or \"1G\"")
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(value))
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<ByteSize, E> {
                u64::try_from(value)
                    .map(ByteSize)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(value), &self))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<ByteSize, E> {
                ByteSize::parse(text)
                    .map_err(|reason| E::custom(format!("invalid size `{text}`: {reason}")))
            }
        }
        deserializer.deserialize_any(SizeVisitor)
    }
}

impl JsonSchema for ByteSize {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ByteSize".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Bytes, or a number with a unit: K, M, G, T (powers of 1000) or Ki, Mi, Gi, Ti (powers of 1024), optionally followed by B.",
            "anyOf": [
                { "type": "integer", "minimum": 0 },
                { "type": "string", "pattern": "^\\s*[0-9]+(\\.[0-9]+)?\\s*([KkMGT]i?)?B?\\s*$" }
            ]
        })
    }
}

/// The deploy settings of a service in an environment, defaults filled in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeployPlan {
    /// The strategy.
    pub strategy: StrategyName,
    /// How long the previous release stays warm after a switch.
    #[serde(with = "human_duration")]
    pub keep_previous: Duration,
    /// How long a new replica may take to pass its health check.
    #[serde(with = "human_duration")]
    pub health_timeout: Duration,
    /// The smoke check's path, if any.
    pub smoke_path: Option<String>,
    /// How long the new release is watched once it has all the traffic.
    #[serde(with = "human_duration")]
    pub verify: Duration,
    /// How long a stopping replica gets to finish its requests.
    #[serde(with = "human_duration")]
    pub stop_grace: Duration,
    /// The canary parameters.
    pub canary: CanaryPlan,
    /// The rolling parameters.
    pub rolling: RollingPlan,
    /// Whether the image must have a passing scan recorded before it is deployed. Plans stored
    /// before the setting existed read as false.
    #[serde(default)]
    pub require_scan: bool,
}

/// The canary strategy's steps and thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CanaryPlan {
    /// The steps, in order.
    pub steps: Vec<CanaryStep>,
    /// The highest error rate (0 to 1) the canary may show.
    pub max_error_rate: f64,
    /// The highest ratio of the canary's p95 latency to the stable release's.
    pub max_p95_ratio: f64,
    /// The fewest canary requests an analysis judges.
    pub min_requests: u64,
}

/// One canary step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CanaryStep {
    /// The canary's share of traffic in percent.
    pub weight: u32,
    /// What happens at this weight before the next step.
    pub gate: CanaryGate,
}

/// What a canary step waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CanaryGate {
    /// A fixed time.
    Pause(#[serde(with = "human_duration")] Duration),
    /// An analysis over this long.
    Analysis(#[serde(with = "human_duration")] Duration),
    /// `slipway promote` (or `slipway abort`).
    Promotion,
}

/// The rolling strategy's pace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollingPlan {
    /// Replicas replaced at a time.
    pub batch: u32,
    /// Replicas allowed above the wanted count.
    pub max_surge: u32,
    /// Replicas allowed below the wanted count.
    pub max_unavailable: u32,
}

/// Autoscaling with defaults filled in.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Autoscale {
    /// The fewest replicas.
    pub min: u32,
    /// The most replicas.
    pub max: u32,
    /// What is kept near its target.
    pub target: ScaleTarget,
    /// Time between decisions.
    #[serde(with = "human_duration")]
    pub interval: Duration,
    /// The scale-down stabilisation window.
    #[serde(with = "human_duration")]
    pub stabilization: Duration,
    /// The least time between two changes.
    #[serde(with = "human_duration")]
    pub cooldown: Duration,
}

/// The measure autoscaling keeps near its target, per replica.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScaleTarget {
    /// CPU use in percent of one CPU.
    CpuPercent(f64),
    /// Memory use in percent of the limit.
    MemoryPercent(f64),
    /// Requests per second.
    RequestsPerSecond(f64),
}

/// CPU and memory limits of a replica.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    /// CPUs.
    pub cpus: Option<f64>,
    /// Memory in bytes.
    pub memory_bytes: Option<u64>,
}

/// Durations in the resolved types read and write as text (`"1m 30s"`), as people read them in
/// `slipway config show` and as the deploy controller stores them with a release.
mod human_duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        duration: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&humantime::format_duration(*duration))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

fn or_default(text: Option<DurationText>, default: Duration) -> Duration {
    text.map_or(default, DurationText::get)
}

/// The deploy plan for `settings`, defaults filled in.
pub(crate) fn plan(settings: Option<DeploySettings>) -> DeployPlan {
    let settings = settings.unwrap_or_default();
    let canary = settings.canary.unwrap_or_default();
    let rolling = settings.rolling.unwrap_or_default();
    DeployPlan {
        strategy: settings.strategy.unwrap_or_default(),
        keep_previous: or_default(settings.keep_previous, Duration::from_secs(300)),
        health_timeout: or_default(settings.health_timeout, Duration::from_secs(60)),
        smoke_path: settings.smoke_path,
        verify: or_default(settings.verify, Duration::from_secs(5)),
        stop_grace: or_default(settings.stop_grace, Duration::from_secs(10)),
        canary: CanaryPlan {
            steps: canary.steps.map_or_else(default_canary_steps, |steps| {
                steps.into_iter().map(canary_step).collect()
            }),
            max_error_rate: canary.max_error_rate.unwrap_or(0.05),
            max_p95_ratio: canary.max_p95_ratio.unwrap_or(2.0),
            min_requests: canary.min_requests.unwrap_or(20),
        },
        rolling: RollingPlan {
            batch: rolling.batch.unwrap_or(1),
            max_surge: rolling.max_surge.unwrap_or(1),
            max_unavailable: rolling.max_unavailable.unwrap_or(0),
        },
        require_scan: settings.require_scan.unwrap_or(false),
    }
}

fn default_canary_steps() -> Vec<CanaryStep> {
    [10, 50]
        .map(|weight| CanaryStep {
            weight,
            gate: CanaryGate::Analysis(Duration::from_secs(30)),
        })
        .into()
}

fn canary_step(step: CanaryStepSettings) -> CanaryStep {
    let gate = match (step.pause, step.analysis) {
        (Some(pause), _) => CanaryGate::Pause(pause.get()),
        (None, Some(analysis)) => CanaryGate::Analysis(analysis.get()),
        (None, None) => CanaryGate::Promotion,
    };
    CanaryStep {
        weight: step.weight,
        gate,
    }
}

/// Autoscaling with defaults filled in; `None` without `[autoscale]` (validation makes sure a
/// table has `max` and one target).
pub(crate) fn autoscale(settings: Option<AutoscaleSettings>) -> Option<Autoscale> {
    let settings = settings?;
    let target = match (
        settings.cpu_percent,
        settings.memory_percent,
        settings.requests_per_second,
    ) {
        (Some(cpu), _, _) => ScaleTarget::CpuPercent(cpu),
        (None, Some(memory), _) => ScaleTarget::MemoryPercent(memory),
        (None, None, Some(rate)) => ScaleTarget::RequestsPerSecond(rate),
        (None, None, None) => return None,
    };
    let min = settings.min.unwrap_or(1);
    Some(Autoscale {
        min,
        max: settings.max?,
        target,
        interval: or_default(settings.interval, Duration::from_secs(15)),
        stabilization: or_default(settings.stabilization, Duration::from_secs(60)),
        cooldown: or_default(settings.cooldown, Duration::from_secs(30)),
    })
}

/// The limits of `settings`.
pub(crate) fn limits(settings: Option<ResourceSettings>) -> Limits {
    let settings = settings.unwrap_or_default();
    Limits {
        cpus: settings.cpus,
        memory_bytes: settings.memory.map(ByteSize::get),
    }
}

/// An override's deploy settings laid over the service's, key by key; the `canary` and
/// `rolling` tables are replaced whole.
pub(crate) fn overlay(
    base: Option<DeploySettings>,
    over: Option<DeploySettings>,
) -> Option<DeploySettings> {
    match (base, over) {
        (Some(base), Some(over)) => Some(DeploySettings {
            strategy: over.strategy.or(base.strategy),
            keep_previous: over.keep_previous.or(base.keep_previous),
            health_timeout: over.health_timeout.or(base.health_timeout),
            smoke_path: over.smoke_path.or(base.smoke_path),
            verify: over.verify.or(base.verify),
            stop_grace: over.stop_grace.or(base.stop_grace),
            canary: over.canary.or(base.canary),
            rolling: over.rolling.or(base.rolling),
            require_scan: over.require_scan.or(base.require_scan),
        }),
        (base, over) => over.or(base),
    }
}

/// A broken rule: the key path where it is, and the message.
type Problem<'a> = (Vec<&'a str>, String);

/// Checks the deploy-related settings of a service (or of its override) at key path `at`.
pub(crate) fn check<'a>(service: &'a ServiceSettings, at: &[&'a str]) -> Result<(), Problem<'a>> {
    let key = |tail: &[&'a str]| [at, tail].concat();
    if service.replicas == Some(0) {
        return Err((
            key(&["replicas"]),
            "must be at least 1 (`slipway stop` stops a service)".to_owned(),
        ));
    }
    if let Some(resources) = &service.resources {
        if resources
            .cpus
            .is_some_and(|cpus| !(cpus.is_finite() && cpus > 0.0))
        {
            return Err((
                key(&["resources", "cpus"]),
                "must be a number above 0".to_owned(),
            ));
        }
        if resources
            .memory
            .is_some_and(|memory| memory.get() < 1 << 20)
        {
            return Err((
                key(&["resources", "memory"]),
                "must be at least 1Mi".to_owned(),
            ));
        }
    }
    if let Some(autoscale) = &service.autoscale {
        check_autoscale(autoscale).map_err(|(tail, message)| {
            (key(&[&["autoscale"], tail.as_slice()].concat()), message)
        })?;
    }
    if let Some(deploy) = &service.deploy {
        check_deploy(deploy)
            .map_err(|(tail, message)| (key(&[&["deploy"], tail.as_slice()].concat()), message))?;
    }
    Ok(())
}

fn check_autoscale(autoscale: &AutoscaleSettings) -> Result<(), Problem<'static>> {
    let targets = [
        autoscale.cpu_percent,
        autoscale.memory_percent,
        autoscale.requests_per_second,
    ];
    if targets.iter().filter(|target| target.is_some()).count() != 1 {
        return Err((
            vec![],
            "set exactly one of `cpu_percent`, `memory_percent` and `requests_per_second`"
                .to_owned(),
        ));
    }
    let Some(max) = autoscale.max else {
        return Err((vec![], "needs `max`, the most replicas".to_owned()));
    };
    let min = autoscale.min.unwrap_or(1);
    if min == 0 {
        return Err((vec!["min"], "must be at least 1".to_owned()));
    }
    if max < min {
        return Err((vec!["max"], format!("must be at least `min` ({min})")));
    }
    for (name, value, most) in [
        ("cpu_percent", autoscale.cpu_percent, 100_000.0),
        ("memory_percent", autoscale.memory_percent, 100.0),
        (
            "requests_per_second",
            autoscale.requests_per_second,
            f64::MAX,
        ),
    ] {
        if let Some(value) = value
            && !(value.is_finite() && value > 0.0 && value <= most)
        {
            return Err((vec![name], format!("must be above 0 and at most {most}")));
        }
    }
    for (name, value) in [
        ("interval", autoscale.interval),
        ("cooldown", autoscale.cooldown),
    ] {
        if value.is_some_and(|value| value.get().is_zero()) {
            return Err((vec![name], "must be longer than 0s".to_owned()));
        }
    }
    Ok(())
}

fn check_deploy(deploy: &DeploySettings) -> Result<(), Problem<'static>> {
    if let Some(path) = &deploy.smoke_path
        && !path.starts_with('/')
    {
        return Err((vec!["smoke_path"], format!("`{path}` must start with `/`")));
    }
    if deploy
        .health_timeout
        .is_some_and(|timeout| timeout.get().is_zero())
    {
        return Err((vec!["health_timeout"], "must be longer than 0s".to_owned()));
    }
    if let Some(canary) = &deploy.canary {
        check_canary(canary)?;
    }
    if let Some(rolling) = &deploy.rolling {
        if rolling.batch == Some(0) {
            return Err((vec!["rolling", "batch"], "must be at least 1".to_owned()));
        }
        if rolling.max_surge.unwrap_or(1) + rolling.max_unavailable.unwrap_or(0) == 0 {
            return Err((
                vec!["rolling", "max_surge"],
                "`max_surge` and `max_unavailable` cannot both be 0: no replica could ever be replaced".to_owned(),
            ));
        }
    }
    Ok(())
}

fn check_canary(canary: &CanarySettings) -> Result<(), Problem<'static>> {
    if let Some(steps) = &canary.steps {
        if steps.is_empty() {
            return Err((
                vec!["canary", "steps"],
                "needs at least one step".to_owned(),
            ));
        }
        let mut previous = 0;
        for step in steps {
            if !(1..=99).contains(&step.weight) {
                return Err((
                    vec!["canary", "steps"],
                    format!(
                        "weight {} is not between 1 and 99 (after the last step the canary gets 100)",
                        step.weight
                    ),
                ));
            }
            if step.weight <= previous {
                return Err((
                    vec!["canary", "steps"],
                    format!(
                        "weights must grow from step to step: {} follows {previous}",
                        step.weight
                    ),
                ));
            }
            if step.pause.is_some() && step.analysis.is_some() {
                return Err((
                    vec!["canary", "steps"],
                    format!(
                        "the step at weight {} has both `pause` and `analysis`; choose one",
                        step.weight
                    ),
                ));
            }
            previous = step.weight;
        }
    }
    if canary
        .max_error_rate
        .is_some_and(|rate| !(0.0..=1.0).contains(&rate))
    {
        return Err((
            vec!["canary", "max_error_rate"],
            "must be between 0 and 1 (0.05 is 5%)".to_owned(),
        ));
    }
    if canary
        .max_p95_ratio
        .is_some_and(|ratio| !(ratio.is_finite() && ratio >= 1.0))
    {
        return Err((
            vec!["canary", "max_p95_ratio"],
            "must be at least 1".to_owned(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sizes_read_with_decimal_and_binary_units() {
        for (text, bytes) in [
            ("512", 512),
            ("1K", 1_000),
            ("1k", 1_000),
            ("256Mi", 256 << 20),
            ("256MiB", 256 << 20),
            ("1GB", 1_000_000_000),
            ("1.5Gi", 3 << 29),
            (" 2 Ti ", 2 << 40),
        ] {
            assert_eq!(ByteSize::parse(text), Ok(ByteSize(bytes)), "{text}");
        }
        for bad in [
            "",
            "Mi",
            ".5G",
            "5.G",
            "1.2.3M",
            "12X",
            "-1",
            "99999999999999999999",
            "20000000Ti",
        ] {
            assert!(ByteSize::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn any_byte_count_reads_back(bytes: u64) {
            prop_assert_eq!(ByteSize::parse(&format!("{bytes}B")), Ok(ByteSize(bytes)));
        }

        #[test]
        fn parsing_never_panics(text in "\\PC{0,24}") {
            let _ = ByteSize::parse(&text);
        }

        #[test]
        fn binary_units_multiply(count in 0_u64..(1 << 20), unit in 0_usize..4) {
            let (name, factor) = [("Ki", 1_u64 << 10), ("Mi", 1 << 20), ("Gi", 1 << 30), ("Ti", 1 << 40)][unit];
            prop_assert_eq!(ByteSize::parse(&format!("{count}{name}")).map(ByteSize::get), Ok(count * factor));
        }
    }

    #[test]
    fn defaults_fill_an_empty_plan() {
        let plan = plan(None);
        assert_eq!(plan.strategy, StrategyName::BlueGreen);
        assert_eq!(plan.keep_previous, Duration::from_secs(300));
        assert_eq!(plan.canary.steps.len(), 2);
        assert_eq!(
            plan.rolling,
            RollingPlan {
                batch: 1,
                max_surge: 1,
                max_unavailable: 0
            }
        );
        assert!(!plan.require_scan);
        assert_eq!(autoscale(None), None);
    }

    #[test]
    fn a_plan_round_trips_through_json() {
        let plan = plan(None);
        let text = serde_json::to_string(&plan).unwrap();
        assert!(text.contains("\"keep_previous\":\"5m\""), "{text}");
        assert_eq!(serde_json::from_str::<DeployPlan>(&text).unwrap(), plan);
    }

    #[test]
    fn a_plan_stored_before_require_scan_reads_as_not_requiring_one() {
        let mut stored = serde_json::to_value(plan(None)).unwrap();
        stored.as_object_mut().unwrap().remove("require_scan");
        let read: DeployPlan = serde_json::from_value(stored).unwrap();
        assert!(!read.require_scan);
    }
}
