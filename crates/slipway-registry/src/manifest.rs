//! Manifests: the four media types the registry stores, and what each references.
//!
//! [`Manifest::parse`] reads an OCI image manifest or index, or a Docker schema 2 manifest or
//! manifest list, and checks what the registry relies on: the media type (the `Content-Type` a
//! client sent and the `mediaType` field must agree), `schemaVersion` 2, and descriptors with a
//! media type, a valid digest and a size. The registry stores the bytes exactly as sent; the parsed
//! form only tells it which blobs and manifests the manifest holds (for the push check and for
//! garbage collection) and which subject it refers to (for the referrers API).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;

/// `application/vnd.oci.image.manifest.v1+json`.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// `application/vnd.oci.image.index.v1+json`.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// `application/vnd.docker.distribution.manifest.v2+json`.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// `application/vnd.docker.distribution.manifest.list.v2+json`.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// Every media type the registry accepts as a manifest.
pub const MEDIA_TYPES: [&str; 4] = [
    OCI_MANIFEST,
    OCI_INDEX,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
];

/// Whether a manifest lists blobs (an image) or other manifests (an index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestKind {
    /// An OCI image manifest or a Docker schema 2 manifest: a config and layers.
    Image,
    /// An OCI image index or a Docker manifest list: other manifests.
    Index,
}

/// The kind of the manifest media type `media_type`, or `None` for anything else.
pub fn kind_of(media_type: &str) -> Option<ManifestKind> {
    match media_type {
        OCI_MANIFEST | DOCKER_MANIFEST => Some(ManifestKind::Image),
        OCI_INDEX | DOCKER_MANIFEST_LIST => Some(ManifestKind::Index),
        _ => None,
    }
}

/// A reference from a manifest to content, as the image spec defines it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// The media type of the referenced content.
    pub media_type: String,
    /// Its digest.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
    /// Where a non-distributable layer can be fetched instead of from this registry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    /// The artifact type, on descriptors in the referrers list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// A parsed manifest: what it is and what it references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    media_type: &'static str,
    kind: ManifestKind,
    blobs: Vec<Descriptor>,
    manifests: Vec<Descriptor>,
    subject: Option<Descriptor>,
    artifact_type: Option<String>,
    annotations: BTreeMap<String, String>,
}

/// Why bytes are not a manifest the registry accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid manifest: {0}")]
pub struct ManifestError(pub String);

/// The fields of every manifest type, all optional: which are required depends on the type.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    schema_version: Option<i64>,
    media_type: Option<String>,
    artifact_type: Option<String>,
    config: Option<Descriptor>,
    layers: Option<Vec<Descriptor>>,
    manifests: Option<Vec<Descriptor>>,
    subject: Option<Descriptor>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

impl Manifest {
    /// Parses `bytes` sent with `content_type` (parameters already stripped, `None` when the
    /// client sent none).
    pub fn parse(content_type: Option<&str>, bytes: &[u8]) -> Result<Manifest, ManifestError> {
        let raw: Raw = serde_json::from_slice(bytes)
            .map_err(|error| ManifestError(format!("not a manifest document: {error}")))?;
        let media_type = media_type(content_type, raw.media_type.as_deref())?;
        if raw.schema_version != Some(2) {
            return Err(ManifestError("`schemaVersion` must be 2".to_owned()));
        }
        let kind = kind_of(media_type)
            .ok_or_else(|| ManifestError(format!("unsupported media type {media_type}")))?;
        let (blobs, manifests, artifact_type) = match kind {
            ManifestKind::Image => {
                let config = raw
                    .config
                    .ok_or_else(|| ManifestError("an image manifest needs `config`".to_owned()))?;
                let layers = raw
                    .layers
                    .ok_or_else(|| ManifestError("an image manifest needs `layers`".to_owned()))?;
                let artifact_type = raw
                    .artifact_type
                    .or_else(|| Some(config.media_type.clone()));
                let blobs = std::iter::once(config).chain(layers).collect();
                (blobs, Vec::new(), artifact_type)
            }
            ManifestKind::Index => {
                let manifests = raw
                    .manifests
                    .ok_or_else(|| ManifestError("an index needs `manifests`".to_owned()))?;
                (Vec::new(), manifests, raw.artifact_type)
            }
        };
        Ok(Manifest {
            media_type,
            kind,
            blobs,
            manifests,
            subject: raw.subject,
            artifact_type: artifact_type.filter(|artifact_type| !artifact_type.is_empty()),
            annotations: raw.annotations,
        })
    }

    /// The media type it was stored with.
    pub fn media_type(&self) -> &'static str {
        self.media_type
    }

    /// Image or index.
    pub fn kind(&self) -> ManifestKind {
        self.kind
    }

    /// The blobs an image manifest references: its config, then its layers. Empty for an index.
    pub fn blobs(&self) -> &[Descriptor] {
        &self.blobs
    }

    /// The manifests an index lists. Empty for an image manifest.
    pub fn manifests(&self) -> &[Descriptor] {
        &self.manifests
    }

    /// The manifest this one refers to (a signature's or SBOM's image), if any.
    pub fn subject(&self) -> Option<&Descriptor> {
        self.subject.as_ref()
    }

    /// The artifact type the referrers API reports: `artifactType`, else (for an image
    /// manifest) the config's media type.
    pub fn artifact_type(&self) -> Option<&str> {
        self.artifact_type.as_deref()
    }

    /// The manifest's annotations.
    pub fn annotations(&self) -> &BTreeMap<String, String> {
        &self.annotations
    }
}

