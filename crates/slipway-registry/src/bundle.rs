//! Bundles: a service's build output kept as an OCI artifact, for the process runtime.
//!
//! Where no container engine runs, a service is deployed as a process from its build context.
//! The context still goes through the registry, so that a release names immutable content by
//! digest exactly as an image release does: [`Registry::push_bundle`] stores the context's tar
//! as the one layer of an OCI image manifest whose `artifactType` is [`BUNDLE_ARTIFACT_TYPE`]
//! and whose config is the spec's empty descriptor (the artifact guidance of the image spec
//! v1.1), under every tag the build computed. [`Registry::pull_bundle`] reads it back and
//! refuses anything that is not a bundle, so an image is never unpacked as one.

use std::collections::BTreeMap;

use bytes::Bytes;
use futures::StreamExt as _;

use crate::digest::{Algorithm, Digest};
use crate::error::RegistryError;
use crate::manifest::{Descriptor, OCI_MANIFEST};
use crate::name::{Reference, RepositoryName, Tag};
use crate::registry::Registry;
use crate::storage::StorageError;

/// The `artifactType` of a bundle's manifest.
pub const BUNDLE_ARTIFACT_TYPE: &str = "application/vnd.slipway.bundle.v1";
/// The media type of a bundle's one layer: an uncompressed tar of the build context.
pub const BUNDLE_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
/// The image spec's empty config, `{}`, for artifacts that have no config of their own.
const EMPTY_CONFIG: &str = "application/vnd.oci.empty.v1+json";
/// The bytes of that config: the blob every bundle references besides its layer.
pub const BUNDLE_CONFIG: &[u8] = b"{}";

/// A bundle read back from the registry.
#[derive(Debug, Clone)]
pub struct PulledBundle {
    /// The digest of its manifest: what a release records.
    pub digest: Digest,
    /// The tar of the build context.
    pub tar: Bytes,
    /// The manifest's annotations: the labels its build gave it (revision, version, created).
    pub annotations: BTreeMap<String, String>,
}

/// Why a bundle could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The registry failed, or holds no such manifest.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The manifest is there but is not a Slipway bundle (an image, say).
    #[error("{repository}@{digest} is not a Slipway bundle ({found})")]
    NotABundle {
        repository: RepositoryName,
        digest: Digest,
        found: String,
    },
}

impl Registry {
    /// Stores `tar` as a bundle in `repository` under each of `tags` (by digest alone when there
    /// are none) and returns the manifest's digest. `annotations` go on the manifest (the OCI
    /// `org.opencontainers.image.*` keys: revision, version, created).
    pub async fn push_bundle(
        &self,
        repository: &RepositoryName,
        tags: &[Tag],
        tar: Bytes,
        annotations: BTreeMap<String, String>,
    ) -> Result<Digest, RegistryError> {
        self.upload_bytes(repository, Bytes::from_static(BUNDLE_CONFIG))
            .await?;
        let layer_size = tar.len() as u64;
        let layer = self.upload_bytes(repository, tar).await?;
        let bytes = bundle_manifest(&layer, layer_size, &annotations);
        let digest = Digest::of(Algorithm::Sha256, &bytes);
        let references: Vec<Reference> = if tags.is_empty() {
            vec![Reference::Digest(digest.clone())]
        } else {
            tags.iter().cloned().map(Reference::Tag).collect()
        };
        for reference in &references {
            self.put_manifest(repository, reference, Some(OCI_MANIFEST), bytes.clone())
                .await?;
        }
        Ok(digest)
    }

    /// Reads the bundle `reference` names in `repository`.
    pub async fn pull_bundle(
        &self,
        repository: &RepositoryName,
        reference: &Reference,
    ) -> Result<PulledBundle, BundleError> {
        let (stored, content) = self.pull_manifest(repository, reference).await?;
        let not_a_bundle = |found: String| BundleError::NotABundle {
            repository: repository.clone(),
            digest: stored.digest.clone(),
            found,
        };
        let layer = bundle_layer(&content).map_err(not_a_bundle)?;
        let annotations = bundle_annotations(&content);
        let content = self.read_blob(repository, &layer.digest, None).await?;
        let mut tar = Vec::with_capacity(usize::try_from(layer.size).unwrap_or(0));
        let mut chunks = content.body;
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk
                .map_err(|source| StorageError::Io {
                    path: self.storage().to_owned(),
                    doing: "reading a bundle's layer from",
                    source,
                })
                .map_err(RegistryError::from)?;
            tar.extend_from_slice(&chunk);
        }
        Ok(PulledBundle {
            digest: stored.digest,
            tar: Bytes::from(tar),
            annotations,
        })
    }

    /// Uploads `bytes` as one blob and returns its digest.
    async fn upload_bytes(
        &self,
        repository: &RepositoryName,
        bytes: Bytes,
    ) -> Result<Digest, RegistryError> {
        let digest = Digest::of(Algorithm::Sha256, &bytes);
        let body = futures::stream::once(async move { Ok(bytes) }).boxed();
        self.upload_blob(repository, &digest, body).await?;
        Ok(digest)
    }
}

/// The manifest of a bundle whose one layer is `layer` (`layer_size` bytes), annotated with
/// `annotations`: what a registry, embedded or not, stores under the bundle's tags.
pub fn bundle_manifest(
    layer: &Digest,
    layer_size: u64,
    annotations: &BTreeMap<String, String>,
) -> Bytes {
    let config = Digest::of(Algorithm::Sha256, BUNDLE_CONFIG);
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": BUNDLE_ARTIFACT_TYPE,
        "config": descriptor(EMPTY_CONFIG, &config, BUNDLE_CONFIG.len() as u64),
        "layers": [descriptor(BUNDLE_LAYER, layer, layer_size)],
        "annotations": annotations,
    });
    Bytes::from(manifest.to_string())
}

/// The one layer of the bundle whose manifest is `manifest`, or what was found instead when it
/// is not a bundle (an image, say).
///
/// # Errors
///
/// A description of what the manifest is instead, for [`BundleError::NotABundle`].
pub fn bundle_layer(manifest: &[u8]) -> Result<Descriptor, String> {
    let manifest: BundleManifest = serde_json::from_slice(manifest)
        .map_err(|error| format!("unreadable manifest: {error}"))?;
    if manifest.artifact_type.as_deref() != Some(BUNDLE_ARTIFACT_TYPE) {
        return Err(format!(
            "artifact type {}",
            manifest
                .artifact_type
                .as_deref()
                .unwrap_or("none: an image")
        ));
    }
    match <[Descriptor; 1]>::try_from(manifest.layers) {
        Ok([layer]) => Ok(layer),
        Err(layers) => Err(format!("{} layers, not one", layers.len())),
    }
}

/// The annotations on a bundle's `manifest`: the labels of the build that made it (revision,
/// version, created). None when it has none, or is not a bundle's.
pub fn bundle_annotations(manifest: &[u8]) -> BTreeMap<String, String> {
    serde_json::from_slice::<BundleManifest>(manifest)
        .map(|manifest| manifest.annotations)
        .unwrap_or_default()
}

/// The fields of a manifest a bundle is recognised by.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct BundleManifest {
    artifact_type: Option<String>,
    layers: Vec<Descriptor>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

fn descriptor(media_type: &str, digest: &Digest, size: u64) -> serde_json::Value {
    serde_json::json!({ "mediaType": media_type, "digest": digest.to_string(), "size": size })
}
