//! Job directories: a workspace and a temporary directory for each running job, reused from
//! job to job within a `slipway run`.
//!
//! A job gets a directory of its own for as long as it runs; when it ends the directory goes
//! back to the pool, and the next job that takes it finds its workspace and temporary directory
//! emptied. Reusing directories rather than making and deleting them per job matters: on ext4,
//! creating a file where many were recently deleted costs more than a trivial step itself. The
//! runner's own files in the temporary directory (file commands, the script, the event payload)
//! are kept and overwritten ([`overwrite`]); anything a step made there is removed.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

/// The entries of a temporary directory the runner writes and rewrites for every job.
const RUNNER_FILES: &[&str] = &[
    "_runner_file_commands",
    "_github_event.json",
    "_step.pid",
    "script.sh",
    "script.py",
    "script.ps1",
    "script",
];

/// The job directories of one `slipway run`, under one root removed when the run ends.
#[derive(Debug)]
pub(crate) struct WorkDirs {
    root: PathBuf,
    free: Mutex<Vec<PathBuf>>,
    made: AtomicUsize,
}

/// A job's directories, taken from the pool.
#[derive(Debug)]
pub(crate) struct JobDir {
    /// The directory holding the other two; given back with [`WorkDirs::give_back`].
    pub(crate) root: PathBuf,
    /// `GITHUB_WORKSPACE` (unless the run uses the working tree).
    pub(crate) workspace: PathBuf,
    /// `RUNNER_TEMP`.
    pub(crate) temp: PathBuf,
}

impl WorkDirs {
    /// A pool under `root`, which is made when the first job needs it.
    pub(crate) fn new(root: PathBuf) -> WorkDirs {
        WorkDirs {
            root,
            free: Mutex::new(Vec::new()),
            made: AtomicUsize::new(0),
        }
    }

    /// Directories for a job, with an empty workspace and a temporary directory holding only
    /// the runner's own files.
    pub(crate) fn take(&self) -> io::Result<JobDir> {
        let reused = self
            .free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let root = match reused {
            Some(root) => root,
            None => self
                .root
                .join(format!("job-{}", self.made.fetch_add(1, Ordering::Relaxed))),
        };
        let dir = JobDir {
            workspace: root.join("workspace"),
            temp: root.join("temp"),
            root,
        };
        empty(&dir.workspace, &[])?;
        empty(&dir.temp, RUNNER_FILES)?;
        std::fs::create_dir_all(dir.temp.join("_runner_file_commands"))?;
        Ok(dir)
    }

    /// Puts a job's directories back for the next job.
    pub(crate) fn give_back(&self, root: PathBuf) {
        self.free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(root);
    }

    /// Removes every job directory; called once no job runs.
    pub(crate) fn remove_all(&self) -> io::Result<()> {
        match std::fs::remove_dir_all(&self.root) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }
}

/// Replaces the contents of one of the runner's own files (a step's script, the event payload),
/// which every step or job rewrites.
///
/// The new contents are written over the old ones, and only a longer tail is cut, because
/// truncating a file to nothing costs a disk round trip on ext4: a file truncated to zero has
/// its new data flushed when it is closed (the `auto_da_alloc` safeguard), so each rewrite
/// allocated blocks that the next truncation freed, and freeing them waits for the device on a
/// file system mounted with `discard`. Written over in place, a script stays in the page cache.
pub(crate) fn overwrite(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    file.write_all(contents)?;
    let length = contents.len() as u64;
    if file.metadata()?.len() > length {
        file.set_len(length)?;
    }
    Ok(())
}

/// Makes `dir` exist and hold nothing but the entries named in `keep`.
fn empty(dir: &Path, keep: &[&str]) -> io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return std::fs::create_dir_all(dir);
        }
        Err(error) => return Err(error),
    };
    for entry in entries {
        let entry = entry?;
        if keep.iter().any(|name| entry.file_name() == *name) {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reused_directory_comes_back_empty_but_for_the_runners_files() {
        let state = tempfile::tempdir().unwrap();
        let pool = WorkDirs::new(state.path().join("work"));
        let first = pool.take().unwrap();
        std::fs::write(first.workspace.join("left.txt"), "x").unwrap();
        std::fs::create_dir_all(first.workspace.join("dir/deep")).unwrap();
        std::fs::write(first.temp.join("tool.tar"), "x").unwrap();
        std::fs::write(first.temp.join("script.sh"), "echo").unwrap();
        std::fs::write(first.temp.join("_runner_file_commands/set_output"), "a=1").unwrap();
        let second = pool.take().unwrap();
        assert_ne!(
            second.root, first.root,
            "a directory in use is not handed out twice"
        );
        pool.give_back(first.root.clone());

        let again = pool.take().unwrap();

        assert_eq!(again.root, first.root);
        assert_eq!(std::fs::read_dir(&again.workspace).unwrap().count(), 0);
        assert!(!again.temp.join("tool.tar").exists());
        assert!(again.temp.join("script.sh").exists());
        assert!(again.temp.join("_runner_file_commands").is_dir());
        pool.remove_all().unwrap();
        assert!(!state.path().join("work").exists());
        pool.remove_all().unwrap();
    }

    #[test]
    fn overwriting_leaves_exactly_the_new_contents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("script.sh");
        overwrite(&path, b"echo a long first script\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "echo a long first script\n"
        );
        overwrite(&path, b"true\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "true\n");
        overwrite(&path, b"echo longer than the last one\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "echo longer than the last one\n"
        );
        overwrite(&path, b"").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
    }
}
