//! Each artifact Slipway writes, read by a peer; one written by a peer, read by Slipway.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests: a panic is the report.

use std::fs;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use slipway_registry::Digest;
use slipway_signing::{
    Bundle, Envelope, IN_TOTO_PAYLOAD_TYPE, KeyError, PublicKey, SigningKey, sign_image,
    simple_signing, write_key_pair,
};

use crate::tools::{assert_refused, assert_success, node, python};

/// Decrypts cosign.key as go-securesystemslib's `encrypted` does, with pynacl and
/// cryptography's scrypt, and checks the key matches cosign.pub.
const DECRYPT_KEY: &str = r#"
import base64, json, sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
import nacl.secret

key_path, pub_path, password = sys.argv[1], sys.argv[2], sys.argv[3].encode()
lines = open(key_path).read().strip().splitlines()
assert lines[0] == "-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----", lines[0]
assert lines[-1] == "-----END ENCRYPTED COSIGN PRIVATE KEY-----", lines[-1]
sealed = json.loads(base64.b64decode("".join(lines[1:-1])))
assert sealed["kdf"]["name"] == "scrypt" and sealed["cipher"]["name"] == "nacl/secretbox"
params = sealed["kdf"]["params"]
assert (params["N"], params["r"], params["p"]) == (32768, 8, 1), params
secret = Scrypt(salt=base64.b64decode(sealed["kdf"]["salt"]), length=32,
                n=params["N"], r=params["r"], p=params["p"]).derive(password)
der = nacl.secret.SecretBox(secret).decrypt(base64.b64decode(sealed["ciphertext"]),
                                             base64.b64decode(sealed["cipher"]["nonce"]))
private = serialization.load_der_private_key(der, password=None)
public = serialization.load_pem_public_key(open(pub_path, "rb").read())
spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
assert private.public_key().public_bytes(*spki) == public.public_bytes(*spki)
assert private.curve.name == "secp256r1", private.curve.name
print("ok")
"#;

/// Writes a fresh key (P-256, or Ed25519 when told) as newer cosign does: the SIGSTORE label,
/// scrypt N = 2^16.
const WRITE_KEY: &str = r#"
import base64, json, os, sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
import nacl.secret

key_path, pub_path, password = sys.argv[1], sys.argv[2], sys.argv[3].encode()
kind = sys.argv[4] if len(sys.argv) > 4 else "p256"
private = ed25519.Ed25519PrivateKey.generate() if kind == "ed25519" else ec.generate_private_key(ec.SECP256R1())
der = private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
salt, nonce = os.urandom(32), os.urandom(24)
secret = Scrypt(salt=salt, length=32, n=65536, r=8, p=1).derive(password)
box = nacl.secret.SecretBox(secret).encrypt(der, nonce).ciphertext
body = json.dumps({"kdf": {"name": "scrypt", "params": {"N": 65536, "r": 8, "p": 1},
                           "salt": base64.b64encode(salt).decode()},
                   "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
                   "ciphertext": base64.b64encode(box).decode()}).encode()
