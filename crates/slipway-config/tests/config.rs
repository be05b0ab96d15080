//! Parsing, validation and merging of `slipway.toml`, through the public API only.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is the failure report.

use std::path::Path;

use slipway_config::{Config, ConfigError};

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("slipway.toml"))
}

/// Checks that `text` fails with exactly `expected` (the error's whole first line).
#[track_caller]
fn check_error(text: &str, expected: &str) {
    match parse(text) {
        Ok(_) => panic!("expected the error `{expected}`, but the config parsed"),
        Err(error) => assert_eq!(error.to_string(), expected),
    }
}

#[test]
fn a_full_config_parses_and_resolves() {
    let config = parse(
        r#"
[project]
name = "shop"
source = "https://example.com/shop.git"

[registry]
url = "localhost:5000/shop"
username = "ci"
password_env = "REGISTRY_TOKEN"
insecure = true

[services.web]
context = "web"
dockerfile = "docker/Dockerfile"
target = "runtime"
build_args = { NODE_IMAGE = "node:20-alpine" }
version = "1.2.3"
port = 3000
command = "node src/server.js"
env = { LOG_LEVEL = "info", PORT = "3000" }

[services.web.health]
path = "/healthz"
interval = "500ms"
timeout = "250ms"
healthy_threshold = 2
unhealthy_threshold = 5

[services.worker]

[environments.prod]
env = { LOG_LEVEL = "warn", REGION = "eu" }

[environments.prod.services.web]
port = 8080
env = { REGION = "us" }
health = { interval = "5s" }
"#,
    )
    .unwrap();

    assert_eq!(config.project_name(), "shop");
    assert_eq!(
        config.registry().url.as_deref(),
        Some("localhost:5000/shop")
    );
    assert!(config.registry().insecure);
    assert_eq!(
        config.service_names().collect::<Vec<_>>(),
        ["web", "worker"]
    );
    assert_eq!(config.environment_names(), ["dev", "prod", "staging"]);

    let dev = config.service("web", "dev").unwrap();
    assert_eq!(dev.image, "web");
    assert_eq!(dev.context, Path::new("web"));
    assert_eq!(dev.dockerfile, Path::new("docker/Dockerfile"));
    assert_eq!(dev.port, Some(3000));
    assert_eq!(dev.env["LOG_LEVEL"], "info");
    let health = dev.health.as_ref().unwrap();
    assert_eq!(health.interval.as_millis(), 500);
    assert_eq!(health.healthy_threshold, 2);

    // prod: the environment's env beats the service's; the per-service override beats both, and
    // overrides inside the health table merge key by key.
    let prod = config.service("web", "prod").unwrap();
    assert_eq!(prod.port, Some(8080));
    assert_eq!(prod.env["LOG_LEVEL"], "warn");
    assert_eq!(prod.env["REGION"], "us");
    assert_eq!(prod.env["PORT"], "3000");
    let health = prod.health.as_ref().unwrap();
    assert_eq!(health.path, "/healthz");
    assert_eq!(health.interval.as_secs(), 5);
    assert_eq!(health.timeout.as_millis(), 250);
    assert_eq!(prod.build_args["NODE_IMAGE"], "node:20-alpine");

    // worker: every default.
    let worker = config.service("worker", "staging").unwrap();
    assert_eq!(worker.image, "worker");
    assert_eq!(worker.context, Path::new("."));
    assert_eq!(worker.dockerfile, Path::new("Dockerfile"));
    assert_eq!(worker.port, None);
    assert_eq!(worker.health, None);
    assert_eq!(config.services("prod").unwrap().len(), 2);

    // Builds use the service's own settings, whatever the environments override.
    let base = config.base_service("web").unwrap();
    assert_eq!(base.port, Some(3000));
    assert_eq!(base.env["LOG_LEVEL"], "info");
    assert!(!base.env.contains_key("REGION"));
}

#[test]
fn an_empty_file_is_a_valid_config_with_no_services() {
    let config = parse("").unwrap();
    assert_eq!(config.service_names().count(), 0);
    assert!(config.registry().url.is_none());
}

#[test]
fn health_defaults_fill_in_what_the_table_leaves_out() {
    let config = parse("[services.web]\nhealth = { path = \"/up\" }\n").unwrap();
    let health = config.service("web", "dev").unwrap().health.unwrap();
    assert_eq!(health.path, "/up");
    assert_eq!(health.interval.as_secs(), 2);
    assert_eq!(health.timeout.as_secs(), 1);
    assert_eq!(health.healthy_threshold, 1);
    assert_eq!(health.unhealthy_threshold, 3);
}

#[test]
fn syntax_errors_name_line_and_column() {
    check_error(
        "[services.web\nport = 1\n",
        "slipway.toml:1:14: unclosed table; expected `]`",
    );
}

