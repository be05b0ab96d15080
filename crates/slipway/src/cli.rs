//! The command line, as clap definitions and nothing else.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

/// Slipway takes a service from commit to production: it builds images, runs GitHub Actions
/// workflows, scans, keeps images and deploys, from one binary.
#[derive(Debug, Parser)]
#[command(
    name = "slipway",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// The project's slipway.toml [default: found upward from the current directory]
    #[arg(long, global = true, env = "SLIPWAY_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Where Slipway keeps its state [default: .slipway/ at the repository root]
    #[arg(long, global = true, env = "SLIPWAY_HOME", value_name = "DIR")]
    pub(crate) state_dir: Option<PathBuf>,
    /// Print only results and errors, no progress (for CI logs)
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
    /// Log more (-v: debug, -vv: trace); RUST_LOG overrides
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub(crate) verbose: u8,
    /// When to colour the output; NO_COLOR in the environment means never
    #[arg(long, global = true, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN")]
    pub(crate) color: ColorWhen,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Write slipway.toml, a multi-stage Dockerfile, .dockerignore and a workflow for this service
    Init(InitArgs),
    /// Take the project from its commit to a verified staging release: run its workflows for a
    /// push (build and push, test, scan, deploy, end-to-end), then say where it serves
    Up(UpArgs),
    /// Build a service's image through the container engine, tagged with commit, version and branch
    Build(BuildArgs),
    /// List recorded builds, or show one with its log
    Builds(BuildsArgs),
    /// Check the container engine, state directory, git repository and config, and say how to fix them
    Doctor(DoctorArgs),
    /// Print the JSON Schema of slipway.toml, or the config merged for an environment
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Run Slipway's reverse proxy on its own, in the foreground, until Ctrl-C or SIGTERM
    Proxy(ProxyArgs),
    /// Run the GitHub Actions workflows an event triggers, on this machine
    Run(RunArgs),
    /// List recorded workflow runs
    Runs(RunsArgs),
    /// Show the logs of a recorded run (`logs RUN [JOB]`), or of a deployed service's replicas (`logs ENV SERVICE`)
    Logs(LogsArgs),
    /// Deploy a service to an environment behind Slipway's proxy, with zero dropped requests
    Deploy(DeployArgs),
    /// Move a service's traffic back to its previous release (or to --to RELEASE)
    Rollback(RollbackArgs),
    /// Give a paused canary its next step, or all the traffic after its last
    Promote(ServiceArgs),
    /// Stop a paused canary: all traffic back to the stable release
    Abort(ServiceArgs),
    /// Show what serves: releases, replicas, health, traffic split and URL of each service
    Status(StatusArgs),
    /// List a service's releases, or show one with every step
    Releases(ReleasesArgs),
    /// Run N replicas of a service's current release
    Scale(ScaleArgs),
    /// Stop a service's releases (or every service of an environment)
    Stop(StopArgs),
    /// Manage the background daemon that hosts the proxy, supervision and autoscaling
    #[command(subcommand)]
    Daemon(DaemonCommand),
    /// Check workflow files: file:line:col: message [rule]
    Lint(LintArgs),
    /// Push every tag of a built image to the project's registry (the embedded one by default)
    Push(PushArgs),
    /// Run the embedded OCI registry, apply its retention policies, collect its garbage
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// Generate a signing key pair (cosign.key, encrypted, and cosign.pub)
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Sign an image in a registry: a Sigstore bundle stored as an OCI referrer of the image
    Sign(SignArgs),
    /// Verify an image's signatures with a public key, offline; exit 1 when none verifies
    Verify(VerifyArgs),
    /// Evaluate a GitHub Actions expression and print its value as JSON
    Expr(ExprArgs),
    /// Scan for vulnerable packages, secrets and Dockerfile problems; exit 1 when the gate fails
    #[command(subcommand)]
    Scan(ScanCommand),
    /// Write a bill of materials (CycloneDX 1.5 or SPDX 2.3 JSON) of a directory or an image
    Sbom(SbomArgs),
    /// Import OSV advisories for offline scanning, or show what is imported
    #[command(subcommand)]
    Db(DbCommand),
    /// List the audit trail, newest first, or prove with --verify that no entry was changed or removed
    Audit(AuditArgs),
    /// Run the control plane: the HTTP API with tokens and roles, a durable run queue, and
    /// workers that run each queued run with the same runner as `slipway run`
    Serve(ServeArgs),
    /// Make, list and revoke the API tokens of a server's data directory
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Add, list, show and remove the projects a server runs
    #[command(subcommand)]
    Projects(ProjectsCommand),
    /// Make pushes to a local bare repository run a project on the server of a data directory
    #[command(subcommand)]
    Hooks(HooksCommand),
    /// Print a shell completion script: `source <(slipway completions bash)`
    Completions(CompletionsArgs),
    /// Print the man page slipway(1), or write one page per command with --dir
    Man(ManArgs),
}

