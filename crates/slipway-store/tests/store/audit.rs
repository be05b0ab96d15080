//! The audit trail: one hash chain even with appenders in two processes; any edit, removal or
//! reordering is named by `verify_audit`.

use std::io::Write;
use std::path::PathBuf;

use rusqlite::Connection;
use slipway_store::{
    AuditCheck, AuditEntry, AuditProblem, AuditStore, GENESIS_HASH, NewAuditEntry, PageRequest,
    SqliteStore,
};

use crate::support::{RoleProcess, role, test_name};

const ENTRIES_PER_APPENDER: usize = 150;
const STATE_DIR_VARIABLE: &str = "SLIPWAY_TEST_STATE_DIR";
const ACTOR_VARIABLE: &str = "SLIPWAY_TEST_ACTOR";
const READY: &str = "<ready>";

fn entry(actor: &str, n: usize) -> NewAuditEntry {
    NewAuditEntry {
        at: jiff::Timestamp::now(),
        actor: actor.to_owned(),
        action: "run.dispatch".to_owned(),
        target: format!("shop/run-{n}"),
        detail: format!("workflow ci.yml, ref refs/heads/main, attempt {n}"),
        remote_addr: Some("127.0.0.1".to_owned()),
    }
}

fn store_with(entries: usize) -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    for n in 0..entries {
        store.append_audit(&entry("admin", n)).unwrap();
    }
    (dir, store)
}

fn sql(dir: &tempfile::TempDir, statement: &str) {
    Connection::open(dir.path().join("state.db"))
        .unwrap()
        .execute_batch(statement)
        .unwrap();
}

#[test]
fn appended_entries_link_and_list_newest_first() {
    let (_dir, store) = store_with(3);
    let page = store
        .audit_entries(&PageRequest {
            after: None,
            limit: 10,
        })
        .unwrap();
    let ids: Vec<i64> = page.items.iter().map(|e| e.id).collect();
    assert_eq!(ids, [3, 2, 1]);
    assert_eq!(page.next, None);
    assert_eq!(page.items[2].prev_hash, GENESIS_HASH);
    assert_eq!(page.items[1].prev_hash, page.items[2].hash);
    assert_eq!(
        page.items[0].hash,
        AuditEntry::compute_hash(3, &page.items[0].record, &page.items[1].hash)
    );
    assert_eq!(
        store.verify_audit().unwrap(),
        AuditCheck::Intact {
            entries: 3,
            head: Some(page.items[0].hash.clone())
        }
    );
    let older = store
        .audit_entries(&PageRequest {
            after: None,
            limit: 2,
        })
        .unwrap();
    let rest = store
        .audit_entries(&PageRequest {
            after: older.next,
            limit: 2,
        })
        .unwrap();
    assert_eq!(rest.items.iter().map(|e| e.id).collect::<Vec<_>>(), [1]);
}

#[test]
fn an_empty_trail_is_intact() {
    let (_dir, store) = store_with(0);
    assert_eq!(
        store.verify_audit().unwrap(),
        AuditCheck::Intact {
            entries: 0,
            head: None
        }
    );
}

#[test]
fn an_edited_entry_is_named() {
    let (dir, store) = store_with(5);
    sql(
        &dir,
        "UPDATE audit_entries SET actor = 'mallory' WHERE id = 3",
    );
    assert_eq!(
        store.verify_audit().unwrap(),
        AuditCheck::Broken {
            id: 3,
            problem: AuditProblem::HashMismatch
        }
    );
}

#[test]
fn an_entry_removed_from_the_middle_breaks_the_next_link() {
    let (dir, store) = store_with(5);
    sql(&dir, "DELETE FROM audit_entries WHERE id = 2");
    let AuditCheck::Broken { id, problem } = store.verify_audit().unwrap() else {
        panic!("a removed entry must be found")
    };
    assert_eq!(id, 3);
    assert!(
        matches!(problem, AuditProblem::BrokenLink { .. }),
        "{problem:?}"
    );
}

#[test]
fn a_removed_first_entry_and_a_renumbered_entry_are_found() {
    let (dir, store) = store_with(3);
    sql(&dir, "DELETE FROM audit_entries WHERE id = 1");
    assert!(matches!(
        store.verify_audit().unwrap(),
        AuditCheck::Broken {
            id: 2,
            problem: AuditProblem::BrokenLink { .. }
        }
    ));
    let (dir, store) = store_with(3);
    sql(&dir, "UPDATE audit_entries SET id = 9 WHERE id = 3");
    assert_eq!(
        store.verify_audit().unwrap(),
        AuditCheck::Broken {
            id: 9,
            problem: AuditProblem::Gap { previous: 2 }
        }
    );
}

#[test]
fn appenders_in_two_processes_form_one_chain() {
    if let Some(role) = role() {
        assert_eq!(role, "audit-appender");
        return append_when_told();
    }
    let state = tempfile::tempdir().unwrap();
    // Created first, so that the two appenders race on appends rather than on migrations.
    drop(SqliteStore::open(state.path()).unwrap());
    let test = test_name(module_path!(), "appenders_in_two_processes_form_one_chain");
    let mut appenders: Vec<RoleProcess> = ["alice", "bob"]
        .into_iter()
        .map(|actor| {
            RoleProcess::spawn(
                &test,
                "audit-appender",
                &[
                    (STATE_DIR_VARIABLE, state.path().display().to_string()),
                    (ACTOR_VARIABLE, actor.to_owned()),
                ],
            )
        })
        .collect();
    for appender in &mut appenders {
        assert_eq!(
            appender.next(READY).as_deref(),
            Some(""),
            "an appender failed to open"
        );
    }
    for appender in &mut appenders {
        appender.send("go");
    }
    for appender in &mut appenders {
        assert!(appender.wait().success(), "an appender failed; see above");
    }
    let store = SqliteStore::open(state.path()).unwrap();
    let total = 2 * ENTRIES_PER_APPENDER as u64;
    assert!(
        matches!(store.verify_audit().unwrap(), AuditCheck::Intact { entries, .. } if entries == total),
        "{:?}",
        store.verify_audit()
    );
}

/// An appender's role: opens the store, says it is ready, and on "go" appends its entries.
fn append_when_told() {
    let dir = PathBuf::from(std::env::var(STATE_DIR_VARIABLE).unwrap());
    let actor = std::env::var(ACTOR_VARIABLE).unwrap();
    let store = SqliteStore::open(&dir).unwrap();
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{READY}").unwrap();
    stdout.flush().unwrap();
    let mut go = String::new();
    std::io::stdin().read_line(&mut go).unwrap();
    assert_eq!(go.trim(), "go");
    for n in 0..ENTRIES_PER_APPENDER {
        store.append_audit(&entry(&actor, n)).unwrap();
    }
}
