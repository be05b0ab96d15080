//! From logical lines to [`Instruction`]s: keywords, flags, arguments and heredoc bodies.
//!
//! Each instruction's arguments are read the way BuildKit reads them (see `words`), then checked
//! the way BuildKit's instruction parser checks them, so a Dockerfile rejected here is one
//! `docker build` would reject too, and the error points at the offending word.

use crate::directives::Directives;
use crate::duration::parse_go_duration;
use crate::error::ParseError;
use crate::flags::{FlagKind, FlagSpec, Flags};
use crate::image::ImageRef;
use crate::instruction::{
    AddInstruction, ArgDeclaration, Command, CopyInstruction, FileTransfer, FromInstruction,
    Healthcheck, HealthcheckOptions, Heredoc, Instruction, InstructionKind, KeyValue,
    RunInstruction, Span, User,
};
use crate::lines::{Lines, LogicalLine, PeekableLines, next_logical_line};
use crate::words::{FlagWord, Word, extract_flags, is_separator, quoted_words, whitespace_words};

/// Reads the directives and every instruction of `input`.
pub(crate) fn parse_instructions(
    input: &str,
) -> Result<(Directives, Vec<Instruction>), ParseError> {
    let mut lines = Lines::new(input);
    let directives = Directives::parse(&mut lines)?;
    let escape = directives.escape();
    let mut instructions = Vec::new();
    while let Some(mut logical) = next_logical_line(&mut lines, escape) {
        let mut parsed = parse_line(&logical, 0, escape)?;
        if let Some(heredocs) = parsed.heredocs_mut() {
            *heredocs = read_heredocs(&mut logical, &mut lines)?;
        }
        let span = span_at(&logical, parsed.keyword_offset);
        instructions.push(Instruction {
            kind: parsed.kind,
            span,
            raw: input[logical.source()].to_owned(),
        });
    }
    Ok((directives, instructions))
}

fn span_at(logical: &LogicalLine, offset: usize) -> Span {
    let start = logical.position(offset);
    Span {
        line: start.line,
        column: start.column,
        end_line: logical.last_line(),
    }
}

/// An instruction read from a logical line, before heredoc bodies are attached.
struct Parsed {
    kind: InstructionKind,
    keyword_offset: usize,
    /// Whether `<<WORD` on this line opens heredocs (shell-form RUN, non-JSON COPY and ADD).
    takes_heredocs: bool,
}

impl Parsed {
    fn heredocs_mut(&mut self) -> Option<&mut Vec<Heredoc>> {
        if !self.takes_heredocs {
            return None;
        }
        match &mut self.kind {
            InstructionKind::Run(run) => Some(&mut run.heredocs),
            InstructionKind::Copy(copy) => Some(&mut copy.files.heredocs),
            InstructionKind::Add(add) => Some(&mut add.files.heredocs),
            _ => None,
        }
    }
}

/// The pieces of one instruction's line, handed to the per-instruction parsers.
struct Arguments<'a> {
    logical: &'a LogicalLine,
    keyword: &'static str,
    keyword_offset: usize,
    flag_words: Vec<FlagWord>,
    /// The arguments after the flags, surrounding whitespace removed.
    text: &'a str,
    /// Byte offset of `text` in the logical line.
    offset: usize,
    escape: char,
}

impl Arguments<'_> {
    fn error_at(&self, offset: usize, message: impl Into<String>) -> ParseError {
        ParseError::new(self.logical.position(offset), message)
    }

    /// An error pointing at the instruction's keyword.
    fn error(&self, message: impl Into<String>) -> ParseError {
        self.error_at(self.keyword_offset, message)
    }

    fn flags(&self, spec: FlagSpec) -> Result<Flags, ParseError> {
        Flags::check(&self.flag_words, spec, self.keyword)
            .map_err(|error| self.error_at(error.offset, error.message))
    }

    fn no_flags(&self) -> Result<(), ParseError> {
        self.flags(&[]).map(drop)
    }

    fn require_text(&self, what: &str) -> Result<&str, ParseError> {
        if self.text.is_empty() {
            return Err(self.error(format!("{} requires {what}", self.keyword)));
        }
        Ok(self.text)
    }

    fn whitespace_words(&self) -> Vec<Word<'_>> {
        whitespace_words(self.text, self.offset)
    }

    fn quoted_words(&self) -> Vec<Word<'_>> {
        quoted_words(self.text, self.offset, self.escape)
    }
}

