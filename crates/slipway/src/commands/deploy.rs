//! `slipway deploy ENV [SERVICE]`: builds the release's spec from slipway.toml and the flags,
//! makes sure the daemon runs, and lets the controller carry the release through its strategy.
//!
//! Also the pieces the other deploy commands share: finding the service a command names,
//! reaching (or starting) the daemon, making a controller, and the hints for deploy errors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::time::Duration;

use slipway_config::{Config, Service, StrategyName};
use slipway_deploy::names::discovery_variable;
use slipway_deploy::{
    Controller, DaemonClient, DaemonPaths, DeployError, DeployReport, DeployRequest, DeployResult,
    HealthProbe, Platform, ReleaseSpec, RemoteErrorKind, ServiceKey, config_hash, directory_hash,
};
use slipway_engine::ImageDetails;
use slipway_runtime::{HOST_ALIAS, ProcessLimits, RuntimeKind, Workload};
use slipway_scan::{Clearance, RequiredGate};
use slipway_store::{Artifact, BuildQuery, BuildStatus, Revision, Scan, ScanVerdict, Store};

use super::revision;
use crate::cli::{DeployArgs, GlobalArgs, RuntimeArg, StrategyArg};
use crate::output::{self, Status, print_json, print_line};
use crate::project;
use crate::report::Failure;

/// How long a daemon that was just started gets to answer.
const DAEMON_START_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a deploy waits for the daemon to finish converging a release a killed command left.
const CONVERGE_WAIT: Duration = Duration::from_secs(120);

pub(crate) async fn run(
    global: &GlobalArgs,
    args: &DeployArgs,
    status: Status,
) -> Result<ExitCode, Failure> {
    let target = Target::resolve(global, &args.environment, args.service.as_deref())?;
    let service = target
        .config
        .service(&target.key.service, &target.key.environment)?;
    let runtime = match args.runtime {
        Some(RuntimeArg::Process) => RuntimeKind::Process,
        Some(RuntimeArg::Container) => RuntimeKind::Container,
        None => match service.runtime {
            slipway_config::RuntimeName::Process => RuntimeKind::Process,
            slipway_config::RuntimeName::Container => RuntimeKind::Container,
        },
    };
    let port = service.port.ok_or_else(|| {
        Failure::bad_input(format!(
            "{} has no `port`: Slipway must know where it listens",
            target.key.service
        ))
        .hint(format!(
            "set `port` under [services.{}] in slipway.toml",
            target.key.service
        ))
    })?;
    if service.deploy.require_scan && runtime == RuntimeKind::Process {
        status.warn(format!(
            "{} requires a passing scan, but a process release has no image to check",
            target.key.environment
        ));
    }
    let (workload, artifact, revision) = match runtime {
        RuntimeKind::Process => {
            command_workload(global, &target, &service, args.image.as_deref()).await?
        }
        RuntimeKind::Container => {
            image_workload(global, &target, args, service.deploy.require_scan, status).await?
        }
    };
    let client = daemon(&target, status).await?;
    warn_unconfined(runtime, service.resources, client.status(), status);
    let mut plan = service.deploy.clone();
    if let Some(strategy) = args.strategy {
        plan.strategy = match strategy {
            StrategyArg::BlueGreen => StrategyName::BlueGreen,
            StrategyArg::Canary => StrategyName::Canary,
            StrategyArg::Rolling => StrategyName::Rolling,
        };
    }
    let extra: BTreeMap<String, String> = args.env.iter().cloned().collect();
    let mut env = service.env.clone();
    env.extend(extra.clone());
    env.extend(discovery(&target, client.proxy_address(), runtime)?);
    let hash = config_hash(&(&service, &extra, runtime));
    let spec = ReleaseSpec {
        runtime,
        workload,
        port,
        env,
        health: HealthProbe::of(service.health.as_ref()),
        replicas: service.replicas,
        resources: service.resources,
        plan,
        autoscale: service.autoscale,
    };
    let controller = controller(&target, Arc::new(client.clone()), status)?;
    let request = DeployRequest {
        key: target.key.clone(),
        spec,
        artifact,
        revision,
        config_hash: hash,
        reason: args.reason.clone(),
        restores: None,
    };
    let report =
        deploy_waiting_for_the_daemon(&controller, request, client.status().pid, status).await?;
    if args.json {
        print_json(&report)?;
    }
    if matches!(
        report.result,
        DeployResult::Succeeded | DeployResult::Unchanged | DeployResult::Paused { .. }
    ) {
        crate::step_outputs::set(&[
            ("url", &service_url(&target.key, client.proxy_address())),
            ("release", &report.release.to_string()),
        ])?;
    }
    finish(&target, &report, client.proxy_address(), args.json)
}

