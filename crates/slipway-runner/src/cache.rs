//! The cache store behind `actions/cache`: tar archives under `<state>/cache/`, one directory
//! per key, kept across runs.
//!
//! A restore takes the entry whose key is exactly the primary key, else the newest entry whose
//! key starts with one of the `restore-keys` (tried in order), as the action documents. Paths
//! inside the workspace are stored relative to it (so an entry restores into another run's
//! workspace); others are stored by their absolute path (`~/.npm`). Entries are never
//! overwritten: a key, once saved, keeps its content, as on GitHub.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

/// Archive entries under this prefix restore into the workspace.
const IN_WORKSPACE: &str = "ws";
/// Archive entries under this prefix restore to their absolute path.
const ABSOLUTE: &str = "abs";

/// The cache entries of a project.
#[derive(Debug, Clone)]
pub(crate) struct Cache {
    dir: PathBuf,
}

/// How a restore went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Restored {
    /// The primary key matched.
    Exact,
    /// A restore key matched this entry.
    Partial(String),
    /// Nothing matched.
    Miss,
}

impl Cache {
    /// The cache in `dir`.
    pub(crate) fn new(dir: PathBuf) -> Cache {
        Cache { dir }
    }

    /// Checks a key as the action does.
    pub(crate) fn check_key(key: &str) -> Result<(), String> {
        if key.is_empty() {
            return Err("the cache key is empty".to_owned());
        }
        if key.len() > 512 {
            return Err(format!(
                "the cache key is {} characters long; at most 512 are allowed",
                key.len()
            ));
        }
        if key.contains(',') {
            return Err(format!(
                "the cache key '{key}' contains a comma, which is not allowed"
            ));
        }
        Ok(())
    }

    fn entry(&self, key: &str) -> PathBuf {
        let digest = hex::encode(Sha256::digest(key.as_bytes()));
        self.dir.join(&digest[..32])
    }

    /// Restores the best entry for `key` and `restore_keys` into place.
    pub(crate) fn restore(
        &self,
        key: &str,
        restore_keys: &[String],
        workspace: &Path,
    ) -> Result<Restored, String> {
        let exact = self.entry(key);
        if exact.join("archive.tar").is_file() {
            unpack(&exact.join("archive.tar"), workspace)?;
            return Ok(Restored::Exact);
        }
        let entries = self.entries();
        for prefix in restore_keys {
            let newest = entries
                .iter()
                .filter(|(stored, _, _)| stored.starts_with(prefix.as_str()))
                .max_by_key(|(_, _, modified)| *modified);
            if let Some((stored, path, _)) = newest {
                unpack(&path.join("archive.tar"), workspace)?;
                return Ok(Restored::Partial(stored.clone()));
            }
        }
        Ok(Restored::Miss)
    }

    /// Saves `paths` under `key`, unless the key exists; whether it was saved.
    pub(crate) fn save(
        &self,
        key: &str,
        paths: &[String],
        workspace: &Path,
    ) -> Result<bool, String> {
        let entry = self.entry(key);
        if entry.join("archive.tar").is_file() {
            return Ok(false);
        }
        std::fs::create_dir_all(&entry).map_err(|e| format!("{}: {e}", entry.display()))?;
        let partial = entry.join("archive.tar.partial");
        let file =
            std::fs::File::create(&partial).map_err(|e| format!("{}: {e}", partial.display()))?;
        let mut builder = tar::Builder::new(file);
        builder.follow_symlinks(false);
        let mut added = 0;
        for path in paths {
            let resolved = resolve_path(path, workspace);
            if !resolved.exists() {
                continue;
            }
            let name = match resolved.strip_prefix(workspace) {
                Ok(relative) => Path::new(IN_WORKSPACE).join(relative),
                Err(_) => Path::new(ABSOLUTE).join(resolved.strip_prefix("/").unwrap_or(&resolved)),
            };
            let result = if resolved.is_dir() {
                builder.append_dir_all(&name, &resolved)
            } else {
                builder.append_path_with_name(&resolved, &name)
            };
            result.map_err(|e| format!("archiving {}: {e}", resolved.display()))?;
            added += 1;
        }
        builder
            .into_inner()
            .map_err(|e| format!("writing the cache archive: {e}"))?;
        if added == 0 {
            let _ = std::fs::remove_dir_all(&entry);
            return Err(format!(
                "none of the cache paths exist: {}",
                paths.join(", ")
            ));
        }
        std::fs::write(entry.join("key"), key).map_err(|e| format!("{}: {e}", entry.display()))?;
        // The rename makes the entry visible whole or not at all.
        std::fs::rename(&partial, entry.join("archive.tar"))
            .map_err(|e| format!("{}: {e}", entry.display()))?;
        Ok(true)
    }

