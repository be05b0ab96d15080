//! The Bearer token flow against a small registry of the test's own: it answers 401 with a
//! `Bearer realm=...,service=...,scope=...` challenge, and its token endpoint implements Docker's
//! token specification (GET with Basic credentials; POST with a refresh-token grant). The tests
//! check what the client sent to each and how often it asked for a token.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use slipway_registry::{Digest, Reference, RepositoryName, Tag};
use slipway_registry_client::{
    ClientError, Credentials, RegistryClient, Secret, Source, Transport,
};
use tokio::net::TcpListener;

use crate::image::assert_layout_of;
use crate::support::{TestImage, annotations, bundle_tar};

const SERVICE: &str = "token-test-registry";
const USER: &str = "robot";
const PASSWORD: &str = "pa55-w0rd";
const REFRESH_TOKEN: &str = "refresh-0123456789";

/// One request to the token endpoint, as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TokenRequest {
    method: Method,
    /// The query (GET) or form (POST) fields, in order.
    fields: Vec<(String, String)>,
    /// The Basic credentials sent, decoded.
    basic: Option<String>,
}

/// How the token service issues tokens and how long the registry honours them.
#[derive(Debug, Clone, Copy)]
struct Lifetimes {
    /// The `expires_in` the token service answers with; `None` leaves it out.
    expires_in: Option<u64>,
    /// How many requests the registry accepts a token for before answering 401 with a fresh
    /// challenge, as it does for a token that expired; `None` for no limit.
    uses: Option<usize>,
}

impl Default for Lifetimes {
    fn default() -> Lifetimes {
        Lifetimes {
            expires_in: Some(300),
            uses: None,
        }
    }
}

#[derive(Default)]
struct State {
    lifetimes: Lifetimes,
    token_requests: Vec<TokenRequest>,
    /// Issued tokens and the scopes each grants.
    tokens: HashMap<String, Vec<String>>,
    /// How many registry requests each token was accepted for.
    uses: HashMap<String, usize>,
    blobs: HashMap<String, Bytes>,
    manifests: HashMap<String, Bytes>,
    uploads: usize,
}

/// The registry and its token endpoint on one socket.
struct TokenRegistry {
    address: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl TokenRegistry {
    async fn start() -> TokenRegistry {
        TokenRegistry::start_with(Lifetimes::default()).await
    }

    async fn start_with(lifetimes: Lifetimes) -> TokenRegistry {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            lifetimes,
            ..State::default()
        }));
        let shared = state.clone();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(handle(request, address, &state).await) }
                    });
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        TokenRegistry { address, state }
    }

    fn host(&self) -> String {
        self.address.to_string()
    }

    fn token_requests(&self) -> Vec<TokenRequest> {
        self.state.lock().unwrap().token_requests.clone()
    }

    /// Stores `image` as `repository:tag`, as a push would have.
    fn hold(&self, image: &TestImage, repository: &str, tag: &str) {
        let mut state = self.state.lock().unwrap();
        for blob in image.blobs() {
            state.blobs.insert(Digest::sha256(&blob).to_string(), blob);
        }
        for manifest in std::iter::once(&image.index)
            .chain(image.images.values().map(|(manifest, _, _)| manifest))
        {
            state.manifests.insert(
                format!("{repository}:{}", Digest::sha256(manifest)),
                manifest.clone(),
            );
        }
        state
            .manifests
            .insert(format!("{repository}:{tag}"), image.index.clone());
    }

    /// How many requests each issued token was accepted for.
    fn uses(&self) -> HashMap<String, usize> {
        self.state.lock().unwrap().uses.clone()
    }
}

fn respond(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .body(Full::new(body.into()))
        .unwrap()
}

