//! The Distribution Spec over HTTP: requests in, [`Registry`] calls, answers out.
//!
//! [`RegistryService::handle`] is the whole HTTP API, a function from a request to a response
//! that tests call without a socket. It routes the path ([`route`]), checks the caller may do
//! what the endpoint does ([`crate::auth`]), turns headers and query parameters into typed
//! arguments ([`headers`]), calls the registry, and renders the result or the error
//! ([`response`]). Requests beyond the configured concurrency are answered `429
//! TOOMANYREQUESTS` at once rather than queued.

mod headers;
mod response;
mod route;

pub use response::Body;

use std::io;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use http::header::{
    ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, HOST, LINK, LOCATION, RANGE,
    RETRY_AFTER, WWW_AUTHENTICATE,
};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyDataStream, BodyExt};
use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::auth::{Action, Authenticator, Credential};
use crate::digest::Digest;
use crate::error::{ErrorCode, RegistryError};
use crate::manifest::{Descriptor, OCI_INDEX};
use crate::name::{NameError, Reference, RepositoryName, Tag};
use crate::registry::{MAX_MANIFEST_SIZE, Page, Registry};
use crate::storage::{BlobContent, ByteStream, UploadId};
use headers::{DOCKER_CONTENT_DIGEST, DOCKER_UPLOAD_UUID, OCI_FILTERS_APPLIED, OCI_SUBJECT, Query};
use response::{builder, empty, finish, full, json};
use route::{Route, RouteError};

/// The registry's HTTP API. Cheap to clone: one per connection.
#[derive(Debug, Clone)]
pub struct RegistryService {
    registry: Arc<Registry>,
    auth: Option<Arc<Authenticator>>,
    requests: Arc<Semaphore>,
    tls: bool,
}

/// The request's parts the handlers read, after routing and auth.
struct Call {
    method: Method,
    headers: HeaderMap,
    query: Query,
    credential: Option<Credential>,
}

impl RegistryService {
    /// Serves `registry`, checking every request with `auth` when given, answering at most
    /// `max_concurrent_requests` at once. `tls` says whether clients reach it over HTTPS, for the
    /// token endpoint's URL in challenges.
    pub fn new(
        registry: Arc<Registry>,
        auth: Option<Authenticator>,
        max_concurrent_requests: usize,
        tls: bool,
    ) -> RegistryService {
        RegistryService {
            registry,
            auth: auth.map(Arc::new),
            requests: Arc::new(Semaphore::new(max_concurrent_requests.max(1))),
            tls,
        }
    }

