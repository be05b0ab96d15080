//! User rules in a TOML file with gitleaks' fields, so a `.gitleaks.toml` works as it is.
//!
//! ```toml
//! title = "our rules"
//!
//! [extend]
//! useDefault = true              # keep the built-in rules (the default)
//! disabledRules = ["jwt"]
//!
//! [[rules]]
//! id = "acme-api-key"
//! description = "ACME API key"
//! regex = '''acme_(?P<key>[a-z0-9]{32})'''
//! secretGroup = 1
//! entropy = 3.5
//! keywords = ["acme_"]
//! path = '''\.env$'''
//!
//! [[rules.allowlists]]
//! regexTarget = "line"
//! regexes = ['''# test key''']
//!
//! [[allowlists]]                 # global: every rule (or `targetRules`)
//! paths = ['''^fixtures/''']
//! ```
//!
//! Both the current `[[rules.allowlists]]` / `[[allowlists]]` and the older single
//! `[rules.allowlist]` / `[allowlist]` tables are read. Unknown keys are errors, so a misspelled
//! field does not silently do nothing; every error names the line and column.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::rule::{Allowlist, Condition, Reach, RegexTarget, Rule};

/// A rules file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}:{column}: {message}", path.display())]
pub struct ConfigError {
    path: PathBuf,
    line: usize,
    column: usize,
    message: String,
}

impl ConfigError {
    /// The rules file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The 1-based line of the problem.
    pub fn line(&self) -> usize {
        self.line
    }

