//! Bearer tokens for the Docker token flow: JSON Web Tokens signed with HMAC-SHA256.
//!
//! The registry is its own token server, so it signs with a secret only it knows
//! (`auth/token.key` in the storage, made on first use) rather than a key pair: nobody else
//! needs to verify its tokens. A token names its subject and, per repository, the actions it
//! grants; it is valid for the audience (the service name) and the lifetime it was issued with.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;
use serde::{Deserialize, Serialize};

/// The issuer every token names.
const ISSUER: &str = "slipway-registry";

/// How far clocks may disagree when checking a token's times.
const LEEWAY_SECONDS: i64 = 30;

/// What a token grants on one resource, as the Docker token spec writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Grant {
    /// `repository` or `registry`.
    #[serde(rename = "type")]
    pub(crate) kind: String,
    /// The repository name, or `catalog`.
    pub(crate) name: String,
    /// `pull`, `push`, `delete`, `*`.
    pub(crate) actions: Vec<String>,
}

/// The claims of a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Claims {
    pub(crate) iss: String,
    pub(crate) sub: String,
    pub(crate) aud: String,
    pub(crate) exp: i64,
    pub(crate) nbf: i64,
    pub(crate) iat: i64,
    pub(crate) jti: String,
    pub(crate) access: Vec<Grant>,
}

/// Signs and verifies tokens.
pub(crate) struct TokenIssuer {
    key: hmac::Key,
    service: String,
    lifetime: Duration,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("service", &self.service)
            .field("lifetime", &self.lifetime)
            .finish()
    }
}

impl TokenIssuer {
    pub(crate) fn new(secret: &[u8], service: String, lifetime: Duration) -> TokenIssuer {
        TokenIssuer {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
            service,
            lifetime,
        }
    }

    /// How long a token is valid.
    pub(crate) fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// A token for `subject` granting `access`.
    pub(crate) fn issue(&self, subject: &str, access: Vec<Grant>) -> String {
        let now = unix_now();
        let lifetime = i64::try_from(self.lifetime.as_secs()).unwrap_or(i64::MAX);
        let claims = Claims {
            iss: ISSUER.to_owned(),
            sub: subject.to_owned(),
            aud: self.service.clone(),
            exp: now.saturating_add(lifetime),
            nbf: now,
            iat: now,
            jti: hex::encode(rand::random::<[u8; 16]>()),
            access,
        };
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap_or_default());
        let signing_input = format!("{header}.{payload}");
        let signature =
            URL_SAFE_NO_PAD.encode(hmac::sign(&self.key, signing_input.as_bytes()).as_ref());
        format!("{signing_input}.{signature}")
    }

    /// The claims of `token`, if this issuer signed it, for this service, and it is valid now.
    pub(crate) fn verify(&self, token: &str) -> Option<Claims> {
        self.verify_at(token, unix_now())
    }

    /// [`TokenIssuer::verify`] at `now` (seconds since the epoch).
    fn verify_at(&self, token: &str, now: i64) -> Option<Claims> {
        let (signing_input, signature) = token.rsplit_once('.')?;
        let (header, payload) = signing_input.split_once('.')?;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        hmac::verify(&self.key, signing_input.as_bytes(), &signature).ok()?;
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
        if header.get("alg").and_then(serde_json::Value::as_str) != Some("HS256") {
            return None;
        }
        let claims: Claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        let valid = claims.iss == ISSUER
            && claims.aud == self.service
            && claims.exp > now - LEEWAY_SECONDS
            && claims.nbf <= now + LEEWAY_SECONDS;
        valid.then_some(claims)
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(name: &str, actions: &[&str]) -> Grant {
        Grant {
            kind: "repository".to_owned(),
            name: name.to_owned(),
            actions: actions.iter().map(|action| (*action).to_owned()).collect(),
        }
    }

    #[test]
    fn a_token_verifies_with_its_issuer_only() {
        let issuer = TokenIssuer::new(b"secret", "registry".to_owned(), Duration::from_secs(300));
        let token = issuer.issue("ci", vec![grant("shop/web", &["pull", "push"])]);
        let claims = issuer.verify(&token).unwrap();
        assert_eq!(claims.sub, "ci");
        assert_eq!(claims.access, [grant("shop/web", &["pull", "push"])]);

        let other_key = TokenIssuer::new(b"other", "registry".to_owned(), Duration::from_secs(300));
        assert_eq!(other_key.verify(&token), None);
        let other_service =
            TokenIssuer::new(b"secret", "elsewhere".to_owned(), Duration::from_secs(300));
        assert_eq!(other_service.verify(&token), None);
    }

    #[test]
    fn a_tampered_or_expired_token_is_refused() {
        let issuer = TokenIssuer::new(b"secret", "registry".to_owned(), Duration::from_secs(300));
        let token = issuer.issue("ci", vec![grant("a", &["pull"])]);
        let (rest, signature) = token.rsplit_once('.').unwrap();
        let (header, _) = rest.split_once('.').unwrap();
        let forged_payload = URL_SAFE_NO_PAD.encode(
            serde_json::to_vec(&Claims {
                access: vec![grant("a", &["push"])],
                ..issuer.verify(&token).unwrap()
            })
            .unwrap(),
        );
        assert_eq!(
            issuer.verify(&format!("{header}.{forged_payload}.{signature}")),
            None
        );
        assert_eq!(issuer.verify("not.a.token"), None);
        assert_eq!(issuer.verify(""), None);

        let later = unix_now() + 300 + LEEWAY_SECONDS + 1;
        let token = issuer.issue("ci", Vec::new());
        assert!(issuer.verify_at(&token, unix_now()).is_some());
        assert_eq!(issuer.verify_at(&token, later), None);
    }
}
