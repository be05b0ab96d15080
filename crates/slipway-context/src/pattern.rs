//! One `.dockerignore` pattern: checked with Go's `filepath.Match` syntax, matched the way
//! moby/patternmatcher does.
//!
//! patternmatcher turns a pattern into a regular expression (`*` is `[^/]*`, `?` is `[^/]`, `**`
//! is `(.*/)?`, or `.*` at the end), with shortcuts for patterns that are plain text (compared
//! exactly), plain text ending in `**` (a prefix) or starting with `**` (a suffix). The shortcuts
//! are not always what the regular expression would say (`**foo` matches `barfoo`), and Docker
//! follows the shortcuts, so this module does too. The regular expression is matched here by a
//! small automaton over [`Token`]s rather than a regex engine.
//!
//! One divergence is deliberate: inside `[...]`, patternmatcher copies `*` and `?` into the
//! regular expression as if they were outside brackets, which turns `[*]` into a different class
//! altogether; here a class means what `filepath.Match` says it means.

use crate::clean::clean;

/// A checked pattern, ready to match slash-separated relative paths.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    /// The cleaned pattern text, without the leading `!`.
    text: String,
    exclusion: bool,
    matcher: Matcher,
}

#[derive(Debug, Clone)]
enum Matcher {
    Exact,
    /// The pattern text minus its trailing `**`.
    Prefix(String),
    /// The pattern text minus its leading `**`.
    Suffix(String),
    Tokens(Vec<Token>),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Literal(char),
    /// `?`: one character other than `/`.
    AnyChar,
    /// `*`: any run of characters other than `/`.
    Star,
    /// `**` followed by more pattern: `(.*/)?`, nothing or anything ending in `/`.
    AnyDirectories,
    /// `**` at the end: `.*`.
    AnyRest,
    Class(Class),
}

#[derive(Debug, Clone, PartialEq)]
struct Class {
    negated: bool,
    ranges: Vec<(char, char)>,
}

impl Class {
    fn matches(&self, c: char) -> bool {
        self.ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != self.negated
    }
}

/// Why a pattern is invalid: Go's `filepath.ErrBadPattern`, or a lone `!`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PatternError {
    BadSyntax,
    LoneExclamation,
}

impl Pattern {
    /// Checks and compiles one pattern as `patternmatcher.New` receives it (`!` still in front).
    pub(crate) fn new(raw: &str) -> Result<Pattern, PatternError> {
        let cleaned = clean(raw.trim());
        let (exclusion, text) = match cleaned.strip_prefix('!') {
            Some("") => return Err(PatternError::LoneExclamation),
            Some(rest) => (true, rest.to_owned()),
            None => (false, cleaned),
        };
        check_syntax(&text)?;
        let matcher = compile(&text);
        Ok(Pattern {
            text,
            exclusion,
            matcher,
        })
    }

    /// Whether the pattern started with `!`, re-including what it matches.
    pub(crate) fn is_exclusion(&self) -> bool {
        self.exclusion
    }

    /// The cleaned pattern without its `!`.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Whether `path` (relative, slash-separated, cleaned) matches this pattern itself; parent
    /// directories are the caller's business.
    pub(crate) fn matches(&self, path: &str) -> bool {
        match &self.matcher {
            Matcher::Exact => path == self.text,
            Matcher::Prefix(prefix) => path.starts_with(prefix.as_str()),
            Matcher::Suffix(suffix) => {
                path.ends_with(suffix.as_str())
                    || suffix.strip_prefix('/').is_some_and(|rest| path == rest)
            }
            Matcher::Tokens(tokens) => matches_tokens(tokens, path),
        }
    }
}

