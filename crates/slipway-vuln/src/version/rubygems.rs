//! RubyGems ordering, as `Gem::Version#<=>` does it.
//!
//! A version is split into segments, runs of digits (numbers) and runs of letters (strings),
//! after `-` is rewritten to `.pre.` (`1.0-rc1` is `1.0.pre.rc1`). Trailing zeros are dropped
//! from the numeric part and from the part starting at the first string ("canonical segments"),
//! then segments compare one by one with missing ones read as `0`: a string sorts before any
//! number (so `1.0.a` is a pre-release of `1.0`), strings compare by bytes, numbers by value.

use std::cmp::Ordering;
use std::sync::LazyLock;

use regex::Regex;

use super::numeral::Numeral;

/// `Gem::Version::ANCHORED_VERSION_PATTERN`.
static PATTERN: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::expect_used)] // A constant pattern: a typo fails every test.
    Regex::new(r"^\s*([0-9]+(?:\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)?\s*$")
        .expect("the RubyGems pattern compiles")
});

/// A parsed RubyGems version: its canonical segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GemVersion {
    segments: Vec<Segment>,
}

/// Strings sort before numbers (variant order matters).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Segment {
    String(String),
    Number(Numeral),
}

impl Segment {
    fn is_zero(&self) -> bool {
        matches!(self, Segment::Number(number) if number.is_zero())
    }
}

/// Parses `text` as a RubyGems version (an empty one is `0`, as RubyGems reads it).
pub(crate) fn parse(text: &str) -> Result<GemVersion, String> {
    if !PATTERN.is_match(text) {
        return Err("not a RubyGems version".to_owned());
    }
    let text = text.trim().replace('-', ".pre.");
    let all = split_segments(&text);
    let first_string = all
        .iter()
        .position(|segment| matches!(segment, Segment::String(_)))
        .unwrap_or(all.len());
    let (numbers, rest) = all.split_at(first_string);
    let mut segments = without_trailing_zeros(numbers);
    segments.extend(without_trailing_zeros(rest));
    Ok(GemVersion { segments })
}

/// `version.scan(/[0-9]+|[a-z]+/i)`, numbers converted.
fn split_segments(text: &str) -> Vec<Segment> {
    let mut segments = Vec::new();
    let bytes = text.as_bytes();
    let mut start = 0;
    while start < bytes.len() {
        let run = |pred: fn(&u8) -> bool| bytes[start..].iter().take_while(|b| pred(b)).count();
        let digits = run(u8::is_ascii_digit);
        let letters = run(u8::is_ascii_alphabetic);
        if digits > 0 {
            segments.push(Segment::Number(Numeral::from_digits(
                &text[start..start + digits],
            )));
            start += digits;
        } else if letters > 0 {
            segments.push(Segment::String(text[start..start + letters].to_owned()));
            start += letters;
        } else {
            start += 1;
        }
    }
    segments
}

fn without_trailing_zeros(segments: &[Segment]) -> Vec<Segment> {
    let kept = segments.len()
        - segments
            .iter()
            .rev()
            .take_while(|segment| segment.is_zero())
            .count();
    segments[..kept].to_vec()
}

impl Ord for GemVersion {
    /// Segment by segment, a missing segment reading as `0`. Canonical segments never end in
    /// `0`, so this is the lexicographic order of the zero-padded sequences: total and
    /// consistent with equality.
    fn cmp(&self, other: &GemVersion) -> Ordering {
        let zero = Segment::Number(Numeral::zero());
        let length = self.segments.len().max(other.segments.len());
        (0..length)
            .map(|index| {
                let left = self.segments.get(index).unwrap_or(&zero);
                let right = other.segments.get(index).unwrap_or(&zero);
                left.cmp(right)
            })
            .find(|ordering| ordering.is_ne())
            .unwrap_or(Ordering::Equal)
    }
}

impl PartialOrd for GemVersion {
    fn partial_cmp(&self, other: &GemVersion) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
