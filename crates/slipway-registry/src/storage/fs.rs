//! [`FsBlobStore`]: blobs as files on a local file system.
//!
//! Layout under the storage root:
//!
//! ```text
//! blobs/sha256/6c/6c3c624b…     one file per blob, named by its digest, never modified
//! uploads/<id>/data             the bytes of an upload so far
//! uploads/<id>/session.json     the repository it belongs to and when it started
//! tmp/                          files being written; renamed into place when complete
//! ```
//!
//! An upload becomes a blob by renaming its flushed `data` file into `blobs/` once its digest is
//! verified: the rename is the commit. The blob's modification time is when it was last written
//! or touched, which is all garbage collection needs to know about blobs in use by pushes.
//!
//! File system calls block, so every one runs on tokio's blocking pool; uploads and downloads run
//! a blocking thread that writes or reads the file while the request's task moves the bytes
//! through a bounded channel, hashing on the same thread as the writing.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use super::{
    BlobContent, BlobInfo, BlobStore, ByteStream, StorageError, Sweep, UploadId, UploadState,
};
use crate::digest::{Algorithm, Digest, Hasher};
use crate::files::{self, blocking};
use crate::name::RepositoryName;

/// Bytes read from disk per chunk of a download.
const READ_CHUNK: usize = 256 * 1024;

/// The write buffer of an upload: few, large writes.
const WRITE_BUFFER: usize = 1024 * 1024;

/// Chunks in flight between a request's task and its file thread.
const CHANNEL_DEPTH: usize = 16;

/// Temporary files older than this belong to a writer that died.
const STALE_TEMPORARY: Duration = Duration::from_secs(3600);

/// The name of an upload's data file.
const DATA: &str = "data";

/// The name of an upload's session record.
const SESSION: &str = "session.json";

/// Blobs and uploads under one directory.
#[derive(Debug)]
pub struct FsBlobStore {
    root: PathBuf,
    /// In-process state of the uploads this process has seen, each behind its own lock so that
    /// two requests for the same upload take turns.
    sessions: Mutex<HashMap<UploadId, Arc<tokio::sync::Mutex<Session>>>>,
}

/// What this process knows about an upload beyond its files: a running hash of its first bytes,
/// so that finishing it does not read it back. Lost on restart; the upload is then hashed from
/// its file.
#[derive(Debug, Default)]
struct Session {
    hashed: Option<(u64, Hasher)>,
}

impl Session {
    /// A hasher for `algorithm` that has seen exactly the upload's `size` bytes, if there is one.
    fn take_hasher(&mut self, size: u64, algorithm: Algorithm) -> Option<Hasher> {
        match self.hashed.take() {
            Some((hashed, hasher)) if hashed == size && hasher_algorithm(&hasher) == algorithm => {
                Some(hasher)
            }
            _ if size == 0 => Some(Hasher::new(algorithm)),
            _ => None,
        }
    }
}

fn hasher_algorithm(hasher: &Hasher) -> Algorithm {
    match hasher {
        Hasher::Sha256(_) => Algorithm::Sha256,
        Hasher::Sha512(_) => Algorithm::Sha512,
    }
}

/// The durable record of an upload.
#[derive(Debug, Serialize, Deserialize)]
struct SessionRecord {
    repository: String,
}

impl FsBlobStore {
    /// Opens the store at `root`, creating its directories, and removes temporary files that
    /// writers killed long ago left behind.
    pub fn open(root: &Path) -> Result<FsBlobStore, StorageError> {
        let store = FsBlobStore {
            root: root.to_path_buf(),
            sessions: Mutex::default(),
        };
        for dir in [
            store.root.join("blobs"),
            store.root.join("uploads"),
            store.tmp_dir(),
        ] {
            files::create_dir_all(&dir)?;
        }
        // Nothing runs yet in this process: whatever was moved aside belongs to a dead one.
        files::restore_asides(&store.root, &store.tmp_dir(), Duration::ZERO)?;
        files::clean_temporaries(&store.tmp_dir(), STALE_TEMPORARY)?;
        Ok(store)
    }

