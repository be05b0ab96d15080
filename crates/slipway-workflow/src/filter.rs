//! GitHub's filter patterns for `branches`, `tags` and `paths`, and their order-dependent lists.
//!
//! From the "Filter pattern cheat sheet": `*` matches any characters except `/`, `**` any
//! characters, `?` makes the preceding character optional, `+` repeats it, `[...]` matches one
//! listed character or range (`a-z`, `A-Z`, `0-9`), `\` escapes, and a leading `!` negates. In a
//! list, later patterns override earlier ones: a value is selected when the last pattern that
//! matches it is not negated. Patterns compile to anchored regular expressions.

use std::fmt;

use regex::Regex;
use thiserror::Error;

/// Why a pattern is invalid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid filter pattern '{pattern}': {message}")]
pub struct PatternError {
    /// The pattern as written.
    pub pattern: String,
    /// Byte offset of the problem in the pattern.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// One compiled pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    raw: String,
    negated: bool,
    regex: Regex,
}

impl Pattern {
    /// Compiles a pattern, `!` prefix included.
    pub fn parse(raw: &str) -> Result<Pattern, PatternError> {
        let (negated, body, body_start) = match raw.strip_prefix('!') {
            Some(rest) => (true, rest, 1),
            None => (false, raw, 0),
        };
        let error = |offset: usize, message: &str| PatternError {
            pattern: raw.to_owned(),
            offset: offset + body_start,
            message: message.to_owned(),
        };
        if body.is_empty() {
            return Err(error(0, "the pattern is empty"));
        }
        let mut atoms: Vec<(String, bool)> = Vec::new(); // (regex, may take a quantifier)
        let chars: Vec<(usize, char)> = body.char_indices().collect();
        let mut i = 0;
        while i < chars.len() {
            let (at, c) = chars[i];
            match c {
                '*' if chars.get(i + 1).is_some_and(|&(_, n)| n == '*') => {
                    atoms.push((".*".to_owned(), true));
                    i += 2;
                    continue;
                }
                '*' => atoms.push(("[^/]*".to_owned(), true)),
                '?' | '+' => match atoms.last_mut() {
                    Some((atom, repeatable)) if *repeatable => {
                        *atom = format!("(?:{atom}){c}");
                        *repeatable = false;
                    }
                    _ => {
                        return Err(error(
                            at,
                            &format!("'{c}' must follow a character it repeats"),
                        ));
                    }
                },
                '\\' => match chars.get(i + 1) {
                    Some(&(_, escaped)) => {
                        atoms.push((regex::escape(&escaped.to_string()), true));
                        i += 2;
                        continue;
                    }
                    None => return Err(error(at, "'\\' at the end escapes nothing")),
                },
                '[' => {
                    let (class, next) =
                        bracket(&chars, i).map_err(|(offset, m)| error(offset, &m))?;
                    atoms.push((class, true));
                    i = next;
                    continue;
                }
                other => atoms.push((regex::escape(&other.to_string()), true)),
            }
            i += 1;
        }
        let source: String = atoms.into_iter().map(|(atom, _)| atom).collect();
        let regex = Regex::new(&format!("^(?:{source})$")).map_err(|e| error(0, &e.to_string()))?;
        Ok(Pattern {
            raw: raw.to_owned(),
            negated,
            regex,
        })
    }

    /// Whether the pattern (ignoring its `!`) matches `value`.
    pub fn is_match(&self, value: &str) -> bool {
        self.regex.is_match(value)
    }

