//! Property tests: generated Dockerfiles parse into the trees they were generated from, and no
//! input makes the parser panic.
//!
//! A generated instruction is a [`Spec`]; [`Spec::render`] gives its text on one logical line and,
//! independently of the parser, the tree dump it must parse into. [`layout`] then writes the
//! instructions out with random keyword case, indentation, comments, blank lines and line
//! continuations (with comments inside them), remembering where each keyword lands.

use proptest::prelude::*;

use crate::dump;

/// One generated instruction.
#[derive(Debug, Clone)]
enum Spec {
    From {
        image: String,
        platform: bool,
        named: bool,
    },
    Arg(Vec<(String, Option<String>)>),
    Env {
        pairs: Vec<(String, String)>,
        legacy: bool,
    },
    Label(Vec<(String, String)>),
    Run {
        mounts: Vec<String>,
        network: Option<String>,
        command: Form,
    },
    RunHeredoc {
        strip_tabs: bool,
        quoted: bool,
        body: Vec<String>,
    },
    Cmd(Form),
    Entrypoint(Form),
    Shell(Vec<String>),
    Copy {
        from: Option<String>,
        chown: Option<String>,
        link: bool,
        sources: Vec<String>,
        dest: String,
    },
    Add {
        checksum: Option<String>,
        sources: Vec<String>,
        dest: String,
    },
    Expose(Vec<String>),
    Healthcheck(Option<(Option<u32>, Option<u8>, Form)>),
    Onbuild(Box<Spec>),
    User(String, Option<String>),
    Workdir(String),
    Volume(Vec<String>),
    Stopsignal(String),
    Maintainer(String),
}

#[derive(Debug, Clone)]
enum Form {
    Exec(Vec<String>),
    Shell(String),
}

impl Form {
    fn text(&self) -> String {
        match self {
            Form::Exec(args) => serde_json::to_string(args).unwrap(),
            Form::Shell(text) => text.clone(),
        }
    }

    fn dump(&self) -> String {
        match self {
            Form::Exec(args) => format!("exec {args:?}"),
            Form::Shell(text) => format!("shell {text:?}"),
        }
    }
}

/// An instruction's text on one logical line, the heredoc lines after it, and its dump.
struct Rendered {
    keyword: &'static str,
    /// The text after the keyword (starting with a space when there is any).
    rest: String,
    heredoc_lines: Vec<String>,
    /// The expected dump; `{TRIGGER}` stands for the ONBUILD trigger's `line:column`.
    expected: String,
}

