//! The artifact store behind `actions/upload-artifact` and `actions/download-artifact`: a
//! directory per artifact under `<state>/artifacts/<run id>/`, shared by the jobs of one run.
//!
//! As upload-artifact v4 does, files keep their paths relative to the least common ancestor of
//! everything uploaded, names are unique within a run (unless `overwrite`), and a download
//! without a name fetches every artifact, each into a directory of its own name (or all into one
//! with `merge-multiple`).

use std::path::{Path, PathBuf};

use globset::Glob;

/// One run's artifacts.
#[derive(Debug, Clone)]
pub(crate) struct Artifacts {
    dir: PathBuf,
}

impl Artifacts {
    /// The artifacts of the run whose directory is `dir`.
    pub(crate) fn new(dir: PathBuf) -> Artifacts {
        Artifacts { dir }
    }

    /// Stores `files` (`(path relative to the workspace, full path)`) as artifact `name`;
    /// returns how many files were stored.
    pub(crate) fn upload(
        &self,
        name: &str,
        files: &[(String, PathBuf)],
        overwrite: bool,
    ) -> Result<usize, String> {
        check_name(name)?;
        let target = self.dir.join(name);
        if target.exists() {
            if !overwrite {
                return Err(format!(
                    "an artifact named '{name}' already exists in this run; set `overwrite: true` or pick another name"
                ));
            }
            std::fs::remove_dir_all(&target).map_err(|e| io_error(&target, &e))?;
        }
        let root = common_ancestor(files.iter().map(|(relative, _)| relative.as_str()));
        for (relative, full) in files {
            let inside = relative
                .strip_prefix(&root)
                .unwrap_or(relative)
                .trim_start_matches('/');
            let destination = target.join(inside);
            if let Some(parent) = destination.parent() {
                std::fs::create_dir_all(parent).map_err(|e| io_error(parent, &e))?;
            }
            std::fs::copy(full, &destination).map_err(|e| io_error(full, &e))?;
        }
        std::fs::create_dir_all(&target).map_err(|e| io_error(&target, &e))?;
        Ok(files.len())
    }

    /// Copies artifacts into `destination`: the one called `name`, or every one whose name
    /// matches `pattern` (all without one), each into `destination/<name>` unless `merge`.
    /// Returns the names downloaded.
    pub(crate) fn download(
        &self,
        name: Option<&str>,
        pattern: Option<&str>,
        destination: &Path,
        merge: bool,
    ) -> Result<Vec<String>, String> {
        if let Some(name) = name {
            let source = self.dir.join(name);
            if !source.is_dir() {
                return Err(format!(
                    "no artifact named '{name}' in this run; uploaded so far: {}",
                    self.names().join(", ")
                ));
            }
            copy_tree(&source, destination)?;
            return Ok(vec![name.to_owned()]);
        }
        let matcher = match pattern {
            Some(pattern) => Some(
                Glob::new(pattern)
                    .map_err(|e| format!("invalid pattern '{pattern}': {}", e.kind()))?
                    .compile_matcher(),
            ),
            None => None,
        };
        let names: Vec<String> = self
            .names()
            .into_iter()
            .filter(|name| matcher.as_ref().is_none_or(|m| m.is_match(name)))
            .collect();
        for name in &names {
            let target = if merge {
                destination.to_owned()
            } else {
                destination.join(name)
            };
            copy_tree(&self.dir.join(name), &target)?;
        }
        Ok(names)
    }

    /// The artifacts uploaded so far, sorted.
    pub(crate) fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|e| e.path().is_dir())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }
}

/// Names that cannot become paths outside the store, as GitHub also forbids them.
fn check_name(name: &str) -> Result<(), String> {
    const FORBIDDEN: &[char] = &['"', ':', '<', '>', '|', '*', '?', '\r', '\n', '\\', '/'];
    if name.is_empty() || name == "." || name == ".." || name.contains(FORBIDDEN) {
        return Err(format!(
            "invalid artifact name '{name}': it must not be empty or contain any of \" : < > | * ? \\ / or line breaks"
        ));
    }
    Ok(())
}

/// The longest directory prefix (`a/b/`) shared by the parents of every path.
fn common_ancestor<'a>(paths: impl Iterator<Item = &'a str>) -> String {
    let mut common: Option<Vec<&str>> = None;
    for path in paths {
        let parents: Vec<&str> = path.split('/').collect();
        let parents = &parents[..parents.len().saturating_sub(1)];
        common = Some(match common {
            None => parents.to_vec(),
            Some(so_far) => so_far
                .iter()
                .zip(parents)
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| *a)
                .collect(),
        });
    }
    common.map_or_else(String::new, |parts| {
        if parts.is_empty() {
            String::new()
        } else {
            format!("{}/", parts.join("/"))
        }
    })
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.map_err(|e| e.to_string())?;
        let Ok(relative) = entry.path().strip_prefix(from) else {
            continue;
        };
        let target = to.join(relative);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).map_err(|e| io_error(&target, &e))?;
        } else {
            std::fs::copy(entry.path(), &target).map_err(|e| io_error(&target, &e))?;
        }
    }
    Ok(())
}

fn io_error(path: &Path, error: &std::io::Error) -> String {
    format!("{}: {error}", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_keep_paths_below_their_common_ancestor() {
        assert_eq!(
            common_ancestor(["dist/a/x.js", "dist/a/b/y.js"].into_iter()),
            "dist/a/"
        );
        assert_eq!(common_ancestor(["dist/x.js", "lib/y.js"].into_iter()), "");
        assert_eq!(common_ancestor(["out/report.txt"].into_iter()), "out/");
    }

    #[test]
    fn upload_then_download_by_name_pattern_and_all() {
        let work = tempfile::tempdir().unwrap();
        let store = Artifacts::new(work.path().join("artifacts"));
        let file = |relative: &str, text: &str| {
            let path = work.path().join("ws").join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
            (relative.to_owned(), path)
        };
        let files = vec![file("dist/app.js", "app"), file("dist/lib/util.js", "util")];
        assert_eq!(store.upload("bundle", &files, false).unwrap(), 2);
        assert!(
            store
                .upload("bundle", &files, false)
                .unwrap_err()
                .contains("already exists")
        );
        store
            .upload("report", &[file("report.txt", "ok")], false)
            .unwrap();

        let one = work.path().join("one");
        assert_eq!(
            store.download(Some("bundle"), None, &one, false).unwrap(),
            ["bundle"]
        );
        assert_eq!(
            std::fs::read_to_string(one.join("lib/util.js")).unwrap(),
            "util"
        );
        let all = work.path().join("all");
        assert_eq!(
            store.download(None, None, &all, false).unwrap(),
            ["bundle", "report"]
        );
        assert_eq!(
            std::fs::read_to_string(all.join("report/report.txt")).unwrap(),
            "ok"
        );
        let merged = work.path().join("merged");
        assert_eq!(
            store.download(None, Some("rep*"), &merged, true).unwrap(),
            ["report"]
        );
        assert!(merged.join("report.txt").is_file());
        assert!(
            store
                .download(Some("nope"), None, &one, false)
                .unwrap_err()
                .contains("bundle, report")
        );
        assert!(store.upload("../escape", &files, false).is_err());
    }
}
