//! Headers on the way through: the host a request names, hop-by-hop headers that stop here,
//! `X-Forwarded-*`, and the request id.
//!
//! The `Host` header is passed to the upstream unchanged (apps build redirects and links from
//! it); the address the client connected from goes into `X-Forwarded-For`, appended to what a
//! proxy in front of this one wrote. `X-Forwarded-Proto` and `X-Forwarded-Host` are replaced,
//! since this proxy is where the client's connection ends.

use std::borrow::Cow;
use std::cell::Cell;
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Uri, Version};

/// `X-Request-Id`: kept when the client sent a usable one, generated otherwise.
pub(crate) static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
static KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
static PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

/// A client's request id longer than this is replaced: ids end up in every log line.
const MAX_REQUEST_ID_LEN: usize = 200;

/// The host a request names, as sent (maybe with a port): the URI's authority (HTTP/2, or an
/// absolute-form HTTP/1.1 target), else the `Host` header.
pub(crate) fn raw_host<B>(request: &Request<B>) -> Option<HeaderValue> {
    match request.uri().authority() {
        Some(authority) => HeaderValue::from_str(authority.as_str()).ok(),
        None => request.headers().get(header::HOST).cloned(),
    }
}

/// The host name routes are matched against: no port, no trailing dot, lower case.
pub(crate) fn normalize_host(raw: &str) -> Cow<'_, str> {
    let without_port = if raw.starts_with('[') {
        // An IPv6 literal: `[::1]:8080` → `[::1]`.
        raw.find(']').map_or(raw, |end| &raw[..=end])
    } else {
        raw.rsplit_once(':').map_or(raw, |(name, _port)| name)
    };
    let name = without_port.strip_suffix('.').unwrap_or(without_port);
    if name.bytes().any(|byte| byte.is_ascii_uppercase()) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    }
}

/// The protocol an HTTP/1.1 request asks to switch to (`Connection: upgrade` with `Upgrade`).
pub(crate) fn upgrade_protocol<B>(request: &Request<B>) -> Option<HeaderValue> {
    if request.version() != Version::HTTP_11 {
        return None;
    }
    let asks = request
        .headers()
        .get_all(header::CONNECTION)
        .iter()
        .any(|value| tokens(value).any(|token| token.eq_ignore_ascii_case("upgrade")));
    if asks {
        request.headers().get(header::UPGRADE).cloned()
    } else {
        None
    }
}

/// The request id to use: the client's when it is printable and short, a new one otherwise.
pub(crate) fn request_id(headers: &HeaderMap) -> HeaderValue {
    match headers.get(&X_REQUEST_ID) {
        Some(id)
            if !id.is_empty()
                && id.len() <= MAX_REQUEST_ID_LEN
                && id.as_bytes().iter().all(|byte| byte.is_ascii_graphic()) =>
        {
            id.clone()
        }
        _ => new_request_id(),
    }
}

/// 32 hex digits: a random per-thread prefix and the thread's count, unique without a random
/// number per request or a counter shared between threads.
fn new_request_id() -> HeaderValue {
    thread_local! {
        // std seeds each thread's RandomState keys from the OS: a cheap random number per thread.
        static PREFIX: u64 = RandomState::new().hash_one(std::process::id());
        static COUNT: Cell<u64> = const { Cell::new(0) };
    }
    let prefix = PREFIX.with(|prefix| *prefix);
    let count = COUNT.with(|count| {
        let value = count.get();
        count.set(value.wrapping_add(1));
        value
    });
    let mut digits = [0u8; 32];
    for (index, digit) in digits.iter_mut().enumerate() {
        let (word, position) = if index < 16 {
            (prefix, 15 - index)
        } else {
            (count, 31 - index)
        };
        *digit = b"0123456789abcdef"[((word >> (position * 4)) & 0xf) as usize];
    }
    HeaderValue::from_bytes(&digits).unwrap_or(HeaderValue::from_static("0"))
}

