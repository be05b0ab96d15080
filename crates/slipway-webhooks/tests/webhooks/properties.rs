//! Properties: a signature made with the secret verifies and any changed byte does not; parsing
//! never panics.

use proptest::prelude::*;
use slipway_webhooks::{Provider, WebhookError, parse, sign, verify};

use crate::support::headers;

fn signed(provider: Provider, secret: &[u8], body: &[u8]) -> http::HeaderMap {
    let hex = sign(secret, body);
    match provider {
        Provider::GitHub => headers(&[("x-hub-signature-256", &format!("sha256={hex}"))]),
        Provider::Gitea => headers(&[("x-gitea-signature", &hex)]),
        Provider::GitLab => unreachable!("GitLab sends a token, not a signature"),
    }
}

proptest! {
    #[test]
    fn a_signed_body_verifies_and_any_flipped_byte_fails(
        secret in proptest::collection::vec(any::<u8>(), 1..64),
        body in proptest::collection::vec(any::<u8>(), 1..2048),
        flip in any::<proptest::sample::Index>(),
        bit in 0u8..8,
    ) {
        for provider in [Provider::GitHub, Provider::Gitea] {
            let request = signed(provider, &secret, &body);
            prop_assert_eq!(verify(provider, &request, &body, &secret), Ok(()));
            let mut tampered = body.clone();
            tampered[flip.index(body.len())] ^= 1 << bit;
            let refused = verify(provider, &request, &tampered, &secret);
            let mismatch = matches!(refused, Err(WebhookError::SignatureMismatch { .. }));
            prop_assert!(mismatch, "{:?}", refused);
        }
    }

    #[test]
    fn a_token_verifies_only_when_equal(
        secret in "[ -~]{1,40}",
        other in "[ -~]{1,40}",
    ) {
        let request = headers(&[("x-gitlab-token", &other)]);
        let outcome = verify(Provider::GitLab, &request, b"{}", secret.as_bytes());
        // Header values are trimmed, as HTTP does; compare what was sent.
        prop_assert_eq!(outcome.is_ok(), other.trim() == secret);
    }

    #[test]
    fn parse_never_panics_on_any_body(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        for (provider, event) in [
            (Provider::GitHub, "push"),
            (Provider::GitHub, "pull_request"),
            (Provider::GitHub, "ping"),
            (Provider::Gitea, "push"),
            (Provider::Gitea, "pull_request"),
            (Provider::GitLab, "Push Hook"),
            (Provider::GitLab, "Merge Request Hook"),
        ] {
            let request = headers(&[
                ("x-github-event", event), ("x-github-delivery", "1"),
                ("x-gitea-event", event), ("x-gitea-delivery", "1"),
                ("x-gitlab-event", event), ("x-gitlab-event-uuid", "1"),
            ]);
            let _ = parse(provider, &request, &body);
        }
    }

    #[test]
    fn parse_never_panics_on_json_shaped_bodies(
        body in r#"\{("(ref|before|after|commits|repository|full_name|pull_request|head|base|sha|number|action|project|path_with_namespace|object_attributes|iid|last_commit|id)": ?(\[|\{|"[a-z0-9/]{0,8}"|[0-9]{1,3}|null|true)[,}\]]{0,2}){0,12}"#,
    ) {
        for provider in Provider::ALL {
            let request = headers(&[
                ("x-github-event", "pull_request"), ("x-github-delivery", "1"),
                ("x-gitea-event", "push"), ("x-gitea-delivery", "1"),
                ("x-gitlab-event", "Merge Request Hook"), ("x-gitlab-event-uuid", "1"),
            ]);
            if let Ok(delivery) = parse(provider, &request, body.as_bytes()) {
                let _ = delivery.trigger();
            }
        }
    }
}
