//! Building answers: bodies, error documents, the headers every answer carries.

use std::io;

use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full, StreamBody};
use hyper::body::Frame;
use serde::Serialize;

use super::headers::API_VERSION;
use crate::error::{ErrorCode, RegistryError};
use crate::storage::ByteStream;

/// The body of every answer.
pub type Body = UnsyncBoxBody<Bytes, io::Error>;

pub(crate) fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}

pub(crate) fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

pub(crate) fn stream(body: ByteStream) -> Body {
    StreamBody::new(body.map(|chunk| chunk.map(Frame::data))).boxed_unsync()
}

/// A response builder with the headers every answer carries.
pub(crate) fn builder(status: StatusCode) -> http::response::Builder {
    Response::builder()
        .status(status)
        .header(API_VERSION, HeaderValue::from_static("registry/2.0"))
}

/// Finishes a builder; the headers set by this crate are always valid, so a failure is a bug
/// reported as a 500 rather than a panic.
pub(crate) fn finish(builder: http::response::Builder, body: Body) -> Response<Body> {
    builder.body(body).unwrap_or_else(|error| {
        tracing::error!(%error, "built an invalid response");
        let mut response = Response::new(empty());
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        response
    })
}

/// A JSON document answer.
pub(crate) fn json(status: StatusCode, value: &impl Serialize) -> Response<Body> {
    match serde_json::to_vec(value) {
        Ok(bytes) => finish(
            builder(status)
                .header(http::header::CONTENT_TYPE, "application/json")
                .header(http::header::CONTENT_LENGTH, bytes.len()),
            full(bytes),
        ),
        Err(error) => failure(
            ErrorCode::Unknown,
            StatusCode::INTERNAL_SERVER_ERROR,
            error.to_string(),
            None,
        ),
    }
}

#[derive(Serialize)]
struct ErrorDocument<'a> {
    errors: [ErrorEntry<'a>; 1],
}

#[derive(Serialize)]
struct ErrorEntry<'a> {
    code: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<serde_json::Value>,
}

/// An error answer in the spec's format.
pub(crate) fn failure(
    code: ErrorCode,
    status: StatusCode,
    message: String,
    detail: Option<serde_json::Value>,
) -> Response<Body> {
    let document = ErrorDocument {
        errors: [ErrorEntry {
            code: code.as_str(),
            message,
            detail,
        }],
    };
    let bytes = serde_json::to_vec(&document).unwrap_or_default();
    finish(
        builder(status)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::CONTENT_LENGTH, bytes.len()),
        full(bytes),
    )
}

/// The answer for a registry error, with what it concerns in `detail`.
pub(crate) fn registry_error(error: &RegistryError) -> Response<Body> {
    let status = error.status();
    if status.is_server_error() {
        tracing::error!(%error, "request failed");
    }
    let detail = match error {
        RegistryError::BlobUnknown { digest, .. }
        | RegistryError::ManifestBlobUnknown { digest, .. } => {
            Some(serde_json::json!({ "digest": digest.to_string() }))
        }
        RegistryError::ManifestUnknown { reference, .. } => {
            Some(serde_json::json!({ "reference": reference }))
        }
        RegistryError::NameUnknown(name) => Some(serde_json::json!({ "name": name.to_string() })),
        _ => None,
    };
    failure(error.code(), status, error.to_string(), detail)
}

/// An error answer for a code without a registry error behind it.
pub(crate) fn code(
    code: ErrorCode,
    status: StatusCode,
    message: impl Into<String>,
) -> Response<Body> {
    failure(code, status, message.into(), None)
}
