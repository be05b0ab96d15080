//! The OCI conformance suite's four workflows, one test per case of the suite (v1.1), in Rust.
//!
//! Each test sets up what the suite's earlier steps would have left (a fresh registry per test,
//! so the cases run in any order) and then checks exactly what the suite's case checks, with the
//! registry's own choice where the suite allows several answers.

use bytes::Bytes;
use http::{Method, StatusCode};
use slipway_registry::Digest;

use crate::support::*;

const NAME: &str = "conformance/test";
const CROSSMOUNT: &str = "conformance/crossmount";

fn dummy_digest() -> Digest {
    Digest::sha256(b"there is no blob with this content in the registry")
}

mod pull {
    use super::*;

    async fn populated() -> (TestRegistry, Client, Image) {
        let registry = TestRegistry::start().await;
        let client = registry.client();
        let image = client
            .push_image(NAME, "tagtest0", &[b"a layer of the pull test"])
            .await;
        (registry, client, image)
    }

    #[tokio::test]
    async fn head_request_to_nonexistent_blob_should_result_in_404() {
        let (_registry, client, _) = populated().await;
        client
            .head(&format!("/v2/{NAME}/blobs/{}", dummy_digest()))
            .await
            .expect(StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn head_request_to_existing_blob_should_yield_200() {
        let (_registry, client, image) = populated().await;
        let config = Digest::sha256(&image.config);
        let answer = client
            .head(&format!("/v2/{NAME}/blobs/{config}"))
            .await
            .expect(StatusCode::OK);
        assert_eq!(
            answer.header("docker-content-digest"),
            Some(config.to_string().as_str())
        );
        assert_eq!(
            answer.header("content-length"),
            Some(image.config.len().to_string().as_str())
        );
        assert!(answer.body.is_empty());
    }

    #[tokio::test]
    async fn get_nonexistent_blob_should_result_in_404() {
        let (_registry, client, _) = populated().await;
        client
            .get(&format!("/v2/{NAME}/blobs/{}", dummy_digest()))
            .await
            .expect(StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn get_request_to_existing_blob_url_should_yield_200() {
        let (_registry, client, image) = populated().await;
        let answer = client
            .get(&format!(
                "/v2/{NAME}/blobs/{}",
                Digest::sha256(&image.config)
            ))
            .await
            .expect(StatusCode::OK);
        assert_eq!(answer.body, image.config);
    }

    #[tokio::test]
    async fn head_request_to_nonexistent_manifest_should_return_404() {
        let (_registry, client, _) = populated().await;
        // The suite's name for a manifest that does not exist is not even a valid tag.
        client
            .head(&format!("/v2/{NAME}/manifests/.INVALID_MANIFEST_NAME"))
            .await
            .expect(StatusCode::NOT_FOUND);
        client
            .head(&format!("/v2/{NAME}/manifests/nonexistent"))
            .await
            .expect(StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn head_request_to_manifest_path_digest_should_yield_200() {
        let (_registry, client, image) = populated().await;
        let answer = client
            .send(
                Method::HEAD,
                &format!("/v2/{NAME}/manifests/{}", image.digest),
                &[("accept", OCI_MANIFEST)],
                Bytes::new(),
            )
            .await
            .expect(StatusCode::OK);
        assert_eq!(
            answer.header("docker-content-digest"),
            Some(image.digest.to_string().as_str())
        );
    }

    #[tokio::test]
    async fn head_request_to_manifest_path_tag_should_yield_200() {
        let (_registry, client, image) = populated().await;
        let answer = client
            .head(&format!("/v2/{NAME}/manifests/tagtest0"))
            .await
            .expect(StatusCode::OK);
        assert_eq!(
            answer.header("docker-content-digest"),
            Some(image.digest.to_string().as_str())
        );
    }

    #[tokio::test]
    async fn get_nonexistent_manifest_should_return_404() {
        let (_registry, client, _) = populated().await;
        for reference in [".INVALID_MANIFEST_NAME", "nonexistent"] {
            client
                .get(&format!("/v2/{NAME}/manifests/{reference}"))
                .await
                .expect_error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN");
        }
    }

    #[tokio::test]
    async fn get_request_to_manifest_path_digest_should_yield_200() {
        let (_registry, client, image) = populated().await;
        let answer = client
            .get(&format!("/v2/{NAME}/manifests/{}", image.digest))
            .await
            .expect(StatusCode::OK);
        assert_eq!(answer.body, image.manifest);
        assert_eq!(answer.header("content-type"), Some(OCI_MANIFEST));
    }

    #[tokio::test]
    async fn get_request_to_manifest_path_tag_should_yield_200() {
        let (_registry, client, image) = populated().await;
        let answer = client
            .get(&format!("/v2/{NAME}/manifests/tagtest0"))
            .await
            .expect(StatusCode::OK);
        assert_eq!(answer.body, image.manifest);
        assert_eq!(
            answer.header("docker-content-digest"),
            Some(image.digest.to_string().as_str())
        );
    }

    #[tokio::test]
    async fn error_400_response_body_should_contain_oci_conforming_json_message() {
        let (_registry, client, _) = populated().await;
        let answer = client
            .put_manifest(
                NAME,
                "sha256:totallywrong",
                OCI_MANIFEST,
                b"{\"invalid\": true}",
            )
            .await
            .expect(StatusCode::BAD_REQUEST);
        let codes = [
            "BLOB_UNKNOWN",
            "BLOB_UPLOAD_INVALID",
            "BLOB_UPLOAD_UNKNOWN",
            "DIGEST_INVALID",
            "MANIFEST_BLOB_UNKNOWN",
            "MANIFEST_INVALID",
            "MANIFEST_UNKNOWN",
            "NAME_INVALID",
            "NAME_UNKNOWN",
            "SIZE_INVALID",
            "UNAUTHORIZED",
            "DENIED",
            "UNSUPPORTED",
            "TOOMANYREQUESTS",
        ];
        assert!(
            codes.contains(&answer.error_code().as_str()),
            "{}",
            answer.error_code()
        );
        assert!(answer.json()["errors"][0]["message"].is_string());
    }

    #[tokio::test]
    async fn teardown_deletes_are_accepted() {
        let (_registry, client, image) = populated().await;
        client
            .delete(&format!("/v2/{NAME}/manifests/{}", image.digest))
            .await
            .expect(StatusCode::ACCEPTED);
        client
            .delete(&format!(
                "/v2/{NAME}/blobs/{}",
                Digest::sha256(&image.config)
            ))
            .await
            .expect(StatusCode::ACCEPTED);
        client
            .delete(&format!(
                "/v2/{NAME}/blobs/{}",
                Digest::sha256(&image.layers[0])
            ))
            .await
            .expect(StatusCode::ACCEPTED);
    }
}

mod push {
    use super::*;

    const CHUNK_1: &[u8] = b"the first chunk of blob B, ";
    const CHUNK_2: &[u8] = b"and its second chunk";

    fn blob_b() -> Vec<u8> {
        [CHUNK_1, CHUNK_2].concat()
    }

    async fn patch(client: &Client, location: &str, range: (usize, usize), chunk: &[u8]) -> Answer {
        let range = format!("{}-{}", range.0, range.1);
        let length = chunk.len().to_string();
        client
            .send(
                Method::PATCH,
                location,
                &[
                    ("content-type", "application/octet-stream"),
                    ("content-range", &range),
                    ("content-length", &length),
                ],
                Bytes::copy_from_slice(chunk),
            )
            .await
    }

    #[tokio::test]
    async fn patch_request_with_blob_in_body_should_yield_202_response() {
        let registry = TestRegistry::start().await;
        let client = registry.client();
        let location = client.start_upload(NAME).await;
        let answer = client
            .send(
                Method::PATCH,
                &location,
                &[("content-type", "application/octet-stream")],
                Bytes::from_static(b"streamed blob A"),
            )
            .await
            .expect(StatusCode::ACCEPTED);
        assert_eq!(answer.header("range"), Some("0-14"));
    }

    #[tokio::test]
    async fn put_request_to_session_url_with_digest_should_yield_201_response() {
        let registry = TestRegistry::start().await;
        let client = registry.client();
        let location = client.start_upload(NAME).await;
        let patched = client
            .send(
                Method::PATCH,
                &location,
                &[],
                Bytes::from_static(b"streamed blob A"),
            )
            .await
            .expect(StatusCode::ACCEPTED);
        let digest = Digest::sha256(b"streamed blob A");
        let answer = client
            .send(
                Method::PUT,
                &with_query(&patched.location(), &format!("digest={digest}")),
                &[("content-length", "0")],
                Bytes::new(),
            )
            .await
            .expect(StatusCode::CREATED);
        assert_eq!(answer.location(), format!("/v2/{NAME}/blobs/{digest}"));
    }

    #[tokio::test]
    async fn get_nonexistent_blob_should_result_in_404_response() {
        let registry = TestRegistry::start().await;
        registry
            .client()
            .get(&format!("/v2/{NAME}/blobs/{}", dummy_digest()))
            .await
            .expect_error(StatusCode::NOT_FOUND, "BLOB_UNKNOWN");
    }

    #[tokio::test]
    async fn post_request_with_digest_and_blob_should_yield_a_201() {
        let registry = TestRegistry::start().await;
        let client = registry.client();
        let config = b"{\"config\": 1}";
        let digest = Digest::sha256(config);
        let answer = client
            .send(
                Method::POST,
                &format!("/v2/{NAME}/blobs/uploads/?digest={digest}"),
                &[("content-type", "application/octet-stream")],
                Bytes::from_static(config),
            )
            .await
            .expect(StatusCode::CREATED);
        assert_eq!(answer.location(), format!("/v2/{NAME}/blobs/{digest}"));
    }

    #[tokio::test]
    async fn get_request_to_blob_url_from_prior_request_should_yield_200() {
        let registry = TestRegistry::start().await;
        let client = registry.client();
        let digest = Digest::sha256(b"single post");
        let answer = client
            .send(
                Method::POST,
                &format!("/v2/{NAME}/blobs/uploads/?digest={digest}"),
                &[],
                Bytes::from_static(b"single post"),
            )
            .await
            .expect(StatusCode::CREATED);
        assert_eq!(
            client
                .get(&answer.location())
                .await
                .expect(StatusCode::OK)
                .body,
            &b"single post"[..]
        );
    }

    #[tokio::test]
    async fn post_request_should_yield_a_session_id() {
        let registry = TestRegistry::start().await;
        let answer = registry
            .client()
            .send(
                Method::POST,
                &format!("/v2/{NAME}/blobs/uploads/"),
                &[],
                Bytes::new(),
            )
            .await
            .expect(StatusCode::ACCEPTED);
        let location = answer.location();
        let id = location.rsplit('/').next().unwrap();
        assert_eq!(id.len(), 36, "a UUID: {location}");
        assert_eq!(answer.header("docker-upload-uuid"), Some(id));
    }

    #[tokio::test]
    async fn put_upload_of_a_blob_should_yield_a_201_response() {
        let registry = TestRegistry::start().await;
        let client = registry.client();
        let location = client.start_upload(NAME).await;
        let content = b"{\"config\": 2}";
        let answer = client
            .send(
                Method::PUT,
                &with_query(&location, &format!("digest={}", Digest::sha256(content))),
                &[("content-type", "application/octet-stream")],
                Bytes::from_static(content),
            )
            .await
            .expect(StatusCode::CREATED);
        assert!(!answer.location().is_empty());
    }

    #[tokio::test]
    async fn get_request_to_existing_blob_should_yield_200_response() {
        let registry = TestRegistry::start().await;
        let client = registry.client();
        let digest = client.push_blob(NAME, b"{\"config\": 3}").await;
        client
            .get(&format!("/v2/{NAME}/blobs/{digest}"))
            .await
            .expect(StatusCode::OK);
    }

    #[tokio::test]
    async fn put_upload_of_a_layer_blob_should_yield_a_201_response_and_the_layer_reads_back() {
        let registry = TestRegistry::start().await;
        let client = registry.client();
        let layer: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let digest = client.push_blob(NAME, &layer).await;
        assert_eq!(
            client
                .get(&format!("/v2/{NAME}/blobs/{digest}"))
                .await
                .expect(StatusCode::OK)
                .body,
            layer
        );
    }

    #[tokio::test]
    async fn out_of_order_blob_upload_should_return_416() {
        let registry = TestRegistry::start().await;
        let client = registry.client();
        let location = client
            .send(
                Method::POST,
                &format!("/v2/{NAME}/blobs/uploads/"),
                &[("content-length", "0")],
                Bytes::new(),
            )
            .await
            .expect(StatusCode::ACCEPTED)
            .location();
        patch(
            &client,
            &location,
            (CHUNK_1.len(), blob_b().len() - 1),
            CHUNK_2,
        )
        .await
        .expect(StatusCode::RANGE_NOT_SATISFIABLE);
    }

    #[tokio::test]
    async fn patch_request_with_first_chunk_should_return_202() {
        let registry = TestRegistry::start().await;
        let client = registry.client();
        let location = client.start_upload(NAME).await;
        let answer = patch(&client, &location, (0, CHUNK_1.len() - 1), CHUNK_1)
            .await
            .expect(StatusCode::ACCEPTED);
        assert_eq!(
            answer.header("range"),
            Some(format!("0-{}", CHUNK_1.len() - 1).as_str())
        );
    }

    #[tokio::test]
    async fn retry_previous_blob_chunk_should_return_416() {
        let registry = TestRegistry::start().await;
        let client = registry.client();
        let location = client.start_upload(NAME).await;
        patch(&client, &location, (0, CHUNK_1.len() - 1), CHUNK_1)
            .await
            .expect(StatusCode::ACCEPTED);
        let answer = patch(&client, &location, (0, CHUNK_1.len() - 1), CHUNK_1)
            .await
            .expect(StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(
            answer.header("range"),
            Some(format!("0-{}", CHUNK_1.len() - 1).as_str()),
            "says where to resume"
        );
    }

    #[tokio::test]
    async fn get_on_stale_blob_upload_should_return_204_with_a_range_and_location() {
        let registry = TestRegistry::start().await;
        let client = registry.client();
        let location = client.start_upload(NAME).await;
        patch(&client, &location, (0, CHUNK_1.len() - 1), CHUNK_1)
            .await
            .expect(StatusCode::ACCEPTED);
        let answer = client.get(&location).await.expect(StatusCode::NO_CONTENT);
        assert_eq!(
            answer.header("range"),
            Some(format!("0-{}", CHUNK_1.len() - 1).as_str())
        );
        assert_eq!(answer.location(), location);
    }

    #[tokio::test]
    async fn patch_request_with_second_chunk_should_return_202() {
        let registry = TestRegistry::start().await;
        let client = registry.client();
        let location = client.start_upload(NAME).await;
        let first = patch(&client, &location, (0, CHUNK_1.len() - 1), CHUNK_1)
            .await
            .expect(StatusCode::ACCEPTED);
        let answer = patch(
            &client,
            &first.location(),
            (CHUNK_1.len(), blob_b().len() - 1),
            CHUNK_2,
        )
        .await
        .expect(StatusCode::ACCEPTED);
        assert_eq!(
            answer.header("range"),
            Some(format!("0-{}", blob_b().len() - 1).as_str())
        );
    }

    #[tokio::test]
    async fn put_request_with_digest_should_return_201() {
        let registry = TestRegistry::start().await;
        let client = registry.client();
        let location = client.start_upload(NAME).await;
        patch(&client, &location, (0, CHUNK_1.len() - 1), CHUNK_1)
            .await
            .expect(StatusCode::ACCEPTED);
        let second = patch(
            &client,
            &location,
            (CHUNK_1.len(), blob_b().len() - 1),
            CHUNK_2,
        )
        .await
        .expect(StatusCode::ACCEPTED);
        let digest = Digest::sha256(&blob_b());
        client
            .send(
                Method::PUT,
                &with_query(&second.location(), &format!("digest={digest}")),
                &[("content-length", "0")],
                Bytes::new(),
            )
            .await
            .expect(StatusCode::CREATED);
        assert_eq!(
            client
                .get(&format!("/v2/{NAME}/blobs/{digest}"))
                .await
                .expect(StatusCode::OK)
                .body,
            blob_b()
        );
    }

    #[tokio::test]
    async fn put_request_with_final_chunk_should_return_201() {
        let registry = TestRegistry::start().await;
        let client = registry.client();
        let location = client.start_upload(NAME).await;
        patch(&client, &location, (0, CHUNK_1.len() - 1), CHUNK_1)
            .await
            .expect(StatusCode::ACCEPTED);
        let digest = Digest::sha256(&blob_b());
        let range = format!("{}-{}", CHUNK_1.len(), blob_b().len() - 1);
        client
            .send(
                Method::PUT,
                &with_query(&location, &format!("digest={digest}")),
                &[("content-range", &range)],
                Bytes::from_static(CHUNK_2),
            )
            .await
            .expect(StatusCode::CREATED);
        client
            .head(&format!("/v2/{NAME}/blobs/{digest}"))
            .await
            .expect(StatusCode::OK);
    }

    #[tokio::test]
    async fn cross_mounting_of_a_blob_without_the_from_argument_should_yield_session_id() {
        let registry = TestRegistry::start().await;
        let answer = registry
            .client()
            .send(
                Method::POST,
                &format!("/v2/{CROSSMOUNT}/blobs/uploads/?mount={}", dummy_digest()),
                &[],
                Bytes::new(),
            )
            .await
            .expect(StatusCode::ACCEPTED);
        assert!(
            answer
                .location()
                .starts_with(&format!("/v2/{CROSSMOUNT}/blobs/uploads/"))
        );
    }

    #[tokio::test]
    async fn post_request_to_mount_another_repositorys_blob_should_return_201() {
        let registry = TestRegistry::start().await;
        let client = registry.client();
        let digest = client.push_blob(NAME, b"blob A to mount").await;
        let answer = client
            .send(
                Method::POST,
                &format!("/v2/{CROSSMOUNT}/blobs/uploads/?mount={digest}&from={NAME}"),
                &[],
                Bytes::new(),
            )
            .await
            .expect(StatusCode::CREATED);
        assert_eq!(
            answer.location(),
            format!("/v2/{CROSSMOUNT}/blobs/{digest}")
        );
        assert_eq!(
            answer.header("docker-content-digest"),
            Some(digest.to_string().as_str())
        );
    }

    #[tokio::test]
    async fn get_request_to_test_digest_within_cross_mount_namespace_should_return_200() {
        let registry = TestRegistry::start().await;
        let client = registry.client();
        let digest = client.push_blob(NAME, b"blob A to mount").await;
        client
            .get(&format!("/v2/{CROSSMOUNT}/blobs/{digest}"))
            .await
            .expect(StatusCode::NOT_FOUND);
        let mounted = client
            .send(
                Method::POST,
                &format!("/v2/{CROSSMOUNT}/blobs/uploads/?mount={digest}&from={NAME}"),
                &[],
                Bytes::new(),
            )
            .await
            .expect(StatusCode::CREATED);
        assert_eq!(
            client
                .get(&mounted.location())
                .await
                .expect(StatusCode::OK)
                .body,
            &b"blob A to mount"[..]
        );
    }

    #[tokio::test]
    async fn cross_mounting_of_nonexistent_blob_should_yield_session_id() {
        let registry = TestRegistry::start().await;
        let answer = registry
            .client()
            .send(
                Method::POST,
                &format!(
                    "/v2/{CROSSMOUNT}/blobs/uploads/?mount={}&from={NAME}",
                    dummy_digest()
                ),
                &[],
                Bytes::new(),
            )
            .await
            .expect(StatusCode::ACCEPTED);
        assert!(
            answer
                .location()
                .starts_with(&format!("/v2/{CROSSMOUNT}/blobs/uploads/"))
        );
    }

    #[tokio::test]
    async fn cross_mounting_without_from_and_automatic_content_discovery_disabled_should_return_a_202()
     {
        let registry = TestRegistry::start().await;
        let client = registry.client();
        let digest = client.push_blob(NAME, b"blob A to mount").await;
        client
            .send(
                Method::POST,
                &format!("/v2/{CROSSMOUNT}/blobs/uploads/?mount={digest}"),
                &[],
                Bytes::new(),
            )
            .await
            .expect(StatusCode::ACCEPTED);
    }

    #[tokio::test]
    async fn get_nonexistent_manifest_should_return_404() {
        let registry = TestRegistry::start().await;
        registry
            .client()
            .get(&format!("/v2/{NAME}/manifests/nonexistent"))
            .await
            .expect(StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn put_should_accept_a_manifest_upload() {
        let registry = TestRegistry::start().await;
        let client = registry.client();
        let config = b"{\"push\": 1}";
        let layer = b"push layer";
        client.push_blob(NAME, config).await;
        client.push_blob(NAME, layer).await;
        let manifest = image_manifest(config, &[layer], None);
        for i in 0..4 {
            let answer = client
                .put_manifest(NAME, &format!("test{i}"), OCI_MANIFEST, &manifest)
                .await
                .expect(StatusCode::CREATED);
            assert_eq!(
                answer.location(),
                format!("/v2/{NAME}/manifests/{}", Digest::sha256(&manifest))
            );
            assert_eq!(
                answer.header("docker-content-digest"),
                Some(Digest::sha256(&manifest).to_string().as_str())
            );
        }
    }

    #[tokio::test]
    async fn registry_should_accept_a_manifest_upload_with_no_layers() {
        let registry = TestRegistry::start().await;
        let client = registry.client();
        let config = b"{\"no layers\": true}";
        client.push_blob(NAME, config).await;
        client
            .put_manifest(
                NAME,
                "emptylayer",
                OCI_MANIFEST,
                &image_manifest(config, &[], None),
            )
            .await
            .expect(StatusCode::CREATED);
    }

    #[tokio::test]
    async fn get_request_to_manifest_url_digest_should_yield_200_response() {
        let registry = TestRegistry::start().await;
        let client = registry.client();
        let image = client.push_image(NAME, "test0", &[b"layer"]).await;
        let answer = client
            .send(
                Method::GET,
                &format!("/v2/{NAME}/manifests/{}", image.digest),
                &[("accept", OCI_MANIFEST)],
                Bytes::new(),
            )
            .await
            .expect(StatusCode::OK);
        assert_eq!(answer.body, image.manifest);
    }

    #[tokio::test]
    async fn registry_should_accept_a_manifest_upload_with_custom_config_media_type() {
        let registry = TestRegistry::start().await;
        let client = registry.client();
        let config = b"{\"artifact\": \"config\"}";
        let layer = b"ref blob A";
        client.push_blob(NAME, config).await;
        client.push_blob(NAME, layer).await;
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor("application/vnd.test.artifact.config.v1+json", config),
            "layers": [descriptor("application/octet-stream", layer)],
        }))
        .unwrap();
        let digest = Digest::sha256(&manifest);
        client
            .put_manifest(NAME, &digest.to_string(), OCI_MANIFEST, &manifest)
            .await
            .expect(StatusCode::CREATED);
    }

    #[tokio::test]
    async fn registry_should_accept_a_manifest_upload_with_custom_artifact_type() {
        let registry = TestRegistry::start().await;
        let client = registry.client();
        client.push_blob(NAME, b"{}").await;
        client.push_blob(NAME, b"ref blob A").await;
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": "application/vnd.test.artifact.v1",
            "config": descriptor(EMPTY_JSON, b"{}"),
            "layers": [descriptor("application/octet-stream", b"ref blob A")],
        }))
        .unwrap();
        let digest = Digest::sha256(&manifest);
        client
            .put_manifest(NAME, &digest.to_string(), OCI_MANIFEST, &manifest)
            .await
            .expect(StatusCode::CREATED);
    }

    #[tokio::test]
    async fn registry_should_accept_a_manifest_upload_with_image_index() {
        let registry = TestRegistry::start().await;
        let client = registry.client();
        let image = client.push_image(NAME, "tagtest0", &[b"layer"]).await;
        let index = index(&[(OCI_MANIFEST, &image.manifest)]);
        let digest = Digest::sha256(&index);
        client
            .put_manifest(NAME, &digest.to_string(), OCI_INDEX, &index)
            .await
            .expect(StatusCode::CREATED);
        assert_eq!(
            client
                .get(&format!("/v2/{NAME}/manifests/{digest}"))
                .await
                .expect(StatusCode::OK)
                .header("content-type"),
            Some(OCI_INDEX)
        );
    }

    #[tokio::test]
    async fn registry_should_accept_a_manifest_upload_with_nested_image_index() {
        let registry = TestRegistry::start().await;
        let client = registry.client();
        let image = client.push_image(NAME, "tagtest0", &[b"layer"]).await;
        let inner = index(&[(OCI_MANIFEST, &image.manifest)]);
        client
            .put_manifest(NAME, &Digest::sha256(&inner).to_string(), OCI_INDEX, &inner)
            .await
            .expect(StatusCode::CREATED);
        let outer = index(&[(OCI_INDEX, &inner)]);
        client
            .put_manifest(NAME, &Digest::sha256(&outer).to_string(), OCI_INDEX, &outer)
            .await
            .expect(StatusCode::CREATED);
    }

    #[tokio::test]
    async fn dangling_subject() {
        let registry = TestRegistry::start().await;
        let client = registry.client();
        client.push_blob(NAME, b"{}").await;
        client.push_blob(NAME, b"ref blob C").await;
        let absent_subject = b"a manifest that was never pushed";
        let manifest = artifact(
            "application/vnd.test.c",
            b"ref blob C",
            absent_subject,
            "dangling",
        );
        let answer = client
            .put_manifest(
                NAME,
                &Digest::sha256(&manifest).to_string(),
                OCI_MANIFEST,
                &manifest,
            )
            .await
            .expect(StatusCode::CREATED);
        assert_eq!(
            answer.header("oci-subject"),
            Some(Digest::sha256(absent_subject).to_string().as_str())
        );
    }
}

mod content_discovery {
    use super::*;

    /// The suite's setup: four tags on one image, a subject with five referrers (two of artifact
    /// type A), and a referrer to a manifest that was never pushed.
    struct Discovery {
        _registry: TestRegistry,
        client: Client,
        subject: Digest,
        missing_subject: Vec<u8>,
        dangling: Digest,
    }

    const TYPE_A: &str = "application/vnd.test.artifact.a";
    const TYPE_B: &str = "application/vnd.test.artifact.b";

    async fn discovery() -> Discovery {
        let registry = TestRegistry::start().await;
        let client = registry.client();
        let tagged = client
            .push_image(NAME, "test0", &[b"discovery layer"])
            .await;
        for i in 1..4 {
            client
                .put_manifest(NAME, &format!("test{i}"), OCI_MANIFEST, &tagged.manifest)
                .await
                .expect(StatusCode::CREATED);
        }
        client.push_blob(NAME, b"{}").await;
        client.push_blob(NAME, b"ref blob A").await;
        client.push_blob(NAME, b"ref blob B").await;
        let subject_config = b"{\"subject\": true}";
        client.push_blob(NAME, subject_config).await;
        let subject_bytes = image_manifest(subject_config, &[b"discovery layer"], None);
        let mut referrers = Vec::new();
        // Referrers pushed before their subject, then after, as the suite does.
        for (artifact_type, layer, note) in [
            (TYPE_A, &b"ref blob A"[..], "a1"),
            (TYPE_B, b"ref blob A", "b1"),
        ] {
            let manifest = artifact(artifact_type, layer, &subject_bytes, note);
            let answer = client
                .put_manifest(
                    NAME,
                    &Digest::sha256(&manifest).to_string(),
                    OCI_MANIFEST,
                    &manifest,
                )
                .await;
            assert_eq!(
                answer.expect(StatusCode::CREATED).header("oci-subject"),
                Some(Digest::sha256(&subject_bytes).to_string().as_str())
            );
            referrers.push(manifest);
        }
        client
            .put_manifest(NAME, "tagtest0", OCI_MANIFEST, &subject_bytes)
            .await
            .expect(StatusCode::CREATED);
        let subject = Digest::sha256(&subject_bytes);
        for (artifact_type, layer, note) in [
            (TYPE_A, &b"ref blob B"[..], "a2"),
            (TYPE_B, b"ref blob B", "b2"),
        ] {
            let manifest = artifact(artifact_type, layer, &subject_bytes, note);
            client
                .put_manifest(
                    NAME,
                    &Digest::sha256(&manifest).to_string(),
                    OCI_MANIFEST,
                    &manifest,
                )
                .await
                .expect(StatusCode::CREATED);
        }
        let index = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "artifactType": "application/vnd.test.index",
            "manifests": [descriptor(OCI_MANIFEST, &subject_bytes)],
            "subject": descriptor(OCI_MANIFEST, &subject_bytes),
            "annotations": { "org.example.note": "index" },
        }))
        .unwrap();
        client
            .put_manifest(NAME, &Digest::sha256(&index).to_string(), OCI_INDEX, &index)
            .await
            .expect(StatusCode::CREATED);
        let missing_subject = b"never pushed".to_vec();
        let dangling_manifest = artifact(TYPE_B, b"ref blob B", &missing_subject, "dangling");
        let dangling = Digest::sha256(&dangling_manifest);
        client
            .put_manifest(
                NAME,
                &dangling.to_string(),
                OCI_MANIFEST,
                &dangling_manifest,
            )
            .await
            .expect(StatusCode::CREATED);
        Discovery {
            _registry: registry,
            client,
            subject,
            missing_subject,
            dangling,
        }
    }

