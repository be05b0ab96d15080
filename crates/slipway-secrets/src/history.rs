//! Scanning a repository's history: the lines every commit added, on every branch.
//!
//! `git log -p -U0 --all` streams each commit's patch; the added lines of each hunk are scanned
//! as one piece of text, with the line numbers the hunk header gives and the commit, author and
//! date that added them. Git's output is read as it comes, never held whole, and an added line
//! of any length is fed to the scanner in pieces, so a huge commit costs time, not memory.

use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;

use crate::scanner::{Commit, Finding, Origin, SecretScanner, Stream};

/// The most bytes of one line held at once.
const PIECE: usize = 64 << 10;
/// Starts a commit header in git's output: a byte no patch line starts with.
const RECORD: u8 = 0x1e;
/// Separates the header's fields.
const FIELD: char = '\u{1f}';

/// What a history scan found and did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HistoryScan {
    /// Findings, in the order git listed the commits (newest first).
    pub findings: Vec<Finding>,
    /// Commits read.
    pub commits: u64,
    /// Bytes of added lines scanned.
    pub bytes: u64,
}

/// Why history could not be scanned.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// `git` could not be started.
    #[error("cannot run git: {0}")]
    NoGit(#[source] io::Error),
    /// git ran and failed.
    #[error("`git log` failed in {}: {message}", repository.display())]
    Failed {
        repository: PathBuf,
        /// What git printed on stderr.
        message: String,
    },
    /// Reading git's output failed.
    #[error("reading git's output failed: {0}")]
    Read(#[source] io::Error),
}

impl SecretScanner {
    /// Scans the lines every commit reachable from any ref added, in the repository holding
    /// `repository`.
    ///
    /// # Errors
    ///
    /// A [`HistoryError`] when git cannot run or fails (not a repository, no commits).
    pub fn scan_git_history(&self, repository: &Path) -> Result<HistoryScan, HistoryError> {
        let mut child = Command::new("git")
            .arg("-C")
            .arg(repository)
            .args([
                "-c",
                "core.quotePath=false",
                "log",
                "-p",
                "-U0",
                "--no-color",
                "--no-ext-diff",
                "--no-textconv",
            ])
            .args([
                "--full-history",
                "--all",
                "--no-renames",
                "--format=%x1e%H%x1f%an%x1f%ae%x1f%aI",
            ])
            .env("LC_ALL", "C")
            .env("GIT_PAGER", "cat")
            .env("GIT_TERMINAL_PROMPT", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(HistoryError::NoGit)?;
        // stderr is drained on its own thread, so a chatty git cannot block on a full pipe.
        let stderr = child.stderr.take().map(|mut stderr| {
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = stderr.read_to_string(&mut text);
                text
            })
        });
        let scan = match child.stdout.take() {
            Some(stdout) => self
                .scan_log(BufReader::with_capacity(256 << 10, stdout))
                .map_err(HistoryError::Read),
            None => Ok(HistoryScan::default()),
        };
        let status = child.wait().map_err(HistoryError::Read)?;
        let message = stderr
            .and_then(|thread| thread.join().ok())
            .unwrap_or_default();
        if !status.success() {
            return Err(HistoryError::Failed {
                repository: repository.to_owned(),
                message: message.trim().to_owned(),
            });
        }
        scan
    }

    /// Scans `git log -p -U0` output in the format [`SecretScanner::scan_git_history`] asks
    /// for.
    pub(crate) fn scan_log(&self, mut log: impl BufRead) -> io::Result<HistoryScan> {
        let mut scan = HistoryScan::default();
        let mut commit: Option<Commit> = None;
        let mut path: Option<String> = None;
        let mut hunk: Option<Hunk> = None;
        let mut line = Vec::new();
        loop {
            line.clear();
            let complete = read_piece(&mut log, &mut line)?;
            if line.is_empty() {
                break;
            }
            // Inside a hunk every `+` line is an added line, even one reading `+++ x`: the
            // file header comes before the first hunk.
            if let (Some(b'+'), Some(hunk)) = (line.first(), hunk.as_mut()) {
                hunk.add_line(&line[1..], complete, &mut log)?;
                continue;
            }
            if !complete {
                skip_rest_of_line(&mut log)?;
            }
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches(['\n', '\r']);
            if line.first() == Some(&RECORD) {
                self.flush(hunk.take(), &commit, &path, &mut scan);
                scan.commits += 1;
                commit = parse_commit(&text[1..]);
                path = None;
            } else if let Some(target) = text.strip_prefix("+++ ") {
                self.flush(hunk.take(), &commit, &path, &mut scan);
                path = new_path(target);
            } else if text.starts_with("diff --git ") {
                self.flush(hunk.take(), &commit, &path, &mut scan);
                path = None;
            } else if let Some(header) = text.strip_prefix("@@ ") {
                self.flush(hunk.take(), &commit, &path, &mut scan);
                hunk = path
                    .as_ref()
                    .and_then(|_| hunk_start(header))
                    .map(Hunk::new);
            }
        }
        self.flush(hunk.take(), &commit, &path, &mut scan);
        Ok(scan)
    }

    fn flush(
        &self,
        hunk: Option<Hunk>,
        commit: &Option<Commit>,
        path: &Option<String>,
        scan: &mut HistoryScan,
    ) {
        let (Some(hunk), Some(path)) = (hunk, path) else {
            return;
        };
        if hunk.text.is_empty() || self.path_allowed(path) {
            return;
        }
        let origin = Origin {
            path,
            commit: commit.as_ref(),
            first_line: hunk.first_line,
        };
        let mut stream = Stream::new(self, origin);
        stream.push(&hunk.text);
        scan.bytes += stream.total;
        scan.findings.extend(stream.finish());
    }
}

