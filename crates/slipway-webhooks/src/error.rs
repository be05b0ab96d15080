//! What can be wrong with a delivery.

use thiserror::Error;

/// Why a delivery was refused. No variant carries the secret or a signature's value.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum WebhookError {
    /// A header the provider always sends is absent.
    #[error("the request has no {header} header; is the webhook configured for this provider?")]
    MissingHeader {
        /// The header's name.
        header: &'static str,
    },
    /// A header is present but cannot be read.
    #[error("the {header} header is malformed: {reason}")]
    MalformedHeader {
        /// The header's name.
        header: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The signature or token does not match the secret.
    #[error(
        "the {header} header does not match the project's webhook secret; \
         set the same secret on the Git host and in Slipway"
    )]
    SignatureMismatch {
        /// The header that was checked.
        header: &'static str,
    },
    /// The project has an empty webhook secret, which would accept anyone's delivery.
    #[error("the webhook secret is empty; give the project a non-empty secret")]
    EmptySecret,
    /// The body is larger than [`crate::MAX_BODY_BYTES`].
    #[error("the body is {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// The body's size in bytes.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The body is not JSON.
    #[error("the body is not valid JSON at line {line}, column {column}: {message}")]
    BadJson {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// The body is JSON but not the payload the event header announces.
    #[error("the {event} payload is invalid at `{path}` (line {line}, column {column}): {message}")]
    InvalidPayload {
        /// The event header's value.
        event: String,
        /// The field's path, such as `pull_request.head.sha`.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The event header names an event Slipway does not handle.
    #[error(
        "{provider} event `{event}` is not handled; send only push, tag push, pull request \
         (merge request) and ping events to Slipway"
    )]
    UnknownEvent {
        /// The provider's name.
        provider: &'static str,
        /// The event header's value.
        event: String,
    },
    /// A provider name that is not `github`, `gitea` or `gitlab`.
    #[error("unknown webhook provider `{name}`; expected github, gitea or gitlab")]
    UnknownProvider {
        /// The name given.
        name: String,
    },
}
