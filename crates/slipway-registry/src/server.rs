//! [`Server`]: the registry's HTTP API on a socket, over plain HTTP or TLS (rustls), HTTP/1.1
//! and HTTP/2.
//!
//! [`Server::start`] binds and returns at once with the address it got (bind port 0 for any free
//! port); connections are served on their own tasks until [`Server::shutdown`], which stops
//! accepting, lets requests in flight finish for a while, and then drops what is left.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::http::RegistryService;

/// How long requests in flight may run on after a shutdown begins.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where and how to listen.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The address to bind; port 0 for any free port.
    pub address: SocketAddr,
    /// Serve HTTPS with this certificate; `None` for plain HTTP.
    pub tls: Option<TlsConfig>,
}

impl ServerOptions {
    /// Plain HTTP on `address`.
    pub fn new(address: SocketAddr) -> ServerOptions {
        ServerOptions { address, tls: None }
    }
}

/// A loaded certificate and key.
#[derive(Clone)]
pub struct TlsConfig(Arc<rustls::ServerConfig>);

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsConfig(..)")
    }
}

impl TlsConfig {
    /// Loads a PEM certificate chain and private key.
    pub fn load(certificate: &Path, key: &Path) -> Result<TlsConfig, ServeError> {
        let certificates = CertificateDer::pem_file_iter(certificate)
            .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
            .map_err(|error| ServeError::Tls {
                path: certificate.to_path_buf(),
                reason: error.to_string(),
            })?;
        if certificates.is_empty() {
            return Err(ServeError::Tls {
                path: certificate.to_path_buf(),
                reason: "no certificate in the file".to_owned(),
            });
        }
        let key_der = PrivateKeyDer::from_pem_file(key).map_err(|error| ServeError::Tls {
            path: key.to_path_buf(),
            reason: error.to_string(),
        })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|builder| {
                builder
                    .with_no_client_auth()
                    .with_single_cert(certificates, key_der)
            })
            .map_err(|error| ServeError::Tls {
                path: key.to_path_buf(),
                reason: error.to_string(),
            })?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(TlsConfig(Arc::new(config)))
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The certificate or key cannot be used.
    #[error("{}: {reason}", path.display())]
    Tls {
        /// The certificate or key file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    local_addr: SocketAddr,
    stop: oneshot::Sender<()>,
    accepting: JoinHandle<()>,
}

impl Server {
    /// Binds `options.address` and serves `service` until [`Server::shutdown`].
    pub async fn start(
        service: RegistryService,
        options: ServerOptions,
    ) -> Result<Server, ServeError> {
        let listener =
            TcpListener::bind(options.address)
                .await
                .map_err(|source| ServeError::Bind {
                    address: options.address,
                    source,
                })?;
        let local_addr = listener.local_addr().map_err(|source| ServeError::Bind {
            address: options.address,
            source,
        })?;
        let (stop, stopped) = oneshot::channel();
        let acceptor = options.tls.map(|tls| TlsAcceptor::from(tls.0));
        let accepting = tokio::spawn(accept(listener, service, acceptor, stopped));
        Ok(Server {
            local_addr,
            stop,
            accepting,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting connections and waits for requests in flight (for a while).
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.accepting.await;
    }
}

async fn accept(
    listener: TcpListener,
    service: RegistryService,
    tls: Option<TlsAcceptor>,
    mut stopped: oneshot::Receiver<()>,
) {
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, say: wait instead of spinning.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut stopped => break,
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(
            stream,
            peer,
            service.clone(),
            tls.clone(),
            graceful.watcher(),
        ));
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "requests still running {DRAIN_TIMEOUT:?} after shutdown began were dropped"
        );
    }
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    service: RegistryService,
    tls: Option<TlsAcceptor>,
    watcher: Watcher,
) {
    match tls {
        None => serve(stream, service, watcher).await,
        Some(acceptor) => {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(stream)) => serve(stream, service, watcher).await,
                Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        }
    }
}

async fn serve<S>(stream: S, service: RegistryService, watcher: Watcher)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let handler = service_fn(move |request| {
        let service = service.clone();
        async move { Ok::<_, Infallible>(service.handle(request).await) }
    });
    let builder = auto::Builder::new(TokioExecutor::new());
    let connection = builder
        .serve_connection(TokioIo::new(stream), handler)
        .into_owned();
    if let Err(error) = watcher.watch(connection).await {
        tracing::debug!(%error, "connection ended with an error");
    }
}
