//! A Dockerfile parser that keeps the line and column of every instruction.
//!
//! [`parse`] turns the text of a Dockerfile into a [`Dockerfile`]: its parser [`Directives`]
//! (`# syntax=`, `# escape=`, `# check=`), every [`Instruction`] with a typed payload
//! ([`InstructionKind`]) and its [`Span`], and the build [`Stage`]s. It follows Docker's
//! documented syntax as BuildKit reads it: case-insensitive keywords, continuation lines (with
//! comments and blank lines inside them), exec and shell forms (a malformed JSON array is a shell
//! command), flags, heredocs and `ONBUILD` triggers. What BuildKit rejects before building
//! (unknown instructions and flags, a missing `FROM`, duplicate stage names, ...) is a
//! [`ParseError`] with the line and column.
//!
//! Nothing is evaluated: `${VAR}` stays in the text, and [`referenced_variables`] lists the
//! variables a piece of text uses.
//!
//! ```
//! let dockerfile = slipway_dockerfile::parse("FROM node:22 AS build\nRUN npm ci\nFROM scratch\n")?;
//! let build = dockerfile.stage("build").expect("the stage exists");
//! assert_eq!(build.base().tag(), Some("22"));
//! assert_eq!(dockerfile.stage_instructions(build)[1].span.line, 2);
//! assert_eq!(dockerfile.final_stage().index(), 1);
//! # Ok::<(), slipway_dockerfile::ParseError>(())
//! ```

mod directives;
mod dockerfile;
mod duration;
mod error;
mod flags;
mod image;
mod instruction;
mod lines;
mod parser;
mod variables;
mod words;

pub use directives::Directives;
pub use dockerfile::{Dockerfile, Stage};
pub use error::ParseError;
pub use image::ImageRef;
pub use instruction::{
    AddInstruction, ArgDeclaration, Command, CopyInstruction, FileTransfer, FromInstruction,
    Healthcheck, HealthcheckOptions, Heredoc, Instruction, InstructionKind, KeyValue,
    RunInstruction, Span, User,
};
pub use variables::{expand_variables, referenced_variables};

/// Parses the text of a Dockerfile.
///
/// # Errors
///
/// A [`ParseError`] with the line and column of the first problem: an unknown instruction or
/// flag, missing or malformed arguments, an unterminated heredoc, an instruction other than `ARG`
/// before the first `FROM`, no `FROM` at all, or a stage name used twice.
pub fn parse(text: &str) -> Result<Dockerfile, ParseError> {
    let (directives, instructions) = parser::parse_instructions(text)?;
    Dockerfile::new(directives, instructions)
}
