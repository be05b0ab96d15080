//! Splits expression text into tokens, each with its byte span.
//!
//! Number literals take JavaScript's forms (`0xff`, `0o17`, `1e3`, `.5`, `-9.2`, `+1`,
//! `Infinity`): GitHub reads them that way. A sign belongs to the literal only where a value may
//! start, since the language has no arithmetic.

use crate::ast::Span;
use crate::parser::{ParseError, ParseErrorKind};
use crate::value::parse_number;

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Token {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Star,
    Bang,
    Lt,
    Le,
    Gt,
    Ge,
    EqEq,
    Ne,
    AndAnd,
    OrOr,
    Number(f64),
    String(String),
    Ident(String),
}

impl Token {
    /// Whether a value can end with this token, so that a following `-`, `+` or `.` is not the
    /// start of a number literal.
    fn ends_value(&self) -> bool {
        matches!(
            self,
            Token::RParen
                | Token::RBracket
                | Token::Star
                | Token::Number(_)
                | Token::String(_)
                | Token::Ident(_)
        )
    }

    /// How the token reads in an error message.
    pub(crate) fn describe(&self) -> String {
        match self {
            Token::Number(n) => format!("number {}", crate::value::format_number(*n)),
            Token::String(s) => format!("string '{s}'"),
            Token::Ident(name) => format!("'{name}'"),
            other => format!("'{}'", other.symbol()),
        }
    }

    fn symbol(&self) -> &'static str {
        match self {
            Token::LParen => "(",
            Token::RParen => ")",
            Token::LBracket => "[",
            Token::RBracket => "]",
            Token::Comma => ",",
            Token::Dot => ".",
            Token::Star => "*",
            Token::Bang => "!",
            Token::Lt => "<",
            Token::Le => "<=",
            Token::Gt => ">",
            Token::Ge => ">=",
            Token::EqEq => "==",
            Token::Ne => "!=",
            Token::AndAnd => "&&",
            Token::OrOr => "||",
            Token::Number(_) | Token::String(_) | Token::Ident(_) => "",
        }
    }
}

/// Tokenizes all of `text`; spans are shifted by `offset`.
pub(crate) fn tokenize(text: &str, offset: usize) -> Result<Vec<(Token, Span)>, ParseError> {
    let mut lexer = Lexer {
        text,
        pos: 0,
        offset,
        tokens: Vec::new(),
    };
    lexer.run()?;
    Ok(lexer.tokens)
}

struct Lexer<'a> {
    text: &'a str,
    pos: usize,
    offset: usize,
    tokens: Vec<(Token, Span)>,
}

impl Lexer<'_> {
    fn run(&mut self) -> Result<(), ParseError> {
        while let Some(c) = self.peek(0) {
            let start = self.pos;
            if c.is_whitespace() {
                self.pos += c.len_utf8();
                continue;
            }
            let token = if self.at_number_start() {
                self.number()?
            } else if c == '\'' {
                self.string()?
            } else if c.is_ascii_alphabetic() || c == '_' {
                Token::Ident(self.identifier().to_owned())
            } else {
                self.punctuation(c)?
            };
            let span = self.span(start, self.pos);
            self.tokens.push((token, span));
        }
        Ok(())
    }

    fn peek(&self, ahead: usize) -> Option<char> {
        self.text[self.pos..].chars().nth(ahead)
    }

    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(start + self.offset, end + self.offset)
    }

    fn error(&self, kind: ParseErrorKind, start: usize, end: usize) -> ParseError {
        ParseError::new(kind, self.span(start, end))
    }

    fn value_may_start(&self) -> bool {
        self.tokens
            .last()
            .is_none_or(|(token, _)| !token.ends_value())
    }

    fn at_number_start(&self) -> bool {
        let digit_at = |i| self.peek(i).is_some_and(|c: char| c.is_ascii_digit());
        match self.peek(0) {
            Some(c) if c.is_ascii_digit() => true,
            Some('.') => digit_at(1) && self.value_may_start(),
            Some('+' | '-') => {
                self.value_may_start()
                    && (digit_at(1)
                        || (self.peek(1) == Some('.') && digit_at(2))
                        || self.text[self.pos + 1..].starts_with("Infinity"))
            }
            _ => false,
        }
    }

    fn number(&mut self) -> Result<Token, ParseError> {
        let start = self.pos;
        if matches!(self.peek(0), Some('+' | '-')) {
            self.pos += 1;
        }
        if self.text[self.pos..].starts_with("Infinity") {
            self.pos += "Infinity".len();
        } else {
            self.number_body();
        }
        let lexeme = &self.text[start..self.pos];
        let value = parse_number(lexeme);
        if value.is_nan() {
            return Err(self.error(
                ParseErrorKind::InvalidNumber(lexeme.to_owned()),
                start,
                self.pos,
            ));
        }
        Ok(Token::Number(value))
    }

    /// Consumes the characters a number literal may be made of; validity is decided afterwards
    /// on the whole lexeme, so `1.2.3` is one bad number rather than two tokens.
    fn number_body(&mut self) {
        let body_start = self.pos;
        while let Some(c) = self.peek(0) {
            let body = &self.text[body_start..self.pos];
            let is_hex = body.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("0x"));
            let exponent_sign = matches!(c, '+' | '-') && body.ends_with(['e', 'E']) && !is_hex;
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' || exponent_sign {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn string(&mut self) -> Result<Token, ParseError> {
        let start = self.pos;
        self.pos += 1;
        let mut value = String::new();
        loop {
            let Some(c) = self.peek(0) else {
                return Err(self.error(ParseErrorKind::UnterminatedString, start, self.pos));
            };
            self.pos += c.len_utf8();
            if c == '\'' {
                if self.peek(0) == Some('\'') {
                    self.pos += 1;
                    value.push('\'');
                } else {
                    return Ok(Token::String(value));
                }
            } else {
                value.push(c);
            }
        }
    }

    fn identifier(&mut self) -> &str {
        let start = self.pos;
        while let Some(c) = self.peek(0) {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                self.pos += 1;
            } else {
                break;
            }
        }
        &self.text[start..self.pos]
    }

    fn punctuation(&mut self, c: char) -> Result<Token, ParseError> {
        let start = self.pos;
        let next = self.peek(1);
        let (token, len) = match (c, next) {
            ('<', Some('=')) => (Token::Le, 2),
            ('>', Some('=')) => (Token::Ge, 2),
            ('=', Some('=')) => (Token::EqEq, 2),
            ('!', Some('=')) => (Token::Ne, 2),
            ('&', Some('&')) => (Token::AndAnd, 2),
            ('|', Some('|')) => (Token::OrOr, 2),
            ('(', _) => (Token::LParen, 1),
            (')', _) => (Token::RParen, 1),
            ('[', _) => (Token::LBracket, 1),
            (']', _) => (Token::RBracket, 1),
            (',', _) => (Token::Comma, 1),
            ('.', _) => (Token::Dot, 1),
            ('*', _) => (Token::Star, 1),
            ('!', _) => (Token::Bang, 1),
            ('<', _) => (Token::Lt, 1),
            ('>', _) => (Token::Gt, 1),
            ('"', _) => {
                return Err(self.error(ParseErrorKind::DoubleQuotedString, start, start + 1));
            }
            _ => {
                let end = start + c.len_utf8();
                return Err(self.error(ParseErrorKind::UnexpectedChar(c), start, end));
            }
        };
        self.pos += len;
        Ok(token)
    }
}
