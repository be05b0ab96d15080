//! Builds over the Docker Engine API (`POST /build`, the classic builder both engines serve).
//!
//! The engine answers a build with a stream of JSON messages: log text (`stream`), progress
//! (`status`), the built image id (`aux.ID`) and, when a step fails, an `errorDetail`. They
//! become [`BuildEvent`]s; a failure becomes [`EngineError::BuildFailed`] carrying the last lines
//! of output, which hold the failing command's own messages. A stream that ends without an image
//! id means the engine went away mid-build.
//!
//! Labels are sent as JSON with sorted keys, so Docker sees them in a fixed order. Podman decodes
//! them into a Go map and applies them as one `LABEL` step each, in that map's iteration order,
//! which varies between builds; steps in another order miss the cache. A caller that needs a
//! rebuild with several labels to be fully cached puts them in the Dockerfile as one `LABEL`
//! instruction instead (as `slipway build` does).
//!
//! Every tag goes in the build request, one `t` parameter each, as `docker build -t a -t b` sends
//! them: the engine names the image with all of them when it commits it, where a `POST /tag` per
//! extra tag afterwards would cost a round trip each.

use std::collections::{BTreeMap, HashMap, VecDeque};

use bollard::errors::Error as BollardError;
use bollard::models::BuildInfo;
use bollard::query_parameters::BuildImageOptions;
use bollard::{BollardRequest, Docker};
use futures::StreamExt;
use futures::stream::BoxStream;
use hyper::Uri;

use super::errors::{Doing, translate};
use super::upload::Upload;
use crate::engine::ByteStream;
use crate::error::EngineError;
use crate::image::{BuildEvent, BuildSpec, ImageId};

/// How many lines of output a [`EngineError::BuildFailed`] carries.
const FAILURE_OUTPUT_LINES: usize = 20;

/// Runs a build. `docker` should have a long request timeout: the engine may read the whole
/// context before it answers.
pub(crate) fn build(
    docker: Docker,
    spec: BuildSpec,
    context: ByteStream,
) -> BoxStream<'static, Result<BuildEvent, EngineError>> {
    Box::pin(async_stream::stream! {
        let upload = Upload::default();
        let body = bollard::body_try_stream(upload.watch(context));
        let mut recent = RecentLines::new(FAILURE_OUTPUT_LINES);
        let mut image_id = None;
        let builder = with_query_parameters(docker, extra_parameters(&spec));
        let mut messages = builder.build_image(build_options(&spec), None, Some(body));
        while let Some(message) = messages.next().await {
            match message {
                Ok(message) => {
                    if let Some(id) = built_image_id(&message) {
                        image_id = Some(id);
                    }
                    if let Some(text) = output_text(message) {
                        recent.push(&text);
                        yield Ok(BuildEvent::Output(text));
                    }
                }
                Err(error) => {
                    yield Err(upload.failure("reading the build context").unwrap_or_else(|| failure(error, &recent)));
                    return;
                }
            }
        }
        drop(messages);
        let Some(image_id) = image_id else {
            yield Err(EngineError::Disconnected {
                during: "building an image".to_owned(),
                cause: "the build output ended before the engine reported an image".to_owned(),
            });
            return;
        };
        yield Ok(BuildEvent::Built { image_id });
    })
}

fn build_options(spec: &BuildSpec) -> BuildImageOptions {
    let non_empty = |map: &BTreeMap<String, String>| {
        (!map.is_empty()).then(|| map.clone().into_iter().collect::<HashMap<_, _>>())
    };
    BuildImageOptions {
        dockerfile: spec.dockerfile.clone(),
        // The others are sent by `with_query_parameters`.
        t: spec.tags.first().cloned(),
        nocache: spec.no_cache,
        cachefrom: (!spec.cache_from.is_empty()).then(|| spec.cache_from.clone()),
        // Remove intermediate containers, even when a step fails.
        rm: true,
        forcerm: true,
        buildargs: non_empty(&spec.build_args),
        // Sent by `with_query_parameters`, in order.
        labels: None,
        platform: spec.platform.clone().unwrap_or_default(),
        target: spec.target.clone().unwrap_or_default(),
        ..BuildImageOptions::default()
    }
}

