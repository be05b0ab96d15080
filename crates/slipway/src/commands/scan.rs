//! `slipway scan fs|image|secrets|config`, `slipway sbom` and `slipway db import|status`.
//!
//! Arguments become a scan (`slipway-scan`), the gate is applied, and the report is printed in
//! the asked format. Exit status: 0 when the gate passes, 1 when it fails or a gate (a threshold
//! or a policy) was asked for and the advisories could not vouch for the packages (`not
//! checked`), 2 when a policy could not be evaluated or the input was wrong.
//!
//! `scan image REFERENCE` exports the image from the container engine when it has it; otherwise
//! Slipway pulls it from its registry itself (this machine's platform, into a temporary OCI
//! layout), with the credentials `slipway push` would use for that registry (`[registry]` in
//! `slipway.toml` for the registry it names, else what `docker login` and `podman login` keep),
//! so the engine needs neither the credentials nor the registry's settings.
//!
//! The advisory database is the user's, shared by every project: `SLIPWAY_ADVISORY_DB` names its
//! directory, else `$XDG_CACHE_HOME/slipway`, else `~/.cache/slipway`. A project whose state
//! directory still holds an `advisories.db` filled by an older slipway keeps reading it until
//! the user's database is filled (`slipway db update` or `db import`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use slipway_config::Config;
use slipway_registry_client::{ImageName, ImageNameError, RegistryClient, Transport};
use slipway_scan::{
    Gate, IgnoreFile, IgnoreFileError, ImageSource, Outcome, Policy, Report, ScanError,
    ScanOptions, Scanners, Verdict, record_report, scan_directory, scan_engine_image, scan_history,
    scan_image, scan_registry_image, to_cyclonedx, to_sarif, to_spdx,
};
use slipway_secrets::{ConfigError, SecretScanner};
use slipway_vuln::{AdvisoryIndex, IndexError, Severity};

use super::push;
use crate::cli::{
    GlobalArgs, ReportFormat, SbomArgs, SbomFormat, ScanCommand, ScanOutputArgs, ScannerName,
    SeverityName,
};
use crate::output::{self, Status, Table, print_json, print_line};
use crate::project;
use crate::report::{EXIT_BAD_INPUT, EXIT_FAILED, Failure};

/// Whether an image the engine does not have is pulled from its registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pull {
    IfMissing,
    Never,
}

/// The ignore file read when `--ignore-file` is not given, from the current directory.
const DEFAULT_IGNORE_FILE: &str = ".slipway-ignore.toml";

pub(crate) async fn run(
    global: &GlobalArgs,
    command: &ScanCommand,
    status: Status,
) -> Result<ExitCode, Failure> {
    let (args, report) = match command {
        ScanCommand::Fs(fs) => {
            let scanners = chosen(&fs.scanners, Scanners::ALL);
            (
                &fs.scan,
                scan_dir(global, &fs.path, scanners, &fs.scan, status)?,
            )
        }
        ScanCommand::Config(config) => {
            let scanners = Scanners {
                config: true,
                ..Scanners::NONE
            };
            (
                &config.scan,
                scan_dir(global, &config.path, scanners, &config.scan, status)?,
            )
        }
        ScanCommand::Secrets(secrets) if secrets.git_history => {
            let scanner = secret_scanner(&secrets.scan)?;
            status.line(format!(
                "scanning the history of {} for secrets",
                secrets.path.display()
            ));
            (&secrets.scan, scan_history(&secrets.path, &scanner)?)
        }
        ScanCommand::Secrets(secrets) => {
            let scanners = Scanners {
                secrets: true,
                ..Scanners::NONE
            };
            (
                &secrets.scan,
                scan_dir(global, &secrets.path, scanners, &secrets.scan, status)?,
            )
        }
        ScanCommand::Image(image) => {
            let scanners = Scanners {
                config: false,
                ..chosen(&image.scanners, Scanners::ALL)
            };
            let pull = if image.no_pull {
                Pull::Never
            } else {
                Pull::IfMissing
            };
            let report =
                scan_any_image(global, &image.target, scanners, &image.scan, pull, status).await?;
            let gated = finish(global, report, &image.scan, image.env.as_deref(), status)?;
            if !image.no_record {
                record(global, &gated.report, status)?;
            }
            return gated.print(&image.scan);
        }
    };
    finish(global, report, args, None, status)?.print(args)
}

