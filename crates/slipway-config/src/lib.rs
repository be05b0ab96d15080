//! `slipway.toml`: a project's services, environments and registry.
//!
//! [`Config::parse`] turns the text of a `slipway.toml` into a validated [`Config`]. Every error is a
//! [`ConfigError`] naming the file, line and column, the key path (`services.web.port`) and what was
//! expected, because a person fixes config by jumping to a position, not by reading a serde message.
//!
//! The file has three parts:
//!
//! - `[services.NAME]`: how to build and run each service ([`ServiceSettings`]), and how its
//!   releases run and replace each other (`replicas`, `runtime`, `resources`, `autoscale`,
//!   `[services.NAME.deploy]`: [`DeploySettings`]);
//! - `[environments.NAME]`: per-environment variables and overrides of any service setting
//!   ([`EnvironmentSettings`]); `dev`, `staging` and `prod` always exist, declared or not;
//! - `[registry]`: where images go ([`RegistrySettings`]), and how the embedded registry serves
//!   them (`[registry.server]`, [`RegistryServerSettings`]);
//! - `[runners]`: where `slipway run` runs workflow jobs, by `runs-on` label ([`RunnerSettings`]);
//! - `[scan]`: the scan policy images are judged by ([`ScanSettings`]), overridable per
//!   environment; [`Config::scan_policy`] merges it.
//!
//! [`Config::service`] merges an environment's overrides over a service's settings and fills in
//! defaults, giving the [`Service`] that builds and deploys use. [`json_schema`] is generated from the
//! same types, so the schema editors validate against cannot drift from the parser.
//!
//! ```
//! let config = slipway_config::Config::parse(
//!     r#"
//!     [services.web]
//!     port = 3000
//!     health = { path = "/healthz" }
//!
//!     [environments.prod.services.web]
//!     env = { LOG_LEVEL = "warn" }
//!     "#,
//!     "slipway.toml".as_ref(),
//! )?;
//! let web = config.service("web", "prod")?;
//! assert_eq!(web.port, Some(3000));
//! assert_eq!(web.env["LOG_LEVEL"], "warn");
//! # Ok::<(), slipway_config::ConfigError>(())
//! ```

mod deploy;
mod error;
mod location;
mod model;
mod registry;
mod resolve;
mod runners;
mod scan;
mod validate;

pub use deploy::{
    Autoscale, AutoscaleSettings, ByteSize, CanaryGate, CanaryPlan, CanarySettings, CanaryStep,
    CanaryStepSettings, DeployPlan, DeploySettings, Limits, ResourceSettings, RollingPlan,
    RollingSettings, RuntimeName, ScaleTarget, StrategyName,
};
pub use error::ConfigError;
pub use model::{
    ConfigFile, DurationText, EnvironmentSettings, HealthSettings, ProjectSettings,
    RegistrySettings, ServiceSettings,
};
pub use registry::{
    AccessSettings, RegistryAction, RegistryAuthSettings, RegistryServerSettings,
    RegistryTlsSettings, RetentionSettings,
};
pub use resolve::{HealthCheck, Service};
pub use runners::{RunnerSettings, RunnerTarget};
pub use scan::{DEFAULT_MAX_ADVISORY_AGE, FailOn, ScanPolicy, ScanSettings};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The environments every project has, whether `slipway.toml` declares them or not.
pub const STANDARD_ENVIRONMENTS: [&str; 3] = ["dev", "staging", "prod"];

/// The conventional file name, looked for at the repository root.
pub const FILE_NAME: &str = "slipway.toml";

/// A parsed and validated `slipway.toml`.
#[derive(Debug, Clone)]
pub struct Config {
    origin: PathBuf,
    file: ConfigFile,
}

impl Config {
    /// Parses and validates the text of a `slipway.toml`; `origin` is the path used in messages and
    /// the directory that relative paths in the file are relative to.
    pub fn parse(text: &str, origin: &Path) -> Result<Config, ConfigError> {
        let file = model::deserialize(text, origin)?;
        validate::check(&file, text, origin)?;
        Ok(Config {
            origin: origin.to_path_buf(),
            file,
        })
    }

    /// Reads and parses the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Unreadable {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// The file this config came from.
    pub fn origin(&self) -> &Path {
        &self.origin
    }

    /// The directory relative paths in the file are relative to.
    pub fn root(&self) -> &Path {
        self.origin.parent().unwrap_or(Path::new(""))
    }

    /// The settings exactly as written.
    pub fn file(&self) -> &ConfigFile {
        &self.file
    }