    /// Answers one request.
    pub async fn handle<B>(&self, request: Request<B>) -> Response<Body>
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let Ok(permit) = Arc::clone(&self.requests).try_acquire_owned() else {
            let mut answer = response::code(
                ErrorCode::TooManyRequests,
                StatusCode::TOO_MANY_REQUESTS,
                "the registry is serving as many requests as it may; retry",
            );
            answer
                .headers_mut()
                .insert(RETRY_AFTER, http::HeaderValue::from_static("1"));
            return answer;
        };
        let (parts, body) = request.into_parts();
        let method = parts.method.clone();
        let mut answer = self.answer(parts, body).await;
        if method == Method::HEAD {
            // Headers as for GET, no body: hyper sends none for HEAD anyway.
            *answer.body_mut() = empty();
        }
        hold_until_sent(answer, permit)
    }

    async fn answer<B>(&self, parts: http::request::Parts, body: B) -> Response<Body>
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let route = match route::route(parts.uri.path()) {
            Ok(route) => route,
            Err(RouteError::NotFound) => {
                return response::code(
                    ErrorCode::Unsupported,
                    StatusCode::NOT_FOUND,
                    "no such endpoint",
                );
            }
            Err(RouteError::Name(error)) => {
                return response::registry_error(&RegistryError::NameInvalid(error));
            }
        };
        let mut call = Call {
            method: parts.method,
            query: Query::parse(parts.uri.query()),
            headers: parts.headers,
            credential: None,
        };
        if let Some(auth) = &self.auth {
            match self.authorize(auth, &route, &mut call).await {
                Ok(()) => {}
                Err(denied) => return denied,
            }
        }
        let result = match route {
            Route::Base => Ok(json(StatusCode::OK, &serde_json::json!({}))),
            Route::Catalog => self.catalog(&call).await,
            Route::Token => Ok(self.token(&call)),
            Route::Tags(name) => self.tags(&call, &name).await,
            Route::Manifest(name, reference) => self.manifest(&call, &name, &reference, body).await,
            Route::Blob(name, digest) => self.blob(&call, &name, &digest).await,
            Route::Uploads(name) => self.uploads(&call, &name, body).await,
            Route::Upload(name, id) => self.upload(&call, &name, &id, body).await,
            Route::Referrers(name, digest) => self.referrers(&call, &name, &digest).await,
        };
        result.unwrap_or_else(|error| match error {
            Failure::Registry(error) => upload_aware(&error),
            Failure::Answer(response) => *response,
        })
    }

    // Auth.

    /// Checks the caller may do what `route` does, filling in `call.credential`.
    async fn authorize(
        &self,
        auth: &Arc<Authenticator>,
        route: &Route,
        call: &mut Call,
    ) -> Result<(), Response<Body>> {
        let realm = self.realm(&call.headers);
        let credential = match auth.credential(&call.headers).await {
            Ok(credential) => credential,
            Err(_) => {
                return Err(unauthorized(
                    auth.challenge(&realm, None, false),
                    "invalid credentials",
                ));
            }
        };
        let needed = match (route, &call.method) {
            (Route::Token, _) => None,
            (Route::Base | Route::Catalog, _) => {
                if !auth.may_enter(&credential) {
                    return Err(unauthorized(
                        auth.challenge(&realm, None, false),
                        "authentication required",
                    ));
                }
                None
            }
            (Route::Tags(name) | Route::Referrers(name, _), _) => Some((name, Action::Pull)),
            (Route::Manifest(name, _) | Route::Blob(name, _), &Method::GET | &Method::HEAD) => {
                Some((name, Action::Pull))
            }
            (Route::Manifest(name, _) | Route::Blob(name, _), &Method::DELETE) => {
                Some((name, Action::Delete))
            }
            (
                Route::Manifest(name, _)
                | Route::Blob(name, _)
                | Route::Uploads(name)
                | Route::Upload(name, _),
                _,
            ) => Some((name, Action::Push)),
        };
        if let Some((name, action)) = needed
            && !auth.may(&credential, name, action)
        {
            return Err(match credential {
                Credential::User(_) => response::code(
                    ErrorCode::Denied,
                    StatusCode::FORBIDDEN,
                    format!("you may not {} {name}", action_verb(action)),
                ),
                Credential::Anonymous => unauthorized(
                    auth.challenge(&realm, Some((name, action)), false),
                    "authentication required",
                ),
                Credential::Token(_) => unauthorized(
                    auth.challenge(&realm, Some((name, action)), true),
                    "the token does not grant this",
                ),
            });
        }
        call.credential = Some(credential);
        Ok(())
    }

    /// The token endpoint's URL, as the client reached this registry.
    fn realm(&self, headers: &HeaderMap) -> String {
        let host = headers
            .get(HOST)
            .and_then(|host| host.to_str().ok())
            .unwrap_or("localhost");
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{host}/token")
    }

    /// Whether the caller may pull from `repository` (always, without auth).
    fn may_pull(&self, call: &Call, repository: &RepositoryName) -> bool {
        match (&self.auth, &call.credential) {
            (Some(auth), Some(credential)) => auth.may(credential, repository, Action::Pull),
            (Some(_), None) => false,
            (None, _) => true,
        }
    }

    /// `GET /token`.
    fn token(&self, call: &Call) -> Response<Body> {
        #[derive(Serialize)]
        struct TokenAnswer {
            token: String,
            access_token: String,
            expires_in: u64,
            issued_at: String,
        }
        let issued = match (&self.auth, &call.credential) {
            (Some(auth), Some(credential)) if auth.uses_token_flow() => {
                auth.issue_token(credential, call.query.all("scope"))
            }
            _ => None,
        };
        match issued {
            Some(issued) => json(
                StatusCode::OK,
                &TokenAnswer {
                    access_token: issued.token.clone(),
                    token: issued.token,
                    expires_in: issued.lifetime.as_secs(),
                    issued_at: jiff::Timestamp::now().to_string(),
                },
            ),
            None => response::code(
                ErrorCode::Unsupported,
                StatusCode::NOT_FOUND,
                "this registry issues no tokens",
            ),
        }
    }

    // Listings.

    async fn catalog(&self, call: &Call) -> Result<Response<Body>, Failure> {
        only(call, &[Method::GET])?;
        let (last, n) = page_parameters(call, |last| {
            last.parse::<RepositoryName>().map_err(RegistryError::from)
        })?;
        let all = self.registry.catalog(None, None).await?.items;
        let visible: Vec<RepositoryName> = all
            .into_iter()
            .filter(|name| self.may_pull(call, name))
            .collect();
        let page = Page::of(&visible, last.as_ref(), n, |name, last| name > last);
        let link = next_link("/v2/_catalog", &page, n);
        let names: Vec<String> = page.items.iter().map(ToString::to_string).collect();
        Ok(with_link(
            json(
                StatusCode::OK,
                &serde_json::json!({ "repositories": names }),
            ),
            link,
        ))
    }

    async fn tags(&self, call: &Call, name: &RepositoryName) -> Result<Response<Body>, Failure> {
        only(call, &[Method::GET])?;
        let (last, n) = page_parameters(call, |last| {
            last.parse::<Tag>().map_err(RegistryError::from)
        })?;
        let page = self.registry.tags(name, last.as_ref(), n).await?;
        let link = next_link(&format!("/v2/{name}/tags/list"), &page, n);
        let tags: Vec<String> = page.items.iter().map(ToString::to_string).collect();
        Ok(with_link(
            json(
                StatusCode::OK,
                &serde_json::json!({ "name": name.to_string(), "tags": tags }),
            ),
            link,
        ))
    }

    async fn referrers(
        &self,
        call: &Call,
        name: &RepositoryName,
        digest: &str,
    ) -> Result<Response<Body>, Failure> {
        only(call, &[Method::GET])?;
        let subject: Digest = digest
            .parse()
            .map_err(|error: crate::digest::DigestError| {
                RegistryError::DigestInvalid(error.to_string())
            })?;
        let artifact_type = call
            .query
            .get("artifactType")
            .filter(|value| !value.is_empty());
        let manifests = self
            .registry
            .referrers(name, &subject, artifact_type)
            .await?;
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Index {
            schema_version: u32,
            media_type: &'static str,
            manifests: Vec<Descriptor>,
        }
        let body = serde_json::to_vec(&Index {
            schema_version: 2,
            media_type: OCI_INDEX,
            manifests,
        })
        .map_err(|error| {
            Failure::Answer(Box::new(response::code(
                ErrorCode::Unknown,
                StatusCode::INTERNAL_SERVER_ERROR,
                error.to_string(),
            )))
        })?;
        let mut answer = builder(StatusCode::OK)
            .header(CONTENT_TYPE, OCI_INDEX)
            .header(CONTENT_LENGTH, body.len());
        if artifact_type.is_some() {
            answer = answer.header(OCI_FILTERS_APPLIED, "artifactType");
        }
        Ok(finish(answer, full(body)))
    }

    // Manifests.

    async fn manifest<B>(
        &self,
        call: &Call,
        name: &RepositoryName,
        reference: &str,
        body: B,
    ) -> Result<Response<Body>, Failure>
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let reference: Reference = match reference.parse() {
            Ok(reference) => reference,
            // Nothing can be stored under an invalid tag, so reading one finds nothing (the
            // conformance suite names a missing manifest this way); storing one is refused.
            Err(NameError::Tag { .. }) if call.method != Method::PUT => {
                return Err(RegistryError::ManifestUnknown {
                    repository: name.clone(),
                    reference: reference.to_owned(),
                }
                .into());
            }
            Err(error) => return Err(RegistryError::from(error).into()),
        };
        match call.method {
            Method::GET => {
                let (manifest, content) = self.registry.pull_manifest(name, &reference).await?;
                Ok(finish(
                    manifest_headers(&manifest.digest, &manifest.media_type, manifest.size),
                    full(content),
                ))
            }
            Method::HEAD => {
                let manifest = self.registry.manifest(name, &reference).await?;
                Ok(finish(
                    manifest_headers(&manifest.digest, &manifest.media_type, manifest.size),
                    empty(),
                ))
            }
            Method::PUT => {
                let content = read_manifest(body).await?;
                let content_type =
                    headers::media_type(&call.headers).map(|media_type| media_type.into_owned());
                let pushed = self
                    .registry
                    .put_manifest(name, &reference, content_type.as_deref(), content)
                    .await?;
                let mut answer = builder(StatusCode::CREATED)
                    .header(LOCATION, format!("/v2/{name}/manifests/{}", pushed.digest))
                    .header(DOCKER_CONTENT_DIGEST, pushed.digest.to_string())
                    .header(CONTENT_LENGTH, "0");
                if let Some(subject) = &pushed.subject {
                    answer = answer.header(OCI_SUBJECT, subject.to_string());
                }
                Ok(finish(answer, empty()))
            }
            Method::DELETE => {
                self.registry.delete_manifest(name, &reference).await?;
                Ok(accepted())
            }
            _ => Err(not_allowed()),
        }
    }

    // Blobs.

    async fn blob(
        &self,
        call: &Call,
        name: &RepositoryName,
        digest: &str,
    ) -> Result<Response<Body>, Failure> {
        let digest = parse_digest(digest)?;
        match call.method {
            Method::HEAD => {
                let info = self.registry.blob(name, &digest).await?;
                Ok(finish(
                    blob_headers(&digest, StatusCode::OK).header(CONTENT_LENGTH, info.size),
                    empty(),
                ))
            }
            Method::GET => {
                let range = headers::range(&call.headers)
                    .map_err(|bad| RegistryError::BlobUploadInvalid(bad.0))?;
                let content = self.registry.read_blob(name, &digest, range).await?;
                Ok(blob_content(&digest, content, range.is_some()))
            }
            Method::DELETE => {
                self.registry.delete_blob(name, &digest).await?;
                Ok(accepted())
            }
            _ => Err(not_allowed()),
        }
    }

    // Uploads.

    /// `POST /v2/<name>/blobs/uploads/`: a mount, a whole blob, or a new upload.
    async fn uploads<B>(
        &self,
        call: &Call,
        name: &RepositoryName,
        body: B,
    ) -> Result<Response<Body>, Failure>
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        only(call, &[Method::POST])?;
        if let Some(mount) = call.query.get("mount") {
            let digest = parse_digest(mount)?;
            let from = call
                .query
                .get("from")
                .and_then(|from| from.parse::<RepositoryName>().ok());
            if let Some(from) = from.filter(|from| self.may_pull(call, from))
                && self
                    .registry
                    .mount_blob(name, &from, &digest)
                    .await?
                    .is_some()
            {
                return Ok(blob_created(name, &digest));
            }
        } else if let Some(digest) = call.query.get("digest") {
            let digest = parse_digest(digest)?;
            self.registry
                .upload_blob(name, &digest, body_stream(body))
                .await?;
            return Ok(blob_created(name, &digest));
        }
        let id = self.registry.start_upload(name).await?;
        Ok(upload_progress(StatusCode::ACCEPTED, name, &id, 0))
    }

    /// `GET`, `PATCH`, `PUT` and `DELETE` on an upload.
    async fn upload<B>(
        &self,
        call: &Call,
        name: &RepositoryName,
        id: &str,
        body: B,
    ) -> Result<Response<Body>, Failure>
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let Ok(id) = id.parse::<UploadId>() else {
            return Err(Failure::Answer(Box::new(response::code(
                ErrorCode::BlobUploadUnknown,
                StatusCode::NOT_FOUND,
                format!("no upload {id}"),
            ))));
        };
        let range = || {
            headers::content_range(&call.headers)
                .map_err(|bad| Failure::Registry(RegistryError::BlobUploadInvalid(bad.0)))
        };
        match call.method {
            Method::GET => {
                let size = self.registry.upload_size(name, &id).await?;
                Ok(upload_progress(StatusCode::NO_CONTENT, name, &id, size))
            }
            Method::PATCH => {
                let range = range()?;
                check_length(
                    range.map(crate::registry::ChunkRange::length),
                    &call.headers,
                )?;
                let size = self
                    .registry
                    .append_upload(name, &id, range, body_stream(body))
                    .await?;
                Ok(upload_progress(StatusCode::ACCEPTED, name, &id, size))
            }
            Method::PUT => {
                let digest = call.query.get("digest").ok_or_else(|| {
                    RegistryError::DigestInvalid(
                        "closing an upload needs the blob's digest in the `digest` query parameter"
                            .to_owned(),
                    )
                })?;
                let digest = parse_digest(digest)?;
                let range = range()?;
                check_length(
                    range.map(crate::registry::ChunkRange::length),
                    &call.headers,
                )?;
                let last_chunk = (headers::content_length(&call.headers) != Some(0))
                    .then(|| (range, body_stream(body)));
                self.registry
                    .finish_upload(name, &id, &digest, last_chunk)
                    .await?;
                Ok(blob_created(name, &digest))
            }
            Method::DELETE => {
                self.registry.cancel_upload(name, &id).await?;
                Ok(finish(builder(StatusCode::NO_CONTENT), empty()))
            }
            _ => Err(not_allowed()),
        }
    }
}

