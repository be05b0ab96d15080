//! Evaluates an [`Expr`] against contexts and a host.
//!
//! [`Contexts`] holds the named values an expression can read (`github`, `env`, `matrix`, ...).
//! [`ExprHost`] answers what only the caller knows: the job's status, for `success()` and
//! friends, and file hashes, for `hashFiles()`. `&&` and `||` short-circuit and yield one of
//! their operands; an object filter (`.*`) yields a filtered array that later property and index
//! steps apply to element by element, so `labels.*.name` is the list of names.

use std::sync::Arc;

use indexmap::IndexMap;
use thiserror::Error;

use crate::ast::{BinaryOp, Expr, ExprKind, Literal, Span};
use crate::functions;
use crate::hash_files::HashFilesError;
use crate::value::Value;

/// The named values an expression reads. Names match ignoring case, as in GitHub.
#[derive(Debug, Clone, Default)]
pub struct Contexts {
    values: IndexMap<String, Value>,
}

impl Contexts {
    /// No contexts: every context reads as null.
    pub fn new() -> Contexts {
        Contexts::default()
    }

    /// Sets context `name` (e.g. `github`) to `value`.
    pub fn insert(&mut self, name: impl Into<String>, value: Value) {
        let name = name.into().to_ascii_lowercase();
        self.values.insert(name, value);
    }

    /// The value of context `name`, if set.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(&name.to_ascii_lowercase())
    }

    /// The names set, in insertion order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// Contexts from JSON text holding an object whose keys are context names, as in
    /// `slipway expr --context ctx.json`.
    pub fn from_json_str(text: &str) -> Result<Contexts, ContextsError> {
        let value =
            Value::from_json_str(text).map_err(|e| ContextsError::InvalidJson(e.to_string()))?;
        let Value::Object(map) = value else {
            return Err(ContextsError::NotAnObject {
                found: value.type_name(),
            });
        };
        let mut contexts = Contexts::new();
        for (name, value) in map.iter() {
            contexts.insert(name.clone(), value.clone());
        }
        Ok(contexts)
    }
}

/// Why a JSON document cannot be used as contexts.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ContextsError {
    /// The text is not JSON.
    #[error("contexts are not valid JSON: {0}")]
    InvalidJson(String),
    /// The document must map context names to values.
    #[error("contexts must be a JSON object mapping context names to values, found {found}")]
    NotAnObject {
        /// The JSON type found instead.
        found: &'static str,
    },
}

/// The status the status functions report on: for a step, the job so far; for a job, the jobs it
/// needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobStatus {
    /// Nothing has failed and the run was not cancelled.
    Success,
    /// A previous step (or a needed job) failed.
    Failure,
    /// The run was cancelled.
    Cancelled,
    /// For a job: a job it needs was skipped, so neither `success()` nor `failure()` holds and
    /// the job is skipped too unless its `if:` says `always()`.
    Skipped,
}

/// What an expression needs from the outside world beyond its contexts.
pub trait ExprHost {
    /// The status `success()`, `failure()` and `cancelled()` report.
    fn job_status(&self) -> JobStatus;

    /// `hashFiles(patterns...)`: the hex SHA-256 of the matching files' SHA-256s, or `''` when
    /// nothing matches. [`crate::hash_files`] implements it over a workspace directory.
    fn hash_files(&self, patterns: &[String]) -> Result<String, HashFilesError>;
}

/// An error raised while evaluating, with the span of the call that raised it.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{kind}")]
pub struct EvalError {
    kind: EvalErrorKind,
    span: Span,
}

impl EvalError {
    pub(crate) fn new(kind: EvalErrorKind, span: Span) -> EvalError {
        EvalError { kind, span }
    }

    /// What went wrong.
    pub fn kind(&self) -> &EvalErrorKind {
        &self.kind
    }

    /// The span of the expression that failed, in bytes of the parsed text.
    pub fn span(&self) -> Span {
        self.span
    }
}

/// The kinds of evaluation error: only functions can fail.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum EvalErrorKind {
    /// `format()` with a malformed format string.
    #[error("format(): invalid format string '{format}': {reason}")]
    InvalidFormat {
        /// The format string.
        format: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `fromJSON()` with text that is not JSON.
    #[error("fromJSON(): {input:?} is not valid JSON: {reason}")]
    InvalidJson {
        /// The text given, shortened.
        input: String,
        /// The JSON parser's message.
        reason: String,
    },
    /// `case()` with a predicate that is not a boolean.
    #[error(
        "case(): a predicate must be a boolean, not {found}; compare it explicitly (for example `x == 'yes'`)"
    )]
    CasePredicateNotBoolean {
        /// The type the predicate evaluated to.
        found: &'static str,
    },
    /// `hashFiles()` could not hash the workspace.
    #[error("hashFiles(): {0}")]
    HashFiles(String),
}

