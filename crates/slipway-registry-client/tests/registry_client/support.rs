//! What the tests share: Debian's `docker-registry` (distribution v2) with htpasswd auth on a
//! port it picks itself, credential files in temporary directories, and a bundle to push.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use base64::Engine as _;
use bytes::Bytes;
use slipway_registry::Digest;
use slipway_registry::manifest::{OCI_INDEX, OCI_MANIFEST};
use slipway_registry_client::Environment;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

/// `docker-registry serve` over a temporary directory, killed when dropped.
pub(crate) struct Distribution {
    /// `127.0.0.1:PORT`.
    pub(crate) host: String,
    _child: Child,
    _dir: tempfile::TempDir,
}

impl Distribution {
    /// A registry whose only user is `user` with `password` (bcrypt in an htpasswd file).
    pub(crate) async fn start(user: &str, password: &str) -> Distribution {
        let dir = tempfile::tempdir().unwrap();
        let hash = bcrypt::hash(password, 5).unwrap();
        std::fs::write(dir.path().join("htpasswd"), format!("{user}:{hash}\n")).unwrap();
        let config = format!(
            "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {storage}\nhttp:\n  addr: 127.0.0.1:0\nauth:\n  htpasswd:\n    realm: slipway-test\n    path: {htpasswd}\n",
            storage = dir.path().join("storage").display(),
            htpasswd = dir.path().join("htpasswd").display(),
        );
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let mut child = Command::new("docker-registry")
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("docker-registry is not installed: run scripts/install-registry-test-tools");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        // It binds port 0 and logs the address it got: the port is read, never guessed.
        let host = loop {
            let line = lines
                .next_line()
                .await
                .unwrap()
                .expect("docker-registry exited before listening");
            if let Some(rest) = line.split("listening on ").nth(1) {
                break rest.split('"').next().unwrap().trim().to_owned();
            }
        };
        // Keep reading its log, so that it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Distribution {
            host,
            _child: child,
            _dir: dir,
        }
    }
}

/// A home, a Docker config directory and a directory for other files, all empty and temporary,
/// so that no test reads the credentials of whoever runs it.
pub(crate) struct Homes {
    pub(crate) dir: tempfile::TempDir,
}