/// Scans the engine image `reference` as `slipway scan image REFERENCE --env ENVIRONMENT` does,
/// records the report, and returns the verdict: what `deploy --build` does with what it built
/// when the environment requires a passing scan.
pub(crate) async fn scan_for_environment(
    global: &GlobalArgs,
    reference: &str,
    environment: &str,
    status: Status,
) -> Result<Verdict, Failure> {
    let scanners = Scanners {
        config: false,
        ..Scanners::ALL
    };
    let args = ScanOutputArgs::without_flags();
    let report = scan_any_image(global, reference, scanners, &args, Pull::Never, status).await?;
    let gated = finish(global, report, &args, Some(environment), status)?;
    record(global, &gated.report, status)?;
    status.line(format!(
        "scan of {reference} for {environment}: {}",
        gated.verdict.outcome.as_str()
    ));
    Ok(gated.verdict)
}

/// The scanners named, or `all` when none is.
fn chosen(names: &[ScannerName], all: Scanners) -> Scanners {
    if names.is_empty() {
        return all;
    }
    Scanners {
        vulnerabilities: names.contains(&ScannerName::Vuln),
        secrets: names.contains(&ScannerName::Secret),
        config: names.contains(&ScannerName::Config),
    }
}

fn scan_dir(
    global: &GlobalArgs,
    path: &Path,
    scanners: Scanners,
    args: &ScanOutputArgs,
    status: Status,
) -> Result<Report, Failure> {
    let secrets = secret_scanner(args)?;
    let advisories = if scanners.vulnerabilities {
        Some(advisory_index(global)?)
    } else {
        None
    };
    status.line(format!("scanning {}", path.display()));
    let options = ScanOptions {
        scanners,
        secrets: &secrets,
        respect_ignore_files: !args.no_ignore,
    };
    Ok(scan_directory(path, &options, advisories.as_ref())?)
}

/// An image from an archive or directory on disk when `target` is one, else from the engine.
async fn scan_any_image(
    global: &GlobalArgs,
    target: &str,
    scanners: Scanners,
    args: &ScanOutputArgs,
    pull: Pull,
    status: Status,
) -> Result<Report, Failure> {
    let secrets = secret_scanner(args)?;
    let advisories = if scanners.vulnerabilities {
        Some(advisory_index(global)?)
    } else {
        None
    };
    let options = ScanOptions {
        scanners,
        secrets: &secrets,
        respect_ignore_files: !args.no_ignore,
    };
    let path = Path::new(target);
    if path.exists() {
        status.line(format!("scanning the image in {target}"));
        return Ok(scan_image(
            ImageSource::Archive { path, image: None },
            target,
            &options,
            advisories.as_ref(),
        )?);
    }
    let engine = project::connect_engine().await?;
    if pull == Pull::IfMissing && !engine.image_exists(target).await? {
        return scan_pulled_image(global, target, &options, advisories.as_ref(), status).await;
    }
    status.line(format!("exporting {target} from the container engine"));
    Ok(scan_engine_image(engine.as_ref(), target, &options, advisories.as_ref()).await?)
}

/// Pulls `target` from its registry, with the credentials for it, and scans it.
async fn scan_pulled_image(
    global: &GlobalArgs,
    target: &str,
    options: &ScanOptions<'_>,
    advisories: Option<&AdvisoryIndex>,
    status: Status,
) -> Result<Report, Failure> {
    let name: ImageName = target.parse().map_err(|error: ImageNameError| {
        Failure::bad_input(error.to_string()).hint(
            "name an image as `docker pull` does ([HOST[:PORT]/]NAME[:TAG][@DIGEST]), or give a `docker save` archive or an OCI layout directory",
        )
    })?;
    let host = name.registry.as_str();
    let repository = name.repository.as_str();
    // The project's `[registry]` settings when there is a project, else the user's logins.
    let (client, insecure) = match project::config_path(global) {
        Ok(path) => {
            let config = Config::load(&path)?;
            let insecure = push::insecure(&config, host);
            (
                push::registry_client(&config, host, repository).await?,
                insecure,
            )
        }
        Err(_) => {
            let credentials = push::find_stored_credentials(host, repository).await?;
            let client = RegistryClient::new(host, Transport::Https, credentials)
                .map_err(|error| push::client_failure(error, host, false))?;
            (client, false)
        }
    };
    status.line(format!("pulling {target} from {host}"));
    scan_registry_image(&client, &name, target, options, advisories)
        .await
        .map_err(|error| match error {
            ScanError::Registry(error) => push::client_failure(error, host, insecure),
            other => other.into(),
        })
}

