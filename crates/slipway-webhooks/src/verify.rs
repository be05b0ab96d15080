//! Is a delivery genuine? Signatures and tokens, compared in constant time.

use http::HeaderMap;
use ring::hmac;

use crate::{Provider, WebhookError, headers};

const GITHUB_SIGNATURE: &str = "x-hub-signature-256";
/// Forgejo sends both; either proves the same HMAC.
const GITEA_SIGNATURES: [&str; 2] = ["x-gitea-signature", "x-forgejo-signature"];
const GITLAB_TOKEN: &str = "x-gitlab-token";

/// Checks that the delivery was sent by someone who knows `secret`.
///
/// Errors when the header is missing ([`WebhookError::MissingHeader`]), is not the expected
/// shape ([`WebhookError::MalformedHeader`]), or does not match ([`WebhookError::SignatureMismatch`]);
/// an empty secret is refused ([`WebhookError::EmptySecret`]) rather than accepting anyone.
pub fn verify(
    provider: Provider,
    headers: &HeaderMap,
    body: &[u8],
    secret: &[u8],
) -> Result<(), WebhookError> {
    if secret.is_empty() {
        return Err(WebhookError::EmptySecret);
    }
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    match provider {
        Provider::GitHub => {
            let (header, value) = headers::required(headers, &[GITHUB_SIGNATURE])?;
            let hex =
                value
                    .strip_prefix("sha256=")
                    .ok_or_else(|| WebhookError::MalformedHeader {
                        header,
                        reason: "it does not start with `sha256=`".to_owned(),
                    })?;
            check_hmac(&key, header, hex, body)
        }
        Provider::Gitea => {
            let (header, value) = headers::required(headers, &GITEA_SIGNATURES)?;
            check_hmac(&key, header, &value, body)
        }
        Provider::GitLab => {
            let (header, token) = headers::required(headers, &[GITLAB_TOKEN])?;
            // Equal tokens have equal HMACs under the secret's key; comparing those (in constant
            // time, by `hmac::verify`) reveals neither the secret's length nor a matching prefix.
            let expected = hmac::sign(&key, secret);
            hmac::verify(&key, token.as_bytes(), expected.as_ref())
                .map_err(|_| WebhookError::SignatureMismatch { header })
        }
    }
}

/// Hex HMAC-SHA256 of `body` under `secret`: what GitHub puts after `sha256=` and Gitea sends
/// bare. For tests and for tools that send deliveries.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    hex::encode(hmac::sign(&key, body).as_ref())
}

fn check_hmac(
    key: &hmac::Key,
    header: &'static str,
    hex_signature: &str,
    body: &[u8],
) -> Result<(), WebhookError> {
    let signature = hex::decode(hex_signature).map_err(|_| WebhookError::MalformedHeader {
        header,
        reason: "it is not hexadecimal".to_owned(),
    })?;
    if signature.len() != hmac::HMAC_SHA256.digest_algorithm().output_len() {
        return Err(WebhookError::MalformedHeader {
            header,
            reason: format!(
                "it holds {} bytes, not the 32 of an HMAC-SHA256",
                signature.len()
            ),
        });
    }
    hmac::verify(key, body, &signature).map_err(|_| WebhookError::SignatureMismatch { header })
}
