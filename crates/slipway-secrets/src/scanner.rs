//! [`SecretScanner`]: one keyword pass, then each triggered rule's regex near its keywords.
//!
//! For each piece of text the scanner runs one Aho-Corasick automaton holding every rule's
//! keywords (ASCII case-insensitively). Each keyword hit opens a window for the rules that own
//! it: the hit's line for single-line rules, a few kilobytes for a private key block, the whole
//! text for user rules (gitleaks' semantics). Only windows are searched by regex, so text
//! without keywords costs one automaton pass and nothing else. A regex match becomes a finding
//! once its secret passes the rule's entropy threshold and no allowlist allows it.
//!
//! Text is processed in chunks of at most [`CHUNK`] bytes, consecutive chunks overlapping by
//! [`OVERLAP`] bytes: memory stays bounded whatever the size of a file or a line, and a match
//! is reported by the chunk its start falls in before the overlap, so never twice. A file with a
//! NUL byte in its first 8 KiB is binary and not scanned, as git and ripgrep decide, unless it
//! starts with a UTF-16 byte order mark: then it is text, converted to UTF-8 as it is read.

use std::io::{self, Read};
use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::check::Verdict;
use crate::rule::{Allowlist, Candidate, Reach, Rule, shannon_entropy};
use crate::utf16::Utf16;

/// The most bytes scanned at once.
pub(crate) const CHUNK: usize = 1 << 20;
/// How far consecutive chunks overlap: longer than any secret a rule reaches.
pub(crate) const OVERLAP: usize = 64 << 10;
/// Where binary files are recognized: a NUL byte in this many leading bytes.
const BINARY_PROBE: usize = 8 << 10;
/// Findings kept per file: a generated file full of tokens says what it needs to by then.
const MAX_FINDINGS_PER_FILE: usize = 1_000;

/// A secret found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The rule that found it.
    pub rule_id: String,
    /// What the rule finds.
    pub description: String,
    /// The file, as the caller named it.
    pub path: String,
    /// The 1-based line and column (in characters) where the match starts.
    pub line: usize,
    pub column: usize,
    /// The line where the secret ends (private keys span lines).
    pub end_line: usize,
    /// The secret, mostly masked: enough to recognize it, not enough to use it.
    pub redacted: String,
    /// A stable digest of the rule and the secret, to name this secret in an ignore file
    /// without writing it down.
    pub fingerprint: String,
    /// The secret's Shannon entropy, in bits per byte.
    pub entropy: f64,
    /// The commit that added it, when scanning history.
    pub commit: Option<Commit>,
}

/// A commit, as history findings name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Commit {
    pub id: String,
    pub author: String,
    pub email: String,
    /// The author date, ISO 8601.
    pub date: String,
}

/// Scans text for secrets with a set of rules.
#[derive(Debug, Clone)]
pub struct SecretScanner {
    rules: Vec<Rule>,
    allowlists: Vec<Allowlist>,
    prefilter: AhoCorasick,
    /// For each prefilter pattern, the rules it triggers.
    triggers: Vec<Vec<usize>>,
    /// Rules with a regex and no keyword: they always run.
    unconditional: Vec<usize>,
}

/// Where a piece of text sits in its file, for positions and allowlists.
pub(crate) struct Origin<'a> {
    pub(crate) path: &'a str,
    pub(crate) commit: Option<&'a Commit>,
    /// The line number of the first line of the text.
    pub(crate) first_line: usize,
}

/// What scanning one file gave.
#[derive(Debug, Clone, PartialEq)]
pub enum FileOutcome {
    /// The file was scanned; these are its findings, in order.
    Scanned { findings: Vec<Finding>, bytes: u64 },
    /// The file is binary and was not scanned.
    Binary,
    /// The path is allowlisted for every rule and was not read.
    Allowed,
}

