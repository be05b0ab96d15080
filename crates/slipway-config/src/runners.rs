//! `[runners]`: where `slipway run` runs the jobs of GitHub Actions workflows.
//!
//! A job's `runs-on` labels pick its executor. `labels` maps a label to `"host"` (the job's steps
//! run as processes on this machine, each job in a workspace of its own) or to a container image
//! (the steps run inside a container of that image on the engine). Labels not listed here fall
//! back to the runner's defaults (`ubuntu-*`, `linux` and `self-hosted` run on the host); `-P
//! LABEL=host|IMAGE` on the command line overrides both.
//!
//! ```toml
//! [runners]
//! parallel = 4
//!
//! [runners.labels]
//! ubuntu-latest = "host"
//! alpine = "localhost/slipway/busybox:latest"
//!
//! [runners.vars]                 # the `vars` context, as GitHub's repository variables
//! REDIS_IMAGE = "localhost/slipway/redis:7"
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::num::NonZeroU32;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::validate::repository_problem;

/// `[runners]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunnerSettings {
    /// How many jobs run at once; default: the number of CPUs.
    pub parallel: Option<NonZeroU32>,
    /// `runs-on` labels and where their jobs run: "host", or a container image reference
    /// (`localhost/slipway/busybox:latest`).
    #[serde(default)]
    pub labels: BTreeMap<String, RunnerTarget>,
    /// The `vars` context of local runs: what GitHub keeps as repository variables
    /// (`REDIS_IMAGE = "localhost/slipway/redis:7"`). `--var` on the command line wins.
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
}

/// Where the jobs of a `runs-on` label run.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RunnerTarget {
    /// As processes on this machine (written `"host"`).
    Host,
    /// Inside a container of this image, on the container engine.
    Image(String),
}

impl RunnerTarget {
    /// Reads `"host"` or an image reference, or says why the text is neither.
    pub fn parse(text: &str) -> Result<RunnerTarget, String> {
        if text == "host" {
            return Ok(RunnerTarget::Host);
        }
        match image_reference_problem(text) {
            None => Ok(RunnerTarget::Image(text.to_owned())),
            Some(problem) => Err(format!(
                "`{text}` is neither \"host\" nor an image reference: {problem}"
            )),
        }
    }
}

impl fmt::Display for RunnerTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunnerTarget::Host => f.write_str("host"),
            RunnerTarget::Image(image) => f.write_str(image),
        }
    }
}

impl Serialize for RunnerTarget {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RunnerTarget {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RunnerTarget, D::Error> {
        struct TargetVisitor;
        impl Visitor<'_> for TargetVisitor {
            type Value = RunnerTarget;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"host\" or a container image reference")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<RunnerTarget, E> {
                RunnerTarget::parse(text).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(TargetVisitor)
    }
}

impl JsonSchema for RunnerTarget {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RunnerTarget".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "minLength": 1,
            "description": "\"host\" to run the label's jobs on this machine, or a container image reference to run them in a container of that image."
        })
    }
}

/// Why `reference` is not an image reference (`[host[:port]/]name[:tag][@digest]`), or `None`.
fn image_reference_problem(reference: &str) -> Option<&'static str> {
    let (rest, digest) = match reference.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (reference, None),
    };
    if digest.is_some_and(|digest| !is_digest(digest)) {
        return Some("a digest is written algorithm:hex (sha256:...)");
    }
    let (repository, tag) = match rest.rsplit_once(':') {
        Some((repository, tag)) if !tag.contains('/') => (repository, Some(tag)),
        _ => (rest, None),
    };
    if tag.is_some_and(|tag| !is_tag(tag)) {
        return Some(
            "a tag is 1 to 128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-`",
        );
    }
    repository_problem(repository)
}

fn is_tag(tag: &str) -> bool {
    (1..=128).contains(&tag.len())
        && !tag.starts_with(['.', '-'])
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn is_digest(digest: &str) -> bool {
    digest.split_once(':').is_some_and(|(algorithm, hex)| {
        !algorithm.is_empty()
            && algorithm
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && hex.len() >= 32
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// A label must say something: an empty or blank one can never match `runs-on`.
pub(crate) fn check(runners: &RunnerSettings) -> Result<(), (Vec<&str>, String)> {
    match runners.labels.keys().find(|label| label.trim().is_empty()) {
        Some(label) => Err((
            vec!["runners", "labels", label.as_str()],
            "a runner label must not be empty".to_owned(),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_image_references_are_targets() {
        assert_eq!(RunnerTarget::parse("host"), Ok(RunnerTarget::Host));
        for image in [
            "alpine",
            "localhost/slipway/busybox:latest",
            "registry.example.com:5000/team/app:1.2.3",
            "node@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "localhost:5000/app",
        ] {
            assert_eq!(
                RunnerTarget::parse(image),
                Ok(RunnerTarget::Image(image.to_owned())),
                "{image}"
            );
        }
    }

    #[test]
    fn text_that_is_no_image_says_why() {
        for bad in [
            "",
            "Host",
            "ubuntu:",
            "app:-x",
            "app@md5",
            "with space",
            "UPPER/case",
        ] {
            let error = RunnerTarget::parse(bad).unwrap_err();
            assert!(
                error.contains("neither \"host\" nor an image reference"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn targets_print_as_written() {
        assert_eq!(RunnerTarget::Host.to_string(), "host");
        assert_eq!(
            RunnerTarget::Image("alpine:3".to_owned()).to_string(),
            "alpine:3"
        );
    }
}
