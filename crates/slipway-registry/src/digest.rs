//! Content digests (`sha256:6c3c…`): parsing by the OCI grammar, and hashing.
//!
//! [`Digest`] is a digest this registry can verify: its algorithm is sha256 or sha512 and its
//! encoded part has exactly the length and the lower-case hex characters that algorithm gives.
//! Anything else a client sends is a [`DigestError`] saying what is wrong, which the HTTP layer
//! turns into `DIGEST_INVALID`. [`Hasher`] computes a digest incrementally, as bytes arrive.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest as _, Sha256, Sha512};

/// A hash algorithm the registry verifies content with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Algorithm {
    /// SHA-256, the algorithm every client uses by default.
    Sha256,
    /// SHA-512.
    Sha512,
}

impl Algorithm {
    /// Every supported algorithm.
    pub const ALL: [Algorithm; 2] = [Algorithm::Sha256, Algorithm::Sha512];

    /// The name in a digest string (`sha256`).
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// The length of the hex-encoded hash.
    fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }

    fn from_name(name: &str) -> Option<Algorithm> {
        Algorithm::ALL
            .into_iter()
            .find(|algorithm| algorithm.name() == name)
    }
}

/// A verified-shape content digest: `algorithm:hex`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest {
    algorithm: Algorithm,
    hex: String,
}

impl Digest {
    /// The digest of `bytes` with `algorithm`.
    pub fn of(algorithm: Algorithm, bytes: &[u8]) -> Digest {
        let mut hasher = Hasher::new(algorithm);
        hasher.update(bytes);
        hasher.finish()
    }

    /// The sha256 digest of `bytes`.
    pub fn sha256(bytes: &[u8]) -> Digest {
        Digest::of(Algorithm::Sha256, bytes)
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The hex-encoded hash, lower case.
    pub fn hex(&self) -> &str {
        &self.hex
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.hex)
    }
}

/// Why a string is not a digest this registry accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid digest `{text}`: {reason}")]
pub struct DigestError {
    /// The text as given.
    pub text: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(text: &str) -> Result<Digest, DigestError> {
        let invalid = |reason| DigestError {
            text: text.to_owned(),
            reason,
        };
        let (algorithm, encoded) = text
            .split_once(':')
            .ok_or_else(|| invalid("expected ALGORITHM:HEX"))?;
        if !is_algorithm_grammar(algorithm) {
            return Err(invalid(
                "the algorithm must be lower-case letters and digits",
            ));
        }
        let algorithm = Algorithm::from_name(algorithm)
            .ok_or_else(|| invalid("only sha256 and sha512 are supported"))?;
        if encoded.len() != algorithm.hex_len() {
            return Err(invalid(match algorithm {
                Algorithm::Sha256 => "a sha256 digest has 64 hex characters",
                Algorithm::Sha512 => "a sha512 digest has 128 hex characters",
            }));
        }
        if !encoded
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(invalid("the hash must be lower-case hex"));
        }
        Ok(Digest {
            algorithm,
            hex: encoded.to_owned(),
        })
    }
}

/// The OCI grammar for an algorithm: `[a-z0-9]+([+._-][a-z0-9]+)*`.
fn is_algorithm_grammar(text: &str) -> bool {
    text.split(['+', '.', '_', '-']).all(|part| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Digest, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Computes a digest over bytes fed in pieces.
#[derive(Debug, Clone)]
pub enum Hasher {
    /// SHA-256 state.
    Sha256(Sha256),
    /// SHA-512 state.
    Sha512(Sha512),
}

impl Hasher {
    /// A hasher for `algorithm` that has seen nothing yet.
    pub fn new(algorithm: Algorithm) -> Hasher {
        match algorithm {
            Algorithm::Sha256 => Hasher::Sha256(Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(Sha512::new()),
        }
    }

    /// Feeds `bytes`.
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(state) => state.update(bytes),
            Hasher::Sha512(state) => state.update(bytes),
        }
    }

    /// The digest of everything fed.
    pub fn finish(self) -> Digest {
        let (algorithm, hex) = match self {
            Hasher::Sha256(state) => (Algorithm::Sha256, hex::encode(state.finalize())),
            Hasher::Sha512(state) => (Algorithm::Sha512, hex::encode(state.finalize())),
        };
        Digest { algorithm, hex }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const EMPTY_SHA256: &str =
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_and_prints_sha256_and_sha512() {
        let digest: Digest = EMPTY_SHA256.parse().unwrap();
        assert_eq!(digest, Digest::sha256(b""));
        assert_eq!(digest.to_string(), EMPTY_SHA256);
        let long = Digest::of(Algorithm::Sha512, b"abc");
        assert_eq!(long.to_string().parse::<Digest>().unwrap(), long);
        assert_eq!(long.hex().len(), 128);
    }

    #[test]
    fn refuses_what_it_cannot_verify() {
        for (text, reason) in [
            ("sha256", "expected ALGORITHM:HEX"),
            (
                "SHA256:abc",
                "the algorithm must be lower-case letters and digits",
            ),
            (
                "md5:d41d8cd98f00b204e9800998ecf8427e",
                "only sha256 and sha512 are supported",
            ),
            ("sha256:abc", "a sha256 digest has 64 hex characters"),
            ("sha512:abc", "a sha512 digest has 128 hex characters"),
            (
                &EMPTY_SHA256.to_uppercase().replace("SHA256", "sha256"),
                "the hash must be lower-case hex",
            ),
            (
                "sha256:totallywrong",
                "a sha256 digest has 64 hex characters",
            ),
        ] {
            let error = text.parse::<Digest>().unwrap_err();
            assert_eq!(error.reason, reason, "{text}");
        }
    }

    #[test]
    fn hashing_in_pieces_equals_hashing_at_once() {
        let mut hasher = Hasher::new(Algorithm::Sha256);
        hasher.update(b"hello ");
        hasher.update(b"world");
        assert_eq!(hasher.finish(), Digest::sha256(b"hello world"));
    }

    proptest! {
        /// Parsing never panics, and whatever parses prints back to the same text.
        #[test]
        fn parse_round_trips(text in "[a-z0-9:+._-]{0,140}") {
            if let Ok(digest) = text.parse::<Digest>() {
                prop_assert_eq!(digest.to_string(), text);
            }
        }

        #[test]
        fn computed_digests_parse(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            for algorithm in Algorithm::ALL {
                let digest = Digest::of(algorithm, &bytes);
                prop_assert_eq!(digest.to_string().parse::<Digest>().unwrap(), digest);
            }
        }
    }
}
