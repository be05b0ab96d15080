//! `hashFiles()` over a workspace directory: the only part of this crate that reads the disk.
//!
//! The runner's [`crate::ExprHost`] calls [`hash_files`] (or uses [`WorkspaceHost`]). Patterns
//! are globs relative to the workspace (`*` stays within one path segment, `**` crosses them,
//! a leading `!` excludes, later patterns override earlier ones, and a pattern naming a directory
//! takes everything below it). Each matching file is hashed with SHA-256; the result is the
//! SHA-256 of those digests in sorted path order, or `''` when nothing matches, as GitHub
//! documents.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};
use sha2::{Digest, Sha256};
use thiserror::Error;
use walkdir::WalkDir;

use crate::eval::{ExprHost, JobStatus};

/// Why files could not be hashed.
#[derive(Debug, Error)]
pub enum HashFilesError {
    /// A pattern is not a valid glob.
    #[error("invalid pattern '{pattern}': {reason}")]
    InvalidPattern {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The path that failed.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
}

/// A host answering `hashFiles()` from a workspace directory and the status functions from a
/// fixed status.
#[derive(Debug, Clone)]
pub struct WorkspaceHost {
    workspace: PathBuf,
    status: JobStatus,
}

impl WorkspaceHost {
    /// A host for `workspace` (GITHUB_WORKSPACE) reporting `status`.
    pub fn new(workspace: impl Into<PathBuf>, status: JobStatus) -> WorkspaceHost {
        WorkspaceHost {
            workspace: workspace.into(),
            status,
        }
    }
}

impl ExprHost for WorkspaceHost {
    fn job_status(&self) -> JobStatus {
        self.status
    }

    fn hash_files(&self, patterns: &[String]) -> Result<String, HashFilesError> {
        hash_files(&self.workspace, patterns)
    }
}

/// One compiled pattern: whether it excludes, and what it matches.
struct Pattern {
    exclude: bool,
    matcher: GlobMatcher,
}

/// Hashes the files under `workspace` that `patterns` select; `''` when none do.
pub fn hash_files(workspace: &Path, patterns: &[String]) -> Result<String, HashFilesError> {
    let files = matching_files(workspace, patterns)?;
    if files.is_empty() {
        return Ok(String::new());
    }
    let mut combined = Sha256::new();
    for (_, path) in &files {
        combined.update(hash_file(path)?);
    }
    Ok(hex::encode(combined.finalize()))
}

/// The files under `workspace` that `patterns` select, as `(relative path with '/', full path)`
/// sorted by relative path. The runner's artifact and cache steps select files this way too.
pub fn matching_files(
    workspace: &Path,
    patterns: &[String],
) -> Result<Vec<(String, PathBuf)>, HashFilesError> {
    let patterns = patterns
        .iter()
        .map(|pattern| compile(workspace, pattern))
        .collect::<Result<Vec<_>, _>>()?;
    let mut files = Vec::new();
    for entry in WalkDir::new(workspace).follow_links(false) {
        let entry = entry.map_err(|e| HashFilesError::Read {
            path: e.path().unwrap_or(workspace).to_path_buf(),
            source: e.into(),
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        let Ok(relative) = entry.path().strip_prefix(workspace) else {
            continue;
        };
        let relative = relative.to_string_lossy().replace('\\', "/");
        if selected(&patterns, &relative) {
            files.push((relative, entry.into_path()));
        }
    }
    files.sort();
    Ok(files)
}

fn compile(workspace: &Path, pattern: &str) -> Result<Pattern, HashFilesError> {
    let (exclude, glob) = match pattern.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, pattern),
    };
    // Absolute patterns inside the workspace are made relative to it.
    let workspace_prefix = format!("{}/", workspace.to_string_lossy().trim_end_matches('/'));
    let glob = glob.strip_prefix(&workspace_prefix).unwrap_or(glob);
    let glob = glob.trim_start_matches("./").trim_end_matches('/');
    let matcher = GlobBuilder::new(glob)
        .literal_separator(true)
        .build()
        .map_err(|e| HashFilesError::InvalidPattern {
            pattern: pattern.to_owned(),
            reason: e.kind().to_string(),
        })?
        .compile_matcher();
    Ok(Pattern { exclude, matcher })
}

/// Whether the last pattern matching `path` (or a directory containing it) includes it.
fn selected(patterns: &[Pattern], path: &str) -> bool {
    let mut included = false;
    for pattern in patterns {
        if matches_path_or_ancestor(&pattern.matcher, path) {
            included = !pattern.exclude;
        }
    }
    included
}

fn matches_path_or_ancestor(matcher: &GlobMatcher, path: &str) -> bool {
    matcher.is_match(path)
        || path
            .match_indices('/')
            .any(|(slash, _)| matcher.is_match(&path[..slash]))
}

fn hash_file(path: &Path) -> Result<[u8; 32], HashFilesError> {
    let read_error = |source| HashFilesError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(read_error)?;
    let mut hasher = Sha256::new();
    io::copy(&mut file, &mut hasher).map_err(read_error)?;
    Ok(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, content) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        dir
    }

