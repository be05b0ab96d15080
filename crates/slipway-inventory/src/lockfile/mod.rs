//! Lockfile parsers: one module per package manager, one [`LockfileKind`] per file format.
//!
//! Each parser is a pure function from the file's text to the [`LockedPackage`]s it pins, with
//! the line each is declared on when the format makes that cheap to know. What a parser cannot
//! read is a [`ParseError`] with the line and column. Entries that pin nothing a registry
//! serves (workspace members, local paths, git checkouts, unpinned requirements) are left out:
//! there is no registry version to look advisories up by.

mod cargo;
mod composer;
mod golang;
mod npm;
mod pnpm;
mod python;
mod ruby;
mod yarn;

use std::fmt;

use slipway_vuln::Ecosystem;

/// A lockfile format Slipway reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockfileKind {
    /// `Cargo.lock`.
    Cargo,
    /// `package-lock.json` (v1, v2, v3) or `npm-shrinkwrap.json`.
    Npm,
    /// `yarn.lock`, classic (v1) or berry (v2 and later).
    Yarn,
    /// `pnpm-lock.yaml` (lockfile versions 5, 6 and 9).
    Pnpm,
    /// `requirements.txt` and `requirements-*.txt`: only `==` pins.
    Requirements,
    /// `poetry.lock`.
    Poetry,
    /// `Pipfile.lock`.
    Pipfile,
    /// `uv.lock`.
    Uv,
    /// `go.mod`, with its `replace` directives applied.
    GoMod,
    /// `Gemfile.lock`.
    Gemfile,
    /// `composer.lock`.
    Composer,
}

/// A package a lockfile pins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedPackage {
    pub name: String,
    pub version: String,
    /// The 1-based line the package is declared on, when known.
    pub line: Option<usize>,
}

/// A lockfile that cannot be read, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    line: usize,
    column: usize,
    message: String,
}

impl ParseError {
    pub(crate) fn new(line: usize, column: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            line,
            column,
            message: message.into(),
        }
    }

    /// An error at byte `offset` of `text`.
    pub(crate) fn at_offset(text: &str, offset: usize, message: impl Into<String>) -> ParseError {
        let (line, column) = crate::text::line_column(text, offset);
        ParseError::new(line, column, message)
    }

    /// A JSON syntax or shape error, at the position serde_json reports.
    pub(crate) fn json(error: &serde_json::Error) -> ParseError {
        // serde_json appends " at line L column C" to the message; the position has its own
        // fields here.
        let message = error.to_string();
        let message = message
            .rsplit_once(" at line ")
            .map_or(message.as_str(), |(message, _)| message)
            .to_owned();
        ParseError::new(error.line().max(1), error.column().max(1), message)
    }

    /// A TOML syntax or shape error, at the span the toml parser reports.
    pub(crate) fn toml(text: &str, error: &toml::de::Error) -> ParseError {
        let offset = error.span().map_or(0, |span| span.start);
        ParseError::at_offset(text, offset, error.message().trim_end())
    }

    /// The 1-based line.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The 1-based column, in characters.
    pub fn column(&self) -> usize {
        self.column
    }

    /// What is wrong, without the position.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

impl LockfileKind {
    /// Every format, for tests and documentation.
    pub const ALL: [LockfileKind; 11] = [
        LockfileKind::Cargo,
        LockfileKind::Npm,
        LockfileKind::Yarn,
        LockfileKind::Pnpm,
        LockfileKind::Requirements,
        LockfileKind::Poetry,
        LockfileKind::Pipfile,
        LockfileKind::Uv,
        LockfileKind::GoMod,
        LockfileKind::Gemfile,
        LockfileKind::Composer,
    ];

    /// The format of a file called `file_name`, if it is a lockfile Slipway reads.
    pub fn detect(file_name: &str) -> Option<LockfileKind> {
        Some(match file_name {
            "Cargo.lock" => LockfileKind::Cargo,
            "package-lock.json" | "npm-shrinkwrap.json" => LockfileKind::Npm,
            "yarn.lock" => LockfileKind::Yarn,
            "pnpm-lock.yaml" => LockfileKind::Pnpm,
            "poetry.lock" => LockfileKind::Poetry,
            "Pipfile.lock" => LockfileKind::Pipfile,
            "uv.lock" => LockfileKind::Uv,
            "go.mod" => LockfileKind::GoMod,
            "Gemfile.lock" => LockfileKind::Gemfile,
            "composer.lock" => LockfileKind::Composer,
            name if name.starts_with("requirements") && name.ends_with(".txt") => {
                LockfileKind::Requirements
            }
            _ => return None,
        })
    }

    /// The ecosystem whose registry serves the packages this format pins.
    pub fn ecosystem(self) -> Ecosystem {
        match self {
            LockfileKind::Cargo => Ecosystem::CratesIo,
            LockfileKind::Npm | LockfileKind::Yarn | LockfileKind::Pnpm => Ecosystem::Npm,
            LockfileKind::Requirements
            | LockfileKind::Poetry
            | LockfileKind::Pipfile
            | LockfileKind::Uv => Ecosystem::PyPI,
            LockfileKind::GoMod => Ecosystem::Go,
            LockfileKind::Gemfile => Ecosystem::RubyGems,
            LockfileKind::Composer => Ecosystem::Packagist,
        }
    }

    /// The usual file name, for messages.
    pub fn file_name(self) -> &'static str {
        match self {
            LockfileKind::Cargo => "Cargo.lock",
            LockfileKind::Npm => "package-lock.json",
            LockfileKind::Yarn => "yarn.lock",
            LockfileKind::Pnpm => "pnpm-lock.yaml",
            LockfileKind::Requirements => "requirements.txt",
            LockfileKind::Poetry => "poetry.lock",
            LockfileKind::Pipfile => "Pipfile.lock",
            LockfileKind::Uv => "uv.lock",
            LockfileKind::GoMod => "go.mod",
            LockfileKind::Gemfile => "Gemfile.lock",
            LockfileKind::Composer => "composer.lock",
        }
    }

    /// The packages `text` pins, in the order the file lists them.
    ///
    /// # Errors
    ///
    /// A [`ParseError`] with the line and column of the first problem.
    pub fn parse(self, text: &str) -> Result<Vec<LockedPackage>, ParseError> {
        match self {
            LockfileKind::Cargo => cargo::parse(text),
            LockfileKind::Npm => npm::parse(text),
            LockfileKind::Yarn => yarn::parse(text),
            LockfileKind::Pnpm => pnpm::parse(text),
            LockfileKind::Requirements => python::parse_requirements(text),
            LockfileKind::Poetry => python::parse_poetry(text),
            LockfileKind::Pipfile => python::parse_pipfile(text),
            LockfileKind::Uv => python::parse_uv(text),
            LockfileKind::GoMod => golang::parse(text),
            LockfileKind::Gemfile => ruby::parse(text),
            LockfileKind::Composer => composer::parse(text),
        }
    }
}