    /// The storage root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        blob_path(&self.root, digest)
    }

    fn upload_dir(&self, id: &UploadId) -> PathBuf {
        self.root.join("uploads").join(id.as_str())
    }

    fn session(&self, id: &UploadId) -> Arc<tokio::sync::Mutex<Session>> {
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(sessions.entry(id.clone()).or_default())
    }

    fn forget(&self, id: &UploadId) {
        self.sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
    }

    /// Whether a request holds the upload right now.
    fn is_busy(&self, id: &UploadId) -> bool {
        let sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        sessions
            .get(id)
            .is_some_and(|session| session.try_lock().is_err())
    }
}

/// Where the blob with `digest` lives under `root`.
fn blob_path(root: &Path, digest: &Digest) -> PathBuf {
    let hex = digest.hex();
    root.join("blobs")
        .join(digest.algorithm().name())
        .join(&hex[..2])
        .join(hex)
}

#[async_trait::async_trait]
impl BlobStore for FsBlobStore {
    async fn stat(&self, digest: &Digest) -> Result<Option<BlobInfo>, StorageError> {
        let path = self.blob_path(digest);
        let digest = digest.clone();
        blocking(move || match fs::metadata(&path) {
            Ok(metadata) => Ok(Some(BlobInfo {
                digest,
                size: metadata.len(),
                touched: modified(&metadata),
            })),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StorageError::io(&path, "reading", source)),
        })
        .await
    }

    async fn read(
        &self,
        digest: &Digest,
        start: u64,
        length: u64,
    ) -> Result<Option<BlobContent>, StorageError> {
        let path = self.blob_path(digest);
        let opened = blocking(move || match File::open(&path) {
            Ok(file) => {
                let total = file
                    .metadata()
                    .map_err(|source| StorageError::io(&path, "reading", source))?
                    .len();
                Ok(Some((file, total)))
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StorageError::io(&path, "opening", source)),
        })
        .await?;
        Ok(opened.map(|(file, total)| BlobContent {
            total,
            start,
            length,
            body: stream_file(file, start, length),
        }))
    }

    async fn read_all(&self, digest: &Digest) -> Result<Option<Bytes>, StorageError> {
        let path = self.blob_path(digest);
        blocking(move || Ok(files::read_optional(&path)?.map(Bytes::from))).await
    }

    async fn put(&self, digest: &Digest, content: Bytes) -> Result<BlobInfo, StorageError> {
        let actual = Digest::of(digest.algorithm(), &content);
        if &actual != digest {
            return Err(StorageError::DigestMismatch {
                expected: digest.clone(),
                actual,
            });
        }
        let path = self.blob_path(digest);
        let tmp_dir = self.tmp_dir();
        let size = content.len() as u64;
        let digest = digest.clone();
        blocking(move || {
            if !touch_file(&path)? {
                files::write_atomic(&tmp_dir, &path, &content)?;
            }
            Ok(BlobInfo {
                digest,
                size,
                touched: SystemTime::now(),
            })
        })
        .await
    }

    async fn touch(&self, digest: &Digest) -> Result<bool, StorageError> {
        let path = self.blob_path(digest);
        blocking(move || touch_file(&path)).await
    }

    async fn sweep(&self, digest: &Digest, cutoff: SystemTime) -> Result<Sweep, StorageError> {
        let path = self.blob_path(digest);
        let root = self.root.clone();
        let tmp_dir = self.tmp_dir();
        blocking(move || sweep_file(&root, &tmp_dir, &path, cutoff)).await
    }

    async fn list(&self) -> Result<Vec<BlobInfo>, StorageError> {
        let root = self.root.join("blobs");
        blocking(move || list_blobs(&root)).await
    }

    async fn start_upload(&self, repository: &RepositoryName) -> Result<UploadId, StorageError> {
        let id = UploadId::random();
        let dir = self.upload_dir(&id);
        let record = SessionRecord {
            repository: repository.to_string(),
        };
        blocking(move || {
            files::create_dir_all(&dir)?;
            let data = dir.join(DATA);
            File::create(&data).map_err(|source| StorageError::io(&data, "creating", source))?;
            let record = serde_json::to_vec(&record).map_err(|error| StorageError::Damaged {
                path: dir.join(SESSION),
                detail: error.to_string(),
            })?;
            // Written in place and not flushed: nobody knows the session before this returns,
            // and a session cut short by a crash reads as unknown (`read_session`), so its client
            // starts the upload again. Flushing would cost every blob pushed two disk flushes.
            let path = dir.join(SESSION);
            fs::write(&path, record).map_err(|source| StorageError::io(&path, "writing", source))
        })
        .await?;
        Ok(id)
    }

    async fn upload(&self, id: &UploadId) -> Result<Option<UploadState>, StorageError> {
        let dir = self.upload_dir(id);
        blocking(move || read_session(&dir)).await
    }

    async fn append(
        &self,
        id: &UploadId,
        at: Option<u64>,
        body: ByteStream,
    ) -> Result<u64, StorageError> {
        let session = self.session(id);
        let mut session = session.lock().await;
        let data = self.upload_dir(id).join(DATA);
        let unknown = id.clone();
        let (file, size) = blocking(move || {
            let file = match OpenOptions::new().append(true).open(&data) {
                Ok(file) => file,
                Err(error) if error.kind() == io::ErrorKind::NotFound => {
                    return Err(StorageError::UploadUnknown(unknown));
                }
                Err(source) => return Err(StorageError::io(&data, "opening", source)),
            };
            let size = file
                .metadata()
                .map_err(|source| StorageError::io(&data, "reading", source))?
                .len();
            Ok((file, size))
        })
        .await?;
        if let Some(at) = at
            && at != size
        {
            return Err(StorageError::OutOfOrder {
                expected: size,
                got: at,
            });
        }
        let hasher = session.take_hasher(size, Algorithm::Sha256);
        let pumped = pump(file, hasher, body).await;
        session.hashed = pumped.hasher.map(|hasher| (size + pumped.written, hasher));
        match (pumped.write_error, pumped.body_error) {
            (Some(source), _) => Err(StorageError::io(
                &self.upload_dir(id).join(DATA),
                "writing",
                source,
            )),
            (None, Some(error)) => Err(StorageError::Interrupted(error)),
            (None, None) => Ok(size + pumped.written),
        }
    }

    async fn finish(&self, id: &UploadId, digest: &Digest) -> Result<BlobInfo, StorageError> {
        let handle = self.session(id);
        let mut session = handle.lock().await;
        let dir = self.upload_dir(id);
        let data = dir.join(DATA);
        let size = match fs::metadata(&data) {
            Ok(metadata) => metadata.len(),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Err(StorageError::UploadUnknown(id.clone()));
            }
            Err(source) => return Err(StorageError::io(&data, "reading", source)),
        };
        let hasher = session.take_hasher(size, digest.algorithm());
        let target = self.blob_path(digest);
        let expected = digest.clone();
        let finished =
            blocking(move || commit_upload(&dir, &data, hasher, &expected, &target, size)).await;
        drop(session);
        self.forget(id);
        finished
    }

    async fn cancel(&self, id: &UploadId) -> Result<bool, StorageError> {
        let handle = self.session(id);
        let _session = handle.lock().await;
        let dir = self.upload_dir(id);
        let removed = blocking(move || remove_dir(&dir)).await;
        self.forget(id);
        removed
    }

    async fn expire_uploads(&self, idle_before: SystemTime) -> Result<u32, StorageError> {
        let uploads = self.root.join("uploads");
        let names = {
            let uploads = uploads.clone();
            blocking(move || files::list_dir(&uploads)).await?
        };
        let mut expired = 0;
        for name in names {
            let dir = uploads.join(&name);
            let id = name.parse::<UploadId>().ok();
            if id.as_ref().is_some_and(|id| self.is_busy(id)) {
                continue;
            }
            let idle = {
                let dir = dir.clone();
                blocking(move || Ok(last_activity(&dir).is_none_or(|last| last < idle_before)))
                    .await?
            };
            if idle && blocking(move || remove_dir(&dir)).await? {
                expired += 1;
                if let Some(id) = id {
                    self.forget(&id);
                }
            }
        }
        Ok(expired)
    }
}