/// Why a handler gave up: a registry error to render, or a finished answer.
enum Failure {
    Registry(RegistryError),
    // Boxed: an answer is large, and most handlers fail with a registry error or not at all.
    Answer(Box<Response<Body>>),
}

impl From<RegistryError> for Failure {
    fn from(error: RegistryError) -> Failure {
        Failure::Registry(error)
    }
}

fn only(call: &Call, methods: &[Method]) -> Result<(), Failure> {
    if methods.contains(&call.method) {
        Ok(())
    } else {
        Err(not_allowed())
    }
}

fn not_allowed() -> Failure {
    Failure::Answer(Box::new(response::code(
        ErrorCode::Unsupported,
        StatusCode::METHOD_NOT_ALLOWED,
        "the endpoint does not take this method",
    )))
}

fn parse_digest(text: &str) -> Result<Digest, Failure> {
    text.parse().map_err(|error: crate::digest::DigestError| {
        Failure::Registry(RegistryError::DigestInvalid(error.to_string()))
    })
}

/// A `Content-Length` that contradicts the `Content-Range` is refused before reading the body.
fn check_length(range_length: Option<u64>, headers: &HeaderMap) -> Result<(), Failure> {
    match (range_length, headers::content_length(headers)) {
        (Some(range), Some(length)) if range != length => {
            Err(Failure::Registry(RegistryError::SizeInvalid(format!(
                "Content-Length is {length}, but Content-Range covers {range} bytes"
            ))))
        }
        _ => Ok(()),
    }
}

