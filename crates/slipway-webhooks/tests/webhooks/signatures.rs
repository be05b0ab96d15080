//! `verify` against HMACs computed by openssl, and every way a signature can be wrong.

use slipway_webhooks::{Provider, WebhookError, sign, verify};

use crate::support::{headers, openssl_hmac};

const BODY: &[u8] =
    br#"{"ref":"refs/heads/main","after":"6113728f27ae82c7b1a177c8d03f9e96e0adf246"}"#;
const SECRET: &str = "It's a Secret to Everybody";

#[test]
fn sign_agrees_with_openssl() {
    assert_eq!(sign(SECRET.as_bytes(), BODY), openssl_hmac(SECRET, BODY));
}

#[test]
fn github_documented_example_verifies() {
    // The example in GitHub's "Validating webhook deliveries".
    let signature = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    let request = headers(&[("x-hub-signature-256", &format!("sha256={signature}"))]);
    verify(
        Provider::GitHub,
        &request,
        b"Hello, World!",
        SECRET.as_bytes(),
    )
    .expect("verifies");
}

#[test]
fn github_signature_from_openssl_verifies_and_another_secret_does_not() {
    let request = headers(&[(
        "x-hub-signature-256",
        &format!("sha256={}", openssl_hmac(SECRET, BODY)),
    )]);
    verify(Provider::GitHub, &request, BODY, SECRET.as_bytes()).expect("verifies");
    assert_eq!(
        verify(Provider::GitHub, &request, BODY, b"another secret"),
        Err(WebhookError::SignatureMismatch {
            header: "x-hub-signature-256"
        })
    );
}

#[test]
fn gitea_and_forgejo_send_bare_hex() {
    let hex = openssl_hmac(SECRET, BODY);
    for header in ["x-gitea-signature", "x-forgejo-signature"] {
        let request = headers(&[(header, &hex)]);
        verify(Provider::Gitea, &request, BODY, SECRET.as_bytes()).expect(header);
        let other = verify(Provider::Gitea, &request, b"{}", SECRET.as_bytes());
        assert_eq!(other, Err(WebhookError::SignatureMismatch { header }));
    }
}

#[test]
fn gitlab_token_is_the_secret_itself() {
    let request = headers(&[("x-gitlab-token", SECRET)]);
    verify(Provider::GitLab, &request, BODY, SECRET.as_bytes()).expect("verifies");
    for wrong in [
        "It's a Secret to Everybod",
        "It's a Secret to Everybody!",
        "x",
    ] {
        let request = headers(&[("x-gitlab-token", wrong)]);
        assert_eq!(
            verify(Provider::GitLab, &request, BODY, SECRET.as_bytes()),
            Err(WebhookError::SignatureMismatch {
                header: "x-gitlab-token"
            }),
            "{wrong}"
        );
    }
}

#[test]
fn missing_headers_are_named() {
    let none = headers(&[]);
    let cases = [
        (Provider::GitHub, "x-hub-signature-256"),
        (Provider::Gitea, "x-gitea-signature"),
        (Provider::GitLab, "x-gitlab-token"),
    ];
    for (provider, header) in cases {
        assert_eq!(
            verify(provider, &none, BODY, SECRET.as_bytes()),
            Err(WebhookError::MissingHeader { header })
        );
    }
}

#[test]
fn malformed_signatures_say_why() {
    let hex = openssl_hmac(SECRET, BODY);
    let cases = [
        (
            Provider::GitHub,
            "x-hub-signature-256",
            hex.clone(),
            "sha256=",
        ),
        (
            Provider::GitHub,
            "x-hub-signature-256",
            format!("sha1={hex}"),
            "sha256=",
        ),
        (
            Provider::GitHub,
            "x-hub-signature-256",
            "sha256=zz".to_owned(),
            "hexadecimal",
        ),
        (
            Provider::Gitea,
            "x-gitea-signature",
            hex[..40].to_owned(),
            "20 bytes",
        ),
    ];
    for (provider, header, value, reason) in cases {
        let error = verify(
            provider,
            &headers(&[(header, &value)]),
            BODY,
            SECRET.as_bytes(),
        )
        .expect_err(&value);
        let WebhookError::MalformedHeader {
            header: named,
            reason: said,
        } = &error
        else {
            panic!("{value}: {error:?}");
        };
        assert_eq!(*named, header);
        assert!(said.contains(reason), "{said}");
        assert!(
            !error.to_string().contains(&hex),
            "the signature is not echoed: {error}"
        );
    }
}

#[test]
fn an_empty_secret_accepts_nothing() {
    let request = headers(&[("x-gitlab-token", "")]);
    assert_eq!(
        verify(Provider::GitLab, &request, BODY, b""),
        Err(WebhookError::EmptySecret)
    );
}
