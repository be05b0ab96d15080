//! The distribution-spec operations on blobs and manifests that bundles need.

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use http::{HeaderValue, Method, Response, StatusCode};
use hyper::body::Incoming;
use slipway_registry::{Digest, RepositoryName};

use crate::client::{Prepared, RegistryClient, manifest_accept};
use crate::error::ClientError;
use crate::image::content_type;

/// The scope a request reading `repository` needs.
pub(crate) fn pull_scope(repository: &RepositoryName) -> String {
    format!("repository:{repository}:pull")
}

/// The scope every request of a push to `repository` asks for, so that one token serves the
/// whole push.
pub(crate) fn push_scope(repository: &RepositoryName) -> String {
    format!("repository:{repository}:pull,push")
}

impl RegistryClient {
    /// Uploads `bytes` as a blob of `repository` unless the registry has it, returning its
    /// digest.
    pub(crate) async fn push_blob(
        &self,
        repository: &RepositoryName,
        bytes: Bytes,
    ) -> Result<Digest, ClientError> {
        let digest = Digest::sha256(&bytes);
        let scope = push_scope(repository);
        let doing = format!("pushing blob {digest} to {repository}");
        let head = Prepared {
            method: Method::HEAD,
            url: self.url(&format!("/v2/{repository}/blobs/{digest}")),
            headers: Vec::new(),
            body: Bytes::new(),
            doing: doing.clone(),
        };
        if self.send(&head, &scope).await?.status() == StatusCode::OK {
            return Ok(digest);
        }
        let start = Prepared {
            method: Method::POST,
            url: self.url(&format!("/v2/{repository}/blobs/uploads/")),
            headers: vec![(CONTENT_LENGTH, HeaderValue::from_static("0"))],
            body: Bytes::new(),
            doing: doing.clone(),
        };
        let started = self.send(&start, &scope).await?;
        let location = match started.headers().get(LOCATION) {
            Some(location) if started.status() == StatusCode::ACCEPTED => {
                location.to_str().unwrap_or_default().to_owned()
            }
            _ => return Err(self.unexpected(started, &doing).await),
        };
        let location = self.resolve(&location);
        let separator = if location.contains('?') { '&' } else { '?' };
        let finish = Prepared {
            method: Method::PUT,
            url: format!("{location}{separator}digest={digest}"),
            headers: vec![(
                CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            )],
            body: bytes,
            doing: doing.clone(),
        };
        let finished = self.send(&finish, &scope).await?;
        if finished.status() != StatusCode::CREATED {
            return Err(self.unexpected(finished, &doing).await);
        }
        Ok(digest)
    }

    /// Stores `manifest` (of `media_type`) in `repository` under `reference` (a tag or digest),
    /// returning its digest.
    pub(crate) async fn put_manifest(
        &self,
        repository: &RepositoryName,
        reference: &str,
        media_type: &'static str,
        manifest: Bytes,
    ) -> Result<Digest, ClientError> {
        let digest = Digest::sha256(&manifest);
        let doing = format!("pushing manifest {repository}:{reference}");
        let put = Prepared {
            method: Method::PUT,
            url: self.url(&format!("/v2/{repository}/manifests/{reference}")),
            headers: vec![(CONTENT_TYPE, HeaderValue::from_static(media_type))],
            body: manifest,
            doing: doing.clone(),
        };
        let response = self.send(&put, &push_scope(repository)).await?;
        if response.status() != StatusCode::CREATED {
            return Err(self.unexpected(response, &doing).await);
        }
        Ok(digest)
    }

    /// The manifest `reference` names in `repository`, its digest (checked against the
    /// reference when that is a digest) and the media type the registry sent it as.
    pub(crate) async fn manifest(
        &self,
        repository: &RepositoryName,
        reference: &str,
    ) -> Result<(Digest, Bytes, Option<String>), ClientError> {
        let doing = format!("pulling manifest {repository}:{reference}");
        let get = Prepared {
            method: Method::GET,
            url: self.url(&format!("/v2/{repository}/manifests/{reference}")),
            headers: vec![(ACCEPT, manifest_accept())],
            body: Bytes::new(),
            doing: doing.clone(),
        };
        let response = self.send(&get, &pull_scope(repository)).await?;
        if response.status() != StatusCode::OK {
            return Err(self.unexpected(response, &doing).await);
        }
        let media_type = content_type(response.headers());
        let bytes = self.read_body(response, &doing).await?;
        let digest = Digest::sha256(&bytes);
        if let Ok(expected) = reference.parse::<Digest>()
            && expected != digest
        {
            return Err(self.digest_mismatch(&format!("manifest {reference}"), &expected, &bytes));
        }
        Ok((digest, bytes, media_type))
    }

    /// The blob `digest` of `repository`, verified.
    pub(crate) async fn blob(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<Bytes, ClientError> {
        let (response, doing) = self.blob_response(repository, digest).await?;
        let bytes = self.read_body(response, &doing).await?;
        if Digest::sha256(&bytes) != *digest {
            return Err(self.digest_mismatch(&format!("blob {digest}"), digest, &bytes));
        }
        Ok(bytes)
    }

    /// The registry's `200` answer to a request for the blob `digest` of `repository`, whose
    /// body is the blob, and what it was for; a redirect to other storage is followed without
    /// the registry's credentials.
    pub(crate) async fn blob_response(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<(Response<Incoming>, String), ClientError> {
        let doing = format!("pulling blob {digest} from {repository}");
        let get = Prepared {
            method: Method::GET,
            url: self.url(&format!("/v2/{repository}/blobs/{digest}")),
            headers: Vec::new(),
            body: Bytes::new(),
            doing: doing.clone(),
        };
        let mut response = self.send(&get, &pull_scope(repository)).await?;
        if response.status().is_redirection()
            && let Some(location) = response.headers().get(LOCATION)
        {
            let redirected = Prepared {
                url: self.resolve(location.to_str().unwrap_or_default()),
                ..get
            };
            response = self.send_anonymous(&redirected).await?;
        }
        if response.status() != StatusCode::OK {
            return Err(self.unexpected(response, &doing).await);
        }
        Ok((response, doing))
    }
}