/// What the proxy adds to a request on its way to an upstream.
#[derive(Debug)]
pub(crate) struct Forwarding<'a> {
    pub(crate) client: IpAddr,
    pub(crate) raw_host: Option<&'a HeaderValue>,
    pub(crate) request_id: &'a HeaderValue,
    /// The protocol to keep asking for, for a request being upgraded.
    pub(crate) upgrade: Option<&'a HeaderValue>,
}

/// Turns a client's request head into the head sent upstream: HTTP/1.1 in origin form, hop-by-hop
/// headers removed (the upgrade pair put back for an upgrade), `Host` present, forwarding
/// headers and the request id set.
pub(crate) fn prepare_request(parts: &mut http::request::Parts, forwarding: &Forwarding<'_>) {
    if parts.uri.scheme().is_some() || parts.uri.authority().is_some() {
        let origin_form = parts.uri.path_and_query().map_or("/", |path| path.as_str());
        parts.uri = Uri::try_from(origin_form).unwrap_or_else(|_| Uri::from_static("/"));
    }
    parts.version = Version::HTTP_11;
    parts.extensions = http::Extensions::new();
    let headers = &mut parts.headers;
    remove_hop_by_hop(headers);
    if let Some(protocol) = forwarding.upgrade {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, protocol.clone());
    }
    if let Some(host) = forwarding.raw_host {
        if !headers.contains_key(header::HOST) {
            headers.insert(header::HOST, host.clone());
        }
        headers.insert(&X_FORWARDED_HOST, host.clone());
    }
    append_forwarded_for(headers, forwarding.client);
    headers.insert(&X_FORWARDED_PROTO, HeaderValue::from_static("http"));
    headers.insert(&X_REQUEST_ID, forwarding.request_id.clone());
}

/// Turns an upstream's response head into the one sent to the client: hop-by-hop headers
/// removed (kept on a 101, which needs them), and the request id added when the upstream did
/// not echo one.
pub(crate) fn prepare_response(parts: &mut http::response::Parts, request_id: &HeaderValue) {
    if parts.status != http::StatusCode::SWITCHING_PROTOCOLS {
        remove_hop_by_hop(&mut parts.headers);
    }
    if !parts.headers.contains_key(&X_REQUEST_ID) {
        parts.headers.insert(&X_REQUEST_ID, request_id.clone());
    }
}

/// Removes the headers that describe one connection (RFC 9110 §7.6.1), including those the
/// `Connection` header names.
fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .flat_map(tokens)
        .filter_map(|token| HeaderName::from_bytes(token.as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        &header::CONNECTION,
        &KEEP_ALIVE,
        &PROXY_CONNECTION,
        &header::PROXY_AUTHORIZATION,
        &header::TE,
        &header::TRAILER,
        &header::TRANSFER_ENCODING,
        &header::UPGRADE,
    ] {
        headers.remove(name);
    }
}

fn append_forwarded_for(headers: &mut HeaderMap, client: IpAddr) {
    let client = client.to_canonical();
    let earlier: Vec<&str> = headers
        .get_all(&X_FORWARDED_FOR)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect();
    let value = if earlier.is_empty() {
        client.to_string()
    } else {
        format!("{}, {client}", earlier.join(", "))
    };
    if let Ok(value) = HeaderValue::from_str(&value) {
        headers.insert(&X_FORWARDED_FOR, value);
    }
}

