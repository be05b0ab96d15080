//! `slipway run`, `runs`, `logs`, `lint` and `expr`, driven as a user drives them.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::Project;

/// A repository holding one workflow, committed on `main`.
fn repository(workflow: &str) -> Project {
    let project = Project::empty();
    project.git(&["init", "-q", "-b", "main"]);
    project.write(".github/workflows/ci.yml", workflow);
    project.write("README.md", "# demo\n");
    project.commit_all("a workflow");
    project
}

const PASSING: &str = "name: CI
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo \"building $(cat README.md)\"; echo '## Built' >> \"$GITHUB_STEP_SUMMARY\"
      - run: echo '::warning file=README.md,line=1::mind the title'
  test:
    needs: build
    runs-on: ubuntu-latest
    steps:
      - run: echo testing
";

#[test]
fn a_run_reports_jobs_annotations_and_summaries_and_is_recorded() {
    let project = repository(PASSING);

    let run = project.slipway(&["run"]).success();

    assert!(run.stdout.contains("CI #1 success"), "{}", run.stdout);
    assert!(run.stdout.contains("✓ build"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("warning build: README.md:1: mind the title"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("## Built"), "{}", run.stdout);
    assert!(
        run.stderr.contains("[build]   building # demo"),
        "live output: {}",
        run.stderr
    );

    let runs = project.slipway(&["runs", "--json"]).success();
    let runs: serde_json::Value = serde_json::from_str(&runs.stdout).unwrap();
    assert_eq!(runs[0]["conclusion"], "success");
    assert_eq!(runs[0]["jobs"]["success"], 2);
    assert_eq!(runs[0]["workflow"], ".github/workflows/ci.yml");

    let logs = project.slipway(&["logs", "1", "build"]).success();
    assert!(logs.stdout.contains("building # demo"), "{}", logs.stdout);
    assert!(
        !logs.stdout.contains("testing"),
        "only the job asked for: {}",
        logs.stdout
    );
    let missing = project.slipway(&["logs", "1", "nope"]).failure(2);
    assert!(
        missing.stderr.contains("its jobs: build, test"),
        "{}",
        missing.stderr
    );
    project.slipway(&["logs", "7"]).failure(2);
}

#[test]
fn a_failing_job_fails_the_run_and_a_second_run_takes_the_next_number() {
    let project = repository(
        "on: push\njobs:\n  broken:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo about to fail; exit 3\n",
    );

    let first = project.slipway(&["run"]).failure(1);
    assert!(first.stdout.contains("✗ broken"), "{}", first.stdout);
    assert!(first.stdout.contains("exit 3"), "{}", first.stdout);
    project.slipway(&["run"]).failure(1);

    let table = project.slipway(&["runs"]).success();
    assert!(table.stdout.contains("failure"), "{}", table.stdout);
    let runs: serde_json::Value =
        serde_json::from_str(&project.slipway(&["runs", "--json"]).success().stdout).unwrap();
    assert_eq!(runs[0]["run_number"], 2);
    assert_eq!(runs[1]["run_number"], 1);
}

#[test]
fn problems_are_reported_at_their_place_before_anything_runs() {
    let project = repository(
        "on: push\njobs:\n  a:\n    runs-on: gpu\n    steps:\n      - run: touch ran.txt\n      - uses: someone/else@v1\n",
    );

    let run = project.slipway(&["run"]).failure(2);

    assert!(
        run.stderr
            .contains("2 problems found before running anything"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains(".github/workflows/ci.yml:4:14: no runner for label 'gpu'"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains(".github/workflows/ci.yml:7:15: 'uses: someone/else@v1' is a remote action"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("--action someone/else@v1=./path/to/clone"),
        "{}",
        run.stderr
    );
    let runs = project.slipway(&["runs", "--json"]).success();
    assert_eq!(runs.stdout.trim(), "[]");
}

#[test]
fn dry_run_and_list_show_the_plan_without_running_it() {
    let project = repository(PASSING);

    let plan = project.slipway(&["run", "--dry-run"]).success();
    assert!(
        plan.stdout
            .contains("workflow CI (.github/workflows/ci.yml)"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("stage 1: test on host, needs build"),
        "{}",
        plan.stdout
    );

    let list = project.slipway(&["run", "-l", "pull_request"]).success();
    assert!(
        !list.stdout.contains("build"),
        "nothing runs on pull_request: {}",
        list.stdout
    );
    let list = project.slipway(&["run", "-l"]).success();
    assert!(list.stdout.contains("STAGE"), "{}", list.stdout);
    assert!(
        list.stdout
            .lines()
            .any(|l| l.starts_with('1') && l.contains("test") && l.contains("build")),
        "{}",
        list.stdout
    );
    let runs = project.slipway(&["runs", "--json"]).success();
    assert_eq!(runs.stdout.trim(), "[]", "nothing was run");
}

/// When the event triggers nothing, `run` and `run --list` say for each file which filter of
/// `on:` excluded it, instead of an empty table.
#[test]
fn a_run_nothing_triggers_explains_each_skipped_file() {
    let project = repository(
        "on:\n  push:\n    branches: [main]\n    paths: ['src/**']\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n",
    );
    project.write(
        ".github/workflows/tags.yml",
        "on:\n  push:\n    tags: ['v*']\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n",
    );
    project.git(&["branch", "-m", "main", "master"]);
    project.commit_all("a second workflow");

    let expected = [
        ".github/workflows/ci.yml: push to 'master' does not match branches [main]",
        ".github/workflows/tags.yml: push to 'master' does not run: only tags are filtered [v*]",
    ];
    for args in [&["run", "--list"][..], &["run"][..]] {
        let run = project.slipway(args).success();
        let shown = format!("{}{}", run.stdout, run.stderr);
        assert!(
            shown.contains("no workflow runs on 'push' (branch master):"),
            "{args:?}: {shown}"
        );
        for line in expected {
            assert!(shown.contains(line), "{args:?}: {shown}");
        }
        assert!(!shown.contains("STAGE"), "{args:?}: {shown}");
    }
    let pull_request = project
        .slipway(&["run", "--list", "pull_request"])
        .success();
    assert!(
        pull_request
            .stdout
            .contains(".github/workflows/ci.yml: pull_request is not in on: [push]"),
        "{}",
        pull_request.stdout
    );
}

#[test]
fn secrets_from_flags_files_and_the_environment_are_masked() {
    let project = repository(
        "on: push\njobs:\n  s:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo \"${{ secrets.A }} ${{ secrets.B }} ${{ secrets.C }}\"\n",
    );
    project.write("secrets.env", "B=from-a-file-2\n");

    let run = project
        .slipway_with(
            &[
                "run",
                "-s",
                "A=given-flag-1",
                "--secret-file",
                "secrets.env",
                "-s",
                "C",
            ],
            &[("C", "from-env-3")],
        )
        .success();

    assert!(run.stderr.contains("*** *** ***"), "{}", run.stderr);
    for secret in ["given-flag-1", "from-a-file-2", "from-env-3"] {
        assert!(
            !run.stderr.contains(secret) && !run.stdout.contains(secret),
            "{secret} leaked"
        );
    }
    let missing = project
        .slipway(&["run", "-s", "NOT_IN_ENV_FOR_SURE"])
        .failure(2);
    assert!(
        missing
            .stderr
            .contains("no environment variable NOT_IN_ENV_FOR_SURE"),
        "{}",
        missing.stderr
    );
}

#[test]
fn ctrl_c_stops_the_step_runs_always_steps_and_records_the_run_cancelled() {
    let project = repository(
        "on: push\njobs:\n  long:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo started; sleep 31.7\n      - if: always()\n        run: echo cleaned > \"$HOME/cleaned.txt\"\n",
    );
    let home = tempfile::tempdir().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_slipway"))
        .current_dir(project.path())
        .args(["run"])
        .env("NO_COLOR", "1")
        .env("HOME", home.path())
        .env_remove("SLIPWAY_HOME")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !sleeping("31.7") {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the step never started"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();

    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(!sleeping("31.7"), "the step's process was stopped");
    assert_eq!(
        std::fs::read_to_string(home.path().join("cleaned.txt")).unwrap(),
        "cleaned\n"
    );
    let runs: serde_json::Value =
        serde_json::from_str(&project.slipway(&["runs", "--json"]).success().stdout).unwrap();
    assert_eq!(runs[0]["conclusion"], "cancelled");
}

/// Whether a `sleep DURATION` process runs.
fn sleeping(duration: &str) -> bool {
    let output = Command::new("pgrep")
        .args(["-f", &format!("sleep {duration}")])
        .output()
        .unwrap();
    output.status.success()
}

#[test]
fn lint_prints_findings_with_their_place_and_fails_on_errors() {
    let project = repository(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    stpes:\n      - run: echo\n",
    );

    let lint = project.slipway(&["lint"]).failure(1);
    assert!(
        lint.stdout
            .contains(".github/workflows/ci.yml:5:5: unknown key 'stpes' in job 'a'"),
        "{}",
        lint.stdout
    );
    assert!(
        lint.stdout.lines().all(|l| l.ends_with(']')),
        "{}",
        lint.stdout
    );
    let json = project.slipway(&["lint", "--json"]).failure(1);
    let findings: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(findings[0]["rule"], "syntax-check");

    project.write(".github/workflows/ci.yml", PASSING);
    project.slipway(&["lint"]).success();
    project
        .slipway(&["lint", ".github/workflows/ci.yml"])
        .success();
}

#[test]
fn expr_prints_json_and_points_at_errors() {
    let project = Project::empty();
    project.write(
        "ctx.json",
        r#"{"github": {"ref": "refs/heads/main"}, "matrix": {"node": 18}}"#,
    );

    let value = project
        .slipway(&["expr", "format('{0}@{1}', github.ref, matrix.node) == 'REFS/HEADS/MAIN@18' && fromJSON('[1, 2]')", "--context", "ctx.json"])
        .success();
    assert_eq!(value.stdout.trim(), "[\n  1,\n  2\n]");
    let template = project.slipway(&["expr", "v${{ 1 + 1 }}"]).failure(2);
    assert!(
        template.stderr.contains("expression:1:"),
        "{}",
        template.stderr
    );
    let text = project
        .slipway(&["expr", "${{ github.ref }}-x", "--context", "ctx.json"])
        .success();
    assert_eq!(text.stdout.trim(), "\"refs/heads/main-x\"");
    // An expression may begin with `-` without `--` before it.
    let negative = project.slipway(&["expr", "-1 < 0"]).success();
    assert_eq!(negative.stdout.trim(), "true");
    let broken = project.slipway(&["expr", "github.ref =="]).failure(2);
    assert!(
        broken.stderr.contains("expression:1:14:"),
        "{}",
        broken.stderr
    );
}
