//! Parses expression text into an [`Expr`], checking function names and argument counts.
//!
//! Recursive descent over GitHub's precedence table, loosest first: `||`, `&&`, `==`/`!=`,
//! `<`/`<=`/`>`/`>=`, `!`, then the postfix forms `.name`, `.*`, `[index]`. Every binary
//! operator is left-associative. Nesting is bounded twice: by GitHub's own limit
//! ([`MAX_DEPTH`], counted the way GitHub counts it), and, while parsing, by a larger bound on
//! the syntax tree so that hostile input cannot exhaust the stack of the parser or of anything
//! walking the tree afterwards.

use thiserror::Error;

use crate::ast::{BinaryOp, Call, Expr, ExprKind, Function, Literal, Span};
use crate::lexer::{Token, tokenize};

/// How deep an expression may nest, as GitHub limits it (`ExpressionConstants.MaxDepth` of the
/// Actions runner, `MAX_PARSER_DEPTH` of actions/languageservices): every node of the tree is a
/// level, parentheses are not, and a chain of `&&` (or of `||`) is one node.
pub const MAX_DEPTH: usize = 50;

/// How deep the syntax tree itself may grow while parsing, parentheses included. Beyond
/// GitHub's limit on purpose (`a || b || ...` nests here but not for GitHub) and far below what
/// would strain the stack.
const MAX_TREE_DEPTH: usize = 100;

/// A syntax error and where it is.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{kind}")]
pub struct ParseError {
    kind: ParseErrorKind,
    span: Span,
}

impl ParseError {
    pub(crate) fn new(kind: ParseErrorKind, span: Span) -> ParseError {
        ParseError { kind, span }
    }

    /// What is wrong.
    pub fn kind(&self) -> &ParseErrorKind {
        &self.kind
    }

    /// Where, in bytes of the parsed text.
    pub fn span(&self) -> Span {
        self.span
    }
}

/// The kinds of syntax error.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ParseErrorKind {
    /// A character that starts no token.
    #[error("unexpected character '{0}'")]
    UnexpectedChar(char),
    /// A `'` string that never closes.
    #[error("unterminated string literal")]
    UnterminatedString,
    /// Strings take single quotes only.
    #[error("strings must use single quotes ('), not double quotes")]
    DoubleQuotedString,
    /// A malformed number literal.
    #[error("invalid number '{0}'")]
    InvalidNumber(String),
    /// A token where something else was needed.
    #[error("unexpected {found}, expected {expected}")]
    UnexpectedToken {
        /// The token found.
        found: String,
        /// What would have fit.
        expected: &'static str,
    },
    /// The text ended where something else was needed.
    #[error("unexpected end of expression, expected {expected}")]
    UnexpectedEnd {
        /// What would have fit.
        expected: &'static str,
    },
    /// A call of a function GitHub does not have.
    #[error("unknown function '{0}'")]
    UnknownFunction(String),
    /// A known function called with an argument count it does not take.
    #[error("{function}() takes {expected}, got {found}")]
    WrongArity {
        /// The function, as documented.
        function: &'static str,
        /// The accepted counts.
        expected: &'static str,
        /// The count given.
        found: usize,
    },
    /// Nesting beyond [`MAX_DEPTH`].
    #[error("expression is nested more than {MAX_DEPTH} levels deep, GitHub's limit; split it up")]
    TooDeep,
}

/// Parses a whole expression (the text between `${{` and `}}`, or an `if:` condition).
pub fn parse(text: &str) -> Result<Expr, ParseError> {
    parse_at(text, 0)
}

/// Parses `text` reporting spans as if it started `offset` bytes into a larger string.
pub(crate) fn parse_at(text: &str, offset: usize) -> Result<Expr, ParseError> {
    let tokens = tokenize(text, offset)?;
    let end = offset + text.len();
    let mut parser = Parser {
        tokens,
        pos: 0,
        end,
        nesting: 0,
    };
    let (expr, _) = parser.or()?;
    match parser.tokens.get(parser.pos) {
        None => check_depth(&expr, 1).map(|()| expr),
        Some((token, span)) => Err(ParseError::new(
            ParseErrorKind::UnexpectedToken {
                found: token.describe(),
                expected: "an operator or the end of the expression",
            },
            *span,
        )),
    }
}

