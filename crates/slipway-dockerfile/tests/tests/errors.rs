//! Every way a Dockerfile is rejected, with the exact line and column: `check_error(input, expected)`.

#[track_caller]
fn check_error(input: &str, expected: &str) {
    match slipway_dockerfile::parse(input) {
        Ok(dockerfile) => panic!("{input:?} should be rejected, parsed {dockerfile:?}"),
        Err(error) => assert_eq!(error.to_string(), expected, "input: {input:?}"),
    }
}

#[test]
fn files_without_a_build_stage() {
    check_error(
        "",
        "1:1: the Dockerfile has no instructions: it needs at least a FROM",
    );
    check_error(
        "# only\n\n  # comments\n",
        "1:1: the Dockerfile has no instructions: it needs at least a FROM",
    );
    check_error(
        "\nARG A\nARG B\n",
        "2:1: the Dockerfile has no FROM instruction: it needs at least one stage",
    );
    check_error(
        "ARG A\n  RUN x\nFROM a\n",
        "2:3: RUN comes before the first FROM: only ARG may",
    );
}

#[test]
fn directives() {
    check_error(
        "# escape=`\n# ESCAPE=\\\nFROM a\n",
        "2:1: only one escape parser directive can be used",
    );
    check_error(
        "# syntax=a\n#syntax=b\nFROM a\n",
        "2:1: only one syntax parser directive can be used",
    );
    check_error(
        "# escape=x\nFROM a\n",
        "1:10: invalid escape character \"x\": use \\ or `",
    );
}

#[test]
fn unknown_instructions() {
    check_error("FROM a\n  FOO bar\n", "2:3: unknown instruction: FOO");
    check_error(
        "FROM a\nRUN x \\\n  y\nCOPPY a b\n",
        "4:1: unknown instruction: COPPY",
    );
    check_error("FROM a\nONBUILD NOPE x\n", "2:9: unknown instruction: NOPE");
}

#[test]
fn from() {
    check_error(
        "FROM\n",
        "1:1: FROM takes an image and an optional stage name: FROM image [AS name]",
    );
    check_error(
        "FROM a b\n",
        "1:8: FROM takes an image and an optional stage name: FROM image [AS name]",
    );
    check_error(
        "FROM a AS b c\n",
        "1:13: FROM takes an image and an optional stage name: FROM image [AS name]",
    );
    check_error("FROM a IS b\n", "1:8: expected AS, found \"IS\"");
    check_error(
        "FROM a AS 1st\n",
        "1:11: invalid stage name \"1st\": it must start with a letter and hold only letters, digits, '-', '_' and '.'",
    );
    check_error(
        "FROM a AS x\nFROM b as X\n",
        "2:1: duplicate stage name \"x\": line 1 already uses it",
    );
    check_error(
        "FROM --platform a\n",
        "1:6: missing a value on flag --platform",
    );
}

#[test]
fn flags() {
    check_error(
        "FROM a\nCOPY --nope=1 a b\n",
        "2:6: unknown flag --nope for COPY (expected one of --from, --chown, --chmod, --link, --parents, --exclude)",
    );
    check_error(
        "FROM a\nENV --x=1 a=b\n",
        "2:5: unknown flag --x: ENV takes no flags",
    );
    check_error(
        "FROM a\nCOPY --from=a --from=b x y\n",
        "2:15: duplicate flag --from",
    );
    check_error(
        "FROM a\nADD --link=maybe x y\n",
        "2:5: expecting a boolean value for flag --link, not \"maybe\"",
    );
    check_error(
        "FROM a\nRUN \\\n  --mount=x \\\n  --bad=1 make\n",
        "4:3: unknown flag --bad for RUN (expected one of --mount, --network, --security)",
    );
}

