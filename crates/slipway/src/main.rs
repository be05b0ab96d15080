//! The `slipway` command: parses arguments and wires the library crates together.
//!
//! Nothing here is domain logic. `cli` holds the clap definitions, `commands` one module per
//! command, `project` finds the config, repository and state directory a command works on,
//! `output` owns the terminal (colour, tables, JSON, progress), `report` turns library errors
//! into messages with a cause and a hint, and `step_outputs` sets GitHub Actions step outputs.

mod cli;
mod commands;
mod output;
mod project;
mod report;
mod step_outputs;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    output::init(&cli.global);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            let failure = report::Failure::new(format!("cannot start the async runtime: {error}"));
            failure.print();
            return failure.exit_code();
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(failure) => {
            failure.print();
            failure.exit_code()
        }
    }
}
