//! The push hook: how the rest of Slipway hears about every image pushed, at once.
//!
//! The registry knows nothing about scanning, builds or deploys. It calls each [`PushHook`] it was
//! opened with once per manifest stored by a push (an HTTP `PUT` or an import from the engine),
//! after the manifest is durable and pullable, with a [`PushedManifest`] describing it. The
//! scanner implements the hook to scan each pushed image immediately.

use std::fmt;

use crate::digest::Digest;
use crate::name::{RepositoryName, Tag};

/// A manifest a push stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedManifest {
    /// The repository it was pushed to.
    pub repository: RepositoryName,
    /// Its digest.
    pub digest: Digest,
    /// Its media type.
    pub media_type: String,
    /// The tag it was pushed as; `None` for a push by digest.
    pub tag: Option<Tag>,
    /// The manifest it refers to, for a signature, SBOM or other referrer.
    pub subject: Option<Digest>,
}

/// Called for every manifest a push stores.
///
/// Runs on the task that handled the push, after the client's request succeeded in storage but
/// before the answer is sent: it must return quickly and hand long work (a scan) to a task of its
/// own. It cannot fail the push; a hook that needs to report a failure records it itself.
pub trait PushHook: Send + Sync + fmt::Debug {
    /// A manifest was pushed.
    fn manifest_pushed(&self, push: &PushedManifest);
}
