//! Finding the credentials a user already keeps for a registry.
//!
//! [`find_credentials`] looks, in this order, and stops at the first that has some:
//!
//! 1. Docker's `config.json` (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`): the
//!    helper `credHelpers` names for the host, else the `credsStore` helper, else the `auths`
//!    entry (`auth` as base64 `user:password`, or `username`/`password`, `identitytoken`,
//!    `registrytoken`). A helper that has nothing for the host lets `auths` answer.
//! 2. The containers `auth.json` files: `$REGISTRY_AUTH_FILE`, then
//!    `$XDG_RUNTIME_DIR/containers/auth.json`, then `~/.config/containers/auth.json`; in each the
//!    `credHelpers` entry for the host, then the most specific `auths` key (`host/team/web`,
//!    `host/team`, `host`).
//!
//! Keys are compared in their normalised forms ([`crate::key`]). What is read from the process
//! environment is an [`Environment`], so that callers (and tests) say exactly which files and
//! which `PATH` are used.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use base64::Engine as _;
use indexmap::IndexMap;
use serde::Deserialize;
use tokio::io::AsyncWriteExt as _;

use crate::credentials::{Credentials, Secret, Source};
use crate::error::CredentialError;
use crate::key;

/// The user name a credential helper answers with when its secret is an identity token.
const TOKEN_USERNAME: &str = "<token>";

/// What the lookup reads from the environment: the variables that place credential files, and
/// the `PATH` credential helpers are found on (and run with).
#[derive(Debug, Clone, Default)]
pub struct Environment {
    pub home: Option<PathBuf>,
    pub docker_config: Option<PathBuf>,
    pub registry_auth_file: Option<PathBuf>,
    pub xdg_runtime_dir: Option<PathBuf>,
    pub path: Option<OsString>,
}

impl Environment {
    /// The current process's `HOME`, `DOCKER_CONFIG`, `REGISTRY_AUTH_FILE`, `XDG_RUNTIME_DIR`
    /// and `PATH`.
    pub fn from_process() -> Environment {
        Environment::from_vars(|name| std::env::var_os(name))
    }

    /// The same variables, read through `var` (empty values count as unset).
    pub fn from_vars(var: impl Fn(&str) -> Option<OsString>) -> Environment {
        let set = |name: &str| var(name).filter(|value| !value.is_empty());
        Environment {
            home: set("HOME").map(PathBuf::from),
            docker_config: set("DOCKER_CONFIG").map(PathBuf::from),
            registry_auth_file: set("REGISTRY_AUTH_FILE").map(PathBuf::from),
            xdg_runtime_dir: set("XDG_RUNTIME_DIR").map(PathBuf::from),
            path: set("PATH"),
        }
    }

    /// Docker's `config.json`.
    fn docker_config_file(&self) -> Option<PathBuf> {
        match (&self.docker_config, &self.home) {
            (Some(dir), _) => Some(dir.join("config.json")),
            (None, Some(home)) => Some(home.join(".docker").join("config.json")),
            (None, None) => None,
        }
    }

    /// The containers `auth.json` files, in the order they are consulted.
    fn auth_files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        files.extend(self.registry_auth_file.clone());
        if let Some(runtime) = &self.xdg_runtime_dir {
            files.push(runtime.join("containers").join("auth.json"));
        }
        if let Some(home) = &self.home {
            files.push(home.join(".config").join("containers").join("auth.json"));
        }
        files
    }
}