impl Spec {
    fn render(&self, index: usize) -> Rendered {
        let (keyword, rest, expected) = match self {
            Spec::From {
                image,
                platform,
                named,
            } => {
                let mut rest = String::new();
                let mut expected = format!("{image:?}");
                if *platform {
                    rest.push_str(" --platform=linux/amd64");
                    expected.push_str(" platform=\"linux/amd64\"");
                }
                rest.push_str(&format!(" {image}"));
                if *named {
                    rest.push_str(&format!(" AS Stage{index}"));
                    expected.push_str(&format!(" as=\"stage{index}\""));
                }
                ("FROM", rest, expected)
            }
            Spec::Arg(args) => {
                let words: Vec<String> = args
                    .iter()
                    .map(|(name, default)| match default {
                        Some(default) => format!("{name}={default}"),
                        None => name.clone(),
                    })
                    .collect();
                let expected: Vec<String> = args
                    .iter()
                    .map(|(name, default)| match default {
                        Some(default) => format!("{name:?}={default:?}"),
                        None => format!("{name:?}"),
                    })
                    .collect();
                ("ARG", format!(" {}", words.join(" ")), expected.join(" "))
            }
            Spec::Env {
                pairs,
                legacy: true,
            } => {
                let (key, value) = &pairs[0];
                (
                    "ENV",
                    format!(" {key} {value}"),
                    format!("{key:?}={value:?}"),
                )
            }
            Spec::Env {
                pairs,
                legacy: false,
            } => ("ENV", key_values(pairs).0, key_values(pairs).1),
            Spec::Label(pairs) => ("LABEL", key_values(pairs).0, key_values(pairs).1),
            Spec::Run {
                mounts,
                network,
                command,
            } => {
                let mut rest = String::new();
                let mut expected = String::new();
                for mount in mounts {
                    rest.push_str(&format!(" --mount={mount}"));
                    expected.push_str(&format!("mount={mount:?} "));
                }
                if let Some(network) = network {
                    rest.push_str(&format!(" --network={network}"));
                    expected.push_str(&format!("network={network:?} "));
                }
                rest.push_str(&format!(" {}", command.text()));
                expected.push_str(&command.dump());
                ("RUN", rest, expected)
            }
            Spec::RunHeredoc {
                strip_tabs,
                quoted,
                body,
            } => {
                let dash = if *strip_tabs { "-" } else { "" };
                let marker = if *quoted { "'EOT'" } else { "EOT" };
                let rest = format!(" <<{dash}{marker} sh");
                let mut flags = String::new();
                if *strip_tabs {
                    flags.push_str(",strip-tabs");
                }
                if *quoted {
                    flags.push_str(",no-expand");
                }
                let content: String = body.iter().map(|line| format!("{line}\n")).collect();
                let expected = format!("shell {:?} <<EOT{flags} {content:?}", &rest[1..]);
                let mut lines = body.clone();
                lines.push(if *strip_tabs {
                    "\t\tEOT".to_owned()
                } else {
                    "EOT".to_owned()
                });
                return Rendered {
                    keyword: "RUN",
                    rest,
                    heredoc_lines: lines,
                    expected: format!("RUN {expected}"),
                };
            }
            Spec::Cmd(form) => ("CMD", format!(" {}", form.text()), form.dump()),
            Spec::Entrypoint(form) => ("ENTRYPOINT", format!(" {}", form.text()), form.dump()),
            Spec::Shell(args) => (
                "SHELL",
                format!(" {}", serde_json::to_string(args).unwrap()),
                format!("{args:?}"),
            ),
            Spec::Copy {
                from,
                chown,
                link,
                sources,
                dest,
            } => {
                let mut rest = String::new();
                let mut expected = String::new();
                if let Some(from) = from {
                    rest.push_str(&format!(" --from={from}"));
                    expected.push_str(&format!("from={from:?} "));
                }
                if let Some(chown) = chown {
                    rest.push_str(&format!(" --chown={chown}"));
                    expected.push_str(&format!("chown={chown:?} "));
                }
                if *link {
                    rest.push_str(" --link");
                    expected.push_str("link ");
                }
                rest.push_str(&format!(" {} {dest}", sources.join(" ")));
                expected.push_str(&format!("{sources:?} -> {dest:?}"));
                ("COPY", rest, expected)
            }
            Spec::Add {
                checksum,
                sources,
                dest,
            } => {
                let mut rest = String::new();
                let mut expected = String::new();
                if let Some(checksum) = checksum {
                    rest.push_str(&format!(" --checksum={checksum}"));
                    expected.push_str(&format!("checksum={checksum:?} "));
                }
                rest.push_str(&format!(" {} {dest}", sources.join(" ")));
                expected.push_str(&format!("{sources:?} -> {dest:?}"));
                ("ADD", rest, expected)
            }
            Spec::Expose(ports) => (
                "EXPOSE",
                format!(" {}", ports.join(" ")),
                format!("{ports:?}"),
            ),
            Spec::Healthcheck(None) => ("HEALTHCHECK", " NONE".to_owned(), "NONE".to_owned()),
            Spec::Healthcheck(Some((interval, retries, form))) => {
                let mut rest = String::new();
                if let Some(seconds) = interval {
                    rest.push_str(&format!(" --interval={seconds}s"));
                }
                if let Some(retries) = retries {
                    rest.push_str(&format!(" --retries={retries}"));
                }
                rest.push_str(&format!(" CMD {}", form.text()));
                let interval = interval.map(|s| std::time::Duration::from_secs(u64::from(s)));
                let expected = format!(
                    "HealthcheckOptions {{ interval: {interval:?}, timeout: None, start_period: None, \
                     start_interval: None, retries: {:?} }} {}",
                    retries.map(u32::from),
                    form.dump()
                );
                ("HEALTHCHECK", rest, expected)
            }
            Spec::Onbuild(trigger) => {
                let inner = trigger.render(index);
                let expected = format!("{{TRIGGER}}-{{END}} {}", inner.expected);
                (
                    "ONBUILD",
                    format!(" {}{}", inner.keyword, inner.rest),
                    expected,
                )
            }
            Spec::User(user, group) => {
                let text = match group {
                    Some(group) => format!("{user}:{group}"),
                    None => user.clone(),
                };
                (
                    "USER",
                    format!(" {text}"),
                    format!("{user:?} group={group:?}"),
                )
            }
            Spec::Workdir(path) => ("WORKDIR", format!(" {path}"), format!("{path:?}")),
            Spec::Volume(paths) => (
                "VOLUME",
                format!(" {}", paths.join(" ")),
                format!("{paths:?}"),
            ),
            Spec::Stopsignal(signal) => ("STOPSIGNAL", format!(" {signal}"), format!("{signal:?}")),
            Spec::Maintainer(name) => ("MAINTAINER", format!(" {name}"), format!("{name:?}")),
        };
        Rendered {
            keyword,
            rest,
            heredoc_lines: Vec::new(),
            expected: format!("{keyword} {expected}"),
        }
    }
}

