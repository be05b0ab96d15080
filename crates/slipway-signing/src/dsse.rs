//! DSSE envelopes (the Dead Simple Signing Envelope, v1): a payload, its type, and signatures
//! over the pre-authentication encoding of both, so a signature binds the type too.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::error::{KeyError, VerifyError};
use crate::keys::{PublicKey, SigningKey};

/// A DSSE envelope in its JSON form (byte strings in standard base64).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// The payload, base64.
    pub payload: String,
    /// What the payload is (`application/vnd.in-toto+json`).
    pub payload_type: String,
    /// One signature per key that signed.
    pub signatures: Vec<EnvelopeSignature>,
}

/// One signature of an [`Envelope`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    /// The signature over [`pae`], base64 of its ASN.1 DER.
    pub sig: String,
    /// A hint naming the key (its [`PublicKey::key_id`]); never trusted, only a hint.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub keyid: String,
}

/// DSSE's pre-authentication encoding:
/// `"DSSEv1" SP LEN(type) SP type SP LEN(payload) SP payload`, lengths in ASCII decimal.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut encoded = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    encoded.extend_from_slice(payload);
    encoded
}

impl Envelope {
    /// `payload` of `payload_type` signed by `key`.
    ///
    /// # Errors
    ///
    /// The random source failed.
    pub fn sign(
        payload_type: &str,
        payload: &[u8],
        key: &SigningKey,
    ) -> Result<Envelope, KeyError> {
        let signature = key.sign(&pae(payload_type, payload))?;
        Ok(Envelope {
            payload: STANDARD.encode(payload),
            payload_type: payload_type.to_owned(),
            signatures: vec![EnvelopeSignature {
                sig: STANDARD.encode(signature),
                keyid: key.public_key().key_id(),
            }],
        })
    }

    /// The payload, once a signature verifies with `key`. Every signature is tried, whatever
    /// its `keyid` says, since the hint proves nothing.
    ///
    /// # Errors
    ///
    /// The payload is not base64, or no signature verifies.
    pub fn verify(&self, key: &PublicKey) -> Result<Vec<u8>, VerifyError> {
        let payload = STANDARD
            .decode(&self.payload)
            .map_err(|error| VerifyError::Malformed {
                what: "DSSE payload",
                reason: error.to_string(),
            })?;
        let message = pae(&self.payload_type, &payload);
        let verified = self.signatures.iter().any(|signature| {
            STANDARD
                .decode(&signature.sig)
                .is_ok_and(|sig| key.verifies(&message, &sig))
        });
        if verified {
            Ok(payload)
        } else {
            Err(VerifyError::BadSignature {
                key_id: key.key_id(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_is_the_specification_s_example() {
        // The DSSE protocol document's test vector.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }

    #[test]
    fn a_changed_payload_or_type_no_longer_verifies() {
        let key = SigningKey::generate().unwrap();
        let envelope = Envelope::sign("text/plain", b"payload", &key).unwrap();
        assert_eq!(envelope.verify(&key.public_key()).unwrap(), b"payload");

        let mut payload = envelope.clone();
        payload.payload = STANDARD.encode(b"pay1oad");
        assert!(payload.verify(&key.public_key()).is_err());

        let mut kind = envelope.clone();
        kind.payload_type = "text/html".to_owned();
        assert!(kind.verify(&key.public_key()).is_err());

        let other = SigningKey::generate().unwrap().public_key();
        assert!(matches!(
            envelope.verify(&other),
            Err(VerifyError::BadSignature { .. })
        ));
    }
}
