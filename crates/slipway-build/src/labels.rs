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
    /// The fingerprint of the build's inputs (see the build's `fingerprint` module).
    pub const FINGERPRINT: &str = "dev.slipway.build.fingerprint";
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

/// The Dockerfile `text` with one `LABEL` instruction carrying `labels` added at the end of the
/// stage being built (`target`, else the last).
///
/// Why not the build API's `labels` parameter: Podman turns it into one `LABEL` step per label, in
/// Go's map order, which changes from build to build. Steps in another order miss the cache, so a
/// rebuild of an unchanged tree would get a new image id. One instruction with the labels sorted is
/// cached like any other step, and costs one step instead of one per label.
pub fn dockerfile_with_labels(
    text: &str,
    dockerfile: &slipway_dockerfile::Dockerfile,
    target: Option<&str>,
    labels: &BTreeMap<String, String>,
) -> String {
    let stage = target
        .and_then(|target| dockerfile.stage(target))
        .unwrap_or_else(|| dockerfile.final_stage());
    let last_line = dockerfile
        .stage_instructions(stage)
        .last()
        .map_or(text.lines().count(), |instruction| {
            instruction.span.end_line
        });
    let escape = dockerfile.directives().escape();
    let pairs: Vec<String> = labels
        .iter()
        .map(|(key, value)| format!("{}={}", quoted(key, escape), quoted(value, escape)))
        .collect();
    let instruction = format!("LABEL {}\n", pairs.join(" "));

    let mut result = String::with_capacity(text.len() + instruction.len() + 1);
    let mut lines = text.split_inclusive('\n');
    for line in lines.by_ref().take(last_line) {
        result.push_str(line);
    }
    if !result.is_empty() && !result.ends_with('\n') {
        result.push('\n');
    }
    result.push_str(&instruction);
    for line in lines {
        result.push_str(line);
    }
    result
}

/// `value` in double quotes, with the quote, the escape character and `$` (which the builder
/// would expand) escaped by the Dockerfile's escape character.
fn quoted(value: &str, escape: char) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for c in value.chars() {
        if c == '"' || c == '$' || c == escape {
            quoted.push(escape);
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labelled(text: &str, target: Option<&str>) -> String {
        let parsed = slipway_dockerfile::parse(text).unwrap();
        let labels = BTreeMap::from([
            ("b.key".to_owned(), "say \"hi\" for $5".to_owned()),
            ("a.key".to_owned(), "plain".to_owned()),
        ]);
        dockerfile_with_labels(text, &parsed, target, &labels)
    }

    #[test]
    fn one_sorted_label_instruction_ends_the_last_stage() {
        assert_eq!(
            labelled(
                "FROM a AS one\nRUN x\n\nFROM b\nCMD [\"y\"]\n# trailing comment\n",
                None
            ),
            "FROM a AS one\nRUN x\n\nFROM b\nCMD [\"y\"]\n\
             LABEL \"a.key\"=\"plain\" \"b.key\"=\"say \\\"hi\\\" for \\$5\"\n# trailing comment\n"
        );
    }

    #[test]
    fn the_target_stage_gets_the_labels() {
        assert_eq!(
            labelled("FROM a AS one\nRUN x \\\n  && y\nFROM b\n", Some("one")),
            "FROM a AS one\nRUN x \\\n  && y\n\
             LABEL \"a.key\"=\"plain\" \"b.key\"=\"say \\\"hi\\\" for \\$5\"\nFROM b\n"
        );
    }

    #[test]
    fn heredocs_stay_whole() {
        let result = labelled("FROM a\nRUN <<EOF\necho hi\nEOF\n", None);
        assert!(
            result.starts_with("FROM a\nRUN <<EOF\necho hi\nEOF\nLABEL "),
            "{result}"
        );
    }

    #[test]
    fn a_missing_final_newline_is_added_first() {
        assert!(labelled("FROM a", None).starts_with("FROM a\nLABEL "));
    }

    #[test]
    fn the_backtick_escape_is_honoured() {
        let text = "# escape=`\nFROM a\n";
        let parsed = slipway_dockerfile::parse(text).unwrap();
        let labels = BTreeMap::from([("k".to_owned(), "C:\\dir \"x\"".to_owned())]);
        assert_eq!(
            dockerfile_with_labels(text, &parsed, None, &labels),
            "# escape=`\nFROM a\nLABEL \"k\"=\"C:\\dir `\"x`\"\"\n"
        );
    }

    #[test]
    fn the_result_parses_and_carries_every_label() {
        let result = labelled("FROM a AS one\nRUN x\nFROM b\n", None);
        let parsed = slipway_dockerfile::parse(&result).unwrap();
        assert_eq!(parsed.instructions().len(), 4);
        assert!(parsed.instructions()[3].raw.starts_with("LABEL"));
    }

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
