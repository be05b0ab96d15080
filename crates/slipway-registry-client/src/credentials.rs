//! Credentials for a registry, and where they came from.
//!
//! A [`Credentials`] holds one [`Secret`] for one registry host and the [`Source`] it was read
//! from. The source is what error messages name (a refused login says which file or helper gave
//! the credentials); the secret never appears in any message, and `Debug` redacts it.

use std::fmt;
use std::path::PathBuf;

/// What a registry is shown to prove who is asking.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    /// A user name and password (or an access token used as one), sent as HTTP Basic
    /// credentials to the registry or to its token endpoint.
    Basic { username: String, password: String },
    /// An OAuth2 refresh token (`identitytoken` in Docker's config, or a helper's secret under
    /// the user name `<token>`), exchanged at the token endpoint with `grant_type=refresh_token`.
    IdentityToken { token: String },
    /// A bearer token sent to the registry as it is (`registrytoken` in Docker's config).
    RegistryToken { token: String },
}

/// Where credentials were found: named in errors, so a user knows which login to renew.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Given by the caller, described in its own words (`[registry] username and password_env in
    /// slipway.toml`).
    Given(String),
    /// An entry of `auths` in a Docker `config.json` or a containers `auth.json`.
    File { path: PathBuf, key: String },
    /// A credential helper, `docker-credential-NAME`, named by a file's `credHelpers` or
    /// `credsStore`.
    Helper { name: String, named_in: PathBuf },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Given(description) => f.write_str(description),
            Source::File { path, key } => write!(f, "auths[\"{key}\"] in {}", path.display()),
            Source::Helper { name, named_in } => write!(
                f,
                "the credential helper docker-credential-{name} (named in {})",
                named_in.display()
            ),
        }
    }
}

/// A secret for one registry, with its source.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    server: String,
    secret: Secret,
    source: Source,
}

impl Credentials {
    /// `secret` for the registry `server` (`host[:port]`), read from `source`.
    pub fn new(server: impl Into<String>, secret: Secret, source: Source) -> Credentials {
        Credentials {
            server: server.into(),
            secret,
            source,
        }
    }

    /// The registry host these are for.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The secret itself.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// Where they were found.
    pub fn source(&self) -> &Source {
        &self.source
    }
}

/// Never prints the secret.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.secret {
            Secret::Basic { username, .. } => format!("basic ({username})"),
            Secret::IdentityToken { .. } => "identity token".to_owned(),
            Secret::RegistryToken { .. } => "registry token".to_owned(),
        };
        f.debug_struct("Credentials")
            .field("server", &self.server)
            .field("secret", &format_args!("<{kind}, redacted>"))
            .field("source", &self.source)
            .finish()
    }
}

/// Never prints the secret.
impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Secret::IdentityToken { .. } => f.write_str("IdentityToken(<redacted>)"),
            Secret::RegistryToken { .. } => f.write_str("RegistryToken(<redacted>)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_source_never_show_the_secret() {
        let credentials = Credentials::new(
            "r.example.com",
            Secret::Basic {
                username: "ci".to_owned(),
                password: "hunter2".to_owned(),
            },
            Source::File {
                path: PathBuf::from("/home/me/.docker/config.json"),
                key: "r.example.com".to_owned(),
            },
        );
        let shown = format!("{credentials:?} {}", credentials.source());
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("ci"), "{shown}");
        assert!(
            shown.contains("auths[\"r.example.com\"] in /home/me/.docker/config.json"),
            "{shown}"
        );
        let token = Secret::IdentityToken {
            token: "refresh-me".to_owned(),
        };
        assert!(!format!("{token:?}").contains("refresh-me"));
    }
}
