//! Private state: the state directory and what Slipway writes in it are its owner's alone.
//!
//! The store, the daemon's logs and sockets, deliveries and the audit trail are nobody else's
//! business on a shared machine, so directories are created `0700` and files `0600` whatever the
//! umask. A directory or file that already exists with looser bits (a `.slipway/` made by an
//! older Slipway as `0755`) is tightened, not refused, and the caller is told so it can say it.
//!
//! Every place that creates the state directory or a file in it calls these functions, so the
//! rule lives here once.

use std::fs::{File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Mode of a private directory.
pub const DIR_MODE: u32 = 0o700;
/// Mode of a private file.
pub const FILE_MODE: u32 = 0o600;

/// A path that existed with looser permissions and was tightened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tightened {
    /// The path.
    pub path: PathBuf,
    /// Its permission bits before (such as `0o755`).
    pub from: u32,
    /// Its permission bits now.
    pub to: u32,
}

impl std::fmt::Display for Tightened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} was readable by other users ({:o}); it is now {:o}, its owner's alone",
            self.path.display(),
            self.from,
            self.to
        )
    }
}

/// Creates `dir` and any missing parents `0700`; tightens `dir` itself to `0700` if it exists
/// with group or other bits.
pub fn create_dir(dir: &Path) -> io::Result<Option<Tightened>> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)?;
    tighten(dir, DIR_MODE)
}

/// Opens `path` for appending, creating it `0600`; tightens it if it exists with looser bits.
/// For logs.
pub fn open_append(path: &Path) -> io::Result<(File, Option<Tightened>)> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(FILE_MODE)
        .open(path)?;
    let tightened = tighten(path, FILE_MODE)?;
    Ok((file, tightened))
}

/// Tightens the file at `path` to `0600` if it exists with group or other bits; nothing if it
/// does not exist.
pub fn restrict_file(path: &Path) -> io::Result<Option<Tightened>> {
    match tighten(path, FILE_MODE) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        other => other,
    }
}

fn tighten(path: &Path, mode: u32) -> io::Result<Option<Tightened>> {
    let from = std::fs::metadata(path)?.permissions().mode() & 0o7777;
    if from & 0o077 == 0 {
        return Ok(None);
    }
    match std::fs::set_permissions(path, Permissions::from_mode(mode)) {
        // Another account owns it (a shared directory an administrator set up): using it as it
        // is beats refusing to work, and the warning says what to fix.
        Err(error) if error.kind() == io::ErrorKind::PermissionDenied => {
            tracing::warn!(
                "{} is readable by other users ({from:o}) and cannot be made private: {error}; \
                 have its owner run `chmod {mode:o}` on it",
                path.display()
            );
            return Ok(None);
        }
        other => other?,
    }
    Ok(Some(Tightened {
        path: path.to_owned(),
        from,
        to: mode,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_directories_and_their_parents_are_0700() {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path().join("a/b/state");
        assert_eq!(create_dir(&dir).unwrap(), None);
        for made in ["a", "a/b", "a/b/state"] {
            assert_eq!(mode(&scratch.path().join(made)), 0o700, "{made}");
        }
    }

    #[test]
    fn an_open_directory_is_tightened_with_a_note() {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path().join("state");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, Permissions::from_mode(0o755)).unwrap();
        let tightened = create_dir(&dir).unwrap().expect("tightened");
        assert_eq!((tightened.from, tightened.to), (0o755, 0o700));
        assert!(tightened.to_string().contains("755"), "{tightened}");
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(create_dir(&dir).unwrap(), None, "already private");
    }

    #[test]
    fn logs_are_created_0600_and_old_ones_tightened() {
        let scratch = tempfile::tempdir().unwrap();
        let log = scratch.path().join("daemon.log");
        let (_file, tightened) = open_append(&log).unwrap();
        assert_eq!((tightened, mode(&log)), (None, 0o600));
        std::fs::set_permissions(&log, Permissions::from_mode(0o644)).unwrap();
        let (_file, tightened) = open_append(&log).unwrap();
        assert_eq!(tightened.map(|t| t.from), Some(0o644));
        assert_eq!(mode(&log), 0o600);
        assert_eq!(restrict_file(&scratch.path().join("absent")).unwrap(), None);
    }
}
