//! [`Registry`]: the Distribution Spec's operations, independent of HTTP.
//!
//! Each method is one thing a client can ask (read a blob, append to an upload, push a
//! manifest) and returns a [`RegistryError`] carrying the spec's error code when it cannot be
//! done. The HTTP layer ([`crate::http`]) only parses requests into these calls and renders the
//! results; the import from the container engine ([`crate::import`]) calls the same methods, so an
//! image reaches the storage the same way whichever door it came through.
//!
//! Blob bytes live in a [`BlobStore`]; which repository holds what lives in
//! [`Repositories`]. A push records an event in the state store and calls the push hooks.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use slipway_store::{NewRegistryEvent, RegistryEventKind, RegistryEventStore};

use crate::digest::{Algorithm, Digest};
use crate::error::RegistryError;
use crate::files::blocking;
use crate::hook::{PushHook, PushedManifest};
use crate::manifest::{Descriptor, Manifest, ManifestKind, kind_of};
use crate::name::{Reference, RepositoryName, Tag};
use crate::repositories::{Repositories, RevisionRecord, TagRecord, tag_order};
use crate::storage::{
    BlobContent, BlobInfo, BlobStore, ByteStream, FsBlobStore, StorageError, UploadId,
};

/// The largest manifest accepted: the spec asks registries to take at least 4 MB.
pub const MAX_MANIFEST_SIZE: u64 = 8 * 1024 * 1024;

/// Where the state store's registry events go: any store with the registry domain.
pub type EventStore = Arc<dyn RegistryEventStore + Send + Sync>;

/// What a registry is opened with.
#[derive(Default)]
pub struct RegistryOptions {
    /// Where events are recorded; `None` records none.
    pub events: Option<EventStore>,
    /// Called for every manifest pushed.
    pub hooks: Vec<Arc<dyn PushHook>>,
}

impl fmt::Debug for RegistryOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryOptions")
            .field("events", &self.events.is_some())
            .field("hooks", &self.hooks)
            .finish()
    }
}

/// An OCI registry over one storage directory.
pub struct Registry {
    storage: PathBuf,
    pub(crate) blobs: Arc<dyn BlobStore>,
    pub(crate) repositories: Repositories,
    events: Option<EventStore>,
    hooks: Vec<Arc<dyn PushHook>>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("storage", &self.storage)
            .field("blobs", &self.blobs)
            .field("events", &self.events.is_some())
            .field("hooks", &self.hooks)
            .finish_non_exhaustive()
    }
}

/// A byte range a client asked for, before it is checked against the blob's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeRequest {
    /// `bytes=start-` or `bytes=start-end` (inclusive).
    From {
        /// The first byte.
        start: u64,
        /// The last byte, if given.
        end: Option<u64>,
    },
    /// `bytes=-n`: the last n bytes.
    Last(u64),
}

impl RangeRequest {
    /// The first byte and the length this range covers of `size` bytes, or `None` when it
    /// covers none of them.
    pub fn resolve(self, size: u64) -> Option<(u64, u64)> {
        match self {
            RangeRequest::From { start, end } if start < size => {
                let end = end.map_or(size - 1, |end| end.min(size - 1));
                (end >= start).then(|| (start, end - start + 1))
            }
            RangeRequest::From { .. } => None,
            RangeRequest::Last(0) => None,
            RangeRequest::Last(length) => {
                let length = length.min(size);
                (length > 0).then(|| (size - length, length))
            }
        }
    }
}

/// A chunk's place in an upload, from `Content-Range: start-end` (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRange {
    start: u64,
    end: u64,
}

impl ChunkRange {
    /// A range from `start` to `end` inclusive; `None` when `end` is before `start`.
    pub fn new(start: u64, end: u64) -> Option<ChunkRange> {
        (end >= start).then_some(ChunkRange { start, end })
    }

    /// The first byte.
    pub fn start(self) -> u64 {
        self.start
    }

    /// The number of bytes (at least one).
    pub fn length(self) -> u64 {
        self.end - self.start + 1
    }
}

/// A manifest read back.
#[derive(Debug, Clone)]
pub struct StoredManifest {
    /// Its digest.
    pub digest: Digest,
    /// Its media type.
    pub media_type: String,
    /// Its size.
    pub size: u64,
}

/// What a manifest push stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutManifest {
    /// The manifest's digest.
    pub digest: Digest,
    /// Its subject, when it is a referrer.
    pub subject: Option<Digest>,
}

