//! A state directory that cannot be written is reported with its path and its cause, before
//! anything is written.

use std::fs::{self, Permissions};
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use slipway_store::{SqliteStore, StoreError};

#[test]
fn an_unwritable_state_directory_is_reported_with_its_path_and_cause() {
    let root = tempfile::tempdir().unwrap();
    let (dir, cause) = unwritable_directory(root.path());

    let error = SqliteStore::open(&dir).unwrap_err();

    match &error {
        StoreError::Unwritable {
            dir: reported,
            source,
        } => {
            assert_eq!(reported, &dir);
            assert_eq!(source.kind(), cause);
        }
        other => panic!("expected Unwritable, got {other:?}"),
    }
    assert_eq!(
        error.to_string(),
        format!("cannot write the state directory {}", dir.display())
    );
    assert!(!dir.join("state.db").exists());
}

/// A directory this process may not write, and the cause opening a store there must report.
///
/// A directory with mode 0555, unless permission bits do not bind this process (root, or
/// CAP_DAC_OVERRIDE, as in many containers): then a directory whose parent is a regular file,
/// which nobody can create.
fn unwritable_directory(root: &Path) -> (PathBuf, io::ErrorKind) {
    let read_only = root.join("read-only");
    fs::create_dir(&read_only).unwrap();
    fs::set_permissions(&read_only, Permissions::from_mode(0o555)).unwrap();
    if fs::write(read_only.join("probe"), "").is_err() {
        return (read_only, io::ErrorKind::PermissionDenied);
    }
    let file = root.join("a-file");
    fs::write(&file, "").unwrap();
    (file.join(".slipway"), io::ErrorKind::NotADirectory)
}
