//! Scanning every image pushed to the embedded registry, at once.
//!
//! [`ScanOnPush`] is a `slipway-registry` [`PushHook`]: for each image manifest a push stores
//! (not indexes, not referrers such as signatures), it hands a scan to a blocking task and
//! returns, so the push is never slowed. The scan reads the manifest, config and layers from
//! the registry's own blob store, applies the gate, and records the report in the state store
//! against the manifest's digest, where deploys look for it.

use std::collections::HashSet;
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use futures::StreamExt;
use slipway_registry::{Digest, PushHook, PushedManifest};
use slipway_secrets::SecretScanner;
use slipway_store::Store;
use slipway_vuln::AdvisoryIndex;
use tokio::runtime::Handle;

use crate::fs::ScanOptions;
use crate::gate::Gate;
use crate::image::{ImageSource, scan_image};
use crate::record::record_report;
use crate::report::Scanners;

const IMAGE_MANIFESTS: [&str; 2] = [
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// Scans each image pushed to the registry and records the report.
#[derive(Clone)]
pub struct ScanOnPush {
    blobs: Arc<dyn slipway_registry::BlobStore>,
    store: Arc<dyn Store>,
    advisory_dir: PathBuf,
    secrets: Arc<SecretScanner>,
    gate: Arc<Gate>,
    runtime: Handle,
    /// Manifests scanned (or being scanned) already: a push of several tags of one image
    /// stores one manifest several times, and one scan is its verdict.
    seen: Arc<Mutex<HashSet<Digest>>>,
}

impl std::fmt::Debug for ScanOnPush {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScanOnPush")
            .field("advisory_dir", &self.advisory_dir)
            .finish_non_exhaustive()
    }
}

impl ScanOnPush {
    /// A hook reading blobs from `blobs` (the registry's store), with the advisory database
    /// in `advisory_dir`, recording in `store`. Scans run on `runtime`'s blocking pool.
    pub fn new(
        blobs: Arc<dyn slipway_registry::BlobStore>,
        store: Arc<dyn Store>,
        advisory_dir: PathBuf,
        secrets: Arc<SecretScanner>,
        gate: Gate,
        runtime: Handle,
    ) -> ScanOnPush {
        ScanOnPush {
            blobs,
            store,
            advisory_dir,
            secrets,
            gate: Arc::new(gate),
            runtime,
            seen: Arc::default(),
        }
    }

    /// Scans the pushed image and records the report. Runs on a blocking thread.
    fn scan(&self, pushed: &PushedManifest) -> Result<(), String> {
        let name = match &pushed.tag {
            Some(tag) => format!("{}:{tag}", pushed.repository),
            None => format!("{}@{}", pushed.repository, pushed.digest),
        };
        let manifest = self
            .runtime
            .block_on(self.blobs.read_all(&pushed.digest))
            .map_err(|error| format!("reading the manifest of {name}: {error}"))?
            .ok_or_else(|| format!("the manifest of {name} is gone"))?;
        let advisories = AdvisoryIndex::open(&self.advisory_dir)
            .map_err(|error| format!("opening the advisory index: {error}"))?;
        let options = ScanOptions {
            scanners: Scanners {
                config: false,
                ..Scanners::ALL
            },
            secrets: &self.secrets,
            respect_ignore_files: true,
        };
        let store = RegistryBlobs {
            blobs: Arc::clone(&self.blobs),
            runtime: self.runtime.clone(),
        };
        let mut report = scan_image(
            ImageSource::Blobs {
                store: &store,
                manifest: &manifest,
            },
            &name,
            &options,
            Some(&advisories),
        )
        .map_err(|error| format!("scanning {name}: {error}"))?;
        self.gate.apply(&mut report, &jiff::Zoned::now());
        if let Some(Err(error)) = record_report(self.store.as_ref(), &report) {
            return Err(format!("recording the scan of {name}: {error}"));
        }
        tracing::info!(image = %name, outcome = report.verdict.as_ref().map_or("none", |verdict| verdict.outcome.as_str()), "scanned a pushed image");
        Ok(())
    }
}

impl PushHook for ScanOnPush {
    fn manifest_pushed(&self, pushed: &PushedManifest) {
        if !IMAGE_MANIFESTS.contains(&pushed.media_type.as_str()) || pushed.subject.is_some() {
            return;
        }
        let first_time = self
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(pushed.digest.clone());
        if !first_time {
            return;
        }
        let hook = self.clone();
        let pushed = pushed.clone();
        self.runtime.spawn_blocking(move || {
            if let Err(error) = hook.scan(&pushed) {
                tracing::warn!(%error, "scanning a pushed image failed");
            }
        });
    }
}

/// The registry's blob store, read synchronously from a blocking thread.
struct RegistryBlobs {
    blobs: Arc<dyn slipway_registry::BlobStore>,
    runtime: Handle,
}

impl slipway_image::BlobStore for RegistryBlobs {
    fn open_blob(&self, digest: &str) -> io::Result<Box<dyn Read + '_>> {
        let digest: Digest = digest.parse().map_err(|error| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("{digest}: {error}"))
        })?;
        let not_found = || {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("the registry has no blob {digest}"),
            )
        };
        let info = self
            .runtime
            .block_on(self.blobs.stat(&digest))
            .map_err(io::Error::other)?
            .ok_or_else(not_found)?;
        let content = self
            .runtime
            .block_on(self.blobs.read(&digest, 0, info.size))
            .map_err(io::Error::other)?
            .ok_or_else(not_found)?;
        Ok(Box::new(StreamReader {
            body: content.body,
            chunk: Bytes::new(),
            runtime: self.runtime.clone(),
        }))
    }
}

/// A blob's byte stream as a `Read`, each chunk awaited on the runtime.
struct StreamReader {
    body: futures::stream::BoxStream<'static, io::Result<Bytes>>,
    chunk: Bytes,
    runtime: Handle,
}

impl Read for StreamReader {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            match self.runtime.block_on(self.body.next()) {
                Some(chunk) => self.chunk = chunk?,
                None => return Ok(0),
            }
        }
        let length = buffer.len().min(self.chunk.len());
        buffer[..length].copy_from_slice(&self.chunk.split_to(length));
        Ok(length)
    }
}
