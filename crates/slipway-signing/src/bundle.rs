//! Sigstore bundles v0.3: a DSSE envelope with the material to verify it. Signed with a key,
//! the material is only a public-key hint; there is no transparency-log entry and no
//! certificate, and verification never needs one (Slipway verifies offline, by design).

use serde::{Deserialize, Serialize};
use slipway_registry::Digest;

use crate::dsse::Envelope;
use crate::error::{KeyError, VerifyError};
use crate::keys::{PublicKey, SigningKey};
use crate::statement::{IN_TOTO_PAYLOAD_TYPE, STATEMENT_TYPE, Statement};

/// The media type of a bundle v0.3, also the `artifactType` of its OCI referrer.
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// A Sigstore bundle in its JSON form (the protobuf-specs `Bundle`, camelCase). Fields other
/// tools add (transparency-log entries, timestamps) are read and ignored: offline, with a key,
/// they prove nothing Slipway checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    /// [`BUNDLE_MEDIA_TYPE`].
    pub media_type: String,
    /// How to find the key.
    pub verification_material: VerificationMaterial,
    /// The signed statement; absent in bundles that sign a bare message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dsse_envelope: Option<Envelope>,
}

/// The bundle's verification material: here only the public-key hint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationMaterial {
    /// Names the key that signed; absent when a certificate does instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<PublicKeyHint>,
    /// Always empty in what Slipway writes; `@sigstore/bundle` requires the field.
    #[serde(default)]
    pub tlog_entries: Vec<serde_json::Value>,
}

/// `{"hint": "<key id>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKeyHint {
    /// The key's [`PublicKey::key_id`].
    pub hint: String,
}

/// A bundle signing the image `name` (`registry/repository`) whose manifest is `digest`: a
/// DSSE envelope over an in-toto statement with that subject, signed by `key`.
///
/// # Errors
///
/// The random source failed.
pub fn sign_image(key: &SigningKey, name: &str, digest: &Digest) -> Result<Bundle, KeyError> {
    let statement = Statement::image_signature(name, digest);
    // Serialising a statement built from strings cannot fail.
    let payload = serde_json::to_vec(&statement).unwrap_or_default();
    let envelope = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, &payload, key)?;
    Ok(Bundle {
        media_type: BUNDLE_MEDIA_TYPE.to_owned(),
        verification_material: VerificationMaterial {
            public_key: Some(PublicKeyHint {
                hint: key.public_key().key_id(),
            }),
            tlog_entries: Vec::new(),
        },
        dsse_envelope: Some(envelope),
    })
}

impl Bundle {
    /// Parses a bundle's JSON.
    ///
    /// # Errors
    ///
    /// The bytes are not a bundle's JSON.
    pub fn from_json(bytes: &[u8]) -> Result<Bundle, VerifyError> {
        serde_json::from_slice(bytes).map_err(|error| VerifyError::Malformed {
            what: "bundle",
            reason: error.to_string(),
        })
    }

    /// The bundle's JSON.
    pub fn to_json(&self) -> Vec<u8> {
        // A bundle is strings and vectors of them: serialising cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The statement the envelope carries, unverified: for labelling a bundle, never for
    /// trusting it.
    pub fn statement(&self) -> Option<Statement> {
        use base64::Engine as _;
        let envelope = self.dsse_envelope.as_ref()?;
        let payload = base64::engine::general_purpose::STANDARD
            .decode(&envelope.payload)
            .ok()?;
        serde_json::from_slice(&payload).ok()
    }

    /// Checks, in order: the bundle is v0.3, holds a DSSE envelope, names `key` if it names one,
    /// an envelope signature verifies with `key`, the payload is an in-toto v1 statement, and
    /// its subject is `digest`. Returns the statement.
    ///
    /// # Errors
    ///
    /// The first check that fails.
    pub fn verify(&self, key: &PublicKey, digest: &Digest) -> Result<Statement, VerifyError> {
        if self.media_type != BUNDLE_MEDIA_TYPE {
            return Err(VerifyError::UnknownBundleVersion(self.media_type.clone()));
        }
        let envelope = self.dsse_envelope.as_ref().ok_or(VerifyError::NoEnvelope)?;
        if let Some(hint) = &self.verification_material.public_key
            && hint.hint != key.key_id()
        {
            return Err(VerifyError::OtherKey {
                expected: key.key_id(),
                found: hint.hint.clone(),
            });
        }
        let payload = envelope.verify(key)?;
        if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
            return Err(VerifyError::PayloadType(envelope.payload_type.clone()));
        }
        let statement: Statement =
            serde_json::from_slice(&payload).map_err(|error| VerifyError::Malformed {
                what: "in-toto statement",
                reason: error.to_string(),
            })?;
        if statement.statement_type != STATEMENT_TYPE {
            return Err(VerifyError::Malformed {
                what: "in-toto statement",
                reason: format!(
                    "`_type` is `{}`, not {STATEMENT_TYPE}",
                    statement.statement_type
                ),
            });
        }
        if !statement.names(digest) {
            return Err(VerifyError::OtherDigest {
                expected: digest.to_string(),
                found: statement.subject_digests(),
            });
        }
        Ok(statement)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(byte: u8) -> Digest {
        Digest::sha256(&[byte])
    }

    #[test]
    fn a_bundle_verifies_for_its_key_and_digest_only() {
        let key = SigningKey::generate().unwrap();
        let bundle =
            Bundle::from_json(&sign_image(&key, "r/app", &digest(1)).unwrap().to_json()).unwrap();
        let statement = bundle.verify(&key.public_key(), &digest(1)).unwrap();
        assert_eq!(statement.subject[0].name, "r/app");

        assert!(matches!(
            bundle.verify(&key.public_key(), &digest(2)),
            Err(VerifyError::OtherDigest { .. })
        ));
        let other = SigningKey::generate().unwrap().public_key();
        assert!(matches!(
            bundle.verify(&other, &digest(1)),
            Err(VerifyError::OtherKey { .. })
        ));
    }

    #[test]
    fn a_bundle_without_hint_is_still_checked_by_signature() {
        let key = SigningKey::generate().unwrap();
        let mut bundle = sign_image(&key, "r/app", &digest(1)).unwrap();
        bundle.verification_material.public_key = None;
        let other = SigningKey::generate().unwrap().public_key();
        assert!(matches!(
            bundle.verify(&other, &digest(1)),
            Err(VerifyError::BadSignature { .. })
        ));
    }

    #[test]
    fn another_bundle_version_is_refused() {
        let key = SigningKey::generate().unwrap();
        let mut bundle = sign_image(&key, "r/app", &digest(1)).unwrap();
        bundle.media_type = "application/vnd.dev.sigstore.bundle.v0.9+json".to_owned();
        assert!(matches!(
            bundle.verify(&key.public_key(), &digest(1)),
            Err(VerifyError::UnknownBundleVersion(_))
        ));
    }
}
