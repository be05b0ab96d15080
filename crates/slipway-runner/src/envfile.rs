//! The two `NAME=value` file formats the runner reads.
//!
//! - [`parse_file_command`]: what a step appends to `$GITHUB_OUTPUT`, `$GITHUB_ENV` and
//!   `$GITHUB_STATE`: `name=value` lines, or `name<<DELIMITER` followed by the value's lines and
//!   a line holding only the delimiter, as GitHub's runner reads them.
//! - [`parse_dotenv`]: the `--env-file`, `--secret-file` and `--var-file` files: `KEY=VALUE`
//!   lines, `#` comments, an optional `export `, and quoted values (`"..."` with `\n` escapes,
//!   `'...'` taken literally), as act and most dotenv readers accept.

use indexmap::IndexMap;
use thiserror::Error;

/// A line a file could not be read at.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}: {message}")]
pub struct EnvFileError {
    /// The 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Reads a file command file: names in the order first set, later values replacing earlier.
pub fn parse_file_command(text: &str) -> Result<IndexMap<String, String>, EnvFileError> {
    let mut values = IndexMap::new();
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let mut number = 0;
    while let Some(line) = lines.next() {
        number += 1;
        if line.is_empty() {
            continue;
        }
        let equals = line.find('=');
        let heredoc = line.find("<<");
        let (name, value) = match (equals, heredoc) {
            (Some(eq), heredoc) if heredoc.is_none_or(|h| eq < h) => {
                (&line[..eq], line[eq + 1..].to_owned())
            }
            (_, Some(h)) => {
                let delimiter = &line[h + 2..];
                if delimiter.is_empty() {
                    return Err(error(
                        number,
                        format!("'{line}' has no delimiter after '<<'"),
                    ));
                }
                let start = number;
                let mut body: Vec<&str> = Vec::new();
                loop {
                    let Some(next) = lines.next() else {
                        return Err(error(
                            start,
                            format!("no line matching the delimiter '{delimiter}' was found"),
                        ));
                    };
                    number += 1;
                    if next == delimiter {
                        break;
                    }
                    body.push(next);
                }
                (&line[..h], body.join("\n"))
            }
            _ => {
                return Err(error(
                    number,
                    format!("'{line}' is neither NAME=VALUE nor NAME<<DELIMITER"),
                ));
            }
        };
        if name.is_empty() {
            return Err(error(number, format!("'{line}' has no name")));
        }
        values.insert(name.to_owned(), value);
    }
    Ok(values)
}

/// Reads a dotenv file.
pub fn parse_dotenv(text: &str) -> Result<IndexMap<String, String>, EnvFileError> {
    let mut values = IndexMap::new();
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        let Some((name, value)) = line.split_once('=') else {
            return Err(error(number, format!("'{line}' is not KEY=VALUE")));
        };
        let name = name.trim();
        if name.is_empty() || name.chars().any(char::is_whitespace) {
            return Err(error(number, format!("'{name}' is not a variable name")));
        }
        values.insert(name.to_owned(), dotenv_value(value.trim(), number)?);
    }
    Ok(values)
}

fn dotenv_value(value: &str, number: usize) -> Result<String, EnvFileError> {
    if let Some(rest) = value.strip_prefix('"') {
        let Some(inner) = rest.strip_suffix('"') else {
            return Err(error(
                number,
                "a value opened with \" is never closed".to_owned(),
            ));
        };
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        }
        return Ok(out);
    }
    if let Some(rest) = value.strip_prefix('\'') {
        return rest
            .strip_suffix('\'')
            .map(str::to_owned)
            .ok_or_else(|| error(number, "a value opened with ' is never closed".to_owned()));
    }
    // An unquoted value ends at a comment.
    let value = match value.find(" #") {
        Some(at) => value[..at].trim_end(),
        None => value,
    };
    Ok(value.to_owned())
}

fn error(line: usize, message: String) -> EnvFileError {
    EnvFileError { line, message }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn file_commands_take_plain_and_heredoc_values() {
        let text = "a=1\r\nb=x=y\n\nmulti<<EOF\nline 1\n\nline=3\nEOF\nc<<x=y\nv\nx=y\na=2\n";
        let values = parse_file_command(text).unwrap();
        let got: Vec<(&str, &str)> = values
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("a", "2"),
                ("b", "x=y"),
                ("multi", "line 1\n\nline=3"),
                ("c", "v")
            ]
        );
    }

    #[test]
    fn file_command_problems_name_the_line() {
        assert_eq!(
            parse_file_command("ok=1\nbroken\n"),
            Err(error(
                2,
                "'broken' is neither NAME=VALUE nor NAME<<DELIMITER".into()
            ))
        );
        assert_eq!(
            parse_file_command("x<<END\nnever closed\n"),
            Err(error(
                1,
                "no line matching the delimiter 'END' was found".into()
            ))
        );
        assert_eq!(
            parse_file_command("=v"),
            Err(error(1, "'=v' has no name".into()))
        );
        assert_eq!(
            parse_file_command("x<<"),
            Err(error(1, "'x<<' has no delimiter after '<<'".into()))
        );
    }

    #[test]
    fn dotenv_files_with_comments_exports_and_quotes() {
        let text = "# comment\nexport A=1\nB = two words # note\nC=\"line\\nnext \\\"q\\\"\"\nD='raw \\n'\nE=\n";
        let values = parse_dotenv(text).unwrap();
        assert_eq!(values["A"], "1");
        assert_eq!(values["B"], "two words");
        assert_eq!(values["C"], "line\nnext \"q\"");
        assert_eq!(values["D"], "raw \\n");
        assert_eq!(values["E"], "");
        assert_eq!(parse_dotenv("NOPE").unwrap_err().line, 1);
        assert_eq!(parse_dotenv("\nA=\"open").unwrap_err().line, 2);
    }

    proptest! {
        #[test]
        fn heredoc_values_read_back(name in "[A-Za-z_][A-Za-z0-9_]{0,8}", value in "[ -~\\n]{0,60}") {
            let delimiter = "ghadelimiter_5f1c";
            prop_assume!(!value.split('\n').any(|line| line == delimiter));
            let text = format!("{name}<<{delimiter}\n{value}\n{delimiter}\n");
            let values = parse_file_command(&text).unwrap();
            prop_assert_eq!(&values[&name], &value);
        }

        #[test]
        fn parsing_never_panics(text in "[ -~\\n\\r]{0,80}") {
            let _ = parse_file_command(&text);
            let _ = parse_dotenv(&text);
        }
    }
}
