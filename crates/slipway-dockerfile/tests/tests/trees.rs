//! Dockerfiles and the trees they parse into, as data: `check(input, expected_dump)`.

use crate::dump::dump;

#[track_caller]
fn check(input: &str, expected: &str) {
    let dockerfile = match slipway_dockerfile::parse(input) {
        Ok(dockerfile) => dockerfile,
        Err(error) => panic!("{input:?} should parse, got {error}"),
    };
    let actual = dump(&dockerfile);
    let expected = unindent(expected);
    assert_eq!(actual, expected, "\ninput:\n{input}\nactual:\n{actual}");
}

/// Removes the indentation the expectations carry inside the test source.
fn unindent(text: &str) -> String {
    let lines: Vec<&str> = text
        .trim_end()
        .lines()
        .skip_while(|line| line.trim().is_empty())
        .collect();
    let indent = lines
        .iter()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|line| format!("{}\n", line.get(indent..).unwrap_or("").trim_end()))
        .collect()
}

#[test]
fn stages_and_base_images() {
    check(
        "FROM --platform=$BUILDPLATFORM node:22-slim AS Build\nRUN npm ci\nfrom build as test\nFROM scratch\n",
        r#"
        1:1-1 FROM "node:22-slim" platform="$BUILDPLATFORM" as="build"
        2:1-2 RUN shell "npm ci"
        3:1-3 FROM "build" as="test"
        4:1-4 FROM "scratch"
        stage 0 name=build base="node:22-slim" platform="$BUILDPLATFORM" instructions=0..2
        stage 1 name=test base="build" instructions=2..3
        stage 2 base="scratch" instructions=3..4
        "#,
    );
}

#[test]
fn args_before_the_first_from_are_global() {
    check(
        "ARG VERSION=22 BASE\nARG EMPTY=\nFROM node:${VERSION}\nARG VERSION\n",
        r#"
        1:1-1 ARG "VERSION"="22" "BASE"
        2:1-2 ARG "EMPTY"=""
        3:1-3 FROM "node:${VERSION}"
        4:1-4 ARG "VERSION"
        stage 0 base="node:${VERSION}" instructions=2..4
        "#,
    );
}

#[test]
fn directives_comments_and_blank_lines() {
    check(
        "# syntax=docker/dockerfile:1\n#  CHECK = skip=all \n\n# escape=`\nFROM alpine\n  # indented comment\n\nrun echo hi\n",
        r#"
        directives syntax=Some("docker/dockerfile:1") escape='\\' check=Some("skip=all")
        5:1-5 FROM "alpine"
        8:1-8 RUN shell "echo hi"
        stage 0 base="alpine" instructions=0..2
        "#,
    );
}

#[test]
fn backtick_escape_continues_lines() {
    check(
        "# escape=`\nFROM mcr.microsoft.com/windows\nRUN dir c:\\ `\n    /s\nCOPY a\\b c:\\dest\\\n",
        r#"
        directives syntax=None escape='`' check=None
        2:1-2 FROM "mcr.microsoft.com/windows"
        3:1-4 RUN shell "dir c:\\     /s"
        5:1-5 COPY ["a\\b"] -> "c:\\dest\\"
        stage 0 base="mcr.microsoft.com/windows" instructions=0..3
        "#,
    );
}

#[test]
fn continuations_skip_comment_and_empty_lines() {
    check(
        "FROM alpine\nRUN apk add \\\n# the compiler\n      gcc \\\n\n      make\n  CMD [\"make\"]\n",
        r#"
        1:1-1 FROM "alpine"
        2:1-6 RUN shell "apk add       gcc       make"
        7:3-7 CMD exec ["make"]
        stage 0 base="alpine" instructions=0..3
        "#,
    );
}

#[test]
fn exec_and_shell_forms() {
    check(
        concat!(
            "FROM alpine\n",
            "CMD [\"node\", \"server.js\"]\n",
            "ENTRYPOINT [ \"/bin/sh\" , \"-c\" ]\n",
            "CMD [\"unterminated\", \n",
            "RUN [\"a\" \"b\"]\n",
            "ENTRYPOINT exec node server.js\n",
            "SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\n",
            "CMD []\n",
        ),
        r#"
        1:1-1 FROM "alpine"
        2:1-2 CMD exec ["node", "server.js"]
        3:1-3 ENTRYPOINT exec ["/bin/sh", "-c"]
        4:1-4 CMD shell "[\"unterminated\","
        5:1-5 RUN shell "[\"a\" \"b\"]"
        6:1-6 ENTRYPOINT shell "exec node server.js"
        7:1-7 SHELL ["/bin/bash", "-o", "pipefail", "-c"]
        8:1-8 CMD exec []
        stage 0 base="alpine" instructions=0..8
        "#,
    );
}

