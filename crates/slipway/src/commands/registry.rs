//! `slipway registry serve | retention | gc`: the embedded registry.
//!
//! Settings come from `[registry.server]` of the project's `slipway.toml` (or the file
//! `--config` names, which may hold only that table), overridden by `--addr` and `--storage`;
//! without any file the registry serves `registry/` in the state directory on 127.0.0.1:5000.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use slipway_config::{Config, RegistryServerSettings};
use slipway_registry::{
    AuthError, Authenticator, EventStore, GcOptions, ImportError, RegistryError, RegistryOptions,
    RegistryService, RemovalTarget, RetentionPolicies, ServeError, Server, ServerOptions,
    TlsConfig,
};
use slipway_store::Store;

use crate::cli::{
    GlobalArgs, RegistryCommand, RegistryGcArgs, RegistryRetentionArgs, RegistryServeArgs,
};
use crate::output::{self, Status, Table, print_json, print_line};
use crate::project;
use crate::report::Failure;

/// Where the embedded registry listens unless told otherwise.
pub(crate) const DEFAULT_ADDRESS: &str = "127.0.0.1:5000";

/// Requests served at once unless configured otherwise.
const DEFAULT_MAX_REQUESTS: usize = 1024;

pub(crate) async fn run(
    global: &GlobalArgs,
    command: &RegistryCommand,
    status: Status,
) -> Result<ExitCode, Failure> {
    match command {
        RegistryCommand::Serve(args) => serve(global, args, status).await,
        RegistryCommand::Retention(args) => retention(global, args, status).await,
        RegistryCommand::Gc(args) => gc(global, args, status).await,
    }
}

/// The embedded registry's settings, resolved: the config file if there is one, the state
/// directory, and the command line.
pub(crate) struct Setup {
    /// The directory relative paths of the config are relative to.
    root: PathBuf,
    settings: RegistryServerSettings,
    storage: PathBuf,
    store: Arc<dyn Store>,
    /// Where the advisory database the push scans use lives (the user's, shared by projects).
    advisories: PathBuf,
}

impl Setup {
    /// Reads the config (when there is one) and opens the state store next to it.
    pub(crate) fn load(global: &GlobalArgs, storage: Option<&Path>) -> Result<Setup, Failure> {
        let config = optional_config(global)?;
        let root = match &config {
            Some(config) => project::config_root(config)?,
            None => project::current_dir()?,
        };
        let settings = config
            .map(|config| config.registry().server.clone())
            .unwrap_or_default();
        let storage = match (storage, &settings.storage) {
            (Some(storage), _) => storage.to_path_buf(),
            (None, Some(configured)) => root.join(configured),
            (None, None) => project::state_dir(global, &root).join("registry"),
        };
        let store = project::open_store(global, &root)?;
        let advisories = super::scan::advisory_location(global)?;
        Ok(Setup {
            root,
            settings,
            storage,
            store,
            advisories,
        })
    }

    /// Opens the registry, recording its events in the state store and scanning every image
    /// pushed (recorded against its digest, failing on a critical finding).
    pub(crate) fn open(&self) -> Result<slipway_registry::Registry, Failure> {
        let events: EventStore = Arc::clone(&self.store) as EventStore;
        let blobs = slipway_registry::FsBlobStore::open(&self.storage).map_err(|error| {
            Failure::new(format!(
                "cannot open the registry's storage {}: {error}",
                self.storage.display()
            ))
        })?;
        let scan_on_push = slipway_scan::ScanOnPush::new(
            Arc::new(blobs),
            Arc::clone(&self.store),
            self.advisories.clone(),
            Arc::new(slipway_secrets::SecretScanner::builtin()),
            slipway_scan::Gate {
                fail_on: Some(slipway_vuln::Severity::Critical),
                ..slipway_scan::Gate::default()
            },
            tokio::runtime::Handle::current(),
        );
        let options = RegistryOptions {
            events: Some(events),
            hooks: vec![Arc::new(scan_on_push)],
        };
        Ok(slipway_registry::Registry::open(&self.storage, options)?)
    }

