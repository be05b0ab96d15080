//! Every endpoint and every error code, over HTTP, including the bad input the spec and the issue
//! list: wrong digests and sizes, missing blobs, invalid names, chunks out of order, concurrent
//! pushes of one blob, a client that disconnects mid-upload, a full disk.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, StatusCode};
use slipway_registry::{Algorithm, Digest, RegistryOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

const NAME: &str = "api/test";

#[tokio::test]
async fn the_version_check_answers_with_the_api_version_header() {
    let registry = TestRegistry::start().await;
    for path in ["/v2/", "/v2"] {
        let answer = registry.client().get(path).await.expect(StatusCode::OK);
        assert_eq!(
            answer.header("docker-distribution-api-version"),
            Some("registry/2.0")
        );
        assert_eq!(answer.json(), serde_json::json!({}));
    }
}

#[tokio::test]
async fn unknown_paths_are_404_and_wrong_methods_405() {
    let registry = TestRegistry::start().await;
    let client = registry.client();
    client
        .get("/v3/")
        .await
        .expect_error(StatusCode::NOT_FOUND, "UNSUPPORTED");
    client
        .get(&format!("/v2/{NAME}/nonsense/x"))
        .await
        .expect_error(StatusCode::NOT_FOUND, "UNSUPPORTED");
    client
        .send(
            Method::POST,
            &format!("/v2/{NAME}/tags/list"),
            &[],
            Bytes::new(),
        )
        .await
        .expect_error(StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED");
    client
        .send(
            Method::PATCH,
            &format!("/v2/{NAME}/manifests/latest"),
            &[],
            Bytes::new(),
        )
        .await
        .expect_error(StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED");
    client
        .send(Method::PUT, "/v2/_catalog", &[], Bytes::new())
        .await
        .expect_error(StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED");
}

#[tokio::test]
async fn invalid_repository_names_are_name_invalid() {
    let registry = TestRegistry::start().await;
    let client = registry.client();
    for name in ["Upper/case", "a..b", "a/../b", "-a", "a__-b"] {
        client
            .get(&format!("/v2/{name}/tags/list"))
            .await
            .expect_error(StatusCode::BAD_REQUEST, "NAME_INVALID");
        client
            .send(
                Method::POST,
                &format!("/v2/{name}/blobs/uploads/"),
                &[],
                Bytes::new(),
            )
            .await
            .expect_error(StatusCode::BAD_REQUEST, "NAME_INVALID");
    }
    let long = "a".repeat(256);
    client
        .get(&format!("/v2/{long}/tags/list"))
        .await
        .expect_error(StatusCode::BAD_REQUEST, "NAME_INVALID");
}

#[tokio::test]
async fn unknown_repositories_are_name_unknown() {
    let registry = TestRegistry::start().await;
    let answer = registry
        .client()
        .get("/v2/nobody/here/tags/list")
        .await
        .expect_error(StatusCode::NOT_FOUND, "NAME_UNKNOWN");
    assert_eq!(answer.json()["errors"][0]["detail"]["name"], "nobody/here");
}

#[tokio::test]
async fn pushing_under_an_invalid_tag_is_tag_invalid() {
    let registry = TestRegistry::start().await;
    let client = registry.client();
    let image = client.push_image(NAME, "good", &[b"layer"]).await;
    for tag in [".dot", &"t".repeat(129), "has+plus"] {
        client
            .put_manifest(NAME, tag, OCI_MANIFEST, &image.manifest)
            .await
            .expect_error(StatusCode::BAD_REQUEST, "TAG_INVALID");
    }
}

#[tokio::test]
async fn a_wrong_digest_is_digest_invalid_and_stores_nothing() {
    let registry = TestRegistry::start().await;
    let client = registry.client();
    let location = client.start_upload(NAME).await;
    let claimed = Digest::sha256(b"what the client claims");
    client
        .send(
            Method::PUT,
            &with_query(&location, &format!("digest={claimed}")),
            &[],
            Bytes::from_static(b"what it sends"),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST, "DIGEST_INVALID");
    client
        .head(&format!("/v2/{NAME}/blobs/{claimed}"))
        .await
        .expect(StatusCode::NOT_FOUND);
    client
        .head(&format!(
            "/v2/{NAME}/blobs/{}",
            Digest::sha256(b"what it sends")
        ))
        .await
        .expect(StatusCode::NOT_FOUND);
    client
        .get(&location)
        .await
        .expect_error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
}

#[tokio::test]
async fn malformed_missing_and_unsupported_digests_are_digest_invalid() {
    let registry = TestRegistry::start().await;
    let client = registry.client();
    let location = client.start_upload(NAME).await;
    client
        .send(Method::PUT, &location, &[], Bytes::from_static(b"x"))
        .await
        .expect_error(StatusCode::BAD_REQUEST, "DIGEST_INVALID");
    for digest in [
        "sha256:abc",
        "md5:d41d8cd98f00b204e9800998ecf8427e",
        "nocolon",
    ] {
        let location = client.start_upload(NAME).await;
        client
            .send(
                Method::PUT,
                &with_query(&location, &format!("digest={digest}")),
                &[],
                Bytes::from_static(b"x"),
            )
            .await
            .expect_error(StatusCode::BAD_REQUEST, "DIGEST_INVALID");
        client
            .get(&format!("/v2/{NAME}/blobs/{digest}"))
            .await
            .expect_error(StatusCode::BAD_REQUEST, "DIGEST_INVALID");
    }
    client
        .put_manifest(NAME, "sha256:0000", OCI_MANIFEST, b"{}")
        .await
        .expect_error(StatusCode::BAD_REQUEST, "DIGEST_INVALID");
}

#[tokio::test]
async fn a_content_length_contradicting_the_content_range_is_size_invalid() {
    let registry = TestRegistry::start().await;
    let client = registry.client();
    let location = client.start_upload(NAME).await;
    client
        .send(
            Method::PATCH,
            &location,
            &[("content-range", "0-9"), ("content-length", "5")],
            Bytes::from_static(b"12345"),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST, "SIZE_INVALID");
    // A body shorter than its range, without a Content-Length to tell beforehand.
    let short = client
        .send(
            Method::PATCH,
            &location,
            &[("content-range", "0-9")],
            Bytes::from_static(b"12345"),
        )
        .await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    assert_eq!(short.error_code(), "SIZE_INVALID");
}

#[tokio::test]
async fn an_unreadable_content_range_is_blob_upload_invalid() {
    let registry = TestRegistry::start().await;
    let client = registry.client();
    let location = client.start_upload(NAME).await;
    for range in ["abc", "9-0", "-"] {
        client
            .send(
                Method::PATCH,
                &location,
                &[("content-range", range)],
                Bytes::from_static(b"x"),
            )
            .await
            .expect_error(StatusCode::BAD_REQUEST, "BLOB_UPLOAD_INVALID");
    }
}

#[tokio::test]
async fn unknown_uploads_are_blob_upload_unknown() {
    let registry = TestRegistry::start().await;
    let client = registry.client();
    let unknown = format!("/v2/{NAME}/blobs/uploads/00000000-0000-4000-8000-000000000000");
    client
        .get(&unknown)
        .await
        .expect_error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
    client
        .send(Method::PATCH, &unknown, &[], Bytes::from_static(b"x"))
        .await
        .expect_error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
    client
        .get(&format!("/v2/{NAME}/blobs/uploads/not-an-id"))
        .await
        .expect_error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
    // An upload belongs to the repository it was started in.
    let location = client.start_upload(NAME).await;
    let elsewhere = location.replace(NAME, "api/other");
    client
        .get(&elsewhere)
        .await
        .expect_error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
}

#[tokio::test]
async fn an_upload_can_be_cancelled_and_its_status_read() {
    let registry = TestRegistry::start().await;
    let client = registry.client();
    let location = client.start_upload(NAME).await;
    assert_eq!(
        client
            .get(&location)
            .await
            .expect(StatusCode::NO_CONTENT)
            .header("range"),
        Some("0-0")
    );
    client
        .send(
            Method::PATCH,
            &location,
            &[],
            Bytes::from_static(b"0123456789"),
        )
        .await
        .expect(StatusCode::ACCEPTED);
    assert_eq!(
        client
            .get(&location)
            .await
            .expect(StatusCode::NO_CONTENT)
            .header("range"),
        Some("0-9")
    );
    client
        .delete(&location)
        .await
        .expect(StatusCode::NO_CONTENT);
    client
        .get(&location)
        .await
        .expect_error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
    client
        .delete(&location)
        .await
        .expect_error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
}

#[tokio::test]
async fn broken_manifests_are_manifest_invalid() {
    let registry = TestRegistry::start().await;
    let client = registry.client();
    let image = client.push_image(NAME, "base", &[b"layer"]).await;
    client
        .put_manifest(NAME, "t", OCI_MANIFEST, b"not json")
        .await
        .expect_error(StatusCode::BAD_REQUEST, "MANIFEST_INVALID");
    client
        .put_manifest(NAME, "t", "text/plain", &image.manifest)
        .await
        .expect_error(StatusCode::BAD_REQUEST, "MANIFEST_INVALID");
    client
        .put_manifest(NAME, "t", OCI_INDEX, &image.manifest)
        .await
        .expect_error(StatusCode::BAD_REQUEST, "MANIFEST_INVALID");
    // A layer given the wrong size.
    let mut lying: serde_json::Value = serde_json::from_slice(&image.manifest).unwrap();
    lying["layers"][0]["size"] = serde_json::json!(999);
    let answer = client
        .put_manifest(
            NAME,
            "t",
            OCI_MANIFEST,
            &serde_json::to_vec(&lying).unwrap(),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST, "MANIFEST_INVALID");
    assert!(
        answer.json()["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("999")
    );
}

#[tokio::test]
async fn manifests_referencing_missing_content_are_manifest_blob_unknown() {
    let registry = TestRegistry::start().await;
    let client = registry.client();
    let config = b"{\"c\": 1}";
    client.push_blob(NAME, config).await;
    let missing_layer = b"never uploaded";
    let answer = client
        .put_manifest(
            NAME,
            "t",
            OCI_MANIFEST,
            &image_manifest(config, &[missing_layer], None),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN");
    assert_eq!(
        answer.json()["errors"][0]["detail"]["digest"],
        Digest::sha256(missing_layer).to_string()
    );
    // A blob held by another repository does not count: it must be pushed or mounted here.
    client.push_blob("api/elsewhere", missing_layer).await;
    client
        .put_manifest(
            NAME,
            "t",
            OCI_MANIFEST,
            &image_manifest(config, &[missing_layer], None),
        )
        .await
        .expect(StatusCode::BAD_REQUEST);
    let absent = image_manifest(b"other", &[], None);
    client
        .put_manifest(NAME, "i", OCI_INDEX, &index(&[(OCI_MANIFEST, &absent)]))
        .await
        .expect_error(StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN");
    client
        .get(&format!("/v2/{NAME}/manifests/t"))
        .await
        .expect(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn deleting_what_is_not_there_is_unknown() {
    let registry = TestRegistry::start().await;
    let client = registry.client();
    client.push_image(NAME, "t", &[b"layer"]).await;
    client
        .delete(&format!("/v2/{NAME}/manifests/absent"))
        .await
        .expect_error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN");
    client
        .delete(&format!("/v2/{NAME}/manifests/{}", Digest::sha256(b"x")))
        .await
        .expect_error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN");
    client
        .delete(&format!("/v2/{NAME}/blobs/{}", Digest::sha256(b"x")))
        .await
        .expect_error(StatusCode::NOT_FOUND, "BLOB_UNKNOWN");
    client
        .delete("/v2/no/such/repo/manifests/t")
        .await
        .expect_error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN");
}

#[tokio::test]
async fn manifests_of_four_megabytes_are_accepted_and_larger_than_the_limit_refused() {
    let registry = TestRegistry::start().await;
    let client = registry.client();
    let config = b"{}";
    client.push_blob(NAME, config).await;
    let big = |bytes: usize| {
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor(OCI_CONFIG, config),
            "layers": [],
            "annotations": { "padding": "x".repeat(bytes) },
        }))
        .unwrap()
    };
    let four_megabytes = big(5 * 1024 * 1024);
    client
        .put_manifest(NAME, "big", OCI_MANIFEST, &four_megabytes)
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(
        client
            .get(&format!("/v2/{NAME}/manifests/big"))
            .await
            .expect(StatusCode::OK)
            .body,
        four_megabytes
    );
    client
        .put_manifest(NAME, "huge", OCI_MANIFEST, &big(9 * 1024 * 1024))
        .await
        .expect_error(StatusCode::PAYLOAD_TOO_LARGE, "MANIFEST_INVALID");
}

#[tokio::test]
async fn ranges_of_a_blob_are_served_partially() {
    let registry = TestRegistry::start().await;
    let client = registry.client();
    let digest = client.push_blob(NAME, b"0123456789").await;
    let path = format!("/v2/{NAME}/blobs/{digest}");
    let get = |range: &'static str| {
        let (client, path) = (client.clone(), path.clone());
        async move {
            client
                .send(Method::GET, &path, &[("range", range)], Bytes::new())
                .await
        }
    };
    let part = get("bytes=2-4").await.expect(StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        (part.body.as_ref(), part.header("content-range")),
        (&b"234"[..], Some("bytes 2-4/10"))
    );
    let tail = get("bytes=-3").await.expect(StatusCode::PARTIAL_CONTENT);
    assert_eq!(tail.body, &b"789"[..]);
    let from = get("bytes=7-").await.expect(StatusCode::PARTIAL_CONTENT);
    assert_eq!(from.body, &b"789"[..]);
    let outside = get("bytes=10-")
        .await
        .expect(StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(outside.header("content-range"), Some("bytes */10"));
    let several = get("bytes=0-1,4-5").await.expect(StatusCode::OK);
    assert_eq!(several.body, &b"0123456789"[..]);
    let whole = client.get(&path).await.expect(StatusCode::OK);
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));
    assert_eq!(
        whole.header("docker-content-digest"),
        Some(digest.to_string().as_str())
    );
}

#[tokio::test]
async fn docker_schema_2_manifests_and_manifest_lists_round_trip() {
    let registry = TestRegistry::start().await;
    let client = registry.client();
    let config = b"{\"docker\": true}";
    let layer = b"docker layer";
    client.push_blob(NAME, config).await;
    client.push_blob(NAME, layer).await;
    let docker_manifest = "application/vnd.docker.distribution.manifest.v2+json";
    let docker_list = "application/vnd.docker.distribution.manifest.list.v2+json";
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": docker_manifest,
        "config": descriptor("application/vnd.docker.container.image.v1+json", config),
        "layers": [descriptor("application/vnd.docker.image.rootfs.diff.tar.gzip", layer)],
    }))
    .unwrap();
    client
        .put_manifest(NAME, "docker", docker_manifest, &manifest)
        .await
        .expect(StatusCode::CREATED);
    let list = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": docker_list,
        "manifests": [{ "mediaType": docker_manifest, "digest": Digest::sha256(&manifest).to_string(), "size": manifest.len(),
                         "platform": { "architecture": "amd64", "os": "linux" } }],
    }))
    .unwrap();
    client
        .put_manifest(NAME, "list", docker_list, &list)
        .await
        .expect(StatusCode::CREATED);
    let served = client
        .get(&format!("/v2/{NAME}/manifests/list"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        (served.header("content-type"), served.body.as_ref()),
        (Some(docker_list), list.as_slice())
    );
    let head = client
        .head(&format!("/v2/{NAME}/manifests/docker"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(head.header("content-type"), Some(docker_manifest));
    assert_eq!(
        head.header("content-length"),
        Some(manifest.len().to_string().as_str())
    );
}

#[tokio::test]
async fn sha512_blobs_and_manifests_are_verified_and_served() {
    let registry = TestRegistry::start().await;
    let client = registry.client();
    let content = b"hashed with sha512";
    let digest = Digest::of(Algorithm::Sha512, content);
    let location = client.start_upload(NAME).await;
    client
        .send(
            Method::PUT,
            &with_query(&location, &format!("digest={digest}")),
            &[],
            Bytes::from_static(content),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(
        client
            .get(&format!("/v2/{NAME}/blobs/{digest}"))
            .await
            .expect(StatusCode::OK)
            .body,
        &content[..]
    );
    let config = b"{}";
    client.push_blob(NAME, config).await;
    let manifest = image_manifest(config, &[], None);
    let manifest_digest = Digest::of(Algorithm::Sha512, &manifest);
    let answer = client
        .put_manifest(NAME, &manifest_digest.to_string(), OCI_MANIFEST, &manifest)
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(
        answer.header("docker-content-digest"),
        Some(manifest_digest.to_string().as_str())
    );
    client
        .get(&format!("/v2/{NAME}/manifests/{manifest_digest}"))
        .await
        .expect(StatusCode::OK);
}

#[tokio::test]
async fn the_catalog_lists_repositories_in_pages() {
    let registry = TestRegistry::start().await;
    let client = registry.client();
    for name in ["c/one", "a/one", "b/one", "b/two"] {
        client.push_blob(name, name.as_bytes()).await;
    }
    let all = client.get("/v2/_catalog").await.expect(StatusCode::OK);
    assert_eq!(
        all.json()["repositories"],
        serde_json::json!(["a/one", "b/one", "b/two", "c/one"])
    );
    let first = client.get("/v2/_catalog?n=2").await.expect(StatusCode::OK);
    assert_eq!(
        first.json()["repositories"],
        serde_json::json!(["a/one", "b/one"])
    );
    assert_eq!(
        first.header("link"),
        Some("</v2/_catalog?n=2&last=b/one>; rel=\"next\"")
    );
    let second = client
        .get("/v2/_catalog?n=2&last=b/one")
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        second.json()["repositories"],
        serde_json::json!(["b/two", "c/one"])
    );
    assert_eq!(second.header("link"), None);
    client
        .get("/v2/_catalog?n=many")
        .await
        .expect_error(StatusCode::BAD_REQUEST, "UNSUPPORTED");
}

#[tokio::test]
async fn concurrent_pushes_of_the_same_blob_both_succeed_and_store_it_once() {
    let registry = TestRegistry::start().await;
    let client = registry.client();
    let content: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    let digest = Digest::sha256(&content);
    let pushes = (0..4).map(|i| {
        let client = client.clone();
        let content = content.clone();
        let digest = digest.clone();
        tokio::spawn(async move {
            let name = format!("api/concurrent{i}");
            let location = client.start_upload(&name).await;
            client
                .send(Method::PATCH, &location, &[], content)
                .await
                .expect(StatusCode::ACCEPTED);
            client
                .send(
                    Method::PUT,
                    &with_query(&location, &format!("digest={digest}")),
                    &[("content-length", "0")],
                    Bytes::new(),
                )
                .await
        })
    });
    for push in pushes {
        push.await.unwrap().expect(StatusCode::CREATED);
    }
    for i in 0..4 {
        assert_eq!(
            client
                .get(&format!("/v2/api/concurrent{i}/blobs/{digest}"))
                .await
                .expect(StatusCode::OK)
                .body,
            content
        );
    }
    let stored = walkdir(registry.dir.path().join("blobs"));
    assert_eq!(
        stored
            .iter()
            .filter(|path| path.ends_with(digest.hex()))
            .count(),
        1,
        "{stored:?}"
    );
}

fn walkdir(dir: std::path::PathBuf) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![dir];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if entry.file_type().unwrap().is_dir() {
                pending.push(entry.path());
            } else {
                found.push(entry.path().display().to_string());
            }
        }
    }
    found
}

