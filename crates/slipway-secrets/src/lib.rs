//! Finds credentials in files and in git history.
//!
//! [`SecretScanner::builtin`] holds the built-in rules (cloud keys, SaaS tokens, private keys,
//! JWTs, database URLs with passwords, generic high-entropy assignments);
//! [`SecretScanner::with_rules_file`] adds or replaces them with rules in gitleaks' TOML format.
//! A scanner runs one case-insensitive Aho-Corasick pass over all keywords, then only the
//! triggered rules' regexes near their keywords, then entropy thresholds and allowlists
//! ([`scanner`](SecretScanner) has the details).
//!
//! - [`SecretScanner::scan_tree`] walks a directory in parallel (honouring `.gitignore`).
//! - [`SecretScanner::scan_reader`] and [`SecretScanner::scan_bytes`] scan one file, as image
//!   layers hand them over.
//! - [`SecretScanner::scan_git_history`] scans the lines every commit added, with the commit
//!   and its author.
//!
//! Every [`Finding`] carries the secret redacted and a fingerprint, never the secret itself.
//! Memory is bounded whatever the input: text is scanned in overlapping chunks, binary files are
//! skipped, and git's output is streamed.
//!
//! ```
//! use slipway_secrets::{FileOutcome, SecretScanner};
//!
//! let scanner = SecretScanner::builtin();
//! let key = ["AKIA", "Z7VQ3WRT5YPL2MXK"].concat();
//! let FileOutcome::Scanned { findings, .. } = scanner.scan_bytes(".env", format!("AWS_KEY={key}\n").as_bytes()) else {
//!     panic!("a text file is scanned");
//! };
//! assert_eq!(findings[0].rule_id, "aws-access-key-id");
//! assert_eq!((findings[0].line, findings[0].column), (1, 9));
//! assert_eq!(findings[0].redacted, "AKIA********");
//! ```

mod builtin;
mod check;
mod config;
mod history;
mod rule;
mod scanner;
mod utf16;
mod walk;

use std::path::Path;

pub use config::ConfigError;
pub use history::{HistoryError, HistoryScan};
pub use rule::{Allowlist, Rule};
pub use scanner::{Commit, FileOutcome, Finding, SecretScanner};
pub use walk::{TreeOptions, TreeScan, Unreadable, source_walk};

/// The built-in rule catch-all for high-entropy assignments; it runs after every other rule, so
/// a specific rule names a secret both find.
const GENERIC_RULE: &str = "generic-api-key";

impl SecretScanner {
    /// The built-in rules and allowlists.
    pub fn builtin() -> SecretScanner {
        let (rules, allowlists) = builtin_rules();
        #[allow(clippy::expect_used)] // Constant rules; every test builds them.
        SecretScanner::assemble(rules, Vec::new(), allowlists)
            .expect("the built-in rules make a scanner")
    }

    /// The rules of a gitleaks-style TOML file at `path`: its own rules, and the built-in ones
    /// unless it says `[extend] useDefault = false`.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the line and column: unreadable file, TOML syntax, an unknown
    /// key, a regex that does not compile, a `secretGroup` the regex does not have.
    pub fn with_rules_file(path: &Path) -> Result<SecretScanner, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|error| ConfigError::unreadable(path, &error))?;
        SecretScanner::with_rules(path, &text)
    }

    /// Like [`SecretScanner::with_rules_file`], with the file's text given; `path` names it in
    /// errors.
    ///
    /// # Errors
    ///
    /// As [`SecretScanner::with_rules_file`].
    pub fn with_rules(path: &Path, text: &str) -> Result<SecretScanner, ConfigError> {
        let loaded = config::load(path, text)?;
        let (mut builtin, mut allowlists) = if loaded.use_default {
            builtin_rules()
        } else {
            (Vec::new(), Vec::new())
        };
        builtin.retain(|rule| !loaded.disabled_rules.contains(&rule.id));
        allowlists.extend(loaded.allowlists);
        SecretScanner::assemble(builtin, loaded.rules, allowlists)
            .map_err(|message| config::error(path, 1, 1, message))
    }

    /// Orders the rules so that specific ones come first and the generic one last.
    fn assemble(
        builtin: Vec<Rule>,
        user: Vec<Rule>,
        allowlists: Vec<Allowlist>,
    ) -> Result<SecretScanner, String> {
        let (generic, specific): (Vec<Rule>, Vec<Rule>) = builtin
            .into_iter()
            .partition(|rule| rule.id == GENERIC_RULE);
        let mut rules = specific;
        // A user rule with a built-in id replaces it, as in gitleaks.
        rules.retain(|rule| !user.iter().any(|mine| mine.id == rule.id));
        rules.extend(user);
        rules.extend(generic);
        SecretScanner::new(rules, allowlists)
    }
}

/// The built-in rules, compiled. The patterns are constants checked by the tests, so a failure
/// to compile is a bug in this crate, not bad input.
fn builtin_rules() -> (Vec<Rule>, Vec<Allowlist>) {
    #[allow(clippy::expect_used)] // Constant patterns; every test compiles them.
    let compile = |pattern: &str| config::bytes_regex(pattern).expect("built-in patterns compile");
    let rules = builtin::RULES
        .iter()
        .map(|rule| {
            let own = Allowlist {
                regexes: rule
                    .allowed
                    .iter()
                    .map(|pattern| compile(pattern))
                    .collect(),
                stopwords: rule
                    .stopwords
                    .iter()
                    .map(|word| (*word).to_owned())
                    .collect(),
                ..Allowlist::default()
            };
            Rule {
                id: rule.id.to_owned(),
                description: rule.description.to_owned(),
                regex: Some(compile(rule.regex)),
                secret_group: rule.secret_group,
                entropy: rule.entropy,
                keywords: rule
                    .keywords
                    .iter()
                    .map(|keyword| (*keyword).to_owned())
                    .collect(),
                path: None,
                allowlists: if rule.allowed.is_empty() && rule.stopwords.is_empty() {
                    Vec::new()
                } else {
                    vec![own]
                },
                reach: rule.reach,
                check: rule.check,
            }
        })
        .collect();
    #[allow(clippy::expect_used)] // Constant patterns; every test compiles them.
    let paths = builtin::ALLOWED_PATHS
        .iter()
        .map(|pattern| regex::Regex::new(pattern).expect("built-in paths compile"))
        .collect();
    let allowlists = vec![
        Allowlist {
            paths,
            ..Allowlist::default()
        },
        Allowlist {
            stopwords: builtin::STOPWORDS
                .iter()
                .map(|word| (*word).to_owned())
                .collect(),
            ..Allowlist::default()
        },
    ];
    (rules, allowlists)
}

impl ConfigError {
    fn unreadable(path: &Path, error: &std::io::Error) -> ConfigError {
        config::error(path, 1, 1, format!("cannot read the rules file: {error}"))
    }
}
