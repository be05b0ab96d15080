//! Property tests of `.dockerignore` matching.
//!
//! The oracle is patternmatcher's own recipe, independent of the crate's automaton: the pattern
//! becomes a regular expression (`*` → `[^/]*`, `?` → `[^/]`, `**/` → `(.*/)?`, a final `**` →
//! `.*`), except that a pattern starting with `**` and otherwise plain is a suffix test, and a
//! path is excluded when the expression matches it or one of its parent directories.

use std::path::Path;

use proptest::prelude::*;
use slipway_context::DockerIgnore;

fn pattern() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("a"),
        Just("b"),
        Just("."),
        Just("/"),
        Just("*"),
        Just("?"),
        Just("**"),
        Just("**/"),
        Just("[ab]"),
        Just("[^a]"),
        Just("[a-b]"),
        Just("\\*"),
        Just("\\a")
    ];
    prop::collection::vec(piece, 1..6).prop_map(|pieces| pieces.concat())
}

fn path() -> impl Strategy<Value = String> {
    let name = "[ab.*]{1,3}".prop_filter("not . or ..", |name| name != "." && name != "..");
    prop::collection::vec(name, 1..4).prop_map(|parts| parts.join("/"))
}

/// patternmatcher's translation of a cleaned pattern, with its shortcuts.
fn oracle(pattern: &str) -> impl Fn(&str) -> bool {
    let plain = |text: &str| !text.contains(['*', '?', '[', ']', '\\']);
    let rest = pattern.strip_prefix("**");
    let suffix = rest.filter(|rest| plain(rest)).map(str::to_owned);
    let mut regex = String::from("^");
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                chars.next_if_eq(&'/');
                regex.push_str(if chars.peek().is_none() {
                    ".*"
                } else {
                    "(.*/)?"
                });
            }
            '*' => regex.push_str("[^/]*"),
            '?' => regex.push_str("[^/]"),
            '\\' => regex.push_str(&regex::escape(&chars.next().unwrap().to_string())),
            '[' | ']' | '^' | '-' => regex.push(c),
            _ => regex.push_str(&regex::escape(&c.to_string())),
        }
    }
    regex.push('$');
    let regex = regex::Regex::new(&regex).unwrap();
    move |path: &str| match &suffix {
        Some(suffix) => path.ends_with(suffix.as_str()) || suffix.strip_prefix('/') == Some(path),
        None => regex.is_match(path),
    }
}

fn cleaned(pattern: &str) -> String {
    let rooted = pattern.trim_start_matches('/');
    let parts: Vec<&str> = rooted
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    parts.join("/")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn matching_agrees_with_patternmatcher_s_regular_expression(pattern in pattern(), path in path()) {
        let cleaned = cleaned(&pattern);
        prop_assume!(!cleaned.is_empty() && !cleaned.contains(".."));
        let Ok(ignore) = DockerIgnore::parse(&pattern) else { return Ok(()) };
        let matches = oracle(&cleaned);
        let prefixes: Vec<String> =
            (1..=path.split('/').count()).map(|n| path.split('/').take(n).collect::<Vec<_>>().join("/")).collect();
        let expected = prefixes.iter().any(|prefix| matches(prefix));
        prop_assert_eq!(ignore.is_excluded(Path::new(&path)), expected, "pattern {:?} regex of {:?}", pattern, cleaned);
    }

    #[test]
    fn an_exception_after_its_pattern_re_includes(pattern in pattern(), path in path()) {
        if let Ok(ignore) = DockerIgnore::parse(&format!("{pattern}\n!{pattern}\n")) {
            prop_assert!(!ignore.is_excluded(Path::new(&path)));
        }
    }

    #[test]
    fn parsing_and_matching_never_panic(text in any::<String>(), path in any::<String>()) {
        if let Ok(ignore) = DockerIgnore::parse(&text) {
            ignore.is_excluded(Path::new(&path));
        }
    }
}