/// Refuses an expression nested deeper than [`MAX_DEPTH`] as GitHub counts levels: `expr` is at
/// `depth`, its operands one level below, except that an operand of `&&` that is itself `&&`
/// (likewise `||`) joins its parent's level, since GitHub makes one node of the whole chain.
/// The tree is at most [`MAX_TREE_DEPTH`] deep, which bounds this recursion.
fn check_depth(expr: &Expr, depth: usize) -> Result<(), ParseError> {
    if depth > MAX_DEPTH {
        return Err(ParseError::new(ParseErrorKind::TooDeep, expr.span()));
    }
    match expr.kind() {
        ExprKind::Literal(_) | ExprKind::Context(_) => Ok(()),
        ExprKind::Property { target, .. } | ExprKind::Filter(target) | ExprKind::Not(target) => {
            check_depth(target, depth + 1)
        }
        ExprKind::Index { target, index } => {
            check_depth(target, depth + 1)?;
            check_depth(index, depth + 1)
        }
        ExprKind::Binary { op, left, right } => [left, right].into_iter().try_for_each(|operand| {
            let chained = matches!(op, BinaryOp::And | BinaryOp::Or)
                && matches!(operand.kind(), ExprKind::Binary { op: inner, .. } if inner == op);
            check_depth(operand, if chained { depth } else { depth + 1 })
        }),
        ExprKind::Call(call) => call
            .args()
            .iter()
            .try_for_each(|arg| check_depth(arg, depth + 1)),
    }
}

/// A parsed node with the depth of the tree below it.
type Parsed = (Expr, usize);

