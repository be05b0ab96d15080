//! The lint corpus: every `tests/lint/*.yml` is linted and its findings, one per line as
//! `file:line:col: message [rule]`, must equal the sibling `.expected` file exactly.
//! Set `SLIPWAY_BLESS=1` to rewrite the expected files after reviewing a change.

use std::fs;
use std::path::{Path, PathBuf};

use slipway_workflow::{Source, lint};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lint")
}

fn corpus_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(corpus_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yml"))
        .collect();
    files.sort();
    files
}

fn findings_for(path: &Path) -> String {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let source = Source::new(name, fs::read_to_string(path).unwrap());
    lint(&[source])
        .iter()
        .map(|finding| format!("{finding}\n"))
        .collect()
}

#[test]
fn every_corpus_file_has_exactly_its_expected_findings() {
    let files = corpus_files();
    assert!(
        files.len() >= 12,
        "the corpus should not be empty, found {files:?}"
    );
    let bless = std::env::var_os("SLIPWAY_BLESS").is_some();
    let mut mismatches = Vec::new();
    for path in files {
        let got = findings_for(&path);
        let expected_path = path.with_extension("expected");
        if bless {
            fs::write(&expected_path, &got).unwrap();
            continue;
        }
        let expected = fs::read_to_string(&expected_path)
            .unwrap_or_else(|_| panic!("{} is missing", expected_path.display()));
        if got != expected {
            mismatches.push(format!(
                "== {}\n-- expected\n{expected}-- got\n{got}",
                path.display()
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn every_rule_has_a_broken_workflow_in_the_corpus() {
    let all: String = corpus_files()
        .iter()
        .map(|path| fs::read_to_string(path.with_extension("expected")).unwrap_or_default())
        .collect();
    for rule in [
        "syntax-check",
        "expression",
        "job-needs",
        "id",
        "matrix",
        "events",
        "glob",
        "permissions",
        "runner-label",
        "shell-name",
        "action",
        "workflow-call",
        "deprecated-commands",
        "credentials",
        "env-var",
        "untrusted-input",
    ] {
        assert!(
            all.contains(&format!("[{rule}]")),
            "no corpus finding for rule {rule}"
        );
    }
}

/// A repository whose workflows call a reusable workflow and an action of the same repository
/// (`uses: ./...`): the calls are checked against the called files. Findings, with paths
/// relative to the repository, must equal `tests/lint-project/expected`.
#[test]
fn calls_into_the_same_repository_are_checked_against_the_called_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lint-project");
    let workflows = root.join(".github/workflows");
    let mut paths: Vec<PathBuf> = fs::read_dir(&workflows)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    paths.sort();
    let sources: Vec<Source> = paths.iter().map(|p| Source::read(p).unwrap()).collect();
    let prefix = format!("{}/", root.display());
    let got: String = lint(&sources)
        .iter()
        .map(|finding| format!("{finding}\n").replacen(&prefix, "", 1))
        .collect();
    let expected_path = root.join("expected");
    if std::env::var_os("SLIPWAY_BLESS").is_some() {
        fs::write(&expected_path, &got).unwrap();
        return;
    }
    assert_eq!(got, fs::read_to_string(expected_path).unwrap());
}
