//! ECDSA P-256 key pairs in the files cosign reads and writes.
//!
//! `cosign.key` is a PEM block whose body is JSON (go-securesystemslib's `encrypted` format):
//! the key's PKCS #8 DER sealed with NaCl's secretbox (XSalsa20-Poly1305) under a key derived
//! from the password by scrypt, with the KDF's parameters, the salt and the nonce beside the
//! ciphertext, every byte string in standard base64. Slipway writes the `ENCRYPTED COSIGN
//! PRIVATE KEY` label with scrypt N = 2^15, r = 8, p = 1: the label and cost every cosign
//! release reads (newer ones also write `ENCRYPTED SIGSTORE PRIVATE KEY`, which older ones
//! refuse). Both labels are read, with whatever scrypt cost the file names, up to a bound.
//! `cosign.pub` is the public key's PKIX `SubjectPublicKeyInfo` as a `PUBLIC KEY` PEM block.

use std::fmt;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use crypto_secretbox::aead::{Aead as _, KeyInit as _};
use crypto_secretbox::{Key, Nonce, XSalsa20Poly1305};
use ring::rand::{SecureRandom as _, SystemRandom};
use ring::signature::{
    ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _,
    UnparsedPublicKey,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::error::KeyError;
use crate::pem;

/// The label Slipway writes, and every cosign release reads.
pub const COSIGN_PRIVATE_KEY_LABEL: &str = "ENCRYPTED COSIGN PRIVATE KEY";
/// The label newer cosign and sigstore tools write; read, never written.
pub const SIGSTORE_PRIVATE_KEY_LABEL: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
/// The label of a PKIX public key.
pub const PUBLIC_KEY_LABEL: &str = "PUBLIC KEY";
/// The file names `slipway keys generate` writes, cosign's.
pub const PRIVATE_KEY_FILE: &str = "cosign.key";
/// See [`PRIVATE_KEY_FILE`].
pub const PUBLIC_KEY_FILE: &str = "cosign.pub";

/// scrypt's cost as cosign writes it: N = 2^15, r = 8, p = 1 (32 MiB, well under a second).
const SCRYPT_LOG_N: u8 = 15;
const SCRYPT_R: u32 = 8;
const SCRYPT_P: u32 = 1;
/// The most a key file may ask scrypt for (2^20 * 8 * 128 bytes = 1 GiB), so a hostile file
/// cannot exhaust memory.
const SCRYPT_MAX_LOG_N: u8 = 20;
const SALT_LEN: usize = 32;
const NONCE_LEN: usize = 24;
const KEY_LEN: usize = 32;

/// The DER prefix of a P-256 `SubjectPublicKeyInfo`: the sequence, the algorithm identifier
/// (id-ecPublicKey, prime256v1) and the bit string's header, before the 65-byte point.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];
/// An uncompressed P-256 point: 0x04, then x and y.
const P256_POINT_LEN: usize = 65;

/// A private key that signs: ECDSA P-256 with SHA-256, signatures in ASN.1 DER as sigstore's
/// verifiers expect.
pub struct SigningKey {
    pair: EcdsaKeyPair,
    pkcs8: Vec<u8>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The private half never appears in a log.
        formatter
            .debug_struct("SigningKey")
            .field("public", &self.public_key().key_id())
            .finish_non_exhaustive()
    }
}

/// A public key that verifies what a [`SigningKey`] signed.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    point: Vec<u8>,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_tuple("PublicKey")
            .field(&self.key_id())
            .finish()
    }
}