/// One page of a list (tags, repositories).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Whether more items follow the last one.
    pub more: bool,
}

impl<T: Clone> Page<T> {
    /// The items of `sorted` after `last` (if given), at most `n` (if given).
    pub(crate) fn of(
        sorted: &[T],
        last: Option<&T>,
        n: Option<usize>,
        after: impl Fn(&T, &T) -> bool,
    ) -> Page<T> {
        let start = last.map_or(0, |last| {
            sorted
                .iter()
                .position(|item| after(item, last))
                .unwrap_or(sorted.len())
        });
        let rest = &sorted[start..];
        let take = n.unwrap_or(rest.len()).min(rest.len());
        Page {
            items: rest[..take].to_vec(),
            more: take < rest.len(),
        }
    }
}

impl Registry {
    /// Opens the registry whose storage is the directory `storage`, creating it if needed.
    pub fn open(storage: &Path, options: RegistryOptions) -> Result<Registry, RegistryError> {
        let blobs = FsBlobStore::open(storage)?;
        Ok(Registry {
            storage: storage.to_path_buf(),
            blobs: Arc::new(blobs),
            repositories: Repositories::new(storage),
            events: options.events,
            hooks: options.hooks,
        })
    }

    /// The storage directory.
    pub fn storage(&self) -> &Path {
        &self.storage
    }

