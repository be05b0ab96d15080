//! One round of the registry benchmark's HTTP clients (see `../bench.py`): CLIENTS concurrent
//! clients each push a single-layer image of their own over the OCI distribution API (ping, the
//! layer and the config as monolithic uploads, the manifest), all at once; then each pulls its
//! image back (ping, manifest, config, layer). Unlike skopeo, a client here is a task, not a
//! process, so the round measures the registry rather than the start-up of its clients.
//!
//! Prints `{"push": {"seconds": WALL, "latencies": [..]}, "pull": {..}}` on stdout: the wall time of
//! all clients' transfers in each direction, and each client's own time.
//!
//!     slipway-registry-load http://127.0.0.1:5000 CLIENTS LAYER_MB ROUND

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)] // A benchmark harness.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::{Client, connect::HttpConnector};
use sha2::{Digest as _, Sha256};

type HttpClient = Client<HttpConnector, Full<Bytes>>;

const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";

/// What one client pushes and pulls back.
struct Image {
    repository: String,
    layer: Bytes,
    layer_digest: String,
    config: Bytes,
    config_digest: String,
    manifest: Bytes,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, base, clients, layer_mb, round] = args.as_slice() else {
        panic!("usage: slipway-registry-load URL CLIENTS LAYER_MB ROUND");
    };
    let clients: u64 = clients.parse().expect("CLIENTS: a number");
    let layer_mb: usize = layer_mb.parse().expect("LAYER_MB: a number");
    let round: u64 = round.parse().expect("ROUND: a number");
    let images: Vec<Arc<Image>> = (0..clients)
        .map(|client| Arc::new(Image::new(client, round, layer_mb * 1024 * 1024)))
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let report = runtime.block_on(async {
        let http: HttpClient = Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
        let push = all_at_once(&images, |image| push(http.clone(), base.clone(), image)).await;
        let pull = all_at_once(&images, |image| pull(http.clone(), base.clone(), image)).await;
        serde_json::json!({"push": push, "pull": pull})
    });
    println!("{report}");
}

/// Runs `transfer` for every image at once, each on a task of its own; the wall time of them all
/// and each one's time.
async fn all_at_once<F, Fut>(images: &[Arc<Image>], transfer: F) -> serde_json::Value
where
    F: Fn(Arc<Image>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let started = Instant::now();
    let tasks: Vec<_> = images
        .iter()
        .map(|image| {
            let transfer = transfer(Arc::clone(image));
            tokio::spawn(async move {
                let started = Instant::now();
                transfer.await;
                started.elapsed().as_secs_f64()
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(tasks.len());
    for task in tasks {
        latencies.push(task.await.expect("a client failed"));
    }
    serde_json::json!({"seconds": started.elapsed().as_secs_f64(), "latencies": latencies})
}

impl Image {
    /// A layer of `size` bytes of its own (the round and client seed the generator), its config
    /// and its manifest, made before anything is timed.
    fn new(client: u64, round: u64, size: usize) -> Image {
        let layer = Bytes::from(noise(round << 16 | client, size));
        let layer_digest = digest(&layer);
        let config = Bytes::from(
            serde_json::json!({"architecture": "amd64", "os": "linux",
                "rootfs": {"type": "layers", "diff_ids": [layer_digest]}})
            .to_string(),
        );
        let config_digest = digest(&config);
        let manifest = Bytes::from(
            serde_json::json!({
                "schemaVersion": 2, "mediaType": MANIFEST_TYPE,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": config_digest, "size": config.len()},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": layer_digest, "size": layer.len()}],
            })
            .to_string(),
        );
        Image {
            repository: format!("load/c{client}-r{round}"),
            layer,
            layer_digest,
            config,
            config_digest,
            manifest,
        }
    }
}

/// `size` pseudo-random bytes (xorshift64*): incompressible, and different for every seed.
fn noise(seed: u64, size: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut bytes = Vec::with_capacity(size + 8);
    while bytes.len() < size {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        bytes.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    bytes.truncate(size);
    bytes
}

fn digest(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

async fn push(http: HttpClient, base: String, image: Arc<Image>) {
    let (http, base) = (&http, base.as_str());
    ping(http, base).await;
    upload(http, base, &image, &image.layer, &image.layer_digest).await;
    upload(http, base, &image, &image.config, &image.config_digest).await;
    let url = format!("{base}/v2/{}/manifests/v1", image.repository);
    send(
        http,
        Method::PUT,
        &url,
        MANIFEST_TYPE,
        image.manifest.clone(),
        StatusCode::CREATED,
    )
    .await;
}

/// A monolithic upload: POST for a session, then PUT of the whole blob with its digest.
async fn upload(http: &HttpClient, base: &str, image: &Image, blob: &Bytes, digest: &str) {
    let url = format!("{base}/v2/{}/blobs/uploads/", image.repository);
    let answer = send(
        http,
        Method::POST,
        &url,
        "",
        Bytes::new(),
        StatusCode::ACCEPTED,
    )
    .await;
    let location = answer
        .location
        .expect("an upload session without a Location");
    let location = if location.starts_with("http") {
        location
    } else {
        format!("{base}{location}")
    };
    let separator = if location.contains('?') { '&' } else { '?' };
    let url = format!("{location}{separator}digest={digest}");
    send(
        http,
        Method::PUT,
        &url,
        "application/octet-stream",
        blob.clone(),
        StatusCode::CREATED,
    )
    .await;
}

async fn pull(http: HttpClient, base: String, image: Arc<Image>) {
    let (http, base) = (&http, base.as_str());
    ping(http, base).await;
    let url = format!("{base}/v2/{}/manifests/v1", image.repository);
    assert_eq!(
        get(http, &url).await,
        image.manifest.len(),
        "{url}: the manifest pushed"
    );
    for (digest, size) in [
        (&image.config_digest, image.config.len()),
        (&image.layer_digest, image.layer.len()),
    ] {
        let url = format!("{base}/v2/{}/blobs/{digest}", image.repository);
        assert_eq!(get(http, &url).await, size, "{url}: the blob's size");
    }
}

async fn ping(http: &HttpClient, base: &str) {
    get(http, &format!("{base}/v2/")).await;
}

/// GETs `url` and reads its body through; its length.
async fn get(http: &HttpClient, url: &str) -> usize {
    send(
        http,
        Method::GET,
        url,
        MANIFEST_TYPE,
        Bytes::new(),
        StatusCode::OK,
    )
    .await
    .length
}

struct Answer {
    location: Option<String>,
    length: usize,
}

async fn send(
    http: &HttpClient,
    method: Method,
    url: &str,
    content_type: &str,
    body: Bytes,
    expected: StatusCode,
) -> Answer {
    let mut request = Request::builder().method(method.clone()).uri(url);
    if method == Method::GET {
        request = request.header("Accept", content_type);
    } else if !content_type.is_empty() {
        request = request.header("Content-Type", content_type);
    }
    let answer = http
        .request(request.body(Full::new(body)).unwrap())
        .await
        .unwrap();
    let status = answer.status();
    let location = answer
        .headers()
        .get("Location")
        .and_then(|location| location.to_str().ok())
        .map(str::to_owned);
    let mut body = answer.into_body();
    let mut length = 0;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            length += data.len();
        }
    }
    assert_eq!(status, expected, "{method} {url}");
    Answer { location, length }
}
