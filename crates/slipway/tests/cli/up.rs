//! `slipway up`: the example's whole pipeline (unit and integration tests, scans, build and
//! push, deploy to staging, end-to-end tests) on processes and in containers; a second `up`
//! under load with no failed request, a rollback, and the four failures that must stop the run
//! at their stage with the previous release still serving.

use std::net::SocketAddr;

use crate::deploy::{Cleanup, Load, get, project};
use crate::support::{Project, Run, require_engine};

/// An endpoint where no engine answers: `up` must fall back to processes on its own.
const NO_ENGINE: &str = "unix:///nonexistent/slipway-test.sock";

/// Runs `slipway up --json` with the daemon's proxy on a free port; `engine` false hides the
/// container engine.
fn up(project: &Project, engine: bool) -> Run {
    // The workflow's scans gate on what they find: every ecosystem has advisories.
    project.cover_every_ecosystem();
    let mut env = vec![("SLIPWAY_PROXY_LISTEN", "127.0.0.1:0")];
    if !engine {
        env.push(("DOCKER_HOST", NO_ENGINE));
    }
    project.slipway_with(&["up", "--json"], &env)
}

fn summary(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|error| {
        panic!(
            "`up --json` printed no JSON ({error})\nstdout:\n{}\nstderr:\n{}",
            run.stdout, run.stderr
        )
    })
}

/// The stage (job) named `name` in a summary.
fn stage<'a>(summary: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    summary["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|stage| stage["name"] == name)
        .unwrap_or_else(|| panic!("no stage {name} in {summary:#}"))
}

/// The proxy's address and the Host of the example in staging.
fn staging(project: &Project) -> (SocketAddr, String) {
    let status = project
        .slipway_with(
            &["status", "staging", "--json"],
            &[("DOCKER_HOST", NO_ENGINE)],
        )
        .success();
    let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    let proxy = status["proxy"].as_str().unwrap().parse().unwrap();
    let url = status["services"][0]["url"].as_str().unwrap();
    let host = url
        .trim_start_matches("http://")
        .split(':')
        .next()
        .unwrap()
        .to_owned();
    (proxy, host)
}

/// The release `GET /version` says answers.
fn serving_release(project: &Project) -> String {
    let (proxy, host) = staging(project);
    let (status, body) = get(proxy, &host, "/version");
    assert_eq!(status, 200, "{body}");
    let version: serde_json::Value = serde_json::from_str(&body).unwrap();
    version["release"].as_str().unwrap().to_owned()
}

