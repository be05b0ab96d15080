//! Schema migrations: an ordered list of SQL files, applied on open, one transaction each.
//!
//! Migration N (`migrations/NNNN_name.sql`) takes the schema from version N-1 to N. The version
//! is `PRAGMA user_version`, which SQLite keeps in the file header and changes in the same
//! transaction as the migration's SQL, so a crash leaves the old schema or the new one, never a
//! mix. A released migration is never edited: a change is a new file, listed in [`MIGRATIONS`],
//! with a seed in `seeds.rs` proving that rows written at that version survive every later
//! migration (the tests fail until both exist).

use rusqlite::{Connection, TransactionBehavior};

use super::Files;
use crate::StoreError;

/// One step of the schema.
struct Migration {
    /// The file name without `.sql`: `NNNN_what_it_does`.
    name: &'static str,
    sql: &'static str,
}

/// Lists migrations by file name and embeds each file's SQL.
macro_rules! migrations {
    ($($name:literal),* $(,)?) => {
        &[$(Migration { name: $name, sql: include_str!(concat!("migrations/", $name, ".sql")) }),*]
    };
}

/// Every migration, in order: the one at index i takes the schema to version i + 1.
const MIGRATIONS: &[Migration] = migrations![
    "0001_builds",
    "0002_runs",
    "0003_registry_events",
    "0004_releases",
    "0005_scans",
    "0006_scan_verdicts",
    "0007_release_revisions",
    "0008_control_plane",
    "0009_deliveries_audit",
    "0010_trigger_payload",
];

/// The schema version this binary writes: the number of migrations.
const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Brings the database up to [`SCHEMA_VERSION`], refusing one that is newer.
pub(super) fn migrate(connection: &mut Connection, files: &Files) -> Result<(), StoreError> {
    match migrate_to(connection, SCHEMA_VERSION)
        .map_err(|failure| failure.into_store_error(files))?
    {
        Schema::Known => Ok(()),
        Schema::Newer(found) => Err(StoreError::NewerSchema {
            path: files.database.clone(),
            found,
            supported: SCHEMA_VERSION,
        }),
    }
}

/// What [`migrate_to`] found.
#[derive(Debug, PartialEq, Eq)]
enum Schema {
    /// A version this binary knows, now at the target.
    Known,
    /// A version newer than [`SCHEMA_VERSION`], left untouched.
    Newer(u32),
}

/// Why [`migrate_to`] failed.
#[derive(Debug)]
struct Failure {
    /// The migration whose SQL failed, if it was a migration's SQL that failed.
    migration: Option<&'static str>,
    error: rusqlite::Error,
}

impl From<rusqlite::Error> for Failure {
    fn from(error: rusqlite::Error) -> Failure {
        Failure {
            migration: None,
            error,
        }
    }
}

impl Failure {
    /// The [`StoreError`] for this failure: a lock or a full disk is reported as such; anything
    /// else a migration's SQL ran into names the migration.
    fn into_store_error(self, files: &Files) -> StoreError {
        match (files.classify(self.error), self.migration) {
            (StoreError::Sqlite { path, source }, Some(migration)) => StoreError::Migration {
                path,
                migration: migration.to_owned(),
                source,
            },
            (error, _) => error,
        }
    }
}

/// Applies the migrations from the database's version up to `target`, each in its own
/// transaction. The tests call it with an older `target` to build databases of every version.
fn migrate_to(connection: &mut Connection, target: u32) -> Result<Schema, Failure> {
    // Most opens find the schema current: check without taking the write lock.
    let version = user_version(connection)?;
    if version > SCHEMA_VERSION {
        return Ok(Schema::Newer(version));
    }
    let pending = MIGRATIONS
        .iter()
        .zip(1..=target)
        .skip_while(|(_, to)| *to <= version);
    for (migration, to) in pending {
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Read again under the write lock: another process may have migrated in the meantime.
        match user_version(&transaction)? {
            newer if newer > SCHEMA_VERSION => return Ok(Schema::Newer(newer)),
            applied if applied >= to => continue,
            _ => {}
        }
        transaction
            .execute_batch(migration.sql)
            .map_err(|error| Failure {
                migration: Some(migration.name),
                error,
            })?;
        transaction.pragma_update(None, "user_version", to)?;
        transaction.commit()?;
    }
    Ok(Schema::Known)
}

fn user_version(connection: &Connection) -> rusqlite::Result<u32> {
    connection.pragma_query_one(None, "user_version")
}

#[cfg(test)]
mod seeds;

#[cfg(test)]
mod tests;
