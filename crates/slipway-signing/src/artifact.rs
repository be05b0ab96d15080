//! The OCI manifests that carry signatures in a registry, built and read as bytes (no I/O).
//!
//! - A bundle is an OCI 1.1 artifact: an image manifest whose `artifactType` is the bundle's
//!   media type, whose config is the spec's empty descriptor, whose one layer is the bundle's
//!   JSON, and whose `subject` is the signed image's manifest, so the registry lists it among
//!   the image's referrers ([`bundle_manifest`]).
//! - cosign's legacy signatures are layers of an image manifest tagged `sha256-<hex>.sig`
//!   ([`legacy_tag`], [`legacy_manifest`], [`legacy_signatures`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use slipway_registry::Digest;
use slipway_registry::manifest::{Descriptor, OCI_MANIFEST};

use crate::bundle::{BUNDLE_MEDIA_TYPE, Bundle};
use crate::simple_signing::{LegacySignature, PAYLOAD_MEDIA_TYPE, SIGNATURE_ANNOTATION};

/// The image spec's empty config, for artifacts that have none.
pub const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
/// Its bytes.
pub const EMPTY_CONFIG: &[u8] = b"{}";
/// The annotation cosign puts on a bundle artifact naming what the bundle holds.
const BUNDLE_CONTENT_ANNOTATION: &str = "dev.sigstore.bundle.content";
/// The annotation naming the statement's predicate type.
const PREDICATE_TYPE_ANNOTATION: &str = "dev.sigstore.bundle.predicateType";
/// An image config's media type (cosign's `.sig` manifests have one).
const IMAGE_CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";

/// A manifest to store, with the blobs it references (which go first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// The manifest's bytes.
    pub manifest: Vec<u8>,
    /// Its media type.
    pub media_type: &'static str,
    /// Every blob it references, config first.
    pub blobs: Vec<Vec<u8>>,
}

impl Artifact {
    /// The manifest's digest.
    pub fn digest(&self) -> Digest {
        Digest::sha256(&self.manifest)
    }

    /// A descriptor of the manifest, as a referrers list or fallback index carries it.
    pub fn descriptor(&self, artifact_type: Option<&str>) -> Descriptor {
        let annotations = serde_json::from_slice::<Document>(&self.manifest)
            .map(|document| document.annotations)
            .unwrap_or_default();
        Descriptor {
            media_type: self.media_type.to_owned(),
            digest: self.digest(),
            size: self.manifest.len() as u64,
            urls: Vec::new(),
            artifact_type: artifact_type.map(str::to_owned),
            annotations,
        }
    }
}

/// A manifest or index in its JSON form: the fields written and read here.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    schema_version: u32,
    media_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    artifact_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    config: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    layers: Option<Vec<Descriptor>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    manifests: Option<Vec<Descriptor>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    subject: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, String>,
}

fn descriptor_of(media_type: &str, bytes: &[u8]) -> Descriptor {
    Descriptor {
        media_type: media_type.to_owned(),
        digest: Digest::sha256(bytes),
        size: bytes.len() as u64,
        urls: Vec::new(),
        artifact_type: None,
        annotations: BTreeMap::new(),
    }
}

fn to_bytes(document: &Document) -> Vec<u8> {
    // Strings, numbers and digests only: serialising cannot fail.
    serde_json::to_vec(document).unwrap_or_default()
}

/// The referrer artifact carrying `bundle`, whose subject is `subject` (the image manifest);
/// `created` (RFC 3339) is recorded as the image spec's creation annotation.
pub fn bundle_manifest(bundle: &Bundle, subject: Descriptor, created: &str) -> Artifact {
    let json = bundle.to_json();
    let predicate_type = bundle.statement().map(|statement| statement.predicate_type);
    let mut annotations = BTreeMap::from([
        (
            BUNDLE_CONTENT_ANNOTATION.to_owned(),
            "dsse-envelope".to_owned(),
        ),
        (
            "org.opencontainers.image.created".to_owned(),
            created.to_owned(),
        ),
    ]);
    if let Some(predicate_type) = predicate_type {
        annotations.insert(PREDICATE_TYPE_ANNOTATION.to_owned(), predicate_type);
    }
    let document = Document {
        schema_version: 2,
        media_type: OCI_MANIFEST.to_owned(),
        artifact_type: Some(BUNDLE_MEDIA_TYPE.to_owned()),
        config: Some(descriptor_of(EMPTY_MEDIA_TYPE, EMPTY_CONFIG)),
        layers: Some(vec![descriptor_of(BUNDLE_MEDIA_TYPE, &json)]),
        subject: Some(subject),
        annotations,
        ..Document::default()
    };
    Artifact {
        manifest: to_bytes(&document),
        media_type: OCI_MANIFEST,
        blobs: vec![EMPTY_CONFIG.to_vec(), json],
    }
}

/// The bundle layer's descriptor of a referrer manifest, when it is a bundle artifact.
pub fn bundle_layer(manifest: &[u8]) -> Option<Descriptor> {
    let document: Document = serde_json::from_slice(manifest).ok()?;
    if document.artifact_type.as_deref() != Some(BUNDLE_MEDIA_TYPE) {
        return None;
    }
    document
        .layers?
        .into_iter()
        .find(|layer| layer.media_type == BUNDLE_MEDIA_TYPE)
}

/// The tag of cosign's legacy signatures of `digest`: `sha256-<hex>.sig`.
pub fn legacy_tag(digest: &Digest) -> String {
    format!("{}-{}.sig", digest.algorithm().name(), digest.hex())
}