/// Where a server keeps its state.
#[derive(Debug, Clone, Args)]
pub(crate) struct DataArgs {
    /// The server's data directory (state.db, mirrors/, workspaces/, runner/, logs/)
    #[arg(
        long,
        env = "SLIPWAY_DATA",
        default_value = "slipway-data",
        value_name = "DIR"
    )]
    pub(crate) data: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Where to serve the API
    #[arg(long, default_value = "127.0.0.1:8700", value_name = "ADDR")]
    pub(crate) listen: SocketAddr,
    #[command(flatten)]
    pub(crate) data: DataArgs,
    /// Runs in progress at once across projects [default: the number of cores]
    #[arg(long, value_name = "N")]
    pub(crate) workers: Option<u32>,
    /// Runs in progress at once of one project
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub(crate) per_project: u32,
    /// On SIGTERM, how long running runs may go on before they are interrupted as Ctrl-C does
    #[arg(long, default_value = "30s", value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) grace: Duration,
    /// What happens on start to runs a dead server left in progress
    #[arg(long, value_enum, default_value_t = OnRestartArg::Requeue, value_name = "WHAT")]
    pub(crate) on_restart: OnRestartArg,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum OnRestartArg {
    /// Queue them again, to run from the start
    Requeue,
    /// Record them as failed
    Fail,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokensCommand {
    /// Make a token and print it once; only its hash is kept
    Create {
        /// Who uses it (unique)
        name: String,
        /// What it may do: viewer reads; developer also dispatches, cancels and reruns;
        /// deployer also acts on environments; admin manages projects and tokens
        #[arg(long, value_parser = parse_role)]
        role: slipway_store::Role,
        #[command(flatten)]
        data: DataArgs,
        /// Print the token and its record as JSON
        #[arg(long)]
        json: bool,
    },
    /// List the tokens, revoked ones too (never the tokens themselves)
    List {
        #[command(flatten)]
        data: DataArgs,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token: it is refused from now on
    Revoke {
        /// The token's name
        name: String,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum HooksCommand {
    /// Write a post-receive hook into a bare repository that hands each pushed ref to the server
    /// (through a spool under the data directory, so pushes made while it is down run when it starts)
    Install {
        /// The bare repository
        #[arg(long, value_name = "PATH")]
        repo: PathBuf,
        /// The project the pushes run
        #[arg(long, value_name = "NAME")]
        project: String,
        #[command(flatten)]
        data: DataArgs,
    },
    /// What the installed hook runs: spools the refs on standard input (`OLD NEW REF` lines)
    #[command(hide = true)]
    Receive {
        /// The project the pushes run
        #[arg(long, value_name = "NAME")]
        project: String,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ProjectsCommand {
    /// Add a project: a repository the server mirrors and runs
    Add {
        /// Its unique name
        name: String,
        /// A URL git can clone, or a local path
        #[arg(long, value_name = "URL|PATH")]
        repo: String,
        /// The branch runs without a ref use
        #[arg(long, default_value = "main", value_name = "BRANCH")]
        default_branch: String,
        /// The file holding the webhook secret (only its path is stored)
        #[arg(long, value_name = "FILE")]
        webhook_secret_file: Option<PathBuf>,
        /// Poll the repository this often, for hosts that cannot send webhooks
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        poll: Option<Duration>,
        #[command(flatten)]
        data: DataArgs,
        /// Print the project as JSON
        #[arg(long)]
        json: bool,
    },
    /// List the projects
    List {
        #[command(flatten)]
        data: DataArgs,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Show one project
    Show {
        /// The project's name
        name: String,
        #[command(flatten)]
        data: DataArgs,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Remove a project; its runs stay recorded
    Remove {
        /// The project's name
        name: String,
        #[command(flatten)]
        data: DataArgs,
    },
}

fn parse_role(text: &str) -> Result<slipway_store::Role, String> {
    text.parse()
        .map_err(|error: slipway_store::UnknownRole| error.to_string())
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// Write slipway.1 and a page per subcommand (slipway-deploy.1, ...) into DIR instead
    #[arg(long, value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// The kind of service [default: node if package.json exists, rust if Cargo.toml does]
    #[arg(long, value_enum)]
    pub(crate) template: Option<TemplateName>,
    /// The service's name [default: the directory's name]
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Overwrite files that already exist
    #[arg(long)]
    pub(crate) force: bool,
    /// The service's directory
    #[arg(default_value = ".")]
    pub(crate) dir: PathBuf,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum TemplateName {
    Node,
    Rust,
}

#[derive(Debug, Args)]
pub(crate) struct BuildArgs {
    /// The service to build [default: the only service in slipway.toml]
    pub(crate) service: Option<String>,
    /// Build this Dockerfile stage instead of the last
    #[arg(long, value_name = "STAGE")]
    pub(crate) target: Option<String>,
    /// A build argument, added to those in slipway.toml (repeatable)
    #[arg(long = "build-arg", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub(crate) build_args: Vec<(String, String)>,
    /// Ignore the build cache
    #[arg(long)]
    pub(crate) no_cache: bool,
    /// The target platform (os/arch[/variant]), where the engine supports it
    #[arg(long, value_name = "PLATFORM")]
    pub(crate) platform: Option<String>,
    /// Push every tag of the image to the project's registry once built (see `slipway push`)
    #[arg(long)]
    pub(crate) push: bool,
    /// What to build for: `container` builds an image on the engine; `process` packs the build
    /// context into a bundle (an OCI artifact) for the process runtime, with no engine
    #[arg(long, value_enum, env = "SLIPWAY_RUNTIME", default_value = "container")]
    pub(crate) runtime: RuntimeArg,
    /// Print the result as JSON
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct UpArgs {
    /// The project's directory [default: the current directory]
    pub(crate) path: Option<PathBuf>,
    /// Where the pipeline's services run [default: container when an engine answers, else
    /// process]
    #[arg(long, value_enum)]
    pub(crate) runtime: Option<RuntimeArg>,
    /// The environment whose release is reported (the workflow decides where it deploys)
    #[arg(long, default_value = "staging", value_name = "ENV")]
    pub(crate) environment: String,
    /// Run the working tree as it is, uncommitted changes included, instead of the commit
    #[arg(long)]
    pub(crate) dirty: bool,
    /// Print the result as JSON
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct PushArgs {
    /// A service (its latest successful build) or an image reference (every tag of that image in
    /// its repository) [default: the only service's latest build]
    pub(crate) image: Option<String>,
    /// Print what was pushed as JSON
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Write cosign.key (encrypted with a password: SLIPWAY_KEY_PASSWORD, else asked) and
    /// cosign.pub, in the files cosign reads
    Generate(KeysGenerateArgs),
}

#[derive(Debug, Args)]
pub(crate) struct KeysGenerateArgs {
    /// The directory to write the key pair into; existing keys are never overwritten
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub(crate) output: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// The image, with its registry: HOST[:PORT]/REPOSITORY[:TAG|@DIGEST]
    pub(crate) image: String,
    /// The private key (its password from SLIPWAY_KEY_PASSWORD, else asked)
    #[arg(long, value_name = "FILE", default_value = "cosign.key")]
    pub(crate) key: PathBuf,
    /// Write cosign's legacy simple-signing signature (the `sha256-<hex>.sig` tag) instead of a
    /// bundle, for verifiers that predate bundles
    #[arg(long)]
    pub(crate) legacy: bool,
    /// Reach the registry over plain HTTP (always so for localhost and 127.0.0.1)
    #[arg(long)]
    pub(crate) insecure: bool,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The image, with its registry: HOST[:PORT]/REPOSITORY[:TAG|@DIGEST]
    pub(crate) image: String,
    /// The public key (cosign.pub)
    #[arg(long, value_name = "FILE")]
    pub(crate) key: PathBuf,
    /// Print every signature found and its verdict as JSON
    #[arg(long)]
    pub(crate) json: bool,
    /// Reach the registry over plain HTTP (always so for localhost and 127.0.0.1)
    #[arg(long)]
    pub(crate) insecure: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum RegistryCommand {
    /// Serve the registry until Ctrl-C or SIGTERM; settings from [registry.server] in slipway.toml
    /// (or the file --config names)
    Serve(RegistryServeArgs),
    /// Apply the retention policies of [[registry.server.retention]]: remove the tags and
    /// manifests no rule keeps
    Retention(RegistryRetentionArgs),
    /// Collect garbage: remove blobs no manifest references, while the registry serves
    Gc(RegistryGcArgs),
}

#[derive(Debug, Args)]
pub(crate) struct RegistryServeArgs {
    /// The address to listen on [default: [registry.server] address, else 127.0.0.1:5000]
    #[arg(long, value_name = "ADDR")]
    pub(crate) addr: Option<std::net::SocketAddr>,
    /// The storage directory [default: [registry.server] storage, else registry/ in the state directory]
    #[arg(long, value_name = "DIR")]
    pub(crate) storage: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct RegistryRetentionArgs {
    /// Show what would be removed and why, and remove nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// The storage directory [default: as for `registry serve`]
    #[arg(long, value_name = "DIR")]
    pub(crate) storage: Option<PathBuf>,
    /// Print the plan (and what was removed) as JSON
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RegistryGcArgs {
    /// Keep unreferenced blobs younger than this (`1h`, `10m`) [default: [registry.server] gc_grace, else 1h]
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub(crate) grace: Option<std::time::Duration>,
    /// The storage directory [default: as for `registry serve`]
    #[arg(long, value_name = "DIR")]
    pub(crate) storage: Option<PathBuf>,
    /// Print the report as JSON
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct BuildsArgs {
    #[command(subcommand)]
    pub(crate) show: Option<BuildsCommand>,
    /// Only builds of this service
    #[arg(long)]
    pub(crate) service: Option<String>,
    /// Only builds that ended this way
    #[arg(long, value_enum)]
    pub(crate) status: Option<StatusName>,
    /// At most this many, newest first
    #[arg(long, default_value_t = 20)]
    pub(crate) limit: u32,
    /// Print JSON instead of a table
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum BuildsCommand {
    /// Show one build with its log
    Show {
        /// The build's id, as `slipway builds` lists it
        id: i64,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum StatusName {
    Succeeded,
    Failed,
    Cancelled,
}

#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    /// Print JSON
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Print the JSON Schema of slipway.toml (for editors: `#:schema` or a JSON Schema store)
    Schema,
    /// Print the configuration merged for an environment
    Show {
        /// The environment
        #[arg(default_value = "dev")]
        environment: String,
        /// Print JSON instead of TOML
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct ProxyArgs {
    /// Where to serve HTTP/1.1 and HTTP/2 (h2c)
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub(crate) listen: SocketAddr,
    /// The control API: a unix socket path, or a loopback IP:PORT that requires the control
    /// token [default: STATE_DIR/proxy/control.sock]
    #[arg(long, value_name = "PATH|ADDR")]
    pub(crate) control: Option<String>,
    /// The bearer token of a loopback control API (at least 16 characters)
    #[arg(
        long,
        env = "SLIPWAY_PROXY_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub(crate) control_token: Option<String>,
    /// A routing table (JSON, as `GET /routes` on the control API shows) to apply at start,
    /// replacing the saved one
    #[arg(long, value_name = "FILE")]
    pub(crate) routes: Option<PathBuf>,
    /// Where the routing table is saved to survive restarts [default: STATE_DIR/proxy/routes.json]
    #[arg(long, value_name = "FILE")]
    pub(crate) state_file: Option<PathBuf>,
    /// Also serve `GET /metrics` (Prometheus), without authentication, on this address
    #[arg(long, value_name = "ADDR")]
    pub(crate) metrics_listen: Option<SocketAddr>,
    /// How long requests may finish on upstreams a switch removed, and at shutdown
    #[arg(long, default_value = "30s", value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) drain_timeout: Duration,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The event to run for (push, pull_request, workflow_dispatch, ...)
    #[arg(default_value = "push")]
    pub(crate) event: String,
    /// Only this workflow file, or the workflows in this directory (repeatable)
    #[arg(short = 'W', long = "workflows", value_name = "PATH")]
    pub(crate) workflows: Vec<PathBuf>,
    /// Only this job, and the jobs it needs (repeatable)
    #[arg(short = 'j', long = "job", value_name = "JOB")]
    pub(crate) jobs: Vec<String>,
    /// A workflow_dispatch input (repeatable)
    #[arg(long = "input", value_name = "KEY=VALUE")]
    pub(crate) inputs: Vec<String>,
    /// The event's payload, as GitHub would send it (JSON)
    #[arg(short = 'e', long = "eventpath", value_name = "FILE")]
    pub(crate) event_path: Option<PathBuf>,
    /// A variable of the vars context (repeatable)
    #[arg(long = "var", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub(crate) vars: Vec<(String, String)>,
    /// A file of KEY=VALUE lines for the vars context
    #[arg(long = "var-file", value_name = "FILE")]
    pub(crate) var_files: Vec<PathBuf>,
    /// A secret: NAME=VALUE, or NAME to take its value from the environment (repeatable)
    #[arg(short = 's', long = "secret", value_name = "NAME[=VALUE]")]
    pub(crate) secrets: Vec<String>,
    /// A file of KEY=VALUE secrets
    #[arg(long = "secret-file", value_name = "FILE")]
    pub(crate) secret_files: Vec<PathBuf>,
    /// A file of KEY=VALUE environment variables for every step
    #[arg(long = "env-file", value_name = "FILE")]
    pub(crate) env_files: Vec<PathBuf>,
    /// Only matrix combinations where KEY is VALUE (repeatable)
    #[arg(long = "matrix", value_name = "KEY:VALUE", value_parser = parse_matrix_filter)]
    pub(crate) matrix: Vec<(String, String)>,
    /// Run jobs with this runs-on label on the host or in this image (repeatable)
    #[arg(short = 'P', long = "platform", value_name = "LABEL=host|IMAGE", value_parser = parse_key_value)]
    pub(crate) platforms: Vec<(String, String)>,
    /// Run this action from a local directory instead of fetching it (repeatable)
    #[arg(long = "action", value_name = "OWNER/REPO[@REF]=DIR", value_parser = parse_key_value)]
    pub(crate) actions: Vec<(String, String)>,
    /// Run on the working tree as it is, uncommitted changes included, instead of the commit
    #[arg(long)]
    pub(crate) dirty: bool,
    /// How many jobs run at once [default: the number of CPUs]
    #[arg(long, value_name = "N")]
    pub(crate) parallel: Option<usize>,
    /// Print the plan and run nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// List the jobs and their graph, and run nothing
    #[arg(short = 'l', long)]
    pub(crate) list: bool,
    /// Show ::debug:: messages and set RUNNER_DEBUG in steps
    #[arg(long)]
    pub(crate) debug: bool,
    /// Print the recorded runs as JSON at the end
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    /// Walk the whole chain and exit 1 naming the first entry that was changed or removed
    #[arg(long)]
    pub(crate) verify: bool,
    /// The data directory whose store to read [default: the project's state directory]
    #[arg(long, value_name = "DIR")]
    pub(crate) data: Option<PathBuf>,
    /// At most this many entries, newest first
    #[arg(long, default_value_t = 50)]
    pub(crate) limit: u32,
    /// Only entries older than this id (the `next` cursor of a previous --json page)
    #[arg(long, value_name = "ID")]
    pub(crate) before: Option<i64>,
    /// Print JSON instead of a table
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RunsArgs {
    /// Only runs of this workflow file (.github/workflows/ci.yml)
    #[arg(long, value_name = "FILE")]
    pub(crate) workflow: Option<String>,
    /// Only runs that ended this way
    #[arg(long, value_enum)]
    pub(crate) status: Option<ConclusionName>,
    /// At most this many, newest first
    #[arg(long, default_value_t = 20)]
    pub(crate) limit: u32,
    /// Print JSON instead of a table
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum ConclusionName {
    Success,
    Failure,
    Cancelled,
}

#[derive(Debug, Args)]
pub(crate) struct LogsArgs {
    /// A run's id, as `slipway runs` lists it; or an environment, followed by a service
    pub(crate) target: String,
    /// With a run: only this job, by id or name (`test (18)`). With an environment: the service
    pub(crate) job: Option<String>,
    /// With a service: the last N lines of each replica
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub(crate) tail: usize,
    /// With a service: keep printing each line its replicas write, until Ctrl-C
    #[arg(long, short = 'f')]
    pub(crate) follow: bool,
    /// Print JSON
    #[arg(long)]
    pub(crate) json: bool,
}

impl LogsArgs {
    /// The run id, when the target is one (`slipway logs 12`); otherwise it names an environment.
    pub(crate) fn run_id(&self) -> Option<i64> {
        self.target.parse().ok()
    }
}

#[derive(Debug, Args)]
pub(crate) struct DeployArgs {
    /// The environment (dev, staging, prod, or one declared in slipway.toml)
    pub(crate) environment: String,
    /// The service [default: the only service in slipway.toml]
    pub(crate) service: Option<String>,
    /// Deploy this image (container runtime) [default: the service's latest build], or this
    /// bundle from the embedded registry (process runtime) [default: the build context in place]
    #[arg(long, value_name = "REF", conflicts_with = "build")]
    pub(crate) image: Option<String>,
    /// Build the image first, then deploy it (container runtime)
    #[arg(long)]
    pub(crate) build: bool,
    /// How the new release replaces the current one [default: from slipway.toml, else blue-green]
    #[arg(long, value_enum)]
    pub(crate) strategy: Option<StrategyArg>,
    /// What runs the replicas [default: from slipway.toml, else process]. With `process`,
    /// --image names a bundle in the embedded registry (see `slipway build --runtime process`)
    #[arg(long, value_enum, env = "SLIPWAY_RUNTIME")]
    pub(crate) runtime: Option<RuntimeArg>,
    /// An environment variable for this release (repeatable); a changed value makes a new release
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub(crate) env: Vec<(String, String)>,
    /// Why, for the release record
    #[arg(long)]
    pub(crate) reason: Option<String>,
    /// Print the result as JSON
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum StrategyArg {
    BlueGreen,
    Canary,
    Rolling,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RuntimeArg {
    Process,
    Container,
}

#[derive(Debug, Args)]
pub(crate) struct ServiceArgs {
    /// The environment
    pub(crate) environment: String,
    /// The service [default: the only service in slipway.toml]
    pub(crate) service: Option<String>,
    /// Print the result as JSON
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RollbackArgs {
    /// The environment
    pub(crate) environment: String,
    /// The service [default: the only service in slipway.toml]
    pub(crate) service: Option<String>,
    /// Go back to this release (as `slipway releases` lists it) [default: the previous one]
    #[arg(long, value_name = "RELEASE")]
    pub(crate) to: Option<i64>,
    /// Why, for the record
    #[arg(long)]
    pub(crate) reason: Option<String>,
    /// Print the result as JSON
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Only this environment
    pub(crate) environment: Option<String>,
    /// Print JSON
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ReleasesArgs {
    /// The environment
    pub(crate) environment: String,
    /// The service [default: the only service in slipway.toml]
    pub(crate) service: Option<String>,
    /// Show this release with every step
    #[arg(long, value_name = "RELEASE")]
    pub(crate) show: Option<i64>,
    /// At most this many, newest first
    #[arg(long, default_value_t = 20)]
    pub(crate) limit: u32,
    /// Print JSON
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ScaleArgs {
    /// The environment
    pub(crate) environment: String,
    /// The service
    pub(crate) service: String,
    /// How many replicas
    #[arg(value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub(crate) replicas: u32,
    /// Print the result as JSON
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct StopArgs {
    /// The environment
    pub(crate) environment: String,
    /// Only this service [default: every service deployed there]
    pub(crate) service: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DaemonCommand {
    /// Run the daemon in the foreground (`slipway deploy` starts it in the background on demand)
    Run {
        /// Where the proxy listens [default: 127.0.0.1:7080, or a free port when that one is
        /// in use]
        #[arg(long, env = "SLIPWAY_PROXY_LISTEN", value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
    },
    /// Say whether the daemon runs, and where its proxy serves
    Status {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Stop the daemon (replicas keep running; the next daemon adopts them)
    Stop {
        /// Stop every deployed service's replicas first, in every environment
        #[arg(long)]
        all: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct LintArgs {
    /// Workflow files [default: .github/workflows/*.yml]
    pub(crate) files: Vec<PathBuf>,
    /// Print JSON
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ExprArgs {
    /// The expression, with or without ${{ }}
    // An expression may begin with `-` (`-1 < 0`); it is still not mistaken for an option.
    #[arg(allow_hyphen_values = true)]
    pub(crate) expression: String,
    /// A JSON file mapping context names to values ({"github": {...}, "env": {...}})
    #[arg(long, value_name = "FILE")]
    pub(crate) context: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ScanCommand {
    /// Scan a directory: lockfiles and OS package databases, secrets, Dockerfiles
    Fs(ScanFsArgs),
    /// Scan an image: a reference (exported from the engine, or pulled from its registry with
    /// the credentials `docker login` and `podman login` keep), a `docker save` archive, or an
    /// OCI layout directory
    Image(ScanImageArgs),
    /// Scan a directory, or with --git-history every commit, for secrets
    Secrets(ScanSecretsArgs),
    /// Check the Dockerfiles under a directory
    Config(ScanConfigArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ScanFsArgs {
    /// The directory
    #[arg(default_value = ".")]
    pub(crate) path: PathBuf,
    /// Only these scanners (repeatable)
    #[arg(long = "scanner", value_enum, value_name = "SCANNER")]
    pub(crate) scanners: Vec<ScannerName>,
    #[command(flatten)]
    pub(crate) scan: ScanOutputArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ScanImageArgs {
    /// An image reference, a `docker save` archive, or an OCI layout directory
    pub(crate) target: String,
    /// Do not pull an image the engine does not have from its registry
    #[arg(long)]
    pub(crate) no_pull: bool,
    /// Do not record the report in the state store
    #[arg(long)]
    pub(crate) no_record: bool,
    /// Judge the image by this environment's scan policy in slipway.toml (`[scan]` and
    /// `[environments.ENV.scan]`), as a deploy there under `require_scan` asks; --fail-on overrides
    /// the threshold
    #[arg(long = "env", value_name = "ENV")]
    pub(crate) env: Option<String>,
    /// Only these scanners (repeatable; config does not apply to images)
    #[arg(long = "scanner", value_enum, value_name = "SCANNER")]
    pub(crate) scanners: Vec<ScannerName>,
    #[command(flatten)]
    pub(crate) scan: ScanOutputArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ScanSecretsArgs {
    /// The directory, or the repository with --git-history
    #[arg(default_value = ".")]
    pub(crate) path: PathBuf,
    /// Scan the lines every commit on every branch added, instead of the files
    #[arg(long)]
    pub(crate) git_history: bool,
    #[command(flatten)]
    pub(crate) scan: ScanOutputArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ScanConfigArgs {
    /// The directory
    #[arg(default_value = ".")]
    pub(crate) path: PathBuf,
    #[command(flatten)]
    pub(crate) scan: ScanOutputArgs,
}

/// What every scan takes: output, gate, rules.
#[derive(Debug, Args)]
pub(crate) struct ScanOutputArgs {
    /// How to print the report
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub(crate) format: ReportFormat,
    /// Write the report to FILE instead of stdout (not with --format table)
    #[arg(long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Fail (exit 1) on any finding at or above this severity
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub(crate) fail_on: Option<SeverityName>,
    /// Leave out vulnerabilities that no released version fixes
    #[arg(long)]
    pub(crate) ignore_unfixed: bool,
    /// Accepted findings, each with a reason and an expiry date [default: .slipway-ignore.toml if present]
    #[arg(long, value_name = "FILE")]
    pub(crate) ignore_file: Option<PathBuf>,
    /// A Rego policy whose `deny` rules fail the gate (repeatable)
    #[arg(long = "policy", value_name = "FILE.rego")]
    pub(crate) policies: Vec<PathBuf>,
    /// Secret rules in gitleaks' TOML format, added to the built-in ones
    #[arg(long, value_name = "FILE")]
    pub(crate) secret_rules: Option<PathBuf>,
    /// Scan files that .gitignore and .ignore exclude too
    #[arg(long)]
    pub(crate) no_ignore: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReportFormat {
    Table,
    Json,
    Sarif,
    Cyclonedx,
    Spdx,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ScannerName {
    Vuln,
    Secret,
    Config,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SeverityName {
    Critical,
    High,
    Medium,
    Low,
}

#[derive(Debug, Args)]
pub(crate) struct SbomArgs {
    /// A directory, an image archive or OCI layout, or an image reference
    pub(crate) target: String,
    /// The document format
    #[arg(long, value_enum, default_value_t = SbomFormat::Cyclonedx)]
    pub(crate) format: SbomFormat,
    /// Write it to FILE instead of stdout
    #[arg(long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SbomFormat {
    Cyclonedx,
    Spdx,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DbCommand {
    /// Import OSV records: a directory of JSON files, or an ecosystem's all.zip from OSV
    Import {
        /// The directory, .zip or .json
        path: PathBuf,
        /// Print the summary as JSON
        #[arg(long)]
        json: bool,
    },
    /// Download OSV's advisories (each ecosystem's all.zip, over HTTPS, only when changed) into
    /// the user's advisory database, replacing what it held
    Update {
        /// Where OSV's exports are: its bucket, or a mirror of its layout (URL/ECOSYSTEM/all.zip)
        #[arg(long, value_name = "URL", env = "SLIPWAY_OSV_URL", default_value = slipway_vuln::OSV_URL)]
        source: String,
        /// Only this ecosystem, as OSV names it (repeatable) [default: every one Slipway matches]
        #[arg(long = "ecosystem", value_name = "NAME", value_parser = clap::builder::PossibleValuesParser::new(slipway_vuln::UPDATE_ECOSYSTEMS))]
        ecosystems: Vec<String>,
        /// Print the summary as JSON
        #[arg(long)]
        json: bool,
    },
    /// Show how many advisories are imported, per ecosystem, and how old they are
    Status {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

fn parse_matrix_filter(text: &str) -> Result<(String, String), String> {
    match text.split_once(':') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("`{text}` is not KEY:VALUE")),
    }
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text)
        .map_err(|error| format!("`{text}` is not a duration such as 30s or 500ms: {error}"))
}

fn parse_key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("`{text}` is not KEY=VALUE")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn an_expression_may_begin_with_a_hyphen() {
        let expression = |args: &[&str]| match Cli::try_parse_from(args).map(|cli| cli.command) {
            Ok(Command::Expr(expr)) => Ok((expr.expression, expr.context)),
            Ok(other) => panic!("{args:?} parsed as {other:?}"),
            Err(error) => Err(error.kind()),
        };
        assert_eq!(
            expression(&["slipway", "expr", "-1 < 0"]),
            Ok(("-1 < 0".to_owned(), None))
        );
        assert_eq!(
            expression(&["slipway", "expr", "-1", "--context", "c.json"]),
            Ok(("-1".to_owned(), Some(PathBuf::from("c.json"))))
        );
        assert_eq!(
            expression(&["slipway", "expr", "--context", "c.json", "-x"]),
            Ok(("-x".to_owned(), Some(PathBuf::from("c.json"))))
        );
        assert_eq!(
            expression(&["slipway", "expr", "--help"]),
            Err(clap::error::ErrorKind::DisplayHelp)
        );
    }

    #[test]
    fn build_args_are_key_value_pairs() {
        assert_eq!(parse_key_value("A=b=c"), Ok(("A".into(), "b=c".into())));
        assert_eq!(parse_key_value("A="), Ok(("A".into(), String::new())));
        assert!(parse_key_value("=x").is_err());
        assert!(parse_key_value("novalue").is_err());
    }
}