#[test]
fn arguments_that_are_missing_or_malformed() {
    let cases = [
        (
            "ARG\n",
            "2:1: ARG requires at least one name: ARG name[=default]",
        ),
        ("ARG a =x\n", "2:7: ARG names can not be blank"),
        ("ENV\n", "2:1: ENV requires at least one key=value pair"),
        (
            "ENV KEY\n",
            "2:5: ENV must have two arguments: ENV key value, or ENV key=value",
        ),
        (
            "ENV a=1 b\n",
            "2:9: can't find = in \"b\": it must be of the form key=value",
        ),
        ("LABEL =1\n", "2:7: LABEL names can not be blank"),
        ("RUN\n", "2:1: RUN requires a command"),
        ("RUN --network=none\n", "2:1: RUN requires a command"),
        (
            "CMD [\"a\", 1]\n",
            "2:5: when using JSON array syntax, arrays must be comprised of strings only",
        ),
        (
            "SHELL /bin/sh -c\n",
            "2:1: SHELL requires the arguments to be in JSON form, e.g. SHELL [\"/bin/sh\", \"-c\"]",
        ),
        ("SHELL []\n", "2:1: SHELL requires at least one argument"),
        (
            "COPY onlyone\n",
            "2:1: COPY requires at least two arguments: COPY <src>... <dest>",
        ),
        (
            "ADD [\"a\"]\n",
            "2:1: ADD requires at least two arguments: ADD <src>... <dest>",
        ),
        (
            "COPY\n",
            "2:1: COPY requires at least two arguments: COPY <src>... <dest>",
        ),
        ("EXPOSE\n", "2:1: EXPOSE requires at least one port"),
        ("USER\n", "2:1: USER requires a user"),
        ("WORKDIR   \n", "2:1: WORKDIR requires a path"),
        ("STOPSIGNAL\n", "2:1: STOPSIGNAL requires a signal"),
        ("MAINTAINER\n", "2:1: MAINTAINER requires a name"),
        ("VOLUME\n", "2:1: VOLUME requires at least one path"),
        ("VOLUME []\n", "2:1: VOLUME requires at least one path"),
        (
            "VOLUME [\"/a\", \" \"]\n",
            "2:8: VOLUME paths can not be empty",
        ),
    ];
    for (instruction, expected) in cases {
        check_error(&format!("FROM a\n{instruction}"), expected);
    }
}

#[test]
fn healthcheck() {
    let cases = [
        (
            "HEALTHCHECK\n",
            "2:1: HEALTHCHECK requires NONE or CMD followed by a command",
        ),
        (
            "HEALTHCHECK NONE now\n",
            "2:18: HEALTHCHECK NONE takes no arguments",
        ),
        (
            "HEALTHCHECK --retries=1 NONE\n",
            "2:13: HEALTHCHECK NONE takes no flags",
        ),
        (
            "HEALTHCHECK CMD\n",
            "2:1: HEALTHCHECK CMD requires a command",
        ),
        (
            "HEALTHCHECK curl x\n",
            "2:13: unknown HEALTHCHECK type \"CURL\": use CMD or NONE",
        ),
        (
            "HEALTHCHECK --interval=10 CMD x\n",
            "2:13: --interval: invalid duration \"10\": expected a number and unit such as 30s or 1m30s",
        ),
        (
            "HEALTHCHECK --timeout=-1s CMD x\n",
            "2:13: --timeout: invalid duration \"-1s\": durations cannot be negative",
        ),
        (
            "HEALTHCHECK --start-period=10us CMD x\n",
            "2:13: --start-period cannot be less than 1ms",
        ),
        (
            "HEALTHCHECK --retries=-1 CMD x\n",
            "2:13: --retries must be a whole number of at least 0, not \"-1\"",
        ),
    ];
    for (instruction, expected) in cases {
        check_error(&format!("FROM a\n{instruction}"), expected);
    }
}

#[test]
fn onbuild() {
    check_error(
        "FROM a\nONBUILD\n",
        "2:1: ONBUILD requires an instruction to run later",
    );
    check_error(
        "FROM a\nONBUILD onbuild RUN x\n",
        "2:9: ONBUILD isn't allowed as an ONBUILD trigger",
    );
    check_error(
        "FROM a\nONBUILD FROM b\n",
        "2:9: FROM isn't allowed as an ONBUILD trigger",
    );
    check_error(
        "FROM a\nONBUILD MAINTAINER me\n",
        "2:9: MAINTAINER isn't allowed as an ONBUILD trigger",
    );
    check_error(
        "FROM a\nONBUILD COPY x\n",
        "2:9: COPY requires at least two arguments: COPY <src>... <dest>",
    );
}

#[test]
fn unterminated_heredocs() {
    check_error(
        "FROM a\nRUN <<EOF\necho\n",
        "2:5: unterminated heredoc: no line \"EOF\" ends it",
    );
    check_error(
        "FROM a\nRUN <<A cat && cat <<-B\na\nA\n\tb\n b\nB \n",
        "2:20: unterminated heredoc: no line \"B\" ends it",
    );
}