/// The credentials for `repository` on the registry `host` (`host[:port]`), from the first
/// place that has some; `None` when no file or helper knows the registry.
///
/// # Errors
///
/// A credential file that exists but cannot be read or parsed, an entry that cannot be decoded,
/// or a helper that cannot be run or fails for another reason than not knowing the host.
pub async fn find_credentials(
    environment: &Environment,
    host: &str,
    repository: &str,
) -> Result<Option<Credentials>, CredentialError> {
    let server = key::canonical_host(host);
    if let Some(path) = environment.docker_config_file()
        && let Some(file) = CredentialFile::read(&path)?
        && let Some(found) = file.docker_lookup(environment, &path, &server).await?
    {
        return Ok(Some(found));
    }
    for path in environment.auth_files() {
        if let Some(file) = CredentialFile::read(&path)?
            && let Some(found) = file
                .auth_file_lookup(environment, &path, &server, repository)
                .await?
        {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// The parts of `config.json` and `auth.json` that hold credentials (both formats share them;
/// everything else in the files is left alone).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CredentialFile {
    #[serde(default)]
    auths: IndexMap<String, AuthEntry>,
    #[serde(default)]
    creds_store: Option<String>,
    #[serde(default)]
    cred_helpers: IndexMap<String, String>,
}

/// One `auths` entry.
#[derive(Debug, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
    #[serde(default)]
    registrytoken: Option<String>,
}

impl CredentialFile {
    /// The file at `path`, or `None` when there is none.
    fn read(path: &Path) -> Result<Option<CredentialFile>, CredentialError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(CredentialError::Unreadable {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        CredentialFile::parse(path, &text).map(Some)
    }

    fn parse(path: &Path, text: &str) -> Result<CredentialFile, CredentialError> {
        if text.trim().is_empty() {
            return Ok(CredentialFile::default());
        }
        serde_json::from_str(text).map_err(|error| CredentialError::Invalid {
            path: path.to_owned(),
            line: error.line(),
            column: error.column(),
            message: error.to_string(),
        })
    }

    /// Docker's order: the host's helper, the default store, then `auths`.
    async fn docker_lookup(
        &self,
        environment: &Environment,
        path: &Path,
        server: &str,
    ) -> Result<Option<Credentials>, CredentialError> {
        let helper = find_entry(&self.cred_helpers, |entry| {
            key::docker_config_key(entry) == server
        })
        .map(|(_, name)| name)
        .or(self.creds_store.as_ref());
        if let Some(name) = helper
            && let Some(found) = run_helper(environment, name, path, server).await?
        {
            return Ok(Some(found));
        }
        find_entry(&self.auths, |entry| key::docker_config_key(entry) == server)
            .map(|(entry_key, entry)| entry.credentials(path, entry_key, server))
            .transpose()
    }

    /// The containers order: the host's helper, then the most specific `auths` key.
    async fn auth_file_lookup(
        &self,
        environment: &Environment,
        path: &Path,
        server: &str,
        repository: &str,
    ) -> Result<Option<Credentials>, CredentialError> {
        if let Some((_, name)) = find_entry(&self.cred_helpers, |entry| {
            key::auth_file_key(entry) == server
        }) && let Some(found) = run_helper(environment, name, path, server).await?
        {
            return Ok(Some(found));
        }
        for candidate in key::auth_file_candidates(server, repository) {
            if let Some((entry_key, entry)) =
                find_entry(&self.auths, |entry| key::auth_file_key(entry) == candidate)
            {
                return entry.credentials(path, entry_key, server).map(Some);
            }
        }
        Ok(None)
    }
}

impl AuthEntry {
    /// The secret this entry holds; an entry with none (Docker leaves `{}` behind when a
    /// store keeps the secret) is an error naming the fix.
    fn credentials(
        &self,
        path: &Path,
        entry_key: &str,
        server: &str,
    ) -> Result<Credentials, CredentialError> {
        let source = Source::File {
            path: path.to_owned(),
            key: entry_key.to_owned(),
        };
        let bad = |reason: &str| CredentialError::BadEntry {
            path: path.to_owned(),
            key: entry_key.to_owned(),
            reason: reason.to_owned(),
        };
        let secret = if let Some(token) = non_empty(&self.registrytoken) {
            Secret::RegistryToken {
                token: token.to_owned(),
            }
        } else if let Some(token) = non_empty(&self.identitytoken) {
            Secret::IdentityToken {
                token: token.to_owned(),
            }
        } else if let Some(auth) = non_empty(&self.auth) {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .map_err(|_| bad("`auth` is not base64"))?;
            let decoded = String::from_utf8(decoded).map_err(|_| bad("`auth` is not UTF-8"))?;
            let (username, password) = decoded
                .split_once(':')
                .ok_or_else(|| bad("`auth` does not decode to `user:password`"))?;
            Secret::Basic {
                username: username.to_owned(),
                password: password.to_owned(),
            }
        } else if let (Some(username), Some(password)) =
            (non_empty(&self.username), non_empty(&self.password))
        {
            Secret::Basic {
                username: username.to_owned(),
                password: password.to_owned(),
            }
        } else {
            return Err(bad(
                "it holds no `auth`, `username` and `password`, `identitytoken` or `registrytoken`; log in again (`docker login` or `podman login`)",
            ));
        };
        Ok(Credentials::new(server, secret, source))
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|value| !value.is_empty())
}

/// What a credential helper answers to `get`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HelperAnswer {
    username: String,
    secret: String,
}

/// Runs `docker-credential-NAME get` for `server`; `None` when the helper does not know it.
async fn run_helper(
    environment: &Environment,
    name: &str,
    named_in: &Path,
    server: &str,
) -> Result<Option<Credentials>, CredentialError> {
    let program = format!("docker-credential-{name}");
    let failed = |reason: String| CredentialError::Helper {
        helper: program.clone(),
        named_in: named_in.to_owned(),
        reason,
    };
    let executable = find_on_path(environment.path.as_ref(), &program).ok_or_else(|| {
        failed("it is not on PATH; install it or remove it from the file".to_owned())
    })?;
    let mut command = tokio::process::Command::new(&executable);
    command
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // Helpers keep the rest of the environment: the ECR and GCR ones read their cloud's
    // variables (AWS_PROFILE, CLOUDSDK_CONFIG). PATH and HOME are the lookup's own.
    if let Some(path) = &environment.path {
        command.env("PATH", path);
    }
    if let Some(home) = &environment.home {
        command.env("HOME", home);
    }
    let mut child = command
        .spawn()
        .map_err(|error| failed(format!("cannot start it: {error}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        match stdin.write_all(key::helper_server(server).as_bytes()).await {
            // A helper that fails before reading its input closes the pipe: what it says and
            // its exit status, read below, tell why, not the write that lost the race.
            Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => {}
            Err(error) => return Err(failed(format!("cannot write to it: {error}"))),
            Ok(()) => {}
        }
    }
    let output = child
        .wait_with_output()
        .await
        .map_err(|error| failed(format!("it did not finish: {error}")))?;
    if !output.status.success() {
        // Helpers report errors on stdout (and some on stderr), never a secret.
        let said = String::from_utf8_lossy(&output.stdout).to_string()
            + &String::from_utf8_lossy(&output.stderr);
        let said = said.trim();
        if said.contains("credentials not found") {
            return Ok(None);
        }
        return Err(failed(format!(
            "it exited with {}: {}",
            output.status,
            said.chars().take(300).collect::<String>()
        )));
    }
    let answer: HelperAnswer = serde_json::from_slice(&output.stdout).map_err(|error| {
        // The output may hold the secret: only the position of the problem is shown.
        failed(format!(
            "its answer is not the JSON {{ServerURL, Username, Secret}} (line {}, column {})",
            error.line(),
            error.column()
        ))
    })?;
    let secret = if answer.username == TOKEN_USERNAME {
        Secret::IdentityToken {
            token: answer.secret,
        }
    } else {
        Secret::Basic {
            username: answer.username,
            password: answer.secret,
        }
    };
    let source = Source::Helper {
        name: name.to_owned(),
        named_in: named_in.to_owned(),
    };
    Ok(Some(Credentials::new(server, secret, source)))
}

/// The executable `program` in the first directory of `path` that has it.
fn find_on_path(path: Option<&OsString>, program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    std::env::split_paths(path?)
        .map(|dir| dir.join(program))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
}

/// The first entry of `map` whose key satisfies `wanted`: when two keys normalise alike, the
/// first written wins, as it does for Docker.
fn find_entry<V>(map: &IndexMap<String, V>, wanted: impl Fn(&str) -> bool) -> Option<(&str, &V)> {
    map.iter()
        .find(|(key, _)| wanted(key))
        .map(|(key, value)| (key.as_str(), value))
}
