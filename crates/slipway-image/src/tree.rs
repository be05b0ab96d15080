//! [`FileTree`]: the image's file system after every layer, as paths, kinds and the layer that
//! wrote each; and path resolution inside it.
//!
//! Nothing is ever written to disk, so no entry can escape anywhere; what remains is to resolve
//! paths the way the container would see them: a symbolic link's target is read inside the
//! image (an absolute target starts at the image's root, `..` stops at the root as it does in a
//! chroot), and a chain of links ends after [`MAX_LINK_HOPS`], as the kernel's does.

use std::collections::BTreeMap;

use serde::Serialize;

/// How many symbolic links one resolution follows, as Linux's `MAXSYMLINKS`.
pub const MAX_LINK_HOPS: usize = 40;

/// What a path is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum EntryKind {
    File {
        size: u64,
    },
    Directory,
    Symlink {
        target: String,
    },
    /// A device, FIFO or socket: present, never read.
    Other,
}

/// One path of the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    #[serde(flatten)]
    pub kind: EntryKind,
    pub mode: u32,
    /// The layer that wrote it (from 0, base first).
    pub layer: usize,
}

/// The image's files after all layers, keyed by path relative to the root (`etc/os-release`).
#[derive(Debug, Clone, Default)]
pub struct FileTree {
    entries: BTreeMap<String, Entry>,
}

impl FileTree {
    pub(crate) fn insert(&mut self, path: String, entry: Entry) {
        self.entries.insert(path, entry);
    }

    /// The entry at exactly `path` (no link followed).
    pub fn get(&self, path: &str) -> Option<&Entry> {
        self.entries.get(path)
    }

    /// Every path, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Entry)> {
        self.entries
            .iter()
            .map(|(path, entry)| (path.as_str(), entry))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Removes `path` and everything under it that an earlier layer than `layer` wrote.
    pub(crate) fn remove_below(&mut self, path: &str, layer: usize) {
        if self
            .entries
            .get(path)
            .is_some_and(|entry| entry.layer < layer)
        {
            self.entries.remove(path);
        }
        self.remove_children(path, layer);
    }

    /// Removes everything under directory `path` that an earlier layer than `layer` wrote: an
    /// opaque directory hides what lower layers had in it.
    pub(crate) fn remove_children(&mut self, path: &str, layer: usize) {
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}/")
        };
        let doomed: Vec<String> = self
            .entries
            .range(prefix.clone()..)
            .take_while(|(key, _)| key.starts_with(&prefix))
            .filter(|(_, entry)| entry.layer < layer)
            .map(|(key, _)| key.clone())
            .collect();
        for key in doomed {
            self.entries.remove(&key);
        }
    }

    /// Resolves `path` as the container would open it: every symbolic link on the way followed
    /// inside the image. `None` when a link chain is too long; the result may not exist.
    pub fn resolve(&self, path: &str) -> Option<String> {
        let mut hops = 0;
        let mut resolved: Vec<String> = Vec::new();
        let mut pending: Vec<String> = components(path).rev().map(str::to_owned).collect();
        while let Some(part) = pending.pop() {
            match part.as_str() {
                "." => continue,
                ".." => {
                    resolved.pop();
                    continue;
                }
                _ => {}
            }
            resolved.push(part);
            let current = resolved.join("/");
            if let Some(Entry {
                kind: EntryKind::Symlink { target },
                ..
            }) = self.entries.get(&current)
            {
                hops += 1;
                if hops > MAX_LINK_HOPS {
                    return None;
                }
                resolved.pop();
                if target.starts_with('/') {
                    resolved.clear();
                }
                pending.extend(components(target).rev().map(str::to_owned));
            }
        }
        Some(resolved.join("/"))
    }
}

fn components(path: &str) -> impl DoubleEndedIterator<Item = &str> {
    path.split('/').filter(|part| !part.is_empty())
}

/// A layer member's path relative to the image root, or `None` when it would climb above it.
pub(crate) fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in components(path) {
        match part {
            "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(entries: &[(&str, EntryKind)]) -> FileTree {
        let mut tree = FileTree::default();
        for (path, kind) in entries {
            tree.insert(
                (*path).to_owned(),
                Entry {
                    kind: kind.clone(),
                    mode: 0o644,
                    layer: 0,
                },
            );
        }
        tree
    }

    fn link(target: &str) -> EntryKind {
        EntryKind::Symlink {
            target: target.to_owned(),
        }
    }

    #[test]
    fn links_resolve_inside_the_image() {
        let tree = tree(&[
            ("etc/os-release", link("../usr/lib/os-release")),
            ("usr/lib/os-release", EntryKind::File { size: 1 }),
            ("lib", link("/usr/lib")),
            ("escape", link("../../../../etc/shadow")),
            ("loop-a", link("loop-b")),
            ("loop-b", link("loop-a")),
        ]);
        assert_eq!(
            tree.resolve("etc/os-release").as_deref(),
            Some("usr/lib/os-release")
        );
        assert_eq!(
            tree.resolve("/lib/os-release").as_deref(),
            Some("usr/lib/os-release")
        );
        assert_eq!(
            tree.resolve("escape").as_deref(),
            Some("etc/shadow"),
            "`..` stops at the root"
        );
        assert_eq!(tree.resolve("loop-a"), None);
        assert_eq!(tree.resolve("a/./b/../c").as_deref(), Some("a/c"));
    }

    #[test]
    fn member_paths_are_normalized_and_may_not_climb_out() {
        assert_eq!(normalize("./usr//bin/"), Some("usr/bin".to_owned()));
        assert_eq!(normalize("/etc/passwd"), Some("etc/passwd".to_owned()));
        assert_eq!(normalize("a/../b"), Some("b".to_owned()));
        assert_eq!(normalize("../etc/passwd"), None);
        assert_eq!(normalize("a/../../etc"), None);
    }
}
