//! Images and builds: what Slipway asks the engine to build, and what it reads back.
//!
//! [`BuildSpec`] describes a build (Dockerfile, tags, build args, target stage, labels, cache);
//! the build itself streams [`BuildEvent`]s. [`ImageDetails`] is an image as inspected,
//! [`ImageSummary`] one row of a listing, [`ImageFilter`] selects rows.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;

use crate::container::{HealthCheck, Port};
use crate::labels::LabelSelectors;

/// An image id as the engine reports it (`sha256:…`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ImageId(String);

impl ImageId {
    pub(crate) fn new(id: impl Into<String>) -> ImageId {
        ImageId(id.into())
    }

    /// The id as text, usable wherever a reference is expected.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ImageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What to build. The build context itself is passed alongside, as a tar stream.
///
/// Builds use the engine's classic builder API, which Docker and Podman both serve; the
/// intermediate containers are removed even when a step fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSpec {
    pub(crate) dockerfile: String,
    pub(crate) tags: Vec<String>,
    pub(crate) build_args: BTreeMap<String, String>,
    pub(crate) target: Option<String>,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) no_cache: bool,
    pub(crate) cache_from: Vec<String>,
    pub(crate) platform: Option<String>,
}

impl BuildSpec {
    /// A build of `Dockerfile` at the root of the context, untagged, with the cache.
    pub fn new() -> BuildSpec {
        BuildSpec {
            dockerfile: "Dockerfile".to_owned(),
            tags: Vec::new(),
            build_args: BTreeMap::new(),
            target: None,
            labels: BTreeMap::new(),
            no_cache: false,
            cache_from: Vec::new(),
            platform: None,
        }
    }

    /// The Dockerfile's path inside the context, with `/` separators.
    pub fn dockerfile(mut self, path: impl Into<String>) -> BuildSpec {
        self.dockerfile = path.into();
        self
    }

    /// Adds a tag (`name:tag`) for the built image.
    pub fn tag(mut self, reference: impl Into<String>) -> BuildSpec {
        self.tags.push(reference.into());
        self
    }

    /// Sets a build argument (`ARG` in the Dockerfile).
    pub fn build_arg(mut self, name: impl Into<String>, value: impl Into<String>) -> BuildSpec {
        self.build_args.insert(name.into(), value.into());
        self
    }

    /// Builds up to this stage instead of the last one.
    pub fn target(mut self, stage: impl Into<String>) -> BuildSpec {
        self.target = Some(stage.into());
        self
    }

    /// Sets a label on the built image.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> BuildSpec {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// Sets the labels from a map, replacing any set before.
    pub fn labels(mut self, labels: BTreeMap<String, String>) -> BuildSpec {
        self.labels = labels;
        self
    }

    /// Rebuilds every step instead of reusing the cache.
    pub fn no_cache(mut self, no_cache: bool) -> BuildSpec {
        self.no_cache = no_cache;
        self
    }

    /// Adds an image whose layers may serve as cache.
    pub fn cache_from(mut self, reference: impl Into<String>) -> BuildSpec {
        self.cache_from.push(reference.into());
        self
    }

    /// Builds for this platform (`linux/arm64`) instead of the engine's own.
    pub fn platform(mut self, platform: impl Into<String>) -> BuildSpec {
        self.platform = Some(platform.into());
        self
    }
}

impl Default for BuildSpec {
    fn default() -> BuildSpec {
        BuildSpec::new()
    }
}

/// Something that happened during a build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BuildEvent {
    /// A chunk of build log text, usually one line with its newline.
    Output(String),
    /// The build finished and every tag asked for points at this image. Always the last event
    /// of a successful build.
    Built {
        /// The id of the built image.
        image_id: ImageId,
    },
}

