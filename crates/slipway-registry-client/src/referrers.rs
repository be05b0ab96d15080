//! Referrers (OCI 1.1): artifacts such as signatures attached to a manifest through their
//! `subject`, stored and listed on any registry.
//!
//! A registry with the referrers API (`GET /v2/<name>/referrers/<digest>` answers an index)
//! lists a referrer as soon as its manifest is stored. One without it gets the image spec's
//! fallback: an index tagged `sha256-<hex>` listing the subject's referrers, which each
//! client updates by reading, merging and writing it back. Two clients doing that at the same
//! moment can overwrite each other's update, so the fallback here never relies on the index
//! alone:
//!
//! 1. The referrer's manifest is stored by digest, then tagged with a tag of its own,
//!    `sha256-<subject hex>.<first 32 hex of its digest>`: no other writer ever writes that
//!    tag, so once stored the referrer cannot be lost, whatever happens to the index.
//! 2. The shared index is read (with its digest), merged with every referrer found under the
//!    subject's own tags (from the tag list) and written back with `If-Match` on the digest
//!    read, which registries that support conditional writes honour (a `412` means someone
//!    wrote meanwhile: merge again).
//! 3. The index is read back; while it lacks something this writer merged (a concurrent writer
//!    replaced it with an older view), steps 2 and 3 repeat, a bounded number of times.
//!
//! Readers ([`RegistryClient::referrers`]) take the union of the index and the per-referrer
//! tags, so a signature is found from the moment its own tag exists. The index (what other
//! tools read) ends up whole too: every writer tags its referrer before writing the index, so
//! the writer whose write lands last reads back, after it, a tag list holding every referrer,
//! and writes again if its index missed one.

use std::collections::BTreeMap;

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE, IF_MATCH};
use http::{HeaderValue, Method, StatusCode};
use serde::{Deserialize, Serialize};
use slipway_registry::manifest::{Descriptor, Manifest, OCI_INDEX};
use slipway_registry::{Digest, RepositoryName};

use crate::client::{Prepared, RegistryClient, manifest_accept};
use crate::distribution::{pull_scope, push_scope};
use crate::error::ClientError;

/// How many times a fallback index is merged again after a concurrent writer replaced it.
const MERGE_ROUNDS: usize = 10;
/// How many times a tag read that met a concurrent write is asked again, and the pause
/// before the first retry (growing linearly).
const READ_ATTEMPTS: u32 = 8;
const READ_PAUSE: std::time::Duration = std::time::Duration::from_millis(20);
/// How many times a manifest is pushed again after the registry lost a blob to a concurrent
/// upload of the same blob.
const BLOB_RACE_ATTEMPTS: u32 = 5;
/// How many hex digits of a referrer's digest its own fallback tag keeps (128 bits: unique).
const OWN_TAG_HEX: usize = 32;

/// How a registry keeps a subject's referrers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferrersSupport {
    /// The registry serves the referrers API.
    Api,
    /// It does not: the `sha256-<hex>` tag scheme is used.
    FallbackTag,
}

/// A manifest to attach to a subject, with the blobs it references.
#[derive(Debug, Clone)]
pub struct Referrer {
    /// Its descriptor (digest, size, media type, artifact type, annotations), as listings
    /// carry it.
    pub descriptor: Descriptor,
    /// The manifest's bytes, whose `subject` names the subject.
    pub manifest: Bytes,
    /// Every blob it references.
    pub blobs: Vec<Bytes>,
}

/// An index's JSON: what the referrers API answers and the fallback tag holds.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Index {
    schema_version: u32,
    #[serde(default)]
    media_type: String,
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

/// The tag of the referrers fallback index of `subject`: `sha256-<hex>`.
pub fn fallback_tag(subject: &Digest) -> String {
    format!("{}-{}", subject.algorithm().name(), subject.hex())
}

/// The fallback tag only `referrer` is ever stored under.
fn own_tag(subject: &Digest, referrer: &Digest) -> String {
    let hex = referrer.hex();
    format!(
        "{}.{}",
        fallback_tag(subject),
        &hex[..OWN_TAG_HEX.min(hex.len())]
    )
}

