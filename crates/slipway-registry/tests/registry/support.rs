//! What the test modules share: a registry on a socket, an HTTP client, and helpers that push
//! blobs and images the way clients do.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use slipway_registry::{
    Authenticator, Digest, Registry, RegistryOptions, RegistryService, Server, ServerOptions,
    TlsConfig,
};

/// OCI media types the tests push.
pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub(crate) const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub(crate) const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub(crate) const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
pub(crate) const EMPTY_JSON: &str = "application/vnd.oci.empty.v1+json";

/// A registry serving a temporary directory on a free loopback port.
pub(crate) struct TestRegistry {
    pub(crate) registry: Arc<Registry>,
    pub(crate) address: SocketAddr,
    server: Option<Server>,
    pub(crate) dir: tempfile::TempDir,
}

impl TestRegistry {
    /// Open, without auth.
    pub(crate) async fn start() -> TestRegistry {
        TestRegistry::start_with(RegistryOptions::default(), None, 1024).await
    }

    pub(crate) async fn start_with(
        options: RegistryOptions,
        auth: Option<Authenticator>,
        max_requests: usize,
    ) -> TestRegistry {
        let dir = tempfile::tempdir().unwrap();
        TestRegistry::start_in(dir, options, auth, max_requests).await
    }

    /// A registry over an existing directory (to restart one on the same storage).
    pub(crate) async fn start_in(
        dir: tempfile::TempDir,
        options: RegistryOptions,
        auth: Option<Authenticator>,
        max_requests: usize,
    ) -> TestRegistry {
        TestRegistry::serve(dir, options, auth, max_requests, None).await
    }

    /// A registry on HTTPS with `tls`.
    pub(crate) async fn start_tls(auth: Option<Authenticator>, tls: TlsConfig) -> TestRegistry {
        TestRegistry::serve(
            tempfile::tempdir().unwrap(),
            RegistryOptions::default(),
            auth,
            64,
            Some(tls),
        )
        .await
    }

    async fn serve(
        dir: tempfile::TempDir,
        options: RegistryOptions,
        auth: Option<Authenticator>,
        max_requests: usize,
        tls: Option<TlsConfig>,
    ) -> TestRegistry {
        let registry = Arc::new(Registry::open(dir.path(), options).unwrap());
        let service =
            RegistryService::new(Arc::clone(&registry), auth, max_requests, tls.is_some());
        let options = ServerOptions {
            address: "127.0.0.1:0".parse().unwrap(),
            tls,
        };
        let server = Server::start(service, options).await.unwrap();
        TestRegistry {
            registry,
            address: server.local_addr(),
            server: Some(server),
            dir,
        }
    }

    /// `127.0.0.1:PORT`, as clients name the registry.
    pub(crate) fn host(&self) -> String {
        self.address.to_string()
    }

    pub(crate) fn client(&self) -> Client {
        Client::new(self.address)
    }

    /// Stops serving and hands back the storage directory.
    pub(crate) async fn stop(mut self) -> tempfile::TempDir {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
        self.dir
    }
}