/// What moving a request body into a file did.
struct Pumped {
    written: u64,
    /// The hash of everything in the file, when it is known.
    hasher: Option<Hasher>,
    write_error: Option<io::Error>,
    body_error: Option<io::Error>,
}

/// Appends `body` to `file` on a blocking thread, hashing as it writes.
async fn pump(file: File, hasher: Option<Hasher>, mut body: ByteStream) -> Pumped {
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Bytes>(CHANNEL_DEPTH);
    let writer = tokio::task::spawn_blocking(move || {
        let mut out = BufWriter::with_capacity(WRITE_BUFFER, file);
        let mut hasher = hasher;
        let mut written = 0;
        while let Some(chunk) = receiver.blocking_recv() {
            if let Err(error) = out.write_all(&chunk) {
                // How much reached the file is unknown: the hash no longer matches it.
                return (written, None, Some(error));
            }
            if let Some(hasher) = &mut hasher {
                hasher.update(&chunk);
            }
            written += chunk.len() as u64;
        }
        match out.flush() {
            Ok(()) => (written, hasher, None),
            Err(error) => (written, None, Some(error)),
        }
    });
    let mut body_error = None;
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(chunk) => {
                if sender.send(chunk).await.is_err() {
                    break; // The writer failed; its error says why.
                }
            }
            Err(error) => {
                body_error = Some(error);
                break;
            }
        }
    }
    drop(sender);
    let (written, hasher, write_error) = match writer.await {
        Ok(outcome) => outcome,
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Err(_) => (
            0,
            None,
            Some(io::Error::other("the runtime is shutting down")),
        ),
    };
    Pumped {
        written,
        hasher,
        write_error,
        body_error,
    }
}