struct Parser {
    tokens: Vec<(Token, Span)>,
    pos: usize,
    /// Where the text ends, for errors about a missing token.
    end: usize,
    /// How many recursive descents are under way, bounded before the stack is.
    nesting: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|(token, _)| token)
    }

    fn advance(&mut self) -> Option<(Token, Span)> {
        let next = self.tokens.get(self.pos).cloned();
        self.pos += usize::from(next.is_some());
        next
    }

    fn eat(&mut self, wanted: &Token) -> Option<Span> {
        match self.tokens.get(self.pos) {
            Some((token, span)) if token == wanted => {
                let span = *span;
                self.pos += 1;
                Some(span)
            }
            _ => None,
        }
    }

    fn expect(&mut self, wanted: &Token, expected: &'static str) -> Result<Span, ParseError> {
        match self.eat(wanted) {
            Some(span) => Ok(span),
            None => Err(self.unexpected(expected)),
        }
    }

    fn unexpected(&self, expected: &'static str) -> ParseError {
        match self.tokens.get(self.pos) {
            Some((token, span)) => ParseError::new(
                ParseErrorKind::UnexpectedToken {
                    found: token.describe(),
                    expected,
                },
                *span,
            ),
            None => ParseError::new(
                ParseErrorKind::UnexpectedEnd { expected },
                Span::new(self.end, self.end),
            ),
        }
    }

    /// Builds a node whose children reach `child_depth`, refusing trees nested too deeply.
    fn node(kind: ExprKind, span: Span, child_depth: usize) -> Result<Parsed, ParseError> {
        let depth = child_depth + 1;
        if depth > MAX_TREE_DEPTH {
            return Err(ParseError::new(ParseErrorKind::TooDeep, span));
        }
        Ok((Expr::new(kind, span), depth))
    }

    /// Runs `parse` one recursion level deeper, refusing to go beyond [`MAX_TREE_DEPTH`].
    fn descend(
        &mut self,
        parse: fn(&mut Parser) -> Result<Parsed, ParseError>,
    ) -> Result<Parsed, ParseError> {
        if self.nesting >= MAX_TREE_DEPTH {
            let span = self
                .tokens
                .get(self.pos)
                .map_or(Span::new(self.end, self.end), |(_, span)| *span);
            return Err(ParseError::new(ParseErrorKind::TooDeep, span));
        }
        self.nesting += 1;
        let parsed = parse(self);
        self.nesting -= 1;
        parsed
    }

    fn or(&mut self) -> Result<Parsed, ParseError> {
        self.descend(|parser| parser.binary_level(&[(Token::OrOr, BinaryOp::Or)], Parser::and))
    }

    fn and(&mut self) -> Result<Parsed, ParseError> {
        self.binary_level(&[(Token::AndAnd, BinaryOp::And)], Parser::equality)
    }

    fn equality(&mut self) -> Result<Parsed, ParseError> {
        self.binary_level(
            &[(Token::EqEq, BinaryOp::Eq), (Token::Ne, BinaryOp::Ne)],
            Parser::comparison,
        )
    }

    fn comparison(&mut self) -> Result<Parsed, ParseError> {
        self.binary_level(
            &[
                (Token::Lt, BinaryOp::Lt),
                (Token::Le, BinaryOp::Le),
                (Token::Gt, BinaryOp::Gt),
                (Token::Ge, BinaryOp::Ge),
            ],
            Parser::unary,
        )
    }

    /// One left-associative precedence level: `operand (op operand)*`.
    fn binary_level(
        &mut self,
        operators: &[(Token, BinaryOp)],
        operand: fn(&mut Parser) -> Result<Parsed, ParseError>,
    ) -> Result<Parsed, ParseError> {
        let (mut left, mut depth) = operand(self)?;
        while let Some(op) = self
            .peek()
            .and_then(|token| operators.iter().find(|(t, _)| t == token))
            .map(|(_, op)| *op)
        {
            self.pos += 1;
            let (right, right_depth) = operand(self)?;
            let span = left.span().to(right.span());
            let kind = ExprKind::Binary {
                op,
                left: Box::new(left),
                right: Box::new(right),
            };
            (left, depth) = Parser::node(kind, span, depth.max(right_depth))?;
        }
        Ok((left, depth))
    }

    fn unary(&mut self) -> Result<Parsed, ParseError> {
        if let Some(bang) = self.eat(&Token::Bang) {
            let (operand, depth) = self.descend(Parser::unary)?;
            let span = bang.to(operand.span());
            return Parser::node(ExprKind::Not(Box::new(operand)), span, depth);
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Result<Parsed, ParseError> {
        let (mut expr, mut depth) = self.primary()?;
        loop {
            let start = expr.span();
            let (kind, end, child_depth) = if self.eat(&Token::Dot).is_some() {
                match self.peek() {
                    Some(Token::Star | Token::Ident(_)) => {}
                    _ => return Err(self.unexpected("a property name or '*' after '.'")),
                }
                match self.advance() {
                    Some((Token::Ident(name), span)) => (
                        ExprKind::Property {
                            target: Box::new(expr),
                            name,
                        },
                        span,
                        depth,
                    ),
                    Some((_, span)) => (ExprKind::Filter(Box::new(expr)), span, depth),
                    None => return Err(self.unexpected("a property name or '*' after '.'")),
                }
            } else if self.eat(&Token::LBracket).is_some() {
                if self.eat(&Token::Star).is_some() {
                    let end = self.expect(&Token::RBracket, "']'")?;
                    (ExprKind::Filter(Box::new(expr)), end, depth)
                } else {
                    let (index, index_depth) = self.or()?;
                    let end = self.expect(&Token::RBracket, "']'")?;
                    let kind = ExprKind::Index {
                        target: Box::new(expr),
                        index: Box::new(index),
                    };
                    (kind, end, depth.max(index_depth))
                }
            } else {
                return Ok((expr, depth));
            };
            (expr, depth) = Parser::node(kind, start.to(end), child_depth)?;
        }
    }

    fn primary(&mut self) -> Result<Parsed, ParseError> {
        let Some((token, span)) = self.advance() else {
            return Err(self.unexpected("an expression"));
        };
        let literal = |literal| Parser::node(ExprKind::Literal(literal), span, 0);
        match token {
            Token::Number(n) => literal(Literal::Number(n)),
            Token::String(s) => literal(Literal::String(s)),
            Token::LParen => {
                let (inner, depth) = self.or()?;
                self.expect(&Token::RParen, "')'")?;
                // The parentheses leave no node but count towards nesting, so that deeply
                // nested input is refused before it can exhaust the parser's stack.
                if depth + 1 > MAX_TREE_DEPTH {
                    return Err(ParseError::new(ParseErrorKind::TooDeep, span));
                }
                Ok((inner, depth + 1))
            }
            Token::Ident(name) => {
                if self.peek() == Some(&Token::LParen) {
                    return self.call(name, span);
                }
                match name.as_str() {
                    "null" => literal(Literal::Null),
                    "true" => literal(Literal::Bool(true)),
                    "false" => literal(Literal::Bool(false)),
                    "NaN" => literal(Literal::Number(f64::NAN)),
                    "Infinity" => literal(Literal::Number(f64::INFINITY)),
                    _ => Parser::node(ExprKind::Context(name), span, 0),
                }
            }
            _ => {
                self.pos -= 1;
                Err(self.unexpected("an expression"))
            }
        }
    }

    fn call(&mut self, name: String, name_span: Span) -> Result<Parsed, ParseError> {
        let Some(function) = Function::from_name(&name) else {
            return Err(ParseError::new(
                ParseErrorKind::UnknownFunction(name),
                name_span,
            ));
        };
        self.expect(&Token::LParen, "'('")?;
        let mut args = Vec::new();
        let mut depth = 0;
        if self.eat(&Token::RParen).is_none() {
            loop {
                let (arg, arg_depth) = self.or()?;
                args.push(arg);
                depth = depth.max(arg_depth);
                if self.eat(&Token::Comma).is_some() {
                    continue;
                }
                self.expect(&Token::RParen, "',' or ')'")?;
                break;
            }
        }
        let close = self.tokens.get(self.pos - 1).map_or(name_span, |(_, s)| *s);
        let span = name_span.to(close);
        let found = args.len();
        match Call::new(function, args) {
            Some(call) => Parser::node(ExprKind::Call(call), span, depth),
            None => Err(ParseError::new(
                ParseErrorKind::WrongArity {
                    function: function.name(),
                    expected: function.arity_description(),
                    found,
                },
                span,
            )),
        }
    }
}