    /// Runs blocking work on the repository metadata.
    pub(crate) async fn metadata<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Repositories) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, RegistryError> {
        let repositories = self.repositories.clone();
        Ok(blocking(move || work(&repositories)).await?)
    }

    // Blobs.

    /// The blob, if the repository holds it. Protects it from garbage collection for a while: a
    /// client asking before a push means to reference it.
    pub async fn blob(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<BlobInfo, RegistryError> {
        let unknown = || RegistryError::BlobUnknown {
            repository: repository.clone(),
            digest: digest.clone(),
        };
        if !self.holds_blob(repository, digest).await? || !self.blobs.touch(digest).await? {
            return Err(unknown());
        }
        self.blobs.stat(digest).await?.ok_or_else(unknown)
    }

    async fn holds_blob(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<bool, RegistryError> {
        let (repository, digest) = (repository.clone(), digest.clone());
        self.metadata(move |repositories| Ok(repositories.has_blob(&repository, &digest)))
            .await
    }

    /// The blob's bytes, or the range of them asked for.
    pub async fn read_blob(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
        range: Option<RangeRequest>,
    ) -> Result<BlobContent, RegistryError> {
        let unknown = || RegistryError::BlobUnknown {
            repository: repository.clone(),
            digest: digest.clone(),
        };
        if !self.holds_blob(repository, digest).await? {
            return Err(unknown());
        }
        let info = self.blobs.stat(digest).await?.ok_or_else(unknown)?;
        let (start, length) = match range {
            None => (0, info.size),
            Some(range) => range
                .resolve(info.size)
                .ok_or(RegistryError::RangeNotSatisfiable { size: info.size })?,
        };
        self.blobs
            .read(digest, start, length)
            .await?
            .ok_or_else(unknown)
    }

    /// Removes the blob from the repository. Its bytes stay while any repository holds it or a
    /// manifest references it; garbage collection removes them after that.
    pub async fn delete_blob(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<(), RegistryError> {
        let (name, target) = (repository.clone(), digest.clone());
        if !self
            .metadata(move |repositories| repositories.unlink_blob(&name, &target))
            .await?
        {
            return Err(RegistryError::BlobUnknown {
                repository: repository.clone(),
                digest: digest.clone(),
            });
        }
        self.record(
            RegistryEventKind::Delete,
            Some(repository),
            None,
            Some(digest),
            "blob",
        )
        .await;
        Ok(())
    }

    /// Links a blob another repository holds into `repository`, without copying it. `None` when
    /// `from` does not hold it: the client then uploads it.
    pub async fn mount_blob(
        &self,
        repository: &RepositoryName,
        from: &RepositoryName,
        digest: &Digest,
    ) -> Result<Option<BlobInfo>, RegistryError> {
        if !self.holds_blob(from, digest).await? || !self.blobs.touch(digest).await? {
            return Ok(None);
        }
        let Some(info) = self.blobs.stat(digest).await? else {
            return Ok(None);
        };
        let (name, target) = (repository.clone(), digest.clone());
        self.metadata(move |repositories| repositories.link_blob(&name, &target))
            .await?;
        Ok(Some(info))
    }

    // Uploads.

    /// Starts an upload into `repository`.
    pub async fn start_upload(
        &self,
        repository: &RepositoryName,
    ) -> Result<UploadId, RegistryError> {
        Ok(self.blobs.start_upload(repository).await?)
    }

    /// The number of bytes the upload has received.
    pub async fn upload_size(
        &self,
        repository: &RepositoryName,
        id: &UploadId,
    ) -> Result<u64, RegistryError> {
        match self.blobs.upload(id).await? {
            Some(state) if &state.repository == repository => Ok(state.size),
            _ => Err(RegistryError::BlobUploadUnknown {
                repository: repository.clone(),
                id: id.clone(),
            }),
        }
    }

    /// Appends a chunk to the upload and returns its new size. A chunk with a range must start
    /// where the upload ends and hold exactly the bytes the range says.
    pub async fn append_upload(
        &self,
        repository: &RepositoryName,
        id: &UploadId,
        range: Option<ChunkRange>,
        body: ByteStream,
    ) -> Result<u64, RegistryError> {
        self.upload_size(repository, id).await?;
        let size = self
            .blobs
            .append(id, range.map(ChunkRange::start), body)
            .await
            .map_err(|error| match error {
                StorageError::OutOfOrder { expected, got } => RegistryError::ChunkOutOfOrder {
                    size: expected,
                    got,
                    id: id.clone(),
                },
                StorageError::UploadUnknown(_) => RegistryError::BlobUploadUnknown {
                    repository: repository.clone(),
                    id: id.clone(),
                },
                other => other.into(),
            })?;
        if let Some(range) = range
            && size - range.start() != range.length()
        {
            return Err(RegistryError::SizeInvalid(format!(
                "the chunk held {} bytes, but its Content-Range says {}",
                size - range.start(),
                range.length()
            )));
        }
        Ok(size)
    }

    /// Appends the last chunk, if any, verifies the upload against `digest` and commits it into
    /// the repository. The upload is gone afterwards, also when the digest was wrong.
    pub async fn finish_upload(
        &self,
        repository: &RepositoryName,
        id: &UploadId,
        digest: &Digest,
        last_chunk: Option<(Option<ChunkRange>, ByteStream)>,
    ) -> Result<BlobInfo, RegistryError> {
        if let Some((range, body)) = last_chunk {
            self.append_upload(repository, id, range, body).await?;
        } else {
            self.upload_size(repository, id).await?;
        }
        let info = self
            .blobs
            .finish(id, digest)
            .await
            .map_err(|error| match error {
                StorageError::UploadUnknown(_) => RegistryError::BlobUploadUnknown {
                    repository: repository.clone(),
                    id: id.clone(),
                },
                other => other.into(),
            })?;
        let (name, target) = (repository.clone(), digest.clone());
        self.metadata(move |repositories| repositories.link_blob(&name, &target))
            .await?;
        Ok(info)
    }

    /// Uploads a whole blob in one go.
    pub async fn upload_blob(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
        body: ByteStream,
    ) -> Result<BlobInfo, RegistryError> {
        let id = self.start_upload(repository).await?;
        let finished = self
            .finish_upload(repository, &id, digest, Some((None, body)))
            .await;
        if finished.is_err() {
            // A failed monolithic upload has nothing to resume.
            self.blobs.cancel(&id).await?;
        }
        finished
    }

    /// Cancels an upload.
    pub async fn cancel_upload(
        &self,
        repository: &RepositoryName,
        id: &UploadId,
    ) -> Result<(), RegistryError> {
        self.upload_size(repository, id).await?;
        self.blobs.cancel(id).await?;
        Ok(())
    }

    // Manifests.

    /// Stores a manifest under `reference` (a tag, or the manifest's own digest).
    ///
    /// Checks, in order: the digest (when pushed by digest), the document, and that the
    /// repository holds every blob (with the size the manifest says) and every manifest it
    /// references; the subject alone may be missing. Referenced blobs are touched, so a garbage
    /// collection running meanwhile keeps them.
    pub async fn put_manifest(
        &self,
        repository: &RepositoryName,
        reference: &Reference,
        content_type: Option<&str>,
        content: Bytes,
    ) -> Result<PutManifest, RegistryError> {
        if content.len() as u64 > MAX_MANIFEST_SIZE {
            return Err(RegistryError::ManifestTooLarge {
                limit: MAX_MANIFEST_SIZE,
            });
        }
        let digest = match reference {
            Reference::Digest(expected) => {
                let actual = Digest::of(expected.algorithm(), &content);
                if &actual != expected {
                    return Err(RegistryError::DigestInvalid(format!(
                        "the manifest's digest is {actual}, not {expected}"
                    )));
                }
                actual
            }
            Reference::Tag(_) => Digest::of(Algorithm::Sha256, &content),
        };
        let manifest = Manifest::parse(content_type, &content)
            .map_err(|error| RegistryError::ManifestInvalid(error.0))?;
        self.check_references(repository, &manifest).await?;
        self.blobs.put(&digest, content.clone()).await?;

        let record = RevisionRecord {
            media_type: manifest.media_type().to_owned(),
            size: content.len() as u64,
            pushed_at: jiff::Timestamp::now(),
            artifact_type: manifest.artifact_type().map(str::to_owned),
            subject: manifest.subject().map(|subject| subject.digest.clone()),
            manifests: manifest
                .manifests()
                .iter()
                .map(|child| child.digest.clone())
                .collect(),
            annotations: manifest.annotations().clone(),
        };
        let tag = match reference {
            Reference::Tag(tag) => Some(tag.clone()),
            Reference::Digest(_) => None,
        };
        let subject = record.subject.clone();
        {
            let (name, digest, tag) = (repository.clone(), digest.clone(), tag.clone());
            self.metadata(move |repositories| {
                let _lock = repositories.lock(&name)?;
                repositories.put_revision(&name, &digest, &record)?;
                if let Some(subject) = &record.subject {
                    repositories.add_referrer(&name, subject, &digest)?;
                }
                if let Some(tag) = &tag {
                    repositories.set_tag(
                        &name,
                        tag,
                        &TagRecord {
                            digest: digest.clone(),
                            pushed_at: record.pushed_at,
                        },
                    )?;
                }
                Ok(())
            })
            .await?;
        }
        let pushed = PushedManifest {
            repository: repository.clone(),
            digest: digest.clone(),
            media_type: manifest.media_type().to_owned(),
            tag,
            subject: subject.clone(),
        };
        self.announce(&pushed).await;
        Ok(PutManifest { digest, subject })
    }

    /// Checks that the repository holds what `manifest` references, touching each.
    async fn check_references(
        &self,
        repository: &RepositoryName,
        manifest: &Manifest,
    ) -> Result<(), RegistryError> {
        let missing = |descriptor: &Descriptor| RegistryError::ManifestBlobUnknown {
            repository: repository.clone(),
            digest: descriptor.digest.clone(),
        };
        for blob in manifest.blobs() {
            if !blob.urls.is_empty() {
                continue; // A non-distributable layer: fetched from its URLs, never pushed here.
            }
            if !self.holds_blob(repository, &blob.digest).await?
                || !self.blobs.touch(&blob.digest).await?
            {
                return Err(missing(blob));
            }
            let size = self
                .blobs
                .stat(&blob.digest)
                .await?
                .ok_or_else(|| missing(blob))?
                .size;
            if size != blob.size {
                return Err(RegistryError::ManifestInvalid(format!(
                    "the manifest gives {} a size of {} bytes, but it has {size}",
                    blob.digest, blob.size
                )));
            }
        }
        for child in manifest.manifests() {
            let (name, digest) = (repository.clone(), child.digest.clone());
            let held = self
                .metadata(move |repositories| repositories.revision(&name, &digest))
                .await?
                .is_some();
            if !held || !self.blobs.touch(&child.digest).await? {
                return Err(missing(child));
            }
        }
        Ok(())
    }

    /// The manifest `reference` names: its digest, media type and size.
    pub async fn manifest(
        &self,
        repository: &RepositoryName,
        reference: &Reference,
    ) -> Result<StoredManifest, RegistryError> {
        let unknown = || RegistryError::ManifestUnknown {
            repository: repository.clone(),
            reference: reference.to_string(),
        };
        let (name, target) = (repository.clone(), reference.clone());
        let found = self
            .metadata(move |repositories| {
                let digest = match &target {
                    Reference::Digest(digest) => digest.clone(),
                    Reference::Tag(tag) => match repositories.tag(&name, tag)? {
                        Some(record) => record.digest,
                        None => return Ok(None),
                    },
                };
                Ok(repositories
                    .revision(&name, &digest)?
                    .map(|record| (digest, record)))
            })
            .await?;
        let (digest, record) = found.ok_or_else(unknown)?;
        Ok(StoredManifest {
            digest,
            media_type: record.media_type,
            size: record.size,
        })
    }

    /// The manifest and its bytes, recording the pull for retention.
    pub async fn pull_manifest(
        &self,
        repository: &RepositoryName,
        reference: &Reference,
    ) -> Result<(StoredManifest, Bytes), RegistryError> {
        let manifest = self.manifest(repository, reference).await?;
        let content = self
            .blobs
            .read_all(&manifest.digest)
            .await?
            .ok_or_else(|| RegistryError::ManifestUnknown {
                repository: repository.clone(),
                reference: reference.to_string(),
            })?;
        let (name, digest) = (repository.clone(), manifest.digest.clone());
        if let Err(error) = self
            .metadata(move |repositories| repositories.record_pull(&name, &digest))
            .await
        {
            // A pull time is a hint for retention; losing one must not fail the pull.
            tracing::warn!(%error, "could not record a pull");
        }
        Ok((manifest, content))
    }

    /// Deletes a tag, or a manifest with every tag pointing at it.
    pub async fn delete_manifest(
        &self,
        repository: &RepositoryName,
        reference: &Reference,
    ) -> Result<(), RegistryError> {
        let (name, target) = (repository.clone(), reference.clone());
        let deleted = self
            .metadata(move |repositories| {
                if !repositories.exists(&name) {
                    return Ok(false);
                }
                let _lock = repositories.lock(&name)?;
                match &target {
                    Reference::Tag(tag) => repositories.remove_tag(&name, tag),
                    Reference::Digest(digest) => remove_manifest(repositories, &name, digest),
                }
            })
            .await?;
        if !deleted {
            return Err(RegistryError::ManifestUnknown {
                repository: repository.clone(),
                reference: reference.to_string(),
            });
        }
        let (tag, digest, detail) = match reference {
            Reference::Tag(tag) => (Some(tag), None, "tag"),
            Reference::Digest(digest) => (None, Some(digest), "manifest"),
        };
        self.record(
            RegistryEventKind::Delete,
            Some(repository),
            tag,
            digest,
            detail,
        )
        .await;
        Ok(())
    }

    // Listings.

    /// The repository's tags in the spec's order: after `last`, at most `n`.
    pub async fn tags(
        &self,
        repository: &RepositoryName,
        last: Option<&Tag>,
        n: Option<usize>,
    ) -> Result<Page<Tag>, RegistryError> {
        let name = repository.clone();
        let tags = self
            .metadata(move |repositories| {
                if !repositories.exists(&name) {
                    return Ok(None);
                }
                Ok(Some(
                    repositories
                        .tags(&name)?
                        .into_iter()
                        .map(|(tag, _)| tag)
                        .collect::<Vec<_>>(),
                ))
            })
            .await?
            .ok_or_else(|| RegistryError::NameUnknown(repository.clone()))?;
        Ok(Page::of(&tags, last, n, |tag, last| {
            tag_order(tag, last).is_gt()
        }))
    }

    /// Every repository, sorted: after `last`, at most `n`.
    pub async fn catalog(
        &self,
        last: Option<&RepositoryName>,
        n: Option<usize>,
    ) -> Result<Page<RepositoryName>, RegistryError> {
        let names = self.metadata(|repositories| repositories.names()).await?;
        Ok(Page::of(&names, last, n, |name, last| name > last))
    }

    /// Descriptors of the manifests in the repository whose subject is `subject`, optionally only
    /// those of one artifact type. Never fails for a subject that does not exist: the list is empty.
    pub async fn referrers(
        &self,
        repository: &RepositoryName,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Descriptor>, RegistryError> {
        let (name, subject) = (repository.clone(), subject.clone());
        let mut descriptors = self
            .metadata(move |repositories| {
                let mut descriptors = Vec::new();
                for digest in repositories.referrers(&name, &subject)? {
                    // A referrer deleted meanwhile is no longer listed.
                    if let Some(record) = repositories.revision(&name, &digest)? {
                        descriptors.push(Descriptor {
                            media_type: record.media_type,
                            digest,
                            size: record.size,
                            urls: Vec::new(),
                            artifact_type: record.artifact_type,
                            annotations: record.annotations,
                        });
                    }
                }
                Ok(descriptors)
            })
            .await?;
        if let Some(wanted) = artifact_type {
            descriptors.retain(|descriptor| descriptor.artifact_type.as_deref() == Some(wanted));
        }
        descriptors.sort_by(|a, b| a.digest.cmp(&b.digest));
        Ok(descriptors)
    }

    // Events.

    /// Records the push and calls every hook.
    async fn announce(&self, pushed: &PushedManifest) {
        let detail = match kind_of(&pushed.media_type) {
            Some(ManifestKind::Index) => "index",
            _ => "manifest",
        };
        self.record(
            RegistryEventKind::Push,
            Some(&pushed.repository),
            pushed.tag.as_ref(),
            Some(&pushed.digest),
            detail,
        )
        .await;
        for hook in &self.hooks {
            hook.manifest_pushed(pushed);
        }
    }

    /// Records an event in the state store, if there is one. A failure is logged, not returned:
    /// the registry's own storage already changed, and a client must not be told otherwise.
    pub(crate) async fn record(
        &self,
        kind: RegistryEventKind,
        repository: Option<&RepositoryName>,
        tag: Option<&Tag>,
        digest: Option<&Digest>,
        detail: &str,
    ) {
        let Some(events) = &self.events else {
            return;
        };
        let event = NewRegistryEvent {
            at: jiff::Timestamp::now(),
            kind,
            repository: repository.map(ToString::to_string),
            tag: tag.map(ToString::to_string),
            digest: digest.map(ToString::to_string),
            detail: detail.to_owned(),
        };
        let events = Arc::clone(events);
        match tokio::task::spawn_blocking(move || events.record_registry_event(&event)).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::warn!(%error, "could not record a registry event"),
            Err(error) => tracing::warn!(%error, "recording a registry event failed"),
        }
    }
}

/// Removes a manifest revision, the tags pointing at it and its referrer link. `false` if the
/// repository does not hold it. The caller holds the repository's lock.
pub(crate) fn remove_manifest(
    repositories: &Repositories,
    name: &RepositoryName,
    digest: &Digest,
) -> Result<bool, StorageError> {
    let Some(record) = repositories.revision(name, digest)? else {
        return Ok(false);
    };
    for (tag, tagged) in repositories.tags(name)? {
        if &tagged.digest == digest {
            repositories.remove_tag(name, &tag)?;
        }
    }
    if let Some(subject) = &record.subject {
        repositories.remove_referrer(name, subject, digest)?;
    }
    repositories.remove_revision(name, digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_resolve_against_the_size() {
        let from = |start, end| RangeRequest::From { start, end };
        assert_eq!(from(0, None).resolve(10), Some((0, 10)));
        assert_eq!(from(2, Some(4)).resolve(10), Some((2, 3)));
        assert_eq!(from(8, Some(100)).resolve(10), Some((8, 2)));
        assert_eq!(from(10, None).resolve(10), None);
        assert_eq!(from(5, Some(4)).resolve(10), None);
        assert_eq!(RangeRequest::Last(3).resolve(10), Some((7, 3)));
        assert_eq!(RangeRequest::Last(30).resolve(10), Some((0, 10)));
        assert_eq!(RangeRequest::Last(0).resolve(10), None);
        assert_eq!(from(0, None).resolve(0), None);
    }

    #[test]
    fn pages_start_after_last_and_say_whether_more_follow() {
        let items = [1, 3, 5, 7];
        let after = |item: &i32, last: &i32| item > last;
        assert_eq!(
            Page::of(&items, None, None, after),
            Page {
                items: vec![1, 3, 5, 7],
                more: false
            }
        );
        assert_eq!(
            Page::of(&items, None, Some(2), after),
            Page {
                items: vec![1, 3],
                more: true
            }
        );
        assert_eq!(
            Page::of(&items, Some(&3), Some(2), after),
            Page {
                items: vec![5, 7],
                more: false
            }
        );
        assert_eq!(
            Page::of(&items, Some(&4), None, after),
            Page {
                items: vec![5, 7],
                more: false
            }
        );
        assert_eq!(
            Page::of(&items, None, Some(0), after),
            Page {
                items: vec![],
                more: true
            }
        );
        assert_eq!(
            Page::of(&items, Some(&9), Some(2), after),
            Page {
                items: vec![],
                more: false
            }
        );
    }
}
