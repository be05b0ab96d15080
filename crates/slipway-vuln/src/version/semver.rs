//! Semantic Versioning 2.0 precedence, as npm, crates.io and Go order versions.
//!
//! `MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]`: numbers compare numerically, a pre-release sorts
//! before its release, pre-release identifiers compare one by one (numeric ones numerically and
//! before alphanumeric ones, a shorter list first when one is a prefix of the other), and build
//! metadata is ignored. Two leniencies that real data needs: a leading `v` (Go's module
//! versions) and missing minor or patch numbers, read as zero (`1.2` is `1.2.0`).

use super::numeral::Numeral;

/// A parsed SemVer version: what its precedence depends on, in comparison order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct SemVer {
    major: Numeral,
    minor: Numeral,
    patch: Numeral,
    release: Release,
}

/// A pre-release sorts before the release of the same numbers (variant order matters).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Release {
    Pre(Vec<Identifier>),
    Final,
}

/// A pre-release identifier; numeric ones sort before alphanumeric ones (variant order matters).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Identifier {
    Numeric(Numeral),
    Alphanumeric(String),
}

/// Parses `text` as a SemVer version; the error says what is wrong.
pub(crate) fn parse(text: &str) -> Result<SemVer, String> {
    let text = text.strip_prefix(['v', 'V']).unwrap_or(text);
    // Build metadata never affects precedence.
    let text = text
        .split_once('+')
        .map_or(text, |(version, _build)| version);
    let (core, pre) = match text.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (text, None),
    };
    let mut numbers = core.split('.');
    let mut number = |name: &str, required: bool| match numbers.next() {
        Some(part) if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(Numeral::from_digits(part))
        }
        None if !required => Ok(Numeral::zero()),
        _ => Err(format!("the {name} version is not a number")),
    };
    let (major, minor, patch) = (
        number("major", true)?,
        number("minor", false)?,
        number("patch", false)?,
    );
    if numbers.next().is_some() {
        return Err("more than three numbers before the pre-release".to_owned());
    }
    let release = match pre {
        None => Release::Final,
        Some(pre) => Release::Pre(pre.split('.').map(identifier).collect::<Result<_, _>>()?),
    };
    Ok(SemVer {
        major,
        minor,
        patch,
        release,
    })
}

fn identifier(text: &str) -> Result<Identifier, String> {
    if text.is_empty() {
        return Err("an empty pre-release identifier".to_owned());
    }
    if !text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(format!(
            "the pre-release identifier {text:?} has characters other than [0-9A-Za-z-]"
        ));
    }
    Ok(if text.bytes().all(|b| b.is_ascii_digit()) {
        Identifier::Numeric(Numeral::from_digits(text))
    } else {
        Identifier::Alphanumeric(text.to_owned())
    })
}