/// Evaluates `expr`.
pub fn evaluate(expr: &Expr, contexts: &Contexts, host: &dyn ExprHost) -> Result<Value, EvalError> {
    Evaluator { contexts, host }
        .eval(expr)
        .map(Evaluated::into_value)
}

/// A result that may still be a filtered array, which property and index steps map over.
pub(crate) enum Evaluated {
    Value(Value),
    Filtered(Vec<Value>),
}

impl Evaluated {
    pub(crate) fn into_value(self) -> Value {
        match self {
            Evaluated::Value(value) => value,
            Evaluated::Filtered(items) => Value::Array(Arc::new(items)),
        }
    }
}

pub(crate) struct Evaluator<'a> {
    contexts: &'a Contexts,
    pub(crate) host: &'a dyn ExprHost,
}

impl Evaluator<'_> {
    pub(crate) fn eval(&self, expr: &Expr) -> Result<Evaluated, EvalError> {
        Ok(match expr.kind() {
            ExprKind::Literal(literal) => Evaluated::Value(literal_value(literal)),
            ExprKind::Context(name) => {
                Evaluated::Value(self.contexts.get(name).cloned().unwrap_or(Value::Null))
            }
            ExprKind::Property { target, name } => {
                let key = Value::String(name.clone());
                self.eval(target)?.index(&key)
            }
            ExprKind::Index { target, index } => {
                let target = self.eval(target)?;
                let index = self.value(index)?;
                target.index(&index)
            }
            ExprKind::Filter(target) => self.eval(target)?.filter(),
            ExprKind::Not(operand) => {
                Evaluated::Value(Value::Bool(!self.value(operand)?.is_truthy()))
            }
            ExprKind::Binary { op, left, right } => {
                Evaluated::Value(self.binary(*op, left, right)?)
            }
            ExprKind::Call(call) => Evaluated::Value(functions::call(self, call, expr.span())?),
        })
    }

    pub(crate) fn value(&self, expr: &Expr) -> Result<Value, EvalError> {
        self.eval(expr).map(Evaluated::into_value)
    }

    fn binary(&self, op: BinaryOp, left: &Expr, right: &Expr) -> Result<Value, EvalError> {
        let left = self.value(left)?;
        match op {
            BinaryOp::And if left.is_truthy() => return self.value(right),
            BinaryOp::Or if !left.is_truthy() => return self.value(right),
            BinaryOp::And | BinaryOp::Or => return Ok(left),
            _ => {}
        }
        let right = self.value(right)?;
        Ok(Value::Bool(match op {
            BinaryOp::Eq => left.loose_eq(&right),
            BinaryOp::Ne => !left.loose_eq(&right),
            // Unordered values (NaN, arrays, objects) make every ordering comparison false.
            ordering => left.compare(&right).is_some_and(|o| match ordering {
                BinaryOp::Lt => o.is_lt(),
                BinaryOp::Le => o.is_le(),
                BinaryOp::Gt => o.is_gt(),
                _ => o.is_ge(),
            }),
        }))
    }
}

fn literal_value(literal: &Literal) -> Value {
    match literal {
        Literal::Null => Value::Null,
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Number(n) => Value::Number(*n),
        Literal::String(s) => Value::String(s.clone()),
    }
}

impl Evaluated {
    /// `.name` and `[index]`: on a filtered array, applied to each element, keeping the ones
    /// that have it.
    fn index(self, key: &Value) -> Evaluated {
        match self {
            Evaluated::Value(value) => {
                Evaluated::Value(value.index(key).cloned().unwrap_or(Value::Null))
            }
            Evaluated::Filtered(items) => Evaluated::Filtered(
                items
                    .iter()
                    .filter_map(|item| item.index(key).cloned())
                    .collect(),
            ),
        }
    }

    /// `.*`: the elements of an array or the values of an object; on a filtered array, those of
    /// each element, flattened one level.
    fn filter(self) -> Evaluated {
        fn children(value: &Value, out: &mut Vec<Value>) {
            match value {
                Value::Array(items) => out.extend(items.iter().cloned()),
                Value::Object(map) => out.extend(map.values().cloned()),
                _ => {}
            }
        }
        let mut out = Vec::new();
        match &self {
            Evaluated::Value(value) => children(value, &mut out),
            Evaluated::Filtered(items) => items.iter().for_each(|item| children(item, &mut out)),
        }
        Evaluated::Filtered(out)
    }
}