fn secret_scanner(args: &ScanOutputArgs) -> Result<SecretScanner, Failure> {
    match &args.secret_rules {
        None => Ok(SecretScanner::builtin()),
        Some(rules) => SecretScanner::with_rules_file(rules).map_err(rules_failure),
    }
}

/// The advisory database scans read: the user's, or a project's older one while the user's was
/// never filled.
pub(crate) fn advisory_index(global: &GlobalArgs) -> Result<AdvisoryIndex, Failure> {
    Ok(AdvisoryIndex::open(&advisory_location(global)?)?)
}

/// The directory of the advisory database scans read (see the module's documentation).
pub(crate) fn advisory_location(global: &GlobalArgs) -> Result<PathBuf, Failure> {
    let user = user_advisory_dir()?;
    if AdvisoryIndex::open(&user)?.updated_at()?.is_some() {
        return Ok(user);
    }
    let project = project::state_dir(global, &project::current_dir()?);
    if project.join(AdvisoryIndex::FILE_NAME).is_file()
        && AdvisoryIndex::open(&project)?.updated_at()?.is_some()
    {
        tracing::info!(
            project = %project.display(),
            "reading the project's own advisory database until the user's is filled"
        );
        return Ok(project);
    }
    Ok(user)
}

/// The user's advisory database directory, shared by every project.
pub(crate) fn user_advisory_dir() -> Result<PathBuf, Failure> {
    advisory_dir_from(
        std::env::var_os("SLIPWAY_ADVISORY_DB"),
        std::env::var_os("XDG_CACHE_HOME"),
        std::env::var_os("HOME"),
    )
    .ok_or_else(|| {
        Failure::bad_input("no directory for the advisory database: HOME is not set")
            .hint("set SLIPWAY_ADVISORY_DB to a directory, or XDG_CACHE_HOME")
    })
}

/// `SLIPWAY_ADVISORY_DB`, else `$XDG_CACHE_HOME/slipway` (the XDG base directory specification
/// ignores a relative one), else `$HOME/.cache/slipway`.
fn advisory_dir_from(
    explicit: Option<OsString>,
    xdg_cache_home: Option<OsString>,
    home: Option<OsString>,
) -> Option<PathBuf> {
    let set = |value: Option<OsString>| value.filter(|value| !value.is_empty()).map(PathBuf::from);
    if let Some(explicit) = set(explicit) {
        return Some(explicit);
    }
    if let Some(cache) = set(xdg_cache_home).filter(|cache| cache.is_absolute()) {
        return Some(cache.join("slipway"));
    }
    set(home).map(|home| home.join(".cache").join("slipway"))
}

/// A report with its gate applied.
struct Gated {
    report: Report,
    verdict: Verdict,
    /// Whether a gate was asked for (a threshold or a policy): then `not checked` fails.
    judged: bool,
}

/// Applies the gate: the flags', over `environment`'s scan policy when one is named (see
/// [`scan_policy`]).
fn finish(
    global: &GlobalArgs,
    mut report: Report,
    args: &ScanOutputArgs,
    environment: Option<&str>,
    status: Status,
) -> Result<Gated, Failure> {
    let gate = gate(global, args, environment)?;
    let verdict = gate.apply(&mut report, &jiff::Zoned::now());
    for warning in &verdict.warnings {
        status.warn(warning);
    }
    let judged = gate.fail_on.is_some() || !gate.policies.is_empty();
    Ok(Gated {
        report,
        verdict,
        judged,
    })
}

/// The scan policy the gate follows: `environment`'s when one is named; else the project's
/// `[scan]` when there is a slipway.toml (only its `max_advisory_age`: a threshold is asked for
/// with --fail-on or --env); else the defaults.
fn scan_policy(
    global: &GlobalArgs,
    environment: Option<&str>,
) -> Result<Option<slipway_config::ScanPolicy>, Failure> {
    Ok(Some(match environment {
        Some(environment) => project::load_config(global)?.scan_policy(environment)?,
        None => match project::config_path(global) {
            Ok(path) => slipway_config::Config::load(&path)?.project_scan_policy(),
            Err(_) => return Ok(None),
        },
    }))
}

