//! Entry points for the fuzz targets in `fuzz/`: the parsers every request reaches, with
//! arbitrary input. Not part of the API.

use http::{HeaderMap, HeaderValue};

use crate::digest::Digest;
use crate::name::{Reference, RepositoryName, Tag};

/// Parses `path` as a route, `range` as a `Range` header and `content_range` as a
/// `Content-Range` header, and `text` as a digest, name, tag and reference, checking the
/// invariants each parser promises.
pub fn request(path: &str, range: &[u8], content_range: &[u8], text: &str) {
    let _ = crate::http::fuzz_route(path);
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(range) {
        headers.insert(http::header::RANGE, value);
    }
    if let Ok(value) = HeaderValue::from_bytes(content_range) {
        headers.insert(http::header::CONTENT_RANGE, value);
    }
    crate::http::fuzz_headers(&headers);
    if let Ok(digest) = text.parse::<Digest>() {
        assert_eq!(digest.to_string(), text, "a digest prints as it parsed");
    }
    if let Ok(name) = text.parse::<RepositoryName>() {
        assert!(
            name.components()
                .all(|part| !part.is_empty() && !part.starts_with('.'))
        );
    }
    if let Ok(tag) = text.parse::<Tag>() {
        assert!(!tag.as_str().contains('/'));
    }
    let _ = text.parse::<Reference>();
}
