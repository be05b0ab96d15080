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
    distribution_with_tls(user, password, None)
}

/// [`distribution`] over HTTPS with `certificate` and its key (PEM) when given.
fn distribution_with_tls(
    user: &str,
    password: &str,
    tls: Option<&rcgen::CertifiedKey<rcgen::KeyPair>>,
) -> Distribution {
    use std::io::BufRead as _;
    let dir = tempfile::tempdir().unwrap();
    let hash = bcrypt::hash(password, 5).unwrap();
    std::fs::write(dir.path().join("htpasswd"), format!("{user}:{hash}\n")).unwrap();
    let tls_config = match tls {
        Some(certified) => {
            let (certificate, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
            std::fs::write(&certificate, certified.cert.pem()).unwrap();
            std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
            format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                certificate.display(),
                key.display()
            )
        }
        None => String::new(),
    };
    let config = format!(
        "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:0\n{tls_config}auth:\n  htpasswd:\n    realm: slipway-test\n    path: {}\n",
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
    // It binds port 0 and logs the address it got (`listening on 127.0.0.1:PORT, tls`).
    let host = loop {
        let line = lines
            .next()
            .expect("docker-registry exited before listening")
            .unwrap();
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split(['"', ',']).next().unwrap().trim().to_owned();
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

/// Writes an OCI image layout of one linux/amd64 image whose single (uncompressed) layer holds
/// `files`, tagged `tag`.
fn oci_layout(dir: &std::path::Path, tag: &str, files: &[(&str, &str)]) {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, content) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, path, content.as_bytes())
            .unwrap();
    }
    let layer = builder.into_inner().unwrap();
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": { "type": "layers", "diff_ids": [Digest::sha256(&layer).to_string()] },
    })
    .to_string()
    .into_bytes();
    let descriptor = |media_type: &str, content: &[u8]| {
        serde_json::json!({
            "mediaType": media_type,
            "digest": Digest::sha256(content).to_string(),
            "size": content.len(),
        })
    };
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": descriptor("application/vnd.oci.image.config.v1+json", &config),
        "layers": [descriptor("application/vnd.oci.image.layer.v1.tar", &layer)],
    })
    .to_string()
    .into_bytes();
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    for blob in [&layer, &config, &manifest] {
        std::fs::write(blobs.join(Digest::sha256(blob).hex()), blob).unwrap();
    }
    let mut entry = descriptor("application/vnd.oci.image.manifest.v1+json", &manifest);
    entry["annotations"] = serde_json::json!({ "org.opencontainers.image.ref.name": tag });
    std::fs::write(
        dir.join("index.json"),
        serde_json::json!({ "schemaVersion": 2, "manifests": [entry] }).to_string(),
    )
    .unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
}

#[test]
fn scan_image_pulls_an_image_the_engine_lacks_with_the_users_docker_login() {
    require_engine();
    let registry = distribution("scanner", "sc4n-pa55");
    let layout = tempfile::tempdir().unwrap();
    oci_layout(
        layout.path(),
        "1.0",
        &[("app/Cargo.lock", crate::scan::VULNERABLE_LOCK)],
    );
    let copied = Command::new("skopeo")
        .args(["--insecure-policy", "copy", "--preserve-digests"])
        .args(["--dest-tls-verify=false", "--dest-creds=scanner:sc4n-pa55"])
        .arg(format!("oci:{}:1.0", layout.path().display()))
        .arg(format!("docker://{}/team/app:1.0", registry.host))
        .output()
        .expect("skopeo is not installed: run scripts/install-registry-test-tools");
    assert!(
        copied.status.success(),
        "{}",
        String::from_utf8_lossy(&copied.stderr)
    );

    let project = Project::empty();
    project.write(
        "slipway.toml",
        &format!(
            "[project]\nname = \"{}\"\n\n[registry]\nurl = \"{}/team\"\ninsecure = true\n",
            project.name(),
            registry.host
        ),
    );
    project
        .slipway(&["db", "import", &crate::scan::corpus()])
        .success();
    let logins = tempfile::tempdir().unwrap();
    let docker = logins.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    let login = |password: &str| {
        let auth = base64_auth("scanner", password);
        std::fs::write(
            docker.join("config.json"),
            format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, registry.host),
        )
        .unwrap();
    };
    let home = logins.path().display().to_string();
    let docker_config = docker.display().to_string();
    let env = [
        ("DOCKER_CONFIG", docker_config.as_str()),
        ("HOME", home.as_str()),
        ("XDG_RUNTIME_DIR", home.as_str()),
        ("REGISTRY_AUTH_FILE", ""),
    ];
    let reference = format!("{}/team/app:1.0", registry.host);
    let scan = [
        "scan",
        "image",
        reference.as_str(),
        "--format",
        "json",
        "--no-record",
    ];

    login("wrong-pa55");
    let refused = project.slipway_with(&scan, &env).failure(1);
    assert!(
        refused.stderr.contains(&format!(
            "registry {} refused the credentials from auths[\"{}\"]",
            registry.host, registry.host
        )),
        "{}",
        refused.stderr
    );
    assert!(!refused.stderr.contains("wrong-pa55"), "{}", refused.stderr);

    login("sc4n-pa55");
    let scanned = project.slipway_with(&scan, &env).success();
    let report: serde_json::Value = serde_json::from_str(&scanned.stdout).unwrap();
    assert_eq!(
        report["vulnerabilities"][0]["id"], "RUSTSEC-2021-0003",
        "{report}"
    );
    assert!(
        scanned
            .stderr
            .contains(&format!("pulling {reference} from {}", registry.host)),
        "{}",
        scanned.stderr
    );
}