/// An image as the engine describes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageDetails {
    /// The image id.
    pub id: ImageId,
    /// Its tags, in Docker's familiar form (`name:tag`, without `docker.io/library/`).
    pub tags: Vec<String>,
    /// Its repository digests (`name@sha256:…`), once pushed or pulled.
    pub digests: Vec<String>,
    /// Size on disk in bytes.
    pub size_bytes: u64,
    /// How many filesystem layers it has.
    pub layer_count: usize,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// When it was created, when the engine says.
    pub created: Option<Timestamp>,
    /// The operating system it is for (`linux`).
    pub os: String,
    /// The architecture it is for (`amd64`).
    pub architecture: String,
    /// How containers started from it run.
    pub config: ImageConfig,
}

/// The run configuration an image declares.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ImageConfig {
    /// `USER`, if set.
    pub user: Option<String>,
    /// `CMD`.
    pub cmd: Vec<String>,
    /// `ENTRYPOINT`.
    pub entrypoint: Vec<String>,
    /// `ENV`, as name → value.
    pub env: BTreeMap<String, String>,
    /// `WORKDIR`, if set.
    pub working_dir: Option<String>,
    /// `EXPOSE`.
    pub exposed_ports: Vec<Port>,
    /// `HEALTHCHECK` as declared; Slipway never relies on the engine running it.
    pub healthcheck: Option<HealthCheck>,
    /// `STOPSIGNAL`, if set.
    pub stop_signal: Option<String>,
}

/// One image in a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageSummary {
    /// The image id.
    pub id: ImageId,
    /// Its tags, in Docker's familiar form.
    pub tags: Vec<String>,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Size on disk in bytes.
    pub size_bytes: u64,
    /// When it was created.
    pub created: Option<Timestamp>,
}

/// Which images to list. Every condition must hold; no condition lists every tagged image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageFilter {
    pub(crate) labels: LabelSelectors,
    pub(crate) reference: Option<String>,
    pub(crate) include_intermediate: bool,
}

impl ImageFilter {
    /// No condition.
    pub fn new() -> ImageFilter {
        ImageFilter::default()
    }

    /// Only images with this label set to this value.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> ImageFilter {
        self.labels.equal(key.into(), value.into());
        self
    }

    /// Only images with this label, whatever its value.
    pub fn has_label(mut self, key: impl Into<String>) -> ImageFilter {
        self.labels.present(key.into());
        self
    }

    /// Only images whose reference matches this pattern (`name`, `name:tag`, `name:*`).
    pub fn reference(mut self, pattern: impl Into<String>) -> ImageFilter {
        self.reference = Some(pattern.into());
        self
    }

    /// Lists untagged intermediate images too (`docker images --all`).
    pub fn include_intermediate(mut self) -> ImageFilter {
        self.include_intermediate = true;
        self
    }
}

/// How to remove an image.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImageRemoval {
    /// Remove it even when it has several tags or stopped containers use it.
    pub force: bool,
    /// Keep its untagged parent images instead of removing them with it.
    pub no_prune: bool,
}

/// Credentials for a registry, sent with a push or a pull.
#[derive(Clone, PartialEq, Eq)]
pub struct RegistryCredentials {
    pub(crate) server: String,
    pub(crate) secret: RegistrySecret,
}

/// What the engine shows the registry, in `X-Registry-Auth`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum RegistrySecret {
    Password {
        username: String,
        password: String,
    },
    /// An OAuth2 refresh token the engine exchanges at the registry's token service.
    IdentityToken(String),
    /// A bearer token the engine sends the registry as it is.
    RegistryToken(String),
}

impl RegistryCredentials {
    /// A user name and password (or token) for the registry at `server` (`host[:port]`).
    pub fn new(
        server: impl Into<String>,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        RegistryCredentials {
            server: server.into(),
            secret: RegistrySecret::Password {
                username: username.into(),
                password: password.into(),
            },
        }
    }

