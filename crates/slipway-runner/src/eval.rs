//! Evaluating the model's templates against live contexts, with errors that say where.
//!
//! [`Scope`] pairs the contexts available at one point of a run with the host answering the
//! status functions and `hashFiles()`. Every failure is a message starting `file:line:col:` at
//! the expression that failed.

use indexmap::IndexMap;
use slipway_expr::{Contexts, ExprHost, Value};
use slipway_workflow::{Env, IfCondition, TemplateString, Templated};

/// Contexts, a host, and the file the templates come from.
pub(crate) struct Scope<'a> {
    pub(crate) contexts: &'a Contexts,
    pub(crate) host: &'a (dyn ExprHost + Sync),
    pub(crate) file: &'a str,
}

impl Scope<'_> {
    /// A template's value (a lone `${{ }}` keeps its type).
    pub(crate) fn value(&self, template: &TemplateString) -> Result<Value, String> {
        template
            .template()
            .evaluate(self.contexts, self.host)
            .map_err(|error| self.located(template, error.span().start, &error.to_string()))
    }

    /// A template as a string.
    pub(crate) fn string(&self, template: &TemplateString) -> Result<String, String> {
        self.value(template).map(|value| value.to_string())
    }

    /// Whether an `if:` holds.
    pub(crate) fn condition(&self, condition: &IfCondition) -> Result<bool, String> {
        condition
            .condition
            .evaluate(self.contexts, self.host)
            .map_err(|error| {
                self.located(&condition.source, error.span().start, &error.to_string())
            })
    }

    /// A boolean setting written as a literal or an expression.
    pub(crate) fn boolean(&self, value: &Templated<bool>) -> Result<bool, String> {
        match value {
            Templated::Literal(literal) => Ok(literal.value),
            Templated::Expr(template) => Ok(self.value(template)?.is_truthy()),
        }
    }

    /// A number setting written as a literal or an expression.
    pub(crate) fn number(&self, value: &Templated<f64>) -> Result<f64, String> {
        match value {
            Templated::Literal(literal) => Ok(literal.value),
            Templated::Expr(template) => {
                let number = self.value(template)?.to_number();
                if number.is_nan() {
                    Err(self.located(template, 0, "the expression does not evaluate to a number"))
                } else {
                    Ok(number)
                }
            }
        }
    }

    /// An `env:` block, each value as a string.
    pub(crate) fn env(&self, env: &Env) -> Result<IndexMap<String, String>, String> {
        match env {
            Env::Map(map) => map
                .iter()
                .map(|(name, entry)| Ok((name.clone(), self.string(&entry.value)?)))
                .collect(),
            Env::Expr(template) => match self.value(template)? {
                Value::Object(map) => Ok(map
                    .iter()
                    .map(|(name, value)| (name.clone(), value.to_string()))
                    .collect()),
                other => Err(self.located(
                    template,
                    0,
                    &format!(
                        "'env' must evaluate to an object, not {}",
                        other.type_name()
                    ),
                )),
            },
        }
    }

    fn located(&self, template: &TemplateString, offset: usize, message: &str) -> String {
        format!("{}:{}: {message}", self.file, template.position_of(offset))
    }
}

/// A context value from string pairs.
pub(crate) fn string_map<'a>(pairs: impl IntoIterator<Item = (&'a String, &'a String)>) -> Value {
    Value::object(
        pairs
            .into_iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect(),
    )
}

/// An expression value as JSON (integral numbers without a fraction, as GitHub prints them).
pub(crate) fn to_json(value: &Value) -> serde_json::Value {
    match value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => {
            // Integral and well inside i64: the cast is exact.
            #[allow(clippy::cast_possible_truncation)]
            serde_json::Value::from(*n as i64)
        }
        Value::Number(n) => serde_json::Number::from_f64(*n)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Array(items) => serde_json::Value::Array(items.iter().map(to_json).collect()),
        Value::Object(map) => {
            serde_json::Value::Object(map.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
    }
}
