//! Positions and the diagnostics every stage reports: `file:line:col: message [rule]`.

use std::fmt;
use std::sync::Arc;

/// A 1-based line and column (columns count characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    /// The line, from 1.
    pub line: usize,
    /// The column, from 1.
    pub column: usize,
}

impl Pos {
    /// Line `line`, column `column`.
    pub fn new(line: usize, column: usize) -> Pos {
        Pos { line, column }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// GitHub would reject the workflow or it would misbehave.
    Error,
    /// Probably a mistake, but GitHub accepts it (an unknown runner label, say).
    Warning,
}

/// A problem found in a workflow file, with where it is and which rule found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    file: Arc<str>,
    pos: Pos,
    message: String,
    rule: Rule,
    severity: Severity,
}

impl Diagnostic {
    pub(crate) fn new(
        file: Arc<str>,
        pos: Pos,
        rule: Rule,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            file,
            pos,
            message: message.into(),
            rule,
            severity: rule.severity(),
        }
    }

    /// The file's name as given to the loader.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Where in the file.
    pub fn pos(&self) -> Pos {
        self.pos
    }

    /// What is wrong, for a person.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The rule that found it.
    pub fn rule(&self) -> Rule {
        self.rule
    }

    /// Error or warning.
    pub fn severity(&self) -> Severity {
        self.severity
    }
}

/// `file:line:col: message [rule]`.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {} [{}]",
            self.file, self.pos, self.message, self.rule
        )
    }
}

/// The linter's rules. Their names are stable: they appear in output and expected-findings
/// files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// Malformed YAML, unknown keys, wrong types, missing required keys, bad values.
    SyntaxCheck,
    /// Expression syntax, and contexts or functions used where they are not available.
    Expression,
    /// `needs:` naming unknown jobs, or forming a cycle.
    JobNeeds,
    /// Invalid or duplicate job and step ids.
    Id,
    /// Matrix references that cannot resolve, excludes naming unknown keys.
    Matrix,
    /// Unknown events, activity types, filters and invalid cron schedules.
    Events,
    /// Invalid branch, tag and path filter patterns.
    Glob,
    /// Unknown permission scopes or access levels.
    Permissions,
    /// `runs-on` labels that no GitHub-hosted runner has (a warning).
    RunnerLabel,
    /// A `shell:` that is neither built in nor a custom command with `{0}`.
    ShellName,
    /// A malformed `uses:`, or inputs a well-known action does not define or requires.
    Action,
    /// A malformed reusable-workflow call.
    WorkflowCall,
    /// Workflow commands GitHub deprecated (`::set-output`, `::set-env`, ...) (a warning).
    DeprecatedCommands,
    /// A container registry password written in clear.
    Credentials,
    /// An invalid environment variable name.
    EnvVar,
    /// An `if:` condition whose value is fixed (a constant, or text around `${{ }}`).
    IfCond,
    /// An empty sequence or quoted string where a value is needed (a warning: GitHub does not
    /// document refusing them, so the runner must not either).
    EmptyValue,
    /// A value an attacker controls (an issue title, a branch name) expanded into a script.
    UntrustedInput,
}

impl Rule {
    /// The rule's stable name.
    pub fn name(self) -> &'static str {
        match self {
            Rule::SyntaxCheck => "syntax-check",
            Rule::Expression => "expression",
            Rule::JobNeeds => "job-needs",
            Rule::Id => "id",
            Rule::Matrix => "matrix",
            Rule::Events => "events",
            Rule::Glob => "glob",
            Rule::Permissions => "permissions",
            Rule::RunnerLabel => "runner-label",
            Rule::ShellName => "shell-name",
            Rule::Action => "action",
            Rule::WorkflowCall => "workflow-call",
            Rule::DeprecatedCommands => "deprecated-commands",
            Rule::Credentials => "credentials",
            Rule::EnvVar => "env-var",
            Rule::UntrustedInput => "untrusted-input",
            Rule::IfCond => "if-cond",
            Rule::EmptyValue => "empty-value",
        }
    }

    fn severity(self) -> Severity {
        match self {
            // GitHub runs such workflows; the runner must too, so these only warn.
            Rule::RunnerLabel
            | Rule::Action
            | Rule::DeprecatedCommands
            | Rule::UntrustedInput
            | Rule::IfCond
            | Rule::Credentials
            | Rule::EmptyValue => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
