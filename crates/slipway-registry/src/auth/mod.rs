//! Who may pull, push and delete: htpasswd users, access rules, anonymous pull, and the Docker
//! token flow.
//!
//! [`Authenticator`] answers two questions for the HTTP layer: who is asking (a user proven by
//! basic authentication, a bearer token this registry issued, or nobody), and whether they may do
//! an [`Action`] to a repository. Users come from an [`Htpasswd`] file; what each may do from
//! [`AccessRule`]s (every user may do everything when there are none); anonymous clients may pull
//! when `anonymous_pull` is set and do nothing else.
//!
//! With the token flow on, the registry is also its own token server: `GET /token` takes basic
//! credentials and the scopes a client wants (`repository:shop/web:pull,push`) and returns a
//! token granting those it may have. Basic authentication keeps working alongside, so scripts
//! with `curl -u` need no token dance.

mod htpasswd;
mod token;

pub use htpasswd::{Htpasswd, HtpasswdError};

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use globset::GlobSet;
use http::HeaderMap;
use http::header::AUTHORIZATION;
use sha2::{Digest as _, Sha256};

use crate::name::{GlobError, RepositoryName, repository_globs};
use token::{Claims, Grant, TokenIssuer};

/// The service name tokens are issued for, and that clients echo back.
const SERVICE: &str = "slipway-registry";

/// How long a token is valid unless configured otherwise.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(300);

/// Something a client does to a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Read manifests, blobs, tags and referrers.
    Pull,
    /// Upload blobs and manifests.
    Push,
    /// Delete manifests, tags and blobs.
    Delete,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Pull => "pull",
            Action::Push => "push",
            Action::Delete => "delete",
        }
    }

    /// The actions a scope's action word grants: `*` is all of them.
    fn from_word(word: &str) -> Vec<Action> {
        match word {
            "pull" => vec![Action::Pull],
            "push" => vec![Action::Push],
            "delete" => vec![Action::Delete],
            "*" => vec![Action::Pull, Action::Push, Action::Delete],
            _ => Vec::new(),
        }
    }
}

impl From<slipway_config::RegistryAction> for Action {
    fn from(action: slipway_config::RegistryAction) -> Action {
        match action {
            slipway_config::RegistryAction::Pull => Action::Pull,
            slipway_config::RegistryAction::Push => Action::Push,
            slipway_config::RegistryAction::Delete => Action::Delete,
        }
    }
}

/// A grant of actions on repositories to users.
#[derive(Debug, Clone)]
pub struct AccessRule {
    users: Vec<String>,
    repositories: GlobSet,
    actions: Vec<Action>,
}

impl AccessRule {
    /// Grants `actions` on the repositories matching `repositories` (globs in which `*` stays
    /// within one path component and `**` crosses them) to `users` (`*` for every user).
    pub fn new(
        users: Vec<String>,
        repositories: &[String],
        actions: Vec<Action>,
    ) -> Result<AccessRule, AuthError> {
        Ok(AccessRule {
            users,
            repositories: repository_globs(repositories)?,
            actions,
        })
    }

    fn grants(&self, user: &str, repository: &RepositoryName, action: Action) -> bool {
        self.users.iter().any(|name| name == user || name == "*")
            && self.actions.contains(&action)
            && self.repositories.is_match(repository.as_str())
    }
}