/// The `n` and `last` query parameters of a listing.
fn page_parameters<T>(
    call: &Call,
    parse_last: impl Fn(&str) -> Result<T, RegistryError>,
) -> Result<(Option<T>, Option<usize>), Failure> {
    let n = match call.query.get("n") {
        None | Some("") => None,
        Some(n) => Some(n.parse::<usize>().map_err(|_| {
            Failure::Answer(Box::new(response::code(
                ErrorCode::Unsupported,
                StatusCode::BAD_REQUEST,
                format!("`n` must be a number, not {n:?}"),
            )))
        })?),
    };
    let last = match call.query.get("last") {
        None | Some("") => None,
        Some(last) => Some(parse_last(last)?),
    };
    Ok((last, n))
}

/// The `Link` to the next page, when one exists and a page size was asked for.
fn next_link<T: std::fmt::Display>(path: &str, page: &Page<T>, n: Option<usize>) -> Option<String> {
    let n = n.filter(|n| *n > 0)?;
    let last = page.items.last().filter(|_| page.more)?;
    Some(format!("<{path}?n={n}&last={last}>; rel=\"next\""))
}

fn with_link(mut answer: Response<Body>, link: Option<String>) -> Response<Body> {
    if let Some(link) = link
        && let Ok(value) = link.parse()
    {
        answer.headers_mut().insert(LINK, value);
    }
    answer
}