/// A repository whose branch the pipeline does not run on (the example filters `branches:
/// [main]`, the repository is on `master`): `up` says which file was skipped and which filter
/// excluded the push, and nothing starts.
#[test]
fn a_push_no_workflow_runs_on_names_the_file_and_the_filter() {
    let project = Project::example();
    project.git(&["branch", "-m", "main", "master"]);

    let run = up(&project, false).failure(2);
    assert!(
        run.stderr.contains(
            ".github/workflows/pipeline.yml: push to 'master' does not match branches [main]"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("add 'master' to `branches:` under `on: push:`"),
        "{}",
        run.stderr
    );
    let runs = project
        .slipway_with(&["runs", "--json"], &[("DOCKER_HOST", NO_ENGINE)])
        .success();
    assert_eq!(runs.stdout.trim(), "[]", "nothing ran");
}

#[test]
fn the_whole_path_on_processes_then_a_second_deploy_under_load_and_a_rollback() {
    let project = project();
    let _cleanup = Cleanup(&project);

    let first = up(&project, false).success();
    let first = summary(&first);
    assert_eq!(first["runtime"], "process");
    assert!(
        first["chose"]
            .as_str()
            .unwrap()
            .contains("no container engine answers"),
        "{first:#}"
    );
    for (name, conclusion) in [
        ("unit tests", "success"),
        ("integration tests", "skipped"),
        ("scan source and dependencies", "success"),
        ("build and push", "success"),
        ("scan image", "skipped"),
        ("deploy to staging", "success"),
        ("end-to-end", "success"),
    ] {
        assert_eq!(stage(&first, name)["conclusion"], conclusion, "{name}");
    }
    let released = &first["services"][0];
    assert_eq!(released["release"], 1);
    assert!(released["digest"].as_str().unwrap().starts_with("sha256:"));
    assert!(released["url"].as_str().unwrap().starts_with("http://"));
    assert_eq!(serving_release(&project), "1");

    // A code change, committed, goes out under load without one failed request.
    let (proxy, host) = staging(&project);
    let load = Load::start(proxy, &host);
    let app = project.read("src/app.js").replace("hello from", "hi from");
    project.write("src/app.js", &app);
    project.commit_all("say hi");
    let second = summary(&up(&project, false).success());
    load.stop().assert_no_failures();
    assert_eq!(second["services"][0]["release"], 2);
    assert_eq!(second["services"][0]["previous"], 1);
    assert_ne!(second["services"][0]["digest"], released["digest"]);
    assert_eq!(serving_release(&project), "2");
    let (_, body) = get(proxy, &host, "/");
    assert!(body.starts_with("hi from"), "{body}");

    project
        .slipway_with(
            &["rollback", "staging"],
            &[("SLIPWAY_PROXY_LISTEN", "127.0.0.1:0")],
        )
        .success();
    assert_eq!(serving_release(&project), "1");
    let (_, body) = get(proxy, &host, "/");
    assert!(body.starts_with("hello from"), "{body}");
}

#[test]
fn the_whole_path_in_containers() {
    require_engine();
    let project = project();
    let _cleanup = Cleanup(&project);

    let run = up(&project, true).success();
    let summary = summary(&run);
    assert_eq!(summary["runtime"], "container");
    for name in [
        "unit tests",
        "integration tests",
        "scan source and dependencies",
        "build and push",
        "scan image",
        "deploy to staging",
        "end-to-end",
    ] {
        assert_eq!(stage(&summary, name)["conclusion"], "success", "{name}");
    }
    let released = &summary["services"][0];
    assert_eq!(released["release"], 1);
    let artifact = released["artifact"].as_str().unwrap();
    let commit = project.git(&["rev-parse", "HEAD"]);
    assert_eq!(
        artifact,
        format!("localhost/{}/hello:{commit}", project.name()),
        "the release runs the image tagged with the commit"
    );
    assert!(
        released["scan"].as_str().unwrap().starts_with("passed"),
        "{released:#}"
    );
    assert_eq!(serving_release(&project), "1");
}

/// Runs the pipeline once (release 1 serves), applies `break_it`, commits, and runs it again:
/// the run must stop at `stage` for `why`, exit 1, and leave release 1 serving.
fn a_failure_stops_at(stage_name: &str, why: &str, break_it: impl FnOnce(&Project)) {
    let project = project();
    let _cleanup = Cleanup(&project);
    up(&project, false).success();

    break_it(&project);
    project.commit_all("break it");
    let run = up(&project, false).failure(1);

    let summary = summary(&run);
    assert_eq!(summary["succeeded"], false);
    let failed = stage(&summary, stage_name);
    assert_eq!(failed["conclusion"], "failure", "{summary:#}");
    let said = failed["failed"]["last_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line.as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        said.contains(why),
        "the {stage_name} stage says why:\n{said}"
    );
    assert_eq!(summary["still_serving"], serde_json::json!([["hello", 1]]));
    assert!(
        summary["stages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|stage| stage["name"] == "deploy to staging" || stage["name"] == "end-to-end")
            .all(|stage| stage["conclusion"] != "success")
            || stage_name == "deploy to staging",
        "nothing after the failed stage deployed: {summary:#}"
    );
    assert_eq!(serving_release(&project), "1");
}

#[test]
fn a_failing_unit_test_stops_the_run_and_the_previous_release_serves() {
    a_failure_stops_at("unit tests", "# fail 1", |project| {
        let test = project.read("test/app.test.js");
        project.write(
            "test/app.test.js",
            &format!("{test}\ntest('a broken promise', () => {{ assert.equal(1, 2); }});\n"),
        );
    });
}

#[test]
fn a_critical_vulnerability_stops_the_run_and_the_previous_release_serves() {
    let advisories =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/rustsec-osv/crates");
    a_failure_stops_at(
        "scan source and dependencies",
        "RUSTSEC-2021-0003",
        |project| {
            project
                .slipway(&["db", "import", advisories.to_str().unwrap()])
                .success();
            // A helper tool in the repository locks smallvec 1.6.0: RUSTSEC-2021-0003, CVSS 9.8.
            project.write(
            "tools/loadgen/Cargo.lock",
            "version = 3\n\n[[package]]\nname = \"smallvec\"\nversion = \"1.6.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
        );
        },
    );
}

#[test]
fn a_failing_health_check_stops_the_run_and_the_previous_release_serves() {
    a_failure_stops_at("deploy to staging", "health check", |project| {
        let config = project.read("slipway.toml").replace(
            "env = { LOG_LEVEL = \"info\" }",
            "env = { LOG_LEVEL = \"info\", FAIL_HEALTHCHECK = \"1\" }",
        );
        project.write("slipway.toml", &config);
    });
}

#[test]
fn a_committed_secret_stops_the_run_and_the_previous_release_serves() {
    a_failure_stops_at("scan source and dependencies", "aws", |project| {
        project.write(
            "src/config.js",
            "module.exports = { awsKeyId: 'AKIAZ7VRSQ5TJN2XOB3Q' };\n",
        );
    });
}