/// The JSON body of an encrypted key file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sealed {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Kdf {
    name: String,
    params: ScryptParams,
    salt: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScryptParams {
    #[serde(rename = "N")]
    n: u64,
    r: u32,
    p: u32,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Cipher {
    name: String,
    nonce: String,
}

impl SigningKey {
    /// A new key pair from the system's random source.
    ///
    /// # Errors
    ///
    /// The random source failed.
    pub fn generate() -> Result<SigningKey, KeyError> {
        let random = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &random)
            .map_err(|_| KeyError::Random)?;
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &random)
                .map_err(|_| KeyError::Random)?;
        Ok(SigningKey {
            pair,
            pkcs8: pkcs8.as_ref().to_vec(),
        })
    }

    /// Reads the encrypted key file at `path` with `password`.
    ///
    /// # Errors
    ///
    /// The file cannot be read, is not an encrypted cosign key, the password is wrong, or the
    /// key is not ECDSA P-256.
    pub fn read(path: &Path, password: &[u8]) -> Result<SigningKey, KeyError> {
        let text = fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: path.to_owned(),
            source,
        })?;
        SigningKey::from_encrypted_pem(&text, password, path)
    }

    /// Decrypts `text`, an encrypted key file's content; `origin` names it in errors.
    ///
    /// # Errors
    ///
    /// As [`SigningKey::read`].
    pub fn from_encrypted_pem(
        text: &str,
        password: &[u8],
        origin: &Path,
    ) -> Result<SigningKey, KeyError> {
        let malformed = |reason: String| KeyError::Malformed {
            path: origin.to_owned(),
            reason,
        };
        let (label, body) = pem::decode(text).map_err(malformed)?;
        if label != COSIGN_PRIVATE_KEY_LABEL && label != SIGSTORE_PRIVATE_KEY_LABEL {
            return Err(KeyError::WrongLabel {
                path: origin.to_owned(),
                label,
                expected: "an encrypted cosign private key",
            });
        }
        let sealed: Sealed = serde_json::from_slice(&body)
            .map_err(|error| malformed(format!("its JSON body: {error}")))?;
        let pkcs8 = open(&sealed, password, origin)?;
        SigningKey::from_pkcs8(pkcs8, origin)
    }

    fn from_pkcs8(pkcs8: Vec<u8>, origin: &Path) -> Result<SigningKey, KeyError> {
        let random = SystemRandom::new();
        match EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &pkcs8, &random) {
            Ok(pair) => Ok(SigningKey { pair, pkcs8 }),
            Err(rejected) if rejected.to_string() == "WrongAlgorithm" => {
                Err(KeyError::UnsupportedKeyType {
                    path: origin.to_owned(),
                })
            }
            Err(rejected) => Err(KeyError::Malformed {
                path: origin.to_owned(),
                reason: format!("the decrypted key is not PKCS #8 ({})", rejected),
            }),
        }
    }

    /// This key encrypted under `password`, as the content of a `cosign.key` file.
    ///
    /// # Errors
    ///
    /// The random source failed.
    pub fn to_encrypted_pem(&self, password: &[u8]) -> Result<String, KeyError> {
        let random = SystemRandom::new();
        let mut salt = [0u8; SALT_LEN];
        let mut nonce = [0u8; NONCE_LEN];
        random.fill(&mut salt).map_err(|_| KeyError::Random)?;
        random.fill(&mut nonce).map_err(|_| KeyError::Random)?;
        let key =
            derive(password, &salt, SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P).ok_or(KeyError::Random)?;
        let ciphertext = XSalsa20Poly1305::new(Key::from_slice(&key))
            .encrypt(Nonce::from_slice(&nonce), self.pkcs8.as_slice())
            .map_err(|_| KeyError::Random)?;
        let sealed = Sealed {
            kdf: Kdf {
                name: "scrypt".to_owned(),
                params: ScryptParams {
                    n: 1 << SCRYPT_LOG_N,
                    r: SCRYPT_R,
                    p: SCRYPT_P,
                },
                salt: STANDARD.encode(salt),
            },
            cipher: Cipher {
                name: "nacl/secretbox".to_owned(),
                nonce: STANDARD.encode(nonce),
            },
            ciphertext: STANDARD.encode(ciphertext),
        };
        let body = serde_json::to_vec(&sealed).map_err(|_| KeyError::Random)?;
        Ok(pem::encode(COSIGN_PRIVATE_KEY_LABEL, &body))
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            point: self.pair.public_key().as_ref().to_vec(),
        }
    }

    /// An ECDSA P-256 SHA-256 signature of `message`, ASN.1 DER encoded.
    ///
    /// # Errors
    ///
    /// The random source failed (ECDSA needs a fresh nonce).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.pair
            .sign(&SystemRandom::new(), message)
            .map(|signature| signature.as_ref().to_vec())
            .map_err(|_| KeyError::Random)
    }
}

