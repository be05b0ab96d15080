//! `[registry.server]`: the embedded registry that `slipway registry serve` runs, and that pushes
//! go to when `[registry] url` names no other.
//!
//! The same table works in a project's `slipway.toml` and in a file of its own given to
//! `slipway registry serve --config`: such a file is a `slipway.toml` holding only this table.
//! Every key is optional; the registry crate fills in its defaults.
//!
//! ```toml
//! [registry.server]
//! address = "127.0.0.1:5000"
//! storage = ".slipway/registry"
//! gc_interval = "24h"
//!
//! [registry.server.auth]
//! htpasswd = "registry.htpasswd"
//! token = true
//! anonymous_pull = true
//!
//! [[registry.server.auth.access]]
//! users = ["ci"]
//! repositories = ["shop/*"]
//! actions = ["pull", "push", "delete"]
//!
//! [[registry.server.retention]]
//! repositories = ["shop/*"]
//! keep_last = 20
//! keep_tags = ["v*.*.*", "prod-*"]
//! delete_untagged_after = "30d"
//! ```

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::DurationText;

/// `[registry.server]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistryServerSettings {
    /// The address to listen on (`127.0.0.1:5000`, `[::]:443`); default `127.0.0.1:5000`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Where blobs, manifests and tags are kept, relative to this file; default `registry/` in
    /// Slipway's state directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage: Option<PathBuf>,
    /// How long an upload may sit idle before it is dropped; default 24h.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload_expiry: Option<DurationText>,
    /// Run retention and garbage collection this often while serving; unset: only on demand
    /// (`slipway registry gc`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gc_interval: Option<DurationText>,
    /// How long a blob that nothing references yet is safe from garbage collection, so that a
    /// push in progress keeps the layers it has uploaded; default 1h.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gc_grace: Option<DurationText>,
    /// Requests served at once; more are answered `429 Too Many Requests`. Default 1024.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_concurrent_requests: Option<u32>,
    /// Who may pull, push and delete. Without this table anyone who can reach the address can.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<RegistryAuthSettings>,
    /// Serve HTTPS with this certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<RegistryTlsSettings>,
    /// Which tags and manifests to keep, per repository; the first policy whose `repositories`
    /// match a repository applies to it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retention: Vec<RetentionSettings>,
}

/// `[registry.server.auth]`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistryAuthSettings {
    /// An htpasswd file of bcrypt hashes (`htpasswd -B`), relative to this file.
    pub htpasswd: PathBuf,
    /// Use the Docker token flow (clients log in at `/token` and send bearer tokens) instead of
    /// basic authentication on every request.
    #[serde(default)]
    pub token: bool,
    /// How long a token is valid; default 5m.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_expiry: Option<DurationText>,
    /// Let anyone pull without credentials.
    #[serde(default)]
    pub anonymous_pull: bool,
    /// What each user may do. Without any rule, every user in the htpasswd file may do
    /// everything.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access: Vec<AccessSettings>,
}

/// `[[registry.server.auth.access]]`: a grant of actions on repositories to users.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessSettings {
    /// User names from the htpasswd file; `*` means every user.
    pub users: Vec<String>,
    /// Repository globs (`shop/*`, `**`).
    pub repositories: Vec<String>,
    /// What they may do.
    pub actions: Vec<RegistryAction>,
}

/// Something a client may be allowed to do to a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RegistryAction {
    /// Read manifests, blobs, tags and referrers.
    Pull,
    /// Upload blobs and manifests.
    Push,
    /// Delete manifests, tags and blobs.
    Delete,
}

/// `[registry.server.tls]`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistryTlsSettings {
    /// The PEM certificate chain, relative to this file.
    pub certificate: PathBuf,
    /// The PEM private key, relative to this file.
    pub key: PathBuf,
}

/// `[[registry.server.retention]]`: what to keep in the repositories it names. A tag goes when no
/// `keep_*` rule keeps it (a policy without any `keep_*` rule deletes no tags); a manifest no tag,
/// index or subject holds goes once older than `delete_untagged_after`. Referrers (signatures,
/// SBOMs) live and die with their subject.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// Repository globs this policy applies to (`shop/*`, `**`).
    pub repositories: Vec<String>,
    /// Keep the N most recently pushed tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_last: Option<u32>,
    /// Keep tags matching any of these globs (`v*.*.*`, `prod-*`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keep_tags: Vec<String>,
    /// Keep tags pushed or pulled within this period (`30d`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_recent: Option<DurationText>,
    /// Delete manifests no tag holds once they are older than this (`30d`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_untagged_after: Option<DurationText>,
}
