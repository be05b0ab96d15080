//! `slipway audit [--verify]`: the audit trail, newest first, and the proof that it is whole.

use std::path::Path;
use std::process::ExitCode;

use slipway_store::{AuditCheck, AuditEntry, AuditStore, Cursor, PageRequest, SqliteStore};

use crate::cli::{AuditArgs, GlobalArgs};
use crate::output::{Table, print_json, print_line};
use crate::project;
use crate::report::Failure;

pub(crate) fn run(global: &GlobalArgs, args: &AuditArgs) -> Result<ExitCode, Failure> {
    let dir = match &args.data {
        Some(dir) => dir.clone(),
        None => project::state_dir(global, &project::current_dir()?),
    };
    let store = open_existing(&dir)?;
    if args.verify {
        verify(&store, args.json)
    } else {
        list(&store, args)
    }
}

/// The store in `dir`, which must exist: listing a trail never creates one.
fn open_existing(dir: &Path) -> Result<SqliteStore, Failure> {
    if !dir.join("state.db").is_file() {
        return Err(
            Failure::bad_input(format!("no state store in {}", dir.display()))
                .hint("give --data the directory `slipway serve` uses, or run this in the project"),
        );
    }
    Ok(SqliteStore::open(dir)?)
}

fn list(store: &SqliteStore, args: &AuditArgs) -> Result<ExitCode, Failure> {
    let page = store.audit_entries(&PageRequest {
        after: args.before.map(Cursor::new),
        limit: args.limit,
    })?;
    if args.json {
        print_json(&page)?;
    } else if page.items.is_empty() {
        print_line("no audit entries recorded yet");
    } else {
        table(&page.items).print();
        if let Some(next) = page.next {
            print_line(&format!("older entries: --before {}", next.get()));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn table(entries: &[AuditEntry]) -> Table {
    let mut table = Table::new(vec![
        "ID", "WHEN", "ACTOR", "ACTION", "TARGET", "FROM", "DETAIL",
    ]);
    for entry in entries {
        let record = &entry.record;
        table.row(vec![
            entry.id.to_string(),
            record.at.to_string(),
            record.actor.clone(),
            record.action.clone(),
            record.target.clone(),
            record.remote_addr.clone().unwrap_or_else(|| "-".to_owned()),
            record.detail.clone(),
        ]);
    }
    table
}

fn verify(store: &SqliteStore, json: bool) -> Result<ExitCode, Failure> {
    let check = store.verify_audit()?;
    if json {
        print_json(&check)?;
    }
    match check {
        AuditCheck::Intact { entries, head } => {
            if !json {
                let head = head.map_or_else(String::new, |head| format!("; head {head}"));
                print_line(&format!("audit trail intact: {entries} entries{head}"));
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCheck::Broken { id, problem } => Err(Failure::new(format!(
            "audit entry {id} is broken: {problem}"
        ))
        .hint("the trail was edited outside Slipway; restore the state store from a backup and compare")),
    }
}