fn key_values(pairs: &[(String, String)]) -> (String, String) {
    let text: String = pairs
        .iter()
        .map(|(key, value)| format!(" {key}={value}"))
        .collect();
    let expected: Vec<String> = pairs
        .iter()
        .map(|(key, value)| format!("{key:?}={value:?}"))
        .collect();
    (text, expected.join(" "))
}

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_]{0,6}"
}

fn word() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9._/-]{0,7}"
}

fn form() -> impl Strategy<Value = Form> {
    prop_oneof![
        prop::collection::vec("[a-z0-9 =$-]{0,6}", 0..4).prop_map(Form::Exec),
        prop::collection::vec(
            prop_oneof![word(), Just("&&".to_owned()), Just("|".to_owned())],
            1..6
        )
        .prop_map(|words| Form::Shell(words.join(" "))),
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        word(),
        "[a-z ]{0,6}".prop_map(|text| format!("\"{text}\"")),
        Just(String::new())
    ]
}

fn from() -> impl Strategy<Value = Spec> {
    (
        "[a-z][a-z0-9]{0,6}(:[a-z0-9.]{1,5})?",
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(image, platform, named)| Spec::From {
            image,
            platform,
            named,
        })
}

fn trigger() -> impl Strategy<Value = Spec> {
    prop_oneof![
        form().prop_map(Spec::Cmd),
        (prop::collection::vec(word(), 1..3), word()).prop_map(|(sources, dest)| Spec::Copy {
            from: None,
            chown: None,
            link: false,
            sources,
            dest
        }),
        word().prop_map(Spec::Workdir),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    prop_oneof![
        from(),
        prop::collection::vec((name(), prop::option::of("[a-z0-9]{0,4}")), 1..3)
            .prop_map(Spec::Arg),
        (name(), "[a-z0-9]{1,4}( [a-z0-9]{1,4}){0,2}").prop_map(|(key, value)| Spec::Env {
            pairs: vec![(key, value)],
            legacy: true
        }),
        prop::collection::vec((name(), value()), 1..3).prop_map(|pairs| Spec::Env {
            pairs,
            legacy: false
        }),
        prop::collection::vec(("[a-z][a-z.]{0,8}", value()), 1..3).prop_map(Spec::Label),
        (
            prop::collection::vec("type=cache,target=/[a-z]{1,5}", 0..2),
            prop::option::of(prop_oneof![
                Just("none".to_owned()),
                Just("host".to_owned())
            ]),
            form()
        )
            .prop_map(|(mounts, network, command)| Spec::Run {
                mounts,
                network,
                command
            }),
        (
            any::<bool>(),
            any::<bool>(),
            prop::collection::vec("[a-z $]{0,10}", 0..3)
        )
            .prop_map(|(strip_tabs, quoted, body)| Spec::RunHeredoc {
                strip_tabs,
                quoted,
                body
            }),
        form().prop_map(Spec::Cmd),
        form().prop_map(Spec::Entrypoint),
        prop::collection::vec("[a-z/-]{1,6}", 1..4).prop_map(Spec::Shell),
        (
            prop::option::of("[a-z][a-z0-9]{0,4}"),
            prop::option::of("[a-z]{1,4}:[a-z]{1,4}"),
            any::<bool>(),
            prop::collection::vec(word(), 1..3),
            word()
        )
            .prop_map(|(from, chown, link, sources, dest)| Spec::Copy {
                from,
                chown,
                link,
                sources,
                dest
            }),
        (
            prop::option::of("sha256:[0-9a-f]{8}"),
            prop::collection::vec(word(), 1..3),
            word()
        )
            .prop_map(|(checksum, sources, dest)| Spec::Add {
                checksum,
                sources,
                dest
            }),
        prop::collection::vec("[0-9]{1,5}(/tcp|/udp)?", 1..4).prop_map(Spec::Expose),
        prop::option::of((
            prop::option::of(1u32..600),
            prop::option::of(any::<u8>()),
            form()
        ))
        .prop_map(Spec::Healthcheck),
        trigger().prop_map(|trigger| Spec::Onbuild(Box::new(trigger))),
        ("[a-z0-9]{1,6}", prop::option::of("[a-z0-9]{1,6}"))
            .prop_map(|(user, group)| Spec::User(user, group)),
        word().prop_map(Spec::Workdir),
        prop::collection::vec(word(), 1..3).prop_map(Spec::Volume),
        "SIG[A-Z]{3,4}".prop_map(Spec::Stopsignal),
        "[A-Za-z]{1,5}( [A-Za-z<>@.]{1,8}){0,2}".prop_map(Spec::Maintainer),
    ]
}

/// How one instruction is written out.
#[derive(Debug, Clone)]
struct Style {
    case: u8,
    indent: String,
    /// Bit k: continue the line after the k-th space where that is possible.
    splits: u32,
    comment_in_continuation: bool,
    comments_before: u8,
}

fn style() -> impl Strategy<Value = Style> {
    (0u8..3, "[ \t]{0,3}", any::<u32>(), any::<bool>(), 0u8..3).prop_map(
        |(case, indent, splits, comment_in_continuation, comments_before)| Style {
            case,
            indent,
            splits,
            comment_in_continuation,
            comments_before,
        },
    )
}

/// Writes the instructions out and returns the text and the expected dump lines.
fn layout(specs: &[(Spec, Style)], escape: char) -> (String, Vec<String>) {
    let mut text = String::new();
    let mut line = 1;
    if escape != '\\' {
        text.push_str(&format!("# escape={escape}\n"));
        line += 1;
    }
    let mut expected = Vec::new();
    for (index, (spec, style)) in specs.iter().enumerate() {
        for n in 0..style.comments_before {
            text.push_str(if n % 2 == 0 { "# a comment\n" } else { "\n" });
            line += 1;
        }
        let rendered = spec.render(index);
        let keyword = match style.case {
            0 => rendered.keyword.to_owned(),
            1 => rendered.keyword.to_ascii_lowercase(),
            _ => rendered
                .keyword
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if i % 2 == 0 {
                        c
                    } else {
                        c.to_ascii_lowercase()
                    }
                })
                .collect(),
        };
        let logical = format!("{keyword}{}", rendered.rest);
        let start_line = line;
        let start_column = style.indent.chars().count() + 1;
        text.push_str(&style.indent);
        // The ONBUILD trigger keyword starts right after "ONBUILD ".
        let trigger_offset = keyword.len() + 1;
        let mut trigger_position = (line, start_column + trigger_offset);
        let mut column = start_column;
        let mut space_index = 0;
        for (offset, c) in logical.char_indices() {
            if offset == trigger_offset {
                trigger_position = (line, column);
            }
            text.push(c);
            column += 1;
            let next = logical[offset + c.len_utf8()..].chars().next();
            let can_split =
                c == ' ' && next.is_some_and(|next| !next.is_whitespace() && next != '#');
            if can_split {
                if style.splits & (1 << (space_index % 32)) != 0 {
                    text.push(escape);
                    text.push('\n');
                    line += 1;
                    if style.comment_in_continuation {
                        text.push_str("  # inside\n\n");
                        line += 2;
                    }
                    column = 1;
                }
                space_index += 1;
            }
        }
        text.push('\n');
        line += 1;
        for heredoc_line in &rendered.heredoc_lines {
            text.push_str(heredoc_line);
            text.push('\n');
            line += 1;
        }
        let end_line = line - 1;
        let payload = rendered
            .expected
            .replace(
                "{TRIGGER}",
                &format!("{}:{}", trigger_position.0, trigger_position.1),
            )
            .replace("{END}", &end_line.to_string());
        expected.push(format!("{start_line}:{start_column}-{end_line} {payload}"));
    }
    (text, expected)
}