/// Opens the secretbox of `sealed` with a key derived from `password`.
fn open(sealed: &Sealed, password: &[u8], origin: &Path) -> Result<Vec<u8>, KeyError> {
    let malformed = |reason: String| KeyError::Malformed {
        path: origin.to_owned(),
        reason,
    };
    if sealed.kdf.name != "scrypt" || sealed.cipher.name != "nacl/secretbox" {
        return Err(malformed(format!(
            "it is sealed with {} and {}; only scrypt and nacl/secretbox are known",
            sealed.kdf.name, sealed.cipher.name
        )));
    }
    let params = &sealed.kdf.params;
    let log_n = (params.n.is_power_of_two() && params.n > 1)
        .then(|| params.n.trailing_zeros())
        .and_then(|log_n| u8::try_from(log_n).ok())
        .filter(|log_n| *log_n <= SCRYPT_MAX_LOG_N)
        .ok_or_else(|| {
            malformed(format!(
                "scrypt N = {} is not a power of two up to 2^{SCRYPT_MAX_LOG_N}",
                params.n
            ))
        })?;
    let bytes = |field: &str, value: &str| {
        STANDARD
            .decode(value)
            .map_err(|error| malformed(format!("its {field} is not base64: {error}")))
    };
    let salt = bytes("salt", &sealed.kdf.salt)?;
    let nonce = bytes("nonce", &sealed.cipher.nonce)?;
    let ciphertext = bytes("ciphertext", &sealed.ciphertext)?;
    if nonce.len() != NONCE_LEN {
        return Err(malformed(format!(
            "its nonce has {} bytes, not {NONCE_LEN}",
            nonce.len()
        )));
    }
    let key = derive(password, &salt, log_n, params.r, params.p).ok_or_else(|| {
        malformed(format!(
            "scrypt r = {}, p = {} are out of range",
            params.r, params.p
        ))
    })?;
    XSalsa20Poly1305::new(Key::from_slice(&key))
        .decrypt(Nonce::from_slice(&nonce), ciphertext.as_slice())
        .map_err(|_| KeyError::WrongPassword {
            path: origin.to_owned(),
        })
}

/// The secretbox key scrypt derives from `password`; `None` when the parameters are invalid.
fn derive(password: &[u8], salt: &[u8], log_n: u8, r: u32, p: u32) -> Option<[u8; KEY_LEN]> {
    let params = scrypt::Params::new(log_n, r, p, KEY_LEN).ok()?;
    let mut key = [0u8; KEY_LEN];
    scrypt::scrypt(password, salt, &params, &mut key).ok()?;
    Some(key)
}

impl PublicKey {
    /// Reads the PKIX PEM file at `path`.
    ///
    /// # Errors
    ///
    /// The file cannot be read, is not a public key PEM, or the key is not ECDSA P-256.
    pub fn read(path: &Path) -> Result<PublicKey, KeyError> {
        let text = fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: path.to_owned(),
            source,
        })?;
        PublicKey::from_pem(&text, path)
    }

    /// Parses `text`, a `PUBLIC KEY` PEM block; `origin` names it in errors.
    ///
    /// # Errors
    ///
    /// As [`PublicKey::read`].
    pub fn from_pem(text: &str, origin: &Path) -> Result<PublicKey, KeyError> {
        let (label, der) = pem::decode(text).map_err(|reason| KeyError::Malformed {
            path: origin.to_owned(),
            reason,
        })?;
        if label != PUBLIC_KEY_LABEL {
            return Err(KeyError::WrongLabel {
                path: origin.to_owned(),
                label,
                expected: "a `PUBLIC KEY` (PKIX) block",
            });
        }
        PublicKey::from_spki_der(&der).ok_or_else(|| KeyError::UnsupportedKeyType {
            path: origin.to_owned(),
        })
    }

    /// The key of a DER `SubjectPublicKeyInfo`, when it is an uncompressed P-256 point.
    fn from_spki_der(der: &[u8]) -> Option<PublicKey> {
        let point = der.strip_prefix(P256_SPKI_PREFIX.as_slice())?;
        (point.len() == P256_POINT_LEN && point[0] == 0x04).then(|| PublicKey {
            point: point.to_vec(),
        })
    }

    /// The DER `SubjectPublicKeyInfo`.
    pub fn spki_der(&self) -> Vec<u8> {
        [P256_SPKI_PREFIX.as_slice(), &self.point].concat()
    }

    /// The content of a `cosign.pub` file.
    pub fn to_pem(&self) -> String {
        pem::encode(PUBLIC_KEY_LABEL, &self.spki_der())
    }

    /// The key's id: the hex SHA-256 of its DER `SubjectPublicKeyInfo`. Bundles carry it as
    /// their public-key hint and envelopes as their signature's `keyid`.
    pub fn key_id(&self) -> String {
        hex::encode(Sha256::digest(self.spki_der()))
    }

    /// Whether `signature` (ASN.1 DER) is this key's ECDSA P-256 SHA-256 signature of `message`.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &self.point)
            .verify(message, signature)
            .is_ok()
    }
}

/// The two files of a key pair written by [`write_key_pair`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPairFiles {
    /// `DIR/cosign.key`.
    pub private_key: PathBuf,
    /// `DIR/cosign.pub`.
    pub public_key: PathBuf,
}

