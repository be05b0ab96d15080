//! Resolving `workflow_dispatch` and `workflow_call` inputs from `--input key=value` strings.
//!
//! Each given value is checked against its declared type (`boolean` takes `true`/`false`,
//! `number` a number, `choice` one of its options); inputs not given take their default, and a
//! required input without a value or default is an error, as is a value for an undeclared input.
//! The result is the `inputs` context.

use indexmap::IndexMap;
use slipway_expr::{Value, parse_number};
use thiserror::Error;

use crate::model::{InputDef, InputType, Mapping};

/// A problem with the inputs given.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InputError {
    /// An argument is not `key=value`.
    #[error("input '{0}' must be written key=value")]
    Malformed(String),
    /// An input was given twice.
    #[error("input '{0}' is given more than once")]
    Duplicate(String),
    /// No such input is declared.
    #[error("the workflow declares no input '{name}'; declared inputs: {declared}")]
    Unknown {
        /// The name given.
        name: String,
        /// The declared names, comma-separated.
        declared: String,
    },
    /// A required input has no value and no default.
    #[error("input '{0}' is required")]
    Missing(String),
    /// A value does not fit the input's type.
    #[error("input '{name}' is a {kind}, but '{value}' {reason}")]
    WrongType {
        /// The input.
        name: String,
        /// Its declared type.
        kind: &'static str,
        /// The value given.
        value: String,
        /// Why it does not fit.
        reason: String,
    },
}

/// Splits `key=value` arguments (the value may contain `=`).
pub fn parse_assignments<S: AsRef<str>>(
    args: &[S],
) -> Result<IndexMap<String, String>, InputError> {
    let mut out = IndexMap::new();
    for arg in args {
        let arg = arg.as_ref();
        let Some((key, value)) = arg.split_once('=') else {
            return Err(InputError::Malformed(arg.to_owned()));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(InputError::Malformed(arg.to_owned()));
        }
        if out.insert(key.to_owned(), value.to_owned()).is_some() {
            return Err(InputError::Duplicate(key.to_owned()));
        }
    }
    Ok(out)
}

/// The `inputs` context for `declared` inputs given `given` values; every problem is reported.
pub fn resolve(
    declared: &Mapping<InputDef>,
    given: &IndexMap<String, String>,
) -> Result<IndexMap<String, Value>, Vec<InputError>> {
    let mut errors = Vec::new();
    for name in given.keys() {
        if !declared.contains_key(name) {
            errors.push(InputError::Unknown {
                name: name.clone(),
                declared: declared.keys().cloned().collect::<Vec<_>>().join(", "),
            });
        }
    }
    let mut inputs = IndexMap::new();
    for (name, entry) in declared {
        let input = &entry.value;
        let value = match given.get(name) {
            Some(text) => convert(name, input, text),
            None => match &input.default {
                Some(default) => convert(name, input, &default.value.to_string()),
                None if input.required => Err(InputError::Missing(name.clone())),
                None => Ok(empty_value(input.kind)),
            },
        };
        match value {
            Ok(value) => {
                inputs.insert(name.clone(), value);
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(inputs)
    } else {
        Err(errors)
    }
}

/// What an input given no value and no default holds.
fn empty_value(kind: InputType) -> Value {
    match kind {
        InputType::Boolean => Value::Bool(false),
        InputType::Number => Value::Null,
        InputType::String | InputType::Choice | InputType::Environment => Value::from(""),
    }
}

fn convert(name: &str, input: &InputDef, text: &str) -> Result<Value, InputError> {
    let wrong = |reason: String| InputError::WrongType {
        name: name.to_owned(),
        kind: input.kind.name(),
        value: text.to_owned(),
        reason,
    };
    match input.kind {
        InputType::Boolean => match text.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(wrong("is neither true nor false".to_owned())),
        },
        InputType::Number => {
            let n = parse_number(text);
            if text.trim().is_empty() || !n.is_finite() {
                Err(wrong("is not a number".to_owned()))
            } else {
                Ok(Value::Number(n))
            }
        }
        InputType::Choice => {
            if input.options.iter().any(|option| option.value == text) {
                Ok(Value::from(text))
            } else {
                let options: Vec<&str> = input.options.iter().map(|o| o.value.as_str()).collect();
                Err(wrong(format!("is not one of: {}", options.join(", "))))
            }
        }
        InputType::String | InputType::Environment => Ok(Value::from(text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Pos;
    use crate::model::{Entry, Spanned};

    fn input(
        kind: InputType,
        required: bool,
        default: Option<Value>,
        options: &[&str],
    ) -> Entry<InputDef> {
        Entry {
            key_pos: Pos::new(1, 1),
            value: InputDef {
                description: None,
                required,
                default: default.map(|value| Spanned {
                    value,
                    pos: Pos::new(1, 1),
                }),
                kind,
                options: options
                    .iter()
                    .map(|o| Spanned {
                        value: (*o).to_owned(),
                        pos: Pos::new(1, 1),
                    })
                    .collect(),
            },
        }
    }

    fn declared() -> Mapping<InputDef> {
        let mut inputs = Mapping::new();
        inputs.insert(
            "level".into(),
            input(
                InputType::Choice,
                true,
                Some(Value::from("info")),
                &["info", "debug"],
            ),
        );
        inputs.insert("dry".into(), input(InputType::Boolean, false, None, &[]));
        inputs.insert(
            "count".into(),
            input(InputType::Number, false, Some(Value::Number(3.0)), &[]),
        );
        inputs.insert("target".into(), input(InputType::String, true, None, &[]));
        inputs
    }

    #[test]
    fn values_are_typed_and_defaults_fill_the_rest() {
        let given = parse_assignments(&["target=prod=eu", "dry=TRUE"]).unwrap();
        let inputs = resolve(&declared(), &given).unwrap();
        assert_eq!(inputs["level"], Value::from("info"));
        assert_eq!(inputs["dry"], Value::Bool(true));
        assert_eq!(inputs["count"], Value::Number(3.0));
        assert_eq!(inputs["target"], Value::from("prod=eu"));
    }

    #[test]
    fn every_problem_is_reported() {
        let given = parse_assignments(&["level=trace", "count=many", "nope=1"]).unwrap();
        let errors = resolve(&declared(), &given).unwrap_err();
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            vec![
                "the workflow declares no input 'nope'; declared inputs: level, dry, count, target",
                "input 'level' is a choice, but 'trace' is not one of: info, debug",
                "input 'count' is a number, but 'many' is not a number",
                "input 'target' is required",
            ]
        );
    }

    #[test]
    fn assignments_must_be_key_value_once() {
        assert_eq!(
            parse_assignments(&["novalue"]),
            Err(InputError::Malformed("novalue".into()))
        );
        assert_eq!(
            parse_assignments(&["=x"]),
            Err(InputError::Malformed("=x".into()))
        );
        assert_eq!(
            parse_assignments(&["a=1", "a=2"]),
            Err(InputError::Duplicate("a".into()))
        );
    }
}
