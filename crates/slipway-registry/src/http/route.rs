//! Which endpoint a request path names.
//!
//! A repository name may hold `/`, so paths are matched from the right: the last segment is the
//! reference, digest or upload id, the segment before it names the endpoint, and everything
//! between `/v2/` and that is the repository name.

use percent_encoding::percent_decode_str;

use crate::name::{NameError, RepositoryName};

/// An endpoint of the API, with the parts of its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// `/v2/`: the version check.
    Base,
    /// `/v2/_catalog`.
    Catalog,
    /// `/token`: the Docker token flow's token endpoint.
    Token,
    /// `/v2/<name>/tags/list`.
    Tags(RepositoryName),
    /// `/v2/<name>/manifests/<reference>`.
    Manifest(RepositoryName, String),
    /// `/v2/<name>/blobs/<digest>`.
    Blob(RepositoryName, String),
    /// `/v2/<name>/blobs/uploads/`.
    Uploads(RepositoryName),
    /// `/v2/<name>/blobs/uploads/<id>`.
    Upload(RepositoryName, String),
    /// `/v2/<name>/referrers/<digest>`.
    Referrers(RepositoryName, String),
}

/// Why a path names no endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RouteError {
    /// No endpoint has this shape.
    NotFound,
    /// The shape is right but the repository name is not valid.
    Name(NameError),
}

/// The endpoint `path` (a request's path, still percent-encoded) names.
pub(crate) fn route(path: &str) -> Result<Route, RouteError> {
    let path = percent_decode_str(path)
        .decode_utf8()
        .map_err(|_| RouteError::NotFound)?;
    if path == "/token" {
        return Ok(Route::Token);
    }
    let rest = path
        .strip_prefix("/v2/")
        .or_else(|| (path == "/v2").then_some(""))
        .ok_or(RouteError::NotFound)?;
    match rest {
        "" => return Ok(Route::Base),
        "_catalog" => return Ok(Route::Catalog),
        _ => {}
    }
    let name = |text: &str| text.parse::<RepositoryName>().map_err(RouteError::Name);
    if let Some(repository) = rest.strip_suffix("/tags/list") {
        return Ok(Route::Tags(name(repository)?));
    }
    let (prefix, last) = rest.rsplit_once('/').ok_or(RouteError::NotFound)?;
    if let Some(repository) = prefix.strip_suffix("/blobs/uploads") {
        return Ok(if last.is_empty() {
            Route::Uploads(name(repository)?)
        } else {
            Route::Upload(name(repository)?, last.to_owned())
        });
    }
    if last.is_empty() {
        return Err(RouteError::NotFound);
    }
    if let Some(repository) = prefix.strip_suffix("/manifests") {
        Ok(Route::Manifest(name(repository)?, last.to_owned()))
    } else if let Some(repository) = prefix.strip_suffix("/blobs") {
        Ok(Route::Blob(name(repository)?, last.to_owned()))
    } else if let Some(repository) = prefix.strip_suffix("/referrers") {
        Ok(Route::Referrers(name(repository)?, last.to_owned()))
    } else {
        Err(RouteError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn name(text: &str) -> RepositoryName {
        text.parse().unwrap()
    }

    #[test]
    fn every_endpoint_is_recognised() {
        let digest = "sha256:0123";
        for (path, expected) in [
            ("/v2/", Route::Base),
            ("/v2", Route::Base),
            ("/v2/_catalog", Route::Catalog),
            ("/token", Route::Token),
            ("/v2/a/b/tags/list", Route::Tags(name("a/b"))),
            (
                "/v2/a/manifests/latest",
                Route::Manifest(name("a"), "latest".into()),
            ),
            (
                "/v2/a/b/c/blobs/sha256:0123",
                Route::Blob(name("a/b/c"), digest.into()),
            ),
            (
                "/v2/a/blobs/sha256%3A0123",
                Route::Blob(name("a"), digest.into()),
            ),
            ("/v2/a/blobs/uploads/", Route::Uploads(name("a"))),
            (
                "/v2/a/blobs/uploads/abc",
                Route::Upload(name("a"), "abc".into()),
            ),
            (
                "/v2/a/referrers/sha256:0123",
                Route::Referrers(name("a"), digest.into()),
            ),
            // Names may hold the words the endpoints use.
            (
                "/v2/manifests/blobs/manifests/v1",
                Route::Manifest(name("manifests/blobs"), "v1".into()),
            ),
        ] {
            assert_eq!(route(path), Ok(expected), "{path}");
        }
    }

    #[test]
    fn other_paths_are_not_found_and_bad_names_say_so() {
        for path in [
            "/",
            "/v1/",
            "/v2/a",
            "/v2/a/manifests/",
            "/v2/a/blobs/",
            "/v2/a/other/x",
            "/v2/%ff/tags/list",
        ] {
            assert_eq!(route(path), Err(RouteError::NotFound), "{path}");
        }
        for path in [
            "/v2/A/tags/list",
            "/v2/a/../b/manifests/x",
            "/v2/a//b/blobs/uploads/",
        ] {
            assert!(matches!(route(path), Err(RouteError::Name(_))), "{path}");
        }
    }

    proptest! {
        /// Any path routes or fails without panicking; a routed name is always valid.
        #[test]
        fn routing_never_panics(path in "/[a-z0-9/._:%-]{0,60}") {
            let _ = route(&path);
        }
    }
}