fn accepted() -> Response<Body> {
    finish(
        builder(StatusCode::ACCEPTED).header(CONTENT_LENGTH, "0"),
        empty(),
    )
}

fn manifest_headers(digest: &Digest, media_type: &str, size: u64) -> http::response::Builder {
    builder(StatusCode::OK)
        .header(CONTENT_TYPE, media_type)
        .header(CONTENT_LENGTH, size)
        .header(DOCKER_CONTENT_DIGEST, digest.to_string())
        .header(ETAG, format!("\"{digest}\""))
}

fn blob_headers(digest: &Digest, status: StatusCode) -> http::response::Builder {
    builder(status)
        .header(CONTENT_TYPE, "application/octet-stream")
        .header(DOCKER_CONTENT_DIGEST, digest.to_string())
        .header(ETAG, format!("\"{digest}\""))
        .header(ACCEPT_RANGES, "bytes")
        // A blob never changes: its name is its content.
        .header(http::header::CACHE_CONTROL, "max-age=31536000")
}

fn blob_content(digest: &Digest, content: BlobContent, ranged: bool) -> Response<Body> {
    let mut answer = if ranged {
        blob_headers(digest, StatusCode::PARTIAL_CONTENT).header(
            CONTENT_RANGE,
            format!(
                "bytes {}-{}/{}",
                content.start,
                content.start + content.length - 1,
                content.total
            ),
        )
    } else {
        blob_headers(digest, StatusCode::OK)
    };
    answer = answer.header(CONTENT_LENGTH, content.length);
    finish(answer, response::stream(content.body))
}

