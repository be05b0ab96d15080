//! `slipway registry serve | retention | gc`, `slipway push` and `slipway build --push`: the
//! embedded registry as a user runs it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use slipway_registry::Digest;

use crate::support::{Project, Served, require_engine};

/// One HTTP/1.1 request; the status and body of the answer, `None` while nothing listens.
fn http(port: u16, method: &str, path: &str, body: &[u8]) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let content_type = if path.contains("/manifests/") {
        "application/vnd.oci.image.manifest.v1+json"
    } else {
        "application/octet-stream"
    };
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let status = answer.get(9..12)?.parse().ok()?;
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    Some((status, body))
}

/// `slipway registry serve` in `project` on port 0, with `extra` arguments: its port, once it says
/// where it serves.
fn serve(project: &Project, extra: &[&str]) -> (Served, u16) {
    let mut args = vec!["registry", "serve", "--addr", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    let served = project.serve(&args);
    let port = served.addr.port();
    (served, port)
}

/// Stops the registry with SIGTERM; what it wrote to stderr. It must exit successfully.
fn stop(served: Served) -> String {
    let (status, stderr) = served.terminate();
    assert!(status.success(), "{stderr}");
    stderr
}

/// Pushes a one-layer image as `name:tag` over HTTP.
fn push_image(port: u16, name: &str, tag: &str) -> Digest {
    let config = format!("{{\"tag\": \"{tag}\"}}").into_bytes();
    let layer = format!("layer of {tag}").into_bytes();
    for blob in [&config, &layer] {
        let path = format!("/v2/{name}/blobs/uploads/?digest={}", Digest::sha256(blob));
        assert_eq!(http(port, "POST", &path, blob).unwrap().0, 201);
    }
    let descriptor = |media_type: &str, content: &[u8]| {
        format!(
            r#"{{"mediaType":"{media_type}","digest":"{}","size":{}}}"#,
            Digest::sha256(content),
            content.len()
        )
    };
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[{}]}}"#,
        descriptor("application/vnd.oci.image.config.v1+json", &config),
        descriptor("application/vnd.oci.image.layer.v1.tar", &layer)
    );
    let (status, body) = http(
        port,
        "PUT",
        &format!("/v2/{name}/manifests/{tag}"),
        manifest.as_bytes(),
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    Digest::sha256(manifest.as_bytes())
}

#[test]
fn registry_serve_serves_its_storage_and_stops_on_sigterm() {
    let project = Project::empty();
    project.write("slipway.toml", "[registry.server]\nstorage = \"data\"\n");
    let (running, port) = serve(&project, &[]);
    let digest = push_image(port, "shop/web", "v1");
    let (status, body) = http(
        port,
        "GET",
        &format!("/v2/shop/web/manifests/{digest}"),
        b"",
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        http(port, "GET", "/v2/shop/web/tags/list", b"").unwrap().1,
        r#"{"name":"shop/web","tags":["v1"]}"#
    );
    let stderr = stop(running);
    assert!(
        stderr.contains(&format!("registry serving http://127.0.0.1:{port} from ")),
        "{stderr}"
    );
    assert!(stderr.contains("SIGTERM: stopping"), "{stderr}");
    assert!(
        project.path().join("data/blobs/sha256").is_dir(),
        "the storage is where slipway.toml says"
    );
    assert!(
        project.path().join(".slipway/state.db").is_file(),
        "events go to the state store"
    );
}

#[test]
fn registry_retention_explains_on_dry_run_then_removes_and_gc_frees() {
    let project = Project::empty();
    project.write(
        "slipway.toml",
        "[[registry.server.retention]]\nrepositories = [\"**\"]\nkeep_last = 1\ndelete_untagged_after = \"1ms\"\n",
    );
    let (running, port) = serve(&project, &[]);
    let old = push_image(port, "shop/web", "v1");
    std::thread::sleep(Duration::from_millis(20));
    push_image(port, "shop/web", "v2");
    stop(running);

    let plan = project
        .slipway(&["registry", "retention", "--dry-run", "--json"])
        .success();
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(plan["dry_run"], true);
    let removals = plan["removals"].as_array().unwrap();
    assert_eq!(removals.len(), 2, "{plan}");
    assert_eq!(
        (removals[0]["kind"].as_str(), removals[0]["tag"].as_str()),
        (Some("tag"), Some("v1"))
    );
    assert_eq!(
        removals[0]["reason"],
        "it is the 2nd most recently pushed (keep_last = 1)"
    );
    assert_eq!(removals[1]["digest"], old.to_string());
    let table = project
        .slipway(&["registry", "retention", "--dry-run"])
        .success();
    assert!(table.stdout.contains("tag v1"), "{}", table.stdout);
    assert!(
        table
            .stderr
            .contains("2 would go (dry run: nothing was removed)"),
        "{}",
        table.stderr
    );

    let applied = project.slipway(&["registry", "retention"]).success();
    assert!(
        applied.stderr.contains("removed 1 tags and 1 manifests"),
        "{}",
        applied.stderr
    );
    let gc = project
        .slipway(&["registry", "gc", "--grace", "0s", "--json"])
        .success();
    let report: serde_json::Value = serde_json::from_str(&gc.stdout).unwrap();
    assert_eq!(
        report["blobs_removed"], 3,
        "the old manifest, its config and its layer: {report}"
    );

    let (running, port) = serve(&project, &[]);
    assert_eq!(
        http(port, "GET", "/v2/shop/web/tags/list", b"").unwrap().1,
        r#"{"name":"shop/web","tags":["v2"]}"#
    );
    assert_eq!(
        http(port, "GET", &format!("/v2/shop/web/manifests/{old}"), b"")
            .unwrap()
            .0,
        404
    );
    stop(running);
}

