//! The syntax tree: one [`Instruction`] per Dockerfile instruction, with a typed payload.
//!
//! Payloads keep argument text as written (quotes, escapes and `${VAR}` references included):
//! the parser never evaluates anything. Flags are typed per instruction, so a rule such as "COPY
//! rather than ADD" or "exec-form CMD" reads fields instead of re-parsing text.

use std::time::Duration;

use serde::Serialize;

use crate::image::ImageRef;

/// One instruction, where it is, and its source text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Instruction {
    /// What the instruction is, with its arguments.
    pub kind: InstructionKind,
    /// Where its keyword is, and the last line it spans (continuations and heredocs included).
    pub span: Span,
    /// The source text, from the keyword to the end of its last line.
    pub raw: String,
}

/// The position of an instruction: its keyword's line and column, and the last line it uses.
/// All 1-based; columns count characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Span {
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
}

/// An instruction and its arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "instruction", content = "arguments", rename_all = "UPPERCASE")]
pub enum InstructionKind {
    From(FromInstruction),
    /// One or more build arguments: `ARG a b=1`.
    Arg(Vec<ArgDeclaration>),
    /// `ENV k=v k2="v 2"`, or the legacy single-pair `ENV k v`.
    Env(Vec<KeyValue>),
    Label(Vec<KeyValue>),
    Run(RunInstruction),
    Cmd(Command),
    Entrypoint(Command),
    /// The shell for later shell-form commands; always the JSON form.
    Shell(Vec<String>),
    Copy(CopyInstruction),
    Add(AddInstruction),
    /// Ports as written: `80`, `80/tcp`, `8000-8010/udp`, `${PORT}`.
    Expose(Vec<String>),
    Healthcheck(Healthcheck),
    /// An instruction run when the image is used as a base.
    Onbuild(Box<Instruction>),
    User(User),
    Workdir(String),
    Volume(Vec<String>),
    Stopsignal(String),
    Maintainer(String),
}

impl InstructionKind {
    /// The instruction's keyword in upper case, as Docker documents it.
    pub fn keyword(&self) -> &'static str {
        match self {
            InstructionKind::From(_) => "FROM",
            InstructionKind::Arg(_) => "ARG",
            InstructionKind::Env(_) => "ENV",
            InstructionKind::Label(_) => "LABEL",
            InstructionKind::Run(_) => "RUN",
            InstructionKind::Cmd(_) => "CMD",
            InstructionKind::Entrypoint(_) => "ENTRYPOINT",
            InstructionKind::Shell(_) => "SHELL",
            InstructionKind::Copy(_) => "COPY",
            InstructionKind::Add(_) => "ADD",
            InstructionKind::Expose(_) => "EXPOSE",
            InstructionKind::Healthcheck(_) => "HEALTHCHECK",
            InstructionKind::Onbuild(_) => "ONBUILD",
            InstructionKind::User(_) => "USER",
            InstructionKind::Workdir(_) => "WORKDIR",
            InstructionKind::Volume(_) => "VOLUME",
            InstructionKind::Stopsignal(_) => "STOPSIGNAL",
            InstructionKind::Maintainer(_) => "MAINTAINER",
        }
    }
}

/// `FROM [--platform=P] image [AS name]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct FromInstruction {
    pub image: ImageRef,
    pub platform: Option<String>,
    /// The stage name after `AS`, lowercased as BuildKit does.
    pub stage_name: Option<String>,
}

/// `name` or `name=default` in an `ARG`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ArgDeclaration {
    pub name: String,
    /// The default as written, quotes included.
    pub default: Option<String>,
}

/// A `key=value` pair of `ENV` or `LABEL`; both sides as written, quotes included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

/// A command in exec form (a JSON array) or shell form (text run by the `SHELL`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Command {
    Exec(Vec<String>),
    Shell(String),
}

/// `RUN [--mount=...] [--network=...] [--security=...] command`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RunInstruction {
    pub command: Command,
    /// Each `--mount` value, in order.
    pub mounts: Vec<String>,
    pub network: Option<String>,
    pub security: Option<String>,
    /// Heredocs opened on the command line, in order.
    pub heredocs: Vec<Heredoc>,
}

/// A here-document: `<<EOF` ... `EOF`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Heredoc {
    /// The terminator, quotes removed.
    pub delimiter: String,
    /// The body, one `\n` after each line, as written (tabs included for `<<-`).
    pub content: String,
    /// `<<-`: leading tabs are stripped from the body and the terminator line.
    pub strip_tabs: bool,
    /// False when the delimiter was quoted, so variables in the body are left alone.
    pub expand: bool,
}

/// What COPY and ADD share: sources, destination and ownership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct FileTransfer {
    /// Sources as written; a heredoc source appears as its `<<NAME` marker.
    pub sources: Vec<String>,
    pub destination: String,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub link: bool,
    /// Each `--exclude` pattern, in order.
    pub excludes: Vec<String>,
    pub heredocs: Vec<Heredoc>,
}

/// `COPY [--from=...] [--parents] ... src... dest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CopyInstruction {
    pub files: FileTransfer,
    /// A stage name, stage index or image to copy from.
    pub from: Option<String>,
    pub parents: bool,
}

/// `ADD [--checksum=...] [--keep-git-dir] [--unpack] ... src... dest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AddInstruction {
    pub files: FileTransfer,
    pub checksum: Option<String>,
    pub keep_git_dir: bool,
    /// `--unpack` as given; `None` keeps Docker's default (unpack local archives).
    pub unpack: Option<bool>,
}

/// `HEALTHCHECK NONE` or `HEALTHCHECK [options] CMD command`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Healthcheck {
    /// Disables any health check inherited from the base image.
    None,
    Cmd {
        command: Command,
        options: HealthcheckOptions,
    },
}

/// The options of `HEALTHCHECK CMD`; `None` keeps Docker's default.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct HealthcheckOptions {
    pub interval: Option<Duration>,
    pub timeout: Option<Duration>,
    pub start_period: Option<Duration>,
    pub start_interval: Option<Duration>,
    pub retries: Option<u32>,
}

/// `USER user[:group]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct User {
    pub user: String,
    pub group: Option<String>,
}
