//! Property tests for filter patterns and matrix expansion.

use indexmap::IndexMap;
use proptest::prelude::*;
use slipway_expr::Value;
use slipway_workflow::filter::{Pattern, PatternList};
use slipway_workflow::matrix::{Combination, expand_values};

fn segment() -> impl Strategy<Value = String> {
    "[a-z0-9._-]{1,6}"
}

fn path() -> impl Strategy<Value = String> {
    prop::collection::vec(segment(), 1..5).prop_map(|segments| segments.join("/"))
}

/// Escapes every character that has a meaning in a filter pattern.
fn escape(literal: &str) -> String {
    literal
        .chars()
        .flat_map(|c| {
            let special = matches!(c, '*' | '?' | '+' | '[' | ']' | '\\' | '!');
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect()
}

proptest! {
    #[test]
    fn an_escaped_literal_matches_exactly_itself(value in "[ -~]{1,12}", other in "[ -~]{1,12}") {
        let pattern = Pattern::parse(&escape(&value)).unwrap();
        prop_assert!(pattern.is_match(&value));
        prop_assert_eq!(pattern.is_match(&other), other == value);
    }

    #[test]
    fn double_star_matches_every_path_and_star_only_one_segment(path in path()) {
        prop_assert!(Pattern::parse("**").unwrap().is_match(&path));
        prop_assert_eq!(Pattern::parse("*").unwrap().is_match(&path), !path.contains('/'));
        let first = path.split('/').next().unwrap().to_owned();
        let under_first = Pattern::parse(&format!("{}/**", escape(&first))).unwrap();
        prop_assert_eq!(under_first.is_match(&path), path.len() > first.len());
    }

    #[test]
    fn the_last_matching_pattern_decides(path in path(), negate_last in any::<bool>()) {
        let last = if negate_last { "!**" } else { "**" };
        let list = PatternList::new(&["**", "!**", last]).unwrap();
        prop_assert_eq!(list.selects(&path), !negate_last);
    }

    #[test]
    fn parsing_any_pattern_never_panics(pattern in "[ -~]{0,20}") {
        if let Ok(p) = Pattern::parse(&pattern) {
            let _ = p.is_match("some/path.txt");
        }
    }
}

fn dimensions() -> impl Strategy<Value = IndexMap<String, Vec<Value>>> {
    prop::collection::vec(("[a-c]", prop::collection::vec(0u8..4, 1..4)), 1..4).prop_map(|dims| {
        dims.into_iter()
            .map(|(key, values)| {
                let mut seen = Vec::new();
                for v in values {
                    let v = Value::Number(f64::from(v));
                    if !seen.contains(&v) {
                        seen.push(v);
                    }
                }
                (key, seen)
            })
            .collect()
    })
}

fn row() -> impl Strategy<Value = Combination> {
    prop::collection::vec(("[a-e]", 0u8..4), 1..3).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(k, v)| (k, Value::Number(f64::from(v))))
            .collect()
    })
}

proptest! {
    #[test]
    fn without_include_or_exclude_the_product_is_complete_and_distinct(dims in dimensions()) {
        let combos = expand_values(&dims, &[], &[]).unwrap();
        let expected: usize = dims.values().map(Vec::len).product();
        prop_assert_eq!(combos.len(), expected);
        for (i, a) in combos.iter().enumerate() {
            prop_assert_eq!(a.len(), dims.len());
            for b in &combos[i + 1..] {
                prop_assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn excluded_combinations_never_appear(dims in dimensions(), exclude in prop::collection::vec(row(), 0..3)) {
        let exclude: Vec<Combination> = exclude
            .into_iter()
            .map(|row| row.into_iter().filter(|(k, _)| dims.contains_key(k)).collect::<Combination>())
            .filter(|row| !row.is_empty())
            .collect();
        let combos = expand_values(&dims, &[], &exclude).unwrap();
        for combo in &combos {
            for row in &exclude {
                prop_assert!(!row.iter().all(|(k, v)| combo.get(k) == Some(v)));
            }
        }
    }

    #[test]
    fn include_never_changes_original_values_and_every_entry_lands(dims in dimensions(), include in prop::collection::vec(row(), 0..4)) {
        let originals = expand_values(&dims, &[], &[]).unwrap();
        let combos = expand_values(&dims, &include, &[]).unwrap();
        prop_assert!(combos.len() >= originals.len());
        for (original, combo) in originals.iter().zip(&combos) {
            for (key, value) in original {
                prop_assert_eq!(combo.get(key), Some(value));
            }
        }
        // An entry that fits no original combination becomes a combination of its own.
        for row in &include {
            let fits = originals.iter().any(|original| {
                row.iter().all(|(k, v)| !dims.contains_key(k) || original.get(k) == Some(v))
            });
            if !fits {
                prop_assert!(combos[originals.len()..].contains(row), "{:?} was not added", row);
            }
        }
    }
}