/// Verifies an upload and renames its data into the blob store.
fn commit_upload(
    dir: &Path,
    data: &Path,
    hasher: Option<Hasher>,
    expected: &Digest,
    target: &Path,
    size: u64,
) -> Result<BlobInfo, StorageError> {
    let actual = match hasher {
        Some(hasher) => hasher.finish(),
        None => hash_file(data, expected.algorithm())?,
    };
    if &actual != expected {
        remove_dir(dir)?;
        return Err(StorageError::DigestMismatch {
            expected: expected.clone(),
            actual,
        });
    }
    if !touch_file(target)? {
        // Flushed before the rename: a blob is never visible with bytes still in flight.
        File::open(data)
            .and_then(|file| file.sync_all())
            .map_err(|source| StorageError::io(data, "flushing", source))?;
        files::rename_into_place(data, target)?;
    }
    remove_dir(dir)?;
    Ok(BlobInfo {
        digest: expected.clone(),
        size,
        touched: SystemTime::now(),
    })
}

fn hash_file(path: &Path, algorithm: Algorithm) -> Result<Digest, StorageError> {
    let mut file = File::open(path).map_err(|source| StorageError::io(path, "opening", source))?;
    let mut hasher = Hasher::new(algorithm);
    let mut buffer = vec![0; WRITE_BUFFER];
    loop {
        match file.read(&mut buffer) {
            Ok(0) => return Ok(hasher.finish()),
            Ok(read) => hasher.update(&buffer[..read]),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => return Err(StorageError::io(path, "reading", source)),
        }
    }
}

