//! PEP 440 ordering, as PyPI orders versions.
//!
//! The pattern is the one `packaging` (the reference implementation) publishes, and the sort key
//! mirrors its `_cmpkey`: epoch, release with trailing zeros dropped (`1.0 == 1.0.0`), then
//! pre-release (a developmental release with no pre- or post-release sorts before every
//! pre-release), post-release, developmental release, and local version label. Spellings are
//! normalized as PEP 440 says: `alpha`→`a`, `beta`→`b`, `c`/`pre`/`preview`→`rc`,
//! `rev`/`r`/`-N`→`post`, any of `.-_` as separators, case-insensitive.

use std::sync::LazyLock;

use regex::Regex;

use super::numeral::Numeral;

/// `packaging.version.VERSION_PATTERN`, anchored, case-insensitive.
static PATTERN: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::expect_used)] // A constant pattern: a typo fails every test.
    Regex::new(
        r"(?ix)^\s*
        v?
        (?:(?P<epoch>[0-9]+)!)?
        (?P<release>[0-9]+(?:\.[0-9]+)*)
        (?P<pre>[-_.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?P<pre_n>[0-9]+)?)?
        (?P<post>(?:-(?P<post_n1>[0-9]+))|(?:[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>[0-9]+)?))?
        (?P<dev>[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>[0-9]+)?)?
        (?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?
        \s*$",
    )
    .expect("the PEP 440 pattern compiles")
});

/// A parsed PEP 440 version: its sort key, field by field in comparison order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Pep440 {
    epoch: Numeral,
    /// The release numbers without trailing zeros.
    release: Vec<Numeral>,
    pre: Pre,
    /// `None` (no post-release) sorts first.
    post: Option<Numeral>,
    dev: Dev,
    /// `None` (no local label) sorts first.
    local: Option<Vec<LocalPart>>,
}

/// Variant order is sort order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Pre {
    /// `1.0.dev1`: a developmental release of nothing in particular comes before `1.0a1`.
    DevOnly,
    Tagged(PreLetter, Numeral),
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum PreLetter {
    Alpha,
    Beta,
    ReleaseCandidate,
}

/// Variant order is sort order: a developmental release comes before its release.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Dev {
    Dev(Numeral),
    None,
}

/// A local label segment: letters sort before numbers (variant order matters).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum LocalPart {
    Letters(String),
    Number(Numeral),
}

/// Parses `text` as a PEP 440 version.
pub(crate) fn parse(text: &str) -> Result<Pep440, String> {
    let captures = PATTERN
        .captures(text)
        .ok_or_else(|| "not a PEP 440 version".to_owned())?;
    let group = |name: &str| captures.name(name).map(|found| found.as_str());
    let number = |name: &str| group(name).map_or_else(Numeral::zero, Numeral::from_digits);

    let mut release: Vec<Numeral> = group("release")
        .unwrap_or_default()
        .split('.')
        .map(Numeral::from_digits)
        .collect();
    while release.last().is_some_and(Numeral::is_zero) {
        release.pop();
    }
    let pre_letter = group("pre_l").map(|letter| match letter.to_ascii_lowercase().as_str() {
        "a" | "alpha" => PreLetter::Alpha,
        "b" | "beta" => PreLetter::Beta,
        _ => PreLetter::ReleaseCandidate,
    });
    let post = group("post").map(|_| match group("post_n1") {
        Some(digits) => Numeral::from_digits(digits),
        None => number("post_n2"),
    });
    let dev = match group("dev") {
        Some(_) => Dev::Dev(number("dev_n")),
        None => Dev::None,
    };
    let pre = match pre_letter {
        Some(letter) => Pre::Tagged(letter, number("pre_n")),
        None if post.is_none() && dev != Dev::None => Pre::DevOnly,
        None => Pre::None,
    };
    let local = group("local").map(|local| {
        local
            .split(['.', '-', '_'])
            .map(|part| {
                if part.bytes().all(|b| b.is_ascii_digit()) {
                    LocalPart::Number(Numeral::from_digits(part))
                } else {
                    LocalPart::Letters(part.to_ascii_lowercase())
                }
            })
            .collect()
    });
    Ok(Pep440 {
        epoch: number("epoch"),
        release,
        pre,
        post,
        dev,
        local,
    })
}
