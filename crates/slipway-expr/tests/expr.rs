//! Table tests for the expression language: every documented coercion rule, operator, function
//! (errors included), precedence and object filters, plus the `${{ }}` and `if:` helpers.

// Helpers shared by the tests panic on bad fixtures, like the tests themselves.
#![allow(clippy::unwrap_used)]

use std::cell::RefCell;

use serde_json::json;
use slipway_expr::{
    Condition, Contexts, ContextsError, EvalErrorKind, ExprHost, HashFilesError, JobStatus,
    ParseErrorKind, Template, TemplateError, Value, evaluate, parse,
};

struct TestHost {
    status: JobStatus,
    hashed: RefCell<Vec<Vec<String>>>,
}

impl TestHost {
    fn new(status: JobStatus) -> TestHost {
        TestHost {
            status,
            hashed: RefCell::new(Vec::new()),
        }
    }
}

impl ExprHost for TestHost {
    fn job_status(&self) -> JobStatus {
        self.status
    }

    fn hash_files(&self, patterns: &[String]) -> Result<String, HashFilesError> {
        self.hashed.borrow_mut().push(patterns.to_vec());
        Ok(format!("hash-of-{}", patterns.join("+")))
    }
}

fn contexts() -> Contexts {
    Contexts::from_json_str(
        r#"{
        "github": {
            "ref": "refs/heads/main",
            "event_name": "push",
            "event": {
                "issue": {"labels": [{"name": "bug"}, {"name": "help wanted"}, {"color": "red"}]},
                "commits": [{"id": "a", "files": ["x", "y"]}, {"id": "b", "files": ["z"]}]
            }
        },
        "env": {"GREETING": "hello", "EMPTY": ""},
        "matrix": {"os": "ubuntu", "node": 18},
        "vegetables": {
            "scallions": {"colors": ["green", "white"], "ediblePortions": ["roots", "stalks"]},
            "beets": {"colors": ["purple"], "ediblePortions": ["roots"]}
        },
        "list": ["zero", "one", "two"],
        "obj": {"a": 1}
    }"#,
    )
    .unwrap()
}

fn eval_with(text: &str, status: JobStatus) -> Value {
    let expr = parse(text).unwrap_or_else(|e| panic!("parsing {text:?}: {e}"));
    evaluate(&expr, &contexts(), &TestHost::new(status))
        .unwrap_or_else(|e| panic!("evaluating {text:?}: {e}"))
}

fn eval(text: &str) -> Value {
    eval_with(text, JobStatus::Success)
}

/// Checks each expression's value against JSON (numbers compared as numbers).
fn check(cases: &[(&str, serde_json::Value)]) {
    for (text, expected) in cases {
        let got = eval(text);
        assert_eq!(got, Value::from(expected.clone()), "{text}");
    }
}

#[test]
fn literals() {
    check(&[
        ("null", json!(null)),
        ("true", json!(true)),
        ("false", json!(false)),
        ("711", json!(711)),
        ("-9.2", json!(-9.2)),
        ("0xff", json!(255)),
        ("0o17", json!(15)),
        ("-2.99e-2", json!(-0.0299)),
        ("1e3", json!(1000)),
        (".5", json!(0.5)),
        ("+1", json!(1)),
        ("'It''s open source!'", json!("It's open source!")),
        ("''", json!("")),
    ]);
    assert!(matches!(eval("NaN"), Value::Number(n) if n.is_nan()));
    assert_eq!(eval("-Infinity"), Value::Number(f64::NEG_INFINITY));
}

#[test]
fn truthiness_follows_the_documented_falsy_values() {
    for falsy in ["false", "0", "-0", "''", "null", "NaN"] {
        assert_eq!(
            eval(&format!("!{falsy}")),
            Value::Bool(true),
            "{falsy} is falsy"
        );
    }
    for truthy in [
        "true", "1", "-1", "'a'", "'false'", "'0'", "github", "list", "Infinity",
    ] {
        assert_eq!(
            eval(&format!("!{truthy}")),
            Value::Bool(false),
            "{truthy} is truthy"
        );
    }
}

