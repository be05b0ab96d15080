//! `slipway releases ENV SERVICE`: a service's releases, newest first, marking the one serving
//! and the one kept warm; `--show RELEASE` prints one with every step.

use std::process::ExitCode;

use slipway_store::{
    Artifact, Release, ReleaseId, ReleaseOutcome, ReleaseQuery, Revision, ServiceState,
};

use super::deploy::Target;
use crate::cli::{GlobalArgs, ReleasesArgs};
use crate::output::{self, Table, print_json, print_line};
use crate::report::Failure;

pub(crate) fn run(global: &GlobalArgs, args: &ReleasesArgs) -> Result<ExitCode, Failure> {
    let target = Target::resolve(global, &args.environment, args.service.as_deref())?;
    let key = &target.key;
    let state = target.store.service_state(&key.environment, &key.service)?;
    if let Some(id) = args.show {
        let release = target
            .store
            .release(ReleaseId::new(id))?
            .filter(|release| {
                release.record.environment == key.environment
                    && release.record.service == key.service
            })
            .ok_or_else(|| {
                Failure::bad_input(format!("release {id} is not a release of {key}")).hint(format!(
                    "`slipway releases {} {}` lists them",
                    key.environment, key.service
                ))
            })?;
        if args.json {
            print_json(&release)?;
        } else {
            show(&release, state.as_ref());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let query = ReleaseQuery {
        environment: Some(key.environment.clone()),
        service: Some(key.service.clone()),
        status: None,
        limit: Some(args.limit),
    };
    let releases = target.store.releases(&query)?;
    if args.json {
        print_json(&releases)?;
    } else if releases.is_empty() {
        print_line(&format!(
            "no releases of {key} yet: `slipway deploy {} {}` makes one",
            key.environment, key.service
        ));
    } else {
        let mut table = Table::new(vec![
            "ID", "", "STATUS", "STRATEGY", "RUNTIME", "ARTIFACT", "COMMIT", "BY", "WHEN", "TOOK",
            "WHY",
        ]);
        for release in &releases {
            table.row(vec![
                release.id.to_string(),
                role(release.id, state.as_ref()),
                status_cell(release),
                release.record.strategy.clone(),
                release.record.runtime.clone(),
                artifact(&release.record.artifact),
                commit(release.record.revision.as_ref()),
                release.record.created_by.clone(),
                output::ago(release.record.created_at),
                took(release),
                why(release),
            ]);
        }
        table.print();
    }
    Ok(ExitCode::SUCCESS)
}

/// `serving`, `warm` or nothing.
fn role(id: ReleaseId, state: Option<&ServiceState>) -> String {
    match state {
        Some(state) if state.current == id => output::ok("serving"),
        Some(state) if state.previous == Some(id) => output::dim("warm"),
        _ => String::new(),
    }
}

pub(super) fn status_cell(release: &Release) -> String {
    match &release.outcome {
        None => output::caution("in progress"),
        Some(ReleaseOutcome::Succeeded) => output::ok("succeeded"),
        Some(ReleaseOutcome::Failed { .. }) => output::bad("failed"),
        Some(ReleaseOutcome::RolledBack { .. }) => output::bad("rolled back"),
    }
}

pub(super) fn artifact(artifact: &Artifact) -> String {
    match artifact {
        Artifact::Image { reference, .. } => reference.clone(),
        Artifact::Command { command, hash, .. } => {
            format!(
                "{command} ({})",
                hash.trim_start_matches("sha256:")
                    .chars()
                    .take(12)
                    .collect::<String>()
            )
        }
    }
}

/// The commit, shortened to 12 characters as people read them, `-dirty` when the files held
/// uncommitted changes, and the branch or tag; `unknown` when the release recorded none.
pub(super) fn commit(revision: Option<&Revision>) -> String {
    let Some(revision) = revision else {
        return output::dim("unknown");
    };
    let short: String = revision.commit.chars().take(12).collect();
    let dirty = if revision.dirty { "-dirty" } else { "" };
    match &revision.git_ref {
        Some(git_ref) => format!("{short}{dirty} ({git_ref})"),
        None => format!("{short}{dirty}"),
    }
}

fn took(release: &Release) -> String {
    release.finished_at.map_or_else(
        || "-".to_owned(),
        |finished| {
            let took = finished.duration_since(release.record.created_at);
            output::duration(std::time::Duration::try_from(took).unwrap_or_default())
        },
    )
}

fn why(release: &Release) -> String {
    match &release.outcome {
        Some(ReleaseOutcome::Failed { reason } | ReleaseOutcome::RolledBack { reason }) => {
            reason.clone()
        }
        _ => release.record.reason.clone().unwrap_or_default(),
    }
}

fn show(release: &Release, state: Option<&ServiceState>) {
    let record = &release.record;
    let field =
        |name: &str, value: String| print_line(&format!("{:<10}{value}", format!("{name}:")));
    field(
        "release",
        format!("{} {}", release.id, role(release.id, state)),
    );
    field(
        "service",
        format!("{} in {}", record.service, record.environment),
    );
    field("status", status_cell(release));
    if let Some(ReleaseOutcome::Failed { reason } | ReleaseOutcome::RolledBack { reason }) =
        &release.outcome
    {
        field("reason", reason.clone());
    }
    field("artifact", artifact(&record.artifact));
    let (Artifact::Image { digest, .. } | Artifact::Command { hash: digest, .. }) =
        &record.artifact;
    field("digest", digest.clone());
    field(
        "commit",
        record.revision.as_ref().map_or_else(
            || output::dim("unknown"),
            |revision| match &revision.git_ref {
                Some(git_ref) => format!("{} ({git_ref})", revision.described()),
                None => revision.described(),
            },
        ),
    );
    field("config", record.config_hash.clone());
    field("strategy", record.strategy.clone());
    field("runtime", record.runtime.clone());
    field("by", record.created_by.clone());
    if let Some(reason) = &record.reason {
        field("why", reason.clone());
    }
    if let Some(restores) = record.restores {
        field("restores", format!("release {restores}"));
    }
    field(
        "began",
        format!("{} ({})", record.created_at, output::ago(record.created_at)),
    );
    print_line(&format!("\n{}", output::dim("steps:")));
    for step in &release.steps {
        let offset = step.at.duration_since(record.created_at).as_millis_f64() / 1000.0;
        print_line(&format!(
            "  +{offset:>7.3}s  {:<20} {}",
            step.name, step.detail
        ));
    }
}
