//! Workflow commands: the `::name key=value,key=value::data` lines a step prints to talk to the
//! runner, parsed as GitHub's runner parses them.
//!
//! [`parse`] reads one line (leading whitespace allowed) into a [`Command`], unescaping the data
//! (`%25`, `%0D`, `%0A`) and the property values (also `%3A` and `%2C`). [`Directive`] says what
//! a command asks for: an annotation, a log group, a value to mask, output and state values, or
//! a pause in command processing (`::stop-commands::TOKEN` until `::TOKEN::`).

use slipway_store::{Annotation, AnnotationLevel};

/// A parsed workflow command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The command's name, lower-cased (names match ignoring case).
    pub name: String,
    /// `key=value` properties, in order, values unescaped.
    pub properties: Vec<(String, String)>,
    /// What follows the second `::`, unescaped.
    pub data: String,
}

impl Command {
    /// The value of property `key` (keys match exactly, as GitHub's do).
    pub fn property(&self, key: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads a workflow command from one line of a step's output, or `None` when the line is not
/// one.
pub fn parse(line: &str) -> Option<Command> {
    let line = line.trim_start();
    let rest = line.strip_prefix("::")?;
    let end = rest.find("::")?;
    let (info, data) = (&rest[..end], &rest[end + 2..]);
    let (name, properties_text) = match info.split_once(' ') {
        Some((name, properties)) => (name, properties.trim()),
        None => (info, ""),
    };
    if name.is_empty() {
        return None;
    }
    let properties = properties_text
        .split(',')
        .filter(|pair| !pair.is_empty())
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            (!key.is_empty()).then(|| (key.to_owned(), unescape_property(value)))
        })
        .collect();
    Some(Command {
        name: name.to_ascii_lowercase(),
        properties,
        data: unescape_data(data),
    })
}

/// `%0D`, `%0A` then `%25`: in that order, so `%250A` stays `%0A`.
fn unescape_data(text: &str) -> String {
    if !text.contains('%') {
        return text.to_owned();
    }
    text.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%25", "%")
}

fn unescape_property(text: &str) -> String {
    if !text.contains('%') {
        return text.to_owned();
    }
    text.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
}

/// What a command asks the runner to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Directive {
    /// `::error`, `::warning`, `::notice`: an annotation shown at the end of the run.
    Annotate(Annotation),
    /// `::group::title`: the start of a collapsible group.
    Group(String),
    /// `::endgroup::`.
    EndGroup,
    /// `::add-mask::value`: mask this value from now on.
    AddMask(String),
    /// `::stop-commands::token`: treat lines as plain text until `::token::`.
    StopCommands(String),
    /// `::debug::message`: shown only when step debugging is on.
    Debug(String),
    /// `::set-output name=x::value` (deprecated, still honoured).
    SetOutput {
        /// The output's name.
        name: String,
        /// Its value.
        value: String,
    },
    /// `::save-state name=x::value` (deprecated, still honoured): for the action's post step.
    SaveState {
        /// The state's name.
        name: String,
        /// Its value.
        value: String,
    },
    /// `::echo::on|off`: whether commands are echoed (only affects the log).
    Echo(bool),
    /// `::set-env name=X::value`: one of the commands GitHub disabled for security; honoured
    /// only where the step's env sets `ACTIONS_ALLOW_UNSECURE_COMMANDS` to true.
    SetEnv {
        /// The variable's name.
        name: String,
        /// Its value.
        value: String,
    },
    /// `::add-path::dir`: like `SetEnv`, disabled unless unsecure commands are allowed.
    AddPath(String),
    /// A command the runner does not know: the line is printed as it is.
    Unknown,
}

impl Directive {
    /// What `command` asks for.
    pub fn of(command: Command) -> Directive {
        let level = match command.name.as_str() {
            "error" => Some(AnnotationLevel::Error),
            "warning" => Some(AnnotationLevel::Warning),
            "notice" => Some(AnnotationLevel::Notice),
            _ => None,
        };
        if let Some(level) = level {
            return Directive::Annotate(annotation(level, &command));
        }
        let named = |command: &Command| command.property("name").unwrap_or_default().to_owned();
        match command.name.as_str() {
            "group" => Directive::Group(command.data),
            "endgroup" => Directive::EndGroup,
            "add-mask" => Directive::AddMask(command.data),
            "stop-commands" => Directive::StopCommands(command.data),
            "debug" => Directive::Debug(command.data),
            "set-output" => Directive::SetOutput {
                name: named(&command),
                value: command.data,
            },
            "save-state" => Directive::SaveState {
                name: named(&command),
                value: command.data,
            },
            "echo" => Directive::Echo(command.data.trim().eq_ignore_ascii_case("on")),
            "set-env" => Directive::SetEnv {
                name: named(&command),
                value: command.data,
            },
            "add-path" => Directive::AddPath(command.data),
            _ => Directive::Unknown,
        }
    }
}

