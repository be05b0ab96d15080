//! Secret masking: every secret, and every value a step registers with `::add-mask::`, is
//! replaced by `***` wherever it would be shown or stored.
//!
//! A value is registered with the forms a script is likely to print it in, as GitHub's runner
//! does: each of its lines, its JSON string escape, its URL encoding, and its base64 encoding at
//! each of the three byte alignments (so it is found inside a longer base64 text too). One
//! regular expression matches them all, longest first, and is rebuilt when a value is added;
//! masking a line with nothing registered costs a read lock.

use std::borrow::Cow;
use std::sync::{Arc, PoisonError, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use regex::Regex;

/// What a masked value is replaced with.
pub const MASK: &str = "***";

/// The characters `encodeURIComponent` leaves alone are the only ones not encoded.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// Encoded forms shorter than this are not registered: they would mask ordinary text.
const MIN_ENCODED_LEN: usize = 4;

/// The registered secrets, shared by every job of a run.
#[derive(Debug, Clone, Default)]
pub struct Masker {
    inner: Arc<RwLock<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Every form registered, longest first.
    values: Vec<String>,
    pattern: Option<Regex>,
}

impl Masker {
    /// A masker with nothing registered.
    pub fn new() -> Masker {
        Masker::default()
    }

    /// Registers `value` and the forms it may be printed in. Blank values are ignored: masking
    /// them would hide nothing and mangle everything.
    pub fn add(&self, value: &str) {
        let forms = forms_of(value);
        if forms.is_empty() {
            return;
        }
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        let before = inner.values.len();
        for form in forms {
            if !inner.values.contains(&form) {
                inner.values.push(form);
            }
        }
        if inner.values.len() == before {
            return;
        }
        inner
            .values
            .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        let alternation: Vec<String> = inner.values.iter().map(|v| regex::escape(v)).collect();
        // Built from escaped literals, so it always compiles; should it exceed the size limit,
        // the previous pattern stays and the new value is still matched by the literal scan.
        inner.pattern = Regex::new(&alternation.join("|")).ok();
    }

    /// `text` with every registered form replaced by [`MASK`].
    pub fn mask<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        if inner.values.is_empty() {
            return Cow::Borrowed(text);
        }
        match &inner.pattern {
            Some(pattern) => match pattern.replace_all(text, MASK) {
                Cow::Borrowed(_) => Cow::Borrowed(text),
                Cow::Owned(masked) => Cow::Owned(masked),
            },
            None => {
                let mut masked = text.to_owned();
                for value in &inner.values {
                    masked = masked.replace(value.as_str(), MASK);
                }
                Cow::Owned(masked)
            }
        }
    }

    /// Whether `text` holds any registered form.
    pub fn reveals(&self, text: &str) -> bool {
        matches!(self.mask(text), Cow::Owned(_))
    }
}

/// The forms `value` is registered in: itself, its lines, and its encodings.
fn forms_of(value: &str) -> Vec<String> {
    let mut forms = Vec::new();
    let mut push = |form: String, min: usize| {
        if form.trim().len() >= min && !forms.contains(&form) {
            forms.push(form);
        }
    };
    push(value.to_owned(), 1);
    for line in value.lines() {
        push(line.trim_end_matches('\r').to_owned(), 1);
    }
    if let Ok(json) = serde_json::to_string(value) {
        push(json[1..json.len() - 1].to_owned(), MIN_ENCODED_LEN);
    }
    push(
        utf8_percent_encode(value, URI_COMPONENT).to_string(),
        MIN_ENCODED_LEN,
    );
    push(STANDARD.encode(value), MIN_ENCODED_LEN);
    let bytes = value.as_bytes();
    for shift in 0..3 {
        let Some(shifted) = bytes.get(shift..) else {
            continue;
        };
        // Only whole 3-byte groups encode the same whatever follows them.
        let whole = shifted.len() / 3 * 3;
        if whole > 0 {
            push(STANDARD_NO_PAD.encode(&shifted[..whole]), MIN_ENCODED_LEN);
        }
    }
    forms
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn secrets_and_their_encodings_are_masked() {
        let masker = Masker::new();
        masker.add("p@ss w/rd\"1");
        let cases = [
            ("token=p@ss w/rd\"1 end", "token=*** end"),
            (r#"{"password":"p@ss w/rd\"1"}"#, r#"{"password":"***"}"#),
            ("https://u:p%40ss%20w%2Frd%221@host", "https://u:***@host"),
        ];
        for (text, expected) in cases {
            assert_eq!(masker.mask(text), expected, "{text}");
        }
        let encoded = STANDARD.encode("p@ss w/rd\"1");
        assert_eq!(masker.mask(&format!("b64 {encoded}")), "b64 ***");
        // Inside a longer base64 text, at any alignment.
        for prefix in ["", "x", "xy"] {
            let long = STANDARD.encode(format!("{prefix}user:p@ss w/rd\"1 tail"));
            assert!(masker.reveals(&long), "{prefix:?}: {long}");
        }
    }

    #[test]
    fn each_line_of_a_multiline_secret_is_masked() {
        let masker = Masker::new();
        masker.add("-----BEGIN KEY-----\nAAAA\n-----END KEY-----\n");
        assert_eq!(masker.mask("line: AAAA"), "line: ***");
        assert_eq!(masker.mask("-----END KEY-----"), "***");
    }

    #[test]
    fn the_longest_form_wins_and_blank_values_are_ignored() {
        let masker = Masker::new();
        masker.add("abc");
        masker.add("abcdef");
        masker.add("   ");
        masker.add("");
        assert_eq!(masker.mask("xabcdefx abc"), "x***x ***");
        assert_eq!(masker.mask("   "), "   ");
        assert!(matches!(masker.mask("nothing here"), Cow::Borrowed(_)));
    }

    proptest! {
        #[test]
        fn a_registered_value_never_survives_masking(
            secret in "[a-zA-Z0-9 %=/+:@\"-]{1,24}",
            before in "[ -~]{0,12}",
            after in "[ -~]{0,12}",
        ) {
            prop_assume!(!secret.trim().is_empty());
            let masker = Masker::new();
            masker.add(&secret);
            let text = format!("{before}{secret}{after}");
            let masked = masker.mask(&text);
            prop_assert!(!masked.contains(&secret), "{masked}");
        }
    }
}
