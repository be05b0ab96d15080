//! Running one corpus case: a scratch git repository holding the case's files, the runner with
//! a real store, and the comparison of what was recorded with `expected.toml`.
//!
//! `expected.toml` says how to run the case (event, inputs, secrets, filters, label mappings,
//! whether it needs the engine, when to press Ctrl-C) and what must come out: the planning
//! problems, or the run's conclusion, every job's conclusion, steps, outputs, annotations and
//! log lines. Every secret of a case is also looked for in the store's files and in every event
//! the observer saw: it must appear in neither.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use std::collections::BTreeMap;

use serde::Deserialize;
use slipway_config::{RunnerSettings, RunnerTarget};
use slipway_engine::ContainerEngine;
use slipway_runner::{
    Interrupt, Observer, PlanError, Project, RunEvent, RunRequest, Runtime, plan,
};
use slipway_store::{Conclusion, JobRecord, Run, RunStore, SqliteStore};

/// How to run a case and what it must produce.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Case {
    #[serde(default = "push")]
    pub(crate) event: String,
    #[serde(default)]
    pub(crate) inputs: Vec<String>,
    #[serde(default)]
    pub(crate) secrets: BTreeMap<String, String>,
    #[serde(default)]
    pub(crate) vars: BTreeMap<String, String>,
    #[serde(default)]
    pub(crate) env: BTreeMap<String, String>,
    /// `-j`.
    #[serde(default)]
    pub(crate) jobs: Vec<String>,
    /// `--matrix key:value`.
    #[serde(default)]
    pub(crate) matrix: Vec<String>,
    /// `-P`.
    #[serde(default)]
    pub(crate) platforms: BTreeMap<String, String>,
    /// `--action`.
    #[serde(default)]
    pub(crate) actions: BTreeMap<String, String>,
    /// `--eventpath`, a file of the case.
    pub(crate) eventpath: Option<String>,
    #[serde(default)]
    pub(crate) dirty: bool,
    /// Files written after the commit.
    #[serde(default)]
    pub(crate) uncommitted: BTreeMap<String, String>,
    /// Extra commits after the first: each a map of files.
    #[serde(default)]
    pub(crate) commits: Vec<BTreeMap<String, String>>,
    /// The branch the repository is on.
    pub(crate) branch: Option<String>,
    /// A tag at HEAD, with HEAD detached on it.
    pub(crate) tag: Option<String>,
    /// The case needs the container engine.
    #[serde(default)]
    pub(crate) engine: bool,
    /// Press Ctrl-C once a step prints a line containing this: when the step has started, however
    /// long a loaded machine took to get there.
    pub(crate) interrupt_on_line: Option<String>,
    pub(crate) parallel: Option<usize>,
    pub(crate) expect: Expect,
}

fn push() -> String {
    "push".to_owned()
}

/// What a case must produce.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Expect {
    /// Problems planning must report (each a substring of one problem, in order).
    #[serde(default)]
    pub(crate) plan_errors: Vec<String>,
    /// The conclusion of every run.
    pub(crate) conclusion: Option<String>,
    /// Workflow files that must run, when given.
    pub(crate) workflows: Option<Vec<String>>,
    /// Workflow files that must not run.
    #[serde(default)]
    pub(crate) not_run: Vec<String>,
    /// Jobs by display name; every recorded job must be listed.
    #[serde(default)]
    pub(crate) jobs: BTreeMap<String, ExpectJob>,
    /// `level: job: message` for every annotation, in any order (each may be the start of it).
    #[serde(default)]
    pub(crate) annotations: Vec<String>,
    /// Text no log may contain.
    #[serde(default)]
    pub(crate) log_lacks: Vec<String>,
    /// The run takes at most this long.
    pub(crate) max_seconds: Option<f64>,
}