/// Why auth settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The htpasswd file cannot be read.
    #[error("cannot read the htpasswd file {}: {source}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The htpasswd file has a broken line.
    #[error("{}: {source}", path.display())]
    Htpasswd {
        /// The file.
        path: PathBuf,
        /// The line and what is wrong.
        source: HtpasswdError,
    },
    /// A repository glob does not compile.
    #[error(transparent)]
    Glob(#[from] GlobError),
    /// The token signing key cannot be read or made.
    #[error("cannot read or create the token key {}: {source}", path.display())]
    TokenKey {
        /// The key file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Credential {
    /// Nobody: no credentials sent.
    Anonymous,
    /// A user who proved their password.
    User(String),
    /// A bearer token this registry issued.
    Token(Claims),
}

/// The credentials sent are not valid: wrong password, unknown user, bad or expired token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InvalidCredentials;

/// Decides who may do what.
pub struct Authenticator {
    users: Htpasswd,
    rules: Vec<AccessRule>,
    anonymous_pull: bool,
    tokens: Option<TokenIssuer>,
    /// SHA-256 of the password each user last proved, so that bcrypt (slow on purpose) runs once
    /// per user and password rather than on every request.
    proven: Mutex<HashMap<String, [u8; 32]>>,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("users", &self.users)
            .field("rules", &self.rules.len())
            .field("anonymous_pull", &self.anonymous_pull)
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

/// The token flow's settings.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    /// The secret tokens are signed with.
    pub secret: Vec<u8>,
    /// How long a token is valid.
    pub lifetime: Duration,
}

impl Authenticator {
    /// An authenticator for `users`, restricted by `rules` (none: every user may do everything).
    pub fn new(
        users: Htpasswd,
        rules: Vec<AccessRule>,
        anonymous_pull: bool,
        tokens: Option<TokenSettings>,
    ) -> Authenticator {
        Authenticator {
            users,
            rules,
            anonymous_pull,
            tokens: tokens.map(|settings| {
                TokenIssuer::new(&settings.secret, SERVICE.to_owned(), settings.lifetime)
            }),
            proven: Mutex::default(),
        }
    }

    /// The authenticator `[registry.server.auth]` describes. Paths are relative to `base`; the
    /// token key lives in (and is made in) `storage/auth/`.
    pub fn from_settings(
        settings: &slipway_config::RegistryAuthSettings,
        base: &Path,
        storage: &Path,
    ) -> Result<Authenticator, AuthError> {
        let path = base.join(&settings.htpasswd);
        let text = std::fs::read_to_string(&path).map_err(|source| AuthError::Unreadable {
            path: path.clone(),
            source,
        })?;
        let users =
            Htpasswd::parse(&text).map_err(|source| AuthError::Htpasswd { path, source })?;
        let rules = settings
            .access
            .iter()
            .map(|rule| {
                AccessRule::new(
                    rule.users.clone(),
                    &rule.repositories,
                    rule.actions.iter().copied().map(Action::from).collect(),
                )
            })
            .collect::<Result<_, _>>()?;
        let tokens = if settings.token {
            let lifetime = settings
                .token_expiry
                .map_or(DEFAULT_TOKEN_LIFETIME, slipway_config::DurationText::get);
            Some(TokenSettings {
                secret: token_secret(&storage.join("auth/token.key"))?,
                lifetime,
            })
        } else {
            None
        };
        Ok(Authenticator::new(
            users,
            rules,
            settings.anonymous_pull,
            tokens,
        ))
    }

    /// Whether clients log in through the token flow.
    pub fn uses_token_flow(&self) -> bool {
        self.tokens.is_some()
    }

    /// Who the request's `Authorization` header says is asking. Checking a password runs bcrypt
    /// on the blocking pool the first time a user presents it.
    pub(crate) async fn credential(
        self: &Arc<Self>,
        headers: &HeaderMap,
    ) -> Result<Credential, InvalidCredentials> {
        let Some(value) = headers.get(AUTHORIZATION) else {
            return Ok(Credential::Anonymous);
        };
        let value = value.to_str().map_err(|_| InvalidCredentials)?;
        let (scheme, rest) = value.split_once(' ').ok_or(InvalidCredentials)?;
        if scheme.eq_ignore_ascii_case("basic") {
            let (user, password) = basic_credentials(rest.trim()).ok_or(InvalidCredentials)?;
            return self.check_password(user, password).await;
        }
        if scheme.eq_ignore_ascii_case("bearer")
            && let Some(tokens) = &self.tokens
        {
            return tokens
                .verify(rest.trim())
                .map(Credential::Token)
                .ok_or(InvalidCredentials);
        }
        Err(InvalidCredentials)
    }

    async fn check_password(
        self: &Arc<Self>,
        user: String,
        password: String,
    ) -> Result<Credential, InvalidCredentials> {
        let fingerprint: [u8; 32] = Sha256::digest(password.as_bytes()).into();
        let known = self
            .proven
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&user)
            == Some(&fingerprint);
        if known {
            return Ok(Credential::User(user));
        }
        let this = Arc::clone(self);
        let name = user.clone();
        let verified = tokio::task::spawn_blocking(move || this.users.verify(&name, &password))
            .await
            .unwrap_or(false);
        if !verified {
            return Err(InvalidCredentials);
        }
        self.proven
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(user.clone(), fingerprint);
        Ok(Credential::User(user))
    }

    /// Whether `credential` may do `action` to `repository`.
    pub(crate) fn may(
        &self,
        credential: &Credential,
        repository: &RepositoryName,
        action: Action,
    ) -> bool {
        match credential {
            Credential::Anonymous => action == Action::Pull && self.anonymous_pull,
            Credential::User(user) => self.user_may(user, repository, action),
            Credential::Token(claims) => claims.access.iter().any(|grant| {
                grant.kind == "repository"
                    && grant.name == repository.as_str()
                    && grant
                        .actions
                        .iter()
                        .any(|word| Action::from_word(word).contains(&action))
            }),
        }
    }

    fn user_may(&self, user: &str, repository: &RepositoryName, action: Action) -> bool {
        (self.rules.is_empty() && self.users.users().any(|known| known == user))
            || self
                .rules
                .iter()
                .any(|rule| rule.grants(user, repository, action))
    }

    /// Whether `credential` may reach the version check and the catalog: anyone who
    /// authenticated, and anybody at all when anonymous pull is on.
    pub(crate) fn may_enter(&self, credential: &Credential) -> bool {
        !matches!(credential, Credential::Anonymous) || self.anonymous_pull
    }

    /// The `WWW-Authenticate` challenge for a request that needs `scope` (`None` for the
    /// version check). `realm` is the token endpoint's URL.
    pub(crate) fn challenge(
        &self,
        realm: &str,
        scope: Option<(&RepositoryName, Action)>,
        insufficient: bool,
    ) -> String {
        if self.tokens.is_none() {
            return r#"Basic realm="slipway-registry""#.to_owned();
        }
        let mut challenge = format!(r#"Bearer realm="{realm}",service="{SERVICE}""#);
        if let Some((repository, action)) = scope {
            let actions = match action {
                Action::Push => "pull,push",
                other => other.name(),
            };
            challenge.push_str(&format!(r#",scope="repository:{repository}:{actions}""#));
        }
        if insufficient {
            challenge.push_str(r#",error="insufficient_scope""#);
        }
        challenge
    }

    /// A token for `credential` granting the part of the requested `scopes` it may have. `None`
    /// when the token flow is off.
    pub(crate) fn issue_token<'a>(
        &self,
        credential: &Credential,
        scopes: impl Iterator<Item = &'a str>,
    ) -> Option<IssuedToken> {
        let tokens = self.tokens.as_ref()?;
        let subject = match credential {
            Credential::User(user) => user.clone(),
            Credential::Token(claims) => claims.sub.clone(),
            Credential::Anonymous => String::new(),
        };
        let mut access = Vec::new();
        for scope in scopes.flat_map(str::split_whitespace) {
            let Some((repository, words)) = parse_scope(scope) else {
                continue;
            };
            let granted: Vec<String> = words
                .split(',')
                .flat_map(Action::from_word)
                .filter(|action| self.may(credential, &repository, *action))
                .map(|action| action.name().to_owned())
                .collect();
            if !granted.is_empty() {
                access.push(Grant {
                    kind: "repository".to_owned(),
                    name: repository.to_string(),
                    actions: granted,
                });
            }
        }
        Some(IssuedToken {
            token: tokens.issue(&subject, access),
            lifetime: tokens.lifetime(),
        })
    }
}

/// A token and how long it is valid.
#[derive(Debug, Clone)]
pub(crate) struct IssuedToken {
    pub(crate) token: String,
    pub(crate) lifetime: Duration,
}

/// `repository:NAME:ACTIONS` as the repository and the action words; other resource types are
/// ignored.
fn parse_scope(scope: &str) -> Option<(RepositoryName, &str)> {
    let (resource, actions) = scope.rsplit_once(':')?;
    let (kind, name) = resource.split_once(':')?;
    let kind = kind.split_once('(').map_or(kind, |(kind, _)| kind);
    (kind == "repository").then_some(())?;
    Some((name.parse().ok()?, actions))
}

/// The user and password of a basic `Authorization` value.
fn basic_credentials(encoded: &str) -> Option<(String, String)> {
    let decoded = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// The token signing secret at `path`, made (32 random bytes, readable by the owner only) when
/// missing. Several processes sharing the storage share the secret.
fn token_secret(path: &Path) -> Result<Vec<u8>, AuthError> {
    let error = |source| AuthError::TokenKey {
        path: path.to_path_buf(),
        source,
    };
    match std::fs::read(path) {
        Ok(secret) if secret.len() >= 32 => return Ok(secret),
        Ok(_) => {}
        Err(source) if source.kind() != std::io::ErrorKind::NotFound => return Err(error(source)),
        Err(_) => {}
    }
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(error)?;
    let secret: [u8; 32] = rand::random();
    let temporary = parent.join(format!(".token.key.{}", std::process::id()));
    {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temporary)
            .map_err(error)?;
        file.write_all(&secret)
            .and_then(|()| file.sync_all())
            .map_err(error)?;
    }
    // Another process may have made one meanwhile: link fails then, and its key is used.
    match std::fs::hard_link(&temporary, path) {
        Ok(()) => {
            let _ = std::fs::remove_file(&temporary);
            Ok(secret.to_vec())
        }
        Err(_) => {
            let _ = std::fs::remove_file(&temporary);
            std::fs::read(path).map_err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> RepositoryName {
        text.parse().unwrap()
    }

    fn users() -> Htpasswd {
        let hash = bcrypt::hash("pw", 4).unwrap();
        Htpasswd::parse(&format!("ci:{hash}\nreader:{hash}\n")).unwrap()
    }

    #[test]
    fn rules_grant_actions_on_matching_repositories() {
        let rules = vec![
            AccessRule::new(
                vec!["ci".into()],
                &["shop/*".into()],
                vec![Action::Pull, Action::Push],
            )
            .unwrap(),
            AccessRule::new(vec!["*".into()], &["public/**".into()], vec![Action::Pull]).unwrap(),
        ];
        let auth = Authenticator::new(users(), rules, false, None);
        let ci = Credential::User("ci".into());
        let reader = Credential::User("reader".into());
        assert!(auth.may(&ci, &name("shop/web"), Action::Push));
        assert!(
            !auth.may(&ci, &name("shop/web/deep"), Action::Pull),
            "`*` stays within a component"
        );
        assert!(!auth.may(&ci, &name("shop/web"), Action::Delete));
        assert!(auth.may(&reader, &name("public/a/b"), Action::Pull));
        assert!(!auth.may(&reader, &name("shop/web"), Action::Pull));
        assert!(!auth.may(&Credential::Anonymous, &name("public/a"), Action::Pull));
    }

    #[test]
    fn without_rules_every_user_may_do_everything_and_anonymous_only_pull() {
        let auth = Authenticator::new(users(), Vec::new(), true, None);
        assert!(auth.may(
            &Credential::User("reader".into()),
            &name("x"),
            Action::Delete
        ));
        assert!(!auth.may(
            &Credential::User("stranger".into()),
            &name("x"),
            Action::Pull
        ));
        assert!(auth.may(&Credential::Anonymous, &name("x"), Action::Pull));
        assert!(!auth.may(&Credential::Anonymous, &name("x"), Action::Push));
        assert!(auth.may_enter(&Credential::Anonymous));
    }

    #[test]
    fn tokens_grant_only_what_the_user_may_and_was_asked_for() {
        let rules = vec![
            AccessRule::new(vec!["ci".into()], &["shop/*".into()], vec![Action::Pull]).unwrap(),
        ];
        let tokens = TokenSettings {
            secret: b"0123456789abcdef0123456789abcdef".to_vec(),
            lifetime: DEFAULT_TOKEN_LIFETIME,
        };
        let auth = Authenticator::new(users(), rules, false, Some(tokens));
        let issued = auth
            .issue_token(
                &Credential::User("ci".into()),
                ["repository:shop/web:pull,push repository:other:pull"].into_iter(),
            )
            .unwrap();
        let claims = auth.tokens.as_ref().unwrap().verify(&issued.token).unwrap();
        let bearer = Credential::Token(claims);
        assert!(auth.may(&bearer, &name("shop/web"), Action::Pull));
        assert!(!auth.may(&bearer, &name("shop/web"), Action::Push));
        assert!(!auth.may(&bearer, &name("other"), Action::Pull));
    }

    #[test]
    fn challenges_name_the_scope() {
        let tokens = TokenSettings {
            secret: vec![7; 32],
            lifetime: DEFAULT_TOKEN_LIFETIME,
        };
        let auth = Authenticator::new(users(), Vec::new(), false, Some(tokens));
        assert_eq!(
            auth.challenge("http://r/token", Some((&name("a/b"), Action::Push)), false),
            r#"Bearer realm="http://r/token",service="slipway-registry",scope="repository:a/b:pull,push""#
        );
        let basic = Authenticator::new(users(), Vec::new(), false, None);
        assert_eq!(
            basic.challenge("http://r/token", None, false),
            r#"Basic realm="slipway-registry""#
        );
    }

    #[test]
    fn scopes_parse() {
        assert_eq!(
            parse_scope("repository:a/b:pull,push"),
            Some((name("a/b"), "pull,push"))
        );
        assert_eq!(
            parse_scope("repository(plugin):a:pull"),
            Some((name("a"), "pull"))
        );
        assert_eq!(parse_scope("registry:catalog:*"), None);
        assert_eq!(parse_scope("repository:A:pull"), None);
    }

    #[test]
    fn the_token_secret_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth/token.key");
        let first = token_secret(&path).unwrap();
        assert_eq!(first.len(), 32);
        assert_eq!(token_secret(&path).unwrap(), first);
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
