//! PEP 440 ordering, as PyPI orders versions.
//!
//! The pattern is the one `packaging` (the reference implementation) publishes, and the sort key
//! mirrors its `_cmpkey`: epoch, release with trailing zeros dropped (`1.0 == 1.0.0`), then
//! pre-release (a developmental release with no pre- or post-release sorts before every
//! pre-release), post-release, developmental release, and local version label. Spellings are
//! normalized as PEP 440 says: `alpha`→`a`, `beta`→`b`, `c`/`pre`/`preview`→`rc`,
//! `rev`/`r`/`-N`→`post`, any of `.-_` as separators, case-insensitive.
//!
//! A version that is not valid PEP 440 (`0.1dev-r1234`, `2004d`, `1.0-beta-gamma`: old
//! releases, and the advisories about them, carry such versions) is ordered as `packaging`'s
//! `LegacyVersion` ordered it, setuptools' scheme from before PEP 440: before every valid
//! version (as if its epoch were -1), and among its kind by its runs of digits and letters, with
//! pre-release words before the release and `-` starting a post-release. One deliberate
//! difference: numbers compare by value at any length, where `packaging` padded them to eight
//! digits and compared longer ones as text. Text without a single digit (`latest`) is still not a
//! version: ordering it would be a guess.

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

/// A PyPI version's sort key. Variant order is sort order: every legacy version comes first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Pep440 {
    /// Not valid PEP 440, ordered as `packaging`'s `LegacyVersion`.
    Legacy(Vec<LegacyPart>),
    Valid(Valid),
}

/// A valid PEP 440 version: its sort key, field by field in comparison order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Valid {
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

/// A part of a legacy version. Variant order is sort order: `packaging` prefixed words with `*`,
/// which sorts before every digit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum LegacyPart {
    Word(String),
    Number(Numeral),
}

/// The word every legacy version ends with; words before it (`a`, `b`, `c`, `@` for `dev`) are
/// pre-releases, words after it (`final-`, a `-` suffix) post-releases.
const FINAL: &str = "final";

/// Parses `text` as a PyPI version: valid PEP 440, or else a legacy version.
pub(crate) fn parse(text: &str) -> Result<Pep440, String> {
    match PATTERN.captures(text) {
        Some(captures) => Ok(Pep440::Valid(valid(&captures))),
        None if text.bytes().any(|byte| byte.is_ascii_digit()) => Ok(Pep440::Legacy(legacy(text))),
        None => {
            Err("not a PEP 440 version, and without a digit not a legacy one either".to_owned())
        }
    }
}

fn valid(captures: &regex::Captures<'_>) -> Valid {
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
    Valid {
        epoch: number("epoch"),
        release,
        pre,
        post,
        dev,
        local,
    }
}

/// The legacy sort key: the lower-cased text split into runs of digits, runs of letters and
/// anything else (`.` only separates), a `-` read as `final-`, pre-release spellings made one.
/// Zeros ending a run of numbers are dropped (`1.0` is `1`), and so is a `final-` just before a
/// pre-release word (`1.0-rc1` is `1.0rc1`).
fn legacy(text: &str) -> Vec<LegacyPart> {
    let mut parts: Vec<LegacyPart> = Vec::new();
    let lowered = text.to_lowercase();
    let words = legacy_tokens(&lowered).chain(std::iter::once(FINAL));
    for token in words {
        let part = if token.bytes().all(|byte| byte.is_ascii_digit()) {
            LegacyPart::Number(Numeral::from_digits(token))
        } else {
            let word = match token {
                "pre" | "preview" | "rc" => "c",
                "-" => "final-",
                "dev" => "@",
                word => word,
            };
            if word < FINAL {
                while parts.last() == Some(&LegacyPart::Word("final-".to_owned())) {
                    parts.pop();
                }
            }
            while parts
                .last()
                .is_some_and(|last| matches!(last, LegacyPart::Number(n) if n.is_zero()))
            {
                parts.pop();
            }
            LegacyPart::Word(word.to_owned())
        };
        parts.push(part);
    }
    parts
}

/// The tokens of a lower-cased legacy version: runs of ASCII digits, runs of ASCII letters, `-`,
/// and runs of anything else; `.` separates and is dropped.
fn legacy_tokens(text: &str) -> impl Iterator<Item = &str> {
    let class = |c: char| match c {
        '0'..='9' => 0,
        'a'..='z' => 1,
        '-' => 2,
        '.' => 3,
        _ => 4,
    };
    let mut rest = text;
    std::iter::from_fn(move || {
        loop {
            let first = rest.chars().next()?;
            let kind = class(first);
            // `-` is a token on its own even when repeated; every other class is a run.
            let end = if kind == 2 {
                1
            } else {
                rest.find(|c: char| class(c) != kind).unwrap_or(rest.len())
            };
            let (token, after) = rest.split_at(end);
            rest = after;
            if kind != 3 {
                return Some(token);
            }
        }
    })
}
