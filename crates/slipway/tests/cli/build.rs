//! `slipway build` and `slipway builds`: bad input is refused before anything is sent; the example
//! builds through the real engine, is tagged, labelled and recorded, and rebuilds from the cache.

use crate::support::{Project, require_engine, untag};

#[test]
fn a_repository_without_commits_is_refused_with_a_hint() {
    let project = Project::empty();
    project.git(&["init", "-q", "-b", "main"]);
    project.write("slipway.toml", "[services.web]\n");
    project.write("Dockerfile", "FROM scratch\n");
    let run = project.slipway(&["build"]).failure(1);
    assert!(run.stderr.contains("has no commits yet"), "{}", run.stderr);
    assert!(run.stderr.contains("git commit"), "{}", run.stderr);
}

#[test]
fn a_missing_dockerfile_names_the_path() {
    let project = Project::empty();
    project.git(&["init", "-q", "-b", "main"]);
    project.write(
        "slipway.toml",
        "[services.web]\ndockerfile = \"docker/Dockerfile\"\n",
    );
    project.commit_all("init");
    let run = project.slipway(&["build"]).failure(2);
    let expected = project.path().join("docker/Dockerfile");
    assert!(
        run.stderr
            .contains(&format!("no Dockerfile at {}", expected.display())),
        "{}",
        run.stderr
    );
    assert!(
        !project.path().join(".slipway").exists(),
        "nothing is recorded for a build that never started"
    );
}

#[test]
fn a_broken_dockerfile_is_reported_at_its_position() {
    let project = Project::empty();
    project.git(&["init", "-q", "-b", "main"]);
    project.write("slipway.toml", "[services.web]\n");
    project.write("Dockerfile", "FROM scratch\nCOPPY a b\n");
    project.commit_all("init");
    let run = project.slipway(&["build"]).failure(2);
    let dockerfile = project.path().join("Dockerfile");
    assert!(
        run.stderr
            .contains(&format!("{}:2:1: ", dockerfile.display())),
        "{}",
        run.stderr
    );
}

#[test]
fn an_unknown_target_lists_the_stages() {
    let project = Project::example();
    let run = project.slipway(&["build", "--target", "tests"]).failure(2);
    assert!(
        run.stderr
            .contains("has no stage `tests`; its stages are deps, build, runtime"),
        "{}",
        run.stderr
    );
}

