//! What several test modules share: generated builds, a seedable random source, and re-running
//! this test binary as a child process in a role.

use std::hash::{BuildHasher, RandomState};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

use slipway_store::{BuildOutcome, GitSnapshot, NewBuild};

/// The environment variable telling a re-run test binary which role to play.
const ROLE_VARIABLE: &str = "SLIPWAY_STORE_TEST_ROLE";

/// How long a parent waits for a line from its child before failing the test.
const LINE_TIMEOUT: Duration = Duration::from_secs(60);

/// The role this process was started in, if a test started it as a child.
pub(crate) fn role() -> Option<String> {
    std::env::var(ROLE_VARIABLE).ok()
}

/// The name libtest knows a test by, from `module_path!()` (which starts with the crate's name)
/// and the test function's name.
pub(crate) fn test_name(module_path: &str, function: &str) -> String {
    let module = module_path
        .split_once("::")
        .map_or("", |(_crate, module)| module);
    format!("{module}::{function}")
}

/// A child process running one test of this binary in a role. Killed if still running when
/// dropped, so a failing test leaves no writer behind.
pub(crate) struct RoleProcess {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
}

impl RoleProcess {
    /// Starts this test binary again running only `test` (see [`test_name`]), with `role` and
    /// `variables` in its environment.
    pub(crate) fn spawn(test: &str, role: &str, variables: &[(&str, String)]) -> RoleProcess {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([test, "--exact", "--nocapture"])
            .env(ROLE_VARIABLE, role)
            .envs(variables.iter().map(|(name, value)| (name, value)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        RoleProcess {
            child,
            stdin,
            lines,
        }
    }

    /// What follows `marker` in the next line the child printed with it. Lines without it
    /// come from the test harness and are skipped (the harness may also start the marked line
    /// with the test's name). `None` once the child's output has ended.
    pub(crate) fn next(&mut self, marker: &str) -> Option<String> {
        loop {
            match self.lines.recv_timeout(LINE_TIMEOUT) {
                Ok(line) => match line.split_once(marker) {
                    Some((_harness, rest)) => return Some(rest.to_owned()),
                    None => continue,
                },
                Err(RecvTimeoutError::Disconnected) => return None,
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no line from the child for {LINE_TIMEOUT:?}")
                }
            }
        }
    }

    /// Sends one line to the child's standard input.
    pub(crate) fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// Kills the child with SIGKILL and waits for it to be gone.
    pub(crate) fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Waits for the child to exit.
    pub(crate) fn wait(&mut self) -> ExitStatus {
        self.child.wait().unwrap()
    }
}

impl Drop for RoleProcess {
    fn drop(&mut self) {
        // Already gone when the test went as planned; a kill error then is expected.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A small deterministic random source (SplitMix64), seeded from `SLIPWAY_TEST_SEED` when set so
/// that a failing run can be repeated, and printed so that it can be.
pub(crate) struct Random(u64);

impl Random {
    pub(crate) fn from_environment() -> Random {
        let seed = std::env::var("SLIPWAY_TEST_SEED")
            .ok()
            .and_then(|seed| seed.parse().ok())
            .unwrap_or_else(|| RandomState::new().hash_one("seed"));
        eprintln!("random seed: {seed} (set SLIPWAY_TEST_SEED={seed} to repeat this run)");
        Random(seed)
    }

    /// A number in `0..bound`.
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % bound
    }
}

/// The build number `sequence`, with a log of about `log_bytes`: every field is a function of
/// the two, so a reader can tell exactly what was written. The first tag is `seq-<sequence>`.
pub(crate) fn generated(sequence: u64, log_bytes: usize) -> NewBuild {
    let line = format!("#{sequence} step output, some of it long enough to matter\n");
    let lines = log_bytes.div_ceil(line.len());
    let small = u32::try_from(sequence % 1000).unwrap();
    NewBuild {
        service: format!("service-{}", sequence % 3),
        image_id: Some(format!("sha256:{sequence:064x}")),
        digest: sequence
            .is_multiple_of(2)
            .then(|| format!("sha256:{:064x}", sequence * 7)),
        tags: std::iter::once(format!("seq-{sequence}"))
            .chain((0..sequence % 4).map(|tag| format!("tag-{tag}")))
            .collect(),
        size_bytes: Some(sequence * 1024),
        layer_count: Some(small),
        started_at: jiff::Timestamp::from_nanosecond(
            1_750_000_000_000_000_000 + i128::from(sequence) * 1_000_000_007,
        )
        .unwrap(),
        duration: Duration::from_nanos(sequence * 12_345),
        git: GitSnapshot {
            commit: Some(format!("{sequence:040x}")),
            branch: (!sequence.is_multiple_of(5)).then(|| "main".to_owned()),
            dirty: sequence % 2 == 1,
        },
        outcome: match sequence % 3 {
            0 => BuildOutcome::Succeeded,
            1 => BuildOutcome::Failed {
                reason: format!("step {small} exited with 1"),
            },
            _ => BuildOutcome::Cancelled,
        },
        log: line.repeat(lines),
        target: sequence.is_multiple_of(2).then(|| "runtime".to_owned()),
        platform: Some("linux/amd64".to_owned()),
        dockerfile: "Dockerfile".to_owned(),
        context: ".".to_owned(),
    }
}

/// The sequence number in a generated build's first tag.
pub(crate) fn sequence_of(build: &NewBuild) -> u64 {
    build.tags[0].strip_prefix("seq-").unwrap().parse().unwrap()
}
