//! Property tests: printing any syntax tree and parsing the text gives the same tree, and
//! parsing arbitrary text never panics.

use proptest::prelude::*;
use slipway_expr::{BinaryOp, Call, Expr, ExprKind, Function, Literal, Span, parse};

fn node(kind: ExprKind) -> Expr {
    Expr::new(kind, Span::default())
}

fn identifier() -> impl Strategy<Value = String> {
    // Keywords are literals, never context or property names.
    "[a-zA-Z_][a-zA-Z0-9_-]{0,8}".prop_filter("not a keyword", |name| {
        !["null", "true", "false", "NaN", "Infinity"].contains(&name.as_str())
    })
}

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        Just(Literal::Null),
        any::<bool>().prop_map(Literal::Bool),
        any::<f64>().prop_map(Literal::Number),
        (-1000i32..1000).prop_map(|n| Literal::Number(f64::from(n))),
        Just(Literal::Number(f64::NAN)),
        Just(Literal::Number(f64::NEG_INFINITY)),
        "[a-z' {}$]{0,10}".prop_map(Literal::String),
    ]
}

fn binary_op() -> impl Strategy<Value = BinaryOp> {
    prop_oneof![
        Just(BinaryOp::Lt),
        Just(BinaryOp::Le),
        Just(BinaryOp::Gt),
        Just(BinaryOp::Ge),
        Just(BinaryOp::Eq),
        Just(BinaryOp::Ne),
        Just(BinaryOp::And),
        Just(BinaryOp::Or),
    ]
}

fn call(args: BoxedStrategy<Expr>) -> impl Strategy<Value = Expr> {
    (
        prop::sample::select(Function::ALL.to_vec()),
        prop::collection::vec(args, 0..5),
    )
        .prop_filter_map("arity", |(function, args)| {
            Call::new(function, args).map(|call| node(ExprKind::Call(call)))
        })
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        literal().prop_map(|l| node(ExprKind::Literal(l))),
        identifier().prop_map(|name| node(ExprKind::Context(name))),
    ];
    leaf.prop_recursive(6, 48, 4, |inner| {
        prop_oneof![
            (inner.clone(), identifier()).prop_map(|(target, name)| node(ExprKind::Property {
                target: Box::new(target),
                name
            })),
            (inner.clone(), inner.clone()).prop_map(|(target, index)| node(ExprKind::Index {
                target: Box::new(target),
                index: Box::new(index)
            })),
            inner
                .clone()
                .prop_map(|t| node(ExprKind::Filter(Box::new(t)))),
            inner.clone().prop_map(|t| node(ExprKind::Not(Box::new(t)))),
            (binary_op(), inner.clone(), inner.clone()).prop_map(|(op, l, r)| node(
                ExprKind::Binary {
                    op,
                    left: Box::new(l),
                    right: Box::new(r)
                }
            )),
            call(inner.boxed()),
        ]
    })
}

proptest! {
    #[test]
    fn printing_then_parsing_gives_the_same_tree(tree in expr()) {
        let text = tree.to_string();
        let parsed = parse(&text).map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        prop_assert_eq!(&parsed, &tree, "printed as {:?}", text);
        // And printing is stable.
        prop_assert_eq!(parsed.to_string(), text);
    }

    #[test]
    fn parsing_arbitrary_text_never_panics(text in "[a-z0-9 .'()\\[\\]!=<>&|*,_-]{0,40}") {
        let _ = parse(&text);
    }

    #[test]
    fn parsed_text_reprints_to_something_that_parses_the_same(text in "[a-c0-9 .'()\\[\\]!=<>&|*,]{0,30}") {
        if let Ok(tree) = parse(&text) {
            let reparsed = parse(&tree.to_string()).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(reparsed, tree);
        }
    }
}
