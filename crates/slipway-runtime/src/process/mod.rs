//! [`ProcessRuntime`]: replicas as supervised child processes on this machine, the embedded
//! default that needs no container engine.
//!
//! Each replica gets a directory under the runtime's state directory holding its record
//! (`replica.json`, see `record.rs`) and its output (`output.log`, standard output and error
//! together, in order). The command runs with `/bin/sh -c` in the workload's directory, with the
//! spec's environment plus `PORT` (a free loopback port allocated here) and `HOST=127.0.0.1`, as
//! the leader of its own process group (see `supervisor.rs` for restarts and stopping).
//!
//! One supervisor per state directory: [`ProcessRuntime::open`] takes an exclusive lock on
//! `supervisor.lock`, and adopts every replica an earlier supervisor left there: a group that
//! still runs is watched again, one that died is restarted as its policy says. So a daemon that
//! crashed and restarts loses no replica and leaves no orphan. Dropping a `ProcessRuntime` (its
//! last clone) stops supervising but leaves the replicas running, for the next supervisor.

mod cgroup;
mod procfs;
mod record;
mod supervisor;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt as _;
use futures::stream::BoxStream;
use nix::fcntl::{Flock, FlockArg};
use nix::unistd::{SysconfVar, sysconf};

use self::cgroup::ReplicaCgroup;
pub use self::cgroup::{CgroupHierarchy, ProcessLimits};
use self::record::{Paths, Record};
use self::supervisor::Supervised;
use crate::error::RuntimeError;
use crate::replica::{LogLine, Replica, ReplicaId, ReplicaStats};
use crate::runtime::{Runtime, RuntimeKind};
use crate::spec::{Labels, ReplicaSpec, Workload, matches_labels};

/// The lock file that makes one process the supervisor of a state directory.
const LOCK_FILE: &str = "supervisor.lock";
/// How long CPU use is measured for [`Runtime::stats`].
const STATS_WINDOW: Duration = Duration::from_millis(500);
/// At most this much of the end of a log is read for [`Runtime::logs`].
const MAX_LOG_READ: u64 = 8 << 20;

/// Runs replicas as supervised child processes. Cheap to clone; clones share the replicas.
#[derive(Debug, Clone)]
pub struct ProcessRuntime {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    _lock: Flock<File>,
    limits: ProcessLimits,
    replicas: Mutex<BTreeMap<String, Arc<Supervised>>>,
}

impl ProcessRuntime {
    /// Becomes the supervisor of the replicas in `dir` (created if missing), adopting those an
    /// earlier supervisor left, and confines replicas to their limits where the machine's cgroup
    /// v2 hierarchy lets it (see [`ProcessLimits::detect`]). Fails with [`RuntimeError::Locked`]
    /// while another process supervises `dir`. Must run inside a tokio runtime: each replica
    /// gets a task.
    pub async fn open(dir: &Path) -> Result<ProcessRuntime, RuntimeError> {
        ProcessRuntime::open_in(dir, &CgroupHierarchy::system()).await
    }

