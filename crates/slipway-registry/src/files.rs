//! File operations that keep the storage whole across crashes.
//!
//! Every file the registry makes visible is written to a temporary file in the storage's own
//! `tmp/` directory (the same file system, so the final rename is atomic), flushed to disk, and
//! renamed into place; the directory is then flushed too, so the rename itself survives a power
//! loss. A reader therefore sees a file whole or not at all, whatever was killed when.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rand::Rng;

use crate::storage::StorageError;

/// Runs file system work on tokio's blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T, StorageError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Err(_) => Err(StorageError::io(
            Path::new("."),
            "running file work",
            io::Error::other("the runtime is shutting down"),
        )),
    }
}

/// Writes `bytes` to `path` atomically, using a temporary file in `tmp_dir`.
pub(crate) fn write_atomic(tmp_dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    let temporary = temporary_path(tmp_dir);
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temporary)?;
        file.write_all(bytes)?;
        // An empty file (a link, whose presence is the information) has no data to flush: its
        // inode is metadata, committed with the rename by the directory flush below.
        if bytes.is_empty() {
            return Ok(());
        }
        file.sync_all()
    })();
    if let Err(source) = written {
        let _ = fs::remove_file(&temporary);
        return Err(StorageError::io(&temporary, "writing", source));
    }
    rename_into_place(&temporary, path).inspect_err(|_| {
        let _ = fs::remove_file(&temporary);
    })
}

/// Renames the flushed file `from` to `to`, creating `to`'s directory if needed, and flushes that
/// directory.
pub(crate) fn rename_into_place(from: &Path, to: &Path) -> Result<(), StorageError> {
    let parent = to.parent().unwrap_or(Path::new("."));
    create_dir_all(parent)?;
    fs::rename(from, to).map_err(|source| StorageError::io(to, "renaming into place", source))?;
    sync_dir(parent)
}

/// Flushes a directory's entries to disk.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    File::open(dir)
        .and_then(|dir| dir.sync_all())
        .map_err(|source| StorageError::io(dir, "flushing", source))
}

/// `fs::create_dir_all` with the path in the error.
pub(crate) fn create_dir_all(dir: &Path) -> Result<(), StorageError> {
    fs::create_dir_all(dir).map_err(|source| StorageError::io(dir, "creating", source))
}

/// A fresh, unused path in `tmp_dir`.
fn temporary_path(tmp_dir: &Path) -> PathBuf {
    let suffix: u64 = rand::rng().random();
    tmp_dir.join(format!("{}-{suffix:016x}", std::process::id()))
}

/// Creates an empty file if there is none (a link: its presence is the information), flushing the
/// directory when it did not exist.
pub(crate) fn touch_link(tmp_dir: &Path, path: &Path) -> Result<(), StorageError> {
    match fs::metadata(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => write_atomic(tmp_dir, path, b""),
        Err(source) => Err(StorageError::io(path, "reading", source)),
    }
}

/// Removes a file; `Ok(false)` when it was not there.
pub(crate) fn remove_file(path: &Path) -> Result<bool, StorageError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(StorageError::io(path, "removing", source)),
    }
}

/// Reads a file; `Ok(None)` when it is not there.
pub(crate) fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, StorageError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StorageError::io(path, "reading", source)),
    }
}

/// The names in a directory, sorted; empty when the directory does not exist.
pub(crate) fn list_dir(dir: &Path) -> Result<Vec<String>, StorageError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(StorageError::io(dir, "listing", source)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| StorageError::io(dir, "listing", source))?;
        if let Ok(name) = entry.file_name().into_string() {
            names.push(name);
        }
    }
    names.sort_unstable();
    Ok(names)
}

/// Removes directories under `root` left empty, deepest first, without removing `root`.
pub(crate) fn prune_empty_dirs(root: &Path, from: &Path) {
    let mut dir = from;
    while dir != root && dir.starts_with(root) {
        // Fails, harmlessly, as soon as a directory still holds something.
        if fs::remove_dir(dir).is_err() {
            break;
        }
        match dir.parent() {
            Some(parent) => dir = parent,
            None => break,
        }
    }
}

/// The prefix of files moved aside ([`move_aside`]).
const ASIDE: &str = "aside-";

