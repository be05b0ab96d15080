//! [`RegistryClient`]: the requests of the distribution spec Slipway makes itself (blobs and
//! manifests, for bundles the engine cannot push), with the authentication registries ask for.
//!
//! Every request is first sent with what is known to work for its scope (a cached token, or
//! Basic credentials once the registry asked for them). A `401` carries a challenge: `Basic`
//! means the credentials go on every request from then on; `Bearer` means a token is fetched
//! from the challenge's realm for its service and scope (a GET with Basic credentials, or,
//! for an identity token, a POST with `grant_type=refresh_token`, as Docker's token
//! specification documents), cached by scope until it expires, and the request sent again once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use serde::Deserialize;
use slipway_registry::Digest;

use crate::challenge::Challenge;
use crate::credentials::{Credentials, Secret};
use crate::error::ClientError;
use crate::key;

/// How long a token lives when the token service does not say (the spec's default).
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(60);
/// Tokens are renewed this long before they expire, so none expires in flight.
const TOKEN_MARGIN: Duration = Duration::from_secs(5);
/// Where Docker Hub's registry API answers.
const DOCKER_HUB_API: &str = "registry-1.docker.io";
/// The client id sent with refresh-token grants.
const CLIENT_ID: &str = "slipway";

/// How to reach a registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// HTTPS, verified against the system's certificate authorities.
    Https,
    /// Plain HTTP, for a registry on loopback or a trusted network.
    Http,
}

/// A client for one registry host.
#[derive(Debug, Clone)]
pub struct RegistryClient {
    registry: String,
    base: String,
    http: slipway_https::Client<Full<Bytes>>,
    credentials: Option<Credentials>,
    auth: Arc<Mutex<AuthState>>,
}

/// What the registry asked for so far, and the tokens it accepted.
#[derive(Debug, Default)]
struct AuthState {
    basic: bool,
    tokens: HashMap<String, CachedToken>,
}

#[derive(Debug, Clone)]
struct CachedToken {
    value: String,
    renew_at: Instant,
}

/// A request that can be sent again after a challenge.
pub(crate) struct Prepared {
    pub(crate) method: Method,
    pub(crate) url: String,
    pub(crate) headers: Vec<(http::HeaderName, HeaderValue)>,
    pub(crate) body: Bytes,
    /// What the request is for, in errors (`pushing a blob to team/web`).
    pub(crate) doing: String,
}

/// What the token service answers.
#[derive(Deserialize)]
struct TokenAnswer {
    token: Option<String>,
    access_token: Option<String>,
    expires_in: Option<u64>,
}

