//! The HTTP client every outbound request of Slipway goes through (a registry's API and token
//! service, OSV's advisory exports), set up once here so that they trust the same certificate
//! authorities and time out alike.
//!
//! - [`roots`] gathers the system's certificate authorities (`SSL_CERT_FILE` and `SSL_CERT_DIR`
//!   honoured, as `rustls-native-certs` reads them) and any extra ones: a test's own CA, or a
//!   mirror's private one.
//! - [`tls_config`] makes the rustls configuration (the ring provider, safe protocol versions).
//! - [`client`] makes a hyper client over it speaking HTTP/1.1 and HTTP/2 (ALPN) over TLS, and
//!   plain HTTP where a URL says `http://`; connecting gives up after [`CONNECT_TIMEOUT`].
//! - [`error_chain`] spells out one of its errors with every cause: its own message ("client
//!   error (Connect)") says little without them.
//!
//! ```no_run
//! # fn example() -> Result<(), slipway_https::TlsError> {
//! let (roots, _system) = slipway_https::roots(&[]);
//! let client: slipway_https::Client<http_body_util::Empty<bytes::Bytes>> =
//!     slipway_https::client(slipway_https::tls_config(roots)?);
//! # Ok(())
//! # }
//! ```
//!
//! **Architecture Invariant:** knows nothing about what is requested; callers choose their URLs
//! (and whether plain HTTP is acceptable), headers and body handling.

use std::sync::Arc;
use std::time::Duration;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;

/// How long opening a connection may take: an unreachable host (or no network at all) must fail
/// a request rather than hang it.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// The client [`client`] makes, sending bodies of type `B`.
pub type Client<B> = hyper_util::client::legacy::Client<HttpsConnector<HttpConnector>, B>;

/// Why TLS cannot be set up.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up TLS: {0}")]
pub struct TlsError(String);

/// The system's certificate authorities and `extra`, and how many came from the system (none:
/// HTTPS to public hosts cannot be verified; a caller that needs them says how to install them).
/// Certificates that do not parse are skipped, as a browser skips them.
pub fn roots(extra: &[CertificateDer<'static>]) -> (RootCertStore, usize) {
    let mut roots = RootCertStore::empty();
    let (system, _unparsable) =
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    roots.add_parsable_certificates(extra.iter().cloned());
    (roots, system)
}

/// TLS verifying servers against `roots`, with the ring provider and its safe protocol versions.
///
/// # Errors
///
/// The provider supports none of the protocol versions.
pub fn tls_config(roots: RootCertStore) -> Result<rustls::ClientConfig, TlsError> {
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|error| TlsError(error.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth())
}

/// A client for HTTPS with `tls` (HTTP/1.1 or HTTP/2, as the server's ALPN chooses) and plain
/// HTTP, pooling connections, giving up on a connection after [`CONNECT_TIMEOUT`].
pub fn client<B>(tls: rustls::ClientConfig) -> Client<B>
where
    B: hyper::body::Body + Send,
    B::Data: Send,
{
    let mut http = HttpConnector::new();
    // The TLS layer above takes `https://` URLs from it.
    http.enforce_http(false);
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http);
    hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build(connector)
}

/// `error` and its causes, joined with `: `.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("client error (Connect)")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn an_error_is_spelled_out_with_every_cause() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(
            error_chain(&Outer(refused)),
            "client error (Connect): refused"
        );
        assert_eq!(
            error_chain(&TlsError("no".to_owned())),
            "cannot set up TLS: no"
        );
    }
}