#[test]
fn loose_equality_coerces_mismatched_types_to_numbers() {
    check(&[
        ("null == 0", json!(true)),
        ("null == ''", json!(true)),
        ("null == false", json!(true)),
        ("null == null", json!(true)),
        ("true == 1", json!(true)),
        ("false == 0", json!(true)),
        ("true == 2", json!(false)),
        ("'' == 0", json!(true)),
        ("'1' == 1", json!(true)),
        ("' 1 ' == 1", json!(true)),
        ("'0x10' == 16", json!(true)),
        ("'abc' == 0", json!(false)),
        ("'true' == true", json!(false)),
        ("'1' == true", json!(true)),
        ("1 == 1.0", json!(true)),
        ("'abc' == 'ABC'", json!(true)),
        ("'abc' != 'abd'", json!(true)),
        ("NaN == NaN", json!(false)),
        ("NaN != NaN", json!(true)),
        ("'x' == NaN", json!(false)),
    ]);
}

#[test]
fn objects_and_arrays_compare_by_identity() {
    check(&[
        ("github == github", json!(true)),
        ("github.event == github.event", json!(true)),
        ("list == list", json!(true)),
        ("fromJSON('{}') == fromJSON('{}')", json!(false)),
        ("fromJSON('[]') == fromJSON('[]')", json!(false)),
        ("list == 'Array'", json!(false)),
        ("obj == 1", json!(false)),
        ("obj != obj", json!(false)),
    ]);
}

#[test]
fn ordering_compares_strings_ignoring_case_and_everything_else_as_numbers() {
    check(&[
        ("1 < 2", json!(true)),
        ("2 <= 2", json!(true)),
        ("3 > 2", json!(true)),
        ("2 >= 3", json!(false)),
        ("'abc' < 'abd'", json!(true)),
        ("'ABC' < 'abd'", json!(true)),
        ("'abc' <= 'ABC'", json!(true)),
        ("'b' > 'A'", json!(true)),
        ("'_' > 'A'", json!(true)),
        ("'10' > 9", json!(true)),
        ("'10' > '9'", json!(false)),
        ("null < 1", json!(true)),
        ("true > false", json!(true)),
        ("false >= 0", json!(true)),
        ("'abc' < 1", json!(false)),
        ("'abc' >= 1", json!(false)),
        ("NaN < 1", json!(false)),
        ("NaN >= NaN", json!(false)),
        ("list < list", json!(false)),
        ("obj >= obj", json!(false)),
    ]);
}

#[test]
fn logical_operators_return_operands() {
    check(&[
        ("'a' && 'b'", json!("b")),
        ("'' && 'b'", json!("")),
        ("0 && 'b'", json!(0)),
        ("null || 'fallback'", json!("fallback")),
        ("'first' || 'second'", json!("first")),
        ("false || 0", json!(0)),
        ("!'a'", json!(false)),
        ("!!'a'", json!(true)),
        ("matrix.node == 18 && 'node18' || 'other'", json!("node18")),
    ]);
}

#[test]
fn logical_operators_short_circuit() {
    let host = TestHost::new(JobStatus::Success);
    let expr = parse("true || hashFiles('a')").unwrap();
    assert_eq!(
        evaluate(&expr, &contexts(), &host).unwrap(),
        Value::Bool(true)
    );
    let expr = parse("false && hashFiles('b')").unwrap();
    assert_eq!(
        evaluate(&expr, &contexts(), &host).unwrap(),
        Value::Bool(false)
    );
    assert!(host.hashed.borrow().is_empty(), "hashFiles must not run");
}

#[test]
fn precedence_follows_githubs_operator_table() {
    check(&[
        // `!` binds tighter than comparison: (!1) < 2 is false < 2, i.e. 0 < 2.
        ("!1 < 2", json!(true)),
        // Comparison binds tighter than equality: (1 < 2) == true.
        ("1 < 2 == true", json!(true)),
        // Equality binds tighter than &&.
        ("1 == 1 && 2 == 2", json!(true)),
        // && binds tighter than ||.
        ("true || false && false", json!(true)),
        ("(true || false) && false", json!(false)),
        ("false && true || 'x'", json!("x")),
        // Property access binds tighter than !.
        ("!github.ref", json!(false)),
    ]);
    let expr = parse("a || b && c == d < e").unwrap();
    assert_eq!(expr.to_string(), "a || b && c == d < e");
    let expr = parse("((a || b) && c) == (d < e)").unwrap();
    assert_eq!(expr.to_string(), "((a || b) && c) == d < e");
}