    /// The storage directory.
    pub(crate) fn storage(&self) -> &Path {
        &self.storage
    }

    fn gc_options(&self, grace: Option<Duration>) -> GcOptions {
        let defaults = GcOptions::default();
        GcOptions {
            grace: grace
                .or(self.settings.gc_grace.map(|grace| grace.get()))
                .unwrap_or(defaults.grace),
            upload_expiry: self
                .settings
                .upload_expiry
                .map_or(defaults.upload_expiry, |expiry| expiry.get()),
        }
    }

    fn policies(&self) -> Result<RetentionPolicies, Failure> {
        RetentionPolicies::from_settings(&self.settings.retention)
            .map_err(|error| Failure::bad_input(format!("[registry.server.retention]: {error}")))
    }
}

/// The config `--config` names, else the project's `slipway.toml` if there is one.
fn optional_config(global: &GlobalArgs) -> Result<Option<Config>, Failure> {
    if global.config.is_some() {
        return project::load_config(global).map(Some);
    }
    match project::config_path(global) {
        Ok(path) => Ok(Some(Config::load(&path)?)),
        Err(_) => Ok(None),
    }
}

async fn serve(
    global: &GlobalArgs,
    args: &RegistryServeArgs,
    status: Status,
) -> Result<ExitCode, Failure> {
    let setup = Setup::load(global, args.storage.as_deref())?;
    let address = match (&args.addr, &setup.settings.address) {
        (Some(address), _) => *address,
        (None, Some(configured)) => configured
            .parse()
            .map_err(|_| Failure::bad_input(format!("`{configured}` is not an address")))?,
        (None, None) => DEFAULT_ADDRESS
            .parse()
            .map_err(|_| Failure::new("the default address does not parse"))?,
    };
    let auth = match &setup.settings.auth {
        Some(auth) => Some(Authenticator::from_settings(
            auth,
            &setup.root,
            &setup.storage,
        )?),
        None => None,
    };
    let tls = match &setup.settings.tls {
        Some(tls) => Some(TlsConfig::load(
            &setup.root.join(&tls.certificate),
            &setup.root.join(&tls.key),
        )?),
        None => None,
    };
    let registry = Arc::new(setup.open()?);
    let max = setup
        .settings
        .max_concurrent_requests
        .map_or(DEFAULT_MAX_REQUESTS, |max| max as usize);
    let scheme = if tls.is_some() { "https" } else { "http" };
    let auth_summary = match &auth {
        Some(auth) if auth.uses_token_flow() => "token flow (htpasswd users)",
        Some(_) => "basic authentication (htpasswd users)",
        None => "none: anyone who reaches the address may pull, push and delete",
    };
    let service = RegistryService::new(Arc::clone(&registry), auth, max, tls.is_some());
    let server = Server::start(service, ServerOptions { address, tls }).await?;
    status.line(format!(
        "registry serving {scheme}://{} from {}",
        server.local_addr(),
        setup.storage.display()
    ));
    status.line(format!("auth: {auth_summary}"));
    let policies = setup.policies()?;
    let maintenance = setup.settings.gc_interval.map(|every| {
        status.line(format!(
            "retention and garbage collection every {}",
            humantime::format_duration(every.get())
        ));
        slipway_registry::spawn_maintenance(
            Arc::clone(&registry),
            every.get(),
            policies,
            setup.gc_options(None),
        )
    });
    let signal = super::proxy::stop_signal().await?;
    status.line(format!("{signal}: stopping; requests in flight may finish"));
    if let Some(maintenance) = maintenance {
        maintenance.abort();
    }
    server.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// One row of `registry retention`.
#[derive(Debug, Serialize)]
struct RetentionReport<'a> {
    dry_run: bool,
    removals: &'a [slipway_registry::Removal],
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<slipway_registry::RetentionOutcome>,
}

