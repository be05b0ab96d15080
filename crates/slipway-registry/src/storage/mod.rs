//! The blob store seam: content-addressed bytes and the uploads that produce them.
//!
//! [`BlobStore`] is everything the registry asks of the place its bytes live: read a blob whole
//! or a range of it, stage an upload in chunks, commit it once its digest is verified, and the
//! two operations garbage collection needs ([`BlobStore::touch`], [`BlobStore::sweep`]).
//! [`FsBlobStore`] implements it on a local file system. A blob is stored once whatever number of
//! repositories hold it: which repository holds what is the registry's metadata, not the store's.
//!
//! # Guarantees every implementation keeps
//!
//! - A blob is visible only once complete and verified against its digest; a crash at any
//!   moment leaves no partial blob readable.
//! - An upload survives a restart of the process: its bytes and its repository are durable
//!   after every chunk.
//! - [`BlobStore::sweep`] never removes a blob touched after the cutoff it is given, even when
//!   the touch races with the sweep.

mod fs;

pub use fs::FsBlobStore;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::SystemTime;

use bytes::Bytes;
use futures::stream::BoxStream;

use crate::digest::Digest;
use crate::name::RepositoryName;

/// A stream of bytes: a request body going into the store, or a blob coming out.
pub type ByteStream = BoxStream<'static, io::Result<Bytes>>;

/// A stored blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    /// Its digest.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last written or touched.
    pub touched: SystemTime,
}

/// An upload session's identifier: a random UUID, the only thing in an upload URL that names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UploadId(String);

impl UploadId {
    /// A new random identifier.
    pub fn random() -> UploadId {
        let bytes: [u8; 16] = rand::random();
        let hex = hex::encode(bytes);
        UploadId(format!(
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..]
        ))
    }

    /// The identifier as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UploadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Not the shape of an [`UploadId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an upload id")]
pub struct InvalidUploadId(pub String);

impl FromStr for UploadId {
    type Err = InvalidUploadId;

    /// Only the shape [`UploadId::random`] makes: 36 characters of lower-case hex and dashes, so
    /// an id from a URL is safe as a path component.
    fn from_str(text: &str) -> Result<UploadId, InvalidUploadId> {
        let shaped = text.len() == 36
            && text.bytes().enumerate().all(|(i, b)| match i {
                8 | 13 | 18 | 23 => b == b'-',
                _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
            });
        if shaped {
            Ok(UploadId(text.to_owned()))
        } else {
            Err(InvalidUploadId(text.to_owned()))
        }
    }
}

/// Where an upload stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadState {
    /// The repository it was started in.
    pub repository: RepositoryName,
    /// Bytes received so far.
    pub size: u64,
    /// When bytes last arrived (or when it started).
    pub last_activity: SystemTime,
}

/// A blob, or a range of it, ready to stream.
pub struct BlobContent {
    /// The whole blob's size.
    pub total: u64,
    /// The first byte streamed.
    pub start: u64,
    /// How many bytes are streamed.
    pub length: u64,
    /// The bytes.
    pub body: ByteStream,
}

impl fmt::Debug for BlobContent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlobContent")
            .field("total", &self.total)
            .field("start", &self.start)
            .field("length", &self.length)
            .finish_non_exhaustive()
    }
}

/// What [`BlobStore::sweep`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sweep {
    /// The blob was removed; it held this many bytes.
    Removed(u64),
    /// The blob was touched after the cutoff, so it stays.
    Kept,
    /// There was no such blob.
    Absent,
}

/// Why the store could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The file system failed.
    #[error("{doing} {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the store was doing.
        doing: &'static str,
        /// What the operating system said.
        source: io::Error,
    },
    /// The bytes of an upload do not have the digest the client said they have.
    #[error("the uploaded content has digest {actual}, not {expected}")]
    DigestMismatch {
        /// What the client said.
        expected: Digest,
        /// What the bytes hash to.
        actual: Digest,
    },
    /// No upload with this id exists (never started, finished, cancelled or expired).
    #[error("no upload {0}")]
    UploadUnknown(UploadId),
    /// A chunk did not start where the upload ends.
    #[error("the chunk starts at byte {got}, but the upload has {expected} bytes")]
    OutOfOrder {
        /// The upload's current size: where the next chunk must start.
        expected: u64,
        /// Where the chunk said it starts.
        got: u64,
    },
    /// The request body broke off (the client disconnected); what arrived before is kept.
    #[error("the upload was interrupted: {0}")]
    Interrupted(#[source] io::Error),
    /// A file the store wrote does not read back as it should.
    #[error("{} is damaged: {detail}", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
}

