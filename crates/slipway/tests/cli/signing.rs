//! `slipway keys generate`, `slipway sign` and `slipway verify` end to end: against Slipway's
//! own registry (referrers API) and Debian's `docker-registry` (no referrers API: the
//! `sha256-<hex>` fallback tag, and cosign's legacy `.sig` tag).

use base64::Engine as _;
use bytes::Bytes;
use slipway_registry::Digest;
use slipway_registry_client::{Credentials, RegistryClient, Secret, Source, Transport};

use crate::registry::{distribution, push_image, serve};
use crate::support::{Project, Run};

const PASSWORD: &str = "sign-me-pa55";

/// `slipway ARGS` with the key password in the environment and no credentials of the user's.
fn slipway(project: &Project, args: &[&str]) -> Run {
    let docker = project.path().join(".docker");
    project.slipway_with(
        args,
        &[
            ("SLIPWAY_KEY_PASSWORD", PASSWORD),
            ("DOCKER_CONFIG", docker.to_str().unwrap()),
            ("HOME", project.path().to_str().unwrap()),
            (
                "REGISTRY_AUTH_FILE",
                project.path().join("auth.json").to_str().unwrap(),
            ),
        ],
    )
}

/// A project with a key pair in `keys/`, written by `slipway keys generate`.
fn project_with_keys() -> Project {
    let project = Project::empty();
    slipway(&project, &["keys", "generate", "--output", "keys"]).success();
    assert!(
        project
            .read("keys/cosign.key")
            .starts_with("-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----")
    );
    assert!(
        project
            .read("keys/cosign.pub")
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    project
}

fn verdict(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|error| panic!("{error}: {}", run.stdout))
}