impl SecretScanner {
    /// A scanner for `rules` and global `allowlists`.
    pub(crate) fn new(
        rules: Vec<Rule>,
        allowlists: Vec<Allowlist>,
    ) -> Result<SecretScanner, String> {
        let mut keywords: Vec<String> = Vec::new();
        let mut triggers: Vec<Vec<usize>> = Vec::new();
        let mut unconditional = Vec::new();
        for (index, rule) in rules.iter().enumerate() {
            if rule.regex.is_none() {
                continue;
            }
            if rule.keywords.is_empty() {
                unconditional.push(index);
            }
            for keyword in &rule.keywords {
                match keywords.iter().position(|known| known == keyword) {
                    Some(pattern) => triggers[pattern].push(index),
                    None => {
                        keywords.push(keyword.clone());
                        triggers.push(vec![index]);
                    }
                }
            }
        }
        let prefilter = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&keywords)
            .map_err(|error| format!("the keyword prefilter cannot be built: {error}"))?;
        Ok(SecretScanner {
            rules,
            allowlists,
            prefilter,
            triggers,
            unconditional,
        })
    }

    /// The rules, in the order they are applied.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Scans text held in memory, such as a file read from an image layer.
    pub fn scan_bytes(&self, path: &str, bytes: &[u8]) -> FileOutcome {
        match self.scan_reader(path, bytes) {
            Ok(outcome) => outcome,
            // Reading a slice cannot fail.
            Err(_) => FileOutcome::Scanned {
                findings: Vec::new(),
                bytes: 0,
            },
        }
    }

    /// Scans what `reader` gives, in bounded chunks.
    ///
    /// # Errors
    ///
    /// What the reader returned.
    pub fn scan_reader(&self, path: &str, mut reader: impl Read) -> io::Result<FileOutcome> {
        if self.path_allowed(path) {
            return Ok(FileOutcome::Allowed);
        }
        let origin = Origin {
            path,
            commit: None,
            first_line: 1,
        };
        let mut stream = Stream::new(self, origin);
        let mut buffer = vec![0; 64 << 10];
        // The first bytes decide, whatever sizes the reader returns: UTF-16 text (by its byte
        // order mark), binary (a NUL), or text as it is.
        let head_length = fill(&mut reader, &mut buffer[..BINARY_PROBE])?;
        let head = &buffer[..head_length];
        let mut utf16 = match Utf16::detect(head) {
            Some((mut converter, text)) => {
                let mut converted = Vec::new();
                converter.convert(text, &mut converted);
                stream.push(&converted);
                Some((converter, converted))
            }
            None if memchr::memchr(0, head).is_some() => return Ok(FileOutcome::Binary),
            None => {
                stream.push(head);
                None
            }
        };
        // A head shorter than the probe was the whole file.
        let mut done = head_length < BINARY_PROBE;
        while !done {
            let read = match reader.read(&mut buffer) {
                Ok(0) => {
                    done = true;
                    continue;
                }
                Ok(read) => read,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            match &mut utf16 {
                Some((converter, converted)) => {
                    converted.clear();
                    converter.convert(&buffer[..read], converted);
                    stream.push(converted);
                }
                None => stream.push(&buffer[..read]),
            }
        }
        if let Some((converter, mut converted)) = utf16 {
            converted.clear();
            converter.finish(&mut converted);
            stream.push(&converted);
        }
        let bytes = stream.total;
        Ok(FileOutcome::Scanned {
            findings: stream.finish(),
            bytes,
        })
    }

    /// Whether a global allowlist allows every finding in `path`, so it need not be read.
    pub(crate) fn path_allowed(&self, path: &str) -> bool {
        self.allowlists.iter().any(|allowlist| {
            allowlist.target_rules.is_empty()
                && allowlist.regexes.is_empty()
                && allowlist.stopwords.is_empty()
                && allowlist.commits.is_empty()
                && allowlist.paths.iter().any(|allowed| allowed.is_match(path))
        })
    }

    /// Scans `text`, reporting matches whose start falls in `accept`. `offset` is where `text`
    /// starts in the stream and `line` the line number there.
    fn scan_chunk(
        &self,
        origin: &Origin<'_>,
        text: &[u8],
        accept: Range<usize>,
        line: usize,
        found: &mut Vec<Raw>,
    ) {
        let mut windows: Vec<Vec<Range<usize>>> = vec![Vec::new(); self.rules.len()];
        for hit in self.prefilter.find_overlapping_iter(text) {
            for &rule in &self.triggers[hit.pattern().as_usize()] {
                let rule_windows = &mut windows[rule];
                // A hit inside the last window adds nothing; checking first keeps a line with
                // thousands of hits from being measured thousands of times.
                if rule_windows
                    .last()
                    .is_some_and(|last| hit.start() < last.end)
                {
                    continue;
                }
                let window = window(self.rules[rule].reach, text, hit.start());
                match rule_windows.last_mut() {
                    Some(last) if window.start <= last.end => last.end = last.end.max(window.end),
                    _ => rule_windows.push(window),
                }
            }
        }
        for &rule in &self.unconditional {
            windows[rule] = std::iter::once(0..text.len()).collect();
        }
        for (index, rule_windows) in windows.iter().enumerate() {
            let rule = &self.rules[index];
            if rule_windows.is_empty()
                || rule
                    .path
                    .as_ref()
                    .is_some_and(|path| !path.is_match(origin.path))
            {
                continue;
            }
            let Some(regex) = &rule.regex else { continue };
            for window in rule_windows {
                // Searching `text[..end]` from `start` keeps the context before the window for
                // `\b` and other look-behind assertions.
                let haystack = &text[..window.end];
                let mut at = window.start;
                while at <= haystack.len() && found.len() < 4 * MAX_FINDINGS_PER_FILE {
                    let Some(captures) = regex.captures_at(haystack, at) else {
                        break;
                    };
                    let Some(whole) = captures.get(0) else { break };
                    at = if whole.end() > whole.start() {
                        whole.end()
                    } else {
                        whole.end() + 1
                    };
                    if !accept.contains(&whole.start()) {
                        continue;
                    }
                    let Some(secret) = captures
                        .get(rule.secret_group)
                        .filter(|secret| !secret.is_empty())
                    else {
                        continue;
                    };
                    let entropy = shannon_entropy(secret.as_bytes());
                    let verdict = rule
                        .check
                        .map_or(Verdict::Plausible, |check| check.judge(secret.as_bytes()));
                    let too_plain = rule.entropy.is_some_and(|minimum| entropy < minimum);
                    if verdict == Verdict::Rejected || (verdict != Verdict::Proven && too_plain) {
                        continue;
                    }
                    let candidate = Candidate {
                        rule: &rule.id,
                        path: origin.path,
                        secret: secret.as_bytes(),
                        matched: whole.as_bytes(),
                        text,
                        at: whole.start(),
                        commit: origin.commit.map(|commit| commit.id.as_str()),
                    };
                    if rule
                        .allowlists
                        .iter()
                        .chain(&self.allowlists)
                        .any(|allowlist| allowlist.allows(&candidate))
                    {
                        continue;
                    }
                    found.push(Raw {
                        rule: index,
                        start: whole.start(),
                        secret: secret.range(),
                        entropy,
                        line_in_chunk: line,
                    });
                }
            }
        }
    }

    /// Turns the raw matches of a chunk into findings, dropping a match whose secret overlaps
    /// one found by an earlier (more specific) rule.
    fn findings(
        &self,
        origin: &Origin<'_>,
        text: &[u8],
        column_base: usize,
        mut raw: Vec<Raw>,
        into: &mut Vec<Finding>,
    ) {
        raw.sort_by_key(|found| (found.secret.start, found.rule));
        let mut kept: Vec<Raw> = Vec::with_capacity(raw.len());
        for found in raw {
            // Sorted by start, a secret can only overlap the one kept last.
            match kept.last_mut() {
                Some(last) if found.secret.start < last.secret.end => {
                    if found.rule < last.rule {
                        *last = found;
                    }
                }
                _ => kept.push(found),
            }
        }
        kept.sort_by_key(|found| found.start);
        // Lines are counted once, forward, from match to match.
        let (mut counted_to, mut line) = (0, kept.first().map_or(1, |found| found.line_in_chunk));
        for found in kept {
            if into.len() >= MAX_FINDINGS_PER_FILE {
                break;
            }
            line += memchr::memchr_iter(b'\n', &text[counted_to..found.start]).count();
            counted_to = found.start;
            let column = match memchr::memrchr(b'\n', &text[..found.start]) {
                Some(newline) => characters(&text[newline + 1..found.start]) + 1,
                // The line began in an earlier chunk.
                None => column_base + characters(&text[..found.start]) + 1,
            };
            let secret = &text[found.secret.clone()];
            let rule = &self.rules[found.rule];
            into.push(Finding {
                rule_id: rule.id.clone(),
                description: rule.description.clone(),
                path: origin.path.to_owned(),
                line,
                column,
                end_line: line
                    + memchr::memchr_iter(b'\n', &text[found.start..found.secret.end]).count(),
                redacted: redact(secret),
                fingerprint: fingerprint(&rule.id, secret),
                entropy: (found.entropy * 100.0).round() / 100.0,
                commit: origin.commit.cloned(),
            });
        }
    }

    /// Findings for path-only rules (a rule with `path` and no `regex` flags the file itself).
    fn path_findings(&self, origin: &Origin<'_>) -> Vec<Finding> {
        self.rules
            .iter()
            .filter(|rule| {
                rule.regex.is_none()
                    && rule
                        .path
                        .as_ref()
                        .is_some_and(|path| path.is_match(origin.path))
            })
            .map(|rule| Finding {
                rule_id: rule.id.clone(),
                description: rule.description.clone(),
                path: origin.path.to_owned(),
                line: 1,
                column: 1,
                end_line: 1,
                redacted: String::new(),
                fingerprint: fingerprint(&rule.id, origin.path.as_bytes()),
                entropy: 0.0,
                commit: origin.commit.cloned(),
            })
            .collect()
    }
}

