//! The labels every image gets: the OCI annotations for revision, source, version and creation
//! time, and Slipway's own for service and project.
//!
//! `org.opencontainers.image.created` is the commit's time for a clean tree and the build's time for
//! a dirty one. A clean rebuild of the same commit therefore produces identical labels, and with
//! them the very same image from the cache, as reproducible-build practice (`SOURCE_DATE_EPOCH`)
//! does; a dirty tree is not any commit, so it gets the moment it was built.

use std::collections::BTreeMap;

use jiff::Timestamp;

/// Label keys.
pub mod keys {
    /// The commit the image was built from.
    pub const REVISION: &str = "org.opencontainers.image.revision";
    /// Where the source lives.
    pub const SOURCE: &str = "org.opencontainers.image.source";
    /// The version of the packaged software.
    pub const VERSION: &str = "org.opencontainers.image.version";
    /// When the image was created (RFC 3339).
    pub const CREATED: &str = "org.opencontainers.image.created";
    /// The service's name.
    pub const TITLE: &str = "org.opencontainers.image.title";
    /// The Slipway service the image belongs to.
    pub const SERVICE: &str = "dev.slipway.service";
    /// The Slipway project the image belongs to.
    pub const PROJECT: &str = "dev.slipway.project";
    /// Present (`true`) when the working tree had uncommitted changes.
    pub const DIRTY: &str = "dev.slipway.dirty";
}

/// What the labels are made from.
#[derive(Debug, Clone)]
pub struct LabelInputs<'a> {
    /// The project name.
    pub project: &'a str,
    /// The service name.
    pub service: &'a str,
    /// The full commit id.
    pub commit: &'a str,
    /// When the commit was made.
    pub commit_time: Timestamp,
    /// Whether the tree was dirty.
    pub dirty: bool,
    /// The version, when known.
    pub version: Option<&'a str>,
    /// The source URL, when known.
    pub source: Option<&'a str>,
    /// When the build started.
    pub now: Timestamp,
}

/// The labels for an image built from `inputs`.
pub fn compute(inputs: &LabelInputs<'_>) -> BTreeMap<String, String> {
    let created = if inputs.dirty {
        inputs.now
    } else {
        inputs.commit_time
    };
    let mut labels = BTreeMap::from([
        (keys::REVISION.to_owned(), inputs.commit.to_owned()),
        (keys::CREATED.to_owned(), created.to_string()),
        (keys::TITLE.to_owned(), inputs.service.to_owned()),
        (keys::SERVICE.to_owned(), inputs.service.to_owned()),
        (keys::PROJECT.to_owned(), inputs.project.to_owned()),
    ]);
    if let Some(version) = inputs.version {
        labels.insert(keys::VERSION.to_owned(), version.to_owned());
    }
    if let Some(source) = inputs.source {
        labels.insert(keys::SOURCE.to_owned(), source.to_owned());
    }
    if inputs.dirty {
        labels.insert(keys::DIRTY.to_owned(), "true".to_owned());
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(dirty: bool) -> LabelInputs<'static> {
        LabelInputs {
            project: "shop",
            service: "web",
            commit: "0123456789abcdef0123456789abcdef01234567",
            commit_time: "2026-01-02T03:04:05Z".parse().unwrap(),
            dirty,
            version: Some("1.4.0"),
            source: Some("https://example.com/shop.git"),
            now: "2026-11-21T12:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn a_clean_build_is_dated_by_its_commit() {
        let labels = compute(&inputs(false));
        assert_eq!(
            labels[keys::REVISION],
            "0123456789abcdef0123456789abcdef01234567"
        );
        assert_eq!(labels[keys::CREATED], "2026-01-02T03:04:05Z");
        assert_eq!(labels[keys::VERSION], "1.4.0");
        assert_eq!(labels[keys::SOURCE], "https://example.com/shop.git");
        assert_eq!(labels[keys::SERVICE], "web");
        assert!(!labels.contains_key(keys::DIRTY));
    }

    #[test]
    fn a_dirty_build_is_dated_now_and_says_so() {
        let labels = compute(&inputs(true));
        assert_eq!(labels[keys::CREATED], "2026-11-21T12:00:00Z");
        assert_eq!(labels[keys::DIRTY], "true");
    }

    #[test]
    fn unknown_version_and_source_are_left_out() {
        let labels = compute(&LabelInputs {
            version: None,
            source: None,
            ..inputs(false)
        });
        assert!(!labels.contains_key(keys::VERSION));
        assert!(!labels.contains_key(keys::SOURCE));
    }
}
