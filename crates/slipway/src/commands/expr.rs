//! `slipway expr 'EXPR' [--context ctx.json]`: evaluates one expression and prints its value as
//! JSON, so people can see what their `if:` conditions really do.

use std::process::ExitCode;

use slipway_expr::{Contexts, JobStatus, Template, WorkspaceHost, evaluate, parse};

use crate::cli::ExprArgs;
use crate::output::print_line;
use crate::project;
use crate::report::Failure;

pub(crate) fn run(args: &ExprArgs) -> Result<ExitCode, Failure> {
    let contexts = match &args.context {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|error| {
                Failure::bad_input(format!("cannot read {}: {error}", path.display()))
            })?;
            Contexts::from_json_str(&text).map_err(|error| {
                Failure::bad_input(format!("{}: {error}", path.display()))
                    .hint("write an object whose keys are context names: {\"github\": {...}, \"env\": {...}}")
            })?
        }
        None => Contexts::new(),
    };
    let text = args.expression.as_str();
    // hashFiles() reads the current directory, as a step's would read its workspace.
    let host = WorkspaceHost::new(project::current_dir()?, JobStatus::Success);
    let value = if Template::contains_expression(text) {
        let template = Template::parse(text)
            .map_err(|error| located(text, error.span().start, &error.to_string()))?;
        template.evaluate(&contexts, &host)
    } else {
        let expr =
            parse(text).map_err(|error| located(text, error.span().start, &error.to_string()))?;
        evaluate(&expr, &contexts, &host)
    }
    .map_err(|error| located(text, error.span().start, &error.to_string()))?;
    print_line(&value.to_json_pretty());
    Ok(ExitCode::SUCCESS)
}

/// An error in the expression, with a caret under where it is.
fn located(text: &str, offset: usize, message: &str) -> Failure {
    let column = text
        .get(..offset)
        .map_or(offset, |before| before.chars().count());
    Failure::bad_input(format!("expression:1:{}: {message}", column + 1))
        .cause(format!("\n    {text}\n    {}^", " ".repeat(column)))
}
