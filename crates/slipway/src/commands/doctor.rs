//! `slipway doctor`: what this machine and project have, and how to fix what is missing.

use std::process::ExitCode;

use serde::Serialize;
use slipway_git::Repository;
use slipway_store::SqliteStore;

use crate::cli::{DoctorArgs, GlobalArgs};
use crate::output::{self, Table, print_json};
use crate::project;
use crate::report::Failure;

/// One thing checked.
#[derive(Debug, Serialize)]
struct Check {
    name: &'static str,
    verdict: Verdict,
    /// What was found.
    found: String,
    /// How to fix it, when it is not fine.
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Verdict {
    Ok,
    /// Slipway works without it, with less.
    Warn,
    /// A command that needs it will fail.
    Fail,
}

impl Check {
    fn ok(name: &'static str, found: String) -> Check {
        Check {
            name,
            verdict: Verdict::Ok,
            found,
            fix: None,
        }
    }

    fn not_ok(name: &'static str, verdict: Verdict, found: String, fix: &str) -> Check {
        Check {
            name,
            verdict,
            found,
            fix: Some(fix.to_owned()),
        }
    }
}

pub(crate) async fn run(global: &GlobalArgs, args: &DoctorArgs) -> Result<ExitCode, Failure> {
    let cwd = project::current_dir()?;
    let checks = vec![
        engine().await,
        state_directory(global, &cwd),
        git(&cwd),
        config(global),
    ];
    if args.json {
        print_json(&checks)?;
    } else {
        print_table(&checks);
    }
    let failed = checks.iter().any(|check| check.verdict == Verdict::Fail);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

async fn engine() -> Check {
    let engine = match project::connect_engine().await {
        Ok(engine) => engine,
        Err(_) => {
            let tried = match std::env::var("DOCKER_HOST") {
                Ok(host) if !host.trim().is_empty() => host,
                _ => "/var/run/docker.sock, /run/podman/podman.sock".to_owned(),
            };
            return Check::not_ok(
                "container engine",
                Verdict::Warn,
                format!("none answers on {tried}"),
                "start Docker, or run scripts/setup-engine for Podman; without an engine, services run as processes",
            );
        }
    };
    match engine.info().await {
        Ok(info) => Check::ok(
            "container engine",
            format!(
                "{} {} (API {}) on {}, {}/{}",
                info.kind, info.version, info.api_version, info.endpoint, info.os, info.arch
            ),
        ),
        Err(error) => Check::not_ok(
            "container engine",
            Verdict::Fail,
            format!("answers but fails: {error}"),
            "restart the engine; `docker version` with the same DOCKER_HOST shows what it says",
        ),
    }
}

fn state_directory(global: &GlobalArgs, cwd: &std::path::Path) -> Check {
    let dir = project::state_dir(global, cwd);
    match SqliteStore::open(&dir) {
        Ok(_) => Check::ok("state directory", format!("{} (writable)", dir.display())),
        Err(error) => Check::not_ok(
            "state directory",
            Verdict::Fail,
            format!("{}: {error}", dir.display()),
            "choose a writable directory with --state-dir or SLIPWAY_HOME",
        ),
    }
}

fn git(cwd: &std::path::Path) -> Check {
    let repository = match Repository::discover(cwd) {
        Ok(repository) => repository,
        Err(error) => {
            return Check::not_ok(
                "git repository",
                Verdict::Fail,
                error.to_string(),
                "run Slipway in a git repository (`git init && git add -A && git commit -m init`)",
            );
        }
    };
    match repository.snapshot() {
        Ok(snapshot) => Check::ok(
            "git repository",
            format!(
                "{} at {} on {}{}",
                repository.root().display(),
                snapshot.short_commit,
                snapshot.branch.as_deref().unwrap_or("(detached HEAD)"),
                if snapshot.dirty {
                    ", uncommitted changes"
                } else {
                    ""
                }
            ),
        ),
        Err(error) => Check::not_ok(
            "git repository",
            Verdict::Fail,
            error.to_string(),
            "commit first (`git add -A && git commit -m init`): images are tagged with the commit",
        ),
    }
}

fn config(global: &GlobalArgs) -> Check {
    let path = match project::config_path(global) {
        Ok(path) => path,
        Err(_) => {
            return Check::not_ok(
                "slipway.toml",
                Verdict::Fail,
                "not found in this directory or above".to_owned(),
                "run `slipway init`",
            );
        }
    };
    match slipway_config::Config::load(&path) {
        Ok(config) => {
            let services: Vec<&str> = config.service_names().collect();
            Check::ok(
                "slipway.toml",
                format!(
                    "{} is valid: services {}",
                    path.display(),
                    services.join(", ")
                ),
            )
        }
        Err(error) => Check::not_ok(
            "slipway.toml",
            Verdict::Fail,
            error.to_string(),
            "fix the key at that position; `slipway config schema` lists every key",
        ),
    }
}

fn print_table(checks: &[Check]) {
    let mut table = Table::new(vec!["", "CHECK", "FOUND"]);
    for check in checks {
        let mark = match check.verdict {
            Verdict::Ok => output::ok("✓"),
            Verdict::Warn => output::caution("!"),
            Verdict::Fail => output::bad("✗"),
        };
        table.row(vec![mark, check.name.to_owned(), check.found.clone()]);
        if let Some(fix) = &check.fix {
            table.row(vec![
                String::new(),
                String::new(),
                output::dim(&format!("fix: {fix}")),
            ]);
        }
    }
    table.print();
}
