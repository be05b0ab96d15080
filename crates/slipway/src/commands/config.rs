//! `slipway config schema` and `slipway config show ENV`.

use std::collections::BTreeMap;
use std::process::ExitCode;

use serde::Serialize;

use crate::cli::{ConfigCommand, GlobalArgs};
use crate::output::{print_json, print_line};
use crate::project;
use crate::report::Failure;

pub(crate) fn run(global: &GlobalArgs, command: &ConfigCommand) -> Result<ExitCode, Failure> {
    match command {
        ConfigCommand::Schema => print_json(&slipway_config::json_schema())?,
        ConfigCommand::Show { environment, json } => show(global, environment, *json)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The config as one environment sees it.
#[derive(Debug, Serialize)]
struct Merged<'a> {
    project: String,
    environment: &'a str,
    registry: &'a slipway_config::RegistrySettings,
    services: BTreeMap<String, slipway_config::Service>,
}

fn show(global: &GlobalArgs, environment: &str, json: bool) -> Result<(), Failure> {
    let config = project::load_config(global)?;
    let merged = Merged {
        project: config.project_name(),
        environment,
        registry: config.registry(),
        services: config.services(environment)?,
    };
    if json {
        return print_json(&merged);
    }
    let text = toml::to_string_pretty(&merged)
        .map_err(|error| Failure::new(format!("cannot print the config as TOML: {error}")))?;
    print_line(text.trim_end());
    Ok(())
}