/// How many hex digits of a signature manifest's digest its own tag keeps (128 bits: unique).
const OWN_TAG_HEX: usize = 32;

/// The tag only the legacy signature manifest `own` (holding one signature) is stored under:
/// `sha256-<hex>.<first 32 hex of own>.sig`. No other signer ever writes it, so a signature is
/// never lost to a concurrent rewrite of the shared `.sig` tag.
pub fn own_legacy_tag(subject: &Digest, own: &Digest) -> String {
    let hex = own.hex();
    format!(
        "{}-{}.{}.sig",
        subject.algorithm().name(),
        subject.hex(),
        &hex[..OWN_TAG_HEX.min(hex.len())]
    )
}

/// Whether `tag` is one of [`own_legacy_tag`]'s for `subject`.
pub fn is_own_legacy_tag(subject: &Digest, tag: &str) -> bool {
    let prefix = format!("{}-{}.", subject.algorithm().name(), subject.hex());
    tag.strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix(".sig"))
        .is_some_and(|hex| {
            hex.len() == OWN_TAG_HEX && hex.bytes().all(|byte| byte.is_ascii_hexdigit())
        })
}

/// cosign's legacy `.sig` manifest holding `signatures`, each payload a layer annotated with
/// its signature.
pub fn legacy_manifest(signatures: &[LegacySignature]) -> Artifact {
    let layers: Vec<Descriptor> = signatures
        .iter()
        .map(|signed| Descriptor {
            annotations: BTreeMap::from([(
                SIGNATURE_ANNOTATION.to_owned(),
                signed.signature.clone(),
            )]),
            ..descriptor_of(PAYLOAD_MEDIA_TYPE, &signed.payload)
        })
        .collect();
    // An image config whose layers are the payloads, as cosign writes it, so tools that read
    // `.sig` manifests as images accept it.
    let config = serde_json::json!({
        "architecture": "",
        "os": "",
        "config": {},
        "rootfs": {
            "type": "layers",
            "diff_ids": layers.iter().map(|layer| layer.digest.to_string()).collect::<Vec<_>>(),
        },
    });
    let config = serde_json::to_vec(&config).unwrap_or_default();
    let document = Document {
        schema_version: 2,
        media_type: OCI_MANIFEST.to_owned(),
        config: Some(descriptor_of(IMAGE_CONFIG_MEDIA_TYPE, &config)),
        layers: Some(layers),
        ..Document::default()
    };
    let mut blobs = vec![config];
    blobs.extend(signatures.iter().map(|signed| signed.payload.clone()));
    Artifact {
        manifest: to_bytes(&document),
        media_type: OCI_MANIFEST,
        blobs,
    }
}

/// The signature layers of a legacy `.sig` manifest: each payload's descriptor and its
/// signature annotation (layers without one are skipped).
pub fn legacy_signatures(manifest: &[u8]) -> Vec<(Descriptor, String)> {
    serde_json::from_slice::<Document>(manifest)
        .ok()
        .and_then(|document| document.layers)
        .unwrap_or_default()
        .into_iter()
        .filter(|layer| layer.media_type == PAYLOAD_MEDIA_TYPE)
        .filter_map(|layer| {
            let signature = layer.annotations.get(SIGNATURE_ANNOTATION)?.clone();
            Some((layer, signature))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SigningKey, sign_image, simple_signing};

    fn image() -> Descriptor {
        descriptor_of(OCI_MANIFEST, b"{\"image\":1}")
    }

    #[test]
    fn a_bundle_artifact_references_its_subject_and_reads_back() {
        let key = SigningKey::generate().unwrap();
        let bundle = sign_image(&key, "r/app", &image().digest).unwrap();
        let artifact = bundle_manifest(&bundle, image(), "2026-01-01T00:00:00Z");
        let document: Document = serde_json::from_slice(&artifact.manifest).unwrap();
        assert_eq!(document.subject, Some(image()));
        assert_eq!(
            document.annotations[PREDICATE_TYPE_ANNOTATION],
            crate::COSIGN_SIGN_PREDICATE
        );
        let layer = bundle_layer(&artifact.manifest).unwrap();
        assert_eq!(layer.digest, Digest::sha256(&artifact.blobs[1]));
        assert_eq!(legacy_tag(&image().digest).len(), 7 + 64 + 4);
    }

    #[test]
    fn legacy_signatures_read_back_from_their_manifest() {
        let key = SigningKey::generate().unwrap();
        let first = simple_signing::sign(&key, "r/app", &image().digest).unwrap();
        let second = simple_signing::sign(&key, "r/app", &image().digest).unwrap();
        let artifact = legacy_manifest(&[first.clone(), second]);
        let read = legacy_signatures(&artifact.manifest);
        assert_eq!(read.len(), 2);
        assert_eq!(read[0].1, first.signature);
        assert_eq!(read[0].0.digest, Digest::sha256(&first.payload));
    }

    #[test]
    fn a_signature_s_own_legacy_tag_is_recognised_and_nothing_else() {
        let subject = image().digest;
        let own = own_legacy_tag(&subject, &Digest::sha256(b"signature"));
        assert!(own.len() <= 128, "tags are at most 128 characters");
        assert!(is_own_legacy_tag(&subject, &own));
        assert!(!is_own_legacy_tag(&subject, &legacy_tag(&subject)));
        assert!(!is_own_legacy_tag(&Digest::sha256(b"other"), &own));
    }
}