/// Generates a key pair and writes `cosign.key` (encrypted under `password`, readable by its
/// owner only) and `cosign.pub` into `dir`, which is created if missing. An existing key file is
/// never overwritten.
///
/// # Errors
///
/// A key file already exists, a file cannot be written, or the random source failed.
pub fn write_key_pair(dir: &Path, password: &[u8]) -> Result<KeyPairFiles, KeyError> {
    let files = KeyPairFiles {
        private_key: dir.join(PRIVATE_KEY_FILE),
        public_key: dir.join(PUBLIC_KEY_FILE),
    };
    for path in [&files.private_key, &files.public_key] {
        if path.exists() {
            return Err(KeyError::Exists { path: path.clone() });
        }
    }
    let key = SigningKey::generate()?;
    let private_pem = key.to_encrypted_pem(password)?;
    fs::create_dir_all(dir).map_err(|source| KeyError::Write {
        path: dir.to_owned(),
        source,
    })?;
    write_new(&files.private_key, private_pem.as_bytes(), 0o600)?;
    write_new(
        &files.public_key,
        key.public_key().to_pem().as_bytes(),
        0o644,
    )?;
    Ok(files)
}

/// Creates `path` (never replacing a file another process made meanwhile) with `mode`.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), KeyError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let write = || -> std::io::Result<()> {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(path)?;
        file.write_all(bytes)?;
        file.sync_all()
    };
    write().map_err(|source| KeyError::Write {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> &'static Path {
        Path::new("cosign.key")
    }

    #[test]
    fn a_key_reads_back_with_its_password_and_signs_what_its_public_key_verifies() {
        let key = SigningKey::generate().unwrap();
        let pem = key.to_encrypted_pem(b"hunter2").unwrap();
        assert!(pem.starts_with("-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n"));
        let back = SigningKey::from_encrypted_pem(&pem, b"hunter2", origin()).unwrap();
        assert_eq!(back.public_key(), key.public_key());
        let signature = back.sign(b"message").unwrap();
        assert!(key.public_key().verifies(b"message", &signature));
        assert!(!key.public_key().verifies(b"massage", &signature));
    }

    #[test]
    fn the_sigstore_label_is_read_too() {
        let key = SigningKey::generate().unwrap();
        let pem = key
            .to_encrypted_pem(b"")
            .unwrap()
            .replace(COSIGN_PRIVATE_KEY_LABEL, SIGSTORE_PRIVATE_KEY_LABEL);
        let back = SigningKey::from_encrypted_pem(&pem, b"", origin()).unwrap();
        assert_eq!(back.public_key(), key.public_key());
    }

    #[test]
    fn a_wrong_password_is_named_as_such() {
        let pem = SigningKey::generate()
            .unwrap()
            .to_encrypted_pem(b"right")
            .unwrap();
        let error = SigningKey::from_encrypted_pem(&pem, b"wrong", origin()).unwrap_err();
        assert!(matches!(error, KeyError::WrongPassword { .. }), "{error:?}");
        assert!(error.to_string().contains("cosign.key"), "{error}");
    }

    #[test]
    fn a_public_key_file_is_not_taken_for_a_private_one() {
        let public = SigningKey::generate().unwrap().public_key().to_pem();
        let error = SigningKey::from_encrypted_pem(&public, b"", origin()).unwrap_err();
        assert!(matches!(error, KeyError::WrongLabel { .. }), "{error:?}");
    }

    #[test]
    fn a_public_key_round_trips_through_pem() {
        let public = SigningKey::generate().unwrap().public_key();
        let back = PublicKey::from_pem(&public.to_pem(), Path::new("cosign.pub")).unwrap();
        assert_eq!(back, public);
        assert_eq!(back.key_id().len(), 64);
    }

    #[test]
    fn an_ed25519_public_key_is_an_unsupported_type() {
        // `openssl genpkey -algorithm ed25519 | openssl pkey -pubout`
        let ed25519 = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";
        let error = PublicKey::from_pem(ed25519, Path::new("k.pub")).unwrap_err();
        assert!(
            matches!(error, KeyError::UnsupportedKeyType { .. }),
            "{error:?}"
        );
    }

    #[test]
    fn a_hostile_scrypt_cost_is_refused_before_deriving() {
        let pem = SigningKey::generate()
            .unwrap()
            .to_encrypted_pem(b"")
            .unwrap();
        let (_, body) = pem::decode(&pem).unwrap();
        let body = String::from_utf8(body)
            .unwrap()
            .replace("32768", "4294967296");
        let hostile = pem::encode(COSIGN_PRIVATE_KEY_LABEL, body.as_bytes());
        let error = SigningKey::from_encrypted_pem(&hostile, b"", origin()).unwrap_err();
        assert!(matches!(error, KeyError::Malformed { .. }), "{error:?}");
    }
}