async fn handle(
    request: Request<Incoming>,
    address: SocketAddr,
    state: &Mutex<State>,
) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    let path = parts.uri.path().to_owned();
    if path == "/token" {
        return token(&parts, &body, state);
    }
    let Some(rest) = path.strip_prefix("/v2/") else {
        return respond(StatusCode::NOT_FOUND, "");
    };
    // `/v2/NAME/(blobs|manifests)/REF`: NAME may hold slashes.
    let kind_at = rest
        .rfind("/blobs/")
        .or_else(|| rest.rfind("/manifests/"))
        .unwrap();
    let name = &rest[..kind_at];
    let (kind, reference) = rest[kind_at + 1..].split_once('/').unwrap();
    let action = if matches!(parts.method, Method::GET | Method::HEAD) {
        "pull"
    } else {
        "push"
    };
    let scope = format!("repository:{name}:{action}");
    if !authorized(&parts, state, name, action) {
        let challenge =
            format!(r#"Bearer realm="http://{address}/token",service="{SERVICE}",scope="{scope}""#);
        return Response::builder()
            .status(StatusCode::UNAUTHORIZED)
            .header("www-authenticate", challenge)
            .body(Full::new(Bytes::from_static(
                br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
            )))
            .unwrap();
    }
    let mut state = state.lock().unwrap();
    match (&parts.method, kind, reference) {
        (&Method::HEAD | &Method::GET, "blobs", digest) => match state.blobs.get(digest) {
            Some(blob) => respond(StatusCode::OK, blob.clone()),
            None => respond(StatusCode::NOT_FOUND, ""),
        },
        (&Method::POST, "blobs", "uploads/") => {
            state.uploads += 1;
            Response::builder()
                .status(StatusCode::ACCEPTED)
                .header(
                    "location",
                    format!("/v2/{name}/blobs/uploads/{}", state.uploads),
                )
                .body(Full::new(Bytes::new()))
                .unwrap()
        }
        (&Method::PUT, "blobs", _upload) => {
            let digest = parts.uri.query().unwrap().strip_prefix("digest=").unwrap();
            assert_eq!(Digest::sha256(&body).to_string(), digest);
            state.blobs.insert(digest.to_owned(), body);
            respond(StatusCode::CREATED, "")
        }
        (&Method::PUT, "manifests", reference) => {
            let digest = Digest::sha256(&body).to_string();
            state
                .manifests
                .insert(format!("{name}:{reference}"), body.clone());
            state.manifests.insert(format!("{name}:{digest}"), body);
            respond(StatusCode::CREATED, "")
        }
        (&Method::GET, "manifests", reference) => {
            match state.manifests.get(&format!("{name}:{reference}")) {
                Some(manifest) => respond(StatusCode::OK, manifest.clone()),
                None => respond(StatusCode::NOT_FOUND, ""),
            }
        }
        _ => respond(StatusCode::METHOD_NOT_ALLOWED, ""),
    }
}

/// Whether the request carries a token this server issued for `action` on `name`.
fn authorized(
    parts: &http::request::Parts,
    state: &Mutex<State>,
    name: &str,
    action: &str,
) -> bool {
    let Some(token) = parts
        .headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
    else {
        return false;
    };
    let mut state = state.lock().unwrap();
    let granted = state.tokens.get(token).is_some_and(|scopes| {
        scopes.iter().any(|scope| {
            scope
                .strip_prefix(&format!("repository:{name}:"))
                .is_some_and(|actions| actions.split(',').any(|granted| granted == action))
        })
    });
    let limit = state.lifetimes.uses.unwrap_or(usize::MAX);
    let uses = state.uses.entry(token.to_owned()).or_default();
    if !granted || *uses >= limit {
        return false;
    }
    *uses += 1;
    true
}

/// The token endpoint: GET with Basic credentials, or POST with a refresh-token grant.
fn token(parts: &http::request::Parts, body: &[u8], state: &Mutex<State>) -> Response<Full<Bytes>> {
    let fields: Vec<(String, String)> = match parts.method {
        Method::POST => form_urlencoded::parse(body).into_owned().collect(),
        _ => form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect(),
    };
    let basic = parts
        .headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
        .map(|encoded| {
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .unwrap(),
            )
            .unwrap()
        });
    let mut state = state.lock().unwrap();
    state.token_requests.push(TokenRequest {
        method: parts.method.clone(),
        fields: fields.clone(),
        basic: basic.clone(),
    });
    let field = |name: &str| {
        fields
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .collect::<Vec<_>>()
    };
    let accepted = match parts.method {
        Method::POST => {
            field("grant_type") == ["refresh_token"] && field("refresh_token") == [REFRESH_TOKEN]
        }
        _ => basic.as_deref() == Some(&format!("{USER}:{PASSWORD}")),
    };
    if !accepted || field("service") != [SERVICE] {
        return respond(StatusCode::UNAUTHORIZED, r#"{"details":"bad credentials"}"#);
    }
    let scopes: Vec<String> = field("scope")
        .iter()
        .flat_map(|scope| scope.split(' ').map(str::to_owned).collect::<Vec<_>>())
        .collect();
    let issued = format!("token-{}", state.tokens.len() + 1);
    state.tokens.insert(issued.clone(), scopes);
    let key = if parts.method == Method::POST {
        "access_token"
    } else {
        "token"
    };
    let mut answer = serde_json::json!({ key: issued });
    if let Some(expires_in) = state.lifetimes.expires_in {
        answer["expires_in"] = expires_in.into();
    }
    respond(StatusCode::OK, answer.to_string())
}

