//! Positions in text: byte offsets to 1-based lines and columns, for messages and reports.

use std::collections::HashMap;

/// The 1-based line and column (in characters) of byte `offset` in `text`. An offset past the
/// end, or inside a character, is clamped to the nearest position before it.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.bytes().filter(|&byte| byte == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Where keys and `"name"` values sit in pretty-printed JSON (one key per line, as every package
/// manager writes its lockfile), found in one pass: looking each package up with a search of
/// the whole text would make a large lockfile quadratic.
#[derive(Debug, Default)]
pub(crate) struct JsonLines<'a> {
    keys: HashMap<&'a str, usize>,
    names: HashMap<&'a str, usize>,
}

impl<'a> JsonLines<'a> {
    pub(crate) fn new(text: &'a str) -> JsonLines<'a> {
        let mut lines = JsonLines::default();
        for (number, line) in (1..).zip(text.lines()) {
            let Some((key, rest)) = leading_string(line.trim_start()) else {
                continue;
            };
            let Some(value) = rest.trim_start().strip_prefix(':') else {
                continue;
            };
            lines.keys.entry(key).or_insert(number);
            if key == "name"
                && let Some((name, _)) = leading_string(value.trim_start())
            {
                lines.names.entry(name).or_insert(number);
            }
        }
        lines
    }

    /// The line of the first `"key":`.
    pub(crate) fn key(&self, key: &str) -> Option<usize> {
        self.keys.get(key).copied()
    }

    /// The line of the first `"name": "name"`.
    pub(crate) fn name(&self, name: &str) -> Option<usize> {
        self.names.get(name).copied()
    }
}

/// The JSON string at the start of `text` (without its quotes, escapes left as written) and
/// what follows it.
fn leading_string(text: &str) -> Option<(&str, &str)> {
    let body = text.strip_prefix('"')?;
    let mut escaped = false;
    for (index, byte) in body.bytes().enumerate() {
        match byte {
            b'\\' if !escaped => escaped = true,
            b'"' if !escaped => return Some((&body[..index], &body[index + 1..])),
            _ => escaped = false,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_lines_and_columns() {
        let text = "ab\ncdé\nf";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 3), (2, 1));
        assert_eq!(line_column(text, 7), (2, 4));
        assert_eq!(
            line_column(text, 6),
            (2, 3),
            "inside é: clamped to its start"
        );
        assert_eq!(line_column(text, 99), (3, 2));
    }

    #[test]
    fn json_keys_and_names_are_found_by_line() {
        let json = "{\n  \"a\\\"b\": 1,\n  \"x\": {\n    \"name\": \"pkg\"\n  }\n}";
        let lines = JsonLines::new(json);
        assert_eq!(lines.key("a\\\"b"), Some(2));
        assert_eq!(lines.key("x"), Some(3));
        assert_eq!(lines.name("pkg"), Some(4));
        assert_eq!(lines.key("pkg"), None);
    }
}
