//! The request headers and query parameters the registry reads.

use std::borrow::Cow;

use http::HeaderMap;
use http::header::{CONTENT_TYPE, RANGE};

use crate::registry::{ChunkRange, RangeRequest};

/// `Docker-Content-Digest`.
pub(crate) const DOCKER_CONTENT_DIGEST: &str = "docker-content-digest";
/// `Docker-Upload-UUID`.
pub(crate) const DOCKER_UPLOAD_UUID: &str = "docker-upload-uuid";
/// `Docker-Distribution-API-Version`.
pub(crate) const API_VERSION: &str = "docker-distribution-api-version";
/// `OCI-Subject`.
pub(crate) const OCI_SUBJECT: &str = "oci-subject";
/// `OCI-Filters-Applied`.
pub(crate) const OCI_FILTERS_APPLIED: &str = "oci-filters-applied";

/// A request's query parameters, decoded.
#[derive(Debug, Default)]
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    pub(crate) fn parse(query: Option<&str>) -> Query {
        Query(
            query
                .map(|query| {
                    form_urlencoded::parse(query.as_bytes())
                        .into_owned()
                        .collect()
                })
                .unwrap_or_default(),
        )
    }

    /// The first value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Every value of `name`.
    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        self.0
            .iter()
            .filter(move |(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// The `Content-Type` without parameters, if any was sent.
pub(crate) fn media_type(headers: &HeaderMap) -> Option<Cow<'_, str>> {
    let value = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    let bare = value.split(';').next().unwrap_or("").trim();
    (!bare.is_empty()).then_some(Cow::Borrowed(bare))
}

/// A header that does not say what the registry can use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadHeader(pub(crate) String);

/// The single byte range a `Range` header asks for. Several ranges, or a unit other than bytes,
/// are answered with the whole blob, as RFC 9110 allows; a malformed header is an error.
pub(crate) fn range(headers: &HeaderMap) -> Result<Option<RangeRequest>, BadHeader> {
    let Some(value) = headers.get(RANGE) else {
        return Ok(None);
    };
    let bad = || BadHeader(format!("unreadable Range header {value:?}"));
    let value = value.to_str().map_err(|_| bad())?.trim();
    let Some(spec) = value.strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let (start, end) = spec.trim().split_once('-').ok_or_else(bad)?;
    let number = |text: &str| text.trim().parse::<u64>().map_err(|_| bad());
    Ok(Some(match (start.trim(), end.trim()) {
        ("", suffix) => RangeRequest::Last(number(suffix)?),
        (start, "") => RangeRequest::From {
            start: number(start)?,
            end: None,
        },
        (start, end) => {
            let (start, end) = (number(start)?, number(end)?);
            if end < start {
                return Err(bad());
            }
            RangeRequest::From {
                start,
                end: Some(end),
            }
        }
    }))
}

/// The chunk a `Content-Range` header places: `start-end`, as the spec writes it. The forms
/// other clients send, `bytes start-end/total` and `bytes=start-end`, are read too.
pub(crate) fn content_range(headers: &HeaderMap) -> Result<Option<ChunkRange>, BadHeader> {
    let Some(value) = headers.get(http::header::CONTENT_RANGE) else {
        return Ok(None);
    };
    let bad = || BadHeader(format!("Content-Range {value:?} is not START-END"));
    let text = value.to_str().map_err(|_| bad())?.trim();
    let text = text
        .strip_prefix("bytes")
        .map_or(text, |rest| rest.trim_start_matches([' ', '=']));
    let text = text.split_once('/').map_or(text, |(range, _total)| range);
    let (start, end) = text.split_once('-').ok_or_else(bad)?;
    let start = start.trim().parse().map_err(|_| bad())?;
    let end = end.trim().parse().map_err(|_| bad())?;
    ChunkRange::new(start, end).map(Some).ok_or_else(bad)
}

/// The `Content-Length` header, if sent and readable.
pub(crate) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use proptest::prelude::*;

    fn headers(name: http::header::HeaderName, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn ranges() {
        let parse = |value: &str| range(&headers(RANGE, value));
        assert_eq!(
            parse("bytes=0-9"),
            Ok(Some(RangeRequest::From {
                start: 0,
                end: Some(9)
            }))
        );
        assert_eq!(
            parse("bytes=5-"),
            Ok(Some(RangeRequest::From {
                start: 5,
                end: None
            }))
        );
        assert_eq!(parse("bytes=-3"), Ok(Some(RangeRequest::Last(3))));
        assert_eq!(parse("bytes=0-1,4-5"), Ok(None));
        assert_eq!(parse("items=0-1"), Ok(None));
        assert!(parse("bytes=9-1").is_err());
        assert!(parse("bytes=a-b").is_err());
        assert_eq!(range(&HeaderMap::new()), Ok(None));
    }

    #[test]
    fn content_ranges_in_every_form_clients_send() {
        let parse = |value: &str| content_range(&headers(http::header::CONTENT_RANGE, value));
        for value in ["0-99", "bytes 0-99/100", "bytes=0-99", "bytes 0-99/*"] {
            assert_eq!(parse(value), Ok(ChunkRange::new(0, 99)), "{value}");
        }
        for value in ["99-0", "x", "0-", "-5"] {
            assert!(parse(value).is_err(), "{value}");
        }
    }

    #[test]
    fn media_types_lose_their_parameters() {
        let map = headers(
            CONTENT_TYPE,
            "application/vnd.oci.image.manifest.v1+json; charset=utf-8",
        );
        assert_eq!(
            media_type(&map).as_deref(),
            Some("application/vnd.oci.image.manifest.v1+json")
        );
    }

    #[test]
    fn queries_decode_and_repeat() {
        let query = Query::parse(Some("scope=a%3Ab&scope=c&n=2"));
        assert_eq!(query.get("n"), Some("2"));
        assert_eq!(query.all("scope").collect::<Vec<_>>(), ["a:b", "c"]);
    }

    proptest! {
        #[test]
        fn header_parsing_never_panics(value in "[ -~]{0,40}") {
            if let Ok(value) = HeaderValue::from_str(&value) {
                let mut map = HeaderMap::new();
                map.insert(RANGE, value.clone());
                map.insert(http::header::CONTENT_RANGE, value);
                let _ = range(&map);
                if let Ok(Some(chunk)) = content_range(&map) {
                    prop_assert!(chunk.length() >= 1);
                }
            }
        }
    }
}
