//! The built-in actions: `actions/checkout`, `actions/upload-artifact`,
//! `actions/download-artifact` and `actions/cache`, with the inputs and outputs they document,
//! backed by git worktrees and Slipway's own stores.
//!
//! - checkout: the commit (or `ref:`) in a git worktree at the workspace (or `path:`); with
//!   `--dirty` the workspace already is the working tree and nothing happens. Only this
//!   repository can be checked out: nothing is fetched.
//! - upload/download-artifact: [`crate::artifacts::Artifacts`] of the run.
//! - cache: [`crate::cache::Cache`]; the save half runs as a post step when the job succeeded
//!   and the primary key missed.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use slipway_git::Repository;

use crate::actions::CacheMode;
use crate::artifacts::Artifacts;
use crate::cache::{Cache, Restored};

/// What the built-ins work with.
pub(crate) struct Context {
    /// The workspace on the host.
    pub(crate) workspace: PathBuf,
    /// `--dirty`: the workspace is the working tree.
    pub(crate) dirty: bool,
    /// `owner/name` of this repository.
    pub(crate) repository: String,
    pub(crate) repo: Repository,
    /// The commit the run is for.
    pub(crate) sha: String,
    pub(crate) artifacts: Artifacts,
    pub(crate) cache: Cache,
}

/// A log line sink.
pub(crate) type Log<'a> = &'a mut (dyn FnMut(&str) + Send);

type Outputs = IndexMap<String, String>;

fn input<'w>(with: &'w IndexMap<String, String>, name: &str) -> Option<&'w str> {
    with.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

