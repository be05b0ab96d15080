//! `.dockerignore` rules as data: `check(dockerignore, [(path, excluded)])`.

use std::path::Path;

use slipway_context::DockerIgnore;

#[track_caller]
fn check(dockerignore: &str, expectations: &[(&str, bool)]) {
    let ignore = DockerIgnore::parse(dockerignore).unwrap();
    for &(path, excluded) in expectations {
        assert_eq!(
            ignore.is_excluded(Path::new(path)),
            excluded,
            "{path:?} with .dockerignore {dockerignore:?}"
        );
    }
}

#[test]
fn a_pattern_excludes_the_paths_it_matches_and_everything_below() {
    check(
        "node_modules\n",
        &[
            ("node_modules", true),
            ("node_modules/a/b.js", true),
            ("src/node_modules", false),
            ("node_modules2", false),
        ],
    );
}

#[test]
fn double_star_matches_any_number_of_directories() {
    check(
        "**/*.log\n",
        &[("a.log", true), ("x/y/a.log", true), ("a.logs", false)],
    );
    check(
        "**/tmp\n",
        &[
            ("tmp", true),
            ("a/tmp", true),
            ("a/tmp/b", true),
            ("atmp", false),
        ],
    );
    check(
        "build/**\n",
        &[("build", false), ("build/a", true), ("build/a/b", true)],
    );
    check(
        "a/**/z\n",
        &[("a/z", true), ("a/b/c/z", true), ("a/bz", false)],
    );
    check("**\n", &[("anything", true), ("a/b", true)]);
}

#[test]
fn exceptions_re_include_and_the_last_match_wins() {
    check(
        "*.md\n!README.md\n",
        &[("CHANGES.md", true), ("README.md", false)],
    );
    check("!README.md\n*.md\n", &[("README.md", true)]);
    check(
        "docs\n!docs/keep\n",
        &[
            ("docs", true),
            ("docs/other", true),
            ("docs/keep", false),
            ("docs/keep/deeper", false),
        ],
    );
    check(
        "*\n!src\nsrc/*.tmp\n",
        &[("x", true), ("src/a.rs", false), ("src/a.tmp", true)],
    );
}

#[test]
fn patterns_are_cleaned_like_go_paths() {
    check("/secret\n", &[("secret", true), ("a/secret", false)]);
    check("./build/\n", &[("build", true), ("build/x", true)]);
    check("a//b/../c\n", &[("a/c", true), ("a/b", false)]);
    check("!/keep\n", &[("keep", false)]);
    check("*\n! ./keep/ \n", &[("keep", false), ("other", true)]);
}

#[test]
fn comments_blank_lines_and_whitespace() {
    check(
        "# a comment\n\n   \n  spaced.txt  \r\n #not-a-comment\n",
        &[
            ("spaced.txt", true),
            ("# a comment", false),
            ("#not-a-comment", true),
        ],
    );
    check("\u{feff}bom\n", &[("bom", true)]);
}

#[test]
fn go_match_syntax() {
    check(
        "[a-c].txt\n",
        &[("a.txt", true), ("c.txt", true), ("d.txt", false)],
    );
    check("[^a].txt\n", &[("a.txt", false), ("b.txt", true)]);
    check("?.txt\n", &[("a.txt", true), ("ab.txt", false)]);
    check("\\*.txt\n", &[("*.txt", true), ("a.txt", false)]);
    check(
        "*/*.go\n",
        &[("a/b.go", true), ("b.go", false), ("a/b/c.go", false)],
    );
}

#[test]
fn a_pattern_matching_a_parent_directory_excludes_its_files() {
    check("*/cache\n", &[("a/cache/x/y", true), ("cache/x", false)]);
    check("a/b\n", &[("a/b/c/d", true), ("a/bc", false)]);
}

#[test]
fn invalid_patterns_name_their_line() {
    let error = DockerIgnore::parse("ok\n# fine\n[a-\n").unwrap_err();
    assert_eq!(error.line(), 3);
    assert_eq!(error.pattern(), "[a-");
    assert_eq!(
        error.to_string(),
        "line 3: invalid pattern \"[a-\": syntax error in pattern"
    );
    let error = DockerIgnore::parse("a\n  !  \n").unwrap_err();
    assert_eq!(
        error.to_string(),
        "line 2: invalid pattern \"!\": an exception (!) needs a pattern after it"
    );
    assert_eq!(DockerIgnore::parse("trailing\\").unwrap_err().line(), 1);
}
