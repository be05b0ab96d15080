//! Parser directives: the `# name=value` comments at the very top of a Dockerfile.
//!
//! BuildKit reads directives only until the first line that is not one (an instruction, a blank
//! line, an ordinary comment or an unknown directive); later lines of that shape are plain
//! comments. Each known directive may appear once.

use serde::Serialize;

use crate::error::ParseError;
use crate::lines::{PeekableLines, Position};

/// The parser directives a Dockerfile starts with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Directives {
    syntax: Option<String>,
    escape: char,
    check: Option<String>,
}

impl Default for Directives {
    fn default() -> Directives {
        Directives {
            syntax: None,
            escape: '\\',
            check: None,
        }
    }
}

impl Directives {
    /// The frontend image named by `# syntax=`, if any.
    pub fn syntax(&self) -> Option<&str> {
        self.syntax.as_deref()
    }

    /// The escape character: `\` unless `# escape=` chose the backtick.
    pub fn escape(&self) -> char {
        self.escape
    }

    /// The build-check configuration given by `# check=`, if any.
    pub fn check(&self) -> Option<&str> {
        self.check.as_deref()
    }

    /// Consumes the directive lines at the top of `lines`.
    pub(crate) fn parse(lines: &mut PeekableLines<'_>) -> Result<Directives, ParseError> {
        let mut directives = Directives::default();
        let mut escape_seen = false;
        while let Some(line) = lines.peek().copied() {
            let text = line.trimmed();
            let indent = text.len() - text.trim_start().len();
            let Some(directive) = Directive::parse(text.trim_start()) else {
                break;
            };
            let position = |offset: usize| Position {
                line: line.number,
                column: text[..indent + offset].chars().count() + 1,
            };
            let (seen, name) = match directive.name.as_str() {
                "syntax" => (directives.syntax.is_some(), "syntax"),
                "escape" => (escape_seen, "escape"),
                "check" => (directives.check.is_some(), "check"),
                _ => break,
            };
            if seen {
                return Err(ParseError::new(
                    position(0),
                    format!("only one {name} parser directive can be used"),
                ));
            }
            match name {
                "syntax" => directives.syntax = Some(directive.value.to_owned()),
                "check" => directives.check = Some(directive.value.to_owned()),
                _ => {
                    directives.escape = match directive.value {
                        "\\" => '\\',
                        "`" => '`',
                        other => {
                            return Err(ParseError::new(
                                position(directive.value_offset),
                                format!("invalid escape character {other:?}: use \\ or `"),
                            ));
                        }
                    };
                    escape_seen = true;
                }
            }
            lines.next();
        }
        Ok(directives)
    }
}

/// One `# name=value` line, split up.
struct Directive<'a> {
    /// Lowercased name.
    name: String,
    value: &'a str,
    /// Byte offset of the value in the line.
    value_offset: usize,
}

impl<'a> Directive<'a> {
    /// Matches BuildKit's `^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$`.
    fn parse(line: &'a str) -> Option<Directive<'a>> {
        let after_hash = line.strip_prefix('#')?;
        let name_start = after_hash.trim_start_matches([' ', '\t']);
        let name_len = name_start
            .char_indices()
            .find(|&(i, c)| !(c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
            .map_or(name_start.len(), |(i, _)| i);
        if name_len == 0 {
            return None;
        }
        let after_name = name_start[name_len..].trim_start_matches([' ', '\t']);
        let value_start = after_name
            .strip_prefix('=')?
            .trim_start_matches([' ', '\t']);
        let value = value_start.trim_end_matches([' ', '\t']);
        if value.is_empty() {
            return None;
        }
        Some(Directive {
            name: name_start[..name_len].to_ascii_lowercase(),
            value,
            value_offset: line.len() - value_start.len(),
        })
    }
}