text = base64.b64encode(body).decode()
with open(key_path, "w") as out:
    out.write("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
    out.write("".join(text[i:i + 64] + "\n" for i in range(0, len(text), 64)))
    out.write("-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
with open(pub_path, "wb") as out:
    out.write(private.public_key().public_bytes(serialization.Encoding.PEM,
              serialization.PublicFormat.SubjectPublicKeyInfo))
"#;

/// Verifies a simple-signing payload's signature with cryptography.
const VERIFY_SIMPLE_SIGNING: &str = r#"
import base64, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
public = serialization.load_pem_public_key(open(sys.argv[1], "rb").read())
payload = open(sys.argv[2], "rb").read()
signature = base64.b64decode(open(sys.argv[3]).read())
public.verify(signature, payload, ec.ECDSA(hashes.SHA256()))
print("ok")
"#;

/// Verifies a DSSE envelope with securesystemslib, the key found by its id.
const VERIFY_DSSE: &str = r#"
import hashlib, json, sys
from cryptography.hazmat.primitives import serialization
from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey
public = serialization.load_pem_public_key(open(sys.argv[1], "rb").read())
der = public.public_bytes(serialization.Encoding.DER,
                          serialization.PublicFormat.SubjectPublicKeyInfo)
key = SSlibKey.from_crypto(public, keyid=hashlib.sha256(der).hexdigest(),
                           scheme="ecdsa-sha2-nistp256")
envelope = Envelope.from_dict(json.load(open(sys.argv[2])))
envelope.verify([key], 1)
print(envelope.payload_type)
"#;

/// Verifies a bundle with @sigstore/verify and the public key (its hint the key's SHA-256),
/// no transparency log or timestamp required, then checks the statement's subject digest.
const VERIFY_BUNDLE: &str = r#"
const fs = require('fs');
const crypto = require('crypto');
const { bundleFromJSON } = require('@sigstore/bundle');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');
const [bundlePath, keyPath, expected] = process.argv.slice(1);
const key = crypto.createPublicKey(fs.readFileSync(keyPath));
const der = key.export({ type: 'spki', format: 'der' });
const hint = crypto.createHash('sha256').update(der).digest('hex');
const root = { mediaType: '', certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [] };
const trust = toTrustMaterial(root, { [hint]: { rawBytes: der } });
const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath)));
const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
verifier.verify(toSignedEntity(bundle));
const statement = JSON.parse(Buffer.from(bundle.content.dsseEnvelope.payload).toString());
const [algorithm, hex] = expected.split(':');
if (!statement.subject.some((s) => s.digest[algorithm] === hex)) {
  throw new Error(`subject digest mismatch: ${JSON.stringify(statement.subject)}`);
}
console.log('verified');
"#;

fn image_digest() -> Digest {
    Digest::sha256(b"an image manifest")
}

#[test]
fn keys_generate_writes_a_key_pynacl_and_cryptography_decrypt() {
    let dir = tempfile::tempdir().unwrap();
    let files = write_key_pair(dir.path(), b"correct horse").unwrap();
    let output = python(
        DECRYPT_KEY,
        &[
            &files.private_key,
            &files.public_key,
            Path::new("correct horse"),
        ],
    );
    assert_success(&output);
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &fs::metadata(&files.private_key).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let again = write_key_pair(dir.path(), b"x").unwrap_err();
    assert!(matches!(again, KeyError::Exists { .. }), "{again:?}");
}

#[test]
fn a_key_written_under_the_sigstore_label_by_python_signs_here() {
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("cosign.key");
    let pub_path = dir.path().join("cosign.pub");
    assert_success(&python(WRITE_KEY, &[&key_path, &pub_path, Path::new("pw")]));

    let key = SigningKey::read(&key_path, b"pw").unwrap();
    let public = PublicKey::read(&pub_path).unwrap();
    assert_eq!(key.public_key(), public);
    let wrong = SigningKey::read(&key_path, b"pW").unwrap_err();
    assert!(matches!(wrong, KeyError::WrongPassword { .. }), "{wrong:?}");
}

#[test]
fn an_ed25519_key_file_is_refused_as_an_unsupported_type_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("ed25519.key");
    let pub_path = dir.path().join("ed25519.pub");
    let args = [&key_path, &pub_path, Path::new("pw"), Path::new("ed25519")];
    assert_success(&python(WRITE_KEY, &args));

    let error = SigningKey::read(&key_path, b"pw").unwrap_err();
    assert!(
        matches!(error, KeyError::UnsupportedKeyType { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("ed25519.key"), "{error}");
    assert!(error.hint().contains("ECDSA P-256"), "{}", error.hint());
    let error = PublicKey::read(&pub_path).unwrap_err();
    assert!(
        matches!(error, KeyError::UnsupportedKeyType { .. }),
        "{error:?}"
    );
}

#[test]
fn cryptography_verifies_a_simple_signing_signature_and_refuses_a_changed_payload() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate().unwrap();
    let signed = simple_signing::sign(&key, "localhost/app", &image_digest()).unwrap();
    let pub_path = dir.path().join("cosign.pub");
    let payload = dir.path().join("payload.json");
    let signature = dir.path().join("signature");
    fs::write(&pub_path, key.public_key().to_pem()).unwrap();
    fs::write(&payload, &signed.payload).unwrap();
    fs::write(&signature, &signed.signature).unwrap();
    assert_success(&python(
        VERIFY_SIMPLE_SIGNING,
        &[&pub_path, &payload, &signature],
    ));

    let changed = String::from_utf8(signed.payload)
        .unwrap()
        .replace("localhost/app", "localhost/evil");
    fs::write(&payload, changed).unwrap();
    assert_refused(
        &python(VERIFY_SIMPLE_SIGNING, &[&pub_path, &payload, &signature]),
        "InvalidSignature",
    );
}

