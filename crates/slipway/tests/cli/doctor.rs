//! `slipway doctor`.

use crate::support::{Project, require_engine};

#[test]
fn doctor_reports_every_check_in_a_healthy_project() {
    require_engine();
    let project = Project::example();
    let run = project.slipway(&["doctor", "--json"]).success();
    let checks: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let names: Vec<&str> = checks
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "container engine",
            "state directory",
            "git repository",
            "slipway.toml"
        ]
    );
    for check in checks.as_array().unwrap() {
        assert_eq!(check["verdict"], "ok", "{check}");
    }
    let engine = checks[0]["found"].as_str().unwrap();
    assert!(
        engine.contains("API"),
        "kind, version, API version and socket: {engine}"
    );
    assert!(
        engine.contains("unix://") || engine.contains("tcp://"),
        "{engine}"
    );
}

#[test]
fn doctor_says_how_to_fix_what_is_missing() {
    let project = Project::empty();
    let run = project
        .slipway_with(
            &["doctor"],
            &[("DOCKER_HOST", "unix:///nonexistent/engine.sock")],
        )
        .failure(1);
    assert!(
        run.stdout
            .contains("none answers on unix:///nonexistent/engine.sock"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("fix: start Docker, or run scripts/setup-engine"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("fix: run Slipway in a git repository"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("fix: run `slipway init`"),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains('\u{1b}'),
        "NO_COLOR means no escape codes"
    );
}