fn flag(with: &IndexMap<String, String>, name: &str) -> bool {
    input(with, name).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// Multi-line inputs (`path:`, `restore-keys:`): one entry per non-empty line.
fn lines(with: &IndexMap<String, String>, name: &str) -> Vec<String> {
    input(with, name)
        .map(|v| {
            v.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// A relative path that stays inside the workspace.
fn inside(workspace: &Path, relative: &str, what: &str) -> Result<PathBuf, String> {
    let path = Path::new(relative);
    if path.is_absolute() {
        return match path.strip_prefix(workspace) {
            Ok(_) => Ok(path.to_owned()),
            Err(_) => Err(format!("'{what}: {relative}' is outside the workspace")),
        };
    }
    if path
        .components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(format!("'{what}: {relative}' leaves the workspace"));
    }
    Ok(workspace.join(path))
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| format!("the action's work stopped unexpectedly: {error}"))?
}

/// `actions/checkout`; also returns the worktree made, to be removed with the job.
pub(crate) async fn checkout(
    context: &Context,
    with: &IndexMap<String, String>,
    log: Log<'_>,
) -> Result<(Outputs, Option<PathBuf>), String> {
    if let Some(repository) = input(with, "repository")
        && !repository.eq_ignore_ascii_case(&context.repository)
    {
        return Err(format!(
            "actions/checkout can only check out this repository ({}) here: Slipway does not fetch '{repository}'",
            context.repository
        ));
    }
    let requested = input(with, "ref").map(str::to_owned);
    if context.dirty {
        log("--dirty: the workspace is the working tree, nothing to check out");
        let outputs = IndexMap::from([
            ("ref".to_owned(), requested.unwrap_or_default()),
            ("commit".to_owned(), context.sha.clone()),
        ]);
        return Ok((outputs, None));
    }
    let target = inside(
        &context.workspace,
        input(with, "path").unwrap_or(""),
        "path",
    )?;
    let repo = context.repo.clone();
    let sha = context.sha.clone();
    let wanted = requested.clone();
    let (commit, target) = blocking(move || {
        let commit = match &wanted {
            Some(name) => repo
                .resolve_commit(name)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("ref '{name}' names no commit in this repository"))?,
            None => sha,
        };
        if target.join(".git").is_file() {
            repo.remove_worktree(&target).map_err(|e| e.to_string())?;
        } else if std::fs::read_dir(&target).is_ok_and(|mut entries| entries.next().is_some()) {
            return Err(format!(
                "{} is not empty; cannot check out into it",
                target.display()
            ));
        }
        std::fs::create_dir_all(&target).map_err(|e| format!("{}: {e}", target.display()))?;
        repo.add_worktree(&target, &commit)
            .map_err(|e| e.to_string())?;
        Ok((commit, target))
    })
    .await?;
    log(&format!("checked out {commit} into {}", target.display()));
    let outputs = IndexMap::from([
        ("ref".to_owned(), requested.unwrap_or_default()),
        ("commit".to_owned(), commit),
    ]);
    Ok((outputs, Some(target)))
}

/// `actions/upload-artifact`.
pub(crate) async fn upload_artifact(
    context: &Context,
    with: &IndexMap<String, String>,
    log: Log<'_>,
) -> Result<Outputs, String> {
    let name = input(with, "name").unwrap_or("artifact").to_owned();
    let patterns = lines(with, "path");
    if patterns.is_empty() {
        return Err("actions/upload-artifact needs 'path'".to_owned());
    }
    let if_none = input(with, "if-no-files-found")
        .unwrap_or("warn")
        .to_ascii_lowercase();
    let overwrite = flag(with, "overwrite");
    let hidden = flag(with, "include-hidden-files");
    let workspace = context.workspace.clone();
    let artifacts = context.artifacts.clone();
    let artifact = name.clone();
    let stored = blocking(move || {
        let mut files =
            slipway_expr::matching_files(&workspace, &patterns).map_err(|e| e.to_string())?;
        if !hidden {
            files.retain(|(relative, _)| !relative.split('/').any(|part| part.starts_with('.')));
        }
        if files.is_empty() {
            return Ok(None);
        }
        artifacts.upload(&artifact, &files, overwrite).map(Some)
    })
    .await?;
    match stored {
        Some(count) => log(&format!("uploaded {count} file(s) as artifact '{name}'")),
        None => match if_none.as_str() {
            "error" => return Err(format!("no files were found for artifact '{name}'")),
            "ignore" => {}
            _ => log(&format!(
                "Warning: no files were found for artifact '{name}'; nothing was uploaded"
            )),
        },
    }
    Ok(IndexMap::from([
        ("artifact-id".to_owned(), name),
        ("artifact-url".to_owned(), String::new()),
    ]))
}

/// `actions/download-artifact`.
pub(crate) async fn download_artifact(
    context: &Context,
    with: &IndexMap<String, String>,
    log: Log<'_>,
) -> Result<Outputs, String> {
    let destination = match input(with, "path") {
        Some(path) if Path::new(path).is_absolute() => PathBuf::from(path),
        Some(path) => inside(&context.workspace, path, "path")?,
        None => context.workspace.clone(),
    };
    let name = input(with, "name").map(str::to_owned);
    let pattern = input(with, "pattern").map(str::to_owned);
    let merge = flag(with, "merge-multiple");
    let artifacts = context.artifacts.clone();
    let target = destination.clone();
    let names =
        blocking(move || artifacts.download(name.as_deref(), pattern.as_deref(), &target, merge))
            .await?;
    log(&format!(
        "downloaded {} into {}",
        names.join(", "),
        destination.display()
    ));
    Ok(IndexMap::from([(
        "download-path".to_owned(),
        destination.display().to_string(),
    )]))
}

/// `actions/cache` and its halves. Returns the outputs, and the key and paths to save at the
/// end of the job when the primary key missed.
pub(crate) async fn cache(
    context: &Context,
    mode: CacheMode,
    with: &IndexMap<String, String>,
    log: Log<'_>,
) -> Result<(Outputs, Option<(String, Vec<String>)>), String> {
    let key = input(with, "key")
        .ok_or("actions/cache needs 'key'")?
        .to_owned();
    Cache::check_key(&key)?;
    let paths = lines(with, "path");
    if paths.is_empty() {
        return Err("actions/cache needs 'path'".to_owned());
    }
    if mode == CacheMode::Save {
        cache_save(&context.cache, &key, &paths, &context.workspace, log).await?;
        return Ok((IndexMap::new(), None));
    }
    let restore_keys = lines(with, "restore-keys");
    let cache = context.cache.clone();
    let workspace = context.workspace.clone();
    let lookup = key.clone();
    let restored = blocking(move || cache.restore(&lookup, &restore_keys, &workspace)).await?;
    let (hit, matched) = match &restored {
        Restored::Exact => {
            log(&format!("cache restored from key: {key}"));
            (true, key.clone())
        }
        Restored::Partial(matched) => {
            log(&format!("cache restored from key: {matched}"));
            (false, matched.clone())
        }
        Restored::Miss => {
            if flag(with, "fail-on-cache-miss") {
                return Err(format!(
                    "no cache entry for key '{key}' or its restore keys"
                ));
            }
            log(&format!("cache not found for input keys: {key}"));
            (false, String::new())
        }
    };
    let mut outputs = IndexMap::from([("cache-hit".to_owned(), hit.to_string())]);
    if mode == CacheMode::Restore {
        outputs.insert("cache-primary-key".to_owned(), key.clone());
        outputs.insert("cache-matched-key".to_owned(), matched);
    }
    let save = (mode == CacheMode::RestoreAndSave && !hit).then_some((key, paths));
    Ok((outputs, save))
}

/// The save half of `actions/cache`.
pub(crate) async fn cache_save(
    cache: &Cache,
    key: &str,
    paths: &[String],
    workspace: &Path,
    log: Log<'_>,
) -> Result<(), String> {
    let (cache, key_owned, paths, workspace) = (
        cache.clone(),
        key.to_owned(),
        paths.to_vec(),
        workspace.to_owned(),
    );
    let saved = blocking(move || cache.save(&key_owned, &paths, &workspace)).await?;
    if saved {
        log(&format!("cache saved with key: {key}"));
    } else {
        log(&format!("a cache entry for key {key} exists; not saving"));
    }
    Ok(())
}
