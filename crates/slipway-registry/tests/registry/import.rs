//! Importing `docker save` archives: the image lands under every tag and pulls completely.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt;
use http::StatusCode;
use slipway_registry::{Digest, ImportError, PushHook, PushedManifest, RegistryOptions};

use crate::collection::pull_completely;
use crate::support::*;

fn append(builder: &mut tar::Builder<Vec<u8>>, path: &str, content: &[u8]) {
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder.append_data(&mut header, path, content).unwrap();
}

/// An archive as Docker's legacy `docker save` writes it: the manifest last, one layer a
/// symbolic link to another's file.
fn archive(layers: &[&[u8]], with_manifest: bool) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    append(&mut builder, "0123.json", config);
    let mut paths = Vec::new();
    for (index, layer) in layers.iter().enumerate() {
        let path = format!("layer{index}/layer.tar");
        append(&mut builder, &path, layer);
        paths.push(path);
    }
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Symlink);
    header.set_size(0);
    header.set_cksum();
    builder
        .append_link(&mut header, "again/layer.tar", "../layer0/layer.tar")
        .unwrap();
    paths.push("again/layer.tar".to_owned());
    append(&mut builder, "repositories", b"{}");
    if with_manifest {
        let manifest =
            serde_json::json!([{ "Config": "0123.json", "RepoTags": ["x:1"], "Layers": paths }]);
        append(
            &mut builder,
            "manifest.json",
            &serde_json::to_vec(&manifest).unwrap(),
        );
    }
    builder.into_inner().unwrap()
}

/// The archive as a stream of small chunks, as an engine sends it.
fn stream(archive: Vec<u8>) -> slipway_registry::storage::ByteStream {
    let chunks: Vec<std::io::Result<Bytes>> = archive
        .chunks(1000)
        .map(|chunk| Ok(Bytes::copy_from_slice(chunk)))
        .collect();
    futures::stream::iter(chunks).boxed()
}

#[derive(Debug, Default)]
struct Counter(Mutex<Vec<PushedManifest>>);

impl PushHook for Counter {
    fn manifest_pushed(&self, push: &PushedManifest) {
        self.0.lock().unwrap().push(push.clone());
    }
}

#[tokio::test]
async fn an_archive_is_stored_under_every_tag_and_pulls_completely() {
    let counter = Arc::new(Counter::default());
    let registry = TestRegistry::start_with(
        RegistryOptions {
            events: None,
            hooks: vec![counter.clone()],
        },
        None,
        16,
    )
    .await;
    let big = vec![9u8; 3_000_000];
    let layers: [&[u8]; 2] = [b"first layer tar", &big];
    let tags = ["1.0.0".parse().unwrap(), "main".parse().unwrap()];

    let imported = registry
        .registry
        .import_archive(
            &"shop/web".parse().unwrap(),
            &tags,
            stream(archive(&layers, true)),
        )
        .await
        .unwrap();

    assert_eq!(imported.layers, 3);
    let client = registry.client();
    for tag in ["1.0.0", "main"] {
        assert_eq!(
            pull_completely(&client, "shop/web", tag).await,
            imported.digest
        );
    }
    let manifest = client
        .get("/v2/shop/web/manifests/main")
        .await
        .expect(StatusCode::OK)
        .json();
    let layer_digests: Vec<&str> = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|layer| layer["digest"].as_str().unwrap())
        .collect();
    let first = Digest::sha256(layers[0]).to_string();
    assert_eq!(
        layer_digests,
        [
            first.as_str(),
            Digest::sha256(&big).to_string().as_str(),
            first.as_str()
        ]
    );
    assert_eq!(
        manifest["layers"][0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar"
    );
    assert_eq!(counter.0.lock().unwrap().len(), 2, "one push per tag");
}

#[tokio::test]
async fn an_image_already_stored_is_retagged_by_its_config_without_another_import() {
    let counter = Arc::new(Counter::default());
    let registry = TestRegistry::start_with(
        RegistryOptions {
            events: None,
            hooks: vec![counter.clone()],
        },
        None,
        16,
    )
    .await;
    let repository = "shop/web".parse().unwrap();
    let imported = registry
        .registry
        .import_archive(
            &repository,
            &["1.0.0".parse().unwrap()],
            stream(archive(&[b"layer"], true)),
        )
        .await
        .unwrap();
    let config = Digest::sha256(
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#,
    );
    let tags = ["1.0.0".parse().unwrap(), "main".parse().unwrap()];

    let other_config = Digest::sha256(b"another image's config");
    assert_eq!(
        registry
            .registry
            .retag_image(&repository, &tags, &other_config)
            .await
            .unwrap(),
        None,
        "the tag holds another image"
    );
    let unknown_tag = ["2.0.0".parse().unwrap()];
    assert_eq!(
        registry
            .registry
            .retag_image(&repository, &unknown_tag, &config)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        registry
            .registry
            .retag_image(&"shop/other".parse().unwrap(), &tags, &config)
            .await
            .unwrap(),
        None,
        "an unknown repository holds nothing"
    );
    assert_eq!(counter.0.lock().unwrap().len(), 1);

    let retagged = registry
        .registry
        .retag_image(&repository, &tags, &config)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(retagged, imported);
    assert_eq!(
        pull_completely(&registry.client(), "shop/web", "main").await,
        imported.digest
    );
    assert_eq!(
        counter.0.lock().unwrap().len(),
        2,
        "one push, for the new tag only"
    );
    registry
        .registry
        .retag_image(&repository, &tags, &config)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(counter.0.lock().unwrap().len(), 2, "nothing left to push");
}

#[tokio::test]
async fn an_archive_without_a_manifest_is_refused() {
    let registry = TestRegistry::start().await;
    let error = registry
        .registry
        .import_archive(
            &"shop/web".parse().unwrap(),
            &[],
            stream(archive(&[b"layer"], false)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ImportError::NotAnImage(reason) if reason == "it has no manifest.json"),
        "{error}"
    );
    let error = registry
        .registry
        .import_archive(
            &"shop/web".parse().unwrap(),
            &[],
            stream(b"not a tar at all".repeat(100)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            ImportError::Unreadable(_) | ImportError::NotAnImage(_)
        ),
        "{error}"
    );
}
