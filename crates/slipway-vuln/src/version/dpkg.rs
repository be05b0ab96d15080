//! Debian package version ordering, as `dpkg --compare-versions` does it.
//!
//! `[epoch:]upstream[-revision]`: the epoch compares numerically, then upstream and revision
//! each with dpkg's `verrevcmp`. That walks alternating runs of non-digits and digits: non-digit
//! runs compare character by character with `~` before the end of the run, the end before
//! letters, and letters before everything else; digit runs compare numerically. So
//! `1.0~rc1 < 1.0 < 1.0+b1 < 1.0a`.

use std::cmp::Ordering;

use super::numeral::Numeral;

/// A parsed Debian version.
#[derive(Debug, Clone)]
pub(crate) struct DpkgVersion {
    epoch: Numeral,
    upstream: String,
    /// Empty when the version has no `-revision`; dpkg compares that as `0`.
    revision: String,
}

/// Parses `text` as a Debian version, with the checks `dpkg` makes.
pub(crate) fn parse(text: &str) -> Result<DpkgVersion, String> {
    let text = text.trim();
    let (epoch, rest) = match text.split_once(':') {
        Some((epoch, rest)) => {
            if epoch.is_empty() || !epoch.bytes().all(|b| b.is_ascii_digit()) {
                return Err("the epoch is not a number".to_owned());
            }
            (Numeral::from_digits(epoch), rest)
        }
        None => (Numeral::zero(), text),
    };
    let (upstream, revision) = match rest.rsplit_once('-') {
        Some((upstream, revision)) => (upstream, revision),
        None => (rest, ""),
    };
    if !upstream.starts_with(|c: char| c.is_ascii_digit()) {
        return Err("the upstream version does not start with a digit".to_owned());
    }
    let allowed = |extra: &[u8], part: &str| {
        part.bytes()
            .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
    };
    if !allowed(b".+~-:", upstream) {
        return Err(format!(
            "the upstream version {upstream:?} has characters other than [A-Za-z0-9.+~-:]"
        ));
    }
    if rest.contains('-') && revision.is_empty() {
        return Err("the revision after `-` is empty".to_owned());
    }
    if !allowed(b".+~", revision) {
        return Err(format!(
            "the revision {revision:?} has characters other than [A-Za-z0-9.+~]"
        ));
    }
    Ok(DpkgVersion {
        epoch,
        upstream: upstream.to_owned(),
        revision: revision.to_owned(),
    })
}

impl Ord for DpkgVersion {
    fn cmp(&self, other: &DpkgVersion) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| verrevcmp(&self.upstream, &other.upstream))
            .then_with(|| verrevcmp(&self.revision, &other.revision))
    }
}

impl PartialOrd for DpkgVersion {
    fn partial_cmp(&self, other: &DpkgVersion) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Equality is dpkg's: `1.0` and `1.00` are the same version.
impl PartialEq for DpkgVersion {
    fn eq(&self, other: &DpkgVersion) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for DpkgVersion {}

/// The weight of a character in a non-digit run; the end of the run (a digit, or the end of the
/// string) weighs 0.
fn order(byte: Option<u8>) -> i32 {
    match byte {
        None => 0,
        Some(b) if b.is_ascii_digit() => 0,
        Some(b) if b.is_ascii_alphabetic() => i32::from(b),
        Some(b'~') => -1,
        Some(b) => i32::from(b) + 256,
    }
}

/// dpkg's `verrevcmp`.
fn verrevcmp(left: &str, right: &str) -> Ordering {
    let (mut a, mut b) = (left.as_bytes(), right.as_bytes());
    while !a.is_empty() || !b.is_empty() {
        // The non-digit runs, character by character.
        while a.first().is_some_and(|c| !c.is_ascii_digit())
            || b.first().is_some_and(|c| !c.is_ascii_digit())
        {
            let (weight_a, weight_b) = (order(a.first().copied()), order(b.first().copied()));
            if weight_a != weight_b {
                return weight_a.cmp(&weight_b);
            }
            a = &a[1..];
            b = &b[1..];
        }
        // The digit runs, by value.
        let digits = |run: &[u8]| run.iter().take_while(|c| c.is_ascii_digit()).count();
        let (length_a, length_b) = (digits(a), digits(b));
        let number = |run: &[u8]| Numeral::from_digits(std::str::from_utf8(run).unwrap_or("0"));
        let ordering = number(&a[..length_a]).cmp(&number(&b[..length_b]));
        if ordering.is_ne() {
            return ordering;
        }
        a = &a[length_a..];
        b = &b[length_b..];
    }
    Ordering::Equal
}