/// The container engine's trust in a registry's certificate authority, as Podman
/// (`/etc/containers/certs.d`) and Docker (`/etc/docker/certs.d`) read it for that `host:port`
/// alone; removed when dropped.
struct EngineTrust(Vec<std::path::PathBuf>);

impl EngineTrust {
    fn add(host: &str, certificate_pem: &str) -> EngineTrust {
        let dirs: Vec<_> = ["/etc/containers/certs.d", "/etc/docker/certs.d"]
            .iter()
            .map(|root| std::path::Path::new(root).join(host))
            .collect();
        for dir in &dirs {
            std::fs::create_dir_all(dir).unwrap_or_else(|error| {
                panic!(
                    "cannot write {} ({error}): the engine tests run where the engine's configuration is writable (scripts/setup-engine)",
                    dir.display()
                )
            });
            std::fs::write(dir.join("ca.crt"), certificate_pem).unwrap();
        }
        EngineTrust(dirs)
    }
}

impl Drop for EngineTrust {
    fn drop(&mut self) {
        for dir in &self.0 {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

#[test]
fn push_hands_the_users_docker_login_to_the_engine_and_scan_pulls_the_image_back() {
    require_engine();
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let registry = distribution_with_tls("pusher", "pu5h-pa55", Some(&certified));
    let _trust = EngineTrust::add(&registry.host, &certified.cert.pem());
    let project = Project::empty();
    project.write(
        "slipway.toml",
        &format!(
            "[project]\nname = \"{}\"\n\n[registry]\nurl = \"{}/team\"\n",
            project.name(),
            registry.host
        ),
    );
    let logins = tempfile::tempdir().unwrap();
    let docker = logins.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    let login = |password: &str| {
        let auth = base64_auth("pusher", password);
        std::fs::write(
            docker.join("config.json"),
            format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, registry.host),
        )
        .unwrap();
    };
    let ca = logins.path().join("ca.pem");
    std::fs::write(&ca, certified.cert.pem()).unwrap();
    let (home, docker_config, ca) = (
        logins.path().display().to_string(),
        docker.display().to_string(),
        ca.display().to_string(),
    );
    // Only the logins the test wrote, and Slipway trusting the registry's certificate alone.
    let env = [
        ("DOCKER_CONFIG", docker_config.as_str()),
        ("HOME", home.as_str()),
        ("XDG_RUNTIME_DIR", home.as_str()),
        ("REGISTRY_AUTH_FILE", ""),
        ("SSL_CERT_FILE", ca.as_str()),
    ];
    let push = ["push", "localhost/slipway/busybox:latest", "--json"];

    login("wrong-pa55");
    let refused = project.slipway_with(&push, &env).failure(1);
    assert!(
        refused
            .stderr
            .contains(&format!("docker login {}", registry.host)),
        "{}",
        refused.stderr
    );
    assert!(!refused.stderr.contains("wrong-pa55"), "{}", refused.stderr);

    login("pu5h-pa55");
    let pushed = project.slipway_with(&push, &env).success();
    let pushed: serde_json::Value = serde_json::from_str(&pushed.stdout).unwrap();
    let reference = format!("{}/team/busybox:latest", registry.host);
    assert_eq!(
        pushed["images"][0]["reference"],
        reference.as_str(),
        "{pushed}"
    );

    // The engine no longer holds that name (the push's extra tag is gone): the scan pulls it
    // from the registry over HTTPS with the same login.
    let scanned = project
        .slipway_with(
            &[
                "scan",
                "image",
                &reference,
                "--format",
                "json",
                "--no-record",
            ],
            &env,
        )
        .success();
    assert!(
        scanned
            .stderr
            .contains(&format!("pulling {reference} from {}", registry.host)),
        "{}",
        scanned.stderr
    );
    let report: serde_json::Value = serde_json::from_str(&scanned.stdout).unwrap();
    assert_eq!(report["target"]["name"], reference.as_str(), "{report}");
}