    fn sha(bytes: &[u8]) -> [u8; 32] {
        Sha256::digest(bytes).into()
    }

    fn patterns(list: &[&str]) -> Vec<String> {
        list.iter().map(|p| (*p).to_owned()).collect()
    }

    #[test]
    fn hashes_the_digests_of_matching_files_in_sorted_order() {
        let dir = workspace(&[
            ("b/package-lock.json", "B"),
            ("package-lock.json", "A"),
            ("x.txt", "X"),
        ]);
        let mut expected = Sha256::new();
        expected.update(sha(b"B")); // "b/package-lock.json" sorts before "package-lock.json"
        expected.update(sha(b"A"));
        let got = hash_files(dir.path(), &patterns(&["**/package-lock.json"])).unwrap();
        assert_eq!(got, hex::encode(expected.finalize()));
    }

    #[test]
    fn nothing_matching_gives_the_empty_string() {
        let dir = workspace(&[("a.txt", "A")]);
        assert_eq!(hash_files(dir.path(), &patterns(&["*.lock"])).unwrap(), "");
    }

    #[test]
    fn star_stays_in_one_segment_and_negation_excludes() {
        let dir = workspace(&[("a.txt", "A"), ("sub/b.txt", "B"), ("sub/c.txt", "C")]);
        let only_root = hash_files(dir.path(), &patterns(&["*.txt"])).unwrap();
        let mut expected = Sha256::new();
        expected.update(sha(b"A"));
        assert_eq!(only_root, hex::encode(expected.finalize()));

        let without_c = hash_files(dir.path(), &patterns(&["**/*.txt", "!sub/c.txt"])).unwrap();
        let mut expected = Sha256::new();
        expected.update(sha(b"A"));
        expected.update(sha(b"B"));
        assert_eq!(without_c, hex::encode(expected.finalize()));
    }

    #[test]
    fn a_directory_pattern_takes_everything_below_it() {
        let dir = workspace(&[
            ("sub/b.txt", "B"),
            ("sub/deep/c.txt", "C"),
            ("other.txt", "O"),
        ]);
        let got = hash_files(dir.path(), &patterns(&["sub"])).unwrap();
        let mut expected = Sha256::new();
        expected.update(sha(b"B"));
        expected.update(sha(b"C"));
        assert_eq!(got, hex::encode(expected.finalize()));
    }

    #[test]
    fn invalid_patterns_are_reported() {
        let dir = workspace(&[]);
        let err = hash_files(dir.path(), &patterns(&["a[b"])).unwrap_err();
        assert!(
            matches!(err, HashFilesError::InvalidPattern { ref pattern, .. } if pattern == "a[b")
        );
    }
}
