//! Scanning a directory tree in parallel, the way ripgrep walks: the `ignore` crate's parallel
//! walker hands files to worker threads, each of which scans with its own buffers.
//!
//! Only regular files are opened: a FIFO or a device in the tree would block a reader forever,
//! and symbolic links are not followed, so a link cannot lead the scan out of the tree or round
//! in a loop. `.git` is never entered; `.gitignore` and `.ignore` files are honoured unless the
//! caller says otherwise.

use std::fs::File;
use std::path::Path;
use std::sync::Mutex;

use ignore::{WalkBuilder, WalkState};
use serde::Serialize;

use crate::scanner::{FileOutcome, Finding, SecretScanner};

/// How to walk a tree.
#[derive(Debug, Clone)]
pub struct TreeOptions {
    /// Skip what `.gitignore`, `.ignore` and `.git/info/exclude` exclude.
    pub respect_ignore_files: bool,
    /// Worker threads; 0 picks one per CPU.
    pub threads: usize,
}

impl Default for TreeOptions {
    fn default() -> TreeOptions {
        TreeOptions {
            respect_ignore_files: true,
            threads: 0,
        }
    }
}

/// What a tree scan found and did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TreeScan {
    /// Findings, ordered by path and line.
    pub findings: Vec<Finding>,
    /// Files scanned.
    pub files: u64,
    /// Bytes scanned.
    pub bytes: u64,
    /// Binary files, not scanned.
    pub binary_files: u64,
    /// Files that could not be read, with why.
    pub unreadable: Vec<Unreadable>,
}

/// A file the scan could not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unreadable {
    pub path: String,
    pub reason: String,
}

/// A walk over the source tree at `root` as git sees it: hidden files included, `.git` left out,
/// and with `respect_ignore_files` what `.gitignore`, `.ignore` and `.git/info/exclude` exclude
/// left out too. Ignore files above `root` count only while `root` is inside their repository:
/// a checkout's root (holding `.git`) is a repository of its own, as for git, even when it lies
/// inside another one's ignored directory (a job workspace under `.slipway/`, say).
pub fn source_walk(root: &Path, respect_ignore_files: bool) -> WalkBuilder {
    let repository_root = root.join(".git").exists();
    let mut walk = WalkBuilder::new(root);
    walk.hidden(false)
        .ignore(respect_ignore_files)
        .git_ignore(respect_ignore_files)
        .git_exclude(respect_ignore_files)
        .git_global(false)
        .parents(respect_ignore_files && !repository_root)
        .require_git(false)
        .follow_links(false)
        .filter_entry(|entry| entry.file_name() != ".git");
    walk
}

impl SecretScanner {
    /// Scans every regular file under `root`; paths in findings are relative to it.
    pub fn scan_tree(&self, root: &Path, options: &TreeOptions) -> TreeScan {
        let result = Mutex::new(TreeScan::default());
        let respect = options.respect_ignore_files;
        source_walk(root, respect)
            .threads(options.threads)
            .build_parallel()
            .run(|| {
                let result = &result;
                Box::new(move |entry| {
                    let entry = match entry {
                        Ok(entry) => entry,
                        Err(error) => {
                            record(result, |scan| {
                                scan.unreadable.push(Unreadable {
                                    path: root.display().to_string(),
                                    reason: error.to_string(),
                                });
                            });
                            return WalkState::Continue;
                        }
                    };
                    if entry.file_type().is_some_and(|kind| kind.is_file()) {
                        let relative = relative_path(root, entry.path());
                        let outcome = self.scan_file(entry.path(), &relative);
                        record(result, |scan| match outcome {
                            Ok(FileOutcome::Scanned { findings, bytes }) => {
                                scan.files += 1;
                                scan.bytes += bytes;
                                scan.findings.extend(findings);
                            }
                            Ok(FileOutcome::Binary) => scan.binary_files += 1,
                            Ok(FileOutcome::Allowed) => {}
                            Err(error) => scan.unreadable.push(Unreadable {
                                path: relative,
                                reason: error.to_string(),
                            }),
                        });
                    }
                    WalkState::Continue
                })
            });
        let mut scan = result
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        scan.findings
            .sort_by(|a, b| (&a.path, a.line, a.column).cmp(&(&b.path, b.line, b.column)));
        scan.unreadable.sort_by(|a, b| a.path.cmp(&b.path));
        scan
    }

    /// Scans one file on disk; `display` is the path findings carry.
    ///
    /// # Errors
    ///
    /// The I/O error opening or reading it.
    pub fn scan_file(&self, file: &Path, display: &str) -> std::io::Result<FileOutcome> {
        if self.path_allowed(display) {
            return Ok(FileOutcome::Allowed);
        }
        self.scan_reader(display, File::open(file)?)
    }
}

fn record(result: &Mutex<TreeScan>, change: impl FnOnce(&mut TreeScan)) {
    let mut scan = result
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    change(&mut scan);
}

/// `path` relative to `root`, with `/` separators, as findings name files.
fn relative_path(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    let text = relative.to_string_lossy();
    if text.is_empty() {
        // `root` itself is a file.
        return path.file_name().map_or_else(
            || text.into_owned(),
            |name| name.to_string_lossy().into_owned(),
        );
    }
    text.replace('\\', "/")
}
