//! `concurrency:` groups, across the jobs of a run and across `slipway run` processes.
//!
//! A group is a file lock under `<state>/concurrency/`: whoever holds the lock runs. As GitHub
//! documents: without `cancel-in-progress`, a newcomer waits, and at most one waits: a newer
//! newcomer takes its place and the older one is cancelled; with `cancel-in-progress`, the
//! newcomer asks the holder to cancel, then takes the group once the holder let go. Requests
//! travel through small files next to the lock (`.pending` names the one waiting, `.cancel`
//! names the holder asked to stop), which the holder watches while it runs.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use nix::fcntl::{Flock, FlockArg};
use sha2::{Digest, Sha256};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How often a waiter retries the lock and a holder looks for a cancel request.
const POLL: Duration = Duration::from_millis(100);

/// Why a group was not joined.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GroupError {
    /// A newer run or job queued for the group; this one is cancelled, as on GitHub.
    #[error("cancelled: a newer run is waiting for concurrency group '{0}'")]
    Superseded(String),
    /// The waiter itself was cancelled.
    #[error("cancelled while waiting for concurrency group '{0}'")]
    Cancelled(String),
    /// The group's files could not be used.
    #[error("concurrency group '{group}': {source}")]
    Io {
        group: String,
        source: std::io::Error,
    },
}

/// The groups of a project.
#[derive(Debug, Clone)]
pub(crate) struct ConcurrencyGroups {
    dir: PathBuf,
}

/// Membership of a group; leaving it (dropping) lets the next one in.
#[derive(Debug)]
pub(crate) struct Guard {
    _lock: Flock<File>,
    watcher: JoinHandle<()>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.watcher.abort();
    }
}

impl ConcurrencyGroups {
    /// The groups under `dir`.
    pub(crate) fn new(dir: PathBuf) -> ConcurrencyGroups {
        ConcurrencyGroups { dir }
    }