/// Streams `length` bytes of `file` from `start`, read on a blocking thread a chunk ahead.
fn stream_file(file: File, start: u64, length: u64) -> ByteStream {
    let (sender, receiver) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        let mut file = file;
        if let Err(error) = file.seek(SeekFrom::Start(start)) {
            let _ = sender.blocking_send(Err(error));
            return;
        }
        let mut remaining = length;
        while remaining > 0 {
            let want = usize::try_from(remaining)
                .unwrap_or(usize::MAX)
                .min(READ_CHUNK);
            let mut chunk = BytesMut::zeroed(want);
            let read = match file.read(&mut chunk) {
                Ok(0) => Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the blob is shorter than its size",
                )),
                Ok(read) => Ok(read),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => Err(error),
            };
            let sent = match read {
                Ok(read) => {
                    chunk.truncate(read);
                    remaining -= read as u64;
                    sender.blocking_send(Ok(chunk.freeze()))
                }
                Err(error) => {
                    let _ = sender.blocking_send(Err(error));
                    return;
                }
            };
            if sent.is_err() {
                return; // The client went away.
            }
        }
    });
    futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    })
    .boxed()
}

/// Sets the file's modification time to now; `false` if there is no file.
fn touch_file(path: &Path) -> Result<bool, StorageError> {
    match File::open(path) {
        Ok(file) => {
            file.set_modified(SystemTime::now())
                .map_err(|source| StorageError::io(path, "touching", source))?;
            Ok(true)
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(StorageError::io(path, "opening", source)),
    }
}

/// Removes the blob at `path` unless it was touched at or after `cutoff`.
///
/// The blob is first moved aside ([`files::move_aside`], which a crash cannot lose), then its
/// time is read: a touch either happened before the
/// rename, and the time shows it, or it happens after and finds no blob (and its caller treats
/// the blob as missing). Either way no blob that a caller successfully touched after `cutoff`
/// is removed.
fn sweep_file(
    root: &Path,
    tmp_dir: &Path,
    path: &Path,
    cutoff: SystemTime,
) -> Result<Sweep, StorageError> {
    let Some(aside) = files::move_aside(root, tmp_dir, path)? else {
        return Ok(Sweep::Absent);
    };
    let metadata =
        fs::metadata(&aside).map_err(|source| StorageError::io(&aside, "reading", source))?;
    if modified(&metadata) >= cutoff {
        fs::rename(&aside, path)
            .map_err(|source| StorageError::io(path, "putting back", source))?;
        return Ok(Sweep::Kept);
    }
    files::remove_file(&aside)?;
    if let Some(parent) = path.parent() {
        files::prune_empty_dirs(&root.join("blobs"), parent);
    }
    Ok(Sweep::Removed(metadata.len()))
}

fn list_blobs(root: &Path) -> Result<Vec<BlobInfo>, StorageError> {
    let mut blobs = Vec::new();
    for algorithm in Algorithm::ALL {
        let dir = root.join(algorithm.name());
        for prefix in files::list_dir(&dir)? {
            let prefix_dir = dir.join(prefix);
            for name in files::list_dir(&prefix_dir)? {
                let Ok(digest) = format!("{}:{name}", algorithm.name()).parse::<Digest>() else {
                    continue; // Not a blob of ours.
                };
                let path = prefix_dir.join(&name);
                match fs::metadata(&path) {
                    Ok(metadata) => {
                        blobs.push(BlobInfo {
                            digest,
                            size: metadata.len(),
                            touched: modified(&metadata),
                        });
                    }
                    Err(error) if error.kind() == io::ErrorKind::NotFound => {} // Swept meanwhile.
                    Err(source) => return Err(StorageError::io(&path, "reading", source)),
                }
            }
        }
    }
    Ok(blobs)
}

fn read_session(dir: &Path) -> Result<Option<UploadState>, StorageError> {
    let record_path = dir.join(SESSION);
    let Some(record) = files::read_optional(&record_path)? else {
        return Ok(None);
    };
    let damaged = |detail: String| StorageError::Damaged {
        path: record_path.clone(),
        detail,
    };
    let record: SessionRecord = match serde_json::from_slice(&record) {
        Ok(record) => record,
        Err(error) => {
            // A session record is written without a flush (`start_upload`); one that a crash
            // cut short is an upload the client must start again, and expiry removes it.
            tracing::warn!(path = %record_path.display(), %error, "an upload session record is incomplete; treating the upload as unknown");
            return Ok(None);
        }
    };
    let repository = record
        .repository
        .parse()
        .map_err(|error: crate::name::NameError| damaged(error.to_string()))?;
    let data = dir.join(DATA);
    match fs::metadata(&data) {
        Ok(metadata) => Ok(Some(UploadState {
            repository,
            size: metadata.len(),
            last_activity: modified(&metadata),
        })),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StorageError::io(&data, "reading", source)),
    }
}

