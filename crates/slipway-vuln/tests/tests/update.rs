//! `Updater` against a local HTTPS server (tokio-rustls, a self-signed certificate the client
//! trusts) serving an OSV export built here from the RustSec corpus: the first update imports,
//! the next is answered 304 and changes nothing, and a truncated, mismatched or corrupt download
//! is an error that leaves the previous advisories in place.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::Engine;
use sha2::Digest;
use slipway_vuln::{AdvisoryIndex, Fetched, UpdateError, Updater};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// How the server answers a request for the export that is not answered 304.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// The whole export, with its CRC32C announced.
    Whole,
    /// A Content-Length for the whole export, half of it, then the connection closes.
    Truncated,
    /// The whole export, announcing the CRC32C of something else.
    WrongChecksum,
}

/// What the server serves now.
struct Served {
    etag: String,
    export: Vec<u8>,
    answer: Answer,
}

struct Server {
    address: SocketAddr,
    served: Arc<Mutex<Served>>,
    /// The head of every request, lower-cased.
    requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    async fn start(certified: &rcgen::CertifiedKey<rcgen::KeyPair>, served: Served) -> Server {
        let key =
            rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let served = Arc::new(Mutex::new(served));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (task_served, task_requests) = (Arc::clone(&served), Arc::clone(&requests));
        tokio::spawn(async move {
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let acceptor = acceptor.clone();
                let served = Arc::clone(&task_served);
                let requests = Arc::clone(&task_requests);
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let head = read_head(&mut tls).await;
                    requests.lock().unwrap().push(head.clone());
                    let answer = answer(&head, &served.lock().unwrap());
                    let _ = tls.write_all(&answer).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        Server {
            address,
            served,
            requests,
        }
    }

    fn serve(&self, etag: &str, export: Vec<u8>, answer: Answer) {
        *self.served.lock().unwrap() = Served {
            etag: etag.to_owned(),
            export,
            answer,
        };
    }

    fn last_request(&self) -> String {
        self.requests.lock().unwrap().last().cloned().unwrap()
    }
}

async fn read_head(tls: &mut tokio_rustls::server::TlsStream<tokio::net::TcpStream>) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if tls.read(&mut byte).await.unwrap_or(0) == 0 {
            break;
        }
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).to_ascii_lowercase()
}

/// The bytes of the answer to a request with `head`: the server closes every connection after
/// one answer, and says so, as HTTP/1.1 asks.
fn answer(head: &str, served: &Served) -> Vec<u8> {
    if !head.starts_with("get /crates.io/all.zip http/1.1\r\n") {
        return b"HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"
            .to_vec();
    }
    let etag = format!("\"{}\"", served.etag);
    if head.contains(&format!("if-none-match: {etag}\r\n")) {
        return format!("HTTP/1.1 304 Not Modified\r\nconnection: close\r\netag: {etag}\r\n\r\n")
            .into_bytes();
    }
    let announced = match served.answer {
        Answer::WrongChecksum => crc32c(b"something else"),
        _ => crc32c(&served.export),
    };
    let announced = base64::engine::general_purpose::STANDARD.encode(announced.to_be_bytes());
    let mut bytes = format!(
        "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: {}\r\netag: {etag}\r\nlast-modified: Mon, 07 Dec 2026 10:00:00 GMT\r\nx-goog-hash: crc32c={announced}\r\nx-goog-hash: md5=AAAAAAAAAAAAAAAAAAAAAA==\r\n\r\n",
        served.export.len()
    )
    .into_bytes();
    match served.answer {
        Answer::Truncated => bytes.extend_from_slice(&served.export[..served.export.len() / 2]),
        _ => bytes.extend_from_slice(&served.export),
    }
    bytes
}

/// CRC-32C computed bit by bit, independently of the crate's, as the server's announcement.
fn crc32c(data: &[u8]) -> u32 {
    let mut crc = u32::MAX;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// An OSV export (`all.zip`) of the first `limit` records of the RustSec corpus.
fn export(limit: usize) -> Vec<u8> {
    let corpus =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/rustsec-osv/crates");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "json")
        })
        .collect();
    files.sort();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for path in files.iter().take(limit) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        zip.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(&std::fs::read(path).unwrap()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn certificate() -> rcgen::CertifiedKey<rcgen::KeyPair> {
    rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap()
}

/// An updater fetching from `server`, trusting only its certificate.
fn updater(server: &Server, certified: &rcgen::CertifiedKey<rcgen::KeyPair>) -> Updater {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(certified.cert.der().clone()).unwrap();
    let tls = slipway_https::tls_config(roots).unwrap();
    let base = format!("https://localhost:{}/", server.address.port());
    Updater::new(&base, tls).unwrap()
}

fn advisories(index: &AdvisoryIndex) -> u64 {
    index.status().unwrap().advisories
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir.join("osv"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".part"))
        .collect()
}