impl StorageError {
    pub(crate) fn io(path: &Path, doing: &'static str, source: io::Error) -> StorageError {
        StorageError::Io {
            path: path.to_path_buf(),
            doing,
            source,
        }
    }

    /// Whether the disk is full (or the quota used up): the client may retry later, nothing it
    /// sent was wrong.
    pub fn is_storage_full(&self) -> bool {
        match self {
            StorageError::Io { source, .. } => {
                matches!(
                    source.kind(),
                    io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
                )
            }
            _ => false,
        }
    }
}

/// Content-addressed blob storage with resumable uploads.
#[async_trait::async_trait]
pub trait BlobStore: Send + Sync + fmt::Debug {
    /// The blob with `digest`, if stored.
    async fn stat(&self, digest: &Digest) -> Result<Option<BlobInfo>, StorageError>;

    /// Streams `length` bytes of the blob from `start` (the caller has checked the range against
    /// the size). `None` when the blob is not stored.
    async fn read(
        &self,
        digest: &Digest,
        start: u64,
        length: u64,
    ) -> Result<Option<BlobContent>, StorageError>;

    /// The whole blob in memory, for small blobs such as manifests.
    async fn read_all(&self, digest: &Digest) -> Result<Option<Bytes>, StorageError>;

    /// Stores `content`, which must hash to `digest`. Storing a blob that is already there only
    /// touches it.
    async fn put(&self, digest: &Digest, content: Bytes) -> Result<BlobInfo, StorageError>;

    /// Marks the blob as in use now, protecting it from a sweep with an earlier cutoff. `false`
    /// when the blob is not stored.
    async fn touch(&self, digest: &Digest) -> Result<bool, StorageError>;

    /// Removes the blob unless it was touched (or written) at or after `cutoff`.
    async fn sweep(&self, digest: &Digest, cutoff: SystemTime) -> Result<Sweep, StorageError>;

    /// Every stored blob.
    async fn list(&self) -> Result<Vec<BlobInfo>, StorageError>;

    /// Starts an empty upload into `repository`.
    async fn start_upload(&self, repository: &RepositoryName) -> Result<UploadId, StorageError>;

    /// The upload's state, or `None` if there is no such upload.
    async fn upload(&self, id: &UploadId) -> Result<Option<UploadState>, StorageError>;

    /// Appends `body` to the upload and returns its new size. With `at`, the chunk must start
    /// exactly at the upload's current size ([`StorageError::OutOfOrder`] otherwise).
    async fn append(
        &self,
        id: &UploadId,
        at: Option<u64>,
        body: ByteStream,
    ) -> Result<u64, StorageError>;

    /// Verifies the upload against `digest` and commits it as a blob. The upload is gone
    /// afterwards, also when the digest did not match.
    async fn finish(&self, id: &UploadId, digest: &Digest) -> Result<BlobInfo, StorageError>;

    /// Drops the upload; `false` if there was none.
    async fn cancel(&self, id: &UploadId) -> Result<bool, StorageError>;

    /// Drops uploads that received nothing since `idle_before`, and returns how many.
    async fn expire_uploads(&self, idle_before: SystemTime) -> Result<u32, StorageError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_ids_are_uuid_shaped_and_nothing_else_parses() {
        let id = UploadId::random();
        assert_eq!(id.as_str().parse::<UploadId>().unwrap(), id);
        assert_ne!(UploadId::random(), id);
        for bad in [
            "",
            "../../etc/passwd",
            "0123456789abcdef0123456789abcdef0123",
            "0123ABCD-0123-4123-8123-0123456789AB",
        ] {
            assert!(bad.parse::<UploadId>().is_err(), "{bad}");
        }
    }
}
