//! [`Updater`]: OSV's per-ecosystem exports, downloaded over HTTPS into the advisory index.
//!
//! OSV publishes every ecosystem's records as `<BASE>/<ECOSYSTEM>/all.zip` (a Cloud Storage
//! bucket). Each export is fetched with a conditional request (`If-None-Match` with the ETag,
//! `If-Modified-Since` with the Last-Modified of the copy kept), streamed to a temporary file
//! while its CRC32C is computed and compared with the one the bucket announces in `x-goog-hash`
//! (its MD5 there is not checked: TLS already protects the transfer, and the CRC32C catches a
//! damaged or mixed-up object), and renamed over the kept copy only when it is whole and opens as
//! a zip. When any
//! export changed, the index is rebuilt from every kept export in one transaction
//! ([`AdvisoryIndex::replace_all`]), so a failed or interrupted update leaves the previous
//! advisories in place, never half of them. The SHA-256 of each imported export is kept beside
//! it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::{Request, StatusCode, Uri, header};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::{AdvisoryIndex, IndexError};

/// Where OSV publishes its exports.
pub const OSV_URL: &str = "https://osv-vulnerabilities.storage.googleapis.com";

/// The OSV ecosystems the index orders versions for, by the names OSV's exports use.
pub const UPDATE_ECOSYSTEMS: [&str; 9] = [
    "crates.io",
    "npm",
    "Go",
    "PyPI",
    "RubyGems",
    "Packagist",
    "Debian",
    "Ubuntu",
    "Alpine",
];

/// The directory, under the index's, where the exports are kept.
const EXPORTS_DIR: &str = "osv";

/// Downloads OSV exports into an index.
#[derive(Debug, Clone)]
pub struct Updater {
    base: String,
    http: slipway_https::Client<Empty<Bytes>>,
}

/// What an update did.
#[derive(Debug, Clone, Serialize)]
pub struct UpdateSummary {
    pub ecosystems: Vec<EcosystemUpdate>,
    /// Advisories in the index afterwards.
    pub advisories: u64,
    /// Whether the index was rebuilt (some export changed, or it was empty).
    pub rebuilt: bool,
}

/// What happened to one ecosystem's export.
#[derive(Debug, Clone, Serialize)]
pub struct EcosystemUpdate {
    pub ecosystem: String,
    /// `downloaded` or `unchanged` (the server answered 304 Not Modified).
    pub fetched: Fetched,
    /// The SHA-256 of the export now kept (hex).
    pub sha256: String,
    /// Its size in bytes.
    pub bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Fetched {
    Downloaded,
    Unchanged,
}

/// Why an update failed. The index and the kept exports are then as they were.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpdateError {
    /// The base URL is not an `https://` URL.
    #[error("{url} is not an https:// URL: advisories are only downloaded over HTTPS")]
    NotHttps { url: String },
    /// Connecting, the TLS handshake, or the exchange failed.
    #[error("downloading {url} failed: {message}")]
    Transfer { url: String, message: String },
    /// The server answered something other than 200 or 304.
    #[error("{url} answered {status}")]
    Status { url: String, status: StatusCode },
    /// The download does not match the hash the server announced.
    #[error("{url}: the download's {algorithm} is {found}, but the server announced {announced}")]
    Checksum {
        url: String,
        algorithm: &'static str,
        announced: String,
        found: String,
    },
    /// A file beside the index cannot be written or read.
    #[error("cannot write {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The export is not a zip archive, or the index cannot be written.
    #[error(transparent)]
    Index(#[from] IndexError),
}

/// What is kept about an export: the validators for the next conditional request, and the hash
/// of what was imported.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ExportMeta {
    etag: Option<String>,
    last_modified: Option<String>,
    sha256: String,
    bytes: u64,
}

impl Updater {
    /// An updater fetching from `base` (OSV's bucket, [`OSV_URL`], or a mirror of its layout),
    /// through the shared client (`slipway-https`) trusting the certificates `tls` trusts.
    ///
    /// # Errors
    ///
    /// [`UpdateError::NotHttps`] when `base` is not an `https://` URL.
    pub fn new(base: &str, tls: rustls::ClientConfig) -> Result<Updater, UpdateError> {
        let base = base.trim_end_matches('/').to_owned();
        let https = base
            .parse::<Uri>()
            .is_ok_and(|uri| uri.scheme_str() == Some("https") && uri.host().is_some());
        if !https {
            return Err(UpdateError::NotHttps { url: base });
        }
        Ok(Updater {
            base,
            http: slipway_https::client(tls),
        })
    }

