//! Bundles (a service's build context as an OCI artifact, for the process runtime) to and from a
//! registry other than the embedded one, in the same form `slipway-registry` stores them.

use std::collections::BTreeMap;

use bytes::Bytes;
use slipway_registry::manifest::OCI_MANIFEST;
use slipway_registry::{
    BUNDLE_CONFIG, Digest, PulledBundle, Reference, RepositoryName, Tag, bundle_annotations,
    bundle_layer, bundle_manifest,
};

use crate::client::RegistryClient;
use crate::error::ClientError;

impl RegistryClient {
    /// Pushes `tar` as a bundle to `repository` under each of `tags` (by digest alone when there
    /// are none), with `annotations` on its manifest; returns the manifest's digest.
    ///
    /// # Errors
    ///
    /// The registry refuses the credentials or the content, or cannot be reached.
    pub async fn push_bundle(
        &self,
        repository: &RepositoryName,
        tags: &[Tag],
        tar: Bytes,
        annotations: &BTreeMap<String, String>,
    ) -> Result<Digest, ClientError> {
        self.push_blob(repository, Bytes::from_static(BUNDLE_CONFIG))
            .await?;
        let layer_size = tar.len() as u64;
        let layer = self.push_blob(repository, tar).await?;
        let manifest = bundle_manifest(&layer, layer_size, annotations);
        let digest = Digest::sha256(&manifest);
        let references: Vec<String> = if tags.is_empty() {
            vec![digest.to_string()]
        } else {
            tags.iter().map(ToString::to_string).collect()
        };
        for reference in &references {
            self.put_manifest(repository, reference, OCI_MANIFEST, manifest.clone())
                .await?;
        }
        Ok(digest)
    }

    /// Pulls the bundle `reference` names in `repository`, refusing anything that is not one.
    ///
    /// # Errors
    ///
    /// The registry refuses the credentials or holds no such manifest, the manifest is not a
    /// bundle, or content does not match its digest.
    pub async fn pull_bundle(
        &self,
        repository: &RepositoryName,
        reference: &Reference,
    ) -> Result<PulledBundle, ClientError> {
        let reference = reference.to_string();
        let (digest, manifest, _) = self.manifest(repository, &reference).await?;
        let layer = bundle_layer(&manifest).map_err(|found| ClientError::NotABundle {
            registry: self.registry().to_owned(),
            reference: format!("{repository}:{reference}"),
            found,
        })?;
        let tar = self.blob(repository, &layer.digest).await?;
        Ok(PulledBundle {
            digest,
            tar,
            annotations: bundle_annotations(&manifest),
        })
    }
}