#[test]
fn unknown_keys_name_the_key_path_and_the_allowed_keys() {
    check_error(
        "[services.web]\nprot = 3000\n",
        "slipway.toml:2:1: services.web.prot: unknown key `prot`; expected one of `image`, `context`, \
         `dockerfile`, `target`, `build_args`, `version`, `port`, `health`, `command`, `env`",
    );
    check_error(
        "[servics.web]\n",
        "slipway.toml:1:2: servics: unknown key `servics`; expected one of `project`, `registry`, `services`, \
         `environments`",
    );
    check_error(
        "[environments.prod.services.web.health]\npaht = \"/x\"\n",
        "slipway.toml:2:1: environments.prod.services.web.health.paht: unknown key `paht`; expected one \
         of `path`, `interval`, `timeout`, `healthy_threshold`, `unhealthy_threshold`",
    );
}

#[test]
fn wrong_types_say_what_was_expected() {
    check_error(
        "[services.web]\nport = \"3000\"\n",
        "slipway.toml:2:8: services.web.port: invalid type: string \"3000\"; expected a port number from 1 to 65535",
    );
    check_error(
        "[services.web]\nport = 70000\n",
        "slipway.toml:2:8: services.web.port: invalid value: integer `70000`; expected a port number from 1 to 65535",
    );
    check_error(
        "[services.web]\nport = 0\n",
        "slipway.toml:2:8: services.web.port: invalid value: integer `0`; expected a port number from 1 to 65535",
    );
    check_error(
        "[services.web]\nhealth = { path = \"/\", interval = \"soon\" }\n",
        "slipway.toml:2:35: services.web.health.interval: invalid value: string \"soon\"; expected a \
         duration such as \"500ms\", \"2s\" or \"1m30s\"",
    );
    check_error(
        "[services.web]\nenv = { A = 1 }\n",
        "slipway.toml:2:13: services.web.env.A: invalid type: integer `1`; expected a string",
    );
    check_error(
        "services = 3\n",
        "slipway.toml:1:12: services: invalid type: integer `3`; expected a map",
    );
    check_error(
        "[registry]\ninsecure = \"yes\"\n",
        "slipway.toml:2:12: registry.insecure: invalid type: string \"yes\"; expected a boolean",
    );
}

#[test]
fn names_must_be_dns_labels() {
    check_error(
        "[project]\nname = \"My Shop\"\n",
        "slipway.toml:2:1: project.name: invalid project name `My Shop`: use lower-case letters, digits and `-`",
    );
    check_error(
        "[services.Web_API]\n",
        "slipway.toml:1:11: services.Web_API: invalid service name `Web_API`: use lower-case letters, digits and `-`",
    );
    check_error(
        "[environments.-qa]\n",
        "slipway.toml:1:15: environments.-qa: invalid environment name `-qa`: start and end with a letter or digit",
    );
}

#[test]
fn values_that_break_rules_are_reported_at_their_key() {
    check_error(
        "[services.web]\nimage = \"Shop/Web\"\n",
        "slipway.toml:2:1: services.web.image: invalid image name `Shop/Web`: use lower-case letters and \
         digits, separated by `.`, `_`, `__`, `-` or `/`",
    );
    check_error(
        "[services.web]\nimage = \"web:latest\"\n",
        "slipway.toml:2:1: services.web.image: invalid image name `web:latest`: leave the tag out: Slipway computes tags",
    );
    check_error(
        "[services.web]\ncontext = \"../elsewhere\"\n",
        "slipway.toml:2:1: services.web.context: `../elsewhere` must be a relative path that stays inside \
         the project (no leading `/`, no `..`)",
    );
    check_error(
        "[services.web]\ndockerfile = \"/etc/Dockerfile\"\n",
        "slipway.toml:2:1: services.web.dockerfile: `/etc/Dockerfile` must be a relative path that stays \
         inside the project (no leading `/`, no `..`)",
    );
    check_error(
        "[services.web]\nhealth = { path = \"healthz\" }\n",
        "slipway.toml:2:12: services.web.health.path: `healthz` must start with `/`",
    );
    check_error(
        "[services.web]\nhealth = { path = \"/\", healthy_threshold = 0 }\n",
        "slipway.toml:2:24: services.web.health.healthy_threshold: must be at least 1",
    );
    check_error(
        "[services.web]\ncommand = \"  \"\n",
        "slipway.toml:2:1: services.web.command: must not be empty; remove the key instead",
    );
    check_error(
        "[services.web]\nenv = { 1BAD = \"x\" }\n",
        "slipway.toml:2:9: services.web.env.1BAD: invalid variable name `1BAD`: use letters, digits and \
         `_`, not starting with a digit",
    );
    check_error(
        "[services.web]\nbuild_args = { \"A-B\" = \"x\" }\n",
        "slipway.toml:2:16: services.web.build_args.A-B: invalid variable name `A-B`: use letters, digits \
         and `_`, not starting with a digit",
    );
    check_error(
        "[environments.prod]\nenv = { \"X Y\" = \"1\" }\n",
        "slipway.toml:2:9: environments.prod.env.X Y: invalid variable name `X Y`: use letters, digits and \
         `_`, not starting with a digit",
    );
}