    /// Fetches each of `ecosystems`' exports (conditionally), and rebuilds `index` from the kept
    /// exports when one changed. `progress` hears what is being done.
    ///
    /// # Errors
    ///
    /// The first [`UpdateError`]; the index and the exports kept are then unchanged.
    pub async fn update(
        &self,
        index: &AdvisoryIndex,
        ecosystems: &[&str],
        progress: &mut (dyn FnMut(&str) + Send),
    ) -> Result<UpdateSummary, UpdateError> {
        let dir = index
            .path()
            .parent()
            .unwrap_or(Path::new("."))
            .join(EXPORTS_DIR);
        std::fs::create_dir_all(&dir).map_err(|source| io_error(&dir, source))?;
        let mut updates = Vec::new();
        let mut validators = Vec::new();
        for ecosystem in ecosystems {
            progress(&format!("checking {}", self.url(ecosystem)));
            let (update, fresh) = self.fetch(&dir, ecosystem).await?;
            updates.push(update);
            validators.extend(fresh);
        }
        let changed = updates
            .iter()
            .any(|update| update.fetched == Fetched::Downloaded);
        let rebuilt = changed || index.is_empty()?;
        if rebuilt {
            progress("importing the advisories");
            let exports: Vec<PathBuf> = UPDATE_ECOSYSTEMS
                .iter()
                .map(|ecosystem| export_path(&dir, ecosystem))
                .filter(|path| path.is_file())
                .collect();
            index.replace_all(&exports, &mut |_| {})?;
            // Only now may the next update ask "changed since?": had the import failed, the
            // exports would be fetched again rather than trusted.
            for (path, meta) in &validators {
                write_meta(path, meta)?;
            }
        } else {
            index.record_check(&self.base)?;
        }
        Ok(UpdateSummary {
            ecosystems: updates,
            advisories: index.status()?.advisories,
            rebuilt,
        })
    }

    fn url(&self, ecosystem: &str) -> String {
        format!("{}/{ecosystem}/all.zip", self.base)
    }

    /// Fetches one export into `dir`, unless the server says the kept one is current. A fresh
    /// download comes with its validators, for the caller to keep once it is imported.
    async fn fetch(
        &self,
        dir: &Path,
        ecosystem: &str,
    ) -> Result<(EcosystemUpdate, Option<(PathBuf, ExportMeta)>), UpdateError> {
        let url = self.url(ecosystem);
        let export = export_path(dir, ecosystem);
        let meta_path = dir.join(format!("{ecosystem}.json"));
        let kept = read_meta(&meta_path).filter(|_| export.is_file());
        let transfer = |message: String| UpdateError::Transfer {
            url: url.clone(),
            message,
        };
        let mut request = Request::get(&url).header(header::USER_AGENT, USER_AGENT);
        if let Some(kept) = &kept {
            if let Some(etag) = &kept.etag {
                request = request.header(header::IF_NONE_MATCH, etag);
            }
            if let Some(modified) = &kept.last_modified {
                request = request.header(header::IF_MODIFIED_SINCE, modified);
            }
        }
        let request = request
            .body(Empty::<Bytes>::new())
            .map_err(|error| transfer(error.to_string()))?;
        let mut response = self.send(request).await.map_err(transfer)?;
        match (response.status(), kept) {
            (StatusCode::NOT_MODIFIED, Some(kept)) => {
                let update = EcosystemUpdate {
                    ecosystem: ecosystem.to_owned(),
                    fetched: Fetched::Unchanged,
                    sha256: kept.sha256,
                    bytes: kept.bytes,
                };
                return Ok((update, None));
            }
            (StatusCode::OK, _) => {}
            (status, _) => return Err(UpdateError::Status { url, status }),
        }
        let header_text = |name: header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        let etag = header_text(header::ETAG);
        let last_modified = header_text(header::LAST_MODIFIED);
        let announced = announced_hashes(response.headers().get_all("x-goog-hash"));

        let partial = tempfile::Builder::new()
            .prefix(&format!(".{ecosystem}."))
            .suffix(".part")
            .tempfile_in(dir)
            .map_err(|source| io_error(dir, source))?;
        let mut hashes = Hashes::default();
        let mut file = partial.as_file();
        loop {
            let next = tokio::time::timeout(STALL_TIMEOUT, response.body_mut().frame())
                .await
                .map_err(|_| transfer(format!("no data for {STALL_TIMEOUT:?}")))?;
            let Some(frame) = next else { break };
            let frame = frame.map_err(|error| transfer(error.to_string()))?;
            if let Some(data) = frame.data_ref() {
                hashes.update(data);
                file.write_all(data)
                    .map_err(|source| io_error(partial.path(), source))?;
            }
        }
        file.sync_all()
            .map_err(|source| io_error(partial.path(), source))?;
        hashes.check(&announced, &url)?;
        // A download that does not open as a zip never replaces the kept export.
        zip_opens(partial.path())?;
        match std::fs::remove_file(&meta_path) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                return Err(io_error(&meta_path, error));
            }
            _ => {}
        }
        partial
            .persist(&export)
            .map_err(|error| io_error(&export, error.error))?;
        let meta = ExportMeta {
            etag,
            last_modified,
            sha256: hex::encode(hashes.sha256.finalize()),
            bytes: hashes.bytes,
        };
        let update = EcosystemUpdate {
            ecosystem: ecosystem.to_owned(),
            fetched: Fetched::Downloaded,
            sha256: meta.sha256.clone(),
            bytes: meta.bytes,
        };
        Ok((update, Some((meta_path, meta))))
    }

    /// Sends `request` through the shared client.
    async fn send(
        &self,
        request: Request<Empty<Bytes>>,
    ) -> Result<hyper::Response<hyper::body::Incoming>, String> {
        self.http
            .request(request)
            .await
            .map_err(|error| slipway_https::error_chain(&error))
    }
}