/// What the build request's query needs beyond `build_options` (already encoded): the tags after
/// the first, and the labels as JSON with sorted keys.
fn extra_parameters(spec: &BuildSpec) -> Vec<String> {
    let tags = spec
        .tags
        .iter()
        .skip(1)
        .map(|tag| format!("t={}", percent_encode(tag)));
    tags.chain(labels_parameter(&spec.labels)).collect()
}

/// A client that adds `parameters` to the query of its requests.
fn with_query_parameters(docker: Docker, parameters: Vec<String>) -> Docker {
    if parameters.is_empty() {
        return docker;
    }
    docker.with_request_modifier(move |mut request: BollardRequest| {
        for parameter in &parameters {
            if let Some(uri) = with_query_parameter(request.uri(), parameter) {
                *request.uri_mut() = uri;
            }
        }
        request
    })
}

/// `labels=…` for a query; `None` without labels.
fn labels_parameter(labels: &BTreeMap<String, String>) -> Option<String> {
    if labels.is_empty() {
        return None;
    }
    // A map of strings always serializes.
    let json = serde_json::to_string(labels).ok()?;
    Some(format!("labels={}", percent_encode(&json)))
}

/// `uri` with `parameter` (already encoded) added to its query.
fn with_query_parameter(uri: &Uri, parameter: &str) -> Option<Uri> {
    let mut parts = uri.clone().into_parts();
    let path_and_query = parts
        .path_and_query
        .as_ref()
        .map_or_else(|| "/".to_owned(), ToString::to_string);
    let separator = if path_and_query.contains('?') {
        '&'
    } else {
        '?'
    };
    parts.path_and_query = Some(
        format!("{path_and_query}{separator}{parameter}")
            .parse()
            .ok()?,
    );
    Uri::from_parts(parts).ok()
}

/// Percent-encodes everything but the characters a query value may hold as they are.
fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// The image id a message announces (`{"aux":{"ID":"sha256:…"}}`).
fn built_image_id(message: &BuildInfo) -> Option<ImageId> {
    let id = message.aux.as_ref()?.id.as_ref()?;
    Some(ImageId::new(id.clone()))
}

/// The log text of a message: its `stream` text, or a progress `status` as a line of its own.
fn output_text(message: BuildInfo) -> Option<String> {
    if let Some(text) = message.stream.filter(|text| !text.is_empty()) {
        return Some(text);
    }
    let status = message.status.filter(|status| !status.is_empty())?;
    Some(match message.id {
        Some(id) if !id.is_empty() => format!("{id}: {status}\n"),
        _ => format!("{status}\n"),
    })
}

/// What a failed build reports: the engine's message with the output that led to it.
fn failure(error: BollardError, recent: &RecentLines) -> EngineError {
    match error {
        // A step failed (`errorDetail` in the stream), or the engine refused the build outright
        // (a Dockerfile it cannot parse, an unknown target).
        BollardError::DockerStreamError { error: message }
        | BollardError::DockerResponseServerError { message, .. } => EngineError::BuildFailed {
            message: message.trim().to_owned(),
            output: recent.text(),
        },
        other => translate(other, Doing::new("building an image")),
    }
}

/// The last lines of build output.
#[derive(Debug)]
struct RecentLines {
    lines: VecDeque<String>,
    capacity: usize,
}

impl RecentLines {
    fn new(capacity: usize) -> RecentLines {
        RecentLines {
            lines: VecDeque::with_capacity(capacity),
            capacity,
        }
    }

    fn push(&mut self, text: &str) {
        for line in text.lines().filter(|line| !line.trim().is_empty()) {
            if self.lines.len() == self.capacity {
                self.lines.pop_front();
            }
            self.lines.push_back(line.to_owned());
        }
    }

