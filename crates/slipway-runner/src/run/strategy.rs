//! Matrices evaluated at run time: expressions in dimensions, `include` and `exclude` (which may
//! read `needs`), then expanded with the workflow crate's rules; the strategy's settings.

use indexmap::IndexMap;
use slipway_expr::Value;
use slipway_workflow::matrix::{self, Combination};
use slipway_workflow::{Dimension, Job, Matrix, Rows};

use crate::eval::Scope;

/// The combinations of a job's matrix, `None` without one. Expressions are evaluated here,
/// where `needs` is known.
pub(super) fn expand_matrix(
    job: &Job,
    eval: &Scope<'_>,
) -> Result<Option<Vec<Combination>>, String> {
    let Some(matrix) = job.strategy.as_ref().and_then(|s| s.matrix.as_ref()) else {
        return Ok(None);
    };
    let (dimensions, include, exclude) = match matrix {
        Matrix::Expr(template) => {
            let value = eval.value(template)?;
            let Value::Object(map) = value else {
                return Err(format!(
                    "{}:{}: the matrix must evaluate to an object, not {}",
                    eval.file,
                    template.pos(),
                    value.type_name()
                ));
            };
            let mut dimensions = IndexMap::new();
            let mut include = Vec::new();
            let mut exclude = Vec::new();
            for (key, value) in map.iter() {
                match key.as_str() {
                    "include" => include = rows_of(value, eval.file, template.pos())?,
                    "exclude" => exclude = rows_of(value, eval.file, template.pos())?,
                    _ => match value {
                        Value::Array(items) => {
                            dimensions.insert(key.clone(), items.to_vec());
                        }
                        other => {
                            return Err(format!(
                                "{}:{}: matrix dimension '{key}' must be an array, not {}",
                                eval.file,
                                template.pos(),
                                other.type_name()
                            ));
                        }
                    },
                }
            }
            (dimensions, include, exclude)
        }
        Matrix::Literal(def) => {
            let mut dimensions = IndexMap::new();
            for (key, entry) in &def.dimensions {
                let values = match &entry.value {
                    Dimension::Values(values) => values
                        .iter()
                        .map(|v| evaluate_strings(v, eval))
                        .collect::<Result<Vec<_>, _>>()?,
                    Dimension::Expr(template) => match eval.value(template)? {
                        Value::Array(items) => items.to_vec(),
                        other => {
                            return Err(format!(
                                "{}:{}: matrix dimension '{key}' must evaluate to an array, not {}",
                                eval.file,
                                template.pos(),
                                other.type_name()
                            ));
                        }
                    },
                };
                dimensions.insert(key.clone(), values);
            }
            let rows = |rows: &Rows| -> Result<Vec<Combination>, String> {
                match rows {
                    Rows::Literal(rows) => rows
                        .iter()
                        .map(|row| {
                            row.value
                                .iter()
                                .map(|(k, e)| Ok((k.clone(), evaluate_strings(&e.value, eval)?)))
                                .collect()
                        })
                        .collect(),
                    Rows::Expr(template) => {
                        rows_of(&eval.value(template)?, eval.file, template.pos())
                    }
                }
            };
            (dimensions, rows(&def.include)?, rows(&def.exclude)?)
        }
    };
    let combinations = matrix::expand_values(&dimensions, &include, &exclude)
        .map_err(|e| format!("{}: job '{}': {e}", eval.file, job.id.value))?;
    if combinations.is_empty() {
        return Err(format!(
            "{}: job '{}': the matrix has no combinations",
            eval.file, job.id.value
        ));
    }
    Ok(Some(combinations))
}

/// Strings in a written-out matrix may still hold `${{ }}`, at any depth: a value written as
/// an object or a list is evaluated inside, as GitHub evaluates every string of the matrix.
pub(super) fn evaluate_strings(value: &Value, eval: &Scope<'_>) -> Result<Value, String> {
    match value {
        Value::Array(items) => Ok(Value::array(
            items
                .iter()
                .map(|item| evaluate_strings(item, eval))
                .collect::<Result<_, _>>()?,
        )),
        Value::Object(map) => Ok(Value::object(
            map.iter()
                .map(|(key, item)| Ok((key.clone(), evaluate_strings(item, eval)?)))
                .collect::<Result<_, String>>()?,
        )),
        Value::String(text) if slipway_expr::Template::contains_expression(text) => {
            let template = slipway_expr::Template::parse(text).map_err(|e| {
                format!(
                    "{}: invalid expression in matrix value '{text}': {e}",
                    eval.file
                )
            })?;
            template
                .evaluate(eval.contexts, eval.host)
                .map_err(|e| format!("{}: {e}", eval.file))
        }
        other => Ok(other.clone()),
    }
}

pub(super) fn rows_of(
    value: &Value,
    file: &str,
    pos: slipway_workflow::Pos,
) -> Result<Vec<Combination>, String> {
    let Value::Array(items) = value else {
        return Err(format!(
            "{file}:{pos}: matrix include/exclude must be an array of objects"
        ));
    };
    items
        .iter()
        .map(|item| match item {
            Value::Object(map) => Ok(map.as_ref().clone()),
            other => Err(format!(
                "{file}:{pos}: matrix include/exclude entries must be objects, not {}",
                other.type_name()
            )),
        })
        .collect()
}

pub(super) fn strategy_bool(
    job: &Job,
    eval: &Scope<'_>,
    field: impl Fn(&slipway_workflow::Strategy) -> Option<&slipway_workflow::Templated<bool>>,
) -> Option<bool> {
    let setting = field(job.strategy.as_ref()?)?;
    eval.boolean(setting).ok()
}

pub(super) fn strategy_number(job: &Job, eval: &Scope<'_>) -> Option<usize> {
    let setting = job.strategy.as_ref()?.max_parallel.as_ref()?;
    let number = eval.number(setting).ok()?;
    // A positive number of jobs; the linter rejects zero and negatives.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Some((number.max(1.0)) as usize)
}