/// What a job must produce.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExpectJob {
    pub(crate) conclusion: String,
    /// `name=conclusion` for each step, in order (post steps included).
    pub(crate) steps: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) outputs: BTreeMap<String, String>,
    #[serde(default)]
    pub(crate) log_contains: Vec<String>,
    #[serde(default)]
    pub(crate) log_lacks: Vec<String>,
    #[serde(default)]
    pub(crate) summary_contains: Vec<String>,
    pub(crate) environment: Option<String>,
    pub(crate) environment_url: Option<String>,
    pub(crate) runs_on: Option<String>,
}

/// The corpus directory.
pub(crate) fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// Every case directory, sorted.
pub(crate) fn case_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().join("expected.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Reads a case's `expected.toml`.
pub(crate) fn read_case(name: &str) -> Case {
    let path = corpus_dir().join(name).join("expected.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A scratch repository with the case's files committed.
pub(crate) struct Scratch {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) state: tempfile::TempDir,
}

impl Scratch {
    pub(crate) fn repo(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn git(&self, args: &[&str]) -> String {
        let output = Command::new("git")
            .arg("-C")
            .arg(self.repo())
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.com",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }
}

/// Copies the case into a new repository and commits it as the case says.
pub(crate) fn scratch(name: &str, case: &Case) -> Scratch {
    let scratch = Scratch {
        dir: tempfile::tempdir().unwrap(),
        state: tempfile::tempdir().unwrap(),
    };
    copy_dir(&corpus_dir().join(name), scratch.repo());
    let branch = case.branch.as_deref().unwrap_or("main");
    scratch.git(&["init", "-q", "-b", branch]);
    // A remote makes `github.repository` the same in every run: slipway/corpus.
    scratch.git(&[
        "remote",
        "add",
        "origin",
        "https://github.com/slipway/corpus.git",
    ]);
    scratch.git(&["add", "-A"]);
    scratch.git(&["commit", "-q", "-m", "the case"]);
    for (index, commit) in case.commits.iter().enumerate() {
        for (path, text) in commit {
            write(scratch.repo(), path, text);
        }
        scratch.git(&["add", "-A"]);
        scratch.git(&["commit", "-q", "-m", &format!("commit {}", index + 2)]);
    }
    if let Some(tag) = &case.tag {
        scratch.git(&["tag", tag]);
        scratch.git(&["checkout", "-q", "--detach", tag]);
    }
    for (path, text) in &case.uncommitted {
        write(scratch.repo(), path, text);
    }
    scratch
}

fn write(root: &Path, relative: &str, text: &str) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "expected.toml" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
            use std::os::unix::fs::PermissionsExt;
            let mode = entry.metadata().unwrap().permissions().mode();
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode)).unwrap();
        }
    }
}

/// Every event, kept; and the Ctrl-C a case asks for, pressed on the line it names.
#[derive(Default)]
pub(crate) struct Recorder {
    pub(crate) events: Mutex<Vec<RunEvent>>,
    interrupt_on_line: Mutex<Option<(String, Interrupt)>>,
}

impl Recorder {
    fn interrupting_on(line: Option<String>, interrupt: &Interrupt) -> Recorder {
        Recorder {
            interrupt_on_line: Mutex::new(line.map(|line| (line, interrupt.clone()))),
            ..Recorder::default()
        }
    }
}

impl Observer for Recorder {
    fn event(&self, event: RunEvent) {
        if let RunEvent::Line { text, .. } = &event {
            let mut trigger = self.interrupt_on_line.lock().unwrap();
            if trigger
                .as_ref()
                .is_some_and(|(line, _)| text.contains(line.as_str()))
                && let Some((_, interrupt)) = trigger.take()
            {
                interrupt.interrupt();
            }
        }
        self.events.lock().unwrap().push(event);
    }
}

