//! `slipway init`: writes the files a service needs.

use std::process::ExitCode;

use slipway_scaffold::{Action, Plan, Template};

use crate::cli::{InitArgs, TemplateName};
use crate::output::Status;
use crate::report::Failure;

pub(crate) fn run(args: &InitArgs, status: Status) -> Result<ExitCode, Failure> {
    let template = match args.template {
        Some(TemplateName::Node) => Template::Node,
        Some(TemplateName::Rust) => Template::Rust,
        None => Template::detect(&args.dir).ok_or_else(|| {
            Failure::bad_input(format!(
                "cannot tell what kind of service {} holds: it has neither package.json nor Cargo.toml",
                args.dir.display()
            ))
            .hint("pass --template node or --template rust")
        })?,
    };
    let name = service_name(args)?;
    let plan = Plan::new(template, &args.dir, &name);
    for (path, action) in plan.write(args.force)? {
        let verb = match action {
            Action::Created => "created",
            Action::Overwritten => "overwrote",
        };
        let shown = path.strip_prefix(".").unwrap_or(&path);
        status.line(format!("{verb} {}", shown.display()));
    }
    status.line(format!(
        "\nservice `{name}` ({template}) is ready: `slipway build` builds its image, `slipway doctor` checks this machine"
    ));
    Ok(ExitCode::SUCCESS)
}

fn service_name(args: &InitArgs) -> Result<String, Failure> {
    if let Some(name) = &args.name {
        return slipway_config::name_from(name)
            .filter(|clean| clean == name)
            .ok_or_else(|| {
                Failure::bad_input(format!("`{name}` is not a valid service name")).hint(
                    "use lower-case letters, digits and `-` (a DNS label), at most 63 characters",
                )
            });
    }
    let dir = std::path::absolute(&args.dir)
        .map_err(|error| Failure::new(format!("cannot resolve {}: {error}", args.dir.display())))?;
    dir.file_name()
        .and_then(|name| slipway_config::name_from(&name.to_string_lossy()))
        .ok_or_else(|| {
            Failure::bad_input(format!(
                "cannot make a service name from the directory {}",
                dir.display()
            ))
            .hint("pass --name")
        })
}
