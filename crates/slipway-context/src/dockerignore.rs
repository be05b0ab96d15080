//! `.dockerignore`: reading it as the Docker CLI does, and deciding what it excludes.
//!
//! Reading follows the CLI's `ignorefile.ReadAll`: a line starting with `#` is a comment (before
//! any trimming), surrounding whitespace goes, blank lines go, and each pattern is cleaned like
//! Go's `filepath.Clean` with a leading `/` dropped. Deciding follows moby/patternmatcher as the
//! CLI's tar walker calls it: every pattern is tried in order, a pattern applies to a path when
//! it matches the path or one of its parent directories, and the last pattern that applies wins
//! (`!` patterns re-include). While walking, a directory's per-pattern results are handed down to
//! its children ([`MatchInfo`]), exactly as the walker does, because that shortcut decides some
//! corner cases and the CLI's output is what the engine receives.

use std::path::{Component, Path};

use crate::clean::clean;
use crate::pattern::{Pattern, PatternError};

/// The patterns of a `.dockerignore` file.
///
/// ```
/// use std::path::Path;
/// let ignore = slipway_context::DockerIgnore::parse("node_modules\n*.log\n!keep.log\n")?;
/// assert!(ignore.is_excluded(Path::new("node_modules/a/b.js")));
/// assert!(ignore.is_excluded(Path::new("debug.log")));
/// assert!(!ignore.is_excluded(Path::new("keep.log")));
/// # Ok::<(), slipway_context::IgnoreError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct DockerIgnore {
    patterns: Vec<Pattern>,
}

/// A `.dockerignore` line that is not a valid pattern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: invalid pattern {pattern:?}: {reason}")]
pub struct IgnoreError {
    line: usize,
    pattern: String,
    reason: &'static str,
}

impl IgnoreError {
    /// The 1-based line of the `.dockerignore` holding the pattern.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The pattern as written on that line, trimmed.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }
}

/// Which patterns applied to a directory, handed to its children while walking.
#[derive(Debug, Clone)]
pub(crate) struct MatchInfo(Vec<bool>);

impl DockerIgnore {
    /// Reads the text of a `.dockerignore` file.
    ///
    /// # Errors
    ///
    /// An [`IgnoreError`] naming the first line whose pattern Go's `filepath.Match` would reject
    /// (a malformed `[...]` class, a trailing `\`), or that is a lone `!`.
    pub fn parse(text: &str) -> Result<DockerIgnore, IgnoreError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut patterns = Vec::new();
        for (index, line) in text.split('\n').enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let Some(normalized) = normalize_line(line) else {
                continue;
            };
            let pattern = Pattern::new(&normalized).map_err(|error| IgnoreError {
                line: index + 1,
                pattern: line.trim().to_owned(),
                reason: match error {
                    PatternError::BadSyntax => "syntax error in pattern",
                    PatternError::LoneExclamation => "an exception (!) needs a pattern after it",
                },
            })?;
            patterns.push(pattern);
        }
        Ok(DockerIgnore { patterns })
    }

    /// Whether the Docker CLI would leave `relative_path` (relative to the context root) out of
    /// the build context.
    ///
    /// A path is excluded when the last pattern applying to it, or to one of its parent
    /// directories, is not an exception. Whether the path is a directory does not matter:
    /// Docker cleans `dir/` to `dir`.
    pub fn is_excluded(&self, relative_path: &Path) -> bool {
        let mut prefix = String::new();
        let mut parent: Option<MatchInfo> = None;
        let mut excluded = false;
        for component in relative_path.components() {
            let Component::Normal(name) = component else {
                continue;
            };
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(&name.to_string_lossy());
            let (decision, info) = self.decide(&clean(&prefix), parent.as_ref());
            excluded = decision;
            parent = Some(info);
        }
        excluded
    }

    /// The patterns the CLI sends with: `!.dockerignore` and `!<dockerfile>` are added when the
    /// patterns would exclude those files, so they always reach the engine.
    pub(crate) fn keeping_build_files(&self, dockerfile: &str) -> DockerIgnore {
        let mut kept = self.clone();
        for file in [".dockerignore".to_owned(), escape_glob(dockerfile)] {
            if kept.decide(&file, None).0 {
                // An escaped literal path is always a valid pattern.
                if let Ok(exception) = Pattern::new(&format!("!{file}")) {
                    kept.patterns.push(exception);
                }
            }
        }
        kept
    }

    /// patternmatcher's `MatchesUsingParentResults`: whether `path` is excluded, given what
    /// applied to its parent directory (`None` at the top, or to check parents by name).
    pub(crate) fn decide(&self, path: &str, parent: Option<&MatchInfo>) -> (bool, MatchInfo) {
        let mut excluded = false;
        let mut applied = vec![false; self.patterns.len()];
        for (index, pattern) in self.patterns.iter().enumerate() {
            let mut applies = parent.is_some_and(|parent| parent.0.get(index) == Some(&true));
            if !applies {
                // A pattern that cannot change the outcome is not evaluated, and then not
                // recorded for the children either: the walker's shortcut, kept on purpose.
                if pattern.is_exclusion() != excluded {
                    continue;
                }
                applies = pattern.matches(path)
                    || (parent.is_none()
                        && parent_directories(path).any(|dir| pattern.matches(dir)));
            }
            applied[index] = applies;
            if applies {
                excluded = !pattern.is_exclusion();
            }
        }
        (excluded, MatchInfo(applied))
    }

    /// Whether the walker must still enter the excluded directory `dir`: some exception pattern
    /// starts with `dir/`. (The CLI looks no further, so `!**/keep` does not reach into an
    /// excluded directory.)
    pub(crate) fn must_enter(&self, dir: &str) -> bool {
        let dir_slash = format!("{dir}/");
        self.patterns.iter().any(|pattern| {
            pattern.is_exclusion() && format!("{}/", pattern.text()).starts_with(&dir_slash)
        })
    }
}

/// A `.dockerignore` line as `ReadAll` passes it on, or `None` for comments and blank lines.
fn normalize_line(line: &str) -> Option<String> {
    if line.starts_with('#') {
        return None;
    }
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return None;
    }
    let (exception, pattern) = match trimmed.strip_prefix('!') {
        Some(rest) => (true, rest.trim()),
        None => (false, trimmed),
    };
    let mut pattern = if pattern.is_empty() {
        String::new()
    } else {
        clean(pattern)
    };
    if pattern.len() > 1 && pattern.starts_with('/') {
        pattern.remove(0);
    }
    Some(if exception {
        format!("!{pattern}")
    } else {
        pattern
    })
}

/// `a/b/c` → `a`, `a/b`.
fn parent_directories(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(|(index, _)| &path[..index])
}

/// Makes a file path a pattern matching only itself.
fn escape_glob(path: &str) -> String {
    let mut escaped = String::with_capacity(path.len());
    for c in path.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}
