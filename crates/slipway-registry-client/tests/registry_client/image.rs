//! Pulling container images into an OCI image layout, against Debian's `docker-registry` with
//! htpasswd auth (the image pushed there by skopeo) and the user's Docker login.

use std::path::Path;

use serde_json::json;
use slipway_registry::{Digest, Reference, RepositoryName};
use slipway_registry_client::{
    ClientError, Platform, PulledImage, RegistryClient, Transport, find_credentials,
};

use crate::support::{ARCHITECTURES, Distribution, Homes, TestImage, basic_auth};

const USER: &str = "puller";
const PASSWORD: &str = "pu11-pa55";

fn repository() -> RepositoryName {
    "team/app".parse().unwrap()
}

fn linux(architecture: &str) -> Platform<'_> {
    Platform {
        os: "linux",
        architecture,
    }
}

/// Checks that `dir` is an OCI layout holding exactly the image of `architecture`.
pub(crate) fn assert_layout_of(
    dir: &Path,
    pulled: &PulledImage,
    image: &TestImage,
    architecture: &str,
) {
    let (manifest, config, layer) = &image.images[architecture];
    assert_eq!(&pulled.manifest, manifest);
    assert_eq!(pulled.digest, Digest::sha256(manifest));
    let blob = |content: &[u8]| dir.join("blobs/sha256").join(Digest::sha256(content).hex());
    for content in [manifest, config, layer] {
        assert_eq!(std::fs::read(blob(content)).unwrap(), content.as_ref());
    }
    for (other, (_, _, layer)) in &image.images {
        if *other != architecture {
            assert!(!blob(layer).exists(), "the {other} layer was not pulled");
        }
    }
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    assert_eq!(
        index["manifests"][0]["digest"],
        json!(pulled.digest.to_string())
    );
    assert!(dir.join("oci-layout").is_file());
}

async fn logged_in_client(registry: &Distribution, password: &str) -> RegistryClient {
    let homes = Homes::new();
    homes.docker_config(&json!({
        "auths": { &registry.host: { "auth": basic_auth(USER, password) } }
    }));
    let credentials = find_credentials(&homes.environment(), &registry.host, "team/app")
        .await
        .unwrap();
    assert!(credentials.is_some());
    RegistryClient::new(&registry.host, Transport::Http, credentials).unwrap()
}

#[tokio::test]
async fn an_image_is_pulled_for_the_platform_asked_with_the_users_docker_login() {
    let registry = Distribution::start(USER, PASSWORD).await;
    let image = TestImage::new();
    image.push_with_skopeo(&registry.host, "team/app", "1.0", USER, PASSWORD);
    let client = logged_in_client(&registry, PASSWORD).await;
    for architecture in ARCHITECTURES {
        let dir = tempfile::tempdir().unwrap();
        let pulled = client
            .pull_image(
                &repository(),
                &Reference::Tag("1.0".parse().unwrap()),
                linux(architecture),
                dir.path(),
            )
            .await
            .unwrap();
        assert_layout_of(dir.path(), &pulled, &image, architecture);
    }
    // An image manifest named by its digest is pulled whatever the platform asked.
    let dir = tempfile::tempdir().unwrap();
    let arm64 = Digest::sha256(&image.images["arm64"].0);
    let pulled = client
        .pull_image(
            &repository(),
            &Reference::Digest(arm64),
            linux("amd64"),
            dir.path(),
        )
        .await
        .unwrap();
    assert_layout_of(dir.path(), &pulled, &image, "arm64");
}

#[tokio::test]
async fn a_platform_the_index_lacks_and_a_refused_login_are_errors_that_say_so() {
    let registry = Distribution::start(USER, PASSWORD).await;
    TestImage::new().push_with_skopeo(&registry.host, "team/app", "1.0", USER, PASSWORD);
    let tag = Reference::Tag("1.0".parse().unwrap());
    let dir = tempfile::tempdir().unwrap();

    let client = logged_in_client(&registry, PASSWORD).await;
    let error = client
        .pull_image(&repository(), &tag, linux("s390x"), dir.path())
        .await
        .unwrap_err();
    assert!(matches!(error, ClientError::NoPlatform { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!(
            "team/app:1.0 on registry {} has no image for linux/s390x (it has: linux/amd64, linux/arm64); name the image of one platform by its digest",
            registry.host
        )
    );

    let refused = logged_in_client(&registry, "wrong-pa55").await;
    let error = refused
        .pull_image(&repository(), &tag, linux("amd64"), dir.path())
        .await
        .unwrap_err();
    assert!(
        matches!(error, ClientError::Unauthorized { .. }),
        "{error:?}"
    );
}
