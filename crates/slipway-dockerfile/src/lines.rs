//! Physical lines and the logical lines they join into.
//!
//! BuildKit reads a Dockerfile line by line: a line ending in the escape character continues on the
//! next one, comment lines and blank lines inside a continuation are skipped, and the pieces are
//! concatenated into one logical line. [`LogicalLine`] keeps, for every piece, where it came from,
//! so any byte offset in the joined text maps back to a line and column of the file.

use std::iter::Peekable;
use std::ops::Range;

/// One line of the input, without its line ending.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PhysicalLine<'a> {
    /// 1-based line number.
    pub(crate) number: usize,
    /// Byte offset of `text` in the input.
    pub(crate) start: usize,
    /// The line without `\n` and without one `\r` before it (as Go's `bufio.ScanLines`).
    pub(crate) text: &'a str,
}

impl PhysicalLine<'_> {
    /// Byte offset just past the line's text in the input.
    pub(crate) fn end(&self) -> usize {
        self.start + self.text.len()
    }

    /// The text with every trailing `\r` removed, as BuildKit's `trimNewline`.
    pub(crate) fn trimmed(&self) -> &str {
        self.text.trim_end_matches(['\r', '\n'])
    }
}

/// Iterates over the physical lines of a Dockerfile, dropping a byte-order mark on the first.
#[derive(Debug)]
pub(crate) struct Lines<'a> {
    input: &'a str,
    position: usize,
    number: usize,
}

pub(crate) type PeekableLines<'a> = Peekable<Lines<'a>>;

impl<'a> Lines<'a> {
    pub(crate) fn new(input: &'a str) -> PeekableLines<'a> {
        let position = if input.starts_with('\u{feff}') {
            '\u{feff}'.len_utf8()
        } else {
            0
        };
        Lines {
            input,
            position,
            number: 0,
        }
        .peekable()
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = PhysicalLine<'a>;

    fn next(&mut self) -> Option<PhysicalLine<'a>> {
        if self.position >= self.input.len() {
            return None;
        }
        let rest = &self.input[self.position..];
        let (line, consumed) = match rest.find('\n') {
            Some(newline) => (&rest[..newline], newline + 1),
            None => (rest, rest.len()),
        };
        let line = line.strip_suffix('\r').unwrap_or(line);
        self.number += 1;
        let physical = PhysicalLine {
            number: self.number,
            start: self.position,
            text: line,
        };
        self.position += consumed;
        Some(physical)
    }
}

/// A line and column in the source, both 1-based; columns count characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) line: usize,
    pub(crate) column: usize,
}

/// Where a piece of a logical line starts.
#[derive(Debug, Clone, Copy)]
struct Piece {
    /// Byte offset of the piece in the joined text.
    offset: usize,
    position: Position,
}

/// An instruction's text with its continuations joined, mapping offsets back to the source.
#[derive(Debug, Clone)]
pub(crate) struct LogicalLine {
    text: String,
    pieces: Vec<Piece>,
    source: Range<usize>,
    last_line: usize,
}

impl LogicalLine {
    /// Starts a logical line with `piece`, which begins at byte `column_offset` of `line`.
    fn start(line: PhysicalLine<'_>, column_offset: usize, piece: &str) -> LogicalLine {
        let mut logical = LogicalLine {
            text: String::new(),
            pieces: Vec::new(),
            source: line.start + column_offset..line.end(),
            last_line: line.number,
        };
        logical.push(line, column_offset, piece);
        logical
    }

    fn push(&mut self, line: PhysicalLine<'_>, column_offset: usize, piece: &str) {
        let column = line.text[..column_offset].chars().count() + 1;
        self.pieces.push(Piece {
            offset: self.text.len(),
            position: Position {
                line: line.number,
                column,
            },
        });
        self.text.push_str(piece);
        self.extend_to(line);
    }

    /// Records that `line` belongs to this instruction without adding text (comments, blank lines,
    /// heredoc bodies).
    pub(crate) fn extend_to(&mut self, line: PhysicalLine<'_>) {
        self.source.end = line.end();
        self.last_line = line.number;
    }

    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The byte range of the input this instruction was read from.
    pub(crate) fn source(&self) -> Range<usize> {
        self.source.clone()
    }

    pub(crate) fn last_line(&self) -> usize {
        self.last_line
    }

    /// The source position of byte `offset` of the joined text.
    pub(crate) fn position(&self, offset: usize) -> Position {
        let index = self
            .pieces
            .partition_point(|piece| piece.offset <= offset)
            .saturating_sub(1);
        let Some(piece) = self.pieces.get(index) else {
            return Position {
                line: self.last_line,
                column: 1,
            };
        };
        let end = offset.min(self.text.len());
        let within = self
            .text
            .get(piece.offset..end)
            .map_or(0, |text| text.chars().count());
        Position {
            line: piece.position.line,
            column: piece.position.column + within,
        }
    }
}

/// Reads the next logical line, skipping comments and blank lines; `None` at the end of input.
pub(crate) fn next_logical_line(
    lines: &mut PeekableLines<'_>,
    escape: char,
) -> Option<LogicalLine> {
    loop {
        let line = lines.next()?;
        let text = line.trimmed();
        let content = text.trim_start();
        if content.starts_with('#') {
            continue;
        }
        let (piece, mut continues) = strip_continuation(content, escape);
        if piece.is_empty() && !continues {
            continue;
        }
        let mut logical = LogicalLine::start(line, text.len() - content.len(), piece);
        while continues {
            let Some(next) = lines.next() else { break };
            let text = next.trimmed();
            let content = text.trim_start();
            if content.starts_with('#') || content.is_empty() {
                logical.extend_to(next);
                continue;
            }
            let (piece, more) = strip_continuation(text, escape);
            logical.push(next, 0, piece);
            continues = more;
        }
        return Some(logical);
    }
}

/// Removes a trailing escape character (and the spaces or tabs after it) that continues a line.
fn strip_continuation(text: &str, escape: char) -> (&str, bool) {
    let trimmed = text.trim_end_matches([' ', '\t']);
    match trimmed.strip_suffix(escape) {
        Some(piece) => (piece, true),
        None => (text, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logical_lines(input: &str) -> Vec<(String, usize, usize)> {
        let mut lines = Lines::new(input);
        std::iter::from_fn(|| next_logical_line(&mut lines, '\\'))
            .map(|logical| {
                let start = logical.position(0);
                (logical.text().to_owned(), start.line, logical.last_line())
            })
            .collect()
    }

    #[test]
    fn joins_continuations_skipping_comments_and_blank_lines() {
        let input = "# c\n\n  RUN a \\\n# inside\n\n   b \\  \n  c\nCMD d\r\n";
        assert_eq!(
            logical_lines(input),
            vec![
                ("RUN a    b   c".to_owned(), 3, 7),
                ("CMD d".to_owned(), 8, 8)
            ]
        );
    }

    #[test]
    fn maps_offsets_back_to_lines_and_columns() {
        let mut lines = Lines::new("\u{feff}  RUN é \\\n   x");
        let logical = next_logical_line(&mut lines, '\\').unwrap();
        assert_eq!(logical.text(), "RUN é    x");
        assert_eq!(logical.position(0), Position { line: 1, column: 3 });
        assert_eq!(logical.position(4), Position { line: 1, column: 7 });
        let x = logical.text().find('x').unwrap();
        assert_eq!(logical.position(x), Position { line: 2, column: 4 });
    }

    #[test]
    fn a_continuation_at_end_of_input_ends_the_instruction() {
        assert_eq!(logical_lines("RUN a \\"), vec![("RUN a ".to_owned(), 1, 1)]);
    }
}
