//! The log a build record keeps: everything the engine printed, up to a bound.
//!
//! A runaway build can print gigabytes; the record keeps the last [`MAX_LOG_BYTES`], which is
//! where the failure is, and says how much was dropped before it.

/// How much of a build's output a record keeps.
pub(crate) const MAX_LOG_BYTES: usize = 4 * 1024 * 1024;

/// How many lines of output an error quotes.
const TAIL_LINES: usize = 20;

#[derive(Debug, Default)]
pub(crate) struct BuildLog {
    text: String,
    dropped: usize,
}

impl BuildLog {
    pub(crate) fn push(&mut self, chunk: &str) {
        self.text.push_str(chunk);
        if self.text.len() > 2 * MAX_LOG_BYTES {
            self.trim();
        }
    }

    /// The last lines, for an error message.
    pub(crate) fn tail(&self) -> String {
        let lines: Vec<&str> = self.text.lines().collect();
        lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
    }

    pub(crate) fn into_text(mut self) -> String {
        self.trim();
        if self.dropped == 0 {
            return self.text;
        }
        format!(
            "[the first {} bytes of the build log were dropped]\n{}",
            self.dropped, self.text
        )
    }

    /// Drops the oldest output down to [`MAX_LOG_BYTES`], cutting at a line start.
    fn trim(&mut self) {
        if self.text.len() <= MAX_LOG_BYTES {
            return;
        }
        let mut cut = self.text.len() - MAX_LOG_BYTES;
        while !self.text.is_char_boundary(cut) {
            cut += 1;
        }
        if let Some(newline) = self.text[cut..].find('\n') {
            cut += newline + 1;
        }
        self.dropped += cut;
        self.text.drain(..cut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_log_is_kept_whole() {
        let mut log = BuildLog::default();
        log.push("STEP 1\n");
        log.push("STEP 2\n");
        assert_eq!(log.tail(), "STEP 1\nSTEP 2");
        assert_eq!(log.into_text(), "STEP 1\nSTEP 2\n");
    }

    #[test]
    fn a_huge_log_keeps_its_end_and_says_what_was_dropped() {
        let mut log = BuildLog::default();
        let line = format!("{}\n", "x".repeat(1023));
        for _ in 0..(3 * MAX_LOG_BYTES / 1024) {
            log.push(&line);
        }
        log.push("the failure\n");
        let tail = log.tail();
        assert!(tail.ends_with("the failure"));
        let text = log.into_text();
        assert!(text.starts_with("[the first "), "{}", &text[..80]);
        assert!(text.len() <= MAX_LOG_BYTES + 100);
        assert!(text.ends_with("the failure\n"));
    }

    #[test]
    fn the_tail_is_the_last_twenty_lines() {
        let mut log = BuildLog::default();
        for n in 0..50 {
            log.push(&format!("line {n}\n"));
        }
        let tail = log.tail();
        assert_eq!(tail.lines().count(), 20);
        assert!(tail.starts_with("line 30"));
    }
}