/// A match before positions are computed; offsets are relative to its chunk.
struct Raw {
    rule: usize,
    start: usize,
    secret: Range<usize>,
    entropy: f64,
    /// The line number at the start of the chunk.
    line_in_chunk: usize,
}

/// Text fed piece by piece and scanned in overlapping chunks.
pub(crate) struct Stream<'s, 'o> {
    scanner: &'s SecretScanner,
    origin: Origin<'o>,
    buffer: Vec<u8>,
    /// The line number at the start of `buffer`.
    line: usize,
    /// The characters of that line before the start of `buffer`.
    column: usize,
    findings: Vec<Finding>,
    pub(crate) total: u64,
}

impl<'s, 'o> Stream<'s, 'o> {
    pub(crate) fn new(scanner: &'s SecretScanner, origin: Origin<'o>) -> Stream<'s, 'o> {
        let line = origin.first_line;
        let findings = scanner.path_findings(&origin);
        Stream {
            scanner,
            origin,
            buffer: Vec::new(),
            line,
            column: 0,
            findings,
            total: 0,
        }
    }

    pub(crate) fn push(&mut self, mut bytes: &[u8]) {
        self.total += bytes.len() as u64;
        while !bytes.is_empty() {
            let room = CHUNK - self.buffer.len();
            let (now, later) = bytes.split_at(room.min(bytes.len()));
            self.buffer.extend_from_slice(now);
            bytes = later;
            if self.buffer.len() == CHUNK {
                self.scan(false);
            }
        }
    }

