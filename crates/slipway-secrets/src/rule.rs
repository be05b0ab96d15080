//! [`Rule`] and [`Allowlist`]: what a secret looks like, and what makes a match not one.
//!
//! The fields are gitleaks' (`id`, `regex`, `secretGroup`, `entropy`, `keywords`, `path`,
//! `allowlists`), so a rule written for gitleaks means the same here. Rules are compiled once:
//! regexes over bytes (files need not be UTF-8), keywords lower-cased for the case-insensitive
//! prefilter.

use regex::bytes::Regex;

use crate::check::Check;

/// A secret rule, compiled.
#[derive(Debug, Clone)]
pub struct Rule {
    pub(crate) id: String,
    pub(crate) description: String,
    /// What a secret looks like; `None` for a rule that flags files by `path` alone.
    pub(crate) regex: Option<Regex>,
    /// The capture group holding the secret; 0 is the whole match.
    pub(crate) secret_group: usize,
    /// The least Shannon entropy (bits per byte) the secret must have.
    pub(crate) entropy: Option<f64>,
    /// Lower-case words one of which must appear for the rule to run; empty: always run.
    pub(crate) keywords: Vec<String>,
    /// Only files whose path matches.
    pub(crate) path: Option<regex::Regex>,
    pub(crate) allowlists: Vec<Allowlist>,
    /// How far from a keyword a match may reach.
    pub(crate) reach: Reach,
    /// What a built-in rule verifies of its secret beyond the regex; user rules have none.
    pub(crate) check: Option<Check>,
}

/// Where a rule's regex runs once one of its keywords is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach {
    /// The keyword's line: for rules whose match is the keyword's line (every single-line
    /// built-in rule).
    Line,
    /// From the keyword's line start up to this many bytes on (a private key block).
    Bytes(usize),
    /// The whole text, as gitleaks runs rules: for user rules, whose reach is unknown.
    Everything,
}

impl Rule {
    /// The rule's id (`aws-access-key-id`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// One line saying what the rule finds.
    pub fn description(&self) -> &str {
        &self.description
    }
}

/// What the allowlist's regexes are matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum RegexTarget {
    /// The secret (the rule's secret group).
    #[default]
    Secret,
    /// The whole match.
    Match,
    /// The line the match starts on.
    Line,
}

/// How an allowlist's criteria combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Condition {
    /// Any criterion allows the match.
    #[default]
    Or,
    /// Every criterion given must hold.
    And,
}

/// Criteria under which a match is not a secret.
#[derive(Debug, Clone, Default)]
pub struct Allowlist {
    pub(crate) condition: Condition,
    pub(crate) regex_target: RegexTarget,
    pub(crate) regexes: Vec<Regex>,
    pub(crate) paths: Vec<regex::Regex>,
    /// Lower-case words: a secret containing one is a placeholder, not a secret.
    pub(crate) stopwords: Vec<String>,
    /// Commit ids (full or abbreviated) whose findings are allowed.
    pub(crate) commits: Vec<String>,
    /// For a global allowlist: only these rules (all when empty).
    pub(crate) target_rules: Vec<String>,
}

/// What an allowlist looks at for one match.
pub(crate) struct Candidate<'a> {
    pub(crate) rule: &'a str,
    pub(crate) path: &'a str,
    pub(crate) secret: &'a [u8],
    pub(crate) matched: &'a [u8],
    /// The text the match is in, and where it starts, for a `line` target.
    pub(crate) text: &'a [u8],
    pub(crate) at: usize,
    pub(crate) commit: Option<&'a str>,
}

impl Candidate<'_> {
    /// The line the match starts on, measured only when an allowlist asks for it.
    fn line(&self) -> &[u8] {
        &self.text[crate::scanner::line_bounds(self.text, self.at)]
    }
}

impl Allowlist {
    /// Whether this allowlist allows `candidate`.
    pub(crate) fn allows(&self, candidate: &Candidate<'_>) -> bool {
        if !self.target_rules.is_empty()
            && !self.target_rules.iter().any(|rule| rule == candidate.rule)
        {
            return false;
        }
        let target = match self.regex_target {
            RegexTarget::Secret => candidate.secret,
            RegexTarget::Match => candidate.matched,
            RegexTarget::Line => candidate.line(),
        };
        let criteria = [
            (!self.regexes.is_empty())
                .then(|| self.regexes.iter().any(|regex| regex.is_match(target))),
            (!self.paths.is_empty())
                .then(|| self.paths.iter().any(|path| path.is_match(candidate.path))),
            (!self.stopwords.is_empty()).then(|| {
                let secret = candidate.secret.to_ascii_lowercase();
                self.stopwords
                    .iter()
                    .any(|word| memchr::memmem::find(&secret, word.as_bytes()).is_some())
            }),
            (!self.commits.is_empty()).then(|| {
                candidate.commit.is_some_and(|commit| {
                    self.commits
                        .iter()
                        .any(|allowed| !allowed.is_empty() && commit.starts_with(allowed.as_str()))
                })
            }),
        ];
        let mut given = criteria.into_iter().flatten().peekable();
        if given.peek().is_none() {
            return false;
        }
        match self.condition {
            Condition::Or => given.any(|holds| holds),
            Condition::And => given.all(|holds| holds),
        }
    }
}

/// Shannon entropy of `bytes`, in bits per byte: 0 for one repeated byte, up to 8.
pub(crate) fn shannon_entropy(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &byte in bytes {
        counts[usize::from(byte)] += 1;
    }
    let length = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&count| count > 0)
        .map(|&count| {
            let p = f64::from(count) / length;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_measures_bits_per_byte() {
        assert_eq!(shannon_entropy(b""), 0.0);
        assert_eq!(shannon_entropy(b"aaaa"), 0.0);
        assert_eq!(shannon_entropy(b"abab"), 1.0);
        assert_eq!(shannon_entropy(b"abcd"), 2.0);
        assert!(shannon_entropy(b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq8Jk2mN") > 4.5);
    }

    fn candidate<'a>(secret: &'a [u8], path: &'a str, commit: Option<&'a str>) -> Candidate<'a> {
        Candidate {
            rule: "r",
            path,
            secret,
            matched: secret,
            text: secret,
            at: 0,
            commit,
        }
    }

    #[test]
    fn allowlists_combine_their_criteria_as_told() {
        let or = Allowlist {
            stopwords: vec!["example".to_owned()],
            paths: vec![regex::Regex::new(r"^test/").unwrap()],
            ..Allowlist::default()
        };
        assert!(or.allows(&candidate(b"AKIAEXAMPLE", "src/a", None)));
        assert!(or.allows(&candidate(b"AKIAREAL", "test/a", None)));
        assert!(!or.allows(&candidate(b"AKIAREAL", "src/a", None)));
        let and = Allowlist {
            condition: Condition::And,
            ..or.clone()
        };
        assert!(!and.allows(&candidate(b"AKIAEXAMPLE", "src/a", None)));
        assert!(and.allows(&candidate(b"AKIAEXAMPLE", "test/a", None)));
        let commits = Allowlist {
            commits: vec!["abc123".to_owned()],
            ..Allowlist::default()
        };
        assert!(commits.allows(&candidate(b"x", "a", Some("abc123ffff"))));
        assert!(!commits.allows(&candidate(b"x", "a", None)));
        assert!(
            !Allowlist::default().allows(&candidate(b"x", "a", None)),
            "no criteria allows nothing"
        );
        let other_rule = Allowlist {
            target_rules: vec!["other".to_owned()],
            ..or
        };
        assert!(!other_rule.allows(&candidate(b"EXAMPLE", "a", None)));
    }
}
