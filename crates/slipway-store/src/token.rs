//! API tokens: a name, a role, and the SHA-256 hash of the token, never the token itself.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::StoreError;

/// Keeps API tokens.
pub trait TokenStore {
    /// Adds a token; fails with [`StoreError::AlreadyExists`] when its name is taken.
    fn add_token(&self, token: &NewToken) -> Result<TokenId, StoreError>;

    /// The token that is not revoked and whose hash is `hash`, marked used at `at`; `None` when
    /// no live token has that hash.
    fn use_token(&self, hash: &[u8; 32], at: jiff::Timestamp) -> Result<Option<Token>, StoreError>;

    /// Every token, revoked ones too, by name.
    fn tokens(&self) -> Result<Vec<Token>, StoreError>;

    /// Revokes the token named `name` at `at`; `false` when there is no live token by that name.
    fn revoke_token(&self, name: &str, at: jiff::Timestamp) -> Result<bool, StoreError>;
}

/// What a token may do. Each role may do everything the roles before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads projects, runs and logs.
    Viewer,
    /// Also dispatches, cancels and reruns runs.
    Developer,
    /// Also acts on environments.
    Deployer,
    /// Also manages projects and tokens.
    Admin,
}

impl Role {
    /// Every role, least privileged first.
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Developer, Role::Deployer, Role::Admin];

    /// The lower-case name (`viewer`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Developer => "developer",
            Role::Deployer => "deployer",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of [`Role::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: expected viewer, developer, deployer or admin")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(name: &str) -> Result<Role, UnknownRole> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == name)
            .ok_or_else(|| UnknownRole(name.to_owned()))
    }
}

/// The identifier the store gives a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct TokenId(i64);

impl TokenId {
    /// Wraps a raw id.
    pub fn new(id: i64) -> TokenId {
        TokenId(id)
    }

    /// The raw id.
    pub fn get(self) -> i64 {
        self.0
    }
}

/// A token to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    /// Its unique name: who uses it (`ci`, `alice`).
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// SHA-256 of the token.
    pub hash: [u8; 32],
    /// When it was made.
    pub created_at: jiff::Timestamp,
}

/// A stored token, without its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Token {
    /// The store's id.
    pub id: TokenId,
    /// Its name.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// When it was made.
    pub created_at: jiff::Timestamp,
    /// When it was revoked, if it was.
    pub revoked_at: Option<jiff::Timestamp>,
    /// When it was last presented, if ever.
    pub last_used_at: Option<jiff::Timestamp>,
}