    pub(crate) fn finish(mut self) -> Vec<Finding> {
        self.scan(true);
        self.findings
    }

    /// Scans the buffer; unless it is the last chunk, keeps the overlap for the next one.
    fn scan(&mut self, last: bool) {
        if self.buffer.is_empty() || self.findings.len() >= MAX_FINDINGS_PER_FILE {
            return;
        }
        let accept_end = if last {
            self.buffer.len()
        } else {
            self.buffer.len() - OVERLAP
        };
        let mut raw = Vec::new();
        self.scanner.scan_chunk(
            &self.origin,
            &self.buffer,
            0..accept_end,
            self.line,
            &mut raw,
        );
        self.scanner.findings(
            &self.origin,
            &self.buffer,
            self.column,
            raw,
            &mut self.findings,
        );
        if !last {
            let consumed = &self.buffer[..accept_end];
            self.line += memchr::memchr_iter(b'\n', consumed).count();
            self.column = match memchr::memrchr(b'\n', consumed) {
                Some(newline) => characters(&consumed[newline + 1..]),
                None => self.column + characters(consumed),
            };
            self.buffer.drain(..accept_end);
        }
    }
}

/// How many characters `bytes` holds as UTF-8 (each byte of an invalid sequence counts as one).
fn characters(bytes: &[u8]) -> usize {
    // Counting bytes that do not continue a character avoids decoding.
    bytes.iter().filter(|&&byte| (byte & 0xC0) != 0x80).count()
}