#[test]
fn property_access_and_indexing() {
    check(&[
        ("github.ref", json!("refs/heads/main")),
        ("github.REF", json!("refs/heads/main")),
        ("GITHUB.event_name", json!("push")),
        ("github['event_name']", json!("push")),
        ("github.missing", json!(null)),
        ("github.missing.deeper", json!(null)),
        ("nosuchcontext.x", json!(null)),
        ("list[0]", json!("zero")),
        ("list[1.7]", json!("one")),
        ("list['2']", json!("two")),
        ("list[true]", json!("one")),
        ("list[null]", json!("zero")),
        ("list[3]", json!(null)),
        ("list[-1]", json!(null)),
        ("list['x']", json!(null)),
        ("obj[fromJSON('[]')]", json!(null)),
        ("'text'.length", json!(null)),
        ("env.EMPTY", json!("")),
    ]);
}

#[test]
fn object_filters_collect_arrays() {
    check(&[
        (
            "github.event.issue.labels.*.name",
            json!(["bug", "help wanted"]),
        ),
        ("github.event.commits.*.id", json!(["a", "b"])),
        ("github.event.commits.*.files.*", json!(["x", "y", "z"])),
        ("github.event.commits[*].id", json!(["a", "b"])),
        (
            "vegetables.*.ediblePortions",
            json!([["roots", "stalks"], ["roots"]]),
        ),
        ("vegetables.*.colors[0]", json!(["green", "purple"])),
        ("github.ref.*", json!([])),
        (
            "contains(github.event.issue.labels.*.name, 'BUG')",
            json!(true),
        ),
        (
            "contains(github.event.issue.labels.*.name, 'feature')",
            json!(false),
        ),
    ]);
}

#[test]
fn string_conversion_in_format() {
    check(&[
        ("format('{0}', null)", json!("")),
        ("format('{0}', true)", json!("true")),
        ("format('{0}', false)", json!("false")),
        ("format('{0}', 1)", json!("1")),
        ("format('{0}', 1.0)", json!("1")),
        ("format('{0}', -0.5)", json!("-0.5")),
        ("format('{0}', 1e15)", json!("1E+15")),
        ("format('{0}', 0.1)", json!("0.1")),
        ("format('{0}', NaN)", json!("NaN")),
        ("format('{0}', -Infinity)", json!("-Infinity")),
        ("format('{0}', list)", json!("Array")),
        ("format('{0}', github)", json!("Object")),
    ]);
}

#[test]
fn contains_starts_with_ends_with() {
    check(&[
        ("contains('Hello world', 'llo')", json!(true)),
        ("contains('Hello world', 'LLO W')", json!(true)),
        ("contains('Hello', 'xyz')", json!(false)),
        ("contains('abc', '')", json!(true)),
        ("contains(123, 2)", json!(true)),
        ("contains('true', true)", json!(true)),
        ("contains(null, '')", json!(true)),
        (
            "contains(fromJSON('[\"push\", \"pull_request\"]'), github.event_name)",
            json!(true),
        ),
        ("contains(fromJSON('[1, 2]'), '2')", json!(true)),
        ("contains(fromJSON('[1, 2]'), 3)", json!(false)),
        ("contains(fromJSON('[null]'), 0)", json!(true)),
        ("contains(list, 'ONE')", json!(true)),
        ("startsWith('Hello world', 'he')", json!(true)),
        ("startsWith('Hello world', 'world')", json!(false)),
        ("startsWith(github.ref, 'refs/heads/')", json!(true)),
        ("startsWith(12, 1)", json!(true)),
        ("endsWith('Hello world', 'LD')", json!(true)),
        ("endsWith('Hello world', 'Hello')", json!(false)),
        ("endsWith(true, 'ue')", json!(true)),
    ]);
}

#[test]
fn format_replaces_and_escapes() {
    check(&[
        (
            "format('Hello {0} {1} {2}', 'Mona', 'the', 'Octocat')",
            json!("Hello Mona the Octocat"),
        ),
        (
            "format('{{Hello {0} {1} {2}!}}', 'Mona', 'the', 'Octocat')",
            json!("{Hello Mona the Octocat!}"),
        ),
        ("format('{0}{0}', 'ab')", json!("abab")),
        ("format('{1}-{0}', 'a', 'b')", json!("b-a")),
        ("format('{{0}}', 'x')", json!("{0}")),
        ("format('{{{{0}}}}', 'x')", json!("{{0}}")),
        ("format('plain')", json!("plain")),
        ("format(null)", json!("")),
        (
            "FORMAT('{0}', 'case-insensitive name')",
            json!("case-insensitive name"),
        ),
    ]);
}