/// Parses the instruction starting at byte `start` of `logical` (0, or the trigger of ONBUILD).
fn parse_line(logical: &LogicalLine, start: usize, escape: char) -> Result<Parsed, ParseError> {
    let text = logical.text();
    let keyword_offset = start + (text[start..].len() - text[start..].trim_start().len());
    let keyword_end = text[keyword_offset..]
        .find(is_separator)
        .map_or(text.len(), |end| keyword_offset + end);
    let written = &text[keyword_offset..keyword_end];
    let Some(keyword) = KEYWORDS
        .iter()
        .copied()
        .find(|known| known.eq_ignore_ascii_case(written))
    else {
        return Err(ParseError::new(
            logical.position(keyword_offset),
            format!("unknown instruction: {written}"),
        ));
    };
    let (flag_words, args_start) = extract_flags(text, keyword_end);
    let untrimmed = &text[args_start..];
    let args_text = untrimmed.trim();
    let args = Arguments {
        logical,
        keyword,
        keyword_offset,
        flag_words,
        text: args_text,
        offset: args_start + (untrimmed.len() - untrimmed.trim_start().len()),
        escape,
    };
    let (kind, takes_heredocs) = match keyword {
        "FROM" => (parse_from(&args)?, false),
        "ARG" => (parse_arg(&args)?, false),
        "ENV" => (InstructionKind::Env(parse_key_values(&args)?), false),
        "LABEL" => (InstructionKind::Label(parse_key_values(&args)?), false),
        "RUN" => parse_run(&args)?,
        "CMD" => (InstructionKind::Cmd(parse_plain_command(&args)?), false),
        "ENTRYPOINT" => (
            InstructionKind::Entrypoint(parse_plain_command(&args)?),
            false,
        ),
        "SHELL" => (parse_shell(&args)?, false),
        "COPY" => parse_copy(&args)?,
        "ADD" => parse_add(&args)?,
        "EXPOSE" => (parse_expose(&args)?, false),
        "HEALTHCHECK" => (parse_healthcheck(&args)?, false),
        "ONBUILD" => (parse_onbuild(&args)?, false),
        "USER" => (parse_user(&args)?, false),
        "WORKDIR" => (
            InstructionKind::Workdir(parse_string(&args, "a path")?),
            false,
        ),
        "VOLUME" => (parse_volume(&args)?, false),
        "STOPSIGNAL" => (
            InstructionKind::Stopsignal(parse_string(&args, "a signal")?),
            false,
        ),
        _ => (
            InstructionKind::Maintainer(parse_string(&args, "a name")?),
            false,
        ),
    };
    Ok(Parsed {
        kind,
        keyword_offset,
        takes_heredocs,
    })
}

const KEYWORDS: &[&str] = &[
    "FROM",
    "ARG",
    "ENV",
    "LABEL",
    "RUN",
    "CMD",
    "ENTRYPOINT",
    "SHELL",
    "COPY",
    "ADD",
    "EXPOSE",
    "HEALTHCHECK",
    "ONBUILD",
    "USER",
    "WORKDIR",
    "VOLUME",
    "STOPSIGNAL",
    "MAINTAINER",
];

fn parse_from(args: &Arguments<'_>) -> Result<InstructionKind, ParseError> {
    let flags = args.flags(&[("platform", FlagKind::String)])?;
    let words = args.whitespace_words();
    let usage = "FROM takes an image and an optional stage name: FROM image [AS name]";
    let stage_name = match words.as_slice() {
        [] => return Err(args.error(usage)),
        [_] => None,
        [_, as_word, name] if as_word.text.eq_ignore_ascii_case("as") => {
            Some(stage_name(args, name)?)
        }
        [_, as_word, _] => {
            return Err(args.error_at(
                as_word.offset,
                format!("expected AS, found {:?}", as_word.text),
            ));
        }
        [_, extra] | [_, _, _, extra, ..] => return Err(args.error_at(extra.offset, usage)),
    };
    Ok(InstructionKind::From(FromInstruction {
        image: ImageRef::new(words[0].text),
        platform: flags.string("platform"),
        stage_name,
    }))
}