impl RegistryClient {
    /// A client for the registry at `registry` (`host[:port]`) over `transport`, presenting
    /// `credentials` when it asks for them.
    ///
    /// # Errors
    ///
    /// TLS cannot be set up.
    pub fn new(
        registry: &str,
        transport: Transport,
        credentials: Option<Credentials>,
    ) -> Result<RegistryClient, ClientError> {
        let scheme = match transport {
            Transport::Https => "https",
            Transport::Http => "http",
        };
        // Docker Hub's API answers on its own host, not on the name images use.
        let endpoint = if key::canonical_host(registry) == key::DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            registry
        };
        Ok(RegistryClient {
            registry: registry.to_owned(),
            base: format!("{scheme}://{endpoint}"),
            http: https_client(registry)?,
            credentials,
            auth: Arc::default(),
        })
    }

    /// The registry's host.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// `/v2/...` on the registry as a full URL.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A URL the registry answered with (`Location`), absolute or relative to the registry.
    pub(crate) fn resolve(&self, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_owned()
        } else {
            self.url(location)
        }
    }

    /// Sends `request` with authentication for `scope` (`repository:team/web:pull,push`),
    /// answering one challenge.
    pub(crate) async fn send(
        &self,
        request: &Prepared,
        scope: &str,
    ) -> Result<Response<Incoming>, ClientError> {
        let sent = self.authorization(scope);
        let response = self.send_once(request, sent.as_deref()).await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let header = response
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        // The retry goes with what the challenge got, even a token too short-lived to cache.
        let retried = match Challenge::parse(&header) {
            Some(Challenge::Basic) => self.accept_basic(sent.as_deref())?,
            Some(Challenge::Bearer {
                realm,
                service,
                scope: asked,
            }) => {
                let token = self
                    .fetch_token(&realm, service.as_deref(), scope, asked.as_deref())
                    .await?;
                format!("Bearer {token}")
            }
            None if header.is_empty() => return Err(self.unauthorized()),
            None => {
                return Err(ClientError::Challenge {
                    registry: self.registry.clone(),
                    challenge: header,
                });
            }
        };
        if sent.as_deref() == Some(retried.as_str()) {
            return Err(self.unauthorized());
        }
        let response = self.send_once(request, Some(&retried)).await?;
        if response.status() == StatusCode::UNAUTHORIZED {
            return Err(self.unauthorized());
        }
        Ok(response)
    }

    /// Sends `request` to wherever its URL points without credentials (a redirect to storage).
    pub(crate) async fn send_anonymous(
        &self,
        request: &Prepared,
    ) -> Result<Response<Incoming>, ClientError> {
        self.send_once(request, None).await
    }

    async fn send_once(
        &self,
        request: &Prepared,
        authorization: Option<&str>,
    ) -> Result<Response<Incoming>, ClientError> {
        let mut builder = Request::builder()
            .method(request.method.clone())
            .uri(&request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if let Some(authorization) = authorization {
            builder = builder.header(AUTHORIZATION, authorization);
        }
        let built = builder
            .body(Full::new(request.body.clone()))
            .map_err(|error| self.unreachable(&request.doing, &error))?;
        tracing::debug!(method = %request.method, url = %request.url, "registry request");
        self.http
            .request(built)
            .await
            .map_err(|error| self.unreachable(&request.doing, &error))
    }

    /// The `Authorization` header for `scope`, from what is known to work.
    fn authorization(&self, scope: &str) -> Option<String> {
        if let Some(Secret::RegistryToken { token }) = self.secret() {
            return Some(format!("Bearer {token}"));
        }
        let state = self
            .auth
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if let Some(token) = state.tokens.get(scope)
            && token.renew_at > Instant::now()
        {
            return Some(format!("Bearer {}", token.value));
        }
        if state.basic {
            return self.basic_header();
        }
        None
    }

    /// The registry asked for Basic credentials: send them from now on. Returns the header.
    fn accept_basic(&self, sent: Option<&str>) -> Result<String, ClientError> {
        let header = self.basic_header().ok_or_else(|| self.unauthorized())?;
        if sent == Some(header.as_str()) {
            return Err(self.unauthorized());
        }
        self.auth
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .basic = true;
        Ok(header)
    }

    fn basic_header(&self) -> Option<String> {
        match self.secret()? {
            Secret::Basic { username, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
            )),
            Secret::IdentityToken { .. } | Secret::RegistryToken { .. } => None,
        }
    }

    fn secret(&self) -> Option<&Secret> {
        self.credentials.as_ref().map(Credentials::secret)
    }

    /// Gets a token for `scope` (and the `asked` scope of the challenge, when it differs) from
    /// `realm`, caches it under `scope` for as long as it lives, and returns it.
    async fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: &str,
        asked: Option<&str>,
    ) -> Result<String, ClientError> {
        let mut scopes = vec![scope];
        scopes.extend(asked.filter(|asked| *asked != scope));
        let mut form = form_urlencoded::Serializer::new(String::new());
        if let Some(service) = service {
            form.append_pair("service", service);
        }
        let request = match self.secret() {
            Some(Secret::IdentityToken { token }) => {
                // The OAuth2 form of Docker's token spec: scopes space-separated.
                form.append_pair("grant_type", "refresh_token")
                    .append_pair("client_id", CLIENT_ID)
                    .append_pair("refresh_token", token)
                    .append_pair("scope", &scopes.join(" "));
                Prepared {
                    method: Method::POST,
                    url: realm.to_owned(),
                    headers: vec![(
                        CONTENT_TYPE,
                        HeaderValue::from_static("application/x-www-form-urlencoded"),
                    )],
                    body: Bytes::from(form.finish()),
                    doing: format!("asking {realm} for a token"),
                }
            }
            secret => {
                for scope in &scopes {
                    form.append_pair("scope", scope);
                }
                let mut headers = Vec::new();
                if let Some(Secret::Basic { username, .. }) = secret {
                    form.append_pair("account", username);
                    if let Some(value) = self
                        .basic_header()
                        .and_then(|header| HeaderValue::from_str(&header).ok())
                    {
                        headers.push((AUTHORIZATION, value));
                    }
                }
                let separator = if realm.contains('?') { '&' } else { '?' };
                Prepared {
                    method: Method::GET,
                    url: format!("{realm}{separator}{}", form.finish()),
                    headers,
                    body: Bytes::new(),
                    doing: format!("asking {realm} for a token"),
                }
            }
        };
        let response = self.send_once(&request, None).await?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(self.unauthorized());
        }
        let body = self.read_body(response, &request.doing).await?;
        let token_error = |reason: String| ClientError::Token {
            registry: self.registry.clone(),
            realm: realm.to_owned(),
            reason,
        };
        if !status.is_success() {
            return Err(token_error(format!("{status}")));
        }
        let answer: TokenAnswer = serde_json::from_slice(&body)
            .map_err(|error| token_error(format!("something that is not a token: {error}")))?;
        let value = answer
            .token
            .or(answer.access_token)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| token_error("no `token` nor `access_token`".to_owned()))?;
        let renew_at = Instant::now() + usable_for(answer.expires_in);
        self.auth
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .tokens
            .insert(
                scope.to_owned(),
                CachedToken {
                    value: value.clone(),
                    renew_at,
                },
            );
        Ok(value)
    }

    /// A response's whole body.
    pub(crate) async fn read_body(
        &self,
        response: Response<Incoming>,
        doing: &str,
    ) -> Result<Bytes, ClientError> {
        Ok(response
            .into_body()
            .collect()
            .await
            .map_err(|error| self.unreachable(doing, &error))?
            .to_bytes())
    }

    /// The error for an answer other than `expected`, with the registry's own message.
    pub(crate) async fn unexpected(
        &self,
        response: Response<Incoming>,
        doing: &str,
    ) -> ClientError {
        let status = response.status();
        let body = self.read_body(response, doing).await.unwrap_or_default();
        let message = registry_message(&body);
        if status == StatusCode::FORBIDDEN {
            return ClientError::Denied {
                registry: self.registry.clone(),
                doing: doing.to_owned(),
                message,
            };
        }
        ClientError::Status {
            registry: self.registry.clone(),
            doing: doing.to_owned(),
            status,
            message,
        }
    }

    pub(crate) fn digest_mismatch(
        &self,
        what: &str,
        expected: &Digest,
        bytes: &[u8],
    ) -> ClientError {
        ClientError::DigestMismatch {
            registry: self.registry.clone(),
            what: what.to_owned(),
            expected: expected.to_string(),
            actual: Digest::sha256(bytes).to_string(),
        }
    }

    fn unauthorized(&self) -> ClientError {
        ClientError::Unauthorized {
            registry: self.registry.clone(),
            credentials_from: self
                .credentials
                .as_ref()
                .map(|found| found.source().clone()),
        }
    }

    pub(crate) fn unreachable(&self, doing: &str, error: &dyn std::error::Error) -> ClientError {
        ClientError::Unreachable {
            registry: self.registry.clone(),
            doing: doing.to_owned(),
            cause: slipway_https::error_chain(error),
        }
    }
}

