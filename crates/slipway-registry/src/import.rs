//! Importing an image from a container engine's `docker save` archive.
//!
//! This is how `slipway push` stores a built image in the embedded registry: the engine exports
//! the image, and [`Registry::import_archive`] stores its config and layers as blobs and an OCI
//! image manifest under every tag, through the same operations an HTTP push uses (so the push
//! hook fires and the events are recorded). No network, TLS or credentials are involved, so it
//! works the same with Docker and Podman.
//!
//! The archive is read as it streams: `manifest.json` (which names the config and the layers in
//! order) may come anywhere in it, so every file is stored as a blob when it passes, and the
//! manifest is written at the end from what `manifest.json` names. Layers are stored as the
//! archive holds them (uncompressed tars, usually), so the same image always gets the same
//! digest. Files the manifest does not name are left unreferenced for the next garbage
//! collection.

use std::collections::HashMap;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use bytes::Bytes;
use futures::StreamExt;
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};

use crate::digest::{Algorithm, Digest, Hasher};
use crate::error::RegistryError;
use crate::manifest::{Manifest, OCI_MANIFEST};
use crate::name::{Reference, RepositoryName, Tag};
use crate::registry::{Registry, StoredManifest};
use crate::storage::ByteStream;

/// The largest `manifest.json` read.
const MAX_INDEX_SIZE: u64 = 1024 * 1024;

/// Bytes read from the archive per chunk.
const CHUNK: usize = 1024 * 1024;

/// An image stored by [`Registry::import_archive`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedImage {
    /// The manifest's digest.
    pub digest: Digest,
    /// The layers stored, in order.
    pub layers: usize,
    /// The bytes of config and layers.
    pub size: u64,
}

/// Why an archive could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The archive stream broke, or is not a tar.
    #[error("cannot read the image archive: {0}")]
    Unreadable(#[source] io::Error),
    /// The archive is a tar, but not an image as `docker save` writes it.
    #[error("the image archive is not as `docker save` writes it: {0}")]
    NotAnImage(String),
    /// The registry refused what the archive holds.
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

/// A file of the archive on its way into the store.
struct Entry {
    path: PathBuf,
    chunks: mpsc::Receiver<io::Result<Bytes>>,
    done: oneshot::Receiver<Stored>,
}

/// What the reader learned about a file once it passed.
#[derive(Debug, Clone, Copy)]
struct Stored {
    size: u64,
    gzip: bool,
}

/// What the reader hands back at the end: `manifest.json`, and the archive's links.
struct Index {
    manifest: Vec<u8>,
    links: HashMap<PathBuf, PathBuf>,
}

/// One image of `manifest.json`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ArchivedImage {
    config: String,
    layers: Vec<String>,
}

impl Registry {
    /// The image tagged `tags[0]` in `repository`, when its config is `config`, with every other
    /// tag of `tags` pointed at it too; `None` when no such tag exists or it holds another image.
    ///
    /// A container engine's image id is the digest of the image's config, which an import stores
    /// as it is: asked before exporting, this finds an image pushed before without exporting and
    /// storing it again. Tags already pointing at it are left alone, so no push hook fires for them.
    pub async fn retag_image(
        &self,
        repository: &RepositoryName,
        tags: &[Tag],
        config: &Digest,
    ) -> Result<Option<ImportedImage>, RegistryError> {
        let Some((first, others)) = tags.split_first() else {
            return Ok(None);
        };
        let Some(stored) = self.tagged(repository, first).await? else {
            return Ok(None);
        };
        let Some(content) = self.blobs.read_all(&stored.digest).await? else {
            return Ok(None);
        };
        let Ok(manifest) = Manifest::parse(Some(&stored.media_type), &content) else {
            return Ok(None);
        };
        let [image_config, layers @ ..] = manifest.blobs() else {
            return Ok(None);
        };
        if image_config.digest != *config {
            return Ok(None);
        }
        for tag in others {
            let current = self.tagged(repository, tag).await?;
            if current.is_none_or(|current| current.digest != stored.digest) {
                let reference = Reference::Tag(tag.clone());
                self.put_manifest(
                    repository,
                    &reference,
                    Some(&stored.media_type),
                    content.clone(),
                )
                .await?;
            }
        }
        Ok(Some(ImportedImage {
            digest: stored.digest,
            layers: layers.len(),
            size: manifest.blobs().iter().map(|blob| blob.size).sum(),
        }))
    }

