//! [`Numeral`]: a decimal number of any length, compared by value.
//!
//! Version components are numbers people write, and nothing stops a date-stamped component
//! (`20240101123456789012`) from exceeding `u64`. Keeping the digits, without leading zeros,
//! compares them exactly: a longer numeral is larger, equal lengths compare digit by digit.

use std::cmp::Ordering;

/// A non-negative decimal number of any length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Numeral(Box<str>);

impl Numeral {
    /// Zero.
    pub(crate) fn zero() -> Numeral {
        Numeral("".into())
    }

    /// The numeral written by `digits`, which must be ASCII digits only (possibly none, which
    /// reads as zero). Leading zeros are insignificant.
    pub(crate) fn from_digits(digits: &str) -> Numeral {
        debug_assert!(digits.bytes().all(|byte| byte.is_ascii_digit()));
        Numeral(digits.trim_start_matches('0').into())
    }

    /// A small number, such as a rank.
    pub(crate) fn from_u64(value: u64) -> Numeral {
        Numeral::from_digits(&value.to_string())
    }

    pub(crate) fn is_zero(&self) -> bool {
        self.0.is_empty()
    }
}

impl Ord for Numeral {
    fn cmp(&self, other: &Numeral) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for Numeral {
    fn partial_cmp(&self, other: &Numeral) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_by_value_whatever_the_length() {
        let n = Numeral::from_digits;
        assert!(n("9") < n("10"));
        assert_eq!(n("007"), n("7"));
        assert_eq!(n("000"), Numeral::zero());
        assert!(n("18446744073709551616") > n("18446744073709551615"));
        assert!(Numeral::from_u64(0).is_zero());
    }
}