/// Whether `tag` is a referrer's own fallback tag for `subject`.
fn is_own_tag(subject: &Digest, tag: &str) -> bool {
    tag.strip_prefix(&fallback_tag(subject))
        .and_then(|rest| rest.strip_prefix('.'))
        .is_some_and(|hex| hex.len() == OWN_TAG_HEX && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `existing` with `additions`, each manifest once (by digest), sorted by digest so every
/// writer merging the same set writes the same bytes.
fn merge(existing: Vec<Descriptor>, additions: &[Descriptor]) -> Vec<Descriptor> {
    let mut by_digest: BTreeMap<String, Descriptor> = existing
        .into_iter()
        .map(|descriptor| (descriptor.digest.to_string(), descriptor))
        .collect();
    for descriptor in additions {
        by_digest.insert(descriptor.digest.to_string(), descriptor.clone());
    }
    by_digest.into_values().collect()
}

fn index_bytes(manifests: Vec<Descriptor>) -> Bytes {
    let index = Index {
        schema_version: 2,
        media_type: OCI_INDEX.to_owned(),
        manifests,
    };
    // Strings, numbers and digests: serialising cannot fail.
    Bytes::from(serde_json::to_vec(&index).unwrap_or_default())
}

impl RegistryClient {
    /// The descriptor of the manifest `reference` (a tag or digest) names: what a referrer's
    /// `subject` holds.
    ///
    /// # Errors
    ///
    /// The registry refuses, holds no such manifest, or it is not a manifest.
    pub async fn manifest_descriptor(
        &self,
        repository: &RepositoryName,
        reference: &str,
    ) -> Result<Descriptor, ClientError> {
        let (digest, bytes, _) = self.manifest(repository, reference).await?;
        let parsed = Manifest::parse(None, &bytes).map_err(|error| ClientError::Status {
            registry: self.registry().to_owned(),
            doing: format!("reading manifest {repository}:{reference}"),
            status: StatusCode::OK,
            message: error.to_string(),
        })?;
        Ok(Descriptor {
            media_type: parsed.media_type().to_owned(),
            digest,
            size: bytes.len() as u64,
            urls: Vec::new(),
            artifact_type: None,
            annotations: BTreeMap::new(),
        })
    }

    /// The manifest `reference` names, or `None` when the registry has none by that name.
    ///
    /// # Errors
    ///
    /// The registry refuses or cannot be reached, or the content does not match its digest.
    pub async fn manifest_if_present(
        &self,
        repository: &RepositoryName,
        reference: &str,
    ) -> Result<Option<(Digest, Bytes)>, ClientError> {
        match self.manifest(repository, reference).await {
            Ok((digest, bytes, _)) => Ok(Some((digest, bytes))),
            Err(ClientError::Status { status, .. }) if status == StatusCode::NOT_FOUND => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// The blob `digest` of `repository`, verified against its digest.
    ///
    /// # Errors
    ///
    /// The registry refuses, has no such blob, or the content does not match.
    pub async fn fetch_blob(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<Bytes, ClientError> {
        self.blob(repository, digest).await
    }

    /// Stores `blobs`, then `manifest` (of `media_type`) under `reference`; returns its digest.
    ///
    /// # Errors
    ///
    /// The registry refuses the credentials or the content.
    pub async fn push_manifest(
        &self,
        repository: &RepositoryName,
        reference: &str,
        media_type: &'static str,
        manifest: Bytes,
        blobs: &[Bytes],
    ) -> Result<Digest, ClientError> {
        let mut attempt = 0;
        loop {
            for blob in blobs {
                self.push_blob(repository, blob.clone()).await?;
            }
            match self
                .put_manifest(repository, reference, media_type, manifest.clone())
                .await
            {
                // distribution's filesystem storage reads a blob's link half-written, and says
                // the blob is unknown, while another client uploads the same blob (signatures
                // share their empty config and their payloads): push again after a pause.
                Err(ClientError::Status {
                    status, message, ..
                }) if status == StatusCode::BAD_REQUEST
                    && message.contains("BLOB_UNKNOWN")
                    && attempt < BLOB_RACE_ATTEMPTS =>
                {
                    attempt += 1;
                    tokio::time::sleep(READ_PAUSE * attempt).await;
                }
                answer => return answer,
            }
        }
    }

    /// Stores `referrer` and makes it a listed referrer of `subject`: through the referrers
    /// API where the registry has one, else through the fallback tags (see the module's doc
    /// for why no concurrent writer can lose it). Nothing is tagged before the manifest and
    /// its blobs are stored whole.
    ///
    /// # Errors
    ///
    /// The registry refuses the credentials or the content.
    pub async fn attach_referrer(
        &self,
        repository: &RepositoryName,
        subject: &Digest,
        referrer: &Referrer,
    ) -> Result<ReferrersSupport, ClientError> {
        let support = self.referrers_support(repository, subject).await?;
        let digest = &referrer.descriptor.digest;
        self.push_manifest(
            repository,
            &digest.to_string(),
            media_type_of(&referrer.descriptor),
            referrer.manifest.clone(),
            &referrer.blobs,
        )
        .await?;
        if support == ReferrersSupport::Api {
            return Ok(support);
        }
        self.put_manifest(
            repository,
            &own_tag(subject, digest),
            media_type_of(&referrer.descriptor),
            referrer.manifest.clone(),
        )
        .await?;
        self.merge_fallback_index(repository, subject).await?;
        Ok(support)
    }

    /// The referrers of `subject` (of `artifact_type` when given), and how they were found.
    ///
    /// # Errors
    ///
    /// The registry refuses or cannot be reached.
    pub async fn referrers(
        &self,
        repository: &RepositoryName,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<(ReferrersSupport, Vec<Descriptor>), ClientError> {
        let (support, listed) = match self.referrers_api(repository, subject).await? {
            Some(listed) => (ReferrersSupport::Api, listed),
            None => (
                ReferrersSupport::FallbackTag,
                self.fallback_referrers(repository, subject).await?.1,
            ),
        };
        let wanted = listed
            .into_iter()
            .filter(|descriptor| {
                artifact_type
                    .is_none_or(|wanted| descriptor.artifact_type.as_deref() == Some(wanted))
            })
            .collect();
        Ok((support, wanted))
    }

    /// Whether the registry serves the referrers API for `repository`.
    async fn referrers_support(
        &self,
        repository: &RepositoryName,
        subject: &Digest,
    ) -> Result<ReferrersSupport, ClientError> {
        Ok(match self.referrers_api(repository, subject).await? {
            Some(_) => ReferrersSupport::Api,
            None => ReferrersSupport::FallbackTag,
        })
    }

    /// The referrers API's answer, or `None` when the registry has no such API (it answers
    /// 404, as the distribution spec says registries without it do).
    async fn referrers_api(
        &self,
        repository: &RepositoryName,
        subject: &Digest,
    ) -> Result<Option<Vec<Descriptor>>, ClientError> {
        let doing = format!("listing the referrers of {repository}@{subject}");
        let get = Prepared {
            method: Method::GET,
            url: self.url(&format!("/v2/{repository}/referrers/{subject}")),
            headers: vec![(ACCEPT, HeaderValue::from_static(OCI_INDEX))],
            body: Bytes::new(),
            doing: doing.clone(),
        };
        let response = self.send(&get, &pull_scope(repository)).await?;
        match response.status() {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => return Ok(None),
            _ => return Err(self.unexpected(response, &doing).await),
        }
        let is_index = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with(OCI_INDEX));
        let body = self.read_body(response, &doing).await?;
        // A registry whose catch-all answers 200 with something else has no referrers API.
        match serde_json::from_slice::<Index>(&body) {
            Ok(index) if is_index || index.media_type == OCI_INDEX => Ok(Some(index.manifests)),
            _ => Ok(None),
        }
    }

    /// The fallback index's digest (when the tag exists) and the union of its entries with
    /// every referrer stored under its own tag.
    async fn fallback_referrers(
        &self,
        repository: &RepositoryName,
        subject: &Digest,
    ) -> Result<(Option<Digest>, Vec<Descriptor>), ClientError> {
        let index = self
            .manifest_while_written(repository, &fallback_tag(subject))
            .await?;
        let listed = index
            .as_ref()
            .and_then(|(_, bytes)| serde_json::from_slice::<Index>(bytes).ok())
            .map(|index| index.manifests)
            .unwrap_or_default();
        let mut own = Vec::new();
        for tag in self.tags(repository).await? {
            if !is_own_tag(subject, &tag) {
                continue;
            }
            if let Some((digest, bytes)) = self.manifest_while_written(repository, &tag).await? {
                own.push(listing_descriptor(digest, &bytes));
            }
        }
        Ok((index.map(|(digest, _)| digest), merge(listed, &own)))
    }

    /// The manifest under `tag`, which other writers may be replacing at this moment, or `None`
    /// when there is none. distribution's filesystem storage answers 500 to a read that meets
    /// a tag's link file being rewritten, so a server error is asked again after a short,
    /// growing pause.
    ///
    /// # Errors
    ///
    /// As [`RegistryClient::manifest_if_present`], once the retries are spent.
    pub async fn manifest_while_written(
        &self,
        repository: &RepositoryName,
        tag: &str,
    ) -> Result<Option<(Digest, Bytes)>, ClientError> {
        let mut attempt = 0;
        loop {
            match self.manifest_if_present(repository, tag).await {
                Err(ClientError::Status { status, .. })
                    if status.is_server_error() && attempt < READ_ATTEMPTS =>
                {
                    attempt += 1;
                    tokio::time::sleep(READ_PAUSE * attempt).await;
                }
                answer => return answer,
            }
        }
    }

    /// Steps 2 and 3 of the module's scheme: merge, conditional write, read back.
    async fn merge_fallback_index(
        &self,
        repository: &RepositoryName,
        subject: &Digest,
    ) -> Result<(), ClientError> {
        for _ in 0..MERGE_ROUNDS {
            let (read, merged) = self.fallback_referrers(repository, subject).await?;
            let written = self
                .put_index_if_match(repository, subject, read.as_ref(), index_bytes(merged))
                .await?;
            if !written {
                // Someone wrote between our read and our write: merge their view again.
                continue;
            }
            let (_, known) = self.fallback_referrers(repository, subject).await?;
            let index = self
                .manifest_while_written(repository, &fallback_tag(subject))
                .await?
                .and_then(|(_, bytes)| serde_json::from_slice::<Index>(&bytes).ok())
                .map(|index| index.manifests)
                .unwrap_or_default();
            let holds_all = known
                .iter()
                .all(|wanted| index.iter().any(|held| held.digest == wanted.digest));
            if holds_all {
                return Ok(());
            }
        }
        // The referrer is stored and listed under its own tag; only the shared index is behind,
        // and the next writer's merge completes it.
        tracing::warn!(%repository, %subject, "the referrers fallback index kept changing; left to the next writer");
        Ok(())
    }

    /// Writes the fallback index, conditional on it still being `read` (absent when `None`);
    /// `false` when the registry answers that it changed (412).
    async fn put_index_if_match(
        &self,
        repository: &RepositoryName,
        subject: &Digest,
        read: Option<&Digest>,
        index: Bytes,
    ) -> Result<bool, ClientError> {
        let tag = fallback_tag(subject);
        let doing = format!("updating the referrers index {repository}:{tag}");
        let mut headers = vec![(CONTENT_TYPE, HeaderValue::from_static(OCI_INDEX))];
        let condition = match read {
            Some(digest) => HeaderValue::from_str(&format!("\"{digest}\"")).ok(),
            None => None,
        };
        if let Some(condition) = condition {
            headers.push((IF_MATCH, condition));
        }
        let put = Prepared {
            method: Method::PUT,
            url: self.url(&format!("/v2/{repository}/manifests/{tag}")),
            headers,
            body: index,
            doing: doing.clone(),
        };
        let response = self.send(&put, &push_scope(repository)).await?;
        match response.status() {
            StatusCode::CREATED => Ok(true),
            StatusCode::PRECONDITION_FAILED => Ok(false),
            _ => Err(self.unexpected(response, &doing).await),
        }
    }

    /// Every tag of `repository`, following the `Link` header's pages.
    ///
    /// # Errors
    ///
    /// The registry refuses or cannot be reached.
    pub async fn tags(&self, repository: &RepositoryName) -> Result<Vec<String>, ClientError> {
        #[derive(Deserialize)]
        struct TagList {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let doing = format!("listing the tags of {repository}");
        let mut url = self.url(&format!("/v2/{repository}/tags/list"));
        let mut tags = Vec::new();
        loop {
            let get = Prepared {
                method: Method::GET,
                url: url.clone(),
                headers: vec![(ACCEPT, manifest_accept())],
                body: Bytes::new(),
                doing: doing.clone(),
            };
            let response = self.send(&get, &pull_scope(repository)).await?;
            match response.status() {
                StatusCode::OK => {}
                // A repository nobody pushed to yet has no tags.
                StatusCode::NOT_FOUND => return Ok(tags),
                _ => return Err(self.unexpected(response, &doing).await),
            }
            let next = response
                .headers()
                .get(http::header::LINK)
                .and_then(|value| value.to_str().ok())
                .and_then(next_link);
            let body = self.read_body(response, &doing).await?;
            let page: TagList =
                serde_json::from_slice(&body).map_err(|error| ClientError::Status {
                    registry: self.registry().to_owned(),
                    doing: doing.clone(),
                    status: StatusCode::OK,
                    message: format!("not a tag list: {error}"),
                })?;
            tags.extend(page.tags.unwrap_or_default());
            match next {
                Some(next) => url = self.resolve(&next),
                None => return Ok(tags),
            }
        }
    }
}

/// The media type a referrer's manifest is stored with.
fn media_type_of(descriptor: &Descriptor) -> &'static str {
    slipway_registry::manifest::MEDIA_TYPES
        .into_iter()
        .find(|known| *known == descriptor.media_type)
        .unwrap_or(slipway_registry::manifest::OCI_MANIFEST)
}

/// A referrer's descriptor as listings carry it, from its manifest.
fn listing_descriptor(digest: Digest, bytes: &[u8]) -> Descriptor {
    let parsed = Manifest::parse(None, bytes).ok();
    Descriptor {
        media_type: parsed
            .as_ref()
            .map_or(
                slipway_registry::manifest::OCI_MANIFEST,
                Manifest::media_type,
            )
            .to_owned(),
        digest,
        size: bytes.len() as u64,
        urls: Vec::new(),
        artifact_type: parsed
            .as_ref()
            .and_then(|manifest| manifest.artifact_type().map(str::to_owned)),
        annotations: parsed
            .map(|manifest| manifest.annotations().clone())
            .unwrap_or_default(),
    }
}

/// The URL of `<url>; rel="next"` in a `Link` header.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|link| {
        let (url, params) = link.split_once(';')?;
        params.contains("rel=\"next\"").then(|| {
            url.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn descriptor(content: &[u8]) -> Descriptor {
        listing_descriptor(Digest::sha256(content), content)
    }

    #[test]
    fn merging_keeps_what_was_listed_and_is_order_independent() {
        let (a, b) = (descriptor(b"a"), descriptor(b"b"));
        let one_way = merge(
            merge(Vec::new(), std::slice::from_ref(&a)),
            &[b.clone(), a.clone()],
        );
        let other_way = merge(vec![b], std::slice::from_ref(&a));
        assert_eq!(one_way, other_way);
        assert_eq!(index_bytes(one_way.clone()), index_bytes(other_way));
        assert_eq!(one_way.len(), 2);
    }

    #[test]
    fn a_referrer_s_own_tag_is_recognised_and_nothing_else() {
        let subject = Digest::sha256(b"image");
        let referrer = Digest::sha256(b"signature");
        let tag = own_tag(&subject, &referrer);
        assert!(tag.len() <= 128, "tags are at most 128 characters");
        assert!(is_own_tag(&subject, &tag));
        assert!(!is_own_tag(&subject, &fallback_tag(&subject)));
        assert!(!is_own_tag(
            &subject,
            &format!("{}.sig", fallback_tag(&subject))
        ));
        assert!(!is_own_tag(&Digest::sha256(b"other"), &tag));
    }

    #[test]
    fn the_next_page_is_read_from_the_link_header() {
        assert_eq!(
            next_link("</v2/a/tags/list?n=2&last=b>; rel=\"next\""),
            Some("/v2/a/tags/list?n=2&last=b".to_owned())
        );
        assert_eq!(next_link("</x>; rel=\"prev\""), None);
    }
}