/// The request a case describes.
pub(crate) fn request(name: &str, case: &Case) -> RunRequest {
    let pair = |text: &String, separator: char| {
        let (k, v) = text
            .split_once(separator)
            .unwrap_or_else(|| panic!("{text:?} needs {separator}"));
        (k.to_owned(), v.to_owned())
    };
    RunRequest {
        event: case.event.clone(),
        inputs: case.inputs.clone(),
        event_path: case
            .eventpath
            .as_ref()
            .map(|p| corpus_dir().join(name).join(p)),
        vars: case.vars.clone().into_iter().collect(),
        secrets: case.secrets.clone().into_iter().collect(),
        env: case.env.clone().into_iter().collect(),
        jobs: case.jobs.clone(),
        matrix: case.matrix.iter().map(|m| pair(m, ':')).collect(),
        platforms: case
            .platforms
            .iter()
            .map(|(label, target)| (label.clone(), RunnerTarget::parse(target).unwrap()))
            .collect(),
        actions: case
            .actions
            .iter()
            .map(|(k, v)| (k.clone(), PathBuf::from(v)))
            .collect(),
        dirty: case.dirty,
        parallel: case.parallel,
        ..RunRequest::default()
    }
}

/// Runs a case and checks everything it must produce.
pub(crate) async fn run_case(name: &str, engine: Option<Arc<dyn ContainerEngine>>) {
    let case = read_case(name);
    let scratch = scratch(name, &case);
    let project = Arc::new(
        Project::open(
            scratch.repo(),
            scratch.state.path().to_owned(),
            RunnerSettings::default(),
        )
        .unwrap(),
    );
    let planned = plan(project, request(name, &case));
    let plan = match planned {
        Err(PlanError::Invalid(problems)) => {
            let got: Vec<String> = problems.iter().map(ToString::to_string).collect();
            assert!(
                !case.expect.plan_errors.is_empty(),
                "{name}: planning failed unexpectedly:\n{}",
                got.join("\n")
            );
            assert_eq!(
                got.len(),
                case.expect.plan_errors.len(),
                "{name}: problems:\n{}",
                got.join("\n")
            );
            for (got, wanted) in got.iter().zip(&case.expect.plan_errors) {
                assert!(
                    got.contains(wanted.as_str()),
                    "{name}: problem\n  {got}\ndoes not contain\n  {wanted}"
                );
            }
            return;
        }
        Err(other) => panic!("{name}: {other}"),
        Ok(plan) => plan,
    };
    assert!(
        case.expect.plan_errors.is_empty(),
        "{name}: expected planning problems, but it planned"
    );
    if let Some(engine) = &engine {
        plan.check_images(engine.as_ref()).await.unwrap();
    }
    let skipped: Vec<String> = plan.skipped().iter().map(|s| s.file.clone()).collect();
    for file in &case.expect.not_run {
        assert!(
            skipped.contains(file),
            "{name}: {file} should not run; not run: {skipped:?}"
        );
    }
    if let Some(workflows) = &case.expect.workflows {
        let ran: Vec<String> = plan
            .workflows()
            .iter()
            .map(|w| w.file().to_owned())
            .collect();
        assert_eq!(&ran, workflows, "{name}: workflows that run");
    }
    let store = Arc::new(SqliteStore::open(scratch.state.path()).unwrap());
    let interrupt = Interrupt::new();
    let recorder = Arc::new(Recorder::interrupting_on(
        case.interrupt_on_line.clone(),
        &interrupt,
    ));
    let runtime = Runtime {
        store: store.clone(),
        engine,
        observer: recorder.clone(),
        interrupt,
    };
    let started = std::time::Instant::now();
    let runs = plan
        .execute(runtime)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let took = started.elapsed().as_secs_f64();
    if let Some(max) = case.expect.max_seconds {
        assert!(took <= max, "{name}: took {took:.1}s, more than {max}s");
    }
    for run in &runs {
        let stored = store.run(run.id).unwrap().unwrap();
        assert_eq!(
            &stored, run,
            "{name}: the store holds what the run returned"
        );
    }
    check_runs(name, &case, &runs);
    check_secrets(name, &case, scratch.state.path(), &recorder);
    assert!(
        !scratch
            .state
            .path()
            .join("work")
            .read_dir()
            .is_ok_and(|mut d| d.next().is_some()),
        "{name}: job directories are removed after the run"
    );
}