/// The media type to store: the `Content-Type` the client sent, else the document's
/// `mediaType`. When both are present they must agree; a generic `Content-Type`
/// (`application/json`, `application/octet-stream`) counts as none.
fn media_type(
    content_type: Option<&str>,
    declared: Option<&str>,
) -> Result<&'static str, ManifestError> {
    let known = |text: &str| {
        MEDIA_TYPES
            .into_iter()
            .find(|media_type| media_type.eq_ignore_ascii_case(text))
    };
    let sent = content_type.filter(|sent| {
        !sent.eq_ignore_ascii_case("application/json")
            && !sent.eq_ignore_ascii_case("application/octet-stream")
    });
    let chosen = match (sent, declared) {
        (Some(sent), Some(declared)) if !sent.eq_ignore_ascii_case(declared) => {
            return Err(ManifestError(format!(
                "the Content-Type {sent} does not match the document's mediaType {declared}"
            )));
        }
        (Some(media_type), _) | (None, Some(media_type)) => media_type,
        (None, None) => {
            return Err(ManifestError(
                "no media type: send the manifest's type as its Content-Type".to_owned(),
            ));
        }
    };
    known(chosen).ok_or_else(|| {
        ManifestError(format!(
            "unsupported media type {chosen}; supported: {}",
            MEDIA_TYPES.join(", ")
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn descriptor(media_type: &str, content: &[u8]) -> serde_json::Value {
        serde_json::json!({
            "mediaType": media_type,
            "digest": Digest::sha256(content).to_string(),
            "size": content.len(),
        })
    }

    #[test]
    fn an_image_manifest_lists_config_then_layers() {
        let document = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor("application/vnd.oci.image.config.v1+json", b"{}"),
            "layers": [descriptor("application/vnd.oci.image.layer.v1.tar", b"layer")],
            "annotations": { "a": "b" },
        });
        let manifest =
            Manifest::parse(Some(OCI_MANIFEST), document.to_string().as_bytes()).unwrap();
        assert_eq!(manifest.kind(), ManifestKind::Image);
        assert_eq!(manifest.blobs().len(), 2);
        assert_eq!(manifest.blobs()[0].digest, Digest::sha256(b"{}"));
        assert_eq!(
            manifest.artifact_type(),
            Some("application/vnd.oci.image.config.v1+json")
        );
        assert_eq!(manifest.annotations()["a"], "b");
    }

    #[test]
    fn an_index_lists_manifests_and_may_have_a_subject() {
        let document = serde_json::json!({
            "schemaVersion": 2,
            "manifests": [descriptor(OCI_MANIFEST, b"m")],
            "subject": descriptor(OCI_MANIFEST, b"s"),
        });
        let manifest = Manifest::parse(Some(OCI_INDEX), document.to_string().as_bytes()).unwrap();
        assert_eq!(manifest.kind(), ManifestKind::Index);
        assert_eq!(manifest.manifests().len(), 1);
        assert_eq!(
            manifest.subject().map(|s| &s.digest),
            Some(&Digest::sha256(b"s"))
        );
        assert_eq!(manifest.artifact_type(), None);
    }

    #[test]
    fn the_media_type_comes_from_the_header_or_the_document() {
        let document = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": descriptor("application/vnd.docker.container.image.v1+json", b"{}"),
            "layers": [],
        });
        let bytes = document.to_string();
        assert_eq!(
            Manifest::parse(None, bytes.as_bytes())
                .unwrap()
                .media_type(),
            DOCKER_MANIFEST
        );
        let error = Manifest::parse(Some(OCI_MANIFEST), bytes.as_bytes()).unwrap_err();
        assert!(error.0.contains("does not match"), "{error}");
    }

    #[test]
    fn broken_documents_say_why() {
        for (content_type, document, expected) in [
            (Some(OCI_MANIFEST), "not json", "not a manifest document"),
            (
                Some(OCI_MANIFEST),
                r#"{"schemaVersion": 2, "config": {}, "layers": []}"#,
                "missing field `mediaType`",
            ),
            (
                Some(OCI_MANIFEST),
                r#"{"schemaVersion": 1}"#,
                "`schemaVersion` must be 2",
            ),
            (
                Some(OCI_MANIFEST),
                r#"{"schemaVersion": 2, "layers": []}"#,
                "needs `config`",
            ),
            (
                Some(OCI_INDEX),
                r#"{"schemaVersion": 2}"#,
                "needs `manifests`",
            ),
            (
                Some("text/plain"),
                r#"{"schemaVersion": 2}"#,
                "unsupported media type text/plain",
            ),
            (
                Some(OCI_INDEX),
                r#"{"schemaVersion": 2, "manifests": [{"mediaType": "x", "digest": "sha256:1", "size": 1}]}"#,
                "64 hex characters",
            ),
        ] {
            let error = Manifest::parse(content_type, document.as_bytes()).unwrap_err();
            assert!(error.0.contains(expected), "{document}: {error}");
        }
    }
}