/// The severity `--fail-on` and slipway.toml's `fail_on` name.
pub(crate) fn severity(fail_on: slipway_config::FailOn) -> Severity {
    match fail_on {
        slipway_config::FailOn::Critical => Severity::Critical,
        slipway_config::FailOn::High => Severity::High,
        slipway_config::FailOn::Medium => Severity::Medium,
        slipway_config::FailOn::Low => Severity::Low,
    }
}

fn gate(
    global: &GlobalArgs,
    args: &ScanOutputArgs,
    environment: Option<&str>,
) -> Result<Gate, Failure> {
    let policy = scan_policy(global, environment)?;
    let ignore_file = match &args.ignore_file {
        Some(path) => Some(IgnoreFile::load(path).map_err(ignore_failure)?),
        None => {
            let default = PathBuf::from(DEFAULT_IGNORE_FILE);
            if default.is_file() {
                Some(IgnoreFile::load(&default).map_err(ignore_failure)?)
            } else {
                None
            }
        }
    };
    let mut policies = Vec::new();
    let mut broken_policies = Vec::new();
    for path in &args.policies {
        match Policy::load(path) {
            Ok(policy) => policies.push(policy),
            Err(error) => broken_policies.push(error),
        }
    }
    let policy_threshold = policy
        .filter(|_| environment.is_some())
        .map(|policy| severity(policy.fail_on));
    Ok(Gate {
        fail_on: args
            .fail_on
            .map(|severity| match severity {
                SeverityName::Critical => Severity::Critical,
                SeverityName::High => Severity::High,
                SeverityName::Medium => Severity::Medium,
                SeverityName::Low => Severity::Low,
            })
            .or(policy_threshold),
        ignore_unfixed: args.ignore_unfixed,
        ignore_file,
        policies,
        broken_policies,
        max_advisory_age: policy.map_or(slipway_scan::DEFAULT_MAX_ADVISORY_AGE, |policy| {
            policy.max_advisory_age
        }),
    })
}

/// Keeps an image's report in the state store, against its digest, for deploys to check.
fn record(global: &GlobalArgs, report: &Report, status: Status) -> Result<(), Failure> {
    let store = project::open_store(global, &project::current_dir()?)?;
    if let Some(recorded) = record_report(store.as_ref(), report) {
        let id = recorded?;
        status.line(output::dim(&format!("recorded as scan #{id}")));
    }
    Ok(())
}

impl Gated {
    fn print(&self, args: &ScanOutputArgs) -> Result<ExitCode, Failure> {
        let document = match args.format {
            ReportFormat::Table if args.output.is_some() => {
                return Err(Failure::bad_input("--output needs a file format")
                    .hint("add --format json, sarif, cyclonedx or spdx"));
            }
            ReportFormat::Table => None,
            ReportFormat::Json => Some(serde_json::to_value(&self.report).map_err(json_failure)?),
            ReportFormat::Sarif => Some(to_sarif(&self.report)),
            ReportFormat::Cyclonedx => Some(to_cyclonedx(&self.report)),
            ReportFormat::Spdx => Some(to_spdx(&self.report)),
        };
        match (document, &args.output) {
            (None, _) => print_table(&self.report),
            (Some(document), None) => print_json(&document)?,
            (Some(document), Some(path)) => write_document(path, &document)?,
        }
        Ok(exit_code(&self.verdict, self.judged))
    }
}

