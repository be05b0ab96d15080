//! Who may pull, push and delete: basic authentication against htpasswd, access rules, anonymous
//! pull, the Docker token flow (with skopeo logging in through it), and TLS.

use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::BodyExt as _;
use slipway_registry::auth::{DEFAULT_TOKEN_LIFETIME, Htpasswd, TokenSettings};
use slipway_registry::{AccessRule, Action, Authenticator, RegistryOptions, TlsConfig};
use tokio::net::TcpStream;
use tokio::process::Command;

use crate::support::*;

const PASSWORD: &str = "correct horse";

fn users() -> Htpasswd {
    let hash = bcrypt::hash(PASSWORD, 4).unwrap();
    Htpasswd::parse(&format!("ci:{hash}\nreader:{hash}\n")).unwrap()
}

fn rules() -> Vec<AccessRule> {
    vec![
        AccessRule::new(
            vec!["ci".into()],
            &["shop/**".into()],
            vec![Action::Pull, Action::Push, Action::Delete],
        )
        .unwrap(),
        AccessRule::new(
            vec!["reader".into()],
            &["shop/*".into()],
            vec![Action::Pull],
        )
        .unwrap(),
    ]
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

fn tokens() -> Option<TokenSettings> {
    Some(TokenSettings {
        secret: vec![42; 32],
        lifetime: DEFAULT_TOKEN_LIFETIME,
    })
}

#[tokio::test]
async fn basic_authentication_and_access_rules() {
    let auth = Authenticator::new(users(), rules(), false, None);
    let registry = TestRegistry::start_with(RegistryOptions::default(), Some(auth), 64).await;
    let anonymous = registry.client();
    let answer = anonymous
        .get("/v2/")
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    assert_eq!(
        answer.header("www-authenticate"),
        Some(r#"Basic realm="slipway-registry""#)
    );
    registry
        .client()
        .authorized(&basic("ci", "wrong"))
        .get("/v2/")
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    registry
        .client()
        .authorized(&basic("nobody", PASSWORD))
        .get("/v2/")
        .await
        .expect(StatusCode::UNAUTHORIZED);

    let ci = registry.client().authorized(&basic("ci", PASSWORD));
    ci.get("/v2/").await.expect(StatusCode::OK);
    ci.push_image("shop/web", "v1", &[b"layer"]).await;
    ci.push_image("shop/team/api", "v1", &[b"layer"]).await;

    let reader = registry.client().authorized(&basic("reader", PASSWORD));
    reader
        .get("/v2/shop/web/manifests/v1")
        .await
        .expect(StatusCode::OK);
    reader
        .send(
            Method::POST,
            "/v2/shop/web/blobs/uploads/",
            &[],
            Bytes::new(),
        )
        .await
        .expect_error(StatusCode::FORBIDDEN, "DENIED");
    reader
        .delete("/v2/shop/web/manifests/v1")
        .await
        .expect_error(StatusCode::FORBIDDEN, "DENIED");
    reader
        .get("/v2/shop/team/api/manifests/v1")
        .await
        .expect_error(StatusCode::FORBIDDEN, "DENIED");
    // The catalog lists what the caller may pull.
    assert_eq!(
        reader
            .get("/v2/_catalog")
            .await
            .expect(StatusCode::OK)
            .json()["repositories"],
        serde_json::json!(["shop/web"])
    );
    assert_eq!(
        ci.get("/v2/_catalog").await.expect(StatusCode::OK).json()["repositories"],
        serde_json::json!(["shop/team/api", "shop/web"])
    );
    anonymous
        .get("/v2/shop/web/manifests/v1")
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
}

#[tokio::test]
async fn anonymous_pull_lets_anybody_pull_and_nobody_push() {
    let auth = Authenticator::new(users(), Vec::new(), true, None);
    let registry = TestRegistry::start_with(RegistryOptions::default(), Some(auth), 64).await;
    registry
        .client()
        .authorized(&basic("ci", PASSWORD))
        .push_image("public/app", "v1", &[b"layer"])
        .await;
    let anonymous = registry.client();
    anonymous.get("/v2/").await.expect(StatusCode::OK);
    anonymous
        .get("/v2/public/app/manifests/v1")
        .await
        .expect(StatusCode::OK);
    anonymous
        .send(
            Method::POST,
            "/v2/public/app/blobs/uploads/",
            &[],
            Bytes::new(),
        )
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    anonymous
        .delete("/v2/public/app/manifests/v1")
        .await
        .expect(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_docker_token_flow_grants_scopes_per_repository() {
    let auth = Authenticator::new(users(), rules(), false, tokens());
    let registry = TestRegistry::start_with(RegistryOptions::default(), Some(auth), 64).await;
    let client = registry.client();
    let challenge = client.get("/v2/").await.expect(StatusCode::UNAUTHORIZED);
    let realm = format!("http://{}/token", registry.host());
    assert_eq!(
        challenge.header("www-authenticate"),
        Some(format!(r#"Bearer realm="{realm}",service="slipway-registry""#).as_str())
    );
    let push = client
        .send(
            Method::POST,
            "/v2/shop/web/blobs/uploads/",
            &[],
            Bytes::new(),
        )
        .await
        .expect(StatusCode::UNAUTHORIZED);
    assert!(
        push.header("www-authenticate")
            .unwrap()
            .ends_with(r#"scope="repository:shop/web:pull,push""#)
    );

    let token = |user: &'static str, scope: &'static str| {
        let client = client.authorized(&basic(user, PASSWORD));
        async move {
            let answer = client
                .get(&format!("/token?service=slipway-registry&scope={scope}"))
                .await
                .expect(StatusCode::OK);
            let token = answer.json()["token"].as_str().unwrap().to_owned();
            assert_eq!(answer.json()["access_token"], token.as_str());
            format!("Bearer {token}")
        }
    };
    let pull_only = client.authorized(&token("ci", "repository:shop/web:pull").await);
    pull_only.get("/v2/").await.expect(StatusCode::OK);
    let refused = pull_only
        .send(
            Method::POST,
            "/v2/shop/web/blobs/uploads/",
            &[],
            Bytes::new(),
        )
        .await
        .expect(StatusCode::UNAUTHORIZED);
    assert!(
        refused
            .header("www-authenticate")
            .unwrap()
            .contains(r#"error="insufficient_scope""#)
    );

    let pusher = client.authorized(&token("ci", "repository:shop/web:pull,push").await);
    pusher.push_image("shop/web", "v1", &[b"layer"]).await;
    // The reader asks for push and gets only what it may: pull.
    let reader = client.authorized(&token("reader", "repository:shop/web:pull,push").await);
    reader
        .get("/v2/shop/web/manifests/v1")
        .await
        .expect(StatusCode::OK);
    reader
        .send(
            Method::POST,
            "/v2/shop/web/blobs/uploads/",
            &[],
            Bytes::new(),
        )
        .await
        .expect(StatusCode::UNAUTHORIZED);
    // A token names its repository: it grants nothing elsewhere.
    pusher
        .get("/v2/shop/api/tags/list")
        .await
        .expect(StatusCode::UNAUTHORIZED);
    client
        .authorized("Bearer not.a.token")
        .get("/v2/")
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    client
        .authorized(&basic("ci", "wrong"))
        .get("/token?scope=repository:shop/web:pull")
        .await
        .expect(StatusCode::UNAUTHORIZED);
}

/// Runs skopeo, failing the test with its output unless it succeeds.
async fn skopeo(args: &[&str]) {
    let output = Command::new("skopeo")
        .args(args)
        .output()
        .await
        .expect("skopeo: run scripts/install-registry-test-tools");
    assert!(
        output.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn skopeo_logs_in_through_the_token_flow_and_copies() {
    let auth = Authenticator::new(users(), rules(), false, tokens());
    let registry = TestRegistry::start_with(RegistryOptions::default(), Some(auth), 64).await;
    registry
        .client()
        .authorized(&basic("ci", PASSWORD))
        .push_image("shop/web", "v1", &[b"layer"])
        .await;
    let source = format!("docker://{}/shop/web:v1", registry.host());
    let target = format!("docker://{}/shop/web:copied", registry.host());
    let creds = format!("ci:{PASSWORD}");
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        "--src-creds",
        &creds,
        "--dest-creds",
        &creds,
        &source,
        &target,
    ])
    .await;
    let output = Command::new("skopeo")
        .args([
            "copy",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            "--src-creds",
            &creds,
        ])
        .args([
            "--dest-creds",
            &format!("reader:{PASSWORD}"),
            &source,
            &target,
        ])
        .output()
        .await
        .unwrap();
    assert!(!output.status.success(), "the reader may not push");
    registry
        .client()
        .authorized(&basic("reader", PASSWORD))
        .get("/v2/shop/web/manifests/copied")
        .await
        .expect(StatusCode::OK);
}

fn certificate() -> (tempfile::TempDir, TlsConfig, rcgen::Certificate) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), certified.cert.pem()).unwrap();
    std::fs::write(
        dir.path().join("key.pem"),
        certified.signing_key.serialize_pem(),
    )
    .unwrap();
    let tls = TlsConfig::load(&dir.path().join("cert.pem"), &dir.path().join("key.pem")).unwrap();
    (dir, tls, certified.cert)
}

#[tokio::test]
async fn tls_serves_https_that_clients_verify() {
    let (files, tls, certificate) = certificate();
    let registry = TestRegistry::start_tls(None, tls).await;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(certificate.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let stream = TcpStream::connect(registry.address).await.unwrap();
    let stream = connector
        .connect("localhost".try_into().unwrap(), stream)
        .await
        .unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let request = http::Request::get("/v2/")
        .header("host", "localhost")
        .body(http_body_util::Empty::<Bytes>::new())
        .unwrap();
    let answer = sender.send_request(request).await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(
        answer.into_body().collect().await.unwrap().to_bytes(),
        &b"{}"[..]
    );

    // Plain HTTP to the TLS port gets no answer.
    assert!(
        registry
            .client()
            .try_send(Method::GET, "/v2/", &[], Bytes::new())
            .await
            .is_none()
    );

    // skopeo, trusting the certificate from a directory, copies over HTTPS.
    let certs = tempfile::tempdir().unwrap();
    std::fs::copy(files.path().join("cert.pem"), certs.path().join("ca.crt")).unwrap();
    let layout = tempfile::tempdir().unwrap();
    let plain = TestRegistry::start().await;
    plain
        .client()
        .push_image("tls/app", "v1", &[b"layer"])
        .await;
    let cert_dir = certs.path().display().to_string();
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        "--dest-cert-dir",
        &cert_dir,
        &format!("docker://{}/tls/app:v1", plain.host()),
        &format!("docker://{}/tls/app:v1", registry.host()),
    ])
    .await;
    skopeo(&[
        "copy",
        "--src-cert-dir",
        &cert_dir,
        &format!("docker://{}/tls/app:v1", registry.host()),
        &format!("dir:{}", layout.path().display()),
    ])
    .await;
    assert!(layout.path().join("manifest.json").is_file());
}

#[tokio::test]
async fn unusable_certificates_are_reported_with_their_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty.pem"), "").unwrap();
    let error = TlsConfig::load(
        &dir.path().join("empty.pem"),
        &dir.path().join("missing.pem"),
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with(&dir.path().join("empty.pem").display().to_string()),
        "{error}"
    );
    let (files, _, _) = certificate();
    let error = TlsConfig::load(
        &files.path().join("cert.pem"),
        &dir.path().join("missing.pem"),
    )
    .unwrap_err();
    assert!(error.to_string().contains("missing.pem"), "{error}");
}