    fn tags(answer: &Answer) -> Vec<String> {
        answer.json()["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|tag| tag.as_str().unwrap().to_owned())
            .collect()
    }

    #[tokio::test]
    async fn get_request_to_list_tags_should_yield_200_response() {
        let discovery = discovery().await;
        let answer = discovery
            .client
            .get(&format!("/v2/{NAME}/tags/list"))
            .await
            .expect(StatusCode::OK);
        assert_eq!(answer.json()["name"], NAME);
        assert_eq!(
            tags(&answer),
            ["tagtest0", "test0", "test1", "test2", "test3"]
        );
    }

    #[tokio::test]
    async fn get_number_of_tags_should_be_limitable_by_n_query_parameter() {
        let discovery = discovery().await;
        let answer = discovery
            .client
            .get(&format!("/v2/{NAME}/tags/list?n=2"))
            .await
            .expect(StatusCode::OK);
        assert_eq!(tags(&answer), ["tagtest0", "test0"]);
        assert_eq!(
            answer.header("link"),
            Some(format!("</v2/{NAME}/tags/list?n=2&last=test0>; rel=\"next\"").as_str())
        );
        let none = discovery
            .client
            .get(&format!("/v2/{NAME}/tags/list?n=0"))
            .await
            .expect(StatusCode::OK);
        assert_eq!(tags(&none), Vec::<String>::new());
        assert_eq!(none.header("link"), None);
    }

    #[tokio::test]
    async fn get_start_of_tag_is_set_by_last_query_parameter() {
        let discovery = discovery().await;
        let answer = discovery
            .client
            .get(&format!("/v2/{NAME}/tags/list?n=2&last=test0"))
            .await
            .expect(StatusCode::OK);
        assert_eq!(tags(&answer), ["test1", "test2"]);
        let rest = discovery
            .client
            .get(&format!("/v2/{NAME}/tags/list?last=test1"))
            .await
            .expect(StatusCode::OK);
        assert_eq!(tags(&rest), ["test2", "test3"]);
        assert_eq!(rest.header("link"), None);
    }

    #[tokio::test]
    async fn get_referrers_of_nonexistent_blob_should_result_in_empty_200_response() {
        let discovery = discovery().await;
        let answer = discovery
            .client
            .get(&format!("/v2/{NAME}/referrers/{}", dummy_digest()))
            .await
            .expect(StatusCode::OK);
        assert_eq!(answer.header("content-type"), Some(OCI_INDEX));
        assert_eq!(answer.json()["manifests"], serde_json::json!([]));
        assert_eq!(answer.json()["schemaVersion"], 2);
    }

    #[tokio::test]
    async fn get_referrers_of_existing_blob_should_yield_200() {
        let discovery = discovery().await;
        let answer = discovery
            .client
            .get(&format!("/v2/{NAME}/referrers/{}", discovery.subject))
            .await
            .expect(StatusCode::OK);
        assert_eq!(answer.header("content-type"), Some(OCI_INDEX));
        let manifests = answer.json()["manifests"].as_array().unwrap().clone();
        assert_eq!(manifests.len(), 5);
        let mut notes: Vec<&str> = manifests
            .iter()
            .map(|m| m["annotations"]["org.example.note"].as_str().unwrap())
            .collect();
        notes.sort_unstable();
        assert_eq!(notes, ["a1", "a2", "b1", "b2", "index"]);
        let index = manifests
            .iter()
            .find(|m| m["mediaType"] == OCI_INDEX)
            .unwrap();
        assert_eq!(index["artifactType"], "application/vnd.test.index");
        assert!(
            manifests
                .iter()
                .all(|m| m["digest"].is_string() && m["size"].as_u64().unwrap() > 0)
        );
    }

    #[tokio::test]
    async fn get_referrers_of_existing_blob_with_filter_should_yield_200() {
        let discovery = discovery().await;
        let answer = discovery
            .client
            .get(&format!(
                "/v2/{NAME}/referrers/{}?artifactType={}",
                discovery.subject,
                TYPE_A.replace('/', "%2F")
            ))
            .await
            .expect(StatusCode::OK);
        assert_eq!(answer.header("oci-filters-applied"), Some("artifactType"));
        let manifests = answer.json()["manifests"].as_array().unwrap().clone();
        assert_eq!(manifests.len(), 2);
        assert!(manifests.iter().all(|m| m["artifactType"] == TYPE_A));
    }

    #[tokio::test]
    async fn get_referrers_of_missing_manifest_should_yield_200() {
        let discovery = discovery().await;
        let answer = discovery
            .client
            .get(&format!(
                "/v2/{NAME}/referrers/{}",
                Digest::sha256(&discovery.missing_subject)
            ))
            .await
            .expect(StatusCode::OK);
        let manifests = answer.json()["manifests"].as_array().unwrap().clone();
        assert_eq!(manifests.len(), 1);
        assert_eq!(manifests[0]["digest"], discovery.dangling.to_string());
    }

    #[tokio::test]
    async fn get_referrers_with_an_invalid_digest_is_a_bad_request() {
        let discovery = discovery().await;
        discovery
            .client
            .get(&format!("/v2/{NAME}/referrers/sha256:nothex"))
            .await
            .expect_error(StatusCode::BAD_REQUEST, "DIGEST_INVALID");
    }
}

mod content_management {
    use super::*;

