//! The rendered templates are valid for the tools that read them, and the example service is the
//! Node.js template, not a copy that can drift from it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is the failure report.

use std::path::Path;

use slipway_scaffold::{Plan, Template};

fn rendered(template: Template, file: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let plan = Plan::new(template, dir.path(), "orders");
    let wanted = dir.path().join(file);
    plan.files()
        .iter()
        .find(|f| f.path == wanted)
        .unwrap()
        .contents
        .clone()
}

#[test]
fn every_template_renders_a_valid_slipway_toml() {
    for template in Template::ALL {
        let text = rendered(template, "slipway.toml");
        let config = slipway_config::Config::parse(&text, Path::new("slipway.toml"))
            .unwrap_or_else(|error| panic!("{template}: {error}"));
        let service = config.service("orders", "prod").unwrap();
        assert!(service.port.is_some(), "{template}");
        assert_eq!(service.health.unwrap().path, "/healthz", "{template}");
        assert!(service.command.is_some(), "{template}");
    }
}

#[test]
fn the_example_service_uses_the_node_template_dockerfile_and_dockerignore() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hello");
    for (example_file, template_file) in [
        ("Dockerfile", "Dockerfile"),
        (".dockerignore", ".dockerignore"),
    ] {
        let actual = std::fs::read_to_string(example.join(example_file)).unwrap();
        assert_eq!(
            actual,
            rendered(Template::Node, template_file),
            "examples/hello/{example_file} drifted from the template"
        );
    }
}