/// How long a token whose service said `expires_in` may be sent: its lifetime (the spec's
/// default when not said) less the margin, so that a registry never sees it expire in flight.
fn usable_for(expires_in: Option<u64>) -> Duration {
    expires_in
        .map_or(DEFAULT_TOKEN_LIFETIME, Duration::from_secs)
        .saturating_sub(TOKEN_MARGIN)
}

/// The `message`s of a distribution-spec error body, or its first line.
fn registry_message(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Errors {
        errors: Vec<ErrorEntry>,
    }
    #[derive(Deserialize)]
    struct ErrorEntry {
        code: Option<String>,
        message: Option<String>,
    }
    if let Ok(parsed) = serde_json::from_slice::<Errors>(body) {
        return parsed
            .errors
            .into_iter()
            .map(|entry| {
                [entry.code, entry.message]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(": ")
            })
            .collect::<Vec<_>>()
            .join("; ");
    }
    String::from_utf8_lossy(body)
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect()
}

/// The client every registry request goes through: the system's certificate authorities (a
/// machine without any still reaches plain-HTTP registries; an HTTPS one then fails to verify,
/// saying so), HTTP/1.1 and HTTP/2, and plain HTTP.
fn https_client(registry: &str) -> Result<slipway_https::Client<Full<Bytes>>, ClientError> {
    let (roots, _system) = slipway_https::roots(&[]);
    let tls = slipway_https::tls_config(roots).map_err(|error| ClientError::Tls {
        registry: registry.to_owned(),
        cause: error.to_string(),
    })?;
    Ok(slipway_https::client(tls))
}

/// The `Accept` header for manifests: every form a bundle or image manifest may take.
pub(crate) fn manifest_accept() -> HeaderValue {
    HeaderValue::from_static(
        "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_used_until_shortly_before_they_expire() {
        for (expires_in, usable) in [
            (None, 55),
            (Some(300), 295),
            (Some(60), 55),
            (Some(5), 0),
            (Some(0), 0),
        ] {
            assert_eq!(
                usable_for(expires_in),
                Duration::from_secs(usable),
                "{expires_in:?}"
            );
        }
    }

    #[test]
    fn docker_hub_is_reached_on_its_api_host_and_others_as_named() {
        let url = |registry: &str, transport| {
            RegistryClient::new(registry, transport, None)
                .map(|client| client.url("/v2/"))
                .ok()
        };
        for hub in ["docker.io", "index.docker.io", "Registry-1.Docker.io"] {
            assert_eq!(
                url(hub, Transport::Https).as_deref(),
                Some("https://registry-1.docker.io/v2/")
            );
        }
        assert_eq!(
            url("127.0.0.1:5000", Transport::Http).as_deref(),
            Some("http://127.0.0.1:5000/v2/")
        );
    }
}