/// Rejects what Go's `filepath.Match` rejects: a trailing `\`, and a malformed `[...]` class.
fn check_syntax(pattern: &str) -> Result<(), PatternError> {
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next().ok_or(PatternError::BadSyntax)?;
            }
            '[' => {
                parse_class(&mut chars)?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Parses a class after its `[`, as `filepath.Match`: optional `^`, then one or more characters
/// or `lo-hi` ranges (`\` escapes), then `]`.
fn parse_class(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
) -> Result<Class, PatternError> {
    let negated = chars.next_if_eq(&'^').is_some();
    let mut ranges = Vec::new();
    loop {
        if !ranges.is_empty() && chars.next_if_eq(&']').is_some() {
            return Ok(Class { negated, ranges });
        }
        let lo = class_char(chars)?;
        let hi = if chars.next_if_eq(&'-').is_some() {
            class_char(chars)?
        } else {
            lo
        };
        ranges.push((lo, hi));
    }
}

/// One character of a class; like Go's `getEsc`, it must not be `-` or `]` unescaped and must not
/// end the pattern.
fn class_char(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<char, PatternError> {
    let c = match chars.next() {
        None | Some('-' | ']') => return Err(PatternError::BadSyntax),
        Some('\\') => chars.next().ok_or(PatternError::BadSyntax)?,
        Some(c) => c,
    };
    if chars.peek().is_none() {
        return Err(PatternError::BadSyntax);
    }
    Ok(c)
}

/// Chooses the matcher as patternmatcher's `compile` does.
fn compile(pattern: &str) -> Matcher {
    #[derive(PartialEq)]
    enum Kind {
        Exact,
        Prefix,
        Suffix,
        Tokens,
    }
    let mut kind = Kind::Exact;
    let mut tokens = Vec::new();
    let mut chars = pattern.chars().peekable();
    let mut first = true;
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.next_if_eq(&'*').is_some() => {
                chars.next_if_eq(&'/');
                if chars.peek().is_none() {
                    if kind == Kind::Exact {
                        kind = Kind::Prefix;
                    } else {
                        tokens.push(Token::AnyRest);
                        kind = Kind::Tokens;
                    }
                } else {
                    tokens.push(Token::AnyDirectories);
                    kind = Kind::Tokens;
                }
                if first {
                    kind = Kind::Suffix;
                }
            }
            '*' => {
                tokens.push(Token::Star);
                kind = Kind::Tokens;
            }
            '?' => {
                tokens.push(Token::AnyChar);
                kind = Kind::Tokens;
            }
            '\\' => match chars.next() {
                Some(escaped) => {
                    tokens.push(Token::Literal(escaped));
                    kind = Kind::Tokens;
                }
                None => tokens.push(Token::Literal('\\')),
            },
            '[' => {
                // The syntax was checked, so the class parses.
                if let Ok(class) = parse_class(&mut chars) {
                    tokens.push(Token::Class(class));
                }
                kind = Kind::Tokens;
            }
            _ => tokens.push(Token::Literal(c)),
        }
        first = false;
    }
    match kind {
        Kind::Exact => Matcher::Exact,
        Kind::Prefix => Matcher::Prefix(pattern[..pattern.len() - 2].to_owned()),
        Kind::Suffix => Matcher::Suffix(pattern[2..].to_owned()),
        Kind::Tokens => Matcher::Tokens(tokens),
    }
}

/// Runs the pattern as an automaton over `path`, keeping every token position reachable so far.
///
/// `AnyDirectories` has two states: "not entered" (it may still match nothing) and "inside"
/// (it has consumed characters and must end on a `/`). Like Go's `.`, neither `**` form matches
/// a newline.
fn matches_tokens(tokens: &[Token], path: &str) -> bool {
    let count = tokens.len();
    let mut at = vec![false; count + 1];
    let mut inside = vec![false; count];
    at[0] = true;
    close(tokens, &mut at);
    for c in path.chars() {
        let mut next_at = vec![false; count + 1];
        let mut next_inside = vec![false; count];
        for (index, token) in tokens.iter().enumerate() {
            if inside[index] && c != '\n' {
                next_inside[index] = true;
                if c == '/' {
                    next_at[index + 1] = true;
                }
            }
            if !at[index] {
                continue;
            }
            match token {
                Token::Literal(literal) => next_at[index + 1] |= c == *literal,
                Token::AnyChar => next_at[index + 1] |= c != '/',
                Token::Class(class) => next_at[index + 1] |= class.matches(c),
                Token::Star => next_at[index] |= c != '/',
                Token::AnyRest => next_at[index] |= c != '\n',
                Token::AnyDirectories if c != '\n' => {
                    next_inside[index] = true;
                    if c == '/' {
                        next_at[index + 1] = true;
                    }
                }
                Token::AnyDirectories => {}
            }
        }
        close(tokens, &mut next_at);
        if !next_at.contains(&true) && !next_inside.contains(&true) {
            return false;
        }
        at = next_at;
        inside = next_inside;
    }
    at[count]
}