fn blob_created(name: &RepositoryName, digest: &Digest) -> Response<Body> {
    finish(
        builder(StatusCode::CREATED)
            .header(LOCATION, format!("/v2/{name}/blobs/{digest}"))
            .header(DOCKER_CONTENT_DIGEST, digest.to_string())
            .header(CONTENT_LENGTH, "0"),
        empty(),
    )
}

/// Where an upload stands: its URL and the bytes received (`Range: 0-<last byte>`, `0-0` when
/// empty, as Docker's registry writes it).
fn upload_progress(
    status: StatusCode,
    name: &RepositoryName,
    id: &UploadId,
    size: u64,
) -> Response<Body> {
    finish(
        builder(status)
            .header(LOCATION, format!("/v2/{name}/blobs/uploads/{id}"))
            .header(RANGE, format!("0-{}", size.saturating_sub(1)))
            .header(DOCKER_UPLOAD_UUID, id.as_str())
            .header(CONTENT_LENGTH, "0"),
        empty(),
    )
}

/// A registry error; a chunk out of order also says where the upload stands, so the client can
/// resume from there.
fn upload_aware(error: &RegistryError) -> Response<Body> {
    let mut answer = response::registry_error(error);
    if let RegistryError::ChunkOutOfOrder { size, id, .. } = error
        && let (Ok(range), Ok(id)) = (
            format!("0-{}", size.saturating_sub(1)).parse(),
            http::HeaderValue::from_str(id.as_str()),
        )
    {
        answer.headers_mut().insert(RANGE, range);
        answer.headers_mut().insert(DOCKER_UPLOAD_UUID, id);
    }
    if let RegistryError::RangeNotSatisfiable { size } = error
        && let Ok(range) = format!("bytes */{size}").parse()
    {
        answer.headers_mut().insert(CONTENT_RANGE, range);
    }
    answer
}

