//! The command line, as clap definitions and nothing else.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

/// Slipway takes a service from commit to production: it builds images, runs GitHub Actions
/// workflows, scans, keeps images and deploys, from one binary.
#[derive(Debug, Parser)]
#[command(
    name = "slipway",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// The project's slipway.toml [default: found upward from the current directory]
    #[arg(long, global = true, env = "SLIPWAY_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Where Slipway keeps its state [default: .slipway/ at the repository root]
    #[arg(long, global = true, env = "SLIPWAY_HOME", value_name = "DIR")]
    pub(crate) state_dir: Option<PathBuf>,
    /// Print only results and errors, no progress (for CI logs)
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
    /// Log more (-v: debug, -vv: trace); RUST_LOG overrides
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub(crate) verbose: u8,
    /// When to colour the output; NO_COLOR in the environment means never
    #[arg(long, global = true, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN")]
    pub(crate) color: ColorWhen,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Write slipway.toml, a multi-stage Dockerfile, .dockerignore and a workflow for this service
    Init(InitArgs),
    /// Build a service's image through the container engine, tagged with commit, version and branch
    Build(BuildArgs),
    /// List recorded builds, or show one with its log
    Builds(BuildsArgs),
    /// Check the container engine, state directory, git repository and config, and say how to fix them
    Doctor(DoctorArgs),
    /// Print the JSON Schema of slipway.toml, or the config merged for an environment
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// The kind of service [default: node if package.json exists, rust if Cargo.toml does]
    #[arg(long, value_enum)]
    pub(crate) template: Option<TemplateName>,
    /// The service's name [default: the directory's name]
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Overwrite files that already exist
    #[arg(long)]
    pub(crate) force: bool,
    /// The service's directory
    #[arg(default_value = ".")]
    pub(crate) dir: PathBuf,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum TemplateName {
    Node,
    Rust,
}

#[derive(Debug, Args)]
pub(crate) struct BuildArgs {
    /// The service to build [default: the only service in slipway.toml]
    pub(crate) service: Option<String>,
    /// Build this Dockerfile stage instead of the last
    #[arg(long, value_name = "STAGE")]
    pub(crate) target: Option<String>,
    /// A build argument, added to those in slipway.toml (repeatable)
    #[arg(long = "build-arg", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub(crate) build_args: Vec<(String, String)>,
    /// Ignore the build cache
    #[arg(long)]
    pub(crate) no_cache: bool,
    /// The target platform (os/arch[/variant]), where the engine supports it
    #[arg(long, value_name = "PLATFORM")]
    pub(crate) platform: Option<String>,
    /// Print the result as JSON
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct BuildsArgs {
    #[command(subcommand)]
    pub(crate) show: Option<BuildsCommand>,
    /// Only builds of this service
    #[arg(long)]
    pub(crate) service: Option<String>,
    /// Only builds that ended this way
    #[arg(long, value_enum)]
    pub(crate) status: Option<StatusName>,
    /// At most this many, newest first
    #[arg(long, default_value_t = 20)]
    pub(crate) limit: u32,
    /// Print JSON instead of a table
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum BuildsCommand {
    /// Show one build with its log
    Show {
        /// The build's id, as `slipway builds` lists it
        id: i64,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum StatusName {
    Succeeded,
    Failed,
    Cancelled,
}

#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    /// Print JSON
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Print the JSON Schema of slipway.toml (for editors: `#:schema` or a JSON Schema store)
    Schema,
    /// Print the configuration merged for an environment
    Show {
        /// The environment
        #[arg(default_value = "dev")]
        environment: String,
        /// Print JSON instead of TOML
        #[arg(long)]
        json: bool,
    },
}

fn parse_key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("`{text}` is not KEY=VALUE")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn build_args_are_key_value_pairs() {
        assert_eq!(parse_key_value("A=b=c"), Ok(("A".into(), "b=c".into())));
        assert_eq!(parse_key_value("A="), Ok(("A".into(), String::new())));
        assert!(parse_key_value("=x").is_err());
        assert!(parse_key_value("novalue").is_err());
    }
}
