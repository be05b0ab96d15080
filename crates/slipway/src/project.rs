//! Finding the project a command works on: its `slipway.toml`, its git repository, its state
//! directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use slipway_config::Config;
use slipway_engine::{ContainerEngine, DockerEngine, EndpointChoice};
use slipway_git::Repository;
use slipway_store::{SqliteStore, Store};

use crate::cli::GlobalArgs;
use crate::report::Failure;

/// The name of the state directory at the repository root.
const STATE_DIR_NAME: &str = ".slipway";

/// `slipway.toml`: `--config` when given, else the nearest one from the current directory up to
/// the repository root (or the file system root outside a repository).
pub(crate) fn config_path(global: &GlobalArgs) -> Result<PathBuf, Failure> {
    if let Some(path) = &global.config {
        return Ok(path.clone());
    }
    let cwd = current_dir()?;
    let stop = Repository::discover(&cwd)
        .ok()
        .map(|repo| repo.root().to_path_buf());
    for dir in cwd.ancestors() {
        let candidate = dir.join(slipway_config::FILE_NAME);
        if candidate.is_file() {
            return Ok(candidate);
        }
        if stop.as_deref() == Some(dir) {
            break;
        }
    }
    Err(Failure::bad_input(format!(
        "no {} found in {} or above",
        slipway_config::FILE_NAME,
        cwd.display()
    ))
    .hint("run `slipway init` to write one, or point --config at it"))
}

/// Loads the project's config.
pub(crate) fn load_config(global: &GlobalArgs) -> Result<Config, Failure> {
    Ok(Config::load(&config_path(global)?)?)
}

/// The state directory: `--state-dir` / `SLIPWAY_HOME`, else `.slipway/` at the root of the
/// repository holding `near` (or beside it outside a repository).
pub(crate) fn state_dir(global: &GlobalArgs, near: &Path) -> PathBuf {
    if let Some(dir) = &global.state_dir {
        return dir.clone();
    }
    match Repository::discover(near) {
        Ok(repo) => repo.root().join(STATE_DIR_NAME),
        Err(_) => near.join(STATE_DIR_NAME),
    }
}

/// Opens the state store for a project rooted at `near`.
pub(crate) fn open_store(global: &GlobalArgs, near: &Path) -> Result<Arc<dyn Store>, Failure> {
    let dir = state_dir(global, near);
    let store = SqliteStore::open(&dir)?;
    ignore_in_git(&dir);
    Ok(Arc::new(store))
}

/// Creates the state directory (or a directory in it), private to this user: 0700, and an
/// existing one with looser bits tightened with a warning. `SqliteStore::open` does the same for
/// the directories it opens; this is for commands that write state before opening a store.
pub(crate) fn create_private_dir(dir: &Path) -> Result<(), Failure> {
    let tightened = slipway_store::private::create_dir(dir).map_err(|error| {
        Failure::new(format!("cannot create {}: {error}", dir.display()))
            .hint("choose a writable state directory with --state-dir or SLIPWAY_HOME")
    })?;
    if let Some(tightened) = tightened {
        tracing::warn!("{tightened}");
    }
    Ok(())
}

/// Keeps the state directory out of git (and so out of the dirty check that decides tags), the way
/// tools such as pytest keep their caches out: a `.gitignore` inside it that ignores everything.
pub(crate) fn ignore_in_git(dir: &Path) {
    let path = dir.join(".gitignore");
    if !path.exists() {
        // Best effort: without it the repository only looks dirty, nothing breaks.
        if let Err(error) = std::fs::write(
            &path,
            "# Written by slipway: the state directory is not source.\n*\n",
        ) {
            tracing::debug!(path = %path.display(), %error, "could not write the state directory's .gitignore");
        }
    }
}

/// The directory holding `config`, made absolute.
pub(crate) fn config_root(config: &Config) -> Result<PathBuf, Failure> {
    let root = config.root();
    let root = if root.as_os_str().is_empty() {
        Path::new(".")
    } else {
        root
    };
    std::path::absolute(root)
        .map_err(|error| Failure::new(format!("cannot resolve {}: {error}", root.display())))
}

pub(crate) fn current_dir() -> Result<PathBuf, Failure> {
    std::env::current_dir()
        .map_err(|error| Failure::new(format!("cannot read the current directory: {error}")))
}

/// Connects to the container engine: `DOCKER_HOST`, else the Docker socket, else Podman's.
pub(crate) async fn connect_engine() -> Result<Arc<dyn ContainerEngine>, Failure> {
    let docker_host = std::env::var("DOCKER_HOST").ok();
    let engine = DockerEngine::connect(EndpointChoice::Discover { docker_host }).await?;
    Ok(Arc::new(engine))
}
