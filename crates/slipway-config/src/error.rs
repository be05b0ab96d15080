//! Config errors, each naming the file, the position and the key.

use std::path::{Path, PathBuf};

use crate::location::{self, LineColumn};

/// Why a `slipway.toml` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The text is not valid TOML, has a key the file does not allow, a value of the wrong type, or a
    /// value that breaks a rule.
    #[error("{}:{line}:{column}: {}{message}", file.display(), key_prefix(key))]
    Invalid {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// The dotted key path (`services.web.port`); empty for syntax errors.
        key: String,
        /// What is wrong and what was expected.
        message: String,
    },
    /// A command named a service the file does not declare.
    #[error("{}: no service named `{name}`; {}", origin.display(), known_list("services", known))]
    UnknownService {
        /// The file.
        origin: PathBuf,
        /// The name asked for.
        name: String,
        /// The services the file declares.
        known: Vec<String>,
    },
    /// A command named an environment that is neither standard nor declared.
    #[error("{}: no environment named `{name}`; {}", origin.display(), known_list("environments", known))]
    UnknownEnvironment {
        /// The file.
        origin: PathBuf,
        /// The name asked for.
        name: String,
        /// The environments that exist.
        known: Vec<String>,
    },
}

fn key_prefix(key: &str) -> String {
    if key.is_empty() {
        String::new()
    } else {
        format!("{key}: ")
    }
}

fn known_list(what: &str, known: &[String]) -> String {
    if known.is_empty() {
        format!("it declares no {what}")
    } else {
        format!("known {what}: {}", known.join(", "))
    }
}

impl ConfigError {
    /// An error at the position of the key `path` (as segments).
    pub(crate) fn at_key(origin: &Path, text: &str, path: &[&str], message: String) -> ConfigError {
        let position = location::line_column(text, location::key_offset(text, path));
        ConfigError::invalid(origin, position, path.join("."), message)
    }

    /// An error from the TOML parser or deserializer, located by its span.
    pub(crate) fn from_toml(
        origin: &Path,
        text: &str,
        key: String,
        error: &toml::de::Error,
    ) -> ConfigError {
        let offset = error.span().map_or(0, |span| span.start);
        let position = location::line_column(text, offset);
        let key = if key == "." { String::new() } else { key };
        ConfigError::invalid(origin, position, key, plain_message(error.message()))
    }

    fn invalid(origin: &Path, at: LineColumn, key: String, message: String) -> ConfigError {
        ConfigError::Invalid {
            file: origin.to_path_buf(),
            line: at.line,
            column: at.column,
            key,
            message,
        }
    }
}

/// serde speaks of fields; a TOML file has keys.
fn plain_message(message: &str) -> String {
    message
        .trim()
        .replace("unknown field", "unknown key")
        .replace("missing field", "missing key")
        .replace(", expected one of", "; expected one of")
        .replace(", expected", "; expected")
}
