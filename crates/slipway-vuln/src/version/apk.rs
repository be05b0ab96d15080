//! Alpine package version ordering, as `apk version -t` does it.
//!
//! A version is `1.2.3[letter][_suffix[N]]...[-rN]`. This is a port of apk-tools' tokenizer
//! (`version.c`): numbers, a letter, suffixes, the revision. Suffixes `_alpha`, `_beta`, `_pre`
//! and `_rc` mark pre-releases and sort *before* the version without them (`1.2.3_rc1 < 1.2.3`,
//! the mistake of trivy issue 245); `_cvs`, `_svn`, `_git`, `_hg` and `_p` sort after it. A
//! component with leading zeros after a dot compares as a fraction (`1.05 < 1.5`), as apk does.
//!
//! apk compares token by token; where two versions first differ in the *kind* of token, it
//! decides by kind alone (a pre-release suffix loses, then the version that ended, then the
//! revision, ...). Each token here carries that rank, so comparison is plain lexicographic order
//! of `(rank, value)` pairs: total and transitive by construction.

use std::cmp::Reverse;

use super::numeral::Numeral;

/// A parsed apk version: its tokens, the last one [`Rank::End`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ApkVersion {
    tokens: Vec<Token>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Token {
    rank: Rank,
    value: Value,
}

/// How a token compares against a token of another kind at the same place (variant order
/// matters): apk's token kinds in reverse, with pre-release suffixes below everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    PreReleaseSuffix,
    End,
    Revision,
    SuffixNumber,
    PostReleaseSuffix,
    Letter,
    Digit,
    DigitOrZero,
}

/// A token's value. A run of leading zeros after a dot is worth minus its length in apk, so it
/// sorts before every number, and more zeros sort lower (variant order matters).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Value {
    LeadingZeros(Reverse<usize>),
    Number(Numeral),
}

/// apk's token kinds, in its order: a kind may only follow a kind before it in this list for
/// the transitions apk allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    DigitOrZero,
    Digit,
    Letter,
    Suffix,
    SuffixNumber,
    Revision,
    End,
}

const PRE_RELEASE_SUFFIXES: [&str; 4] = ["alpha", "beta", "pre", "rc"];
const POST_RELEASE_SUFFIXES: [&str; 5] = ["cvs", "svn", "git", "hg", "p"];

/// Parses `text` as an apk version.
pub(crate) fn parse(text: &str) -> Result<ApkVersion, String> {
    let invalid = || format!("not an apk version (at {text:?})");
    if !text.starts_with(|c: char| c.is_ascii_digit()) {
        return Err("an apk version starts with a digit".to_owned());
    }
    let mut rest = text.as_bytes();
    let mut kind = Kind::Digit;
    let mut tokens = Vec::new();
    while kind != Kind::End {
        let (token, next) = take_token(kind, &mut rest).ok_or_else(invalid)?;
        tokens.push(token);
        kind = next;
    }
    tokens.push(Token {
        rank: Rank::End,
        value: Value::Number(Numeral::zero()),
    });
    Ok(ApkVersion { tokens })
}

/// apk's `get_token`: reads one token of `kind` from the front of `rest` and returns it with the
/// kind of the next one; `None` where apk says the version is invalid.
fn take_token(kind: Kind, rest: &mut &[u8]) -> Option<(Token, Kind)> {
    let digits = |bytes: &[u8]| bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    let zeros = rest.iter().take_while(|b| **b == b'0').count();
    let (rank, value, length, forced_next) = match kind {
        Kind::DigitOrZero if zeros > 0 => (
            Rank::DigitOrZero,
            Value::LeadingZeros(Reverse(zeros)),
            zeros,
            Some(Kind::Digit),
        ),
        Kind::DigitOrZero | Kind::Digit | Kind::SuffixNumber | Kind::Revision => {
            let length = digits(rest);
            let rank = match kind {
                Kind::DigitOrZero => Rank::DigitOrZero,
                Kind::Digit => Rank::Digit,
                Kind::SuffixNumber => Rank::SuffixNumber,
                _ => Rank::Revision,
            };
            let number = std::str::from_utf8(&rest[..length]).ok()?;
            (
                rank,
                Value::Number(Numeral::from_digits(number)),
                length,
                None,
            )
        }
        Kind::Letter => {
            let letter = *rest.first()?;
            (
                Rank::Letter,
                Value::Number(Numeral::from_u64(u64::from(letter))),
                1,
                None,
            )
        }
        Kind::Suffix => {
            let (rank, index, name) = suffix(rest)?;
            (
                rank,
                Value::Number(Numeral::from_u64(index)),
                name.len(),
                None,
            )
        }
        Kind::End => return None,
    };
    *rest = &rest[length..];
    let next = if rest.is_empty() {
        Kind::End
    } else if let Some(forced) = forced_next {
        forced
    } else {
        next_kind(kind, rest)?
    };
    Some((Token { rank, value }, next))
}

/// Which suffix `rest` starts with, checked in apk's order (`pre` before `p`).
fn suffix(rest: &[u8]) -> Option<(Rank, u64, &'static str)> {
    let pre = PRE_RELEASE_SUFFIXES
        .iter()
        .zip(0..)
        .find(|(name, _)| rest.starts_with(name.as_bytes()))
        .map(|(name, index)| (Rank::PreReleaseSuffix, index, *name));
    pre.or_else(|| {
        POST_RELEASE_SUFFIXES
            .iter()
            .zip(0..)
            .find(|(name, _)| rest.starts_with(name.as_bytes()))
            .map(|(name, index)| (Rank::PostReleaseSuffix, index, *name))
    })
}

/// apk's `next_token`: the kind of the token at the front of `rest` after a token of `kind`,
/// consuming its separator (`.`, `_`, `-r`); `None` for a transition apk rejects.
fn next_kind(kind: Kind, rest: &mut &[u8]) -> Option<Kind> {
    let first = *rest.first()?;
    let next = match (kind, first) {
        (Kind::Digit | Kind::DigitOrZero, b'a'..=b'z') => Kind::Letter,
        (Kind::Letter, b'0'..=b'9') => Kind::Digit,
        (Kind::Suffix, b'0'..=b'9') => Kind::SuffixNumber,
        (_, separator) => {
            let (next, length) = match separator {
                b'.' => (Kind::DigitOrZero, 1),
                b'_' => (Kind::Suffix, 1),
                b'-' if rest.get(1) == Some(&b'r') => (Kind::Revision, 2),
                _ => return None,
            };
            *rest = &rest[length..];
            next
        }
    };
    let allowed_step_back = matches!(
        (next, kind),
        (Kind::DigitOrZero, Kind::Digit)
            | (Kind::Suffix, Kind::SuffixNumber)
            | (Kind::Digit, Kind::Letter)
    );
    if next < kind && !allowed_step_back {
        return None;
    }
    // A separator at the very end (`1.`, `1_`, `1-r`) leaves nothing for the token it announces.
    if rest.is_empty() {
        return None;
    }
    Some(next)
}