#[test]
fn format_rejects_malformed_templates() {
    for text in [
        "format('{0', 'a')",
        "format('{', 'a')",
        "format('}', 'a')",
        "format('{a}', 'a')",
        "format('{1}', 'a')",
        "format('{0} }', 'a')",
        "format('{99999999999999999999999}', 'a')",
    ] {
        let expr = parse(text).unwrap();
        let err = evaluate(&expr, &contexts(), &TestHost::new(JobStatus::Success)).unwrap_err();
        assert!(
            matches!(err.kind(), EvalErrorKind::InvalidFormat { .. }),
            "{text}: {err}"
        );
        assert_eq!(err.span().start, 0, "{text}: the error points at the call");
    }
}

#[test]
fn join_arrays_and_strings() {
    check(&[
        ("join(list)", json!("zero,one,two")),
        ("join(list, ' | ')", json!("zero | one | two")),
        (
            "join(github.event.issue.labels.*.name, ', ')",
            json!("bug, help wanted"),
        ),
        ("join('abc')", json!("abc")),
        ("join('abc', '-')", json!("abc")),
        (
            "join(fromJSON('[1, true, null, \"x\"]'))",
            json!("1,true,,x"),
        ),
        ("join(fromJSON('[]'))", json!("")),
        ("join(list, 0)", json!("zero0one0two")),
        ("join(obj)", json!("")),
        ("join(github, '-')", json!("")),
        ("join(list, list)", json!("zero,one,two")),
        ("join(null)", json!("")),
        ("join(true)", json!("true")),
        ("join(12)", json!("12")),
    ]);
}

#[test]
fn to_json_is_pretty_with_two_spaces() {
    check(&[
        (
            "toJSON(matrix)",
            json!("{\n  \"os\": \"ubuntu\",\n  \"node\": 18\n}"),
        ),
        (
            "toJSON(list)",
            json!("[\n  \"zero\",\n  \"one\",\n  \"two\"\n]"),
        ),
        ("toJSON('a\"b')", json!("\"a\\\"b\"")),
        ("toJSON(1.5)", json!("1.5")),
        ("toJSON(null)", json!("null")),
        ("toJSON(fromJSON('{}'))", json!("{}")),
        ("toJSON(fromJSON('[]'))", json!("[]")),
    ]);
}

#[test]
fn from_json_parses_and_reports_bad_input() {
    check(&[
        ("fromJSON('true')", json!(true)),
        ("fromJSON('42')", json!(42)),
        ("fromJSON('\"s\"')", json!("s")),
        ("fromJSON('{\"a\": [1, 2]}').a[1]", json!(2)),
        ("fromJSON('[1,2,3]')[0]", json!(1)),
        ("fromJSON(toJSON(matrix)).os", json!("ubuntu")),
    ]);
    for bad in ["fromJSON('{')", "fromJSON('')", "fromJSON('nope')"] {
        let expr = parse(bad).unwrap();
        let err = evaluate(&expr, &contexts(), &TestHost::new(JobStatus::Success)).unwrap_err();
        assert!(
            matches!(err.kind(), EvalErrorKind::InvalidJson { .. }),
            "{bad}: {err}"
        );
    }
}

#[test]
fn hash_files_asks_the_host_with_string_patterns() {
    let host = TestHost::new(JobStatus::Success);
    let expr = parse("hashFiles('**/package-lock.json', '!node_modules/**')").unwrap();
    let got = evaluate(&expr, &contexts(), &host).unwrap();
    assert_eq!(
        got,
        Value::from("hash-of-**/package-lock.json+!node_modules/**")
    );
    assert_eq!(
        *host.hashed.borrow(),
        vec![vec![
            "**/package-lock.json".to_owned(),
            "!node_modules/**".to_owned()
        ]]
    );
}

