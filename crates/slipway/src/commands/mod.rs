//! One module per command: each turns parsed arguments into calls on the library crates and prints
//! the result.

mod audit;
mod build;
mod builds;
mod bundles;
mod completions;
mod config;
mod daemon;
mod db;
mod deploy;
mod doctor;
mod expr;
mod hooks;
mod init;
mod lint;
mod logs;
mod proxy;
mod push;
mod registry;
mod release_ops;
mod releases;
mod revision;
mod run;
mod runs;
mod scan;
mod serve;
mod service_logs;
mod service_status;
mod signing;
mod up;

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::output::Status;
use crate::report::Failure;

/// Runs the command `cli` names.
pub(crate) async fn run(cli: Cli) -> Result<ExitCode, Failure> {
    let status = Status::new(cli.global.quiet);
    match cli.command {
        Command::Init(args) => init::run(&args, status),
        Command::Up(args) => up::run(&cli.global, &args, status).await,
        Command::Build(args) => build::run(&cli.global, &args, status).await,
        Command::Builds(args) => builds::run(&cli.global, &args),
        Command::Doctor(args) => doctor::run(&cli.global, &args).await,
        Command::Config(command) => config::run(&cli.global, &command),
        Command::Proxy(args) => proxy::run(&cli.global, &args, status).await,
        Command::Run(args) => run::run(&cli.global, &args, status).await,
        Command::Runs(args) => runs::run(&cli.global, &args),
        Command::Logs(args) => match args.run_id() {
            Some(run_id) => logs::run(&cli.global, &args, run_id),
            None => service_logs::run(&cli.global, &args).await,
        },
        Command::Deploy(args) => deploy::run(&cli.global, &args, status).await,
        Command::Rollback(args) => release_ops::rollback(&cli.global, &args, status).await,
        Command::Promote(args) => release_ops::promote(&cli.global, &args, status).await,
        Command::Abort(args) => release_ops::abort(&cli.global, &args, status).await,
        Command::Scale(args) => release_ops::scale(&cli.global, &args, status).await,
        Command::Stop(args) => release_ops::stop(&cli.global, &args, status).await,
        Command::Status(args) => service_status::run(&cli.global, &args).await,
        Command::Releases(args) => releases::run(&cli.global, &args),
        Command::Daemon(command) => daemon::run(&cli.global, &command, status).await,
        Command::Lint(args) => lint::run(&args),
        Command::Push(args) => push::run(&cli.global, &args, status).await,
        Command::Registry(command) => registry::run(&cli.global, &command, status).await,
        Command::Keys(command) => signing::keys(&command, status),
        Command::Sign(args) => signing::sign(&args, status).await,
        Command::Verify(args) => signing::verify(&args, status).await,
        Command::Expr(args) => expr::run(&args),
        Command::Scan(command) => scan::run(&cli.global, &command, status).await,
        Command::Sbom(args) => scan::sbom(&cli.global, &args, status).await,
        Command::Db(command) => db::run(&cli.global, &command, status).await,
        Command::Audit(args) => audit::run(&cli.global, &args),
        Command::Serve(args) => serve::serve(&args, status).await,
        Command::Tokens(command) => serve::tokens(&command, status),
        Command::Projects(command) => serve::projects(&command, status),
        Command::Hooks(command) => hooks::run(&command, status),
        Command::Completions(args) => completions::completions(&args),
        Command::Man(args) => completions::man(&args, status),
    }
}