    fn text(&self) -> String {
        let lines: Vec<&str> = self.lines.iter().map(String::as_str).collect();
        lines.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::ImageId as ApiImageId;

    fn message(json: &str) -> BuildInfo {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn options_carry_the_spec() {
        let spec = BuildSpec::new()
            .dockerfile("docker/Dockerfile.prod")
            .tag("app:1")
            .tag("app:latest")
            .build_arg("VERSION", "1.2.3")
            .label("org.opencontainers.image.revision", "abc123")
            .target("runtime")
            .no_cache(true);
        let options = build_options(&spec);
        assert_eq!(options.dockerfile, "docker/Dockerfile.prod");
        assert_eq!(options.t.as_deref(), Some("app:1"));
        assert_eq!(options.buildargs.unwrap()["VERSION"], "1.2.3");
        assert_eq!(
            options.labels, None,
            "labels go in the query in order, see with_query_parameters"
        );
        assert_eq!(options.target, "runtime");
        assert!(options.nocache && options.rm && options.forcerm);
        assert_eq!(options.cachefrom, None);
    }

    #[test]
    fn labels_are_added_to_the_query_in_key_order() {
        let labels = BTreeMap::from([
            ("b".to_owned(), "2 & 3".to_owned()),
            ("a".to_owned(), "1".to_owned()),
        ]);
        let parameter = labels_parameter(&labels).unwrap();
        assert_eq!(
            parameter,
            "labels=%7B%22a%22%3A%221%22%2C%22b%22%3A%222%20%26%203%22%7D"
        );
        let uri: Uri = "unix://2f72756e/v1.41/build?dockerfile=Dockerfile"
            .parse()
            .unwrap();
        let with_labels = with_query_parameter(&uri, &parameter).unwrap();
        assert_eq!(with_labels.path(), "/v1.41/build");
        assert_eq!(
            with_labels.query(),
            Some(format!("dockerfile=Dockerfile&{parameter}").as_str())
        );
        let bare: Uri = "http://localhost/build".parse().unwrap();
        assert_eq!(
            with_query_parameter(&bare, "a=1").unwrap().query(),
            Some("a=1")
        );
        assert_eq!(labels_parameter(&BTreeMap::new()), None);
    }

    #[test]
    fn every_tag_after_the_first_and_the_labels_are_extra_parameters() {
        let spec = BuildSpec::new()
            .tag("localhost/shop/web:1.0")
            .tag("localhost/shop/web:feature-x")
            .label("a", "1");
        assert_eq!(
            extra_parameters(&spec),
            [
                "t=localhost%2Fshop%2Fweb%3Afeature-x",
                "labels=%7B%22a%22%3A%221%22%7D",
            ]
        );
        assert!(extra_parameters(&BuildSpec::new().tag("web:1")).is_empty());
    }

    #[test]
    fn reads_log_text_progress_and_the_image_id() {
        assert_eq!(
            output_text(message(r#"{"stream":"STEP 1/2: FROM base\n"}"#)).as_deref(),
            Some("STEP 1/2: FROM base\n")
        );
        assert_eq!(
            output_text(message(r#"{"status":"Downloading","id":"a1b2"}"#)).as_deref(),
            Some("a1b2: Downloading\n")
        );
        let aux = message(r#"{"aux":{"ID":"sha256:0b4b"}}"#);
        assert_eq!(
            aux.aux,
            Some(ApiImageId {
                id: Some("sha256:0b4b".to_owned())
            })
        );
        assert_eq!(built_image_id(&aux), Some(ImageId::new("sha256:0b4b")));
        assert_eq!(output_text(aux), None);
    }

    #[test]
    fn a_failed_step_carries_the_output_before_it() {
        let mut recent = RecentLines::new(2);
        recent.push("STEP 2/4: RUN make\n");
        recent.push("cc -o app main.c\n\n");
        recent.push("main.c:1: error: expected ';'\n");
        let error = BollardError::DockerStreamError {
            error: "building at STEP \"RUN make\": exit status 2\n".to_owned(),
        };
        match failure(error, &recent) {
            EngineError::BuildFailed { message, output } => {
                assert_eq!(message, "building at STEP \"RUN make\": exit status 2");
                assert_eq!(output, "cc -o app main.c\nmain.c:1: error: expected ';'");
            }
            other => panic!("expected BuildFailed, got {other:?}"),
        }
    }
}
