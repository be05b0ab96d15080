//! `slipway build`: builds a service's image (or, for the process runtime, its bundle) and
//! records the build.

use std::process::ExitCode;
use std::sync::Arc;

use serde::Serialize;
use slipway_build::{BuildRequest, BuiltBundle, BuiltImage, PreparedBuild};
use slipway_config::Config;
use slipway_store::Store;

use crate::cli::{BuildArgs, GlobalArgs, RuntimeArg};
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
    if args.runtime == RuntimeArg::Process {
        return bundle(global, &config, prepared, store, args, status).await;
    }
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
    set_step_outputs(&built.references, built.image.id.as_str())?;
    if args.push {
        super::push::push(global, &config, engine, &built.references, status).await?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The build for the process runtime: the context packed into a bundle, pushed to the embedded
/// registry with `--push`. Needs no engine.
async fn bundle(
    global: &GlobalArgs,
    config: &Config,
    prepared: PreparedBuild,
    store: Arc<dyn Store>,
    args: &BuildArgs,
    status: Status,
) -> Result<ExitCode, Failure> {
    for (flag, given) in [
        ("--target", args.target.is_some()),
        ("--platform", args.platform.is_some()),
        ("--build-arg", !args.build_args.is_empty()),
    ] {
        if given {
            return Err(Failure::bad_input(format!(
                "{flag} applies to image builds; a bundle is the build context as it is"
            ))
            .hint("drop it, or build an image with --runtime container"));
        }
    }
    let annotations = prepared.labels().clone();
    let built = prepared.bundle(store).await?;
    let pushed = if args.push {
        Some(super::push::push_bundle(global, config, &built, annotations, status).await?)
    } else {
        None
    };
    // A deploy reads the bundle from where it went: an external registry names its own host.
    let references = pushed
        .as_ref()
        .and_then(super::push::Pushed::external_references)
        .unwrap_or_else(|| built.references.clone());
    set_step_outputs(&references, &built.content_digest)?;
    report_bundle(&built, pushed.as_ref(), args.json, status)
}

/// `image` (the reference tagged with the full commit), `references` and `digest`, for the
/// workflow steps after this one.
fn set_step_outputs(references: &[String], digest: &str) -> Result<(), Failure> {
    let image = references.first().map_or("", String::as_str);
    crate::step_outputs::set(&[
        ("image", image),
        ("references", &references.join(",")),
        ("digest", digest),
    ])
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
    /// The image was already built from the same inputs and only retagged.
    reused: bool,
}

/// What `--json` prints for a bundle.
#[derive(Debug, Serialize)]
struct BundleSummary<'a> {
    build: i64,
    kind: &'static str,
    content_digest: &'a str,
    references: &'a [String],
    files: u64,
    size_bytes: usize,
    duration_ms: u128,
    #[serde(skip_serializing_if = "Option::is_none")]
    pushed: Option<&'a super::push::Pushed>,
}

fn report_bundle(
    built: &BuiltBundle,
    pushed: Option<&super::push::Pushed>,
    json: bool,
    status: Status,
) -> Result<ExitCode, Failure> {
    if json {
        print_json(&BundleSummary {
            build: built.build_id.get(),
            kind: "bundle",
            content_digest: &built.content_digest,
            references: &built.references,
            files: built.files,
            size_bytes: built.tar.len(),
            duration_ms: built.duration.as_millis(),
            pushed,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    if status.is_quiet() {
        print_line(&built.content_digest);
        return Ok(ExitCode::SUCCESS);
    }
    status.line(format!(
        "\n{} bundle #{} in {}: {} files, {} ({})",
        output::ok("built"),
        built.build_id,
        output::duration(built.duration),
        built.files,
        output::bytes(built.tar.len() as u64),
        built.content_digest,
    ));
    for reference in &built.references {
        print_line(reference);
    }
    Ok(ExitCode::SUCCESS)
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
            reused: built.reused,
        });
    }
    if status.is_quiet() {
        print_line(built.image.id.as_str());
        return Ok(());
    }
    status.line(format!(
        "\n{} build #{} in {}: {} ({}, {} layers)",
        output::ok(if built.reused { "reused" } else { "built" }),
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
