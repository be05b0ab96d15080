//! Scanning git history: secrets added in any commit on any branch are found with the commit,
//! its author and the line in that commit, even after a later commit removed them.

use std::path::Path;
use std::process::Command;

use slipway_secrets::{HistoryError, SecretScanner};

use crate::samples::{ALNUM, random};

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=Ann Author",
            "-c",
            "user.email=ann@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

#[test]
fn added_lines_of_every_commit_are_scanned_with_their_commit() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    git(repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("app.py"), "print('hi')\n").unwrap();
    git(repo, &["add", "."]);
    git(repo, &["commit", "-q", "-m", "first"]);
    let token = ["gh", "p_", &random(ALNUM, 36, 1)].concat();
    std::fs::write(
        repo.join("app.py"),
        format!("print('hi')\n\nTOKEN = '{token}'\n"),
    )
    .unwrap();
    std::fs::write(
        repo.join("odd name +++ .txt"),
        format!("+++ {}\n", ["gl", "pat-", &random(ALNUM, 20, 2)].concat()),
    )
    .unwrap();
    git(repo, &["add", "."]);
    git(repo, &["commit", "-q", "-m", "add token"]);
    std::fs::write(repo.join("app.py"), "print('hi')\n").unwrap();
    git(repo, &["commit", "-q", "-am", "remove token"]);
    git(repo, &["checkout", "-q", "-b", "side", "HEAD~2"]);
    std::fs::write(repo.join("key.pem"), crate::samples::private_key("", 3)).unwrap();
    git(repo, &["add", "."]);
    git(repo, &["commit", "-q", "-m", "side branch key"]);

    let scan = SecretScanner::builtin().scan_git_history(repo).unwrap();

    assert_eq!(scan.commits, 4);
    let mut found: Vec<(String, String, usize, String)> = scan
        .findings
        .iter()
        .map(|finding| {
            let commit = finding.commit.as_ref().unwrap();
            (
                finding.rule_id.clone(),
                finding.path.clone(),
                finding.line,
                commit.author.clone(),
            )
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            (
                "github-pat".to_owned(),
                "app.py".to_owned(),
                3,
                "Ann Author".to_owned()
            ),
            (
                "gitlab-pat".to_owned(),
                "odd name +++ .txt".to_owned(),
                1,
                "Ann Author".to_owned()
            ),
            (
                "private-key".to_owned(),
                "key.pem".to_owned(),
                1,
                "Ann Author".to_owned()
            ),
        ]
    );
    let commit = scan
        .findings
        .iter()
        .find(|f| f.rule_id == "github-pat")
        .unwrap()
        .commit
        .clone()
        .unwrap();
    assert_eq!(commit.id.len(), 40);
    assert_eq!(commit.email, "ann@example.com");
}

#[test]
fn a_directory_that_is_not_a_repository_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let error = SecretScanner::builtin()
        .scan_git_history(dir.path())
        .unwrap_err();
    assert!(
        matches!(&error, HistoryError::Failed { message, .. } if message.contains("not a git repository")),
        "{error}"
    );
}
