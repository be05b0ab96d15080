//! A compact, stable text form of a parsed Dockerfile, so tests state whole trees as data.
//!
//! One line per instruction, `line:column-end_line KEYWORD payload`, then one line per stage.
//! Strings are printed with `{:?}` so quotes, spaces and newlines are visible.

use std::fmt::Write;

use slipway_dockerfile::{
    Command, Dockerfile, FileTransfer, Healthcheck, Heredoc, Instruction, InstructionKind,
};

pub(crate) fn dump(dockerfile: &Dockerfile) -> String {
    let mut out = String::new();
    let directives = dockerfile.directives();
    if directives.syntax().is_some() || directives.check().is_some() || directives.escape() != '\\'
    {
        writeln!(
            out,
            "directives syntax={:?} escape={:?} check={:?}",
            directives.syntax(),
            directives.escape(),
            directives.check()
        )
        .unwrap();
    }
    for instruction in dockerfile.instructions() {
        writeln!(out, "{}", instruction_line(instruction)).unwrap();
    }
    for stage in dockerfile.stages() {
        write!(out, "stage {}", stage.index()).unwrap();
        if let Some(name) = stage.name() {
            write!(out, " name={name}").unwrap();
        }
        write!(out, " base={:?}", stage.base().raw()).unwrap();
        if let Some(platform) = stage.platform() {
            write!(out, " platform={platform:?}").unwrap();
        }
        writeln!(out, " instructions={:?}", stage.instruction_range()).unwrap();
    }
    out
}

pub(crate) fn instruction_line(instruction: &Instruction) -> String {
    let span = instruction.span;
    format!(
        "{}:{}-{} {}",
        span.line,
        span.column,
        span.end_line,
        kind(&instruction.kind)
    )
}

/// The keyword and payload, without position: what the property tests compare.
pub(crate) fn kind(kind: &InstructionKind) -> String {
    let payload = match kind {
        InstructionKind::From(from) => {
            let mut text = format!("{:?}", from.image.raw());
            if let Some(platform) = &from.platform {
                text.push_str(&format!(" platform={platform:?}"));
            }
            if let Some(name) = &from.stage_name {
                text.push_str(&format!(" as={name:?}"));
            }
            text
        }
        InstructionKind::Arg(args) => args
            .iter()
            .map(|arg| match &arg.default {
                Some(default) => format!("{:?}={default:?}", arg.name),
                None => format!("{:?}", arg.name),
            })
            .collect::<Vec<_>>()
            .join(" "),
        InstructionKind::Env(pairs) | InstructionKind::Label(pairs) => pairs
            .iter()
            .map(|pair| format!("{:?}={:?}", pair.key, pair.value))
            .collect::<Vec<_>>()
            .join(" "),
        InstructionKind::Run(run) => {
            let mut text = String::new();
            for mount in &run.mounts {
                text.push_str(&format!("mount={mount:?} "));
            }
            if let Some(network) = &run.network {
                text.push_str(&format!("network={network:?} "));
            }
            if let Some(security) = &run.security {
                text.push_str(&format!("security={security:?} "));
            }
            text.push_str(&command(&run.command));
            text.push_str(&heredocs(&run.heredocs));
            text
        }
        InstructionKind::Cmd(cmd) | InstructionKind::Entrypoint(cmd) => command(cmd),
        InstructionKind::Shell(shell) => format!("{shell:?}"),
        InstructionKind::Copy(copy) => {
            let mut text = String::new();
            if let Some(from) = &copy.from {
                text.push_str(&format!("from={from:?} "));
            }
            if copy.parents {
                text.push_str("parents ");
            }
            text + &transfer(&copy.files)
        }
        InstructionKind::Add(add) => {
            let mut text = String::new();
            if let Some(checksum) = &add.checksum {
                text.push_str(&format!("checksum={checksum:?} "));
            }
            if add.keep_git_dir {
                text.push_str("keep-git-dir ");
            }
            if let Some(unpack) = add.unpack {
                text.push_str(&format!("unpack={unpack} "));
            }
            text + &transfer(&add.files)
        }
        InstructionKind::Expose(ports) => format!("{ports:?}"),
        InstructionKind::Healthcheck(Healthcheck::None) => "NONE".to_owned(),
        InstructionKind::Healthcheck(Healthcheck::Cmd {
            command: cmd,
            options,
        }) => {
            format!("{options:?} {}", command(cmd))
        }
        InstructionKind::Onbuild(trigger) => instruction_line(trigger),
        InstructionKind::User(user) => format!("{:?} group={:?}", user.user, user.group),
        InstructionKind::Workdir(text)
        | InstructionKind::Stopsignal(text)
        | InstructionKind::Maintainer(text) => format!("{text:?}"),
        InstructionKind::Volume(paths) => format!("{paths:?}"),
    };
    format!("{} {payload}", kind.keyword())
}

fn command(command: &Command) -> String {
    match command {
        Command::Exec(args) => format!("exec {args:?}"),
        Command::Shell(text) => format!("shell {text:?}"),
    }
}

fn transfer(files: &FileTransfer) -> String {
    let mut text = String::new();
    for (name, value) in [("chown", &files.chown), ("chmod", &files.chmod)] {
        if let Some(value) = value {
            text.push_str(&format!("{name}={value:?} "));
        }
    }
    if files.link {
        text.push_str("link ");
    }
    for exclude in &files.excludes {
        text.push_str(&format!("exclude={exclude:?} "));
    }
    text.push_str(&format!("{:?} -> {:?}", files.sources, files.destination));
    text + &heredocs(&files.heredocs)
}

fn heredocs(heredocs: &[Heredoc]) -> String {
    heredocs
        .iter()
        .map(|heredoc| {
            let mut flags = String::new();
            if heredoc.strip_tabs {
                flags.push_str(",strip-tabs");
            }
            if !heredoc.expand {
                flags.push_str(",no-expand");
            }
            format!(" <<{}{flags} {:?}", heredoc.delimiter, heredoc.content)
        })
        .collect()
}
