//! One module per command: each turns parsed arguments into calls on the library crates and prints
//! the result.

mod build;
mod builds;
mod config;
mod doctor;
mod init;

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::output::Status;
use crate::report::Failure;

/// Runs the command `cli` names.
pub(crate) async fn run(cli: Cli) -> Result<ExitCode, Failure> {
    let status = Status::new(cli.global.quiet);
    match cli.command {
        Command::Init(args) => init::run(&args, status),
        Command::Build(args) => build::run(&cli.global, &args, status).await,
        Command::Builds(args) => builds::run(&cli.global, &args),
        Command::Doctor(args) => doctor::run(&cli.global, &args).await,
        Command::Config(command) => config::run(&cli.global, &command),
    }
}
