//! Parsing, validation and merging of `slipway.toml`, through the public API only.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is the failure report.

use std::path::Path;
use std::time::Duration;

use slipway_config::{Config, ConfigError, FailOn, RegistryAction, ScanPolicy};

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
         `dockerfile`, `target`, `build_args`, `version`, `port`, `health`, `command`, `env`, `replicas`, `runtime`, `resources`, `autoscale`, `deploy`",
    );
    check_error(
        "[servics.web]\n",
        "slipway.toml:1:2: servics: unknown key `servics`; expected one of `project`, `registry`, `services`, \
         `environments`, `runners`, `scan`",
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
fn the_embedded_registry_server_is_configured_under_registry_server() {
    let config = parse(
        r#"
[registry.server]
address = "127.0.0.1:5001"
storage = "data/registry"
upload_expiry = "12h"
gc_interval = "1h"
gc_grace = "30m"
max_concurrent_requests = 64

[registry.server.auth]
htpasswd = "registry.htpasswd"
token = true
token_expiry = "10m"
anonymous_pull = true

[[registry.server.auth.access]]
users = ["ci"]
repositories = ["shop/*"]
actions = ["pull", "push", "delete"]

[registry.server.tls]
certificate = "cert.pem"
key = "key.pem"

[[registry.server.retention]]
repositories = ["shop/*"]
keep_last = 20
keep_tags = ["v*.*.*", "prod-*"]
keep_recent = "30d"
delete_untagged_after = "30d"

[[registry.server.retention]]
repositories = ["**"]
delete_untagged_after = "7d"
"#,
    )
    .unwrap();
    let server = &config.registry().server;
    assert_eq!(server.address.as_deref(), Some("127.0.0.1:5001"));
    assert_eq!(server.gc_grace.unwrap().get().as_secs(), 1800);
    let auth = server.auth.as_ref().unwrap();
    assert!(auth.token && auth.anonymous_pull);
    assert_eq!(
        auth.access[0].actions,
        [
            RegistryAction::Pull,
            RegistryAction::Push,
            RegistryAction::Delete
        ]
    );
    assert_eq!(server.tls.as_ref().unwrap().key, Path::new("key.pem"));
    assert_eq!(server.retention.len(), 2);
    assert_eq!(
        server.retention[0].keep_recent.unwrap().get().as_secs(),
        30 * 86_400
    );
    assert_eq!(server.retention[1].keep_last, None);
    // A file holding only this table is a valid config: what `registry serve --config` reads.
    assert_eq!(config.service_names().count(), 0);
}

#[test]
fn registry_server_rules_are_reported_at_their_key() {
    check_error(
        "[registry.server]\naddress = \"localhost\"\n",
        "slipway.toml:2:1: registry.server.address: `localhost` is not an IP address and port (for example \
         \"127.0.0.1:5000\")",
    );
    check_error(
        "[registry.server]\ngc_interval = \"0s\"\n",
        "slipway.toml:2:1: registry.server.gc_interval: must be longer than zero",
    );
    check_error(
        "[registry.server]\nmax_concurrent_requests = 0\n",
        "slipway.toml:2:1: registry.server.max_concurrent_requests: must be at least 1",
    );
    check_error(
        "[[registry.server.retention]]\nrepositories = [\"shop/[\"]\n",
        "slipway.toml:1:19: registry.server.retention: policy 1: `repositories` has an invalid glob `shop/[`: \
         unclosed character class; missing ']'",
    );
    check_error(
        "[[registry.server.retention]]\nrepositories = []\n",
        "slipway.toml:1:19: registry.server.retention: policy 1: `repositories` is empty",
    );
    check_error(
        "[registry.server.auth]\nhtpasswd = \"h\"\n[[registry.server.auth.access]]\nusers = []\nrepositories = [\"*\"]\nactions = [\"pull\"]\n",
        "slipway.toml:3:24: registry.server.auth.access: rule 1: names no `users`",
    );
    check_error(
        "[registry.server.auth]\nhtpasswd = \"h\"\n[[registry.server.auth.access]]\nusers = [\"ci\"]\nrepositories = [\"*\"]\nactions = [\"write\"]\n",
        "slipway.toml:6:12: registry.server.auth.access[0].actions[0]: unknown variant `write`; expected one of `pull`, `push`, `delete`",
    );
    check_error(
        "[registry.server]\nstorag = \"x\"\n",
        "slipway.toml:2:1: registry.server.storag: unknown key `storag`; expected one of `address`, `storage`, \
         `upload_expiry`, `gc_interval`, `gc_grace`, `max_concurrent_requests`, `auth`, `tls`, `retention`",
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
    let server = &schema["$defs"]["RegistryServerSettings"];
    assert_eq!(server["additionalProperties"], false);
    for key in [
        "address",
        "storage",
        "gc_interval",
        "gc_grace",
        "auth",
        "tls",
        "retention",
    ] {
        assert!(
            server["properties"].get(key).is_some(),
            "schema lacks registry.server.{key}"
        );
    }
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

#[test]
fn runner_labels_map_to_the_host_or_an_image_and_vars_are_kept() {
    let config = parse(
        r#"
[runners]
parallel = 3

[runners.labels]
ubuntu-latest = "host"
alpine = "localhost/slipway/busybox:latest"

[runners.vars]
REDIS_IMAGE = "localhost/slipway/redis:7"
"#,
    )
    .unwrap();
    let runners = config.runners();
    assert_eq!(runners.vars["REDIS_IMAGE"], "localhost/slipway/redis:7");
    assert_eq!(runners.parallel.map(|n| n.get()), Some(3));
    assert_eq!(
        runners.labels["ubuntu-latest"],
        slipway_config::RunnerTarget::Host
    );
    assert_eq!(
        runners.labels["alpine"],
        slipway_config::RunnerTarget::Image("localhost/slipway/busybox:latest".to_owned())
    );
    assert!(parse("").unwrap().runners().labels.is_empty());
}

#[test]
fn runner_settings_are_checked_at_their_key() {
    check_error(
        "[runners.labels]
alpine = \"Not An Image\"\n",
        "slipway.toml:2:10: runners.labels.alpine: `Not An Image` is neither \"host\" nor an image reference: \
         use lower-case letters and digits, separated by `.`, `_`, `__`, `-` or `/`",
    );
    check_error(
        "[runners]\nparalel = 2\n",
        "slipway.toml:2:1: runners.paralel: unknown key `paralel`; expected one of `parallel`, `labels`, `vars`",
    );
    check_error(
        "[runners]\nparallel = 0\n",
        "slipway.toml:2:12: runners.parallel: invalid value: integer `0`; expected a nonzero u32",
    );
    check_error(
        "[runners.labels]\n\"\" = \"host\"\n",
        "slipway.toml:2:1: runners.labels.: a runner label must not be empty",
    );
}

#[test]
fn deploy_settings_resolve_with_defaults_and_environment_overrides() {
    use slipway_config::{CanaryGate, RuntimeName, ScaleTarget, StrategyName};
    use std::time::Duration;
    let config = parse(
        r#"
[services.web]
replicas = 2
runtime = "container"
resources = { cpus = 0.5, memory = "256Mi" }
autoscale = { min = 2, max = 6, cpu_percent = 70, cooldown = "10s" }

[services.web.deploy]
strategy = "canary"
smoke_path = "/version"

[services.web.deploy.canary]
steps = [{ weight = 10, analysis = "20s" }, { weight = 30, pause = "5s" }, { weight = 60 }]
max_error_rate = 0.02

[environments.prod.services.web]
replicas = 4
deploy = { keep_previous = "30m" }
"#,
    )
    .unwrap();

    let dev = config.service("web", "dev").unwrap();
    assert_eq!(dev.replicas, 2);
    assert_eq!(dev.runtime, RuntimeName::Container);
    assert_eq!(dev.resources.cpus, Some(0.5));
    assert_eq!(dev.resources.memory_bytes, Some(256 << 20));
    let autoscale = dev.autoscale.unwrap();
    assert_eq!((autoscale.min, autoscale.max), (2, 6));
    assert_eq!(autoscale.target, ScaleTarget::CpuPercent(70.0));
    assert_eq!(autoscale.cooldown, Duration::from_secs(10));
    assert_eq!(autoscale.interval, Duration::from_secs(15));
    assert_eq!(dev.deploy.strategy, StrategyName::Canary);
    assert_eq!(dev.deploy.smoke_path.as_deref(), Some("/version"));
    assert_eq!(dev.deploy.keep_previous, Duration::from_secs(300));
    let gates: Vec<(u32, CanaryGate)> = dev
        .deploy
        .canary
        .steps
        .iter()
        .map(|step| (step.weight, step.gate.clone()))
        .collect();
    assert_eq!(
        gates,
        [
            (10, CanaryGate::Analysis(Duration::from_secs(20))),
            (30, CanaryGate::Pause(Duration::from_secs(5))),
            (60, CanaryGate::Promotion),
        ]
    );
    assert_eq!(dev.deploy.canary.max_error_rate, 0.02);

    let prod = config.service("web", "prod").unwrap();
    assert_eq!(prod.replicas, 4);
    assert_eq!(prod.deploy.keep_previous, Duration::from_secs(1800));
    assert_eq!(
        prod.deploy.strategy,
        StrategyName::Canary,
        "an override keeps the keys it does not set"
    );
    assert_eq!(prod.deploy.smoke_path.as_deref(), Some("/version"));

    let plain = parse("[services.api]\n")
        .unwrap()
        .service("api", "dev")
        .unwrap();
    assert_eq!(plain.replicas, 1);
    assert_eq!(plain.runtime, RuntimeName::Process);
    assert_eq!(plain.deploy.strategy, StrategyName::BlueGreen);
    assert_eq!(plain.autoscale, None);
}

#[test]
fn invalid_deploy_settings_are_reported_at_their_key() {
    check_error(
        "[services.web]\nreplicas = 0\n",
        "slipway.toml:2:1: services.web.replicas: must be at least 1 (`slipway stop` stops a service)",
    );
    check_error(
        "[services.web.deploy]\nstrategy = \"big-bang\"\n",
        "slipway.toml:2:12: services.web.deploy.strategy: unknown variant `big-bang`; expected one of `blue-green`, `canary`, `rolling`",
    );
    check_error(
        "[services.web.deploy.canary]\nsteps = [{ weight = 50 }, { weight = 20 }]\n",
        "slipway.toml:2:1: services.web.deploy.canary.steps: weights must grow from step to step: 20 follows 50",
    );
    check_error(
        "[services.web.deploy.canary]\nsteps = [{ weight = 10, pause = \"1s\", analysis = \"1s\" }]\n",
        "slipway.toml:2:1: services.web.deploy.canary.steps: the step at weight 10 has both `pause` and `analysis`; choose one",
    );
    check_error(
        "[services.web.deploy.rolling]\nmax_surge = 0\nmax_unavailable = 0\n",
        "slipway.toml:2:1: services.web.deploy.rolling.max_surge: `max_surge` and `max_unavailable` cannot both be 0: no replica could ever be replaced",
    );
    check_error(
        "[services.web]\nautoscale = { max = 3 }\n",
        "slipway.toml:2:1: services.web.autoscale: set exactly one of `cpu_percent`, `memory_percent` and `requests_per_second`",
    );
    check_error(
        "[services.web.autoscale]\nmin = 4\nmax = 2\ncpu_percent = 50\n",
        "slipway.toml:3:1: services.web.autoscale.max: must be at least `min` (4)",
    );
    check_error(
        "[services.web]\nresources = { memory = \"12Q\" }\n",
        "slipway.toml:2:24: services.web.resources.memory: invalid size `12Q`: the unit must be one of K, M, G, T, Ki, Mi, Gi, Ti (optionally followed by B)",
    );
    check_error(
        "[services.web]\n[environments.prod.services.web.deploy]\nsmoke_path = \"version\"\n",
        "slipway.toml:3:1: environments.prod.services.web.deploy.smoke_path: `version` must start with `/`",
    );
}

#[test]
fn require_scan_defaults_off_and_environments_override_it() {
    use slipway_config::StrategyName;
    let config = parse(
        r#"
[services.web.deploy]
strategy = "canary"

[services.api.deploy]
require_scan = true

[environments.prod.services.web.deploy]
require_scan = true

[environments.dev.services.api.deploy]
require_scan = false
"#,
    )
    .unwrap();
    let required = |service: &str, environment: &str| {
        config
            .service(service, environment)
            .unwrap()
            .deploy
            .require_scan
    };
    assert!(!required("web", "dev"), "off unless set");
    assert!(required("web", "prod"));
    assert_eq!(
        config.service("web", "prod").unwrap().deploy.strategy,
        StrategyName::Canary,
        "the override keeps the service's other deploy settings"
    );
    assert!(required("api", "staging"), "the service's own setting");
    assert!(!required("api", "dev"), "an environment may turn it off");

    check_error(
        "[services.web.deploy]\nrequire_scan = \"yes\"\n",
        "slipway.toml:2:16: services.web.deploy.require_scan: invalid type: string \"yes\"; expected a boolean",
    );
    check_error(
        "[services.web.deploy]\nrequire_scans = true\n",
        "slipway.toml:2:1: services.web.deploy.require_scans: unknown key `require_scans`; expected one of `strategy`, `keep_previous`, `health_timeout`, `smoke_path`, `verify`, `stop_grace`, `canary`, `rolling`, `require_scan`",
    );
    let schema = slipway_config::json_schema();
    let setting = &schema["$defs"]["DeploySettings"]["properties"]["require_scan"];
    assert_eq!(
        setting["type"],
        serde_json::json!(["boolean", "null"]),
        "{setting}"
    );
    assert!(
        setting["description"]
            .as_str()
            .is_some_and(|text| text.contains("slipway scan image")),
        "{setting}"
    );
}

#[test]
fn the_scan_policy_defaults_to_high_and_seven_days_and_environments_override_it() {
    let config = parse("").unwrap();
    assert_eq!(
        config.scan_policy("prod").unwrap(),
        ScanPolicy {
            fail_on: FailOn::High,
            max_advisory_age: Duration::from_secs(7 * 24 * 3600),
        }
    );
    let config = parse(
        "[scan]\nfail_on = \"critical\"\nmax_advisory_age = \"2d\"\n\n\
         [environments.prod.scan]\nfail_on = \"medium\"\n",
    )
    .unwrap();
    assert_eq!(
        config.scan_policy("prod").unwrap(),
        ScanPolicy {
            fail_on: FailOn::Medium,
            max_advisory_age: Duration::from_secs(2 * 24 * 3600),
        }
    );
    assert_eq!(
        config.scan_policy("staging").unwrap().fail_on,
        FailOn::Critical
    );
    assert!(config.scan_policy("nowhere").is_err());
    assert_eq!(config.project_scan_policy().fail_on, FailOn::Critical);
}

#[test]
fn invalid_scan_policies_are_reported_at_their_key() {
    check_error(
        "[scan]\nfail_on = \"severe\"\n",
        "slipway.toml:2:11: scan.fail_on: unknown variant `severe`; expected one of `low`, `medium`, `high`, `critical`",
    );
    check_error(
        "[scan]\nmax_advisory_age = \"0s\"\n",
        "slipway.toml:2:1: scan.max_advisory_age: max_advisory_age must be longer than zero: write a duration such as \"7d\" or \"12h\"",
    );
    check_error(
        "[environments.prod.scan]\nmax_advisory_age = \"0d\"\n",
        "slipway.toml:2:1: environments.prod.scan.max_advisory_age: max_advisory_age must be longer than zero: write a duration such as \"7d\" or \"12h\"",
    );
    check_error(
        "[scan]\nmax_age = \"7d\"\n",
        "slipway.toml:2:1: scan.max_age: unknown key `max_age`; expected `fail_on` or `max_advisory_age`",
    );
}