fn basic(password: &str) -> Credentials {
    Credentials::new(
        "token-registry",
        Secret::Basic {
            username: USER.to_owned(),
            password: password.to_owned(),
        },
        Source::Given("the test's credentials".to_owned()),
    )
}

fn repository() -> RepositoryName {
    "team/web".parse().unwrap()
}

fn tag(name: &str) -> Tag {
    name.parse().unwrap()
}

#[tokio::test]
async fn bearer_challenges_get_one_token_per_scope_from_the_realm_and_reuse_it() {
    let registry = TokenRegistry::start().await;
    let client =
        RegistryClient::new(&registry.host(), Transport::Http, Some(basic(PASSWORD))).unwrap();
    let tar = bundle_tar("exec ./server\n");
    let pushed = client
        .push_bundle(
            &repository(),
            &[tag("1.0"), tag("stable")],
            tar.clone(),
            &annotations(),
        )
        .await
        .unwrap();
    // Two blobs and two manifests pushed, each after a HEAD, on one token.
    assert_eq!(
        registry.token_requests(),
        [TokenRequest {
            method: Method::GET,
            fields: vec![
                ("service".to_owned(), SERVICE.to_owned()),
                (
                    "scope".to_owned(),
                    "repository:team/web:pull,push".to_owned()
                ),
                ("scope".to_owned(), "repository:team/web:pull".to_owned()),
                ("account".to_owned(), USER.to_owned()),
            ],
            basic: Some(format!("{USER}:{PASSWORD}")),
        }]
    );
    client
        .push_bundle(&repository(), &[tag("1.1")], tar.clone(), &annotations())
        .await
        .unwrap();
    assert_eq!(registry.token_requests().len(), 1, "the token is cached");

    for _ in 0..2 {
        let pulled = client
            .pull_bundle(&repository(), &Reference::Tag(tag("stable")))
            .await
            .unwrap();
        assert_eq!(
            (pulled.digest.clone(), pulled.tar),
            (pushed.clone(), tar.clone())
        );
    }
    let requests = registry.token_requests();
    assert_eq!(
        requests.len(),
        2,
        "one more token, for the pull scope: {requests:?}"
    );
    assert_eq!(
        requests[1].fields[1],
        ("scope".to_owned(), "repository:team/web:pull".to_owned())
    );
}

#[tokio::test]
async fn identity_tokens_are_exchanged_with_a_refresh_token_grant() {
    let registry = TokenRegistry::start().await;
    let credentials = Credentials::new(
        registry.host(),
        Secret::IdentityToken {
            token: REFRESH_TOKEN.to_owned(),
        },
        Source::Given("an identity token".to_owned()),
    );
    let client = RegistryClient::new(&registry.host(), Transport::Http, Some(credentials)).unwrap();
    client
        .push_bundle(
            &repository(),
            &[tag("1.0")],
            bundle_tar("x"),
            &annotations(),
        )
        .await
        .unwrap();
    let requests = registry.token_requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].method, Method::POST);
    assert_eq!(requests[0].basic, None);
    let fields: HashMap<_, _> = requests[0].fields.iter().cloned().collect();
    assert_eq!(fields["grant_type"], "refresh_token");
    assert_eq!(fields["refresh_token"], REFRESH_TOKEN);
    assert_eq!(fields["client_id"], "slipway");
    assert_eq!(fields["service"], SERVICE);
    assert_eq!(
        fields["scope"],
        "repository:team/web:pull,push repository:team/web:pull"
    );
}

