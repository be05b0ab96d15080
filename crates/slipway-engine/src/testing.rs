//! Helpers for integration tests that need a container engine (feature `test-support`).
//!
//! - [`engine`] connects to the engine the way the binary does, and fails the test with the
//!   fix ("run scripts/setup-engine") when none answers: tests never skip silently.
//! - [`busybox_image`] makes a small base image from the host's static busybox. Nothing can be
//!   pulled in tests, so every Dockerfile a test builds starts `FROM` this image.
//! - [`TestScope`] gives a test unique names and a label, and removes every container, network
//!   and image carrying them when it is dropped, even when the test fails.
//!
//! ```no_run
//! use slipway_engine::testing::{TestScope, busybox_image, engine};
//! use slipway_engine::{ContainerEngine, ContainerSpec};
//!
//! # async fn example() -> Result<(), slipway_engine::EngineError> {
//! let engine = engine().await;
//! let scope = TestScope::new(&engine, "my_test");
//! let base = busybox_image(&engine, "slipway-test/busybox:1").await?;
//! let (key, value) = scope.label();
//! let spec = ContainerSpec::new(base).name(scope.name("web")).label(key, value).cmd(["sleep", "30"]);
//! let id = engine.create_container(&spec).await?;
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures::StreamExt;
use sha2::{Digest, Sha256};

use crate::endpoint::{Endpoint, EndpointChoice};
use crate::engine::ContainerEngine;
use crate::error::EngineError;
use crate::image::{ImageFilter, ImageRemoval, split_tag};
use crate::{ContainerFilter, DockerEngine, NetworkFilter};

/// The label every resource of a [`TestScope`] carries; its value is the scope's id.
pub const TEST_SCOPE_LABEL: &str = "dev.slipway.test-scope";

/// Where Debian's busybox-static package installs the binary the base image is made from.
pub const BUSYBOX: &str = "/bin/busybox";

/// Connects to the test engine (`DOCKER_HOST`, else the usual sockets), failing the test with
/// what to do when none answers.
pub async fn engine() -> DockerEngine {
    let docker_host = std::env::var("DOCKER_HOST").ok();
    match DockerEngine::connect(EndpointChoice::Discover { docker_host }).await {
        Ok(engine) => engine,
        Err(error) => panic!(
            "this test needs a container engine, and {error}\n\
             fix: run `bash scripts/setup-engine` (it starts Podman) and export the DOCKER_HOST it prints"
        ),
    }
}

/// Makes sure `reference` names a busybox image: a single layer holding the host's
/// [`BUSYBOX`] with a link for each applet in `/bin`, `/etc/passwd` and `/etc/group` (root and
/// nobody), and `/tmp`; `CMD ["sh"]`. Returns the reference.
///
/// Idempotent, and safe when tests run in parallel: the archive is the same byte for byte each
/// time, so every test that loads it gets the same image id.
pub async fn busybox_image(
    engine: &dyn ContainerEngine,
    reference: &str,
) -> Result<String, EngineError> {
    if engine.image_exists(reference).await? {
        return Ok(reference.to_owned());
    }
    let archive =
        busybox_archive(Path::new(BUSYBOX), reference).map_err(|source| EngineError::Io {
            during: format!(
                "making a busybox image from {BUSYBOX} (install Debian's busybox-static)"
            ),
            source,
        })?;
    engine
        .load_image(futures::stream::iter([Ok(Bytes::from(archive))]).boxed())
        .await?;
    Ok(reference.to_owned())
}