/// Whether a step's environment allows the commands GitHub disabled (`set-env`, `add-path`):
/// `ACTIONS_ALLOW_UNSECURE_COMMANDS` set to `true` (or `1`, any case), as the Actions runner
/// reads it.
pub fn unsecure_commands_allowed<'a>(mut env: impl Iterator<Item = (&'a str, &'a str)>) -> bool {
    env.any(|(name, value)| {
        name == "ACTIONS_ALLOW_UNSECURE_COMMANDS"
            && (value.trim().eq_ignore_ascii_case("true") || value.trim() == "1")
    })
}

fn annotation(level: AnnotationLevel, command: &Command) -> Annotation {
    let number = |key: &str| command.property(key).and_then(|v| v.trim().parse().ok());
    Annotation {
        level,
        message: command.data.clone(),
        title: command.property("title").map(str::to_owned),
        file: command.property("file").map(str::to_owned),
        line: number("line"),
        end_line: number("endLine"),
        column: number("col"),
        end_column: number("endColumn"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn command(line: &str) -> Command {
        parse(line).unwrap_or_else(|| panic!("{line:?} is a command"))
    }

    #[test]
    fn commands_with_properties_and_escapes() {
        let error =
            command("  ::error file=src/a%2Cb.rs,line=3,col=7,title=Bad%3A x::multi%0Aline 100%25");
        assert_eq!(error.name, "error");
        assert_eq!(error.property("file"), Some("src/a,b.rs"));
        assert_eq!(error.property("title"), Some("Bad: x"));
        assert_eq!(error.data, "multi\nline 100%");
        let Directive::Annotate(annotation) = Directive::of(error) else {
            panic!()
        };
        assert_eq!(annotation.level, AnnotationLevel::Error);
        assert_eq!((annotation.line, annotation.column), (Some(3), Some(7)));
        assert_eq!(annotation.end_line, None);
        assert_eq!(command("::GROUP::Build").name, "group");
        assert_eq!(command("::endgroup::").data, "");
        assert_eq!(command("::x a=1,,b=2,=3,c::d").properties.len(), 2);
        assert_eq!(command("::add-mask::%250A").data, "%0A");
    }

    #[test]
    fn lines_that_are_not_commands() {
        for line in [
            "",
            "hello",
            ": :x::",
            "::::",
            "::notclosed",
            "::  ::x",
            "echo ::error::x",
        ] {
            assert_eq!(parse(line), None, "{line:?}");
        }
    }

    #[test]
    fn directives_say_what_commands_ask_for() {
        let of = |line: &str| Directive::of(command(line));
        assert_eq!(
            of("::add-mask::s3cret"),
            Directive::AddMask("s3cret".into())
        );
        assert_eq!(
            of("::stop-commands::tok"),
            Directive::StopCommands("tok".into())
        );
        assert_eq!(
            of("::set-output name=x::1"),
            Directive::SetOutput {
                name: "x".into(),
                value: "1".into()
            }
        );
        assert_eq!(
            of("::set-env name=A::1"),
            Directive::SetEnv {
                name: "A".into(),
                value: "1".into()
            }
        );
        assert_eq!(
            of("::add-path::/opt/x"),
            Directive::AddPath("/opt/x".into())
        );
        assert_eq!(of("::echo::ON"), Directive::Echo(true));
        assert_eq!(of("::whatever::x"), Directive::Unknown);
    }

    proptest! {
        #[test]
        fn parsing_never_panics_and_keeps_names_lower_case(line in ".{0,64}") {
            if let Some(command) = parse(&line) {
                prop_assert_eq!(command.name.to_ascii_lowercase(), command.name.clone());
                prop_assert!(!command.name.is_empty());
            }
        }

        #[test]
        fn escaped_data_reads_back(data in "[ -~\\n\\r]{0,40}") {
            let escaped = data.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A");
            let command = parse(&format!("::notice::{escaped}")).unwrap();
            prop_assert_eq!(command.data, data);
        }
    }
}
