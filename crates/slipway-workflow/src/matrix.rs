//! Matrix expansion, as "Running variations of jobs in a workflow" documents it.
//!
//! 1. The cartesian product of the dimensions, the first dimension varying slowest.
//! 2. `exclude` removes every combination that an entry matches, even partially (the entry's
//!    keys all equal the combination's).
//! 3. `include`, after `exclude`: each entry is added to every original combination whose
//!    original values it does not change (values added by earlier entries may be overwritten);
//!    an entry that fits no original combination becomes a combination of its own.
//!
//! Expressions in the matrix (a dimension, `include` or `exclude` written as `${{ }}`) must be
//! evaluated by the runner first; [`expand_values`] then takes the evaluated parts.

use indexmap::IndexMap;
use slipway_expr::Value;
use thiserror::Error;

use crate::model::{Dimension, MatrixDef, Rows};

/// One combination: matrix key to value.
pub type Combination = IndexMap<String, Value>;

/// GitHub's limit on the jobs one matrix generates.
pub const MAX_COMBINATIONS: usize = 256;

/// Why a matrix cannot be expanded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MatrixError {
    /// A part is an expression that must be evaluated first.
    #[error("matrix {part} is an expression; evaluate it and call expand_values")]
    Unevaluated {
        /// Which part (`dimension 'os'`, `include`, `exclude`).
        part: String,
    },
    /// More than [`MAX_COMBINATIONS`] combinations.
    #[error("the matrix generates {count} jobs; GitHub allows at most {MAX_COMBINATIONS}")]
    TooLarge {
        /// How many it would generate (at least).
        count: usize,
    },
}

/// Expands a matrix written without expressions.
pub fn expand(matrix: &MatrixDef) -> Result<Vec<Combination>, MatrixError> {
    let mut dimensions = IndexMap::new();
    for (name, entry) in &matrix.dimensions {
        match &entry.value {
            Dimension::Values(values) => {
                dimensions.insert(name.clone(), values.clone());
            }
            Dimension::Expr(_) => {
                return Err(MatrixError::Unevaluated {
                    part: format!("dimension '{name}'"),
                });
            }
        }
    }
    let include = literal_rows(&matrix.include, "include")?;
    let exclude = literal_rows(&matrix.exclude, "exclude")?;
    expand_values(&dimensions, &include, &exclude)
}

fn literal_rows(rows: &Rows, part: &str) -> Result<Vec<Combination>, MatrixError> {
    match rows {
        Rows::Literal(rows) => Ok(rows
            .iter()
            .map(|row| {
                row.value
                    .iter()
                    .map(|(key, entry)| (key.clone(), entry.value.clone()))
                    .collect()
            })
            .collect()),
        Rows::Expr(_) => Err(MatrixError::Unevaluated {
            part: part.to_owned(),
        }),
    }
}

/// Expands evaluated dimensions with `include` and `exclude` rows.
pub fn expand_values(
    dimensions: &IndexMap<String, Vec<Value>>,
    include: &[Combination],
    exclude: &[Combination],
) -> Result<Vec<Combination>, MatrixError> {
    let product_size = dimensions
        .values()
        .try_fold(1usize, |size, values| size.checked_mul(values.len()))
        .unwrap_or(usize::MAX);
    if !dimensions.is_empty() && product_size > MAX_COMBINATIONS * 16 {
        // Excludes could bring it down, but not from this far: refuse before allocating.
        return Err(MatrixError::TooLarge {
            count: product_size,
        });
    }
    let mut originals = if dimensions.is_empty() {
        Vec::new()
    } else {
        product(dimensions)
    };
    originals.retain(|combination| !exclude.iter().any(|row| row_matches(row, combination)));

    let original_count = originals.len();
    let mut combinations = originals;
    for row in include {
        let mut fitted = false;
        for combination in combinations.iter_mut().take(original_count) {
            let keeps_originals = row.iter().all(|(key, value)| {
                !dimensions.contains_key(key) || combination.get(key) == Some(value)
            });
            if keeps_originals {
                for (key, value) in row {
                    combination.insert(key.clone(), value.clone());
                }
                fitted = true;
            }
        }
        if !fitted {
            combinations.push(row.clone());
        }
    }
    if combinations.len() > MAX_COMBINATIONS {
        return Err(MatrixError::TooLarge {
            count: combinations.len(),
        });
    }
    Ok(combinations)
}

