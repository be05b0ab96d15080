//! Why credentials could not be found or a registry could not be used. No message ever holds a
//! secret: a refused login names the registry and the credentials' source only.

use std::path::PathBuf;

use crate::credentials::Source;

/// Why the credential lookup failed.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// A credential file exists but cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A credential file is not JSON of the expected shape.
    #[error("{}:{line}:{column}: not a credential file ({message}); fix the JSON or log in again to rewrite it", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// An `auths` entry cannot be decoded.
    #[error("{}: auths[\"{key}\"]: {reason}", path.display())]
    BadEntry {
        path: PathBuf,
        key: String,
        reason: String,
    },
    /// A credential helper cannot be run, or failed for another reason than not knowing the
    /// registry.
    #[error("{helper} (named in {}): {reason}", named_in.display())]
    Helper {
        helper: String,
        named_in: PathBuf,
        reason: String,
    },
}

/// Why text is not an image reference.
#[derive(Debug, thiserror::Error)]
#[error("`{name}` is not an image reference: {reason}")]
pub struct ImageNameError {
    pub name: String,
    pub reason: String,
}

/// Why a registry operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Looking up the credentials failed.
    #[error(transparent)]
    Credentials(#[from] CredentialError),
    /// The registry (or its token service) refused the credentials, or wants some and there
    /// were none.
    #[error("{}", unauthorized(registry, credentials_from.as_ref()))]
    Unauthorized {
        registry: String,
        /// Where the refused credentials came from; `None` when there were none.
        credentials_from: Option<Source>,
    },
    /// The credentials were accepted but do not allow this (403).
    #[error("registry {registry} denied {doing}: {message}")]
    Denied {
        registry: String,
        doing: String,
        message: String,
    },
    /// The registry answered with an unexpected status.
    #[error("registry {registry} answered {status} to {doing}{}", detail(message))]
    Status {
        registry: String,
        doing: String,
        status: http::StatusCode,
        message: String,
    },
    /// No answer: the registry cannot be reached, or the connection failed.
    #[error("cannot reach registry {registry} ({doing}): {cause}")]
    Unreachable {
        registry: String,
        doing: String,
        cause: String,
    },
    /// The registry asked for authentication in a form Slipway does not speak.
    #[error(
        "registry {registry} asks for authentication as `{challenge}`, which is neither Basic nor Bearer"
    )]
    Challenge { registry: String, challenge: String },
    /// The token service answered something that holds no token.
    #[error("the token service {realm} of registry {registry} answered {reason}")]
    Token {
        registry: String,
        realm: String,
        reason: String,
    },
    /// Content did not match its digest.
    #[error("registry {registry} sent {what} whose digest is {actual}, not {expected}")]
    DigestMismatch {
        registry: String,
        what: String,
        expected: String,
        actual: String,
    },
    /// The manifest is not a Slipway bundle.
    #[error("{reference} on registry {registry} is not a Slipway bundle ({found})")]
    NotABundle {
        registry: String,
        reference: String,
        found: String,
    },
    /// The reference names something other than a container image.
    #[error("{reference} on registry {registry} is not a container image ({found})")]
    NotAnImage {
        registry: String,
        reference: String,
        found: String,
    },
    /// The reference names an index with no image for the platform wanted.
    #[error(
        "{reference} on registry {registry} has no image for {platform} (it has: {available}); name the image of one platform by its digest"
    )]
    NoPlatform {
        registry: String,
        reference: String,
        platform: String,
        available: String,
    },
    /// What was pulled cannot be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// TLS could not be set up.
    #[error("cannot set up TLS for registry {registry}: {cause}")]
    Tls { registry: String, cause: String },
}

fn unauthorized(registry: &str, source: Option<&Source>) -> String {
    match source {
        Some(source) => {
            format!("registry {registry} refused the credentials from {source} (401 Unauthorized)")
        }
        None => format!(
            "registry {registry} needs credentials (401 Unauthorized), and none were found for it in Docker's config.json, its credential helpers or the containers auth.json"
        ),
    }
}

fn detail(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}