#[test]
fn case_picks_the_first_truthy_predicate_lazily() {
    check(&[
        ("case(true, 'first', 'default')", json!("first")),
        ("case(false, 'first', 'default')", json!("default")),
        ("case(false, 'a', true, 'b', 'default')", json!("b")),
        (
            "case(github.event_name == 'push', 'Pushed', 'Other')",
            json!("Pushed"),
        ),
        ("case(false, 'a', 1 == 1, 'b', 'default')", json!("b")),
    ]);
    let host = TestHost::new(JobStatus::Success);
    let expr = parse("case(true, 'a', hashFiles('p'), hashFiles('q'), hashFiles('r'))").unwrap();
    assert_eq!(
        evaluate(&expr, &contexts(), &host).unwrap(),
        Value::from("a")
    );
    assert!(
        host.hashed.borrow().is_empty(),
        "unchosen arguments are not evaluated"
    );
}

/// GitHub refuses a predicate that is not a boolean instead of coercing it, even a truthy one;
/// the predicates before it have been evaluated, the ones after it never are.
#[test]
fn case_refuses_a_predicate_that_is_not_a_boolean() {
    let host = TestHost::new(JobStatus::Success);
    for (text, found, at) in [
        ("case(0, 'a', 'default')", "number", 5),
        ("case(false, 'a', 'x', 'b', 'default')", "string", 17),
        ("case('true', 'a', 'default')", "string", 5),
        ("case(null, 'a', 'default')", "null", 5),
        ("case(github, 'a', 'default')", "object", 5),
        ("case(false, 'a', list, 'b', hashFiles('x'))", "array", 17),
    ] {
        let err = evaluate(&parse(text).unwrap(), &contexts(), &host).expect_err(text);
        assert_eq!(
            err.kind(),
            &EvalErrorKind::CasePredicateNotBoolean { found },
            "{text}"
        );
        assert_eq!(err.span().start, at, "{text}");
    }
    assert!(host.hashed.borrow().is_empty());
}

#[test]
fn status_functions_answer_from_the_host() {
    let table = [
        (JobStatus::Success, [true, false, false, true]),
        (JobStatus::Failure, [false, true, false, true]),
        (JobStatus::Cancelled, [false, false, true, true]),
        (JobStatus::Skipped, [false, false, false, true]),
    ];
    for (status, expected) in table {
        let got: Vec<bool> = ["success()", "failure()", "cancelled()", "always()"]
            .iter()
            .map(|f| eval_with(f, status).is_truthy())
            .collect();
        assert_eq!(got, expected, "{status:?}");
    }
}

#[test]
fn syntax_errors_carry_positions() {
    type KindCheck = fn(&ParseErrorKind) -> bool;
    let cases: &[(&str, usize, KindCheck)] = &[
        (
            "nope(1)",
            0,
            |k| matches!(k, ParseErrorKind::UnknownFunction(name) if name == "nope"),
        ),
        ("1 == contains('a')", 5, |k| {
            matches!(
                k,
                ParseErrorKind::WrongArity {
                    function: "contains",
                    found: 1,
                    ..
                }
            )
        }),
        ("success(1)", 0, |k| {
            matches!(k, ParseErrorKind::WrongArity { found: 1, .. })
        }),
        ("case(true, 'a')", 0, |k| {
            matches!(k, ParseErrorKind::WrongArity { found: 2, .. })
        }),
        ("join()", 0, |k| {
            matches!(k, ParseErrorKind::WrongArity { found: 0, .. })
        }),
        ("toJSON(1, 2)", 0, |k| {
            matches!(k, ParseErrorKind::WrongArity { found: 2, .. })
        }),
        ("'abc", 0, |k| {
            matches!(k, ParseErrorKind::UnterminatedString)
        }),
        ("a == \"b\"", 5, |k| {
            matches!(k, ParseErrorKind::DoubleQuotedString)
        }),
        ("a = b", 2, |k| {
            matches!(k, ParseErrorKind::UnexpectedChar('='))
        }),
        ("a ==", 4, |k| {
            matches!(k, ParseErrorKind::UnexpectedEnd { .. })
        }),
        ("(a", 2, |k| {
            matches!(k, ParseErrorKind::UnexpectedEnd { .. })
        }),
        ("a b", 2, |k| {
            matches!(k, ParseErrorKind::UnexpectedToken { .. })
        }),
        ("a.", 2, |k| {
            matches!(k, ParseErrorKind::UnexpectedEnd { .. })
        }),
        ("a.1", 2, |k| {
            matches!(k, ParseErrorKind::UnexpectedToken { .. })
        }),
        (
            "1.2.3",
            0,
            |k| matches!(k, ParseErrorKind::InvalidNumber(n) if n == "1.2.3"),
        ),
        ("0xZZ", 0, |k| matches!(k, ParseErrorKind::InvalidNumber(_))),
        ("", 0, |k| matches!(k, ParseErrorKind::UnexpectedEnd { .. })),
        ("a[1", 3, |k| {
            matches!(k, ParseErrorKind::UnexpectedEnd { .. })
        }),
    ];
    for (text, offset, kind) in cases {
        let err = parse(text).expect_err(text);
        assert!(kind(err.kind()), "{text}: got {:?}", err.kind());
        assert_eq!(err.span().start, *offset, "{text}: {err}");
    }
}