fn unauthorized(challenge: String, message: &str) -> Response<Body> {
    let mut answer = response::code(ErrorCode::Unauthorized, StatusCode::UNAUTHORIZED, message);
    if let Ok(value) = challenge.parse() {
        answer.headers_mut().insert(WWW_AUTHENTICATE, value);
    }
    answer
}

fn action_verb(action: Action) -> &'static str {
    match action {
        Action::Pull => "pull from",
        Action::Push => "push to",
        Action::Delete => "delete from",
    }
}

/// A request body as a stream of bytes for the storage.
fn body_stream<B>(body: B) -> ByteStream
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    BodyDataStream::new(body)
        .map(|chunk| chunk.map_err(|error| io::Error::other(error.into())))
        .boxed()
}

/// How much of an oversized manifest is read (and dropped) before answering, so that the client,
/// still sending, reads the `413` instead of a broken connection.
const OVERSIZE_DRAIN: u64 = 4 * MAX_MANIFEST_SIZE;

/// A manifest body, refused when larger than [`MAX_MANIFEST_SIZE`].
async fn read_manifest<B>(body: B) -> Result<Bytes, Failure>
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut stream = body_stream(body);
    let mut content = bytes::BytesMut::new();
    let mut seen: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|error| {
            RegistryError::ManifestInvalid(format!("the body broke off: {error}"))
        })?;
        seen += chunk.len() as u64;
        if seen > OVERSIZE_DRAIN {
            break;
        }
        if seen <= MAX_MANIFEST_SIZE {
            content.extend_from_slice(&chunk);
        }
    }
    if seen > MAX_MANIFEST_SIZE {
        return Err(RegistryError::ManifestTooLarge {
            limit: MAX_MANIFEST_SIZE,
        }
        .into());
    }
    Ok(content.freeze())
}

/// The route of `path`, for the fuzz targets.
pub(crate) fn fuzz_route(path: &str) -> Result<String, ()> {
    route::route(path)
        .map(|route| format!("{route:?}"))
        .map_err(|_| ())
}

/// Parses the range headers, for the fuzz targets: a chunk range is never empty, a byte range
/// resolves within any size.
pub(crate) fn fuzz_headers(headers: &HeaderMap) {
    if let Ok(Some(range)) = headers::range(headers) {
        for size in [0, 1, 10, u64::MAX] {
            if let Some((start, length)) = range.resolve(size) {
                assert!(length >= 1 && start.checked_add(length).is_some_and(|end| end <= size));
            }
        }
    }
    if let Ok(Some(chunk)) = headers::content_range(headers) {
        assert!(chunk.length() >= 1);
    }
}

/// Keeps the request's concurrency permit until its answer's body is sent (a download counts
/// against the limit for as long as it streams).
fn hold_until_sent(answer: Response<Body>, permit: OwnedSemaphorePermit) -> Response<Body> {
    answer.map(|body| {
        body.map_frame(move |frame| {
            let _held = &permit;
            frame
        })
        .boxed_unsync()
    })
}
