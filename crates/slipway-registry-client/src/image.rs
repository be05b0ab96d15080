//! Container images pulled from a registry into an OCI image layout, for scanning without a
//! container engine: the manifest for one platform and every blob it references, each streamed
//! to `blobs/<algorithm>/<hex>` and verified on the way, then `index.json` naming the manifest.

use std::path::Path;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http_body_util::BodyExt as _;
use serde::Deserialize;
use slipway_registry::digest::Hasher;
use slipway_registry::manifest::{Manifest, ManifestKind, OCI_INDEX};
use slipway_registry::{Digest, Reference, RepositoryName};
use tokio::io::AsyncWriteExt as _;

use crate::client::RegistryClient;
use crate::error::ClientError;

/// How deep image indexes may nest before the pull gives up.
const MAX_INDEX_DEPTH: usize = 4;

/// The platform to pick from an image index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Platform<'a> {
    /// `linux`.
    pub os: &'a str,
    /// `amd64`, `arm64`, ... as OCI names them.
    pub architecture: &'a str,
}

/// An image pulled by [`RegistryClient::pull_image`].
#[derive(Debug, Clone)]
pub struct PulledImage {
    /// The image manifest's digest (the platform's, when the reference named an index).
    pub digest: Digest,
    /// The image manifest.
    pub manifest: Bytes,
}

/// The entries of an index, with the platforms the image spec lets them carry.
#[derive(Deserialize)]
struct IndexPlatforms {
    manifests: Vec<IndexEntry>,
}

#[derive(Deserialize)]
struct IndexEntry {
    digest: Digest,
    platform: Option<EntryPlatform>,
}

#[derive(Deserialize)]
struct EntryPlatform {
    os: String,
    architecture: String,
}

impl RegistryClient {
    /// Pulls the image `reference` of `repository` into `dir` as an OCI image layout: the image
    /// manifest (for `platform` when the reference names an index) and its config and layers,
    /// each streamed to `dir/blobs/<algorithm>/<hex>` and checked against its digest, and an
    /// `index.json` listing the manifest alone.
    ///
    /// # Errors
    ///
    /// The registry refuses the credentials or has no such image; the reference names no image
    /// for `platform`; a blob does not match its digest; `dir` cannot be written.
    pub async fn pull_image(
        &self,
        repository: &RepositoryName,
        reference: &Reference,
        platform: Platform<'_>,
        dir: &Path,
    ) -> Result<PulledImage, ClientError> {
        let named = format!("{repository}:{reference}");
        let (mut digest, mut bytes, mut content_type) =
            self.manifest(repository, &reference.to_string()).await?;
        for _ in 0..=MAX_INDEX_DEPTH {
            let manifest = Manifest::parse(content_type.as_deref(), &bytes).map_err(|error| {
                ClientError::NotAnImage {
                    registry: self.registry().to_owned(),
                    reference: named.clone(),
                    found: error.to_string(),
                }
            })?;
            if manifest.kind() == ManifestKind::Image {
                let blobs = dir.join("blobs");
                for blob in manifest.blobs() {
                    self.blob_to_file(repository, &blob.digest, &blobs).await?;
                }
                write_layout(dir, &digest, manifest.media_type(), &bytes).await?;
                return Ok(PulledImage {
                    digest,
                    manifest: bytes,
                });
            }
            let child = self.choose(&named, &bytes, platform)?;
            (digest, bytes, content_type) = self.manifest(repository, &child.to_string()).await?;
        }
        Err(ClientError::NotAnImage {
            registry: self.registry().to_owned(),
            reference: named,
            found: format!("indexes nested more than {MAX_INDEX_DEPTH} deep"),
        })
    }

    /// The entry of the index `bytes` for `platform`, or its only entry.
    fn choose(
        &self,
        named: &str,
        bytes: &[u8],
        platform: Platform<'_>,
    ) -> Result<Digest, ClientError> {
        let index: IndexPlatforms =
            serde_json::from_slice(bytes).map_err(|error| ClientError::NotAnImage {
                registry: self.registry().to_owned(),
                reference: named.to_owned(),
                found: error.to_string(),
            })?;
        let matches = |entry: &&IndexEntry| {
            entry.platform.as_ref().is_some_and(|found| {
                (found.os.as_str(), found.architecture.as_str())
                    == (platform.os, platform.architecture)
            })
        };
        if let Some(entry) = index.manifests.iter().find(matches) {
            return Ok(entry.digest.clone());
        }
        match index.manifests.as_slice() {
            [only] => Ok(only.digest.clone()),
            entries => Err(ClientError::NoPlatform {
                registry: self.registry().to_owned(),
                reference: named.to_owned(),
                platform: format!("{}/{}", platform.os, platform.architecture),
                available: entries
                    .iter()
                    .filter_map(|entry| entry.platform.as_ref())
                    .map(|found| format!("{}/{}", found.os, found.architecture))
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// Streams the blob `digest` of `repository` into `blobs/<algorithm>/<hex>`; a blob that
    /// does not match its digest is removed.
    async fn blob_to_file(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
        blobs: &Path,
    ) -> Result<(), ClientError> {
        let (response, doing) = self.blob_response(repository, digest).await?;
        let folder = blobs.join(digest.algorithm().name());
        let path = folder.join(digest.hex());
        let write_error = |source| ClientError::Write {
            path: path.clone(),
            source,
        };
        tokio::fs::create_dir_all(&folder)
            .await
            .map_err(write_error)?;
        let mut file = tokio::fs::File::create(&path).await.map_err(write_error)?;
        let mut hasher = Hasher::new(digest.algorithm());
        let mut body = response.into_body();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|error| self.unreachable(&doing, &error))?;
            if let Ok(data) = frame.into_data() {
                hasher.update(&data);
                file.write_all(&data).await.map_err(write_error)?;
            }
        }
        file.flush().await.map_err(write_error)?;
        let actual = hasher.finish();
        if actual != *digest {
            drop(file);
            tokio::fs::remove_file(&path).await.map_err(write_error)?;
            return Err(ClientError::DigestMismatch {
                registry: self.registry().to_owned(),
                what: format!("blob {digest}"),
                expected: digest.to_string(),
                actual: actual.to_string(),
            });
        }
        Ok(())
    }
}

/// Completes the OCI image layout in `dir` around the image manifest `bytes`: the manifest as a
/// blob, `index.json` naming it, and the `oci-layout` marker.
async fn write_layout(
    dir: &Path,
    digest: &Digest,
    media_type: &str,
    bytes: &Bytes,
) -> Result<(), ClientError> {
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{
            "mediaType": media_type,
            "digest": digest.to_string(),
            "size": bytes.len(),
        }],
    });
    let folder = dir.join("blobs").join(digest.algorithm().name());
    let files = [
        (folder.join(digest.hex()), bytes.to_vec()),
        (dir.join("index.json"), index.to_string().into_bytes()),
        (
            dir.join("oci-layout"),
            br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
        ),
    ];
    for (path, content) in files {
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|source| ClientError::Write {
                    path: parent.to_owned(),
                    source,
                })?;
        }
        tokio::fs::write(&path, content)
            .await
            .map_err(|source| ClientError::Write { path, source })?;
    }
    Ok(())
}

/// The media type a response says its body is, without parameters.
pub(crate) fn content_type(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|value| value.trim().to_owned())
}
