//! Step processes on the host: each in a process group of its own, its stdout and stderr read
//! as one stream of lines, stopped with GitHub's escalation.
//!
//! One pipe serves as both stdout and stderr, so lines arrive in the order the step wrote them,
//! as they do in GitHub's log. The process leads a new process group: Ctrl-C on the terminal
//! reaches Slipway only, and stopping a step signals the whole group (the script and whatever it
//! started): `SIGINT`, then `SIGTERM` after 7.5 s, then `SIGKILL` after 2.5 s more, as GitHub's
//! runner does on cancellation. [`ProcessGroups`] remembers every group a job started, so that
//! background processes a step left behind are killed when the job ends.

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// How long a stopped step gets after `SIGINT` before `SIGTERM`.
const INTERRUPT_GRACE: Duration = Duration::from_millis(7_500);
/// How long it gets after `SIGTERM` before `SIGKILL`.
const TERMINATE_GRACE: Duration = Duration::from_millis(2_500);
/// How long output is still read after the process exited, when something it started keeps the
/// pipe open.
const DRAIN: Duration = Duration::from_millis(100);

/// What to start.
#[derive(Debug, Clone)]
pub(crate) struct ProcessSpec {
    pub(crate) program: String,
    pub(crate) args: Vec<String>,
    /// Set on top of Slipway's own environment.
    pub(crate) env: Vec<(String, String)>,
    pub(crate) cwd: PathBuf,
}

/// Why a running step is being stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopReason {
    /// The run or the job was cancelled.
    Cancelled,
    /// It ran past its `timeout-minutes`.
    TimedOut,
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// It exited with this code (128 + n when a signal killed it, as a shell reports it).
    Code(i32),
    /// It was stopped, and why.
    Stopped(StopReason),
}

/// The process groups a job started.
#[derive(Debug, Default)]
pub(crate) struct ProcessGroups {
    groups: Mutex<Vec<Pid>>,
}

impl ProcessGroups {
    fn remember(&self, group: Pid) {
        self.groups
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(group);
    }

    /// Kills whatever is left in every group: processes a step started in the background.
    pub(crate) fn kill_all(&self) {
        let groups =
            std::mem::take(&mut *self.groups.lock().unwrap_or_else(PoisonError::into_inner));
        for group in groups {
            // ESRCH, the usual answer, means the group is already gone.
            let _ = killpg(group, Signal::SIGKILL);
        }
    }
}

impl Drop for ProcessGroups {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// Runs `spec`, handing each output line (without its line ending) to `on_line`, until it exits
/// or `stop` resolves.
pub(crate) async fn run(
    spec: &ProcessSpec,
    groups: &ProcessGroups,
    mut on_line: impl FnMut(String),
    stop: impl Future<Output = StopReason>,
) -> io::Result<Exit> {
    let (sender, receiver) = tokio::net::unix::pipe::pipe()?;
    let stdout = sender.into_blocking_fd()?;
    let stderr = stdout.try_clone()?;
    let mut child = {
        // The command holds the pipe's write end until dropped: drop it right after spawning,
        // or the read end never sees end-of-file.
        let mut command = Command::new(&spec.program);
        command
            .args(&spec.args)
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&spec.cwd)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .process_group(0)
            .kill_on_drop(true);
        command.spawn()?
    };
    let group = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .map(Pid::from_raw);
    if let Some(group) = group {
        groups.remember(group);
    }
    let mut lines = BufReader::new(receiver);
    let mut buffer = Vec::new();
    let mut open = true;
    tokio::pin!(stop);
    let exit = loop {
        tokio::select! {
            read = lines.read_until(b'\n', &mut buffer), if open => {
                if read? == 0 {
                    open = false;
                    // The output usually ends with the process: no need to wait for a second
                    // wake-up to learn that it exited.
                    if let Some(status) = child.try_wait()? {
                        break Exit::Code(exit_code(status));
                    }
                } else {
                    on_line(line_text(&mut buffer));
                }
            }
            status = child.wait() => break Exit::Code(exit_code(status?)),
            reason = &mut stop => {
                if let Some(group) = group {
                    stop_group(group, &mut child).await;
                }
                break Exit::Stopped(reason);
            }
        }
    };
    if open {
        let drain = async {
            while lines.read_until(b'\n', &mut buffer).await? > 0 {
                on_line(line_text(&mut buffer));
            }
            io::Result::Ok(())
        };
        // Output of background processes that outlive the step is cut off here, not awaited.
        let _ = tokio::time::timeout(DRAIN, drain).await;
    }
    if !buffer.is_empty() {
        on_line(line_text(&mut buffer));
    }
    Ok(exit)
}