/// How long a test waits for the server to get to what it was sent, even on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(30);

/// Sends raw bytes on a new connection and returns it, unread.
async fn raw(registry: &TestRegistry, request: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(registry.address).await.unwrap();
    stream.write_all(request).await.unwrap();
    stream
}

#[tokio::test]
async fn a_client_that_disconnects_mid_upload_leaves_a_resumable_upload_and_no_blob() {
    let registry = TestRegistry::start().await;
    let client = registry.client();
    let location = client.start_upload(NAME).await;
    let mut request =
        format!("PATCH {location} HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\n")
            .into_bytes();
    request.extend_from_slice(&[b'a'; 300]);
    // The 300 bytes are sent before the connection closes, so the server reads them all
    // whenever it gets to them; the test waits for that, however long a loaded machine takes.
    drop(raw(&registry, &request).await);
    let mut range = String::new();
    let deadline = Instant::now() + PATIENCE;
    while range != "0-299" {
        assert!(
            Instant::now() < deadline,
            "the upload holds {range}, not 0-299"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        range = client
            .get(&location)
            .await
            .expect(StatusCode::NO_CONTENT)
            .header("range")
            .unwrap()
            .to_owned();
    }
    client
        .head(&format!(
            "/v2/{NAME}/blobs/{}",
            Digest::sha256(&[b'a'; 300])
        ))
        .await
        .expect(StatusCode::NOT_FOUND);
    // The client resumes where it stopped.
    let rest = [b'a'; 700];
    client
        .send(
            Method::PATCH,
            &location,
            &[("content-range", "300-999")],
            Bytes::copy_from_slice(&rest),
        )
        .await
        .expect(StatusCode::ACCEPTED);
    let digest = Digest::sha256(&[b'a'; 1000]);
    client
        .send(
            Method::PUT,
            &with_query(&location, &format!("digest={digest}")),
            &[],
            Bytes::new(),
        )
        .await
        .expect(StatusCode::CREATED);
}

#[tokio::test]
async fn requests_beyond_the_limit_are_too_many_requests() {
    let registry = TestRegistry::start_with(RegistryOptions::default(), None, 1).await;
    let client = registry.client();
    let location = client.start_upload(NAME).await;
    // An upload whose body never finishes holds the only slot.
    let held = raw(
        &registry,
        format!("PATCH {location} HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\nabc")
            .as_bytes(),
    )
    .await;
    // Once the server has taken the held request, every other one is refused.
    let deadline = Instant::now() + PATIENCE;
    let answer = loop {
        let answer = client.get("/v2/").await;
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            break answer.expect_error(StatusCode::TOO_MANY_REQUESTS, "TOOMANYREQUESTS");
        }
        assert!(
            Instant::now() < deadline,
            "the held upload never took the slot"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(answer.header("retry-after"), Some("1"));
    drop(held);
    let deadline = Instant::now() + PATIENCE;
    while client.get("/v2/").await.status != StatusCode::OK {
        assert!(
            Instant::now() < deadline,
            "the slot is freed once the client goes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_full_disk_is_insufficient_storage_and_leaves_no_blob() {
    let registry = TestRegistry::start().await;
    let client = registry.client();
    let location = client.start_upload(NAME).await;
    let id = location.rsplit('/').next().unwrap();
    // Writes to /dev/full fail with ENOSPC, as on a full disk.
    let data = registry.dir.path().join("uploads").join(id).join("data");
    std::fs::remove_file(&data).unwrap();
    std::os::unix::fs::symlink("/dev/full", &data).unwrap();
    let content = vec![7u8; 2 * 1024 * 1024];
    let answer = client
        .send(Method::PATCH, &location, &[], content.clone())
        .await;
    assert_eq!(
        answer.status,
        StatusCode::INSUFFICIENT_STORAGE,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    client
        .head(&format!("/v2/{NAME}/blobs/{}", Digest::sha256(&content)))
        .await
        .expect(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_upload_whose_session_record_a_crash_cut_short_is_unknown_after_a_restart() {
    let registry = TestRegistry::start().await;
    let location = registry.client().start_upload(NAME).await;
    let id = location.rsplit('/').next().unwrap().to_owned();
    let dir = registry.stop().await;
    // The session record is written without a flush: a power loss can leave it empty.
    let record = dir.path().join("uploads").join(&id).join("session.json");
    std::fs::write(&record, b"").unwrap();

    let restarted = TestRegistry::start_in(dir, RegistryOptions::default(), None, 16).await;
    let client = restarted.client();
    client
        .get(&location)
        .await
        .expect_error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
    client
        .send(
            Method::PATCH,
            &location,
            &[("content-range", "0-4")],
            Bytes::from_static(b"hello"),
        )
        .await
        .expect_error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
}

#[tokio::test]
async fn a_blob_upload_survives_a_registry_restart() {
    let registry = TestRegistry::start().await;
    let client = registry.client();
    let location = client.start_upload(NAME).await;
    client
        .send(
            Method::PATCH,
            &location,
            &[("content-range", "0-4")],
            Bytes::from_static(b"hello"),
        )
        .await
        .expect(StatusCode::ACCEPTED);
    let dir = registry.stop().await;
    let restarted = TestRegistry::start_in(dir, RegistryOptions::default(), None, 16).await;
    let client = restarted.client();
    assert_eq!(
        client
            .get(&location)
            .await
            .expect(StatusCode::NO_CONTENT)
            .header("range"),
        Some("0-4")
    );
    client
        .send(
            Method::PATCH,
            &location,
            &[("content-range", "5-10")],
            Bytes::from_static(b" world"),
        )
        .await
        .expect(StatusCode::ACCEPTED);
    let digest = Digest::sha256(b"hello world");
    client
        .send(
            Method::PUT,
            &with_query(&location, &format!("digest={digest}")),
            &[],
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
        &b"hello world"[..]
    );
}

#[tokio::test]
async fn http2_clients_are_served_too() {
    let registry = TestRegistry::start().await;
    let digest = registry.client().push_blob(NAME, b"over h2").await;
    let stream = TcpStream::connect(registry.address).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    let request = http::Request::get(format!(
        "http://{}/v2/{NAME}/blobs/{digest}",
        registry.host()
    ))
    .body(http_body_util::Empty::<Bytes>::new())
    .unwrap();
    let answer = sender.send_request(request).await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    use http_body_util::BodyExt as _;
    assert_eq!(
        answer.into_body().collect().await.unwrap().to_bytes(),
        &b"over h2"[..]
    );
}

#[tokio::test]
async fn head_answers_carry_no_body() {
    let registry = TestRegistry::start().await;
    let digest = registry.client().push_blob(NAME, b"five!").await;
    let mut stream = raw(
        &registry,
        format!("HEAD /v2/{NAME}/blobs/{digest} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .as_bytes(),
    )
    .await;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("content-length: 5\r\n"),
        "{answer}"
    );
    assert!(
        answer.ends_with("\r\n\r\n"),
        "no body after the headers: {answer:?}"
    );
}
