//! Translation of `bollard` errors into [`EngineError`], with what was being done.
//!
//! Every call into `bollard` describes itself with a [`Doing`]: an action and the image,
//! container or network it concerns. A 404 then becomes the right "not found" variant, a 409 a
//! conflict, a bind failure [`EngineError::PortInUse`], and any failure of the connection itself
//! [`EngineError::Disconnected`]: the engine answered when Slipway connected, so a broken
//! connection later means it went away.

use std::fmt;

use bollard::errors::Error as BollardError;

use crate::error::EngineError;

/// What a request to the engine was doing, for error messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Doing<'a> {
    action: &'static str,
    image: Option<&'a str>,
    container: Option<&'a str>,
    network: Option<&'a str>,
}

impl<'a> Doing<'a> {
    /// An action such as "inspecting an image", phrased to follow "while".
    pub(crate) fn new(action: &'static str) -> Doing<'a> {
        Doing {
            action,
            image: None,
            container: None,
            network: None,
        }
    }

    pub(crate) fn image(self, reference: &'a str) -> Doing<'a> {
        Doing {
            image: Some(reference),
            ..self
        }
    }

    pub(crate) fn container(self, container: &'a str) -> Doing<'a> {
        Doing {
            container: Some(container),
            ..self
        }
    }

    pub(crate) fn network(self, network: &'a str) -> Doing<'a> {
        Doing {
            network: Some(network),
            ..self
        }
    }

    /// The "not found" error for a 404, picking the subject the engine's message names when
    /// the request concerned several.
    fn not_found(&self, message: &str) -> Option<EngineError> {
        let message = message.to_ascii_lowercase();
        let named = |word: &str| message.contains(word);
        let container = || {
            self.container
                .map(|container| EngineError::ContainerNotFound {
                    container: container.to_owned(),
                })
        };
        let network = || {
            self.network.map(|network| EngineError::NetworkNotFound {
                network: network.to_owned(),
            })
        };
        let image = || {
            self.image.map(|reference| EngineError::ImageNotFound {
                reference: reference.to_owned(),
            })
        };
        let by_message = if named("container") {
            container()
        } else if named("network") {
            network()
        } else if named("image") {
            image()
        } else {
            None
        };
        by_message
            .or_else(container)
            .or_else(network)
            .or_else(image)
    }
}

impl fmt::Display for Doing<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.action)?;
        let subjects = [
            ("image", self.image),
            ("container", self.container),
            ("network", self.network),
        ];
        let mut named = subjects
            .iter()
            .filter_map(|(kind, name)| name.map(|name| (kind, name)));
        if let Some((kind, name)) = named.next() {
            write!(f, " ({kind} {name}")?;
            for (kind, name) in named {
                write!(f, ", {kind} {name}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// Translates a `bollard` error raised while doing `doing`.
pub(crate) fn translate(error: BollardError, doing: Doing<'_>) -> EngineError {
    let during = doing.to_string();
    match error {
        BollardError::DockerResponseServerError {
            status_code,
            message,
        } => response_error(status_code, message, doing),
        BollardError::DockerStreamError { error }
        | BollardError::DockerContainerWaitError { error, .. } => EngineError::Failed {
            during,
            message: error.trim().to_owned(),
        },
        BollardError::RequestTimeoutError => EngineError::Timeout { during },
        BollardError::JsonDataError { message, .. } => EngineError::Protocol { during, message },
        BollardError::JsonSerdeError { err } => EngineError::Protocol {
            during,
            message: err.to_string(),
        },
        BollardError::APIVersionParseError {} => EngineError::Protocol {
            during,
            message: "unreadable API version".to_owned(),
        },
        BollardError::HyperLegacyError { .. }
        | BollardError::HyperResponseError { .. }
        | BollardError::IOError { .. }
        | BollardError::SocketNotFoundError(_) => EngineError::Disconnected {
            during,
            cause: root_cause(&error),
        },
        other => EngineError::InvalidRequest {
            during,
            message: other.to_string(),
        },
    }
}

/// The error for an HTTP error status.
fn response_error(status: u16, message: String, doing: Doing<'_>) -> EngineError {
    let during = doing.to_string();
    if status == 404
        && let Some(not_found) = doing.not_found(&message)
    {
        return not_found;
    }
    if is_port_in_use(&message) {
        return EngineError::PortInUse { during, message };
    }
    if status == 409 || is_podman_conflict(&message) {
        return EngineError::Conflict { during, message };
    }
    EngineError::Api {
        during,
        status,
        message,
    }
}

/// Whether an engine message refuses because of a name in use or a container's state. Docker
/// answers 409 for these; Podman answers 500.
fn is_podman_conflict(message: &str) -> bool {
    message.contains("container state improper") || message.contains("name is already in use")
}

/// Whether an engine message says a host port is taken. Docker says "port is already
/// allocated"; both Docker and Podman pass on the kernel's "address already in use".
fn is_port_in_use(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("address already in use") || message.contains("port is already allocated")
}

/// The innermost cause of an error: "Connection refused (os error 111)" rather than
/// "client error (Connect)".
pub(crate) fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut innermost = error;
    while let Some(source) = innermost.source() {
        innermost = source;
    }
    innermost.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_error(status_code: u16, message: &str) -> BollardError {
        BollardError::DockerResponseServerError {
            status_code,
            message: message.to_owned(),
        }
    }

    #[test]
    fn describes_the_action_and_its_subjects() {
        assert_eq!(Doing::new("listing images").to_string(), "listing images");
        assert_eq!(
            Doing::new("joining a network")
                .container("web")
                .network("backend")
                .to_string(),
            "joining a network (container web, network backend)"
        );
    }

    #[test]
    fn a_404_names_what_the_engine_could_not_find() {
        let creating = Doing::new("creating a container")
            .image("app:1")
            .container("web");
        match translate(server_error(404, "No such image: app:1"), creating) {
            EngineError::ImageNotFound { reference } => assert_eq!(reference, "app:1"),
            other => panic!("expected ImageNotFound, got {other:?}"),
        }
        let joining = Doing::new("joining a network")
            .container("web")
            .network("backend");
        match translate(server_error(404, "network backend not found"), joining) {
            EngineError::NetworkNotFound { network } => assert_eq!(network, "backend"),
            other => panic!("expected NetworkNotFound, got {other:?}"),
        }
        match translate(
            server_error(404, "no container with name or ID \"web\" found"),
            joining,
        ) {
            EngineError::ContainerNotFound { container } => assert_eq!(container, "web"),
            other => panic!("expected ContainerNotFound, got {other:?}"),
        }
        match translate(
            server_error(404, "page not found"),
            Doing::new("listing images"),
        ) {
            EngineError::Api { status: 404, .. } => {}
            other => panic!("expected Api, got {other:?}"),
        }
    }

    #[test]
    fn conflicts_and_taken_ports_are_told_apart() {
        let starting = Doing::new("starting a container").container("web");
        assert!(matches!(
            translate(server_error(409, "name \"web\" is in use"), starting),
            EngineError::Conflict { .. }
        ));
        for message in [
            "driver failed programming external connectivity: Bind for 127.0.0.1:8080 failed: port is already allocated",
            "rootlessport listen tcp 127.0.0.1:8080: bind: address already in use",
        ] {
            assert!(matches!(
                translate(server_error(500, message), starting),
                EngineError::PortInUse { .. }
            ));
        }
        let podman_running = "cannot remove container 34bd as it is running - running or paused containers \
                              cannot be removed without force: container state improper";
        assert!(matches!(
            translate(server_error(500, podman_running), starting),
            EngineError::Conflict { .. }
        ));
        let podman_name = "creating container storage: the container name \"web\" is already in use by 43a3. \
                           You have to remove that container to be able to reuse that name: that name is already in use";
        assert!(matches!(
            translate(server_error(500, podman_name), starting),
            EngineError::Conflict { .. }
        ));
    }

    #[test]
    fn a_broken_connection_is_a_disconnection_with_its_root_cause() {
        let reset = std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "connection reset by peer",
        );
        match translate(
            BollardError::IOError { err: reset },
            Doing::new("building an image"),
        ) {
            EngineError::Disconnected { during, cause } => {
                assert_eq!(during, "building an image");
                assert_eq!(cause, "connection reset by peer");
            }
            other => panic!("expected Disconnected, got {other:?}"),
        }
    }
}
