//! User rules in gitleaks' TOML format: added to or replacing the built-in ones, with their
//! allowlists, and every mistake reported with its line.

use std::path::Path;

use slipway_secrets::SecretScanner;

use crate::rules::findings;
use crate::samples::{ALNUM, random};

fn scanner(toml: &str) -> SecretScanner {
    SecretScanner::with_rules(Path::new(".gitleaks.toml"), toml)
        .unwrap_or_else(|error| panic!("{error}"))
}

fn error(toml: &str) -> String {
    SecretScanner::with_rules(Path::new(".gitleaks.toml"), toml)
        .unwrap_err()
        .to_string()
}

const ACME: &str = r#"
title = "acme"

[[rules]]
id = "acme-key"
description = "ACME API key"
regex = '''acme_(?P<key>[a-z0-9]{32})'''
secretGroup = 1
entropy = 3.0
keywords = ["acme_"]
tags = ["key"]

[[rules.allowlists]]
regexTarget = "line"
regexes = ['''# test key''']
"#;

#[test]
fn a_user_rule_finds_its_secret_and_the_built_in_rules_stay() {
    let scanner = scanner(ACME);
    let key = random("abcdefghijklmnopqrstuvwxyz0123456789", 32, 1);
    let found = findings(
        &scanner,
        "app.cfg",
        &format!("key = acme_{key}\nother = acme_{key} # test key\n"),
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0].rule_id.as_str(), found[0].line, found[0].column),
        ("acme-key", 1, 7)
    );
    assert_eq!(found[0].description, "ACME API key");
    let token = ["gh", "p_", &random(ALNUM, 36, 2)].concat();
    assert_eq!(findings(&scanner, "a", &token)[0].rule_id, "github-pat");
}

#[test]
fn use_default_false_and_disabled_rules_remove_built_in_rules() {
    let token = ["gh", "p_", &random(ALNUM, 36, 3)].concat();
    let only_mine =
        scanner(&format!("[extend]\nuseDefault = false\n{ACME}").replace("title = \"acme\"\n", ""));
    assert!(findings(&only_mine, "a", &token).is_empty());
    assert_eq!(only_mine.rules().len(), 1);
    let without_github = scanner("[extend]\ndisabledRules = [\"github-pat\"]\n");
    assert!(findings(&without_github, "a", &token).is_empty());
}

#[test]
fn global_allowlists_and_path_rules_apply() {
    let scanner = scanner(
        r#"
[[rules]]
id = "env-file"
description = "A committed .env file"
path = '''(^|/)\.env$'''

[allowlist]
paths = ['''^fixtures/''']

[[allowlists]]
targetRules = ["github-pat"]
stopwords = ["zzzz"]
"#,
    );
    let found = findings(&scanner, "deploy/.env", "A=1\n");
    assert_eq!(
        found.iter().map(|f| f.rule_id.as_str()).collect::<Vec<_>>(),
        ["env-file"]
    );
    let token = ["gh", "p_", &random(ALNUM, 36, 4)].concat();
    assert_eq!(
        scanner.scan_bytes("fixtures/token.txt", token.as_bytes()),
        slipway_secrets::FileOutcome::Allowed
    );
    let placeholder = ["gh", "p_zzzz", &random(ALNUM, 32, 5)].concat();
    assert!(findings(&scanner, "a", &placeholder).is_empty());
}

#[test]
fn a_user_rule_without_keywords_runs_on_every_file_across_lines() {
    let scanner = scanner(
        "[[rules]]\nid = \"two-lines\"\nregex = '''user=\\w+\\npass=(\\w{8,})'''\nsecretGroup = 1\n",
    );
    let found = findings(
        &scanner,
        "creds.txt",
        "intro\nuser=admin\npass=Sup3rS3cret\n",
    );
    assert_eq!(
        (found[0].rule_id.as_str(), found[0].line, found[0].end_line),
        ("two-lines", 2, 3)
    );
}

#[test]
fn mistakes_are_reported_with_their_line() {
    assert!(
        error("[[rules]]\nid = \"x\"\nregex = '''(unclosed'''\n")
            .starts_with(".gitleaks.toml:1:1: rule x: regex \"(unclosed\" does not compile")
    );
    assert!(error("[[rules]]\nid = \"x\"\n").contains("needs a regex, a path, or both"));
    assert!(
        error("[[rules]]\nid = \"x\"\nregex = 'a(b)'\nsecretGroup = 2\n")
            .contains("secretGroup is 2 but the regex has 1 group")
    );
    let unknown = error("[[rules]]\nid = \"x\"\nregex = 'a'\nsecretgroup = 1\n");
    assert!(
        unknown.starts_with(".gitleaks.toml:4:1: unknown field `secretgroup`"),
        "{unknown}"
    );
    assert!(error("[[rules]]\nid = \"x\"\nregex = 'a'\n[[rules.allowlists]]\ncondition = \"XOR\"\nregexes = ['b']\n").contains("condition \"XOR\""));
    assert!(error("not toml at all").starts_with(".gitleaks.toml:1:"));
    let missing = SecretScanner::with_rules_file(Path::new("/nonexistent/rules.toml")).unwrap_err();
    assert!(
        missing.to_string().contains("cannot read the rules file"),
        "{missing}"
    );
}