#[test]
fn run_flags() {
    check(
        "FROM alpine\nRUN --mount=type=cache,target=/root/.npm --mount=\"type=secret,id=npm\" --network=none --security=insecure npm ci\nRUN -- --not-a-flag\n",
        r#"
        1:1-1 FROM "alpine"
        2:1-2 RUN mount="type=cache,target=/root/.npm" mount="type=secret,id=npm" network="none" security="insecure" shell "npm ci"
        3:1-3 RUN shell "--not-a-flag"
        stage 0 base="alpine" instructions=0..3
        "#,
    );
}

#[test]
fn env_and_label_forms() {
    check(
        concat!(
            "FROM alpine\n",
            "ENV A=1 B=\"two words\" C=three\\ words D=\n",
            "ENV LEGACY value with  spaces\n",
            "LABEL org.opencontainers.image.title=\"Slipway app\" version=1\n",
            "label description 'old style'\n",
        ),
        r#"
        1:1-1 FROM "alpine"
        2:1-2 ENV "A"="1" "B"="\"two words\"" "C"="three\\ words" "D"=""
        3:1-3 ENV "LEGACY"="value with  spaces"
        4:1-4 LABEL "org.opencontainers.image.title"="\"Slipway app\"" "version"="1"
        5:1-5 LABEL "description"="'old style'"
        stage 0 base="alpine" instructions=0..5
        "#,
    );
}

#[test]
fn copy_and_add() {
    check(
        concat!(
            "FROM alpine AS build\n",
            "FROM alpine\n",
            "COPY --from=build --chown=app:app --chmod=0755 --link /out/app /usr/local/bin/\n",
            "COPY [\"with space.txt\", \"/dest dir/\"]\n",
            "COPY --parents --exclude=*.md --exclude=tmp ./src ./lib /app/\n",
            "ADD --checksum=sha256:abc --keep-git-dir=true --unpack=false https://example.com/a.tar /a\n",
            "ADD --link=false app.tar.gz /opt/\n",
        ),
        r#"
        1:1-1 FROM "alpine" as="build"
        2:1-2 FROM "alpine"
        3:1-3 COPY from="build" chown="app:app" chmod="0755" link ["/out/app"] -> "/usr/local/bin/"
        4:1-4 COPY ["with space.txt"] -> "/dest dir/"
        5:1-5 COPY parents exclude="*.md" exclude="tmp" ["./src", "./lib"] -> "/app/"
        6:1-6 ADD checksum="sha256:abc" keep-git-dir unpack=false ["https://example.com/a.tar"] -> "/a"
        7:1-7 ADD ["app.tar.gz"] -> "/opt/"
        stage 0 name=build base="alpine" instructions=0..1
        stage 1 base="alpine" instructions=1..7
        "#,
    );
}

#[test]
fn heredocs() {
    check(
        concat!(
            "FROM alpine\n",
            "RUN <<EOF\n",
            "apk add curl\n",
            "echo $HOME\n",
            "EOF\n",
            "RUN <<-\"END\" cat > /a && cat <<'B' > /b\n",
            "\tindented $X\n",
            "\tEND\n",
            "b body\n",
            "B\n",
            "COPY <<conf.ini /etc/app/\n",
            "[section]\n",
            "conf.ini\n",
            "RUN [\"echo\", \"<<EOF\"]\n",
            "RUN echo '<<NOT' \"<<NOR\" cat<<NEITHER\n",
        ),
        r#"
        1:1-1 FROM "alpine"
        2:1-5 RUN shell "<<EOF" <<EOF "apk add curl\necho $HOME\n"
        6:1-10 RUN shell "<<-\"END\" cat > /a && cat <<'B' > /b" <<END,strip-tabs,no-expand "\tindented $X\n" <<B,no-expand "b body\n"
        11:1-13 COPY ["<<conf.ini"] -> "/etc/app/" <<conf.ini "[section]\n"
        14:1-14 RUN exec ["echo", "<<EOF"]
        15:1-15 RUN shell "echo '<<NOT' \"<<NOR\" cat<<NEITHER"
        stage 0 base="alpine" instructions=0..6
        "#,
    );
}