fn conclusion(text: &str) -> Conclusion {
    match text {
        "success" => Conclusion::Success,
        "failure" => Conclusion::Failure,
        "cancelled" => Conclusion::Cancelled,
        "skipped" => Conclusion::Skipped,
        other => panic!("unknown conclusion {other:?}"),
    }
}

fn check_runs(name: &str, case: &Case, runs: &[Run]) {
    let expect = &case.expect;
    if let Some(wanted) = &expect.conclusion {
        for run in runs {
            assert_eq!(
                run.record.conclusion,
                conclusion(wanted),
                "{name}: conclusion of {}\n{}",
                run.record.workflow,
                describe(runs)
            );
        }
    }
    let jobs: Vec<&JobRecord> = runs.iter().flat_map(|r| r.record.jobs.iter()).collect();
    let names: Vec<&str> = jobs.iter().map(|j| j.name.as_str()).collect();
    let mut wanted: Vec<&str> = expect.jobs.keys().map(String::as_str).collect();
    let mut got = names.clone();
    wanted.sort_unstable();
    got.sort_unstable();
    assert_eq!(got, wanted, "{name}: recorded jobs\n{}", describe(runs));
    for (job_name, expected) in &expect.jobs {
        let job = jobs.iter().find(|j| j.name == *job_name).unwrap();
        let context = || format!("{name}: job '{job_name}'\n{}", describe(runs));
        assert_eq!(
            job.conclusion,
            conclusion(&expected.conclusion),
            "{}",
            context()
        );
        if let Some(steps) = &expected.steps {
            let got: Vec<String> = job
                .steps
                .iter()
                .map(|s| format!("{}={}", s.name, s.conclusion))
                .collect();
            assert_eq!(&got, steps, "{}", context());
        }
        for (output, value) in &expected.outputs {
            assert_eq!(
                job.outputs.get(output),
                Some(value),
                "{}: output {output}",
                context()
            );
        }
        let log = full_log(job);
        for text in &expected.log_contains {
            assert!(
                log.contains(text.as_str()),
                "{}: log lacks {text:?}",
                context()
            );
        }
        for text in &expected.log_lacks {
            assert!(
                !log.contains(text.as_str()),
                "{}: log contains {text:?}",
                context()
            );
        }
        let summary: String = job.steps.iter().map(|s| s.summary.as_str()).collect();
        for text in &expected.summary_contains {
            assert!(
                summary.contains(text.as_str()),
                "{}: summary lacks {text:?}",
                context()
            );
        }
        if let Some(environment) = &expected.environment {
            assert_eq!(job.environment.as_ref(), Some(environment), "{}", context());
        }
        if let Some(url) = &expected.environment_url {
            assert_eq!(job.environment_url.as_ref(), Some(url), "{}", context());
        }
        if let Some(runs_on) = &expected.runs_on {
            assert_eq!(&job.runs_on, runs_on, "{}", context());
        }
    }
    let mut annotations: Vec<String> = jobs
        .iter()
        .flat_map(|job| {
            job.steps.iter().flat_map(move |step| {
                step.annotations.iter().map(move |a| {
                    let place = match (&a.file, a.line) {
                        (Some(file), Some(line)) => format!("{file}:{line}: "),
                        _ => String::new(),
                    };
                    format!("{}: {}: {place}{}", a.level.as_str(), job.name, a.message)
                })
            })
        })
        .collect();
    // An expected annotation may be the start of one that goes on with a path of the run.
    let mut wanted = expect.annotations.clone();
    annotations.sort();
    wanted.sort();
    let matched = annotations.len() == wanted.len()
        && annotations
            .iter()
            .zip(&wanted)
            .all(|(got, wanted)| got.starts_with(wanted.as_str()));
    assert!(
        matched,
        "{name}: annotations\n  got {annotations:#?}\n  wanted {wanted:#?}\n{}",
        describe(runs)
    );
    for run in runs {
        for job in &run.record.jobs {
            let log = full_log(job);
            for text in &expect.log_lacks {
                assert!(
                    !log.contains(text.as_str()),
                    "{name}: job {} logs {text:?}",
                    job.name
                );
            }
        }
    }
}