#[test]
fn registry_commands_refuse_bad_settings_with_a_hint() {
    let project = Project::empty();
    project.write("slipway.toml", "[registry.server]\n");
    let run = project.slipway(&["registry", "retention"]).failure(2);
    assert!(
        run.stderr.contains("no retention policy is configured"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("[[registry.server.retention]]"),
        "{}",
        run.stderr
    );
    project.write(
        "slipway.toml",
        "[registry.server.auth]\nhtpasswd = \"missing.htpasswd\"\n",
    );
    let run = project
        .slipway(&["registry", "serve", "--addr", "127.0.0.1:0"])
        .failure(2);
    assert!(
        run.stderr.contains("cannot read the htpasswd file"),
        "{}",
        run.stderr
    );
    let run = project
        .slipway(&["registry", "serve", "--addr", "nowhere"])
        .failure(2);
    assert!(run.stderr.contains("nowhere"), "{}", run.stderr);
}

#[test]
fn build_push_stores_every_tag_in_the_embedded_registry_and_push_does_it_again() {
    require_engine();
    let project = Project::example();
    let built = project.slipway(&["build", "--push", "--json"]).success();
    let summary: serde_json::Value = serde_json::from_str(&built.stdout).unwrap();
    let references: Vec<String> = summary["references"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_owned())
        .collect();
    assert!(
        built.stderr.contains("to the embedded registry"),
        "{}",
        built.stderr
    );
    let (repository, _) = references[0].rsplit_once(':').unwrap();
    let name = repository.strip_prefix("localhost/").unwrap();
    let mut tags: Vec<String> = references
        .iter()
        .map(|reference| reference.rsplit_once(':').unwrap().1.to_owned())
        .collect();
    tags.sort();

    let (running, port) = serve(&project, &[]);
    let (status, body) = http(port, "GET", &format!("/v2/{name}/tags/list"), b"").unwrap();
    assert_eq!(status, 200, "{body}");
    let listed: serde_json::Value = serde_json::from_str(&body).unwrap();
    let mut listed: Vec<String> = listed["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tag| tag.as_str().unwrap().to_owned())
        .collect();
    listed.sort();
    assert_eq!(listed, tags);
    let (status, manifest) = http(
        port,
        "GET",
        &format!("/v2/{name}/manifests/{}", tags[0]),
        b"",
    )
    .unwrap();
    assert_eq!(status, 200);
    let manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    for layer in manifest["layers"].as_array().unwrap() {
        let path = format!("/v2/{name}/blobs/{}", layer["digest"].as_str().unwrap());
        assert_eq!(http(port, "HEAD", &path, b"").unwrap().0, 200);
    }
    stop(running);

    // `slipway push` pushes the latest build again: the registry has that image under its tags
    // already, so nothing is exported again, and the digest is the same.
    let again = project.slipway(&["push", "--json"]).success();
    assert!(again.stderr.contains("already there"), "{}", again.stderr);
    assert!(!again.stderr.contains("pushing"), "{}", again.stderr);
    let pushed: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    let images = pushed["images"].as_array().unwrap();
    assert_eq!(images.len(), tags.len());
    assert!(
        pushed["registry"]
            .as_str()
            .unwrap()
            .starts_with("embedded ("),
        "{pushed}"
    );
    let digest = images[0]["digest"].as_str().unwrap();
    assert!(images.iter().all(|image| image["digest"] == digest));
    let by_reference = project.slipway(&["push", &references[0]]).success();
    assert_eq!(
        by_reference.stdout.lines().count(),
        tags.len(),
        "every tag of the image: {}",
        by_reference.stdout
    );
}