    /// Every complete entry: its key, directory and when it was saved.
    fn entries(&self) -> Vec<(String, PathBuf, SystemTime)> {
        let Ok(dirs) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        dirs.filter_map(Result::ok)
            .filter_map(|dir| {
                let path = dir.path();
                let key = std::fs::read_to_string(path.join("key")).ok()?;
                let modified = path.join("archive.tar").metadata().ok()?.modified().ok()?;
                Some((key, path, modified))
            })
            .collect()
    }
}

/// A cache path: `~` is the home directory, relative paths are in the workspace.
fn resolve_path(path: &str, workspace: &Path) -> PathBuf {
    let path = path.trim();
    if let Some(rest) = path.strip_prefix("~/")
        && let Some(home) = std::env::var_os("HOME")
    {
        return PathBuf::from(home).join(rest);
    }
    let path = Path::new(path);
    if path.is_absolute() {
        path.to_owned()
    } else {
        workspace.join(path)
    }
}

fn unpack(archive: &Path, workspace: &Path) -> Result<(), String> {
    let file = std::fs::File::open(archive).map_err(|e| format!("{}: {e}", archive.display()))?;
    let mut reader = tar::Archive::new(file);
    let entries = reader
        .entries()
        .map_err(|e| format!("reading {}: {e}", archive.display()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("reading {}: {e}", archive.display()))?;
        let name = entry.path().map_err(|e| e.to_string())?.into_owned();
        let (root, relative) = if let Ok(relative) = name.strip_prefix(IN_WORKSPACE) {
            (workspace.to_owned(), relative.to_owned())
        } else if let Ok(relative) = name.strip_prefix(ABSOLUTE) {
            (PathBuf::from("/"), relative.to_owned())
        } else {
            continue;
        };
        // An archive is only ever written here, but a path climbing out is refused all the same.
        if relative
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(format!(
                "the cache archive holds a path leaving its directory: {}",
                name.display()
            ));
        }
        let target = root.join(&relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        entry
            .unpack(&target)
            .map_err(|e| format!("restoring {}: {e}", target.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_keys_then_newest_restore_key_prefix() {
        let state = tempfile::tempdir().unwrap();
        let cache = Cache::new(state.path().join("cache"));
        let first = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(first.path().join("node_modules/a")).unwrap();
        std::fs::write(first.path().join("node_modules/a/index.js"), "v1").unwrap();
        assert!(
            cache
                .save("deps-linux-111", &["node_modules".into()], first.path())
                .unwrap()
        );
        assert!(
            !cache
                .save("deps-linux-111", &["node_modules".into()], first.path())
                .unwrap()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(first.path().join("node_modules/a/index.js"), "v2").unwrap();
        assert!(
            cache
                .save("deps-linux-222", &["node_modules".into()], first.path())
                .unwrap()
        );

        let second = tempfile::tempdir().unwrap();
        let restored = cache.restore("deps-linux-111", &[], second.path()).unwrap();
        assert_eq!(restored, Restored::Exact);
        assert_eq!(
            std::fs::read_to_string(second.path().join("node_modules/a/index.js")).unwrap(),
            "v1"
        );

        let third = tempfile::tempdir().unwrap();
        let keys = vec!["deps-mac-".to_owned(), "deps-linux-".to_owned()];
        assert_eq!(
            cache
                .restore("deps-linux-333", &keys, third.path())
                .unwrap(),
            Restored::Partial("deps-linux-222".into())
        );
        assert_eq!(
            std::fs::read_to_string(third.path().join("node_modules/a/index.js")).unwrap(),
            "v2"
        );
        assert_eq!(
            cache
                .restore("other", &["nothing-".into()], third.path())
                .unwrap(),
            Restored::Miss
        );
    }

    #[test]
    fn keys_are_checked_and_missing_paths_refused() {
        assert!(Cache::check_key("a,b").is_err());
        assert!(Cache::check_key("").is_err());
        assert!(Cache::check_key(&"k".repeat(513)).is_err());
        assert!(Cache::check_key("linux-abc").is_ok());
        let state = tempfile::tempdir().unwrap();
        let cache = Cache::new(state.path().to_owned());
        let error = cache
            .save("k", &["nowhere".into()], state.path())
            .unwrap_err();
        assert!(error.contains("none of the cache paths exist"), "{error}");
        assert_eq!(
            cache.restore("k", &[], state.path()).unwrap(),
            Restored::Miss
        );
    }
}