    async fn managed() -> (TestRegistry, Client, Image) {
        let registry = TestRegistry::start().await;
        let client = registry.client();
        let image = client
            .push_image(NAME, "tagtest0", &[b"management layer"])
            .await;
        client
            .put_manifest(NAME, "other", OCI_MANIFEST, &image.manifest)
            .await
            .expect(StatusCode::CREATED);
        (registry, client, image)
    }

    fn tag_count(answer: &Answer) -> usize {
        answer.json()["tags"].as_array().unwrap().len()
    }

    #[tokio::test]
    async fn delete_request_to_manifest_tag_should_return_202() {
        let (_registry, client, image) = managed().await;
        client
            .delete(&format!("/v2/{NAME}/manifests/tagtest0"))
            .await
            .expect(StatusCode::ACCEPTED);
        client
            .get(&format!("/v2/{NAME}/manifests/tagtest0"))
            .await
            .expect(StatusCode::NOT_FOUND);
        client
            .get(&format!("/v2/{NAME}/manifests/{}", image.digest))
            .await
            .expect(StatusCode::OK);
    }

    #[tokio::test]
    async fn delete_request_to_manifest_digest_should_yield_202_response() {
        let (_registry, client, image) = managed().await;
        client
            .delete(&format!("/v2/{NAME}/manifests/{}", image.digest))
            .await
            .expect(StatusCode::ACCEPTED);
        client
            .delete(&format!("/v2/{NAME}/manifests/{}", image.digest))
            .await
            .expect_error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN");
    }

