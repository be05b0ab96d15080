//! The errors of keys and of verification, each naming the file or the check and the fix.

use std::path::PathBuf;

/// A key file that cannot be read, written or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file cannot be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A key file is already there.
    #[error("{} already exists", path.display())]
    Exists { path: PathBuf },
    /// The file is not the PEM it should be.
    #[error("{} is not a valid key file: {reason}", path.display())]
    Malformed { path: PathBuf, reason: String },
    /// The file holds another kind of PEM block.
    #[error("{} holds a `{label}` PEM block, not {expected}", path.display())]
    WrongLabel {
        path: PathBuf,
        label: String,
        expected: &'static str,
    },
    /// The password does not open the key.
    #[error("the password does not decrypt {}", path.display())]
    WrongPassword { path: PathBuf },
    /// The key is RSA, Ed25519, another curve...
    #[error("{} holds a key of a type Slipway does not sign with", path.display())]
    UnsupportedKeyType { path: PathBuf },
    /// The system's random source failed.
    #[error("the system's random source failed")]
    Random,
}

impl KeyError {
    /// What the person can do about it.
    pub fn hint(&self) -> &'static str {
        match self {
            KeyError::Read { .. } => "check the path given with --key",
            KeyError::Write { .. } => "choose a directory you can write with --output",
            KeyError::Exists { .. } => {
                "keys are never overwritten: move the old pair away or choose another --output"
            }
            KeyError::Malformed { .. } | KeyError::WrongLabel { .. } => {
                "give `cosign.key` (written by `slipway keys generate` or `cosign generate-key-pair`) to sign and `cosign.pub` to verify"
            }
            KeyError::WrongPassword { .. } => {
                "type the password the key was generated with, or set SLIPWAY_KEY_PASSWORD to it"
            }
            KeyError::UnsupportedKeyType { .. } => {
                "Slipway signs with ECDSA P-256 keys: generate one with `slipway keys generate`"
            }
            KeyError::Random => "retry; the operating system could not give random bytes",
        }
    }
}

/// Why a signature does not verify: one reason per check, so `slipway verify` can say which.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The bundle's media type names a version this verifier does not read.
    #[error("bundle media type `{0}` is not a Sigstore bundle v0.3")]
    UnknownBundleVersion(String),
    /// The bundle or envelope is not valid JSON of its kind.
    #[error("malformed {what}: {reason}")]
    Malformed { what: &'static str, reason: String },
    /// The bundle signs a message, not a DSSE envelope.
    #[error("the bundle holds no DSSE envelope")]
    NoEnvelope,
    /// The bundle names another public key.
    #[error("the bundle was signed by key {found}, not {expected}")]
    OtherKey { expected: String, found: String },
    /// No signature of the envelope verifies with the key.
    #[error("no signature verifies with key {key_id} (tampered payload, or another key)")]
    BadSignature { key_id: String },
    /// The payload is not an in-toto statement.
    #[error("payload type `{0}` is not an in-toto statement")]
    PayloadType(String),
    /// The statement or payload is about another image.
    #[error("the signature is for {found}, not {expected}")]
    OtherDigest { expected: String, found: String },
}
