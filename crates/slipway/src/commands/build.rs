//! `slipway build`: builds a service's image and records the build.

use std::process::ExitCode;
use std::sync::Arc;

use serde::Serialize;
use slipway_build::{BuildRequest, BuiltImage, PreparedBuild};

use crate::cli::{BuildArgs, GlobalArgs};
use crate::output::{self, Status, print_json, print_line};
use crate::project;
use crate::report::Failure;

pub(crate) async fn run(
    global: &GlobalArgs,
    args: &BuildArgs,
    status: Status,
) -> Result<ExitCode, Failure> {
    let config = project::load_config(global)?;
    let request = BuildRequest {
        service: args.service.clone(),
        target: args.target.clone(),
        build_args: args.build_args.iter().cloned().collect(),
        no_cache: args.no_cache,
        platform: args.platform.clone(),
    };
    let prepared = slipway_build::prepare(&config, request)?;
    announce(&prepared, status);

    let store = project::open_store(global, &project::config_root(&config)?)?;
    let engine = project::connect_engine().await?;
    let cancelled = async {
        // Without a Ctrl-C handler the build simply runs to the end.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let built = prepared
        .run(
            Arc::clone(&engine),
            store,
            |text| status.raw(text),
            cancelled,
        )
        .await?;
    report(&built, args.json, status)?;
    if args.push {
        super::push::push(global, &config, engine, &built.references, status).await?;
    }
    Ok(ExitCode::SUCCESS)
}

fn announce(prepared: &PreparedBuild, status: Status) {
    let snapshot = prepared.snapshot();
    let version = match prepared.version() {
        Some(version) => format!("{} (from {})", version.text, version.source),
        None => {
            status.warn("no version found: set `version` in slipway.toml, or tag the commit");
            "no version".to_owned()
        }
    };
    status.line(format!(
        "building {} at {}{} on {}: {version}",
        prepared.service().name,
        snapshot.short_commit,
        if snapshot.dirty {
            " with uncommitted changes"
        } else {
            ""
        },
        snapshot.branch.as_deref().unwrap_or("a detached HEAD"),
    ));
}

/// What `--json` prints.
#[derive(Debug, Serialize)]
struct BuildSummary<'a> {
    build: i64,
    service: &'a str,
    image_id: &'a str,
    digest: Option<&'a str>,
    references: &'a [String],
    size_bytes: u64,
    layer_count: usize,
    duration_ms: u128,
}

fn report(built: &BuiltImage, json: bool, status: Status) -> Result<(), Failure> {
    if json {
        return print_json(&BuildSummary {
            build: built.build_id.get(),
            service: built
                .image
                .labels
                .get("dev.slipway.service")
                .map_or("", String::as_str),
            image_id: built.image.id.as_str(),
            digest: built.image.digests.first().map(String::as_str),
            references: &built.references,
            size_bytes: built.image.size_bytes,
            layer_count: built.image.layer_count,
            duration_ms: built.duration.as_millis(),
        });
    }
    if status.is_quiet() {
        print_line(built.image.id.as_str());
        return Ok(());
    }
    status.line(format!(
        "\n{} build #{} in {}: {} ({}, {} layers)",
        output::ok("built"),
        built.build_id,
        output::duration(built.duration),
        built.image.id,
        output::bytes(built.image.size_bytes),
        built.image.layer_count,
    ));
    for reference in &built.references {
        print_line(reference);
    }
    Ok(())
}
