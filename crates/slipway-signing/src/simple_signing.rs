//! cosign's legacy signatures: a "simple signing" JSON payload naming the image and its
//! manifest digest, signed as is (no envelope), stored as a layer of the manifest tagged
//! `sha256-<hex>.sig` with the signature in the layer's annotation. For verifiers that predate
//! bundles.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use slipway_registry::Digest;

use crate::error::{KeyError, VerifyError};
use crate::keys::{PublicKey, SigningKey};

/// The media type of a simple-signing payload layer.
pub const PAYLOAD_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The layer annotation holding the base64 signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// The `critical.type` cosign writes and checks.
pub const SIGNATURE_TYPE: &str = "cosign container image signature";

/// The payload, as cosign writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    /// What the signature vouches for.
    pub critical: Critical,
    /// Free annotations; cosign writes `null` when there are none.
    pub optional: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The part of the payload a verifier must check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Critical {
    /// The image's name.
    pub identity: Identity,
    /// Its manifest digest.
    pub image: Image,
    /// [`SIGNATURE_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
}

/// `{"docker-reference": "registry/repository"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The repository the image was signed in.
    #[serde(rename = "docker-reference")]
    pub docker_reference: String,
}

/// `{"docker-manifest-digest": "sha256:..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// The manifest digest signed.
    #[serde(rename = "docker-manifest-digest")]
    pub docker_manifest_digest: String,
}

/// A simple-signing payload and its signature (base64 of ASN.1 DER), as they sit in a `.sig`
/// manifest's layer and annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacySignature {
    /// The payload bytes, exactly as signed.
    pub payload: Vec<u8>,
    /// The signature, base64.
    pub signature: String,
}

/// Signs the image `name` whose manifest is `digest` as cosign's legacy `sign` does.
///
/// # Errors
///
/// The random source failed.
pub fn sign(key: &SigningKey, name: &str, digest: &Digest) -> Result<LegacySignature, KeyError> {
    let payload = Payload {
        critical: Critical {
            identity: Identity {
                docker_reference: name.to_owned(),
            },
            image: Image {
                docker_manifest_digest: digest.to_string(),
            },
            kind: SIGNATURE_TYPE.to_owned(),
        },
        optional: None,
    };
    // Strings only: serialising cannot fail.
    let payload = serde_json::to_vec(&payload).unwrap_or_default();
    let signature = STANDARD.encode(key.sign(&payload)?);
    Ok(LegacySignature { payload, signature })
}

impl LegacySignature {
    /// Checks that the signature verifies with `key` over the payload, and that the payload is
    /// a cosign signature of `digest`.
    ///
    /// # Errors
    ///
    /// The first check that fails.
    pub fn verify(&self, key: &PublicKey, digest: &Digest) -> Result<Payload, VerifyError> {
        let signature =
            STANDARD
                .decode(&self.signature)
                .map_err(|error| VerifyError::Malformed {
                    what: "signature annotation",
                    reason: error.to_string(),
                })?;
        if !key.verifies(&self.payload, &signature) {
            return Err(VerifyError::BadSignature {
                key_id: key.key_id(),
            });
        }
        let payload: Payload =
            serde_json::from_slice(&self.payload).map_err(|error| VerifyError::Malformed {
                what: "simple-signing payload",
                reason: error.to_string(),
            })?;
        if payload.critical.kind != SIGNATURE_TYPE {
            return Err(VerifyError::PayloadType(payload.critical.kind));
        }
        if payload.critical.image.docker_manifest_digest != digest.to_string() {
            return Err(VerifyError::OtherDigest {
                expected: digest.to_string(),
                found: payload.critical.image.docker_manifest_digest,
            });
        }
        Ok(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_legacy_signature_verifies_for_its_digest_and_key_only() {
        let key = SigningKey::generate().unwrap();
        let digest = Digest::sha256(b"image");
        let signed = sign(&key, "r/app", &digest).unwrap();
        let payload = signed.verify(&key.public_key(), &digest).unwrap();
        assert_eq!(payload.critical.identity.docker_reference, "r/app");

        let other_digest = Digest::sha256(b"other");
        assert!(matches!(
            signed.verify(&key.public_key(), &other_digest),
            Err(VerifyError::OtherDigest { .. })
        ));
        let mut tampered = signed.clone();
        tampered.payload[0] = b' ';
        assert!(matches!(
            tampered.verify(&key.public_key(), &digest),
            Err(VerifyError::BadSignature { .. })
        ));
    }
}
