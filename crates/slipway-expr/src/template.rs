//! `${{ }}` templates in workflow strings, and `if:` conditions.
//!
//! A [`Template`] is a string split into literal text and embedded expressions. A template that
//! is exactly one `${{ expr }}` evaluates to the expression's value itself (so
//! `timeout-minutes: ${{ matrix.t }}` stays a number); any other template is the concatenation
//! of its text and the string forms of its expressions. The end of an embedded expression is the
//! first `}}` outside a string literal, so `${{ format('{{0}}', x) }}` is one expression.
//!
//! A [`Condition`] is an `if:` value: the `${{ }}` is optional, and when no status function is
//! called the condition is `success() && (...)`, as GitHub documents.

use thiserror::Error;

use crate::ast::{BinaryOp, Call, Expr, ExprKind, Span};
use crate::eval::{Contexts, EvalError, ExprHost, evaluate};
use crate::parser::{ParseError, parse_at};
use crate::value::Value;

/// A piece of a template.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    /// Literal text.
    Text(String),
    /// An embedded `${{ expression }}`, its spans counted from the template's start.
    Expr(Expr),
}

/// Why a template cannot be parsed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum TemplateError {
    /// A `${{` with no `}}` after it.
    #[error("'${{{{' at byte {start} is never closed with '}}}}'")]
    Unclosed {
        /// Byte offset of the `${{`.
        start: usize,
    },
    /// An embedded expression has a syntax error.
    #[error(transparent)]
    Parse(#[from] ParseError),
}

impl TemplateError {
    /// The byte range of the problem in the template text.
    pub fn span(&self) -> Span {
        match self {
            TemplateError::Unclosed { start } => Span::new(*start, start + 3),
            TemplateError::Parse(e) => e.span(),
        }
    }
}

/// A string that may embed `${{ }}` expressions.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    segments: Vec<Segment>,
}

impl Template {
    /// Splits `text` into literal text and parsed expressions.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut segments = Vec::new();
        let mut rest_start = 0;
        while let Some(found) = text[rest_start..].find("${{") {
            let open = rest_start + found;
            if open > rest_start {
                segments.push(Segment::Text(text[rest_start..open].to_owned()));
            }
            let inner_start = open + 3;
            let inner_end = find_close(&text[inner_start..])
                .map(|len| inner_start + len)
                .ok_or(TemplateError::Unclosed { start: open })?;
            let expr = parse_at(&text[inner_start..inner_end], inner_start)?;
            segments.push(Segment::Expr(expr));
            rest_start = inner_end + 2;
        }
        if rest_start < text.len() {
            segments.push(Segment::Text(text[rest_start..].to_owned()));
        }
        Ok(Template { segments })
    }

    /// A template of plain text with no expression.
    pub fn literal(text: impl Into<String>) -> Template {
        let text = text.into();
        let segments = if text.is_empty() {
            Vec::new()
        } else {
            vec![Segment::Text(text)]
        };
        Template { segments }
    }

    /// Whether `text` embeds any `${{`.
    pub fn contains_expression(text: &str) -> bool {
        text.contains("${{")
    }

    /// The pieces, in order.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The embedded expressions, in order.
    pub fn expressions(&self) -> impl Iterator<Item = &Expr> {
        self.segments.iter().filter_map(|segment| match segment {
            Segment::Expr(expr) => Some(expr),
            Segment::Text(_) => None,
        })
    }

    /// The expression when the template is exactly one `${{ }}` with nothing around it.
    pub fn as_single_expression(&self) -> Option<&Expr> {
        match self.segments.as_slice() {
            [Segment::Expr(expr)] => Some(expr),
            _ => None,
        }
    }

    /// Evaluates the template: a lone expression gives its value, anything else a string.
    pub fn evaluate(&self, contexts: &Contexts, host: &dyn ExprHost) -> Result<Value, EvalError> {
        if let Some(expr) = self.as_single_expression() {
            return evaluate(expr, contexts, host);
        }
        let mut out = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Text(text) => out.push_str(text),
                Segment::Expr(expr) => out.push_str(&evaluate(expr, contexts, host)?.to_string()),
            }
        }
        Ok(Value::String(out))
    }

    /// Evaluates the template to a string (a lone expression's value converted to a string),
    /// as `run:`, `with:` and `env:` values are.
    pub fn evaluate_to_string(
        &self,
        contexts: &Contexts,
        host: &dyn ExprHost,
    ) -> Result<String, EvalError> {
        self.evaluate(contexts, host).map(|value| value.to_string())
    }
}