/// A `docker save` archive of the busybox image, tagged `reference`.
pub fn busybox_archive(busybox: &Path, reference: &str) -> io::Result<Vec<u8>> {
    let layer = busybox_layer(busybox)?;
    let layer_digest = hex::encode(Sha256::digest(&layer));
    let config = serde_json::json!({
        "architecture": go_architecture(),
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["sh"],
        },
        "rootfs": { "type": "layers", "diff_ids": [format!("sha256:{layer_digest}")] },
        "history": [{ "created": "1970-01-01T00:00:00Z", "created_by": "slipway_engine::testing::busybox_image" }],
    });
    let config = serde_json::to_vec(&config)?;
    let config_file = format!("{}.json", hex::encode(Sha256::digest(&config)));
    let layer_file = format!("{layer_digest}/layer.tar");
    let (repository, tag) = split_tag(reference);
    let manifest = serde_json::json!([{
        "Config": config_file,
        "RepoTags": [format!("{repository}:{tag}")],
        "Layers": [layer_file],
    }]);
    let mut archive = tar::Builder::new(Vec::new());
    append_file(&mut archive, &layer_file, &layer, 0o644)?;
    append_file(&mut archive, &config_file, &config, 0o644)?;
    append_file(
        &mut archive,
        "manifest.json",
        &serde_json::to_vec(&manifest)?,
        0o644,
    )?;
    archive.into_inner()
}

/// The image's only layer. Every entry has fixed owner and times, so the bytes depend only on
/// the busybox binary.
fn busybox_layer(busybox: &Path) -> io::Result<Vec<u8>> {
    let binary = std::fs::read(busybox)?;
    let applets = busybox_applets(busybox)?;
    let mut layer = tar::Builder::new(Vec::new());
    for (dir, mode) in [
        ("bin", 0o755),
        ("etc", 0o755),
        ("root", 0o700),
        ("tmp", 0o1777),
        ("var", 0o755),
        ("var/www", 0o755),
    ] {
        append_entry(&mut layer, dir, tar::EntryType::Directory, mode, &[])?;
    }
    append_file(&mut layer, "bin/busybox", &binary, 0o755)?;
    for applet in applets.iter().filter(|applet| *applet != "busybox") {
        let mut header = header(tar::EntryType::Symlink, 0o777, 0);
        header.set_link_name("busybox")?;
        layer.append_data(&mut header, format!("bin/{applet}"), io::empty())?;
    }
    append_file(
        &mut layer,
        "etc/passwd",
        b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
        0o644,
    )?;
    append_file(
        &mut layer,
        "etc/group",
        b"root:x:0:\nnobody:x:65534:\n",
        0o644,
    )?;
    layer.into_inner()
}

/// The applets the busybox binary provides, as `busybox --list` prints them.
fn busybox_applets(busybox: &Path) -> io::Result<Vec<String>> {
    let listed = Command::new(busybox).arg("--list").output()?;
    if !listed.status.success() {
        return Err(io::Error::other(format!(
            "`{} --list` failed: {}",
            busybox.display(),
            listed.status
        )));
    }
    let names = String::from_utf8_lossy(&listed.stdout);
    // Applet names are plain words; anything else would not be a safe path.
    Ok(names
        .lines()
        .map(str::trim)
        .filter(|name| {
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.[".contains(&b))
        })
        .map(str::to_owned)
        .collect())
}

fn header(entry_type: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(entry_type);
    header.set_mode(mode);
    header.set_size(size);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header
}

fn append_entry<W: io::Write>(
    archive: &mut tar::Builder<W>,
    path: &str,
    entry_type: tar::EntryType,
    mode: u32,
    data: &[u8],
) -> io::Result<()> {
    let mut header = header(entry_type, mode, data.len() as u64);
    archive.append_data(&mut header, path, data)
}

fn append_file<W: io::Write>(
    archive: &mut tar::Builder<W>,
    path: &str,
    data: &[u8],
    mode: u32,
) -> io::Result<()> {
    append_entry(archive, path, tar::EntryType::Regular, mode, data)
}

/// The host architecture in Go's names, which image configs use.
fn go_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    }
}

/// A test's own names and label, and the removal of everything carrying them when dropped.
///
/// Give every container, network and built image the [`label`](TestScope::label), and name
/// them with [`name`](TestScope::name): names are unique across parallel tests and runs, and
/// images tagged with them are removed even without the label.
#[derive(Debug)]
pub struct TestScope {
    endpoint: Endpoint,
    id: String,
}