/// The cartesian product, first dimension varying slowest.
fn product(dimensions: &IndexMap<String, Vec<Value>>) -> Vec<Combination> {
    let mut combinations = vec![Combination::new()];
    for (key, values) in dimensions {
        combinations = combinations
            .into_iter()
            .flat_map(|combination| {
                values.iter().map(move |value| {
                    let mut next = combination.clone();
                    next.insert(key.clone(), value.clone());
                    next
                })
            })
            .collect();
    }
    combinations
}

/// Whether every key of `row` has the same value in `combination`.
fn row_matches(row: &Combination, combination: &Combination) -> bool {
    row.iter()
        .all(|(key, value)| combination.get(key) == Some(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Value {
        Value::from(text)
    }

    fn combo(pairs: &[(&str, Value)]) -> Combination {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    fn dims(pairs: &[(&str, &[&str])]) -> IndexMap<String, Vec<Value>> {
        pairs
            .iter()
            .map(|(k, values)| ((*k).to_owned(), values.iter().map(|v| s(v)).collect()))
            .collect()
    }

    #[test]
    fn product_varies_the_first_dimension_slowest() {
        let got =
            expand_values(&dims(&[("os", &["a", "b"]), ("v", &["1", "2"])]), &[], &[]).unwrap();
        let expected = vec![
            combo(&[("os", s("a")), ("v", s("1"))]),
            combo(&[("os", s("a")), ("v", s("2"))]),
            combo(&[("os", s("b")), ("v", s("1"))]),
            combo(&[("os", s("b")), ("v", s("2"))]),
        ];
        assert_eq!(got, expected);
    }

    #[test]
    fn exclude_matches_partially() {
        let dimensions = dims(&[
            ("os", &["macos", "windows"]),
            ("version", &["12", "14", "16"]),
            ("env", &["staging", "production"]),
        ]);
        let exclude = vec![
            combo(&[
                ("os", s("macos")),
                ("version", s("12")),
                ("env", s("production")),
            ]),
            combo(&[("os", s("windows")), ("version", s("16"))]),
        ];
        let got = expand_values(&dimensions, &[], &exclude).unwrap();
        assert_eq!(got.len(), 12 - 1 - 2);
        assert!(
            !got.iter()
                .any(|c| c["os"] == s("windows") && c["version"] == s("16"))
        );
    }

    /// The example from GitHub's documentation of `include`.
    #[test]
    fn include_extends_without_overwriting_originals_else_adds() {
        let dimensions = dims(&[("fruit", &["apple", "pear"]), ("animal", &["cat", "dog"])]);
        let include = vec![
            combo(&[("color", s("green"))]),
            combo(&[("color", s("pink")), ("animal", s("cat"))]),
            combo(&[("fruit", s("apple")), ("shape", s("circle"))]),
            combo(&[("fruit", s("banana"))]),
            combo(&[("fruit", s("banana")), ("animal", s("cat"))]),
        ];
        let got = expand_values(&dimensions, &include, &[]).unwrap();
        let expected = vec![
            combo(&[
                ("fruit", s("apple")),
                ("animal", s("cat")),
                ("color", s("pink")),
                ("shape", s("circle")),
            ]),
            combo(&[
                ("fruit", s("apple")),
                ("animal", s("dog")),
                ("color", s("green")),
                ("shape", s("circle")),
            ]),
            combo(&[
                ("fruit", s("pear")),
                ("animal", s("cat")),
                ("color", s("pink")),
            ]),
            combo(&[
                ("fruit", s("pear")),
                ("animal", s("dog")),
                ("color", s("green")),
            ]),
            combo(&[("fruit", s("banana"))]),
            combo(&[("fruit", s("banana")), ("animal", s("cat"))]),
        ];
        assert_eq!(got, expected);
    }

    #[test]
    fn include_only_matrix_makes_one_job_per_entry() {
        let include = vec![combo(&[("site", s("prod"))]), combo(&[("site", s("dev"))])];
        let got = expand_values(&IndexMap::new(), &include, &[]).unwrap();
        assert_eq!(got, include);
    }

    #[test]
    fn too_many_combinations_are_refused() {
        let values: Vec<&str> = vec!["x"; 17];
        let dimensions = dims(&[("a", &values), ("b", &values)]);
        assert_eq!(
            expand_values(&dimensions, &[], &[]),
            Err(MatrixError::TooLarge { count: 289 })
        );
    }
}
