//! The audit trail: every state-changing action, in a hash chain that shows any change.
//!
//! Each entry stores the SHA-256 hash of the entry before it and its own hash over that and its
//! canonical fields (see [`AuditEntry::compute_hash`]), both computed inside the transaction that
//! appends it, so appenders in several processes still form one chain. [`AuditStore::verify_audit`]
//! walks the chain and names the first entry whose hash or link is wrong: an entry edited,
//! removed from the middle, or reordered. Removing the newest entries leaves a shorter chain that
//! is still whole: compare [`AuditCheck::Intact`]'s `head` with one kept elsewhere to see that.
//!
//! **Never put a secret in an entry** (a token, a webhook secret, a password): entries are
//! listed to anyone who may read the trail and can never be changed without breaking the chain.
//! Name the token (`deploy-bot`), not its value.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{Page, PageRequest, StoreError};

/// Keeps the audit trail.
pub trait AuditStore {
    /// Appends an entry at the end of the chain. Never pass a secret in any field.
    fn append_audit(&self, entry: &NewAuditEntry) -> Result<AuditEntry, StoreError>;

    /// A page of entries, newest first.
    fn audit_entries(&self, page: &PageRequest) -> Result<Page<AuditEntry>, StoreError>;

    /// Walks the whole chain, oldest first.
    fn verify_audit(&self) -> Result<AuditCheck, StoreError>;
}

/// An action to append. No field may hold a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewAuditEntry {
    /// When it happened.
    pub at: jiff::Timestamp,
    /// Who: a token's name, a webhook's sender, a local user.
    pub actor: String,
    /// What, as a dotted verb: `project.add`, `token.revoke`, `delivery.accept`, `run.cancel`.
    pub action: String,
    /// What it acted on: a project, a token's name, a run id.
    pub target: String,
    /// One line of detail.
    pub detail: String,
    /// The address the request came from.
    pub remote_addr: Option<String>,
}

/// An entry in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Its position: 1 for the first entry, one more for each after.
    pub id: i64,
    /// What was appended.
    #[serde(flatten)]
    pub record: NewAuditEntry,
    /// The hash of the entry before (64 zeros for the first), hex.
    pub prev_hash: String,
    /// This entry's hash, hex.
    pub hash: String,
}

/// The hash the first entry links to.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

impl AuditEntry {
    /// SHA-256, in hex, of `prev_hash` and the entry's fields in a canonical, unambiguous
    /// encoding: a version tag, then each field as its byte length, a colon and its bytes (an
    /// absent address as `-`), so no two different entries encode alike.
    pub fn compute_hash(id: i64, record: &NewAuditEntry, prev_hash: &str) -> String {
        let mut hasher = Sha256::new();
        hasher.update(b"slipway-audit-v1\n");
        let at_ns = record.at.as_nanosecond().to_string();
        let id = id.to_string();
        let fields = [
            prev_hash,
            id.as_str(),
            at_ns.as_str(),
            &record.actor,
            &record.action,
            &record.target,
            &record.detail,
        ];
        for field in fields {
            field_into(&mut hasher, Some(field));
        }
        field_into(&mut hasher, record.remote_addr.as_deref());
        hex::encode(hasher.finalize())
    }
}

fn field_into(hasher: &mut Sha256, field: Option<&str>) {
    match field {
        Some(text) => {
            hasher.update(text.len().to_string().as_bytes());
            hasher.update(b":");
            hasher.update(text.as_bytes());
        }
        None => hasher.update(b"-"),
    }
    hasher.update(b"\n");
}

/// What [`AuditStore::verify_audit`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum AuditCheck {
    /// Every entry links to the one before and hashes to its stored hash.
    Intact {
        /// How many entries.
        entries: u64,
        /// The newest entry's hash: keep it elsewhere to detect the newest entries' removal.
        head: Option<String>,
    },
    /// The first entry that is wrong.
    Broken {
        /// Its id.
        id: i64,
        /// What is wrong.
        problem: AuditProblem,
    },
}

/// What is wrong with an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum AuditProblem {
    /// Its stored hash is not the hash of its fields: it was edited.
    #[error("its fields do not hash to its stored hash: the entry was changed")]
    HashMismatch,
    /// It does not link to the entry before it: an entry before it was removed or changed.
    #[error(
        "it links to {found} but the entry before it hashes to {expected}: an entry before it was removed or changed"
    )]
    BrokenLink {
        /// The previous entry's hash (or the genesis hash).
        expected: String,
        /// What this entry stores as its previous hash.
        found: String,
    },
    /// Its id does not follow the previous one: entries were removed or renumbered.
    #[error("its id follows {previous}: entries between were removed")]
    Gap {
        /// The previous entry's id (0 before the first).
        previous: i64,
    },
}
