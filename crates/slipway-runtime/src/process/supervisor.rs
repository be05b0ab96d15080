//! One supervised replica: its child process group, the task that restarts it when it exits, and
//! how it is stopped.
//!
//! Each replica runs `/bin/sh -c COMMAND` as the leader of a new process group, so a stop reaches
//! everything the command started, and so the children outlive a supervisor that crashes (they
//! are not in its group and write their output to a file, not to a pipe it holds). The task
//! waits for the leader to exit (or, for a group adopted from an earlier supervisor, polls for
//! the group to disappear), and restarts the command on the same port after a backoff that
//! doubles up to [`MAX_BACKOFF`] and resets once a run lasted [`STABLE_RUN`].

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::cgroup::ReplicaCgroup;
use super::procfs;
use super::record::{Paths, Record};
use crate::error::RuntimeError;
use crate::replica::ReplicaState;
use crate::runtime::RuntimeKind;
use crate::spec::{ReplicaSpec, Workload};

/// The first wait before a restart.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// The longest wait before a restart.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A run this long counts as healthy: the next crash restarts after [`FIRST_BACKOFF`] again.
const STABLE_RUN: Duration = Duration::from_secs(30);
/// How often an adopted group (not this process's child) is checked for having exited, and how
/// often a stop checks whether the group is gone.
const POLL: Duration = Duration::from_millis(50);

/// A replica under supervision.
#[derive(Debug)]
pub(super) struct Supervised {
    shared: Arc<Shared>,
    task: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Debug)]
struct Shared {
    paths: Paths,
    /// The replica's cgroup, where its limits are enforced.
    cgroup: Option<ReplicaCgroup>,
    record: Mutex<Record>,
    /// `Some(grace)` once a stop was asked for.
    stop: watch::Sender<Option<Duration>>,
}

/// What runs for a replica right now.
#[derive(Debug)]
enum Running {
    /// A child of this process, leading its own group.
    Child(Child),
    /// A group started by an earlier supervisor: not a child, so its exit is polled for.
    Adopted,
}

impl Supervised {
    /// Starts `spec` on `port`, in `cgroup` when it has one, and supervises it.
    pub(super) fn start(
        paths: Paths,
        spec: ReplicaSpec,
        port: u16,
        cgroup: Option<ReplicaCgroup>,
    ) -> Result<Supervised, RuntimeError> {
        let record = Record {
            spec,
            port,
            pgid: None,
            started_at: jiff::Timestamp::now(),
            restarts: 0,
            state: ReplicaState::Running,
        };
        std::fs::create_dir_all(&paths.dir).map_err(|source| RuntimeError::State {
            path: paths.dir.clone(),
            source,
        })?;
        // Recorded before the spawn: a supervisor dying in between leaves a record without a
        // group, and its successor finds the child by its marker.
        paths.save(&record)?;
        let child = match spawn(&paths, &record.spec, port, cgroup.as_ref()) {
            Ok(child) => child,
            Err(error) => {
                cgroup.iter().for_each(ReplicaCgroup::remove);
                return Err(error);
            }
        };
        let shared = Shared::new(paths, record, cgroup);
        shared.update(|record| record.pgid = child.id().and_then(|id| i32::try_from(id).ok()))?;
        Ok(Supervised::run(shared, Some(Running::Child(child))))
    }

    /// Takes over a replica an earlier supervisor left: a group that still runs is adopted, one
    /// that is gone is restarted as its policy says, as if it had just exited.
    pub(super) fn adopt(paths: Paths, record: Record, cgroup: Option<ReplicaCgroup>) -> Supervised {
        let running = match record.pgid {
            Some(pgid) if group_alive(pgid) => Some(Running::Adopted),
            _ => {
                // A child spawned after the record was written but before its group was.
                for pid in procfs::processes_marked(&paths.marker()) {
                    // Best effort: it is unrecorded, so nothing can route to it anyway.
                    let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
                }
                None
            }
        };
        let exited_before = matches!(record.state, ReplicaState::Exited { .. });
        let shared = Shared::new(paths, record, cgroup);
        if exited_before {
            return Supervised::run(shared, None);
        }
        Supervised::run(shared, running.or(Some(Running::Adopted)))
    }

    fn run(shared: Shared, running: Option<Running>) -> Supervised {
        let shared = Arc::new(shared);
        let task = running.map(|running| tokio::spawn(supervise(shared.clone(), running)));
        Supervised {
            shared,
            task: Mutex::new(task),
        }
    }