    /// An identity token (`identitytoken`, what `docker login` keeps for Azure Container
    /// Registry and others) for the registry at `server`.
    pub fn identity_token(server: impl Into<String>, token: impl Into<String>) -> Self {
        RegistryCredentials {
            server: server.into(),
            secret: RegistrySecret::IdentityToken(token.into()),
        }
    }

    /// A bearer token (`registrytoken`) for the registry at `server`.
    pub fn registry_token(server: impl Into<String>, token: impl Into<String>) -> Self {
        RegistryCredentials {
            server: server.into(),
            secret: RegistrySecret::RegistryToken(token.into()),
        }
    }
}

/// Never prints the password.
impl std::fmt::Debug for RegistryCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryCredentials")
            .field("server", &self.server)
            .field(
                "username",
                &match &self.secret {
                    RegistrySecret::Password { username, .. } => username.as_str(),
                    RegistrySecret::IdentityToken(_) => "<identity token>",
                    RegistrySecret::RegistryToken(_) => "<registry token>",
                },
            )
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Splits a reference into the repository and the tag for the engine's tag API; a reference
/// without a tag gets `latest`. The tag is what follows the last `:` after the last `/`, so a
/// registry port (`localhost:5000/app`) is not taken for a tag.
pub(crate) fn split_tag(reference: &str) -> (&str, &str) {
    let name_start = reference.rfind('/').map_or(0, |slash| slash + 1);
    match reference[name_start..].rfind(':') {
        Some(colon) => {
            let colon = name_start + colon;
            (&reference[..colon], &reference[colon + 1..])
        }
        None => (reference, "latest"),
    }
}

/// Writes a reference the way Docker shows it: `docker.io/library/app:1` is `app:1`, and
/// `docker.io/team/app:1` is `team/app:1`. Podman reports the long form; Docker the short one.
pub(crate) fn familiar_reference(reference: &str) -> String {
    let short = reference
        .strip_prefix("docker.io/library/")
        .or_else(|| reference.strip_prefix("docker.io/"))
        .unwrap_or(reference);
    short.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn split_tag_finds_the_tag_after_the_last_slash() {
        for (reference, expected) in [
            ("app:1.2", ("app", "1.2")),
            ("app", ("app", "latest")),
            (
                "localhost:5000/team/app",
                ("localhost:5000/team/app", "latest"),
            ),
            (
                "localhost:5000/team/app:main",
                ("localhost:5000/team/app", "main"),
            ),
            (
                "registry.example.com/app:sha-abc",
                ("registry.example.com/app", "sha-abc"),
            ),
        ] {
            assert_eq!(split_tag(reference), expected, "{reference}");
        }
    }

    #[test]
    fn familiar_reference_drops_the_default_registry() {
        for (reference, expected) in [
            ("docker.io/library/app:1", "app:1"),
            ("docker.io/team/app:1", "team/app:1"),
            ("localhost/app:1", "localhost/app:1"),
            ("localhost:5000/app:1", "localhost:5000/app:1"),
            ("app:1", "app:1"),
        ] {
            assert_eq!(familiar_reference(reference), expected);
        }
    }

    #[test]
    fn credentials_never_show_the_password() {
        let credentials = RegistryCredentials::new("localhost:5000", "ci", "hunter2");
        let shown = format!("{credentials:?}");
        assert!(
            shown.contains("ci") && !shown.contains("hunter2"),
            "{shown}"
        );
    }

    proptest! {
        #[test]
        fn split_tag_rejoins_to_the_reference(
            repository in "([a-z0-9.-]{1,10}(:[0-9]{1,5})?/)?[a-z0-9._-]{1,10}(/[a-z0-9._-]{1,10}){0,2}",
            tag in "[A-Za-z0-9_.-]{1,12}",
        ) {
            let reference = format!("{repository}:{tag}");
            prop_assert_eq!(split_tag(&reference), (repository.as_str(), tag.as_str()));
            prop_assert_eq!(split_tag(&repository), (repository.as_str(), "latest"));
        }
    }
}
