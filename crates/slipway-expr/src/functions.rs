//! The built-in functions, as "Evaluate expressions in workflows and actions" documents them.
//!
//! Searching functions (`contains`, `startsWith`, `endsWith`) ignore case and convert their
//! arguments to strings; `contains` on an array tests membership with the loose `==`. The status
//! functions and the lazily evaluated `case` are handled by the evaluator itself.

use crate::ast::{Call, Expr, Function, Span};
use crate::eval::{EvalError, EvalErrorKind, Evaluator, JobStatus};
use crate::value::{Value, fold_case};

/// Calls `call`'s function (its arity was checked when the call was built).
pub(crate) fn call(evaluator: &Evaluator<'_>, call: &Call, span: Span) -> Result<Value, EvalError> {
    let status = || evaluator.host.job_status();
    let function = call.function();
    let args = match function {
        Function::Success => return Ok(Value::Bool(status() == JobStatus::Success)),
        Function::Failure => return Ok(Value::Bool(status() == JobStatus::Failure)),
        Function::Cancelled => return Ok(Value::Bool(status() == JobStatus::Cancelled)),
        Function::Always => return Ok(Value::Bool(true)),
        Function::Case => return case(evaluator, call.args()),
        _ => call
            .args()
            .iter()
            .map(|arg| evaluator.value(arg))
            .collect::<Result<Vec<_>, _>>()?,
    };
    let arg = |i: usize| args.get(i).unwrap_or(&Value::Null);
    match function {
        Function::Contains => Ok(Value::Bool(contains(arg(0), arg(1)))),
        Function::StartsWith => Ok(Value::Bool(
            fold_case(&arg(0).to_string()).starts_with(&fold_case(&arg(1).to_string())),
        )),
        Function::EndsWith => Ok(Value::Bool(
            fold_case(&arg(0).to_string()).ends_with(&fold_case(&arg(1).to_string())),
        )),
        Function::Format => format(&args, span).map(Value::String),
        Function::Join => Ok(Value::String(join(arg(0), args.get(1)))),
        Function::ToJson => Ok(Value::String(arg(0).to_json_pretty())),
        Function::FromJson => from_json(&arg(0).to_string(), span),
        // The status functions and `case` returned above.
        _ => hash_files(evaluator, &args, span),
    }
}

/// `hashFiles(patterns...)`, answered by the host.
fn hash_files(evaluator: &Evaluator<'_>, args: &[Value], span: Span) -> Result<Value, EvalError> {
    let patterns: Vec<String> = args.iter().map(Value::to_string).collect();
    evaluator
        .host
        .hash_files(&patterns)
        .map(Value::String)
        .map_err(|e| EvalError::new(EvalErrorKind::HashFiles(e.to_string()), span))
}

/// `case(pred1, val1, pred2, val2, ..., default)`: the value after the first `true` predicate,
/// else the default. A predicate must be a boolean (GitHub refuses anything else rather than
/// coercing it). Predicates after the first true one, and values not chosen, are never
/// evaluated.
fn case(evaluator: &Evaluator<'_>, args: &[Expr]) -> Result<Value, EvalError> {
    let Some((default, pairs)) = args.split_last() else {
        return Ok(Value::Null);
    };
    for pair in pairs.chunks(2) {
        let [predicate, value] = pair else { continue };
        match evaluator.value(predicate)? {
            Value::Bool(true) => return evaluator.value(value),
            Value::Bool(false) => {}
            other => {
                return Err(EvalError::new(
                    EvalErrorKind::CasePredicateNotBoolean {
                        found: other.type_name(),
                    },
                    predicate.span(),
                ));
            }
        }
    }
    evaluator.value(default)
}

/// `contains(search, item)`: membership (loose `==`) for arrays, a case-insensitive substring
/// test on the string forms otherwise.
fn contains(search: &Value, item: &Value) -> bool {
    match search {
        Value::Array(items) => items.iter().any(|element| element.loose_eq(item)),
        _ => fold_case(&search.to_string()).contains(&fold_case(&item.to_string())),
    }
}

/// `join(array, separator)`: the string forms of the elements with `separator` (default `,`,
/// also used when the separator given is an array or object) between them; a string, number,
/// boolean or null is converted to a string on its own, and an object gives `''`.
fn join(value: &Value, separator: Option<&Value>) -> String {
    let separator = separator
        .filter(|s| !matches!(s, Value::Array(_) | Value::Object(_)))
        .map_or_else(|| ",".to_owned(), Value::to_string);
    match value {
        Value::Array(items) => items
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join(&separator),
        Value::Object(_) => String::new(),
        other => other.to_string(),
    }
}

/// `format(string, values...)`: `{N}` is replaced by the string form of value N, `{{` and `}}`
/// stand for literal braces; any other brace, or a missing value, is an error.
fn format(args: &[Value], span: Span) -> Result<String, EvalError> {
    let template = args.first().map(Value::to_string).unwrap_or_default();
    let values = args.get(1..).unwrap_or_default();
    let invalid = |reason: String| {
        EvalError::new(
            EvalErrorKind::InvalidFormat {
                format: template.clone(),
                reason,
            },
            span,
        )
    };
    let mut out = String::with_capacity(template.len());
    let mut chars = template.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '{' if chars.next_if(|&(_, next)| next == '{').is_some() => out.push('{'),
            '}' if chars.next_if(|&(_, next)| next == '}').is_some() => out.push('}'),
            '{' => {
                let mut digits = String::new();
                while let Some((_, d)) = chars.next_if(|(_, d)| d.is_ascii_digit()) {
                    digits.push(d);
                }
                if digits.is_empty() || chars.next_if(|&(_, close)| close == '}').is_none() {
                    return Err(invalid(format!(
                        "'{{' at index {at} must start '{{N}}' or be doubled as '{{{{'"
                    )));
                }
                let index: usize = digits
                    .parse()
                    .map_err(|_| invalid(format!("argument index {digits} is too large")))?;
                let value = values.get(index).ok_or_else(|| {
                    invalid(format!(
                        "'{{{index}}}' refers to argument {index}, but only {} were given",
                        values.len()
                    ))
                })?;
                out.push_str(&value.to_string());
            }
            '}' => {
                return Err(invalid(format!(
                    "'}}' at index {at} must close '{{N}}' or be doubled as '}}}}'"
                )));
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

/// `fromJSON(text)`: the JSON value `text` holds.
fn from_json(text: &str, span: Span) -> Result<Value, EvalError> {
    Value::from_json_str(text).map_err(|e| {
        let input: String = text.chars().take(60).collect();
        EvalError::new(
            EvalErrorKind::InvalidJson {
                input,
                reason: e.to_string(),
            },
            span,
        )
    })
}
