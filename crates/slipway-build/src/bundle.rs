//! Bundles: the build for the process runtime, where no container engine runs.
//!
//! The build context, with `.dockerignore` applied exactly as for an image, becomes one tar. The
//! registry keeps it as an OCI artifact under the same tags an image would get, and a process
//! release unpacks it and runs the service's `command` in it, so a release runs immutable,
//! addressable content whichever runtime runs it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};
use slipway_context::{ContextOptions, ContextStats};
use slipway_store::{BuildId, Store};

use crate::{BuildError, PreparedBuild, Produced, outcome_of, spawn_record};

/// A successful bundle build.
#[derive(Debug, Clone)]
pub struct BuiltBundle {
    /// The record in the store.
    pub build_id: BuildId,
    /// The tar of the build context.
    pub tar: Vec<u8>,
    /// `sha256:` and the tar's hash: the bundle's content id, recorded as the build's image id.
    pub content_digest: String,
    /// The files in it.
    pub files: u64,
    /// The references it is to be tagged with (`localhost/shop/web:1.4.0`, ...).
    pub references: Vec<String>,
    /// How long it took.
    pub duration: Duration,
}

impl PreparedBuild {
    /// Packs the build context into a bundle and records the build in `store`, whatever the
    /// outcome.
    pub async fn bundle(self, store: Arc<dyn Store>) -> Result<BuiltBundle, BuildError> {
        let started_at = jiff::Timestamp::now();
        let clock = Instant::now();
        let outcome = self.pack().await;
        let duration = clock.elapsed();
        let produced = outcome.as_ref().ok().map(|(tar, stats)| Produced {
            id: content_digest(tar),
            digest: None,
            size: stats.bytes,
            layers: 1,
        });
        let log = match &outcome {
            Ok((_, stats)) => format!(
                "bundled {} files from {} ({} bytes of tar)\n",
                stats.files,
                self.context_dir.display(),
                stats.bytes
            ),
            Err(error) => format!("{error}\n"),
        };
        let record = self.record(started_at, duration, produced, outcome_of(&outcome), log);
        let build_id = spawn_record(store, record).await?;
        let (tar, stats) = outcome?;
        Ok(BuiltBundle {
            build_id,
            content_digest: content_digest(&tar),
            tar,
            files: stats.files,
            references: self.references,
            duration,
        })
    }

    /// The context's tar, written on a blocking thread: it walks the file system.
    async fn pack(&self) -> Result<(Vec<u8>, ContextStats), BuildError> {
        let root = self.context_dir.clone();
        // History and Slipway's own state never belong in a release; the commit's time on every
        // file makes the same commit give the same bundle, wherever it was checked out.
        let options = ContextOptions::new(&self.dockerfile)
            .always_excluding(&[".git", crate::STATE_DIRECTORY])
            .with_mtime(u64::try_from(self.snapshot.commit_time).unwrap_or(0));
        tokio::task::spawn_blocking(move || {
            let mut tar = Vec::new();
            let stats = slipway_context::write_context(&root, &options, &mut tar)?;
            Ok((tar, stats))
        })
        .await
        .map_err(|error| BuildError::Internal(format!("packing the bundle panicked: {error}")))?
    }
}

fn content_digest(tar: &[u8]) -> String {
    let hash = Sha256::digest(tar);
    let hex: String = hash.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("sha256:{hex}")
}
