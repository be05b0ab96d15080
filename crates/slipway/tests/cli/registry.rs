//! `slipway registry serve | retention | gc`, `slipway push` and `slipway build --push`: the
//! embedded registry as a user runs it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
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
pub(crate) fn serve(project: &Project, extra: &[&str]) -> (Served, u16) {
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
pub(crate) fn push_image(port: u16, name: &str, tag: &str) -> Digest {
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

/// A child process killed if the test fails before it exits.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Debian's `docker-registry` (distribution v2) with htpasswd auth, on the port it picked.
pub(crate) struct Distribution {
    /// `127.0.0.1:PORT`.
    pub(crate) host: String,
    _running: Running,
    _dir: tempfile::TempDir,
}

pub(crate) fn distribution(user: &str, password: &str) -> Distribution {
    use std::io::BufRead as _;
    let dir = tempfile::tempdir().unwrap();
    let hash = bcrypt::hash(password, 5).unwrap();
    std::fs::write(dir.path().join("htpasswd"), format!("{user}:{hash}\n")).unwrap();
    let config = format!(
        "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:0\nauth:\n  htpasswd:\n    realm: slipway-test\n    path: {}\n",
        dir.path().join("storage").display(),
        dir.path().join("htpasswd").display(),
    );
    std::fs::write(dir.path().join("config.yml"), config).unwrap();
    let mut child = Command::new("docker-registry")
        .arg("serve")
        .arg(dir.path().join("config.yml"))
        .env_clear()
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("docker-registry is not installed: run scripts/install-registry-test-tools");
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let running = Running(child);
    // It binds port 0 and logs the address it got.
    let host = loop {
        let line = lines
            .next()
            .expect("docker-registry exited before listening")
            .unwrap();
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split('"').next().unwrap().trim().to_owned();
        }
    };
    // Keep reading its log, so that it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Distribution {
        host,
        _running: running,
        _dir: dir,
    }
}

#[test]
fn bundles_go_to_an_external_registry_with_the_users_docker_login_and_deploy_from_it() {
    let registry = distribution("ci", "right-pa55");
    let project = crate::deploy::project();
    let _cleanup = crate::deploy::Cleanup(&project);
    let config = project.read("slipway.toml");
    project.write(
        "slipway.toml",
        &format!(
            "{config}\n[registry]\nurl = \"{}/team\"\ninsecure = true\n",
            registry.host
        ),
    );
    project.commit_all("an external registry");
    let logins = tempfile::tempdir().unwrap();
    let docker = logins.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    let login = |password: &str| {
        let auth = base64_auth("ci", password);
        std::fs::write(
            docker.join("config.json"),
            format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, registry.host),
        )
        .unwrap();
    };
    let home = logins.path().display().to_string();
    let docker_config = docker.display().to_string();
    // Only the logins the test wrote: none of the user's own.
    let env = [
        ("DOCKER_CONFIG", docker_config.as_str()),
        ("HOME", home.as_str()),
        ("XDG_RUNTIME_DIR", home.as_str()),
        ("REGISTRY_AUTH_FILE", ""),
        ("SLIPWAY_PROXY_LISTEN", "127.0.0.1:0"),
    ];
    let build = ["build", "--runtime", "process", "--push", "--json"];

    login("wrong-pa55");
    let refused = project.slipway_with(&build, &env).failure(1);
    let config_file = docker.join("config.json");
    assert!(
        refused.stderr.contains(&format!(
            "registry {host} refused the credentials from auths[\"{host}\"] in {} (401 Unauthorized)",
            config_file.display(),
            host = registry.host
        )),
        "{}",
        refused.stderr
    );
    assert!(
        refused
            .stderr
            .contains(&format!("docker login {}", registry.host)),
        "{}",
        refused.stderr
    );
    assert!(!refused.stderr.contains("wrong-pa55"), "{}", refused.stderr);

    // [registry] username and password_env take precedence over the Docker login.
    let with_password = |password: &'static str| {
        let mut env = env.to_vec();
        env.push(("TEST_REGISTRY_PASSWORD", password));
        env
    };
    let own = project.read("slipway.toml");
    project.write(
        "slipway.toml",
        &own.replace(
            "insecure = true\n",
            "insecure = true\nusername = \"ci\"\npassword_env = \"TEST_REGISTRY_PASSWORD\"\n",
        ),
    );
    project
        .slipway_with(&build, &with_password("right-pa55"))
        .success();
    let refused = project
        .slipway_with(&build, &with_password("wrong-again"))
        .failure(1);
    assert!(
        refused.stderr.contains(&format!(
            "registry {} refused the credentials from [registry] username and password_env (`TEST_REGISTRY_PASSWORD`) in slipway.toml (401 Unauthorized)",
            registry.host
        )),
        "{}",
        refused.stderr
    );
    project.write("slipway.toml", &own);

    login("right-pa55");
    let built = project.slipway_with(&build, &env).success();
    let built: serde_json::Value = serde_json::from_str(&built.stdout).unwrap();
    let image = &built["pushed"]["images"][0];
    let reference = image["reference"].as_str().unwrap();
    assert!(
        reference.starts_with(&format!("{}/team/hello:", registry.host)),
        "{built}"
    );
    let digest: Digest = image["digest"].as_str().unwrap().parse().unwrap();

    project
        .slipway_with(
            &[
                "deploy",
                "staging",
                "--runtime",
                "process",
                "--image",
                reference,
            ],
            &env,
        )
        .success();
    assert!(
        project
            .path()
            .join(".slipway/bundles")
            .join(digest.hex())
            .is_dir(),
        "the deploy unpacked the bundle it pulled from {}",
        registry.host
    );
}

fn base64_auth(user: &str, password: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}
