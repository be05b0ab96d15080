//! Image references as written after `FROM`: `name[:tag][@digest]`.

use serde::Serialize;

/// The image a stage starts from, as written, and split up when it holds no variables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageRef {
    raw: String,
    parts: Option<ImageParts>,
}

/// The pieces of a literal image reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct ImageParts {
    name: String,
    tag: Option<String>,
    digest: Option<String>,
}

impl ImageRef {
    pub(crate) fn new(raw: &str) -> ImageRef {
        ImageRef {
            raw: raw.to_owned(),
            parts: ImageParts::split(raw),
        }
    }

    /// The reference exactly as written, variables included.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// Whether the reference uses build arguments (`$VAR`, `${VAR}`), so it is known only at
    /// build time; [`ImageRef::name`], [`ImageRef::tag`] and [`ImageRef::digest`] are then `None`.
    pub fn has_variables(&self) -> bool {
        self.raw.contains('$')
    }

    /// The repository, registry host included (`docker.io/library/node`, `localhost:5000/app`).
    pub fn name(&self) -> Option<&str> {
        self.parts.as_ref().map(|parts| parts.name.as_str())
    }

    /// The tag after `:`, if one was written.
    pub fn tag(&self) -> Option<&str> {
        self.parts.as_ref()?.tag.as_deref()
    }

    /// The digest after `@` (`sha256:...`), if one was written.
    pub fn digest(&self) -> Option<&str> {
        self.parts.as_ref()?.digest.as_deref()
    }

    /// Whether this is `scratch`, the empty image.
    pub fn is_scratch(&self) -> bool {
        self.raw.eq_ignore_ascii_case("scratch")
    }
}

impl ImageParts {
    /// Splits a literal reference; `None` when it holds variables or an empty part.
    fn split(raw: &str) -> Option<ImageParts> {
        if raw.contains('$') {
            return None;
        }
        let (rest, digest) = match raw.split_once('@') {
            Some((rest, digest)) => (rest, Some(digest)),
            None => (raw, None),
        };
        // A `:` before the last `/` separates a registry host from its port, not a tag.
        let path_start = rest.rfind('/').map_or(0, |slash| slash + 1);
        let (name, tag) = match rest[path_start..].rfind(':') {
            Some(colon) => (
                &rest[..path_start + colon],
                Some(&rest[path_start + colon + 1..]),
            ),
            None => (rest, None),
        };
        let empty = |part: Option<&str>| part.is_some_and(str::is_empty);
        if name.is_empty() || empty(tag) || empty(digest) {
            return None;
        }
        Some(ImageParts {
            name: name.to_owned(),
            tag: tag.map(str::to_owned),
            digest: digest.map(str::to_owned),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(raw: &str) -> (Option<String>, Option<String>, Option<String>) {
        let image = ImageRef::new(raw);
        let owned = |part: Option<&str>| part.map(str::to_owned);
        (
            owned(image.name()),
            owned(image.tag()),
            owned(image.digest()),
        )
    }

    fn some(part: &str) -> Option<String> {
        Some(part.to_owned())
    }

    #[test]
    fn splits_name_tag_and_digest() {
        assert_eq!(parts("node"), (some("node"), None, None));
        assert_eq!(parts("node:22-slim"), (some("node"), some("22-slim"), None));
        assert_eq!(
            parts("localhost:5000/app/web:1.2@sha256:abc"),
            (
                some("localhost:5000/app/web"),
                some("1.2"),
                some("sha256:abc")
            )
        );
        assert_eq!(
            parts("localhost:5000/app"),
            (some("localhost:5000/app"), None, None)
        );
        assert_eq!(
            parts("alpine@sha256:ff"),
            (some("alpine"), None, some("sha256:ff"))
        );
    }

    #[test]
    fn variables_and_empty_parts_are_not_split() {
        assert_eq!(parts("node:${VERSION}"), (None, None, None));
        assert_eq!(parts("node:"), (None, None, None));
        assert_eq!(parts(":tag"), (None, None, None));
        assert!(ImageRef::new("$BASE").has_variables());
        assert!(ImageRef::new("SCRATCH").is_scratch());
    }
}