/// Says, once per deploy, that a process release's limits will not be enforced, and why.
fn warn_unconfined(
    runtime: RuntimeKind,
    resources: slipway_config::Limits,
    daemon: &slipway_deploy::DaemonStatus,
    status: Status,
) {
    let limited = resources.cpus.is_some() || resources.memory_bytes.is_some();
    if runtime == RuntimeKind::Process
        && limited
        && let Some(limits @ ProcessLimits::NotEnforced { .. }) = &daemon.process_limits
    {
        status.warn(limits);
    }
}

/// Deploys; when the daemon is converging a release a killed command left, waits for it.
async fn deploy_waiting_for_the_daemon(
    controller: &Controller,
    request: DeployRequest,
    daemon_pid: u32,
    status: Status,
) -> Result<DeployReport, Failure> {
    let deadline = tokio::time::Instant::now() + CONVERGE_WAIT;
    let mut said = false;
    loop {
        match controller.deploy(request.clone()).await {
            Err(DeployError::Busy {
                controller: Some(pid),
                release,
                ..
            }) if pid == daemon_pid && tokio::time::Instant::now() < deadline => {
                if !said {
                    status.line(format!(
                        "the daemon is converging release {release}; waiting for it"
                    ));
                    said = true;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            result => return Ok(result?),
        }
    }
}

/// Prints how a deploy (or promotion, abort) ended; a release that failed is exit status 1.
pub(super) fn finish(
    target: &Target,
    report: &DeployReport,
    proxy: std::net::SocketAddr,
    json: bool,
) -> Result<ExitCode, Failure> {
    let key = &target.key;
    let url = service_url(key, proxy);
    match &report.result {
        DeployResult::Succeeded => {
            if !json {
                print_line(&format!(
                    "{} release {} of {} serves {}: {url}",
                    output::ok("✓"),
                    report.release,
                    key.service,
                    key.environment
                ));
            }
            Ok(ExitCode::SUCCESS)
        }
        DeployResult::Unchanged => {
            if !json {
                print_line(&format!(
                    "release {} of {} already serves {} with the same artifact and config: nothing to do ({url})",
                    report.release, key.service, key.environment
                ));
            }
            Ok(ExitCode::SUCCESS)
        }
        DeployResult::Paused { weight } => {
            if !json {
                print_line(&format!(
                    "release {} of {} is a canary with {weight}% of the traffic; `slipway promote {env} {service}` continues, `slipway abort {env} {service}` rolls it back",
                    report.release,
                    key.service,
                    env = key.environment,
                    service = key.service
                ));
            }
            Ok(ExitCode::SUCCESS)
        }
        DeployResult::Failed { reason } | DeployResult::RolledBack { reason } => {
            let verb = if matches!(report.result, DeployResult::Failed { .. }) {
                "failed"
            } else {
                "was rolled back"
            };
            Err(Failure::new(format!("release {} of {} {verb}", report.release, key.service))
                .cause(reason.clone())
                .hint(format!(
                    "the previous release keeps serving; `slipway releases {} {} --show {}` shows every step",
                    key.environment, key.service, report.release
                )))
        }
    }
}

/// The URL a service answers at through the proxy.
pub(super) fn service_url(key: &ServiceKey, proxy: std::net::SocketAddr) -> String {
    format!("http://{}:{}", key.public_host(), proxy.port())
}

/// A process release: the service's command in the bundle `--image` names (unpacked from the
/// embedded registry), or else in its build context as it is; with the revision it holds.
async fn command_workload(
    global: &GlobalArgs,
    target: &Target,
    service: &Service,
    bundle: Option<&str>,
) -> Result<(Workload, Artifact, Option<Revision>), Failure> {
    let command = service.command.clone().ok_or_else(|| {
        Failure::bad_input(format!("{} has no `command` for the process runtime", target.key.service)).hint(format!(
            "set `command` under [services.{}] in slipway.toml (e.g. \"node src/server.js\"), or deploy with --runtime container",
            target.key.service
        ))
    })?;
    let (working_dir, hash, revision) = match bundle {
        Some(reference) => {
            let unpacked = super::bundles::unpack(global, &target.state_dir, reference).await?;
            let revision = revision::of_labels(&target.root, &unpacked.annotations);
            (unpacked.dir, unpacked.digest, revision)
        }
        None => {
            let working_dir = target.root.join(&service.context);
            if !working_dir.is_dir() {
                return Err(Failure::bad_input(format!(
                    "{} does not exist",
                    working_dir.display()
                ))
                .hint(format!(
                    "fix `context` under [services.{}] in slipway.toml",
                    target.key.service
                )));
            }
            let hash = directory_hash(&working_dir)?;
            (working_dir, hash, revision::of_working_tree(&target.root))
        }
    };
    let artifact = Artifact::Command {
        command: command.clone(),
        working_dir: working_dir.display().to_string(),
        hash,
    };
    Ok((
        Workload::Command {
            command,
            working_dir,
        },
        artifact,
        revision,
    ))
}

/// A container release: `--image`, a fresh build with `--build`, or the service's latest build;
/// refused before anything is deployed when `require_scan` and the image has no scan that passed
/// the environment's scan policy. What `--build` built is scanned first, as `slipway scan image
/// IMAGE --env ENV` would. With the revision its labels name.
async fn image_workload(
    global: &GlobalArgs,
    target: &Target,
    args: &DeployArgs,
    require_scan: bool,
    status: Status,
) -> Result<(Workload, Artifact, Option<Revision>), Failure> {
    let engine = project::connect_engine().await?;
    let reference = if args.build {
        let request = slipway_build::BuildRequest {
            service: Some(target.key.service.clone()),
            target: None,
            build_args: BTreeMap::new(),
            no_cache: false,
            platform: None,
        };
        let prepared = slipway_build::prepare(&target.config, request)?;
        let cancelled = std::future::pending::<()>();
        let built = prepared
            .run(
                engine.clone(),
                target.store.clone(),
                |text| status.raw(text),
                cancelled,
            )
            .await?;
        let built = built.image.id.as_str().to_owned();
        if require_scan {
            super::scan::scan_for_environment(global, &built, &target.key.environment, status)
                .await?;
        }
        built
    } else if let Some(image) = &args.image {
        image.clone()
    } else {
        latest_build(target)?
    };
    let details = engine.inspect_image(&reference).await?.ok_or_else(|| {
        Failure::bad_input(format!("no image {reference} in the container engine")).hint(format!(
            "build it with `slipway build {service}` (or deploy with --build), or name an existing image with --image",
            service = target.key.service
        ))
    })?;
    if require_scan {
        require_passing_scan(target, &details)?;
    }
    let id = details.id.as_str().to_owned();
    let digest = details
        .digests
        .first()
        .cloned()
        .unwrap_or_else(|| id.clone());
    Ok((
        Workload::Image { reference: id },
        Artifact::Image { reference, digest },
        revision::of_labels(&target.root, &details.labels),
    ))
}

/// Refuses an image whose newest scan is missing, failed, was not checked, or was judged more
/// leniently than the environment's scan policy: a missing or unjudged scan is exit status 2
/// (nothing to judge, as when `slipway scan` cannot decide), a failed or unchecked one 1.
fn require_passing_scan(target: &Target, image: &ImageDetails) -> Result<(), Failure> {
    let environment = &target.key.environment;
    let shown = image
        .tags
        .first()
        .cloned()
        .unwrap_or_else(|| image.id.as_str().to_owned());
    let turn_off = format!(
        "or set `require_scan = false` under [environments.{}.services.{}.deploy] in slipway.toml",
        environment, target.key.service
    );
    let policy = target.config.scan_policy(environment)?;
    let required = RequiredGate {
        fail_on: super::scan::severity(policy.fail_on),
        max_advisory_age: policy.max_advisory_age,
    };
    let rescan = format!("`slipway scan image {shown} --env {environment}`");
    match Clearance::of(newest_scan(target.store.as_ref(), image)?, &required) {
        Clearance::Passed(_) => Ok(()),
        Clearance::Missing => Err(Failure::bad_input(format!(
            "refusing to deploy {shown}: {environment} requires a passing scan, and {} was never scanned",
            image.id.as_str()
        ))
        .hint(format!(
            "scan it first: {rescan} records the verdict; {turn_off}"
        ))),
        Clearance::NotJudged(scan) => Err(Failure::bad_input(format!(
            "refusing to deploy {shown}: its latest scan (#{}) passed, but was not judged by {environment}'s scan policy (fail_on = \"{}\")",
            scan.id,
            policy.fail_on.as_str()
        ))
        .hint(format!("scan it again with {rescan}; {turn_off}"))),
        Clearance::NotChecked(scan) => Err(Failure::new(format!(
            "refusing to deploy {shown}: its latest scan (#{}) could not check its packages",
            scan.id
        ))
        .cause(scan_verdict(&scan))
        .hint(format!(
            "run `slipway db update`, then scan again with {rescan}; {turn_off}"
        ))),
        Clearance::Failed(scan) => Err(Failure::new(format!(
            "refusing to deploy {shown}: its latest scan (#{}) failed the gate",
            scan.id
        ))
        .cause(scan_verdict(&scan))
        .hint(format!(
            "fix what it found (or accept it in .slipway-ignore.toml), rebuild, and scan again with {rescan}; {turn_off}"
        ))),
    }
}

/// The newest scan of the image under any of the digests scans are kept against: its id (what
/// `slipway scan image` of an engine image records) and its repository digests (what a registry
/// push's scan records).
pub(super) fn newest_scan(
    store: &dyn Store,
    image: &ImageDetails,
) -> Result<Option<Scan>, Failure> {
    let repository_digests = image
        .digests
        .iter()
        .filter_map(|digest| digest.rsplit_once('@').map(|(_, digest)| digest));
    let mut newest: Option<Scan> = None;
    for digest in std::iter::once(image.id.as_str()).chain(repository_digests) {
        if let Some(found) = store.latest_scan(digest)?
            && newest.as_ref().is_none_or(|best| {
                (found.record.scanned_at, found.id) > (best.record.scanned_at, best.id)
            })
        {
            newest = Some(found);
        }
    }
    Ok(newest)
}

/// What a failed or unchecked scan found: its gate's reasons and the findings per severity.
fn scan_verdict(scan: &Scan) -> String {
    let record = &scan.record;
    let reasons = match &record.verdict {
        ScanVerdict::Passed => "it passed".to_owned(),
        verdict => verdict.reasons().join("; "),
    };
    let counts = record.counts;
    format!(
        "{reasons} (scan of {} {}: {} critical, {} high, {} medium, {} low, {} unknown)",
        record.reference,
        output::ago(record.scanned_at),
        counts.critical,
        counts.high,
        counts.medium,
        counts.low,
        counts.unknown
    )
}

/// The image of the service's latest successful build.
fn latest_build(target: &Target) -> Result<String, Failure> {
    let query = BuildQuery {
        service: Some(target.key.service.clone()),
        status: Some(BuildStatus::Succeeded),
        limit: Some(1),
    };
    let build = target.store.builds(&query)?.pop();
    build.and_then(|build| build.record.image_id).ok_or_else(|| {
        Failure::bad_input(format!("{} has no image to deploy", target.key.service)).hint(format!(
            "build one with `slipway build {service}`, deploy with --build, or name one with --image",
            service = target.key.service
        ))
    })
}

/// Variables that tell a replica where the other services of its environment answer: the
/// proxy's URL, and for each service `SLIPWAY_<NAME>_URL` (the proxy) with
/// `SLIPWAY_<NAME>_HOST` (the `Host` header that routes to it). A container replica reaches the
/// proxy at `slipway-host` (its network's gateway, where the daemon relays the proxy), so its calls
/// are routed, weighted and switched like every other.
fn discovery(
    target: &Target,
    proxy: std::net::SocketAddr,
    runtime: RuntimeKind,
) -> Result<BTreeMap<String, String>, Failure> {
    let proxy_url = match runtime {
        RuntimeKind::Process => format!("http://{proxy}"),
        // Inside a container, loopback is the container itself: the daemon relays the proxy's
        // port on the host's address on the environment's network, which this name resolves to.
        RuntimeKind::Container => format!("http://{HOST_ALIAS}:{}", proxy.port()),
    };
    let mut env = BTreeMap::from([("SLIPWAY_PROXY_URL".to_owned(), proxy_url.clone())]);
    for name in target.config.service_names() {
        let key = ServiceKey::new(&target.key.project, &target.key.environment, name);
        env.insert(discovery_variable(name, "URL"), proxy_url.clone());
        env.insert(discovery_variable(name, "HOST"), key.internal_host());
    }
    Ok(env)
}

/// The service a command names, with the project's config, store and state directory.
pub(super) struct Target {
    pub(super) config: Config,
    pub(super) root: PathBuf,
    pub(super) state_dir: PathBuf,
    pub(super) store: Arc<dyn Store>,
    pub(super) key: ServiceKey,
}

impl Target {
    /// The service `service` (default: the only one) in `environment`.
    pub(super) fn resolve(
        global: &GlobalArgs,
        environment: &str,
        service: Option<&str>,
    ) -> Result<Target, Failure> {
        let config = project::load_config(global)?;
        let service = match service {
            Some(service) => service.to_owned(),
            None => only_service(&config)?,
        };
        // Checks the names, with the config's own errors and hints.
        config.service(&service, environment)?;
        Target::of(global, config, environment, &service)
    }

    /// Every deployed-or-not service of `environment`, for commands that act on them all.
    pub(super) fn of(
        global: &GlobalArgs,
        config: Config,
        environment: &str,
        service: &str,
    ) -> Result<Target, Failure> {
        let root = project::config_root(&config)?;
        let state_dir = project::state_dir(global, &root);
        let store = project::open_store(global, &root)?;
        let key = ServiceKey::new(config.project_name(), environment, service);
        Ok(Target {
            config,
            root,
            state_dir,
            store,
            key,
        })
    }
}

fn only_service(config: &Config) -> Result<String, Failure> {
    let names: Vec<&str> = config.service_names().collect();
    match names.as_slice() {
        [only] => Ok((*only).to_owned()),
        [] => Err(Failure::bad_input("slipway.toml declares no service")
            .hint("declare one under [services.NAME]")),
        several => Err(Failure::bad_input(format!(
            "slipway.toml declares {} services",
            several.len()
        ))
        .hint(format!("name one: {}", several.join(", ")))),
    }
}

/// A controller acting for the person running the command, reporting its steps as progress.
pub(super) fn controller(
    target: &Target,
    platform: Arc<dyn Platform>,
    status: Status,
) -> Result<Controller, Failure> {
    Ok(Controller::new(
        target.store.clone(),
        platform,
        who(),
        Arc::new(move |line: &str| status.line(format!("  {line}"))),
    ))
}

/// Who a release is recorded as made by: the login name the environment gives, else the name of
/// the process's account (cron jobs, containers and systemd units often set no `USER`), else its
/// uid.
fn who() -> String {
    let from_environment = ["USER", "LOGNAME"]
        .into_iter()
        .filter_map(|key| std::env::var(key).ok())
        .find(|name| !name.is_empty());
    let uid = nix::unistd::getuid();
    from_environment
        .or_else(|| {
            let account = nix::unistd::User::from_uid(uid).ok().flatten();
            account.map(|user| user.name)
        })
        .unwrap_or_else(|| format!("uid {uid}"))
}

/// The daemon of the target's state directory, started in the background when none runs.
pub(super) async fn daemon(target: &Target, status: Status) -> Result<DaemonClient, Failure> {
    match DaemonClient::connect(&target.state_dir).await {
        Ok(client) => return Ok(client),
        Err(DeployError::DaemonUnreachable { .. }) => {}
        Err(error) => return Err(error.into()),
    }
    status.line("starting the slipway daemon");
    let client = start_daemon(target).await?;
    if let Some(busy) = client.status().proxy_fallback_from {
        status.warn(format!(
            "{busy} is in use (another project's daemon?): the proxy serves on {} instead",
            client.status().proxy
        ));
    }
    Ok(client)
}

/// Starts the daemon and waits until it answers.
async fn start_daemon(target: &Target) -> Result<DaemonClient, Failure> {
    let mut child = spawn_daemon(target)?;
    let waited = tokio::select! {
        client = DaemonClient::wait_for(&target.state_dir, DAEMON_START_TIMEOUT) => client,
        exit = wait_exit(&mut child) => Err(DeployError::DaemonStart { message: format!("it exited ({exit})") }),
    };
    waited.map_err(|error| {
        let log = DaemonPaths::new(&target.state_dir).log();
        let tail = last_lines(&log, 5);
        Failure::new(format!("cannot start the slipway daemon: {error}"))
            .cause(if tail.is_empty() {
                "it wrote nothing".to_owned()
            } else {
                tail
            })
            .hint(format!(
                "a port in use? set SLIPWAY_PROXY_LISTEN=127.0.0.1:PORT; its whole log is {}",
                log.display()
            ))
    })
}

/// The daemon's client, when one runs.
pub(super) async fn running_daemon(target: &Target) -> Result<Option<DaemonClient>, Failure> {
    match DaemonClient::connect(&target.state_dir).await {
        Ok(client) => Ok(Some(client)),
        Err(DeployError::DaemonUnreachable { .. }) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// The daemon's client, or a failure saying none runs.
pub(super) async fn required_daemon(target: &Target) -> Result<DaemonClient, Failure> {
    running_daemon(target).await?.ok_or_else(|| {
        Failure::new("the slipway daemon does not run, so nothing is deployed here").hint(format!(
            "`slipway deploy {}` starts it",
            target.key.environment
        ))
    })
}

/// Starts `slipway daemon run` for the target, detached: its own process group (Ctrl-C in this
/// terminal does not reach it), output to its log, outliving this command.
fn spawn_daemon(target: &Target) -> Result<std::process::Child, Failure> {
    let paths = DaemonPaths::new(&target.state_dir);
    let failed =
        |error: std::io::Error| Failure::new(format!("cannot start the slipway daemon: {error}"));
    // The daemon's log may hold service output: private, like the rest of the state directory.
    slipway_store::private::create_dir(paths.dir()).map_err(failed)?;
    let (log, tightened) = slipway_store::private::open_append(&paths.log()).map_err(failed)?;
    if let Some(tightened) = tightened {
        tracing::warn!("{tightened}");
    }
    let log_err = log.try_clone().map_err(failed)?;
    let exe = std::env::current_exe().map_err(failed)?;
    let mut command = std::process::Command::new(exe);
    command
        .arg("daemon")
        .arg("run")
        .arg("--state-dir")
        .arg(&target.state_dir)
        .arg("--config")
        .arg(target.config.origin())
        .current_dir(&target.root)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err);
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    command.spawn().map_err(failed)
}

async fn wait_exit(child: &mut std::process::Child) -> String {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.to_string(),
            Ok(None) => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(error) => return error.to_string(),
        }
    }
}

/// The last `count` lines of a file, joined, or empty.
pub(super) fn last_lines(path: &Path, count: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}

impl From<DeployError> for Failure {
    fn from(error: DeployError) -> Failure {
        let message = error.to_string();
        match error {
            DeployError::Store(error) => error.into(),
            DeployError::Busy { .. } => Failure::new(message).hint("wait for it to finish; `slipway status` shows where it stands"),
            DeployError::Paused { .. } => {
                Failure::new(message).hint("`slipway promote ENV SERVICE` continues it, `slipway abort ENV SERVICE` rolls it back")
            }
            DeployError::NotPaused { .. } => Failure::bad_input(message).hint("`slipway status` shows what runs"),
            DeployError::NotDeployed { .. } => Failure::bad_input(message).hint("`slipway deploy ENV SERVICE` deploys it"),
            DeployError::NothingToRollBack { .. } | DeployError::AlreadyServing { .. } => {
                Failure::bad_input(message).hint("`slipway releases ENV SERVICE` lists its releases")
            }
            DeployError::UnknownRelease { .. } | DeployError::NeverServed { .. } => {
                Failure::bad_input(message).hint("`slipway releases ENV SERVICE` lists its releases; pick one that succeeded")
            }
            DeployError::ReplicasFailed { .. } => {
                Failure::new(message).hint("the current replicas keep serving; `slipway logs ENV SERVICE` shows their output")
            }
            DeployError::DaemonUnreachable { .. } => Failure::new(message).hint("`slipway daemon status` says whether it runs; `slipway deploy` starts it"),
            DeployError::Remote { kind: RemoteErrorKind::ImageNotFound, .. } => {
                Failure::bad_input(message).hint("build the image with `slipway build`, or deploy with --build")
            }
            DeployError::Remote { kind: RemoteErrorKind::Engine, .. } => {
                Failure::new(message).hint("start Docker, or run scripts/setup-engine for Podman; or deploy with --runtime process")
            }
            DeployError::Runtime(slipway_runtime::RuntimeError::Locked { .. }) => {
                Failure::new(message).hint("a daemon already runs for this state directory; `slipway daemon status` shows it")
            }
            _ => Failure::new(message).hint("`slipway daemon status` and the daemon's log (.slipway/daemon/daemon.log) may say more"),
        }
    }
}
