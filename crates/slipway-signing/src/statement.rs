//! In-toto v1 statements: what a signature or attestation is about (its subject, here an image
//! digest) and what it says (its predicate).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use slipway_registry::{Algorithm, Digest};

/// The DSSE payload type of an in-toto statement.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// The statement `_type` of in-toto v1.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The predicate type cosign gives a plain image signature made as a bundle: the statement
/// says only "this digest was signed".
pub const COSIGN_SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";

/// An in-toto v1 statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    /// Always [`STATEMENT_TYPE`].
    #[serde(rename = "_type")]
    pub statement_type: String,
    /// What the statement is about.
    pub subject: Vec<Subject>,
    /// What kind of claim the predicate is.
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// The claim.
    #[serde(default)]
    pub predicate: Value,
}

/// One subject: a name and its digests by algorithm (`{"sha256": "<hex>"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// The image's name, `registry/repository`.
    pub name: String,
    /// Lowercase hex by algorithm name.
    pub digest: std::collections::BTreeMap<String, String>,
}

impl Statement {
    /// A statement that the image `name` with manifest `digest` was signed.
    pub fn image_signature(name: &str, digest: &Digest) -> Statement {
        Statement {
            statement_type: STATEMENT_TYPE.to_owned(),
            subject: vec![Subject {
                name: name.to_owned(),
                digest: [(
                    digest.algorithm().name().to_owned(),
                    digest.hex().to_owned(),
                )]
                .into(),
            }],
            predicate_type: COSIGN_SIGN_PREDICATE.to_owned(),
            predicate: Value::Object(Map::new()),
        }
    }

    /// Whether a subject names `digest`.
    pub fn names(&self, digest: &Digest) -> bool {
        self.subject.iter().any(|subject| {
            subject
                .digest
                .get(digest.algorithm().name())
                .is_some_and(|hex| hex.eq_ignore_ascii_case(digest.hex()))
        })
    }

    /// The subjects' digests, for saying what a statement is about when it is not the one
    /// expected.
    pub fn subject_digests(&self) -> String {
        let digests: Vec<String> = self
            .subject
            .iter()
            .flat_map(|subject| subject.digest.iter())
            .filter(|(algorithm, _)| {
                Algorithm::ALL
                    .iter()
                    .any(|known| known.name() == *algorithm)
            })
            .map(|(algorithm, hex)| format!("{algorithm}:{hex}"))
            .collect();
        if digests.is_empty() {
            "no known digest".to_owned()
        } else {
            digests.join(", ")
        }
    }
}
