//! `slipway scan fs|image|secrets|config`, `slipway sbom` and `slipway db import|status`.
//!
//! Arguments become a scan (`slipway-scan`), the gate is applied, and the report is printed in
//! the asked format. Exit status: 0 when the gate passes, 1 when it fails, 2 when a policy could
//! not be evaluated or the input was wrong.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use slipway_scan::{
    Gate, IgnoreFile, IgnoreFileError, ImageSource, Policy, Pull, Report, ScanError, ScanOptions,
    Scanners, Verdict, record_report, scan_directory, scan_engine_image, scan_history, scan_image,
    to_cyclonedx, to_sarif, to_spdx,
};
use slipway_secrets::{ConfigError, SecretScanner};
use slipway_vuln::{AdvisoryIndex, IndexError, Severity};

use crate::cli::{
    DbCommand, GlobalArgs, ReportFormat, SbomArgs, SbomFormat, ScanCommand, ScanOutputArgs,
    ScannerName, SeverityName,
};
use crate::output::{self, Status, Table, print_json, print_line};
use crate::project;
use crate::report::{EXIT_BAD_INPUT, EXIT_FAILED, Failure};

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
            let gated = finish(report, &image.scan, status)?;
            if !image.no_record {
                record(global, &gated.report, status)?;
            }
            return gated.print(&image.scan);
        }
    };
    finish(report, args, status)?.print(args)
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
    status.line(format!("exporting {target} from the container engine"));
    let engine = project::connect_engine().await?;
    Ok(scan_engine_image(engine.as_ref(), target, pull, &options, advisories.as_ref()).await?)
}

fn secret_scanner(args: &ScanOutputArgs) -> Result<SecretScanner, Failure> {
    match &args.secret_rules {
        None => Ok(SecretScanner::builtin()),
        Some(rules) => SecretScanner::with_rules_file(rules).map_err(rules_failure),
    }
}

fn advisory_index(global: &GlobalArgs) -> Result<AdvisoryIndex, Failure> {
    let dir = project::state_dir(global, &project::current_dir()?);
    Ok(AdvisoryIndex::open(&dir)?)
}

/// A report with its gate applied.
struct Gated {
    report: Report,
    verdict: Verdict,
}

fn finish(mut report: Report, args: &ScanOutputArgs, status: Status) -> Result<Gated, Failure> {
    let gate = gate(args)?;
    let today = jiff::Zoned::now().date();
    let verdict = gate.apply(&mut report, today);
    for warning in &verdict.warnings {
        status.warn(warning);
    }
    Ok(Gated { report, verdict })
}

fn gate(args: &ScanOutputArgs) -> Result<Gate, Failure> {
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
    Ok(Gate {
        fail_on: args.fail_on.map(|severity| match severity {
            SeverityName::Critical => Severity::Critical,
            SeverityName::High => Severity::High,
            SeverityName::Medium => Severity::Medium,
            SeverityName::Low => Severity::Low,
        }),
        ignore_unfixed: args.ignore_unfixed,
        ignore_file,
        policies,
        broken_policies,
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
        Ok(exit_code(&self.verdict))
    }
}

/// 0 when the gate passed, 1 when it failed, 2 when it could not decide (a broken policy).
fn exit_code(verdict: &Verdict) -> ExitCode {
    if !verdict.reasons.is_empty() {
        ExitCode::from(EXIT_FAILED)
    } else if !verdict.errors.is_empty() {
        ExitCode::from(EXIT_BAD_INPUT)
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
        if verdict.passed {
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
        let no_advisories = ScanOutputArgs::for_sbom();
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
    /// The options an SBOM is made with: nothing but the packages.
    fn for_sbom() -> ScanOutputArgs {
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

pub(crate) fn db(
    global: &GlobalArgs,
    command: &DbCommand,
    status: Status,
) -> Result<ExitCode, Failure> {
    let index = advisory_index(global)?;
    match command {
        DbCommand::Import { path, json } => {
            status.line(format!("importing OSV advisories from {}", path.display()));
            let summary = index.import(path, &mut |read| {
                tracing::debug!(read, "importing advisories")
            })?;
            if *json {
                print_json(&summary)?;
            } else {
                for skipped in &summary.skipped {
                    status.warn(format!("skipped {}: {}", skipped.location, skipped.reason));
                }
                print_line(&format!(
                    "imported {} advisories ({} kept because the index had a newer version, {} withdrawn, {} skipped) into {}",
                    summary.imported,
                    summary.kept_newer,
                    summary.withdrawn,
                    summary.skipped.len(),
                    index.path().display()
                ));
            }
            Ok(ExitCode::SUCCESS)
        }
        DbCommand::Status { json } => {
            let state = index.status()?;
            if *json {
                print_json(&state)?;
                return Ok(ExitCode::SUCCESS);
            }
            print_line(&format!(
                "{}: {} advisories",
                state.path.display(),
                state.advisories
            ));
            if state.advisories == 0 {
                print_line(
                    "nothing imported yet: `slipway db import PATH` loads OSV records (a directory or an all.zip)",
                );
                return Ok(ExitCode::SUCCESS);
            }
            let mut table = Table::new(vec!["ECOSYSTEM", "ADVISORIES"]);
            for ecosystem in &state.ecosystems {
                table.row(vec![
                    ecosystem.ecosystem.clone(),
                    ecosystem.advisories.to_string(),
                ]);
            }
            table.print();
            if let Some(newest) = state.newest_modified {
                print_line(&format!(
                    "newest advisory modified {} ({})",
                    newest,
                    output::ago(newest)
                ));
            }
            if let Some(import) = &state.last_import {
                print_line(&format!(
                    "last import: {} from {} ({} records, {} skipped)",
                    output::ago(import.imported_at),
                    import.source,
                    import.records,
                    import.skipped
                ));
            }
            Ok(ExitCode::SUCCESS)
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
            _ => "delete advisories.db from the state directory and import again",
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
