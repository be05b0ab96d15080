//! Image references as `docker pull` reads them: `[HOST[:PORT]/]PATH[:TAG][@DIGEST]`, where the
//! first component is a host only when it holds a `.` or a `:` or is `localhost`, Docker Hub is
//! the default host, its one-component names live under `library/`, and `latest` is the default
//! tag.

use std::str::FromStr;

use slipway_registry::{Reference, RepositoryName};

use crate::error::ImageNameError;
use crate::key::DOCKER_HUB;

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageName {
    /// The registry's host (`host[:port]`), `docker.io` when the reference names none.
    pub registry: String,
    pub repository: RepositoryName,
    /// The digest when the reference has one (it wins over a tag), else the tag.
    pub reference: Reference,
}

impl FromStr for ImageName {
    type Err = ImageNameError;

    fn from_str(text: &str) -> Result<ImageName, ImageNameError> {
        let invalid = |reason: String| ImageNameError {
            name: text.to_owned(),
            reason,
        };
        let (named, digest) = match text.split_once('@') {
            Some((named, digest)) => (named, Some(digest)),
            None => (text, None),
        };
        let (named, tag) = match named.rsplit_once(':') {
            Some((before, tag)) if !tag.contains('/') => (before, Some(tag)),
            _ => (named, None),
        };
        let (registry, path) = match named.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_owned(), rest.to_owned())
            }
            _ => (DOCKER_HUB.to_owned(), named.to_owned()),
        };
        let path = if crate::key::canonical_host(&registry) == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        let repository = path
            .parse::<RepositoryName>()
            .map_err(|error| invalid(error.to_string()))?;
        let reference =
            match (digest, tag) {
                (Some(digest), _) => Reference::Digest(digest.parse().map_err(
                    |error: slipway_registry::digest::DigestError| invalid(error.to_string()),
                )?),
                (None, tag) => Reference::Tag(tag.unwrap_or("latest").parse().map_err(
                    |error: slipway_registry::name::NameError| invalid(error.to_string()),
                )?),
            };
        Ok(ImageName {
            registry,
            repository,
            reference,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn references_name_what_docker_pull_would_pull() {
        let digest = format!("ghcr.io/o/r:1.0@{DIGEST}");
        for (text, registry, repository, reference) in [
            ("alpine", "docker.io", "library/alpine", "latest"),
            ("alpine:3.20", "docker.io", "library/alpine", "3.20"),
            ("bitnami/redis:7", "docker.io", "bitnami/redis", "7"),
            ("docker.io/nginx", "docker.io", "library/nginx", "latest"),
            (
                "index.docker.io/nginx:1",
                "index.docker.io",
                "library/nginx",
                "1",
            ),
            (
                "127.0.0.1:5000/team/web:1.0",
                "127.0.0.1:5000",
                "team/web",
                "1.0",
            ),
            ("localhost/web", "localhost", "web", "latest"),
            (
                "myacr.azurecr.io/a/b/c",
                "myacr.azurecr.io",
                "a/b/c",
                "latest",
            ),
            (&digest, "ghcr.io", "o/r", DIGEST),
        ] {
            let name: ImageName = text
                .parse()
                .unwrap_or_else(|error| panic!("{text}: {error}"));
            assert_eq!(
                (
                    name.registry.as_str(),
                    name.repository.as_str(),
                    name.reference.to_string().as_str()
                ),
                (registry, repository, reference),
                "{text}"
            );
        }
    }

    #[test]
    fn malformed_references_say_what_is_wrong() {
        for text in ["Alpine", "alpine:", "alpine@sha256:00", "host.io/", "a:b:c"] {
            let error = text.parse::<ImageName>().unwrap_err();
            assert!(
                error
                    .to_string()
                    .starts_with(&format!("`{text}` is not an image reference: ")),
                "{error}"
            );
        }
    }
}
