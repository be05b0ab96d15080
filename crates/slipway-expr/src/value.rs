//! The values expressions compute with, and GitHub's rules for converting between them.
//!
//! [`Value`] mirrors JSON (null, boolean, number, string, array, object). Arrays and objects are
//! shared behind an [`Arc`] because GitHub compares them by identity: `github.event ==
//! github.event` is true (the same instance), while two equal-looking objects from two
//! `fromJSON` calls are not. The conversions follow the coercion table of "Evaluate expressions
//! in workflows and actions": to a number for mismatched comparisons, to a string for `format`,
//! `join` and templates, to a boolean for conditions.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use indexmap::IndexMap;

/// An expression value. Arrays and objects are shared: cloning keeps their identity.
///
/// `PartialEq` is structural Rust equality (useful for tests and callers); the expression
/// language's own `==` is [`Value::loose_eq`].
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`, and what reading a missing property gives.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// Every number is a double, as in GitHub's evaluator.
    Number(f64),
    /// A string.
    String(String),
    /// An array, compared by identity.
    Array(Arc<Vec<Value>>),
    /// An object keeping its keys in insertion order, compared by identity.
    Object(Arc<IndexMap<String, Value>>),
}

impl Value {
    /// Builds an array value.
    pub fn array(items: Vec<Value>) -> Value {
        Value::Array(Arc::new(items))
    }

    /// Builds an object value.
    pub fn object(entries: IndexMap<String, Value>) -> Value {
        Value::Object(Arc::new(entries))
    }

    /// Builds a string value.
    pub fn string(text: impl Into<String>) -> Value {
        Value::String(text.into())
    }

    /// GitHub's truthiness: `false`, `0`, `-0`, `""`, `null` and `NaN` are false; everything else,
    /// every array and object included, is true.
    pub fn is_truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Number(n) => !(*n == 0.0 || n.is_nan()),
            Value::String(s) => !s.is_empty(),
            Value::Array(_) | Value::Object(_) => true,
        }
    }

    /// Converts to a number: null is 0, booleans 1 and 0, strings are parsed like JavaScript's
    /// `Number()` (`''` is 0, anything unparsable NaN), arrays and objects are NaN.
    pub fn to_number(&self) -> f64 {
        match self {
            Value::Null => 0.0,
            Value::Bool(b) => f64::from(u8::from(*b)),
            Value::Number(n) => *n,
            Value::String(s) => parse_number(s),
            Value::Array(_) | Value::Object(_) => f64::NAN,
        }
    }

    /// The expression language's `==`: same-typed values compare directly (strings ignoring case,
    /// arrays and objects by identity); mismatched types are both converted to numbers, so
    /// `null == 0`, `true == 1` and `'' == 0` hold. NaN equals nothing, not even NaN.
    pub fn loose_eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Number(a), Value::Number(b)) => a == b,
            (Value::String(a), Value::String(b)) => compare_ignore_case(a, b) == Ordering::Equal,
            (Value::Array(a), Value::Array(b)) => Arc::ptr_eq(a, b),
            (Value::Object(a), Value::Object(b)) => Arc::ptr_eq(a, b),
            _ => self.to_number() == other.to_number(),
        }
    }

    /// The ordering behind `<`, `<=`, `>` and `>=`: strings compare ignoring case, everything else
    /// as numbers. `None` when the values are unordered (a NaN is involved, which makes every
    /// comparison false, as for arrays and objects).
    pub fn compare(&self, other: &Value) -> Option<Ordering> {
        match (self, other) {
            (Value::String(a), Value::String(b)) => Some(compare_ignore_case(a, b)),
            _ => self.to_number().partial_cmp(&other.to_number()),
        }
    }

    /// Reads `self.name` (or `self['name']`): object keys match ignoring case, as GitHub's
    /// contexts do. `None` when there is no such key.
    pub fn property(&self, name: &str) -> Option<&Value> {
        let Value::Object(map) = self else {
            return None;
        };
        map.get(name).or_else(|| {
            map.iter()
                .find(|(key, _)| compare_ignore_case(key, name) == Ordering::Equal)
                .map(|(_, value)| value)
        })
    }

    /// Reads `self[index]`: arrays take the index as a number (`'1'` and `true` both mean 1),
    /// objects take it as a property name. `None` when nothing is there.
    pub fn index(&self, index: &Value) -> Option<&Value> {
        match self {
            Value::Array(items) => {
                let n = index.to_number().trunc();
                if n.is_nan() || n < 0.0 || n >= items.len() as f64 {
                    return None;
                }
                // In range and non-negative, so the cast is exact.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                items.get(n as usize)
            }
            Value::Object(_) => match index {
                Value::Array(_) | Value::Object(_) => None,
                _ => self.property(&index.to_string()),
            },
            _ => None,
        }
    }

    /// The name GitHub uses for this value's type in messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }

    /// Pretty JSON with two-space indentation, as `toJSON` prints it.
    pub fn to_json_pretty(&self) -> String {
        let mut out = String::new();
        write_json(self, 0, &mut out);
        out
    }
}

/// The string conversion GitHub applies in `format`, `join` and `${{ }}` templates: null is `''`,
/// booleans `true`/`false`, numbers as [`format_number`] writes them, arrays `Array` and objects
/// `Object`.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => Ok(()),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => f.write_str(&format_number(*n)),
            Value::String(s) => f.write_str(s),
            Value::Array(_) => f.write_str("Array"),
            Value::Object(_) => f.write_str("Object"),
        }
    }
}

impl From<serde_json::Value> for Value {
    fn from(json: serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(items) => {
                Value::array(items.into_iter().map(Value::from).collect())
            }
            serde_json::Value::Object(map) => Value::object(
                map.into_iter()
                    .map(|(key, value)| (key, Value::from(value)))
                    .collect(),
            ),
        }
    }
}

/// Reads any JSON value, keeping object keys in document order (unlike `serde_json::Value`,
/// which sorts them), so `toJSON(fromJSON(x))` keeps `x`'s order as GitHub does.
impl<'de> serde::Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> serde::de::Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        serde::Deserialize::deserialize(d)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    #[allow(clippy::cast_precision_loss)] // Every expression number is a double.
    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Number(n as f64))
    }

    #[allow(clippy::cast_precision_loss)]
    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::Number(n as f64))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        Ok(Value::Number(n))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = IndexMap::new();
        while let Some((key, value)) = map.next_entry::<String, Value>()? {
            entries.insert(key, value);
        }
        Ok(Value::object(entries))
    }
}

impl Value {
    /// Parses JSON text, keeping object keys in document order.
    pub fn from_json_str(text: &str) -> Result<Value, serde_json::Error> {
        serde_json::from_str(text)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<f64> for Value {
    fn from(n: f64) -> Value {
        Value::Number(n)
    }
}

/// Compares two strings ignoring case, the way GitHub's .NET evaluator does with
/// `OrdinalIgnoreCase`: each character is mapped to its simple (one character, culture-free)
/// upper case and the results are compared ordinally, so `'_' > 'A'`, `'ß' != 'SS'` and the
/// Turkish dotless `'ı' != 'I'`.
pub fn compare_ignore_case(a: &str, b: &str) -> Ordering {
    a.chars().map(simple_upper).cmp(b.chars().map(simple_upper))
}

/// Upper-cases for case-insensitive searching (`contains`, `startsWith`, `endsWith`).
pub(crate) fn fold_case(s: &str) -> String {
    s.chars().map(simple_upper).collect()
}

/// The simple upper-case mapping .NET's ordinal casing uses: a character whose upper case is
/// several characters (`ß` is `SS`) stays as it is, and the two letters whose upper case is an
/// ASCII letter only under culture rules (dotless `ı`, long `ſ`) are left alone too, as .NET
/// excludes them from its invariant table.
fn simple_upper(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_uppercase();
    }
    if matches!(c, '\u{0131}' | '\u{017F}') {
        return c;
    }
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(single), None) => single,
        _ => c,
    }
}

/// Parses a string into a number the way JavaScript's `Number()` does, which is what GitHub
/// applies to strings: surrounding whitespace is ignored, the empty string is 0, `0x`, `0o` and
/// `0b` prefixes are read in their radix, `Infinity` is accepted with a sign, and anything else
/// that is not a decimal literal is NaN.
pub fn parse_number(text: &str) -> f64 {
    let s = text.trim();
    if s.is_empty() {
        return 0.0;
    }
    match s {
        "Infinity" | "+Infinity" => return f64::INFINITY,
        "-Infinity" => return f64::NEG_INFINITY,
        _ => {}
    }
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(digits) = s
            .get(..2)
            .filter(|start| start.eq_ignore_ascii_case(prefix))
            .and_then(|_| s.get(2..))
            .filter(|digits| !digits.is_empty())
        {
            return parse_radix(digits, radix);
        }
    }
    if is_decimal_literal(s) {
        s.parse().unwrap_or(f64::NAN)
    } else {
        f64::NAN
    }
}

/// Digits in `radix`, accumulated as a double so huge hex literals lose precision rather than
/// overflowing (as in JavaScript).
fn parse_radix(digits: &str, radix: u32) -> f64 {
    let mut value = 0.0;
    for c in digits.chars() {
        match c.to_digit(radix) {
            Some(d) => value = value * f64::from(radix) + f64::from(d),
            None => return f64::NAN,
        }
    }
    value
}

/// `[+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?`: the decimal form JavaScript
/// accepts. Checked before handing to Rust's parser, which also takes `inf` and `nan`.
fn is_decimal_literal(s: &str) -> bool {
    let bytes = s.as_bytes();
    let mut i = usize::from(matches!(bytes.first(), Some(b'+' | b'-')));
    let int_start = i;
    while bytes.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let mut digits = i - int_start;
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        let frac_start = i;
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        digits += i - frac_start;
    }
    if digits == 0 {
        return false;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_start = i;
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == exp_start {
            return false;
        }
    }
    i == bytes.len()
}

/// Significant digits GitHub keeps when it turns a number into a string.
const SIGNIFICANT_DIGITS: i32 = 15;

/// Formats a number the way GitHub's runner writes it into strings: integers without a decimal
/// point, at most 15 significant digits (so `0.1 + 0.2` style noise disappears), exponential
/// notation for large and tiny magnitudes (`1E+15`, `1E-07`), and `NaN`, `Infinity`,
/// `-Infinity`. Negative zero is written `0`.
pub fn format_number(n: f64) -> String {
    if n.is_nan() {
        return "NaN".to_owned();
    }
    if n.is_infinite() {
        return if n > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    if n == 0.0 {
        return "0".to_owned();
    }
    // Round to the significant digits first; the exponent comes from the rounded form so a
    // value like 9.999999999999999e14 is classified by what is actually printed.
    let scientific = format!("{:.*e}", (SIGNIFICANT_DIGITS - 1) as usize, n);
    let Some((mantissa, exponent)) = scientific.split_once('e') else {
        return scientific;
    };
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if (-4..SIGNIFICANT_DIGITS).contains(&exponent) {
        let decimals = usize::try_from(SIGNIFICANT_DIGITS - 1 - exponent).unwrap_or(0);
        trim_fraction(&format!("{n:.decimals$}")).to_owned()
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!(
            "{}E{sign}{:02}",
            trim_fraction(mantissa),
            exponent.unsigned_abs()
        )
    }
}

/// Drops trailing zeros of a fraction, and the point if nothing is left after it.
fn trim_fraction(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

fn write_json(value: &Value, depth: usize, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&format_number(*n)),
        Value::String(s) => write_json_string(s, out),
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                out.push_str(if i == 0 { "\n" } else { ",\n" });
                indent(depth + 1, out);
                write_json(item, depth + 1, out);
            }
            out.push('\n');
            indent(depth, out);
            out.push(']');
        }
        Value::Object(map) if map.is_empty() => out.push_str("{}"),
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                out.push_str(if i == 0 { "\n" } else { ",\n" });
                indent(depth + 1, out);
                write_json_string(key, out);
                out.push_str(": ");
                write_json(item, depth + 1, out);
            }
            out.push('\n');
            indent(depth, out);
            out.push('}');
        }
    }
}

fn write_json_string(s: &str, out: &mut String) {
    // serde_json's string escaping cannot fail for a `str`.
    match serde_json::to_string(s) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("\"\""),
    }
}

fn indent(depth: usize, out: &mut String) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_strings_like_javascript_number() {
        let cases: &[(&str, f64)] = &[
            ("", 0.0),
            ("   ", 0.0),
            (" 42 ", 42.0),
            ("+1.5", 1.5),
            ("-.5", -0.5),
            ("1.", 1.0),
            ("1e3", 1000.0),
            ("2.99E-2", 0.0299),
            ("0xff", 255.0),
            ("0XFF", 255.0),
            ("0o17", 15.0),
            ("0b101", 5.0),
            ("Infinity", f64::INFINITY),
            ("-Infinity", f64::NEG_INFINITY),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_number(text), *expected, "parsing {text:?}");
        }
        for text in [
            "abc", "1e", "0x", "-0xff", "inf", "nan", "1 2", ".", "+", "0xg",
            // A multi-byte character where a radix prefix would end (found by fuzzing).
            "0\u{486}",
        ] {
            assert!(parse_number(text).is_nan(), "{text:?} should be NaN");
        }
    }

    #[test]
    fn formats_numbers_like_github() {
        let cases: &[(f64, &str)] = &[
            (1.0, "1"),
            (-2.0, "-2"),
            (0.5, "0.5"),
            (-0.0, "0"),
            (0.1 + 0.2, "0.3"),
            (123_456.789, "123456.789"),
            (999_999_999_999_999.0, "999999999999999"),
            (1e15, "1E+15"),
            (1.5e20, "1.5E+20"),
            (0.0001, "0.0001"),
            (0.000_01, "1E-05"),
            (1.25e-7, "1.25E-07"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for (n, expected) in cases {
            assert_eq!(format_number(*n), *expected, "formatting {n}");
        }
    }

    #[test]
    fn pretty_json_uses_two_spaces_and_keeps_key_order() {
        let array = Value::from(serde_json::json!([1, "x", null]));
        let entries = [
            ("b", array),
            ("a", Value::object(IndexMap::new())),
            ("c", Value::array(vec![])),
        ];
        let value = Value::object(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        );
        assert_eq!(
            value.to_json_pretty(),
            "{\n  \"b\": [\n    1,\n    \"x\",\n    null\n  ],\n  \"a\": {},\n  \"c\": []\n}"
        );
    }

    #[test]
    fn properties_match_ignoring_case_but_prefer_exact() {
        let value = Value::from(serde_json::json!({"Ref": "a", "ref": "b", "Name": "n"}));
        assert_eq!(value.property("ref"), Some(&Value::from("b")));
        assert_eq!(value.property("NAME"), Some(&Value::from("n")));
        assert_eq!(value.property("missing"), None);
    }
}