#[test]
fn securesystemslib_verifies_a_dsse_envelope_and_refuses_a_tampered_one() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate().unwrap();
    let bundle = sign_image(&key, "localhost/app", &image_digest()).unwrap();
    let envelope = bundle.dsse_envelope.unwrap();
    let pub_path = dir.path().join("cosign.pub");
    let envelope_path = dir.path().join("envelope.json");
    fs::write(&pub_path, key.public_key().to_pem()).unwrap();
    fs::write(&envelope_path, serde_json::to_vec(&envelope).unwrap()).unwrap();
    let output = python(VERIFY_DSSE, &[&pub_path, &envelope_path]);
    assert_success(&output);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        IN_TOTO_PAYLOAD_TYPE
    );

    let tampered = Envelope {
        payload: STANDARD.encode(b"{\"_type\":\"https://in-toto.io/Statement/v1\"}"),
        ..envelope
    };
    fs::write(&envelope_path, serde_json::to_vec(&tampered).unwrap()).unwrap();
    assert_refused(
        &python(VERIFY_DSSE, &[&pub_path, &envelope_path]),
        "VerificationError",
    );
}

/// Writes the key's public half and `bundle`, and runs @sigstore/verify for `expected`.
fn sigstore_verify(
    dir: &Path,
    public: &PublicKey,
    bundle: &Bundle,
    expected: &Digest,
) -> std::process::Output {
    let pub_path = dir.join("cosign.pub");
    let bundle_path = dir.join("bundle.json");
    fs::write(&pub_path, public.to_pem()).unwrap();
    fs::write(&bundle_path, bundle.to_json()).unwrap();
    node(
        VERIFY_BUNDLE,
        &[
            bundle_path.to_str().unwrap(),
            pub_path.to_str().unwrap(),
            &expected.to_string(),
        ],
    )
}

#[test]
fn sigstore_verify_accepts_a_bundle_with_its_public_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate().unwrap();
    let bundle = sign_image(&key, "localhost/app", &image_digest()).unwrap();
    let output = sigstore_verify(dir.path(), &key.public_key(), &bundle, &image_digest());
    assert_success(&output);
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "verified");
}

#[test]
fn sigstore_verify_refuses_a_tampered_payload_another_digest_and_another_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate().unwrap();
    let bundle = sign_image(&key, "localhost/app", &image_digest()).unwrap();

    let mut tampered = bundle.clone();
    let other_statement = sign_image(&key, "localhost/app", &Digest::sha256(b"other"))
        .unwrap()
        .dsse_envelope
        .unwrap()
        .payload;
    if let Some(envelope) = tampered.dsse_envelope.as_mut() {
        envelope.payload = other_statement;
    }
    let output = sigstore_verify(dir.path(), &key.public_key(), &tampered, &image_digest());
    assert_refused(&output, "signature verification failed");
    assert!(tampered.verify(&key.public_key(), &image_digest()).is_err());

    let output = sigstore_verify(
        dir.path(),
        &key.public_key(),
        &bundle,
        &Digest::sha256(b"x"),
    );
    assert_refused(&output, "subject digest mismatch");

    let other = SigningKey::generate().unwrap().public_key();
    let output = sigstore_verify(dir.path(), &other, &bundle, &image_digest());
    assert_refused(&output, "key not found");
}
