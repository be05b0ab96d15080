//! Referrers on a registry with the referrers API (Slipway's own) and on one without
//! (Debian's `docker-registry`, which gets the `sha256-<hex>` tag fallback), including signers
//! attaching at the same moment.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use slipway_registry::manifest::{Descriptor, OCI_MANIFEST};
use slipway_registry::{
    Digest, Registry, RegistryOptions, RegistryService, RepositoryName, Server, ServerOptions,
};
use slipway_registry_client::{
    Credentials, Referrer, ReferrersSupport, RegistryClient, Secret, Source, Transport,
    fallback_tag,
};

use crate::support::Distribution;

const USER: &str = "signer";
const PASSWORD: &str = "referrers-pa55";
const ARTIFACT_TYPE: &str = "application/vnd.example.signature.v1+json";
const EMPTY: &str = "application/vnd.oci.empty.v1+json";

fn repository() -> RepositoryName {
    "team/web".parse().unwrap()
}

fn descriptor(media_type: &str, bytes: &[u8]) -> Descriptor {
    Descriptor {
        media_type: media_type.to_owned(),
        digest: Digest::sha256(bytes),
        size: bytes.len() as u64,
        urls: Vec::new(),
        artifact_type: None,
        annotations: BTreeMap::new(),
    }
}

/// Pushes a one-layer image and returns its manifest's descriptor.
async fn push_image(client: &RegistryClient) -> Descriptor {
    let config = Bytes::from_static(b"{\"architecture\":\"amd64\",\"os\":\"linux\"}");
    let layer = Bytes::from_static(b"not really a tar, but a blob all the same");
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor("application/vnd.oci.image.config.v1+json", &config),
        "layers": [descriptor("application/vnd.oci.image.layer.v1.tar", &layer)],
    });
    let manifest = Bytes::from(serde_json::to_vec(&manifest).unwrap());
    client
        .push_manifest(
            &repository(),
            "1.0",
            OCI_MANIFEST,
            manifest.clone(),
            &[config, layer],
        )
        .await
        .unwrap();
    descriptor(OCI_MANIFEST, &manifest)
}

/// An artifact whose subject is `subject`, its one layer `content`.
fn referrer(subject: &Descriptor, content: &str) -> Referrer {
    let layer = Bytes::from(content.to_owned());
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": ARTIFACT_TYPE,
        "config": descriptor(EMPTY, b"{}"),
        "layers": [descriptor(ARTIFACT_TYPE, &layer)],
        "subject": subject,
    });
    let manifest = Bytes::from(serde_json::to_vec(&manifest).unwrap());
    Referrer {
        descriptor: Descriptor {
            artifact_type: Some(ARTIFACT_TYPE.to_owned()),
            ..descriptor(OCI_MANIFEST, &manifest)
        },
        manifest,
        blobs: vec![Bytes::from_static(b"{}"), layer],
    }
}

/// Attaches `count` referrers to one image all at once and returns them.
async fn attach_concurrently(
    client: &RegistryClient,
    subject: &Descriptor,
    count: usize,
) -> (Vec<ReferrersSupport>, Vec<Digest>) {
    // One task, many requests in flight: the client's futures are not `Send`, and
    // interleaving on one thread still races the signers' reads and writes.
    let referrers: Vec<Referrer> = (0..count)
        .map(|signer| referrer(subject, &format!("signature {signer}")))
        .collect();
    let mut expected: Vec<Digest> = referrers
        .iter()
        .map(|referrer| referrer.descriptor.digest.clone())
        .collect();
    let signers = referrers.iter().map(|referrer| async {
        client
            .attach_referrer(&repository(), &subject.digest, referrer)
            .await
            .unwrap()
    });
    let supports = futures::future::join_all(signers).await;
    expected.sort_by_key(ToString::to_string);
    (supports, expected)
}

fn digests(listed: &[Descriptor]) -> Vec<Digest> {
    let mut digests: Vec<Digest> = listed.iter().map(|found| found.digest.clone()).collect();
    digests.sort_by_key(ToString::to_string);
    digests
}

#[tokio::test]
async fn without_a_referrers_api_concurrent_signers_all_stay_listed_through_fallback_tags() {
    let registry = Distribution::start(USER, PASSWORD).await;
    let credentials = Credentials::new(
        registry.host.clone(),
        Secret::Basic {
            username: USER.to_owned(),
            password: PASSWORD.to_owned(),
        },
        Source::Given("the test".to_owned()),
    );
    let client = RegistryClient::new(&registry.host, Transport::Http, Some(credentials)).unwrap();
    let image = push_image(&client).await;

    let (supports, expected) = attach_concurrently(&client, &image, 6).await;
    assert!(
        supports
            .iter()
            .all(|support| *support == ReferrersSupport::FallbackTag)
    );

    let (support, listed) = client
        .referrers(&repository(), &image.digest, Some(ARTIFACT_TYPE))
        .await
        .unwrap();
    assert_eq!(support, ReferrersSupport::FallbackTag);
    assert_eq!(digests(&listed), expected);
    assert!(
        listed
            .iter()
            .all(|found| found.artifact_type.as_deref() == Some(ARTIFACT_TYPE))
    );
    // The shared index other tools read lists them all too: whoever wrote it last read the
    // tags back after writing, and every other signer's own tag was there by then.
    let (_, index) = client
        .manifest_if_present(&repository(), &fallback_tag(&image.digest))
        .await
        .unwrap()
        .expect("the fallback index is tagged");
    let index: serde_json::Value = serde_json::from_slice(&index).unwrap();
    let mut indexed: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["digest"].as_str().unwrap().to_owned())
        .collect();
    indexed.sort();
    let expected_text: Vec<String> = expected.iter().map(ToString::to_string).collect();
    assert_eq!(indexed, expected_text);

    let (_, none) = client
        .referrers(&repository(), &image.digest, Some("application/other"))
        .await
        .unwrap();
    assert!(none.is_empty());
}

#[tokio::test]
async fn with_the_referrers_api_a_referrer_is_listed_without_any_tag() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Arc::new(Registry::open(dir.path(), RegistryOptions::default()).unwrap());
    let service = RegistryService::new(registry, None, 64, false);
    let server = Server::start(service, ServerOptions::new("127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap();
    let host = server.local_addr().to_string();
    let client = RegistryClient::new(&host, Transport::Http, None).unwrap();
    let image = push_image(&client).await;

    let (supports, expected) = attach_concurrently(&client, &image, 3).await;
    assert!(
        supports
            .iter()
            .all(|support| *support == ReferrersSupport::Api)
    );
    let (support, listed) = client
        .referrers(&repository(), &image.digest, Some(ARTIFACT_TYPE))
        .await
        .unwrap();
    assert_eq!(support, ReferrersSupport::Api);
    assert_eq!(digests(&listed), expected);
    assert_eq!(
        client.tags(&repository()).await.unwrap(),
        vec!["1.0".to_owned()]
    );
    server.shutdown().await;
}