#[tokio::test]
async fn a_token_service_refusing_the_credentials_names_their_source() {
    let registry = TokenRegistry::start().await;
    let client =
        RegistryClient::new(&registry.host(), Transport::Http, Some(basic("wrong-one"))).unwrap();
    let error = client
        .pull_bundle(&repository(), &Reference::Tag(tag("1.0")))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ClientError::Unauthorized { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "registry {} refused the credentials from the test's credentials (401 Unauthorized)",
            registry.host()
        )
    );
    assert!(!format!("{error} {error:?}").contains("wrong-one"));
}

/// Pushes a bundle and pulls it back through `client`.
async fn push_and_pull(client: &RegistryClient) {
    let tar = bundle_tar("exec ./server\n");
    let pushed = client
        .push_bundle(&repository(), &[tag("1.0")], tar.clone(), &annotations())
        .await
        .unwrap();
    let pulled = client
        .pull_bundle(&repository(), &Reference::Digest(pushed.clone()))
        .await
        .unwrap();
    assert_eq!((pulled.digest, pulled.tar), (pushed, tar));
}

#[tokio::test]
async fn a_token_that_expires_sooner_than_it_can_be_used_is_fetched_for_every_request() {
    // Five seconds is within the margin the client keeps before expiry: no request may go with
    // a token the registry could see expire.
    let registry = TokenRegistry::start_with(Lifetimes {
        expires_in: Some(5),
        uses: None,
    })
    .await;
    let client =
        RegistryClient::new(&registry.host(), Transport::Http, Some(basic(PASSWORD))).unwrap();
    push_and_pull(&client).await;
    let uses = registry.uses();
    assert!(uses.len() > 1, "{uses:?}");
    assert!(uses.values().all(|used| *used == 1), "{uses:?}");
    assert_eq!(registry.token_requests().len(), uses.len());
}

#[tokio::test]
async fn a_token_without_expires_in_is_reused_as_the_spec_default_allows() {
    let registry = TokenRegistry::start_with(Lifetimes {
        expires_in: None,
        uses: None,
    })
    .await;
    let client =
        RegistryClient::new(&registry.host(), Transport::Http, Some(basic(PASSWORD))).unwrap();
    push_and_pull(&client).await;
    // One token for the push scope, one for the pull scope, each used for every request.
    let uses = registry.uses();
    assert_eq!(uses.len(), 2, "{uses:?}");
    assert!(uses.values().all(|used| *used > 1), "{uses:?}");
    assert_eq!(registry.token_requests().len(), 2);
}

#[tokio::test]
async fn a_token_the_registry_stops_accepting_mid_transfer_is_replaced_from_its_fresh_challenge() {
    // The registry treats each token as expired after two requests, however long the token
    // service said it lives: the client learns it only from the 401 and its new challenge.
    let registry = TokenRegistry::start_with(Lifetimes {
        expires_in: Some(300),
        uses: Some(2),
    })
    .await;
    let client =
        RegistryClient::new(&registry.host(), Transport::Http, Some(basic(PASSWORD))).unwrap();
    push_and_pull(&client).await;
    let uses = registry.uses();
    let accepted: usize = uses.values().sum();
    assert!(
        accepted > 4,
        "a push and a pull take several requests: {uses:?}"
    );
    assert!(uses.values().all(|used| *used <= 2), "{uses:?}");
    assert_eq!(registry.token_requests().len(), uses.len());
    assert!(
        uses.len() >= accepted.div_ceil(2),
        "a new token each time the old one was refused: {uses:?}"
    );
}

#[tokio::test]
async fn an_image_is_pulled_through_the_bearer_token_flow() {
    let registry = TokenRegistry::start().await;
    let image = TestImage::new();
    registry.hold(&image, "team/web", "1.0");
    let client =
        RegistryClient::new(&registry.host(), Transport::Http, Some(basic(PASSWORD))).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pulled = client
        .pull_image(
            &repository(),
            &Reference::Tag(tag("1.0")),
            slipway_registry_client::Platform {
                os: "linux",
                architecture: "arm64",
            },
            dir.path(),
        )
        .await
        .unwrap();
    assert_layout_of(dir.path(), &pulled, &image, "arm64");
    // The index, the manifest, the config and the layer on one token for the pull scope.
    let requests = registry.token_requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(registry.uses().into_values().collect::<Vec<_>>(), [4]);
}
