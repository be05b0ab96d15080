//! Bundles: a build context kept as an OCI artifact reads back byte for byte, real clients see an
//! ordinary artifact manifest, and nothing but a bundle is ever handed out as one.

use std::collections::BTreeMap;

use bytes::Bytes;
use slipway_registry::{BUNDLE_ARTIFACT_TYPE, BundleError, Digest, Reference, RepositoryName, Tag};
use tokio::process::Command;

use crate::support::*;

fn context_tar() -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, content) in [
        ("src/server.js", &b"listen()\n"[..]),
        ("package.json", b"{}\n"),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, name, content).unwrap();
    }
    builder.into_inner().unwrap()
}

fn tags(names: &[&str]) -> Vec<Tag> {
    names.iter().map(|name| name.parse().unwrap()).collect()
}

#[tokio::test]
async fn a_bundle_reads_back_under_every_tag_and_real_clients_see_an_artifact() {
    let registry = TestRegistry::start().await;
    let repository: RepositoryName = "shop/web".parse().unwrap();
    let tar = context_tar();
    let annotations = BTreeMap::from([(
        "org.opencontainers.image.revision".to_owned(),
        "0123abcd".to_owned(),
    )]);

    let digest = registry
        .registry
        .push_bundle(
            &repository,
            &tags(&["0123abcd", "1.4.0"]),
            Bytes::from(tar.clone()),
            annotations.clone(),
        )
        .await
        .unwrap();

    for tag in ["0123abcd", "1.4.0"] {
        let pulled = registry
            .registry
            .pull_bundle(&repository, &Reference::Tag(tag.parse().unwrap()))
            .await
            .unwrap();
        assert_eq!(pulled.digest, digest);
        assert_eq!(pulled.tar.as_ref(), tar.as_slice());
        assert_eq!(pulled.annotations, annotations);
    }
    let layout = tempfile::tempdir().unwrap();
    let source = format!("docker://{}/shop/web:1.4.0", registry.host());
    let output = Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--raw", &source])
        .output()
        .await
        .expect("skopeo runs: run scripts/install-registry-test-tools");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let manifest: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(manifest["artifactType"], BUNDLE_ARTIFACT_TYPE);
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.revision"],
        "0123abcd"
    );
    assert_eq!(
        Digest::sha256(&output.stdout),
        digest,
        "served byte for byte"
    );
    let copied = Command::new("skopeo")
        .args(["copy", "--src-tls-verify=false", &source])
        .arg(format!("oci:{}:bundle", layout.path().display()))
        .output()
        .await
        .unwrap();
    assert!(
        copied.status.success(),
        "{}",
        String::from_utf8_lossy(&copied.stderr)
    );
    let layer = Digest::sha256(&tar);
    let blob = std::fs::read(layout.path().join("blobs/sha256").join(layer.hex())).unwrap();
    assert_eq!(blob, tar, "the layer a client pulls is the context's tar");
}

#[tokio::test]
async fn an_image_or_a_missing_tag_is_never_read_as_a_bundle() {
    let registry = TestRegistry::start().await;
    let repository: RepositoryName = "shop/web".parse().unwrap();
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let layer = context_tar();
    for blob in [&config[..], &layer] {
        let body = futures::stream::iter([Ok(Bytes::copy_from_slice(blob))]);
        registry
            .registry
            .upload_blob(&repository, &Digest::sha256(blob), Box::pin(body))
            .await
            .unwrap();
    }
    let manifest = image_manifest(config, &[&layer], None);
    registry
        .registry
        .put_manifest(
            &repository,
            &Reference::Tag("image".parse().unwrap()),
            Some(OCI_MANIFEST),
            Bytes::from(manifest),
        )
        .await
        .unwrap();

    let image = registry
        .registry
        .pull_bundle(&repository, &Reference::Tag("image".parse().unwrap()))
        .await
        .unwrap_err();
    assert!(
        matches!(&image, BundleError::NotABundle { found, .. } if found.contains("image")),
        "{image}"
    );
    let missing = registry
        .registry
        .pull_bundle(&repository, &Reference::Tag("nope".parse().unwrap()))
        .await
        .unwrap_err();
    assert!(matches!(missing, BundleError::Registry(_)), "{missing}");
}
