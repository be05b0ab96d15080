//! `slipway completions SHELL` and `slipway man [--dir DIR]`: shell completions and man pages
//! made from the same clap definitions that parse the command line, so they never fall behind it.

use std::path::Path;
use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs, ManArgs};
use crate::output::{Status, print_line};
use crate::report::Failure;

/// The name the scripts complete and the pages document: the installed binary's.
const BINARY: &str = "slipway";

pub(crate) fn completions(args: &CompletionsArgs) -> Result<ExitCode, Failure> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), BINARY, &mut script);
    print_text(script)?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn man(args: &ManArgs, status: Status) -> Result<ExitCode, Failure> {
    match &args.dir {
        Some(dir) => write_pages(dir, status)?,
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut page)
                .map_err(|error| Failure::new(format!("cannot render the man page: {error}")))?;
            print_text(page)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes `slipway.1` and a page per subcommand (`slipway-deploy.1`, `slipway-daemon-stop.1`...)
/// into `dir`, creating it.
fn write_pages(dir: &Path, status: Status) -> Result<(), Failure> {
    let cannot_write = |error: std::io::Error| {
        Failure::new(format!("cannot write man pages to {}", dir.display()))
            .cause(error.to_string())
            .hint("pass a directory you can write to with --dir, e.g. ~/.local/share/man/man1")
    };
    std::fs::create_dir_all(dir).map_err(cannot_write)?;
    clap_mangen::generate_to(Cli::command(), dir).map_err(cannot_write)?;
    status.line(format!(
        "wrote the man pages to {} (read them with `man -l {}/{BINARY}.1`)",
        dir.display(),
        dir.display()
    ));
    Ok(())
}

/// Prints generated text on stdout, as it is (it ends with its own newline).
fn print_text(bytes: Vec<u8>) -> Result<(), Failure> {
    let text = String::from_utf8(bytes)
        .map_err(|error| Failure::new(format!("generated text is not UTF-8: {error}")))?;
    print_line(text.trim_end_matches('\n'));
    Ok(())
}
