//! `slipway config`.

use crate::support::{Project, example_dir};

#[test]
fn schema_is_json_schema_for_slipway_toml() {
    let run = Project::empty().slipway(&["config", "schema"]).success();
    let schema: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(schema["title"], "slipway.toml");
    assert!(schema["$defs"]["ServiceSettings"]["properties"]["health"].is_object());
}

#[test]
fn show_merges_the_environment() {
    let project = Project::empty();
    let config = example_dir().join("slipway.toml");
    let run = project
        .slipway(&[
            "config",
            "show",
            "prod",
            "--json",
            "--config",
            config.to_str().unwrap(),
        ])
        .success();
    let merged: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(merged["environment"], "prod");
    assert_eq!(merged["services"]["hello"]["env"]["LOG_LEVEL"], "warn");
    assert_eq!(merged["services"]["hello"]["health"]["interval"], "1s");

    let run = project
        .slipway(&[
            "config",
            "show",
            "staging",
            "--config",
            config.to_str().unwrap(),
        ])
        .success();
    assert!(
        run.stdout.contains("[services.hello.env]"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("LOG_LEVEL = \"info\""),
        "{}",
        run.stdout
    );
}

#[test]
fn config_errors_name_file_line_column_and_key() {
    let project = Project::empty();
    project.write("slipway.toml", "[services.web]\nport = \"http\"\n");
    let run = project.slipway(&["config", "show"]).failure(2);
    let path = project.path().join("slipway.toml");
    assert!(
        run.stderr.contains(&format!(
            "error: {}:2:8: services.web.port: invalid type",
            path.display()
        )),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("hint: "), "{}", run.stderr);
}

#[test]
fn an_unknown_environment_lists_the_known_ones() {
    let project = Project::empty();
    project.write("slipway.toml", "[services.web]\n");
    let run = project.slipway(&["config", "show", "qa"]).failure(2);
    assert!(
        run.stderr
            .contains("known environments: dev, prod, staging"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_missing_config_says_how_to_make_one() {
    let run = Project::empty().slipway(&["config", "show"]).failure(2);
    assert!(
        run.stderr.contains("no slipway.toml found"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("slipway init"), "{}", run.stderr);
}

#[test]
fn require_scan_is_in_the_schema_and_shown_per_environment() {
    let project = Project::empty();
    let schema = project.slipway(&["config", "schema"]).success();
    let schema: serde_json::Value = serde_json::from_str(&schema.stdout).unwrap();
    assert!(
        schema["$defs"]["DeploySettings"]["properties"]["require_scan"].is_object(),
        "{}",
        schema["$defs"]["DeploySettings"]
    );

    project.write(
        "slipway.toml",
        "[services.web]\n\n[environments.prod.services.web.deploy]\nrequire_scan = true\n",
    );
    let prod = project.slipway(&["config", "show", "prod"]).success();
    assert!(
        prod.stdout
            .contains("[services.web.deploy]\nstrategy = \"blue-green\""),
        "{}",
        prod.stdout
    );
    assert!(
        prod.stdout.contains("require_scan = true"),
        "{}",
        prod.stdout
    );
    let dev = project
        .slipway(&["config", "show", "dev", "--json"])
        .success();
    let dev: serde_json::Value = serde_json::from_str(&dev.stdout).unwrap();
    assert_eq!(dev["services"]["web"]["deploy"]["require_scan"], false);
}