/// When an upload last received bytes: its data file's time, else its directory's.
fn last_activity(dir: &Path) -> Option<SystemTime> {
    fs::metadata(dir.join(DATA))
        .or_else(|_| fs::metadata(dir))
        .ok()
        .map(|metadata| modified(&metadata))
}

fn remove_dir(dir: &Path) -> Result<bool, StorageError> {
    match fs::remove_dir_all(dir) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(StorageError::io(dir, "removing", source)),
    }
}

/// A file's modification time; the epoch where the file system keeps none, which makes such a
/// file old rather than protected.
fn modified(metadata: &fs::Metadata) -> SystemTime {
    metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, FsBlobStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        (dir, store)
    }

    fn body(chunks: &[&'static [u8]]) -> ByteStream {
        let chunks: Vec<io::Result<Bytes>> = chunks
            .iter()
            .map(|chunk| Ok(Bytes::from_static(chunk)))
            .collect();
        futures::stream::iter(chunks).boxed()
    }

    async fn collect(content: BlobContent) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut body = content.body;
        while let Some(chunk) = body.next().await {
            bytes.extend_from_slice(&chunk.unwrap());
        }
        bytes
    }

    fn repository() -> RepositoryName {
        "shop/web".parse().unwrap()
    }

    #[tokio::test]
    async fn an_upload_in_chunks_becomes_a_blob_once_verified() {
        let (_dir, store) = store();
        let id = store.start_upload(&repository()).await.unwrap();
        assert_eq!(
            store
                .append(&id, Some(0), body(&[b"hello "]))
                .await
                .unwrap(),
            6
        );
        assert_eq!(
            store
                .append(&id, Some(6), body(&[b"wor", b"ld"]))
                .await
                .unwrap(),
            11
        );
        let digest = Digest::sha256(b"hello world");
        assert_eq!(store.stat(&digest).await.unwrap(), None);

        let info = store.finish(&id, &digest).await.unwrap();

        assert_eq!(info.size, 11);
        assert_eq!(store.stat(&digest).await.unwrap().unwrap().size, 11);
        let content = store.read(&digest, 6, 5).await.unwrap().unwrap();
        assert_eq!(content.total, 11);
        assert_eq!(collect(content).await, b"world");
        assert_eq!(store.upload(&id).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_chunk_out_of_order_is_refused_and_changes_nothing() {
        let (_dir, store) = store();
        let id = store.start_upload(&repository()).await.unwrap();
        store.append(&id, None, body(&[b"abc"])).await.unwrap();
        let error = store.append(&id, Some(1), body(&[b"x"])).await.unwrap_err();
        assert!(
            matches!(
                error,
                StorageError::OutOfOrder {
                    expected: 3,
                    got: 1
                }
            ),
            "{error:?}"
        );
        assert_eq!(store.upload(&id).await.unwrap().unwrap().size, 3);
    }

    #[tokio::test]
    async fn a_wrong_digest_drops_the_upload_and_stores_nothing() {
        let (_dir, store) = store();
        let id = store.start_upload(&repository()).await.unwrap();
        store.append(&id, None, body(&[b"abc"])).await.unwrap();
        let claimed = Digest::sha256(b"abd");
        let error = store.finish(&id, &claimed).await.unwrap_err();
        assert!(
            matches!(&error, StorageError::DigestMismatch { actual, .. } if *actual == Digest::sha256(b"abc"))
        );
        assert_eq!(store.stat(&claimed).await.unwrap(), None);
        assert_eq!(store.stat(&Digest::sha256(b"abc")).await.unwrap(), None);
        assert!(matches!(
            store.finish(&id, &claimed).await,
            Err(StorageError::UploadUnknown(_))
        ));
    }

    #[tokio::test]
    async fn an_upload_survives_a_new_store_on_the_same_directory_and_sha512_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let id = {
            let store = FsBlobStore::open(dir.path()).unwrap();
            let id = store.start_upload(&repository()).await.unwrap();
            store
                .append(&id, None, body(&[b"part one, "]))
                .await
                .unwrap();
            id
        };
        let store = FsBlobStore::open(dir.path()).unwrap();
        let state = store.upload(&id).await.unwrap().unwrap();
        assert_eq!((state.repository, state.size), (repository(), 10));
        store
            .append(&id, Some(10), body(&[b"part two"]))
            .await
            .unwrap();
        let digest = Digest::of(Algorithm::Sha512, b"part one, part two");
        store.finish(&id, &digest).await.unwrap();
        assert_eq!(
            store.read_all(&digest).await.unwrap().unwrap(),
            &b"part one, part two"[..]
        );
    }

    #[tokio::test]
    async fn an_interrupted_body_keeps_what_arrived() {
        let (_dir, store) = store();
        let id = store.start_upload(&repository()).await.unwrap();
        let broken = futures::stream::iter([
            Ok(Bytes::from_static(b"abc")),
            Err(io::Error::new(io::ErrorKind::ConnectionReset, "gone")),
        ])
        .boxed();
        let error = store.append(&id, None, broken).await.unwrap_err();
        assert!(matches!(error, StorageError::Interrupted(_)), "{error:?}");
        assert_eq!(store.upload(&id).await.unwrap().unwrap().size, 3);
        store.append(&id, Some(3), body(&[b"def"])).await.unwrap();
        store.finish(&id, &Digest::sha256(b"abcdef")).await.unwrap();
    }

    #[tokio::test]
    async fn sweep_keeps_what_was_touched_after_the_cutoff() {
        let (_dir, store) = store();
        let old = Digest::sha256(b"old");
        let fresh = Digest::sha256(b"fresh");
        store.put(&old, Bytes::from_static(b"old")).await.unwrap();
        store
            .put(&fresh, Bytes::from_static(b"fresh"))
            .await
            .unwrap();
        let past = SystemTime::now() - Duration::from_secs(7200);
        File::open(store.blob_path(&old))
            .unwrap()
            .set_modified(past)
            .unwrap();
        File::open(store.blob_path(&fresh))
            .unwrap()
            .set_modified(past)
            .unwrap();
        assert!(store.touch(&fresh).await.unwrap());
        let cutoff = SystemTime::now() - Duration::from_secs(3600);

        assert_eq!(store.sweep(&old, cutoff).await.unwrap(), Sweep::Removed(3));
        assert_eq!(store.sweep(&fresh, cutoff).await.unwrap(), Sweep::Kept);
        assert_eq!(store.sweep(&old, cutoff).await.unwrap(), Sweep::Absent);
        let listed: Vec<Digest> = store
            .list()
            .await
            .unwrap()
            .into_iter()
            .map(|blob| blob.digest)
            .collect();
        assert_eq!(listed, [fresh]);
    }

    #[tokio::test]
    async fn idle_uploads_expire() {
        let (_dir, store) = store();
        let idle = store.start_upload(&repository()).await.unwrap();
        let active = store.start_upload(&repository()).await.unwrap();
        let past = SystemTime::now() - Duration::from_secs(7200);
        File::options()
            .append(true)
            .open(store.upload_dir(&idle).join(DATA))
            .unwrap()
            .set_modified(past)
            .unwrap();
        let expired = store
            .expire_uploads(SystemTime::now() - Duration::from_secs(3600))
            .await
            .unwrap();
        assert_eq!(expired, 1);
        assert_eq!(store.upload(&idle).await.unwrap(), None);
        assert!(store.upload(&active).await.unwrap().is_some());
    }
}