/// The added lines of one hunk, joined.
struct Hunk {
    first_line: usize,
    text: Vec<u8>,
}

impl Hunk {
    fn new(first_line: usize) -> Hunk {
        Hunk {
            first_line,
            text: Vec::new(),
        }
    }

    /// Appends one added line, whose first piece is `piece`, reading the rest of a long line
    /// from `log`. Past a few megabytes of one hunk the rest of the line is dropped: no secret
    /// pattern needs that much context, and the hunk's memory stays bounded.
    fn add_line(&mut self, piece: &[u8], complete: bool, log: &mut impl BufRead) -> io::Result<()> {
        const MAX_HUNK: usize = 8 << 20;
        let take = |bytes: &[u8], text: &mut Vec<u8>| {
            let room = MAX_HUNK.saturating_sub(text.len());
            text.extend_from_slice(&bytes[..bytes.len().min(room)]);
        };
        take(piece, &mut self.text);
        let mut complete = complete;
        let mut rest = Vec::new();
        while !complete {
            rest.clear();
            complete = read_piece(log, &mut rest)?;
            if rest.is_empty() {
                break;
            }
            take(&rest, &mut self.text);
        }
        if !self.text.ends_with(b"\n") {
            self.text.push(b'\n');
        }
        Ok(())
    }
}

/// Reads up to the next newline (kept) or [`PIECE`] bytes; says whether the line ended.
fn read_piece(reader: &mut impl BufRead, into: &mut Vec<u8>) -> io::Result<bool> {
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Ok(true);
        }
        let room = PIECE - into.len();
        match memchr::memchr(b'\n', &available[..available.len().min(room)]) {
            Some(newline) => {
                into.extend_from_slice(&available[..=newline]);
                reader.consume(newline + 1);
                return Ok(true);
            }
            None => {
                let taken = available.len().min(room);
                into.extend_from_slice(&available[..taken]);
                reader.consume(taken);
                if into.len() >= PIECE {
                    return Ok(false);
                }
            }
        }
    }
}

fn skip_rest_of_line(reader: &mut impl BufRead) -> io::Result<()> {
    let mut discard = Vec::new();
    loop {
        discard.clear();
        if read_piece(reader, &mut discard)? || discard.is_empty() {
            return Ok(());
        }
    }
}

fn parse_commit(header: &str) -> Option<Commit> {
    let mut fields = header.split(FIELD);
    Some(Commit {
        id: fields.next()?.to_owned(),
        author: fields.next()?.to_owned(),
        email: fields.next()?.to_owned(),
        date: fields.next()?.to_owned(),
    })
}

/// The file a `+++` line names; `None` for a deleted file (`/dev/null`).
fn new_path(target: &str) -> Option<String> {
    let target = target.trim_end_matches('\t');
    if target == "/dev/null" {
        return None;
    }
    let unquoted = match target
        .strip_prefix('"')
        .and_then(|quoted| quoted.strip_suffix('"'))
    {
        Some(quoted) => unescape(quoted),
        None => target.to_owned(),
    };
    Some(unquoted.strip_prefix("b/").unwrap_or(&unquoted).to_owned())
}

/// Undoes git's C-style quoting of a path (`\"`, `\\`, `\t`, `\n`, octal bytes).
fn unescape(quoted: &str) -> String {
    let bytes = quoted.as_bytes();
    let mut unquoted = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        index += 1;
        if byte != b'\\' || index == bytes.len() {
            unquoted.push(byte);
            continue;
        }
        let octal = bytes
            .get(index..index + 3)
            .and_then(|digits| std::str::from_utf8(digits).ok())
            .and_then(|digits| u8::from_str_radix(digits, 8).ok());
        let (value, length) = match (bytes[index], octal) {
            (b'0'..=b'7', Some(value)) => (value, 3),
            (b't', _) => (b'\t', 1),
            (b'n', _) => (b'\n', 1),
            (other, _) => (other, 1),
        };
        unquoted.push(value);
        index += length;
    }
    String::from_utf8_lossy(&unquoted).into_owned()
}

/// The first new line of a hunk: `-a,b +c,d @@` → `c`. A hunk adding nothing (`+c,0`) has no
/// added lines to scan.
fn hunk_start(header: &str) -> Option<usize> {
    let new = header
        .split_whitespace()
        .find_map(|part| part.strip_prefix('+'))?;
    let (start, count) = new.split_once(',').unwrap_or((new, "1"));
    (count != "0").then(|| start.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_read_as_git_writes_them() {
        assert_eq!(hunk_start("-0,0 +1,3 @@"), Some(1));
        assert_eq!(hunk_start("-10 +12 @@ fn main()"), Some(12));
        assert_eq!(hunk_start("-5,2 +4,0 @@"), None);
        assert_eq!(new_path("b/src/main.rs"), Some("src/main.rs".to_owned()));
        assert_eq!(new_path("/dev/null"), None);
        assert_eq!(
            new_path(r#""b/a \"q\"\tb\303\251.txt""#),
            Some("a \"q\"\tbé.txt".to_owned())
        );
        let commit =
            parse_commit("abc\u{1f}Ann\u{1f}ann@example.com\u{1f}2024-01-01T00:00:00+00:00")
                .unwrap();
        assert_eq!((commit.id.as_str(), commit.author.as_str()), ("abc", "Ann"));
    }
}
