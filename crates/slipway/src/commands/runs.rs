//! `slipway runs`: the recorded workflow runs, newest first.

use std::process::ExitCode;

use slipway_store::{Conclusion, RunQuery, RunSummary};

use crate::cli::{ConclusionName, GlobalArgs, RunsArgs};
use crate::output::{self, Table, print_json, print_line};
use crate::project;
use crate::report::Failure;

pub(crate) fn run(global: &GlobalArgs, args: &RunsArgs) -> Result<ExitCode, Failure> {
    let store = project::open_store(global, &project::current_dir()?)?;
    let query = RunQuery {
        workflow: args.workflow.clone(),
        conclusion: args.status.map(|status| match status {
            ConclusionName::Success => Conclusion::Success,
            ConclusionName::Failure => Conclusion::Failure,
            ConclusionName::Cancelled => Conclusion::Cancelled,
        }),
        limit: Some(args.limit),
    };
    let runs = store.runs(&query)?;
    if args.json {
        print_json(&runs)?;
    } else if runs.is_empty() {
        print_line("no runs recorded yet: `slipway run` makes one");
    } else {
        table(&runs).print();
    }
    Ok(ExitCode::SUCCESS)
}

fn table(runs: &[RunSummary]) -> Table {
    let mut table = Table::new(vec![
        "ID", "WORKFLOW", "#", "EVENT", "STATUS", "JOBS", "TOOK", "COMMIT", "REF", "WHEN",
    ]);
    for run in runs {
        let commit: String = run
            .git
            .commit
            .as_deref()
            .unwrap_or("-")
            .chars()
            .take(7)
            .collect();
        let commit = if run.git.dirty {
            format!("{commit}+dirty")
        } else {
            commit
        };
        table.row(vec![
            run.id.to_string(),
            run.name.clone(),
            run.run_number.to_string(),
            run.event.clone(),
            conclusion_cell(run.conclusion),
            jobs_cell(run),
            output::duration(run.duration),
            commit,
            run.git_ref.clone().unwrap_or_else(|| "-".to_owned()),
            output::ago(run.started_at),
        ]);
    }
    table
}

/// A conclusion in its colour.
pub(crate) fn conclusion_cell(conclusion: Conclusion) -> String {
    match conclusion {
        Conclusion::Success => output::ok("success"),
        Conclusion::Failure => output::bad("failure"),
        Conclusion::Cancelled => output::caution("cancelled"),
        Conclusion::Skipped => output::dim("skipped"),
    }
}

fn jobs_cell(run: &RunSummary) -> String {
    let counts = run.jobs;
    let mut parts = vec![format!("{} ok", counts.success)];
    if counts.failure > 0 {
        parts.push(output::bad(&format!("{} failed", counts.failure)));
    }
    if counts.cancelled > 0 {
        parts.push(output::caution(&format!("{} cancelled", counts.cancelled)));
    }
    if counts.skipped > 0 {
        parts.push(output::dim(&format!("{} skipped", counts.skipped)));
    }
    parts.join(", ")
}