/// Takes one line out of `buffer`, decoded (invalid UTF-8 replaced) without its line ending.
fn line_text(buffer: &mut Vec<u8>) -> String {
    let mut end = buffer.len();
    while end > 0 && matches!(buffer[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    let text = String::from_utf8_lossy(&buffer[..end]).into_owned();
    buffer.clear();
    text
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|signal| 128 + signal))
        .unwrap_or(-1)
}

/// `SIGINT`, `SIGTERM`, `SIGKILL` to the whole group, each after the previous one's grace.
async fn stop_group(group: Pid, child: &mut tokio::process::Child) {
    for (signal, grace) in [
        (Signal::SIGINT, INTERRUPT_GRACE),
        (Signal::SIGTERM, TERMINATE_GRACE),
    ] {
        if killpg(group, signal).is_err() {
            return;
        }
        if tokio::time::timeout(grace, child.wait()).await.is_ok() {
            // The leader is gone; whatever it left in the group goes now.
            let _ = killpg(group, Signal::SIGKILL);
            return;
        }
    }
    let _ = killpg(group, Signal::SIGKILL);
    let _ = child.wait().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn bash(script: &str) -> ProcessSpec {
        ProcessSpec {
            program: "bash".into(),
            args: vec!["-c".into(), script.into()],
            env: vec![("GREETING".into(), "hi".into())],
            cwd: std::env::temp_dir(),
        }
    }

    async fn never() -> StopReason {
        std::future::pending().await
    }

    #[tokio::test]
    async fn output_keeps_its_order_across_stdout_and_stderr() {
        let groups = ProcessGroups::default();
        let mut lines = Vec::new();
        let exit = run(
            &bash("echo \"$GREETING\"; echo err >&2; printf 'no newline'; exit 3"),
            &groups,
            |line| lines.push(line),
            never(),
        )
        .await
        .unwrap();
        assert_eq!(exit, Exit::Code(3));
        assert_eq!(lines, ["hi", "err", "no newline"]);
    }

    #[tokio::test]
    async fn stopping_signals_the_whole_group() {
        let groups = ProcessGroups::default();
        let marker = tempfile::NamedTempFile::new().unwrap();
        // A background process that ignores SIGINT and keeps writing: only a signal the step
        // cannot ignore, sent to the whole group, stops it.
        let script = format!(
            "(trap '' INT; while true; do echo tick >> {}; sleep 0.05; done) & sleep 30",
            marker.path().display()
        );
        let started = Instant::now();
        let stop = async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            StopReason::TimedOut
        };
        let exit = run(&bash(&script), &groups, |_| {}, stop).await.unwrap();
        assert_eq!(exit, Exit::Stopped(StopReason::TimedOut));
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        let ticks = std::fs::read_to_string(marker.path()).unwrap().len();
        assert!(ticks > 0, "the background process ran");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            std::fs::read_to_string(marker.path()).unwrap().len(),
            ticks,
            "nothing of the step still runs"
        );
    }

    #[tokio::test]
    async fn background_processes_do_not_hold_the_step_open() {
        let groups = ProcessGroups::default();
        let started = Instant::now();
        let exit = run(&bash("sleep 30 & echo done"), &groups, |_| {}, never())
            .await
            .unwrap();
        assert_eq!(exit, Exit::Code(0));
        assert!(started.elapsed() < Duration::from_secs(5));
        groups.kill_all();
    }

    #[tokio::test]
    async fn a_missing_program_is_an_error() {
        let spec = ProcessSpec {
            program: "no-such-program-slipway".into(),
            ..bash("")
        };
        let groups = ProcessGroups::default();
        assert!(run(&spec, &groups, |_| {}, never()).await.is_err());
    }
}
