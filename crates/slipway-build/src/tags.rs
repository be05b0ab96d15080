//! The tags an image is given: full and short commit, version, branch.
//!
//! A tag must match `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}` (the OCI distribution spec). Branch names
//! are made into tags the way people expect from CI tools: lower case, every character outside
//! the grammar (`/` above all) replaced by `-`, runs of `-` collapsed, at most 128 characters.
//!
//! A build from a dirty working tree is not the commit it names, so every one of its tags carries
//! a `-dirty` suffix: a local experiment can never overwrite the tag of a clean build.

use slipway_git::Snapshot;

/// The longest tag the distribution spec allows.
pub const MAX_TAG_LEN: usize = 128;

const DIRTY_SUFFIX: &str = "-dirty";

/// The tags for a build of `snapshot` at `version`, most specific first, without duplicates.
pub fn compute(snapshot: &Snapshot, version: Option<&str>) -> Vec<String> {
    let suffix = if snapshot.dirty { DIRTY_SUFFIX } else { "" };
    let candidates = [
        Some(snapshot.commit.clone()),
        Some(snapshot.short_commit.clone()),
        version.and_then(version_tag),
        snapshot.branch.as_deref().and_then(branch_tag),
    ];
    let mut tags: Vec<String> = Vec::new();
    for tag in candidates.into_iter().flatten() {
        let tag = with_suffix(&tag, suffix);
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    tags
}

/// A branch name made into a valid tag, or `None` when nothing valid is left.
pub fn branch_tag(branch: &str) -> Option<String> {
    sanitize(&branch.to_lowercase())
}

/// A version made into a valid tag (`1.2.3+build.5` becomes `1.2.3-build.5`), or `None`.
pub fn version_tag(version: &str) -> Option<String> {
    sanitize(version)
}

/// Replaces characters a tag cannot hold with `-`, collapses runs of `-`, strips characters a tag
/// cannot start with, and cuts it to [`MAX_TAG_LEN`].
fn sanitize(raw: &str) -> Option<String> {
    let mut tag = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
            c
        } else {
            '-'
        };
        if c == '-' && tag.ends_with('-') {
            continue;
        }
        tag.push(c);
    }
    let tag = tag.trim_start_matches(['.', '-']).trim_end_matches('-');
    let tag: String = tag.chars().take(MAX_TAG_LEN).collect();
    let tag = tag.trim_end_matches('-').to_owned();
    (!tag.is_empty()).then_some(tag)
}

/// `tag` with `suffix`, shortened first when both would not fit.
fn with_suffix(tag: &str, suffix: &str) -> String {
    let room = MAX_TAG_LEN - suffix.len();
    let base: String = tag.chars().take(room).collect();
    format!("{}{suffix}", base.trim_end_matches('-'))
}

/// Whether `tag` is a valid tag under the distribution spec's grammar.
pub fn is_valid_tag(tag: &str) -> bool {
    let mut bytes = tag.bytes();
    tag.len() <= MAX_TAG_LEN
        && bytes
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

    fn snapshot(branch: Option<&str>, dirty: bool) -> Snapshot {
        Snapshot {
            commit: SHA.to_owned(),
            short_commit: SHA[..7].to_owned(),
            commit_time: 0,
            branch: branch.map(str::to_owned),
            dirty,
        }
    }

    #[test]
    fn branch_tags() {
        let cases = [
            ("main", Some("main")),
            ("feature/Login-Page", Some("feature-login-page")),
            ("Fix//Many///Slashes", Some("fix-many-slashes")),
            ("release/1.2", Some("release-1.2")),
            ("user@host:topic", Some("user-host-topic")),
            ("-leading-dash", Some("leading-dash")),
            (".hidden", Some("hidden")),
            ("ünïcode-branch", Some("n-code-branch")),
            ("under_score", Some("under_score")),
            ("///", None),
            ("", None),
        ];
        for (branch, expected) in cases {
            assert_eq!(branch_tag(branch).as_deref(), expected, "{branch}");
        }
    }

    #[test]
    fn over_long_branches_are_cut_to_128_characters() {
        let tag = branch_tag(&format!("feature/{}", "x".repeat(300))).unwrap();
        assert_eq!(tag.len(), MAX_TAG_LEN);
        assert!(tag.starts_with("feature-xxx"));
        // A cut that would end on a dash does not.
        let tag = branch_tag(&format!("{}/tail", "a".repeat(127))).unwrap();
        assert_eq!(tag, "a".repeat(127));
    }

    #[test]
    fn version_tags_keep_case_and_replace_plus() {
        assert_eq!(version_tag("1.4.0").as_deref(), Some("1.4.0"));
        assert_eq!(
            version_tag("2.0.0-RC.1+build.7").as_deref(),
            Some("2.0.0-RC.1-build.7")
        );
        assert_eq!(version_tag("+++"), None);
    }

    #[test]
    fn tags_of_a_clean_branch_build() {
        assert_eq!(
            compute(&snapshot(Some("feature/Login"), false), Some("1.4.0")),
            [SHA, &SHA[..7], "1.4.0", "feature-login"]
        );
    }

    #[test]
    fn detached_head_has_no_branch_tag() {
        assert_eq!(
            compute(&snapshot(None, false), Some("1.4.0")),
            [SHA, &SHA[..7], "1.4.0"]
        );
    }

    #[test]
    fn no_version_means_no_version_tag() {
        assert_eq!(
            compute(&snapshot(Some("main"), false), None),
            [SHA, &SHA[..7], "main"]
        );
    }

    #[test]
    fn dirty_builds_mark_every_tag() {
        let long_branch = "b".repeat(200);
        let tags = compute(&snapshot(Some(&long_branch), true), Some("1.4.0"));
        assert_eq!(tags[0], format!("{SHA}-dirty"));
        assert_eq!(tags[1], format!("{}-dirty", &SHA[..7]));
        assert_eq!(tags[2], "1.4.0-dirty");
        assert_eq!(tags[3].len(), MAX_TAG_LEN);
        assert!(tags[3].ends_with("b-dirty"));
    }

    #[test]
    fn duplicate_tags_appear_once() {
        // A branch named like the version.
        assert_eq!(
            compute(&snapshot(Some("1.4.0"), false), Some("1.4.0")),
            [SHA, &SHA[..7], "1.4.0"]
        );
    }

    proptest! {
        #[test]
        fn every_computed_tag_is_valid(
            branch in proptest::option::of(".{0,300}"),
            version in proptest::option::of(".{0,200}"),
            dirty in any::<bool>(),
        ) {
            let snapshot = Snapshot {
                commit: SHA.to_owned(),
                short_commit: SHA[..7].to_owned(),
                commit_time: 0,
                branch,
                dirty,
            };
            for tag in compute(&snapshot, version.as_deref()) {
                prop_assert!(is_valid_tag(&tag), "{:?}", tag);
                prop_assert_eq!(tag.ends_with("-dirty"), dirty);
            }
        }
    }
}
