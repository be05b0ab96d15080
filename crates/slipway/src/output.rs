//! Terminal output: colour, status lines, tables, JSON.
//!
//! Results go to stdout (a table, JSON, or with `--quiet` just the essential value, so
//! `IMAGE=$(slipway build -q)` works); progress and status go to stderr. Colour follows
//! `--color`, then `NO_COLOR` / `CLICOLOR_FORCE`, then whether the stream is a terminal: anstream
//! strips the escape codes wherever colour is off.
#![allow(clippy::print_stdout, clippy::print_stderr)] // This module is where output happens.

use std::io::Write;

use owo_colors::OwoColorize;
use serde::Serialize;

use crate::cli::{ColorWhen, GlobalArgs};
use crate::report::Failure;

/// Sets up colour and logging for the whole process.
pub(crate) fn init(global: &GlobalArgs) {
    let choice = match global.color {
        ColorWhen::Always => anstream::ColorChoice::Always,
        ColorWhen::Never => anstream::ColorChoice::Never,
        ColorWhen::Auto => anstream::ColorChoice::Auto,
    };
    choice.write_global();
    let default_level = match global.verbose {
        0 => "warn",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never)
        .init();
}

/// Where a command reports progress: stderr, or nowhere with `--quiet`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Status {
    quiet: bool,
}

impl Status {
    pub(crate) fn new(quiet: bool) -> Status {
        Status { quiet }
    }

    pub(crate) fn is_quiet(self) -> bool {
        self.quiet
    }

    /// A line of progress.
    pub(crate) fn line(self, text: impl std::fmt::Display) {
        if !self.quiet {
            anstream::eprintln!("{text}");
        }
    }

    /// Raw text as it arrives (a build's log), flushed at once.
    pub(crate) fn raw(self, text: &str) {
        if !self.quiet {
            let mut stderr = anstream::stderr().lock();
            // A closed stderr must not turn a good build into a failure.
            let _ = stderr.write_all(text.as_bytes());
            let _ = stderr.flush();
        }
    }

    /// A warning; shown even with `--quiet`, since it may explain a later failure.
    pub(crate) fn warn(self, text: impl std::fmt::Display) {
        anstream::eprintln!("{} {text}", "warning:".yellow().bold());
    }
}

/// Prints `value` as pretty JSON on stdout.
pub(crate) fn print_json<T: Serialize>(value: &T) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|error| Failure::new(format!("cannot encode JSON: {error}")))?;
    print_line(&text);
    Ok(())
}

/// Prints one line on stdout.
pub(crate) fn print_line(text: &str) {
    anstream::println!("{text}");
}

/// A table printed with aligned columns; the header is bold.
#[derive(Debug)]
pub(crate) struct Table {
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new(header: Vec<&'static str>) -> Table {
        Table {
            header,
            rows: Vec::new(),
        }
    }

    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub(crate) fn print(&self) {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.len()).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(visible_len(cell));
            }
        }
        let header: Vec<String> = self.header.iter().map(|h| h.to_string()).collect();
        print_line(&format!("{}", layout(&header, &widths).bold()));
        for row in &self.rows {
            print_line(&layout(row, &widths));
        }
    }
}

fn layout(cells: &[String], widths: &[usize]) -> String {
    let mut line = String::new();
    for (index, (cell, width)) in cells.iter().zip(widths).enumerate() {
        line.push_str(cell);
        if index + 1 < cells.len() {
            line.push_str(&" ".repeat(width - visible_len(cell) + 2));
        }
    }
    line
}

/// The width of `text` on a terminal, not counting colour escape codes.
fn visible_len(text: &str) -> usize {
    anstream::adapter::strip_str(text)
        .to_string()
        .chars()
        .count()
}

/// Styles for a check's verdict.
pub(crate) fn ok(text: &str) -> String {
    text.green().to_string()
}

pub(crate) fn bad(text: &str) -> String {
    text.red().to_string()
}

pub(crate) fn caution(text: &str) -> String {
    text.yellow().to_string()
}

pub(crate) fn dim(text: &str) -> String {
    text.dimmed().to_string()
}

/// A byte count in binary units (`12.3 MiB`).
pub(crate) fn bytes(count: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = count as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{count} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A duration for people (`850ms`, `12.4s`, `3m05s`).
pub(crate) fn duration(duration: std::time::Duration) -> String {
    let millis = duration.as_millis();
    match millis {
        0..=999 => format!("{millis}ms"),
        1_000..=59_999 => format!("{:.1}s", duration.as_secs_f64()),
        _ => format!("{}m{:02}s", millis / 60_000, (millis / 1_000) % 60),
    }
}

/// How long ago `then` was (`12s ago`, `5m ago`, `3h ago`, `2d ago`).
pub(crate) fn ago(then: jiff::Timestamp) -> String {
    let seconds = jiff::Timestamp::now()
        .as_second()
        .saturating_sub(then.as_second())
        .max(0);
    match seconds {
        0..=59 => format!("{seconds}s ago"),
        60..=3_599 => format!("{}m ago", seconds / 60),
        3_600..=86_399 => format!("{}h ago", seconds / 3_600),
        _ => format!("{}d ago", seconds / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn human_units() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
        assert_eq!(duration(Duration::from_millis(850)), "850ms");
        assert_eq!(duration(Duration::from_millis(12_400)), "12.4s");
        assert_eq!(duration(Duration::from_secs(185)), "3m05s");
    }

    #[test]
    fn columns_align_on_visible_width() {
        let widths = [5, 3];
        assert_eq!(
            layout(&["\u{1b}[32mok\u{1b}[0m".into(), "x".into()], &widths),
            "\u{1b}[32mok\u{1b}[0m     x"
        );
    }
}
