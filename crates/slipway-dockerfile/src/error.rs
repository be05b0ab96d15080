//! The error returned when a Dockerfile does not parse.

use crate::lines::Position;

/// Why a Dockerfile was rejected, and where: `line:column: message`.
///
/// Lines and columns are 1-based; columns count characters. The caller prefixes the file name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct ParseError {
    line: usize,
    column: usize,
    message: String,
}

impl ParseError {
    pub(crate) fn new(position: Position, message: impl Into<String>) -> ParseError {
        ParseError {
            line: position.line,
            column: position.column,
            message: message.into(),
        }
    }

    /// The 1-based line the problem is on.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The 1-based column (in characters) the problem starts at.
    pub fn column(&self) -> usize {
        self.column
    }

    /// What is wrong, without the position.
    pub fn message(&self) -> &str {
        &self.message
    }
}