/// 0 when the gate passed, 1 when it failed (or, when a gate was asked for, the packages were
/// not checked), 2 when it could not decide (a broken policy).
fn exit_code(verdict: &Verdict, judged: bool) -> ExitCode {
    if !verdict.reasons.is_empty() {
        ExitCode::from(EXIT_FAILED)
    } else if !verdict.errors.is_empty() {
        ExitCode::from(EXIT_BAD_INPUT)
    } else if verdict.outcome == Outcome::NotChecked && judged {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

fn write_document(path: &Path, document: &serde_json::Value) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(document).map_err(json_failure)?;
    std::fs::write(path, format!("{text}\n"))
        .map_err(|error| Failure::new(format!("cannot write {}: {error}", path.display())))
}

fn print_table(report: &Report) {
    if let Some(image) = &report.target.image {
        print_line(&format!(
            "{} {} ({} layers)",
            report.target.name,
            output::dim(&image.id),
            image.layers
        ));
    }
    if let Some(os) = &report.os {
        print_line(&format!(
            "os: {}",
            os.pretty_name.clone().unwrap_or_else(|| os.id.clone())
        ));
    }
    if !report.vulnerabilities.is_empty() {
        let mut table = Table::new(vec![
            "SEVERITY", "ID", "PACKAGE", "VERSION", "FIXED IN", "WHERE", "SUMMARY",
        ]);
        for vulnerability in &report.vulnerabilities {
            let package = &vulnerability.package;
            table.row(vec![
                severity_cell(vulnerability.severity),
                vulnerability.id.clone(),
                package.name.clone(),
                package.version.clone(),
                if vulnerability.fixed_versions.is_empty() {
                    "-".to_owned()
                } else {
                    vulnerability.fixed_versions.join(", ")
                },
                place(&package.path, package.line),
                vulnerability.summary.chars().take(60).collect(),
            ]);
        }
        table.print();
    }
    if !report.secrets.is_empty() {
        let mut table = Table::new(vec!["SEVERITY", "RULE", "WHERE", "SECRET", "COMMIT"]);
        for secret in &report.secrets {
            table.row(vec![
                severity_cell(slipway_scan::SECRET_SEVERITY),
                secret.rule_id.clone(),
                place(&secret.path, Some(secret.line)),
                secret.redacted.clone(),
                secret.commit.as_ref().map_or_else(
                    || "-".to_owned(),
                    |commit| {
                        format!(
                            "{} {}",
                            &commit.id[..commit.id.len().min(10)],
                            commit.author
                        )
                    },
                ),
            ]);
        }
        table.print();
    }
    if !report.misconfigurations.is_empty() {
        let mut table = Table::new(vec!["SEVERITY", "CHECK", "WHERE", "PROBLEM"]);
        for found in &report.misconfigurations {
            table.row(vec![
                severity_cell(found.severity),
                found.rule_id.clone(),
                place(&found.path, Some(found.line)),
                found.message.clone(),
            ]);
        }
        table.print();
    }
    for skipped in &report.skipped {
        let at = match (skipped.line, skipped.column) {
            (Some(line), Some(column)) => format!("{}:{line}:{column}", skipped.path),
            (Some(line), None) => format!("{}:{line}", skipped.path),
            _ => skipped.path.clone(),
        };
        print_line(&format!(
            "{} {at}: {}",
            output::caution("skipped"),
            skipped.reason
        ));
    }
    for ignored in &report.ignored {
        print_line(&output::dim(&format!(
            "ignored {} in {}: {}",
            ignored.id, ignored.path, ignored.reason
        )));
    }
    let counts = report.counts();
    print_line(&format!(
        "{} packages, {} findings: {} critical, {} high, {} medium, {} low, {} unknown",
        report.packages.len(),
        counts.total(),
        counts.critical,
        counts.high,
        counts.medium,
        counts.low,
        counts.unknown
    ));
    if let Some(verdict) = &report.verdict {
        for reason in &verdict.reasons {
            print_line(&format!("{} {reason}", output::bad("gate failed:")));
        }
        for error in &verdict.errors {
            print_line(&format!("{} {error}", output::bad("gate error:")));
        }
        for reason in &verdict.not_checked {
            print_line(&format!("{} {reason}", output::bad("not checked:")));
        }
        if verdict.passed() {
            print_line(&output::ok("gate passed"));
        }
    }
}

fn place(path: &str, line: Option<usize>) -> String {
    match line {
        Some(line) => format!("{path}:{line}"),
        None => path.to_owned(),
    }
}

fn severity_cell(severity: Severity) -> String {
    match severity {
        Severity::Critical | Severity::High => output::bad(severity.as_str()),
        Severity::Medium => output::caution(severity.as_str()),
        Severity::Low | Severity::Unknown => severity.as_str().to_owned(),
    }
}

pub(crate) async fn sbom(
    global: &GlobalArgs,
    args: &SbomArgs,
    status: Status,
) -> Result<ExitCode, Failure> {
    let scanners = Scanners {
        vulnerabilities: true,
        ..Scanners::NONE
    };
    let path = Path::new(&args.target);
    let secrets = SecretScanner::builtin();
    let options = ScanOptions {
        scanners,
        secrets: &secrets,
        respect_ignore_files: true,
    };
    let report = if path.is_dir()
        && !path.join("index.json").is_file()
        && !path.join("manifest.json").is_file()
    {
        status.line(format!("listing the packages of {}", path.display()));
        scan_directory(path, &options, None)?
    } else {
        let no_advisories = ScanOutputArgs::without_flags();
        scan_any_image(
            global,
            &args.target,
            scanners,
            &no_advisories,
            Pull::IfMissing,
            status,
        )
        .await?
    };
    let document = match args.format {
        SbomFormat::Cyclonedx => to_cyclonedx(&report),
        SbomFormat::Spdx => to_spdx(&report),
    };
    match &args.output {
        Some(path) => write_document(path, &document)?,
        None => print_json(&document)?,
    }
    for skipped in &report.skipped {
        status.warn(format!("skipped {}: {}", skipped.path, skipped.reason));
    }
    Ok(ExitCode::SUCCESS)
}

impl ScanOutputArgs {
    /// No flags: what an SBOM is made with (nothing but the packages), and what a scan judged by
    /// an environment's policy alone takes.
    fn without_flags() -> ScanOutputArgs {
        ScanOutputArgs {
            format: ReportFormat::Json,
            output: None,
            fail_on: None,
            ignore_unfixed: false,
            ignore_file: None,
            policies: Vec::new(),
            secret_rules: None,
            no_ignore: false,
        }
    }
}

fn json_failure(error: serde_json::Error) -> Failure {
    Failure::new(format!("cannot encode the report as JSON: {error}"))
}

fn rules_failure(error: ConfigError) -> Failure {
    Failure::bad_input(format!("secret rules: {error}"))
        .hint("fix the rules file at that position; its fields are gitleaks'")
}

fn ignore_failure(error: IgnoreFileError) -> Failure {
    Failure::bad_input(format!("ignore file: {error}"))
        .hint("each [[ignore]] entry needs id, reason and expires (YYYY-MM-DD)")
}

impl From<IndexError> for Failure {
    fn from(error: IndexError) -> Failure {
        let hint = match &error {
            IndexError::Read { .. } => {
                "check the path: a directory of OSV .json files, an OSV all.zip, or one .json"
            }
            IndexError::Archive { .. } => "download the archive again; it is damaged",
            IndexError::NewerFormat { .. } => {
                "upgrade slipway, or delete the file and import again"
            }
            _ => "delete advisories.db (see `slipway db status`) and import again",
        };
        Failure::new(error.to_string()).hint(hint)
    }
}

impl From<ScanError> for Failure {
    fn from(error: ScanError) -> Failure {
        match error {
            ScanError::Advisories(error) => error.into(),
            ScanError::Engine(error) => error.into(),
            ScanError::Target { .. } => {
                Failure::bad_input(error.to_string()).hint("check the path")
            }
            ScanError::History(error) => Failure::bad_input(error.to_string())
                .hint("--git-history needs a git repository with commits"),
            ScanError::Image(error) => Failure::bad_input(error.to_string()).hint(
                "give a `docker save` archive, an OCI layout directory, or an image reference",
            ),
            _ => Failure::new(error.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_advisory_database_is_the_users_unless_an_environment_variable_names_one() {
        let some = |text: &str| Some(OsString::from(text));
        assert_eq!(
            advisory_dir_from(some("/db"), some("/xdg"), some("/home/u")),
            Some(PathBuf::from("/db"))
        );
        assert_eq!(
            advisory_dir_from(None, some("/xdg"), some("/home/u")),
            Some(PathBuf::from("/xdg/slipway"))
        );
        assert_eq!(
            advisory_dir_from(some(""), some("relative"), some("/home/u")),
            Some(PathBuf::from("/home/u/.cache/slipway")),
            "an empty variable is unset; a relative XDG_CACHE_HOME is ignored"
        );
        assert_eq!(advisory_dir_from(None, None, None), None);
    }
}