#[test]
fn healthcheck_forms() {
    check(
        concat!(
            "FROM alpine\n",
            "HEALTHCHECK NONE\n",
            "HEALTHCHECK --interval=30s --timeout=1m30s --start-period=0 --start-interval=250ms --retries=3 CMD curl -f http://localhost/ || exit 1\n",
            "healthcheck cmd [\"/bin/check\"]\n",
        ),
        r#"
        1:1-1 FROM "alpine"
        2:1-2 HEALTHCHECK NONE
        3:1-3 HEALTHCHECK HealthcheckOptions { interval: Some(30s), timeout: Some(90s), start_period: Some(0ns), start_interval: Some(250ms), retries: Some(3) } shell "curl -f http://localhost/ || exit 1"
        4:1-4 HEALTHCHECK HealthcheckOptions { interval: None, timeout: None, start_period: None, start_interval: None, retries: None } exec ["/bin/check"]
        stage 0 base="alpine" instructions=0..4
        "#,
    );
}

#[test]
fn the_remaining_instructions() {
    check(
        concat!(
            "FROM alpine\n",
            "MAINTAINER Jane Doe <jane@example.com>\n",
            "EXPOSE 80/tcp 443 8000-8010/udp ${PORT}\n",
            "USER app:staff\n",
            "USER 1000\n",
            "WORKDIR /srv/my app\n",
            "VOLUME /data /logs\n",
            "VOLUME [\"/cache\"]\n",
            "STOPSIGNAL SIGTERM\n",
            "ONBUILD COPY . /app\n",
            "onbuild   run --mount=type=cache,target=/x make\n",
        ),
        r#"
        1:1-1 FROM "alpine"
        2:1-2 MAINTAINER "Jane Doe <jane@example.com>"
        3:1-3 EXPOSE ["80/tcp", "443", "8000-8010/udp", "${PORT}"]
        4:1-4 USER "app" group=Some("staff")
        5:1-5 USER "1000" group=None
        6:1-6 WORKDIR "/srv/my app"
        7:1-7 VOLUME ["/data", "/logs"]
        8:1-8 VOLUME ["/cache"]
        9:1-9 STOPSIGNAL "SIGTERM"
        10:1-10 ONBUILD 10:9-10 COPY ["."] -> "/app"
        11:1-11 ONBUILD 11:11-11 RUN mount="type=cache,target=/x" shell "make"
        stage 0 base="alpine" instructions=0..11
        "#,
    );
}

#[test]
fn crlf_line_endings_and_a_byte_order_mark() {
    check(
        "\u{feff}FROM alpine\r\nRUN echo a \\\r\n  b\r\n",
        r#"
        1:1-1 FROM "alpine"
        2:1-3 RUN shell "echo a   b"
        stage 0 base="alpine" instructions=0..2
        "#,
    );
}

#[test]
fn raw_text_and_spans_cover_continuations_and_heredocs() {
    let input = "FROM alpine\n  RUN a \\\n  b\nRUN <<EOF\nbody\nEOF\n";
    let dockerfile = slipway_dockerfile::parse(input).unwrap();
    let raws: Vec<&str> = dockerfile
        .instructions()
        .iter()
        .map(|i| i.raw.as_str())
        .collect();
    assert_eq!(
        raws,
        ["FROM alpine", "RUN a \\\n  b", "RUN <<EOF\nbody\nEOF"]
    );
}

#[test]
fn stages_are_found_by_name_or_index() {
    let dockerfile =
        slipway_dockerfile::parse("ARG X\nFROM a AS Deps\nFROM deps AS build\nRUN x\nFROM c\n")
            .unwrap();
    assert_eq!(dockerfile.stage("DEPS").map(|s| s.index()), Some(0));
    assert_eq!(dockerfile.stage("build").map(|s| s.index()), Some(1));
    assert_eq!(dockerfile.stage("2").map(|s| s.base().raw()), Some("c"));
    assert!(dockerfile.stage("3").is_none());
    assert!(dockerfile.stage("nope").is_none());
    assert_eq!(dockerfile.global_args().len(), 1);
    let build = dockerfile.stage("build").unwrap();
    assert_eq!(
        dockerfile.parent_stage(build).and_then(|s| s.name()),
        Some("deps")
    );
    assert_eq!(dockerfile.stage_instructions(build).len(), 2);
    assert!(dockerfile.parent_stage(dockerfile.final_stage()).is_none());
}
