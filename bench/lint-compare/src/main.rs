//! Lints the workflow files named on the command line with Slipway's linter and prints one
//! finding per line, `file:line:col: message [rule]`, for compare.sh.

use std::path::Path;
use std::process::ExitCode;

use slipway_workflow::{Source, lint};

fn main() -> ExitCode {
    let mut sources = Vec::new();
    for arg in std::env::args().skip(1) {
        match Source::read(Path::new(&arg)) {
            Ok(source) => sources.push(source),
            Err(e) => {
                eprintln!("{arg}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    for finding in lint(&sources) {
        println!("{finding}");
    }
    ExitCode::SUCCESS
}