/// The comma-separated tokens of a header value.
fn tokens(value: &HeaderValue) -> impl Iterator<Item = &str> {
    value
        .to_str()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|token| !token.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(uri: &str, headers: &[(&str, &str)]) -> Request<()> {
        let mut builder = Request::builder().uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap()
    }

    #[test]
    fn hosts_lose_port_case_and_trailing_dot() {
        assert_eq!(normalize_host("Shop.Example.COM:8080"), "shop.example.com");
        assert_eq!(normalize_host("example.com."), "example.com");
        assert_eq!(normalize_host("[::1]:8080"), "[::1]");
        assert_eq!(normalize_host("127.0.0.1"), "127.0.0.1");
        assert!(matches!(normalize_host("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn the_authority_wins_over_the_host_header() {
        let host = |uri, headers| {
            raw_host(&request(uri, headers)).map(|host| host.to_str().unwrap().to_owned())
        };
        assert_eq!(
            host("http://a.com:81/x", &[("host", "b.com")]).as_deref(),
            Some("a.com:81")
        );
        assert_eq!(host("/x", &[("host", "b.com")]).as_deref(), Some("b.com"));
        assert_eq!(raw_host(&request("/x", &[])), None);
    }

    #[test]
    fn upgrades_need_both_headers() {
        let asks = request(
            "/ws",
            &[
                ("connection", "keep-alive, Upgrade"),
                ("upgrade", "websocket"),
            ],
        );
        assert_eq!(
            upgrade_protocol(&asks),
            Some(HeaderValue::from_static("websocket"))
        );
        assert_eq!(
            upgrade_protocol(&request("/ws", &[("upgrade", "websocket")])),
            None
        );
        assert_eq!(
            upgrade_protocol(&request("/ws", &[("connection", "upgrade")])),
            None
        );
    }

    #[test]
    fn request_ids_are_kept_when_usable_and_unique_when_made() {
        let given = request("/", &[("x-request-id", "abc-123")]);
        assert_eq!(request_id(given.headers()), "abc-123");
        let spaced = request("/", &[("x-request-id", "has space")]);
        assert_ne!(request_id(spaced.headers()), "has space");
        let first = request_id(&HeaderMap::new());
        let second = request_id(&HeaderMap::new());
        assert_ne!(first, second);
        assert_eq!(first.len(), 32);
    }

    #[test]
    fn prepared_requests_carry_forwarding_headers_and_no_hop_by_hop_ones() {
        let original = request(
            "http://shop.example.com:8080/cart?x=1",
            &[
                ("connection", "keep-alive, x-secret"),
                ("x-secret", "drop me"),
                ("keep-alive", "timeout=5"),
                ("transfer-encoding", "chunked"),
                ("x-forwarded-for", "203.0.113.7"),
                ("x-forwarded-proto", "https"),
            ],
        );
        let (mut parts, ()) = original.into_parts();
        let id = HeaderValue::from_static("id-1");
        let forwarding = Forwarding {
            client: "::ffff:192.0.2.1".parse().unwrap(),
            raw_host: Some(&HeaderValue::from_static("shop.example.com:8080")),
            request_id: &id,
            upgrade: None,
        };
        prepare_request(&mut parts, &forwarding);
        assert_eq!(parts.uri, "/cart?x=1");
        assert_eq!(parts.version, Version::HTTP_11);
        let headers = &parts.headers;
        for gone in ["connection", "x-secret", "keep-alive", "transfer-encoding"] {
            assert!(!headers.contains_key(gone), "{gone} must not be forwarded");
        }
        assert_eq!(headers["host"], "shop.example.com:8080");
        assert_eq!(headers["x-forwarded-host"], "shop.example.com:8080");
        assert_eq!(headers["x-forwarded-for"], "203.0.113.7, 192.0.2.1");
        assert_eq!(headers["x-forwarded-proto"], "http");
        assert_eq!(headers["x-request-id"], "id-1");
    }

    #[test]
    fn upgrade_requests_keep_asking_for_the_upgrade() {
        let original = request(
            "/ws",
            &[
                ("connection", "Upgrade"),
                ("upgrade", "websocket"),
                ("host", "a"),
            ],
        );
        let protocol = upgrade_protocol(&original).unwrap();
        let (mut parts, ()) = original.into_parts();
        let id = HeaderValue::from_static("id");
        let forwarding = Forwarding {
            client: "127.0.0.1".parse().unwrap(),
            raw_host: Some(&HeaderValue::from_static("a")),
            request_id: &id,
            upgrade: Some(&protocol),
        };
        prepare_request(&mut parts, &forwarding);
        assert_eq!(parts.headers["connection"], "upgrade");
        assert_eq!(parts.headers["upgrade"], "websocket");
    }
}