/// Moves the file at `path` (under `root`) into `tmp_dir` under a name that says where it came
/// from, so that [`restore_asides`] can put it back if this process dies before deciding its
/// fate. Returns where it went; `Ok(None)` when there was no file.
///
/// Garbage collection moves a blob or link aside before reading its time (see
/// [`crate::storage::BlobStore::sweep`]); a crash between the move and putting a file that must
/// stay back would otherwise lose it.
pub(crate) fn move_aside(
    root: &Path,
    tmp_dir: &Path,
    path: &Path,
) -> Result<Option<PathBuf>, StorageError> {
    let relative = path.strip_prefix(root).unwrap_or(path);
    let suffix: u64 = rand::rng().random();
    let aside = tmp_dir.join(format!(
        "{ASIDE}{}-{suffix:016x}",
        hex::encode(relative.as_os_str().as_encoded_bytes())
    ));
    match fs::rename(path, &aside) {
        Ok(()) => Ok(Some(aside)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StorageError::io(path, "moving aside", source)),
    }
}

/// Puts files moved aside more than `age` ago back where they came from (or drops them when
/// something took their place): their mover died before deciding. A file that was going to be
/// removed comes back as garbage, which the next collection removes again; nothing that had to
/// stay is lost.
pub(crate) fn restore_asides(
    root: &Path,
    tmp_dir: &Path,
    age: Duration,
) -> Result<u32, StorageError> {
    let cutoff = SystemTime::now() - age;
    let mut restored = 0;
    for name in list_dir(tmp_dir)? {
        let Some(encoded) = name
            .strip_prefix(ASIDE)
            .and_then(|rest| rest.rsplit_once('-'))
            .map(|(path, _)| path)
        else {
            continue;
        };
        let aside = tmp_dir.join(&name);
        let old = fs::symlink_metadata(&aside)
            .and_then(|metadata| metadata.modified())
            .is_ok_and(|moved| moved < cutoff);
        let Some(relative) = hex::decode(encoded)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
        else {
            continue;
        };
        if !old {
            continue;
        }
        let original = root.join(relative);
        if original.exists() {
            remove_file(&aside)?;
        } else {
            rename_into_place(&aside, &original)?;
            restored += 1;
        }
    }
    Ok(restored)
}

/// Removes entries of `tmp_dir` older than `age`: temporary files of writers that died. Younger
/// ones may belong to a writer at work in another process; files moved aside are left to
/// [`restore_asides`].
pub(crate) fn clean_temporaries(tmp_dir: &Path, age: Duration) -> Result<u32, StorageError> {
    let cutoff = SystemTime::now() - age;
    let mut removed = 0;
    for name in list_dir(tmp_dir)? {
        if name.starts_with(ASIDE) {
            continue;
        }
        let path = tmp_dir.join(name);
        let stale = fs::symlink_metadata(&path)
            .and_then(|metadata| metadata.modified())
            .is_ok_and(|modified| modified < cutoff);
        if stale && remove_file(&path)? {
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_dead_process_moved_aside_is_put_back_unless_replaced() {
        let root = tempfile::tempdir().unwrap();
        let tmp_dir = root.path().join("tmp");
        create_dir_all(&tmp_dir).unwrap();
        let kept = root.path().join("blobs/sha256/ab/abc");
        let replaced = root.path().join("blobs/sha256/cd/cde");
        for path in [&kept, &replaced] {
            write_atomic(&tmp_dir, path, b"content").unwrap();
        }
        move_aside(root.path(), &tmp_dir, &kept).unwrap().unwrap();
        move_aside(root.path(), &tmp_dir, &replaced)
            .unwrap()
            .unwrap();
        write_atomic(&tmp_dir, &replaced, b"new").unwrap();
        assert_eq!(
            move_aside(root.path(), &tmp_dir, &root.path().join("absent")).unwrap(),
            None
        );

        // Young asides may belong to a sweep at work: left alone.
        assert_eq!(
            restore_asides(root.path(), &tmp_dir, Duration::from_secs(60)).unwrap(),
            0
        );
        assert!(!kept.exists());
        // Temporary-file cleaning never takes them.
        assert_eq!(clean_temporaries(&tmp_dir, Duration::ZERO).unwrap(), 0);

        assert_eq!(
            restore_asides(root.path(), &tmp_dir, Duration::ZERO).unwrap(),
            1
        );
        assert_eq!(fs::read(&kept).unwrap(), b"content");
        assert_eq!(fs::read(&replaced).unwrap(), b"new");
        assert_eq!(list_dir(&tmp_dir).unwrap(), Vec::<String>::new());
    }
}