    /// The record as it is now.
    pub(super) fn record(&self) -> Record {
        self.shared.record()
    }

    pub(super) fn paths(&self) -> &Paths {
        &self.shared.paths
    }

    /// Stops the replica: SIGTERM to its group, SIGKILL after `grace`, no more restarts. Returns
    /// once nothing of it runs.
    pub(super) async fn stop(&self, grace: Duration) {
        self.shared.stop.send_replace(Some(grace));
        let task = self
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(task) = task
            && let Err(error) = task.await
        {
            tracing::warn!(replica = %self.shared.paths.dir.display(), %error, "the supervisor task failed");
        }
        // Whatever a task that ended early left behind, and an adopted group it never saw.
        if let Some(pgid) = self.shared.record().pgid {
            terminate(pgid, None, Duration::ZERO).await;
        }
        self.shared.release_cgroup();
    }
}

impl Drop for Supervised {
    /// A supervisor that goes away stops watching but leaves the replica running: the next
    /// supervisor of the state directory adopts it.
    fn drop(&mut self) {
        if let Some(task) = self
            .task
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            task.abort();
        }
    }
}

impl Shared {
    fn new(paths: Paths, record: Record, cgroup: Option<ReplicaCgroup>) -> Shared {
        Shared {
            paths,
            cgroup,
            record: Mutex::new(record),
            stop: watch::Sender::new(None),
        }
    }

    fn record(&self) -> Record {
        self.record
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Changes the record and saves it.
    fn update(&self, change: impl FnOnce(&mut Record)) -> Result<(), RuntimeError> {
        let record = {
            let mut record = self.record.lock().unwrap_or_else(PoisonError::into_inner);
            change(&mut record);
            record.clone()
        };
        self.paths.save(&record)
    }

    /// Removes the replica's cgroup, once nothing of it runs.
    fn release_cgroup(&self) {
        self.cgroup.iter().for_each(ReplicaCgroup::remove);
    }

    /// Like [`update`](Shared::update), for the supervisor task, which has no caller to report
    /// to: a record that cannot be saved only costs a restarted supervisor its knowledge.
    fn note(&self, change: impl FnOnce(&mut Record)) {
        if let Err(error) = self.update(change) {
            tracing::warn!(%error, "cannot save a replica's record");
        }
    }
}

/// Spawns the replica's command as the leader of a new process group, its output appended to
/// the replica's log, inside `cgroup` when it has one.
fn spawn(
    paths: &Paths,
    spec: &ReplicaSpec,
    port: u16,
    cgroup: Option<&ReplicaCgroup>,
) -> Result<Child, RuntimeError> {
    let Workload::Command {
        command,
        working_dir,
    } = spec.workload()
    else {
        return Err(RuntimeError::Unsupported {
            runtime: RuntimeKind::Process,
            workload: "an image",
        });
    };
    let spawn_failed = |source| RuntimeError::Spawn {
        replica: spec.name().to_owned(),
        command: command.clone(),
        working_dir: working_dir.clone(),
        source,
    };
    let log_path = paths.log();
    // A replica's output is its owner's business, like everything in the state directory.
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&log_path)
        .map_err(|source| RuntimeError::State {
            path: log_path.clone(),
            source,
        })?;
    let stderr = log.try_clone().map_err(|source| RuntimeError::State {
        path: log_path,
        source,
    })?;
    let (marker_name, marker_value) = paths
        .marker()
        .split_once('=')
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .unwrap_or_default();
    let mut shell = Command::new("/bin/sh");
    match cgroup {
        // The shell enters the group (writing 0 to `cgroup.procs` moves the writer) and only
        // then execs the command, keeping its pid and process group: the program never runs
        // outside its limits, and everything it forks starts inside them. Writing the child's pid
        // from here after the spawn would leave a window in which it runs, and forks, unconfined;
        // a `pre_exec` hook would need unsafe code, which the project denies.
        Some(cgroup) => shell
            .arg("-c")
            .arg(ENTER_CGROUP)
            .arg(cgroup.procs())
            .arg(command),
        None => shell.arg("-c").arg(command),
    };
    shell
        .current_dir(working_dir)
        .envs(spec.env())
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .env(marker_name, marker_value)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(stderr)
        .process_group(0)
        .kill_on_drop(false)
        .spawn()
        .map_err(spawn_failed)
}