impl Homes {
    pub(crate) fn new() -> Homes {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["home", "docker", "bin", "runtime"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        Homes { dir }
    }

    pub(crate) fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// An environment naming only these directories; `PATH` is `bin` then the system's.
    pub(crate) fn environment(&self) -> Environment {
        Environment {
            home: Some(self.path("home")),
            docker_config: Some(self.path("docker")),
            registry_auth_file: None,
            xdg_runtime_dir: Some(self.path("runtime")),
            path: Some(format!("{}:/usr/bin:/bin", self.path("bin").display()).into()),
        }
    }

    /// Writes `docker/config.json`.
    pub(crate) fn docker_config(&self, json: &serde_json::Value) -> PathBuf {
        write_json(&self.path("docker/config.json"), json)
    }

    /// Writes an executable `bin/docker-credential-NAME` running `script` with `sh`.
    pub(crate) fn helper(&self, name: &str, script: &str) {
        use std::os::unix::fs::PermissionsExt as _;
        let path = self.path(&format!("bin/docker-credential-{name}"));
        std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

pub(crate) fn write_json(path: &Path, json: &serde_json::Value) -> PathBuf {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, serde_json::to_vec_pretty(json).unwrap()).unwrap();
    path.to_owned()
}

/// `user:password` as Docker's `auth` field holds it.
pub(crate) fn basic_auth(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

/// A small tar holding one file, as a bundle's layer.
pub(crate) fn bundle_tar(content: &str) -> Bytes {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder
        .append_data(&mut header, "server.sh", content.as_bytes())
        .unwrap();
    Bytes::from(builder.into_inner().unwrap())
}

pub(crate) fn annotations() -> BTreeMap<String, String> {
    BTreeMap::from([(
        "org.opencontainers.image.revision".to_owned(),
        "0123abc".to_owned(),
    )])
}

/// The platforms of [`TestImage`].
pub(crate) const ARCHITECTURES: [&str; 2] = ["amd64", "arm64"];

/// An image for two platforms: an OCI index of a linux/amd64 and a linux/arm64 image, each of
/// one gzipped layer holding `server.sh` that names its architecture.
pub(crate) struct TestImage {
    pub(crate) index: Bytes,
    /// Per architecture: the image manifest, its config and its layer.
    pub(crate) images: BTreeMap<&'static str, (Bytes, Bytes, Bytes)>,
}

impl TestImage {
    pub(crate) fn new() -> TestImage {
        use std::io::Write as _;
        let mut images = BTreeMap::new();
        let mut entries = Vec::new();
        for architecture in ARCHITECTURES {
            let tar = bundle_tar(&format!("echo built for {architecture}\n"));
            let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gzip.write_all(&tar).unwrap();
            let layer = Bytes::from(gzip.finish().unwrap());
            let config = Bytes::from(
                serde_json::json!({
                    "architecture": architecture,
                    "os": "linux",
                    "config": {},
                    "rootfs": { "type": "layers", "diff_ids": [Digest::sha256(&tar).to_string()] },
                })
                .to_string(),
            );
            let manifest = Bytes::from(
                serde_json::json!({
                    "schemaVersion": 2,
                    "mediaType": OCI_MANIFEST,
                    "config": descriptor("application/vnd.oci.image.config.v1+json", &config),
                    "layers": [descriptor("application/vnd.oci.image.layer.v1.tar+gzip", &layer)],
                })
                .to_string(),
            );
            let mut entry = descriptor(OCI_MANIFEST, &manifest);
            entry["platform"] = serde_json::json!({ "os": "linux", "architecture": architecture });
            entries.push(entry);
            images.insert(architecture, (manifest, config, layer));
        }
        let index = Bytes::from(
            serde_json::json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries })
                .to_string(),
        );
        TestImage { index, images }
    }

    /// Every blob: the index, the manifests, configs and layers.
    pub(crate) fn blobs(&self) -> Vec<Bytes> {
        let mut blobs = vec![self.index.clone()];
        for (manifest, config, layer) in self.images.values() {
            blobs.extend([manifest.clone(), config.clone(), layer.clone()]);
        }
        blobs
    }

    /// Pushes it to `registry` as `repository:tag` with skopeo, logged in as `user`.
    pub(crate) fn push_with_skopeo(
        &self,
        registry: &str,
        repository: &str,
        tag: &str,
        user: &str,
        password: &str,
    ) {
        let layout = tempfile::tempdir().unwrap();
        for blob in self.blobs() {
            let path = layout
                .path()
                .join(format!("blobs/sha256/{}", Digest::sha256(&blob).hex()));
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, blob).unwrap();
        }
        let mut entry = descriptor(OCI_INDEX, &self.index);
        entry["annotations"] = serde_json::json!({ "org.opencontainers.image.ref.name": tag });
        write_json(
            &layout.path().join("index.json"),
            &serde_json::json!({ "schemaVersion": 2, "manifests": [entry] }),
        );
        write_json(
            &layout.path().join("oci-layout"),
            &serde_json::json!({ "imageLayoutVersion": "1.0.0" }),
        );
        let output = std::process::Command::new("skopeo")
            .args([
                "--insecure-policy",
                "copy",
                "--all",
                "--preserve-digests",
                "--dest-tls-verify=false",
            ])
            .arg(format!("--dest-creds={user}:{password}"))
            .arg(format!("oci:{}:{tag}", layout.path().display()))
            .arg(format!("docker://{registry}/{repository}:{tag}"))
            .output()
            .expect("skopeo is not installed: run scripts/install-registry-test-tools");
        assert!(
            output.status.success(),
            "skopeo copy: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// An OCI descriptor of `content`.
pub(crate) fn descriptor(media_type: &str, content: &[u8]) -> serde_json::Value {
    serde_json::json!({
        "mediaType": media_type,
        "digest": Digest::sha256(content).to_string(),
        "size": content.len(),
    })
}
