//! Errors for people: what failed, why, and what to do about it.
//!
//! Library crates return typed errors that carry facts (the file, the key, the endpoint). Here
//! each becomes a [`Failure`]: a one-line message, an optional cause, a hint with the fix, and the
//! exit status. Exit status 1 means the work failed (a build, a check); 2 means the input was wrong
//! (config, arguments), matching clap's own usage errors.

use std::process::ExitCode;

use owo_colors::OwoColorize;

use slipway_build::BuildError;
use slipway_config::ConfigError;
use slipway_engine::EngineError;
use slipway_git::GitError;
use slipway_scaffold::ScaffoldError;
use slipway_store::StoreError;

/// A command's failure, ready to print.
#[derive(Debug)]
pub(crate) struct Failure {
    message: String,
    cause: Option<String>,
    hint: Option<String>,
    exit: u8,
}

/// The exit status of work that failed.
pub(crate) const EXIT_FAILED: u8 = 1;
/// The exit status of wrong input.
pub(crate) const EXIT_BAD_INPUT: u8 = 2;

impl Failure {
    pub(crate) fn new(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            cause: None,
            hint: None,
            exit: EXIT_FAILED,
        }
    }

    pub(crate) fn bad_input(message: impl Into<String>) -> Failure {
        Failure {
            exit: EXIT_BAD_INPUT,
            ..Failure::new(message)
        }
    }

    pub(crate) fn cause(mut self, cause: impl Into<String>) -> Failure {
        self.cause = Some(cause.into());
        self
    }

    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Failure {
        self.hint = Some(hint.into());
        self
    }

    /// What failed, in one line.
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.exit)
    }

    /// Writes the failure to stderr.
    #[allow(clippy::print_stderr)] // The one place errors reach the terminal.
    pub(crate) fn print(&self) {
        let mut text = format!("{} {}\n", "error:".red().bold(), self.message);
        if let Some(cause) = &self.cause {
            text.push_str(&format!("  {} {cause}\n", "cause:".bold()));
        }
        if let Some(hint) = &self.hint {
            text.push_str(&format!("  {} {hint}\n", "hint:".cyan().bold()));
        }
        anstream::eprint!("{text}");
    }
}

impl From<ConfigError> for Failure {
    fn from(error: ConfigError) -> Failure {
        let hint = match &error {
            ConfigError::Unreadable { .. } => {
                "run `slipway init` to write one, or point --config at it"
            }
            ConfigError::Invalid { .. } => {
                "fix the value at that position; `slipway config schema` lists every key and its type"
            }
            ConfigError::UnknownService { .. } => {
                "name one of the services under [services] in slipway.toml"
            }
            ConfigError::UnknownEnvironment { .. } => {
                "use dev, staging or prod, or declare the environment under [environments] in slipway.toml"
            }
        };
        Failure::bad_input(error.to_string()).hint(hint)
    }
}

impl From<GitError> for Failure {
    fn from(error: GitError) -> Failure {
        let hint = match &error {
            GitError::NotInstalled(_) => "install git: Slipway names builds after commits",
            GitError::NotARepository(_) => {
                "run Slipway inside a git repository (`git init && git add -A && git commit -m init`)"
            }
            GitError::NoCommits(_) => {
                "commit first (`git add -A && git commit -m init`): images are tagged with the commit"
            }
            GitError::Failed { .. } => {
                "run the git command shown to see what is wrong with the repository"
            }
        };
        Failure::new(error.to_string()).hint(hint)
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Failure {
        if let StoreError::AlreadyExists { .. } = &error {
            return Failure::bad_input(error.to_string())
                .hint("choose another name, or remove the existing one first");
        }
        let hint = match &error {
            StoreError::Unwritable { .. } => {
                "choose a writable state directory with --state-dir or SLIPWAY_HOME"
            }
            StoreError::NewerSchema { .. } => "upgrade slipway, or use another --state-dir",
            StoreError::Corrupt { .. } => {
                "move the state directory aside and run again; Slipway starts a fresh one"
            }
            StoreError::Busy { .. } => {
                "another slipway holds the state database; wait for it or stop it"
            }
            _ => "run `slipway doctor` to check the state directory",
        };
        Failure::new(format!("state store: {error}")).hint(hint)
    }
}

impl From<EngineError> for Failure {
    fn from(error: EngineError) -> Failure {
        let hint = engine_hint(&error);
        Failure::new(error.to_string()).hint(hint)
    }
}

fn engine_hint(error: &EngineError) -> &'static str {
    match error {
        EngineError::NotRunning { .. } => {
            "start Docker, or run scripts/setup-engine to install and start Podman's API service"
        }
        EngineError::Disconnected { .. } => {
            "the container engine stopped answering; restart it (Docker, or `podman system service`) and run again"
        }
        _ => "run `slipway doctor` to check the container engine",
    }
}

impl From<ScaffoldError> for Failure {
    fn from(error: ScaffoldError) -> Failure {
        let hint = match &error {
            ScaffoldError::WouldOverwrite(_) => "nothing was written; pass --force to replace them",
            ScaffoldError::Write { .. } => "check the directory's permissions and free space",
        };
        Failure::new(error.to_string()).hint(hint)
    }
}

impl From<BuildError> for Failure {
    fn from(error: BuildError) -> Failure {
        match error {
            BuildError::Config(error) => error.into(),
            BuildError::Git(error) => error.into(),
            BuildError::Store(error) => error.into(),
            BuildError::Engine(EngineError::BuildFailed { message, output }) => {
                let failure = Failure::new(format!("the image build failed: {message}"))
                    .hint("fix the failing step; `slipway builds show ID` has the whole log");
                if output.trim().is_empty() { failure } else { failure.cause(format!("last output:\n{output}")) }
            }
            BuildError::Engine(error) => error.into(),
            BuildError::NoServices { .. } => {
                Failure::bad_input(error.to_string()).hint("declare one under [services.NAME], or run `slipway init`")
            }
            BuildError::WhichService { .. } => Failure::bad_input(error.to_string()).hint("name one: `slipway build SERVICE`"),
            BuildError::ContextMissing { .. } => {
                Failure::bad_input(error.to_string()).hint("fix `context` for the service in slipway.toml")
            }
            BuildError::DockerfileMissing { .. } => Failure::bad_input(error.to_string())
                .hint("write one (`slipway init` does), or set `dockerfile` for the service in slipway.toml"),
            BuildError::DockerfileInvalid { .. } => {
                Failure::bad_input(error.to_string()).hint("fix the Dockerfile at that position")
            }
            BuildError::UnknownTarget { .. } => {
                Failure::bad_input(error.to_string()).hint("pass one of those stages to --target, or leave it out")
            }
            BuildError::Version(_) => Failure::bad_input(error.to_string())
                .hint("fix the manifest, or set `version` for the service in slipway.toml"),
            BuildError::Context(_) => Failure::new(error.to_string())
                .hint("check the file's permissions, or exclude it in .dockerignore"),
            BuildError::Io { .. } => Failure::new(error.to_string()).hint("check the path and its permissions"),
            BuildError::Cancelled => Failure::new(error.to_string()).hint("it is recorded as cancelled; run it again"),
            BuildError::Internal(_) => Failure::new(error.to_string()).hint("please report this as a bug"),
        }
    }
}