impl TestScope {
    /// A scope for the test `test_name` on `engine`.
    pub fn new(engine: &DockerEngine, test_name: &str) -> TestScope {
        static SCOPES: AtomicU64 = AtomicU64::new(0);
        let readable: String = test_name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .take(40)
            .collect();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.subsec_nanos());
        let id = format!(
            "slipway-test-{}-{}-{}-{nanos:x}",
            readable.trim_matches('-'),
            std::process::id(),
            SCOPES.fetch_add(1, Ordering::Relaxed)
        );
        TestScope {
            endpoint: engine.endpoint().clone(),
            id,
        }
    }

    /// The scope's label, as (key, value).
    pub fn label(&self) -> (&'static str, &str) {
        (TEST_SCOPE_LABEL, &self.id)
    }

    /// The scope's label as a map, for builds and networks.
    pub fn labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([(TEST_SCOPE_LABEL.to_owned(), self.id.clone())])
    }

    /// A name unique to this scope, for a container, network or image repository.
    pub fn name(&self, what: &str) -> String {
        format!("{}-{what}", self.id)
    }
}

impl Drop for TestScope {
    /// Removes the scope's containers, networks and images. Drop cannot be async and may run
    /// inside the test's runtime, so the removal runs on a thread of its own with its own
    /// runtime and connection; failures are logged, never raised during an unwinding panic.
    fn drop(&mut self) {
        let endpoint = self.endpoint.clone();
        let id = self.id.clone();
        let cleanup =
            std::thread::spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime.block_on(remove_scope(endpoint, &id)),
                    Err(error) => tracing::warn!(%error, "no runtime to clean up test scope {id}"),
                }
            });
        if cleanup.join().is_err() {
            tracing::warn!("cleaning up test scope {} panicked", self.id);
        }
    }
}

async fn remove_scope(endpoint: Endpoint, id: &str) {
    let engine = match DockerEngine::connect(EndpointChoice::Exactly(endpoint)).await {
        Ok(engine) => engine,
        Err(error) => return tracing::warn!(%error, "cannot clean up test scope {id}"),
    };
    let warn = |what: &str, error: EngineError| tracing::warn!(%error, "cleaning up test scope {id}: {what}");
    match engine
        .list_containers(&ContainerFilter::all().label(TEST_SCOPE_LABEL, id))
        .await
    {
        Ok(containers) => {
            for container in containers {
                if let Err(error) = engine.remove_container(container.id.as_str(), true).await {
                    warn("removing a container", error);
                }
            }
        }
        Err(error) => warn("listing containers", error),
    }
    match engine
        .list_networks(&NetworkFilter::new().label(TEST_SCOPE_LABEL, id))
        .await
    {
        Ok(networks) => {
            for network in networks {
                if let Err(error) = engine.remove_network(network.id.as_str()).await {
                    warn("removing a network", error);
                }
            }
        }
        Err(error) => warn("listing networks", error),
    }
    match engine
        .list_images(&ImageFilter::new().include_intermediate())
        .await
    {
        Ok(images) => {
            for image in images {
                // An image the scope labelled is the scope's and goes by id; one it only tagged
                // (a scope-named alias of a shared base image, say) loses those tags and nothing
                // else, or a failing test would take the shared image from every other test
                // (without force, removing one of several tags only untags).
                let labelled = image
                    .labels
                    .get(TEST_SCOPE_LABEL)
                    .is_some_and(|value| value == id);
                let references: Vec<&str> = if labelled {
                    vec![image.id.as_str()]
                } else {
                    image
                        .tags
                        .iter()
                        .filter(|tag| tag.contains(id))
                        .map(String::as_str)
                        .collect()
                };
                for reference in references {
                    // Parents stay: they are the build cache other tests' builds may be using
                    // this very moment, and removing them fails those builds on Podman.
                    let removal = ImageRemoval {
                        force: labelled,
                        no_prune: true,
                    };
                    match engine.remove_image(reference, removal).await {
                        Ok(()) | Err(EngineError::ImageNotFound { .. }) => {}
                        Err(error) => warn("removing an image", error),
                    }
                }
            }
        }
        Err(error) => warn("listing images", error),
    }
}
