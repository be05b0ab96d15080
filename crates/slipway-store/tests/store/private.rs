//! Private state: the store's directory is 0700 and state.db with its -wal and -shm 0600,
//! whatever the umask; an existing world-readable directory and database are tightened.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use slipway_store::{AuditStore, NewAuditEntry, SqliteStore};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn write_something(store: &SqliteStore) {
    store
        .append_audit(&NewAuditEntry {
            at: jiff::Timestamp::now(),
            actor: "admin".to_owned(),
            action: "project.add".to_owned(),
            target: "shop".to_owned(),
            detail: String::new(),
            remote_addr: None,
        })
        .unwrap();
}

#[test]
fn a_new_store_is_its_owners_alone() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("data/.slipway");
    let store = SqliteStore::open(&dir).unwrap();
    write_something(&store);
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&scratch.path().join("data")), 0o700);
    for file in ["state.db", "state.db-wal", "state.db-shm"] {
        assert_eq!(mode(&dir.join(file)), 0o600, "{file}");
    }
}

#[test]
fn a_world_readable_state_directory_and_database_are_tightened() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join(".slipway");
    drop(SqliteStore::open(&dir).unwrap());
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    for file in ["state.db", "state.db-wal", "state.db-shm"] {
        let path = dir.join(file);
        if path.exists() {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
    let store = SqliteStore::open(&dir).unwrap();
    write_something(&store);
    assert_eq!(mode(&dir), 0o700);
    for file in ["state.db", "state.db-wal", "state.db-shm"] {
        assert_eq!(mode(&dir.join(file)), 0o600, "{file}");
    }
}
