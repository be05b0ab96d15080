//! `slipway init`.

use crate::support::Project;

#[test]
fn init_detects_node_and_writes_every_file() {
    let project = Project::empty();
    project.write("package.json", r#"{"name":"orders","version":"0.1.0"}"#);
    let run = project.slipway(&["init", "--name", "orders"]).success();
    for file in [
        "slipway.toml",
        "Dockerfile",
        ".dockerignore",
        ".github/workflows/slipway.yml",
    ] {
        assert!(
            run.stderr.contains(&format!("created {file}\n")),
            "{}",
            run.stderr
        );
    }
    let dockerfile = project.read("Dockerfile");
    assert!(dockerfile.contains("ARG NODE_IMAGE=node:20-alpine"));
    assert!(dockerfile.contains("USER node"));
    assert!(project.read("slipway.toml").contains("[services.orders]"));
}

#[test]
fn init_never_overwrites_without_force() {
    let project = Project::empty();
    project.write("Dockerfile", "FROM mine\n");
    let run = project
        .slipway(&["init", "--template", "rust", "--name", "api"])
        .failure(1);
    assert!(
        run.stderr.contains("a file already exists"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("pass --force"), "{}", run.stderr);
    assert_eq!(project.read("Dockerfile"), "FROM mine\n");
    assert!(
        !project.path().join("slipway.toml").exists(),
        "nothing may be written"
    );

    let run = project
        .slipway(&["init", "--template", "rust", "--name", "api", "--force"])
        .success();
    assert!(run.stderr.contains("overwrote"), "{}", run.stderr);
    assert!(
        project
            .read("Dockerfile")
            .contains("FROM scratch AS runtime")
    );
}

#[test]
fn init_names_the_service_after_the_directory() {
    let project = Project::empty();
    let dir = project.path().join("Orders_API");
    std::fs::create_dir(&dir).unwrap();
    project
        .slipway(&["init", "--template", "node", "Orders_API"])
        .success();
    assert!(
        std::fs::read_to_string(dir.join("slipway.toml"))
            .unwrap()
            .contains("[services.orders-api]")
    );
}

#[test]
fn init_without_a_manifest_asks_for_a_template() {
    let project = Project::empty();
    let run = project.slipway(&["init"]).failure(2);
    assert!(
        run.stderr.contains("neither package.json nor Cargo.toml"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--template node"), "{}", run.stderr);
}

#[test]
fn init_rejects_an_invalid_name() {
    let project = Project::empty();
    let run = project
        .slipway(&["init", "--template", "node", "--name", "Bad_Name"])
        .failure(2);
    assert!(
        run.stderr
            .contains("`Bad_Name` is not a valid service name"),
        "{}",
        run.stderr
    );
}

#[test]
fn every_template_writes_a_workflow_that_lints_clean_and_calls_the_stages() {
    for (template, manifest, test_step) in [
        ("node", "package.json", "npm test"),
        ("rust", "Cargo.toml", "cargo test --locked"),
    ] {
        let project = Project::empty();
        project.write(manifest, "");
        project
            .slipway(&["init", "--template", template, "--name", "orders"])
            .success();
        let workflow = project.read(".github/workflows/slipway.yml");
        for stage in [
            test_step,
            "slipway scan secrets . --fail-on low",
            "slipway build --push",
            "slipway scan image",
            "slipway deploy staging",
        ] {
            assert!(
                workflow.contains(stage),
                "{template}: no `{stage}` in\n{workflow}"
            );
        }
        project
            .slipway(&["lint", ".github/workflows/slipway.yml"])
            .success();
    }
}
