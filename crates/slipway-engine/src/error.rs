//! [`EngineError`]: everything that can go wrong talking to a container engine.
//!
//! Each variant carries what a person needs to act on it; the binary turns them into a cause and a
//! hint. No `bollard` type appears here: transport and API failures are translated where they
//! happen (see `docker::errors`).

use std::fmt;

use crate::endpoint::Endpoint;

/// An error from the container engine or from talking to it.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No engine answered on any endpoint that was tried. The fix is to start one: Docker, or
    /// `scripts/setup-engine` for Podman, or to point `DOCKER_HOST` at a running engine.
    #[error("no container engine answers on {}", Unanswered::list(tried))]
    NotRunning {
        /// Every endpoint tried, in order, with why it did not answer.
        tried: Vec<Unanswered>,
    },

    /// `DOCKER_HOST` holds something that is not an endpoint Slipway can use.
    #[error("DOCKER_HOST={value:?} cannot be used: {reason}")]
    InvalidEndpoint {
        /// The value as given.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// The engine answered once, then went away (connection refused, reset or closed) in the
    /// middle of an operation: it was stopped or crashed.
    #[error("the container engine went away while {during}: {cause}")]
    Disconnected {
        /// What was being done, e.g. "building an image".
        during: String,
        /// The lowest-level cause reported by the connection.
        cause: String,
    },

    /// The engine did not answer in time.
    #[error("the container engine did not answer in time while {during}")]
    Timeout {
        /// What was being done.
        during: String,
    },

    /// The engine ran the build and a step failed (a `RUN` that exited non-zero, a `COPY` of a
    /// missing file, an unknown base image), or it refused the build request outright.
    #[error("the image build failed: {message}")]
    BuildFailed {
        /// The engine's own message, e.g. `The command '/bin/sh -c make' returned a non-zero
        /// code: 2`.
        message: String,
        /// The last lines of build output before the failure: the failing command's output.
        output: String,
    },

    /// The image does not exist in the engine.
    #[error("no image {reference} in the container engine")]
    ImageNotFound {
        /// The reference or id that was asked for.
        reference: String,
    },

    /// The container does not exist.
    #[error("no container {container}")]
    ContainerNotFound {
        /// The name or id that was asked for.
        container: String,
    },

    /// The network does not exist.
    #[error("no network {network}")]
    NetworkNotFound {
        /// The name or id that was asked for.
        network: String,
    },

    /// The engine refused because of the state of something else: a name already in use, an
    /// image used by a container, a running container removed without force.
    #[error("conflict while {during}: {message}")]
    Conflict {
        /// What was being done.
        during: String,
        /// The engine's message.
        message: String,
    },

    /// A host port asked for is already taken by another process or container.
    #[error("a host port is already in use while {during}: {message}")]
    PortInUse {
        /// What was being done.
        during: String,
        /// The engine's message, naming the address.
        message: String,
    },

    /// An operation streamed by the engine (push, pull, load, import) reported a failure.
    #[error("the container engine failed while {during}: {message}")]
    Failed {
        /// What was being done.
        during: String,
        /// The engine's message.
        message: String,
    },

    /// The engine refused a request for another reason.
    #[error("the container engine refused {during} (HTTP {status}): {message}")]
    Api {
        /// What was being done.
        during: String,
        /// The HTTP status it answered with.
        status: u16,
        /// The engine's message.
        message: String,
    },

    /// The engine answered with something Slipway could not understand.
    #[error("unexpected answer from the container engine while {during}: {message}")]
    Protocol {
        /// What was being done.
        during: String,
        /// What was wrong with the answer.
        message: String,
    },

    /// Slipway could not even put the request together, e.g. a name with characters no URL
    /// can carry.
    #[error("cannot ask the container engine for {during}: {message}")]
    InvalidRequest {
        /// What was being done.
        during: String,
        /// What was wrong.
        message: String,
    },

    /// Reading data Slipway sends to the engine failed (a build context or an image archive).
    #[error("{during} failed: {source}")]
    Io {
        /// What was being read, e.g. "reading the build context".
        during: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl EngineError {
    /// Whether a build failed because another client removed an image at the same moment, so
    /// that building again succeeds. Podman's storage takes no lock across a build: when an image
    /// is removed meanwhile, Podman 4 can remove the build's working container or a layer it was
    /// about to use, and answers "identifier is not a container" or "layer not known".
    pub fn is_build_lost_to_concurrent_removal(&self) -> bool {
        const ANSWERS: [&str; 2] = ["identifier is not a container", "layer not known"];
        match self {
            EngineError::BuildFailed { message, .. } | EngineError::Failed { message, .. } => {
                ANSWERS.iter().any(|answer| message.contains(answer))
            }
            _ => false,
        }
    }
}

/// An endpoint that did not answer, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unanswered {
    /// Where Slipway looked.
    pub endpoint: Endpoint,
    /// Why it did not answer, e.g. "no socket there" or "connection refused".
    pub reason: String,
}

impl Unanswered {
    fn list(tried: &[Unanswered]) -> String {
        let items: Vec<String> = tried.iter().map(ToString::to_string).collect();
        items.join(", ")
    }
}

impl fmt::Display for Unanswered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.endpoint, self.reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_podmans_answers_to_a_concurrent_removal_make_a_build_worth_repeating() {
        let build_failed = |message: &str| EngineError::BuildFailed {
            message: message.to_owned(),
            output: String::new(),
        };
        assert!(
            build_failed("committing container for step: identifier is not a container")
                .is_build_lost_to_concurrent_removal()
        );
        assert!(
            build_failed("creating build container: 8f3a: layer not known")
                .is_build_lost_to_concurrent_removal()
        );
        assert!(
            !build_failed("The command '/bin/sh -c make' returned a non-zero code: 2")
                .is_build_lost_to_concurrent_removal()
        );
        let refused = EngineError::Api {
            during: "building an image".to_owned(),
            status: 500,
            message: "identifier is not a container".to_owned(),
        };
        assert!(!refused.is_build_lost_to_concurrent_removal());
    }

    #[test]
    fn not_running_names_every_endpoint_tried_and_why() {
        let error = EngineError::NotRunning {
            tried: vec![
                Unanswered {
                    endpoint: Endpoint::unix("/var/run/docker.sock"),
                    reason: "no socket there".to_owned(),
                },
                Unanswered {
                    endpoint: Endpoint::unix("/run/podman/podman.sock"),
                    reason: "connection refused".to_owned(),
                },
            ],
        };
        assert_eq!(
            error.to_string(),
            "no container engine answers on unix:///var/run/docker.sock (no socket there), \
             unix:///run/podman/podman.sock (connection refused)"
        );
    }
}