    /// What is wrong, without the position.
    pub fn message(&self) -> &str {
        &self.message
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    /// gitleaks' title: accepted so that files having one load.
    #[serde(rename = "title")]
    _title: Option<String>,
    #[serde(default)]
    extend: Extend,
    #[serde(default)]
    rules: Vec<toml::Spanned<RuleFields>>,
    allowlist: Option<AllowlistFields>,
    #[serde(default)]
    allowlists: Vec<AllowlistFields>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Extend {
    #[serde(default = "yes")]
    use_default: bool,
    #[serde(default)]
    disabled_rules: Vec<String>,
}

impl Default for Extend {
    fn default() -> Extend {
        Extend {
            use_default: true,
            disabled_rules: Vec::new(),
        }
    }
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RuleFields {
    id: String,
    description: Option<String>,
    regex: Option<String>,
    #[serde(default)]
    secret_group: usize,
    entropy: Option<f64>,
    #[serde(default)]
    keywords: Vec<String>,
    path: Option<String>,
    /// gitleaks' tags: accepted so that files having them load.
    #[serde(default, rename = "tags")]
    _tags: Vec<String>,
    allowlist: Option<AllowlistFields>,
    #[serde(default)]
    allowlists: Vec<AllowlistFields>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AllowlistFields {
    /// Documentation for people reading the file.
    #[serde(rename = "description")]
    _description: Option<String>,
    condition: Option<String>,
    regex_target: Option<String>,
    #[serde(default)]
    regexes: Vec<String>,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    stopwords: Vec<String>,
    #[serde(default)]
    commits: Vec<String>,
    #[serde(default)]
    target_rules: Vec<String>,
}

/// What a rules file says.
pub(crate) struct Loaded {
    pub(crate) use_default: bool,
    pub(crate) disabled_rules: Vec<String>,
    pub(crate) rules: Vec<Rule>,
    pub(crate) allowlists: Vec<Allowlist>,
}

/// An error at `line`:`column` of the rules file at `path`.
pub(crate) fn error(path: &Path, line: usize, column: usize, message: String) -> ConfigError {
    ConfigError {
        path: path.to_owned(),
        line,
        column,
        message,
    }
}

pub(crate) fn load(path: &Path, text: &str) -> Result<Loaded, ConfigError> {
    let error_at = |offset: usize, message: String| {
        let (line, column) = line_column(text, offset);
        error(path, line, column, message)
    };
    let file: File = toml::from_str(text).map_err(|error| {
        error_at(
            error.span().map_or(0, |span| span.start),
            error.message().trim_end().to_owned(),
        )
    })?;
    let mut rules = Vec::new();
    for spanned in file.rules {
        let offset = spanned.span().start;
        let fields = spanned.into_inner();
        let id = fields.id.clone();
        rules.push(
            rule(fields).map_err(|message| error_at(offset, format!("rule {id}: {message}")))?,
        );
    }
    let allowlists = file
        .allowlist
        .into_iter()
        .chain(file.allowlists)
        .map(allowlist)
        .collect::<Result<Vec<_>, String>>()
        .map_err(|message| error_at(0, format!("global allowlist: {message}")))?;
    Ok(Loaded {
        use_default: file.extend.use_default,
        disabled_rules: file.extend.disabled_rules,
        rules,
        allowlists,
    })
}

fn rule(fields: RuleFields) -> Result<Rule, String> {
    if fields.id.trim().is_empty() {
        return Err("the id is empty".to_owned());
    }
    let regex = fields.regex.as_deref().map(bytes_regex).transpose()?;
    let path = fields
        .path
        .as_deref()
        .map(|path| {
            regex::Regex::new(path)
                .map_err(|error| format!("path {path:?} does not compile: {error}"))
        })
        .transpose()?;
    match &regex {
        None if path.is_none() => return Err("a rule needs a regex, a path, or both".to_owned()),
        Some(regex) if fields.secret_group >= regex.captures_len() => {
            return Err(format!(
                "secretGroup is {} but the regex has {} group(s)",
                fields.secret_group,
                regex.captures_len() - 1
            ));
        }
        _ => {}
    }
    let allowlists = fields
        .allowlist
        .into_iter()
        .chain(fields.allowlists)
        .map(allowlist)
        .collect::<Result<_, _>>()?;
    Ok(Rule {
        description: fields.description.unwrap_or_else(|| fields.id.clone()),
        id: fields.id,
        regex,
        secret_group: fields.secret_group,
        entropy: fields.entropy,
        keywords: fields
            .keywords
            .iter()
            .map(|keyword| keyword.to_ascii_lowercase())
            .collect(),
        path,
        allowlists,
        reach: Reach::Everything,
        check: None,
    })
}

fn allowlist(fields: AllowlistFields) -> Result<Allowlist, String> {
    let condition = match fields
        .condition
        .as_deref()
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        None | Some("OR") => Condition::Or,
        Some("AND") => Condition::And,
        Some(other) => return Err(format!("condition {other:?} is not OR or AND")),
    };
    let regex_target = match fields.regex_target.as_deref() {
        None | Some("secret") => RegexTarget::Secret,
        Some("match") => RegexTarget::Match,
        Some("line") => RegexTarget::Line,
        Some(other) => {
            return Err(format!(
                "regexTarget {other:?} is not secret, match or line"
            ));
        }
    };
    Ok(Allowlist {
        condition,
        regex_target,
        regexes: fields
            .regexes
            .iter()
            .map(|regex| bytes_regex(regex))
            .collect::<Result<_, _>>()?,
        paths: fields
            .paths
            .iter()
            .map(|path| {
                regex::Regex::new(path)
                    .map_err(|error| format!("path {path:?} does not compile: {error}"))
            })
            .collect::<Result<_, _>>()?,
        stopwords: fields
            .stopwords
            .iter()
            .map(|word| word.to_ascii_lowercase())
            .collect(),
        commits: fields.commits,
        target_rules: fields.target_rules,
    })
}

/// Compiles a regex over bytes. ASCII-only classes first (faster on bytes, and what Go's RE2,
/// gitleaks' engine, means by `\w` and `\b`); Unicode mode when the pattern needs it.
pub(crate) fn bytes_regex(pattern: &str) -> Result<regex::bytes::Regex, String> {
    regex::bytes::RegexBuilder::new(pattern)
        .unicode(false)
        .build()
        .or_else(|_| regex::bytes::Regex::new(pattern))
        .map_err(|error| format!("regex {pattern:?} does not compile: {error}"))
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = memchr::memchr_iter(b'\n', before).count() + 1;
    let start = memchr::memrchr(b'\n', before).map_or(0, |newline| newline + 1);
    (line, before.len() - start + 1)
}
