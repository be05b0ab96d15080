//! Positions in the config text: byte offsets to lines and columns, key paths to offsets.
//!
//! Type errors come from the TOML deserializer with a byte span; errors found after deserializing
//! (an invalid service name, an override of an unknown service) only know their key path, so we
//! find the key again in the spanned TOML tree.

use toml::de::{DeTable, DeValue};

/// A 1-based line and column (columns count characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LineColumn {
    pub(crate) line: usize,
    pub(crate) column: usize,
}

/// The line and column of byte `offset` in `text`.
pub(crate) fn line_column(text: &str, offset: usize) -> LineColumn {
    let offset = floor_char_boundary(text, offset.min(text.len()));
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let column = before[line_start..].chars().count() + 1;
    LineColumn { line, column }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The byte offset of the key at `path` (or of the deepest part of it that exists), or the start of
/// the file when not even the first key is there.
pub(crate) fn key_offset(text: &str, path: &[&str]) -> usize {
    let Ok(root) = DeTable::parse(text) else {
        return 0;
    };
    let mut table = root.get_ref();
    let mut found = 0;
    for segment in path {
        let Some((key, value)) = table.get_key_value(*segment) else {
            break;
        };
        found = key.span().start;
        match value.get_ref() {
            DeValue::Table(inner) => table = inner,
            _ => break,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_from_one_and_in_characters() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_column(text, 0), LineColumn { line: 1, column: 1 });
        assert_eq!(line_column(text, 6), LineColumn { line: 2, column: 1 });
        // `=` after the two-byte é is the fourth character of line 2, at byte 10.
        assert_eq!(line_column(text, 10), LineColumn { line: 2, column: 4 });
        assert_eq!(line_column(text, 999), LineColumn { line: 3, column: 1 });
    }

    #[test]
    fn key_offset_finds_nested_keys_in_headers_and_inline_tables() {
        let text =
            "[services.web]\nport = 1\n[environments.prod.services.api]\nenv = { A = \"1\" }\n";
        let at = |path: &[&str]| line_column(text, key_offset(text, path));
        assert_eq!(
            at(&["services", "web", "port"]),
            LineColumn { line: 2, column: 1 }
        );
        assert_eq!(at(&["environments", "prod", "services", "api"]).line, 3);
        assert_eq!(
            at(&["environments", "prod", "services", "api", "env", "A"]).line,
            4
        );
        assert_eq!(at(&["nothing"]), LineColumn { line: 1, column: 1 });
    }
}
