//! `slipway db update|import|status`: the user's advisory database.
//!
//! `update` downloads OSV's per-ecosystem exports over HTTPS (`slipway-vuln`'s [`Updater`]:
//! conditional requests, the served CRC32C checked, the index rebuilt in one transaction), trusting
//! the system's certificates (`SSL_CERT_FILE` and `SSL_CERT_DIR` are honoured); `import` reads a
//! directory or zip of OSV records; `status` counts what is there. The database is the user's,
//! shared by every project (see `scan`'s module documentation for where it lives).

use std::process::ExitCode;

use slipway_vuln::{AdvisoryIndex, Fetched, UPDATE_ECOSYSTEMS, UpdateError, Updater};

use super::scan::{advisory_index, user_advisory_dir};
use crate::cli::{DbCommand, GlobalArgs};
use crate::output::{self, Status, Table, print_json, print_line};
use crate::report::Failure;

pub(crate) async fn run(
    global: &GlobalArgs,
    command: &DbCommand,
    status: Status,
) -> Result<ExitCode, Failure> {
    match command {
        DbCommand::Update {
            source,
            ecosystems,
            json,
        } => update(source, ecosystems, *json, status).await,
        DbCommand::Import { path, json } => {
            let index = AdvisoryIndex::open(&user_advisory_dir()?)?;
            status.line(format!("importing OSV advisories from {}", path.display()));
            let summary = index.import(path, &mut |read| {
                tracing::debug!(read, "importing advisories")
            })?;
            if *json {
                print_json(&summary)?;
            } else {
                for skipped in &summary.skipped {
                    status.warn(format!("skipped {}: {}", skipped.location, skipped.reason));
                }
                print_line(&format!(
                    "imported {} advisories ({} kept because the index had a newer version, {} withdrawn, {} skipped) into {}",
                    summary.imported,
                    summary.kept_newer,
                    summary.withdrawn,
                    summary.skipped.len(),
                    index.path().display()
                ));
            }
            Ok(ExitCode::SUCCESS)
        }
        DbCommand::Status { json } => {
            let state = advisory_index(global)?.status()?;
            if *json {
                print_json(&state)?;
                return Ok(ExitCode::SUCCESS);
            }
            print_line(&format!(
                "{}: {} advisories",
                state.path.display(),
                state.advisories
            ));
            if state.advisories == 0 {
                print_line(
                    "nothing imported yet: every scan is `not checked` until `slipway db update` downloads OSV's advisories (or `slipway db import PATH` loads a directory or an all.zip)",
                );
                return Ok(ExitCode::SUCCESS);
            }
            let mut table = Table::new(vec!["ECOSYSTEM", "ADVISORIES"]);
            for ecosystem in &state.ecosystems {
                table.row(vec![
                    ecosystem.ecosystem.clone(),
                    ecosystem.advisories.to_string(),
                ]);
            }
            table.print();
            if let Some(newest) = state.newest_modified {
                print_line(&format!(
                    "newest advisory modified {} ({})",
                    newest,
                    output::ago(newest)
                ));
            }
            if let Some(import) = &state.last_import {
                print_line(&format!(
                    "last import: {} from {} ({} records, {} skipped)",
                    output::ago(import.imported_at),
                    import.source,
                    import.records,
                    import.skipped
                ));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Downloads what changed of `ecosystems` (default: all) from `source` into the user's database.
async fn update(
    source: &str,
    ecosystems: &[String],
    json: bool,
    status: Status,
) -> Result<ExitCode, Failure> {
    let updater = Updater::new(source, tls_config()?).map_err(update_failure)?;
    let index = AdvisoryIndex::open(&user_advisory_dir()?)?;
    let chosen: Vec<&str> = if ecosystems.is_empty() {
        UPDATE_ECOSYSTEMS.to_vec()
    } else {
        ecosystems.iter().map(String::as_str).collect()
    };
    let summary = updater
        .update(&index, &chosen, &mut |what| status.line(what))
        .await
        .map_err(update_failure)?;
    if json {
        print_json(&summary)?;
        return Ok(ExitCode::SUCCESS);
    }
    for ecosystem in &summary.ecosystems {
        let fetched = match ecosystem.fetched {
            Fetched::Downloaded => "downloaded",
            Fetched::Unchanged => "unchanged",
        };
        print_line(&format!(
            "{:<10} {fetched:<10} {} bytes  sha256:{}",
            ecosystem.ecosystem, ecosystem.bytes, ecosystem.sha256
        ));
    }
    print_line(&format!(
        "{} advisories in {}{}",
        summary.advisories,
        index.path().display(),
        if summary.rebuilt {
            ""
        } else {
            " (nothing changed)"
        }
    ));
    Ok(ExitCode::SUCCESS)
}

/// TLS trusting the system's certificates.
fn tls_config() -> Result<rustls::ClientConfig, Failure> {
    let (roots, system) = slipway_https::roots(&[]);
    if system == 0 {
        return Err(Failure::new("no trusted certificates found on this system")
            .hint("install the CA certificates (ca-certificates), or point SSL_CERT_FILE at a PEM bundle"));
    }
    slipway_https::tls_config(roots).map_err(|error| Failure::new(error.to_string()))
}

fn update_failure(error: UpdateError) -> Failure {
    let hint = match &error {
        UpdateError::NotHttps { .. } => {
            "give --source (or SLIPWAY_OSV_URL) as https://HOST/PATH, laid out as OSV's bucket"
        }
        UpdateError::Checksum { .. } | UpdateError::Transfer { .. } => {
            "run it again: the previous advisories are still in place"
        }
        UpdateError::Status { .. } => "check --source: it must serve ECOSYSTEM/all.zip",
        _ => "the previous advisories are still in place",
    };
    match error {
        UpdateError::NotHttps { .. } => Failure::bad_input(error.to_string()).hint(hint),
        UpdateError::Index(error) => error.into(),
        error => Failure::new(error.to_string()).hint(hint),
    }
}