#[test]
fn several_services_need_a_name() {
    let project = Project::empty();
    project.write("slipway.toml", "[services.web]\n[services.api]\n");
    let run = project.slipway(&["build"]).failure(2);
    assert!(
        run.stderr
            .contains("which service? slipway.toml declares api, web"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_unwritable_state_directory_fails_before_building() {
    let project = Project::example();
    // A path under a regular file cannot be created, even by root.
    project.write("not-a-dir", "");
    let state = project.path().join("not-a-dir/state");
    let run = project
        .slipway(&["build", "--state-dir", state.to_str().unwrap()])
        .failure(1);
    assert!(run.stderr.contains("state store: "), "{}", run.stderr);
    assert!(
        run.stderr.contains("--state-dir or SLIPWAY_HOME"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_example_builds_tags_records_and_rebuilds_from_cache() {
    require_engine();
    let project = Project::example();
    project.git(&["checkout", "-q", "-b", "feature/Login"]);

    let first = project.slipway(&["build", "--json"]).success();
    let summary: serde_json::Value = serde_json::from_str(&first.stdout).unwrap();
    let commit = project.git(&["rev-parse", "HEAD"]);
    let short = project.git(&["rev-parse", "--short", "HEAD"]);
    let references: Vec<&str> = summary["references"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    let repository = format!("localhost/{}/hello", project.name());
    assert_eq!(
        references,
        [
            format!("{repository}:{commit}"),
            format!("{repository}:{short}"),
            format!("{repository}:1.4.0"),
            format!("{repository}:feature-login"),
        ]
    );
    assert!(
        first.stderr.contains("STEP"),
        "the engine's output streams to stderr: {}",
        first.stderr
    );

    let listed = project.slipway(&["builds", "--json"]).success();
    let builds: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    let build = &builds[0];
    assert_eq!(build["service"], "hello");
    assert_eq!(build["outcome"]["status"], "succeeded");
    assert_eq!(build["image_id"], summary["image_id"]);
    assert_eq!(build["git"]["commit"], commit.as_str());
    assert_eq!(build["git"]["branch"], "feature/Login");
    assert_eq!(
        build["git"]["dirty"], false,
        "the state directory must not make the tree dirty"
    );
    assert!(build["size_bytes"].as_u64().unwrap() > 1_000_000);
    assert!(build["layer_count"].as_u64().unwrap() >= 2);
    assert!(build.get("log").is_none(), "a listing leaves logs out");
    let shown = project
        .slipway(&["builds", "show", "--json", &build["id"].to_string()])
        .success();
    let log = serde_json::from_str::<serde_json::Value>(&shown.stdout).unwrap()["log"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(log.contains("npm test") || log.contains("STEP"), "{log}");

    assert_eq!(summary["reused"], false);

    // Nothing changed: the image built from the same inputs is reused, nothing is sent.
    let second = project.slipway(&["build", "--json"]).success();
    let again: serde_json::Value = serde_json::from_str(&second.stdout).unwrap();
    assert_eq!(
        again["image_id"], summary["image_id"],
        "a no-change rebuild must give the same image"
    );
    assert_eq!(again["reused"], true, "{}", second.stderr);
    assert!(!second.stderr.contains("STEP"), "{}", second.stderr);

    // Without the image tagged with the commit, the engine builds, every step from its cache,
    // and arrives at the very same image.
    untag(references[0]);
    let third = project.slipway(&["build", "--json"]).success();
    let built_again: serde_json::Value = serde_json::from_str(&third.stdout).unwrap();
    assert_eq!(built_again["reused"], false);
    assert_eq!(built_again["image_id"], summary["image_id"]);
    assert!(third.stderr.contains("Using cache"), "{}", third.stderr);

    let table = project.slipway(&["builds"]).success();
    assert_eq!(
        table.stdout.lines().count(),
        4,
        "a header and three builds:\n{}",
        table.stdout
    );
    assert!(table.stdout.contains("feature/Login"));
    let shown = project
        .slipway(&["builds", "show", &build["id"].to_string()])
        .success();
    assert!(
        shown.stdout.contains("status:    succeeded"),
        "{}",
        shown.stdout
    );
    assert!(shown.stdout.contains("log:"), "{}", shown.stdout);
}

#[test]
fn a_failing_run_step_fails_the_build_and_is_recorded_with_its_log() {
    require_engine();
    let project = Project::example();
    project.write(
        "test/broken.test.js",
        "require('node:test')('breaks', () => { throw new Error('deliberately broken'); });\n",
    );
    project.commit_all("a failing test");
    let run = project.slipway(&["build"]).failure(1);
    assert!(
        run.stderr.contains("error: the image build failed"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("deliberately broken"),
        "the failing step's output is quoted: {}",
        run.stderr
    );

    let listed = project
        .slipway(&["builds", "--json", "--status", "failed"])
        .success();
    let builds: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    assert_eq!(builds.as_array().unwrap().len(), 1);
    assert_eq!(builds[0]["outcome"]["status"], "failed");
    assert!(builds[0]["image_id"].is_null());
    let shown = project
        .slipway(&["builds", "show", "--json", &builds[0]["id"].to_string()])
        .success();
    let build: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
    assert!(
        build["log"]
            .as_str()
            .unwrap()
            .contains("deliberately broken"),
        "{build}"
    );
}

#[test]
fn quiet_prints_only_the_image_id() {
    require_engine();
    let project = Project::example();
    let run = project
        .slipway(&["build", "--quiet", "--target", "deps"])
        .success();
    assert!(run.stdout.trim().starts_with("sha256:"), "{}", run.stdout);
    assert_eq!(run.stdout.trim().lines().count(), 1);
    assert!(
        !run.stderr.contains("STEP"),
        "--quiet hides the build log: {}",
        run.stderr
    );
}
