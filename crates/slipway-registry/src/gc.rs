//! Online garbage collection: mark and sweep while pushes and pulls go on.
//!
//! **Mark** walks every manifest revision of every repository and everything it references,
//! recursively: the config and layers of an image manifest, the manifests an index lists (and
//! theirs). A referrer is a revision of its own, so signatures and SBOMs are marked like any
//! manifest; a subject is not marked by its referrers.
//!
//! **Sweep** removes every stored blob not marked, unless it was written or touched within the
//! grace period. The grace period is what makes collection safe while clients work:
//!
//! - a blob uploaded for a push in progress is younger than the grace period until its manifest
//!   arrives, and the manifest, once stored, is marked by the next collection;
//! - a manifest push touches every blob it references before storing the manifest, so a blob
//!   the mark missed because the manifest arrived after its repository was walked is young again
//!   when the sweep looks at it, and [`BlobStore::sweep`] re-reads that time after moving the
//!   blob aside, so a touch racing with the sweep keeps it too (a collector killed between the
//!   move and its decision leaves the blob aside, and the next start puts it back);
//! - uploads in progress live outside the blob store until committed, and expire only after
//!   sitting idle for the upload expiry.
//!
//! Pulls need nothing: they read blobs that tagged (hence marked) manifests reference. After the
//! sweep, repository links to blobs that are gone are removed (once old enough), idle uploads expire, and writers'
//! leftovers in `tmp/` are cleaned. Nothing here takes a lock for longer than one file operation.
//!
//! [`BlobStore::sweep`]: crate::storage::BlobStore::sweep

use std::collections::HashSet;
use std::time::{Duration, Instant, SystemTime};

use slipway_store::RegistryEventKind;

use crate::digest::Digest;
use crate::error::RegistryError;
use crate::files;
use crate::manifest::Manifest;
use crate::registry::Registry;
use crate::storage::Sweep;

/// How long an unreferenced blob is kept by default: longer than any push takes.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(3600);

/// How long a file moved aside by a sweep may stay there before it counts as orphaned.
const ORPHANED_ASIDE: Duration = Duration::from_secs(60);

/// How long an idle upload is kept by default.
pub const DEFAULT_UPLOAD_EXPIRY: Duration = Duration::from_secs(24 * 3600);

/// How a collection runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GcOptions {
    /// Blobs written or touched more recently than this are kept even when unreferenced.
    pub grace: Duration,
    /// Uploads idle for longer than this are dropped.
    pub upload_expiry: Duration,
}

impl Default for GcOptions {
    fn default() -> GcOptions {
        GcOptions {
            grace: DEFAULT_GRACE,
            upload_expiry: DEFAULT_UPLOAD_EXPIRY,
        }
    }
}

/// What a collection did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct GcReport {
    /// Manifests walked in the mark phase.
    pub manifests: usize,
    /// Blobs marked as referenced.
    pub marked: usize,
    /// Blobs removed.
    pub blobs_removed: usize,
    /// Bytes those blobs held.
    pub bytes_removed: u64,
    /// Blobs kept: referenced, or within the grace period.
    pub blobs_kept: usize,
    /// Repository links to blobs no longer stored that were removed.
    pub links_removed: usize,
    /// Idle uploads dropped.
    pub uploads_expired: u32,
    /// How long the collection took, in milliseconds.
    pub duration_ms: u128,
}

impl Registry {
    /// Collects garbage once.
    pub async fn collect_garbage(&self, options: &GcOptions) -> Result<GcReport, RegistryError> {
        let clock = Instant::now();
        let cutoff = SystemTime::now() - options.grace;
        let mut report = GcReport::default();
        // A collector that died mid-sweep left files aside; a sweep takes microseconds, so
        // anything aside for a minute is an orphan.
        let (root, tmp_dir) = (self.storage().to_path_buf(), self.storage().join("tmp"));
        files::blocking(move || files::restore_asides(&root, &tmp_dir, ORPHANED_ASIDE)).await?;
        let marked = self.mark(&mut report).await?;
        report.marked = marked.len();

        for blob in self.blobs.list().await? {
            if marked.contains(&blob.digest) || blob.touched >= cutoff {
                report.blobs_kept += 1;
                continue;
            }
            match self.blobs.sweep(&blob.digest, cutoff).await? {
                Sweep::Removed(size) => {
                    report.blobs_removed += 1;
                    report.bytes_removed += size;
                }
                Sweep::Kept => report.blobs_kept += 1,
                Sweep::Absent => {}
            }
        }
        report.links_removed = self.unlink_missing(cutoff).await?;
        report.uploads_expired = self
            .blobs
            .expire_uploads(SystemTime::now() - options.upload_expiry)
            .await?;
        let tmp_dir = self.storage().join("tmp");
        let grace = options.grace;
        files::blocking(move || files::clean_temporaries(&tmp_dir, grace)).await?;
        report.duration_ms = clock.elapsed().as_millis();

        let detail = format!(
            "removed {} blobs ({} bytes), kept {}, expired {} uploads, in {} ms",
            report.blobs_removed,
            report.bytes_removed,
            report.blobs_kept,
            report.uploads_expired,
            report.duration_ms
        );
        tracing::info!("garbage collection {detail}");
        self.record(RegistryEventKind::Gc, None, None, None, &detail)
            .await;
        Ok(report)
    }

    /// Every digest some manifest revision holds, directly or through an index.
    async fn mark(&self, report: &mut GcReport) -> Result<HashSet<Digest>, RegistryError> {
        let roots = self
            .metadata(|repositories| {
                let mut roots = Vec::new();
                for name in repositories.names()? {
                    for (digest, record) in repositories.revisions(&name)? {
                        roots.push((digest, record.media_type));
                    }
                }
                Ok(roots)
            })
            .await?;
        report.manifests = roots.len();
        let mut marked = HashSet::new();
        let mut pending = roots;
        while let Some((digest, media_type)) = pending.pop() {
            if !marked.insert(digest.clone()) {
                continue;
            }
            let Some(content) = self.blobs.read_all(&digest).await? else {
                tracing::warn!(%digest, "a manifest revision has no content");
                continue;
            };
            let manifest = match Manifest::parse(Some(&media_type), &content) {
                Ok(manifest) => manifest,
                Err(error) => {
                    tracing::warn!(%digest, %error, "a stored manifest does not parse");
                    continue;
                }
            };
            marked.extend(manifest.blobs().iter().map(|blob| blob.digest.clone()));
            pending.extend(
                manifest
                    .manifests()
                    .iter()
                    .map(|child| (child.digest.clone(), child.media_type.clone())),
            );
        }
        Ok(marked)
    }

    /// Removes the repositories' links to blobs that are no longer stored, once older than the
    /// grace period: a link is written after its blob, so a younger one may belong to a push
    /// that is uploading the blob again.
    async fn unlink_missing(&self, cutoff: SystemTime) -> Result<usize, RegistryError> {
        let links = self
            .metadata(|repositories| {
                let mut links = Vec::new();
                for name in repositories.names()? {
                    links.extend(
                        repositories
                            .blob_links(&name)?
                            .into_iter()
                            .map(|digest| (name.clone(), digest)),
                    );
                }
                Ok(links)
            })
            .await?;
        let mut unlinked = 0;
        for (name, digest) in links {
            if self.blobs.stat(&digest).await?.is_some() {
                continue;
            }
            if self
                .metadata(move |repositories| {
                    repositories.remove_stale_link(&name, &digest, cutoff)
                })
                .await?
            {
                unlinked += 1;
            }
        }
        Ok(unlinked)
    }
}