/// An answer, read whole.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Answer {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {:?}", self.body))
    }

    /// The first error code of an error body.
    pub(crate) fn error_code(&self) -> String {
        self.json()["errors"][0]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The `Location` header made relative, as clients use it.
    pub(crate) fn location(&self) -> String {
        let location = self
            .header("location")
            .unwrap_or_else(|| panic!("no Location in {self:?}"));
        match location.split_once("://") {
            Some((_, rest)) => rest[rest.find('/').unwrap_or(rest.len())..].to_owned(),
            None => location.to_owned(),
        }
    }

    #[track_caller]
    pub(crate) fn expect(self, status: StatusCode) -> Answer {
        assert_eq!(
            self.status,
            status,
            "{:?}: {}",
            self.headers,
            String::from_utf8_lossy(&self.body)
        );
        self
    }

    #[track_caller]
    pub(crate) fn expect_error(self, status: StatusCode, code: &str) -> Answer {
        let answer = self.expect(status);
        assert_eq!(
            answer.error_code(),
            code,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        answer
    }
}

/// An HTTP client for one registry.
#[derive(Clone)]
pub(crate) struct Client {
    address: SocketAddr,
    inner: HyperClient<HttpConnector, Full<Bytes>>,
    authorization: Option<String>,
}

impl Client {
    pub(crate) fn new(address: SocketAddr) -> Client {
        Client {
            address,
            inner: HyperClient::builder(TokioExecutor::new()).build_http(),
            authorization: None,
        }
    }

    /// The same client sending `Authorization: value` with every request.
    pub(crate) fn authorized(&self, value: &str) -> Client {
        Client {
            authorization: Some(value.to_owned()),
            ..self.clone()
        }
    }

    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Answer {
        self.try_send(method, path, headers, body)
            .await
            .unwrap_or_else(|| panic!("no answer from the registry"))
    }

    /// [`Client::send`], `None` when the registry does not answer (it was killed).
    pub(crate) async fn try_send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Option<Answer> {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.address));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(authorization) = &self.authorization {
            request = request.header("authorization", authorization);
        }
        let response = self
            .inner
            .request(request.body(Full::new(body.into())).unwrap())
            .await
            .ok()?;
        let (parts, body) = response.into_parts();
        Some(Answer {
            status: parts.status,
            headers: parts.headers,
            body: body.collect().await.ok()?.to_bytes(),
        })
    }

    pub(crate) async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, &[], Bytes::new()).await
    }

    pub(crate) async fn head(&self, path: &str) -> Answer {
        self.send(Method::HEAD, path, &[], Bytes::new()).await
    }

    pub(crate) async fn delete(&self, path: &str) -> Answer {
        self.send(Method::DELETE, path, &[], Bytes::new()).await
    }

    /// Starts an upload and returns its location.
    pub(crate) async fn start_upload(&self, name: &str) -> String {
        self.send(
            Method::POST,
            &format!("/v2/{name}/blobs/uploads/"),
            &[],
            Bytes::new(),
        )
        .await
        .expect(StatusCode::ACCEPTED)
        .location()
    }

    /// Pushes a blob with POST then PUT, as most clients do.
    pub(crate) async fn push_blob(&self, name: &str, content: &[u8]) -> Digest {
        let digest = Digest::sha256(content);
        let location = self.start_upload(name).await;
        self.send(
            Method::PUT,
            &with_query(&location, &format!("digest={digest}")),
            &[("content-type", "application/octet-stream")],
            Bytes::copy_from_slice(content),
        )
        .await
        .expect(StatusCode::CREATED);
        digest
    }

    /// Pushes a manifest document and returns the answer.
    pub(crate) async fn put_manifest(
        &self,
        name: &str,
        reference: &str,
        media_type: &str,
        content: &[u8],
    ) -> Answer {
        self.send(
            Method::PUT,
            &format!("/v2/{name}/manifests/{reference}"),
            &[("content-type", media_type)],
            Bytes::copy_from_slice(content),
        )
        .await
    }

    /// Pushes an image (a config and `layers`) tagged `tag`, and returns the manifest.
    pub(crate) async fn push_image(&self, name: &str, tag: &str, layers: &[&[u8]]) -> Image {
        let config = format!(
            r#"{{"architecture":"amd64","os":"linux","tag":"{tag}","layers":{}}}"#,
            layers.len()
        )
        .into_bytes();
        self.push_blob(name, &config).await;
        for layer in layers {
            self.push_blob(name, layer).await;
        }
        let manifest = image_manifest(&config, layers, None);
        self.put_manifest(name, tag, OCI_MANIFEST, &manifest)
            .await
            .expect(StatusCode::CREATED);
        Image {
            digest: Digest::sha256(&manifest),
            manifest,
            config,
            layers: layers.iter().map(|layer| layer.to_vec()).collect(),
        }
    }
}

/// An image pushed by [`Client::push_image`].
#[derive(Debug, Clone)]
pub(crate) struct Image {
    pub(crate) digest: Digest,
    pub(crate) manifest: Vec<u8>,
    pub(crate) config: Vec<u8>,
    pub(crate) layers: Vec<Vec<u8>>,
}

/// `location` with `query` appended.
pub(crate) fn with_query(location: &str, query: &str) -> String {
    let separator = if location.contains('?') { '&' } else { '?' };
    format!("{location}{separator}{query}")
}

pub(crate) fn descriptor(media_type: &str, content: &[u8]) -> serde_json::Value {
    serde_json::json!({ "mediaType": media_type, "digest": Digest::sha256(content).to_string(), "size": content.len() })
}

/// An OCI image manifest for `config` and `layers`, with a subject if given.
pub(crate) fn image_manifest(
    config: &[u8],
    layers: &[&[u8]],
    subject: Option<(&str, &[u8])>,
) -> Vec<u8> {
    let mut manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(OCI_CONFIG, config),
        "layers": layers.iter().map(|layer| descriptor(OCI_LAYER, layer)).collect::<Vec<_>>(),
    });
    if let Some((media_type, content)) = subject {
        manifest["subject"] = descriptor(media_type, content);
    }
    serde_json::to_vec_pretty(&manifest).unwrap()
}

/// An artifact manifest (empty config, `artifactType`, annotations) referring to `subject`.
pub(crate) fn artifact(
    artifact_type: &str,
    layer: &[u8],
    subject: &[u8],
    annotation: &str,
) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": descriptor(EMPTY_JSON, b"{}"),
        "layers": [descriptor("application/octet-stream", layer)],
        "subject": descriptor(OCI_MANIFEST, subject),
        "annotations": { "org.example.note": annotation },
    }))
    .unwrap()
}

/// An OCI index listing `manifests` (media type, content).
pub(crate) fn index(manifests: &[(&str, &[u8])]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": manifests.iter().map(|(media_type, content)| descriptor(media_type, content)).collect::<Vec<_>>(),
    }))
    .unwrap()
}

/// A seedable random source for property-style tests, printing its seed so a failure can be
/// replayed with `SLIPWAY_TEST_SEED`.
pub(crate) fn seeded_rng(test: &str) -> rand::rngs::StdRng {
    use rand::SeedableRng as _;
    let seed = std::env::var("SLIPWAY_TEST_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    eprintln!("{test}: SLIPWAY_TEST_SEED={seed}");
    rand::rngs::StdRng::seed_from_u64(seed)
}