/// Adds the positions reachable without consuming a character: past `*`, `**` and `(.*/)?`.
fn close(tokens: &[Token], at: &mut [bool]) {
    for (index, token) in tokens.iter().enumerate() {
        if at[index] && matches!(token, Token::Star | Token::AnyRest | Token::AnyDirectories) {
            at[index + 1] = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, path: &str) -> bool {
        Pattern::new(pattern).unwrap().matches(path)
    }

    #[test]
    fn single_segment_wildcards() {
        assert!(matches("*.md", "README.md"));
        assert!(!matches("*.md", "docs/README.md"));
        assert!(matches("?.txt", "a.txt"));
        assert!(!matches("?.txt", "ab.txt"));
        assert!(matches("a?c", "a c"));
        assert!(!matches("a?c", "a/c"));
        assert!(matches("a*", "a"));
    }

    #[test]
    fn double_stars() {
        assert!(matches("**/x", "x"));
        assert!(matches("**/x", "a/b/x"));
        assert!(!matches("**/x", "ax"));
        assert!(matches("**x", "ax"), "patternmatcher's suffix shortcut");
        assert!(matches("x/**", "x/a/b"));
        assert!(!matches("x/**", "x"));
        assert!(matches("a/**/b", "a/b"));
        assert!(matches("a/**/b", "a/x/y/b"));
        assert!(!matches("a/**/b", "a/xb"));
        assert!(matches("**", "anything/at/all"));
        assert!(matches("a/**/*.js", "a/b/c.js"));
        assert!(matches("**/*.js", "c.js"));
        assert!(!matches("**/*.js", "c.json"));
        assert!(matches("a**", "abc/d"));
        assert!(!matches("a*/**", "ab/x\ny"), "** never matches a newline");
        assert!(matches("a*/**", "a\n/x"), "* does");
    }

    #[test]
    fn classes_and_escapes() {
        assert!(matches("[a-c]x", "bx"));
        assert!(!matches("[a-c]x", "dx"));
        assert!(matches("[^a]x", "bx"));
        assert!(!matches("[^a]x", "ax"));
        assert!(matches("[^a]", "/"), "a negated class matches / as in Go");
        assert!(matches("[\\]]", "]"));
        assert!(matches("\\*", "*"));
        assert!(!matches("\\*", "a"));
        assert!(matches("a.b", "a.b"));
        assert!(!matches("a.b", "axb"));
        assert!(matches("a+(b)|{c}$", "a+(b)|{c}$"));
    }

    #[test]
    fn syntax_errors_are_go_s() {
        for bad in [
            "[", "[]", "[a", "[a-]", "[-a]", "a\\", "[^]", "x[\\", "[]a]x", "[a-b-c]", "[a-]x",
        ] {
            assert_eq!(
                Pattern::new(bad).err(),
                Some(PatternError::BadSyntax),
                "{bad:?}"
            );
        }
        assert_eq!(Pattern::new("!").err(), Some(PatternError::LoneExclamation));
        assert_eq!(
            Pattern::new("!/").err(),
            Some(PatternError::LoneExclamation)
        );
        for good in ["[!a]", "a]", "[\\-]"] {
            assert!(Pattern::new(good).is_ok(), "{good:?} is valid in Go");
        }
    }

    #[test]
    fn patterns_are_cleaned() {
        let pattern = Pattern::new(" !a//b/../c/ ").unwrap();
        assert!(pattern.is_exclusion());
        assert_eq!(pattern.text(), "a/c");
    }
}