#[test]
fn a_health_check_needs_a_path_in_every_environment() {
    check_error(
        "[services.web]\nhealth = { interval = \"1s\" }\n",
        "slipway.toml:2:1: services.web.health: a health check needs `path` (for example \"/healthz\")",
    );
    check_error(
        "[services.web]\n[environments.qa.services.web]\nhealth = { timeout = \"1s\" }\n",
        "slipway.toml:3:1: environments.qa.services.web.health: a health check needs `path` (for example \
         \"/healthz\")",
    );
    // An override that only tunes the interval inherits the service's path.
    parse("[services.web]\nhealth = { path = \"/\" }\n[environments.qa.services.web]\nhealth = { interval = \"9s\" }\n")
        .unwrap();
}

#[test]
fn overrides_must_name_declared_services() {
    check_error(
        "[services.web]\n[environments.prod.services.api]\nport = 1\n",
        "slipway.toml:2:29: environments.prod.services.api: overrides service `api`, which [services] does \
         not declare (declared: web)",
    );
    check_error(
        "[environments.prod.services.api]\n",
        "slipway.toml:1:29: environments.prod.services.api: overrides service `api`, but no service is \
         declared under [services]",
    );
}

#[test]
fn registry_rules() {
    check_error(
        "[registry]\nurl = \"https://registry.example.com/team\"\n",
        "slipway.toml:2:1: registry.url: write the registry without a scheme (`registry.example.com/team`); \
         set `insecure = true` for plain HTTP",
    );
    check_error(
        "[registry]\npassword_env = \"my-token\"\n",
        "slipway.toml:2:1: registry.password_env: `my-token` is not an environment variable name",
    );
}

#[test]
fn unknown_service_and_environment_list_what_exists() {
    let config = parse("[services.web]\n[services.api]\n[environments.qa]\n").unwrap();
    assert_eq!(
        config.service("db", "dev").unwrap_err().to_string(),
        "slipway.toml: no service named `db`; known services: api, web"
    );
    assert_eq!(
        config.service("web", "production").unwrap_err().to_string(),
        "slipway.toml: no environment named `production`; known environments: dev, prod, qa, staging"
    );
    let empty = parse("").unwrap();
    assert_eq!(
        empty.service("web", "dev").unwrap_err().to_string(),
        "slipway.toml: no service named `web`; it declares no services"
    );
}

#[test]
fn names_made_from_directory_names() {
    assert_eq!(
        slipway_config::name_from("Orders_API").as_deref(),
        Some("orders-api")
    );
    assert_eq!(
        slipway_config::name_from("--my..svc--").as_deref(),
        Some("my-svc")
    );
    assert_eq!(slipway_config::name_from("web").as_deref(), Some("web"));
    assert_eq!(slipway_config::name_from("___"), None);
    assert_eq!(
        slipway_config::name_from(&"x".repeat(80)).map(|n| n.len()),
        Some(63)
    );
}

#[test]
fn the_project_name_defaults_to_the_directory_made_valid() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("My_Shop");
    std::fs::create_dir(&project).unwrap();
    let config = Config::parse("", &project.join("slipway.toml")).unwrap();
    assert_eq!(config.project_name(), "my-shop");
}

#[test]
fn load_reports_a_missing_file() {
    let error = Config::load(Path::new("/nonexistent/slipway.toml")).unwrap_err();
    assert!(matches!(error, ConfigError::Unreadable { .. }));
    assert!(
        error
            .to_string()
            .starts_with("cannot read /nonexistent/slipway.toml: "),
        "{error}"
    );
}

#[test]
fn the_schema_is_generated_from_the_types() {
    let schema = slipway_config::json_schema();
    assert_eq!(schema["title"], "slipway.toml");
    assert_eq!(schema["additionalProperties"], false);
    let service = &schema["$defs"]["ServiceSettings"];
    assert_eq!(service["additionalProperties"], false);
    for key in [
        "image",
        "context",
        "dockerfile",
        "target",
        "build_args",
        "version",
        "port",
        "health",
        "command",
        "env",
    ] {
        assert!(
            service["properties"].get(key).is_some(),
            "schema lacks services.*.{key}"
        );
    }
    assert_eq!(schema["$defs"]["Port"]["maximum"], 65535);
    assert!(
        schema["$defs"]["ServiceSettings"]["properties"]["port"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("TCP port"))
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the text, parsing returns a value or an error with a position inside the text.
        #[test]
        fn errors_point_inside_the_text(text in "[\\[\\]a-z.=\"{} \n0-9_-]{0,80}") {
            if let Err(ConfigError::Invalid { line, column, .. }) = parse(&text) {
                let lines: Vec<&str> = text.split('\n').collect();
                prop_assert!(line >= 1 && line <= lines.len(), "line {line} of {}", lines.len());
                prop_assert!(column >= 1 && column <= lines[line - 1].chars().count() + 1);
            }
        }

        /// Any valid port round-trips; any out-of-range number is an error at the value.
        #[test]
        fn ports(port in 0i64..100_000) {
            let result = parse(&format!("[services.web]\nport = {port}\n"));
            if (1..=65535).contains(&port) {
                prop_assert_eq!(result.unwrap().service("web", "dev").unwrap().port, Some(port as u16));
            } else {
                let error = result.unwrap_err().to_string();
                prop_assert!(error.starts_with("slipway.toml:2:8: services.web.port: "), "{}", error);
            }
        }
    }
}