    /// The manifest `tag` names, or `None` when the tag (or the repository) does not exist.
    async fn tagged(
        &self,
        repository: &RepositoryName,
        tag: &Tag,
    ) -> Result<Option<StoredManifest>, RegistryError> {
        match self
            .manifest(repository, &Reference::Tag(tag.clone()))
            .await
        {
            Ok(stored) => Ok(Some(stored)),
            Err(RegistryError::ManifestUnknown { .. } | RegistryError::NameUnknown(_)) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Stores the image in `archive` (a `docker save` tar) in `repository` under each of `tags`.
    pub async fn import_archive(
        &self,
        repository: &RepositoryName,
        tags: &[Tag],
        archive: ByteStream,
    ) -> Result<ImportedImage, ImportError> {
        let (bytes_in, bytes_out) = mpsc::channel(4);
        let forwarding = tokio::spawn(forward(archive, bytes_in));
        let (entries_in, mut entries) = mpsc::channel(1);
        let reading = tokio::task::spawn_blocking(move || {
            read_archive(ChannelReader::new(bytes_out), &entries_in)
        });

        let mut stored: HashMap<PathBuf, (Digest, Stored)> = HashMap::new();
        while let Some(entry) = entries.recv().await {
            let id = self.start_upload(repository).await?;
            let (digest_in, digest_out) = oneshot::channel();
            let body = hashing(entry.chunks, digest_in);
            self.append_upload(repository, &id, None, body).await?;
            let (Ok(digest), Ok(done)) = (digest_out.await, entry.done.await) else {
                // The reader failed mid-file; its error says why.
                break;
            };
            self.finish_upload(repository, &id, &digest, None).await?;
            stored.insert(entry.path, (digest, done));
        }
        let index = match reading.await {
            Ok(index) => index?,
            Err(error) => std::panic::resume_unwind(error.into_panic()),
        };
        forwarding.abort();
        let manifest = build_manifest(&index, &stored)?;
        let digest = Digest::of(Algorithm::Sha256, &manifest.bytes);
        // Without a tag the image is stored by its digest alone.
        let references: Vec<Reference> = if tags.is_empty() {
            vec![Reference::Digest(digest.clone())]
        } else {
            tags.iter().cloned().map(Reference::Tag).collect()
        };
        for reference in &references {
            self.put_manifest(
                repository,
                reference,
                Some(OCI_MANIFEST),
                manifest.bytes.clone(),
            )
            .await?;
        }
        Ok(ImportedImage {
            digest,
            layers: manifest.layers,
            size: manifest.size,
        })
    }
}

/// Moves the archive's bytes into the channel the reader reads.
async fn forward(mut archive: ByteStream, into: mpsc::Sender<io::Result<Bytes>>) {
    while let Some(chunk) = archive.next().await {
        let failed = chunk.is_err();
        if into.send(chunk).await.is_err() || failed {
            return;
        }
    }
}

/// A file's chunks as a stream, hashing them as they pass and sending the digest at the end.
fn hashing(
    chunks: mpsc::Receiver<io::Result<Bytes>>,
    digest: oneshot::Sender<Digest>,
) -> ByteStream {
    let state = (chunks, Some(Hasher::new(Algorithm::Sha256)), Some(digest));
    futures::stream::unfold(state, |(mut chunks, mut hasher, mut digest)| async move {
        match chunks.recv().await {
            Some(Ok(chunk)) => {
                if let Some(hasher) = &mut hasher {
                    hasher.update(&chunk);
                }
                Some((Ok(chunk), (chunks, hasher, digest)))
            }
            Some(Err(error)) => Some((Err(error), (chunks, None, None))),
            None => {
                if let (Some(hasher), Some(digest)) = (hasher.take(), digest.take()) {
                    let _ = digest.send(hasher.finish());
                }
                None
            }
        }
    })
    .boxed()
}

/// Reads the archive on a blocking thread, handing each regular file to the importer.
fn read_archive(
    reader: ChannelReader,
    entries: &mpsc::Sender<Entry>,
) -> Result<Index, ImportError> {
    let mut archive = tar::Archive::new(reader);
    let mut manifest = None;
    let mut links = HashMap::new();
    for entry in archive.entries().map_err(ImportError::Unreadable)? {
        let mut entry = entry.map_err(ImportError::Unreadable)?;
        let path = normalize(&entry.path().map_err(ImportError::Unreadable)?);
        let kind = entry.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            if let Some(target) = entry.link_name().map_err(ImportError::Unreadable)? {
                let target = if kind.is_symlink() {
                    path.parent().unwrap_or(Path::new("")).join(target)
                } else {
                    target.into_owned()
                };
                links.insert(path, normalize(&target));
            }
            continue;
        }
        if !kind.is_file() {
            continue;
        }
        if path == Path::new("manifest.json") {
            let mut bytes = Vec::new();
            (&mut entry)
                .take(MAX_INDEX_SIZE)
                .read_to_end(&mut bytes)
                .map_err(ImportError::Unreadable)?;
            manifest = Some(bytes);
            continue;
        }
        let (chunks_in, chunks) = mpsc::channel(4);
        let (done_in, done) = oneshot::channel();
        if entries.blocking_send(Entry { path, chunks, done }).is_err() {
            return Err(ImportError::Unreadable(io::Error::other(
                "the import stopped",
            )));
        }
        let stored = copy_entry(&mut entry, &chunks_in)?;
        let _ = done_in.send(stored);
    }
    let manifest =
        manifest.ok_or_else(|| ImportError::NotAnImage("it has no manifest.json".to_owned()))?;
    Ok(Index { manifest, links })
}

/// Sends a file's bytes in chunks; says how many and whether they are gzip-compressed.
fn copy_entry(
    entry: &mut impl Read,
    chunks: &mpsc::Sender<io::Result<Bytes>>,
) -> Result<Stored, ImportError> {
    let mut size = 0;
    let mut gzip = false;
    loop {
        let mut buffer = vec![0; CHUNK];
        let read = match entry.read(&mut buffer) {
            Ok(0) => return Ok(Stored { size, gzip }),
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => {
                let _ = chunks.blocking_send(Err(io::Error::new(error.kind(), error.to_string())));
                return Err(ImportError::Unreadable(error));
            }
        };
        if size == 0 {
            gzip = buffer[..read].starts_with(&[0x1f, 0x8b]);
        }
        size += read as u64;
        buffer.truncate(read);
        if chunks.blocking_send(Ok(Bytes::from(buffer))).is_err() {
            return Err(ImportError::Unreadable(io::Error::other(
                "the import stopped",
            )));
        }
    }
}

/// A path without `.` components or a leading `./`, with `..` applied.
fn normalize(path: &Path) -> PathBuf {
    let mut normal = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => normal.push(part),
            Component::ParentDir => {
                normal.pop();
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    normal
}

/// The manifest to store, and what it holds.
struct BuiltManifest {
    bytes: Bytes,
    layers: usize,
    size: u64,
}

/// The OCI image manifest for the image `manifest.json` describes.
fn build_manifest(
    index: &Index,
    stored: &HashMap<PathBuf, (Digest, Stored)>,
) -> Result<BuiltManifest, ImportError> {
    let images: Vec<ArchivedImage> = serde_json::from_slice(&index.manifest)
        .map_err(|error| ImportError::NotAnImage(format!("manifest.json: {error}")))?;
    let [image] = images.as_slice() else {
        return Err(ImportError::NotAnImage(format!(
            "it holds {} images, not one",
            images.len()
        )));
    };
    let find = |name: &str| -> Result<&(Digest, Stored), ImportError> {
        let mut path = normalize(Path::new(name));
        for _ in 0..16 {
            match index.links.get(&path) {
                Some(target) => path = target.clone(),
                None => break,
            }
        }
        stored.get(&path).ok_or_else(|| {
            ImportError::NotAnImage(format!(
                "manifest.json names {name}, which the archive lacks"
            ))
        })
    };
    let (config_digest, config) = find(&image.config)?;
    let mut size = config.size;
    let mut layers = Vec::new();
    for layer in &image.layers {
        let (digest, stored) = find(layer)?;
        size += stored.size;
        let media_type = if stored.gzip {
            "application/vnd.oci.image.layer.v1.tar+gzip"
        } else {
            "application/vnd.oci.image.layer.v1.tar"
        };
        layers.push(serde_json::json!({ "mediaType": media_type, "digest": digest.to_string(), "size": stored.size }));
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest.to_string(), "size": config.size },
        "layers": layers,
    });
    let bytes = serde_json::to_vec(&manifest)
        .map_err(|error| ImportError::NotAnImage(error.to_string()))?;
    Ok(BuiltManifest {
        bytes: Bytes::from(bytes),
        layers: layers.len(),
        size,
    })
}

/// A blocking [`Read`] over chunks arriving on a channel.
struct ChannelReader {
    chunks: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

impl ChannelReader {
    fn new(chunks: mpsc::Receiver<io::Result<Bytes>>) -> ChannelReader {
        ChannelReader {
            chunks,
            current: Bytes::new(),
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(error)) => return Err(error),
                None => return Ok(0),
            }
        }
        let n = buffer.len().min(self.current.len());
        buffer[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_normalize() {
        assert_eq!(normalize(Path::new("./a/b/../c.tar")), Path::new("a/c.tar"));
        assert_eq!(normalize(Path::new("/x/./y")), Path::new("x/y"));
    }
}