#[test]
fn nesting_is_bounded() {
    let deep = format!("{}1{}", "(".repeat(200), ")".repeat(200));
    assert!(matches!(
        parse(&deep).unwrap_err().kind(),
        ParseErrorKind::TooDeep
    ));
    let nots = format!("{}true", "!".repeat(100_000));
    assert!(matches!(
        parse(&nots).unwrap_err().kind(),
        ParseErrorKind::TooDeep
    ));
    let parens = format!("{}1{}", "(".repeat(100_000), ")".repeat(100_000));
    assert!(matches!(
        parse(&parens).unwrap_err().kind(),
        ParseErrorKind::TooDeep
    ));
    let chain = vec!["a"; 500].join(" || ");
    assert!(matches!(
        parse(&chain).unwrap_err().kind(),
        ParseErrorKind::TooDeep
    ));
    assert!(parse(&vec!["a"; 50].join(" || ")).is_ok());
}

/// GitHub's limit is 50 levels: every node is one, parentheses are none, and a chain of `&&`
/// or `||` is a single node however long it is.
#[test]
fn nesting_beyond_githubs_fifty_levels_is_an_error() {
    let too_deep = |text: &str| {
        matches!(
            parse(text).map_err(|e| e.kind().clone()),
            Err(ParseErrorKind::TooDeep)
        )
    };
    let nots = |n: usize| format!("{}true", "!".repeat(n));
    assert!(
        !too_deep(&nots(49)),
        "49 negations and a literal: 50 levels"
    );
    assert!(too_deep(&nots(50)));
    let properties = |n: usize| format!("github{}", ".a".repeat(n));
    assert!(!too_deep(&properties(49)));
    assert!(too_deep(&properties(50)));
    let calls = |n: usize| format!("{}1{}", "toJSON(".repeat(n), ")".repeat(n));
    assert!(!too_deep(&calls(49)));
    assert!(too_deep(&calls(50)));
    // Parentheses add no level.
    assert!(!too_deep(&format!("{}1{}", "(".repeat(80), ")".repeat(80))));
    // A chain is one level, wherever its parentheses are; mixing operators nests.
    assert!(!too_deep(&vec!["a"; 90].join(" || ")));
    assert!(!too_deep(&format!("({}) || b", nots(48))));
    assert!(!too_deep(&format!("(a || b) || {}", nots(48))));
    assert!(too_deep(&format!("a && ({})", nots(49))));
    let err = parse(&nots(60)).unwrap_err();
    assert!(err.to_string().contains("50 levels"), "{err}");
}

/// GitHub compares with .NET's `OrdinalIgnoreCase`: one upper-case character for one, no
/// culture rules.
#[test]
fn string_comparison_ignores_case_without_culture_rules() {
    check(&[
        ("'é' == 'É'", json!(true)),
        ("'straße' == 'STRASSE'", json!(false)),
        ("'ı' == 'I'", json!(false)),
        ("'ı' == 'i'", json!(false)),
        ("'ſ' == 'S'", json!(false)),
        ("'ǆ' == 'Ǆ'", json!(true)),
        ("'ı' < 'J'", json!(false)),
        ("startsWith('ınfo', 'I')", json!(false)),
        ("contains('ÄBC', 'äb')", json!(true)),
        ("endsWith('groß', 'SS')", json!(false)),
    ]);
}

