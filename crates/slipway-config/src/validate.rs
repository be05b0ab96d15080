//! Rules the types alone cannot state: names that must be DNS labels, variable names, paths that
//! must be relative, overrides of services that exist, health checks with a path, registry
//! addresses and globs that parse.

use std::collections::BTreeMap;
use std::path::{Component, Path};

use crate::STANDARD_ENVIRONMENTS;
use crate::error::ConfigError;
use crate::model::{ConfigFile, RegistrySettings, ServiceSettings};
use crate::registry::RegistryServerSettings;
use crate::resolve::merged_settings;

/// Checks `file` (parsed from `text`), reporting the first broken rule at its key.
pub(crate) fn check(file: &ConfigFile, text: &str, origin: &Path) -> Result<(), ConfigError> {
    let fail =
        |path: &[&str], message: String| Err(ConfigError::at_key(origin, text, path, message));

    if let Some(name) = &file.project.name
        && let Some(problem) = dns_label_problem(name)
    {
        return fail(
            &["project", "name"],
            format!("invalid project name `{name}`: {problem}"),
        );
    }
    for (name, service) in &file.services {
        if let Some(problem) = dns_label_problem(name) {
            return fail(
                &["services", name],
                format!("invalid service name `{name}`: {problem}"),
            );
        }
        check_service(service, &["services", name])
            .or_else(|(path, message)| fail(&path, message))?;
    }
    for (env_name, environment) in &file.environments {
        if let Some(problem) = dns_label_problem(env_name) {
            return fail(
                &["environments", env_name],
                format!("invalid environment name `{env_name}`: {problem}"),
            );
        }
        check_variables(&environment.env, &["environments", env_name, "env"])
            .or_else(|(path, message)| fail(&path, message))?;
        if let Some(scan) = &environment.scan {
            crate::scan::check(scan).or_else(|(tail, message)| {
                fail(
                    &[&["environments", env_name.as_str(), "scan"][..], &tail[..]].concat(),
                    message,
                )
            })?;
        }
        for (service_name, over) in &environment.services {
            let path = ["environments", env_name, "services", service_name];
            if !file.services.contains_key(service_name) {
                return fail(&path, unknown_override(service_name, file));
            }
            check_service(over, &path).or_else(|(path, message)| fail(&path, message))?;
        }
    }
    crate::scan::check(&file.scan)
        .or_else(|(tail, message)| fail(&[&["scan"][..], &tail[..]].concat(), message))?;
    check_registry(&file.registry).or_else(|(path, message)| fail(&path, message))?;
    crate::runners::check(&file.runners).or_else(|(path, message)| fail(&path, message))?;
    check_health_paths(file).or_else(|(path, message)| fail(&path, message))
}

/// A broken rule: the key path where it is, and the message.
type Problem<'a> = (Vec<&'a str>, String);

fn check_service<'a>(service: &'a ServiceSettings, at: &[&'a str]) -> Result<(), Problem<'a>> {
    let key = |tail: &[&'a str]| [at, tail].concat();
    if let Some(image) = &service.image
        && let Some(problem) = repository_problem(image)
    {
        return Err((
            key(&["image"]),
            format!("invalid image name `{image}`: {problem}"),
        ));
    }
    for (field, path) in [
        ("context", &service.context),
        ("dockerfile", &service.dockerfile),
    ] {
        if let Some(path) = path
            && !is_relative_inside(path)
        {
            return Err((
                key(&[field]),
                format!(
                    "`{}` must be a relative path that stays inside the project (no leading `/`, no `..`)",
                    path.display()
                ),
            ));
        }
    }
    if let Some(health) = &service.health {
        if let Some(path) = &health.path
            && !path.starts_with('/')
        {
            return Err((
                key(&["health", "path"]),
                format!("`{path}` must start with `/`"),
            ));
        }
        for (field, value) in [
            ("healthy_threshold", health.healthy_threshold),
            ("unhealthy_threshold", health.unhealthy_threshold),
        ] {
            if value == Some(0) {
                return Err((key(&["health", field]), "must be at least 1".to_owned()));
            }
        }
    }
    if service
        .command
        .as_deref()
        .is_some_and(|command| command.trim().is_empty())
    {
        return Err((
            key(&["command"]),
            "must not be empty; remove the key instead".to_owned(),
        ));
    }
    check_variables(&service.env, &key(&["env"]))?;
    crate::deploy::check(service, at)?;
    check_variables(&service.build_args, &key(&["build_args"]))
}

fn check_variables<'a>(
    variables: &'a BTreeMap<String, String>,
    at: &[&'a str],
) -> Result<(), Problem<'a>> {
    match variables.keys().find(|name| !is_variable_name(name)) {
        Some(name) => Err((
            [at, &[name.as_str()]].concat(),
            format!(
                "invalid variable name `{name}`: use letters, digits and `_`, not starting with a digit"
            ),
        )),
        None => Ok(()),
    }
}

fn check_registry(registry: &RegistrySettings) -> Result<(), Problem<'static>> {
    if let Some(url) = &registry.url {
        if url.contains("://") {
            return Err((
                vec!["registry", "url"],
                format!(
                    "write the registry without a scheme (`{}`); set `insecure = true` for plain HTTP",
                    url.split_once("://").map_or(url.as_str(), |(_, rest)| rest)
                ),
            ));
        }
        if url.trim().is_empty() {
            return Err((vec!["registry", "url"], "must not be empty".to_owned()));
        }
    }
    if let Some(name) = &registry.password_env
        && !is_variable_name(name)
    {
        return Err((
            vec!["registry", "password_env"],
            format!("`{name}` is not an environment variable name"),
        ));
    }
    check_registry_server(&registry.server)
}