fn dockerfile() -> impl Strategy<Value = (Vec<(Spec, Style)>, char)> {
    (
        prop::collection::vec(
            (
                prop::collection::vec(name(), 1..3)
                    .prop_map(|names| names.into_iter().map(|n| (n, None)).collect())
                    .prop_map(Spec::Arg),
                style(),
            ),
            0..2,
        ),
        (from(), style()),
        prop::collection::vec((spec(), style()), 0..12),
        prop_oneof![Just('\\'), Just('`')],
    )
        .prop_map(|(args, first, rest, escape)| {
            let mut specs = args;
            specs.push(first);
            specs.extend(rest);
            (specs, escape)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn generated_dockerfiles_parse_into_the_generated_trees((specs, escape) in dockerfile()) {
        let (text, expected) = layout(&specs, escape);
        let parsed = slipway_dockerfile::parse(&text)
            .map_err(|error| TestCaseError::fail(format!("{error}\n{text}")))?;
        let actual: Vec<String> = parsed.instructions().iter().map(dump::instruction_line).collect();
        prop_assert_eq!(actual, expected, "\n{}", text);
        let froms = specs.iter().filter(|(spec, _)| matches!(spec, Spec::From { .. })).count();
        prop_assert_eq!(parsed.stages().len(), froms);
    }

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        check_invariants(&text);
    }

    #[test]
    fn dockerfile_like_text_never_panics(text in "([A-Za-z]{0,6}|[ \t\\\\`#=<>\"'{}$:,-]|\\[|\\]|\r?\n|--|<<-?|\u{e9}){0,60}") {
        check_invariants(&text);
    }

    #[test]
    fn text_without_quotes_escapes_or_dollars_expands_to_itself(text in "[A-Za-z0-9 ./:@_{}-]{0,40}") {
        let expanded = slipway_dockerfile::expand_variables(&text, '\\', &|_| None);
        prop_assert_eq!(expanded.as_deref(), Some(text.as_str()));
    }

    #[test]
    fn each_reference_form_gives_the_variable_when_it_is_set(
        prefix in "[a-z./:-]{0,10}",
        value in "[a-z0-9.:-]{1,10}",
        form in prop::sample::select(vec!["$V", "${V}", "${V:-d}", "${V-d}", "\"$V\""]),
    ) {
        let text = format!("{prefix}{form}");
        let expanded = slipway_dockerfile::expand_variables(&text, '\\', &|name| (name == "V").then(|| value.clone()));
        prop_assert_eq!(expanded, Some(format!("{prefix}{value}")));
    }

    #[test]
    fn expanding_dockerfile_like_text_never_panics(text in "([A-Za-z]{0,4}|[ \\`\"'{}$:+?#-])*") {
        let _ = slipway_dockerfile::expand_variables(&text, '\\', &|name| (name.len() % 2 == 0).then(|| name.to_owned()));
    }
}

/// Whatever the input, parsing returns; a parsed Dockerfile has stages and in-range spans, and an
/// error points inside the text.
fn check_invariants(text: &str) {
    let lines = text.split('\n').count().max(1);
    match slipway_dockerfile::parse(text) {
        Ok(dockerfile) => {
            assert!(!dockerfile.stages().is_empty());
            for instruction in dockerfile.instructions() {
                assert!(instruction.span.line <= instruction.span.end_line);
                assert!(instruction.span.end_line <= lines);
            }
        }
        Err(error) => {
            assert!(
                error.line() >= 1 && error.line() <= lines,
                "{error} for {text:?}"
            );
            assert!(error.column() >= 1);
        }
    }
}
