//! `slipway builds`: the recorded builds, newest first, without their logs (which can be large);
//! `slipway builds show ID`: one with its log.

use std::process::ExitCode;

use slipway_store::{
    Build, BuildId, BuildOutcome, BuildQuery, BuildStatus, BuildSummary, NewBuild,
};

use crate::cli::{BuildsArgs, BuildsCommand, GlobalArgs, StatusName};
use crate::output::{self, Table, print_json, print_line};
use crate::project;
use crate::report::Failure;

pub(crate) fn run(global: &GlobalArgs, args: &BuildsArgs) -> Result<ExitCode, Failure> {
    let store = project::open_store(global, &project::current_dir()?)?;
    if let Some(BuildsCommand::Show { id, json }) = &args.show {
        let build = store.build(BuildId::new(*id))?.ok_or_else(|| {
            Failure::bad_input(format!("no build #{id} in the store"))
                .hint("`slipway builds` lists them")
        })?;
        if *json {
            print_json(&build)?;
        } else {
            show(&build);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let query = BuildQuery {
        service: args.service.clone(),
        status: args.status.map(|status| match status {
            StatusName::Succeeded => BuildStatus::Succeeded,
            StatusName::Failed => BuildStatus::Failed,
            StatusName::Cancelled => BuildStatus::Cancelled,
        }),
        limit: Some(args.limit),
    };
    let builds = store.builds(&query)?;
    if args.json {
        print_json(&builds)?;
    } else if builds.is_empty() {
        print_line("no builds recorded yet: `slipway build` makes one");
    } else {
        table(&builds).print();
    }
    Ok(ExitCode::SUCCESS)
}

fn table(builds: &[BuildSummary]) -> Table {
    let mut table = Table::new(vec![
        "ID", "SERVICE", "STATUS", "IMAGE", "TAG", "SIZE", "LAYERS", "TOOK", "COMMIT", "BRANCH",
        "WHEN",
    ]);
    for build in builds {
        let record = &build.record;
        table.row(vec![
            build.id.to_string(),
            record.service.clone(),
            status_cell(&record.outcome),
            record
                .image_id
                .as_deref()
                .map_or_else(|| "-".to_owned(), short_image_id),
            display_tag(&record.tags),
            record
                .size_bytes
                .map_or_else(|| "-".to_owned(), output::bytes),
            record
                .layer_count
                .map_or_else(|| "-".to_owned(), |n| n.to_string()),
            output::duration(record.duration),
            commit_cell(record),
            record
                .git
                .branch
                .clone()
                .unwrap_or_else(|| "(detached)".to_owned()),
            output::ago(record.started_at),
        ]);
    }
    table
}

fn status_cell(outcome: &BuildOutcome) -> String {
    match outcome {
        BuildOutcome::Succeeded => output::ok("succeeded"),
        BuildOutcome::Failed { .. } => output::bad("failed"),
        BuildOutcome::Cancelled => output::caution("cancelled"),
    }
}

/// `sha256:0123456789ab…` → `0123456789ab`, as `docker images` shows ids.
fn short_image_id(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

/// The tag people look for: the version when there is one (the third tag), else the short commit;
/// without the repository, which is the same for every build of a service.
fn display_tag(references: &[String]) -> String {
    references
        .get(2)
        .or_else(|| references.get(1))
        .and_then(|reference| reference.rsplit_once(':'))
        .map_or_else(|| "-".to_owned(), |(_, tag)| tag.to_owned())
}

fn commit_cell<Log>(record: &NewBuild<Log>) -> String {
    let commit: String = record
        .git
        .commit
        .as_deref()
        .unwrap_or("-")
        .chars()
        .take(7)
        .collect();
    if record.git.dirty {
        format!("{commit}+dirty")
    } else {
        commit
    }
}

fn show(build: &Build) {
    let record = &build.record;
    let field =
        |name: &str, value: String| print_line(&format!("{:<11}{value}", format!("{name}:")));
    field("build", format!("#{}", build.id));
    field("service", record.service.clone());
    field("status", status_cell(&record.outcome));
    if let BuildOutcome::Failed { reason } = &record.outcome {
        field("reason", reason.clone());
    }
    field(
        "image",
        record.image_id.clone().unwrap_or_else(|| "-".to_owned()),
    );
    field(
        "digest",
        record
            .digest
            .clone()
            .unwrap_or_else(|| "- (not pushed)".to_owned()),
    );
    field(
        "tags",
        if record.tags.is_empty() {
            "-".to_owned()
        } else {
            record.tags.join(", ")
        },
    );
    field(
        "size",
        record
            .size_bytes
            .map_or_else(|| "-".to_owned(), output::bytes),
    );
    field(
        "layers",
        record
            .layer_count
            .map_or_else(|| "-".to_owned(), |n| n.to_string()),
    );
    field(
        "started",
        format!("{} ({})", record.started_at, output::ago(record.started_at)),
    );
    field("took", output::duration(record.duration));
    field("commit", commit_cell(record));
    field(
        "branch",
        record
            .git
            .branch
            .clone()
            .unwrap_or_else(|| "(detached)".to_owned()),
    );
    field(
        "dockerfile",
        format!("{} in {}", record.dockerfile, record.context),
    );
    if let Some(target) = &record.target {
        field("target", target.clone());
    }
    if let Some(platform) = &record.platform {
        field("platform", platform.clone());
    }
    print_line(&format!("\n{}", output::dim("log:")));
    print_line(record.log.trim_end());
}