#[test]
fn keys_sign_and_verify_against_slipway_s_registry_through_the_referrers_api() {
    let project = project_with_keys();
    let storage = tempfile::tempdir().unwrap();
    let (_served, port) = serve(&project, &["--storage", storage.path().to_str().unwrap()]);
    let signed_digest = push_image(port, "shop/web", "1.0");
    let unsigned_digest = push_image(port, "shop/web", "2.0");
    let image = format!("127.0.0.1:{port}/shop/web");

    let run = slipway(
        &project,
        &["sign", &format!("{image}:1.0"), "--key", "keys/cosign.key"],
    )
    .success();
    assert!(run.stderr.contains("referrers API"), "{}", run.stderr);

    let run = slipway(
        &project,
        &[
            "verify",
            &format!("{image}@{signed_digest}"),
            "--key",
            "keys/cosign.pub",
            "--json",
        ],
    )
    .success();
    let verdict = verdict(&run);
    assert_eq!(verdict["verified"], true);
    assert_eq!(verdict["digest"], signed_digest.to_string());
    assert_eq!(verdict["signatures"][0]["kind"], "bundle");
    assert_eq!(verdict["signatures"][0]["found_by"], "referrers API");

    // Another image, unsigned: nothing verifies, and the command says so.
    let run = slipway(
        &project,
        &[
            "verify",
            &format!("{image}:2.0"),
            "--key",
            "keys/cosign.pub",
        ],
    )
    .failure(1);
    assert!(
        run.stderr.contains(&format!(
            "no signature of {image}@{unsigned_digest} verifies"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("no signature was found"),
        "{}",
        run.stderr
    );

    // Another key: the signature is found, and refused with the reason.
    slipway(&project, &["keys", "generate", "--output", "other"]).success();
    let run = slipway(
        &project,
        &[
            "verify",
            &format!("{image}:1.0"),
            "--key",
            "other/cosign.pub",
        ],
    )
    .failure(1);
    assert!(run.stderr.contains("signed by key"), "{}", run.stderr);
}

#[test]
fn sign_and_verify_against_a_registry_without_referrers_use_the_fallback_and_legacy_tags() {
    let registry = distribution("signer", "distribution-pa55");
    let project = project_with_keys();
    let auth = base64::engine::general_purpose::STANDARD.encode("signer:distribution-pa55");
    project.write(
        ".docker/config.json",
        &format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, registry.host),
    );
    let digest = push_with_client(&registry.host, "team/api", "1.0");
    let image = format!("{}/team/api:1.0", registry.host);

    let run = slipway(&project, &["sign", &image, "--key", "keys/cosign.key"]).success();
    assert!(run.stderr.contains("fallback tag"), "{}", run.stderr);
    slipway(
        &project,
        &["sign", &image, "--key", "keys/cosign.key", "--legacy"],
    )
    .success();
    // A second key signs too: both its signatures sit beside the first key's.
    slipway(&project, &["keys", "generate", "--output", "other"]).success();
    slipway(
        &project,
        &["sign", &image, "--key", "other/cosign.key", "--legacy"],
    )
    .success();
    slipway(&project, &["sign", &image, "--key", "other/cosign.key"]).success();

    let run = slipway(
        &project,
        &["verify", &image, "--key", "keys/cosign.pub", "--json"],
    )
    .success();
    let verdict = verdict(&run);
    assert_eq!(verdict["digest"], digest.to_string());
    let signatures = verdict["signatures"].as_array().unwrap();
    let verified = |kind: &str, found_by: &str| {
        signatures
            .iter()
            .filter(|found| found["kind"] == kind && found["found_by"] == found_by)
            .map(|found| found["verified"].as_bool().unwrap())
            .collect::<Vec<_>>()
    };
    // One bundle and one legacy signature of each key: this key's verify, the other's do not.
    let mut bundles = verified("bundle", "fallback tag");
    bundles.sort_unstable();
    assert_eq!(bundles, [false, true], "{signatures:?}");
    let mut legacy = verified("legacy", "legacy .sig tag");
    legacy.sort_unstable();
    assert_eq!(legacy, [false, true], "{signatures:?}");
}

#[test]
fn a_wrong_password_is_refused_naming_the_key_file() {
    let project = project_with_keys();
    let run = project
        .slipway_with(
            &["sign", "127.0.0.1:1/shop/web:1", "--key", "keys/cosign.key"],
            &[("SLIPWAY_KEY_PASSWORD", "not the password")],
        )
        .failure(2);
    assert!(
        run.stderr
            .contains("the password does not decrypt keys/cosign.key"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("SLIPWAY_KEY_PASSWORD"),
        "{}",
        run.stderr
    );
}

/// A client of the registry at `host` with the test's credentials.
fn test_client(host: &str) -> RegistryClient {
    let credentials = Credentials::new(
        host,
        Secret::Basic {
            username: "signer".to_owned(),
            password: "distribution-pa55".to_owned(),
        },
        Source::Given("the test".to_owned()),
    );
    RegistryClient::new(host, Transport::Http, Some(credentials)).unwrap()
}

/// The manifest `reference` names in `name` on the registry at `host`.
fn fetch_manifest(host: &str, name: &str, reference: &str) -> Vec<u8> {
    let client = test_client(host);
    let (_, bytes) = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(client.manifest_if_present(&name.parse().unwrap(), reference))
        .unwrap()
        .expect("the manifest is there");
    bytes.to_vec()
}

/// Pushes a one-layer image to the registry at `host` with the test's credentials.
fn push_with_client(host: &str, name: &str, tag: &str) -> Digest {
    let client = test_client(host);
    let config = Bytes::from_static(b"{\"architecture\":\"amd64\",\"os\":\"linux\"}");
    let layer = Bytes::from_static(b"a layer");
    let descriptor = |media_type: &str, content: &[u8]| serde_json::json!({"mediaType": media_type, "digest": Digest::sha256(content), "size": content.len()});
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": descriptor("application/vnd.oci.image.config.v1+json", &config),
        "layers": [descriptor("application/vnd.oci.image.layer.v1.tar", &layer)],
    });
    let manifest = Bytes::from(serde_json::to_vec(&manifest).unwrap());
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(client.push_manifest(
            &name.parse().unwrap(),
            tag,
            "application/vnd.oci.image.manifest.v1+json",
            manifest,
            &[config, layer],
        ))
        .unwrap()
}