const USER_AGENT: &str = concat!("slipway/", env!("CARGO_PKG_VERSION"));
/// How long a download may go without a byte before it counts as failed.
const STALL_TIMEOUT: Duration = Duration::from_secs(60);

fn export_path(dir: &Path, ecosystem: &str) -> PathBuf {
    dir.join(format!("{ecosystem}.zip"))
}

/// The hashes the server announced: `x-goog-hash: crc32c=BASE64, md5=BASE64`, possibly over
/// several header lines.
fn announced_hashes(values: header::GetAll<'_, header::HeaderValue>) -> Vec<(String, Vec<u8>)> {
    values
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|part| {
            let (name, encoded) = part.trim().split_once('=')?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()?;
            Some((name.trim().to_ascii_lowercase(), bytes))
        })
        .collect()
}

/// The hashes of a download, computed as it streams in.
struct Hashes {
    crc32c: u32,
    sha256: sha2::Sha256,
    bytes: u64,
}

impl Default for Hashes {
    fn default() -> Hashes {
        Hashes {
            crc32c: 0,
            sha256: sha2::Sha256::new(),
            bytes: 0,
        }
    }
}

impl Hashes {
    fn update(&mut self, data: &[u8]) {
        self.sha256.update(data);
        self.crc32c = crc32c(self.crc32c, data);
        self.bytes += data.len() as u64;
    }

    /// Compares the download with the CRC32C the server announced, when it announced one.
    fn check(&self, announced: &[(String, Vec<u8>)], url: &str) -> Result<(), UpdateError> {
        let crc32c = self.crc32c.to_be_bytes().to_vec();
        for (name, expected) in announced {
            let (algorithm, found) = match name.as_str() {
                "crc32c" => ("CRC32C", &crc32c),
                _ => continue,
            };
            if found != expected {
                let encode = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
                return Err(UpdateError::Checksum {
                    url: url.to_owned(),
                    algorithm,
                    announced: encode(expected),
                    found: encode(found),
                });
            }
        }
        Ok(())
    }
}

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as Cloud Storage computes it,
/// continued from `crc` over `data`.
fn crc32c(crc: u32, data: &[u8]) -> u32 {
    const POLYNOMIAL: u32 = 0x82F6_3B78;
    let mut crc = !crc;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (POLYNOMIAL & mask);
        }
    }
    !crc
}

fn zip_opens(path: &Path) -> Result<(), UpdateError> {
    let file = std::fs::File::open(path).map_err(|source| io_error(path, source))?;
    zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|source| {
        UpdateError::Index(IndexError::Archive {
            path: path.to_owned(),
            source: Box::new(source),
        })
    })?;
    Ok(())
}

fn read_meta(path: &Path) -> Option<ExportMeta> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

fn write_meta(path: &Path, meta: &ExportMeta) -> Result<(), UpdateError> {
    let text = serde_json::to_string_pretty(meta).unwrap_or_default();
    let partial = path.with_extension("json.part");
    std::fs::write(&partial, text).map_err(|source| io_error(&partial, source))?;
    std::fs::rename(&partial, path).map_err(|source| io_error(path, source))
}

fn io_error(path: &Path, source: std::io::Error) -> UpdateError {
    UpdateError::Io {
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_matches_the_standard_check_value() {
        // RFC 3720, B.4: CRC-32C of "123456789" is 0xE3069283.
        assert_eq!(crc32c(0, b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(crc32c(0, b"12345"), b"6789"), 0xE306_9283);
    }

    #[test]
    fn only_https_sources_are_accepted() {
        let tls = slipway_https::tls_config(rustls::RootCertStore::empty()).unwrap();
        assert!(Updater::new("https://mirror.example/osv/", tls.clone()).is_ok());
        for url in ["http://mirror.example", "mirror.example", "file:///tmp"] {
            assert!(
                matches!(
                    Updater::new(url, tls.clone()),
                    Err(UpdateError::NotHttps { .. })
                ),
                "{url}"
            );
        }
    }
}