/// Checks a stage name as BuildKit does (`^[a-z][a-z0-9-_.]*$`, case-insensitively), lowercased.
fn stage_name(args: &Arguments<'_>, word: &Word<'_>) -> Result<String, ParseError> {
    let name = word.text.to_ascii_lowercase();
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|first| first.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
    if !valid {
        return Err(args.error_at(
            word.offset,
            format!(
                "invalid stage name {:?}: it must start with a letter and hold only letters, \
                 digits, '-', '_' and '.'",
                word.text
            ),
        ));
    }
    Ok(name)
}

fn parse_arg(args: &Arguments<'_>) -> Result<InstructionKind, ParseError> {
    args.no_flags()?;
    let words = args.quoted_words();
    if words.is_empty() {
        return Err(args.error("ARG requires at least one name: ARG name[=default]"));
    }
    let declarations = words
        .iter()
        .map(|word| {
            let (name, default) = match word.text.split_once('=') {
                Some((name, default)) => (name, Some(default.to_owned())),
                None => (word.text, None),
            };
            if name.is_empty() {
                return Err(args.error_at(word.offset, "ARG names can not be blank"));
            }
            Ok(ArgDeclaration {
                name: name.to_owned(),
                default,
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(InstructionKind::Arg(declarations))
}

/// `ENV`/`LABEL`: `k=v k2=v2`, or the legacy `k v` when the first word has no `=`.
fn parse_key_values(args: &Arguments<'_>) -> Result<Vec<KeyValue>, ParseError> {
    args.no_flags()?;
    let keyword = args.keyword;
    let words = args.quoted_words();
    let Some(first) = words.first() else {
        return Err(args.error(format!("{keyword} requires at least one key=value pair")));
    };
    if !first.text.contains('=') {
        let Some(separator) = args.text.find(is_separator) else {
            return Err(args.error_at(
                first.offset,
                format!(
                    "{keyword} must have two arguments: {keyword} key value, or {keyword} key=value"
                ),
            ));
        };
        let value = args.text[separator..].trim_start_matches(is_separator);
        return Ok(vec![KeyValue {
            key: args.text[..separator].to_owned(),
            value: value.to_owned(),
        }]);
    }
    words
        .iter()
        .map(|word| {
            let Some((key, value)) = word.text.split_once('=') else {
                return Err(args.error_at(
                    word.offset,
                    format!(
                        "can't find = in {:?}: it must be of the form key=value",
                        word.text
                    ),
                ));
            };
            if key.is_empty() {
                return Err(args.error_at(word.offset, format!("{keyword} names can not be blank")));
            }
            Ok(KeyValue {
                key: key.to_owned(),
                value: value.to_owned(),
            })
        })
        .collect()
}

fn parse_run(args: &Arguments<'_>) -> Result<(InstructionKind, bool), ParseError> {
    let flags = args.flags(&[
        ("mount", FlagKind::Strings),
        ("network", FlagKind::String),
        ("security", FlagKind::String),
    ])?;
    args.require_text("a command")?;
    let command = parse_command(args)?;
    let takes_heredocs = matches!(command, Command::Shell(_));
    let run = RunInstruction {
        command,
        mounts: flags.strings("mount"),
        network: flags.string("network"),
        security: flags.string("security"),
        heredocs: Vec::new(),
    };
    Ok((InstructionKind::Run(run), takes_heredocs))
}

fn parse_plain_command(args: &Arguments<'_>) -> Result<Command, ParseError> {
    args.no_flags()?;
    parse_command(args)
}

/// The exec form when the arguments are a JSON array of strings, else the shell form, as
/// BuildKit's `parseMaybeJSON` (a malformed array is a shell command).
fn parse_command(args: &Arguments<'_>) -> Result<Command, ParseError> {
    Ok(match json_strings(args)? {
        Some(exec) => Command::Exec(exec),
        None => Command::Shell(args.text.to_owned()),
    })
}

/// `Some(strings)` when the arguments are a JSON array of strings; `None` when they are not JSON.
/// A JSON array holding anything but strings is an error, as in BuildKit.
fn json_strings(args: &Arguments<'_>) -> Result<Option<Vec<String>>, ParseError> {
    if !args.text.starts_with('[') {
        return Ok(None);
    }
    let Ok(values) = serde_json::from_str::<Vec<serde_json::Value>>(args.text) else {
        return Ok(None);
    };
    values
        .into_iter()
        .map(|value| match value {
            serde_json::Value::String(string) => Ok(string),
            _ => Err(args.error_at(
                args.offset,
                "when using JSON array syntax, arrays must be comprised of strings only",
            )),
        })
        .collect::<Result<_, _>>()
        .map(Some)
}

fn parse_shell(args: &Arguments<'_>) -> Result<InstructionKind, ParseError> {
    args.no_flags()?;
    match json_strings(args)? {
        Some(shell) if shell.is_empty() => Err(args.error("SHELL requires at least one argument")),
        Some(shell) => Ok(InstructionKind::Shell(shell)),
        None => Err(args.error(
            "SHELL requires the arguments to be in JSON form, e.g. SHELL [\"/bin/sh\", \"-c\"]",
        )),
    }
}

/// Sources and destination of COPY/ADD, and whether they were written as a JSON array.
fn parse_transfer(args: &Arguments<'_>, flags: &Flags) -> Result<(FileTransfer, bool), ParseError> {
    let (mut paths, json) = match json_strings(args)? {
        Some(paths) => (paths, true),
        None => (
            args.whitespace_words()
                .iter()
                .map(|word| word.text.to_owned())
                .collect(),
            false,
        ),
    };
    let keyword = args.keyword;
    let Some(destination) = paths.pop().filter(|_| !paths.is_empty()) else {
        return Err(args.error(format!(
            "{keyword} requires at least two arguments: {keyword} <src>... <dest>"
        )));
    };
    let transfer = FileTransfer {
        sources: paths,
        destination,
        chown: flags.string("chown"),
        chmod: flags.string("chmod"),
        link: flags.bool("link"),
        excludes: flags.strings("exclude"),
        heredocs: Vec::new(),
    };
    Ok((transfer, !json))
}

fn parse_copy(args: &Arguments<'_>) -> Result<(InstructionKind, bool), ParseError> {
    let flags = args.flags(&[
        ("from", FlagKind::String),
        ("chown", FlagKind::String),
        ("chmod", FlagKind::String),
        ("link", FlagKind::Bool),
        ("parents", FlagKind::Bool),
        ("exclude", FlagKind::Strings),
    ])?;
    let (files, takes_heredocs) = parse_transfer(args, &flags)?;
    let copy = CopyInstruction {
        files,
        from: flags.string("from"),
        parents: flags.bool("parents"),
    };
    Ok((InstructionKind::Copy(copy), takes_heredocs))
}

fn parse_add(args: &Arguments<'_>) -> Result<(InstructionKind, bool), ParseError> {
    let flags = args.flags(&[
        ("chown", FlagKind::String),
        ("chmod", FlagKind::String),
        ("link", FlagKind::Bool),
        ("keep-git-dir", FlagKind::Bool),
        ("checksum", FlagKind::String),
        ("exclude", FlagKind::Strings),
        ("unpack", FlagKind::Bool),
    ])?;
    let (files, takes_heredocs) = parse_transfer(args, &flags)?;
    let add = AddInstruction {
        files,
        checksum: flags.string("checksum"),
        keep_git_dir: flags.bool("keep-git-dir"),
        unpack: flags.optional_bool("unpack"),
    };
    Ok((InstructionKind::Add(add), takes_heredocs))
}

fn parse_expose(args: &Arguments<'_>) -> Result<InstructionKind, ParseError> {
    args.no_flags()?;
    args.require_text("at least one port")?;
    Ok(InstructionKind::Expose(
        args.whitespace_words()
            .iter()
            .map(|w| w.text.to_owned())
            .collect(),
    ))
}

fn parse_healthcheck(args: &Arguments<'_>) -> Result<InstructionKind, ParseError> {
    let flags = args.flags(&[
        ("interval", FlagKind::String),
        ("timeout", FlagKind::String),
        ("start-period", FlagKind::String),
        ("start-interval", FlagKind::String),
        ("retries", FlagKind::String),
    ])?;
    let text = args.require_text("NONE or CMD followed by a command")?;
    let type_end = text.find(char::is_whitespace).unwrap_or(text.len());
    let rest = text[type_end..].trim_start();
    let rest_offset = args.offset + (text.len() - rest.len());
    match text[..type_end].to_ascii_uppercase().as_str() {
        "NONE" => {
            if let Some(flag) = args.flag_words.first() {
                return Err(args.error_at(flag.offset, "HEALTHCHECK NONE takes no flags"));
            }
            if !rest.is_empty() {
                return Err(args.error_at(rest_offset, "HEALTHCHECK NONE takes no arguments"));
            }
            Ok(InstructionKind::Healthcheck(Healthcheck::None))
        }
        "CMD" => {
            if rest.is_empty() {
                return Err(args.error("HEALTHCHECK CMD requires a command"));
            }
            let command_args = Arguments {
                text: rest,
                offset: rest_offset,
                flag_words: Vec::new(),
                ..*args
            };
            let command = parse_command(&command_args)?;
            let options = healthcheck_options(args, &flags)?;
            Ok(InstructionKind::Healthcheck(Healthcheck::Cmd {
                command,
                options,
            }))
        }
        other => Err(args.error_at(
            args.offset,
            format!("unknown HEALTHCHECK type {other:?}: use CMD or NONE"),
        )),
    }
}

fn healthcheck_options(
    args: &Arguments<'_>,
    flags: &Flags,
) -> Result<HealthcheckOptions, ParseError> {
    let duration = |name: &str| {
        let Some(flag) = flags.get(name) else {
            return Ok(None);
        };
        let duration = parse_go_duration(&flag.value)
            .map_err(|message| args.error_at(flag.offset, format!("--{name}: {message}")))?;
        if !duration.is_zero() && duration.as_millis() < 1 {
            return Err(args.error_at(flag.offset, format!("--{name} cannot be less than 1ms")));
        }
        Ok(Some(duration))
    };
    let retries = match flags.get("retries") {
        None => None,
        Some(flag) => Some(flag.value.parse::<u32>().map_err(|_| {
            args.error_at(
                flag.offset,
                format!(
                    "--retries must be a whole number of at least 0, not {:?}",
                    flag.value
                ),
            )
        })?),
    };
    Ok(HealthcheckOptions {
        interval: duration("interval")?,
        timeout: duration("timeout")?,
        start_period: duration("start-period")?,
        start_interval: duration("start-interval")?,
        retries,
    })
}

fn parse_onbuild(args: &Arguments<'_>) -> Result<InstructionKind, ParseError> {
    args.no_flags()?;
    args.require_text("an instruction to run later")?;
    let trigger = parse_line(args.logical, args.offset, args.escape)?;
    let keyword = trigger.kind.keyword();
    if matches!(keyword, "ONBUILD" | "FROM" | "MAINTAINER") {
        return Err(args.error_at(
            trigger.keyword_offset,
            format!("{keyword} isn't allowed as an ONBUILD trigger"),
        ));
    }
    Ok(InstructionKind::Onbuild(Box::new(Instruction {
        kind: trigger.kind,
        span: span_at(args.logical, trigger.keyword_offset),
        raw: args.text.to_owned(),
    })))
}

fn parse_user(args: &Arguments<'_>) -> Result<InstructionKind, ParseError> {
    let text = parse_string(args, "a user")?;
    let user = match text.split_once(':') {
        Some((user, group)) => User {
            user: user.to_owned(),
            group: Some(group.to_owned()),
        },
        None => User {
            user: text,
            group: None,
        },
    };
    Ok(InstructionKind::User(user))
}

fn parse_volume(args: &Arguments<'_>) -> Result<InstructionKind, ParseError> {
    args.no_flags()?;
    args.require_text("at least one path")?;
    let paths = match json_strings(args)? {
        Some(paths) => paths,
        None => args
            .whitespace_words()
            .iter()
            .map(|word| word.text.to_owned())
            .collect(),
    };
    if paths.is_empty() {
        return Err(args.error("VOLUME requires at least one path"));
    }
    if paths.iter().any(|path| path.trim().is_empty()) {
        return Err(args.error_at(args.offset, "VOLUME paths can not be empty"));
    }
    Ok(InstructionKind::Volume(paths))
}

/// The whole argument text as one string (USER, WORKDIR, STOPSIGNAL, MAINTAINER).
fn parse_string(args: &Arguments<'_>, what: &str) -> Result<String, ParseError> {
    args.no_flags()?;
    args.require_text(what).map(str::to_owned)
}

/// Finds the `<<WORD` markers on the instruction's line and reads each body from the following
/// lines, in order.
fn read_heredocs(
    logical: &mut LogicalLine,
    lines: &mut PeekableLines<'_>,
) -> Result<Vec<Heredoc>, ParseError> {
    if !logical.text().contains("<<") {
        return Ok(Vec::new());
    }
    // BuildKit looks for markers with a `\` lexer whatever the escape directive says.
    let markers: Vec<(HeredocMarker, usize)> = quoted_words(logical.text(), 0, '\\')
        .iter()
        .filter_map(|word| HeredocMarker::parse(word.text).map(|marker| (marker, word.offset)))
        .collect();
    let mut heredocs = Vec::with_capacity(markers.len());
    for (marker, offset) in markers {
        let mut content = String::new();
        loop {
            let Some(line) = lines.next() else {
                return Err(ParseError::new(
                    logical.position(offset),
                    format!(
                        "unterminated heredoc: no line {:?} ends it",
                        marker.delimiter
                    ),
                ));
            };
            logical.extend_to(line);
            let candidate = line.trimmed();
            let candidate = if marker.strip_tabs {
                candidate.trim_start_matches('\t')
            } else {
                candidate
            };
            if candidate == marker.delimiter {
                break;
            }
            content.push_str(line.text);
            content.push('\n');
        }
        heredocs.push(Heredoc {
            delimiter: marker.delimiter,
            content,
            strip_tabs: marker.strip_tabs,
            expand: marker.expand,
        });
    }
    Ok(heredocs)
}

/// A `[n]<<[-]WORD` word that opens a heredoc.
struct HeredocMarker {
    delimiter: String,
    strip_tabs: bool,
    expand: bool,
}

impl HeredocMarker {
    /// Matches BuildKit's `^(\d*)<<(-?)([^<]*)$`, then unquotes the word.
    fn parse(word: &str) -> Option<HeredocMarker> {
        let rest = word
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .strip_prefix("<<")?;
        let (strip_tabs, rest) = match rest.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, rest),
        };
        if rest.is_empty() || rest.contains('<') {
            return None;
        }
        let (delimiter, quoted) = unquote_single_word(rest)?;
        Some(HeredocMarker {
            delimiter,
            strip_tabs,
            expand: !quoted,
        })
    }
}

/// Removes shell quoting from `text` when it is a single word; also says whether quotes were
/// removed (a quoted heredoc delimiter turns off expansion in the body).
fn unquote_single_word(text: &str) -> Option<(String, bool)> {
    let mut word = String::new();
    let mut quoted = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = true;
                word.extend(chars.by_ref().take_while(|&c| c != '\''));
            }
            '"' => {
                quoted = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some(escaped @ ('"' | '\\' | '$' | '`')) => word.push(escaped),
                            Some(other) => word.extend(['\\', other]),
                            None => word.push('\\'),
                        },
                        _ => word.push(c),
                    }
                }
            }
            '\\' => word.extend(chars.next()),
            c if c.is_whitespace() => return None,
            _ => word.push(c),
        }
    }
    (!word.is_empty()).then_some((word, quoted))
}