/// The length of an embedded expression's text: up to the first `}}` outside a single-quoted
/// string. `''` inside a string toggles twice, which leaves it inside, as it should.
fn find_close(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => in_string = !in_string,
            b'}' if !in_string && bytes.get(i + 1) == Some(&b'}') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// An `if:` condition, ready to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    kind: ConditionKind,
}

#[derive(Debug, Clone, PartialEq)]
enum ConditionKind {
    /// An expression, already wrapped in `success() && (...)` when it names no status function.
    Expr(Expr),
    /// Text mixing `${{ }}` with other text: GitHub evaluates it as a string, so it is true
    /// whenever that string is not empty (a common mistake, which the linter reports).
    Template(Template),
}

impl Condition {
    /// Parses an `if:` value. Spans count from the start of `text`.
    pub fn parse(text: &str) -> Result<Condition, TemplateError> {
        let kind = if Template::contains_expression(text) {
            let template = Template::parse(text)?;
            match lone_expression(&template) {
                Some(expr) => ConditionKind::Expr(with_implicit_success(expr.clone())),
                None => ConditionKind::Template(template),
            }
        } else if text.trim().is_empty() {
            ConditionKind::Expr(success_call(Span::new(0, 0)))
        } else {
            ConditionKind::Expr(with_implicit_success(parse_at(text, 0)?))
        };
        Ok(Condition { kind })
    }

    /// The expression evaluated, implicit `success() &&` included; `None` for a string
    /// template condition.
    pub fn expression(&self) -> Option<&Expr> {
        match &self.kind {
            ConditionKind::Expr(expr) => Some(expr),
            ConditionKind::Template(_) => None,
        }
    }

    /// Whether the condition is a template mixing `${{ }}` with text, which is always true when
    /// non-empty.
    pub fn is_string_template(&self) -> bool {
        matches!(self.kind, ConditionKind::Template(_))
    }

    /// Whether the step or job should run.
    pub fn evaluate(&self, contexts: &Contexts, host: &dyn ExprHost) -> Result<bool, EvalError> {
        match &self.kind {
            ConditionKind::Expr(expr) => evaluate(expr, contexts, host).map(|v| v.is_truthy()),
            ConditionKind::Template(template) => {
                template.evaluate(contexts, host).map(|v| v.is_truthy())
            }
        }
    }
}

/// The one expression of a template whose other text is only whitespace (`if:` values are
/// compared after trimming).
fn lone_expression(template: &Template) -> Option<&Expr> {
    let only_whitespace = template.segments().iter().all(|segment| match segment {
        Segment::Text(text) => text.trim().is_empty(),
        Segment::Expr(_) => true,
    });
    let mut expressions = template.expressions();
    match (expressions.next(), expressions.next()) {
        (Some(expr), None) if only_whitespace => Some(expr),
        _ => None,
    }
}

fn with_implicit_success(expr: Expr) -> Expr {
    if expr.calls_status_function() {
        return expr;
    }
    let span = expr.span();
    let success = success_call(Span::new(span.start, span.start));
    Expr::new(
        ExprKind::Binary {
            op: BinaryOp::And,
            left: Box::new(success),
            right: Box::new(expr),
        },
        span,
    )
}

fn success_call(span: Span) -> Expr {
    Expr::new(ExprKind::Call(Call::success()), span)
}