    /// Whether the pattern starts with `!`.
    pub fn is_negated(&self) -> bool {
        self.negated
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// Reads `[...]` starting at `chars[start]`; returns the regex class and the index after `]`.
fn bracket(chars: &[(usize, char)], start: usize) -> Result<(String, usize), (usize, String)> {
    let open_at = chars[start].0;
    let mut class = String::from("[");
    let mut i = start + 1;
    let mut members = 0;
    while let Some(&(at, c)) = chars.get(i) {
        if c == ']' {
            if members == 0 {
                return Err((open_at, "'[]' lists no characters".to_owned()));
            }
            class.push(']');
            return Ok((class, i + 1));
        }
        let is_range = chars.get(i + 1).is_some_and(|&(_, d)| d == '-')
            && chars.get(i + 2).is_some_and(|&(_, e)| e != ']');
        if is_range {
            let end = chars[i + 2].1;
            let same_kind = [
                char::is_ascii_lowercase,
                char::is_ascii_uppercase,
                char::is_ascii_digit,
            ]
            .iter()
            .any(|kind| kind(&c) && kind(&end));
            if !same_kind || c > end {
                return Err((
                    at,
                    format!(
                        "invalid range '{c}-{end}': ranges go within a-z, A-Z or 0-9, low to high"
                    ),
                ));
            }
            class.push_str(&format!("{c}-{end}"));
            i += 3;
        } else {
            class.push_str(&regex::escape(&c.to_string()));
            i += 1;
        }
        members += 1;
    }
    Err((open_at, "'[' is never closed with ']'".to_owned()))
}

/// A list of patterns read in order, as one `branches:` (or `paths:`, ...) filter.
#[derive(Debug, Clone)]
pub struct PatternList {
    patterns: Vec<Pattern>,
}

impl PatternList {
    /// Compiles every pattern; the first invalid one is the error.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<PatternList, PatternError> {
        let patterns = patterns
            .iter()
            .map(|p| Pattern::parse(p.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(PatternList { patterns })
    }

    /// Whether `value` is selected: the last pattern matching it is not negated.
    pub fn selects(&self, value: &str) -> bool {
        self.patterns
            .iter()
            .rev()
            .find(|p| p.is_match(value))
            .is_some_and(|p| !p.is_negated())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, value: &str) -> bool {
        Pattern::parse(pattern).unwrap().is_match(value)
    }

    #[test]
    fn cheat_sheet_examples() {
        let yes: &[(&str, &str)] = &[
            ("feature/*", "feature/my-branch"),
            ("feature/**", "feature/your-branch/x"),
            ("main", "main"),
            ("releases/mona-the-octocat", "releases/mona-the-octocat"),
            ("*", "main"),
            ("**", "all/the/branches"),
            ("v2*", "v2.0"),
            ("v[12].[0-9]+.[0-9]+", "v1.10.1"),
            ("v[12].[0-9]+.[0-9]+", "v2.0.0"),
            ("'*'", "'x'"),
            ("*.js", "app.js"),
            ("**.js", "js/index.js"),
            ("docs/*", "docs/README.md"),
            ("docs/**", "docs/mona/octocat.txt"),
            ("docs/**/*.md", "docs/a/b/c.md"),
            ("**/docs/**", "x/docs/y/z"),
            ("**/README.md", "a/b/README.md"),
            ("*-post.md", "my-post.md"),
            ("colou?r", "color"),
            ("colou?r", "colour"),
            ("a+", "aaa"),
            ("\\*star", "*star"),
            ("[CB]at", "Cat"),
        ];
        for (pattern, value) in yes {
            assert!(matches(pattern, value), "{pattern} should match {value}");
        }
        let no: &[(&str, &str)] = &[
            ("feature/*", "feature/a/b"),
            ("*", "feature/x"),
            ("*.js", "js/index.js"),
            ("docs/*", "docs/a/b.md"),
            ("v[12].[0-9]+.[0-9]+", "v3.0.0"),
            ("v[12].[0-9]+.[0-9]+", "v1.x.0"),
            ("colou?r", "colouur"),
            ("a+", ""),
            ("main", "mainline"),
            ("\\*star", "xstar"),
        ];
        for (pattern, value) in no {
            assert!(
                !matches(pattern, value),
                "{pattern} should not match {value}"
            );
        }
    }

    #[test]
    fn later_patterns_override_earlier_ones() {
        let list = PatternList::new(&["releases/**", "!releases/**-alpha"]).unwrap();
        assert!(list.selects("releases/10"));
        assert!(!list.selects("releases/10-alpha"));
        assert!(!list.selects("main"));
        let list = PatternList::new(&["!releases/**-alpha", "releases/**"]).unwrap();
        assert!(
            list.selects("releases/10-alpha"),
            "the later positive pattern wins"
        );
    }

    #[test]
    fn invalid_patterns_say_where() {
        let cases: &[(&str, usize)] = &[
            ("", 0),
            ("!", 1),
            ("+abc", 0),
            ("feature/[a-", 8),
            ("x[]", 1),
            ("[z-a]", 1),
            ("[a-Z]", 1),
            ("trailing\\", 8),
            ("!?x", 1),
        ];
        for (pattern, offset) in cases {
            let err = Pattern::parse(pattern).unwrap_err();
            assert_eq!(err.offset, *offset, "{pattern}: {err}");
        }
    }
}