async fn retention(
    global: &GlobalArgs,
    args: &RegistryRetentionArgs,
    status: Status,
) -> Result<ExitCode, Failure> {
    let setup = Setup::load(global, args.storage.as_deref())?;
    let policies = setup.policies()?;
    if policies.is_empty() {
        return Err(Failure::bad_input("no retention policy is configured")
            .hint("add a [[registry.server.retention]] table to slipway.toml (see `slipway config schema`)"));
    }
    let registry = setup.open()?;
    let plan = registry
        .plan_retention(&policies, std::time::SystemTime::now())
        .await?;
    let outcome = if args.dry_run {
        None
    } else {
        Some(registry.apply_retention(&plan).await?)
    };
    if args.json {
        print_json(&RetentionReport {
            dry_run: args.dry_run,
            removals: &plan.removals,
            outcome,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    if plan.removals.is_empty() {
        status.line("retention: nothing to remove");
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table::new(vec!["REPOSITORY", "REMOVES", "WHY"]);
    for removal in &plan.removals {
        let target = match &removal.target {
            RemovalTarget::Tag { tag, .. } => format!("tag {tag}"),
            RemovalTarget::Manifest { digest } => {
                format!("manifest {}", short(&digest.to_string()))
            }
        };
        table.row(vec![
            removal.repository.to_string(),
            target,
            removal.reason.clone(),
        ]);
    }
    table.print();
    match outcome {
        None => status.line(format!("{} (dry run: nothing was removed)", output::caution(&format!("{} would go", plan.removals.len())))),
        Some(outcome) => status.line(format!(
            "{} {} tags and {} manifests; {} left alone because they changed meanwhile. Run `slipway registry gc` to free their space.",
            output::ok("removed"),
            outcome.tags_removed,
            outcome.manifests_removed,
            outcome.skipped
        )),
    }
    Ok(ExitCode::SUCCESS)
}

async fn gc(
    global: &GlobalArgs,
    args: &RegistryGcArgs,
    status: Status,
) -> Result<ExitCode, Failure> {
    let setup = Setup::load(global, args.storage.as_deref())?;
    let registry = setup.open()?;
    let report = registry
        .collect_garbage(&setup.gc_options(args.grace))
        .await?;
    if args.json {
        print_json(&report)?;
    } else if status.is_quiet() {
        print_line(&report.bytes_removed.to_string());
    } else {
        status.line(format!(
            "{} {} blobs ({}); kept {}; {} manifests walked; {} idle uploads dropped; in {}",
            output::ok("removed"),
            report.blobs_removed,
            output::bytes(report.bytes_removed),
            report.blobs_kept,
            report.manifests,
            report.uploads_expired,
            output::duration(Duration::from_millis(
                u64::try_from(report.duration_ms).unwrap_or(u64::MAX)
            ))
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// The first 19 characters of a digest (`sha256:` and 12 hex digits), as tables show them.
fn short(digest: &str) -> &str {
    digest.get(..19).unwrap_or(digest)
}

impl From<RegistryError> for Failure {
    fn from(error: RegistryError) -> Failure {
        let failure = Failure::new("the registry failed").cause(error.to_string());
        if matches!(&error, RegistryError::Storage(storage) if storage.is_storage_full()) {
            failure.hint("free disk space, or run `slipway registry gc` to drop unreferenced blobs")
        } else {
            failure
        }
    }
}

impl From<ServeError> for Failure {
    fn from(error: ServeError) -> Failure {
        match &error {
            ServeError::Bind { address, .. } => Failure::new(error.to_string()).hint(format!(
                "another process may be using {address}; pick another with --addr"
            )),
            ServeError::Tls { .. } => Failure::bad_input(error.to_string())
                .hint("check [registry.server.tls] in slipway.toml"),
        }
    }
}

impl From<AuthError> for Failure {
    fn from(error: AuthError) -> Failure {
        Failure::bad_input(error.to_string()).hint("check [registry.server.auth] in slipway.toml")
    }
}

impl From<ImportError> for Failure {
    fn from(error: ImportError) -> Failure {
        Failure::new("storing the image in the embedded registry failed").cause(error.to_string())
    }
}
