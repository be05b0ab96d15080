//! Repository names, tags and manifest references, validated by the Distribution Spec's grammar.
//!
//! A [`RepositoryName`] matches
//! `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*` and is at most 255
//! characters; a [`Tag`] matches `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`. Both grammars leave out
//! `..`, leading dots and every character with a meaning to a file system, so both are used as
//! path components of the storage as they are.

use std::fmt;
use std::str::FromStr;

use crate::digest::{Digest, DigestError};

/// The longest repository name accepted.
pub const MAX_NAME_LEN: usize = 255;

/// The longest tag the spec allows.
pub const MAX_TAG_LEN: usize = 128;

/// A valid repository name (`shop/web`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RepositoryName(String);

impl RepositoryName {
    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `/`-separated components.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }
}

impl serde::Serialize for RepositoryName {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl fmt::Display for RepositoryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a name, tag or reference is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Not a repository name.
    #[error("invalid repository name `{name}`: {reason}")]
    Repository {
        /// The name as given.
        name: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// Not a tag.
    #[error("invalid tag `{tag}`: {reason}")]
    Tag {
        /// The tag as given.
        tag: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// Looks like a digest but is not a valid one.
    #[error(transparent)]
    Digest(#[from] DigestError),
}

impl FromStr for RepositoryName {
    type Err = NameError;

    fn from_str(name: &str) -> Result<RepositoryName, NameError> {
        let invalid = |reason| NameError::Repository {
            name: name.to_owned(),
            reason,
        };
        if name.is_empty() {
            return Err(invalid("it is empty"));
        }
        if name.len() > MAX_NAME_LEN {
            return Err(invalid("it is longer than 255 characters"));
        }
        if !name.split('/').all(is_path_component) {
            return Err(invalid(
                "use `/`-separated components of lower-case letters and digits, joined by `.`, `_`, `__` or `-`",
            ));
        }
        Ok(RepositoryName(name.to_owned()))
    }
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn is_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alphanumeric = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let mut i = 0;
    loop {
        let run = bytes[i..].iter().take_while(|&&b| alphanumeric(b)).count();
        if run == 0 {
            return false;
        }
        i += run;
        if i == bytes.len() {
            return true;
        }
        i += match &bytes[i..] {
            [b'_', b'_', ..] => 2,
            [b'.' | b'_', ..] => 1,
            [b'-', ..] => bytes[i..].iter().take_while(|&&b| b == b'-').count(),
            _ => return false,
        };
    }
}

/// A valid tag (`v1.2.3`, `main`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag(String);

impl Tag {
    /// The tag as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl serde::Serialize for Tag {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Tag {
    type Err = NameError;

    fn from_str(tag: &str) -> Result<Tag, NameError> {
        let invalid = |reason| NameError::Tag {
            tag: tag.to_owned(),
            reason,
        };
        let mut bytes = tag.bytes();
        match bytes.next() {
            None => return Err(invalid("it is empty")),
            Some(first) if !(first.is_ascii_alphanumeric() || first == b'_') => {
                return Err(invalid("it must start with a letter, a digit or `_`"));
            }
            Some(_) => {}
        }
        if tag.len() > MAX_TAG_LEN {
            return Err(invalid("it is longer than 128 characters"));
        }
        if !bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')) {
            return Err(invalid("use letters, digits, `.`, `_` and `-`"));
        }
        Ok(Tag(tag.to_owned()))
    }
}

/// A glob that does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid glob `{glob}`: {reason}")]
pub struct GlobError {
    /// The glob.
    pub glob: String,
    /// Why it does not compile.
    pub reason: String,
}

/// Compiles globs over repository names: `*` matches within one path component, `**` across
/// components (`shop/*` matches `shop/web` but not `shop/team/web`; `**` matches everything).
pub fn repository_globs(globs: &[String]) -> Result<globset::GlobSet, GlobError> {
    compile_globs(globs, true)
}

/// Compiles globs over tags (`v*.*.*`, `prod-*`).
pub fn tag_globs(globs: &[String]) -> Result<globset::GlobSet, GlobError> {
    compile_globs(globs, false)
}

fn compile_globs(globs: &[String], literal_separator: bool) -> Result<globset::GlobSet, GlobError> {
    let mut set = globset::GlobSetBuilder::new();
    for glob in globs {
        let compiled = globset::GlobBuilder::new(glob)
            .literal_separator(literal_separator)
            .build()
            .map_err(|error| GlobError {
                glob: glob.clone(),
                reason: error.kind().to_string(),
            })?;
        set.add(compiled);
    }
    set.build().map_err(|error| GlobError {
        glob: globs.join(", "),
        reason: error.to_string(),
    })
}

/// What a manifest URL names: a tag or a digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reference {
    /// A tag.
    Tag(Tag),
    /// A digest.
    Digest(Digest),
}

impl FromStr for Reference {
    type Err = NameError;

    /// A reference with a `:` is a digest (tags cannot hold one); anything else is a tag.
    fn from_str(text: &str) -> Result<Reference, NameError> {
        if text.contains(':') {
            Ok(Reference::Digest(text.parse()?))
        } else {
            Ok(Reference::Tag(text.parse()?))
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Tag(tag) => tag.fmt(f),
            Reference::Digest(digest) => digest.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn repository_names_follow_the_grammar() {
        for good in [
            "a",
            "shop/web",
            "a.b_c__d---e/f0",
            "library/ubuntu",
            &"a".repeat(255),
        ] {
            assert!(good.parse::<RepositoryName>().is_ok(), "{good}");
        }
        for bad in [
            "",
            "Web",
            "a..b",
            "a___b",
            "-a",
            "a-",
            "a/",
            "/a",
            "a//b",
            "../etc",
            "a/../b",
            ".a",
            "a:b",
            "a b",
            &"a".repeat(256),
        ] {
            assert!(bad.parse::<RepositoryName>().is_err(), "{bad}");
        }
    }

    #[test]
    fn tags_follow_the_grammar() {
        for good in ["latest", "v1.2.3", "_x", "A-b_c.d", &"t".repeat(128)] {
            assert!(good.parse::<Tag>().is_ok(), "{good}");
        }
        for bad in ["", ".x", "-x", "a/b", "a:b", "a b", &"t".repeat(129)] {
            assert!(bad.parse::<Tag>().is_err(), "{bad}");
        }
    }

    #[test]
    fn references_are_tags_or_digests() {
        assert!(matches!("latest".parse(), Ok(Reference::Tag(_))));
        let digest = Digest::sha256(b"x").to_string();
        assert!(matches!(digest.parse(), Ok(Reference::Digest(_))));
        assert!(matches!(
            "sha256:totallywrong".parse::<Reference>(),
            Err(NameError::Digest(_))
        ));
    }

    proptest! {
        /// Whatever is accepted as a name is safe as a relative path: no empty, `.` or `..`
        /// component, nothing but the grammar's characters.
        #[test]
        fn accepted_names_are_safe_paths(name in "[a-z0-9._/-]{0,40}") {
            if let Ok(name) = name.parse::<RepositoryName>() {
                for component in name.components() {
                    prop_assert!(!component.is_empty() && component != "." && component != "..");
                    prop_assert!(!component.starts_with('.'));
                }
            }
        }

        #[test]
        fn accepted_tags_are_single_safe_components(tag in "[a-zA-Z0-9._:/-]{0,20}") {
            if let Ok(tag) = tag.parse::<Tag>() {
                prop_assert!(!tag.as_str().contains('/') && !tag.as_str().starts_with('.'));
            }
        }
    }
}