/// The window a keyword hit at `at` opens for a rule of `reach`.
fn window(reach: Reach, text: &[u8], at: usize) -> Range<usize> {
    match reach {
        Reach::Line => line_bounds(text, at),
        Reach::Bytes(length) => {
            let start = line_bounds(text, at).start;
            start..(start + length).min(text.len())
        }
        Reach::Everything => 0..text.len(),
    }
}

/// The line holding byte `at`, without its newline.
pub(crate) fn line_bounds(text: &[u8], at: usize) -> Range<usize> {
    let start = memchr::memrchr(b'\n', &text[..at]).map_or(0, |newline| newline + 1);
    let end = memchr::memchr(b'\n', &text[at..]).map_or(text.len(), |newline| at + newline);
    start..end
}

/// Reads into `buffer` until it is full or the reader is done; how many bytes it holds.
fn fill(reader: &mut impl Read, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

/// The secret with all but a recognizable start masked: a private key keeps its `BEGIN` line,
/// a token its first four characters (its type, `ghp_`, `AKIA`) when it is long enough that
/// four characters give nothing away.
pub(crate) fn redact(secret: &[u8]) -> String {
    let text = String::from_utf8_lossy(secret);
    if text.starts_with("-----BEGIN") {
        let first_line = text.lines().next().unwrap_or_default();
        return format!("{first_line} ****");
    }
    let length = text.chars().count();
    let shown = match length {
        16.. => 4,
        8..=15 => 2,
        _ => 0,
    };
    let prefix: String = text.chars().take(shown).collect();
    format!("{prefix}********")
}

/// The first 16 hex digits of SHA-256 over the rule and the secret.
fn fingerprint(rule: &str, secret: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(rule.as_bytes());
    hasher.update([0]);
    hasher.update(secret);
    hex::encode(&hasher.finalize()[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_keeps_only_a_recognizable_start() {
        assert_eq!(
            redact(b"ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
            "ghp_********"
        );
        assert_eq!(redact(b"hunter2pw"), "hu********");
        assert_eq!(redact(b"short"), "********");
        assert_eq!(
            redact(b"-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----"),
            "-----BEGIN RSA PRIVATE KEY----- ****"
        );
    }

    #[test]
    fn windows_stay_on_the_line_or_reach_as_far_as_told() {
        let text = b"one\ntwo key here\nthree";
        assert_eq!(window(Reach::Line, text, 8), 4..16);
        assert_eq!(window(Reach::Bytes(100), text, 8), 4..text.len());
        assert_eq!(window(Reach::Everything, text, 8), 0..text.len());
        assert_eq!(line_bounds(b"abc", 0), 0..3);
    }
}
