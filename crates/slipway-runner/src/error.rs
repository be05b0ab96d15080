//! What stops a run: problems found while planning (reported all at once, before any job
//! starts, each at its file, line and column), and failures of the machinery while running.

use std::fmt;
use std::path::PathBuf;

use slipway_workflow::{Diagnostic, Pos};
use thiserror::Error;

/// A problem found while planning, at a place in a file when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    file: String,
    pos: Option<Pos>,
    message: String,
    rule: Option<&'static str>,
}

impl Problem {
    /// A problem at `pos` in `file`.
    pub fn at(file: impl Into<String>, pos: Pos, message: impl Into<String>) -> Problem {
        Problem {
            file: file.into(),
            pos: Some(pos),
            message: message.into(),
            rule: None,
        }
    }

    /// A problem with a file as a whole (or with the command line, when `file` names an
    /// argument).
    pub fn in_file(file: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            file: file.into(),
            pos: None,
            message: message.into(),
            rule: None,
        }
    }

    /// The file (as shown), or the command-line argument at fault.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Where in the file.
    pub fn pos(&self) -> Option<Pos> {
        self.pos
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<&Diagnostic> for Problem {
    fn from(diagnostic: &Diagnostic) -> Problem {
        Problem {
            file: diagnostic.file().to_owned(),
            pos: Some(diagnostic.pos()),
            message: diagnostic.message().to_owned(),
            rule: Some(diagnostic.rule().name()),
        }
    }
}

/// `file:line:col: message [rule]`, or `file: message`.
impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pos {
            Some(pos) => write!(f, "{}:{pos}: {}", self.file, self.message)?,
            None => write!(f, "{}: {}", self.file, self.message)?,
        }
        if let Some(rule) = self.rule {
            write!(f, " [{rule}]")?;
        }
        Ok(())
    }
}

/// Why nothing was run.
#[derive(Debug, Error)]
pub enum PlanError {
    /// The workflows (or the arguments) have problems; every one found is listed.
    #[error("{} problem{} found before running anything", .0.len(), if .0.len() == 1 { "" } else { "s" })]
    Invalid(Vec<Problem>),
    /// The repository could not be read.
    #[error(transparent)]
    Git(#[from] slipway_git::GitError),
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl PlanError {
    /// The problems, for [`PlanError::Invalid`].
    pub fn problems(&self) -> &[Problem] {
        match self {
            PlanError::Invalid(problems) => problems,
            PlanError::Git(_) | PlanError::Read { .. } => &[],
        }
    }
}

/// Why a run could not be carried out (as opposed to a job failing, which is an outcome).
#[derive(Debug, Error)]
pub enum RunError {
    /// The state store failed; the run's record may be missing.
    #[error(transparent)]
    Store(#[from] slipway_store::StoreError),
    /// The engine could not be asked something every job depends on.
    #[error(transparent)]
    Engine(#[from] slipway_engine::EngineError),
    /// A file or directory the run needs could not be made.
    #[error("cannot prepare {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}