/// The script that enters the cgroup whose `cgroup.procs` is `$0` and runs the command `$1`.
const ENTER_CGROUP: &str = r#"echo 0 >"$0" || { echo "slipway: cannot enter the replica's cgroup ($0)" >&2; exit 125; }; exec /bin/sh -c "$1""#;

/// Watches the replica until it is stopped, restarting it as its policy says.
async fn supervise(shared: Arc<Shared>, mut running: Running) {
    let mut stop = shared.stop.subscribe();
    let mut backoff = FIRST_BACKOFF;
    let mut consecutive: u32 = 0;
    loop {
        let began = Instant::now();
        let pgid = shared.record().pgid;
        let status = tokio::select! {
            status = wait(&mut running, pgid) => Ok(status),
            grace = stop_requested(&mut stop) => Err(grace),
        };
        let status = match status {
            Ok(status) => status,
            Err(grace) => {
                if let Some(pgid) = pgid {
                    let child = match &mut running {
                        Running::Child(child) => Some(child),
                        Running::Adopted => None,
                    };
                    terminate(pgid, child, grace).await;
                }
                return;
            }
        };
        // The leader is gone; anything it left running in its group would hold the port.
        if let Some(pgid) = pgid {
            terminate(pgid, None, Duration::ZERO).await;
        }
        if began.elapsed() >= STABLE_RUN {
            backoff = FIRST_BACKOFF;
            consecutive = 0;
        }
        let policy = shared.record().spec.restart_policy();
        tracing::info!(replica = %shared.paths.dir.display(), ?status, "replica exited");
        if !policy.restarts_after(status, consecutive) {
            shared.note(|record| {
                record.pgid = None;
                record.state = ReplicaState::Exited { status };
            });
            shared.release_cgroup();
            return;
        }
        shared.note(|record| {
            record.pgid = None;
            record.state = ReplicaState::Restarting;
        });
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            _ = stop_requested(&mut stop) => return,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
        consecutive += 1;
        let record = shared.record();
        match spawn(
            &shared.paths,
            &record.spec,
            record.port,
            shared.cgroup.as_ref(),
        ) {
            Ok(child) => {
                shared.note(|record| {
                    record.pgid = child.id().and_then(|id| i32::try_from(id).ok());
                    record.restarts += 1;
                    record.state = ReplicaState::Running;
                });
                running = Running::Child(child);
            }
            Err(error) => {
                tracing::warn!(%error, "cannot restart a replica");
                shared.note(|record| record.state = ReplicaState::Exited { status: None });
                shared.release_cgroup();
                return;
            }
        }
    }
}

/// Waits for the replica to exit; returns its status when known.
async fn wait(running: &mut Running, pgid: Option<i32>) -> Option<i32> {
    match running {
        Running::Child(child) => child.wait().await.ok().and_then(|status| status.code()),
        Running::Adopted => {
            while pgid.is_some_and(group_alive) {
                tokio::time::sleep(POLL).await;
            }
            None
        }
    }
}

/// Resolves with the grace period once a stop is asked for.
async fn stop_requested(stop: &mut watch::Receiver<Option<Duration>>) -> Duration {
    match stop.wait_for(Option::is_some).await {
        Ok(grace) => grace.unwrap_or_default(),
        // The sender lives as long as the supervised replica; gone means stop now.
        Err(_) => Duration::ZERO,
    }
}

/// Stops group `pgid`: SIGTERM, then SIGKILL once `grace` has passed, returning when no process
/// of the group is left. `child`, the group's leader when it is this process's child, is reaped
/// along the way so its zombie does not keep the group alive.
async fn terminate(pgid: i32, mut child: Option<&mut Child>, grace: Duration) {
    let group = Pid::from_raw(pgid);
    let deadline = Instant::now() + grace;
    let mut signal = if grace.is_zero() {
        Signal::SIGKILL
    } else {
        Signal::SIGTERM
    };
    let _ = killpg(group, signal);
    loop {
        if let Some(child) = child.as_mut() {
            let _ = child.try_wait();
        }
        if !group_alive(pgid) {
            return;
        }
        if signal == Signal::SIGTERM && Instant::now() >= deadline {
            signal = Signal::SIGKILL;
            let _ = killpg(group, signal);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Whether any process of group `pgid` still exists.
pub(super) fn group_alive(pgid: i32) -> bool {
    // EPERM means it exists but belongs to someone else: still alive.
    !matches!(
        killpg(Pid::from_raw(pgid), None),
        Err(nix::errno::Errno::ESRCH)
    )
}