/// `[registry.server]`: an address that parses, durations and limits above zero, globs that
/// compile, access rules and retention policies that say something.
fn check_registry_server(server: &RegistryServerSettings) -> Result<(), Problem<'static>> {
    let at = |tail: &[&'static str]| [&["registry", "server"][..], tail].concat();
    if let Some(address) = &server.address
        && address.parse::<std::net::SocketAddr>().is_err()
    {
        return Err((
            at(&["address"]),
            format!("`{address}` is not an IP address and port (for example \"127.0.0.1:5000\")"),
        ));
    }
    for (key, duration) in [
        ("upload_expiry", server.upload_expiry),
        ("gc_interval", server.gc_interval),
        ("gc_grace", server.gc_grace),
    ] {
        if duration.is_some_and(|duration| duration.get().is_zero()) {
            return Err((at(&[key]), "must be longer than zero".to_owned()));
        }
    }
    if server.max_concurrent_requests == Some(0) {
        return Err((
            at(&["max_concurrent_requests"]),
            "must be at least 1".to_owned(),
        ));
    }
    if let Some(auth) = &server.auth {
        for (index, rule) in auth.access.iter().enumerate() {
            let problem = if rule.users.is_empty() {
                Some("names no `users`".to_owned())
            } else if rule.actions.is_empty() {
                Some("grants no `actions`".to_owned())
            } else {
                globs_problem("repositories", &rule.repositories)
            };
            if let Some(problem) = problem {
                return Err((
                    at(&["auth", "access"]),
                    format!("rule {}: {problem}", index + 1),
                ));
            }
        }
    }
    for (index, policy) in server.retention.iter().enumerate() {
        let problem = globs_problem("repositories", &policy.repositories)
            .or_else(|| invalid_glob("keep_tags", &policy.keep_tags));
        if let Some(problem) = problem {
            return Err((
                at(&["retention"]),
                format!("policy {}: {problem}", index + 1),
            ));
        }
    }
    Ok(())
}

/// Why the globs under `key` cannot be used: none given, or one that does not compile.
fn globs_problem(key: &str, globs: &[String]) -> Option<String> {
    if globs.is_empty() {
        return Some(format!("`{key}` is empty"));
    }
    invalid_glob(key, globs)
}

/// The first of `globs` that does not compile, and why.
fn invalid_glob(key: &str, globs: &[String]) -> Option<String> {
    globs.iter().find_map(|glob| {
        globset::Glob::new(glob)
            .err()
            .map(|error| format!("`{key}` has an invalid glob `{glob}`: {}", error.kind()))
    })
}

/// A `[health]` table must end up with a path in every environment.
fn check_health_paths(file: &ConfigFile) -> Result<(), Problem<'_>> {
    let declared = file.environments.keys().map(String::as_str);
    for env_name in STANDARD_ENVIRONMENTS.into_iter().chain(declared) {
        let environment = file.environments.get(env_name);
        for (name, base) in &file.services {
            let merged = merged_settings(name, base, environment);
            if merged.health.is_some_and(|health| health.path.is_none()) {
                let path = match environment.and_then(|env| env.services.get(name)) {
                    Some(over) if over.health.is_some() => {
                        vec!["environments", env_name, "services", name, "health"]
                    }
                    _ => vec!["services", name, "health"],
                };
                return Err((
                    path,
                    "a health check needs `path` (for example \"/healthz\")".to_owned(),
                ));
            }
        }
    }
    Ok(())
}