    /// The same, with cgroups in `hierarchy` rather than the machine's.
    pub async fn open_in(
        dir: &Path,
        hierarchy: &CgroupHierarchy,
    ) -> Result<ProcessRuntime, RuntimeError> {
        let state_error = |source| RuntimeError::State {
            path: dir.to_owned(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(state_error)?;
        let lock_path = dir.join(LOCK_FILE);
        let lock_file = File::create(&lock_path).map_err(|source| RuntimeError::State {
            path: lock_path,
            source,
        })?;
        let lock = Flock::lock(lock_file, FlockArg::LockExclusiveNonblock).map_err(|_| {
            RuntimeError::Locked {
                dir: dir.to_owned(),
            }
        })?;
        // After the lock: a second supervisor of the directory must not move itself around.
        let limits = ProcessLimits::detect(hierarchy);
        if let ProcessLimits::NotEnforced { .. } = &limits {
            tracing::warn!("{limits}");
        }
        let mut replicas = BTreeMap::new();
        for entry in std::fs::read_dir(dir).map_err(state_error)? {
            let entry = entry.map_err(state_error)?;
            if !entry.file_type().map_err(state_error)?.is_dir() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let paths = Paths::new(dir, &name);
            match paths.load() {
                Ok(Some(record)) => {
                    tracing::info!(replica = %name, pgid = ?record.pgid, "adopting a replica");
                    let cgroup = adopted_cgroup(&limits, &name, &record);
                    replicas.insert(name, Arc::new(Supervised::adopt(paths, record, cgroup)));
                }
                Ok(None) => discard_unrecorded(&paths)?,
                Err(error) => {
                    tracing::warn!(%error, "skipping a replica whose record is unreadable")
                }
            }
        }
        Ok(ProcessRuntime {
            inner: Arc::new(Inner {
                dir: dir.to_owned(),
                _lock: lock,
                limits,
                replicas: Mutex::new(replicas),
            }),
        })
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Whether replicas are confined to their limits, and why not when they are not.
    pub fn limits(&self) -> &ProcessLimits {
        &self.inner.limits
    }

    /// The path of a replica's output log, for people who want to `tail -f` it.
    pub fn log_path(&self, replica: &ReplicaId) -> PathBuf {
        Paths::new(&self.inner.dir, replica.as_str()).log()
    }

    fn replicas(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Arc<Supervised>>> {
        self.inner
            .replicas
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn find(&self, replica: &ReplicaId) -> Result<Arc<Supervised>, RuntimeError> {
        self.replicas()
            .get(replica.as_str())
            .cloned()
            .ok_or_else(|| RuntimeError::NotFound {
                replica: replica.to_string(),
            })
    }
}

/// The cgroup of a replica an earlier supervisor started: the same group, its limits written
/// again. One that cannot be set up leaves the replica running unconfined, as it may already be.
fn adopted_cgroup(limits: &ProcessLimits, name: &str, record: &Record) -> Option<ReplicaCgroup> {
    ReplicaCgroup::create(limits, name, record.spec.limits())
        .inspect_err(|error| tracing::warn!(%error, "an adopted replica keeps running unconfined"))
        .ok()
        .flatten()
}

/// A replica directory without a record: a supervisor died between creating it and writing the
/// record, or between spawning the child and recording its group. Kills anything marked as its
/// own and removes the directory.
fn discard_unrecorded(paths: &Paths) -> Result<(), RuntimeError> {
    for pid in procfs::processes_marked(&paths.marker()) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    paths.remove()
}

#[async_trait]
impl Runtime for ProcessRuntime {
    fn kind(&self) -> RuntimeKind {
        RuntimeKind::Process
    }

    async fn start(&self, spec: &ReplicaSpec) -> Result<Replica, RuntimeError> {
        if matches!(spec.workload(), Workload::Image { .. }) {
            return Err(RuntimeError::Unsupported {
                runtime: RuntimeKind::Process,
                workload: "an image",
            });
        }
        let name = spec.name().to_owned();
        if self.replicas().contains_key(&name) {
            return Err(RuntimeError::NameInUse { replica: name });
        }
        let port = free_port().map_err(|source| RuntimeError::NoPort {
            replica: name.clone(),
            source,
        })?;
        let paths = Paths::new(&self.inner.dir, &name);
        let cgroup = ReplicaCgroup::create(&self.inner.limits, &name, spec.limits())?;
        let supervised = Arc::new(Supervised::start(paths, spec.clone(), port, cgroup)?);
        let replica = replica_of(&supervised.record());
        self.replicas().insert(name, supervised);
        Ok(replica)
    }

    async fn stop(&self, replica: &ReplicaId, grace: Duration) -> Result<(), RuntimeError> {
        let Some(supervised) = self.replicas().get(replica.as_str()).cloned() else {
            return Ok(());
        };
        supervised.stop(grace).await;
        self.replicas().remove(replica.as_str());
        supervised.paths().remove()
    }

    async fn list(&self, selector: &Labels) -> Result<Vec<Replica>, RuntimeError> {
        Ok(self
            .replicas()
            .values()
            .map(|supervised| supervised.record())
            .filter(|record| matches_labels(record.spec.label_map(), selector))
            .map(|record| replica_of(&record))
            .collect())
    }

    async fn logs(
        &self,
        replica: &ReplicaId,
        tail: Option<usize>,
    ) -> Result<Vec<LogLine>, RuntimeError> {
        let path = self.find(replica)?.paths().log();
        let text = tokio::task::spawn_blocking({
            let path = path.clone();
            move || read_end(&path)
        })
        .await
        .map_err(|error| RuntimeError::State {
            path: path.clone(),
            source: io::Error::other(error),
        })?
        .map_err(|source| RuntimeError::State { path, source })?;
        Ok(last_lines(&text, tail)
            .map(|line| LogLine {
                stream: None,
                text: line.to_owned(),
            })
            .collect())
    }

    fn follow(
        &self,
        replica: &ReplicaId,
        tail: Option<usize>,
    ) -> BoxStream<'static, Result<LogLine, RuntimeError>> {
        match self.find(replica) {
            Ok(supervised) => follow_file(supervised.paths().log(), tail).boxed(),
            Err(error) => futures::stream::once(async { Err(error) }).boxed(),
        }
    }

    async fn stats(&self, replica: &ReplicaId) -> Result<ReplicaStats, RuntimeError> {
        let supervised = self.find(replica)?;
        let record = supervised.record();
        let Some(pgid) = record.pgid else {
            return Ok(ReplicaStats {
                cpu_percent: 0.0,
                memory_bytes: 0,
                memory_percent: 0.0,
            });
        };
        let before = usage(pgid);
        let started = tokio::time::Instant::now();
        tokio::time::sleep(STATS_WINDOW).await;
        let after = usage(pgid);
        let elapsed = started.elapsed().as_secs_f64();
        let ticks_per_second = clock_ticks_per_second();
        let cpu_seconds =
            after.cpu_ticks.saturating_sub(before.cpu_ticks) as f64 / ticks_per_second;
        let limit = record
            .spec
            .limits()
            .memory_bytes
            .or_else(procfs::host_memory_bytes)
            .unwrap_or(u64::MAX);
        Ok(ReplicaStats {
            cpu_percent: if elapsed > 0.0 {
                cpu_seconds / elapsed * 100.0
            } else {
                0.0
            },
            memory_bytes: after.memory_bytes,
            memory_percent: after.memory_bytes as f64 / limit as f64 * 100.0,
        })
    }
}

/// The replica a record describes.
fn replica_of(record: &Record) -> Replica {
    Replica {
        id: ReplicaId::new(record.spec.name()),
        name: record.spec.name().to_owned(),
        labels: record.spec.label_map().clone(),
        address: SocketAddr::from((Ipv4Addr::LOCALHOST, record.port)),
        state: record.state,
        restarts: record.restarts,
        started_at: record.started_at,
    }
}

/// A loopback port nothing listens on right now. Another process could take it before the
/// replica binds it; the replica then fails its health check and the deploy says so.
fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// CPU time and resident memory of a process group.
struct Usage {
    cpu_ticks: u64,
    memory_bytes: u64,
}

fn usage(pgid: i32) -> Usage {
    let page_size = sysconf(SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .and_then(|size| u64::try_from(size).ok())
        .unwrap_or(4096);
    let members = procfs::group_members(pgid);
    Usage {
        cpu_ticks: members.iter().map(|stat| stat.cpu_ticks).sum(),
        memory_bytes: members
            .iter()
            .map(|stat| stat.rss_pages.saturating_mul(page_size))
            .sum(),
    }
}

/// The unit of CPU times in `/proc` (`USER_HZ`, 100 on every Linux Slipway runs on).
fn clock_ticks_per_second() -> f64 {
    sysconf(SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .map_or(100.0, |ticks| ticks as f64)
}

/// The last [`MAX_LOG_READ`] bytes of a log, from the start of a line.
fn read_end(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    let length = file.metadata()?.len();
    let start = length.saturating_sub(MAX_LOG_READ);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Ok(if start > 0 {
        // The first line was cut by the seek.
        text.split_once('\n')
            .map_or_else(String::new, |(_, rest)| rest.to_owned())
    } else {
        text
    })
}

/// The last `tail` lines of `text` (all with `None`), oldest first.
/// How often a followed log file is checked for new output once it has none.
const FOLLOW_INTERVAL: Duration = Duration::from_millis(100);

/// The last `tail` lines of the log at `path`, then each line appended to it: the file is read
/// from where the last read ended, every [`FOLLOW_INTERVAL`] while it has nothing new (as
/// `tail -f` does), and from its start again if it shrank. A line is given once it is whole.
fn follow_file(
    path: PathBuf,
    tail: Option<usize>,
) -> impl futures::Stream<Item = Result<LogLine, RuntimeError>> {
    struct Follower {
        path: PathBuf,
        offset: Option<u64>,
        partial: Vec<u8>,
        ready: std::collections::VecDeque<LogLine>,
    }
    let follower = Follower {
        path,
        offset: None,
        partial: Vec::new(),
        ready: std::collections::VecDeque::new(),
    };
    futures::stream::try_unfold(follower, move |mut follower| async move {
        loop {
            if let Some(line) = follower.ready.pop_front() {
                return Ok(Some((line, follower)));
            }
            let path = follower.path.clone();
            let offset = follower.offset;
            let read = tokio::task::spawn_blocking(move || read_from(&path, offset))
                .await
                .map_err(io::Error::other)
                .and_then(|read| read)
                .map_err(|source| RuntimeError::State {
                    path: follower.path.clone(),
                    source,
                })?;
            let (bytes, end) = read;
            if follower.offset.is_none() {
                // The first read: only its last `tail` lines are given.
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let (whole, partial) = match text.rfind('\n') {
                    Some(end) => (&text[..end], &text[end + 1..]),
                    None => ("", text.as_str()),
                };
                follower
                    .ready
                    .extend(last_lines(whole, tail).map(unattributed));
                follower.partial = partial.as_bytes().to_vec();
            } else if !bytes.is_empty() {
                follower.partial.extend_from_slice(&bytes);
                while let Some(newline) = follower.partial.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = follower.partial.drain(..=newline).collect();
                    let text = String::from_utf8_lossy(&line[..newline]);
                    follower
                        .ready
                        .push_back(unattributed(text.trim_end_matches('\r')));
                }
            }
            let grew = follower.offset != Some(end);
            follower.offset = Some(end);
            if follower.ready.is_empty() && !grew {
                tokio::time::sleep(FOLLOW_INTERVAL).await;
            }
        }
    })
}

/// What the log at `path` holds after `offset` (its last [`MAX_LOG_READ`] bytes without one),
/// and where that ends. A file shorter than `offset` was truncated: it is read from its start.
fn read_from(path: &Path, offset: Option<u64>) -> io::Result<(Vec<u8>, u64)> {
    let mut file = File::open(path)?;
    let length = file.metadata()?.len();
    let start = match offset {
        Some(offset) if offset <= length => offset,
        Some(_) => 0,
        None => length.saturating_sub(MAX_LOG_READ),
    };
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let end = start + bytes.len() as u64;
    if offset.is_none() && start > 0 {
        // The first line was cut by the seek.
        let cut = bytes
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| i + 1);
        bytes.drain(..cut);
    }
    Ok((bytes, end))
}

fn unattributed(text: &str) -> LogLine {
    LogLine {
        stream: None,
        text: text.to_owned(),
    }
}

fn last_lines(text: &str, tail: Option<usize>) -> impl Iterator<Item = &str> {
    let lines: Vec<&str> = text.lines().collect();
    let skip = tail.map_or(0, |tail| lines.len().saturating_sub(tail));
    lines.into_iter().skip(skip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_followed_log_gives_its_last_lines_then_each_whole_line_appended() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("output.log");
        std::fs::write(&path, "old\nlast\nhalf").unwrap();
        let mut lines = Box::pin(follow_file(path.clone(), Some(1)));
        let mut next = async || lines.next().await.unwrap().unwrap().text;

        assert_eq!(next().await, "last");
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(b" done\nnew").unwrap();
        assert_eq!(next().await, "half done", "a line is given once whole");
        file.write_all(b" line\r\n").unwrap();
        assert_eq!(next().await, "new line");
    }

    #[test]
    fn the_last_lines_are_oldest_first() {
        let text = "one\ntwo\nthree\n";
        assert_eq!(
            last_lines(text, Some(2)).collect::<Vec<_>>(),
            ["two", "three"]
        );
        assert_eq!(last_lines(text, Some(9)).count(), 3);
        assert_eq!(last_lines(text, None).count(), 3);
        assert_eq!(last_lines("", Some(1)).count(), 0);
    }

    #[test]
    fn a_long_log_is_read_from_a_line_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("output.log");
        let line = "x".repeat(99);
        let text = format!("{line}\n").repeat(usize::try_from(MAX_LOG_READ / 100 + 50).unwrap());
        std::fs::write(&path, &text).unwrap();
        let end = read_end(&path).unwrap();
        assert!(end.len() as u64 <= MAX_LOG_READ);
        assert!(end.lines().all(|read| read == line));
    }
}
