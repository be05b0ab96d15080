//! Real clients against the running registry: skopeo, podman and the oras Python client push and
//! pull through it, and what comes back is what went in.
//!
//! The clients come from `scripts/install-registry-test-tools` (skopeo, oras) and
//! `scripts/setup-engine` (podman, with the base images of `scripts/base-images`); a missing one
//! fails the test with the command that installs it.

use std::path::Path;
use std::process::Output;

use http::StatusCode;
use slipway_registry::Digest;
use tokio::process::Command;

use crate::support::*;

/// Runs `program` with `args`, failing the test with its output unless it succeeds.
async fn run(program: &str, args: &[&str]) -> Output {
    let output = Command::new(program).args(args).output().await.unwrap_or_else(|error| {
        panic!("cannot run {program} ({error}): run scripts/install-registry-test-tools (and scripts/setup-engine for podman)")
    });
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A tar archive holding one file.
fn layer(name: &str, content: &[u8]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder.append_data(&mut header, name, content).unwrap();
    builder.into_inner().unwrap()
}

/// Writes an OCI image layout holding one image tagged `tag` with `layers`, and returns the
/// image's manifest.
fn oci_layout(dir: &Path, tag: &str, layers: &[Vec<u8>]) -> Vec<u8> {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let write_blob = |content: &[u8]| {
        std::fs::write(blobs.join(Digest::sha256(content).hex()), content).unwrap();
    };
    let diff_ids: Vec<String> = layers
        .iter()
        .map(|layer| Digest::sha256(layer).to_string())
        .collect();
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
    }))
    .unwrap();
    write_blob(&config);
    for layer in layers {
        write_blob(layer);
    }
    let layer_refs: Vec<&[u8]> = layers.iter().map(Vec::as_slice).collect();
    let manifest = image_manifest(&config, &layer_refs, None);
    write_blob(&manifest);
    let mut index_entry = descriptor(OCI_MANIFEST, &manifest);
    index_entry["annotations"] = serde_json::json!({ "org.opencontainers.image.ref.name": tag });
    let index = serde_json::json!({ "schemaVersion": 2, "manifests": [index_entry] });
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    manifest
}

#[tokio::test]
async fn skopeo_copies_an_image_in_and_out() {
    let registry = TestRegistry::start().await;
    let source = tempfile::tempdir().unwrap();
    let big: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let layers = vec![
        layer("hello.txt", b"hello from skopeo\n"),
        layer("big.bin", &big),
    ];
    let manifest = oci_layout(source.path(), "v1", &layers);
    let target = format!("docker://{}/clients/skopeo:v1", registry.host());

    // --preserve-digests: push the layers as they are instead of compressing them on the way.
    let layout = format!("oci:{}:v1", source.path().display());
    run(
        "skopeo",
        &[
            "copy",
            "--preserve-digests",
            "--dest-tls-verify=false",
            &layout,
            &target,
        ],
    )
    .await;

    let raw = run(
        "skopeo",
        &["inspect", "--tls-verify=false", "--raw", &target],
    )
    .await
    .stdout;
    assert_eq!(
        raw, manifest,
        "the registry serves the manifest byte for byte"
    );
    let served = registry
        .client()
        .get("/v2/clients/skopeo/manifests/v1")
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        served.header("docker-content-digest"),
        Some(Digest::sha256(&manifest).to_string().as_str())
    );
    let tags = run(
        "skopeo",
        &[
            "list-tags",
            "--tls-verify=false",
            &format!("docker://{}/clients/skopeo", registry.host()),
        ],
    )
    .await
    .stdout;
    let tags: serde_json::Value = serde_json::from_slice(&tags).unwrap();
    assert_eq!(tags["Tags"], serde_json::json!(["v1"]));

    let copy = tempfile::tempdir().unwrap();
    run(
        "skopeo",
        &[
            "copy",
            "--preserve-digests",
            "--src-tls-verify=false",
            &target,
            &format!("oci:{}:v1", copy.path().display()),
        ],
    )
    .await;
    for content in &layers {
        let pulled = std::fs::read(
            copy.path()
                .join("blobs/sha256")
                .join(Digest::sha256(content).hex()),
        )
        .unwrap();
        assert_eq!(&pulled, content);
    }
    run("skopeo", &["delete", "--tls-verify=false", &target]).await;
    registry
        .client()
        .get("/v2/clients/skopeo/manifests/v1")
        .await
        .expect(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn podman_pushes_and_pulls_through_the_registry() {
    const BASE: &str = "localhost/slipway/busybox:latest";
    let exists = Command::new("podman")
        .args(["image", "exists", BASE])
        .status()
        .await;
    assert!(
        exists.is_ok_and(|status| status.success()),
        "podman or its base image is missing: run scripts/setup-engine and scripts/base-images"
    );
    let registry = TestRegistry::start().await;
    let remote = format!("{}/clients/podman:v1", registry.host());
    run(
        "podman",
        &["push", "--quiet", "--tls-verify=false", BASE, &remote],
    )
    .await;
    let id = |reference: String| async move {
        String::from_utf8(
            run(
                "podman",
                &["image", "inspect", "--format", "{{.Id}}", &reference],
            )
            .await
            .stdout,
        )
        .unwrap()
    };
    let original = id(BASE.to_owned()).await;

    run(
        "podman",
        &["pull", "--quiet", "--tls-verify=false", &remote],
    )
    .await;
    let pulled = id(remote.clone()).await;
    run("podman", &["rmi", &remote]).await;

    assert_eq!(pulled, original, "the pulled image is the pushed one");
    let tags = registry
        .client()
        .get("/v2/clients/podman/tags/list")
        .await
        .expect(StatusCode::OK);
    assert_eq!(tags.json()["tags"], serde_json::json!(["v1"]));
}

#[tokio::test]
async fn the_oras_python_client_pushes_and_pulls_artifacts() {
    let registry = TestRegistry::start().await;
    let work = tempfile::tempdir().unwrap();
    let small = work.path().join("notes.txt");
    std::fs::write(&small, "pushed with oras\n").unwrap();
    let big = work.path().join("data.bin");
    let big_content: Vec<u8> = (0..2_500_000u32).map(|i| (i % 241) as u8).collect();
    std::fs::write(&big, &big_content).unwrap();
    let script = r#"
import os, sys
import oras.client
host, workdir = sys.argv[1], sys.argv[2]
client = oras.client.OrasClient(hostname=host, insecure=True)
os.chdir(workdir)
client.push(files=["notes.txt"], target=f"{host}/clients/oras:v1", quiet=True)
client.push(files=["data.bin"], target=f"{host}/clients/oras:chunked", do_chunked=True, chunk_size=1000000, quiet=True)
print(",".join(sorted(client.get_tags(f"{host}/clients/oras"))))
for tag in ["v1", "chunked"]:
    out = os.path.join(workdir, "pulled-" + tag)
    client.pull(target=f"{host}/clients/oras:{tag}", outdir=out)
"#;
    let output = run(
        "python3",
        &[
            "-c",
            script,
            &registry.host(),
            &work.path().display().to_string(),
        ],
    )
    .await;
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "chunked,v1");
    assert_eq!(
        std::fs::read_to_string(work.path().join("pulled-v1/notes.txt")).unwrap(),
        "pushed with oras\n"
    );
    assert_eq!(
        std::fs::read(work.path().join("pulled-chunked/data.bin")).unwrap(),
        big_content
    );
}
