//! `slipway lint [FILES]`: checks workflow files the way actionlint does and prints each finding
//! as `file:line:col: message [rule]`; exits 1 when any is an error.

use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;
use slipway_workflow::{Diagnostic, Severity, Source, lint};

use crate::cli::LintArgs;
use crate::output::{print_json, print_line};
use crate::project;
use crate::report::Failure;

/// One finding, for `--json`.
#[derive(Debug, Serialize)]
struct Finding<'a> {
    file: &'a str,
    line: usize,
    column: usize,
    message: &'a str,
    rule: &'static str,
    severity: &'static str,
}

pub(crate) fn run(args: &LintArgs) -> Result<ExitCode, Failure> {
    let files = if args.files.is_empty() {
        default_files()?
    } else {
        args.files.clone()
    };
    if files.is_empty() {
        return Err(Failure::bad_input("no workflow files to lint")
            .hint("name files, or run inside a repository with .github/workflows/*.yml"));
    }
    let mut sources = Vec::new();
    for path in &files {
        let source = Source::read(path).map_err(|error| {
            Failure::bad_input(format!("cannot read {}: {error}", path.display()))
        })?;
        sources.push(source);
    }
    let findings = lint(&sources);
    if args.json {
        print_json(&findings.iter().map(finding).collect::<Vec<_>>())?;
    } else {
        for diagnostic in &findings {
            print_line(&diagnostic.to_string());
        }
    }
    let errors = findings.iter().any(|d| d.severity() == Severity::Error);
    Ok(if errors {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn finding(diagnostic: &Diagnostic) -> Finding<'_> {
    Finding {
        file: diagnostic.file(),
        line: diagnostic.pos().line,
        column: diagnostic.pos().column,
        message: diagnostic.message(),
        rule: diagnostic.rule().name(),
        severity: match diagnostic.severity() {
            Severity::Error => "error",
            Severity::Warning => "warning",
        },
    }
}

/// `.github/workflows/*.yml` and `*.yaml` of the repository holding the current directory, as
/// paths relative to the current directory when they can be.
fn default_files() -> Result<Vec<PathBuf>, Failure> {
    let cwd = project::current_dir()?;
    let root = slipway_git::Repository::discover(&cwd)
        .map_or_else(|_| cwd.clone(), |repo| repo.root().to_owned());
    let dir = root.join(".github/workflows");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension()
                .is_some_and(|ext| ext == "yml" || ext == "yaml")
        })
        .map(|path| path.strip_prefix(&cwd).map(PathBuf::from).unwrap_or(path))
        .collect();
    files.sort();
    Ok(files)
}
