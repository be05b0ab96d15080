//! The keys credential files use for a registry, brought to one form so that a lookup finds an
//! entry however the tool that wrote it spelled the registry.
//!
//! Docker writes `https://index.docker.io/v1/` for Docker Hub and `host[:port]` for the rest, but
//! older clients and people write `https://host/v2/`, `http://host` or `docker.io`. Docker's own
//! lookup compares host names only, so [`docker_config_key`] keeps the host. The containers
//! `auth.json` also allows keys for a namespace or a repository (`registry.example.com/team`),
//! the most specific matching one winning, so [`auth_file_key`] keeps the path, except on
//! legacy keys written with a scheme, which containers-auth.json(5) reads as the host alone.

/// The name Docker Hub goes by in normalised keys.
pub const DOCKER_HUB: &str = "docker.io";

/// The key Docker Hub's credentials are stored and asked for under by Docker and its
/// credential helpers.
pub const DOCKER_HUB_SERVER: &str = "https://index.docker.io/v1/";

/// The host names Docker Hub is reached and remembered by.
const DOCKER_HUB_ALIASES: [&str; 3] = ["docker.io", "index.docker.io", "registry-1.docker.io"];

/// A `~/.docker/config.json` key (`https://index.docker.io/v1/`, `host:5000`, `http://host/v2/`)
/// as the registry host it names, lower-case, Docker Hub's aliases as `docker.io`.
pub fn docker_config_key(key: &str) -> String {
    let (_, rest) = strip_scheme(key.trim());
    canonical_host(rest.split('/').next().unwrap_or_default())
}

/// An `auth.json` key as `host[/path]`: the host as in [`docker_config_key`], the namespace or
/// repository path kept (without trailing slashes) unless the key has a scheme.
pub fn auth_file_key(key: &str) -> String {
    let (had_scheme, rest) = strip_scheme(key.trim());
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = canonical_host(host);
    let path = path.trim_matches('/');
    if had_scheme || path.is_empty() {
        host
    } else {
        format!("{host}/{path}")
    }
}

/// The `auth.json` keys that can hold credentials for `repository` on `host`, most specific
/// first: `host/team/web`, `host/team`, `host`.
pub fn auth_file_candidates(host: &str, repository: &str) -> Vec<String> {
    let host = canonical_host(host);
    let mut candidates = Vec::new();
    let mut path = repository.trim_matches('/');
    while !path.is_empty() {
        candidates.push(format!("{host}/{path}"));
        path = path.rsplit_once('/').map_or("", |(parent, _)| parent);
    }
    candidates.push(host);
    candidates
}

/// What to send a credential helper on stdin for `host`: Docker Hub's historical server URL, or
/// the host itself, as Docker does.
pub fn helper_server(host: &str) -> String {
    let host = canonical_host(host);
    if host == DOCKER_HUB {
        DOCKER_HUB_SERVER.to_owned()
    } else {
        host
    }
}

/// A host name lower-cased, Docker Hub's aliases as `docker.io`.
pub fn canonical_host(host: &str) -> String {
    let host = host.to_ascii_lowercase();
    if DOCKER_HUB_ALIASES.contains(&host.as_str()) {
        DOCKER_HUB.to_owned()
    } else {
        host
    }
}

fn strip_scheme(key: &str) -> (bool, &str) {
    for scheme in ["https://", "http://"] {
        if key.len() >= scheme.len() && key[..scheme.len()].eq_ignore_ascii_case(scheme) {
            return (true, &key[scheme.len()..]);
        }
    }
    (false, key)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn docker_config_keys_name_their_host() {
        for (key, expected) in [
            ("https://index.docker.io/v1/", "docker.io"),
            ("index.docker.io", "docker.io"),
            ("docker.io", "docker.io"),
            ("registry-1.docker.io", "docker.io"),
            ("https://registry.example.com/v2/", "registry.example.com"),
            ("http://127.0.0.1:5000", "127.0.0.1:5000"),
            ("127.0.0.1:5000", "127.0.0.1:5000"),
            ("Registry.Example.COM", "registry.example.com"),
            (" myacr.azurecr.io ", "myacr.azurecr.io"),
        ] {
            assert_eq!(docker_config_key(key), expected, "{key}");
        }
    }

    #[test]
    fn auth_file_keys_keep_namespaces_but_not_on_legacy_keys() {
        for (key, expected) in [
            ("registry.example.com/team", "registry.example.com/team"),
            ("registry.example.com/team/", "registry.example.com/team"),
            ("quay.io/org/repo", "quay.io/org/repo"),
            ("https://registry.example.com/v1/", "registry.example.com"),
            ("docker.io/library", "docker.io/library"),
            ("index.docker.io", "docker.io"),
            ("localhost:5000", "localhost:5000"),
        ] {
            assert_eq!(auth_file_key(key), expected, "{key}");
        }
    }

    #[test]
    fn candidates_go_from_the_repository_to_the_host() {
        assert_eq!(
            auth_file_candidates("Registry.example.com", "team/api/web"),
            [
                "registry.example.com/team/api/web",
                "registry.example.com/team/api",
                "registry.example.com/team",
                "registry.example.com",
            ]
        );
        assert_eq!(auth_file_candidates("index.docker.io", ""), ["docker.io"]);
    }

    #[test]
    fn helpers_are_asked_for_docker_hub_by_its_server_url() {
        assert_eq!(helper_server("registry-1.docker.io"), DOCKER_HUB_SERVER);
        assert_eq!(helper_server("127.0.0.1:5000"), "127.0.0.1:5000");
    }

    fn host() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9][a-zA-Z0-9.-]{0,20}(:[0-9]{1,5})?"
    }

    proptest! {
        #[test]
        fn every_spelling_of_a_host_is_one_key(
            host in host(),
            path in "(/[a-z0-9]{1,8}){0,3}/?",
            scheme in prop::sample::select(vec!["", "https://", "http://", "HTTPS://"]),
        ) {
            let spelled = format!("{scheme}{host}{path}");
            let key = docker_config_key(&spelled);
            prop_assert_eq!(&key, &docker_config_key(&host));
            let lower = host.to_ascii_lowercase();
            let expected = if DOCKER_HUB_ALIASES.contains(&lower.as_str()) { DOCKER_HUB.to_owned() } else { lower };
            prop_assert_eq!(&key, &expected);
            prop_assert_eq!(docker_config_key(&key), key.clone());
            let file_key = auth_file_key(&spelled);
            prop_assert_eq!(auth_file_key(&file_key), file_key.clone());
            prop_assert!(file_key.starts_with(&key));
            prop_assert!(auth_file_candidates(&host, path.trim_matches('/')).contains(&file_key)
                || !scheme.is_empty() && file_key == key);
        }
    }
}