#[test]
fn a_bundle_for_another_digest_attached_to_an_image_is_refused_with_the_reason() {
    let project = project_with_keys();
    let storage = tempfile::tempdir().unwrap();
    let (_served, port) = serve(&project, &["--storage", storage.path().to_str().unwrap()]);
    let image_digest = push_image(port, "shop/web", "1.0");
    let other_digest = push_image(port, "shop/web", "2.0");
    let host = format!("127.0.0.1:{port}");

    // A correctly signed bundle, but of the other image, made to refer to this one.
    let key = slipway_signing::SigningKey::read(
        &project.path().join("keys/cosign.key"),
        PASSWORD.as_bytes(),
    )
    .unwrap();
    let bundle =
        slipway_signing::sign_image(&key, &format!("{host}/shop/web"), &other_digest).unwrap();
    let client = RegistryClient::new(&host, Transport::Http, None).unwrap();
    let repository = "shop/web".parse().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let subject = runtime
        .block_on(client.manifest_descriptor(&repository, &image_digest.to_string()))
        .unwrap();
    let stored =
        slipway_signing::artifact::bundle_manifest(&bundle, subject, "2026-01-01T00:00:00Z");
    let referrer = slipway_registry_client::Referrer {
        descriptor: stored.descriptor(Some(slipway_signing::BUNDLE_MEDIA_TYPE)),
        manifest: Bytes::from(stored.manifest.clone()),
        blobs: stored.blobs.iter().cloned().map(Bytes::from).collect(),
    };
    runtime
        .block_on(client.attach_referrer(&repository, &image_digest, &referrer))
        .unwrap();

    let run = slipway(
        &project,
        &[
            "verify",
            &format!("{host}/shop/web:1.0"),
            "--key",
            "keys/cosign.pub",
        ],
    )
    .failure(1);
    assert!(
        run.stderr.contains(&format!(
            "the signature is for {other_digest}, not {image_digest}"
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn signers_at_the_same_moment_on_a_registry_without_referrers_all_keep_their_signature() {
    let registry = distribution("signer", "distribution-pa55");
    let project = project_with_keys();
    let auth = base64::engine::general_purpose::STANDARD.encode("signer:distribution-pa55");
    project.write(
        ".docker/config.json",
        &format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, registry.host),
    );
    push_with_client(&registry.host, "team/api", "1.0");
    let image = format!("{}/team/api:1.0", registry.host);

    // ECDSA signatures are randomised: each signer makes a bundle and a legacy signature of
    // its own.
    const SIGNERS: usize = 4;
    for extra in [&[][..], &["--legacy"][..]] {
        std::thread::scope(|scope| {
            let signers: Vec<_> = (0..SIGNERS)
                .map(|_| {
                    scope.spawn(|| {
                        let mut args = vec!["sign", image.as_str(), "--key", "keys/cosign.key"];
                        args.extend_from_slice(extra);
                        slipway(&project, &args)
                    })
                })
                .collect();
            for signer in signers {
                signer.join().unwrap().success();
            }
        });
    }

    let run = slipway(
        &project,
        &["verify", &image, "--key", "keys/cosign.pub", "--json"],
    )
    .success();
    let verdict = verdict(&run);
    let signatures = verdict["signatures"].as_array().unwrap();
    let count = |kind: &str| {
        signatures
            .iter()
            .filter(|found| found["kind"] == kind)
            .count()
    };
    assert_eq!(
        (count("bundle"), count("legacy")),
        (SIGNERS, SIGNERS),
        "{signatures:?}"
    );
    assert!(
        signatures.iter().all(|found| found["verified"] == true),
        "{signatures:?}"
    );
    // The shared `.sig` manifest, all cosign reads, holds every legacy signature too.
    let digest: Digest = verdict["digest"].as_str().unwrap().parse().unwrap();
    let tag = slipway_signing::artifact::legacy_tag(&digest);
    let sig = fetch_manifest(&registry.host, "team/api", &tag);
    assert_eq!(
        slipway_signing::artifact::legacy_signatures(&sig).len(),
        SIGNERS
    );
}
