//! Composer (Packagist) ordering: versions as Composer normalizes and compares them.
//!
//! Composer turns `v1.2` into `1.2.0.0` and `1.0.0-RC1` into `1.0.0.0-RC1`, then compares with
//! PHP's `version_compare`. For normalized versions that amounts to: the numbers (padded with
//! zeros), then the stability, `dev < alpha < beta < RC < stable < patch`, then the stability's
//! number. Branch names (`dev-main`) have no place in an order and do not parse.

use super::numeral::Numeral;

/// A parsed Composer version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ComposerVersion {
    /// The numbers without trailing zeros, so `1.2` and `1.2.0.0` are one version.
    numbers: Vec<Numeral>,
    stability: Stability,
    stability_number: Numeral,
    /// A `-dev` after a stability (`1.0.0-beta2-dev`) comes before the stability itself.
    dev_suffix: DevSuffix,
}

/// Variant order is sort order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stability {
    Dev,
    Alpha,
    Beta,
    ReleaseCandidate,
    Stable,
    Patch,
}

/// Variant order is sort order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum DevSuffix {
    Dev,
    None,
}

/// Parses `text` as a Composer version.
pub(crate) fn parse(text: &str) -> Result<ComposerVersion, String> {
    let text = text.trim();
    let text = text.strip_prefix(['v', 'V']).unwrap_or(text);
    let numbers_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (numbers_text, rest) = text.split_at(numbers_end);
    let numbers_text = numbers_text.strip_suffix('.').unwrap_or(numbers_text);
    if numbers_text.is_empty() {
        return Err("a Composer version starts with a number".to_owned());
    }
    let mut numbers = Vec::new();
    for part in numbers_text.split('.') {
        if part.is_empty() {
            return Err("an empty number between dots".to_owned());
        }
        numbers.push(Numeral::from_digits(part));
    }
    while numbers.last().is_some_and(Numeral::is_zero) {
        numbers.pop();
    }
    let (stability, stability_number, dev_suffix) = stability(rest)?;
    Ok(ComposerVersion {
        numbers,
        stability,
        stability_number,
        dev_suffix,
    })
}

/// Reads `[-._]stability[.-]?N?` and an optional `[-.]dev` after the numbers.
fn stability(rest: &str) -> Result<(Stability, Numeral, DevSuffix), String> {
    let lower = rest.to_ascii_lowercase();
    let mut rest = lower.trim_start_matches(['-', '.', '_']);
    if rest.is_empty() {
        return Ok((Stability::Stable, Numeral::zero(), DevSuffix::None));
    }
    // Longer spellings first, so `beta` is not read as `b` followed by `eta`.
    const WORDS: [(&str, Stability); 10] = [
        ("stable", Stability::Stable),
        ("alpha", Stability::Alpha),
        ("beta", Stability::Beta),
        ("patch", Stability::Patch),
        ("dev", Stability::Dev),
        ("rc", Stability::ReleaseCandidate),
        ("pl", Stability::Patch),
        ("a", Stability::Alpha),
        ("b", Stability::Beta),
        ("p", Stability::Patch),
    ];
    let (word, stability) = WORDS
        .iter()
        .find(|(word, _)| rest.starts_with(word))
        .ok_or_else(|| format!("unknown stability {rest:?}"))?;
    rest = &rest[word.len()..];
    // A separator before the stability's number: `beta.2`, `RC-1`.
    if let Some(number) = rest.strip_prefix(['.', '-'])
        && number.starts_with(|c: char| c.is_ascii_digit())
    {
        rest = number;
    }
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let number = Numeral::from_digits(&rest[..digits]);
    rest = &rest[digits..];
    let dev_suffix = match rest {
        "" => DevSuffix::None,
        "-dev" | ".dev" if *stability != Stability::Dev => DevSuffix::Dev,
        _ => return Err(format!("unexpected {rest:?} after the stability")),
    };
    Ok((*stability, number, dev_suffix))
}