#[tokio::test]
async fn an_export_is_imported_once_and_then_answered_not_modified() {
    let certified = certificate();
    let whole = export(usize::MAX);
    let server = Server::start(
        &certified,
        Served {
            etag: "v1".to_owned(),
            export: whole.clone(),
            answer: Answer::Whole,
        },
    )
    .await;
    let updater = updater(&server, &certified);
    let dir = tempfile::tempdir().unwrap();
    let index = AdvisoryIndex::open(dir.path()).unwrap();
    let mut heard = Vec::new();

    let first = updater
        .update(&index, &["crates.io"], &mut |what| {
            heard.push(what.to_owned())
        })
        .await
        .unwrap();
    assert!(first.rebuilt);
    assert_eq!(first.ecosystems[0].fetched, Fetched::Downloaded);
    assert_eq!(
        first.ecosystems[0].sha256,
        hex::encode(sha2::Sha256::digest(&whole))
    );
    assert_eq!(first.ecosystems[0].bytes, whole.len() as u64);
    assert_eq!(
        first.advisories, 1193,
        "the corpus less its withdrawn records"
    );
    assert_eq!(advisories(&index), 1193);
    assert!(
        heard.iter().any(|what| what.contains("/crates.io/all.zip")),
        "{heard:?}"
    );
    let first_check = index.updated_at().unwrap().unwrap();

    let second = updater
        .update(&index, &["crates.io"], &mut |_| {})
        .await
        .unwrap();
    assert!(
        server.last_request().contains("if-none-match: \"v1\"\r\n")
            && server
                .last_request()
                .contains("if-modified-since: mon, 07 dec 2026 10:00:00 gmt\r\n"),
        "{}",
        server.last_request()
    );
    assert!(!second.rebuilt, "304: nothing is imported again");
    assert_eq!(second.ecosystems[0].fetched, Fetched::Unchanged);
    assert_eq!(second.ecosystems[0].sha256, first.ecosystems[0].sha256);
    assert_eq!(advisories(&index), 1193);
    assert!(
        index.updated_at().unwrap().unwrap() >= first_check,
        "the check counts as fresh"
    );
}

#[tokio::test]
async fn a_failed_download_leaves_the_previous_advisories_and_a_good_one_replaces_them() {
    let certified = certificate();
    let server = Server::start(
        &certified,
        Served {
            etag: "v1".to_owned(),
            export: export(usize::MAX),
            answer: Answer::Whole,
        },
    )
    .await;
    let updater = updater(&server, &certified);
    let dir = tempfile::tempdir().unwrap();
    let index = AdvisoryIndex::open(dir.path()).unwrap();
    updater
        .update(&index, &["crates.io"], &mut |_| {})
        .await
        .unwrap();
    assert_eq!(advisories(&index), 1193);
    let kept = std::fs::read(dir.path().join("osv/crates.io.zip")).unwrap();

    let smaller = export(10);
    server.serve("v2", smaller.clone(), Answer::Truncated);
    let truncated = updater.update(&index, &["crates.io"], &mut |_| {}).await;
    assert!(
        matches!(truncated, Err(UpdateError::Transfer { .. })),
        "{truncated:?}"
    );

    server.serve("v2", smaller.clone(), Answer::WrongChecksum);
    let mismatched = updater.update(&index, &["crates.io"], &mut |_| {}).await;
    let Err(UpdateError::Checksum { algorithm, .. }) = &mismatched else {
        panic!("a checksum mismatch is an error: {mismatched:?}")
    };
    assert_eq!(*algorithm, "CRC32C");
    assert!(
        mismatched
            .unwrap_err()
            .to_string()
            .contains("the server announced"),
        "the message says which hash differed"
    );

    server.serve("v2", b"not a zip archive".to_vec(), Answer::Whole);
    let corrupt = updater.update(&index, &["crates.io"], &mut |_| {}).await;
    assert!(matches!(corrupt, Err(UpdateError::Index(_))), "{corrupt:?}");

    assert_eq!(
        advisories(&index),
        1193,
        "the previous advisories are intact"
    );
    assert_eq!(
        std::fs::read(dir.path().join("osv/crates.io.zip")).unwrap(),
        kept,
        "and so is the export they came from"
    );
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());

    server.serve("v2", smaller, Answer::Whole);
    let replaced = updater
        .update(&index, &["crates.io"], &mut |_| {})
        .await
        .unwrap();
    assert_eq!(replaced.ecosystems[0].fetched, Fetched::Downloaded);
    assert!(
        !server.last_request().contains("if-none-match: \"v2\""),
        "no failed download was taken for current"
    );
    assert_eq!(
        advisories(&index),
        10,
        "the index holds the new export, nothing of the old"
    );
}