    /// The service names, sorted.
    pub fn service_names(&self) -> impl Iterator<Item = &str> {
        self.file.services.keys().map(String::as_str)
    }

    /// Every environment: the standard three and any the file declares, sorted.
    pub fn environment_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = STANDARD_ENVIRONMENTS.to_vec();
        names.extend(self.file.environments.keys().map(String::as_str));
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The project's name: `[project] name`, else the name of the directory holding the file made
    /// into a valid name ([`name_from`]), else `app`.
    pub fn project_name(&self) -> String {
        self.file.project.name.clone().unwrap_or_else(|| {
            std::path::absolute(self.root())
                .ok()
                .and_then(|dir| {
                    dir.file_name()
                        .and_then(|name| name_from(&name.to_string_lossy()))
                })
                .unwrap_or_else(|| "app".to_owned())
        })
    }

    /// The registry settings.
    pub fn registry(&self) -> &RegistrySettings {
        &self.file.registry
    }

    /// Where `slipway run` runs workflow jobs.
    pub fn runners(&self) -> &RunnerSettings {
        &self.file.runners
    }

    /// The scan policy of `environment`: its `[environments.ENV.scan]` merged over `[scan]`,
    /// defaults filled in.
    pub fn scan_policy(&self, environment: &str) -> Result<ScanPolicy, ConfigError> {
        self.check_environment(environment)?;
        let over = self
            .file
            .environments
            .get(environment)
            .and_then(|environment| environment.scan.as_ref());
        Ok(ScanPolicy::merged(&self.file.scan, over))
    }

    /// The project's scan policy, `[scan]` alone, defaults filled in: what a scan outside any
    /// environment follows.
    pub fn project_scan_policy(&self) -> ScanPolicy {
        ScanPolicy::merged(&self.file.scan, None)
    }

    /// The service `name` as it runs in `environment`: the environment's overrides merged over the
    /// service's settings, defaults filled in.
    pub fn service(&self, name: &str, environment: &str) -> Result<Service, ConfigError> {
        self.check_environment(environment)?;
        let base = self
            .file
            .services
            .get(name)
            .ok_or_else(|| self.unknown_service(name))?;
        Ok(resolve::service(
            name,
            base,
            self.file.environments.get(environment),
        ))
    }

    fn unknown_service(&self, name: &str) -> ConfigError {
        ConfigError::UnknownService {
            origin: self.origin.clone(),
            name: name.to_owned(),
            known: self.service_names().map(str::to_owned).collect(),
        }
    }

    /// The service `name` with its own settings only, defaults filled in: what a build uses, since
    /// an image is built once and deployed to every environment.
    pub fn base_service(&self, name: &str) -> Result<Service, ConfigError> {
        let base = self
            .file
            .services
            .get(name)
            .ok_or_else(|| self.unknown_service(name))?;
        Ok(resolve::service(name, base, None))
    }

    /// Every service as it runs in `environment`, by name.
    pub fn services(&self, environment: &str) -> Result<BTreeMap<String, Service>, ConfigError> {
        self.service_names()
            .map(|name| Ok((name.to_owned(), self.service(name, environment)?)))
            .collect()
    }

    fn check_environment(&self, environment: &str) -> Result<(), ConfigError> {
        if self.environment_names().contains(&environment) {
            return Ok(());
        }
        Err(ConfigError::UnknownEnvironment {
            origin: self.origin.clone(),
            name: environment.to_owned(),
            known: self
                .environment_names()
                .into_iter()
                .map(str::to_owned)
                .collect(),
        })
    }
}

/// A valid service, environment or project name (a DNS label) made from `raw`, for example a
/// directory name: lower case, each run of other characters turned into one `-`, at most 63
/// characters. `None` when nothing usable is left.
pub fn name_from(raw: &str) -> Option<String> {
    let mut name = String::new();
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c.to_ascii_lowercase());
        } else if !name.ends_with('-') && !name.is_empty() {
            name.push('-');
        }
    }
    name.truncate(63);
    let name = name.trim_matches('-').to_owned();
    (!name.is_empty()).then_some(name)
}

/// The JSON Schema of `slipway.toml`, generated from [`ConfigFile`].
pub fn json_schema() -> serde_json::Value {
    let mut schema = schemars::schema_for!(ConfigFile).to_value();
    if let Some(object) = schema.as_object_mut() {
        object.insert("title".into(), "slipway.toml".into());
        object.insert(
            "$id".into(),
            "https://slipway.dev/schema/slipway.toml.json".into(),
        );
    }
    schema
}