    /// Joins `group`, waiting as GitHub's rules say. While the guard lives, a newcomer with
    /// `cancel-in-progress` cancels `holder`.
    pub(crate) async fn acquire(
        &self,
        group: &str,
        cancel_in_progress: bool,
        holder: &CancellationToken,
    ) -> Result<Guard, GroupError> {
        let io = |source| GroupError::Io {
            group: group.to_owned(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        let files = GroupFiles::new(&self.dir, group);
        let token = next_token();
        // A newcomer waits only once the lock is taken: registering before trying would let one
        // that gets the lock at once overwrite (and so supersede) one that is really waiting.
        let mut waiting = false;
        loop {
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&files.lock)
                .map_err(io)?;
            match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(lock) => {
                    std::fs::write(&files.holder, &token).map_err(io)?;
                    if read(&files.pending) == token {
                        let _ = std::fs::remove_file(&files.pending);
                    }
                    let watcher = tokio::spawn(watch(files, token, holder.clone()));
                    return Ok(Guard {
                        _lock: lock,
                        watcher,
                    });
                }
                Err(_) => {
                    if cancel_in_progress {
                        let current = read(&files.holder);
                        if !current.is_empty() && read(&files.cancel) != current {
                            std::fs::write(&files.cancel, current).map_err(io)?;
                        }
                    } else if !waiting {
                        std::fs::write(&files.pending, &token).map_err(io)?;
                        waiting = true;
                    } else if read(&files.pending) != token {
                        return Err(GroupError::Superseded(group.to_owned()));
                    }
                }
            }
            tokio::select! {
                () = holder.cancelled() => return Err(GroupError::Cancelled(group.to_owned())),
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }
}

/// A group's files.
#[derive(Debug, Clone)]
struct GroupFiles {
    lock: PathBuf,
    holder: PathBuf,
    pending: PathBuf,
    cancel: PathBuf,
}

impl GroupFiles {
    fn new(dir: &Path, group: &str) -> GroupFiles {
        let name = hex::encode(Sha256::digest(group.as_bytes()));
        let name = &name[..32];
        GroupFiles {
            lock: dir.join(format!("{name}.lock")),
            holder: dir.join(format!("{name}.holder")),
            pending: dir.join(format!("{name}.pending")),
            cancel: dir.join(format!("{name}.cancel")),
        }
    }
}

/// While holding a group: cancels `holder` when a newcomer names `token` in the cancel file.
async fn watch(files: GroupFiles, token: String, holder: CancellationToken) {
    loop {
        tokio::time::sleep(POLL).await;
        if read(&files.cancel) == token {
            let _ = std::fs::remove_file(&files.cancel);
            holder.cancel();
            return;
        }
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// A token unique among every holder on this machine: the process id and a counter.
fn next_token() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_newer_waiter_replaces_the_older_one() {
        let dir = tempfile::tempdir().unwrap();
        let groups = ConcurrencyGroups::new(dir.path().to_owned());
        let first = CancellationToken::new();
        let held = groups.acquire("deploy", false, &first).await.unwrap();
        let older = {
            let groups = groups.clone();
            tokio::spawn(async move {
                groups
                    .acquire("deploy", false, &CancellationToken::new())
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(250)).await;
        let newer = {
            let groups = groups.clone();
            tokio::spawn(async move {
                groups
                    .acquire("deploy", false, &CancellationToken::new())
                    .await
            })
        };
        let older = older.await.unwrap();
        assert!(
            matches!(older, Err(GroupError::Superseded(ref g)) if g == "deploy"),
            "{older:?}"
        );
        assert!(!first.is_cancelled(), "waiting never cancels the holder");
        drop(held);
        let newer = tokio::time::timeout(Duration::from_secs(5), newer)
            .await
            .unwrap()
            .unwrap();
        assert!(newer.is_ok());
    }

    #[tokio::test]
    async fn one_that_gets_the_lock_at_once_never_supersedes_a_waiter() {
        let dir = tempfile::tempdir().unwrap();
        let groups = ConcurrencyGroups::new(dir.path().to_owned());
        let token = CancellationToken::new();
        let held = groups.acquire("jobs", false, &token).await.unwrap();
        let waiter = {
            let (groups, token) = (groups.clone(), token.clone());
            tokio::spawn(async move { groups.acquire("jobs", false, &token).await.map(drop) })
        };
        tokio::time::sleep(Duration::from_millis(250)).await;
        drop(held);
        // Takes the lock before the waiter polls again: it never waited, so it replaces no one.
        let next = groups.acquire("jobs", false, &token).await.unwrap();
        tokio::time::sleep(Duration::from_millis(250)).await;
        drop(next);
        let waiter = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
        assert!(waiter.is_ok(), "{waiter:?}");
    }

    #[tokio::test]
    async fn cancel_in_progress_cancels_the_holder_then_takes_over() {
        let dir = tempfile::tempdir().unwrap();
        let groups = ConcurrencyGroups::new(dir.path().to_owned());
        let holder = CancellationToken::new();
        let held = groups.acquire("ci-main", true, &holder).await.unwrap();
        let newcomer = {
            let groups = groups.clone();
            tokio::spawn(async move {
                groups
                    .acquire("ci-main", true, &CancellationToken::new())
                    .await
            })
        };
        tokio::time::timeout(Duration::from_secs(5), holder.cancelled())
            .await
            .unwrap();
        drop(held);
        let newcomer = tokio::time::timeout(Duration::from_secs(5), newcomer)
            .await
            .unwrap()
            .unwrap();
        assert!(newcomer.is_ok());
    }

    #[tokio::test]
    async fn different_groups_do_not_wait_for_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let groups = ConcurrencyGroups::new(dir.path().to_owned());
        let token = CancellationToken::new();
        let _a = groups.acquire("a", false, &token).await.unwrap();
        let b =
            tokio::time::timeout(Duration::from_secs(1), groups.acquire("b", false, &token)).await;
        assert!(b.unwrap().is_ok());
    }
}
