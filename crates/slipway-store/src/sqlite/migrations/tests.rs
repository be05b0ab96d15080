//! Upgrade tests: a database of every earlier schema version opens, migrates and reads back.

use std::path::Path;

use super::seeds::SEEDS;
use super::*;
use crate::SqliteStore;

/// Builds a database at schema `version` in `dir` the way it would have been written then: each
/// migration up to `version`, each followed by its seed.
fn database_at(dir: &Path, version: u32) {
    let mut connection = Connection::open(dir.join("state.db")).unwrap();
    for seed in SEEDS.iter().take_while(|seed| seed.version <= version) {
        assert_eq!(
            migrate_to(&mut connection, seed.version).unwrap(),
            Schema::Known
        );
        (seed.insert)(&connection).unwrap();
    }
}

fn stored_version(dir: &Path) -> u32 {
    user_version(&Connection::open(dir.join("state.db")).unwrap()).unwrap()
}

#[test]
fn opens_a_database_of_every_version_and_reads_what_each_version_wrote() {
    // Up to and including the current version, so that the newest seed is checked too.
    for from in 0..=SCHEMA_VERSION {
        let dir = tempfile::tempdir().unwrap();
        database_at(dir.path(), from);
        assert_eq!(stored_version(dir.path()), from);

        let store = SqliteStore::open(dir.path())
            .unwrap_or_else(|error| panic!("opening a schema {from} database: {error:?}"));

        store.integrity_check().unwrap();
        assert_eq!(
            stored_version(dir.path()),
            SCHEMA_VERSION,
            "migrating from {from}"
        );
        for seed in SEEDS.iter().take_while(|seed| seed.version <= from) {
            (seed.check)(&store);
        }
    }
}

#[test]
fn every_migration_has_a_seed() {
    let seeded: Vec<u32> = SEEDS.iter().map(|seed| seed.version).collect();
    let migrated: Vec<u32> = (1..=SCHEMA_VERSION).collect();
    assert_eq!(
        seeded, migrated,
        "every migration needs a seed in src/sqlite/migrations/seeds.rs, in order"
    );
}

#[test]
fn every_sql_file_is_listed_once_in_order() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/sqlite/migrations");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter_map(|name| name.strip_suffix(".sql").map(str::to_owned))
        .collect();
    files.sort();
    let listed: Vec<&str> = MIGRATIONS.iter().map(|migration| migration.name).collect();
    assert_eq!(
        files,
        listed,
        "each file in {} must be listed in MIGRATIONS",
        dir.display()
    );
    for (number, name) in (1..).zip(&listed) {
        assert!(
            name.starts_with(&format!("{number:04}_")),
            "migration {number} is named {name}: names start with their number"
        );
    }
}

#[test]
fn a_database_from_a_newer_slipway_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    database_at(dir.path(), SCHEMA_VERSION);
    let newer = SCHEMA_VERSION + 1;
    Connection::open(dir.path().join("state.db"))
        .unwrap()
        .pragma_update(None, "user_version", newer)
        .unwrap();

    let error = SqliteStore::open(dir.path()).unwrap_err();

    assert!(
        matches!(error, StoreError::NewerSchema { found, supported, .. }
            if found == newer && supported == SCHEMA_VERSION),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "{} was written by a newer slipway (schema {newer}, this binary knows {SCHEMA_VERSION}); upgrade slipway",
            dir.path().join("state.db").display()
        )
    );
    assert_eq!(stored_version(dir.path()), newer);
}

#[test]
fn a_migration_that_fails_leaves_the_previous_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    // A table in the way of migration 1: its CREATE TABLE fails, and the transaction with it.
    Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE builds (x)")
        .unwrap();

    let error = SqliteStore::open(dir.path()).unwrap_err();

    assert!(
        matches!(&error, StoreError::Migration { migration, .. } if migration == "0001_builds"),
        "{error:?}"
    );
    let connection = Connection::open(&path).unwrap();
    assert_eq!(user_version(&connection).unwrap(), 0);
    let schema: String = connection
        .query_row("SELECT group_concat(name) FROM sqlite_schema", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(
        schema, "builds",
        "a failed migration must leave nothing of its own behind"
    );
}
