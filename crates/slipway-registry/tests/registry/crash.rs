//! SIGKILL during uploads and garbage collection: after a restart every image whose push
//! completed still pulls completely, and no blob in the store is partial.
//!
//! The registry runs in a child process (this test binary again, in the `serve` role) that
//! collects garbage in a loop while clients push; the parent kills it with SIGKILL at a random
//! moment, several times over the same storage, then checks the storage with a fresh registry.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use http::{Method, StatusCode};
use rand::Rng;
use slipway_registry::{
    Digest, GcOptions, Registry, RegistryOptions, RegistryService, Server, ServerOptions,
};

use crate::collection::pull_completely;
use crate::support::*;

const ROLE: &str = "SLIPWAY_REGISTRY_TEST_ROLE";
const STORAGE: &str = "SLIPWAY_REGISTRY_TEST_STORAGE";
const TEST: &str = "crash::sigkill_during_uploads_and_collection_loses_no_complete_image";

/// The child's part: serve the storage and collect garbage without pause until killed.
async fn serve_and_collect() {
    let storage = std::env::var(STORAGE).unwrap();
    let registry = Arc::new(Registry::open(storage.as_ref(), RegistryOptions::default()).unwrap());
    let service = RegistryService::new(Arc::clone(&registry), None, 1024, false);
    let server = Server::start(service, ServerOptions::new("127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap();
    println!("listening {}", server.local_addr());
    // A grace period longer than any push of this test takes.
    let options = GcOptions {
        grace: Duration::from_secs(2),
        upload_expiry: Duration::from_secs(3600),
    };
    loop {
        registry.collect_garbage(&options).await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A child registry process, killed when dropped.
struct RegistryProcess {
    child: Child,
    address: SocketAddr,
}

impl RegistryProcess {
    fn spawn(storage: &std::path::Path) -> RegistryProcess {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([TEST, "--exact", "--nocapture"])
            .env(ROLE, "serve")
            .env(STORAGE, storage)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let address = loop {
            let line = lines
                .next()
                .expect("the child exited before listening")
                .unwrap();
            if let Some(address) = line.strip_prefix("listening ") {
                break address.parse().unwrap();
            }
        };
        RegistryProcess { child, address }
    }

    fn kill(mut self) {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for RegistryProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Pushes images until the registry goes away, in chunks of random sizes, and returns the
/// (tag, digest) of every image whose manifest push was answered `201`.
async fn push_until_killed(
    client: Client,
    pusher: usize,
    round: usize,
    seed: u64,
) -> Vec<(String, Digest)> {
    use rand::SeedableRng as _;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut completed = Vec::new();
    for step in 0.. {
        let tag = format!("r{round}-p{pusher}-{step}");
        let layer: Vec<u8> = (0..rng.random_range(1_000..400_000))
            .map(|_| rng.random())
            .collect();
        let shared = format!("shared layer {}", step % 3).into_bytes();
        let config = format!("{{\"tag\": \"{tag}\"}}").into_bytes();
        let mut pushed = true;
        for blob in [&config, &shared, &layer] {
            if !push_in_chunks(&client, blob, &mut rng).await {
                pushed = false;
                break;
            }
        }
        if !pushed {
            break;
        }
        let manifest = image_manifest(&config, &[&shared, &layer], None);
        match try_send(
            &client,
            Method::PUT,
            &format!("/v2/crash/app/manifests/{tag}"),
            &[("content-type", OCI_MANIFEST)],
            manifest.clone(),
        )
        .await
        {
            Some(status) if status == StatusCode::CREATED => {
                completed.push((tag, Digest::sha256(&manifest)))
            }
            Some(_) => {}
            None => break,
        }
    }
    completed
}

/// Uploads `content` in one to three PATCHes; `false` once the registry stops answering.
async fn push_in_chunks(client: &Client, content: &[u8], rng: &mut impl Rng) -> bool {
    let Some(location) = try_location(
        client,
        Method::POST,
        "/v2/crash/app/blobs/uploads/",
        &[],
        Vec::new(),
    )
    .await
    else {
        return false;
    };
    let mut start = 0;
    let mut location = location;
    while start < content.len() {
        let end = (start + rng.random_range(1..=content.len())).min(content.len());
        let range = format!("{start}-{}", end - 1);
        match try_location(
            client,
            Method::PATCH,
            &location,
            &[("content-range", &range)],
            content[start..end].to_vec(),
        )
        .await
        {
            Some(next) => location = next,
            None => return false,
        }
        start = end;
    }
    let digest = Digest::sha256(content);
    try_send(
        client,
        Method::PUT,
        &with_query(&location, &format!("digest={digest}")),
        &[],
        Vec::new(),
    )
    .await
    .is_some()
}

async fn try_location(
    client: &Client,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Option<String> {
    let answer = client.try_send(method, path, headers, body).await?;
    answer.status.is_success().then(|| answer.location())
}

async fn try_send(
    client: &Client,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Option<StatusCode> {
    client
        .try_send(method, path, headers, body)
        .await
        .map(|answer| answer.status)
}

/// Every blob file hashes to its name.
fn every_blob_is_whole(storage: &std::path::Path) -> usize {
    let mut checked = 0;
    let mut pending = vec![storage.join("blobs")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            if entry.file_type().unwrap().is_dir() {
                pending.push(entry.path());
                continue;
            }
            let algorithm = entry
                .path()
                .parent()
                .unwrap()
                .parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let name = format!("{algorithm}:{}", entry.file_name().to_string_lossy());
            let content = std::fs::read(entry.path()).unwrap();
            assert_eq!(
                Digest::of(name.parse::<Digest>().unwrap().algorithm(), &content).to_string(),
                name,
                "a partial or damaged blob"
            );
            checked += 1;
        }
    }
    checked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_uploads_and_collection_loses_no_complete_image() {
    if std::env::var(ROLE).as_deref() == Ok("serve") {
        return serve_and_collect().await;
    }
    let storage = tempfile::tempdir().unwrap();
    let mut rng = seeded_rng(TEST);
    let mut completed = Vec::new();
    for round in 0..4 {
        let child = RegistryProcess::spawn(storage.path());
        let pushers: Vec<_> = (0..3)
            .map(|pusher| {
                tokio::spawn(push_until_killed(
                    Client::new(child.address),
                    pusher,
                    round,
                    rng.random(),
                ))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(rng.random_range(300..1500))).await;
        child.kill();
        for pusher in pushers {
            completed.extend(pusher.await.unwrap());
        }
    }
    assert!(
        completed.len() >= 4,
        "too few pushes completed to test anything: {}",
        completed.len()
    );

    let checked = every_blob_is_whole(storage.path());
    let registry = TestRegistry::start_in(storage, RegistryOptions::default(), None, 64).await;
    let client = registry.client();
    for (tag, digest) in &completed {
        assert_eq!(
            &pull_completely(&client, "crash/app", tag).await,
            digest,
            "{tag}"
        );
    }
    eprintln!("{} images complete, {checked} blobs whole", completed.len());
    // Collecting now, with nothing in flight, keeps every complete image too.
    registry
        .registry
        .collect_garbage(&GcOptions {
            grace: Duration::ZERO,
            upload_expiry: Duration::ZERO,
        })
        .await
        .unwrap();
    for (tag, _) in &completed {
        pull_completely(&client, "crash/app", tag).await;
    }
    every_blob_is_whole(registry.dir.path());
}