/// A job's log and every step's, as `slipway logs` would show them.
fn full_log(job: &JobRecord) -> String {
    let mut log = job.log.clone();
    for step in &job.steps {
        log.push_str(&format!("-- {}\n{}", step.name, step.log));
    }
    log
}

fn describe(runs: &[Run]) -> String {
    let mut text = String::new();
    for run in runs {
        text.push_str(&format!(
            "run {} {}\n",
            run.record.workflow, run.record.conclusion
        ));
        for job in &run.record.jobs {
            text.push_str(&format!(
                "  job '{}' {} on {}\n",
                job.name, job.conclusion, job.runs_on
            ));
            for line in job.log.lines() {
                text.push_str(&format!("    | {line}\n"));
            }
            for step in &job.steps {
                text.push_str(&format!(
                    "    step '{}' {} (outcome {}, exit {:?})\n",
                    step.name, step.conclusion, step.outcome, step.exit_code
                ));
                for line in step.log.lines() {
                    text.push_str(&format!("      | {line}\n"));
                }
            }
        }
    }
    text
}

/// No secret may reach the store's files or the observer.
fn check_secrets(name: &str, case: &Case, state: &Path, recorder: &Recorder) {
    let mut stored = Vec::new();
    for file in ["state.db", "state.db-wal"] {
        if let Ok(bytes) = std::fs::read(state.join(file)) {
            stored.extend(bytes);
        }
    }
    let events = format!("{:?}", recorder.events.lock().unwrap());
    for secret in case.secrets.values() {
        assert!(
            !stored
                .windows(secret.len())
                .any(|window| window == secret.as_bytes()),
            "{name}: a secret was stored"
        );
        assert!(
            !events.contains(secret.as_str()),
            "{name}: a secret reached the observer"
        );
    }
}

/// The engine for cases that need one; the test fails when none answers.
pub(crate) async fn engine() -> Arc<dyn ContainerEngine> {
    let engine = slipway_engine::testing::engine().await;
    let engine: Arc<dyn ContainerEngine> = Arc::new(engine);
    images(engine.as_ref()).await;
    engine
}

/// The images engine cases use: busybox, and a "database" answering PONG on port 5432.
pub(crate) async fn images(engine: &dyn ContainerEngine) {
    use futures::StreamExt;
    let base = slipway_engine::testing::busybox_image(engine, BUSYBOX)
        .await
        .unwrap();
    if engine.image_exists(PONG).await.unwrap() {
        return;
    }
    let dockerfile = format!(
        "FROM {base}\nEXPOSE 5432\nCMD [\"nc\", \"-ll\", \"-p\", \"5432\", \"-e\", \"echo\", \"PONG\"]\n"
    );
    let mut archive = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(dockerfile.len() as u64);
    header.set_mode(0o644);
    archive
        .append_data(&mut header, "Dockerfile", dockerfile.as_bytes())
        .unwrap();
    let bytes = bytes::Bytes::from(archive.into_inner().unwrap());
    let context = futures::stream::iter([Ok(bytes)]).boxed();
    let mut build = engine.build_image(slipway_engine::BuildSpec::new().tag(PONG), context);
    while let Some(event) = build.next().await {
        event.unwrap();
    }
}

/// The busybox image engine cases run jobs in.
pub(crate) const BUSYBOX: &str = "localhost/slipway-runner-test/busybox:1";
/// A service answering `PONG` to every TCP connection on port 5432.
pub(crate) const PONG: &str = "localhost/slipway-runner-test/pong:1";
