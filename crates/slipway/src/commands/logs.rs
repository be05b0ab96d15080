//! `slipway logs RUN [JOB]`: a recorded run's logs, job by job and step by step, with their
//! annotations and step summaries. (`slipway logs ENV SERVICE`, a service's output, is in
//! `service_logs.rs`.)

use std::process::ExitCode;

use slipway_store::{JobRecord, Run, RunId, StepRecord};

use crate::cli::{GlobalArgs, LogsArgs};
use crate::commands::runs::conclusion_cell;
use crate::output::{self, print_json, print_line};
use crate::project;
use crate::report::Failure;

/// `run_id` is the run `args` names; `slipway logs ENV SERVICE` goes to `service_logs` instead.
pub(crate) fn run(global: &GlobalArgs, args: &LogsArgs, run_id: i64) -> Result<ExitCode, Failure> {
    if args.follow {
        return Err(Failure::bad_input(format!(
            "--follow follows a deployed service; run #{run_id} is recorded whole when it ends"
        ))
        .hint("`slipway logs ENV SERVICE --follow` follows a service's replicas"));
    }
    let store = project::open_store(global, &project::current_dir()?)?;
    let run = store.run(RunId::new(run_id))?.ok_or_else(|| {
        Failure::bad_input(format!("no run #{run_id} in the store"))
            .hint("`slipway runs` lists them")
    })?;
    let jobs: Vec<&JobRecord> = match &args.job {
        None => run.record.jobs.iter().collect(),
        Some(wanted) => select_jobs(&run, wanted)?,
    };
    if args.json {
        print_json(&jobs)?;
        return Ok(ExitCode::SUCCESS);
    }
    print_line(&format!(
        "{} #{} ({}, {}) {} in {}",
        run.record.name,
        run.record.run_number,
        run.record.workflow,
        run.record.event,
        conclusion_cell(run.record.conclusion),
        output::duration(run.record.duration)
    ));
    for job in jobs {
        show_job(job);
    }
    Ok(ExitCode::SUCCESS)
}

/// The jobs `wanted` names: by id (every matrix instance), else by exact name, else those whose
/// name starts with it.
fn select_jobs<'r>(run: &'r Run, wanted: &str) -> Result<Vec<&'r JobRecord>, Failure> {
    let jobs = &run.record.jobs;
    let by = |matches: &dyn Fn(&JobRecord) -> bool| -> Vec<&'r JobRecord> {
        jobs.iter().filter(|j| matches(j)).collect()
    };
    let mut found = by(&|job| job.job_id == wanted);
    if found.is_empty() {
        found = by(&|job| job.name == wanted);
    }
    if found.is_empty() {
        found = by(&|job| job.name.starts_with(wanted));
    }
    if found.is_empty() {
        let names: Vec<&str> = jobs.iter().map(|j| j.name.as_str()).collect();
        return Err(
            Failure::bad_input(format!("run #{} has no job '{wanted}'", run.id))
                .hint(format!("its jobs: {}", names.join(", "))),
        );
    }
    Ok(found)
}

fn show_job(job: &JobRecord) {
    print_line("");
    print_line(&format!(
        "== {} ({}, {}, {})",
        job.name,
        conclusion_cell(job.conclusion),
        job.runs_on,
        output::duration(job.duration)
    ));
    if let Some(environment) = &job.environment {
        let url = job
            .environment_url
            .as_deref()
            .map(|u| format!(" {u}"))
            .unwrap_or_default();
        print_line(&format!("environment: {environment}{url}"));
    }
    for line in job.log.lines() {
        print_line(&output::dim(line));
    }
    for step in &job.steps {
        show_step(step);
    }
    if !job.outputs.is_empty() {
        print_line("outputs:");
        for (name, value) in &job.outputs {
            print_line(&format!("  {name}={value}"));
        }
    }
}

fn show_step(step: &StepRecord) {
    let exit = step
        .exit_code
        .map(|code| format!(", exit {code}"))
        .unwrap_or_default();
    print_line(&format!(
        "-- {} ({}{exit}, {})",
        step.name,
        conclusion_cell(step.conclusion),
        output::duration(step.duration)
    ));
    let log = step.log.trim_end();
    if !log.is_empty() {
        print_line(log);
    }
    if !step.summary.trim().is_empty() {
        print_line(&output::dim("step summary:"));
        print_line(step.summary.trim_end());
    }
}