#[test]
fn function_names_ignore_case() {
    check(&[
        ("STARTSWITH('abc', 'a')", json!(true)),
        ("toJson(1)", json!("1")),
        ("FromJson('[]')[0]", json!(null)),
    ]);
    assert_eq!(parse("TOJSON(1)").unwrap().to_string(), "toJSON(1)");
}

#[test]
fn templates_interpolate_or_pass_a_lone_value_through() {
    let host = TestHost::new(JobStatus::Success);
    let ctx = contexts();
    let render = |text: &str| {
        Template::parse(text)
            .unwrap()
            .evaluate(&ctx, &host)
            .unwrap()
    };
    assert_eq!(render("plain text"), Value::from("plain text"));
    assert_eq!(render("${{ matrix.node }}"), Value::Number(18.0));
    assert_eq!(
        render("node-${{ matrix.node }}-${{ matrix.os }}"),
        Value::from("node-18-ubuntu")
    );
    assert_eq!(render("${{ format('{{0}}') }}!"), Value::from("{0}!"));
    assert_eq!(render("${{ 'a}}b' }}"), Value::from("a}}b"));
    assert_eq!(render("${{ 'it''s' }}"), Value::from("it's"));
    assert_eq!(render("x${{ null }}y"), Value::from("xy"));
    assert_eq!(render(" ${{ 1 }}"), Value::from(" 1"));

    let template = Template::parse("echo ${{ github.ref }} ${{ env.GREETING }}").unwrap();
    let spans: Vec<_> = template.expressions().map(|e| e.span().start).collect();
    assert_eq!(
        spans,
        vec![9, 27],
        "expression spans count from the template's start"
    );
}

#[test]
fn template_errors_point_into_the_string() {
    let err = Template::parse("run ${{ github.ref").unwrap_err();
    assert_eq!(err, TemplateError::Unclosed { start: 4 });
    let err = Template::parse("a ${{ nope() }}").unwrap_err();
    assert!(
        matches!(&err, TemplateError::Parse(p) if matches!(p.kind(), ParseErrorKind::UnknownFunction(_)))
    );
    assert_eq!(err.span().start, 6);
}

#[test]
fn conditions_get_an_implicit_success() {
    let cases: &[(&str, &str)] = &[
        (
            "github.ref == 'refs/heads/main'",
            "success() && github.ref == 'refs/heads/main'",
        ),
        ("${{ github.ref == 'x' }}", "success() && github.ref == 'x'"),
        ("  ${{ always() }}  ", "always()"),
        ("failure() || cancelled()", "failure() || cancelled()"),
        ("!cancelled() && env.X", "!cancelled() && env.X"),
        ("a || b", "success() && (a || b)"),
        ("", "success()"),
    ];
    for (text, effective) in cases {
        let condition = Condition::parse(text).unwrap();
        assert_eq!(
            condition.expression().unwrap().to_string(),
            *effective,
            "{text}"
        );
    }
}

#[test]
fn conditions_evaluate_with_job_status() {
    let ctx = contexts();
    let run = |text: &str, status| {
        Condition::parse(text)
            .unwrap()
            .evaluate(&ctx, &TestHost::new(status))
            .unwrap()
    };
    assert!(run("github.event_name == 'push'", JobStatus::Success));
    assert!(!run("github.event_name == 'push'", JobStatus::Failure));
    assert!(run("failure()", JobStatus::Failure));
    assert!(run(
        "always() && matrix.os == 'UBUNTU'",
        JobStatus::Cancelled
    ));
    assert!(!run("${{ false }}", JobStatus::Success));
}

#[test]
fn a_condition_mixing_text_and_expressions_is_a_string() {
    let condition = Condition::parse("${{ false }} == true").unwrap();
    assert!(condition.is_string_template());
    assert!(condition.expression().is_none());
    let ctx = contexts();
    // "false == true" is a non-empty string, hence true: the pitfall GitHub documents.
    assert!(
        condition
            .evaluate(&ctx, &TestHost::new(JobStatus::Success))
            .unwrap()
    );
}

#[test]
fn contexts_must_be_a_json_object() {
    assert!(matches!(
        Contexts::from_json_str("[1]"),
        Err(ContextsError::NotAnObject { found: "array" })
    ));
    assert!(matches!(
        Contexts::from_json_str("{"),
        Err(ContextsError::InvalidJson(_))
    ));
}