    #[tokio::test]
    async fn get_request_to_deleted_manifest_url_should_yield_404_response() {
        let (_registry, client, image) = managed().await;
        client
            .delete(&format!("/v2/{NAME}/manifests/{}", image.digest))
            .await
            .expect(StatusCode::ACCEPTED);
        client
            .get(&format!("/v2/{NAME}/manifests/{}", image.digest))
            .await
            .expect(StatusCode::NOT_FOUND);
        client
            .get(&format!("/v2/{NAME}/manifests/other"))
            .await
            .expect(StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn get_request_to_tags_list_should_reflect_manifest_deletion() {
        let (_registry, client, image) = managed().await;
        let before = tag_count(
            &client
                .get(&format!("/v2/{NAME}/tags/list"))
                .await
                .expect(StatusCode::OK),
        );
        client
            .delete(&format!("/v2/{NAME}/manifests/tagtest0"))
            .await
            .expect(StatusCode::ACCEPTED);
        client
            .delete(&format!("/v2/{NAME}/manifests/{}", image.digest))
            .await
            .expect(StatusCode::ACCEPTED);
        let after = tag_count(
            &client
                .get(&format!("/v2/{NAME}/tags/list"))
                .await
                .expect(StatusCode::OK),
        );
        assert_eq!((before, after), (2, 0));
    }

    #[tokio::test]
    async fn delete_request_to_blob_url_should_yield_202_response() {
        let (_registry, client, image) = managed().await;
        client
            .delete(&format!(
                "/v2/{NAME}/blobs/{}",
                Digest::sha256(&image.config)
            ))
            .await
            .expect(StatusCode::ACCEPTED);
        client
            .delete(&format!(
                "/v2/{NAME}/blobs/{}",
                Digest::sha256(&image.layers[0])
            ))
            .await
            .expect(StatusCode::ACCEPTED);
    }

    #[tokio::test]
    async fn get_request_to_deleted_blob_url_should_yield_404_response() {
        let (_registry, client, image) = managed().await;
        let config = Digest::sha256(&image.config);
        client
            .delete(&format!("/v2/{NAME}/blobs/{config}"))
            .await
            .expect(StatusCode::ACCEPTED);
        client
            .get(&format!("/v2/{NAME}/blobs/{config}"))
            .await
            .expect_error(StatusCode::NOT_FOUND, "BLOB_UNKNOWN");
        client
            .delete(&format!("/v2/{NAME}/blobs/{config}"))
            .await
            .expect(StatusCode::NOT_FOUND);
    }
}