fn unknown_override(name: &str, file: &ConfigFile) -> String {
    let known: Vec<&str> = file.services.keys().map(String::as_str).collect();
    if known.is_empty() {
        format!("overrides service `{name}`, but no service is declared under [services]")
    } else {
        format!(
            "overrides service `{name}`, which [services] does not declare (declared: {})",
            known.join(", ")
        )
    }
}

/// Why `name` is not a DNS label (RFC 1123, lower case), or `None` when it is one. Service and
/// environment names become host names (`orders.internal`) and image names, so both rules apply.
pub(crate) fn dns_label_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() || name.len() > 63 {
        return Some("use 1 to 63 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Some("use lower-case letters, digits and `-`");
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Some("start and end with a letter or digit");
    }
    None
}

/// Why `image` is not a valid repository name in the OCI distribution spec's grammar
/// (`[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`), optionally after a
/// registry host (`host[:port]/`), or `None` when it is valid.
pub(crate) fn repository_problem(image: &str) -> Option<&'static str> {
    if image
        .rsplit('/')
        .next()
        .is_some_and(|last| last.contains(':'))
    {
        return Some("leave the tag out: Slipway computes tags");
    }
    if image.contains('@') {
        return Some("leave the digest out: Slipway computes it");
    }
    let mut components: Vec<&str> = image.split('/').collect();
    if components.len() > 1 && looks_like_host(components[0]) {
        components.remove(0);
    }
    if components
        .iter()
        .all(|component| is_path_component(component))
    {
        None
    } else {
        Some("use lower-case letters and digits, separated by `.`, `_`, `__`, `-` or `/`")
    }
}

fn looks_like_host(component: &str) -> bool {
    component.contains('.') || component.contains(':') || component == "localhost"
}

fn is_path_component(component: &str) -> bool {
    let alphanumeric = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    let mut rest = component;
    let mut first = true;
    while !rest.is_empty() {
        if !first {
            let separator_len = if rest.starts_with("__") {
                2
            } else if rest.starts_with('.') || rest.starts_with('_') {
                1
            } else {
                rest.bytes().take_while(|&b| b == b'-').count()
            };
            if separator_len == 0 {
                return false;
            }
            rest = &rest[separator_len..];
        }
        let end = rest
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
            .unwrap_or(rest.len());
        if !alphanumeric(&rest[..end]) {
            return false;
        }
        rest = &rest[end..];
        first = false;
    }
    !first
}

fn is_variable_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn is_relative_inside(path: &Path) -> bool {
    let mut depth: i32 = 0;
    for component in path.components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        for good in ["web", "a", "orders-api", "x1", &"a".repeat(63)] {
            assert_eq!(dns_label_problem(good), None, "{good}");
        }
        for bad in [
            "",
            "Web",
            "web_api",
            "-web",
            "web-",
            "web.api",
            &"a".repeat(64),
        ] {
            assert!(dns_label_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn repository_names_follow_the_distribution_grammar() {
        for good in [
            "web",
            "team/web",
            "a.b_c__d--e",
            "localhost/web",
            "localhost:5000/team/web",
            "registry.example.com/web",
        ] {
            assert_eq!(repository_problem(good), None, "{good}");
        }
        for bad in [
            "Web",
            "web:1.0",
            "web@sha256:ab",
            "a..b",
            "a___b",
            "-a",
            "a-",
            "team//web",
            "",
        ] {
            assert!(repository_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn variable_names() {
        assert!(is_variable_name("_A1"));
        assert!(is_variable_name("log_level"));
        assert!(!is_variable_name("1A"));
        assert!(!is_variable_name("A-B"));
        assert!(!is_variable_name(""));
    }

    #[test]
    fn relative_paths_stay_inside() {
        assert!(is_relative_inside(Path::new("docker/Dockerfile")));
        assert!(is_relative_inside(Path::new("./a/../b")));
        assert!(!is_relative_inside(Path::new("../b")));
        assert!(!is_relative_inside(Path::new("a/../../b")));
        assert!(!is_relative_inside(Path::new("/etc/passwd")));
    }
}
