//! Two processes writing at once both succeed: the second waits for the first's lock instead of
//! failing with "database is locked", also while both create and migrate a new store.

use std::io::Write;
use std::path::PathBuf;

use slipway_store::{BuildQuery, BuildStore, SqliteStore};

use crate::support::{RoleProcess, generated, role, sequence_of, test_name};

const WRITERS: u64 = 2;
const BUILDS_PER_WRITER: u64 = 300;
const LOG_BYTES: usize = 8 * 1024;
const STATE_DIR_VARIABLE: &str = "SLIPWAY_TEST_STATE_DIR";
const FIRST_SEQUENCE_VARIABLE: &str = "SLIPWAY_TEST_FIRST_SEQUENCE";
const READY: &str = "<ready>";

#[test]
fn processes_writing_at_once_all_succeed() {
    if let Some(role) = role() {
        assert_eq!(role, "concurrent-writer");
        return write_when_told();
    }
    // A new directory: the writers also race to create the database and migrate it.
    let state = tempfile::tempdir().unwrap();
    let test = test_name(module_path!(), "processes_writing_at_once_all_succeed");
    let mut writers: Vec<RoleProcess> = (0..WRITERS)
        .map(|writer| {
            RoleProcess::spawn(
                &test,
                "concurrent-writer",
                &[
                    (STATE_DIR_VARIABLE, state.path().display().to_string()),
                    (FIRST_SEQUENCE_VARIABLE, (writer * 1_000_000).to_string()),
                ],
            )
        })
        .collect();
    // Start them together, so that their writes overlap rather than follow each other.
    for writer in &mut writers {
        assert_eq!(
            writer.next(READY).as_deref(),
            Some(""),
            "a writer failed to open the store"
        );
    }
    for writer in &mut writers {
        writer.send("go");
    }
    for writer in &mut writers {
        assert!(
            writer.wait().success(),
            "a writer failed; its error is printed above"
        );
    }

    let store = SqliteStore::open(state.path()).unwrap();
    store.integrity_check().unwrap();
    let builds = store.builds(&BuildQuery::default()).unwrap();
    assert_eq!(builds.len() as u64, WRITERS * BUILDS_PER_WRITER);
    for listed in builds {
        let build = store.build(listed.id).unwrap().unwrap();
        assert_eq!(
            build.record,
            generated(sequence_of(&build.record), LOG_BYTES)
        );
    }
}

/// A writer's role: opens the store, says it is ready, and on "go" records its builds. Any
/// error fails its test, and so its exit status.
fn write_when_told() {
    let dir = PathBuf::from(std::env::var(STATE_DIR_VARIABLE).unwrap());
    let first: u64 = std::env::var(FIRST_SEQUENCE_VARIABLE)
        .unwrap()
        .parse()
        .unwrap();
    let store = SqliteStore::open(&dir).unwrap();
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{READY}").unwrap();
    stdout.flush().unwrap();
    let mut go = String::new();
    std::io::stdin().read_line(&mut go).unwrap();
    assert_eq!(go.trim(), "go");
    for sequence in first..first + BUILDS_PER_WRITER {
        store.record_build(&generated(sequence, LOG_BYTES)).unwrap();
    }
}
