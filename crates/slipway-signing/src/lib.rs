//! Image signatures, offline: key files cosign reads and writes, DSSE envelopes over in-toto
//! statements, Sigstore bundles v0.3 and cosign's legacy simple-signing payloads.
//!
//! - [`SigningKey`] and [`PublicKey`]: ECDSA P-256 keys in cosign's files (`cosign.key`, an
//!   encrypted PEM; `cosign.pub`, PKIX), written by [`write_key_pair`].
//! - [`Envelope`]: a DSSE envelope, signed over the pre-authentication encoding ([`pae`]).
//! - [`Statement`]: an in-toto v1 statement whose subject is an image digest.
//! - [`Bundle`]: a Sigstore bundle v0.3 holding an envelope and a public-key hint;
//!   [`sign_image`] makes one and [`Bundle::verify`] checks it against a key and a digest.
//! - [`simple_signing`]: cosign's `.sig` payloads, for verifiers that predate bundles.
//! - [`artifact`]: the OCI manifests that carry signatures in a registry.
//!
//! ```
//! use slipway_signing::{Bundle, SigningKey, sign_image};
//!
//! let key = SigningKey::generate()?;
//! let digest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".parse()?;
//! let bundle = sign_image(&key, "localhost:5000/team/web", &digest)?;
//! let bundle = Bundle::from_json(&bundle.to_json())?;
//! bundle.verify(&key.public_key(), &digest)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod artifact;
mod bundle;
mod dsse;
mod error;
mod keys;
mod pem;
pub mod simple_signing;
mod statement;

pub use bundle::{BUNDLE_MEDIA_TYPE, Bundle, sign_image};
pub use dsse::{Envelope, EnvelopeSignature, pae};
pub use error::{KeyError, VerifyError};
pub use keys::{
    COSIGN_PRIVATE_KEY_LABEL, KeyPairFiles, PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, PUBLIC_KEY_LABEL,
    PublicKey, SIGSTORE_PRIVATE_KEY_LABEL, SigningKey, write_key_pair,
};
pub use statement::{
    COSIGN_SIGN_PREDICATE, IN_TOTO_PAYLOAD_TYPE, STATEMENT_TYPE, Statement, Subject,
};
